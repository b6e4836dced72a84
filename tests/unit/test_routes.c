/* Route selection that cannot be walked around (issue 10 finding #3):
 * path and Host normalization (uri.c), the checks made before a route is
 * chosen (rules_route), and what the handler hands back to HAProxy (the
 * path variable, the host_count argument). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "handler.h"
#include "rules.h"
#include "spop.h"
#include "testcfg.h"
#include "testhelp.h"
#include "uri.h"

/* ---- uri_path_norm ---- */

/* Normalize s; returns the error and puts the result (NUL-terminated) in
 * out. Checks that nothing is written past cap. */
static enum uri_err norm(const char *s, size_t len, char *out, size_t cap)
{
	static char buf[URI_PATH_MAX + 64];
	enum uri_err e;
	size_t n = 0;

	if (cap > URI_PATH_MAX)
		cap = URI_PATH_MAX;
	memset(buf, 0x5a, cap + 64);
	e = uri_path_norm(s, len, buf, cap, &n);
	for (size_t i = cap; i < cap + 64; i++)
		if (buf[i] != 0x5a) {
			unit_fail(__FILE__, __LINE__, "uri_path_norm wrote past its buffer (byte %zu)", i);
			break;
		}
	if (e == URI_OK) {
		if (n == 0 || n > len || n > cap)
			unit_fail(__FILE__, __LINE__, "bad output length %zu for input %zu", n, len);
		if (out) {
			memcpy(out, buf, n < 255 ? n : 255);
			out[n < 255 ? n : 255] = 0;
		}
	} else if (out) {
		out[0] = 0;
	}
	return e;
}

static void expect_norm(const char *in, const char *want, int line)
{
	char out[256];
	enum uri_err e = norm(in, strlen(in), out, URI_PATH_MAX);

	if (e != URI_OK)
		unit_fail(__FILE__, line, "'%s': refused (%s), expected '%s'", in, uri_err_str[e], want);
	else if (strcmp(out, want) != 0)
		unit_fail(__FILE__, line, "'%s' -> '%s', expected '%s'", in, out, want);
}

static void expect_refused(const char *in, size_t len, enum uri_err want, int line)
{
	enum uri_err e = norm(in, len, NULL, URI_PATH_MAX);

	if (e != want)
		unit_fail(__FILE__, line, "'%.*s': got %s, expected %s", (int)len, in,
		          uri_err_str[e], uri_err_str[want]);
}

#define NORM(in, want) expect_norm(in, want, __LINE__)
#define REFUSED(in, want) expect_refused(in, strlen(in), want, __LINE__)

TEST(uri_normal_paths_unchanged)
{
	NORM("/", "/");
	NORM("/admin", "/admin");
	NORM("/admin/", "/admin/");
	NORM("/a/b/c.txt", "/a/b/c.txt");
	NORM("/a-b_c~d/e.f", "/a-b_c~d/e.f");
	NORM("/caf%C3%A9", "/caf%C3%A9");
	NORM("/a%20b", "/a%20b");
	NORM("/..a/a../.../b..c", "/..a/a../.../b..c");
	NORM("/x:y@z!$&'()*+,=", "/x:y@z!$&'()*+,=");
}

TEST(uri_sidesteps_normalize_to_the_route)
{
	/* each of these reaches /admin on a typical server */
	NORM("//admin", "/admin");
	NORM("///admin//users", "/admin/users");
	NORM("/./admin", "/admin");
	NORM("/x/../admin", "/admin");
	NORM("/../admin", "/admin");
	NORM("/../../../admin/./", "/admin/");
	NORM("/%61dmin", "/admin");
	NORM("/%61%64%6D%69%6e", "/admin");
	NORM("/%2e%2e/admin", "/admin");
	NORM("/.%2E/admin", "/admin");
	NORM("/%2e/admin", "/admin");
	NORM("/x/%2e%2e/admin", "/admin");
	NORM("/%7e%2D%5f", "/~-_");
	/* case is kept (prefixes compare case-insensitively) */
	NORM("/ADMIN", "/ADMIN");
	/* escapes that stay escaped get uppercase hex */
	NORM("/caf%c3%a9", "/caf%C3%A9");
	NORM("/a%3bb", "/a%3Bb");
	NORM("/a%3fb", "/a%3Fb");
	/* dot segments at the end leave a trailing slash (RFC 3986 5.2.4) */
	NORM("/admin/.", "/admin/");
	NORM("/admin/x/..", "/admin/");
	NORM("/admin/..", "/");
	NORM("/..", "/");
	NORM("/.", "/");
	NORM("//", "/");
	NORM("/a/b/../../..", "/");
}

