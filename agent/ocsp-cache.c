/* Shared OCSP answers. See ocsp-cache.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocsp-cache.h"

const unsigned int ocsp_lat_bounds_ms[OCSP_LAT_BUCKETS - 1] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 5000
};

int ocsp_cache_init(struct ocsp_cache *c, size_t entries)
{
	size_t sets = 1;

	memset(c, 0, sizeof(*c));
	while (sets * OCSP_CACHE_WAYS < entries)
		sets <<= 1;
	c->slots = calloc(sets * OCSP_CACHE_WAYS, sizeof(*c->slots));
	if (!c->slots)
		return -1;
	c->mask = sets - 1;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c->slots);
		c->slots = NULL;
		return -1;
	}
	return 0;
}

void ocsp_cache_destroy(struct ocsp_cache *c)
{
	if (!c->slots)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c->slots);
	c->slots = NULL;
}

static struct ocsp_cache_entry *set_of(struct ocsp_cache *c, const struct ocsp_key *key)
{
	uint64_t h;

	memcpy(&h, key->b, sizeof(h));     /* SHA-256 bytes: uniform */
	return &c->slots[(size_t)(h & c->mask) * OCSP_CACHE_WAYS];
}

static struct ocsp_cache_entry *find(struct ocsp_cache *c, const struct ocsp_key *key)
{
	struct ocsp_cache_entry *e = set_of(c, key);

	for (int w = 0; w < OCSP_CACHE_WAYS; w++)
		if (e[w].used && memcmp(e[w].key.b, key->b, sizeof(key->b)) == 0)
			return &e[w];
	return NULL;
}

/* A slot for a new key: a free one, else the least recently seen that no
 * fetch is filling. NULL when all are in flight. */
static struct ocsp_cache_entry *victim(struct ocsp_cache *c, const struct ocsp_key *key)
{
	struct ocsp_cache_entry *e = set_of(c, key), *best = NULL;

	for (int w = 0; w < OCSP_CACHE_WAYS; w++) {
		if (!e[w].used)
			return &e[w];
		if (!e[w].in_flight && (!best || e[w].last_seen < best->last_seen))
			best = &e[w];
	}
	return best;
}

