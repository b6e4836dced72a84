/* Types the workers hand to the stats reader. */
#ifndef CERTSPOA_STATS_T_H
#define CERTSPOA_STATS_T_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cfg-t.h"
#include "rules-t.h"

#define STATS_DENIALS_PER_WORKER 16
#define STATS_SUBJECT_MAX        128

/* Where a per-worker counter lives: each block is a struct of uint64_t
 * counters that one worker thread writes (worker_counters() in worker.h). */
enum stats_block {
	SB_NONE = 0,     /* not a worker counter: filled by the collector */
	SB_WORKER,       /* struct worker_stats (worker.h): accepting */
	SB_CONN,         /* struct conn_stats (conn-t.h): SPOP connections */
	SB_HANDLER,      /* struct handler_stats (handler.h): messages */
	SB_CACHE,        /* struct cache (cache.h): hits, misses */
	SB_BLOCKS
};

#define STATS_RULE_MAX           32
#define STATS_REQ_ID_MAX         64

/* One recent denial. A shadow one (shadow = 1) was let through: code and
 * rule are what enforce mode would have said (would_deny, would_rule). */
struct stats_denial {
	int64_t time;
	int code;                          /* enum dec_code */
	int shadow;
	char rule[STATS_RULE_MAX];
	char req_id[STATS_REQ_ID_MAX];     /* HAProxy's unique-id, "" if not sent */
	char policy[CFG_NAME_MAX];
	char subject[STATS_SUBJECT_MAX];
	char sha256[65];
	char src[48];
	char detail[DEC_DETAIL_MAX];
};

/* One client certificate of the inventory (a decision cache entry). */
struct stats_cert {
	unsigned char sha256[32];
	int64_t not_after;
	int64_t last_seen;
	uint64_t requests;
	int last_code;
	char last_rule[32];                /* "" if none */
	char subject[STATS_SUBJECT_MAX];
};

/* Copy a name into one of the fields above, cut to fit (the stats page
 * shows names shortened). */
static inline void stats_copy_cut(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

/* What a worker copies out, in its own thread, when asked. */
struct worker_snap {
	unsigned int conns;
	unsigned int inflight;             /* ACKs queued, not yet written */
	size_t ncerts, certs_cap;
	struct stats_cert *certs;
	int ndenials;                      /* newest first */
	struct stats_denial denials[STATS_DENIALS_PER_WORKER];
};

#endif /* CERTSPOA_STATS_T_H */
