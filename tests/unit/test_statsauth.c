/* The stats listener's access rule: which addresses are local, which pages
 * are public, the bearer token check, token_file loading, and the rule
 * applied by the real HTTP server (httpd) over a TCP connection. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "cfg.h"
#include "httpd.h"
#include "statsauth.h"
#include "testcfg.h"
#include "testhelp.h"

#define TOKEN "s3cret-token-0123456789abcdef"

/* ---- addresses ---- */

static int v4_local(const char *ip)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(9180) };

	if (inet_pton(AF_INET, ip, &in.sin_addr) != 1)
		return -1;
	return statsauth_addr_is_local((struct sockaddr *)&in, sizeof(in));
}

static int v6_local(const char *ip)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(9180) };

	if (inet_pton(AF_INET6, ip, &in6.sin6_addr) != 1)
		return -1;
	return statsauth_addr_is_local((struct sockaddr *)&in6, sizeof(in6));
}

TEST(statsauth_loopback_addresses_are_local)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX, .sun_path = "/run/certspoa/stats.sock" };

	CHECK_EQ_INT(v4_local("127.0.0.1"), 1);
	CHECK_EQ_INT(v4_local("127.10.20.30"), 1);
	CHECK_EQ_INT(v4_local("127.255.255.254"), 1);
	CHECK_EQ_INT(v6_local("::1"), 1);
	CHECK_EQ_INT(v6_local("::ffff:127.0.0.1"), 1);
	CHECK_EQ_INT(statsauth_addr_is_local((struct sockaddr *)&un, sizeof(un)), 1);
}

TEST(statsauth_other_addresses_are_not_local)
{
	struct sockaddr_in in = { .sin_family = AF_INET };

	CHECK_EQ_INT(v4_local("0.0.0.0"), 0);         /* every address, the pod IP included */
	CHECK_EQ_INT(v4_local("10.1.2.3"), 0);
	CHECK_EQ_INT(v4_local("192.168.0.1"), 0);
	CHECK_EQ_INT(v4_local("128.0.0.1"), 0);
	CHECK_EQ_INT(v4_local("126.255.255.255"), 0);
	CHECK_EQ_INT(v6_local("::"), 0);
	CHECK_EQ_INT(v6_local("::2"), 0);
	CHECK_EQ_INT(v6_local("fe80::1"), 0);
	CHECK_EQ_INT(v6_local("::ffff:10.0.0.1"), 0);
	CHECK_EQ_INT(v6_local("::127.0.0.1"), 0);     /* IPv4-compatible, not mapped */
	CHECK_EQ_INT(v6_local("1::1"), 0);
	/* cannot decide: not local */
	CHECK_EQ_INT(statsauth_addr_is_local(NULL, 0), 0);
	CHECK_EQ_INT(statsauth_addr_is_local((struct sockaddr *)&in, 2), 0);
	in.sin_family = AF_PACKET;
	CHECK_EQ_INT(statsauth_addr_is_local((struct sockaddr *)&in, sizeof(in)), 0);
}

/* ---- the rule ---- */

static enum statsauth_verdict check_authz(int local, const char *path, const char *authz)
{
	return statsauth_check(local, path, authz, authz ? strlen(authz) : 0, 0, TOKEN,
	                       strlen(TOKEN));
}

TEST(statsauth_public_paths_only)
{
	CHECK(statsauth_path_is_public("/metrics"));
	CHECK(statsauth_path_is_public("/healthz"));
	CHECK(statsauth_path_is_public("/readyz"));
	CHECK(!statsauth_path_is_public("/"));
	CHECK(!statsauth_path_is_public("/stats.json"));
	CHECK(!statsauth_path_is_public("/metrics/"));
	CHECK(!statsauth_path_is_public("/metricsx"));
	CHECK(!statsauth_path_is_public("/Metrics"));
	CHECK(!statsauth_path_is_public("//metrics"));
	CHECK(!statsauth_path_is_public("/nope"));
}

TEST(statsauth_local_listener_serves_everything)
{
	CHECK_EQ_INT(check_authz(1, "/", NULL), STATSAUTH_SERVE);
	CHECK_EQ_INT(check_authz(1, "/stats.json", NULL), STATSAUTH_SERVE);
	CHECK_EQ_INT(check_authz(1, "/stats.json", "Bearer wrong"), STATSAUTH_SERVE);
	CHECK_EQ_INT(statsauth_check(1, "/", NULL, 0, 0, NULL, 0), STATSAUTH_SERVE);
}

