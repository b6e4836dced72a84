/* Configuration: what the INI file turns into. Immutable once loaded. */
#ifndef CERTSPOA_CFG_T_H
#define CERTSPOA_CFG_T_H

#include <stddef.h>

#define CFG_MAX_LISTEN 16
#define CFG_MAX_THREADS 64     /* worker threads: [agent] threads is refused above it */
#define CFG_NAME_MAX   64

/* The enumerated config values: each list X(CONSTANT, "config word") gives
 * the enum here and the names cfg.c parses and prints (CFG_ENUM_NAMES). */
#define CFG_ENUM_CONST(c, word) c,
#define CFG_ENUM_NAME(c, word) [c] = word,

/* verify: who verifies the chain. haproxy trusts ssl_c_verify, agent
 * verifies here against ca_file, both needs both to pass. */
#define VERIFY_MODE_LIST(X) \
	X(VERIFY_HAPROXY, "haproxy") \
	X(VERIFY_AGENT,   "agent") \
	X(VERIFY_BOTH,    "both")
enum verify_mode { VERIFY_MODE_LIST(CFG_ENUM_CONST) VERIFY_MODES };
_Static_assert(VERIFY_HAPROXY == 0, "first value 0");

#define CFG_MAX_POLICIES 64
#define POLICY_MAX_SANS_DEFAULT 100   /* max_sans */
#define POLICY_MAX_SANS_MAX     10000 /* its upper bound: <= CERT_SANS_KEEP_MAX */
#define CFG_MAX_ROUTES   256

/* mode: shadow decides and reports, but always allows. */
#define POLICY_MODE_LIST(X) \
	X(POLICY_ENFORCE, "enforce") \
	X(POLICY_SHADOW,  "shadow")
enum policy_mode { POLICY_MODE_LIST(CFG_ENUM_CONST) POLICY_MODES };

/* deny_detail: what a denied client is told (the shipped haproxy.cfg
 * builds the answer from txn.certspoa.deny_detail): none = the status only,
 * code = and the code, hint = and the reason, rule, detail and request id. */
#define DENY_DETAIL_LIST(X) \
	X(DENY_DETAIL_NONE, "none") \
	X(DENY_DETAIL_CODE, "code") \
	X(DENY_DETAIL_HINT, "hint")
enum deny_detail { DENY_DETAIL_LIST(CFG_ENUM_CONST) DENY_DETAILS };

/* Identity kinds a policy can allow or deny, in the order they are tried.
 * The one table of them: X(KIND, name, allow help, deny help) gives the
 * enum (ID_KIND), the list name (lists.c), the config keys and rule names
 * "allow_<name>" / "deny_<name>" (cfg.c, rules.c) and their help text. */
