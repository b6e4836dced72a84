/* The status page's newer parts: the 15-minute decision history (ring of
 * samples, pure with the time passed in), relative expiry, highlighted
 * and hidden rows, the refused reload's text, the /config view (secrets
 * never shown, deterministic text for certspoa_config_info) and the
 * build/config info metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "rules.h"
#include "sbuf.h"
#include "stats.h"
#include "statsauth.h"
#include "testhelp.h"

#define T0 1800000000LL

static struct stats_snapshot *snap(void)
{
	struct stats_snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->now = (double)T0;
	s->v[ST_START_TIME] = (double)(T0 - 3600);
	s->v[ST_LAST_RELOAD_OK] = 1;
	s->v[ST_GENERATION] = 2;
	return s;
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; p && (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* ---- the ring ---- */

TEST(opspage_ring_deltas_by_code)
{
	struct stats_ring r = { 0 };
	struct stats_sample h[STATS_HISTORY_MAX];
	uint64_t c[DEC_CODES] = { 0 };
	int n;

	c[DEC_ALLOW] = 100;                 /* before the agent's first sample */
	stats_ring_push(&r, T0, c);
	CHECK_EQ_INT(r.len, 0);             /* the first push is the base only */
	c[DEC_ALLOW] = 130;
	c[DEC_CERT_MISSING] = 4;
	stats_ring_push(&r, T0 + 10, c);
	c[DEC_ALLOW] = 131;
	c[DEC_CERT_UNTRUSTED] = 7;
	stats_ring_push(&r, T0 + 20, c);
	c[DEC_ALLOW] = 141;                 /* the running interval: 5 s so far */
	n = stats_ring_history(&r, T0 + 25, c, h, STATS_HISTORY_MAX);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(h[0].t, T0 + 10);
	CHECK_EQ_INT(h[0].dt, 10);
	CHECK_EQ_INT(h[0].n[DEC_ALLOW], 30);
	CHECK_EQ_INT(h[0].n[DEC_CERT_MISSING], 4);
	CHECK_EQ_INT(h[0].n[DEC_CERT_UNTRUSTED], 0);
	CHECK_EQ_INT(h[1].n[DEC_ALLOW], 1);
	CHECK_EQ_INT(h[1].n[DEC_CERT_MISSING], 0);
	CHECK_EQ_INT(h[1].n[DEC_CERT_UNTRUSTED], 7);
	CHECK_EQ_INT(h[2].t, T0 + 25);
	CHECK_EQ_INT(h[2].dt, 5);
	CHECK_EQ_INT(h[2].n[DEC_ALLOW], 10);
	/* at the time of the last push: no running interval */
	CHECK_EQ_INT(stats_ring_history(&r, T0 + 20, c, h, STATS_HISTORY_MAX), 2);
	/* max is respected */
	CHECK_EQ_INT(stats_ring_history(&r, T0 + 25, c, h, 1), 1);
}

TEST(opspage_ring_keeps_15_minutes)
{
	struct stats_ring r = { 0 };
	struct stats_sample h[STATS_HISTORY_MAX];
	uint64_t c[DEC_CODES] = { 0 };
	int n;

	stats_ring_push(&r, T0, c);
	for (int i = 1; i <= 200; i++) {
		c[DEC_ALLOW] += (uint64_t)i;
		stats_ring_push(&r, T0 + 10 * i, c);
	}
	CHECK_EQ_INT(r.len, STATS_RING_SLOTS);
	n = stats_ring_history(&r, T0 + 2000, c, h, STATS_HISTORY_MAX);
	CHECK_EQ_INT(n, STATS_RING_SLOTS);
	CHECK_EQ_INT(h[0].t, T0 + 10 * 111);          /* oldest kept, oldest first */
	CHECK_EQ_INT(h[0].n[DEC_ALLOW], 111);
	CHECK_EQ_INT(h[n - 1].t, T0 + 2000);
	CHECK_EQ_INT(h[n - 1].n[DEC_ALLOW], 200);
	for (int i = 1; i < n; i++)
		CHECK(h[i].t > h[i - 1].t);
	/* an hour later, nothing but the running interval is recent */
	n = stats_ring_history(&r, T0 + 2000 + 3600, c, h, STATS_HISTORY_MAX);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(h[0].n[DEC_ALLOW], 0);
}

