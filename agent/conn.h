/* SPOP connection state machine: framing, HELLO, NOTIFY/ACK, DISCONNECT,
 * reassembly, timeouts. Reads are batched: every complete frame in the
 * receive buffer is answered before one write of all the replies. */
#ifndef CERTSPOA_CONN_H
#define CERTSPOA_CONN_H

#include "conn-t.h"
#include "spop-t.h"

struct worker;

/* Take ownership of an accepted, non-blocking fd. NULL on allocation
 * failure (fd is then closed). */
struct conn *conn_new(struct worker *w, int fd);

/* Queue AGENT-DISCONNECT(status, message) and close once it is sent. */
void conn_disconnect(struct conn *c, enum spop_status status, const char *message);

/* Close now: stop watchers, close the fd, free everything. */
void conn_close(struct conn *c);

/* Graceful stop: answer what was already received, then disconnect. */
void conn_shutdown(struct conn *c);

/* Process frames already in c->rx. Exposed for the fuzz driver, which
 * feeds bytes without a socket. Returns 0, or -1 if the connection was
 * closed (c is then freed). */
int conn_process(struct conn *c);

#endif /* CERTSPOA_CONN_H */
