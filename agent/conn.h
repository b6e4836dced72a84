/* SPOP connection state machine: framing, HELLO, NOTIFY/ACK, DISCONNECT,
 * reassembly, timeouts. Reads are batched: every complete frame in the
 * receive buffer is answered before one write of all the replies. A
 * connection knows its owner only through struct conn_owner (conn-t.h). */
#ifndef CERTSPOA_CONN_H
#define CERTSPOA_CONN_H

#include "conn-t.h"
#include "spop-t.h"

/* Take ownership of an accepted, non-blocking fd, served in own->loop
 * under own->cfg. NULL on allocation failure (fd is then closed). */
struct conn *conn_new(struct conn_owner *own, int fd);

/* Close now: stop watchers, close the fd, free everything. */
void conn_close(struct conn *c);

/* Graceful stop: answer what was already received (the bytes the kernel
 * holds for us now), then disconnect. May free c. */
void conn_shutdown(struct conn *c);

/* ACK frames queued and not yet written, and NOTIFYs whose answer the
 * owner deferred. */
static inline unsigned int conn_inflight(const struct conn *c)
{
	return c->acks_queued + c->deferred;
}

/* A deferred NOTIFY's answer (the owner returned CONN_NOTIFY_DEFERRED):
 * conn_late_begin() gives room for one frame of up to max_frame bytes at
 * the end of tx ([*p, *end)), or returns -1 when c cannot take it now:
 * CONN_LATE_GONE (closing: drop the answer), CONN_LATE_FULL (tx full:
 * try again later). conn_late_commit() queues what was written up to p
 * and sends it; it returns -1 when c was closed meanwhile (a write error:
 * do not touch c again). conn_late_drop() gives a deferred NOTIFY up. */
#define CONN_LATE_GONE 1
#define CONN_LATE_FULL 2
int conn_late_begin(struct conn *c, char **p, char **end, size_t *max_frame, int *why);
int conn_late_commit(struct conn *c, char *p);
void conn_late_drop(struct conn *c);

#endif /* CERTSPOA_CONN_H */
