/* Stats as a self-contained HTML page (/), refreshed every 5 s: a header,
 * tiles of the main figures, the last refused reload, a chart of the last
 * 15 minutes (inline SVG: no script, no external asset), then one section
 * per table, rows of zeros left out. Every string that came from outside
 * (subjects, details, policy names, reload errors) goes through
 * sbuf_html(). See stats.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cert.h"
#include "rules.h"
#include "sbuf.h"
#include "spop.h"
#include "stats.h"

static void fmt_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(out, len, "%Y-%m-%d %H:%M:%SZ", &tm))
		snprintf(out, len, "-");
}

static void fmt_duration(double secs, char *out, size_t len)
{
	long s = secs > 0 ? (long)secs : 0;

	if (s >= 86400)
		snprintf(out, len, "%ldd %ldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, len, "%ldh %ldm", s / 3600, s % 3600 / 60);
	else
		snprintf(out, len, "%ldm %lds", s / 60, s % 60);
}

void stats_fmt_relative(int64_t t, double now, char *out, size_t len)
{
	double d = (double)t - now;
	double a = d < 0 ? -d : d;
	long long v;
	const char *unit;

	if (t <= 0) {
		snprintf(out, len, "-");
		return;
	}
	if (a < 120) {
		v = (long long)a;
		unit = "s";
	} else if (a < 7200) {
		v = (long long)(a / 60);
		unit = "min";
	} else if (a < 2 * 86400) {
		v = (long long)(a / 3600);
		unit = "h";
	} else {
		v = (long long)(a / 86400);
		unit = "d";
	}
	if (d >= 0)
		snprintf(out, len, "in %lld %s", v, unit);
	else
		snprintf(out, len, "%lld %s ago", v, unit);
}

/* Certificates expiring within this are highlighted (as the tile). */
#define EXPIRY_WARN_SECS (14 * 86400)

static const char *expiry_class(int64_t not_after, double now)
{
	if (not_after <= 0)
		return "";
	if ((double)not_after <= now)
		return "expired";
	return (double)not_after - now < EXPIRY_WARN_SECS ? "expiring" : "";
}

static void fmt_us(double secs, char *out, size_t len)
{
	if (secs < 0)
		snprintf(out, len, "-");
	else if (secs < 1e-3)
		snprintf(out, len, "&le; %.0f &micro;s", secs * 1e6);
	else
		snprintf(out, len, "&le; %.0f ms", secs * 1e3);
}

static void tile(struct sbuf *b, const char *label, const char *value, const char *cls)
{
	sbuf_printf(b, "<div class=\"tile %s\"><div class=\"v\">%s</div><div class=\"l\">%s</div></div>\n",
	            cls, value, label);
}

