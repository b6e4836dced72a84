/* The rules engine: pure function of (policy, request, certificate facts). */
#ifndef CERTSPOA_RULES_H
#define CERTSPOA_RULES_H

#include "cfg-t.h"
#include "rules-t.h"

extern const struct dec_info dec_table[DEC_CODES];

/* Decide for one request. Every path that cannot prove "allow" denies. */
void rules_decide(const struct policy *pol, const struct req_facts *rq,
                  const struct cert_eval *ce, struct decision *d);

static inline int dec_is_allow(const struct decision *d)
{
	return d->code == DEC_ALLOW;
}

#endif /* CERTSPOA_RULES_H */