TEST(uri_ambiguous_paths_refused)
{
	REFUSED("/%2Fadmin", URI_ERR_ENC_SLASH);
	REFUSED("/%2fadmin", URI_ERR_ENC_SLASH);
	REFUSED("/admin%2F", URI_ERR_ENC_SLASH);
	REFUSED("/%5Cadmin", URI_ERR_ENC_BACKSLASH);
	REFUSED("/%5cadmin", URI_ERR_ENC_BACKSLASH);
	REFUSED("/a\\b", URI_ERR_BACKSLASH);
	REFUSED("/\\admin", URI_ERR_BACKSLASH);
	REFUSED("/;/admin", URI_ERR_SEMICOLON);
	REFUSED("/admin;jsessionid=1", URI_ERR_SEMICOLON);
	REFUSED("/admin%00", URI_ERR_ENC_NUL);
	/* decoded twice by the application: %252F -> %2F -> / */
	REFUSED("/%252Fadmin", URI_ERR_ENC_PERCENT);
	REFUSED("/%252e%252e/admin", URI_ERR_ENC_PERCENT);
	/* overlong UTF-8 for '/' and '.', and bytes that start no sequence */
	REFUSED("/%C0%AFadmin", URI_ERR_ENC_UTF8);
	REFUSED("/%c1%9c", URI_ERR_ENC_UTF8);
	REFUSED("/%E0%80%AFadmin", URI_ERR_ENC_UTF8);
	REFUSED("/%F0%80%80%AFadmin", URI_ERR_ENC_UTF8);
	REFUSED("/%F5%80", URI_ERR_ENC_UTF8);
	REFUSED("/%FF", URI_ERR_ENC_UTF8);
	/* a literal percent sign and valid UTF-8 stay */
	NORM("/100%25", "/100%25");
	NORM("/%25zz", "/%25zz");
	NORM("/caf%c3%a9", "/caf%C3%A9");
	NORM("/%E0%A4%85", "/%E0%A4%85");
	NORM("/%F0%9F%98%80", "/%F0%9F%98%80");
	REFUSED("/admin#x", URI_ERR_FRAGMENT);
	REFUSED("/a%", URI_ERR_PERCENT);
	REFUSED("/a%4", URI_ERR_PERCENT);
	REFUSED("/a%zz", URI_ERR_PERCENT);
	REFUSED("/a%4g", URI_ERR_PERCENT);
	REFUSED("/a%%41", URI_ERR_PERCENT);
	REFUSED("/a b", URI_ERR_BYTE);
	REFUSED("/a\tb", URI_ERR_BYTE);
	REFUSED("/a\r\nb", URI_ERR_BYTE);
	REFUSED("/a\x7f", URI_ERR_BYTE);
	REFUSED("/caf\xc3\xa9", URI_ERR_BYTE);
	expect_refused("/ad\0min", 7, URI_ERR_BYTE, __LINE__);
	REFUSED("admin", URI_ERR_NOT_ORIGIN);
	REFUSED("*", URI_ERR_NOT_ORIGIN);
	REFUSED("https://a.example/admin", URI_ERR_NOT_ORIGIN);
	REFUSED("", URI_ERR_NOT_ORIGIN);
	CHECK_EQ_INT(uri_path_norm(NULL, 0, NULL, 0, NULL), URI_ERR_NOT_ORIGIN);
}

TEST(uri_bounds)
{
	static char big[URI_PATH_MAX + 2], out[256];
	size_t n;

	/* a 64 KiB path: normalized in place of itself, nothing past cap */
	big[0] = '/';
	memset(big + 1, 'a', URI_PATH_MAX - 1);
	CHECK_EQ_INT(norm(big, URI_PATH_MAX, NULL, URI_PATH_MAX), URI_OK);
	/* one byte more than the buffer: refused, not cut */
	big[URI_PATH_MAX] = 'a';
	CHECK_EQ_INT(norm(big, URI_PATH_MAX + 1, NULL, URI_PATH_MAX), URI_ERR_TOO_LONG);
	CHECK_EQ_INT(norm("/admin", 6, NULL, 5), URI_ERR_TOO_LONG);
	CHECK_EQ_INT(norm("/admin", 6, out, 6), URI_OK);
	CHECK_EQ_STR(out, "/admin");

	/* 64 KiB of slashes, of "/..", of "/./", of "/a/.." */
	memset(big, '/', URI_PATH_MAX);
	CHECK_EQ_INT(norm(big, URI_PATH_MAX, out, URI_PATH_MAX), URI_OK);
	CHECK_EQ_STR(out, "/");
	n = 0;
	while (n + 3 <= URI_PATH_MAX - 6) {
		memcpy(big + n, "/..", 3);
		n += 3;
	}
	memcpy(big + n, "/admin", 6);
	CHECK_EQ_INT(norm(big, n + 6, out, URI_PATH_MAX), URI_OK);
	CHECK_EQ_STR(out, "/admin");
	for (n = 0; n + 2 <= URI_PATH_MAX; n += 2)
		memcpy(big + n, "/.", 2);
	CHECK_EQ_INT(norm(big, n, out, URI_PATH_MAX), URI_OK);
	CHECK_EQ_STR(out, "/");
	for (n = 0; n + 5 <= URI_PATH_MAX; n += 5)
		memcpy(big + n, "/a/..", 5);
	CHECK_EQ_INT(norm(big, n, out, URI_PATH_MAX), URI_OK);
	CHECK_EQ_STR(out, "/");
	/* escapes all the way: every one decoded */
	big[0] = '/';
	for (n = 1; n + 3 <= URI_PATH_MAX; n += 3)
		memcpy(big + n, "%61", 3);
	CHECK_EQ_INT(norm(big, n, NULL, URI_PATH_MAX), URI_OK);
}