static void html_head(const struct stats_snapshot *s, struct sbuf *b)
{
	char t[40];

	sbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	          "<meta http-equiv=\"refresh\" content=\"5\">\n"
	          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	          "<title>certspoa status</title>\n<style>\n"
	          "body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}\n"
	          "header{background:#1d2733;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}\n"
	          "header span{opacity:.7;margin-left:12px}main{padding:16px 24px}\n"
	          ".tiles{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:16px}\n"
	          ".tile{background:#fff;border-radius:6px;padding:12px 16px;min-width:150px;box-shadow:0 1px 2px #0002}\n"
	          ".tile .v{font-size:24px;font-weight:600}.tile .l{color:#5b6b7c;font-size:12px;text-transform:uppercase}\n"
	          ".ok .v{color:#1a7f37}.bad .v{color:#c62828}.warn .v{color:#b26a00}\n"
	          "section{background:#fff;border-radius:6px;padding:12px 16px;margin-bottom:16px;box-shadow:0 1px 2px #0002}\n"
	          "h2{font-size:15px;margin:0 0 8px}table{border-collapse:collapse;width:100%}\n"
	          "th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e8ee;font-size:13px}\n"
	          "th{color:#5b6b7c;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	          ".bar{height:10px;background:#c62828;border-radius:3px}.bar>div{height:10px;background:#1a7f37;border-radius:3px}\n"
	          "code{font-size:12px}.allow{color:#1a7f37}.deny{color:#c62828}\n"
	          "tr.expired td{background:#fdecea}tr.expiring td{background:#fff4e0}\n"
	          ".tag{font-size:11px;font-weight:600;border-radius:3px;padding:0 4px;margin-left:6px}\n"
	          "tr.expired .tag{background:#c62828;color:#fff}tr.expiring .tag{background:#b26a00;color:#fff}\n"
	          "tr.shadow td{color:#5b6b7c;font-style:italic}tr.shadow .tag{background:#5b6b7c;color:#fff;font-style:normal}\n"
	          ".alert{border-radius:6px;padding:10px 16px;margin-bottom:16px;background:#eef1f4}\n"
	          ".alert.bad{background:#fdecea;border-left:4px solid #c62828}\n"
	          ".alert code{white-space:pre-wrap}\n"
	          "svg.chart{width:100%;height:auto;display:block}.legend{font-size:12px;color:#5b6b7c}\n"
	          ".legend span{margin-right:14px;white-space:nowrap}.legend svg{vertical-align:middle;margin-right:4px}\n"
	          ".hidden-note{color:#5b6b7c;font-size:12px;margin-top:4px}\n"
	          "</style></head><body>\n<header><h1>certspoa</h1>");
	sbuf_printf(b, "<span>version %s</span><span>config generation %.0f</span>", CERTSPOA_VERSION,
	            s->v[ST_GENERATION]);
	fmt_time((int64_t)s->now, t, sizeof(t));
	sbuf_printf(b, "<span>%s</span>%s</header>\n<main>\n", t,
	            s->partial ? "<span> (partial: a worker did not answer)</span>" : "");
}

static void html_tiles(const struct stats_snapshot *s, struct sbuf *b, uint64_t allow, uint64_t deny)
{
	double soon = s->v[ST_CERTS_SOONEST];
	char v[96];

	sbuf_puts(b, "<div class=\"tiles\">\n");
	fmt_duration(s->now - s->v[ST_START_TIME], v, sizeof(v));
	tile(b, "uptime", v, "");
	snprintf(v, sizeof(v), "%.0f", s->v[ST_CONNS]);
	tile(b, "SPOP connections", v, "");
	snprintf(v, sizeof(v), "%.1f", s->rate);
	tile(b, "decisions / s", v, "");
	snprintf(v, sizeof(v), "%llu", (unsigned long long)allow);
	tile(b, "allowed", v, "ok");
	snprintf(v, sizeof(v), "%llu", (unsigned long long)deny);
	tile(b, "denied", v, deny ? "bad" : "");
	fmt_us(stats_percentile(s, 0.5), v, sizeof(v));
	tile(b, "latency p50", v, "");
	fmt_us(stats_percentile(s, 0.99), v, sizeof(v));
	tile(b, "latency p99", v, "");
	snprintf(v, sizeof(v), "%.0f", s->v[ST_CERTS]);
	tile(b, "client certificates", v, "");
	stats_fmt_relative((int64_t)soon, s->now, v, sizeof(v));
	tile(b, "soonest expiry", v, soon > 0 && soon <= s->now ? "bad" :
	     soon > 0 && soon - s->now < EXPIRY_WARN_SECS ? "warn" : "");
	snprintf(v, sizeof(v), "%.0f / %.0f", s->v[ST_RELOADS], s->v[ST_RELOAD_FAILURES]);
	tile(b, "reloads / failed", v, s->v[ST_LAST_RELOAD_OK] ? "" : "bad");
	sbuf_puts(b, "</div>\n");
}

