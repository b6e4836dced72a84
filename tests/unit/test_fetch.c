/* The background fetcher (agent/fetch.c) against a scripted HTTP server
 * on a loopback socket: a thread that accepts, reads the request and
 * answers the way a test asks - well, with 304 to a matching ETag, 404,
 * too many bytes, one byte at a time (slowloris), a reset, headers that
 * never end, or plain HTTP to a TLS client. The real libcurl and libev
 * run; the server's misbehaviour is the only scripted part. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "testhelp.h"

enum srv_mode {
	SRV_OK = 0,
	SRV_ETAG,         /* 304 when If-None-Match is "v1" */
	SRV_404,
	SRV_BIG,          /* 100 KB without Content-Length */
	SRV_BIG_CL,       /* Content-Length: 100000 announced */
	SRV_SLOW,         /* then one header byte every 100 ms */
	SRV_RESET,        /* RST right after the request */
	SRV_ENDLESS,      /* header lines until the client gives up */
	SRV_REDIRECT,
	SRV_ECHO,         /* body = the request's head and body */
};

struct srv {
	int fd;
	int port;
	enum srv_mode mode;
	int conns;        /* connections to serve before the thread ends */
	pthread_t th;
	char last_req[4096];
};

static void send_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static int send_str(int fd, const char *s)
{
	size_t n = strlen(s);

	return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The request's head (and, for POST, what came with it in the first reads). */
static size_t read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	while (len + 1 < cap) {
		ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);

		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n")) {
			const char *cl = strstr(buf, "Content-Length: ");
			const char *end = strstr(buf, "\r\n\r\n") + 4;

			if (!cl || len - (size_t)(end - buf) >= (size_t)strtol(cl + 16, NULL, 10))
				break;
		}
	}
	buf[len] = '\0';
	return len;
}

static void serve_one(struct srv *s, int c)
{
	char req[4096], out[8192];
	int i;

	read_request(c, req, sizeof(req));
	snprintf(s->last_req, sizeof(s->last_req), "%s", req);
	switch (s->mode) {
	case SRV_OK:
		send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"v1\"\r\n"
		            "Last-Modified: Sat, 05 Dec 2026 10:00:00 GMT\r\nConnection: close\r\n\r\nhello");
		break;
	case SRV_ETAG:
		if (strstr(req, "If-None-Match: \"v1\"\r\n"))
			send_str(c, "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n");
		else
			send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nETag: \"v1\"\r\nConnection: close\r\n\r\nnew");
		break;
	case SRV_404:
		send_str(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found");
		break;
	case SRV_BIG:
	case SRV_BIG_CL:
		send_str(c, s->mode == SRV_BIG
		         ? "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
		         : "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n");
		memset(out, 'x', sizeof(out));
		for (i = 0; i < 13; i++)
			send_all(c, out, sizeof(out));
		break;
	case SRV_SLOW:
		send_str(c, "HTTP/1.1 200 OK\r\nX-Slow: ");
		for (i = 0; i < 100; i++) {
			if (send(c, "a", 1, MSG_NOSIGNAL) != 1)
				break;
			sleep_ms(100);
		}
		break;
	case SRV_RESET: {
		struct linger lg = { 1, 0 };

		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		break;
	}
	case SRV_ENDLESS:
		send_str(c, "HTTP/1.1 200 OK\r\n");
		memset(out, 'a', sizeof(out));
		memcpy(out, "X-Pad: ", 7);
		out[998] = '\r';
		out[999] = '\n';
		for (i = 0; i < 4000; i++)      /* 4 MB at most */
			if (send(c, out, 1000, MSG_NOSIGNAL) != 1000)
				break;
		break;
	case SRV_REDIRECT:
		send_str(c, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\n"
		            "Content-Length: 0\r\nConnection: close\r\n\r\n");
		break;
	case SRV_ECHO: {
		size_t n = strlen(req);

		snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", n);
		send_str(c, out);
		send_all(c, req, n);
		break;
	}
	}
	close(c);
}

static void *srv_main(void *p)
{
	struct srv *s = p;

	while (s->conns-- > 0) {
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			break;
		serve_one(s, c);
	}
	return NULL;
}

static int srv_start(struct srv *s, enum srv_mode mode, int conns)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int one = 1;

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->conns = conns;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->fd < 0)
		return -1;
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->fd, 8) != 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &al) != 0) {
		close(s->fd);
		return -1;
	}
	s->port = ntohs(a.sin_port);
	return pthread_create(&s->th, NULL, srv_main, s) == 0 ? 0 : -1;
}

static void srv_stop(struct srv *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->fd);
}

/* What a callback saw, copied out of the fetcher thread. */
struct got {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, calls, on_thread;
	struct fetch_result r;
	char body[256];
	char etag[64];
	struct fetcher *f;
};

static void got_init(struct got *g, struct fetcher *f)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->f = f;
}