/* Random paths over the interesting characters: never crash, never grow,
 * and a normalized path normalizes to itself. */
TEST(uri_normalization_is_idempotent)
{
	static const char alphabet[] = "/./..%2e%2E%61%2f%5c%3b%c3a.b;\\#%%zA~ \x01\xff";
	char in[64], once[128], twice[128];
	unsigned int seed = 12345;

	for (int round = 0; round < 20000; round++) {
		size_t len = 1 + (seed >> 8) % 40;
		size_t n1 = 0, n2 = 0;

		in[0] = '/';
		for (size_t i = 1; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		seed = seed * 1103515245u + 12345u;
		if (uri_path_norm(in, len, once, sizeof(once), &n1) != URI_OK)
			continue;
		if (n1 > len || n1 == 0 || once[0] != '/') {
			unit_fail(__FILE__, __LINE__, "'%.*s' -> %zu bytes", (int)len, in, n1);
			return;
		}
		if (uri_path_norm(once, n1, twice, sizeof(twice), &n2) != URI_OK ||
		    n2 != n1 || memcmp(once, twice, n1) != 0) {
			unit_fail(__FILE__, __LINE__, "'%.*s' -> '%.*s' is not stable", (int)len, in,
			          (int)n1, once);
			return;
		}
	}
}

/* ---- uri_host_name ---- */

static void expect_host(const char *h, const char *want, int line)
{
	const char *name = NULL;
	size_t n = 0;
	int r = uri_host_name(h, strlen(h), &name, &n);

	if (want && (r != 0 || n != strlen(want) || memcmp(name, want, n) != 0))
		unit_fail(__FILE__, line, "host '%s': got %d '%.*s', expected '%s'", h, r,
		          r == 0 ? (int)n : 0, r == 0 ? name : "", want);
	if (!want && r != -1)
		unit_fail(__FILE__, line, "host '%s': accepted as '%.*s', expected refused", h, (int)n, name);
}

#define HOST(h, want) expect_host(h, want, __LINE__)

/* len bytes (may hold a NUL) that must be refused */
static void expect_host_len(const char *h, size_t len, int line)
{
	const char *name = NULL;
	size_t n = 0;

	if (uri_host_name(h, len, &name, &n) != -1)
		unit_fail(__FILE__, line, "host of %zu bytes with a NUL accepted as '%.*s'", len, (int)n, name);
}

TEST(uri_host_names)
{
	char label64[80], long_name[300];

	HOST("admin.example.com", "admin.example.com");
	HOST("Admin.Example.COM", "Admin.Example.COM");
	HOST("admin.example.com.", "admin.example.com");
	HOST("admin.example.com:8443", "admin.example.com");
	HOST("admin.example.com.:443", "admin.example.com");
	HOST("admin.example.com:", "admin.example.com");
	HOST("localhost", "localhost");
	HOST("my_host-1", "my_host-1");
	HOST("127.0.0.1:80", "127.0.0.1");
	HOST("[::1]", "[::1]");
	HOST("[::1]:443", "[::1]");
	HOST("[2001:db8::1]:8443", "[2001:db8::1]");

	HOST("", NULL);
	HOST("admin.example.com, public.example.com", NULL);
	HOST("admin.example.com,public.example.com", NULL);
	HOST("admin.example.com public.example.com", NULL);
	HOST(" admin.example.com", NULL);
	HOST("admin.example.com\t", NULL);
	HOST("admin.example.com:x", NULL);
	HOST("admin.example.com:99999", NULL);
	HOST("admin.example.com:443:1", NULL);
	HOST("admin..example.com", NULL);
	HOST(".admin.example.com", NULL);
	HOST("admin.example.com..", NULL);
	HOST(".", NULL);
	HOST("user@admin.example.com", NULL);
	HOST("admin.example.com/x", NULL);
	HOST("admin.example.com\\x", NULL);
	HOST("adm\xc3\xadn.example.com", NULL);
	HOST("[::1", NULL);
	HOST("[zz::1]", NULL);
	HOST("[]", NULL);
	HOST("[::1]x", NULL);
	HOST("[::1]:99999", NULL);
	HOST("::1", NULL);
	/* found by fuzz_uri: inet_pton stops at a NUL, the check must not */
	expect_host_len("[2001:db8::\0 x]:443", 19, __LINE__);
	HOST("[::1 ]", NULL);
	HOST("[fe80::1%eth0]", NULL);
	memset(label64, 'a', 64);
	memcpy(label64 + 64, ".example.com", 13);
	HOST(label64, NULL);
	memcpy(label64 + 63, ".example.com", 13);     /* a 63-character label */
	HOST(label64, label64);
	for (int i = 0; i < 300; i += 2)
		memcpy(long_name + i, "a.", 2);
	long_name[253] = 0;           /* 253 characters: the longest name */
	HOST(long_name, long_name);
	long_name[253] = 'a';
	long_name[254] = 0;
	HOST(long_name, NULL);
	CHECK_EQ_INT(uri_name_len("a.example.", 10), 9);
	CHECK_EQ_INT(uri_name_len(".", 1), 1);
	CHECK(uri_name_eq("Admin.Example.com", 17, "admin.example.COM", 17));
	CHECK(!uri_name_eq("admin.example.com", 17, "admin.example.co", 16));
}

TEST(uri_prefix_nocase)
{
	CHECK(uri_prefix_nocase("/ADMIN/x", 8, "/admin", 6));
	CHECK(uri_prefix_nocase("/Admin", 6, "/admin", 6));
	CHECK(!uri_prefix_nocase("/adm", 4, "/admin", 6));
	CHECK(!uri_prefix_nocase("/public", 7, "/admin", 6));
	CHECK(uri_prefix_nocase("/caf%C3%A9", 10, "/caf%c3%a9", 10));
}

/* ---- rules_route ---- */

static struct config *load(const char *text)
{
	char err[1024];
	struct config *cfg = test_cfg_text(text, err, sizeof(err));

	if (!cfg)
		fprintf(stderr, "  config error: %s\n", err);
	return cfg;
}

/* Policies: default allows anyone; strict requires a certificate. */
#define POLICIES "[policy default]\nrequire_cert = no\ndeny_status = 401\n" \
                 "[policy strict]\nrequire_cert = yes\n"

static const char CFG_PATH[] =
	"[route admin]\npath_prefix = /admin\npolicy = strict\n" POLICIES;
static const char CFG_HOST[] =
	"[route admin]\nhost = admin.example.com\npolicy = strict\n" POLICIES;
static const char CFG_SNI[] =
	"[route admin]\nsni = admin.example.com\npolicy = strict\n" POLICIES;
static const char CFG_FRONTEND[] =
	"[route admin]\nfrontend = admin\npolicy = strict\n" POLICIES;

struct req {
	const char *path, *host, *sni;
	int has_count;                /* host_count sent (CNT(n)) */
	int64_t host_count;
};

struct routed {
	int rc;
	const char *route;
	const struct policy *pol;
	struct decision d;
	struct req_facts rq;
	char path[256];               /* rq.route_path, NUL-terminated */
	char trace[TRACE_MAX + 1];
};

static void route_req(const struct config *cfg, const struct req *r, struct routed *o)
{
	static char buf[URI_PATH_MAX];
	struct trace t = { .on = 1 };

	memset(o, 0, sizeof(*o));
	if (r->path) {
		o->rq.has_path = 1;
		o->rq.path = (struct spop_str){ r->path, strlen(r->path) };
	}
	if (r->host) {
		o->rq.has_host = 1;
		o->rq.host = (struct spop_str){ r->host, strlen(r->host) };
	}
	if (r->sni) {
		o->rq.has_sni = 1;
		o->rq.sni = (struct spop_str){ r->sni, strlen(r->sni) };
	}
	if (r->has_count) {
		o->rq.has_host_count = 1;
		o->rq.host_count = r->host_count;
	}
	o->rc = rules_route(cfg, &o->rq, buf, sizeof(buf), &t, &o->d, &o->pol, &o->route);
	if (o->rq.has_route_path)
		snprintf(o->path, sizeof(o->path), "%.*s", (int)o->rq.route_path.len, o->rq.route_path.ptr);
	snprintf(o->trace, sizeof(o->trace), "%s", t.buf);
}

/* The route chosen, or "code/rule" when refused before routing. */
static const char *outcome(const struct routed *o, char *buf, size_t len)
{
	if (o->rc == 0)
		snprintf(buf, len, "%s", o->route ? o->route : "(null)");
	else
		snprintf(buf, len, "%s/%s", dec_table[o->d.code].code, o->d.rule ? o->d.rule : "-");
	return buf;
}

static void expect_route(const struct config *cfg, struct req r, const char *want, int line)
{
	struct routed o;
	char got[128];

	if (!cfg) {
		unit_fail(__FILE__, line, "no config");
		return;
	}
	route_req(cfg, &r, &o);
	outcome(&o, got, sizeof(got));
	if (strcmp(got, want) != 0)
		unit_fail(__FILE__, line, "path '%s' host '%s' sni '%s' count %lld: got %s, expected %s (trace: %s)",
		          r.path ? r.path : "-", r.host ? r.host : "-", r.sni ? r.sni : "-",
		          r.has_count ? (long long)r.host_count : -1LL, got, want, o.trace);
	if (o.rc < 0 && (o.pol || strcmp(o.route, ROUTE_NONE) != 0))
		unit_fail(__FILE__, line, "refused, but route %s / policy set", o.route);
}

#define ROUTE(cfg, want, ...) expect_route(cfg, (struct req){ __VA_ARGS__ }, want, __LINE__)
#define CNT(n) .has_count = 1, .host_count = (n)

TEST(routes_path_sidesteps_reach_the_admin_route)
{
	struct config *cfg = load(CFG_PATH);
	struct routed o;

	CHECK(cfg != NULL);
	ROUTE(cfg, "admin", .path = "/admin");
	ROUTE(cfg, "admin", .path = "/admin/users");
	ROUTE(cfg, "admin", .path = "/ADMIN");
	ROUTE(cfg, "admin", .path = "/Admin/x");
	ROUTE(cfg, "admin", .path = "//admin");
	ROUTE(cfg, "admin", .path = "/./admin");
	ROUTE(cfg, "admin", .path = "/x/../admin");
	ROUTE(cfg, "admin", .path = "/%61dmin");
	ROUTE(cfg, "admin", .path = "/%2e%2e/admin");
	ROUTE(cfg, "admin", .path = "/public/../admin/");
	ROUTE(cfg, "default", .path = "/public");
	ROUTE(cfg, "default", .path = "/");
	ROUTE(cfg, "default", .path = "/admin/../public");

	/* the normalized path is what routes compared, and it is flagged
	 * for the handler to hand back only when it changed */
	if (cfg) {
		route_req(cfg, &(struct req){ .path = "//%61dmin/./x" }, &o);
		CHECK_EQ_STR(o.route, "admin");
		CHECK_EQ_STR(o.path, "/admin/x");
		CHECK(o.rq.path_changed);
		CHECK(strstr(o.trace, "path=normalized(/admin/x)") != NULL);
		route_req(cfg, &(struct req){ .path = "/admin/x" }, &o);
		CHECK_EQ_STR(o.path, "/admin/x");
		CHECK(!o.rq.path_changed);
		route_req(cfg, &(struct req){ .path = "/ADMIN" }, &o);
		CHECK(!o.rq.path_changed);      /* case is not changed, only compared without it */
	}
	cfg_free(cfg);
}

TEST(routes_ambiguous_path_refused_when_a_route_uses_the_path)
{
	struct config *cfg = load(CFG_PATH);
	struct routed o;

	CHECK(cfg != NULL);
	ROUTE(cfg, "bad_request/path_ambiguous", .path = "/%2Fadmin");
	ROUTE(cfg, "bad_request/path_ambiguous", .path = "/%2fadmin");
	ROUTE(cfg, "bad_request/path_ambiguous", .path = "/;/admin");
	ROUTE(cfg, "bad_request/path_ambiguous", .path = "/admin;x=1");
	ROUTE(cfg, "bad_request/path_ambiguous", .path = "/a\\b");
	ROUTE(cfg, "bad_request/path_ambiguous", .path = "/%5cadmin");
	ROUTE(cfg, "bad_request/path_ambiguous", .path = "/admin%00");
	ROUTE(cfg, "bad_request/path_ambiguous", .path = "/admin%zz");
	ROUTE(cfg, "bad_request/path_ambiguous", .path = "/admin#x");
	ROUTE(cfg, "bad_request/path_ambiguous", .path = "/adm\x01in");
	ROUTE(cfg, "bad_request/path_ambiguous", .path = "*");
	ROUTE(cfg, "bad_request/path_ambiguous", .path = "admin");
	ROUTE(cfg, "bad_request/path_ambiguous", .path = "");
	ROUTE(cfg, "bad_request/path_ambiguous", .host = "a.example");   /* no path sent */
	if (cfg) {
		route_req(cfg, &(struct req){ .path = "/%2Fadmin" }, &o);
		CHECK_EQ_STR(o.d.detail, "an encoded '/' (%2F) in the path");
		CHECK_EQ_INT(o.d.status, 401);             /* the default policy's deny_status */
		CHECK_EQ_STR(dec_table[o.d.code].reason, dec_table[DEC_BAD_REQUEST].reason);
		CHECK(!o.rq.path_changed);
	}
	cfg_free(cfg);
}

TEST(routes_path_not_checked_when_no_route_uses_it)
{
	const char *cfgs[] = { CFG_HOST, CFG_SNI, CFG_FRONTEND, POLICIES };

	for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
		struct config *cfg = load(cfgs[i]);
		struct routed o;

		CHECK(cfg != NULL);
		if (!cfg)
			continue;
		ROUTE(cfg, "default", .path = "/%2Fadmin", .host = "www.example.com", .sni = "www.example.com");
		ROUTE(cfg, "default", .path = "/;/admin", .host = "www.example.com", .sni = "www.example.com");
		ROUTE(cfg, "default", .path = "/a\\b", .host = "www.example.com", .sni = "www.example.com");
		ROUTE(cfg, "default", .host = "www.example.com", .sni = "www.example.com");
		route_req(cfg, &(struct req){ .path = "//admin", .host = "www.example.com" }, &o);
		CHECK(!o.rq.has_route_path);
		CHECK(!o.rq.path_changed);               /* nothing handed back */
		cfg_free(cfg);
	}
}