enum ocsp_lookup ocsp_cache_lookup(struct ocsp_cache *c, const struct ocsp_key *key,
                                   int64_t now, struct ocsp_cache_entry *out, int *refresh)
{
	struct ocsp_cache_entry *e;
	enum ocsp_lookup rc;

	*refresh = 0;
	pthread_mutex_lock(&c->mu);
	e = find(c, key);
	if (e && e->has_answer && now < e->until && now >= e->fetched_at - 300) {
		int64_t life = e->until - e->fetched_at, left = e->until - now;

		e->last_seen = now;
		*out = *e;
		c->stats.hits++;
		/* refresh early while the certificate is still seen */
		if (!e->in_flight && e->result.status != OCSP_ERROR && now >= e->refresh_after &&
		    (left * 10 < life || left < 10)) {
			e->in_flight = 1;
			*refresh = 1;
			c->stats.refreshes++;
		}
		rc = OCSP_LK_HIT;
		goto out;
	}
	c->stats.misses++;
	if (e && e->in_flight) {
		e->last_seen = now;
		c->stats.waits++;
		rc = OCSP_LK_WAIT;
		goto out;
	}
	if (!e) {
		e = victim(c, key);
		if (!e) {
			rc = OCSP_LK_FULL;
			goto out;
		}
		memset(e, 0, sizeof(*e));
		e->used = 1;
		e->key = *key;
	}
	e->in_flight = 1;
	e->last_seen = now;
	rc = OCSP_LK_CLAIMED;
out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void ocsp_cache_put(struct ocsp_cache *c, const struct ocsp_key *key,
                    const struct ocsp_result *r, int64_t now, int64_t until, const char *url)
{
	struct ocsp_cache_entry *e;

	pthread_mutex_lock(&c->mu);
	if ((unsigned int)r->status < OCSP_STATUSES)
		c->stats.by_status[r->status]++;
	e = find(c, key);
	if (!e) {
		e = victim(c, key);
		if (!e)
			goto out;
		memset(e, 0, sizeof(*e));
		e->used = 1;
		e->key = *key;
		e->last_seen = now;
	}
	e->in_flight = 0;
	/* a failed refresh keeps the good answer it was to renew */
	if (r->status == OCSP_ERROR && e->has_answer && e->result.status != OCSP_ERROR &&
	    now < e->until) {
		e->refresh_after = until;     /* the error's short TTL */
		goto out;
	}
	e->refresh_after = 0;
	e->result = *r;
	e->has_answer = 1;
	e->fetched_at = now;
	e->until = until;
	snprintf(e->url, sizeof(e->url), "%s", url ? url : "");
out:
	pthread_mutex_unlock(&c->mu);
}

void ocsp_cache_release(struct ocsp_cache *c, const struct ocsp_key *key)
{
	struct ocsp_cache_entry *e;

	pthread_mutex_lock(&c->mu);
	e = find(c, key);
	if (e)
		e->in_flight = 0;
	pthread_mutex_unlock(&c->mu);
}

unsigned int ocsp_cache_count_fetch(struct ocsp_cache *c, const char *url,
                                    const struct ocsp_result *r, int64_t now,
                                    unsigned int ms)
{
	struct ocsp_responder *rp = NULL;
	unsigned int n;
	int b = 0;

	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < c->nresp; i++)
		if (strncmp(c->resp[i].url, url, sizeof(c->resp[i].url) - 1) == 0) {
			rp = &c->resp[i];
			break;
		}
	if (!rp) {
		/* more responders than rows: the last row takes the rest */
		rp = &c->resp[c->nresp < OCSP_RESPONDERS_MAX ? c->nresp++ : OCSP_RESPONDERS_MAX - 1];
		if (!rp->url[0])
			snprintf(rp->url, sizeof(rp->url), "%s", url);
	}
	if (r->status == OCSP_ERROR) {
		rp->failed++;
		rp->consecutive_failures++;
		rp->last_failure = now;
		snprintf(rp->last_error, sizeof(rp->last_error), "%s",
		         (unsigned int)r->err < OCSP_ERRS ? ocsp_err_names[r->err] : "?");
	} else {
		rp->ok++;
		rp->consecutive_failures = 0;
		rp->last_ok = now;
	}
	if ((unsigned int)r->status < OCSP_STATUSES)
		rp->by_status[r->status]++;
	while (b < OCSP_LAT_BUCKETS - 1 && ms > ocsp_lat_bounds_ms[b])
		b++;
	rp->lat[b]++;
	rp->lat_sum_ms += ms;
	n = rp->consecutive_failures;
	pthread_mutex_unlock(&c->mu);
	return n;
}

struct ocsp_job *ocsp_job_new(const struct ocsp_key *key, X509 *leaf, X509 *issuer,
                              const char *url)
{
	struct ocsp_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	if (!X509_up_ref(leaf)) {
		free(j);
		return NULL;
	}
	if (!X509_up_ref(issuer)) {
		X509_free(leaf);
		free(j);
		return NULL;
	}
	j->key = *key;
	j->leaf = leaf;
	j->issuer = issuer;
	snprintf(j->url, sizeof(j->url), "%s", url);
	return j;
}

void ocsp_job_free(struct ocsp_job *j)
{
	if (!j)
		return;
	X509_free(j->leaf);
	X509_free(j->issuer);
	free(j);
}

unsigned int ocsp_job_finish(struct ocsp_cache *c, const struct ocsp_job *j, int ok,
                             enum ocsp_err err, const unsigned char *body, size_t len,
                             int64_t now, unsigned int ms, struct ocsp_result *r)
{
	struct ocsp_check_opts o = {
		.now = now,
		.skew = j->skew,
		.max_age = j->max_age,
		.nonce = j->nonce ? j->nonce_bytes : NULL,
	};

	if (ok) {
		ocsp_response_check(body, len, j->leaf, j->issuer, &o, r);
	} else {
		memset(r, 0, sizeof(*r));
		r->status = OCSP_ERROR;
		r->err = err == OCSP_E_NONE ? OCSP_E_FETCH : err;
		r->reason = -1;
	}
	ocsp_cache_put(c, &j->key, r, now, ocsp_result_expiry(r, now, j->max_age, j->err_ttl), j->url);
	return ocsp_cache_count_fetch(c, j->url, r, now, ms);
}

void ocsp_cache_snapshot(struct ocsp_cache *c, struct ocsp_cache_stats *st,
                         struct ocsp_responder *resp, int *nresp)
{
	pthread_mutex_lock(&c->mu);
	if (st)
		*st = c->stats;
	if (resp && nresp) {
		memcpy(resp, c->resp, (size_t)c->nresp * sizeof(*resp));
		*nresp = c->nresp;
	}
	pthread_mutex_unlock(&c->mu);
}
