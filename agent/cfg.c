/* Configuration loader. Every key is declared once in cfg_keys[]: parsing,
 * range checks, defaults, --help-config and the example config come from it. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "addr.h"
#include "cert.h"
#include "comment.h"
#include "errbuf.h"
#include "fwd.h"
#include "lists.h"
#include "cfg.h"
#include "log.h"
#include "rules.h"
#include "spiffe.h"
#include "spiffe-bundle.h"
#include "statsauth.h"
#include "strset.h"
#include "token.h"
#include "tplist.h"

/* a switch on an enum names every value: a new one is a compile error here */
#pragma GCC diagnostic warning "-Wswitch-enum"

enum cfg_type {
	CFG_T_INT = 0,
	CFG_T_BOOL,
	CFG_T_STR,
	CFG_T_ENUM,
	CFG_T_DURATION,
	CFG_T_LISTEN,
	CFG_T_LIST,        /* struct cfg_list: inline "a, b" or "@file" */
	CFG_T_OCTAL,       /* file mode, e.g. 0660 */
	CFG_T_ADDR,        /* a string that is one address (addr.h) */
	CFG_T_TYPES
};

enum cfg_section {
	CFG_S_AGENT = 0,
	CFG_S_STATS,
	CFG_S_FORWARDED,
	CFG_S_ROUTE,
	CFG_S_POLICY,
	CFG_S_SECTIONS
};

struct cfg_key {
	enum cfg_section section;
	const char *key;
	enum cfg_type type;
	long min, max;
	const char *def;               /* default, as text; NULL = unset */
	size_t offset;                 /* into struct config or struct policy */
	const char *const *names;      /* CFG_T_ENUM value names, by index */
	const char *help;
};

static const char *const verify_names[VERIFY_MODES + 1] = { VERIFY_MODE_LIST(CFG_ENUM_NAME) };

static const char *const decision_log_names[LOG_DECISIONS_MODES + 1] = {
	LOG_DECISIONS_LIST(CFG_ENUM_NAME)
};

static const char *const crl_check_names[CRL_CHECKS + 1] = { CRL_CHECK_LIST(CFG_ENUM_NAME) };

static const char *const crl_missing_names[CRL_MISSINGS + 1] = { CRL_MISSING_LIST(CFG_ENUM_NAME) };

static const char *const ocsp_mode_names[OCSP_MODES + 1] = { OCSP_MODE_LIST(CFG_ENUM_NAME) };
static const char *const ocsp_url_mode_names[OCSP_URL_MODES + 1] = { OCSP_URL_MODE_LIST(CFG_ENUM_NAME) };
static const char *const ocsp_soft_names[OCSP_SOFTS + 1] = { OCSP_SOFT_LIST(CFG_ENUM_NAME) };
static const char *const ocsp_fallback_names[OCSP_FALLBACKS + 1] = { OCSP_FALLBACK_LIST(CFG_ENUM_NAME) };

static const char *const crl_expired_names[CRL_EXPIREDS + 1] = { CRL_EXPIRED_LIST(CFG_ENUM_NAME) };

static const char *const crl_fetch_names[CRL_FETCHES + 1] = { CRL_FETCH_LIST(CFG_ENUM_NAME) };

static const char *const section_names[CFG_S_SECTIONS] = {
	[CFG_S_AGENT]  = "agent",
	[CFG_S_STATS]  = "stats",
	[CFG_S_FORWARDED] = "forwarded",
	[CFG_S_ROUTE]  = "route NAME",
	[CFG_S_POLICY] = "policy NAME",
};

#define AGENT(field)  offsetof(struct config, field)
#define POLICY(field) offsetof(struct policy, field)
#define ROUTE(field)  offsetof(struct route, field)
#define ALLOW(kind)   (offsetof(struct policy, allow) + (kind) * sizeof(struct cfg_list))
#define DENY(kind)    (offsetof(struct policy, deny) + (kind) * sizeof(struct cfg_list))

static const char *const mode_names[POLICY_MODES + 1] = { POLICY_MODE_LIST(CFG_ENUM_NAME) };
static const char *const deny_detail_names[DENY_DETAILS + 1] = { DENY_DETAIL_LIST(CFG_ENUM_NAME) };

static const char *const client_id_names[CLIENT_IDS + 1] = { CLIENT_ID_LIST(CFG_ENUM_NAME) };
static const char *const token_mode_names[TOKEN_MODES + 1] = { TOKEN_MODE_LIST(CFG_ENUM_NAME) };


