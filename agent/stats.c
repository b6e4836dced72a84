/* Stats collection and rendering. See stats.h. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "cert.h"
#include "counter.h"
#include "rules.h"
#include "spop.h"
#include "stats.h"
#include "tplist.h"
#include "worker.h"

const struct stat_def stat_defs[ST_COUNT] = {
	[ST_START_TIME]          = { "certspoa_start_time_seconds", STAT_GAUGE, "Unix time the agent started" },
	[ST_GENERATION]          = { "certspoa_config_generation", STAT_GAUGE, "Configuration generation in use (1 at start, +1 per successful reload)" },
	[ST_RELOADS]             = { "certspoa_config_reloads_total", STAT_COUNTER, "Successful configuration reloads" },
	[ST_RELOAD_FAILURES]     = { "certspoa_config_reload_failures_total", STAT_COUNTER, "Reloads refused because the new configuration or a file it names was invalid" },
	[ST_LAST_RELOAD]         = { "certspoa_config_last_reload_timestamp_seconds", STAT_GAUGE, "Unix time of the last reload attempt (0 = none)" },
	[ST_LAST_RELOAD_OK]      = { "certspoa_config_last_reload_success", STAT_GAUGE, "1 if the last reload attempt succeeded (or none was made), else 0" },
	[ST_WORKERS]             = { "certspoa_worker_threads", STAT_GAUGE, "Worker threads serving SPOP" },
	[ST_CONNS]               = { "certspoa_spop_connections", STAT_GAUGE, "SPOP connections open now" },
	[ST_CONNS_TOTAL]         = { "certspoa_spop_connections_accepted_total", STAT_COUNTER, "SPOP connections accepted" },
	[ST_CONNS_REFUSED]       = { "certspoa_spop_connections_refused_total", STAT_COUNTER, "SPOP connections closed at once (max_connections, no file descriptors)" },
	[ST_HELLOS]              = { "certspoa_spop_hellos_total", STAT_COUNTER, "HAPROXY-HELLO handshakes completed, health checks included" },
	[ST_HEALTHCHECKS]        = { "certspoa_spop_healthchecks_total", STAT_COUNTER, "SPOP health checks answered" },
	[ST_HAPROXY_DISCONNECTS] = { "certspoa_spop_haproxy_disconnects_total", STAT_COUNTER, "HAPROXY-DISCONNECT frames received" },
	[ST_NOTIFY]              = { "certspoa_spop_notify_frames_total", STAT_COUNTER, "NOTIFY frames answered" },
	[ST_MESSAGES]            = { "certspoa_messages_total", STAT_COUNTER, "check-client-cert messages decided" },
	[ST_UNKNOWN_MESSAGES]    = { "certspoa_messages_unknown_total", STAT_COUNTER, "SPOE messages with another name (ignored)" },
	[ST_INFLIGHT]            = { "certspoa_spop_frames_in_flight", STAT_GAUGE, "ACK frames queued and not yet written" },
	[ST_BYTES_IN]            = { "certspoa_spop_received_bytes_total", STAT_COUNTER, "SPOP bytes received" },
	[ST_BYTES_OUT]           = { "certspoa_spop_sent_bytes_total", STAT_COUNTER, "SPOP bytes sent" },
	[ST_CACHE_HITS]          = { "certspoa_cache_hits_total", STAT_COUNTER, "Decision cache hits (no certificate parsing)" },
	[ST_CACHE_MISSES]        = { "certspoa_cache_misses_total", STAT_COUNTER, "Decision cache misses (certificate parsed)" },
	[ST_CERTS]               = { "certspoa_client_certificates", STAT_GAUGE, "Distinct client certificates in the decision caches" },
	[ST_CERTS_SOONEST]       = { "certspoa_client_certificates_soonest_expiry_timestamp_seconds", STAT_GAUGE, "Earliest not_after among those last allowed (0 = none)" },
};

const struct stat_def family_defs[SF_COUNT] = {
	[SF_DECISIONS]   = { "certspoa_decisions_total", STAT_COUNTER, "Decisions by verdict and code" },
	[SF_POLICY]      = { "certspoa_policy_decisions_total", STAT_COUNTER, "Decisions by policy and verdict" },
	[SF_SPOP_ERRORS] = { "certspoa_spop_errors_total", STAT_COUNTER, "AGENT-DISCONNECT frames sent on protocol errors, by SPOP status" },
	[SF_LATENCY]     = { "certspoa_processing_seconds", STAT_HISTOGRAM, "Time to decide one message inside the agent" },
	[SF_THUMBPRINTS] = { "certspoa_thumbprints", STAT_GAUGE, "Entries in each policy's thumbprint list" },
	[SF_CRLS]        = { "certspoa_crls", STAT_GAUGE, "CRLs loaded from each policy's crl_file" },
	[SF_CRL_LAST_UPDATE] = { "certspoa_crl_last_update_timestamp_seconds", STAT_GAUGE, "Newest thisUpdate among a policy's CRLs (CRL age = now - this)" },
	[SF_CRL_NEXT_UPDATE] = { "certspoa_crl_next_update_timestamp_seconds", STAT_GAUGE, "Earliest nextUpdate among a policy's CRLs (after it, verification fails: crl has expired)" },
};

static const char *const type_names[STAT_TYPES] = {
	[STAT_COUNTER] = "counter", [STAT_GAUGE] = "gauge", [STAT_HISTOGRAM] = "histogram",
};

/* ---- collection ---- */