TEST(statsauth_remote_without_token_file_is_403)
{
	CHECK_EQ_INT(statsauth_check(0, "/", NULL, 0, 0, NULL, 0), STATSAUTH_NO_TOKEN);
	CHECK_EQ_INT(statsauth_check(0, "/stats.json", "Bearer x", 8, 0, NULL, 0), STATSAUTH_NO_TOKEN);
	CHECK_EQ_INT(statsauth_check(0, "/anything", NULL, 0, 0, "", 0), STATSAUTH_NO_TOKEN);
	/* the public pages stay public */
	CHECK_EQ_INT(statsauth_check(0, "/metrics", NULL, 0, 0, NULL, 0), STATSAUTH_SERVE);
	CHECK_EQ_INT(statsauth_check(0, "/healthz", NULL, 0, 0, NULL, 0), STATSAUTH_SERVE);
	CHECK_EQ_INT(statsauth_check(0, "/readyz", NULL, 0, 0, NULL, 0), STATSAUTH_SERVE);
}

TEST(statsauth_remote_needs_the_bearer_token)
{
	CHECK_EQ_INT(check_authz(0, "/metrics", NULL), STATSAUTH_SERVE);
	CHECK_EQ_INT(check_authz(0, "/stats.json", "Bearer " TOKEN), STATSAUTH_SERVE);
	CHECK_EQ_INT(check_authz(0, "/", "bearer " TOKEN), STATSAUTH_SERVE);
	CHECK_EQ_INT(check_authz(0, "/", "BEARER  " TOKEN "  "), STATSAUTH_SERVE);
	CHECK_EQ_INT(check_authz(0, "/", "Bearer\t" TOKEN), STATSAUTH_SERVE);

	CHECK_EQ_INT(check_authz(0, "/", NULL), STATSAUTH_UNAUTHORIZED);
	CHECK_EQ_INT(check_authz(0, "/", ""), STATSAUTH_UNAUTHORIZED);
	CHECK_EQ_INT(check_authz(0, "/", "Bearer"), STATSAUTH_UNAUTHORIZED);
	CHECK_EQ_INT(check_authz(0, "/", "Bearer "), STATSAUTH_UNAUTHORIZED);
	CHECK_EQ_INT(check_authz(0, "/", TOKEN), STATSAUTH_UNAUTHORIZED);
	CHECK_EQ_INT(check_authz(0, "/", "Basic " TOKEN), STATSAUTH_UNAUTHORIZED);
	CHECK_EQ_INT(check_authz(0, "/", "Bearer" TOKEN), STATSAUTH_UNAUTHORIZED);
	CHECK_EQ_INT(check_authz(0, "/", "Bearer " TOKEN "x"), STATSAUTH_UNAUTHORIZED);
	CHECK_EQ_INT(check_authz(0, "/", "Bearer " TOKEN " x"), STATSAUTH_UNAUTHORIZED);
	CHECK_EQ_INT(check_authz(0, "/", "Bearer s3cret-token-0123456789abcdeF"), STATSAUTH_UNAUTHORIZED);
	CHECK_EQ_INT(check_authz(0, "/", "Bearer s3cret-token-0123456789abcde"), STATSAUTH_UNAUTHORIZED);
	CHECK_EQ_INT(check_authz(0, "/", "Bearer " TOKEN TOKEN), STATSAUTH_UNAUTHORIZED);
	/* two Authorization headers, even with the right token: refused */
	CHECK_EQ_INT(statsauth_check(0, "/", "Bearer " TOKEN, strlen("Bearer " TOKEN), 1, TOKEN,
	                             strlen(TOKEN)), STATSAUTH_UNAUTHORIZED);
	/* the value's length is what counts, not a NUL inside it */
	CHECK_EQ_INT(statsauth_check(0, "/", "Bearer " TOKEN "\0zz", strlen("Bearer " TOKEN) + 3, 0,
	                             TOKEN, strlen(TOKEN)), STATSAUTH_UNAUTHORIZED);
}

