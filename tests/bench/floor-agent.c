/* floor-agent: the protocol floor for agent benchmarks. A SPOP agent that
 * answers every NOTIFY with the same constant ACK, without looking at the
 * message: HELLO handshake, framing, ids, batched reads and writes, and
 * nothing else. It uses certspoa's own codec (agent/spop.c) and one libev
 * thread, so "certspoa / floor" is the share of the protocol's best case
 * that the agent achieves.
 *
 *   floor-agent [-l ADDR] [-r READY_FILE] [--sha256 HEX] [--min-ack]
 *
 * The default ACK carries the variables certspoa sets for an allowed
 * certificate (verdict status code reason sha256 sha1 not_after serial
 * subject issuer), with values of the same length, so both write the same
 * bytes; --sha256 sets the thumbprint it reports (so that spop-bench's
 * check of it passes when it sends that certificate); --min-ack sends the
 * verdict alone. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "spop.h"

#define RX_SIZE   (64 * 1024)
#define TX_SIZE   (256 * 1024)
#define MAX_FRAME 16380

struct fconn {
	ev_io io;                   /* first: the callback casts back */
	int fd;
	int ready;                  /* HELLO done */
	int closing;
	uint32_t max_frame;
	char rx[RX_SIZE + MAX_FRAME + 4];
	size_t rx_len;
	char tx[TX_SIZE];
	size_t tx_off, tx_len;
};

static struct ev_loop *loop;
static char ack_actions[2048];   /* pre-encoded actions of the constant ACK */
static size_t ack_len;
static unsigned long long nframes, nwrites;

static int put_var(char **p, char *end, const char *name, const struct spop_data *d)
{
	return spop_put_set_var(p, end, SPOP_SCOPE_TXN, name, strlen(name), d);
}

static int put_str(char **p, char *end, const char *name, const char *val)
{
	struct spop_data d = { .type = SPOP_DATA_STR };

	d.u.str.ptr = val;
	d.u.str.len = strlen(val);
	return put_var(p, end, name, &d);
}

static int build_ack(int minimal, const char *sha256)
{
	char *p = ack_actions, *end = ack_actions + sizeof(ack_actions);
	struct spop_data d = { .type = SPOP_DATA_INT64 };

	if (put_str(&p, end, "verdict", "allow") < 0)
		return -1;
	if (!minimal) {
		d.u.sint = 200;
		if (put_var(&p, end, "status", &d) < 0 ||
		    put_str(&p, end, "code", "ok") < 0 ||
		    put_str(&p, end, "reason", "Client certificate accepted") < 0 ||
		    put_str(&p, end, "sha256", sha256) < 0 ||
		    put_str(&p, end, "sha1", "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c") < 0)
			return -1;
		d.u.sint = 1900000000;
		if (put_var(&p, end, "not_after", &d) < 0 ||
		    put_str(&p, end, "serial", "4d2a61f0c39e8b17") < 0 ||
		    put_str(&p, end, "subject",
		            "CN=client-000000.bench.example,OU=payments,O=certspoa bench,"
		            "L=San Francisco,ST=California,C=US") < 0 ||
		    put_str(&p, end, "issuer",
		            "CN=certspoa bench issuing CA 1,O=certspoa bench,C=US") < 0)
			return -1;
	}
	ack_len = (size_t)(p - ack_actions);
	return 0;
}

static void fconn_close(struct fconn *c)
{
	ev_io_stop(loop, &c->io);
	close(c->fd);
	free(c);
}

/* Returns -1 if the connection was closed. */
static int fconn_flush(struct fconn *c)
{
	while (c->tx_off < c->tx_len) {
		ssize_t n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);

		if (n > 0) {
			c->tx_off += (size_t)n;
			nwrites++;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		fconn_close(c);
		return -1;
	}
	if (c->tx_off == c->tx_len) {
		c->tx_off = c->tx_len = 0;
		if (c->closing) {
			fconn_close(c);
			return -1;
		}
	}
	return 0;
}