#define ID_KIND_LIST(X) \
	X(THUMBPRINT, "thumbprints", \
	  "allow: certificate SHA-1/SHA-256 thumbprints (file path, @file or inline)", \
	  "deny (checked before this policy's allow lists): certificate thumbprints") \
	X(SERIAL, "serials", \
	  "allow: serial numbers in hex (-1 for a negative one), each optionally followed by its issuer DN, quoted inline (from that issuer only, on the path the agent verified)", \
	  "deny: serial numbers [issuer DN]; FF also names the serial whose DER bytes are FF (-1)") \
	X(SUBJECT, "subjects", \
	  "allow: subject DNs, CN=a,O=b or /O=b/CN=a (compared in canonical form); inline, quote each DN: \"CN=a,O=b\", \"CN=c\"; or @file, one per line", \
	  "deny: subject DNs (inline, quote each DN; or @file)") \
	X(ISSUER, "issuers", \
	  "allow: issuer DNs (inline, quote each DN; or @file)", \
	  "deny: issuer DNs (inline, quote each DN; or @file)") \
	X(ISSUER_THUMBPRINT, "issuer_thumbprints", \
	  "allow: thumbprints of the issuing certificate on the path the agent verified (pin an intermediate; needs ca_file or ca_dir)", \
	  "deny: thumbprints of the issuing certificate on the path the agent verified (no path: denied; needs ca_file or ca_dir)") \
	X(SPKI, "spki_pins", \
	  "allow: base64 SHA-256 of the SubjectPublicKeyInfo (as Envoy's verify_certificate_spki), EC point uncompressed (certspoa inspect prints it)", \
	  "deny: SPKI pins (a compromised key, whatever certificate carries it)") \
	X(SPIFFE, "spiffe", \
	  "allow: SPIFFE IDs: spiffe://td (whole trust domain), spiffe://td/path (that ID or below it); a certificate with several or an invalid one is denied", \
	  "deny: SPIFFE IDs or prefixes; a certificate with several or an invalid one is denied") \
	X(URI, "uri", \
	  "allow: SAN URIs, exact", \
	  "deny: SAN URIs") \
	X(DNS, "dns", \
	  "allow: SAN DNS names; *.example.com matches exactly one label; a wildcard SAN only the same wildcard", \
	  "deny: SAN DNS names or *.suffix; a wildcard SAN is denied by the names it covers") \
	X(EMAIL, "email", \
	  "allow: SAN email addresses (case-insensitive)", \
	  "deny: SAN emails") \
	X(IP, "ip", \
	  "allow: SAN IP addresses within these CIDR ranges", \
	  "deny: SAN IPs within these ranges, in any IPv4, IPv4-mapped or IPv4-compatible form") \
	X(CN, "cn", \
	  "allow: subject common names (ASCII case-insensitive, spaces folded); only a subject with one CN", \
	  "deny: common names (any CN of the subject; compared as allow_cn)")

/* Matching, per kind (rules.c id_match): THUMBPRINT SHA-1/SHA-256 of the
 * certificate; SERIAL optionally with its issuer DN; SUBJECT/ISSUER
 * canonical DNs; ISSUER_THUMBPRINT the issuing certificate on the verified
 * path; SPKI base64 SHA-256 of the SubjectPublicKeyInfo; SPIFFE trust
 * domain or path prefix; URI exact; DNS exact or "*.suffix"; EMAIL; IP in
 * a CIDR; CN the subject common name. */
#define ID_KIND_ENUM(kind, name, allow_help, deny_help) ID_##kind,
enum id_kind {
	ID_KIND_LIST(ID_KIND_ENUM)
	ID_KINDS
};
#undef ID_KIND_ENUM
_Static_assert(ID_THUMBPRINT == 0, "identity kinds start at 0");

/* A list as written in the file (inline "a, b" or "@/path") and what it
 * compiled to. Only one of tp/set/cidrs is used, by kind. */
struct cfg_list {
	char *src;
	int line;
	const char *key;         /* the config key it was given with */
	char *file;              /* the file it was read from, if any (for reload watching) */
	char *url;               /* given as http(s)://: the URL (src is then its state_dir copy) */
	int pending;             /* a URL with no copy in state_dir yet: the policy denies (list_unavailable) */
	struct tplist *tp;
	struct strset *set;
	struct cidr_list *cidrs;
};

struct route {
	char name[CFG_NAME_MAX];
	int line;
	struct cfg_list sni, host, path_prefix, frontend;
	char *policy_name;
	const struct policy *policy;
	struct route *next;
};

struct fwd_config {
	int enabled;             /* a [forwarded] section exists */
	int line;
	struct cfg_list trusted_proxies;
	int format;              /* enum fwd_format */
};

/* crl_check: every certificate of the chain (all) or the leaf only. */
#define CRL_CHECK_LIST(X) \
	X(CRL_CHECK_ALL,  "all") \
	X(CRL_CHECK_LEAF, "leaf")
enum crl_check { CRL_CHECK_LIST(CFG_ENUM_CONST) CRL_CHECKS };

