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
#include "ocsp-cache.h"
#include "rules-t.h"

/* Hands an OCSP fetch to whoever does I/O (the worker). 0: taken (the
 * callee frees the job); -1: refused (the caller frees it). */
typedef int (*decide_ocsp_submit_fn)(void *arg, struct ocsp_job *job);

/* One thread's decision state. The buffers are made on first use. */
struct decide_ctx {
	const struct config *cfg;
	unsigned int generation;          /* of cfg, for cache validity */
	struct cache cache;
	int cache_enabled;
	unsigned char *fwd_buf;           /* forwarded-header decoding (FWD_HEADER_MAX) */
	char *path_buf;                   /* the normalized path (URI_PATH_MAX) */
	unsigned int clear_epoch;         /* cache_clear_epoch() the cache was last cleared at */
	/* OCSP (policies with ocsp != off): the shared answers, and how a
	 * fetch is started; without them every OCSP check is unavailable */
	struct ocsp_cache *ocsp;
	decide_ocsp_submit_fn ocsp_submit;
	void *ocsp_submit_arg;
	int ocsp_no_wait;                 /* a missing answer is a timeout now */
	struct token_result *token;       /* the last request's token check (token.h) */
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

/* Use the shared OCSP answers c, starting fetches with submit(arg, job). */
void decide_set_ocsp(struct decide_ctx *dc, struct ocsp_cache *c,
                     decide_ocsp_submit_fn submit, void *arg);

/* Look the OCSP answers for ce's verified path up (pol->ocsp says which
 * certificates), claiming and starting the fetches that are missing;
 * fills ce->ocsp. ce->ocsp.state stays REV_NONE with ce->ocsp.pending set
 * when an answer is still to come (unless dc->ocsp_no_wait). */
void decide_ocsp(struct decide_ctx *dc, const struct policy *pol, struct cert_eval *ce,
                 int64_t now);

/* From the request's facts to the verdict: forwarded header, route,
 * certificate (through the cache), rules with an optional trace, then the
 * runtime denies (rtdeny.h: they override an allow in every mode). Returns
 * the policy used, or NULL when the request was refused before a route was
 * chosen (d holds the denial, *route is ROUTE_NONE). When ce->ocsp.pending
 * is set on return, there is no verdict yet: an OCSP answer is awaited;
 * decide the same request again once it came (or with ocsp_no_wait). */
const struct policy *decide_request(struct decide_ctx *dc, struct req_facts *rq,
                                    int64_t now, struct trace *t, struct cert_eval *ce,
                                    struct decision *d, const char **route);

/* May HAProxy reuse this verdict for the next requests of the same TLS
 * connection (txn.certspoa.reuse, max_age)? decide_reuse() says
 * REUSE_CONNECTION with *max_age > 0 only when the verdict cannot change
 * with the request; anything else is REUSE_REQUEST with *max_age 0. */
enum reuse_scope {
	REUSE_REQUEST = 0,      /* ask again on the next request */
	REUSE_CONNECTION,       /* reusable on this TLS connection for max_age seconds */
	REUSE_SCOPES
};

/* What the verdict of one request was made from, beyond the decision. */
struct reuse_facts {
	int trace;              /* a trace was asked for (trace argument sent) */
	int forwarded;          /* the certificate came from a forwarded header */
	int pending;            /* the decision waits for an answer (OCSP, a list) */
};

enum reuse_scope decide_reuse(const struct config *cfg, const struct policy *pol,
                              const struct cert_eval *ce, const struct decision *d,
                              const struct reuse_facts *rf, int64_t now, int64_t *max_age);
extern const char *const reuse_scope_names[REUSE_SCOPES];

#endif /* CERTSPOA_DECIDE_H */
