/* Stats renderers: a hand-made snapshot through the Prometheus, JSON and
 * HTML outputs, checked line by line; a strict JSON checker; escaping of
 * hostile names; the percentile read from the histogram; naming rules of
 * the stat table. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"
#include "rules.h"
#include "sbuf.h"
#include "spop.h"
#include "stats.h"
#include "testhelp.h"

/* ---- a snapshot ---- */

static struct stats_snapshot *snap_new(void)
{
	struct stats_snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->now = 1800000000.0;
	return s;
}

/* 7 allowed, 3 cert_missing, 2 cert_untrusted; one policy "default" with a
 * 2-entry list; latency: 1 at <= 1us, 2 at <= 10us, 1 beyond 100 ms. */
static struct stats_snapshot *snap_sample(void)
{
	struct stats_snapshot *s = snap_new();

	s->v[ST_START_TIME] = 1799999000.0;
	s->v[ST_GENERATION] = 4;
	s->v[ST_RELOADS] = 3;
	s->v[ST_RELOAD_FAILURES] = 1;
	s->v[ST_LAST_RELOAD_OK] = 1;
	s->v[ST_WORKERS] = 2;
	s->v[ST_CONNS] = 5;
	s->v[ST_MESSAGES] = 12;
	s->v[ST_HEALTHCHECKS] = 9;
	s->v[ST_CACHE_HITS] = 10;
	s->v[ST_CACHE_MISSES] = 2;
	s->v[ST_CERTS] = 1;
	s->v[ST_CERTS_SOONEST] = 1800086400.0;
	s->rate = 1.5;
	s->by_code[DEC_ALLOW] = 7;
	s->by_code[DEC_CERT_MISSING] = 3;
	s->by_code[DEC_CERT_UNTRUSTED] = 2;
	s->spop_errors[SPOP_ST_INVALID] = 1;
	s->lat[0] = 1;
	s->lat[3] = 2;
	s->lat[HANDLER_LAT_BUCKETS - 1] = 1;
	s->lat_sum = 0.0015;
	s->npolicies = 1;
	snprintf(s->policies[0].name, sizeof(s->policies[0].name), "default");
	s->policies[0].allow = 7;
	s->policies[0].deny = 5;
	s->policies[0].thumbprints = 2;
	s->ncerts = 1;
	memset(s->certs[0].sha256, 0xab, 32);
	s->certs[0].not_after = 1800086400;
	s->certs[0].last_seen = 1799999990;
	s->certs[0].requests = 7;
	s->certs[0].last_code = DEC_ALLOW;
	snprintf(s->certs[0].subject, sizeof(s->certs[0].subject), "CN=alice,O=Example");
	s->ndenials = 1;
	s->denials[0].time = 1799999995;
	s->denials[0].code = DEC_CERT_UNTRUSTED;
	snprintf(s->denials[0].policy, sizeof(s->denials[0].policy), "default");
	snprintf(s->denials[0].subject, sizeof(s->denials[0].subject), "CN=mallory,O=Example");
	memset(s->denials[0].sha256, 'c', 64);
	snprintf(s->denials[0].src, sizeof(s->denials[0].src), "192.0.2.7");
	snprintf(s->denials[0].detail, sizeof(s->denials[0].detail), "thumbprint is not on the trusted list");
	return s;
}

/* Hostile strings wherever the renderers copy text that came from outside
 * (certificate subjects, details) or from the config (policy names). */
static const char HOSTILE[] = "<script>alert(\"x\")</script>&'\\ \x01\n\xc3\xa9";

static struct stats_snapshot *snap_hostile(void)
{
	struct stats_snapshot *s = snap_sample();

	snprintf(s->policies[0].name, sizeof(s->policies[0].name), "%s", HOSTILE);
	snprintf(s->certs[0].subject, sizeof(s->certs[0].subject), "%s", HOSTILE);
	snprintf(s->denials[0].policy, sizeof(s->denials[0].policy), "%s", HOSTILE);
	snprintf(s->denials[0].subject, sizeof(s->denials[0].subject), "%s", HOSTILE);
	snprintf(s->denials[0].detail, sizeof(s->denials[0].detail), "%s", HOSTILE);
	return s;
}

/* Does text hold line as a whole line? */
static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0))
			return 1;
	return 0;
}