#define CRL_MISSING_LIST(X) \
	X(CRL_MISSING_DENY,  "deny") \
	X(CRL_MISSING_ALLOW, "allow")
enum crl_missing { CRL_MISSING_LIST(CFG_ENUM_CONST) CRL_MISSINGS };

/* client_id: what txn.certspoa.client_id holds (rules.c client_id_of). */
#define CLIENT_ID_LIST(X) \
	X(CLIENT_ID_SPKI,     "spki") \
	X(CLIENT_ID_SPIFFE,   "spiffe") \
	X(CLIENT_ID_IDENTITY, "identity")
enum client_id_kind { CLIENT_ID_LIST(CFG_ENUM_CONST) CLIENT_IDS };

/* spiffe_bundles: one trust bundle per SPIFFE trust domain. An X.509-SVID
 * is verified against the store of its own trust domain and no other. */
#define POLICY_SPIFFE_TDS_MAX 32
struct spiffe_td {
	char *name;                  /* the trust domain, e.g. "example.org" */
	size_t name_len;
	char *file;                  /* its bundle: SPIFFE JSON or PEM */
	struct cert_store *store;    /* its authorities only */
	int authorities;
	int json;                    /* the file was a SPIFFE bundle document */
	int has_refresh_hint;
	long long refresh_hint;      /* seconds; file bundles are re-read on reload */
	char *url;                   /* TD=@https://URL: fetched (revoc.c), file its copy in state_dir */
	int pending;                 /* a URL with no copy yet: its certificates are denied */
};
/* ocsp: which certificates of the verified path are checked by OCSP. */
#define OCSP_MODE_LIST(X) \
	X(OCSP_MODE_OFF,   "off") \
	X(OCSP_MODE_LEAF,  "leaf") \
	X(OCSP_MODE_CHAIN, "chain")
enum ocsp_mode { OCSP_MODE_LIST(CFG_ENUM_CONST) OCSP_MODES };

/* ocsp_url_mode: ocsp_url is used when the certificate names no responder
 * (fallback) or always (override). */
#define OCSP_URL_MODE_LIST(X) \
	X(OCSP_URL_FALLBACK, "fallback") \
	X(OCSP_URL_OVERRIDE, "override")
enum ocsp_url_mode { OCSP_URL_MODE_LIST(CFG_ENUM_CONST) OCSP_URL_MODES };

/* ocsp_unknown, ocsp_unavailable: what such an answer means. */
#define OCSP_SOFT_LIST(X) \
	X(OCSP_SOFT_DENY,  "deny") \
	X(OCSP_SOFT_ALLOW, "allow")
enum ocsp_soft { OCSP_SOFT_LIST(CFG_ENUM_CONST) OCSP_SOFTS };

/* ocsp_fallback: with no OCSP answer, a CRL check that ran decides. */
#define OCSP_FALLBACK_LIST(X) \
	X(OCSP_FALLBACK_NONE, "none") \
	X(OCSP_FALLBACK_CRL,  "crl")
enum ocsp_fallback { OCSP_FALLBACK_LIST(CFG_ENUM_CONST) OCSP_FALLBACKS };
/* crl_expired: a CRL past nextUpdate + crl_grace is a denial, or still used. */
#define CRL_EXPIRED_LIST(X) \
	X(CRL_EXPIRED_DENY,  "deny") \
	X(CRL_EXPIRED_ALLOW, "allow")
enum crl_expired { CRL_EXPIRED_LIST(CFG_ENUM_CONST) CRL_EXPIREDS };

/* crl_fetch: where the agent finds CRLs to fetch besides crl_urls. */
#define CRL_FETCH_LIST(X) \
	X(CRL_FETCH_OFF, "off") \
	X(CRL_FETCH_CDP, "cdp")
enum crl_fetch { CRL_FETCH_LIST(CFG_ENUM_CONST) CRL_FETCHES };

