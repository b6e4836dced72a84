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

/* ACK frames queued and not yet written. */
static inline unsigned int conn_inflight(const struct conn *c)
{
	return c->acks_queued;
}

#endif /* CERTSPOA_CONN_H */
