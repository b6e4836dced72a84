/* Worker threads: one libev loop each, owning the connections it accepted.
 * Every worker watches every listening socket (non-blocking accept), so no
 * hand-off between threads is needed. A worker is its connections' owner
 * (struct conn_owner): it decides their messages through its handler
 * context and logs the decisions (declog.h). */
#ifndef CERTSPOA_WORKER_H
#define CERTSPOA_WORKER_H

#include <pthread.h>
#include <stdint.h>

#include <ev.h>

#include "cfg-t.h"
#include "conn-t.h"
#include "declog.h"
#include "handler.h"
#include "stats-t.h"

struct listener;

/* Per-worker counters of the worker itself (accepting); only the owning
 * thread writes them. Its connections count in own.stats. */
struct worker_stats {
	uint64_t conns_total;
	uint64_t conns_refused;          /* over max_connections or EMFILE */
	uint64_t deferred;               /* NOTIFYs whose ACK waited for OCSP */
	uint64_t deferred_timeouts;      /* answered at ocsp_timeout, without the answer */
	uint64_t deferred_dropped;       /* their connection was gone by then */
	uint64_t deferred_refused;       /* over WORKER_DEFERRED_MAX: decided at once */
	uint64_t deferred_now;           /* gauge: waiting now */
};

/* A NOTIFY whose ACK waits for an OCSP answer: its ids, a copy of its
 * payload, and when the wait ends (ocsp_timeout). */
struct worker_deferred {
	struct worker_deferred *next;
	unsigned long conn_id;
	uint64_t stream_id, frame_id;
	ev_tstamp deadline;
	uint64_t t0_ns;                  /* when it came, for the latency */
	size_t len;
	char payload[];
};

/* More waiting NOTIFYs than this per worker are decided at once, as if
 * their wait were over (ocsp_unavailable): memory stays bounded. */
#define WORKER_DEFERRED_MAX 4096

/* Messages from the main thread, acted on in the worker's own thread. */
struct worker_mailbox {
	struct config *pending_cfg;      /* new generation to adopt (exchange) */
	unsigned int cfg_gen;            /* generation adopted (release) */
	unsigned int snap_req;           /* snapshot wanted when != snap_done */
	unsigned int snap_done;          /* (release) */
};

struct worker {
	struct conn_owner own;           /* the loop, the config in use, conn counters */
	int idx;
	pthread_t thread;
	ev_async wakeup;                 /* stop request from the main thread */
	ev_timer stop_timer;             /* bounds a graceful stop */
	ev_io accept_w[CFG_MAX_LISTEN];
	int nlisten;
	int spare_fd;                    /* released on EMFILE to accept-and-close */
	ev_timer accept_pause;           /* accepting stopped: out of fds, no spare */
	int stopping;
	struct conn *conns;
	unsigned int nconns;
	struct handler_ctx hc;
	struct worker_stats stats;
	struct worker_mailbox mbox;
	struct worker_snap snap;
	struct declog declog;            /* recent denials */
	/* deferred ACKs (OCSP): the waiting NOTIFYs, woken by ocsp_wake when
	 * an answer was stored, bounded by deferred_timer */
	struct worker_deferred *deferred;
	unsigned int ndeferred;
	ev_async ocsp_wake;
	ev_timer deferred_timer;
};

/* Set up worker idx (no thread yet) on the nls listeners ls (none: only
 * connections handed to conn_new() by the caller, as the tests do).
 * Returns 0, or -1 (nothing to destroy then). */
int worker_init(struct worker *w, int idx, const struct config *cfg,
                struct listener *ls, int nls);
/* Run the worker's loop in a new thread. Returns 0 or -1. */
int worker_start(struct worker *w);
/* Ask every worker to finish (any thread): they stop accepting, answer what
 * was received and disconnect. Then worker_stop() wakes each one up. */
void worker_request_stop_all(void);
int worker_stop_is_requested(void);
/* Wake w up so that it sees the stop request (thread-safe); it returns
 * from its loop once its connections are gone. Then worker_join() it. */
void worker_stop(struct worker *w);
void worker_join(struct worker *w);
void worker_destroy(struct worker *w);

/* Decide OCSP with the shared answers c, fetching through submit(arg, job)
 * (before worker_start). Then worker_ocsp_wake() (any thread) makes the
 * worker look at its waiting NOTIFYs again. */
void worker_set_ocsp(struct worker *w, struct ocsp_cache *c, decide_ocsp_submit_fn submit,
                     void *arg);
void worker_ocsp_wake(struct worker *w);

/* Hand a new configuration to the worker (any thread). It adopts it at
 * its next loop iteration and then publishes mbox.cfg_gen. */
void worker_post_config(struct worker *w, struct config *cfg);
unsigned int worker_config_generation(const struct worker *w);

/* Ask for a snapshot (any thread); poll worker_snapshot_is_ready(), then
 * read worker_snapshot(). */
unsigned int worker_request_snapshot(struct worker *w);
int worker_snapshot_is_ready(const struct worker *w, unsigned int ticket);
static inline const struct worker_snap *worker_snapshot(const struct worker *w)
{
	return &w->snap;
}

/* Counter blocks, for the stats reader (any thread; read with CTR_GET). */
static inline const void *worker_counters(const struct worker *w, enum stats_block b)
{
	switch (b) {
	case SB_WORKER:
		return &w->stats;
	case SB_CONN:
		return &w->own.stats;
	case SB_HANDLER:
		return &w->hc.stats;
	case SB_CACHE:
		return &w->hc.dc.cache;
	case SB_NONE:
	case SB_BLOCKS:
		break;
	}
	return NULL;
}
static inline const struct conn_stats *worker_conn_stats(const struct worker *w)
{
	return &w->own.stats;
}
static inline const struct handler_stats *worker_handler_stats(const struct worker *w)
{
	return &w->hc.stats;
}

/* The worker's loop, its open connections (owner thread only). */
static inline struct ev_loop *worker_loop(const struct worker *w)
{
	return w->own.loop;
}
static inline struct conn *worker_first_conn(const struct worker *w)
{
	return w->conns;
}
static inline unsigned int worker_nconns(const struct worker *w)
{
	return w->nconns;
}

/* Global connection count (all workers), for max_connections. */
int worker_conn_count(void);

#endif /* CERTSPOA_WORKER_H */