/* A serial list holding "SERIAL|ISSUER-DN" also holds "SERIAL" CFG_SERIAL_ANY_ISSUER
 * (added at load): one lookup tells that the serial is listed with an issuer.
 * 0xff is never in a canonical DN (valid UTF-8 or "#hex"). */
#define CFG_SERIAL_ANY_ISSUER "|\xff"

struct policy {
	char name[CFG_NAME_MAX];
	int index;                   /* 0.. in file order */
	int line;                    /* line of the [policy NAME] header */
	int require_cert;
	int verify;                  /* enum verify_mode */
	char *ca_file;
	int ca_file_line;
	char *ca_url;                /* ca_file given as "@http(s)://": its URL; ca_file is then the copy in state_dir, NULL (an empty store: every request denied) until there is one */
	char *ca_dir;
	int ca_dir_line;
	char *intermediates;
	int intermediates_line;
	char *crl_file;
	int crl_file_line;
	int crl_check;               /* enum crl_check */
	int crl_missing;             /* enum crl_missing */
	int crl_expired;             /* enum crl_expired */
	long long crl_grace;         /* seconds: [agent] crl_grace, copied at load */
	unsigned int verify_flags;   /* CERT_VF_* derived from the crl_* keys */
	int crl_count;
	long long crl_last_update;   /* unix time */
	long long crl_next_update;   /* unix time, 0 = none */
	int deny_status;
	int deny_detail;             /* enum deny_detail */
	int ocsp;                    /* enum ocsp_mode */
	char *ocsp_url;              /* NULL = the AIA extension only */
	int ocsp_url_mode;           /* enum ocsp_url_mode */
	int ocsp_timeout_ms;         /* a deferred answer waits at most this */
	int ocsp_nonce;
	int ocsp_unknown;            /* enum ocsp_soft */
	int ocsp_unavailable;        /* enum ocsp_soft */
	int ocsp_max_age_ms;         /* an answer without nextUpdate */
	int ocsp_error_ttl_ms;       /* a failed fetch is remembered this long */
	int ocsp_fallback;           /* enum ocsp_fallback */
	struct cert_store *store;    /* from ca_file */
	struct tplist *thumbprints;  /* allow[ID_THUMBPRINT].tp, kept for the stats page and hand-built test policies */
	int mode;                    /* enum policy_mode */
	int sni_host_match;          /* SNI must equal Host (domain fronting) */
	int reuse_max_age_ms;        /* an allow may be reused on its TLS connection this long; 0 = never */
	int warn_days;               /* 0 = no expiry warning */
	int max_sans;                /* more SANs: too_many_sans; 0 (hand-built) = the default */
	int max_depth;               /* 0 = OpenSSL's default */
	int clock_skew_ms;
	int min_rsa_bits;
	int max_lifetime_days;       /* 0 = any */
	struct cfg_list allowed_curves;      /* set of curve short names / key tokens (lists_key_curve) */
	struct cfg_list allowed_key_types;   /* set of EVP_PKEY type NIDs, as decimal text */
	struct cfg_list forbid_signature;    /* set of digest NIDs, as decimal text */
	struct cfg_list require_policies;    /* set of dotted OIDs */
	struct cfg_list allow[ID_KINDS];
	struct cfg_list deny[ID_KINDS];
	char *spiffe_bundles;        /* "td=/path, td2=/path" as written */
	int spiffe_bundles_line;
	struct spiffe_td *tds;       /* ntds of them; 0: no SPIFFE trust domains */
	int ntds;
	int client_id;               /* enum client_id_kind */
	int lists_pending;           /* lists given as URLs not fetched yet: every request is denied */
	int token;                   /* enum token_mode */
	char *jwks_file;             /* the keys that sign tokens (JWKS) */
	int jwks_file_line;
	struct token_jwks *jwks;     /* loaded from jwks_file */
	char *jwks_url;              /* jwks_file = @URL: fetched (revoc.c), jwks_file its copy in state_dir */
	char *token_issuer;          /* NULL: iss not checked */
	char *token_audience;        /* NULL: aud not checked */
	int token_clock_skew_ms;
	int token_max_size;
	int issuer_rules;            /* issuer thumbprints or serials given with an issuer:
	                                matched on the path the agent verified */
	struct policy *next;
};

