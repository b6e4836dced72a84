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

/* Per-thread counters, summed by whoever reports them. */
struct handler_stats {
	uint64_t notify;                  /* NOTIFY frames handled */
	uint64_t messages;                /* check-client-cert messages decided */
	uint64_t unknown_messages;
	uint64_t by_code[DEC_CODES];
};

struct handler_ctx {
	const struct config *cfg;
	unsigned int generation;          /* of cfg, for cache validity */
	struct cache cache;
	int cache_enabled;
	struct handler_stats stats;
};

int handler_init(struct handler_ctx *hc, const struct config *cfg, unsigned int gen);
void handler_destroy(struct handler_ctx *hc);

/* Decode the arguments of one check-client-cert message into rq; *p is
 * after NB-ARGS. Returns -1 on a malformed list (a protocol error);
 * wrongly typed arguments are reported in rq->bad_arg instead. */
int handler_get_args(const char **p, const char *end, unsigned int nb_args,
                     struct req_facts *rq);

/* Evaluate the certificate of rq under pol, through the cache. */
void handler_eval_cert(struct handler_ctx *hc, const struct policy *pol,
                       const struct req_facts *rq, int64_t now,
                       struct cert_eval *ce);

/* Handle one NOTIFY payload and write a whole ACK frame (ids echoed, FIN)
 * at *p, at most max_frame bytes after its length prefix. Returns 0, or -1
 * with *st the status to disconnect with (malformed payload, no room). */
int handler_notify(struct handler_ctx *hc, uint64_t stream_id, uint64_t frame_id,
                   const char *payload, size_t len, int64_t now,
                   char **p, char *end, size_t max_frame, enum spop_status *st,
                   struct decision *last);

#endif /* CERTSPOA_HANDLER_H */
