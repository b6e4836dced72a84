/* The test's end of an agent connection (see testpeer.h). */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "conn.h"
#include "testpeer.h"

int test_peer_open(struct test_peer *pr, const struct config *cfg)
{
	int sv[2];

	memset(pr, 0, sizeof(*pr));
	if (worker_init(&pr->w, 0, cfg, NULL, 0) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		return -1;
	pr->fd = sv[1];
	return conn_new(&pr->w.own, sv[0]) ? 0 : -1;
}

void test_peer_close(struct test_peer *pr)
{
	worker_destroy(&pr->w);
	close(pr->fd);
}

void test_peer_pump(struct test_peer *pr)
{
	for (int i = 0; i < 20; i++) {
		ssize_t n;

		ev_run(worker_loop(&pr->w), EVRUN_NOWAIT);
		while ((n = read(pr->fd, pr->in + pr->in_len, sizeof(pr->in) - pr->in_len)) > 0)
			pr->in_len += (size_t)n;
		if (n == 0)
			pr->closed = 1;
	}
}

void test_peer_send(struct test_peer *pr, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(pr->fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (pr->closed) {
			return;       /* EPIPE: the agent is gone (SIGPIPE is ignored) */
		} else {
			test_peer_pump(pr);   /* socket buffer full: let the agent read */
		}
	}
	test_peer_pump(pr);
}
