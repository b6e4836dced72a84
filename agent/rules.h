/* The rules engine: pure functions of (config, request, certificate facts,
 * time). No I/O, no clock, no allocation. */
#ifndef CERTSPOA_RULES_H
#define CERTSPOA_RULES_H

#include "cfg-t.h"
#include "rules-t.h"

extern const struct dec_info dec_table[DEC_CODES];

/* Pick the policy for a request: the first [route] whose every criterion
 * matches, else the default policy. *route gets the route name or
 * "default". */
const struct policy *rules_route(const struct config *cfg, const struct req_facts *rq,
                                 const char **route);

/* Decide for one request. Every path that cannot prove "allow" denies;
 * shadow mode then turns a denial into an allow and reports it. */
void rules_decide(const struct policy *pol, const struct req_facts *rq,
                  const struct cert_eval *ce, int64_t now, struct trace *t,
                  struct decision *d);

/* The stable rule name of a verification result (cert_expired, ...). */
const char *rules_verify_rule(int verify_code);

/* Append "name=value" to a trace (no-op when tracing is off). */
void trace_add(struct trace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline int dec_is_allow(const struct decision *d)
{
	return d->code == DEC_ALLOW;
}

#endif /* CERTSPOA_RULES_H */