static void html_decisions(const struct stats_snapshot *s, struct sbuf *b, uint64_t allow, uint64_t deny)
{
	int hidden = 0;

	sbuf_puts(b, "<section><h2>Allow / deny</h2>");
	sbuf_printf(b, "<div class=\"bar\"><div style=\"width:%.1f%%\"></div></div>",
	            allow + deny ? 100.0 * (double)allow / (double)(allow + deny) : 0.0);
	sbuf_puts(b, "<table><tr><th>code</th><th>verdict</th><th>reason</th><th class=\"n\">count</th></tr>\n");
	for (int k = 0; k < DEC_CODES; k++) {
		if (!s->by_code[k]) {
			hidden++;
			continue;
		}
		sbuf_printf(b, "<tr><td><code>%s</code></td><td class=\"%s\">%s</td><td>%s</td><td class=\"n\">%llu</td></tr>\n",
		            dec_table[k].code, k ? "deny" : "allow", k ? "deny" : "allow",
		            dec_table[k].reason, (unsigned long long)s->by_code[k]);
	}
	if (hidden == DEC_CODES)
		sbuf_puts(b, "<tr><td colspan=\"4\">no decisions yet</td></tr>\n");
	sbuf_puts(b, "</table>");
	if (hidden)
		sbuf_printf(b, "<div class=\"hidden-note\" id=\"zero-codes\">%d codes with no decisions not shown</div>",
		            hidden);
	sbuf_puts(b, "</section>\n");
}

static void html_policies(const struct stats_snapshot *s, struct sbuf *b)
{
	char t1[40], t2[40];

	sbuf_puts(b, "<section><h2>Policies</h2><table><tr><th>policy</th>"
	          "<th class=\"n\">allowed</th><th class=\"n\">denied</th><th class=\"n\">thumbprints</th>"
	          "<th>CRL age</th><th>CRL next update</th></tr>\n");
	for (int i = 0; i < s->npolicies; i++) {
		sbuf_puts(b, "<tr><td>");
		sbuf_html(b, s->policies[i].name);
		sbuf_printf(b, "</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td><td class=\"n\">",
		            (unsigned long long)s->policies[i].allow, (unsigned long long)s->policies[i].deny);
		if (s->policies[i].thumbprints >= 0)
			sbuf_printf(b, "%ld", s->policies[i].thumbprints);
		else
			sbuf_puts(b, "-");
		if (s->policies[i].crls) {
			fmt_duration(s->now - (double)s->policies[i].crl_last_update, t1, sizeof(t1));
			fmt_time(s->policies[i].crl_next_update, t2, sizeof(t2));
			sbuf_printf(b, "</td><td>%s</td><td>%s</td></tr>\n", t1, t2);
		} else {
			sbuf_puts(b, "</td><td>-</td><td>-</td></tr>\n");
		}
	}
	sbuf_puts(b, "</table></section>\n");
}

static void html_denials(const struct stats_snapshot *s, struct sbuf *b)
{
	char t1[40];

	sbuf_puts(b, "<section><h2>Recent denials</h2><table><tr><th>time</th><th>code</th><th>rule</th>"
	          "<th>policy</th><th>subject</th><th>source</th><th>request id</th><th>detail</th></tr>\n");
	for (int i = 0; i < s->ndenials; i++) {
		const struct stats_denial *d = &s->denials[i];

		fmt_time(d->time, t1, sizeof(t1));
		/* a shadow denial was let through: what enforce mode would say */
		sbuf_printf(b, "<tr%s><td>%s</td><td><code>%s</code>%s</td><td><code>", d->shadow ?
		            " class=\"shadow\"" : "", t1,
		            d->code >= 0 && d->code < DEC_CODES ? dec_table[d->code].code : "?",
		            d->shadow ? " <span class=\"tag\" title=\"shadow mode: let through, "
		            "enforce would deny\">shadow</span>" : "");
		sbuf_html(b, d->rule[0] ? d->rule : "-");
		sbuf_puts(b, "</code></td><td>");
		sbuf_html(b, d->policy);
		sbuf_puts(b, "</td><td>");
		sbuf_html(b, d->subject[0] ? d->subject : "-");
		sbuf_puts(b, "</td><td>");
		sbuf_html(b, d->src[0] ? d->src : "-");
		sbuf_puts(b, "</td><td><code>");
		sbuf_html(b, d->req_id[0] ? d->req_id : "-");
		sbuf_puts(b, "</code></td><td>");
		sbuf_html(b, d->detail);
		sbuf_puts(b, "</td></tr>\n");
	}
	if (!s->ndenials)
		sbuf_puts(b, "<tr><td colspan=\"8\">none</td></tr>\n");
	sbuf_puts(b, "</table></section>\n");
}

