/* Pushes the verdict generation to HAProxy's runtime API. See hapush.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "addr.h"
#include "cache.h"
#include "counter.h"
#include "hapush.h"
#include "log.h"

#define HAPUSH_NAME_MAX 128
#define HAPUSH_CMD_MAX  96
#define HAPUSH_RESP_MAX 256

struct hapush_target {
	struct hapush *h;
	char name[HAPUSH_NAME_MAX];       /* as written */
	struct sockaddr_storage sa;
	socklen_t salen;
	uint64_t told;                    /* the generation this HAProxy has, 0: none yet */
	uint64_t sending;                 /* the generation of the attempt in flight */
	uint64_t failed_gen;              /* the last attempt that failed was for it */
	ev_tstamp retry_at;               /* no new attempt for failed_gen before */
	int failing;                      /* logged once per streak */
	int fd;                           /* -1: no attempt in flight */
	int reading;
	ev_io io;
	ev_timer tmo;
	char cmd[HAPUSH_CMD_MAX];
	size_t cmdlen, sent;
	char resp[HAPUSH_RESP_MAX];
	size_t rlen;
};

struct hapush {
	struct ev_loop *loop;
	ev_timer poll;
	int n;
	struct hapush_target t[HAPUSH_MAX_TARGETS];
};

static uint64_t push_failures;

uint64_t hapush_failures(void)
{
	return CTR_GET(push_failures);
}

int hapush_command(uint64_t gen, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "experimental-mode on; set var proc.certspoa_gen int(%llu)\n",
	                 (unsigned long long)gen);

	return n > 0 && (size_t)n < cap ? n : -1;
}

/* One address: "unix@/path", or "IPV4:PORT", "[IPV6]:PORT" (numeric: the
 * main loop never waits for a name server). */
static int parse_one(const char *s, size_t len, struct hapush_target *t, char *err, size_t errlen)
{
	char host[64];
	const char *colon;
	char *end;
	long port;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (len >= sizeof(t->name)) {
		snprintf(err, errlen, "haproxy_socket: address too long: %.40s...", s);
		return -1;
	}
	memcpy(t->name, s, len);
	t->name[len] = 0;
	if (len > 5 && memcmp(s, "unix@", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&t->sa;

		if (s[5] != '/' || len - 5 > ADDR_UNIX_PATH_MAX) {
			snprintf(err, errlen, "haproxy_socket: '%s' is not unix@ and an absolute path of at most %d bytes",
			         t->name, ADDR_UNIX_PATH_MAX);
			return -1;
		}
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, s + 5, len - 5);
		t->salen = sizeof(*un);
		return 0;
	}
	colon = memrchr(s, ':', len);
	if (!colon || colon == s || colon + 1 == s + len)
		goto bad;
	port = strtol(colon + 1, &end, 10);
	if (end != s + len || port < 1 || port > 65535)
		goto bad;
	if (s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&t->sa;
		size_t hl = (size_t)(colon - s);

		if (hl < 3 || s[hl - 1] != ']' || hl - 2 >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, hl - 2);
		host[hl - 2] = 0;
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			goto bad;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		t->salen = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&t->sa;
		size_t hl = (size_t)(colon - s);

		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, s, hl);
		host[hl] = 0;
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			goto bad;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		t->salen = sizeof(*a4);
	}
	return 0;
bad:
	snprintf(err, errlen, "haproxy_socket: '%s' is not unix@/path, IPV4:PORT or [IPV6]:PORT", t->name);
	return -1;
}

static int parse_all(const char *addrs, struct hapush_target *t, int *n, char *err, size_t errlen)
{
	const char *p = addrs;

	*n = 0;
	while (p && *p) {
		size_t len;

		p += strspn(p, " \t,");
		len = strcspn(p, " \t,");
		if (!len)
			break;
		if (*n == HAPUSH_MAX_TARGETS) {
			snprintf(err, errlen, "haproxy_socket: more than %d addresses", HAPUSH_MAX_TARGETS);
			return -1;
		}
		if (parse_one(p, len, &t[*n], err, errlen) < 0)
			return -1;
		(*n)++;
		p += len;
	}
	return 0;
}

int hapush_check(const char *addrs, char *err, size_t errlen)
{
	struct hapush_target *t = calloc(HAPUSH_MAX_TARGETS, sizeof(*t));
	int n, rc;

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = parse_all(addrs, t, &n, err, errlen);
	free(t);
	return rc;
}

static void attempt_end(struct hapush_target *t, int ok, const char *why)
{
	struct hapush *h = t->h;

	ev_io_stop(h->loop, &t->io);
	ev_timer_stop(h->loop, &t->tmo);
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
	if (ok) {
		if (t->failing)
			LOG(LOG_INFO, 0, "haproxy_socket %s: generation %llu told again", t->name,
			    (unsigned long long)t->sending);
		t->failing = 0;
		if (t->sending > t->told)
			t->told = t->sending;
		return;
	}
	CTR_INC(push_failures);
	if (!t->failing)
		LOG(LOG_WARN, 0, "haproxy_socket %s: cannot set proc.certspoa_gen to %llu: %s "
		    "(open connections reuse an older verdict until its max_age; retrying)",
		    t->name, (unsigned long long)t->sending, why);
	t->failing = 1;
	t->failed_gen = t->sending;
	t->retry_at = ev_now(h->loop) + HAPUSH_RETRY_MS / 1000.0;
}

