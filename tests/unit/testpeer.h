/* A socketpair standing in for HAProxy in front of one agent connection:
 * the agent's end is served by a real worker (its own libev loop, run
 * without blocking), the test holds the other end. Shared by the
 * connection tests (test_conn.c, test_kill_conn.c). */
#ifndef CERTSPOA_TESTPEER_H
#define CERTSPOA_TESTPEER_H

#include <stddef.h>

#include "worker.h"

struct test_peer {
	struct worker w;
	int fd;                 /* HAProxy's end */
	char in[1 << 18];       /* what the agent sent (500 denial ACKs fit) */
	size_t in_len;
	size_t off;             /* for callers that consume in[] as they go */
	int closed;             /* the agent closed its end */
};

/* A worker on cfg and one agent connection to it. 0 or -1. */
int test_peer_open(struct test_peer *pr, const struct config *cfg);
void test_peer_close(struct test_peer *pr);

/* Let the agent run, then collect what it wrote. */
void test_peer_pump(struct test_peer *pr);

/* Write all of buf (letting the agent read when the socket is full),
 * then pump; stops early if the agent closed its end. */
void test_peer_send(struct test_peer *pr, const void *buf, size_t len);

#endif /* CERTSPOA_TESTPEER_H */