TEST(opspage_ring_counter_going_down_counts_zero)
{
	struct stats_ring r = { 0 };
	struct stats_sample h[STATS_HISTORY_MAX];
	uint64_t c[DEC_CODES] = { 0 };

	c[DEC_ALLOW] = 50;
	stats_ring_push(&r, T0, c);
	c[DEC_ALLOW] = 20;
	stats_ring_push(&r, T0 + 10, c);
	stats_ring_push(&r, T0 + 10, c);              /* same time: ignored */
	stats_ring_push(&r, T0 + 5, c);               /* earlier: ignored */
	CHECK_EQ_INT(r.len, 1);
	CHECK_EQ_INT(stats_ring_history(&r, T0 + 10, c, h, STATS_HISTORY_MAX), 1);
	CHECK_EQ_INT(h[0].n[DEC_ALLOW], 0);
}

/* ---- relative times ---- */

TEST(opspage_relative_time)
{
	char b[40];
	double now = (double)T0;

	stats_fmt_relative(T0 + 12 * 86400 + 3600, now, b, sizeof(b));
	CHECK_EQ_STR(b, "in 12 d");
	stats_fmt_relative(T0 - 3 * 86400 - 5, now, b, sizeof(b));
	CHECK_EQ_STR(b, "3 d ago");
	stats_fmt_relative(T0 + 5 * 3600 + 59, now, b, sizeof(b));
	CHECK_EQ_STR(b, "in 5 h");
	stats_fmt_relative(T0 + 40 * 60, now, b, sizeof(b));
	CHECK_EQ_STR(b, "in 40 min");
	stats_fmt_relative(T0 - 30, now, b, sizeof(b));
	CHECK_EQ_STR(b, "30 s ago");
	stats_fmt_relative(T0 + 47 * 3600, now, b, sizeof(b));
	CHECK_EQ_STR(b, "in 47 h");
	stats_fmt_relative(T0 + 2 * 86400, now, b, sizeof(b));
	CHECK_EQ_STR(b, "in 2 d");
	stats_fmt_relative(0, now, b, sizeof(b));
	CHECK_EQ_STR(b, "-");
}

/* ---- the page ---- */

static char *html_of(const struct stats_snapshot *s)
{
	struct sbuf b = { 0 };
	char *out;

	stats_render_html(s, &b);
	if (b.failed || !b.p)
		abort();
	out = strdup(b.p);
	sbuf_free(&b);
	return out;
}

TEST(opspage_chart_one_line_per_code_seen)
{
	struct stats_snapshot *s = snap();
	char *p;

	s->nhistory = 2;
	s->history[0].t = T0 - 10;
	s->history[0].dt = 10;
	s->history[0].n[DEC_ALLOW] = 50;
	s->history[0].n[DEC_CERT_MISSING] = 10;
	s->history[1].t = T0;
	s->history[1].dt = 10;
	s->history[1].n[DEC_CERT_UNTRUSTED] = 20;
	p = html_of(s);
	CHECK(strstr(p, "<svg class=\"chart\" id=\"chart\"") != NULL);
	CHECK_EQ_INT(count(p, "<polyline data-code="), 4);       /* all + 3 codes */
	CHECK(strstr(p, "<polyline data-code=\"all\"") != NULL);
	CHECK(strstr(p, "<polyline data-code=\"ok\"") != NULL);
	CHECK(strstr(p, "<polyline data-code=\"cert_missing\"") != NULL);
	CHECK(strstr(p, "<polyline data-code=\"cert_untrusted\"") != NULL);
	CHECK(strstr(p, "<polyline data-code=\"bad_request\"") == NULL);
	/* y axis up to 10/s (60 decisions in 10 s = 6/s, rounded up) */
	CHECK(strstr(p, ">10/s</text>") != NULL);
	CHECK(strstr(p, ">5/s</text>") != NULL);
	/* the newest sample ends at the right edge (x = 892) */
	CHECK(strstr(p, "892.0,") != NULL);
	CHECK(strstr(p, "<script") == NULL);
	CHECK(strstr(p, "http://") == NULL && strstr(p, "https://") == NULL);
	free(p);
	s->nhistory = 0;
	p = html_of(s);
	CHECK(strstr(p, "no sample yet") != NULL);
	CHECK_EQ_INT(count(p, "<polyline"), 0);
	free(p);
	free(s);
}

