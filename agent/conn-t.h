/* One SPOP connection from HAProxy: buffers, watchers, protocol state, and
 * the narrow interface of whoever owns it (struct conn_owner). */
#ifndef CERTSPOA_CONN_T_H
#define CERTSPOA_CONN_T_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "spop-t.h"

enum conn_state {
	CONN_ST_HELLO = 0,     /* waiting for HAPROXY-HELLO */
	CONN_ST_READY,         /* exchanging NOTIFY / ACK */
	CONN_ST_CLOSING,       /* last frame queued: flush, then close */
	CONN_ST_STATES
};

#define CONN_NOTIFY_DEFERRED 1

struct config;
struct conn;
struct conn_owner;

/* Counters the connections of one owner write (single writer: the owner's
 * thread; see counter.h), read by the stats collector. */
struct conn_stats {
	uint64_t hellos;
	uint64_t healthchecks;
	uint64_t haproxy_disconnects;
	uint64_t errors[SPOP_ST_COUNT];  /* AGENT-DISCONNECT sent, by status */
	uint64_t bytes_in, bytes_out;
	uint64_t reads, writes;
};

/* What the owner does for its connections. All are called in the owner's
 * thread. */
struct conn_owner_ops {
	/* Answer one whole NOTIFY payload: write an ACK frame (ids echoed,
	 * FIN) at *p, at most max_frame bytes after its length prefix, and
	 * move *p past it. Returns 0, or -1 with *st the status to disconnect
	 * with, or CONN_NOTIFY_DEFERRED: nothing written, the owner keeps a
	 * copy of what it needs (payload is the connection's buffer) and
	 * answers later with conn_late_begin()/conn_late_commit(), or gives
	 * up with conn_late_drop(). Logging the decision is the owner's
	 * business. */
	int (*notify)(struct conn_owner *o, unsigned long conn_id,
	              uint64_t stream_id, uint64_t frame_id,
	              const char *payload, size_t len,
	              char **p, char *end, size_t max_frame, enum spop_status *st);
	/* A connection was made (conn_new) or is about to be freed
	 * (conn_close): the owner keeps its list and counts. */
	void (*opened)(struct conn_owner *o, struct conn *c);
	void (*closed)(struct conn_owner *o, struct conn *c);
};

/* A connection's view of its owner (a worker; a test or the fuzz driver
 * may embed one too): the loop it runs in, the configuration generation in
 * use (the owner switches it on reload), the counters it writes and the
 * callbacks above. A connection never sees more of its owner than this. */
struct conn_owner {
	struct ev_loop *loop;
	const struct config *cfg;
	struct conn_stats stats;
	const struct conn_owner_ops *ops;
};

struct conn {
	ev_io io;                  /* first: the watcher callbacks recover the conn */
	ev_timer timer;            /* hello, idle and closing timeouts */
	int fd;
	enum conn_state state;
	unsigned long id;
	struct conn_owner *own;
	struct conn *prev, *next;  /* the owner's list (the owner links them) */
	ev_tstamp last_rx;         /* for the idle timeout */

	uint32_t max_frame;        /* negotiated (ours until HELLO) */
	int healthcheck;
	int frag_ok;               /* we announced fragmentation */
	int eof;                   /* peer closed its side */

	char *rx;                  /* received, not yet processed bytes */
	size_t rx_len, rx_cap;
	char *tx;                  /* frames to send: [tx_off, tx_len) */
	size_t tx_off, tx_len, tx_cap;
	unsigned int acks_queued;  /* ACKs in tx not yet fully written */
	unsigned int deferred;     /* NOTIFYs the owner will answer later */

	/* NOTIFY reassembly (HAProxy 2.6 fragments large payloads) */
	char *frag;
	size_t frag_len, frag_cap;
	uint64_t frag_sid, frag_fid;
	int frag_active;
};

#endif /* CERTSPOA_CONN_T_H */