#ifdef STATS_SHOW_RTDENIES
/* The runtime deny list (admin socket: add deny / del deny), in force now.
 * Compiled once the runtime API's snapshot fields exist (stats.h). */
static void html_runtime_denies(const struct stats_snapshot *s, struct sbuf *b)
{
	char rel[40], added[40];

	sbuf_printf(b, "<section id=\"runtime-denies\"><h2>Runtime denies (%d, admin socket)</h2>"
	            "<table><tr><th>kind</th><th>value</th><th>expires</th><th>added</th>"
	            "<th>origin</th><th>comment</th></tr>\n", s->nrtdenies);
	for (int i = 0; i < s->nrtdenies; i++) {
		const struct rtdeny_entry *e = &s->rtdenies[i];

		if (e->expires)
			stats_fmt_relative(e->expires, s->now, rel, sizeof(rel));
		else
			snprintf(rel, sizeof(rel), "never");
		stats_fmt_relative(e->added, s->now, added, sizeof(added));
		sbuf_printf(b, "<tr><td>%s</td><td><code>", rtdeny_kind_name(e->kind));
		sbuf_html(b, e->value);
		sbuf_printf(b, "</code></td><td>%s</td><td>%s</td><td>", rel, added);
		sbuf_html(b, e->origin);
		sbuf_puts(b, "</td><td>");
		sbuf_html(b, e->comment);
		sbuf_puts(b, "</td></tr>\n");
	}
	if (!s->nrtdenies)
		sbuf_puts(b, "<tr><td colspan=\"6\">none</td></tr>\n");
	sbuf_puts(b, "</table></section>\n");
}
#endif

static void html_certs(const struct stats_snapshot *s, struct sbuf *b)
{
	char t1[40], t2[40];

	sbuf_puts(b, "<section><h2>Client certificates (most recently seen first)</h2>"
	          "<table><tr><th>subject</th><th>SHA-256</th><th>expires</th><th>last seen</th>"
	          "<th class=\"n\">requests</th><th>last verdict</th></tr>\n");
	for (int i = 0; i < s->ncerts; i++) {
		const struct stats_cert *c = &s->certs[i];
		const char *cls = expiry_class(c->not_after, s->now);
		char hex[65], rel[40], abs[40];

		cert_hex(c->sha256, 32, hex);
		fmt_time(c->not_after, abs, sizeof(abs));
		stats_fmt_relative(c->not_after, s->now, rel, sizeof(rel));
		snprintf(t1, sizeof(t1), "%s", rel);
		stats_fmt_relative(c->last_seen, s->now, t2, sizeof(t2));
		sbuf_printf(b, "<tr%s%s%s><td>", *cls ? " class=\"" : "", cls, *cls ? "\"" : "");
		sbuf_html(b, c->subject);
		sbuf_printf(b, "</td><td><code title=\"%s\">%.16s&hellip;</code></td>"
		            "<td class=\"expiry\" title=\"%s\">%s%s%s%s</td><td>%s</td>"
		            "<td class=\"n\">%llu</td><td class=\"%s\">%s</td></tr>\n",
		            hex, hex, abs, t1, *cls ? " <span class=\"tag\">" : "",
		            *cls ? (strcmp(cls, "expired") == 0 ? "expired" : "expires soon") : "", *cls ? "</span>" : "",
		            t2, (unsigned long long)c->requests,
		            c->last_code == DEC_ALLOW ? "allow" : "deny",
		            c->last_code >= 0 && c->last_code < DEC_CODES ? dec_table[c->last_code].code : "?");
	}
	if (!s->ncerts)
		sbuf_puts(b, "<tr><td colspan=\"6\">none yet</td></tr>\n");
	sbuf_puts(b, "</table></section>\n");
}