TEST(opspage_zero_rows_hidden)
{
	struct stats_snapshot *s = snap();
	char *p;

	s->by_code[DEC_ALLOW] = 3;
	s->by_code[DEC_CERT_UNVERIFIED] = 2;
	s->v[ST_CONNS_TOTAL] = 4;
	s->v[ST_CACHE_HITS] = 0;
	s->v[ST_CACHE_MISSES] = 0;
	p = html_of(s);
	CHECK(strstr(p, "<tr><td><code>ok</code>") != NULL);
	CHECK(strstr(p, "<tr><td><code>cert_unverified</code>") != NULL);
	CHECK(strstr(p, "<tr><td><code>cert_missing</code>") == NULL);
	CHECK(strstr(p, "<tr><td><code>internal_error</code>") == NULL);
	{
		char note[80];

		snprintf(note, sizeof(note), ">%d codes with no decisions not shown<", DEC_CODES - 2);
		CHECK(strstr(p, note) != NULL);
	}
	CHECK(strstr(p, "connections accepted / refused") != NULL);
	CHECK(strstr(p, "cache hits / misses") == NULL);
	free(p);
	free(s);
}

TEST(opspage_expiry_relative_and_highlighted)
{
	struct stats_snapshot *s = snap();
	char *p;

	s->ncerts = 4;
	snprintf(s->certs[3].subject, sizeof(s->certs[3].subject), "CN=today");
	s->certs[3].not_after = T0 - 3600;
	s->certs[3].last_seen = T0 - 90;
	snprintf(s->certs[0].subject, sizeof(s->certs[0].subject), "CN=fresh");
	s->certs[0].not_after = T0 + 200 * 86400;
	snprintf(s->certs[1].subject, sizeof(s->certs[1].subject), "CN=soon");
	s->certs[1].not_after = T0 + 3 * 86400 + 60;
	snprintf(s->certs[2].subject, sizeof(s->certs[2].subject), "CN=old");
	s->certs[2].not_after = T0 - 2 * 86400 - 60;
	s->certs[2].last_code = DEC_CERT_UNVERIFIED;
	for (int i = 0; i < 3; i++)
		s->certs[i].last_seen = T0 - 90;
	s->v[ST_CERTS_SOONEST] = (double)(T0 + 3 * 86400 + 60);
	p = html_of(s);
	CHECK(strstr(p, "<tr><td>CN=fresh</td>") != NULL);
	CHECK(strstr(p, ">in 200 d</td>") != NULL);
	CHECK(strstr(p, "<tr class=\"expiring\"><td>CN=soon</td>") != NULL);
	CHECK(strstr(p, ">in 3 d <span class=\"tag\">expires soon</span></td>") != NULL);
	CHECK(strstr(p, "<tr class=\"expired\"><td>CN=old</td>") != NULL);
	CHECK(strstr(p, ">2 d ago <span class=\"tag\">expired</span></td>") != NULL);
	CHECK(strstr(p, "title=\"2027-") != NULL);                 /* the date on hover */
	CHECK(strstr(p, "<td>90 s ago</td>") != NULL);             /* last seen */
	CHECK(strstr(p, "<div class=\"tile warn\"><div class=\"v\">in 3 d</div><div class=\"l\">soonest expiry</div>") != NULL);
	CHECK(strstr(p, "<tr class=\"expired\"><td>CN=today</td>") != NULL);   /* an hour ago */
	CHECK(strstr(p, ">60 min ago <span class=\"tag\">expired</span></td>") != NULL);
	CHECK_EQ_INT(count(p, "class=\"expired\""), 2);
	CHECK_EQ_INT(count(p, "class=\"expiring\""), 1);
	free(p);
	free(s);
}

