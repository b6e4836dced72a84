/* Fuzz target: the stats listener's HTTP server (agent/httpd.c), over a
 * real unix socket, in an event loop run with EVRUN_NOWAIT.
 *
 * Input: two bytes of settings, then the bytes a client sends.
 *   s0 bits 0-6  idle clients connected first, which send nothing (0..127,
 *                at most 80): past HTTPD_MAX_CLIENTS the oldest are dropped
 *      bit  7    close our side once everything is sent
 *   s1           0: one write; else writes of s1 bytes
 * The route function answers 404 for "/nf" and otherwise 200 with a body
 * that names the path.
 *
 * Invariants:
 * - the answer is what the request line calls for, worked out here from the
 *   first 8191 bytes: none while the head is incomplete, 413 when those
 *   bytes hold no complete head, 400 for a NUL anywhere in the head or a
 *   malformed request line (a missing part, a target not starting with '/', a version not
 *   "HTTP/1."), 405 for a method other than GET and HEAD, else the route's
 *   status, which got the path without its query string;
 * - the answer is "HTTP/1.1 <status> <reason>", the fixed headers, a
 *   Content-Length equal to the body sent (no body for HEAD), and the
 *   server then closes the connection;
 * - once we close everything the server holds no client (no leak). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "fuzz.h"
#include "httpd.h"
#include "log.h"

#define IDLE_MAX  80
#define ROUNDS    64

static struct ev_loop *loop;
static struct httpd h;
static char sock_path[108];
static pid_t owner;
static int verbose;                  /* FUZZ_VERBOSE set: one line per input */

static void route(void *arg, const struct httpd_request *rq, struct httpd_response *r)
{
	const char *path = rq->path;

	(void)arg;
	FUZZ_ASSERT(path[0] == '/');
	/* the Authorization value is one header line's, without its ends */
	FUZZ_ASSERT(!rq->authz || (!memchr(rq->authz, '\n', rq->authz_len) &&
	                           !memchr(rq->authz, '\r', rq->authz_len)));
	FUZZ_ASSERT(rq->local == 1);         /* a unix socket is local */
	FUZZ_ASSERT(!strchr(path, '?') && !strchr(path, ' ') && !strchr(path, '\n'));
	if (strcmp(path, "/nf") == 0) {
		r->status = 404;
		sbuf_puts(&r->body, "not found\n");
		return;
	}
	sbuf_printf(&r->body, "path %s\n", path);
}

static void cleanup(void)
{
	if (getpid() == owner)
		httpd_close(&h);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char spec[128], err[256];

	(void)argc;
	(void)argv;
	log_min_level = LOG_ERR;
	signal(SIGPIPE, SIG_IGN);
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	loop = ev_loop_new(EVFLAG_AUTO);
	FUZZ_ASSERT(loop);
	snprintf(sock_path, sizeof(sock_path), "%s/certspoa-fuzz-httpd-%ld.sock",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
	snprintf(spec, sizeof(spec), "unix:%s", sock_path);
	FUZZ_ASSERT(httpd_open(&h, loop, spec, route, NULL, err, sizeof(err)) == 0);
	owner = getpid();
	atexit(cleanup);
	return 0;
}

static int connect_client(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	FUZZ_ASSERT(fd >= 0);
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	FUZZ_ASSERT(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	return fd;
}

/* What the server must answer: 0 for nothing yet. *head is set for HEAD,
 * *nf when the route is asked for "/nf". */
static int expected(const char *req, size_t n, int *head, int *nf)
{
	const char *eol, *sp1, *sp2, *end, *q, *hend;

	*head = *nf = 0;
	if (n > HTTPD_REQ_MAX - 1)
		n = HTTPD_REQ_MAX - 1;
	if (!memmem(req, n, "\r\n\r\n", 4) && !memmem(req, n, "\n\n", 2))
		return n == HTTPD_REQ_MAX - 1 ? 413 : 0;
	/* the head ends at the first empty line; a NUL anywhere in it is 400 */
	hend = memmem(req, n, "\n\r\n", 3);
	q = memmem(req, n, "\n\n", 2);
	if (!hend || (q && q < hend))
		hend = q;
	eol = memchr(req, '\n', n);
	if (memchr(req, 0, (size_t)(hend - req)))
		return 400;
	sp1 = memchr(req, ' ', (size_t)(eol - req));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || (size_t)(eol - sp2 - 1) < 7 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    sp1[1] != '/')
		return 400;
	*head = sp1 - req == 4 && memcmp(req, "HEAD", 4) == 0;
	if (!*head && !(sp1 - req == 3 && memcmp(req, "GET", 3) == 0))
		return 405;
	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	end = q ? q : sp2;
	*nf = end - (sp1 + 1) == 3 && memcmp(sp1 + 1, "/nf", 3) == 0;
	return *nf ? 404 : 200;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Request Entity Too Large";
	default:  return NULL;
	}
}

