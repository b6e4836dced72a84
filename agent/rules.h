/* The rules engine: pure functions of (config, request, certificate facts,
 * time). No I/O, no clock, no allocation. */
#ifndef CERTSPOA_RULES_H
#define CERTSPOA_RULES_H

#include "cfg-t.h"
#include "rules-t.h"
#include "token.h"

extern const struct dec_info dec_table[DEC_CODES];

/* The route name reported for a request refused before any route was
 * chosen (not a valid [route] name, so it cannot collide). */
#define ROUTE_NONE "(none)"

/* Pick the policy for a request. First, the inputs that routes use must be
 * unambiguous (see docs/POLICY.md "Routes"):
 *  - a route uses path_prefix: the path must normalize (uri_path_norm),
 *    else bad_request / path_ambiguous. The normalized form goes to
 *    rq->route_path (in buf, cap bytes; URI_PATH_MAX is enough) and
 *    rq->path_changed says whether it differs from the raw path;
 *  - a route uses host, or a policy sets sni_host_match: exactly one valid
 *    Host, else bad_request / host_ambiguous (a route using sni: a Host
 *    that is present must be valid);
 *  - a route uses sni or host: SNI and Host, when both are present, must
 *    name the same host, else sni_host_mismatch / sni_host.
 * Then the first [route] whose every criterion matches, else the default
 * policy. Returns 0 with *pol and *route ("default" when no route
 * matched), or -1 when the request is refused before routing: d holds the
 * denial, *pol is NULL and *route ROUTE_NONE. Skips the checks when
 * rq->bad_arg is set (rules_decide denies it). */
int rules_route(const struct config *cfg, struct req_facts *rq, char *buf, size_t cap,
                struct trace *t, struct decision *d, const struct policy **pol,
                const char **route);

/* Can routing read the request (not only its TLS connection)? A route on
 * host or path_prefix, a route on sni (SNI and Host must then agree, a
 * per-request check), or a policy with sni_host_match (every request's
 * Host is checked). 0 when routing sees only sni-free connection facts
 * (frontend): then a decision cannot change from one request of a
 * connection to the next through routing. cfg.c stores it in
 * cfg->routing_per_request at load. */
int rules_routing_per_request(const struct config *cfg);

/* Decide for one request. Every path that cannot prove "allow" denies;
 * shadow mode then turns a denial into an allow and reports it. */
void rules_decide(const struct policy *pol, const struct req_facts *rq,
                  const struct cert_eval *ce, int64_t now, struct trace *t,
                  struct decision *d);

/* A policy with spiffe_bundles: is the certificate an X.509-SVID whose
 * trust domain has a bundle in pol? Returns SVID_OK with *td its index in
 * pol->tds, or the first check that fails (*td is then -1). Only the
 * certificate's own names and extensions are looked at: its chain is
 * verified afterwards against pol->tds[*td].store, and only it. */
enum svid_check rules_svid_check(const struct policy *pol, const struct cert_ext *x, int *td);

/* The stable rule name of a verification result (cert_expired, ...). */
const char *rules_verify_rule(int verify_code);

/* Every rule name a decision can carry: the finite set behind the rule
 * label of the decision counters. X(ID, name); the identity lists add
 * deny_<key> and allow_<key> (cfg-t.h ID_KIND_LIST), the token checks
 * theirs (token.h TOKEN_ERR_LIST). A name not listed is
 * counted as "other" (tests/unit/test_opsvis.c checks that rules.c uses
 * none). */