static void set_events(struct fconn *c)
{
	int ev = 0;

	/* stop reading while a full batch of replies is still unsent */
	if (!c->closing && TX_SIZE - c->tx_len >= (size_t)c->max_frame + 4)
		ev |= EV_READ;
	if (c->tx_off < c->tx_len)
		ev |= EV_WRITE;
	if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) == ev)
		return;
	ev_io_stop(loop, &c->io);
	ev_io_set(&c->io, c->fd, ev);
	if (ev)
		ev_io_start(loop, &c->io);
}

static int on_frame(struct fconn *c, const char *buf, size_t len)
{
	char *p = c->tx + c->tx_len, *end = c->tx + TX_SIZE, *start;
	struct spop_frame f;
	struct spop_hello h;
	enum spop_status st;

	if (spop_parse_frame(buf, len, &f) < 0)
		return -1;
	switch (f.type) {
	case SPOP_FRM_NOTIFY:
		if (!c->ready || spop_frame_begin(&p, end, &start, SPOP_FRM_ACK, SPOP_FL_FIN,
		                                  f.stream_id, f.frame_id) < 0 ||
		    (size_t)(end - p) < ack_len)
			return -1;
		memcpy(p, ack_actions, ack_len);
		p += ack_len;
		spop_frame_end(start, p);
		nframes++;
		break;
	case SPOP_FRM_HAPROXY_HELLO:
		if (spop_parse_hello(f.payload, f.len, &h, &st) < 0)
			return -1;
		c->max_frame = h.max_frame_size < MAX_FRAME ? h.max_frame_size : MAX_FRAME;
		if (spop_put_agent_hello(&p, end, c->max_frame, "pipelining") < 0)
			return -1;
		c->ready = 1;
		if (h.healthcheck)
			c->closing = 1;
		break;
	case SPOP_FRM_HAPROXY_DISCON:
		if (spop_put_agent_disconnect(&p, end, SPOP_ST_NONE, "bye") < 0)
			return -1;
		c->closing = 1;
		break;
	default:
		return -1;
	}
	c->tx_len = (size_t)(p - c->tx);
	return 0;
}

/* Answer every whole frame in rx while a reply still fits. */
static int process(struct fconn *c)
{
	const char *p = c->rx;
	size_t left = c->rx_len;

	while (!c->closing && left >= 4) {
		const unsigned char *u = (const unsigned char *)p;
		uint32_t flen = (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
		                (uint32_t)u[2] << 8 | u[3];

		if (flen > c->max_frame)
			return -1;
		if (left - 4 < flen || TX_SIZE - c->tx_len < (size_t)c->max_frame + 4)
			break;
		if (on_frame(c, p + 4, flen) < 0)
			return -1;
		p += 4 + flen;
		left -= 4 + flen;
	}
	if (left && p != c->rx)
		memmove(c->rx, p, left);
	c->rx_len = left;
	return 0;
}

static void io_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct fconn *c = (struct fconn *)w;

	(void)l;
	if (revents & EV_WRITE) {
		if (fconn_flush(c) < 0)
			return;
		if (process(c) < 0) {
			fconn_close(c);
			return;
		}
	}
	if (revents & EV_READ) {
		for (int i = 0; i < 8; i++) {
			size_t room = sizeof(c->rx) - c->rx_len;
			ssize_t n;

			if (TX_SIZE - c->tx_len < (size_t)c->max_frame + 4)
				break;
			n = recv(c->fd, c->rx + c->rx_len, room, 0);
			if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR &&
			               errno != EWOULDBLOCK)) {
				fconn_close(c);
				return;
			}
			if (n < 0)
				break;
			c->rx_len += (size_t)n;
			if (process(c) < 0) {
				fconn_close(c);
				return;
			}
			if ((size_t)n < room)
				break;
		}
	}
	/* one write for everything this event produced */
	if (fconn_flush(c) < 0)
		return;
	set_events(c);
}

