/* Stats as one JSON document (/stats.json). See stats.h. */
#include <string.h>

#include "cert.h"
#include "ocsp.h"
#include "rules.h"
#include "sbuf.h"
#include "spop.h"
#include "stats.h"

static const char *short_name(const char *name)
{
	return strncmp(name, "certspoa_", 9) == 0 ? name + 9 : name;
}

/* The non-zero counters of a code x rule table, as {code, rule, count}. */
static void rule_counts(const uint64_t (*t)[RULE_COUNT], struct sbuf *b)
{
	int first = 1;

	for (int k = 0; k < DEC_CODES; k++)
		for (int r = 0; r < RULE_COUNT; r++) {
			if (!t[k][r])
				continue;
			sbuf_printf(b, "%s{\"code\":\"%s\",\"rule\":\"%s\",\"count\":%llu}",
			            first ? "" : ",", dec_table[k].code, rule_names[r],
			            (unsigned long long)t[k][r]);
			first = 0;
		}
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
	sbuf_puts(b, "},\"decisions_by_rule\":[");
	rule_counts(s->by_rule, b);
	sbuf_puts(b, "],\"shadow_denials\":[");
	rule_counts(s->shadow, b);
	sbuf_puts(b, "],\"policies\":[");
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
	sbuf_printf(b, "],\"ocsp\":{\"hits\":%llu,\"misses\":%llu,\"refreshes\":%llu,\"answers\":{",
	            (unsigned long long)s->ocsp.hits, (unsigned long long)s->ocsp.misses,
	            (unsigned long long)s->ocsp.refreshes);
	for (int k = 0; k < OCSP_STATUSES; k++)
		sbuf_printf(b, "%s\"%s\":%llu", k ? "," : "", ocsp_status_names[k],
		            (unsigned long long)s->ocsp.by_status[k]);
	sbuf_puts(b, "},\"responders\":[");
	for (int i = 0; i < s->nresp; i++) {
		const struct ocsp_responder *r = &s->resp[i];

		sbuf_puts(b, i ? ",{\"url\":\"" : "{\"url\":\"");
		sbuf_json(b, r->url);
		sbuf_printf(b, "\",\"ok\":%llu,\"failed\":%llu,\"consecutive_failures\":%u,"
		            "\"last_ok\":%lld,\"last_failure\":%lld,\"last_error\":\"",
		            (unsigned long long)r->ok, (unsigned long long)r->failed,
		            r->consecutive_failures, (long long)r->last_ok, (long long)r->last_failure);
		sbuf_json(b, r->last_error);
		sbuf_printf(b, "\",\"mean_fetch_seconds\":%.3f}",
		            r->ok + r->failed ? (double)r->lat_sum_ms / 1e3 / (double)(r->ok + r->failed) : 0.0);
	}
	sbuf_puts(b, "]},\"spop_errors\":{");
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

		cert_hex(c->sha256, 32, hex);
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
		sbuf_printf(b, "\",\"sha256\":\"%s\",\"src\":\"%s\",\"rule\":\"", d->sha256, d->src);
		sbuf_json(b, d->rule);
		sbuf_printf(b, "\",\"shadow\":%s,\"req_id\":\"", d->shadow ? "true" : "false");
		sbuf_json(b, d->req_id);
		sbuf_puts(b, "\",\"detail\":\"");
		sbuf_json(b, d->detail);
		sbuf_puts(b, "\"}");
	}
	sbuf_puts(b, "],\"runtime_denies\":[");
	for (int i = 0; i < s->nrtdenies; i++) {
		const struct rtdeny_entry *e = &s->rtdenies[i];

		sbuf_printf(b, "%s{\"kind\":\"%s\",\"value\":\"", i ? "," : "", rtdeny_kind_name(e->kind));
		sbuf_json(b, e->value);
		sbuf_printf(b, "\",\"expires\":%lld,\"added\":%lld,\"comment\":\"",
		            (long long)e->expires, (long long)e->added);
		sbuf_json(b, e->comment);
		sbuf_puts(b, "\",\"origin\":\"");
		sbuf_json(b, e->origin);
		sbuf_puts(b, "\"}");
	}
	sbuf_puts(b, "]");
	sbuf_puts(b, ",\"config_sha256\":\"");
	sbuf_json(b, s->config_sha256);
	sbuf_puts(b, "\",\"last_reload_error\":");
	if (s->last_reload_error[0]) {
		sbuf_printf(b, "{\"time\":%.3f,\"message\":\"", s->last_reload_error_time);
		sbuf_json(b, s->last_reload_error);
		sbuf_puts(b, "\"}");
	} else {
		sbuf_puts(b, "null");
	}
	/* decisions by code, one sample every step seconds, oldest first;
	 * the last one is the interval still running (dt shorter); codes
	 * with no decision in a sample are left out */
	sbuf_printf(b, ",\"history\":{\"step\":%d,\"window\":%d,\"samples\":[", STATS_RING_STEP,
	            STATS_RING_STEP * STATS_RING_SLOTS);
	for (int i = 0; i < s->nhistory; i++) {
		const struct stats_sample *h = &s->history[i];
		uint64_t all = 0;
		int first = 1;

		for (int k = 0; k < DEC_CODES; k++)
			all += h->n[k];
		sbuf_printf(b, "%s{\"t\":%lld,\"dt\":%d,\"decisions\":%llu,\"by_code\":{", i ? "," : "",
		            (long long)h->t, h->dt, (unsigned long long)all);
		for (int k = 0; k < DEC_CODES; k++) {
			if (!h->n[k])
				continue;
			sbuf_printf(b, "%s\"%s\":%llu", first ? "" : ",", dec_table[k].code,
			            (unsigned long long)h->n[k]);
			first = 0;
		}
		sbuf_puts(b, "}}");
	}
	sbuf_puts(b, "]}");
	sbuf_puts(b, ",\"crl_sources\":");
	revoc_render_json(s->crl_sources, s->ncrl_sources, (int64_t)s->now, b);
	sbuf_puts(b, "}\n");
}
