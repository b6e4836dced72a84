/* OCSP answers shared by every worker thread, keyed by struct ocsp_key
 * (issuer key hash, serial). One mutex guards the table and is held only
 * for a lookup or a store, never across a fetch. The table also keeps
 * which keys have a fetch in flight (one per key: the first miss claims
 * it, later ones wait for it) and, per responder URL, counts for the
 * stats page. No clock: every call is given now. */
#ifndef CERTSPOA_OCSP_CACHE_H
#define CERTSPOA_OCSP_CACHE_H

#include <pthread.h>
#include <stdint.h>

#include "ocsp.h"

#define OCSP_CACHE_WAYS       4
#define OCSP_RESPONDERS_MAX   32
#define OCSP_RESP_URL_MAX     128      /* kept per entry and responder, cut */
#define OCSP_LAT_BUCKETS      10       /* fetch latency: see ocsp_lat_bounds_ms */
#define OCSP_FAIL_LOUD        3        /* consecutive failures before a warning */

extern const unsigned int ocsp_lat_bounds_ms[OCSP_LAT_BUCKETS - 1];

struct ocsp_cache_entry {
	struct ocsp_key key;
	int used;
	int in_flight;                 /* a fetch for it runs (claimed) */
	int has_answer;                /* result/until are set */
	struct ocsp_result result;
	int64_t fetched_at;            /* when result was stored */
	int64_t until;                 /* usable while now < until */
	int64_t last_seen;             /* last lookup */
	int64_t refresh_after;         /* a refresh failed: not again before this */
	char url[OCSP_RESP_URL_MAX];   /* the responder that answered */
};

/* One responder, for the stats page and its metrics. */
struct ocsp_responder {
	char url[OCSP_RESP_URL_MAX];
	uint64_t ok, failed;           /* fetches that gave a checked answer, or not */
	uint64_t by_status[OCSP_STATUSES];
	unsigned int consecutive_failures;
	int64_t last_ok, last_failure;
	char last_error[96];
	uint64_t lat[OCSP_LAT_BUCKETS];
	uint64_t lat_sum_ms;
};

struct ocsp_cache_stats {
	uint64_t hits, misses, waits, refreshes;
	uint64_t by_status[OCSP_STATUSES];   /* answers stored */
};

struct ocsp_cache {
	pthread_mutex_t mu;
	struct ocsp_cache_entry *slots;      /* nsets * OCSP_CACHE_WAYS */
	size_t mask;                         /* nsets - 1 */
	struct ocsp_cache_stats stats;
	int nresp;
	struct ocsp_responder resp[OCSP_RESPONDERS_MAX];
};

enum ocsp_lookup {
	OCSP_LK_HIT = 0,       /* an answer is usable: *out is it */
	OCSP_LK_CLAIMED,       /* none: the caller must start the fetch (or ocsp_cache_put an error) */
	OCSP_LK_WAIT,          /* none: a fetch for this key is in flight */
	OCSP_LK_FULL,          /* none, and no slot to claim: treat as unavailable */
	OCSP_LOOKUPS
};

/* entries is rounded up to a power of two times OCSP_CACHE_WAYS. */
int ocsp_cache_init(struct ocsp_cache *c, size_t entries);
void ocsp_cache_destroy(struct ocsp_cache *c);

/* Look key up at now. A HIT copies the answer and its freshness; when the
 * answer is in its last tenth of life (and at least 10 s from its end it
 * is refreshed too) and no fetch runs, *refresh is set and the key
 * claimed: the caller starts a fetch but uses the answer meanwhile. */
enum ocsp_lookup ocsp_cache_lookup(struct ocsp_cache *c, const struct ocsp_key *key,
                                   int64_t now, struct ocsp_cache_entry *out, int *refresh);

/* Store an answer (checked, or an error) for key, usable until `until`;
 * the key is no longer in flight. An error does not replace a usable
 * answer that a refresh failed to renew. */
void ocsp_cache_put(struct ocsp_cache *c, const struct ocsp_key *key,
                    const struct ocsp_result *r, int64_t now, int64_t until, const char *url);

/* The fetch of a claimed key will not happen: release it. */
void ocsp_cache_release(struct ocsp_cache *c, const struct ocsp_key *key);

/* Count one fetch of url (ok: a checked answer), its status and latency.
 * Returns the responder's consecutive failures after it. */
unsigned int ocsp_cache_count_fetch(struct ocsp_cache *c, const char *url,
                                    const struct ocsp_result *r, int64_t now,
                                    unsigned int ms);

/* One fetch to make: decide.c fills it on a claimed miss and hands it to
 * whoever does the I/O (the worker's submit callback), who calls
 * ocsp_job_finish() with what came back (or did not), then
 * ocsp_job_free(). */
struct ocsp_job {
	struct ocsp_key key;
	X509 *leaf, *issuer;           /* references, owned by the job */
	char url[OCSP_URL_MAX];
	int nonce;                     /* send one and require it back */
	unsigned char nonce_bytes[OCSP_NONCE_LEN];
	int64_t timeout_ms;
	int64_t skew, max_age, err_ttl;   /* seconds */
	int64_t started;               /* when it was claimed */
};

struct ocsp_job *ocsp_job_new(const struct ocsp_key *key, X509 *leaf, X509 *issuer,
                              const char *url);
void ocsp_job_free(struct ocsp_job *j);

/* What came back for a job: the body of a 2xx answer (ok), or not (err
 * is OCSP_E_FETCH or OCSP_E_TIMEOUT). The body is checked at now, the
 * answer stored (errors for err_ttl) and the responder counted; r gets
 * the result. Returns the responder's consecutive failures. */
unsigned int ocsp_job_finish(struct ocsp_cache *c, const struct ocsp_job *j, int ok,
                             enum ocsp_err err, const unsigned char *body, size_t len,
                             int64_t now, unsigned int ms, struct ocsp_result *r);

/* Copies for a reader (stats page, explain), under the lock. */
void ocsp_cache_snapshot(struct ocsp_cache *c, struct ocsp_cache_stats *st,
                         struct ocsp_responder *resp, int *nresp);

#endif /* CERTSPOA_OCSP_CACHE_H */