uint64_t stats_messages(const struct stats_agent *a)
{
	uint64_t n = 0;

	for (int i = 0; i < a->nworkers; i++)
		n += CTR_GET(a->workers[i].hc.stats.messages);
	return n;
}

static int cmp_sha(const void *x, const void *y)
{
	const struct stats_cert *a = x, *b = y;

	return memcmp(a->sha256, b->sha256, 32);
}

static int cmp_recent(const void *x, const void *y)
{
	const struct stats_cert *a = x, *b = y;

	return (a->last_seen < b->last_seen) - (a->last_seen > b->last_seen);
}

static int cmp_denial(const void *x, const void *y)
{
	const struct stats_denial *a = x, *b = y;

	return (a->time < b->time) - (a->time > b->time);
}

static void add_policy(struct stats_snapshot *s, const char *name, uint64_t allow, uint64_t deny)
{
	int i;

	for (i = 0; i < s->npolicies; i++)
		if (strcmp(s->policies[i].name, name) == 0)
			break;
	if (i == s->npolicies) {
		if (s->npolicies == CFG_MAX_POLICIES)
			return;
		s->npolicies++;
		memset(&s->policies[i], 0, sizeof(s->policies[i]));
		snprintf(s->policies[i].name, sizeof(s->policies[i].name), "%s", name);
		s->policies[i].thumbprints = -1;
	}
	s->policies[i].allow += allow;
	s->policies[i].deny += deny;
}

/* Merge the workers' inventories: dedupe by SHA-256, keep the most recent. */
static void merge_certs(const struct stats_agent *a, struct stats_snapshot *s,
                        const int *answered)
{
	struct stats_cert *all;
	size_t n = 0, total = 0, distinct = 0;
	int64_t soonest = 0;

	for (int i = 0; i < a->nworkers; i++)
		if (answered[i])
			total += a->workers[i].snap.ncerts;
	s->ncerts = 0;
	s->v[ST_CERTS] = 0;
	s->v[ST_CERTS_SOONEST] = 0;
	if (!total || !(all = malloc(total * sizeof(*all))))
		return;
	for (int i = 0; i < a->nworkers; i++) {
		if (!answered[i])
			continue;
		memcpy(all + n, a->workers[i].snap.certs, a->workers[i].snap.ncerts * sizeof(*all));
		n += a->workers[i].snap.ncerts;
	}
	qsort(all, n, sizeof(*all), cmp_sha);
	for (size_t i = 0; i < n; i++) {
		if (distinct && memcmp(all[distinct - 1].sha256, all[i].sha256, 32) == 0) {
			struct stats_cert *d = &all[distinct - 1];

			d->requests += all[i].requests;
			if (all[i].last_seen > d->last_seen) {
				d->last_seen = all[i].last_seen;
				d->last_code = all[i].last_code;
			}
			continue;
		}
		all[distinct++] = all[i];
	}
	/* the soonest expiry among certificates that are let in: a client
	 * still presenting an expired certificate is no renewal to plan */
	for (size_t i = 0; i < distinct; i++)
		if (all[i].last_code == DEC_ALLOW && (!soonest || all[i].not_after < soonest))
			soonest = all[i].not_after;
	qsort(all, distinct, sizeof(*all), cmp_recent);
	s->v[ST_CERTS] = (double)distinct;
	s->v[ST_CERTS_SOONEST] = (double)soonest;
	s->ncerts = distinct < STATS_SHOW_CERTS ? (int)distinct : STATS_SHOW_CERTS;
	memcpy(s->certs, all, (size_t)s->ncerts * sizeof(*all));
	free(all);
}

