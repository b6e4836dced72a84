/* The rules engine: pure functions of (config, request, certificate facts,
 * time). No I/O, no clock, no allocation. */
#ifndef CERTSPOA_RULES_H
#define CERTSPOA_RULES_H

#include "cfg-t.h"
#include "rules-t.h"

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

/* Append "name=value" to a trace (no-op when tracing is off). */
void trace_add(struct trace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* CERTSPOA_RULES_H */