/* token: certificate-bound access tokens (RFC 8705, docs/TOKENS.md).
 * bound: a bearer token, when sent, must verify and be bound to the
 * certificate; required: such a token must be sent. */
#define TOKEN_MODE_LIST(X) \
	X(TOKEN_MODE_OFF,      "off") \
	X(TOKEN_MODE_BOUND,    "bound") \
	X(TOKEN_MODE_REQUIRED, "required")
enum token_mode { TOKEN_MODE_LIST(CFG_ENUM_CONST) TOKEN_MODES };
_Static_assert(TOKEN_MODE_OFF == 0, "first value 0");

struct token_jwks;

#define LOG_DECISIONS_LIST(X) \
	X(LOG_DECISIONS_NONE,    "none") \
	X(LOG_DECISIONS_DENIALS, "denials") \
	X(LOG_DECISIONS_ALL,     "all")
enum log_decisions { LOG_DECISIONS_LIST(CFG_ENUM_CONST) LOG_DECISIONS_MODES };

struct config {
	char *file;
	char *listen[CFG_MAX_LISTEN];
	int nlisten;
	int threads;                 /* 0 = one per CPU */
	int max_frame_size;
	int max_connections;
	int hello_timeout_ms;
	int idle_timeout_ms;
	int shutdown_timeout_ms;
	int fragmentation;
	int max_message_size;        /* reassembled NOTIFY payload limit */
	int cache_size;              /* decision cache entries per thread */
	int ocsp_cache_size;         /* OCSP answers, shared by the threads */
	int log_level;
	int log_format;              /* enum log_format */
	int log_decisions;           /* enum log_decisions */
	char *ready_file;
	char *pid_file;
	int reload_watch_ms;         /* 0 = no polling */
	char *stats_listen;          /* NULL = no stats listener */
	char *stats_token_file;      /* [stats] token_file; NULL = none */
	int stats_token_file_line;
	char *stats_token;           /* its token, trimmed; NULL = none */
	size_t stats_token_len;
	int stats_token_world_readable;  /* a warning for certspoa -c and the log */
	int socket_mode;             /* unix socket permissions, -1 = leave to the umask */
	char *trace_secret;          /* trace argument must equal it; NULL = no traces */
	char *admin_socket;          /* runtime API unix socket path; NULL = none */
	int admin_socket_mode;       /* its permissions (default 0600) */
	char *admin_socket_group;    /* its group; NULL = the agent's */
	char *state_dir;             /* state kept across restarts; NULL = none */
	char *haproxy_socket;        /* HAProxy runtime API addresses told each verdict generation; NULL = none */
	struct route *routes;        /* first match wins, else default_policy */
	int nroutes;
	int routing_per_request;     /* routing reads Host or path (rules_routing_per_request) */
	struct fwd_config fwd;
	/* revocation fetched in the background (agent/revoc.c) */
	int crl_fetch;               /* enum crl_fetch */
	char *crl_urls;              /* URLs separated by spaces or commas; NULL = none */
	int crl_refresh_ms;          /* at least this often */
	int crl_refresh_fraction;    /* percent of thisUpdate..nextUpdate */
	int crl_grace_ms;
	int fetch_timeout_ms;
	int fetch_max_size;
	char *fetch_ca_file;         /* NULL = the system's CAs */
	int list_refresh_ms;         /* lists given as URLs: fetched this often */
	unsigned int generation;     /* 1 at start, +1 per successful reload */
	struct policy *policies;
	struct policy *default_policy;
};

#endif /* CERTSPOA_CFG_T_H */
