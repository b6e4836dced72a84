/* The decision pipeline, apart from any transport: from the facts of one
 * request (struct req_facts) to a verdict. A certificate forwarded by a
 * trusted proxy replaces the TLS one, the route picks the policy, the
 * certificate is evaluated through the per-thread cache (agent-side chain
 * verification included), and the rules decide. The SPOP handler, `certspoa
 * explain` and the unit tests all decide through here; nothing here knows
 * SPOP frames, sockets or the clock (time is passed in). */
#ifndef CERTSPOA_DECIDE_H
#define CERTSPOA_DECIDE_H

#include <stdint.h>

#include "cache.h"
#include "cfg-t.h"
#include "rules-t.h"

/* One thread's decision state. The buffers are made on first use. */
struct decide_ctx {
	const struct config *cfg;
	unsigned int generation;          /* of cfg, for cache validity */
	struct cache cache;
	int cache_enabled;
	unsigned char *fwd_buf;           /* forwarded-header decoding (FWD_HEADER_MAX) */
	char *path_buf;                   /* the normalized path (URI_PATH_MAX) */
	unsigned int clear_epoch;         /* cache_clear_epoch() the cache was last cleared at */
};

/* Returns 0, or -1 when the cache cannot be allocated. */
int decide_init(struct decide_ctx *dc, const struct config *cfg, unsigned int gen);
void decide_destroy(struct decide_ctx *dc);

/* Switch to a new configuration (a reload): cached decisions of older
 * generations stop matching; the cache keeps its size. */
void decide_set_config(struct decide_ctx *dc, const struct config *cfg, unsigned int gen);

/* Apply a pending "clear cache" (cache_request_clear_all()); the owner
 * thread calls it (decide_eval_cert() does, before each lookup). */
void decide_sync(struct decide_ctx *dc);

/* Is a trace wanted? Only for a request whose trace argument equals
 * trace_secret (compared in constant time); without a secret, never. */
int decide_trace_is_allowed(const struct config *cfg, const struct req_facts *rq);

/* Evaluate the certificate of rq under pol, through the cache. */
void decide_eval_cert(struct decide_ctx *dc, const struct policy *pol,
                      const struct req_facts *rq, int64_t now, struct cert_eval *ce);

/* From the request's facts to the verdict: forwarded header, route,
 * certificate (through the cache), rules with an optional trace, then the
 * runtime denies (rtdeny.h: they override an allow in every mode). Returns
 * the policy used, or NULL when the request was refused before a route was
 * chosen (d holds the denial, *route is ROUTE_NONE). */
const struct policy *decide_request(struct decide_ctx *dc, struct req_facts *rq,
                                    int64_t now, struct trace *t, struct cert_eval *ce,
                                    struct decision *d, const char **route);

#endif /* CERTSPOA_DECIDE_H */