/* HAProxy answers nothing to a command that worked; anything else
 * (Permission denied, Unknown command...) is a failure. */
static int answer_is_ok(const struct hapush_target *t)
{
	for (size_t i = 0; i < t->rlen; i++)
		if (t->resp[i] != '\n' && t->resp[i] != '\r' && t->resp[i] != ' ')
			return 0;
	return 1;
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hapush_target *t = w->data;
	ssize_t r;

	(void)revents;
	if (!t->reading) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (t->sent == 0 && getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr) {
			attempt_end(t, 0, strerror(soerr));
			return;
		}
		r = send(t->fd, t->cmd + t->sent, t->cmdlen - t->sent, MSG_NOSIGNAL);
		if (r == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			attempt_end(t, 0, strerror(errno));
			return;
		}
		t->sent += (size_t)r;
		if (t->sent < t->cmdlen)
			return;
		t->reading = 1;
		ev_io_stop(loop, &t->io);
		ev_io_set(&t->io, t->fd, EV_READ);
		ev_io_start(loop, &t->io);
		return;
	}
	if (t->rlen < sizeof(t->resp)) {
		r = recv(t->fd, t->resp + t->rlen, sizeof(t->resp) - t->rlen, 0);
	} else {
		char sink[256];

		r = recv(t->fd, sink, sizeof(sink), 0);
		if (r > 0)
			return;
	}
	if (r == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		attempt_end(t, 0, strerror(errno));
		return;
	}
	if (r > 0) {
		t->rlen += (size_t)r;
		return;
	}
	/* EOF: the runtime API closes after a non-interactive command line */
	if (answer_is_ok(t)) {
		attempt_end(t, 1, NULL);
	} else {
		char why[HAPUSH_RESP_MAX + 16];
		size_t n = t->rlen;

		while (n && (t->resp[n - 1] == '\n' || t->resp[n - 1] == '\r'))
			n--;
		for (size_t i = 0; i < n; i++)
			if (t->resp[i] < 0x20 || t->resp[i] > 0x7e)
				t->resp[i] = ' ';
		snprintf(why, sizeof(why), "HAProxy answered: %.*s", (int)n, t->resp);
		attempt_end(t, 0, why);
	}
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	attempt_end(w->data, 0, "timeout");
}

static void attempt_start(struct hapush *h, struct hapush_target *t, uint64_t gen)
{
	int n = hapush_command(gen, t->cmd, sizeof(t->cmd));

	t->sending = gen;
	t->sent = t->rlen = 0;
	t->reading = 0;
	if (n < 0) {
		attempt_end(t, 0, "command too long");
		return;
	}
	t->cmdlen = (size_t)n;
	t->fd = socket(t->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd == -1) {
		attempt_end(t, 0, strerror(errno));
		return;
	}
	if (connect(t->fd, (struct sockaddr *)&t->sa, t->salen) == -1 && errno != EINPROGRESS &&
	    errno != EAGAIN) {
		attempt_end(t, 0, strerror(errno));
		return;
	}
	ev_io_init(&t->io, on_io, t->fd, EV_WRITE);
	t->io.data = t;
	ev_io_start(h->loop, &t->io);
	ev_timer_init(&t->tmo, on_timeout, HAPUSH_TIMEOUT_MS / 1000.0, 0.);
	t->tmo.data = t;
	ev_timer_start(h->loop, &t->tmo);
}

static void on_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hapush *h = w->data;
	uint64_t gen = cache_verdict_gen();

	(void)revents;
	for (int i = 0; i < h->n; i++) {
		struct hapush_target *t = &h->t[i];

		if (t->fd != -1 || t->told == gen)
			continue;
		/* a failure waits for its retry time, unless the generation moved on */
		if (t->failing && t->failed_gen == gen && ev_now(loop) < t->retry_at)
			continue;
		attempt_start(h, t, gen);
	}
}

struct hapush *hapush_start(struct ev_loop *loop, const char *addrs, char *err, size_t errlen)
{
	struct hapush *h;

	err[0] = 0;
	if (!addrs || !addrs[strspn(addrs, " \t,")])
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (parse_all(addrs, h->t, &h->n, err, errlen) < 0) {
		free(h);
		return NULL;
	}
	h->loop = loop;
	for (int i = 0; i < h->n; i++)
		h->t[i].h = h;
	ev_timer_init(&h->poll, on_poll, 0., HAPUSH_POLL_MS / 1000.0);
	h->poll.data = h;
	ev_timer_start(loop, &h->poll);
	return h;
}

void hapush_stop(struct hapush *h)
{
	if (!h)
		return;
	ev_timer_stop(h->loop, &h->poll);
	for (int i = 0; i < h->n; i++) {
		struct hapush_target *t = &h->t[i];

		if (t->fd != -1) {
			ev_io_stop(h->loop, &t->io);
			ev_timer_stop(h->loop, &t->tmo);
			close(t->fd);
			t->fd = -1;
		}
	}
	free(h);
}
