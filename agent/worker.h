/* Worker threads: one libev loop each, owning the connections it accepted.
 * Every worker watches every listening socket (non-blocking accept), so no
 * hand-off between threads is needed. */
#ifndef CERTSPOA_WORKER_H
#define CERTSPOA_WORKER_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <ev.h>

#include "cfg-t.h"
#include "conn-t.h"
#include "handler.h"
#include "spop-t.h"
#include "stats-t.h"

struct listener;

/* Per-worker counters; only the owning thread writes them. */
struct worker_stats {
	uint64_t conns_total;
	uint64_t conns_refused;          /* over max_connections or EMFILE */
	uint64_t hellos;
	uint64_t healthchecks;
	uint64_t haproxy_disconnects;
	uint64_t errors[SPOP_ST_COUNT];  /* AGENT-DISCONNECT sent, by status */
	uint64_t bytes_in, bytes_out;
	uint64_t reads, writes;
};

/* Messages from the main thread, acted on in the worker's own thread. */
struct worker_mailbox {
	struct config *pending_cfg;      /* new generation to adopt (exchange) */
	unsigned int cfg_gen;            /* generation adopted (release) */
	unsigned int snap_req;           /* snapshot wanted when != snap_done */
	unsigned int snap_done;          /* (release) */
};

struct worker {
	int idx;
	pthread_t thread;
	struct ev_loop *loop;
	ev_async wakeup;                 /* stop request from the main thread */
	ev_timer stop_timer;             /* bounds a graceful stop */
	ev_io accept_w[CFG_MAX_LISTEN];
	int nlisten;
	int spare_fd;                    /* released on EMFILE to accept-and-close */
	int stopping;
	const struct config *cfg;
	struct conn *conns;
	unsigned int nconns;
	struct handler_ctx hc;
	struct worker_stats stats;
	struct worker_mailbox mbox;
	struct worker_snap snap;
	/* recent denials, a ring written by this thread only */
	struct stats_denial denials[STATS_DENIALS_PER_WORKER];
	unsigned int denials_next, denials_count;
};

/* Shared by all workers. */
extern volatile int worker_stop_requested;

static inline uint64_t worker_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int worker_init(struct worker *w, int idx, const struct config *cfg,
                struct listener *ls, int nls);
int worker_start(struct worker *w);
/* Ask the worker to finish (thread-safe), then join it. */
void worker_stop(struct worker *w);
void worker_join(struct worker *w);
void worker_destroy(struct worker *w);

/* Hand a new configuration to the worker (any thread). It adopts it at
 * its next loop iteration and then publishes mbox.cfg_gen. */
void worker_post_config(struct worker *w, struct config *cfg);
unsigned int worker_config_generation(struct worker *w);

/* Ask for a snapshot (any thread); poll worker_snapshot_ready(). */
unsigned int worker_request_snapshot(struct worker *w);
int worker_snapshot_ready(struct worker *w, unsigned int ticket);

/* A message was decided (worker thread): decision log, recent denials. */
struct handler_result;
void worker_decided(struct worker *w, unsigned long conn_id, const struct handler_result *res);

/* Connection bookkeeping, called by conn.c. */
void worker_conn_added(struct worker *w, struct conn *c);
void worker_conn_removed(struct worker *w, struct conn *c);

/* Global connection count (all workers), for max_connections. */
int worker_conn_count(void);

#endif /* CERTSPOA_WORKER_H */