TEST(statsauth_token_eq_exact)
{
	CHECK(statsauth_token_eq("abc", 3, "abc", 3));
	CHECK(!statsauth_token_eq("abd", 3, "abc", 3));
	CHECK(!statsauth_token_eq("ab", 2, "abc", 3));
	CHECK(!statsauth_token_eq("abcabc", 6, "abc", 3));   /* wraps, but length differs */
	CHECK(!statsauth_token_eq("", 0, "abc", 3));
	CHECK(!statsauth_token_eq("", 0, "", 0));           /* no token: nothing matches */
	CHECK(!statsauth_token_eq("abc", 3, NULL, 0));
}

TEST(statsauth_token_parse_trims_and_validates)
{
	const char *why = NULL;
	char buf[2048];
	size_t n;

	n = strlen(TOKEN "\n");
	CHECK_EQ_INT(statsauth_token_parse(TOKEN "\n", &n, &why), 0);
	CHECK_EQ_INT(n, strlen(TOKEN));
	n = strlen(TOKEN " \t\r\n\n");
	CHECK_EQ_INT(statsauth_token_parse(TOKEN " \t\r\n\n", &n, &why), 0);
	CHECK_EQ_INT(n, strlen(TOKEN));

	n = 0;
	CHECK_EQ_INT(statsauth_token_parse("", &n, &why), -1);
	CHECK(why && strstr(why, "empty"));
	n = 3;
	CHECK_EQ_INT(statsauth_token_parse("\n\n\n", &n, &why), -1);
	n = strlen("short\n");
	CHECK_EQ_INT(statsauth_token_parse("short\n", &n, &why), -1);
	CHECK(why && strstr(why, "shorter"));
	n = strlen(" " TOKEN);
	CHECK_EQ_INT(statsauth_token_parse(" " TOKEN, &n, &why), -1);
	n = strlen(TOKEN "\nsecond-line-token");
	CHECK_EQ_INT(statsauth_token_parse(TOKEN "\nsecond-line-token", &n, &why), -1);
	n = strlen("s3cret token 0123456789");
	CHECK_EQ_INT(statsauth_token_parse("s3cret token 0123456789", &n, &why), -1);
	memset(buf, 'a', sizeof(buf));
	n = STATSAUTH_TOKEN_MAX;
	CHECK_EQ_INT(statsauth_token_parse(buf, &n, &why), 0);
	n = STATSAUTH_TOKEN_MAX + 1;
	CHECK_EQ_INT(statsauth_token_parse(buf, &n, &why), -1);
	buf[5] = (char)0xc3;
	n = 32;
	CHECK_EQ_INT(statsauth_token_parse(buf, &n, &why), -1);
}

/* ---- [stats] token_file in the configuration ---- */

static char tok_path[64];