TEST(routes_host_forms)
{
	struct config *cfg = load(CFG_HOST);

	CHECK(cfg != NULL);
	ROUTE(cfg, "admin", .path = "/", .host = "admin.example.com", CNT(1));
	ROUTE(cfg, "admin", .path = "/", .host = "admin.example.com.", CNT(1));
	ROUTE(cfg, "admin", .path = "/", .host = "ADMIN.Example.Com", CNT(1));
	ROUTE(cfg, "admin", .path = "/", .host = "admin.example.com:8443", CNT(1));
	ROUTE(cfg, "admin", .path = "/", .host = "Admin.Example.com.:443", CNT(1));
	ROUTE(cfg, "default", .path = "/", .host = "public.example.com", CNT(1));
	ROUTE(cfg, "default", .path = "/", .host = "[::1]:443", CNT(1));
	/* an old SPOE config without host_count: one value still routes */
	ROUTE(cfg, "admin", .path = "/", .host = "admin.example.com");

	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/");
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/", CNT(0));
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/", .host = "admin.example.com", CNT(2));
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/", .host = "public.example.com", CNT(2));
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/", .host = "admin.example.com", CNT(0));
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/", .host = "public.example.com, admin.example.com",
	      CNT(1));
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/", .host = "admin.example.com,public.example.com");
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/", .host = "admin.example.com public", CNT(1));
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/", .host = "", CNT(1));
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/", .host = "admin.example.com:x", CNT(1));
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/", .host = "admin..example.com", CNT(1));
	cfg_free(cfg);
}