#define CHECK_LINE(text, line) do { \
	if (!has_line((text), (line))) unit_fail(__FILE__, __LINE__, "no line \"%s\"", (line)); \
} while (0)

/* ---- a strict JSON checker (RFC 8259, UTF-8 validated) ---- */

struct jp {
	const char *p, *end;
	int depth;
};

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int lit(struct jp *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

/* One UTF-8 sequence (no overlongs, no surrogates, <= U+10FFFF). */
static int utf8(struct jp *j)
{
	const unsigned char *u = (const unsigned char *)j->p;
	size_t left = (size_t)(j->end - j->p);
	unsigned int c, n, min;

	if (u[0] < 0x80)
		n = 1, c = u[0], min = 0;
	else if ((u[0] & 0xe0) == 0xc0)
		n = 2, c = u[0] & 0x1f, min = 0x80;
	else if ((u[0] & 0xf0) == 0xe0)
		n = 3, c = u[0] & 0x0f, min = 0x800;
	else if ((u[0] & 0xf8) == 0xf0)
		n = 4, c = u[0] & 0x07, min = 0x10000;
	else
		return -1;
	if (left < n)
		return -1;
	for (unsigned int i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return -1;
		c = c << 6 | (u[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	j->p += n;
	return 0;
}

static int jstring(struct jp *j)
{
	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p;

		if (c == '"') {
			j->p++;
			return 0;
		}
		if (c < 0x20)
			return -1;                     /* raw control character */
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end)
				return -1;
			if (*j->p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (j->p + i >= j->end || !isxdigit((unsigned char)j->p[i]))
						return -1;
				j->p += 5;
			} else if (strchr("\"\\/bfnrt", *j->p) && *j->p) {
				j->p++;
			} else {
				return -1;
			}
			continue;
		}
		if (utf8(j) < 0)
			return -1;
	}
	return -1;
}

static int jnumber(struct jp *j)
{
	const char *s = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || !isdigit((unsigned char)*j->p))
		return -1;
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && isdigit((unsigned char)*j->p))
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || !isdigit((unsigned char)*j->p))
			return -1;
		while (j->p < j->end && isdigit((unsigned char)*j->p))
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || !isdigit((unsigned char)*j->p))
			return -1;
		while (j->p < j->end && isdigit((unsigned char)*j->p))
			j->p++;
	}
	return j->p > s ? 0 : -1;
}

static int jvalue(struct jp *j);

static int jcontainer(struct jp *j, char open, char close)
{
	int first = 1;

	if (++j->depth > 64)
		return -1;
	j->p++;                                    /* open */
	(void)open;
	ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		if (!first) {
			ws(j);
			if (j->p < j->end && *j->p == close) {
				j->p++;
				j->depth--;
				return 0;
			}
			if (j->p >= j->end || *j->p != ',')
				return -1;
			j->p++;
		}
		first = 0;
		ws(j);
		if (close == '}') {
			if (jstring(j) < 0)
				return -1;
			ws(j);
			if (j->p >= j->end || *j->p != ':')
				return -1;
			j->p++;
		}
		if (jvalue(j) < 0)
			return -1;
	}
}

static int jvalue(struct jp *j)
{
	ws(j);
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '{': return jcontainer(j, '{', '}');
	case '[': return jcontainer(j, '[', ']');
	case '"': return jstring(j);
	case 't': return lit(j, "true");
	case 'f': return lit(j, "false");
	case 'n': return lit(j, "null");
	default:  return jnumber(j);
	}
}

/* 0 if text is exactly one JSON value (surrounding whitespace allowed). */
static int json_valid(const char *text, size_t len)
{
	struct jp j = { text, text + len, 0 };

	if (jvalue(&j) < 0)
		return -1;
	ws(&j);
	return j.p == j.end ? 0 : -1;
}

