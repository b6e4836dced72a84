/* Minimal HTTP server for the stats pages. See httpd.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "log.h"
#include "statsauth.h"

struct client {
	ev_io io;                     /* first: callbacks recover the client */
	ev_timer timer;
	struct httpd *h;
	struct client *prev, *next;   /* the server's list, oldest first */
	int answered;                 /* a response is being written */
	int fd;
	char in[HTTPD_REQ_MAX];
	size_t in_len;
	struct sbuf out;
	size_t out_off;
};

static void client_free(struct client *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->h->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		c->h->clients_tail = c->prev;
	ev_io_stop(c->h->loop, &c->io);
	ev_timer_stop(c->h->loop, &c->timer);
	close(c->fd);
	sbuf_free(&c->out);
	c->h->nclients--;
	free(c);
}

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Request Entity Too Large";
	case 503: return "Service Unavailable";
	default:  return "Internal Server Error";
	}
}

static void respond(struct client *c, int status, const char *ctype, const struct sbuf *body,
                    int head_only, const char *www_auth)
{
	size_t blen = body && !body->failed ? body->len : 0;

	if (body && body->failed) {
		status = 500;
		ctype = "text/plain";
		www_auth = NULL;
	}
	sbuf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
	            status, status_text(status), ctype, blen);
	if (www_auth)
		sbuf_printf(&c->out, "WWW-Authenticate: %s\r\n", www_auth);
	sbuf_puts(&c->out, "Connection: close\r\n\r\n");
	if (blen && !head_only)
		sbuf_put(&c->out, body->p, blen);
	c->answered = 1;
	ev_io_stop(c->h->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_io_start(c->h->loop, &c->io);
}

static void simple(struct client *c, int status, const char *msg)
{
	struct sbuf b = { 0 };

	sbuf_printf(&b, "%s\n", msg);
	respond(c, status, "text/plain; charset=utf-8", &b, 0, NULL);
	sbuf_free(&b);
}

/* Header lines after the request line: find Authorization (name compared
 * case-insensitively on its exact length; value without surrounding
 * spaces). Lines are NUL-free: handle() refused a NUL in the head. */
static void find_authz(const char *p, const char *end, struct httpd_request *rq)
{
	static const char name[] = "authorization";
	const size_t nlen = sizeof(name) - 1;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol ? eol : end;
		const char *colon = memchr(p, ':', (size_t)(line_end - p));

		if (colon && (size_t)(colon - p) == nlen && strncasecmp(p, name, nlen) == 0) {
			const char *v = colon + 1, *ve = line_end;

			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if (rq->authz)
				rq->authz_dup = 1;
			rq->authz = v;
			rq->authz_len = (size_t)(ve - v);
		}
		if (!eol)
			break;
		p = eol + 1;
	}
}

int httpd_authorize(const struct httpd_request *rq, const char *token, size_t token_len,
                    struct httpd_response *r)
{
	enum statsauth_verdict v = statsauth_check(rq->local, rq->path, rq->authz, rq->authz_len,
	                                           rq->authz_dup, token, token_len);

	switch (v) {
	case STATSAUTH_SERVE:
		return 1;
	case STATSAUTH_UNAUTHORIZED:
		r->status = 401;
		r->content_type = "text/plain; charset=utf-8";
		r->www_authenticate = "Bearer realm=\"certspoa stats\"";
		sbuf_puts(&r->body, "this page needs Authorization: Bearer <the token of [stats] token_file>\n");
		return 0;
	case STATSAUTH_NO_TOKEN:
	case STATSAUTH_VERDICTS:
		break;
	}
	r->status = 403;
	r->content_type = "text/plain; charset=utf-8";
	sbuf_puts(&r->body, "set token_file in [stats] to serve this on a non-loopback address "
	          "(only /metrics, /healthz and /readyz are public)\n");
	return 0;
}