TEST(routes_host_not_checked_when_nothing_uses_it)
{
	struct config *cfg = load(CFG_PATH);

	CHECK(cfg != NULL);
	ROUTE(cfg, "admin", .path = "/admin");
	ROUTE(cfg, "admin", .path = "/admin", .host = "a, b", CNT(2));
	ROUTE(cfg, "default", .path = "/x", .host = "", CNT(3));
	cfg_free(cfg);

	/* sni_host_match in any policy makes the Host matter */
	cfg = load("[route admin]\npath_prefix = /admin\npolicy = strict\n"
	           "[policy default]\nrequire_cert = no\n"
	           "[policy strict]\nrequire_cert = yes\nsni_host_match = yes\n");
	CHECK(cfg != NULL);
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/x");
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/x", .host = "a.example", CNT(2));
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/x", .host = "a.example, b.example");
	ROUTE(cfg, "default", .path = "/x", .host = "a.example", CNT(1));
	cfg_free(cfg);
}

TEST(routes_sni_host_mismatch_before_routing)
{
	struct config *cfg = load(CFG_HOST);
	struct routed o;

	CHECK(cfg != NULL);
	/* the finding: SNI public + Host admin used to route to default */
	ROUTE(cfg, "sni_host_mismatch/sni_host", .path = "/", .host = "admin.example.com",
	      .sni = "public.example.com", CNT(1));
	ROUTE(cfg, "sni_host_mismatch/sni_host", .path = "/", .host = "public.example.com",
	      .sni = "admin.example.com", CNT(1));
	ROUTE(cfg, "admin", .path = "/", .host = "ADMIN.example.com.:443", .sni = "admin.example.com.",
	      CNT(1));
	ROUTE(cfg, "default", .path = "/", .host = "public.example.com", .sni = "Public.Example.com",
	      CNT(1));
	/* Host without SNI (an IP address URL): nothing to compare */
	ROUTE(cfg, "admin", .path = "/", .host = "admin.example.com", CNT(1));
	if (cfg) {
		route_req(cfg, &(struct req){ .path = "/", .host = "admin.example.com",
		                             .sni = "public.example.com", CNT(1) }, &o);
		CHECK(strstr(o.trace, "sni_host(routes)=fail(public.example.com!=admin.example.com)") != NULL);
		CHECK_EQ_INT(o.d.status, 401);
	}
	cfg_free(cfg);

	/* routes on SNI: the Host must name the same host when present */
	cfg = load(CFG_SNI);
	CHECK(cfg != NULL);
	ROUTE(cfg, "sni_host_mismatch/sni_host", .path = "/", .host = "admin.example.com",
	      .sni = "public.example.com", CNT(1));
	ROUTE(cfg, "sni_host_mismatch/sni_host", .path = "/", .host = "public.example.com",
	      .sni = "admin.example.com", CNT(1));
	ROUTE(cfg, "admin", .path = "/", .host = "admin.example.com:443", .sni = "admin.example.com",
	      CNT(1));
	ROUTE(cfg, "admin", .path = "/", .sni = "admin.example.com.");            /* no Host */
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/", .host = "admin.example.com, x.example",
	      .sni = "admin.example.com");
	ROUTE(cfg, "bad_request/host_ambiguous", .path = "/", .host = "admin.example.com",
	      .sni = "admin.example.com", CNT(2));
	cfg_free(cfg);

	/* routes on neither: the policy's sni_host_match decides, not routing */
	cfg = load(CFG_PATH);
	CHECK(cfg != NULL);
	ROUTE(cfg, "default", .path = "/", .host = "admin.example.com", .sni = "public.example.com",
	      CNT(1));
	cfg_free(cfg);
}