/* A row of two figures, left out when both are zero. */
static void spop_row(struct sbuf *b, const char *label, double x, double y)
{
	if (x || y)
		sbuf_printf(b, "<tr><td>%s</td><td class=\"n\">%.0f / %.0f</td></tr>", label, x, y);
}

/* One row per OCSP responder; red when its last fetches failed. */
static void html_ocsp(const struct stats_snapshot *s, struct sbuf *b)
{
	char t1[40], t2[40];

	if (!s->nresp && !s->ocsp.hits && !s->ocsp.misses)
		return;
	sbuf_printf(b, "<section><h2>OCSP responders</h2><p>answers cached / fetched: "
	            "%.0f / %.0f &middot; waiting now: %.0f &middot; timed out: %.0f</p>"
	            "<table><tr><th>responder</th><th>state</th><th class=\"n\">ok</th>"
	            "<th class=\"n\">failed</th><th class=\"n\">in a row</th><th>last ok</th>"
	            "<th>last failure</th><th class=\"n\">mean fetch</th></tr>\n",
	            s->v[ST_OCSP_HITS], s->v[ST_OCSP_MISSES], s->v[ST_OCSP_DEFERRED_NOW],
	            s->v[ST_OCSP_DEFERRED_TIMEOUTS]);
	for (int i = 0; i < s->nresp; i++) {
		const struct ocsp_responder *r = &s->resp[i];
		int failing = r->consecutive_failures > 0;

		fmt_time(r->last_ok, t1, sizeof(t1));
		fmt_time(r->last_failure, t2, sizeof(t2));
		sbuf_puts(b, "<tr><td><code>");
		sbuf_html(b, r->url);
		sbuf_printf(b, "</code></td><td class=\"%s\">%s</td><td class=\"n\">%llu</td>"
		            "<td class=\"n\">%llu</td><td class=\"n\">%u</td><td>%s</td><td>%s",
		            failing ? "deny" : "allow", failing ? "failing" : "ok",
		            (unsigned long long)r->ok, (unsigned long long)r->failed,
		            r->consecutive_failures, r->last_ok ? t1 : "-", r->last_failure ? t2 : "-");
		if (r->last_error[0]) {
			sbuf_puts(b, ": ");
			sbuf_html(b, r->last_error);
		}
		sbuf_printf(b, "</td><td class=\"n\">%.0f ms</td></tr>\n",
		            r->ok + r->failed ? (double)r->lat_sum_ms / (double)(r->ok + r->failed) : 0.0);
	}
	if (!s->nresp)
		sbuf_puts(b, "<tr><td colspan=\"8\">no fetch yet</td></tr>\n");
	sbuf_puts(b, "</table></section>\n");
}

static void html_spop(const struct stats_snapshot *s, struct sbuf *b)
{
	sbuf_puts(b, "<section><h2>SPOP</h2><table>");
	spop_row(b, "connections accepted / refused", s->v[ST_CONNS_TOTAL], s->v[ST_CONNS_REFUSED]);
	spop_row(b, "hellos / health checks", s->v[ST_HELLOS], s->v[ST_HEALTHCHECKS]);
	spop_row(b, "NOTIFY frames / in flight", s->v[ST_NOTIFY], s->v[ST_INFLIGHT]);
	spop_row(b, "cache hits / misses", s->v[ST_CACHE_HITS], s->v[ST_CACHE_MISSES]);
	for (int k = 1; k < SPOP_ST_COUNT; k++)
		if (s->spop_errors[k])
			sbuf_printf(b, "<tr><td>protocol errors: %s (status %d)</td><td class=\"n\">%llu</td></tr>",
			            spop_status_str((unsigned int)k), k, (unsigned long long)s->spop_errors[k]);
	if (!s->v[ST_CONNS_TOTAL] && !s->v[ST_CONNS_REFUSED])
		sbuf_puts(b, "<tr><td colspan=\"2\">no SPOP connection yet</td></tr>");
	sbuf_puts(b, "</table></section>\n");
}