TEST(stats_json_checker_self_test)
{
	static const char *const good[] = {
		"{}", "[]", "{\"a\":[1,-2.5e3,0,true,false,null,\"\\u00e9\\n\"]}", " 1 ",
		"\"\xc3\xa9\"", "{\"a\":{\"b\":{}}}",
	};
	static const char *const bad[] = {
		"", "{", "{\"a\":1,}", "[1,]", "01", "1.", "-", "nan", "\"\x01\"",
		"\"\\x\"", "{'a':1}", "[1] [2]", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
		"{\"a\" 1}", "tru", "[\"a\"\"b\"]",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (json_valid(good[i], strlen(good[i])) != 0)
			unit_fail(__FILE__, __LINE__, "valid JSON rejected: %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (json_valid(bad[i], strlen(bad[i])) == 0)
			unit_fail(__FILE__, __LINE__, "invalid JSON accepted: %s", bad[i]);
}

/* ---- Prometheus ---- */

TEST(stats_prometheus_exact_lines)
{
	struct stats_snapshot *s = snap_sample();
	struct sbuf b = { 0 };

	stats_render_prometheus(s, &b);
	CHECK(!b.failed && b.p);
	if (!b.p)
		goto out;
	CHECK_LINE(b.p, "certspoa_decisions_total{verdict=\"deny\",code=\"cert_missing\"} 3");
	CHECK_LINE(b.p, "certspoa_decisions_total{verdict=\"deny\",code=\"cert_untrusted\"} 2");
	CHECK_LINE(b.p, "certspoa_decisions_total{verdict=\"deny\",code=\"cert_unverified\"} 0");
	CHECK_LINE(b.p, "certspoa_decisions_total{verdict=\"allow\",code=\"ok\"} 7");
	CHECK_LINE(b.p, "certspoa_messages_total 12");
	CHECK_LINE(b.p, "certspoa_config_generation 4");
	CHECK_LINE(b.p, "certspoa_config_reloads_total 3");
	CHECK_LINE(b.p, "certspoa_config_reload_failures_total 1");
	CHECK_LINE(b.p, "certspoa_spop_connections 5");
	CHECK_LINE(b.p, "certspoa_start_time_seconds 1799999000");
	CHECK_LINE(b.p, "certspoa_client_certificates_soonest_expiry_timestamp_seconds 1800086400");
	CHECK_LINE(b.p, "certspoa_policy_decisions_total{policy=\"default\",verdict=\"allow\"} 7");
	CHECK_LINE(b.p, "certspoa_policy_decisions_total{policy=\"default\",verdict=\"deny\"} 5");
	CHECK_LINE(b.p, "certspoa_thumbprints{policy=\"default\"} 2");
	CHECK_LINE(b.p, "certspoa_spop_errors_total{status=\"4\",error=\"invalid frame received\"} 1");
	CHECK_LINE(b.p, "certspoa_spop_errors_total{status=\"1\",error=\"I/O error\"} 0");
	/* the histogram is cumulative and ends at +Inf == _count */
	CHECK_LINE(b.p, "certspoa_processing_seconds_bucket{le=\"1e-06\"} 1");
	CHECK_LINE(b.p, "certspoa_processing_seconds_bucket{le=\"5e-06\"} 1");
	CHECK_LINE(b.p, "certspoa_processing_seconds_bucket{le=\"1e-05\"} 3");
	CHECK_LINE(b.p, "certspoa_processing_seconds_bucket{le=\"0.1\"} 3");
	CHECK_LINE(b.p, "certspoa_processing_seconds_bucket{le=\"+Inf\"} 4");
	CHECK_LINE(b.p, "certspoa_processing_seconds_count 4");
	CHECK_LINE(b.p, "certspoa_processing_seconds_sum 0.001500000");
	CHECK_LINE(b.p, "# TYPE certspoa_processing_seconds histogram");
	CHECK_LINE(b.p, "# TYPE certspoa_decisions_total counter");
	CHECK_LINE(b.p, "# TYPE certspoa_spop_connections gauge");
	/* no CRL configured: no CRL samples (only the family's head) */
	CHECK(!strstr(b.p, "certspoa_crls{"));
out:
	sbuf_free(&b);
	free(s);
}

/* Every family: HELP then TYPE, once, before its samples; every other line
 * a sample of the family just declared. */
TEST(stats_prometheus_structure)
{
	struct stats_snapshot *s = snap_sample();
	struct sbuf b = { 0 };
	char family[128] = "", type[16] = "";
	int helps = 0, types = 0, samples = 0;

	stats_render_prometheus(s, &b);
	for (char *line = b.p, *nl; line && *line; line = nl + 1) {
		char name[128];

		nl = strchr(line, '\n');
		CHECK(nl != NULL);
		if (!nl)
			break;
		*nl = 0;
		if (strncmp(line, "# HELP ", 7) == 0) {
			CHECK(sscanf(line + 7, "%127s", family) == 1);
			CHECK(strlen(line + 7) > strlen(family) + 1);     /* has a text */
			type[0] = 0;
			helps++;
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			CHECK(sscanf(line + 7, "%127s %15s", name, type) == 2);
			CHECK_EQ_STR(name, family);
			CHECK(!strcmp(type, "counter") || !strcmp(type, "gauge") || !strcmp(type, "histogram"));
			types++;
		} else {
			size_t n = strcspn(line, "{ ");
			size_t fl = strlen(family);

			CHECK(type[0] != 0);
			snprintf(name, sizeof(name), "%.*s", (int)n, line);
			if (strcmp(type, "histogram") == 0)
				CHECK(strncmp(name, family, fl) == 0 &&
				      (!strcmp(name + fl, "_bucket") || !strcmp(name + fl, "_sum") ||
				       !strcmp(name + fl, "_count")));
			else if (strcmp(name, family) != 0)
				unit_fail(__FILE__, __LINE__, "sample %s under family %s", name, family);
			/* a value after the name/labels */
			CHECK(strrchr(line, ' ') && strrchr(line, ' ')[1]);
			samples++;
		}
	}
	CHECK_EQ_INT(helps, ST_COUNT + SF_COUNT);
	CHECK_EQ_INT(types, ST_COUNT + SF_COUNT);
	CHECK(samples > ST_COUNT + DEC_CODES);
	sbuf_free(&b);
	free(s);
}

/* Prometheus conventions on the table itself: certspoa_ prefix, counters
 * end in _total and nothing else does, times in seconds, no duplicates. */
TEST(stats_names_follow_conventions)
{
	const struct stat_def *all[ST_COUNT + SF_COUNT];
	int n = 0;

	for (int i = 0; i < ST_COUNT; i++)
		all[n++] = &stat_defs[i];
	for (int i = 0; i < SF_COUNT; i++)
		all[n++] = &family_defs[i];
	for (int i = 0; i < n; i++) {
		const char *name = all[i]->name;
		size_t len = name ? strlen(name) : 0;
		int total = len > 6 && strcmp(name + len - 6, "_total") == 0;

		CHECK(name && strncmp(name, "certspoa_", 9) == 0);
		if (!name)
			continue;
		for (const char *c = name; *c; c++)
			if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_'))
				unit_fail(__FILE__, __LINE__, "%s: character '%c'", name, *c);
		if (all[i]->type == STAT_COUNTER && !total)
			unit_fail(__FILE__, __LINE__, "counter %s does not end in _total", name);
		if (all[i]->type != STAT_COUNTER && total)
			unit_fail(__FILE__, __LINE__, "%s %s ends in _total", all[i]->type == STAT_GAUGE ? "gauge" : "histogram", name);
		if ((strstr(name, "timestamp") || strstr(name, "time_")) && !strstr(name, "_seconds"))
			unit_fail(__FILE__, __LINE__, "%s: a time not in seconds", name);
		CHECK(all[i]->help && all[i]->help[0] && !strchr(all[i]->help, '\n') &&
		      !strchr(all[i]->help, '\\'));
		for (int k = 0; k < i; k++)
			if (all[k]->name && strcmp(all[k]->name, name) == 0)
				unit_fail(__FILE__, __LINE__, "%s declared twice", name);
	}
}

TEST(stats_prometheus_label_escaping)
{
	struct stats_snapshot *s = snap_sample();
	struct sbuf b = { 0 };

	snprintf(s->policies[0].name, sizeof(s->policies[0].name), "we\"ird\\na\nme");
	stats_render_prometheus(s, &b);
	CHECK(b.p != NULL);
	if (b.p) {
		CHECK_LINE(b.p, "certspoa_policy_decisions_total{policy=\"we\\\"ird\\\\na\\nme\",verdict=\"allow\"} 7");
		CHECK_LINE(b.p, "certspoa_thumbprints{policy=\"we\\\"ird\\\\na\\nme\"} 2");
	}
	sbuf_free(&b);
	free(s);
}

/* ---- JSON ---- */

TEST(stats_json_valid_and_exact)
{
	struct stats_snapshot *s = snap_sample();
	struct sbuf b = { 0 };

	stats_render_json(s, &b);
	CHECK(!b.failed && b.p);
	if (!b.p)
		goto out;
	CHECK(json_valid(b.p, b.len) == 0);
	CHECK(strstr(b.p, "\"decisions\":{\"ok\":7,\"cert_missing\":3,\"cert_unverified\":0,\"cert_untrusted\":2,") != NULL);
	CHECK(strstr(b.p, "\"messages_total\":12") != NULL);
	CHECK(strstr(b.p, "\"config_generation\":4") != NULL);
	CHECK(strstr(b.p, "\"decisions_per_second\":1.500") != NULL);
	CHECK(strstr(b.p, "\"4\":{\"error\":\"invalid frame received\",\"count\":1}") != NULL);
	CHECK(strstr(b.p, "\"name\":\"default\",\"allow\":7,\"deny\":5,\"thumbprints\":2") != NULL);
	CHECK(strstr(b.p, "\"subject\":\"CN=alice,O=Example\"") != NULL);
	CHECK(strstr(b.p, "\"sha256\":\"abababababababababababababababababababababababababababababababab\"") != NULL);
	CHECK(strstr(b.p, "\"last_verdict\":\"allow\",\"last_code\":\"ok\"") != NULL);
	CHECK(strstr(b.p, "\"code\":\"cert_untrusted\"") != NULL);
	CHECK(strstr(b.p, "\"src\":\"192.0.2.7\"") != NULL);
	/* every scalar of the table, under its short name */
	for (int i = 0; i < ST_COUNT; i++) {
		char key[128];

		snprintf(key, sizeof(key), "\"%s\":", stat_defs[i].name + 9);
		if (!strstr(b.p, key))
			unit_fail(__FILE__, __LINE__, "no key %s", key);
	}
out:
	sbuf_free(&b);
	free(s);
}

TEST(stats_json_empty_snapshot_valid)
{
	struct stats_snapshot *s = snap_new();
	struct sbuf b = { 0 };

	stats_render_json(s, &b);
	CHECK(b.p && json_valid(b.p, b.len) == 0);
	CHECK(b.p && strstr(b.p, "\"p50\":-1") != NULL);   /* no data: -1 */
	CHECK(b.p && strstr(b.p, "\"certificates\":[]") != NULL);
	CHECK(b.p && strstr(b.p, "\"recent_denials\":[]") != NULL);
	sbuf_free(&b);
	free(s);
}

TEST(stats_json_hostile_strings)
{
	struct stats_snapshot *s = snap_hostile();
	struct sbuf b = { 0 };

	stats_render_json(s, &b);
	CHECK(b.p && json_valid(b.p, b.len) == 0);
	if (b.p) {
		/* < > & as \u escapes: inert even if sniffed as HTML */
		CHECK(strstr(b.p, "\"subject\":\"\\u003cscript\\u003ealert(\\\"x\\\")\\u003c/script\\u003e\\u0026'\\\\ \\u0001\\u000a\xc3\xa9\"") != NULL);
		CHECK(!memchr(b.p, '\x01', b.len));
	}
	sbuf_free(&b);
	free(s);
}

/* ---- HTML ---- */

TEST(stats_html_escapes_hostile_subject)
{
	struct stats_snapshot *s = snap_hostile();
	struct sbuf b = { 0 };
	const char *esc = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;\\";

	stats_render_html(s, &b);
	CHECK(!b.failed && b.p);
	if (b.p) {
		CHECK(strstr(b.p, "<script") == NULL);
		CHECK(strstr(b.p, "alert(\"") == NULL);
		CHECK(strstr(b.p, esc) != NULL);
		/* in the inventory, the denials (subject, policy, detail) and the
		 * policy table: 5 places */
		int n = 0;
		for (const char *p = b.p; (p = strstr(p, esc)); p++)
			n++;
		CHECK_EQ_INT(n, 5);
	}
	sbuf_free(&b);
	free(s);
}

TEST(stats_html_figures)
{
	struct stats_snapshot *s = snap_sample();
	struct sbuf b = { 0 };

	stats_render_html(s, &b);
	CHECK(b.p != NULL);
	if (b.p) {
		CHECK(strstr(b.p, "<div class=\"v\">7</div><div class=\"l\">allowed</div>") != NULL);
		CHECK(strstr(b.p, "<div class=\"v\">5</div><div class=\"l\">denied</div>") != NULL);
		CHECK(strstr(b.p, "<span>config generation 4</span>") != NULL);
		CHECK(strstr(b.p, "<div class=\"v\">3 / 1</div><div class=\"l\">reloads / failed</div>") != NULL);
		CHECK(strstr(b.p, "<div class=\"v\">&le; 10 &micro;s</div><div class=\"l\">latency p50</div>") != NULL);
		CHECK(strstr(b.p, "<div class=\"v\">&le; 100 ms</div><div class=\"l\">latency p99</div>") != NULL);
		/* the full SHA-256 in the title, to copy into a thumbprint list */
		CHECK(strstr(b.p, "<td>CN=alice,O=Example</td><td><code title=\"abababababababababababababababababababababababababababababababab\">abababababababab&hellip;</code>") != NULL);
		CHECK(strstr(b.p, "<code>cert_untrusted</code>") != NULL);
		CHECK(strstr(b.p, "<td>192.0.2.7</td>") != NULL);
		CHECK(strstr(b.p, "<meta http-equiv=\"refresh\"") != NULL);
		/* self-contained: nothing loaded from elsewhere */
		CHECK(strstr(b.p, "src=") == NULL);
		CHECK(strstr(b.p, "<link") == NULL);
		CHECK(strstr(b.p, "url(") == NULL);
		CHECK(strstr(b.p, "http://") == NULL && strstr(b.p, "https://") == NULL);
	}
	sbuf_free(&b);
	free(s);
}

/* ---- percentiles ---- */

TEST(stats_percentile_from_buckets)
{
	struct stats_snapshot *s = snap_new();

	CHECK(stats_percentile(s, 0.5) == -1);             /* no data */
	/* bounds (us): 1 2 5 10 20 50 100 200 500 1000 2000 5000 10000 100000 +Inf */
	s->lat[0] = 50;      /* <= 1 us */
	s->lat[5] = 49;      /* <= 50 us */
	s->lat[13] = 1;      /* <= 100 ms */
	CHECK(stats_percentile(s, 0.0) == 1e-6);
	CHECK(stats_percentile(s, 0.5) == 1e-6);           /* 50 of 100 at the first bucket */
	CHECK(stats_percentile(s, 0.51) == 50e-6);
	CHECK(stats_percentile(s, 0.99) == 50e-6);         /* 99 of 100 */
	CHECK(stats_percentile(s, 0.995) == 0.1);
	CHECK(stats_percentile(s, 1.0) == 0.1);
	/* beyond the last bound: reported as the last finite bound */
	memset(s->lat, 0, sizeof(s->lat));
	s->lat[HANDLER_LAT_BUCKETS - 1] = 3;
	CHECK(stats_percentile(s, 0.5) == 0.1);
	free(s);
}

TEST(stats_latency_buckets_match_bounds)
{
	struct handler_ctx hc;

	memset(&hc, 0, sizeof(hc));
	handler_record_latency(&hc, 500);            /* 0.5 us */
	handler_record_latency(&hc, 1500);           /* 1.5 us */
	handler_record_latency(&hc, 7000);           /* 7 us */
	handler_record_latency(&hc, 2000000000ULL);  /* 2 s */
	CHECK_EQ_INT(hc.stats.lat[0], 1);            /* le 1e-06 */
	CHECK_EQ_INT(hc.stats.lat[1], 1);            /* le 2e-06 */
	CHECK_EQ_INT(hc.stats.lat[3], 1);            /* le 1e-05 */
	CHECK_EQ_INT(hc.stats.lat[HANDLER_LAT_BUCKETS - 1], 1);
	CHECK_EQ_INT(hc.stats.lat_sum_ns, 500 + 1500 + 7000 + 2000000000ULL);
	/* the bounds only grow */
	for (int i = 1; i < HANDLER_LAT_BUCKETS - 1; i++)
		CHECK(handler_lat_bounds_us[i] > handler_lat_bounds_us[i - 1]);
}

/* A subject like "CN=<script>" must not reach /stats.json as markup. */
TEST(stats_json_escapes_markup)
{
	struct sbuf b;

	memset(&b, 0, sizeof(b));
	sbuf_json(&b, "CN=<script>a&b</script>\"\\\x01");
	sbuf_put(&b, "", 1);          /* NUL-terminate for the compare */
	CHECK(b.p != NULL && !b.failed);
	if (b.p)
		CHECK_EQ_STR(b.p, "CN=\\u003cscript\\u003ea\\u0026b\\u003c/script\\u003e\\\"\\\\\\u0001");
	sbuf_free(&b);
}