TEST(routes_config_prefix_must_be_normalized)
{
	struct config *cfg;

	cfg = load("[route a]\npath_prefix = /admin//x\npolicy = default\n" POLICIES);
	CHECK(cfg == NULL);
	cfg = load("[route a]\npath_prefix = /%61dmin\npolicy = default\n" POLICIES);
	CHECK(cfg == NULL);
	cfg = load("[route a]\npath_prefix = /a;b\npolicy = default\n" POLICIES);
	CHECK(cfg == NULL);
	cfg = load("[route a]\npath_prefix = /caf%c3%a9/\npolicy = strict\n" POLICIES);
	CHECK(cfg != NULL);
	ROUTE(cfg, "a", .path = "/CAF%C3%A9/menu");
	cfg_free(cfg);
	/* a host pattern with a trailing dot matches names without one */
	cfg = load("[route a]\nhost = admin.example.com.\npolicy = strict\n" POLICIES);
	CHECK(cfg != NULL);
	ROUTE(cfg, "a", .path = "/", .host = "admin.example.com", CNT(1));
	ROUTE(cfg, "a", .path = "/", .host = "admin.example.com.", CNT(1));
	cfg_free(cfg);
}

TEST(routes_per_policy_sni_host_match_normalizes)
{
	struct policy p;
	struct req_facts rq;
	struct decision d;

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "p");
	p.deny_status = 403;
	p.sni_host_match = 1;
	memset(&rq, 0, sizeof(rq));
	rq.has_sni = rq.has_host = 1;
	rq.sni = (struct spop_str){ "api.example.com.", 16 };
	rq.host = (struct spop_str){ "API.example.com.:443", 20 };
	rules_decide(&p, &rq, NULL, 0, NULL, &d);
	CHECK_EQ_STR(d.rule, "anonymous");
	rq.host = (struct spop_str){ "api.example.com, x", 18 };
	rules_decide(&p, &rq, NULL, 0, NULL, &d);
	CHECK_EQ_STR(dec_table[d.code].code, "sni_host_mismatch");
	rq.host = (struct spop_str){ "api.example.co", 14 };
	rules_decide(&p, &rq, NULL, 0, NULL, &d);
	CHECK_EQ_STR(dec_table[d.code].code, "sni_host_mismatch");
}