static void got_done(void *arg, const struct fetch_result *r)
{
	struct got *g = arg;

	pthread_mutex_lock(&g->mu);
	g->r = *r;
	snprintf(g->body, sizeof(g->body), "%.*s", (int)(r->len < 255 ? r->len : 255), r->body);
	snprintf(g->etag, sizeof(g->etag), "%s", r->etag ? r->etag : "");
	g->r.body = NULL;
	g->r.etag = NULL;
	g->on_thread = fetcher_on_thread(g->f);
	g->calls++;
	g->done = 1;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static int got_wait(struct got *g, int secs)
{
	struct timespec ts;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	pthread_mutex_lock(&g->mu);
	while (!g->done && rc == 0)
		rc = pthread_cond_timedwait(&g->cv, &g->mu, &ts);
	pthread_mutex_unlock(&g->mu);
	return g->done ? 0 : -1;
}

/* One fetch of http://127.0.0.1:port/x (https when tls) against a server
 * in mode; the result in g. */
static void fetch_one(struct got *g, enum srv_mode mode, struct fetch_req *req, int tls)
{
	char err[128], url[128];
	struct fetcher *f = fetcher_start(err, sizeof(err));
	struct srv s;

	CHECK(f != NULL);
	if (!f)
		return;
	got_init(g, f);
	CHECK(srv_start(&s, mode, 1) == 0);
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d/x", tls ? "https" : "http", s.port);
	req->url = url;
	CHECK(fetcher_submit(f, req, got_done, g) == 0);
	CHECK(got_wait(g, 20) == 0);
	fetcher_stop(f);
	CHECK_EQ_INT(g->calls, 1);
	CHECK_EQ_INT(g->on_thread, 1);
	srv_stop(&s);
}

TEST(fetch_200_body_etag_last_modified)
{
	struct fetch_req req = { 0 };
	struct got g;

	fetch_one(&g, SRV_OK, &req, 0);
	CHECK_EQ_INT(g.r.ok, 1);
	CHECK_EQ_INT(g.r.status, 200);
	CHECK_EQ_INT(g.r.not_modified, 0);
	CHECK_EQ_INT(g.r.len, 5);
	CHECK_EQ_STR(g.body, "hello");
	CHECK_EQ_STR(g.etag, "\"v1\"");
	CHECK_EQ_INT(g.r.last_modified, 1796464800LL);   /* Sat, 05 Dec 2026 10:00:00 GMT */
	CHECK_EQ_STR(g.r.err, "");
}

TEST(fetch_conditional_get_304)
{
	struct fetch_req req = { 0 };
	struct got g;

	req.etag = "\"v1\"";
	fetch_one(&g, SRV_ETAG, &req, 0);
	CHECK_EQ_INT(g.r.ok, 1);
	CHECK_EQ_INT(g.r.status, 304);
	CHECK_EQ_INT(g.r.not_modified, 1);
	CHECK_EQ_INT(g.r.len, 0);

	/* another ETag: the full answer */
	req.etag = "\"v0\"";
	fetch_one(&g, SRV_ETAG, &req, 0);
	CHECK_EQ_INT(g.r.ok, 1);
	CHECK_EQ_INT(g.r.status, 200);
	CHECK_EQ_INT(g.r.not_modified, 0);
	CHECK_EQ_STR(g.body, "new");
}

/* A server that answers 200 to an If-Modified-Since naming the same second
 * as its Last-Modified (a document changed twice within one second): the
 * new body is taken. libcurl's own time condition dropped it, and a list
 * or CA changed that way was never fetched again (t-cafile.sh flaked). */
TEST(fetch_200_in_the_same_second_is_taken)
{
	struct fetch_req req = { 0 };
	struct got g;

	req.last_modified = 1796464800LL;   /* the Last-Modified SRV_OK sends */
	fetch_one(&g, SRV_OK, &req, 0);
	CHECK_EQ_INT(g.r.ok, 1);
	CHECK_EQ_INT(g.r.status, 200);
	CHECK_EQ_INT(g.r.not_modified, 0);
	CHECK_EQ_STR(g.body, "hello");
}

TEST(fetch_if_modified_since_sent)
{
	struct fetch_req req = { 0 };
	struct got g;

	req.last_modified = 1796464800LL;
	fetch_one(&g, SRV_ECHO, &req, 0);
	CHECK_EQ_INT(g.r.ok, 1);
	CHECK(strstr(g.body, "If-Modified-Since: Sat, 05 Dec 2026 10:00:00 GMT\r\n") != NULL);
	CHECK(strstr(g.body, "GET /x ") == g.body);
}

TEST(fetch_post_body_and_type)
{
	struct fetch_req req = { 0 };
	struct got g;

	req.body = "\x30\x03\x02\x01\x01";
	req.body_len = 5;
	req.content_type = "application/ocsp-request";
	fetch_one(&g, SRV_ECHO, &req, 0);
	CHECK_EQ_INT(g.r.ok, 1);
	CHECK(strstr(g.body, "POST /x ") == g.body);
	CHECK(strstr(g.body, "Content-Type: application/ocsp-request\r\n") != NULL);
	CHECK(strstr(g.body, "Content-Length: 5\r\n") != NULL);
}

TEST(fetch_404_is_not_ok)
{
	struct fetch_req req = { 0 };
	struct got g;

	fetch_one(&g, SRV_404, &req, 0);
	CHECK_EQ_INT(g.r.ok, 0);
	CHECK_EQ_INT(g.r.status, 404);
	CHECK_EQ_STR(g.r.err, "HTTP status 404");
}

TEST(fetch_oversized_aborts)
{
	struct fetch_req req = { 0 };
	struct got g;

	req.max_size = 1000;
	fetch_one(&g, SRV_BIG, &req, 0);
	CHECK_EQ_INT(g.r.ok, 0);
	CHECK_EQ_INT(g.r.len, 0);
	CHECK_EQ_STR(g.r.err, "answer larger than 1000 bytes");
	/* announced by Content-Length: refused before the body */
	fetch_one(&g, SRV_BIG_CL, &req, 0);
	CHECK_EQ_INT(g.r.ok, 0);
	CHECK_EQ_STR(g.r.err, "answer larger than 1000 bytes");
	/* the same answer fits a larger limit */
	req.max_size = 200000;
	fetch_one(&g, SRV_BIG, &req, 0);
	CHECK_EQ_INT(g.r.ok, 1);
	CHECK_EQ_INT(g.r.len, 13 * 8192);
}

TEST(fetch_slowloris_times_out)
{
	struct fetch_req req = { 0 };
	struct got g;
	struct timespec a, b;
	double secs;

	req.timeout_ms = 500;
	clock_gettime(CLOCK_MONOTONIC, &a);
	fetch_one(&g, SRV_SLOW, &req, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	CHECK_EQ_INT(g.r.ok, 0);
	CHECK(strstr(g.r.err, "imed out") != NULL);
	CHECK(secs < 5.0);
	CHECK(g.r.seconds >= 0.4);
}

TEST(fetch_reset_fails)
{
	struct fetch_req req = { 0 };
	struct got g;

	fetch_one(&g, SRV_RESET, &req, 0);
	CHECK_EQ_INT(g.r.ok, 0);
	CHECK_EQ_INT(g.r.status, 0);
	CHECK(g.r.err[0] != '\0');
}

TEST(fetch_endless_headers_fail)
{
	struct fetch_req req = { 0 };
	struct got g;

	req.timeout_ms = 10000;
	fetch_one(&g, SRV_ENDLESS, &req, 0);
	CHECK_EQ_INT(g.r.ok, 0);
	CHECK(strstr(g.r.err, "headers") != NULL);
}

TEST(fetch_tls_to_plain_server_fails)
{
	struct fetch_req req = { 0 };
	struct got g;

	fetch_one(&g, SRV_OK, &req, 1);
	CHECK_EQ_INT(g.r.ok, 0);
	CHECK_EQ_INT(g.r.status, 0);
	CHECK(g.r.err[0] != '\0');
}

TEST(fetch_redirect_not_followed_by_default)
{
	struct fetch_req req = { 0 };
	struct got g;

	fetch_one(&g, SRV_REDIRECT, &req, 0);
	CHECK_EQ_INT(g.r.ok, 0);
	CHECK_EQ_INT(g.r.status, 302);
	CHECK_EQ_STR(g.r.err, "HTTP status 302");
	/* followed when asked: to a closed port, so it fails to connect */
	req.follow_redirects = 1;
	fetch_one(&g, SRV_REDIRECT, &req, 0);
	CHECK_EQ_INT(g.r.ok, 0);
	CHECK(strstr(g.r.err, "onnect") != NULL);
}

TEST(fetch_refuses_other_schemes)
{
	char err[128];
	struct fetcher *f = fetcher_start(err, sizeof(err));
	struct fetch_req req = { 0 };
	struct got g;

	CHECK(f != NULL);
	got_init(&g, f);
	req.url = "file:///etc/passwd";
	CHECK_EQ_INT(fetcher_submit(f, &req, got_done, &g), -1);
	req.url = "ftp://127.0.0.1/x";
	CHECK_EQ_INT(fetcher_submit(f, &req, got_done, &g), -1);
	req.url = NULL;
	CHECK_EQ_INT(fetcher_submit(f, &req, got_done, &g), -1);
	fetcher_stop(f);
	CHECK_EQ_INT(g.calls, 0);
}

TEST(fetch_stop_fails_in_flight)
{
	char err[128], url[128];
	struct fetcher *f = fetcher_start(err, sizeof(err));
	struct fetch_req req = { 0 };
	struct srv s;
	struct got g;

	CHECK(f != NULL);
	got_init(&g, f);
	CHECK(srv_start(&s, SRV_SLOW, 1) == 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s.port);
	req.url = url;
	req.timeout_ms = 60000;
	CHECK(fetcher_submit(f, &req, got_done, &g) == 0);
	sleep_ms(200);
	CHECK_EQ_INT(fetcher_pending(f), 1);
	fetcher_stop(f);
	CHECK_EQ_INT(g.calls, 1);
	CHECK_EQ_INT(g.r.ok, 0);
	CHECK_EQ_STR(g.r.err, "fetcher stopped");
	srv_stop(&s);
}