TEST(opspage_reload_error_shown_escaped)
{
	struct stats_snapshot *s = snap();
	char *p;

	p = html_of(s);
	CHECK(strstr(p, "id=\"reload-error\"") == NULL);          /* none: no banner */
	free(p);
	s->v[ST_LAST_RELOAD_OK] = 0;
	s->last_reload_error_time = (double)(T0 - 120);
	snprintf(s->last_reload_error, sizeof(s->last_reload_error),
	         "/etc/certspoa.ini:7: threads: <b>two</b> is not an integer");
	p = html_of(s);
	CHECK(strstr(p, "class=\"alert bad\" id=\"reload-error\"") != NULL);
	CHECK(strstr(p, "2 min ago); still serving generation 2") != NULL);
	CHECK(strstr(p, "<code>/etc/certspoa.ini:7: threads: &lt;b&gt;two&lt;/b&gt; is not an integer</code>") != NULL);
	CHECK(strstr(p, "<b>two</b>") == NULL);
	free(p);
	s->v[ST_LAST_RELOAD_OK] = 1;                               /* fixed since */
	snprintf(s->last_reload_error, sizeof(s->last_reload_error),
	         "list.txt:3: not a thumbprint\nlist.txt:9: not a thumbprint");
	p = html_of(s);
	CHECK(strstr(p, "<div class=\"alert\" id=\"reload-error\">The last refused reload") != NULL);
	/* every line of a multi-line error, shown as lines (white-space: pre-wrap) */
	CHECK(strstr(p, "<code>list.txt:3: not a thumbprint\nlist.txt:9: not a thumbprint</code>") != NULL);
	CHECK(strstr(p, ".alert code{white-space:pre-wrap}") != NULL);
	free(p);
	free(s);
}

TEST(opspage_json_history_and_reload_error)
{
	struct stats_snapshot *s = snap();
	struct sbuf b = { 0 };

	s->nhistory = 1;
	s->history[0].t = T0;
	s->history[0].dt = 10;
	s->history[0].n[DEC_ALLOW] = 5;
	s->history[0].n[DEC_CERT_MISSING] = 2;
	snprintf(s->last_reload_error, sizeof(s->last_reload_error), "a.ini:1: \"x\"");
	s->last_reload_error_time = (double)T0;
	snprintf(s->config_sha256, sizeof(s->config_sha256), "%064d", 7);
	stats_render_json(s, &b);
	CHECK(b.p != NULL && !b.failed);
	if (b.p) {
		CHECK(strstr(b.p, "\"history\":{\"step\":10,\"window\":900,\"samples\":[{\"t\":1800000000,\"dt\":10,"
		                  "\"decisions\":7,\"by_code\":{\"ok\":5,\"cert_missing\":2}}]}") != NULL);
		CHECK(strstr(b.p, "\"last_reload_error\":{\"time\":1800000000.000,\"message\":\"a.ini:1: \\\"x\\\"\"}") != NULL);
		CHECK(strstr(b.p, "\"config_sha256\":\"0000000000000000000000000000000000000000000000000000000000000007\"") != NULL);
	}
	sbuf_free(&b);
	s->last_reload_error[0] = 0;
	stats_render_json(s, &b);
	CHECK(b.p && strstr(b.p, "\"last_reload_error\":null") != NULL);
	sbuf_free(&b);
	free(s);
}

