/* Stats collection. See stats.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "cache.h"
#include "counter.h"
#include "hapush.h"
#include "rules.h"
#include "spop.h"
#include "stats.h"
#include "tplist.h"
#include "worker.h"

/* The struct type of each counter block, for offsetof. */
#define STAT_OFF_SB_NONE(field)    0
#define STAT_OFF_SB_WORKER(field)  offsetof(struct worker_stats, field)
#define STAT_OFF_SB_CONN(field)    offsetof(struct conn_stats, field)
#define STAT_OFF_SB_HANDLER(field) offsetof(struct handler_stats, field)
#define STAT_OFF_SB_CACHE(field)   offsetof(struct cache, field)

const struct stat_def stat_defs[ST_COUNT] = {
#define STAT_DEF(id, name_, type_, block_, field, help_) \
	[id] = { .name = name_, .type = type_, .help = help_, .block = block_, \
	         .offset = STAT_OFF_##block_(field) },
	STATS_FIGURES(STAT_DEF)
#undef STAT_DEF
};

const struct stat_def family_defs[SF_COUNT] = {
	[SF_DECISIONS]   = { .name = "certspoa_decisions_total", .type = STAT_COUNTER,
	                      .help = "Decisions by verdict, code and rule (the check that decided)" },
	[SF_SHADOW]      = { .name = "certspoa_shadow_denials_total", .type = STAT_COUNTER,
	                      .help = "Requests a shadow policy let through that enforce mode would deny, by that code and rule" },
	[SF_POLICY]      = { .name = "certspoa_policy_decisions_total", .type = STAT_COUNTER,
	                      .help = "Decisions by policy and verdict" },
	[SF_SPOP_ERRORS] = { .name = "certspoa_spop_errors_total", .type = STAT_COUNTER,
	                      .help = "AGENT-DISCONNECT frames sent on protocol errors, by SPOP status" },
	[SF_LATENCY]     = { .name = "certspoa_processing_seconds", .type = STAT_HISTOGRAM,
	                      .help = "Time to decide one message inside the agent" },
	[SF_THUMBPRINTS] = { .name = "certspoa_thumbprints", .type = STAT_GAUGE,
	                      .help = "Entries in each policy's thumbprint list" },
	[SF_CRLS]        = { .name = "certspoa_crls", .type = STAT_GAUGE,
	                      .help = "CRLs loaded from each policy's crl_file" },
	[SF_CRL_LAST_UPDATE] = { .name = "certspoa_crl_last_update_timestamp_seconds", .type = STAT_GAUGE,
	                      .help = "Newest thisUpdate among a policy's CRLs (CRL age = now - this)" },
	[SF_CRL_NEXT_UPDATE] = { .name = "certspoa_crl_next_update_timestamp_seconds", .type = STAT_GAUGE,
	                      .help = "Earliest nextUpdate among a policy's CRLs (after it, verification fails: crl has expired)" },
	[SF_BUILD_INFO]  = { .name = "certspoa_build_info", .type = STAT_GAUGE,
	                      .help = "Always 1: the agent's version and the OpenSSL and libev it runs with" },
	[SF_CONFIG_INFO] = { .name = "certspoa_config_info", .type = STAT_GAUGE,
	                      .help = "Always 1: sha256 of the effective configuration (the /config text: keys, lists, the files named and their SHA-256; no secrets)" },
	[SF_OCSP_RESULTS] = { .name = "certspoa_ocsp_answers_total", .type = STAT_COUNTER,
	                      .help = "OCSP answers stored, by status (error: no valid answer)" },
	[SF_OCSP_FETCHES] = { .name = "certspoa_ocsp_fetches_total", .type = STAT_COUNTER,
	                      .help = "OCSP fetches per responder: ok (a checked answer) or failed" },
	[SF_OCSP_FAILING] = { .name = "certspoa_ocsp_responder_consecutive_failures", .type = STAT_GAUGE,
	                      .help = "Failed OCSP fetches in a row per responder (0 = its last one worked)" },
	[SF_OCSP_LATENCY] = { .name = "certspoa_ocsp_fetch_seconds", .type = STAT_HISTOGRAM,
	                      .help = "Time of one OCSP fetch, request to checked answer, all responders" },
};

/* ---- decisions over time ---- */

void stats_ring_push(struct stats_ring *r, int64_t now, const uint64_t *by_code)
{
	if (r->last_t && now > r->last_t) {
		for (int k = 0; k < DEC_CODES; k++)
			r->n[r->pos][k] = by_code[k] >= r->last[k] ? by_code[k] - r->last[k] : 0;
		r->t[r->pos] = now;
		r->dt[r->pos] = now - r->last_t < 86400 ? (int)(now - r->last_t) : 86400;
		r->pos = (r->pos + 1) % STATS_RING_SLOTS;
		if (r->len < STATS_RING_SLOTS)
			r->len++;
	}
	if (now > r->last_t) {
		r->last_t = now;
		memcpy(r->last, by_code, sizeof(r->last));
	}
}

int stats_ring_history(const struct stats_ring *r, int64_t now, const uint64_t *by_code,
                       struct stats_sample *out, int max)
{
	int64_t from = now - (int64_t)STATS_RING_STEP * STATS_RING_SLOTS;
	int n = 0;

	for (int i = 0; i < r->len && n < max; i++) {
		int slot = (r->pos - r->len + i + STATS_RING_SLOTS) % STATS_RING_SLOTS;

		if (r->t[slot] <= from)
			continue;
		out[n].t = r->t[slot];
		out[n].dt = r->dt[slot];
		memcpy(out[n].n, r->n[slot], sizeof(out[n].n));
		n++;
	}
	if (r->last_t && now > r->last_t && n < max) {
		out[n].t = now;
		out[n].dt = now - r->last_t < 86400 ? (int)(now - r->last_t) : 86400;
		for (int k = 0; k < DEC_CODES; k++)
			out[n].n[k] = by_code[k] >= r->last[k] ? by_code[k] - r->last[k] : 0;
		n++;
	}
	return n;
}

/* ---- collection ---- */

/* A per-worker counter, by its block and offset (stat_defs[]). */
static uint64_t worker_counter(const struct worker *w, enum stats_block b, size_t off)
{
	const char *base = worker_counters(w, b);

	return base ? CTR_GET(*(const uint64_t *)(const void *)(base + off)) : 0;
}

/* n counters from off on (an array in a block), added to out. */
static void sum_array(const struct worker *w, enum stats_block b, size_t off,
                      uint64_t *out, int n)
{
	for (int k = 0; k < n; k++)
		out[k] += worker_counter(w, b, off + (size_t)k * sizeof(uint64_t));
}

uint64_t stats_messages(const struct stats_agent *a)
{
	uint64_t n = 0;

	for (int i = 0; i < a->nworkers; i++)
		n += worker_counter(&a->workers[i], SB_HANDLER, offsetof(struct handler_stats, messages));
	return n;
}

/* Decisions per second over the last STATS_RATE_WINDOW s, one sample a second. */
static void rate_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct stats_agent *a = t->data;
	int n = (int)(sizeof(a->rate_samples) / sizeof(a->rate_samples[0]));
	uint64_t now = stats_messages(a);
	int oldest;

	(void)loop;
	(void)revents;
	a->rate_samples[a->rate_pos] = now;
	a->rate_pos = (a->rate_pos + 1) % n;
	if (a->rate_n < n)
		a->rate_n++;
	oldest = a->rate_n < n ? 0 : a->rate_pos;
	if (a->rate_n > 1)
		a->rate = (double)(now - a->rate_samples[oldest]) / (a->rate_n - 1);
}