static const struct cfg_key cfg_keys[] = {
	{ CFG_S_AGENT, "listen", CFG_T_LISTEN, 0, 0, "127.0.0.1:12345", AGENT(listen), NULL,
	  "address to accept SPOP connections on: HOST:PORT, [IPV6]:PORT or unix:/path; repeat for several (port 0 = any free port)" },
	{ CFG_S_AGENT, "threads", CFG_T_INT, 0, CFG_MAX_THREADS, "0", AGENT(threads), NULL,
	  "worker threads, each with its own event loop; 0 = one per CPU" },
	{ CFG_S_AGENT, "max_frame_size", CFG_T_INT, 256, 1 << 20, "16380", AGENT(max_frame_size), NULL,
	  "largest SPOP frame accepted, in bytes (the smaller of this and HAProxy's is used)" },
	{ CFG_S_AGENT, "fragmentation", CFG_T_BOOL, 0, 1, "yes", AGENT(fragmentation), NULL,
	  "announce and reassemble fragmented NOTIFY frames (HAProxy 2.6 sends them for large chains)" },
	{ CFG_S_AGENT, "max_message_size", CFG_T_INT, 256, 16 << 20, "262144", AGENT(max_message_size), NULL,
	  "largest reassembled NOTIFY payload, in bytes" },
	{ CFG_S_AGENT, "max_connections", CFG_T_INT, 1, 1000000, "4096", AGENT(max_connections), NULL,
	  "SPOP connections served at once; more are accepted and closed at once" },
	{ CFG_S_AGENT, "hello_timeout", CFG_T_DURATION, 1, 3600000, "5s", AGENT(hello_timeout_ms), NULL,
	  "time a new connection has to send HAPROXY-HELLO" },
	{ CFG_S_AGENT, "idle_timeout", CFG_T_DURATION, 1, 86400000, "10m", AGENT(idle_timeout_ms), NULL,
	  "an established connection with no traffic for this long is closed (keep it above HAProxy's 'timeout idle')" },
	{ CFG_S_AGENT, "shutdown_timeout", CFG_T_DURATION, 0, 600000, "5s", AGENT(shutdown_timeout_ms), NULL,
	  "on SIGTERM, how long to wait for replies to be flushed before exiting" },
	{ CFG_S_AGENT, "cache_size", CFG_T_INT, 0, 1 << 22, "4096", AGENT(cache_size), NULL,
	  "decision cache entries per worker thread, keyed by the certificate's SHA-256 (0 = no cache)" },
	{ CFG_S_AGENT, "ocsp_cache_size", CFG_T_INT, 16, 1 << 22, "4096", AGENT(ocsp_cache_size), NULL,
	  "OCSP answers kept, shared by the worker threads, keyed by issuer key and serial" },
	{ CFG_S_AGENT, "log_level", CFG_T_ENUM, 0, 0, "info", AGENT(log_level), log_level_names,
	  "error, warn, info or debug (-d forces debug)" },
	{ CFG_S_AGENT, "log_format", CFG_T_ENUM, 0, 0, "logfmt", AGENT(log_format), log_format_names,
	  "log lines as logfmt (key=value) or json, one per line on stderr" },
	{ CFG_S_AGENT, "log_decisions", CFG_T_ENUM, 0, 0, "denials", AGENT(log_decisions), decision_log_names,
	  "log one line per decision: none, denials or all (at most 500 lines/s per thread)" },
	{ CFG_S_AGENT, "ready_file", CFG_T_STR, 0, 0, NULL, AGENT(ready_file), NULL,
	  "file written once every listener is bound, one bound address per line" },
	{ CFG_S_AGENT, "pid_file", CFG_T_STR, 0, 0, NULL, AGENT(pid_file), NULL,
	  "file holding the process id (used by 'certspoa reload')" },
	{ CFG_S_AGENT, "reload_watch", CFG_T_DURATION, 0, 86400000, "0", AGENT(reload_watch_ms), NULL,
	  "check the config and the files it names this often and reload when one changes (0 = off)" },

	{ CFG_S_AGENT, "crl_fetch", CFG_T_ENUM, 0, 0, "off", AGENT(crl_fetch), crl_fetch_names,
	  "fetch CRLs in the background: off, or cdp (the http(s) CRL distribution points of the CA certificates and of every chain that verified); crl_urls are fetched either way" },
	{ CFG_S_AGENT, "crl_urls", CFG_T_STR, 0, 0, NULL, AGENT(crl_urls), NULL,
	  "http(s) URLs of CRLs to fetch in the background: inline (a, b) or @file, one per line; each CRL must be signed by a CA of a policy's store" },
	{ CFG_S_AGENT, "crl_refresh", CFG_T_DURATION, 1000, 86400000, "1h", AGENT(crl_refresh_ms), NULL,
	  "fetch each CRL again at least this often (a conditional GET: cheap when it did not change)" },
	{ CFG_S_AGENT, "crl_refresh_fraction", CFG_T_INT, 1, 100, "50", AGENT(crl_refresh_fraction), NULL,
	  "also fetch a CRL again once this percentage of its thisUpdate..nextUpdate period has passed (with up to 10% jitter)" },
	{ CFG_S_AGENT, "crl_grace", CFG_T_DURATION, 0, 604800000, "0", AGENT(crl_grace_ms), NULL,
	  "a CRL past its nextUpdate still counts for this long; then the policy's crl_expired applies" },
	{ CFG_S_AGENT, "fetch_timeout", CFG_T_DURATION, 100, 600000, "10s", AGENT(fetch_timeout_ms), NULL,
	  "longest background fetch (connect, TLS, headers and body)" },
	{ CFG_S_AGENT, "fetch_max_size", CFG_T_INT, 1024, 256 << 20, "10485760", AGENT(fetch_max_size), NULL,
	  "largest body a background fetch accepts, in bytes; a larger answer is a failed fetch" },
	{ CFG_S_AGENT, "fetch_ca_file", CFG_T_STR, 0, 0, NULL, AGENT(fetch_ca_file), NULL,
	  "PEM bundle that https:// fetches are verified against; unset = the system's CAs" },
	{ CFG_S_AGENT, "list_refresh", CFG_T_DURATION, 1000, 86400000, "5m", AGENT(list_refresh_ms), NULL,
	  "lists and ca_file given as @http(s)://URL are fetched again this often; a change is loaded like a reload" },

	{ CFG_S_AGENT, "socket_mode", CFG_T_OCTAL, 0, 0777, NULL, AGENT(socket_mode), NULL,
	  "permissions of unix listen sockets, octal (e.g. 0660 with HAProxy in the socket's group); unset = umask" },
	{ CFG_S_AGENT, "admin_socket", CFG_T_STR, 0, 0, NULL, AGENT(admin_socket), NULL,
	  "unix socket path of the runtime API ('certspoa ctl', socat): show info, add deny... (docs/OPERATE.md); unset = off" },
	{ CFG_S_AGENT, "admin_socket_mode", CFG_T_OCTAL, 0, 0777, "0600", AGENT(admin_socket_mode), NULL,
	  "permissions of the admin socket, octal (whoever can connect can deny certificates and reload)" },
	{ CFG_S_AGENT, "admin_socket_group", CFG_T_STR, 0, 0, NULL, AGENT(admin_socket_group), NULL,
	  "group given to the admin socket (with admin_socket_mode = 0660: that group's members may use it); unset = the agent's" },
	{ CFG_S_AGENT, "haproxy_socket", CFG_T_STR, 0, 0, NULL, AGENT(haproxy_socket), NULL,
	  "HAProxy runtime APIs (unix@/path or IP:PORT, space or comma separated) told each new verdict generation (set var proc.certspoa_gen): reused verdicts end at once; unset = none" },
	{ CFG_S_AGENT, "state_dir", CFG_T_STR, 0, 0, NULL, AGENT(state_dir), NULL,
	  "directory for state kept across restarts: runtime denies, the last good copy of every fetched CRL and list (read at startup); unset = none" },
	{ CFG_S_AGENT, "trace_secret", CFG_T_STR, 0, 0, NULL, AGENT(trace_secret), NULL,
	  "a request whose 'trace' argument equals this (16+ characters) gets txn.certspoa.trace; unset = never" },

	{ CFG_S_STATS, "listen", CFG_T_ADDR, 0, 0, NULL, AGENT(stats_listen), NULL,
	  "HTTP address for /metrics, /stats.json, /, /healthz, /readyz (HOST:PORT or unix:/path); unset = off" },
	{ CFG_S_STATS, "token_file", CFG_T_STR, 0, 0, NULL, AGENT(stats_token_file), NULL,
	  "bearer token file (16+ chars, re-read on reload); off loopback, pages but /metrics /healthz /readyz need 'Authorization: Bearer TOKEN' (no file: 403)" },

	{ CFG_S_FORWARDED, "trusted_proxies", CFG_T_LIST, 0, 0, NULL, AGENT(fwd.trusted_proxies), NULL,
	  "addresses/CIDRs allowed to forward a client certificate in a header; from anyone else it is a denial (forwarded_untrusted)" },
	{ CFG_S_FORWARDED, "format", CFG_T_ENUM, 0, 0, "rfc9440", AGENT(fwd.format), fwd_format_names,
	  "header format: rfc9440 (Client-Cert), xfcc (Envoy), pem-urlencoded (nginx), base64-der (X-ARR-ClientCert)" },

	{ CFG_S_ROUTE, "sni", CFG_T_LIST, 0, 0, NULL, ROUTE(sni), NULL,
	  "match: TLS SNI names, without case or trailing dot (exact or *.suffix); SNI and Host must then agree" },
	{ CFG_S_ROUTE, "host", CFG_T_LIST, 0, 0, NULL, ROUTE(host), NULL,
	  "match: Host header names, without case, port or trailing dot (exact or *.suffix); requests then need one valid Host" },
	{ CFG_S_ROUTE, "path_prefix", CFG_T_LIST, 0, 0, NULL, ROUTE(path_prefix), NULL,
	  "match: path prefixes, compared without case on the normalized path; ambiguous paths are refused" },
	{ CFG_S_ROUTE, "frontend", CFG_T_LIST, 0, 0, NULL, ROUTE(frontend), NULL,
	  "match: HAProxy frontend names (the 'frontend' argument, fe_name)" },
	{ CFG_S_ROUTE, "policy", CFG_T_STR, 0, 0, NULL, ROUTE(policy_name), NULL,
	  "the policy for requests that match every criterion given (required)" },

	{ CFG_S_POLICY, "require_cert", CFG_T_BOOL, 0, 1, "yes", POLICY(require_cert), NULL,
	  "deny requests without a client certificate (cert_missing)" },
	{ CFG_S_POLICY, "verify", CFG_T_ENUM, 0, 0, "haproxy", POLICY(verify), verify_names,
	  "who verifies the chain: haproxy (trust ssl_c_verify), agent (verify with ca_file), both" },
	{ CFG_S_POLICY, "ca_file", CFG_T_STR, 0, 0, NULL, POLICY(ca_file), NULL,
	  "PEM bundle of trust anchors, required for verify = agent or both, and for issuer rules (issuer thumbprints, serials with an issuer); or @https://URL (see docs/REVOCATION.md)" },
	{ CFG_S_POLICY, "mode", CFG_T_ENUM, 0, 0, "enforce", POLICY(mode), mode_names,
	  "enforce, or shadow: decide and report (would_deny, code, rule) but always allow - for safe rollouts" },
	{ CFG_S_POLICY, "thumbprints", CFG_T_LIST, 0, 0, NULL, ALLOW(ID_THUMBPRINT), NULL,
	  "trusted SHA-1/SHA-256 thumbprints: a file path (one hex per line), @file, or inline hex list; same as allow_thumbprints" },
#define ALLOW_KEY(kind, name, allow_help, deny_help) \
	{ CFG_S_POLICY, "allow_" name, CFG_T_LIST, 0, 0, NULL, ALLOW(ID_##kind), NULL, allow_help },
#define DENY_KEY(kind, name, allow_help, deny_help) \
	{ CFG_S_POLICY, "deny_" name, CFG_T_LIST, 0, 0, NULL, DENY(ID_##kind), NULL, deny_help },
	ID_KIND_LIST(ALLOW_KEY)
	ID_KIND_LIST(DENY_KEY)
#undef ALLOW_KEY
#undef DENY_KEY
	{ CFG_S_POLICY, "min_rsa_bits", CFG_T_INT, 0, 16384, "0", POLICY(min_rsa_bits), NULL,
	  "smallest RSA key accepted (0 = any)" },
	{ CFG_S_POLICY, "allowed_curves", CFG_T_LIST, 0, 0, NULL, POLICY(allowed_curves), NULL,
	  "every key that is not RSA must be one of these: EC curves (P-256 or prime256v1, secp384r1, ...), ed25519, ed448, sm2, x25519, x448; other keys are denied; unset = any" },
	{ CFG_S_POLICY, "allowed_key_types", CFG_T_LIST, 0, 0, NULL, POLICY(allowed_key_types), NULL,
	  "the key must be of one of these types: rsa, rsa-pss, ec, ed25519, ed448, sm2, dsa, x25519, x448, dh, dhx; unset = any" },
	{ CFG_S_POLICY, "forbid_signature", CFG_T_LIST, 0, 0, NULL, POLICY(forbid_signature), NULL,
	  "refuse certificates signed with these digests: md5, sha1, ... or signature algorithms (RSA-SHA1, ecdsa-with-SHA1, ...); a signature whose digest cannot be told is refused too" },
	{ CFG_S_POLICY, "max_lifetime_days", CFG_T_INT, 0, 36500, "0", POLICY(max_lifetime_days), NULL,
	  "refuse certificates whose validity period is longer than this many days, e.g. 398 (0 = any)" },
	{ CFG_S_POLICY, "require_policies", CFG_T_LIST, 0, 0, NULL, POLICY(require_policies), NULL,
	  "certificate policy OIDs that must all be present" },
	{ CFG_S_POLICY, "warn_days", CFG_T_INT, 0, 3650, "0", POLICY(warn_days), NULL,
	  "set txn.certspoa.expiring = 1 when the certificate expires within this many days (0 = never)" },
	{ CFG_S_POLICY, "max_sans", CFG_T_INT, 1, POLICY_MAX_SANS_MAX, "100", POLICY(max_sans), NULL,
	  "deny (too_many_sans) a certificate with more subject alternative names than this, whatever the lists" },
	{ CFG_S_POLICY, "sni_host_match", CFG_T_BOOL, 0, 1, "no", POLICY(sni_host_match), NULL,
	  "deny (sni_host_mismatch) when the TLS SNI and the Host header differ (domain fronting)" },
	{ CFG_S_POLICY, "reuse_max_age", CFG_T_DURATION, 0, 86400000, "60s", POLICY(reuse_max_age_ms), NULL,
	  "longest HAProxy may reuse an allow on its TLS connection (reuse = connection, max_age) when it cannot depend on the request; 0 = ask on every request" },
	{ CFG_S_POLICY, "max_depth", CFG_T_INT, 0, 32, "0", POLICY(max_depth), NULL,
	  "longest chain accepted by agent verification, intermediates below the leaf (0 = OpenSSL's default)" },
	{ CFG_S_POLICY, "clock_skew", CFG_T_DURATION, 0, 604800000, "0", POLICY(clock_skew_ms), NULL,
	  "accept certificates this far before not_before or after not_after (agent verification)" },
	{ CFG_S_POLICY, "ca_dir", CFG_T_STR, 0, 0, NULL, POLICY(ca_dir), NULL,
	  "directory of trust anchors: every *.pem, *.crt and *.cer file in it (with or instead of ca_file)" },
	{ CFG_S_POLICY, "intermediates", CFG_T_STR, 0, 0, NULL, POLICY(intermediates), NULL,
	  "PEM file of untrusted intermediate CAs offered to agent verification besides those the client sends" },
	{ CFG_S_POLICY, "crl_file", CFG_T_STR, 0, 0, NULL, POLICY(crl_file), NULL,
	  "PEM file of CRLs checked by the agent on every request (verify = agent or both); reloads pick up a new one" },
	{ CFG_S_POLICY, "crl_check", CFG_T_ENUM, 0, 0, "all", POLICY(crl_check), crl_check_names,
	  "with crl_file or fetched CRLs: check revocation of every certificate of the chain (all) or of the client certificate only (leaf)" },
	{ CFG_S_POLICY, "crl_missing", CFG_T_ENUM, 0, 0, "deny", POLICY(crl_missing), crl_missing_names,
	  "with crl_file or fetched CRLs: an issuer with no CRL (none in the file, none fetched yet) is a denial (crl_unavailable) or accepted (allow)" },
	{ CFG_S_POLICY, "crl_expired", CFG_T_ENUM, 0, 0, "deny", POLICY(crl_expired), crl_expired_names,
	  "a CRL past its nextUpdate and [agent] crl_grace: a denial (crl_expired), or still used (allow; its revocations stand)" },
	{ CFG_S_POLICY, "ocsp", CFG_T_ENUM, 0, 0, "off", POLICY(ocsp), ocsp_mode_names,
	  "check revocation by OCSP: off, leaf (the client certificate) or chain (every certificate of the verified path but the anchor); needs ca_file or ca_dir" },
	{ CFG_S_POLICY, "ocsp_url", CFG_T_STR, 0, 0, NULL, POLICY(ocsp_url), NULL,
	  "OCSP responder (http://...) used as ocsp_url_mode says; unset = the certificate's AIA extension only" },
	{ CFG_S_POLICY, "ocsp_url_mode", CFG_T_ENUM, 0, 0, "fallback", POLICY(ocsp_url_mode), ocsp_url_mode_names,
	  "fallback: ocsp_url only for certificates whose AIA names no responder; override: always ocsp_url" },
	{ CFG_S_POLICY, "ocsp_timeout", CFG_T_DURATION, 100, 60000, "2s", POLICY(ocsp_timeout_ms), NULL,
	  "longest wait for an OCSP answer; then ocsp_unavailable applies (keep it below HAProxy's 'timeout processing')" },
	{ CFG_S_POLICY, "ocsp_nonce", CFG_T_BOOL, 0, 1, "no", POLICY(ocsp_nonce), NULL,
	  "send a nonce and require it back (many responders serve pre-signed answers without one)" },
	{ CFG_S_POLICY, "ocsp_unknown", CFG_T_ENUM, 0, 0, "deny", POLICY(ocsp_unknown), ocsp_soft_names,
	  "an OCSP answer 'unknown' is a denial (deny, ocsp_unknown) or accepted (allow)" },
	{ CFG_S_POLICY, "ocsp_unavailable", CFG_T_ENUM, 0, 0, "deny", POLICY(ocsp_unavailable), ocsp_soft_names,
	  "no valid OCSP answer (responder down, slow, wrong signer, stale): deny (ocsp_unavailable) or allow (soft-fail)" },
	{ CFG_S_POLICY, "ocsp_max_age", CFG_T_DURATION, 1000, 604800000, "1h", POLICY(ocsp_max_age_ms), NULL,
	  "how long an OCSP answer without nextUpdate is used after its thisUpdate" },
	{ CFG_S_POLICY, "ocsp_error_ttl", CFG_T_DURATION, 0, 3600000, "30s", POLICY(ocsp_error_ttl_ms), NULL,
	  "how long a failed OCSP fetch is remembered before the responder is asked again" },
	{ CFG_S_POLICY, "ocsp_fallback", CFG_T_ENUM, 0, 0, "none", POLICY(ocsp_fallback), ocsp_fallback_names,
	  "without a valid OCSP answer: none (ocsp_unavailable decides) or crl (the agent's CRL check, crl_file or fetched CRLs, that passed decides)" },
	{ CFG_S_POLICY, "deny_status", CFG_T_INT, 400, 599, "403", POLICY(deny_status), NULL,
	  "HTTP status HAProxy answers a denial with" },
	{ CFG_S_POLICY, "deny_detail", CFG_T_ENUM, 0, 0, "hint", POLICY(deny_detail), deny_detail_names,
	  "what a denied client is told (shipped haproxy.cfg): none = status only, code = + code, hint = + reason, rule, detail, request id" },
	{ CFG_S_POLICY, "spiffe_bundles", CFG_T_STR, 0, 0, NULL, POLICY(spiffe_bundles), NULL,
	  "TD=FILE|@https://URL, ...: a trust bundle (SPIFFE JSON or PEM) per SPIFFE trust domain; an SVID is verified by its own domain's bundle only, whatever verify says (replaces ca_file)" },
	{ CFG_S_POLICY, "client_id", CFG_T_ENUM, 0, 0, "spki", POLICY(client_id), client_id_names,
	  "txn.certspoa.client_id, a stable key of at most 128 bytes for rate limiting: spki (the key's SHA-256), spiffe (the SPIFFE ID, else spki) or identity" },
	{ CFG_S_POLICY, "token", CFG_T_ENUM, 0, 0, "off", POLICY(token), token_mode_names,
	  "RFC 8705 tokens: off; bound = a Bearer JWT, when sent, must verify (jwks_file) and be bound to this certificate (cnf.x5t#S256); required = one must be sent" },
	{ CFG_S_POLICY, "jwks_file", CFG_T_STR, 0, 0, NULL, POLICY(jwks_file), NULL,
	  "JWKS of the keys that sign tokens: RSA 2048+ (RS256, PS256), EC P-256 (ES256), Ed25519 (EdDSA); re-read on reload; @https://URL: fetched (list_refresh, state_dir)" },
	{ CFG_S_POLICY, "token_issuer", CFG_T_STR, 0, 0, NULL, POLICY(token_issuer), NULL,
	  "the token's iss must equal this; unset = not checked" },
	{ CFG_S_POLICY, "token_audience", CFG_T_STR, 0, 0, NULL, POLICY(token_audience), NULL,
	  "the token's aud (a string, or an array) must name this; unset = not checked" },
	{ CFG_S_POLICY, "token_clock_skew", CFG_T_DURATION, 0, 3600000, "60s", POLICY(token_clock_skew_ms), NULL,
	  "accept a token this long after its exp or before its nbf" },
	{ CFG_S_POLICY, "token_max_size", CFG_T_INT, 256, TOKEN_MAX_SIZE_MAX, "8192", POLICY(token_max_size), NULL,
	  "longest bearer token accepted, in bytes (longer: token_invalid)" },
};

#define NB_KEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

static const char *const type_names[CFG_T_TYPES] = {
	[CFG_T_INT] = "integer", [CFG_T_BOOL] = "yes|no", [CFG_T_STR] = "string",
	[CFG_T_ENUM] = "one of", [CFG_T_DURATION] = "duration", [CFG_T_LISTEN] = "address",
	[CFG_T_LIST] = "list", [CFG_T_OCTAL] = "octal mode", [CFG_T_ADDR] = "address",
};

struct cfg_parse {
	struct config *cfg;
	struct policy *policy;          /* current [policy NAME] section */
	struct route *route;            /* current [route NAME] section */
	enum cfg_section section;
	int in_section;                 /* 0 before the first section header */
	int line;
	FILE *fp;
	int listen_from_file;           /* the first listen line replaces the default */
	int npolicies;
	char *err;
	size_t errlen;
	int failed;
};

const char *cfg_verify_name(int mode)
{
	return mode >= 0 && mode < VERIFY_MODES ? verify_names[mode] : "?";
}

/* The duration units, in one table: the parser reads it, and the docs
 * check (tests/docs/man.sh) reads it from here to hold certspoa.ini(5) to
 * it. A bare number is milliseconds, as in HAProxy. */
static const struct {
	const char *unit;
	long ms;
} duration_units[] = {
	{ "ms", 1 },
	{ "s",  1000 },
	{ "m",  60L * 1000 },
	{ "h",  3600L * 1000 },
	{ "d",  86400L * 1000 },
};

int cfg_parse_duration(const char *s, long *ms)
{
	char *end;
	long v, mult = 0;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || errno || v < 0)
		return -1;
	if (*end == 0)
		mult = 1;
	for (size_t i = 0; !mult && i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
		if (strcmp(end, duration_units[i].unit) == 0)
			mult = duration_units[i].ms;
	if (!mult || v > LONG_MAX / mult)
		return -1;
	*ms = v * mult;
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static void cfg_error(struct cfg_parse *ps, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cfg_error(struct cfg_parse *ps, const char *key, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->failed)
		return;          /* keep the first error */
	ps->failed = 1;
	n = snprintf(ps->err, ps->errlen, "%s:%d: %s%s", ps->cfg->file, ps->line,
	             key ? key : "", key ? ": " : "");
	if (n < 0 || (size_t)n >= ps->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* names[0..n) (or up to a NULL) as "a, b, c", or "[a], [b]" */
static void join_names(char *buf, size_t len, const char *const *names, int n, int brackets)
{
	size_t used = 0;

	buf[0] = 0;
	for (int i = 0; i < n && names[i] && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%s%s%s", i ? ", " : "", brackets ? "[" : "",
		                 names[i], brackets ? "]" : "");

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* "verify: 'xx' is not one of: haproxy, agent, both" */
static void enum_error(struct cfg_parse *ps, const struct cfg_key *k, const char *val)
{
	char list[256];

	join_names(list, sizeof(list), k->names, INT_MAX, 0);
	cfg_error(ps, k->key, "'%s' is not one of: %s", val, list);
}

/* Levenshtein distance of a and b, or CFG_SUGGEST_FAR when either is too
 * long to be a key. */
#define CFG_SUGGEST_LEN 64
#define CFG_SUGGEST_FAR 1000

static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[CFG_SUGGEST_LEN + 1];

	if (la > CFG_SUGGEST_LEN || lb > CFG_SUGGEST_LEN)
		return CFG_SUGGEST_FAR;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];

		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* An unknown key: name the key of this section it is closest to (a typo:
 * at most 2 edits, 3 for long names), or the section it belongs in. */
static void unknown_key_error(struct cfg_parse *ps, const char *name, const char *section)
{
	const struct cfg_key *best = NULL;
	int bestd = CFG_SUGGEST_FAR;
	size_t len = strlen(name);
	int limit = len >= 10 ? 3 : len >= 4 ? 2 : 1;

	for (size_t i = 0; i < NB_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		int d;

		if (k->section != ps->section)
			continue;
		d = edit_distance(name, k->key);
		if (d < bestd) {
			bestd = d;
			best = k;
		}
	}
	if (best && bestd <= limit) {
		cfg_error(ps, name, "unknown key in [%s]: did you mean '%s'?", section, best->key);
		return;
	}
	for (size_t i = 0; i < NB_KEYS; i++) {
		if (strcmp(cfg_keys[i].key, name) == 0) {
			cfg_error(ps, name, "unknown key in [%s]: it belongs in [%s]", section,
			          section_names[cfg_keys[i].section]);
			return;
		}
	}
	cfg_error(ps, name, "unknown key in [%s] (certspoa --help-config lists them)", section);
}

/* Store one value. Used for the defaults too, so a default obeys the same
 * rules as a value from the file. */
static int set_value(struct cfg_parse *ps, const struct cfg_key *k, void *base,
                     const char *val)
{
	char *field = (char *)base + k->offset;
	char why[256];
	long n;
	char *end;
	int b;

	switch (k->type) {
	case CFG_T_INT:
		errno = 0;
		n = strtol(val, &end, 10);
		if (end == val || *end || errno) {
			cfg_error(ps, k->key, "'%s' is not an integer", val);
			return -1;
		}
		/* stored in an int: a key's range never reaches past it */
		if (n < k->min || n > k->max || n > INT_MAX || n < INT_MIN) {
			cfg_error(ps, k->key, "%ld is out of range [%ld, %ld]", n, k->min, k->max);
			return -1;
		}
		*(int *)field = (int)n;
		return 0;
	case CFG_T_DURATION:
		if (cfg_parse_duration(val, &n) < 0) {
			cfg_error(ps, k->key, "'%s' is not a duration (e.g. 500ms, 5s, 2m)", val);
			return -1;
		}
		if (n < k->min || n > k->max || n > INT_MAX) {
			cfg_error(ps, k->key, "%ldms is out of range [%ldms, %ldms]", n, k->min, k->max);
			return -1;
		}
		*(int *)field = (int)n;
		return 0;
	case CFG_T_BOOL:
		if (parse_bool(val, &b) < 0) {
			cfg_error(ps, k->key, "'%s' is not one of: yes, no (or true, false, on, off, 1, 0)", val);
			return -1;
		}
		*(int *)field = b;
		return 0;
	case CFG_T_ENUM:
		for (int i = 0; k->names[i]; i++) {
			if (strcmp(val, k->names[i]) == 0) {
				*(int *)field = i;
				return 0;
			}
		}
		enum_error(ps, k, val);
		return -1;
	case CFG_T_ADDR:
	case CFG_T_STR: {
		char **sp = (char **)(void *)field;

		if (k->type == CFG_T_ADDR && *val && addr_check(val, why, sizeof(why)) < 0) {
			cfg_error(ps, k->key, "%s", why);
			return -1;
		}
		free(*sp);
		*sp = NULL;
		if (*val && !(*sp = strdup(val))) {
			cfg_error(ps, k->key, "out of memory");
			return -1;
		}
		return 0;
	}
	case CFG_T_LISTEN: {
		struct config *cfg = base;

		if (!*val) {
			cfg_error(ps, k->key, "empty address");
			return -1;
		}
		if (addr_check(val, why, sizeof(why)) < 0) {
			cfg_error(ps, k->key, "%s", why);
			return -1;
		}
		if (cfg->nlisten >= CFG_MAX_LISTEN) {
			cfg_error(ps, k->key, "more than %d listen lines", CFG_MAX_LISTEN);
			return -1;
		}
		if (!(cfg->listen[cfg->nlisten] = strdup(val))) {
			cfg_error(ps, k->key, "out of memory");
			return -1;
		}
		cfg->nlisten++;
		return 0;
	}
	case CFG_T_LIST: {
		struct cfg_list *l = (struct cfg_list *)(void *)field;

		if (l->src) {
			cfg_error(ps, k->key, "given twice (first at line %d): one value or @file per list", l->line);
			return -1;
		}
		if (!*val) {
			/* an empty allow list would read as "no list" and let
			 * everyone in: say so instead of guessing */
			cfg_error(ps, k->key, "empty list: give at least one entry, or remove the key");
			return -1;
		}
		if (*val && !(l->src = strdup(val))) {
			cfg_error(ps, k->key, "out of memory");
			return -1;
		}
		l->line = ps->line;
		l->key = k->key;
		return 0;
	}
	case CFG_T_OCTAL:
		errno = 0;
		n = strtol(val, &end, 8);
		if (end == val || *end || errno || n < k->min || n > k->max) {
			cfg_error(ps, k->key, "'%s' is not an octal mode like 0660", val);
			return -1;
		}
		*(int *)field = (int)n;
		return 0;
	case CFG_T_TYPES:
		break;
	}
	cfg_error(ps, k->key, "internal error: bad key type");
	return -1;
}

static void apply_defaults(struct cfg_parse *ps, enum cfg_section sec, void *base)
{
	for (size_t i = 0; i < NB_KEYS; i++)
		if (cfg_keys[i].section == sec && cfg_keys[i].def)
			set_value(ps, &cfg_keys[i], base, cfg_keys[i].def);
}

static struct policy *policy_new(struct cfg_parse *ps, const char *name)
{
	struct policy *p, **tail;

	for (p = ps->cfg->policies; p; p = p->next) {
		if (strcmp(p->name, name) == 0) {
			cfg_error(ps, NULL, "[policy %s] is defined twice (first at line %d)", name, p->line);
			return NULL;
		}
	}
	if (ps->npolicies >= CFG_MAX_POLICIES) {
		cfg_error(ps, NULL, "more than %d policies", CFG_MAX_POLICIES);
		return NULL;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		cfg_error(ps, NULL, "out of memory");
		return NULL;
	}
	p->index = ps->npolicies++;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->line = ps->line;
	apply_defaults(ps, CFG_S_POLICY, p);
	for (tail = &ps->cfg->policies; *tail; tail = &(*tail)->next)
		;
	*tail = p;
	return p;
}

static struct route *route_new(struct cfg_parse *ps, const char *name)
{
	struct route *r, **tail;

	for (r = ps->cfg->routes; r; r = r->next) {
		if (strcmp(r->name, name) == 0) {
			cfg_error(ps, NULL, "[route %s] is defined twice (first at line %d)", name, r->line);
			return NULL;
		}
	}
	if (ps->cfg->nroutes >= CFG_MAX_ROUTES) {
		cfg_error(ps, NULL, "more than %d routes", CFG_MAX_ROUTES);
		return NULL;
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		cfg_error(ps, NULL, "out of memory");
		return NULL;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->line = ps->line;
	for (tail = &ps->cfg->routes; *tail; tail = &(*tail)->next)
		;
	*tail = r;
	ps->cfg->nroutes++;
	return r;
}

static int name_is_valid(const char *s)
{
	if (!*s || strlen(s) >= CFG_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return 0;
	return 1;
}

/* [polcy x]: name the section it is closest to by its first word */
static void unknown_section_error(struct cfg_parse *ps, const char *section)
{
	char word[CFG_SUGGEST_LEN + 1];
	size_t n = strcspn(section, " \t");
	int bestd = CFG_SUGGEST_FAR, best = -1;

	if (n < sizeof(word)) {
		memcpy(word, section, n);
		word[n] = 0;
		for (int i = 0; i < CFG_S_SECTIONS; i++) {
			char name[CFG_SUGGEST_LEN + 1];
			int d;

			snprintf(name, sizeof(name), "%.*s", (int)strcspn(section_names[i], " "), section_names[i]);
			d = edit_distance(word, name);
			if (d < bestd) {
				bestd = d;
				best = i;
			}
		}
	}
	if (best >= 0 && bestd > 0 && bestd <= 2) {
		cfg_error(ps, NULL, "unknown section [%s]: did you mean [%s]?", section, section_names[best]);
	} else {
		char list[256];

		join_names(list, sizeof(list), section_names, CFG_S_SECTIONS, 1);
		cfg_error(ps, NULL, "unknown section [%s] (sections: %s)", section, list);
	}
}

static int enter_section(struct cfg_parse *ps, const char *section)
{
	ps->in_section = 1;
	if (strcmp(section, "agent") == 0) {
		ps->section = CFG_S_AGENT;
		return 0;
	}
	if (strcmp(section, "stats") == 0) {
		ps->section = CFG_S_STATS;
		return 0;
	}
	if (strcmp(section, "forwarded") == 0) {
		if (ps->cfg->fwd.enabled) {
			cfg_error(ps, NULL, "[forwarded] is defined twice (first at line %d)", ps->cfg->fwd.line);
			return -1;
		}
		ps->cfg->fwd.enabled = 1;
		ps->cfg->fwd.line = ps->line;
		ps->section = CFG_S_FORWARDED;
		return 0;
	}
	if (strncmp(section, "route", 5) == 0 && (section[5] == ' ' || section[5] == 0)) {
		const char *name = section + 5;

		while (*name == ' ' || *name == '\t')
			name++;
		if (!name_is_valid(name)) {
			cfg_error(ps, NULL, "[%s]: a route needs a name of letters, digits, '_', '-', '.'", section);
			return -1;
		}
		ps->section = CFG_S_ROUTE;
		ps->route = route_new(ps, name);
		return ps->route ? 0 : -1;
	}
	if (strncmp(section, "policy", 6) == 0 && (section[6] == ' ' || section[6] == 0)) {
		const char *name = section + 6;

		while (*name == ' ' || *name == '\t')
			name++;
		if (!name_is_valid(name)) {
			cfg_error(ps, NULL, "[%s]: a policy needs a name of letters, digits, '_', '-', '.'", section);
			return -1;
		}
		ps->section = CFG_S_POLICY;
		ps->policy = policy_new(ps, name);
		return ps->policy ? 0 : -1;
	}
	unknown_section_error(ps, section);
	return -1;
}

/* inih calls this for every key. Sections are entered by the line reader
 * (read_line_sections), which sees every header, even of an empty section;
 * a build of inih that also reports new sections (name == NULL) is ignored
 * here for that reason. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_parse *ps = user;
	char val[1024];
	size_t vlen;
	void *base;

	if (ps->failed)
		return 0;
	if (!name)
		return 1;
	/* one comment syntax everywhere (comment.h): inih cuts " ;" comments
	 * itself; " #" is cut here, for every key */
	vlen = strlen(value);
	if (vlen >= sizeof(val)) {
		cfg_error(ps, name, "value longer than %zu characters", sizeof(val) - 1);
		return 0;
	}
	vlen = comment_cut(value, vlen);
	while (vlen && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
		vlen--;
	memcpy(val, value, vlen);
	val[vlen] = 0;
	value = val;
	if (!ps->in_section) {
		cfg_error(ps, name, "key outside of any section");
		return 0;
	}
	base = ps->section == CFG_S_POLICY ? (void *)ps->policy :
	       ps->section == CFG_S_ROUTE ? (void *)ps->route : (void *)ps->cfg;
	for (size_t i = 0; i < NB_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];

		if (k->section != ps->section || strcmp(k->key, name) != 0)
			continue;
		if (k->type == CFG_T_LISTEN && !ps->listen_from_file) {
			/* the first listen line replaces the default address */
			for (int j = 0; j < ps->cfg->nlisten; j++)
				free(ps->cfg->listen[j]);
			ps->cfg->nlisten = 0;
			ps->listen_from_file = 1;
		}
		if (set_value(ps, k, base, value) < 0)
			return 0;
		if (ps->section == CFG_S_STATS && k->offset == AGENT(stats_token_file))
			ps->cfg->stats_token_file_line = ps->line;
		if (ps->section == CFG_S_POLICY) {
			if (k->offset == POLICY(ca_file))
				ps->policy->ca_file_line = ps->line;
			else if (k->offset == POLICY(crl_file))
				ps->policy->crl_file_line = ps->line;
			else if (k->offset == POLICY(ca_dir))
				ps->policy->ca_dir_line = ps->line;
			else if (k->offset == POLICY(intermediates))
				ps->policy->intermediates_line = ps->line;
			else if (k->offset == POLICY(spiffe_bundles))
				ps->policy->spiffe_bundles_line = ps->line;
			else if (k->offset == POLICY(jwks_file))
				ps->policy->jwks_file_line = ps->line;
		}
		return 1;
	}
	unknown_key_error(ps, name, section);
	return 0;
}

/* Line reader for ini_parse_stream(): counts lines and refuses lines that
 * inih would silently truncate. */
static char *read_line(char *str, int num, void *stream)
{
	struct cfg_parse *ps = stream;
	size_t len;

	if (ps->failed || !fgets(str, num, ps->fp))
		return NULL;
	ps->line++;
	len = strlen(str);
	if (len == (size_t)num - 1 && str[len - 1] != '\n' && !feof(ps->fp)) {
		cfg_error(ps, NULL, "line longer than %d characters (put long lists in their own file)", num - 2);
		return NULL;
	}
	return str;
}

/* inih reports a section only through the keys under it. To catch empty
 * or unknown sections and to know where a section starts, we watch the
 * raw lines ourselves: a line "[...]" enters a section before inih sees
 * its keys. */
static char *read_line_sections(char *str, int num, void *stream)
{
	struct cfg_parse *ps = stream;
	char *s = read_line(str, num, stream);
	char *p, *q;

	if (!s)
		return NULL;
	for (p = s; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '[') {
		q = strchr(p, ']');
		if (!q) {
			cfg_error(ps, NULL, "section header without ']'");
			return NULL;
		}
		*q = 0;
		if (enter_section(ps, p + 1) < 0)
			return NULL;
		*q = ']';
	}
	return s;
}

/* [stats] token_file: one token, trimmed; an unreadable, empty or
 * malformed file is an error, a world-readable one a warning. */
static int load_stats_token(struct cfg_parse *ps)
{
	struct config *cfg = ps->cfg;
	char buf[STATSAUTH_TOKEN_MAX + 64];
	const char *why = NULL;
	struct stat st;
	size_t n;
	FILE *f;
	int more;

	ps->line = cfg->stats_token_file_line;
	if (!(f = fopen(cfg->stats_token_file, "r"))) {
		cfg_error(ps, "token_file", "%s: %s", cfg->stats_token_file, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode)) {
		fclose(f);
		cfg_error(ps, "token_file", "%s: not a regular file", cfg->stats_token_file);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	more = n == sizeof(buf);
	fclose(f);
	if (more)
		why = "holds a token longer than 1024 characters";
	else
		statsauth_token_parse(buf, &n, &why);
	if (why) {
		OPENSSL_cleanse(buf, sizeof(buf));
		cfg_error(ps, "token_file", "%s %s", cfg->stats_token_file, why);
		return -1;
	}
	if (!(cfg->stats_token = malloc(n + 1))) {
		OPENSSL_cleanse(buf, sizeof(buf));
		cfg_error(ps, "token_file", "out of memory");
		return -1;
	}
	memcpy(cfg->stats_token, buf, n);
	cfg->stats_token[n] = 0;
	cfg->stats_token_len = n;
	cfg->stats_token_world_readable = (st.st_mode & S_IROTH) != 0;
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

/* The first of p's lists that needs the leaf's issuer (an issuer
 * thumbprint list, or a serial list with an entry "SERIAL ISSUER-DN"), or
 * NULL. *side is 0 for allow, 1 for deny. */
static const struct cfg_list *issuer_rule(const struct policy *p, int *side)
{
	for (*side = 0; *side < 2; (*side)++) {
		const struct cfg_list *it = *side ? &p->deny[ID_ISSUER_THUMBPRINT] : &p->allow[ID_ISSUER_THUMBPRINT];
		const struct cfg_list *se = *side ? &p->deny[ID_SERIAL] : &p->allow[ID_SERIAL];

		if (it->src)
			return it;
		for (size_t i = 0; se->set && i < strset_count(se->set); i++)
			if (strchr(strset_get(se->set, i), '|'))
				return se;
	}
	return NULL;
}

/* Add "SERIAL" CFG_SERIAL_ANY_ISSUER for each "SERIAL|ISSUER-DN" of l. */
static int mark_serial_issuers(struct cfg_list *l)
{
	size_t n = l->set ? strset_count(l->set) : 0, k;
	const size_t mark = sizeof(CFG_SERIAL_ANY_ISSUER) - 1;
	char buf[CERT_SERIAL_MAX + sizeof(CFG_SERIAL_ANY_ISSUER)];

	for (size_t i = 0; i < n; i++) {
		const char *e = strset_get(l->set, i), *bar = strchr(e, '|');

		if (!bar || strcmp(bar, CFG_SERIAL_ANY_ISSUER) == 0)
			continue;
		k = (size_t)(bar - e);
		if (k + mark >= sizeof(buf))
			return -1;
		memcpy(buf, e, k);
		memcpy(buf + k, CFG_SERIAL_ANY_ISSUER, mark);
		if (!strset_has(l->set, buf, k + mark) && strset_add(l->set, buf, k + mark) < 0)
			return -1;
	}
	return 0;
}

/* Issuer rules are matched on the path the agent builds and verifies
 * itself (also under verify = haproxy): without a trust store there is
 * none, every issuer rule would deny, so the configuration is refused. */
static int check_issuer_rules(struct cfg_parse *ps, struct policy *p)
{
	const struct cfg_list *l;
	char key[64];
	int side;

	if (mark_serial_issuers(&p->allow[ID_SERIAL]) < 0 || mark_serial_issuers(&p->deny[ID_SERIAL]) < 0) {
		ps->line = p->line;
		cfg_error(ps, NULL, "[policy %s]: out of memory", p->name);
		return -1;
	}
	l = issuer_rule(p, &side);
	p->issuer_rules = l != NULL;
	if (!l || p->store || p->ntds)
		return 0;
	ps->line = l->line ? l->line : p->line;
	if (l->key)
		snprintf(key, sizeof(key), "%s", l->key);
	else
		snprintf(key, sizeof(key), "%s_%s", side ? "deny" : "allow",
		         id_kind_names[l == &p->allow[ID_SERIAL] || l == &p->deny[ID_SERIAL] ?
		                       ID_SERIAL : ID_ISSUER_THUMBPRINT]);
	cfg_error(ps, key, "[policy %s]: issuer rules need ca_file or ca_dir (the agent matches "
	          "them on the chain it verifies itself, also under verify = haproxy)", p->name);
	return -1;
}

/* One trust domain's bundle file into td->store: a SPIFFE bundle document
 * when it starts with '{', else PEM. Returns 0, or -1 with why set. */
static int load_bundle(struct spiffe_td *td, char *why, size_t whylen)
{
	struct spiffe_bundle b;
	char *buf = NULL, reason[512];
	size_t n = 0;
	FILE *f;
	int rc = -1;

	if (!(f = fopen(td->file, "r"))) {
		set_err(why, whylen, "%s: %s", td->file, strerror(errno));
		return -1;
	}
	if (!(buf = malloc(SPIFFE_BUNDLE_MAX + 1))) {
		set_err(why, whylen, "out of memory");
		goto out;
	}
	n = fread(buf, 1, SPIFFE_BUNDLE_MAX + 1, f);
	if (ferror(f)) {
		set_err(why, whylen, "%s: %s", td->file, strerror(errno));
		goto out;
	}
	td->json = spiffe_bundle_is_json(buf, n);
	if (n > SPIFFE_BUNDLE_MAX) {
		set_err(why, whylen, "%s: larger than %d bytes", td->file, SPIFFE_BUNDLE_MAX);
		goto out;
	}
	if ((td->json ? spiffe_bundle_parse_json(buf, n, &b, reason, sizeof(reason))
	              : spiffe_bundle_parse_pem(buf, n, &b, reason, sizeof(reason))) < 0) {
		set_err(why, whylen, "%s: %s", td->file, reason);
		goto out;
	}
	td->has_refresh_hint = b.has_refresh_hint;
	td->refresh_hint = b.refresh_hint;
	if (!(td->store = cert_store_new())) {
		set_err(why, whylen, "out of memory");
		spiffe_bundle_clear(&b);
		goto out;
	}
	for (int i = 0; i < sk_X509_num(b.authorities); i++) {
		if (cert_store_add_anchor(td->store, sk_X509_value(b.authorities, i)) < 0) {
			set_err(why, whylen, "%s: authority %d cannot be added", td->file, i + 1);
			spiffe_bundle_clear(&b);
			goto out;
		}
	}
	td->authorities = cert_store_count(td->store);
	spiffe_bundle_clear(&b);
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

/* spiffe_bundles = TD=FILE, TD=FILE...: each trust domain once, a valid
 * SPIFFE trust domain name, its own store. */
/* TD=@https://URL (a SPIFFE bundle endpoint, https only): its last good
 * copy in state_dir is read (revoc.c fetches it, checks it with
 * spiffe-bundle.c and reloads). 0: td->file is a file to load, 1: no copy
 * yet (the trust domain is pending: its certificates are denied), -1:
 * refused. */
static int resolve_url_bundle(struct cfg_parse *ps, struct spiffe_td *td)
{
	char path[4096];
	struct stat sb;

	if (td->file[0] != '@' || !cfg_is_url(td->file + 1))
		return 0;
	if (strncmp(td->file + 1, "https://", 8) != 0) {
		cfg_error(ps, "spiffe_bundles", "trust domain %s: a bundle endpoint must be https://", td->name);
		return -1;
	}
	if (!ps->cfg->state_dir) {
		cfg_error(ps, "spiffe_bundles", "a bundle given as a URL needs [agent] state_dir (its last good copy)");
		return -1;
	}
	if (cfg_url_cache_path(ps->cfg->state_dir, "bundle", td->file + 1, "json", path, sizeof(path)) < 0) {
		cfg_error(ps, "spiffe_bundles", "state_dir path too long");
		return -1;
	}
	memmove(td->file, td->file + 1, strlen(td->file));   /* the URL without its '@' */
	td->url = td->file;
	if (!(td->file = strdup(path))) {
		cfg_error(ps, "spiffe_bundles", "out of memory");
		return -1;
	}
	if (stat(path, &sb) == -1) {
		td->pending = 1;
		return 1;
	}
	return 0;
}

static int load_spiffe_bundles(struct cfg_parse *ps, struct policy *p)
{
	const char *s = p->spiffe_bundles, *e, *eq, *a, *b;
	char id[SPIFFE_TD_MAX + 16], why[1024];
	struct spiffe_id sid;
	struct spiffe_td *td;
	int rc;

	ps->line = p->spiffe_bundles_line;
	if (p->ca_file || p->ca_dir || p->intermediates || p->crl_file) {
		cfg_error(ps, "spiffe_bundles", "[policy %s]: the bundles replace ca_file, ca_dir, "
		          "intermediates and crl_file: a policy has one or the other", p->name);
		return -1;
	}
	if (!(p->tds = calloc(POLICY_SPIFFE_TDS_MAX, sizeof(*p->tds)))) {
		cfg_error(ps, "spiffe_bundles", "out of memory");
		return -1;
	}
	while (*s) {
		for (e = s; *e && *e != ','; e++)
			;
		for (a = s; a < e && (*a == ' ' || *a == '\t'); a++)
			;
		for (b = e; b > a && (b[-1] == ' ' || b[-1] == '\t'); b--)
			;
		for (eq = a; eq < b && *eq != '='; eq++)
			;
		if (eq == b || eq == a || eq + 1 == b) {
			cfg_error(ps, "spiffe_bundles", "'%.*s' is not TRUST-DOMAIN=FILE", (int)(b - a), a);
			return -1;
		}
		/* a trust domain is what a SPIFFE ID has between "spiffe://" and its path */
		if ((size_t)(eq - a) > SPIFFE_TD_MAX ||
		    snprintf(id, sizeof(id), "spiffe://%.*s", (int)(eq - a), a) >= (int)sizeof(id) ||
		    spiffe_parse(id, strlen(id), &sid) != SPIFFE_OK || sid.path_len) {
			cfg_error(ps, "spiffe_bundles", "'%.*s' is not a SPIFFE trust domain ([a-z0-9.-_], lowercase)",
			          (int)(eq - a), a);
			return -1;
		}
		for (int i = 0; i < p->ntds; i++) {
			if (p->tds[i].name_len == (size_t)(eq - a) && memcmp(p->tds[i].name, a, p->tds[i].name_len) == 0) {
				cfg_error(ps, "spiffe_bundles", "trust domain %.*s is given twice", (int)(eq - a), a);
				return -1;
			}
		}
		if (p->ntds >= POLICY_SPIFFE_TDS_MAX) {
			cfg_error(ps, "spiffe_bundles", "more than %d trust domains", POLICY_SPIFFE_TDS_MAX);
			return -1;
		}
		td = &p->tds[p->ntds++];
		td->name_len = (size_t)(eq - a);
		if (!(td->name = strndup(a, td->name_len)) || !(td->file = strndup(eq + 1, (size_t)(b - eq - 1)))) {
			cfg_error(ps, "spiffe_bundles", "out of memory");
			return -1;
		}
		if ((rc = resolve_url_bundle(ps, td)) < 0)
			return -1;
		if (rc == 0 && load_bundle(td, why, sizeof(why)) < 0) {
			cfg_error(ps, "spiffe_bundles", "trust domain %s: %s", td->name, why);
			return -1;
		}
		s = *e ? e + 1 : e;
	}
	if (!p->ntds) {
		cfg_error(ps, "spiffe_bundles", "no TRUST-DOMAIN=FILE given");
		return -1;
	}
	/* Only the SPIFFE ID (the one URI SAN) is bound to the trust domain
	 * whose bundle verified it. Every other name is whatever the signing
	 * CA wrote: with two trust domains, td2's CA can sign a DNS name,
	 * CN, subject, issuer DN or serial that allow_* lists for td1's
	 * clients, and it is let in (the pooled-CA problem spiffe_bundles
	 * exists to solve). Thumbprints, SPKI pins, issuer thumbprints (the
	 * verified path), SPIFFE IDs and URIs (= the SPIFFE ID) stay bound. */
	if (p->ntds > 1) {
		static const int ca_chosen[] = { ID_SERIAL, ID_SUBJECT, ID_ISSUER, ID_DNS, ID_EMAIL, ID_IP, ID_CN };

		for (size_t i = 0; i < sizeof(ca_chosen) / sizeof(ca_chosen[0]); i++) {
			if (!p->allow[ca_chosen[i]].src)
				continue;
			cfg_error(ps, "spiffe_bundles", "[policy %s] has %d trust domains and allow_%s: each domain's CA "
			          "can write these names, so one domain could claim another's clients; "
			          "allow by allow_spiffe (or thumbprints, spki_pins), or give each trust domain its own policy",
			          p->name, p->ntds, id_kind_names[ca_chosen[i]]);
			return -1;
		}
	}
	return 0;
}

/* OCSP needs the issuer of each certificate it asks about: a verified
 * path, so a trust store. */
static int check_ocsp(struct cfg_parse *ps, const struct policy *p)
{
	ps->line = p->line;
	if (!p->store) {
		cfg_error(ps, "ocsp", "[policy %s]: OCSP needs ca_file or ca_dir (the issuer of each "
		          "certificate is taken from the path the agent verifies)", p->name);
		return -1;
	}
	if (p->ocsp_url) {
		size_t n = strlen(p->ocsp_url);

		if (n < 8 || strncasecmp(p->ocsp_url, "http://", 7) != 0 || n >= 1024) {
			cfg_error(ps, "ocsp_url", "[policy %s]: an http:// URL shorter than 1024 bytes "
			          "(RFC 5019 transport)", p->name);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p->ocsp_url[i] <= 0x20 || (unsigned char)p->ocsp_url[i] >= 0x7f) {
				cfg_error(ps, "ocsp_url", "[policy %s]: spaces or control bytes in the URL", p->name);
				return -1;
			}
	}
	if (p->ocsp_url_mode == OCSP_URL_OVERRIDE && !p->ocsp_url) {
		cfg_error(ps, "ocsp_url_mode", "[policy %s]: override needs ocsp_url", p->name);
		return -1;
	}
	if (p->ocsp_fallback == OCSP_FALLBACK_CRL && !(p->verify_flags & (CERT_VF_CRL_LEAF | CERT_VF_CRL_ALL))) {
		cfg_error(ps, "ocsp_fallback", "[policy %s]: crl needs CRLs checked by the agent: crl_file, "
		          "or [agent] crl_fetch / crl_urls with verify = agent or both", p->name);
		return -1;
	}
	return 0;
}

int cfg_is_url(const char *s)
{
	return s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0);
}

int cfg_url_cache_path(const char *dir, const char *prefix, const char *url, const char *ext,
                       char *out, size_t outlen)
{
	unsigned char h[32];
	char hex[65];
	unsigned int hl = 0;

	if (!dir || !EVP_Digest(url, strlen(url), h, &hl, EVP_sha256(), NULL) || hl != 32)
		return -1;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	return snprintf(out, outlen, "%s/%s-%s.%s", dir, prefix, hex, ext) < (int)outlen ? 0 : -1;
}

/* Lists given as "@http(s)://URL" (the "@" of a file, so that an inline
 * allow_uri value stays a URI) read their last good copy in state_dir
 * (revoc.c fetches it, validates it with this same parser and reloads);
 * with no copy yet the list is pending and the policy denies every
 * request. */
static int resolve_url_lists(struct cfg_parse *ps, struct policy *p)
{
	char path[4096];

	for (int side = 0; side < 2; side++) {
		for (int k = 0; k < ID_KINDS; k++) {
			struct cfg_list *l = side ? &p->deny[k] : &p->allow[k];
			struct stat sb;
			char *src;

			if (!l->src || l->src[0] != '@' || !cfg_is_url(l->src + 1))
				continue;
			ps->line = l->line;
			if (!ps->cfg->state_dir) {
				cfg_error(ps, l->key, "a list given as a URL needs [agent] state_dir (its last good copy)");
				return -1;
			}
			if (cfg_url_cache_path(ps->cfg->state_dir, "list", l->src + 1, "txt", path + 1, sizeof(path) - 1) < 0) {
				cfg_error(ps, l->key, "state_dir path too long");
				return -1;
			}
			path[0] = '@';
			if (stat(path + 1, &sb) == -1) {
				l->pending = 1;
				p->lists_pending++;
				if (snprintf(path, sizeof(path), "@/dev/null") < 0)
					return -1;
			}
			if (!(src = strdup(path))) {
				cfg_error(ps, l->key, "out of memory");
				return -1;
			}
			memmove(l->src, l->src + 1, strlen(l->src));   /* the URL without its '@' */
			l->url = l->src;
			l->src = src;
		}
	}
	return 0;
}

/* ca_file given as "@http(s)://URL": the trust anchors are the last good
 * copy in state_dir (revoc.c fetches the URL every list_refresh, checks
 * it with cert_store_load and reloads); with no copy yet the policy has
 * an empty store - no trust anchor - and denies every request. */
static int resolve_url_ca(struct cfg_parse *ps, struct policy *p)
{
	char path[4096];
	struct stat sb;

	ps->line = p->ca_file_line;
	if (!ps->cfg->state_dir) {
		cfg_error(ps, "ca_file", "a ca_file given as a URL needs [agent] state_dir (its last good copy)");
		return -1;
	}
	if (p->verify == VERIFY_HAPROXY) {
		cfg_error(ps, "ca_file", "a ca_file given as a URL needs verify = agent or both");
		return -1;
	}
	if (cfg_url_cache_path(ps->cfg->state_dir, "ca", p->ca_file + 1, "pem", path, sizeof(path)) < 0) {
		cfg_error(ps, "ca_file", "state_dir path too long");
		return -1;
	}
	if (!(p->ca_url = strdup(p->ca_file + 1))) {
		cfg_error(ps, "ca_file", "out of memory");
		return -1;
	}
	free(p->ca_file);
	p->ca_file = NULL;
	if (stat(path, &sb) == -1) {
		if (!(p->store = cert_store_new())) {
			cfg_error(ps, "ca_file", "out of memory");
			return -1;
		}
		return 0;
	}
	if (!(p->ca_file = strdup(path))) {
		cfg_error(ps, "ca_file", "out of memory");
		return -1;
	}
	return 0;
}

static int check_crl_url(void *arg, const char *item, size_t len, char *err, size_t errlen)
{
	(void)arg;
	if (len < 8 || !((len > 7 && strncmp(item, "http://", 7) == 0) ||
	                 (len > 8 && strncmp(item, "https://", 8) == 0))) {
		set_err(err, errlen, "'%.*s' is not an http:// or https:// URL", (int)(len > 80 ? 80 : len), item);
		return -1;
	}
	if (len >= 512) {
		set_err(err, errlen, "a URL longer than 511 characters");
		return -1;
	}
	return 0;
}

/* jwks_file = @http(s)://URL: its last good copy in state_dir is read
 * (revoc.c fetches it, checks it with token.c's parser and reloads); with
 * no copy yet there is no key and a policy with token = bound|required
 * denies every request (list_unavailable), like a list not fetched yet. */
static int resolve_url_jwks(struct cfg_parse *ps, struct policy *p)
{
	char path[4096];
	struct stat sb;

	if (!p->jwks_file || p->jwks_file[0] != '@' || !cfg_is_url(p->jwks_file + 1))
		return 0;
	ps->line = p->jwks_file_line;
	if (!ps->cfg->state_dir) {
		cfg_error(ps, "jwks_file", "a JWKS given as a URL needs [agent] state_dir (its last good copy)");
		return -1;
	}
	if (cfg_url_cache_path(ps->cfg->state_dir, "jwks", p->jwks_file + 1, "json", path, sizeof(path)) < 0) {
		cfg_error(ps, "jwks_file", "state_dir path too long");
		return -1;
	}
	memmove(p->jwks_file, p->jwks_file + 1, strlen(p->jwks_file));   /* the URL without its '@' */
	p->jwks_url = p->jwks_file;
	p->jwks_file = NULL;
	if (stat(path, &sb) == -1) {
		if (p->token != TOKEN_MODE_OFF)
			p->lists_pending++;
		return 0;
	}
	if (!(p->jwks_file = strdup(path))) {
		cfg_error(ps, "jwks_file", "out of memory");
		return -1;
	}
	return 0;
}

/* token and jwks_file: the JWKS is read here, parsed by token.c. */
static int load_token(struct cfg_parse *ps, struct policy *p)
{
	char why[512];
	char *buf = NULL;
	size_t n;
	FILE *f;

	if (!p->jwks_file) {
		if (p->token == TOKEN_MODE_OFF || p->jwks_url)   /* a URL not fetched yet */
			return 0;
		ps->line = p->line;
		cfg_error(ps, "token", "[policy %s]: token = %s needs jwks_file", p->name,
		          token_mode_names[p->token]);
		return -1;
	}
	ps->line = p->jwks_file_line;
	if (!(f = fopen(p->jwks_file, "r"))) {
		cfg_error(ps, "jwks_file", "%s: %s", p->jwks_file, strerror(errno));
		return -1;
	}
	if (!(buf = malloc(TOKEN_JWKS_MAX + 1))) {
		fclose(f);
		cfg_error(ps, "jwks_file", "out of memory");
		return -1;
	}
	n = fread(buf, 1, TOKEN_JWKS_MAX + 1, f);
	fclose(f);
	if (n > TOKEN_JWKS_MAX) {
		free(buf);
		cfg_error(ps, "jwks_file", "%s: larger than %d bytes", p->jwks_file, TOKEN_JWKS_MAX);
		return -1;
	}
	p->jwks = token_jwks_parse(buf, n, why, sizeof(why));
	free(buf);
	if (!p->jwks) {
		cfg_error(ps, "jwks_file", "%s: %s", p->jwks_file, why);
		return -1;
	}
	return 0;
}

static int load_files(struct cfg_parse *ps)
{
	struct config *cfg = ps->cfg;
	const char *key;
	char why[4096];

	for (struct policy *p = cfg->policies; p; p = p->next) {
		if (p->spiffe_bundles && load_spiffe_bundles(ps, p) < 0)
			return -1;
		if (p->ca_file && p->ca_file[0] == '@' && cfg_is_url(p->ca_file + 1) &&
		    resolve_url_ca(ps, p) < 0)
			return -1;
		if (p->verify != VERIFY_HAPROXY && !p->ca_file && !p->ca_url && !p->ca_dir && !p->ntds) {
			ps->line = p->line;
			cfg_error(ps, "verify", "[policy %s] verifies in the agent but has no ca_file, ca_dir or spiffe_bundles", p->name);
			return -1;
		}
		if (p->ca_file) {
			p->store = cert_store_load(p->ca_file, why, sizeof(why));
			if (!p->store) {
				ps->line = p->ca_file_line;
				cfg_error(ps, "ca_file", "%s", why);
				return -1;
			}
		}
		if (p->ca_dir) {
			ps->line = p->ca_dir_line;
			if (!p->store && !(p->store = cert_store_new())) {
				cfg_error(ps, "ca_dir", "out of memory");
				return -1;
			}
			if (cert_store_add_dir(p->store, p->ca_dir, why, sizeof(why)) < 0) {
				cfg_error(ps, "ca_dir", "%s", why);
				return -1;
			}
		}
		if (p->intermediates) {
			ps->line = p->intermediates_line;
			if (!p->store) {
				cfg_error(ps, "intermediates", "needs ca_file or ca_dir (agent verification)");
				return -1;
			}
			if (cert_store_add_intermediates(p->store, p->intermediates, why, sizeof(why)) < 0) {
				cfg_error(ps, "intermediates", "%s", why);
				return -1;
			}
		}
		if (p->crl_file) {
			struct cert_crl_info ci;

			ps->line = p->crl_file_line;
			if (p->verify == VERIFY_HAPROXY) {
				cfg_error(ps, "crl_file", "needs verify = agent or both (for HAProxy's own check use crl-file on the bind line)");
				return -1;
			}
			if (cert_store_add_crls(p->store, p->crl_file, &ci, why, sizeof(why)) < 0) {
				cfg_error(ps, "crl_file", "%s", why);
				return -1;
			}
			p->crl_count = ci.count;
			p->crl_last_update = ci.last_update;
			p->crl_next_update = ci.next_update;
		}
		/* revocation: from crl_file, or fetched in the background for
		 * every policy that verifies in the agent */
		if (p->crl_file || (p->verify != VERIFY_HAPROXY &&
		                    (cfg->crl_fetch != CRL_FETCH_OFF || cfg->crl_urls))) {
			p->verify_flags = p->crl_check == CRL_CHECK_LEAF ? CERT_VF_CRL_LEAF : CERT_VF_CRL_ALL;
			if (p->crl_missing == CRL_MISSING_ALLOW)
				p->verify_flags |= CERT_VF_CRL_MISSING_OK;
			if (p->crl_expired == CRL_EXPIRED_ALLOW)
				p->verify_flags |= CERT_VF_CRL_EXPIRED_OK;
			p->crl_grace = cfg->crl_grace_ms / 1000;
		}
		if (resolve_url_jwks(ps, p) < 0 || load_token(ps, p) < 0)
			return -1;
		if (p->ocsp != OCSP_MODE_OFF && check_ocsp(ps, p) < 0)
			return -1;
		if (resolve_url_lists(ps, p) < 0)
			return -1;
		if (lists_compile_policy(p, &ps->line, &key, why, sizeof(why)) < 0) {
			cfg_error(ps, key, "%s", why);
			return -1;
		}
		if (check_issuer_rules(ps, p) < 0)
			return -1;
		if (strcmp(p->name, "default") == 0)
			cfg->default_policy = p;
	}
	if (!cfg->default_policy) {
		if (cfg->policies && cfg->policies->next) {
			ps->line = cfg->policies->next->line;
			cfg_error(ps, NULL, "several policies but none is named 'default'");
			return -1;
		}
		cfg->default_policy = cfg->policies;
	}
	if (cfg->crl_urls) {
		ps->line = 0;
		if (list_foreach(cfg->crl_urls, 0, check_crl_url, NULL, NULL, why, sizeof(why)) < 0) {
			cfg_error(ps, "crl_urls", "%s", why);
			return -1;
		}
	}
	if (cfg->trace_secret && strlen(cfg->trace_secret) < 16) {
		ps->line = 0;
		cfg_error(ps, "trace_secret", "must be at least 16 characters");
		return -1;
	}
	/* a unix socket path: absolute, and within sun_path (108 bytes with its NUL) */
	if (cfg->admin_socket && (cfg->admin_socket[0] != '/' || strlen(cfg->admin_socket) > 107)) {
		ps->line = 0;
		cfg_error(ps, "admin_socket", "'%s' is not an absolute unix socket path of at most 107 bytes",
		          cfg->admin_socket);
		return -1;
	}
	if (cfg->state_dir && cfg->state_dir[0] != '/') {
		ps->line = 0;
		cfg_error(ps, "state_dir", "'%s' is not an absolute path", cfg->state_dir);
		return -1;
	}
	for (struct route *r = cfg->routes; r; r = r->next) {
		ps->line = r->line;
		if (!r->policy_name) {
			cfg_error(ps, "policy", "[route %s] names no policy", r->name);
			return -1;
		}
		for (const struct policy *p = cfg->policies; p; p = p->next)
			if (strcmp(p->name, r->policy_name) == 0)
				r->policy = p;
		if (!r->policy) {
			cfg_error(ps, "policy", "[route %s]: no [policy %s]", r->name, r->policy_name);
			return -1;
		}
		if (lists_compile_route(r, &ps->line, &key, why, sizeof(why)) < 0) {
			cfg_error(ps, key, "%s", why);
			return -1;
		}
	}
	cfg->routing_per_request = rules_routing_per_request(cfg);
	if (cfg->stats_token_file && load_stats_token(ps) < 0)
		return -1;
	if (cfg->fwd.enabled) {
		ps->line = cfg->fwd.line;
		if (!cfg->fwd.trusted_proxies.src) {
			cfg_error(ps, "trusted_proxies", "[forwarded] needs trusted_proxies: nobody else may forward a certificate");
			return -1;
		}
		if (lists_compile_fwd(&cfg->fwd, &ps->line, &key, why, sizeof(why)) < 0) {
			cfg_error(ps, key, "%s", why);
			return -1;
		}
	}
	return 0;
}

int cfg_warnings(const struct config *cfg, FILE *out)
{
	int n = 0;

	for (const struct route *r = cfg->routes; r; r = r->next) {
		if (!r->frontend.src || !r->policy || r->policy->verify != VERIFY_HAPROXY)
			continue;
		/* HAProxy 2.6 and 3.0 resume a TLS 1.2 session on any frontend
		 * that shares the session cache, ssl_c_verify included */
		fprintf(out, "%s:%d: WARNING: [route %s] picks [policy %s] by frontend, and that "
		        "policy trusts HAProxy's verification (verify = haproxy); HAProxy 2.6 and "
		        "3.0 resume a TLS 1.2 session verified by one frontend's ca-file on another "
		        "frontend with a different ca-file, so ssl_c_verify = 0 may come from another "
		        "frontend's CA: set verify = both with this frontend's CA as ca_file\n",
		        cfg->file, r->frontend.line ? r->frontend.line : r->line, r->name,
		        r->policy->name);
		n++;
	}
	for (const struct policy *p = cfg->policies; p; p = p->next) {
		if (p->client_id != CLIENT_ID_SPIFFE || p->ntds)
			continue;
		/* without a bundle per trust domain, every CA this policy (or
		 * HAProxy's ca-file) trusts may write any SPIFFE ID */
		fprintf(out, "%s:%d: WARNING: [policy %s] has client_id = spiffe but no spiffe_bundles: "
		        "the SPIFFE ID is whatever any CA it trusts wrote, so two CAs can give two "
		        "clients one client_id (one rate limit); use spiffe_bundles, or client_id = spki\n",
		        cfg->file, p->line, p->name);
		n++;
	}
	if (cfg->stats_token_world_readable) {
		fprintf(out, "%s:%d: WARNING: token_file %s is readable by every user: chmod o-r "
		        "(e.g. 0400, or 0440 with the agent's group)\n", cfg->file,
		        cfg->stats_token_file_line, cfg->stats_token_file);
		n++;
	}
	return n;
}

struct config *cfg_load(const char *file, char *err, size_t errlen)
{
	struct cfg_parse ps = { .err = err, .errlen = errlen };
	struct config *cfg = calloc(1, sizeof(*cfg));
	int rc;

	if (!cfg || !(cfg->file = strdup(file))) {
		snprintf(err, errlen, "%s: out of memory", file);
		free(cfg);
		return NULL;
	}
	ps.cfg = cfg;
	apply_defaults(&ps, CFG_S_AGENT, cfg);
	apply_defaults(&ps, CFG_S_STATS, cfg);
	cfg->generation = 1;
	cfg->socket_mode = -1;
	if (!(ps.fp = fopen(file, "r"))) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		cfg_free(cfg);
		return NULL;
	}
	rc = ini_parse_stream(read_line_sections, &ps, on_key, &ps);
	fclose(ps.fp);
	if (!ps.failed && rc != 0) {
		/* inih's own syntax error, e.g. a line with neither '=' nor ':' */
		if (rc > 0)
			ps.line = rc;
		cfg_error(&ps, NULL, "syntax error (expected 'key = value' or '[section]')");
	}
	if (!ps.failed && !cfg->policies) {
		/* no policy section: one default policy with default values */
		ps.line = 0;
		policy_new(&ps, "default");
	}
	if (!ps.failed)
		load_files(&ps);
	if (ps.failed) {
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

void cfg_free(struct config *cfg)
{
	struct policy *p, *next;

	if (!cfg)
		return;
	for (struct route *r = cfg->routes, *rn; r; r = rn) {
		rn = r->next;
		cfg_list_free(&r->sni);
		cfg_list_free(&r->host);
		cfg_list_free(&r->path_prefix);
		cfg_list_free(&r->frontend);
		free(r->policy_name);
		free(r);
	}
	cfg_list_free(&cfg->fwd.trusted_proxies);
	for (p = cfg->policies; p; p = next) {
		next = p->next;
		for (int k = 0; k < ID_KINDS; k++) {
			cfg_list_free(&p->allow[k]);
			cfg_list_free(&p->deny[k]);
		}
		cfg_list_free(&p->allowed_curves);
		cfg_list_free(&p->allowed_key_types);
		cfg_list_free(&p->forbid_signature);
		cfg_list_free(&p->require_policies);
		free(p->ca_file);
		free(p->ca_url);
		free(p->crl_file);
		free(p->ocsp_url);
		free(p->ca_dir);
		free(p->intermediates);
		free(p->jwks_file);
		free(p->jwks_url);
		free(p->token_issuer);
		free(p->token_audience);
		token_jwks_free(p->jwks);
		cert_store_free(p->store);
		for (int i = 0; p->tds && i < p->ntds; i++) {
			free(p->tds[i].name);
			free(p->tds[i].file);
			free(p->tds[i].url);
			cert_store_free(p->tds[i].store);
		}
		free(p->tds);
		free(p->spiffe_bundles);
		free(p);
	}
	for (int i = 0; i < cfg->nlisten; i++)
		free(cfg->listen[i]);
	free(cfg->ready_file);
	free(cfg->pid_file);
	free(cfg->stats_listen);
	free(cfg->stats_token_file);
	if (cfg->stats_token)
		OPENSSL_cleanse(cfg->stats_token, cfg->stats_token_len);
	free(cfg->stats_token);
	free(cfg->trace_secret);
	free(cfg->admin_socket);
	free(cfg->haproxy_socket);
	free(cfg->admin_socket_group);
	free(cfg->crl_urls);
	free(cfg->fetch_ca_file);
	free(cfg->state_dir);
	free(cfg->file);
	free(cfg);
}

static void print_range(FILE *out, const struct cfg_key *k)
{
	switch (k->type) {
	case CFG_T_INT:
		fprintf(out, "integer %ld..%ld", k->min, k->max);
		break;
	case CFG_T_DURATION:
		fprintf(out, "duration %ldms..%ldms", k->min, k->max);
		break;
	case CFG_T_ENUM:
		fprintf(out, "one of");
		for (int i = 0; k->names[i]; i++)
			fprintf(out, "%s%s", i ? "|" : " ", k->names[i]);
		break;
	case CFG_T_BOOL:
	case CFG_T_STR:
	case CFG_T_LISTEN:
	case CFG_T_LIST:
	case CFG_T_OCTAL:
	case CFG_T_ADDR:
		fprintf(out, "%s", type_names[k->type]);
		break;
	case CFG_T_TYPES:
		break;
	}
}

void cfg_print_help(FILE *out)
{
	enum cfg_section sec = CFG_S_SECTIONS;

	for (size_t i = 0; i < NB_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];

		if (k->section != sec) {
			sec = k->section;
			fprintf(out, "%s[%s]\n", i ? "\n" : "", section_names[sec]);
		}
		fprintf(out, "  %-17s ", k->key);
		print_range(out, k);
		fprintf(out, ", default %s\n      %s\n", k->def ? k->def : "(unset)", k->help);
	}
}

void cfg_print_example(FILE *out)
{
	enum cfg_section sec = CFG_S_SECTIONS;

	fprintf(out, "; certspoa configuration: every key with its default.\n");
	for (size_t i = 0; i < NB_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];

		if (k->section != sec) {
			sec = k->section;
			fprintf(out, "\n%s[%s]\n", sec == CFG_S_FORWARDED || sec == CFG_S_ROUTE ? ";" : "",
			        sec == CFG_S_POLICY ? "policy default" : sec == CFG_S_ROUTE ? "route NAME" : section_names[sec]);
		}
		fprintf(out, "; %s (", k->help);
		print_range(out, k);
		/* keys without a default, and whole optional sections, stay
		 * commented out so that the example loads as it is */
		fprintf(out, ")\n%s%s = %s\n",
		        k->def && sec != CFG_S_FORWARDED && sec != CFG_S_ROUTE ? "" : ";",
		        k->key, k->def ? k->def : "");
	}
}