void stats_collect(const struct stats_agent *a, struct stats_snapshot *s, int wait_ms)
{
	unsigned int tickets[64];
	int answered[64] = { 0 };
	int nw = a->nworkers < 64 ? a->nworkers : 64;
	struct timespec ts;
	uint64_t deadline;

	memset(s, 0, sizeof(*s));
	clock_gettime(CLOCK_REALTIME, &ts);
	s->now = (double)ts.tv_sec + ts.tv_nsec / 1e9;

	for (int i = 0; i < nw; i++)
		tickets[i] = worker_request_snapshot(&a->workers[i]);

	s->v[ST_START_TIME] = a->start_time;
	s->v[ST_GENERATION] = a->cfg ? a->cfg->generation : 0;
	s->v[ST_RELOADS] = (double)a->reloads;
	s->v[ST_RELOAD_FAILURES] = (double)a->reload_failures;
	s->v[ST_LAST_RELOAD] = a->last_reload;
	s->v[ST_LAST_RELOAD_OK] = a->last_reload_ok;
	s->v[ST_WORKERS] = a->nworkers;
	s->rate = a->rate;
	s->v[ST_CONNS] = worker_conn_count();

	for (int i = 0; i < nw; i++) {
		const struct worker *w = &a->workers[i];
		const struct worker_stats *ws = &w->stats;
		const struct handler_stats *hs = &w->hc.stats;
		int npol = __atomic_load_n(&hs->npol, __ATOMIC_ACQUIRE);

		s->v[ST_CONNS_TOTAL] += (double)CTR_GET(ws->conns_total);
		s->v[ST_CONNS_REFUSED] += (double)CTR_GET(ws->conns_refused);
		s->v[ST_HELLOS] += (double)CTR_GET(ws->hellos);
		s->v[ST_HEALTHCHECKS] += (double)CTR_GET(ws->healthchecks);
		s->v[ST_HAPROXY_DISCONNECTS] += (double)CTR_GET(ws->haproxy_disconnects);
		s->v[ST_BYTES_IN] += (double)CTR_GET(ws->bytes_in);
		s->v[ST_BYTES_OUT] += (double)CTR_GET(ws->bytes_out);
		for (int k = 0; k < SPOP_ST_COUNT; k++)
			s->spop_errors[k] += CTR_GET(ws->errors[k]);
		s->v[ST_NOTIFY] += (double)CTR_GET(hs->notify);
		s->v[ST_MESSAGES] += (double)CTR_GET(hs->messages);
		s->v[ST_UNKNOWN_MESSAGES] += (double)CTR_GET(hs->unknown_messages);
		for (int k = 0; k < DEC_CODES; k++)
			s->by_code[k] += CTR_GET(hs->by_code[k]);
		for (int k = 0; k < HANDLER_LAT_BUCKETS; k++)
			s->lat[k] += CTR_GET(hs->lat[k]);
		s->lat_sum += (double)CTR_GET(hs->lat_sum_ns) / 1e9;
		for (int k = 0; k < npol; k++)
			add_policy(s, hs->pol_name[k], CTR_GET(hs->pol_verdict[k][1]),
			           CTR_GET(hs->pol_verdict[k][0]));
		s->v[ST_CACHE_HITS] += (double)CTR_GET(w->hc.dc.cache.hits);
		s->v[ST_CACHE_MISSES] += (double)CTR_GET(w->hc.dc.cache.misses);
	}
	/* the live config's policies, with their list sizes, even if unused */
	if (a->cfg) {
		for (const struct policy *p = a->cfg->policies; p; p = p->next) {
			add_policy(s, p->name, 0, 0);
			for (int i = 0; i < s->npolicies; i++)
				if (strcmp(s->policies[i].name, p->name) == 0) {
					s->policies[i].thumbprints = p->thumbprints ?
					                             (long)tplist_count(p->thumbprints) : -1;
					s->policies[i].crls = p->crl_count;
					s->policies[i].crl_last_update = p->crl_last_update;
					s->policies[i].crl_next_update = p->crl_next_update;
				}
		}
	}

	/* wait for the workers' own copies of inventory and denials */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + (uint64_t)wait_ms;
	for (;;) {
		int pending = 0;

		for (int i = 0; i < nw; i++)
			if (!answered[i] && !(answered[i] = worker_snapshot_ready(&a->workers[i], tickets[i])))
				pending++;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (!pending || (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 >= deadline) {
			s->partial = pending > 0;
			break;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = 500000;
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < nw; i++) {
		const struct worker_snap *ws = &a->workers[i].snap;

		if (!answered[i])
			continue;
		s->v[ST_INFLIGHT] += ws->inflight;
		for (int k = 0; k < ws->ndenials && s->ndenials < STATS_SHOW_DENIALS; k++)
			s->denials[s->ndenials++] = ws->denials[k];
	}
	qsort(s->denials, (size_t)s->ndenials, sizeof(s->denials[0]), cmp_denial);
	merge_certs(a, s, answered);
}

double stats_percentile(const struct stats_snapshot *s, double q)
{
	uint64_t total = 0, acc = 0;

	for (int i = 0; i < HANDLER_LAT_BUCKETS; i++)
		total += s->lat[i];
	if (!total)
		return -1;
	for (int i = 0; i < HANDLER_LAT_BUCKETS - 1; i++) {
		acc += s->lat[i];
		if ((double)acc >= q * (double)total)
			return handler_lat_bounds_us[i] / 1e6;
	}
	return handler_lat_bounds_us[HANDLER_LAT_BUCKETS - 2] / 1e6;   /* beyond: +Inf bucket */
}

/* ---- Prometheus text format ---- */

static void prom_head(struct sbuf *b, const struct stat_def *d)
{
	sbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", d->name, d->help, d->name, type_names[d->type]);
}

void stats_render_prometheus(const struct stats_snapshot *s, struct sbuf *b)
{
	uint64_t acc = 0;

	for (int i = 0; i < ST_COUNT; i++) {
		prom_head(b, &stat_defs[i]);
		sbuf_printf(b, "%s %.17g\n", stat_defs[i].name, s->v[i]);
	}
	prom_head(b, &family_defs[SF_DECISIONS]);
	for (int k = 0; k < DEC_CODES; k++)
		sbuf_printf(b, "%s{verdict=\"%s\",code=\"%s\"} %llu\n", family_defs[SF_DECISIONS].name,
		            k == DEC_ALLOW ? "allow" : "deny", dec_table[k].code,
		            (unsigned long long)s->by_code[k]);
	prom_head(b, &family_defs[SF_POLICY]);
	for (int i = 0; i < s->npolicies; i++) {
		for (int v = 0; v < 2; v++) {
			sbuf_printf(b, "%s{policy=\"", family_defs[SF_POLICY].name);
			sbuf_label(b, s->policies[i].name);
			sbuf_printf(b, "\",verdict=\"%s\"} %llu\n", v ? "allow" : "deny",
			            (unsigned long long)(v ? s->policies[i].allow : s->policies[i].deny));
		}
	}
	prom_head(b, &family_defs[SF_SPOP_ERRORS]);
	for (int k = 1; k < SPOP_ST_COUNT; k++) {
		if (!s->spop_errors[k] && k > SPOP_ST_RES && k != SPOP_ST_UNKNOWN)
			continue;       /* unused codes between 14 and 98 */
		sbuf_printf(b, "%s{status=\"%d\",error=\"", family_defs[SF_SPOP_ERRORS].name, k);
		sbuf_label(b, spop_status_str((unsigned int)k));
		sbuf_printf(b, "\"} %llu\n", (unsigned long long)s->spop_errors[k]);
	}
	prom_head(b, &family_defs[SF_LATENCY]);
	for (int i = 0; i < HANDLER_LAT_BUCKETS; i++) {
		acc += s->lat[i];
		if (i < HANDLER_LAT_BUCKETS - 1)
			sbuf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", family_defs[SF_LATENCY].name,
			            handler_lat_bounds_us[i] / 1e6, (unsigned long long)acc);
		else
			sbuf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", family_defs[SF_LATENCY].name,
			            (unsigned long long)acc);
	}
	sbuf_printf(b, "%s_sum %.9f\n%s_count %llu\n", family_defs[SF_LATENCY].name, s->lat_sum,
	            family_defs[SF_LATENCY].name, (unsigned long long)acc);
	prom_head(b, &family_defs[SF_THUMBPRINTS]);
	for (int i = 0; i < s->npolicies; i++) {
		if (s->policies[i].thumbprints < 0)
			continue;
		sbuf_printf(b, "%s{policy=\"", family_defs[SF_THUMBPRINTS].name);
		sbuf_label(b, s->policies[i].name);
		sbuf_printf(b, "\"} %ld\n", s->policies[i].thumbprints);
	}
	for (int f = SF_CRLS; f <= SF_CRL_NEXT_UPDATE; f++) {
		prom_head(b, &family_defs[f]);
		for (int i = 0; i < s->npolicies; i++) {
			const struct stats_policy *p = &s->policies[i];

			if (!p->crls)
				continue;
			sbuf_printf(b, "%s{policy=\"", family_defs[f].name);
			sbuf_label(b, p->name);
			sbuf_printf(b, "\"} %lld\n", f == SF_CRLS ? (long long)p->crls :
			            f == SF_CRL_LAST_UPDATE ? p->crl_last_update : p->crl_next_update);
		}
	}
}