/* The workers' decisions by code so far. */
static void sum_by_code(const struct stats_agent *a, uint64_t *out)
{
	memset(out, 0, DEC_CODES * sizeof(*out));
	for (int i = 0; i < a->nworkers; i++)
		sum_array(&a->workers[i], SB_HANDLER, offsetof(struct handler_stats, by_code), out, DEC_CODES);
}

static void ring_cb(struct ev_loop *loop, ev_periodic *t, int revents)
{
	struct stats_agent *a = t->data;
	uint64_t by_code[DEC_CODES];

	(void)revents;
	sum_by_code(a, by_code);
	/* ev_now: the loop's wall time, on the STATS_RING_STEP grid */
	stats_ring_push(&a->ring, (int64_t)(ev_now(loop) + 0.5), by_code);
}

void stats_rate_start(struct stats_agent *a, struct ev_loop *loop)
{
	uint64_t by_code[DEC_CODES];

	ev_timer_init(&a->rate_timer, rate_cb, 1.0, 1.0);
	a->rate_timer.data = a;
	ev_timer_start(loop, &a->rate_timer);
	/* the base of the first sample: now, not the next step */
	sum_by_code(a, by_code);
	stats_ring_push(&a->ring, (int64_t)ev_now(loop), by_code);
	ev_periodic_init(&a->ring_timer, ring_cb, 0., STATS_RING_STEP, 0);
	a->ring_timer.data = a;
	ev_periodic_start(loop, &a->ring_timer);
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
                        const int *answered, int nw)
{
	struct stats_cert *all;
	size_t n = 0, total = 0, distinct = 0;
	int64_t soonest = 0;

	for (int i = 0; i < nw; i++)
		if (answered[i])
			total += worker_snapshot(&a->workers[i])->ncerts;
	s->ncerts = 0;
	s->v[ST_CERTS] = 0;
	s->v[ST_CERTS_SOONEST] = 0;
	if (!total || !(all = malloc(total * sizeof(*all))))
		return;
	for (int i = 0; i < nw; i++) {
		const struct worker_snap *ws = worker_snapshot(&a->workers[i]);

		if (!answered[i])
			continue;
		memcpy(all + n, ws->certs, ws->ncerts * sizeof(*all));
		n += ws->ncerts;
	}
	qsort(all, n, sizeof(*all), cmp_sha);
	for (size_t i = 0; i < n; i++) {
		if (distinct && memcmp(all[distinct - 1].sha256, all[i].sha256, 32) == 0) {
			struct stats_cert *d = &all[distinct - 1];

			d->requests += all[i].requests;
			if (all[i].last_seen > d->last_seen) {
				d->last_seen = all[i].last_seen;
				d->last_code = all[i].last_code;
				memcpy(d->last_rule, all[i].last_rule, sizeof(d->last_rule));
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

/* Sum the scalar counters and the counter arrays of one worker. */
static void add_worker(struct stats_snapshot *s, const struct worker *w)
{
	const struct handler_stats *hs = worker_handler_stats(w);
	int npol = __atomic_load_n(&hs->npol, __ATOMIC_ACQUIRE);

	for (int i = 0; i < ST_COUNT; i++)
		if (stat_defs[i].block != SB_NONE)
			s->v[i] += (double)worker_counter(w, stat_defs[i].block, stat_defs[i].offset);
	sum_array(w, SB_CONN, offsetof(struct conn_stats, errors), s->spop_errors, SPOP_ST_COUNT);
	sum_array(w, SB_HANDLER, offsetof(struct handler_stats, by_code), s->by_code, DEC_CODES);
	sum_array(w, SB_HANDLER, offsetof(struct handler_stats, by_rule), &s->by_rule[0][0],
	          DEC_CODES * RULE_COUNT);
	sum_array(w, SB_HANDLER, offsetof(struct handler_stats, shadow), &s->shadow[0][0],
	          DEC_CODES * RULE_COUNT);
	sum_array(w, SB_HANDLER, offsetof(struct handler_stats, lat), s->lat, HANDLER_LAT_BUCKETS);
	s->lat_sum += (double)CTR_GET(hs->lat_sum_ns) / 1e9;
	for (int k = 0; k < npol; k++)
		add_policy(s, hs->pol_name[k], CTR_GET(hs->pol_verdict[k][1]),
		           CTR_GET(hs->pol_verdict[k][0]));
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void stats_snapshot_done(struct stats_snapshot *s)
{
	free(s->crl_sources);
	s->crl_sources = NULL;
	s->ncrl_sources = 0;
}

void stats_collect(const struct stats_agent *a, struct stats_snapshot *s, int wait_ms)
{
	unsigned int tickets[CFG_MAX_THREADS];
	int answered[CFG_MAX_THREADS] = { 0 };
	int nw = a->nworkers < CFG_MAX_THREADS ? a->nworkers : CFG_MAX_THREADS;
	struct timespec ts;
	uint64_t deadline;

	memset(s, 0, sizeof(*s));
	clock_gettime(CLOCK_REALTIME, &ts);
	s->now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	s->crl_sources = revoc_snapshot(a->revoc, (int64_t)ts.tv_sec, &s->ncrl_sources);

	for (int i = 0; i < nw; i++)
		tickets[i] = worker_request_snapshot(&a->workers[i]);

	s->v[ST_START_TIME] = a->start_time;
	s->v[ST_GENERATION] = a->cfg ? a->cfg->generation : 0;
	s->v[ST_RELOADS] = (double)a->reloads;
	s->v[ST_RELOAD_FAILURES] = (double)a->reload_failures;
	s->v[ST_LAST_RELOAD] = a->last_reload;
	s->v[ST_LAST_RELOAD_OK] = a->last_reload_ok;
	s->v[ST_VERDICT_GEN] = (double)cache_verdict_gen();
	s->v[ST_HAPROXY_PUSH_FAILURES] = (double)hapush_failures();
	s->v[ST_WORKERS] = a->nworkers;
	s->rate = a->rate;
	s->v[ST_CONNS] = worker_conn_count();
	s->last_reload_error_time = a->last_reload_error_time;
	memcpy(s->last_reload_error, a->last_reload_error, sizeof(s->last_reload_error));
	memcpy(s->config_sha256, a->config_sha256, sizeof(s->config_sha256));
	snprintf(s->openssl_version, sizeof(s->openssl_version), "%s", OpenSSL_version(OPENSSL_VERSION));
	snprintf(s->libev_version, sizeof(s->libev_version), "%d.%d", ev_version_major(), ev_version_minor());

	for (int i = 0; i < nw; i++)
		add_worker(s, &a->workers[i]);
	s->nhistory = stats_ring_history(&a->ring, (int64_t)s->now, s->by_code, s->history,
	                                 STATS_HISTORY_MAX);
	if (a->ocsp) {
		ocsp_cache_snapshot(a->ocsp, &s->ocsp, s->resp, &s->nresp);
		s->v[ST_OCSP_HITS] = (double)s->ocsp.hits;
		s->v[ST_OCSP_MISSES] = (double)s->ocsp.misses;
		s->v[ST_OCSP_REFRESHES] = (double)s->ocsp.refreshes;
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
	deadline = now_ms() + (uint64_t)wait_ms;
	for (;;) {
		int pending = 0;

		for (int i = 0; i < nw; i++)
			if (!answered[i] && !(answered[i] = worker_snapshot_is_ready(&a->workers[i], tickets[i])))
				pending++;
		if (!pending || now_ms() >= deadline) {
			/* more workers than the limit cannot be started (main.c),
			 * but would show as a partial snapshot, never silently */
			s->partial = pending > 0 || nw < a->nworkers;
			break;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = 500000;
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < nw; i++) {
		const struct worker_snap *ws = worker_snapshot(&a->workers[i]);

		if (!answered[i])
			continue;
		s->v[ST_INFLIGHT] += ws->inflight;
		for (int k = 0; k < ws->ndenials && s->ndenials < STATS_SHOW_DENIALS; k++)
			s->denials[s->ndenials++] = ws->denials[k];
	}
	qsort(s->denials, (size_t)s->ndenials, sizeof(s->denials[0]), cmp_denial);
	merge_certs(a, s, answered, nw);
	/* the runtime denies in force (the main thread publishes them: it may read them) */
	{
		const struct rtdeny_set *rs = rtdeny_current();

		for (size_t i = 0; rs && i < rs->n && s->nrtdenies < STATS_SHOW_RTDENIES; i++)
			if (!rs->e[i].expires || (int64_t)s->now < rs->e[i].expires)
				s->rtdenies[s->nrtdenies++] = rs->e[i];
	}
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