static int write_file(char *path, size_t plen, const char *text, mode_t mode)
{
	int fd;
	ssize_t w;

	snprintf(path, plen, "/tmp/certspoa-statsauth-XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		return -1;
	w = write(fd, text, strlen(text));
	close(fd);
	if (w != (ssize_t)strlen(text) || chmod(path, mode) == -1)
		return -1;
	return 0;
}

/* An agent configuration naming token file TOKFILE (its line is 4). */
static struct config *load_with_token(const char *tokfile, char *err, size_t errlen)
{
	return test_cfg_textf(err, errlen, "[agent]\nlisten = 127.0.0.1:0\n[stats]\ntoken_file = %s\n"
	                      "listen = 0.0.0.0:0\n", tokfile);
}

TEST(statsauth_cfg_token_file_loaded)
{
	struct config *cfg;
	char err[512];

	CHECK_EQ_INT(write_file(tok_path, sizeof(tok_path), TOKEN "\n", 0600), 0);
	cfg = load_with_token(tok_path, err, sizeof(err));
	CHECK(cfg != NULL);
	if (cfg) {
		CHECK_EQ_STR(cfg->stats_token, TOKEN);
		CHECK_EQ_INT(cfg->stats_token_len, strlen(TOKEN));
		CHECK_EQ_INT(cfg->stats_token_world_readable, 0);
		CHECK_EQ_INT(cfg->stats_token_file_line, 4);
		cfg_free(cfg);
	}
	/* world-readable: loaded, with the warning flag */
	CHECK_EQ_INT(chmod(tok_path, 0644), 0);
	cfg = load_with_token(tok_path, err, sizeof(err));
	CHECK(cfg != NULL);
	if (cfg) {
		CHECK_EQ_INT(cfg->stats_token_world_readable, 1);
		cfg_free(cfg);
	}
	unlink(tok_path);
}

TEST(statsauth_cfg_token_file_errors)
{
	struct config *cfg;
	char err[512];

	/* missing */
	cfg = load_with_token("/nonexistent/certspoa-token", err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK(strstr(err, ":4: token_file: /nonexistent/certspoa-token: No such file") != NULL);
	cfg_free(cfg);
	/* empty, whitespace only, too short, two tokens */
	static const char *const bad[] = { "", "\n  \n", "short\n", TOKEN " " TOKEN "\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ_INT(write_file(tok_path, sizeof(tok_path), bad[i], 0600), 0);
		cfg = load_with_token(tok_path, err, sizeof(err));
		CHECK(cfg == NULL);
		CHECK(strstr(err, ":4: token_file: ") != NULL);
		cfg_free(cfg);
		unlink(tok_path);
	}
	/* a directory */
	cfg = load_with_token("/tmp", err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK(strstr(err, "token_file") != NULL);
	cfg_free(cfg);
	/* unreadable (skipped as root, who reads anything) */
	if (geteuid() != 0) {
		CHECK_EQ_INT(write_file(tok_path, sizeof(tok_path), TOKEN, 0000), 0);
		cfg = load_with_token(tok_path, err, sizeof(err));
		CHECK(cfg == NULL);
		CHECK(strstr(err, "Permission denied") != NULL);
		cfg_free(cfg);
		unlink(tok_path);
	}
}

/* ---- the HTTP server with the rule, over TCP ---- */

struct route_ctx {
	const char *token;
	int calls;
};

static void route(void *arg, const struct httpd_request *rq, struct httpd_response *r)
{
	struct route_ctx *ctx = arg;

	if (!httpd_authorize(rq, ctx->token, ctx->token ? strlen(ctx->token) : 0, r))
		return;
	ctx->calls++;
	sbuf_printf(&r->body, "page %s subject=CN=secret\n", rq->path);
}

/* Send len bytes of req to the server on port, run its loop, return the
 * whole answer. */
static int exchange_n(struct ev_loop *loop, int port, const char *req, size_t len, char *out,
                      size_t outlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	size_t got = 0;
	int fd, rounds;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	for (rounds = 0; rounds < 200; rounds++) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		ev_run(loop, EVRUN_NOWAIT);
		if (poll(&p, 1, 10) == 1 && (p.revents & POLLOUT))
			break;
	}
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	for (rounds = 0; rounds < 400 && got < outlen - 1; rounds++) {
		ssize_t n;

		ev_run(loop, EVRUN_NOWAIT);
		n = recv(fd, out + got, outlen - 1 - got, 0);
		if (n == 0)
			break;
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR)
			break;
		poll(NULL, 0, 5);
	}
	out[got] = 0;
	close(fd);
	return (int)got;
}

static int exchange(struct ev_loop *loop, int port, const char *req, char *out, size_t outlen)
{
	return exchange_n(loop, port, req, strlen(req), out, outlen);
}

static int bound_port(const struct httpd *h)
{
	const char *colon = strrchr(h->l.bound, ':');

	return colon ? (int)strtol(colon + 1, NULL, 10) : -1;
}

TEST(statsauth_httpd_remote_listener)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct route_ctx ctx = { .token = TOKEN };
	struct httpd h;
	char err[256], out[4096];
	int port;

	CHECK(loop != NULL);
	if (!loop)
		return;
	CHECK_EQ_INT(httpd_open(&h, loop, "127.0.0.1:0", route, &ctx, err, sizeof(err)), 0);
	CHECK_EQ_INT(h.local, 1);        /* 127.0.0.1 is loopback */
	h.local = 0;                     /* as if bound to 0.0.0.0 */
	port = bound_port(&h);

	/* public */
	exchange(loop, port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
	exchange(loop, port, "GET /healthz?x=1 HTTP/1.0\r\n\r\n", out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
	CHECK_EQ_INT(ctx.calls, 2);

	/* no token: 401 with WWW-Authenticate, nothing of the page */
	exchange(loop, port, "GET /stats.json HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 401 Unauthorized\r\n", 27) == 0);
	CHECK(strstr(out, "\r\nWWW-Authenticate: Bearer realm=\"certspoa stats\"\r\n") != NULL);
	CHECK(strstr(out, "secret") == NULL);
	/* wrong token, wrong scheme, the token in another header */
	exchange(loop, port, "GET / HTTP/1.1\r\nAuthorization: Bearer nope-nope-nope-nope\r\n\r\n",
	         out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 401 ", 13) == 0);
	exchange(loop, port, "GET / HTTP/1.1\r\nAuthorization: Basic " TOKEN "\r\n\r\n", out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 401 ", 13) == 0);
	exchange(loop, port, "GET / HTTP/1.1\r\nX-Authorization: Bearer " TOKEN "\r\n\r\n", out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 401 ", 13) == 0);
	/* two Authorization headers */
	exchange(loop, port, "GET / HTTP/1.1\r\nAuthorization: Bearer " TOKEN "\r\n"
	         "Authorization: Bearer " TOKEN "\r\n\r\n", out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 401 ", 13) == 0);
	/* the right header after the head's end is not a header */
	exchange(loop, port, "GET / HTTP/1.1\r\nHost: x\r\n\r\nAuthorization: Bearer " TOKEN "\r\n\r\n",
	         out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 401 ", 13) == 0);
	/* a NUL in a header line: bad request, not a page */
	static const char nul_req[] = "GET / HTTP/1.1\r\nX: a\0b\r\nAuthorization: Bearer " TOKEN "\r\n\r\n";
	exchange_n(loop, port, nul_req, sizeof(nul_req) - 1, out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
	CHECK_EQ_INT(ctx.calls, 2);

	/* the token: served; header name case-insensitive, LF-only lines */
	exchange(loop, port, "GET /stats.json HTTP/1.1\r\nHost: x\r\nauthorization:Bearer " TOKEN "\r\n\r\n",
	         out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
	CHECK(strstr(out, "page /stats.json") != NULL);
	exchange(loop, port, "GET / HTTP/1.1\nAUTHORIZATION:  bearer " TOKEN "  \n\n", out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
	CHECK_EQ_INT(ctx.calls, 4);

	/* no token_file: 403 with the explanation */
	ctx.token = NULL;
	exchange(loop, port, "GET / HTTP/1.1\r\nAuthorization: Bearer " TOKEN "\r\n\r\n", out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 403 Forbidden\r\n", 24) == 0);
	CHECK(strstr(out, "set token_file") != NULL);
	CHECK(strstr(out, "WWW-Authenticate") == NULL);
	exchange(loop, port, "GET /readyz HTTP/1.1\r\n\r\n", out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
	CHECK_EQ_INT(ctx.calls, 5);

	/* a loopback listener: everything, no token needed */
	h.local = 1;
	exchange(loop, port, "GET /stats.json HTTP/1.1\r\n\r\n", out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
	CHECK_EQ_INT(ctx.calls, 6);

	httpd_close(&h);
	ev_loop_destroy(loop);
}

TEST(statsauth_httpd_wildcard_is_not_local)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct route_ctx ctx = { .token = TOKEN };
	struct httpd h;
	char err[256], path[108];

	CHECK(loop != NULL);
	if (!loop)
		return;
	if (httpd_open(&h, loop, "0.0.0.0:0", route, &ctx, err, sizeof(err)) == 0) {
		CHECK_EQ_INT(h.local, 0);
		httpd_close(&h);
	} else {
		unit_fail(__FILE__, __LINE__, "cannot bind 0.0.0.0:0: %s", err);
	}
	snprintf(path, sizeof(path), "unix:/tmp/certspoa-statsauth-%d.sock", (int)getpid());
	if (httpd_open(&h, loop, path, route, &ctx, err, sizeof(err)) == 0) {
		CHECK_EQ_INT(h.local, 1);
		httpd_close(&h);
	} else {
		unit_fail(__FILE__, __LINE__, "cannot bind %s: %s", path, err);
	}
	ev_loop_destroy(loop);
}