/* The last refused reload: what the log said, so nobody has to grep it. */
static void html_reload_error(const struct stats_snapshot *s, struct sbuf *b)
{
	char when[40], rel[40];

	if (!s->last_reload_error[0])
		return;
	fmt_time((int64_t)s->last_reload_error_time, when, sizeof(when));
	stats_fmt_relative((int64_t)s->last_reload_error_time, s->now, rel, sizeof(rel));
	if (!s->v[ST_LAST_RELOAD_OK])
		sbuf_printf(b, "<div class=\"alert bad\" id=\"reload-error\"><b>The last reload failed</b> "
		            "(%s, %s); still serving generation %.0f: <code>", when, rel, s->v[ST_GENERATION]);
	else
		sbuf_printf(b, "<div class=\"alert\" id=\"reload-error\">The last refused reload "
		            "(%s, %s), since fixed: <code>", when, rel);
	sbuf_html(b, s->last_reload_error);
	sbuf_puts(b, "</code></div>\n");
}

/* ---- the chart: decisions per second by code, last 15 minutes ---- */

#define CH_W 900
#define CH_H 200
#define CH_L 48          /* room for the y labels */
#define CH_R 8
#define CH_T 10
#define CH_B 22          /* room for the x labels */
#define CH_SPAN ((double)STATS_RING_STEP * STATS_RING_SLOTS)

static const char *const chart_colors[] = {
	"#c62828", "#b26a00", "#6a1b9a", "#0b5cad", "#00838f", "#ad1457", "#5d4037", "#455a64",
};

static const char *code_color(int k)
{
	if (k == DEC_ALLOW)
		return "#1a7f37";
	return chart_colors[(k - 1) % (int)(sizeof(chart_colors) / sizeof(chart_colors[0]))];
}

/* 1, 2 or 5 times a power of ten, at least v (and at least 1). */
static double nice_ceiling(double v)
{
	double p = 1;

	if (v <= 1)
		return 1;
	while (p * 10 < v)
		p *= 10;
	return v <= p ? p : v <= 2 * p ? 2 * p : v <= 5 * p ? 5 * p : 10 * p;
}

static double chart_x(const struct stats_snapshot *s, int64_t t)
{
	double x = CH_L + ((double)t - (s->now - CH_SPAN)) / CH_SPAN * (CH_W - CH_L - CH_R);

	return x < CH_L ? CH_L : x > CH_W - CH_R ? CH_W - CH_R : x;
}

static double chart_y(double rate, double ymax)
{
	return CH_T + (CH_H - CH_T - CH_B) * (1.0 - rate / ymax);
}

static double sample_rate(const struct stats_sample *h, int code)
{
	uint64_t n = 0;

	if (code >= 0)
		n = h->n[code];
	else
		for (int k = 0; k < DEC_CODES; k++)
			n += h->n[k];
	return h->dt > 0 ? (double)n / h->dt : 0;
}

/* One series as a step line: code, or -1 for all decisions. */
static void chart_series(const struct stats_snapshot *s, struct sbuf *b, int code, double ymax)
{
	sbuf_printf(b, "<polyline data-code=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s points=\"",
	            code < 0 ? "all" : dec_table[code].code, code < 0 ? "#1d2733" : code_color(code),
	            code < 0 ? "1.5" : "2", code < 0 ? " stroke-dasharray=\"4 3\"" : "");
	for (int i = 0; i < s->nhistory; i++) {
		const struct stats_sample *h = &s->history[i];
		double y = chart_y(sample_rate(h, code), ymax);

		sbuf_printf(b, "%s%.1f,%.1f %.1f,%.1f", i ? " " : "", chart_x(s, h->t - h->dt), y,
		            chart_x(s, h->t), y);
	}
	sbuf_puts(b, "\"/>\n");
}