/* ---- JSON ---- */

static const char *short_name(const char *name)
{
	return strncmp(name, "certspoa_", 9) == 0 ? name + 9 : name;
}

static void hex32(const unsigned char *sha, char out[65])
{
	cert_hex(sha, 32, out);
}

void stats_render_json(const struct stats_snapshot *s, struct sbuf *b)
{
	char hex[65];

	sbuf_printf(b, "{\"version\":\"%s\",\"now\":%.3f,\"partial\":%s,\"figures\":{",
	            CERTSPOA_VERSION, s->now, s->partial ? "true" : "false");
	for (int i = 0; i < ST_COUNT; i++)
		sbuf_printf(b, "%s\"%s\":%.17g", i ? "," : "", short_name(stat_defs[i].name), s->v[i]);
	sbuf_printf(b, "},\"decisions_per_second\":%.3f,\"decisions\":{", s->rate);
	for (int k = 0; k < DEC_CODES; k++)
		sbuf_printf(b, "%s\"%s\":%llu", k ? "," : "", dec_table[k].code,
		            (unsigned long long)s->by_code[k]);
	sbuf_puts(b, "},\"policies\":[");
	for (int i = 0; i < s->npolicies; i++) {
		sbuf_puts(b, i ? ",{\"name\":\"" : "{\"name\":\"");
		sbuf_json(b, s->policies[i].name);
		sbuf_printf(b, "\",\"allow\":%llu,\"deny\":%llu,\"thumbprints\":%ld,\"crls\":%d,"
		            "\"crl_last_update\":%lld,\"crl_next_update\":%lld}",
		            (unsigned long long)s->policies[i].allow,
		            (unsigned long long)s->policies[i].deny, s->policies[i].thumbprints,
		            s->policies[i].crls, s->policies[i].crl_last_update,
		            s->policies[i].crl_next_update);
	}
	sbuf_puts(b, "],\"spop_errors\":{");
	for (int k = 1, first = 1; k < SPOP_ST_COUNT; k++) {
		if (!s->spop_errors[k])
			continue;
		sbuf_printf(b, "%s\"%d\":{\"error\":\"%s\",\"count\":%llu}", first ? "" : ",", k,
		            spop_status_str((unsigned int)k), (unsigned long long)s->spop_errors[k]);
		first = 0;
	}
	sbuf_printf(b, "},\"processing_seconds\":{\"count\":%.0f,\"sum\":%.9f,\"p50\":%g,\"p90\":%g,\"p99\":%g,\"buckets\":[",
	            s->v[ST_MESSAGES], s->lat_sum, stats_percentile(s, 0.5),
	            stats_percentile(s, 0.9), stats_percentile(s, 0.99));
	for (int i = 0; i < HANDLER_LAT_BUCKETS; i++) {
		if (i < HANDLER_LAT_BUCKETS - 1)
			sbuf_printf(b, "%s{\"le\":%g,\"count\":%llu}", i ? "," : "",
			            handler_lat_bounds_us[i] / 1e6, (unsigned long long)s->lat[i]);
		else
			sbuf_printf(b, ",{\"le\":null,\"count\":%llu}", (unsigned long long)s->lat[i]);
	}
	sbuf_puts(b, "]},\"certificates\":[");
	for (int i = 0; i < s->ncerts; i++) {
		const struct stats_cert *c = &s->certs[i];

		hex32(c->sha256, hex);
		sbuf_printf(b, "%s{\"sha256\":\"%s\",\"subject\":\"", i ? "," : "", hex);
		sbuf_json(b, c->subject);
		sbuf_printf(b, "\",\"not_after\":%lld,\"last_seen\":%lld,\"requests\":%llu,\"last_verdict\":\"%s\",\"last_code\":\"%s\"}",
		            (long long)c->not_after, (long long)c->last_seen,
		            (unsigned long long)c->requests,
		            c->last_code == DEC_ALLOW ? "allow" : "deny",
		            c->last_code >= 0 && c->last_code < DEC_CODES ? dec_table[c->last_code].code : "?");
	}
	sbuf_puts(b, "],\"recent_denials\":[");
	for (int i = 0; i < s->ndenials; i++) {
		const struct stats_denial *d = &s->denials[i];

		sbuf_printf(b, "%s{\"time\":%lld,\"code\":\"%s\",\"policy\":\"", i ? "," : "",
		            (long long)d->time,
		            d->code >= 0 && d->code < DEC_CODES ? dec_table[d->code].code : "?");
		sbuf_json(b, d->policy);
		sbuf_puts(b, "\",\"subject\":\"");
		sbuf_json(b, d->subject);
		sbuf_printf(b, "\",\"sha256\":\"%s\",\"src\":\"%s\",\"detail\":\"", d->sha256, d->src);
		sbuf_json(b, d->detail);
		sbuf_puts(b, "\"}");
	}
	sbuf_puts(b, "]}\n");
}

