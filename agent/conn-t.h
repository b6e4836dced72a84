/* One SPOP connection from HAProxy: buffers, watchers, protocol state. */
#ifndef CERTSPOA_CONN_T_H
#define CERTSPOA_CONN_T_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

enum conn_state {
	CONN_ST_HELLO = 0,     /* waiting for HAPROXY-HELLO */
	CONN_ST_READY,         /* exchanging NOTIFY / ACK */
	CONN_ST_CLOSING,       /* last frame queued: flush, then close */
	CONN_ST_STATES
};

struct worker;

struct conn {
	ev_io io;                  /* first: the watcher callbacks recover the conn */
	ev_timer timer;            /* hello, idle and closing timeouts */
	int fd;
	enum conn_state state;
	unsigned long id;
	struct worker *w;
	struct conn *prev, *next;  /* the worker's list */
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

	/* NOTIFY reassembly (HAProxy 2.6 fragments large payloads) */
	char *frag;
	size_t frag_len, frag_cap;
	uint64_t frag_sid, frag_fid;
	int frag_active;
};

#endif /* CERTSPOA_CONN_T_H */