#define RULE_NAME_LIST(X) \
	X(VERIFIED, "verified") X(ANONYMOUS, "anonymous") X(SHADOW, "shadow") \
	X(INTERNAL, "internal") X(NO_POLICY, "no_policy") X(REQUEST, "request") \
	X(PATH_AMBIGUOUS, "path_ambiguous") X(HOST_AMBIGUOUS, "host_ambiguous") \
	X(SNI_HOST, "sni_host") X(FORWARDED, "forwarded") X(REQUIRE_CERT, "require_cert") \
	X(CERT_PARSE, "cert_parse") X(VERIFY_MISSING, "verify_missing") \
	X(VERIFY_FORWARDED, "verify_forwarded") X(VERIFY_INTERNAL, "verify_internal") \
	X(CERT_EXPIRED, "cert_expired") X(CERT_NOT_YET_VALID, "cert_not_yet_valid") \
	X(CERT_REVOKED, "cert_revoked") X(CERT_UNKNOWN_CA, "cert_unknown_ca") \
	X(CERT_BAD_PURPOSE, "cert_bad_purpose") X(CERT_CHAIN_TOO_LONG, "cert_chain_too_long") \
	X(CRL_MISSING, "crl_missing") X(CRL_EXPIRED, "crl_expired") \
	X(CRL_NOT_YET_VALID, "crl_not_yet_valid") X(CRL_INVALID, "crl_invalid") \
	X(CERT_BAD_SIGNATURE, "cert_bad_signature") X(CERT_INVALID_CA, "cert_invalid_ca") \
	X(CHAIN_INVALID, "chain_invalid") X(CERT_INVALID, "cert_invalid") \
	X(CERT_EXTENSIONS, "cert_extensions") X(TOO_MANY_SANS, "too_many_sans") \
	X(SPIFFE_INVALID, "spiffe_invalid") X(DNS_INVALID, "dns_invalid") \
	X(ISSUER_UNKNOWN, "issuer_unknown") X(ALLOWED_KEY_TYPES, "allowed_key_types") \
	X(MIN_RSA_BITS, "min_rsa_bits") X(ALLOWED_CURVES, "allowed_curves") \
	X(FORBID_SIGNATURE, "forbid_signature") X(MAX_LIFETIME_DAYS, "max_lifetime_days") \
	X(REQUIRE_POLICIES, "require_policies") X(IDENTITY, "identity") \
	X(SPIFFE_NO_URI, "spiffe_no_uri") X(SPIFFE_MULTI_URI, "spiffe_multi_uri") \
	X(SPIFFE_NOT_SPIFFE, "spiffe_not_spiffe") X(SPIFFE_TD_UNKNOWN, "spiffe_td_unknown") \
	X(SPIFFE_NO_PATH, "spiffe_no_path") X(SVID_CA, "svid_ca") X(SVID_KEY_USAGE, "svid_key_usage") \
	X(RUNTIME_DENY, "runtime_deny") \
	X(OCSP_NOT_CHECKED, "ocsp_not_checked") X(OCSP_REVOKED, "ocsp_revoked") \
	X(OCSP_UNKNOWN, "ocsp_unknown") X(OCSP_UNAVAILABLE, "ocsp_unavailable") \
	X(LIST_UNAVAILABLE, "list_unavailable")

#define RULE_ID_ENUM(id, name) RULE_##id,
#define RULE_DENY_ENUM(kind, name, allow_help, deny_help) RULE_DENY_##kind,
#define RULE_ALLOW_ENUM(kind, name, allow_help, deny_help) RULE_ALLOW_##kind,
#define RULE_TOKEN_ENUM(id, rule, cls, words) RULE_TOKEN_##id,
enum rule_id {
	RULE_NAME_LIST(RULE_ID_ENUM)
	ID_KIND_LIST(RULE_DENY_ENUM)
	ID_KIND_LIST(RULE_ALLOW_ENUM)
	TOKEN_ERR_LIST(RULE_TOKEN_ENUM)   /* the token checks' rules (token.h) */
	RULE_OTHER,
	RULE_COUNT
};
#undef RULE_ID_ENUM
#undef RULE_DENY_ENUM
#undef RULE_ALLOW_ENUM
#undef RULE_TOKEN_ENUM
_Static_assert(RULE_VERIFIED == 0, "rule ids start at 0");

extern const char *const rule_names[RULE_COUNT];

/* The rule_names[] index of a rule name; RULE_OTHER for NULL or a name
 * not in the table. */
enum rule_id rules_rule_id(const char *rule);

/* Append "name=value" to a trace (no-op when tracing is off). */
void trace_add(struct trace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* CERTSPOA_RULES_H */