TEST(opspage_build_and_config_info)
{
	struct stats_snapshot *s = snap();
	struct sbuf b = { 0 };

	snprintf(s->openssl_version, sizeof(s->openssl_version), "OpenSSL 3.0.99 \"x\"");
	snprintf(s->libev_version, sizeof(s->libev_version), "4.33");
	stats_render_prometheus(s, &b);
	CHECK(b.p && strstr(b.p, "\ncertspoa_build_info{version=\"" CERTSPOA_VERSION
	                          "\",openssl=\"OpenSSL 3.0.99 \\\"x\\\"\",libev=\"4.33\"} 1\n") != NULL);
	CHECK(b.p && strstr(b.p, "# TYPE certspoa_config_info gauge\n") != NULL);
	CHECK(b.p && strstr(b.p, "certspoa_config_info{") == NULL);   /* no digest yet: no sample */
	sbuf_free(&b);
	snprintf(s->config_sha256, sizeof(s->config_sha256), "%s",
	         "9caeb61bd79cf41a436c8dc346c5c955b6143091b67461f8f509cb1855eed430");
	stats_render_prometheus(s, &b);
	CHECK(b.p && strstr(b.p, "\ncertspoa_config_info{sha256=\"9caeb61bd79cf41a436c8dc346c5c955b6143091b67461f8f509cb1855eed430\"} 1\n") != NULL);
	sbuf_free(&b);
	free(s);
}

/* ---- /config ---- */

#define TRACE_SECRET "TraceSecret-7f3a9c21d4e8b605"
#define TOKEN        "StatsToken-0b1e2d3c4f5a6978"

/* A config with both secrets, a thumbprint list file and a route. */
static struct config *load_secret_config(char *dir, size_t dirlen)
{
	char path[512], err[512];
	struct config *cfg;
	FILE *f;

	snprintf(dir, dirlen, "/tmp/certspoa-opspage-XXXXXX");
	if (!mkdtemp(dir))
		return NULL;
	snprintf(path, sizeof(path), "%s/token", dir);
	if (!(f = fopen(path, "w")))
		return NULL;
	fprintf(f, "%s\n", TOKEN);
	fclose(f);
	chmod(path, 0600);
	snprintf(path, sizeof(path), "%s/list.txt", dir);
	if (!(f = fopen(path, "w")))
		return NULL;
	fprintf(f, "# two\n%064d\n%040d\n", 1, 2);
	fclose(f);
	snprintf(path, sizeof(path), "%s/a.ini", dir);
	if (!(f = fopen(path, "w")))
		return NULL;
	fprintf(f, "[agent]\nlisten = 127.0.0.1:0\ntrace_secret = %s\n"
	        "[stats]\nlisten = 127.0.0.1:0\ntoken_file = %s/token\n"
	        "[route admin]\nhost = admin.example.com\npolicy = admin\n"
	        "[policy default]\nthumbprints = %s/list.txt\nmode = shadow\n"
	        "[policy admin]\nallow_cn = \"ops\", \"oncall\"\ndeny_status = 401\n",
	        TRACE_SECRET, dir, dir);
	fclose(f);
	cfg = cfg_load(path, err, sizeof(err));
	if (!cfg)
		fprintf(stderr, "  config error: %s\n", err);
	return cfg;
}