/* A whole request head is in c->in: route it. */
static void handle(struct client *c)
{
	struct httpd_response r = { .status = 200, .content_type = "text/plain; charset=utf-8" };
	struct httpd_request rq = { .local = c->h->local };
	char *sp1, *sp2, *q, *eol, *hend;
	int head;

	/* the head ends at the first empty line (client_cb saw one) */
	hend = memmem(c->in, c->in_len, "\n\r\n", 3);
	if (!hend || ((q = memmem(c->in, c->in_len, "\n\n", 2)) && q < hend))
		hend = memmem(c->in, c->in_len, "\n\n", 2);
	eol = memchr(c->in, '\n', c->in_len);
	if (!eol || !hend || memchr(c->in, 0, (size_t)(hend - c->in))) {
		simple(c, 400, "bad request");
		return;
	}
	find_authz(eol + 1, hend, &rq);
	*eol = 0;
	sp1 = strchr(c->in, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp1[1] != '/') {
		simple(c, 400, "bad request");
		return;
	}
	*sp1 = *sp2 = 0;
	head = strcmp(c->in, "HEAD") == 0;
	if (!head && strcmp(c->in, "GET") != 0) {
		simple(c, 405, "only GET and HEAD");
		return;
	}
	if ((q = strchr(sp1 + 1, '?')))
		*q = 0;
	rq.path = sp1 + 1;
	c->h->fn(c->h->arg, &rq, &r);
	respond(c, r.status, r.content_type, &r.body, head, r.www_authenticate);
	sbuf_free(&r.body);
}

static void client_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct client *c = (struct client *)io;
	ssize_t n;

	(void)loop;
	if (revents & EV_READ) {
		n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len, 0);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			client_free(c);
			return;
		}
		if (n > 0) {
			c->in_len += (size_t)n;
			c->in[c->in_len] = 0;
			/* memmem, not strstr: a NUL in the request must not hide
			 * its end (handle() then answers 400) */
			if (memmem(c->in, c->in_len, "\r\n\r\n", 4) || memmem(c->in, c->in_len, "\n\n", 2))
				handle(c);
			else if (c->in_len == sizeof(c->in) - 1)
				simple(c, 413, "request too large");
		}
		return;
	}
	if (revents & EV_WRITE) {
		while (c->out_off < c->out.len) {
			n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
			if (n > 0) {
				c->out_off += (size_t)n;
				continue;
			}
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				return;
			break;
		}
		client_free(c);
	}
}

static void client_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct client *c = (struct client *)((char *)t - offsetof(struct client, timer));

	(void)loop;
	(void)revents;
	client_free(c);
}

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct httpd *h = io->data;

	(void)revents;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c;

		if (fd == -1)
			return;
		if (h->nclients >= HTTPD_MAX_CLIENTS) {
			/* full: drop the oldest client still sending its request,
			 * so idle connections cannot lock out health probes */
			struct client *old = h->clients;

			while (old && old->answered)
				old = old->next;
			if (old)
				client_free(old);
		}
		if (h->nclients >= HTTPD_MAX_CLIENTS || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->h = h;
		c->fd = fd;
		h->nclients++;
		c->prev = h->clients_tail;
		if (h->clients_tail)
			h->clients_tail->next = c;
		else
			h->clients = c;
		h->clients_tail = c;
		ev_io_init(&c->io, client_cb, fd, EV_READ);
		ev_io_start(loop, &c->io);
		ev_timer_init(&c->timer, client_timeout, HTTPD_TIMEOUT, 0.);
		ev_timer_start(loop, &c->timer);
	}
}

int httpd_open(struct httpd *h, struct ev_loop *loop, const char *spec,
               httpd_fn fn, void *arg, char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	if (listener_open(&h->l, spec, err, errlen) < 0)
		return -1;
	h->loop = loop;
	h->fn = fn;
	h->arg = arg;
	if (h->l.is_unix) {
		h->local = 1;
	} else {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		/* the address really bound: "localhost" or a name resolves here */
		h->local = getsockname(h->l.fd, (struct sockaddr *)&ss, &sl) == 0 &&
		           statsauth_addr_is_local((struct sockaddr *)&ss, sl);
	}
	ev_io_init(&h->accept_w, accept_cb, h->l.fd, EV_READ);
	h->accept_w.data = h;
	ev_io_start(loop, &h->accept_w);
	return 0;
}

void httpd_close(struct httpd *h)
{
	while (h->clients)
		client_free(h->clients);
	if (h->loop)
		ev_io_stop(h->loop, &h->accept_w);
	listener_close(&h->l);
	h->loop = NULL;
}