/* The whole answer in buf/len: check it against the status wanted. */
static void check_answer(const char *buf, size_t len, int want, int head)
{
	char first[64];
	const char *hend, *cl;
	size_t body;
	unsigned long n;
	int k;

	FUZZ_ASSERT(want != 0);
	k = snprintf(first, sizeof(first), "HTTP/1.1 %d %s\r\n", want, reason(want));
	FUZZ_ASSERT(len >= (size_t)k && memcmp(buf, first, (size_t)k) == 0);
	hend = memmem(buf, len, "\r\n\r\n", 4);
	FUZZ_ASSERT(hend);
	body = len - (size_t)(hend + 4 - buf);
	cl = memmem(buf, (size_t)(hend - buf), "\r\nContent-Length: ", 18);
	FUZZ_ASSERT(cl);
	n = strtoul(cl + 18, NULL, 10);
	FUZZ_ASSERT(memmem(buf, (size_t)(hend - buf), "\r\nConnection: close", 19));
	/* HEAD of a routed page: the length of the body not sent */
	if (head && (want == 200 || want == 404))
		FUZZ_ASSERT(body == 0 && n > 0);
	else
		FUZZ_ASSERT(body == n);
}

/* Run the loop and read the main client until nothing moves. Returns
 * whether the server closed it. */
static int pump(int fd, char *buf, size_t cap, size_t *len)
{
	int quiet = 0, closed = 0;

	for (int i = 0; i < ROUNDS * 4 && quiet < 3; i++) {
		ssize_t n;
		int moved = 0;

		ev_run(loop, EVRUN_NOWAIT);
		while (!closed && (n = recv(fd, buf + *len, cap - *len, 0)) != 0) {
			if (n < 0) {
				FUZZ_ASSERT(errno == EAGAIN || errno == ECONNRESET || errno == EINTR);
				if (errno == ECONNRESET)
					closed = 1;
				break;
			}
			*len += (size_t)n;
			moved = 1;
			FUZZ_ASSERT(*len < cap);
		}
		if (!closed && n == 0)
			closed = moved = 1;
		quiet = moved ? 0 : quiet + 1;
	}
	return closed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char ans[1 << 16];
	int idle[IDLE_MAX], nidle, fd, want, head, nf, closed = 0;
	size_t len = 0, off = 0, alen = 0;
	const char *req;

	if (!loop)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 2)
		return 0;
	nidle = data[0] & 0x7f;
	if (nidle > IDLE_MAX)
		nidle = IDLE_MAX;
	req = (const char *)data + 2;
	len = size - 2;

	for (int i = 0; i < nidle; i++) {
		idle[i] = connect_client();
		ev_run(loop, EVRUN_NOWAIT);
	}
	fd = connect_client();
	ev_run(loop, EVRUN_NOWAIT);
	while (off < len && !closed) {
		size_t n = data[1] ? data[1] : len;
		ssize_t k;

		if (n > len - off)
			n = len - off;
		k = send(fd, req + off, n, MSG_NOSIGNAL);
		if (k > 0)
			off += (size_t)k;
		else
			FUZZ_ASSERT(k == -1 && (errno == EAGAIN || errno == EPIPE ||
			                        errno == ECONNRESET));
		if (k == -1 && errno != EAGAIN)
			break;
		closed = pump(fd, ans, sizeof(ans), &alen);
	}
	if (data[0] & 0x80)
		shutdown(fd, SHUT_WR);
	closed |= pump(fd, ans, sizeof(ans), &alen);

	want = expected(req, off, &head, &nf);
	if (verbose)
		fprintf(stderr, "fuzz_httpd: %zu of %zu bytes sent, %d idle; want %d, got %zu bytes%s\n",
		        off, len, nidle, want, alen, closed ? ", closed" : "");
	if (want) {
		FUZZ_ASSERT(closed);
		check_answer(ans, alen, want, head);
	} else {
		/* no complete head: no answer; after our EOF, closed */
		FUZZ_ASSERT(alen == 0);
		if (data[0] & 0x80)
			FUZZ_ASSERT(closed);
	}

	close(fd);
	for (int i = 0; i < nidle; i++)
		close(idle[i]);
	for (int i = 0; i < ROUNDS && h.nclients; i++)
		ev_run(loop, EVRUN_NOWAIT);
	FUZZ_ASSERT(h.nclients == 0);
	return 0;
}