static void html_chart(const struct stats_snapshot *s, struct sbuf *b)
{
	uint64_t total[DEC_CODES] = { 0 };
	double ymax = 0;
	static const char *const xlab[] = { "-15 min", "-10 min", "-5 min", "now" };

	for (int i = 0; i < s->nhistory; i++) {
		double r = sample_rate(&s->history[i], -1);

		if (r > ymax)
			ymax = r;
		for (int k = 0; k < DEC_CODES; k++)
			total[k] += s->history[i].n[k];
	}
	ymax = nice_ceiling(ymax);
	sbuf_printf(b, "<section id=\"trend\"><h2>Decisions per second by code, last 15 minutes</h2>"
	            "<svg class=\"chart\" id=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" "
	            "aria-label=\"decisions per second by code over the last 15 minutes\">\n", CH_W, CH_H);
	for (int g = 0; g <= 2; g++) {
		double v = ymax * g / 2, y = chart_y(v, ymax);

		sbuf_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e8ee\"/>"
		            "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" fill=\"#5b6b7c\" text-anchor=\"end\">%g/s</text>\n",
		            CH_L, CH_W - CH_R, y, y, CH_L - 4, y + 4, v);
	}
	for (int i = 0; i < 4; i++)
		sbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" fill=\"#5b6b7c\" text-anchor=\"%s\">%s</text>\n",
		            CH_L + (CH_W - CH_L - CH_R) * i / 3.0, CH_H - 6,
		            i == 0 ? "start" : i == 3 ? "end" : "middle", xlab[i]);
	if (s->nhistory) {
		chart_series(s, b, -1, ymax);
		for (int k = 0; k < DEC_CODES; k++)
			if (total[k])
				chart_series(s, b, k, ymax);
	}
	sbuf_puts(b, "</svg>\n<div class=\"legend\">");
	if (!s->nhistory)
		sbuf_puts(b, "<span>no sample yet</span>");
	else
		sbuf_puts(b, "<span><svg width=\"18\" height=\"4\"><line x1=\"0\" x2=\"18\" y1=\"2\" y2=\"2\" "
		          "stroke=\"#1d2733\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/></svg>all decisions</span>");
	for (int k = 0; k < DEC_CODES; k++)
		if (total[k])
			sbuf_printf(b, "<span data-code=\"%s\"><svg width=\"10\" height=\"10\"><rect width=\"10\" "
			            "height=\"10\" fill=\"%s\"/></svg>%s %llu</span>", dec_table[k].code,
			            code_color(k), dec_table[k].code, (unsigned long long)total[k]);
	sbuf_printf(b, "<span>one sample every %d s</span></div></section>\n", STATS_RING_STEP);
}

void stats_render_html(const struct stats_snapshot *s, struct sbuf *b)
{
	uint64_t allow = s->by_code[DEC_ALLOW], deny = 0;

	for (int k = 1; k < DEC_CODES; k++)
		deny += s->by_code[k];
	html_head(s, b);
	html_reload_error(s, b);
	html_tiles(s, b, allow, deny);
	html_chart(s, b);
	html_decisions(s, b, allow, deny);
	html_policies(s, b);
	html_denials(s, b);
#ifdef STATS_SHOW_RTDENIES
	html_runtime_denies(s, b);
#endif
	/* revocation sources (CRL/OCSP fetching) get their section here */
	html_certs(s, b);
	html_ocsp(s, b);
	html_spop(s, b);
	revoc_render_html(s->crl_sources, s->ncrl_sources, (int64_t)s->now, b);
	sbuf_puts(b, "<p style=\"color:#5b6b7c\">Also: <a href=\"/config\">/config</a> &middot; "
	          "<a href=\"/metrics\">/metrics</a> &middot; <a href=\"/stats.json\">/stats.json</a> "
	          "&middot; refreshes every 5 s</p>\n</main></body></html>\n");
}
