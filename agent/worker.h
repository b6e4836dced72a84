/* Worker threads: one libev loop each, owning the connections it accepted.
 * Every worker watches every listening socket (non-blocking accept), so no
 * hand-off between threads is needed. */
#ifndef CERTSPOA_WORKER_H
#define CERTSPOA_WORKER_H

#include <pthread.h>
#include <stdint.h>

#include <ev.h>

#include "cfg-t.h"
#include "conn-t.h"
#include "handler.h"
#include "spop-t.h"

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
};

/* Shared by all workers. */
extern volatile int worker_stop_requested;

int worker_init(struct worker *w, int idx, const struct config *cfg,
                struct listener *ls, int nls);
int worker_start(struct worker *w);
/* Ask the worker to finish (thread-safe), then join it. */
void worker_stop(struct worker *w);
void worker_join(struct worker *w);
void worker_destroy(struct worker *w);

/* Connection bookkeeping, called by conn.c. */
void worker_conn_added(struct worker *w, struct conn *c);
void worker_conn_removed(struct worker *w, struct conn *c);

/* Global connection count (all workers), for max_connections. */
int worker_conn_count(void);

#endif /* CERTSPOA_WORKER_H */