static void rm_dir(const char *dir)
{
	static const char *const names[] = { "token", "list.txt", "a.ini" };
	char path[512];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

TEST(opspage_config_view_never_shows_secrets)
{
	char dir[64], list[512];
	struct config *cfg = load_secret_config(dir, sizeof(dir));
	struct stats_cfg_file files[1];
	struct sbuf text = { 0 }, page = { 0 };

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK(cfg->trace_secret && strcmp(cfg->trace_secret, TRACE_SECRET) == 0);
	CHECK(cfg->stats_token && strcmp(cfg->stats_token, TOKEN) == 0);
	snprintf(list, sizeof(list), "%s/list.txt", dir);
	files[0].path = list;
	files[0].what = "thumbprints";
	files[0].size = 88;
	snprintf(files[0].sha256, sizeof(files[0].sha256), "%s",
	         "ab00000000000000000000000000000000000000000000000000000000000cd");
	stats_render_config_text(cfg, files, 1, &text);
	stats_render_config_html(cfg, files, 1, "ff", &page);
	CHECK(text.p && page.p && !text.failed && !page.failed);
	if (text.p && page.p) {
		/* the values, and any long part of them, appear nowhere */
		CHECK(strstr(text.p, TRACE_SECRET) == NULL && strstr(page.p, TRACE_SECRET) == NULL);
		CHECK(strstr(text.p, TOKEN) == NULL && strstr(page.p, TOKEN) == NULL);
		CHECK(strstr(text.p, "7f3a9c21") == NULL && strstr(page.p, "7f3a9c21") == NULL);
		CHECK(strstr(text.p, "0b1e2d3c") == NULL && strstr(page.p, "0b1e2d3c") == NULL);
		CHECK(strstr(text.p, "\ntrace_secret = (set, redacted)\n") != NULL);
		CHECK(strstr(text.p, "/token (token loaded, redacted)\n") != NULL);
		/* what it shows: policies, modes, list sizes and sources, files */
		CHECK(strstr(text.p, "\n[policy default]\nmode = shadow\n") != NULL);
		CHECK(strstr(text.p, "/list.txt (2 entries; file sha256 ab00000000000000000000000000000000000000000000000000000000000cd)\n") != NULL);
		CHECK(strstr(text.p, "\n[policy admin]\n") != NULL);
		CHECK(strstr(text.p, "allow_cn = \"ops\", \"oncall\" (2 entries)\n") != NULL);
		CHECK(strstr(text.p, "deny_status = 401\n") != NULL);
		CHECK(strstr(text.p, "\n[route admin]\nhost = admin.example.com (1 entries)\npolicy = admin\n") != NULL);
		CHECK(strstr(text.p, ": 88 bytes, sha256 ab000") != NULL);
		CHECK(strstr(page.p, "allow_cn: <b>2</b> <code>&quot;ops&quot;, &quot;oncall&quot;</code>") != NULL);
		CHECK(strstr(page.p, "<code id=\"config-sha256\">ff</code>") != NULL);
		CHECK(strstr(page.p, "<script") == NULL && strstr(page.p, "http://") == NULL);
	}
	sbuf_free(&text);
	sbuf_free(&page);
	cfg_free(cfg);
	rm_dir(dir);
}

TEST(opspage_config_text_deterministic)
{
	char dir[64];
	struct config *a = load_secret_config(dir, sizeof(dir));
	struct config *b;
	struct sbuf ta = { 0 }, tb = { 0 };

	CHECK(a != NULL);
	if (!a)
		return;
	b = cfg_load(a->file, (char[256]){ 0 }, 256);
	CHECK(b != NULL);
	if (b) {
		b->generation = a->generation + 5;     /* a reload: same text */
		stats_render_config_text(a, NULL, 0, &ta);
		stats_render_config_text(b, NULL, 0, &tb);
		CHECK(ta.p && tb.p && ta.len == tb.len && memcmp(ta.p, tb.p, ta.len) == 0);
		sbuf_free(&tb);
		b->default_policy->deny_status = 499;    /* a different policy: other text */
		stats_render_config_text(b, NULL, 0, &tb);
		CHECK(tb.p && ta.p && strcmp(ta.p, tb.p) != 0);
		cfg_free(b);
	}
	sbuf_free(&ta);
	sbuf_free(&tb);
	cfg_free(a);
	rm_dir(dir);
}

TEST(opspage_config_view_without_config)
{
	struct sbuf t = { 0 };

	stats_render_config_html(NULL, NULL, 0, "", &t);
	CHECK(t.p && strstr(t.p, "# none loaded") != NULL);
	sbuf_free(&t);
}

/* /config is not one of the public paths: off loopback it needs the token,
 * like the status page. */
TEST(opspage_config_needs_the_token_off_loopback)
{
	static const char tok[] = "0123456789abcdef0123";
	static const char good[] = "Bearer 0123456789abcdef0123";

	CHECK(!statsauth_path_is_public("/config"));
	CHECK_EQ_INT(statsauth_check(0, "/config", NULL, 0, 0, tok, strlen(tok)), STATSAUTH_UNAUTHORIZED);
	CHECK_EQ_INT(statsauth_check(0, "/config", NULL, 0, 0, NULL, 0), STATSAUTH_NO_TOKEN);
	CHECK_EQ_INT(statsauth_check(0, "/config", good, strlen(good), 0, tok, strlen(tok)), STATSAUTH_SERVE);
	CHECK_EQ_INT(statsauth_check(1, "/config", NULL, 0, 0, NULL, 0), STATSAUTH_SERVE);
}

/* Recent denials show the rule, the shadow marker and HAProxy's unique-id
 * (fields of the opsvis branch), escaped. */
TEST(opspage_denials_rule_shadow_req_id)
{
	struct stats_snapshot *s = snap();
	char *p;

	s->ndenials = 2;
	s->denials[0].time = T0 - 5;
	s->denials[0].code = DEC_CERT_UNVERIFIED;
	s->denials[0].shadow = 1;
	snprintf(s->denials[0].rule, sizeof(s->denials[0].rule), "cert_expired");
	snprintf(s->denials[0].req_id, sizeof(s->denials[0].req_id), "7F000001:A1B2_<x>");
	snprintf(s->denials[0].policy, sizeof(s->denials[0].policy), "partners");
	s->denials[1].time = T0 - 9;
	s->denials[1].code = DEC_CERT_UNTRUSTED;
	snprintf(s->denials[1].rule, sizeof(s->denials[1].rule), "allow_thumbprints");
	snprintf(s->denials[1].policy, sizeof(s->denials[1].policy), "default");
	p = html_of(s);
	CHECK(strstr(p, "<tr class=\"shadow\"><td>") != NULL);
	CHECK(strstr(p, "<code>cert_unverified</code> <span class=\"tag\" title=\"shadow mode: let through, "
	                "enforce would deny\">shadow</span></td><td><code>cert_expired</code>") != NULL);
	CHECK(strstr(p, "<code>7F000001:A1B2_&lt;x&gt;</code>") != NULL);
	CHECK(strstr(p, "<tr><td>2027-01-15 07:59:51Z</td><td><code>cert_untrusted</code></td>"
	                "<td><code>allow_thumbprints</code></td><td>default</td>") != NULL);
	CHECK_EQ_INT(count(p, "class=\"shadow\""), 1);
	free(p);
	free(s);
}

#ifdef STATS_SHOW_RTDENIES
/* The runtime deny list (ctl branch) on the page: relative times, "never",
 * every operator-typed field escaped. Runs once that branch is merged. */
TEST(opspage_runtime_denies_section)
{
	struct stats_snapshot *s = snap();
	char *p;

	s->nrtdenies = 2;
	s->rtdenies[0].kind = 0;
	snprintf(s->rtdenies[0].value, sizeof(s->rtdenies[0].value), "ab<cd");
	s->rtdenies[0].added = T0 - 120;
	s->rtdenies[0].expires = T0 + 3 * 3600;
	snprintf(s->rtdenies[0].origin, sizeof(s->rtdenies[0].origin), "uid=0/socat");
	snprintf(s->rtdenies[0].comment, sizeof(s->rtdenies[0].comment), "<b>leak</b>");
	s->rtdenies[1].kind = 1;
	snprintf(s->rtdenies[1].value, sizeof(s->rtdenies[1].value), "0a");
	p = html_of(s);
	CHECK(strstr(p, "<h2>Runtime denies (2, admin socket)</h2>") != NULL);
	CHECK(strstr(p, "<code>ab&lt;cd</code></td><td>in 3 h</td><td>2 min ago</td><td>uid=0/socat</td>"
	                "<td>&lt;b&gt;leak&lt;/b&gt;</td>") != NULL);
	CHECK(strstr(p, "<td>never</td>") != NULL);
	CHECK(strstr(p, "<b>leak</b>") == NULL);
	free(p);
	s->nrtdenies = 0;
	p = html_of(s);
	CHECK(strstr(p, "<h2>Runtime denies (0, admin socket)</h2>") != NULL);
	free(p);
	free(s);
}
#endif