/* ---- the handler: host_count argument, path variable ---- */

struct arg {
	const char *name;
	struct spop_data v;
};

static struct spop_data str(const char *s, size_t len)
{
	struct spop_data d = { .type = SPOP_DATA_STR };

	d.u.str.ptr = s;
	d.u.str.len = len;
	return d;
}

static size_t notify(char *buf, size_t cap, const struct arg *args, int nargs)
{
	char *p = buf, *end = buf + cap;

	if (spop_put_str(&p, end, HANDLER_MESSAGE, strlen(HANDLER_MESSAGE)) < 0 || p >= end)
		return 0;
	*p++ = (char)nargs;
	for (int i = 0; i < nargs; i++)
		if (spop_put_str(&p, end, args[i].name, strlen(args[i].name)) < 0 ||
		    spop_put_data(&p, end, &args[i].v) < 0)
			return 0;
	return (size_t)(p - buf);
}

/* The value of SET-VAR txn.<name> in an ACK frame (length prefix
 * included), or NULL. */
static const struct spop_data *ack_var(const char *ack, size_t len, const char *name,
                                       struct spop_data *out)
{
	struct spop_frame f;
	const char *p, *end;

	if (len < 4 || spop_parse_frame(ack + 4, len - 4, &f) < 0 || f.type != SPOP_FRM_ACK)
		return NULL;
	p = f.payload;
	end = f.payload + f.len;
	while (end - p >= 3) {
		unsigned char type = (unsigned char)p[0];
		struct spop_str n;

		p += 3;
		if (spop_get_str(&p, end, &n) < 0)
			return NULL;
		if (type != SPOP_ACT_SET_VAR)
			continue;
		if (spop_get_data(&p, end, out) < 0)
			return NULL;
		if (n.len == strlen(name) && memcmp(n.ptr, name, n.len) == 0)
			return out;
	}
	return NULL;
}

