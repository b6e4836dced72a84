/* NOTIFY handler: the one place that knows the SPOP message, the
 * certificate module and the rules engine. Decodes a check-client-cert
 * message, decides, and encodes the ACK. No sockets, no allocation on a
 * cache hit. */
#ifndef CERTSPOA_HANDLER_H
#define CERTSPOA_HANDLER_H

#include <stdint.h>

#include "cache.h"
#include "cfg-t.h"
#include "rules-t.h"
#include "spop-t.h"

#define HANDLER_MESSAGE "check-client-cert"

/* Processing-time histogram: upper bounds in microseconds, last = +Inf. */
#define HANDLER_LAT_BUCKETS 15
extern const unsigned int handler_lat_bounds_us[HANDLER_LAT_BUCKETS - 1];

/* Per-thread counters (see counter.h), summed by the stats reader. */
struct handler_stats {
	uint64_t notify;                  /* NOTIFY frames handled */
	uint64_t messages;                /* check-client-cert messages decided */
	uint64_t unknown_messages;
	uint64_t by_code[DEC_CODES];
	uint64_t lat[HANDLER_LAT_BUCKETS];
	uint64_t lat_sum_ns;
	/* decisions per policy name; slots are appended (release on npol),
	 * never renamed, so a reader may read names below npol */
	int npol;
	char pol_name[CFG_MAX_POLICIES][CFG_NAME_MAX];
	uint64_t pol_verdict[CFG_MAX_POLICIES][2];    /* [slot][0 deny, 1 allow] */
};

struct handler_ctx {
	const struct config *cfg;
	unsigned int generation;          /* of cfg, for cache validity */
	struct cache cache;
	int cache_enabled;
	int pol_slot[CFG_MAX_POLICIES];   /* policy->index -> stats slot */
	unsigned char *fwd_buf;           /* forwarded-header decoding, made on first use */
	char *path_buf;                   /* the normalized path (URI_PATH_MAX), made on first use */
	struct handler_stats stats;
};

/* What one message came to, for logs and the recent-denials list. The
 * pointers are valid until the next call on this context. */
struct handler_result {
	struct decision d;
	const struct policy *policy;
	const struct cert_facts *facts;   /* NULL if no parsed certificate */
	int has_src;
	struct spop_data src;
};

int handler_init(struct handler_ctx *hc, const struct config *cfg, unsigned int gen);
void handler_destroy(struct handler_ctx *hc);

/* Switch to a new configuration (a reload): cached decisions of older
 * generations stop matching; counters carry on. */
void handler_set_config(struct handler_ctx *hc, const struct config *cfg, unsigned int gen);

/* Count one processing time. */
void handler_record_latency(struct handler_ctx *hc, uint64_t ns);

/* Decode the arguments of one check-client-cert message into rq; *p is
 * after NB-ARGS. Returns -1 on a malformed list (a protocol error);
 * wrongly typed arguments are reported in rq->bad_arg instead. */
int handler_get_args(const char **p, const char *end, unsigned int nb_args,
                     struct req_facts *rq);

/* The argument names a check-client-cert message may carry (what
 * `certspoa lint` checks SPOE files against); NULL past the last one. */
const char *handler_arg_name(unsigned int i);

/* Evaluate the certificate of rq under pol, through the cache. */
void handler_eval_cert(struct handler_ctx *hc, const struct policy *pol,
                       const struct req_facts *rq, int64_t now,
                       struct cert_eval *ce);

/* From the arguments to the verdict: forwarded header, route, certificate
 * (through the cache), rules with an optional trace. Also what `certspoa
 * explain` runs. Returns the policy used, or NULL when the request was
 * refused before a route was chosen (d holds the denial, *route is
 * ROUTE_NONE). */
const struct policy *handler_decide(struct handler_ctx *hc, struct req_facts *rq,
                                    int64_t now, struct trace *t, struct cert_eval *ce,
                                    struct decision *d, const char **route);

/* Handle one NOTIFY payload and write a whole ACK frame (ids echoed, FIN)
 * at *p, at most max_frame bytes after its length prefix. Returns 0, or -1
 * with *st the status to disconnect with (malformed payload, no room). */
int handler_notify(struct handler_ctx *hc, uint64_t stream_id, uint64_t frame_id,
                   const char *payload, size_t len, int64_t now,
                   char **p, char *end, size_t max_frame, enum spop_status *st,
                   struct handler_result *res);

#endif /* CERTSPOA_HANDLER_H */
