/* Stats as a self-contained HTML page (/), refreshed every 5 s: a header,
 * tiles of the main figures, then one section per table. Every string that
 * came from outside (subjects, details, policy names) goes through
 * sbuf_html(). See stats.h. */
#include <stdio.h>
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
	fmt_time((int64_t)soon, v, sizeof(v));
	tile(b, "soonest expiry", v, soon > 0 && soon - s->now < 14 * 86400 ? "warn" : "");
	snprintf(v, sizeof(v), "%.0f / %.0f", s->v[ST_RELOADS], s->v[ST_RELOAD_FAILURES]);
	tile(b, "reloads / failed", v, s->v[ST_LAST_RELOAD_OK] ? "" : "bad");
	sbuf_puts(b, "</div>\n");
}

static void html_decisions(const struct stats_snapshot *s, struct sbuf *b, uint64_t allow, uint64_t deny)
{
	sbuf_puts(b, "<section><h2>Allow / deny</h2>");
	sbuf_printf(b, "<div class=\"bar\"><div style=\"width:%.1f%%\"></div></div>",
	            allow + deny ? 100.0 * (double)allow / (double)(allow + deny) : 0.0);
	sbuf_puts(b, "<table><tr><th>code</th><th>verdict</th><th>reason</th><th class=\"n\">count</th></tr>\n");
	for (int k = 0; k < DEC_CODES; k++)
		sbuf_printf(b, "<tr><td><code>%s</code></td><td class=\"%s\">%s</td><td>%s</td><td class=\"n\">%llu</td></tr>\n",
		            dec_table[k].code, k ? "deny" : "allow", k ? "deny" : "allow",
		            dec_table[k].reason, (unsigned long long)s->by_code[k]);
	sbuf_puts(b, "</table></section>\n");
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

	sbuf_puts(b, "<section><h2>Recent denials</h2><table><tr><th>time</th><th>code</th>"
	          "<th>policy</th><th>subject</th><th>source</th><th>detail</th></tr>\n");
	for (int i = 0; i < s->ndenials; i++) {
		const struct stats_denial *d = &s->denials[i];

		fmt_time(d->time, t1, sizeof(t1));
		sbuf_printf(b, "<tr><td>%s</td><td><code>%s</code></td><td>", t1,
		            d->code >= 0 && d->code < DEC_CODES ? dec_table[d->code].code : "?");
		sbuf_html(b, d->policy);
		sbuf_puts(b, "</td><td>");
		sbuf_html(b, d->subject[0] ? d->subject : "-");
		sbuf_puts(b, "</td><td>");
		sbuf_html(b, d->src[0] ? d->src : "-");
		sbuf_puts(b, "</td><td>");
		sbuf_html(b, d->detail);
		sbuf_puts(b, "</td></tr>\n");
	}
	if (!s->ndenials)
		sbuf_puts(b, "<tr><td colspan=\"6\">none</td></tr>\n");
	sbuf_puts(b, "</table></section>\n");
}

static void html_certs(const struct stats_snapshot *s, struct sbuf *b)
{
	char t1[40], t2[40];

	sbuf_puts(b, "<section><h2>Client certificates (most recently seen first)</h2>"
	          "<table><tr><th>subject</th><th>SHA-256</th><th>not after</th><th>last seen</th>"
	          "<th class=\"n\">requests</th><th>last verdict</th></tr>\n");
	for (int i = 0; i < s->ncerts; i++) {
		const struct stats_cert *c = &s->certs[i];
		char hex[65];

		cert_hex(c->sha256, 32, hex);
		fmt_time(c->not_after, t1, sizeof(t1));
		fmt_time(c->last_seen, t2, sizeof(t2));
		sbuf_puts(b, "<tr><td>");
		sbuf_html(b, c->subject);
		sbuf_printf(b, "</td><td><code title=\"%s\">%.16s&hellip;</code></td><td>%s</td><td>%s</td>"
		            "<td class=\"n\">%llu</td><td class=\"%s\">%s</td></tr>\n",
		            hex, hex, t1, t2, (unsigned long long)c->requests,
		            c->last_code == DEC_ALLOW ? "allow" : "deny",
		            c->last_code >= 0 && c->last_code < DEC_CODES ? dec_table[c->last_code].code : "?");
	}
	if (!s->ncerts)
		sbuf_puts(b, "<tr><td colspan=\"6\">none yet</td></tr>\n");
	sbuf_puts(b, "</table></section>\n");
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
	sbuf_printf(b, "<section><h2>SPOP</h2><table>"
	            "<tr><td>connections accepted / refused</td><td class=\"n\">%.0f / %.0f</td></tr>"
	            "<tr><td>hellos / health checks</td><td class=\"n\">%.0f / %.0f</td></tr>"
	            "<tr><td>NOTIFY frames / in flight</td><td class=\"n\">%.0f / %.0f</td></tr>"
	            "<tr><td>cache hits / misses</td><td class=\"n\">%.0f / %.0f</td></tr>",
	            s->v[ST_CONNS_TOTAL], s->v[ST_CONNS_REFUSED], s->v[ST_HELLOS], s->v[ST_HEALTHCHECKS],
	            s->v[ST_NOTIFY], s->v[ST_INFLIGHT], s->v[ST_CACHE_HITS], s->v[ST_CACHE_MISSES]);
	for (int k = 1; k < SPOP_ST_COUNT; k++)
		if (s->spop_errors[k])
			sbuf_printf(b, "<tr><td>protocol errors: %s (status %d)</td><td class=\"n\">%llu</td></tr>",
			            spop_status_str((unsigned int)k), k, (unsigned long long)s->spop_errors[k]);
	sbuf_puts(b, "</table></section>\n");
}

void stats_render_html(const struct stats_snapshot *s, struct sbuf *b)
{
	uint64_t allow = s->by_code[DEC_ALLOW], deny = 0;

	for (int k = 1; k < DEC_CODES; k++)
		deny += s->by_code[k];
	html_head(s, b);
	html_tiles(s, b, allow, deny);
	html_decisions(s, b, allow, deny);
	html_policies(s, b);
	html_denials(s, b);
	html_certs(s, b);
	html_ocsp(s, b);
	html_spop(s, b);
	revoc_render_html(s->crl_sources, s->ncrl_sources, (int64_t)s->now, b);
	sbuf_puts(b, "<p style=\"color:#5b6b7c\">Also: <a href=\"/metrics\">/metrics</a> "
	          "&middot; <a href=\"/stats.json\">/stats.json</a> &middot; refreshes every 5 s</p>\n"
	          "</main></body></html>\n");
}
