/* Stats as Prometheus text (exposition format 0.0.4): every figure of
 * stat_defs[] in order, then the labelled families. See stats.h. */
#include "rules.h"
#include "sbuf.h"
#include "spop.h"
#include "stats.h"

static const char *const type_names[STAT_TYPES] = {
	[STAT_COUNTER] = "counter", [STAT_GAUGE] = "gauge", [STAT_HISTOGRAM] = "histogram",
};

static void prom_head(struct sbuf *b, const struct stat_def *d)
{
	sbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", d->name, d->help, d->name, type_names[d->type]);
}

/* OCSP: answers by status, fetches and failures per responder, and one
 * latency histogram over all responders. */
static void prom_ocsp(const struct stats_snapshot *s, struct sbuf *b)
{
	uint64_t lat[OCSP_LAT_BUCKETS] = { 0 }, sum_ms = 0, acc = 0;
	const char *name;

	prom_head(b, &family_defs[SF_OCSP_RESULTS]);
	for (int k = 0; k < OCSP_STATUSES; k++)
		sbuf_printf(b, "%s{status=\"%s\"} %llu\n", family_defs[SF_OCSP_RESULTS].name,
		            ocsp_status_names[k], (unsigned long long)s->ocsp.by_status[k]);
	prom_head(b, &family_defs[SF_OCSP_FETCHES]);
	for (int i = 0; i < s->nresp; i++)
		for (int ok = 1; ok >= 0; ok--) {
			sbuf_printf(b, "%s{responder=\"", family_defs[SF_OCSP_FETCHES].name);
			sbuf_label(b, s->resp[i].url);
			sbuf_printf(b, "\",result=\"%s\"} %llu\n", ok ? "ok" : "failed",
			            (unsigned long long)(ok ? s->resp[i].ok : s->resp[i].failed));
		}
	prom_head(b, &family_defs[SF_OCSP_FAILING]);
	for (int i = 0; i < s->nresp; i++) {
		sbuf_printf(b, "%s{responder=\"", family_defs[SF_OCSP_FAILING].name);
		sbuf_label(b, s->resp[i].url);
		sbuf_printf(b, "\"} %u\n", s->resp[i].consecutive_failures);
	}
	for (int i = 0; i < s->nresp; i++) {
		for (int k = 0; k < OCSP_LAT_BUCKETS; k++)
			lat[k] += s->resp[i].lat[k];
		sum_ms += s->resp[i].lat_sum_ms;
	}
	name = family_defs[SF_OCSP_LATENCY].name;
	prom_head(b, &family_defs[SF_OCSP_LATENCY]);
	for (int k = 0; k < OCSP_LAT_BUCKETS; k++) {
		acc += lat[k];
		if (k < OCSP_LAT_BUCKETS - 1)
			sbuf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, ocsp_lat_bounds_ms[k] / 1e3,
			            (unsigned long long)acc);
		else
			sbuf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)acc);
	}
	sbuf_printf(b, "%s_sum %.3f\n%s_count %llu\n", name, (double)sum_ms / 1e3, name,
	            (unsigned long long)acc);
}

void stats_render_prometheus(const struct stats_snapshot *s, struct sbuf *b)
{
	uint64_t acc = 0;

	for (int i = 0; i < ST_COUNT; i++) {
		prom_head(b, &stat_defs[i]);
		sbuf_printf(b, "%s %.17g\n", stat_defs[i].name, s->v[i]);
	}
	/* one series per code and rule seen; a code never decided keeps one
	 * series without a rule (0), so sums by verdict are never empty */
	prom_head(b, &family_defs[SF_DECISIONS]);
	for (int k = 0; k < DEC_CODES; k++) {
		int shown = 0;

		for (int r = 0; r < RULE_COUNT; r++) {
			if (!s->by_rule[k][r])
				continue;
			sbuf_printf(b, "%s{verdict=\"%s\",code=\"%s\",rule=\"%s\"} %llu\n",
			            family_defs[SF_DECISIONS].name, k == DEC_ALLOW ? "allow" : "deny",
			            dec_table[k].code, rule_names[r], (unsigned long long)s->by_rule[k][r]);
			shown = 1;
		}
		if (!shown)
			sbuf_printf(b, "%s{verdict=\"%s\",code=\"%s\"} %llu\n", family_defs[SF_DECISIONS].name,
			            k == DEC_ALLOW ? "allow" : "deny", dec_table[k].code,
			            (unsigned long long)s->by_code[k]);
	}
	prom_head(b, &family_defs[SF_SHADOW]);
	for (int k = 0; k < DEC_CODES; k++)
		for (int r = 0; r < RULE_COUNT; r++)
			if (s->shadow[k][r])
				sbuf_printf(b, "%s{code=\"%s\",rule=\"%s\"} %llu\n",
				            family_defs[SF_SHADOW].name, dec_table[k].code, rule_names[r],
				            (unsigned long long)s->shadow[k][r]);
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
	prom_head(b, &family_defs[SF_BUILD_INFO]);
	sbuf_printf(b, "%s{version=\"", family_defs[SF_BUILD_INFO].name);
	sbuf_label(b, CERTSPOA_VERSION);
	sbuf_puts(b, "\",openssl=\"");
	sbuf_label(b, s->openssl_version);
	sbuf_puts(b, "\",libev=\"");
	sbuf_label(b, s->libev_version);
	sbuf_puts(b, "\"} 1\n");
	prom_head(b, &family_defs[SF_CONFIG_INFO]);
	if (s->config_sha256[0]) {
		sbuf_printf(b, "%s{sha256=\"", family_defs[SF_CONFIG_INFO].name);
		sbuf_label(b, s->config_sha256);
		sbuf_puts(b, "\"} 1\n");
	}
	prom_ocsp(s, b);
	revoc_render_prometheus(s->crl_sources, s->ncrl_sources, (int64_t)s->now, b);
}