static void accept_cb(struct ev_loop *l, ev_io *w, int revents)
{
	const int one = 1;

	(void)l;
	(void)revents;
	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct fconn *c;

		if (fd == -1)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->max_frame = MAX_FRAME;
		ev_io_init(&c->io, io_cb, fd, EV_READ);
		ev_io_start(loop, &c->io);
	}
}

static void stop_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	fprintf(stderr, "floor-agent: %llu ACKs in %llu writes\n", nframes, nwrites);
	ev_break(l, EVBREAK_ALL);
}

static int listen_on(const char *spec, char *bound, size_t boundlen)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[128], port[16];
	const char *colon = strrchr(spec, ':');
	const int one = 1;
	int fd;

	if (!colon || (size_t)(colon - spec) >= sizeof(host) || strlen(colon + 1) >= sizeof(port))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	snprintf(port, sizeof(port), "%s", colon + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 || listen(fd, 1024) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
		freeaddrinfo(res);
		if (fd != -1)
			close(fd);
		return -1;
	}
	freeaddrinfo(res);
	if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		close(fd);
		return -1;
	}
	snprintf(bound, boundlen, "%s:%s", host, port);
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen",  required_argument, NULL, 'l' },
		{ "ready",   required_argument, NULL, 'r' },
		{ "min-ack", no_argument,       NULL, 'm' },
		{ "sha256",  required_argument, NULL, 's' },
		{ "help",    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *spec = "127.0.0.1:0", *ready = NULL;
	const char *sha256 = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
	char bound[160];
	int opt, minimal = 0, lfd;
	ev_io accept_w;
	ev_signal sterm, sint;

	while ((opt = getopt_long(argc, argv, "l:r:s:mh", lo, NULL)) != -1) {
		switch (opt) {
		case 'l': spec = optarg; break;
		case 'r': ready = optarg; break;
		case 'm': minimal = 1; break;
		case 's':
			if (strlen(optarg) != 64) {
				fprintf(stderr, "floor-agent: --sha256 wants 64 hex digits\n");
				return 2;
			}
			sha256 = optarg;
			break;
		case 'h':
			printf("usage: floor-agent [-l HOST:PORT] [-r READY_FILE] [--sha256 HEX] [--min-ack]\n"
			       "  A SPOP agent answering every NOTIFY with one constant ACK (the\n"
			       "  protocol floor). Listens on 127.0.0.1:0 (any free port) by default;\n"
			       "  prints the bound address, and writes it to READY_FILE if given.\n"
			       "  SIGTERM/SIGINT: print the ACK count and exit.\n");
			return 0;
		default:
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (build_ack(minimal, sha256) < 0)
		return 2;
	lfd = listen_on(spec, bound, sizeof(bound));
	if (lfd < 0) {
		fprintf(stderr, "floor-agent: cannot listen on %s: %s\n", spec, strerror(errno));
		return 2;
	}
	loop = ev_default_loop(EVFLAG_AUTO);
	ev_io_init(&accept_w, accept_cb, lfd, EV_READ);
	ev_io_start(loop, &accept_w);
	ev_signal_init(&sterm, stop_cb, SIGTERM);
	ev_signal_start(loop, &sterm);
	ev_signal_init(&sint, stop_cb, SIGINT);
	ev_signal_start(loop, &sint);
	printf("floor-agent: listening on %s\n", bound);
	fflush(stdout);
	if (ready) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
		f = fopen(tmp, "w");
		if (!f || fprintf(f, "%s\n", bound) < 0 || fclose(f) != 0 || rename(tmp, ready) == -1) {
			fprintf(stderr, "floor-agent: cannot write %s\n", ready);
			return 2;
		}
	}
	ev_run(loop, 0);
	close(lfd);
	return 0;
}