static int ack_is(const char *ack, size_t len, const char *name, const char *want)
{
	struct spop_data d;

	return ack_var(ack, len, name, &d) && d.type == SPOP_DATA_STR &&
	       d.u.str.len == strlen(want) && memcmp(d.u.str.ptr, want, d.u.str.len) == 0;
}

static size_t run(struct handler_ctx *hc, const struct arg *args, int nargs, size_t max_frame,
                  char *out, size_t cap)
{
	static char payload[80000];
	size_t n = notify(payload, sizeof(payload), args, nargs);
	enum spop_status st = SPOP_ST_NONE;
	char *p = out;

	if (!n || handler_notify(hc, 1, 2, payload, n, 0, &p, out + cap, max_frame, &st, NULL) < 0)
		return 0;
	return (size_t)(p - out);
}

TEST(routes_handler_hands_back_the_normalized_path)
{
	static char out[80000];
	struct config *cfg = load(CFG_PATH);
	struct handler_ctx hc;
	struct spop_data d;
	size_t n;

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK_EQ_INT(handler_init(&hc, cfg, 1), 0);
	{
		struct arg a[] = { { "path", str("//%61dmin/./x", 13) } };

		n = run(&hc, a, 1, 16380, out, sizeof(out));
		CHECK(n > 0);
		CHECK(ack_is(out, n, "route", "admin"));
		CHECK(ack_is(out, n, "path", "/admin/x"));
	}
	{
		/* unchanged: no path variable (HAProxy leaves the request alone) */
		struct arg a[] = { { "path", str("/admin/x", 8) } };

		n = run(&hc, a, 1, 16380, out, sizeof(out));
		CHECK(ack_is(out, n, "route", "admin"));
		CHECK(ack_var(out, n, "path", &d) == NULL);
	}
	{
		struct arg a[] = { { "path", str("/;/admin", 8) } };

		n = run(&hc, a, 1, 16380, out, sizeof(out));
		CHECK(ack_is(out, n, "verdict", "deny"));
		CHECK(ack_is(out, n, "code", "bad_request"));
		CHECK(ack_is(out, n, "rule", "path_ambiguous"));
		CHECK(ack_is(out, n, "route", ROUTE_NONE));
		CHECK(ack_var(out, n, "path", &d) == NULL);
		CHECK(ack_var(out, n, "policy", &d) == NULL);
		CHECK(ack_var(out, n, "status", &d) && d.u.sint == 401);
	}
	{
		/* a normalized path that cannot fit in the ACK is refused, never
		 * allowed with the raw path left in place */
		static char longp[4000];

		longp[0] = '/';
		memset(longp + 1, '/', 10);
		memset(longp + 11, 'p', sizeof(longp) - 11);
		struct arg a[] = { { "path", str(longp, sizeof(longp)) } };

		n = run(&hc, a, 1, 1024, out, sizeof(out));
		CHECK(n > 0 && n <= 1024 + 4);
		CHECK(ack_is(out, n, "verdict", "deny"));
		CHECK(ack_is(out, n, "rule", "path_ambiguous"));
		CHECK(ack_var(out, n, "path", &d) == NULL);
		/* with room, the same request is allowed and rewritten */
		n = run(&hc, a, 1, 16380, out, sizeof(out));
		CHECK(ack_is(out, n, "verdict", "allow"));
		CHECK(ack_var(out, n, "path", &d) && d.u.str.len == sizeof(longp) - 10);
	}
	handler_destroy(&hc);
	cfg_free(cfg);
}

TEST(routes_handler_reads_host_count)
{
	static char out[8192];
	struct config *cfg = load(CFG_HOST);
	struct handler_ctx hc;
	struct spop_data i2 = { .type = SPOP_DATA_INT64 }, i1 = { .type = SPOP_DATA_INT64 };
	size_t n;

	i2.u.sint = 2;
	i1.u.sint = 1;
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK_EQ_INT(handler_init(&hc, cfg, 1), 0);
	{
		struct arg a[] = { { "host", str("admin.example.com", 17) }, { "host_count", i2 },
		                   { "path", str("/", 1) } };

		n = run(&hc, a, 3, 16380, out, sizeof(out));
		CHECK(ack_is(out, n, "rule", "host_ambiguous"));
	}
	{
		struct arg a[] = { { "host", str("admin.example.com", 17) }, { "host_count", i1 },
		                   { "path", str("/", 1) } };

		n = run(&hc, a, 3, 16380, out, sizeof(out));
		CHECK(ack_is(out, n, "route", "admin"));
	}
	{
		/* host_count of the wrong type: a bad request, not "unknown" */
		struct arg a[] = { { "host", str("admin.example.com", 17) }, { "host_count", str("1", 1) },
		                   { "path", str("/", 1) } };

		n = run(&hc, a, 3, 16380, out, sizeof(out));
		CHECK(ack_is(out, n, "code", "bad_request"));
		CHECK(ack_is(out, n, "rule", "request"));
	}
	handler_destroy(&hc);
	cfg_free(cfg);
}