/* ---- HTML ---- */

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

void stats_render_html(const struct stats_snapshot *s, struct sbuf *b)
{
	uint64_t allow = s->by_code[DEC_ALLOW], deny = 0;
	char v[96], t1[40], t2[40];
	double soon = s->v[ST_CERTS_SOONEST];

	for (int k = 1; k < DEC_CODES; k++)
		deny += s->by_code[k];
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
	fmt_time((int64_t)s->now, t1, sizeof(t1));
	sbuf_printf(b, "<span>%s</span>%s</header>\n<main>\n<div class=\"tiles\">\n", t1,
	            s->partial ? "<span> (partial: a worker did not answer)</span>" : "");

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

	sbuf_puts(b, "<section><h2>Allow / deny</h2>");
	sbuf_printf(b, "<div class=\"bar\"><div style=\"width:%.1f%%\"></div></div>",
	            allow + deny ? 100.0 * (double)allow / (double)(allow + deny) : 0.0);
	sbuf_puts(b, "<table><tr><th>code</th><th>verdict</th><th>reason</th><th class=\"n\">count</th></tr>\n");
	for (int k = 0; k < DEC_CODES; k++)
		sbuf_printf(b, "<tr><td><code>%s</code></td><td class=\"%s\">%s</td><td>%s</td><td class=\"n\">%llu</td></tr>\n",
		            dec_table[k].code, k ? "deny" : "allow", k ? "deny" : "allow",
		            dec_table[k].reason, (unsigned long long)s->by_code[k]);
	sbuf_puts(b, "</table></section>\n<section><h2>Policies</h2><table><tr><th>policy</th>"
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
	sbuf_puts(b, "</table></section>\n<section><h2>Recent denials</h2><table><tr><th>time</th><th>code</th>"
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
	sbuf_puts(b, "</table></section>\n<section><h2>Client certificates (most recently seen first)</h2>"
	          "<table><tr><th>subject</th><th>SHA-256</th><th>not after</th><th>last seen</th>"
	          "<th class=\"n\">requests</th><th>last verdict</th></tr>\n");
	for (int i = 0; i < s->ncerts; i++) {
		const struct stats_cert *c = &s->certs[i];
		char hex[65];

		hex32(c->sha256, hex);
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
	sbuf_printf(b, "</table></section>\n<section><h2>SPOP</h2><table>"
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
	sbuf_puts(b, "</table></section>\n<p style=\"color:#5b6b7c\">Also: <a href=\"/metrics\">/metrics</a> "
	          "&middot; <a href=\"/stats.json\">/stats.json</a> &middot; refreshes every 5 s</p>\n"
	          "</main></body></html>\n");
}
