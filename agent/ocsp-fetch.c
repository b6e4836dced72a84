/* OCSP fetches. See ocsp-fetch.h. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "fetch.h"
#include "log.h"
#include "ocsp-fetch.h"
#include "worker.h"

struct ocsp_fetch {
	struct ocsp_cache *cache;
	struct fetcher *f;
	struct worker *ws;
	atomic_int nws;                   /* workers that may be woken */
};

/* One fetch in flight. */
struct ocsp_fetch_call {
	struct ocsp_fetch *s;
	struct ocsp_job *job;
	struct timespec t0;
};

struct ocsp_fetch *ocsp_fetch_new(struct ocsp_cache *cache, struct fetcher *f)
{
	struct ocsp_fetch *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cache = cache;
	s->f = f;
	atomic_init(&s->nws, 0);
	return s;
}

void ocsp_fetch_set_workers(struct ocsp_fetch *s, struct worker *ws, int n)
{
	s->ws = ws;
	atomic_store_explicit(&s->nws, n, memory_order_release);
}

void ocsp_fetch_detach(struct ocsp_fetch *s)
{
	if (s)
		atomic_store_explicit(&s->nws, 0, memory_order_release);
}

void ocsp_fetch_free(struct ocsp_fetch *s)
{
	free(s);
}

static unsigned int ms_since(const struct timespec *t0)
{
	struct timespec t1;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (long long)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 0x7fffffff ? 0x7fffffff : (unsigned int)ms;
}

/* On the fetcher thread: check, store, count, wake. */
static void on_done(void *arg, const struct fetch_result *r)
{
	struct ocsp_fetch_call *call = arg;
	struct ocsp_fetch *s = call->s;
	struct ocsp_job *j = call->job;
	struct ocsp_result res;
	enum ocsp_err err = OCSP_E_FETCH;
	unsigned int ms = ms_since(&call->t0), fails;
	int ok = r->ok && !r->not_modified && r->status == 200 && r->len > 0;
	int n;

	/* the fetcher's own timeout is ocsp_timeout */
	if (!r->ok && r->status == 0 && ms + 50 >= (unsigned int)j->timeout_ms)
		err = OCSP_E_TIMEOUT;
	fails = ocsp_job_finish(s->cache, j, ok, err, (const unsigned char *)r->body, r->len,
	                        (int64_t)time(NULL), ms, &res);
	if (res.status == OCSP_ERROR) {
		if (fails >= OCSP_FAIL_LOUD && (fails == OCSP_FAIL_LOUD || fails % 100 == 0))
			LOG(LOG_WARN, 0, "OCSP responder %s failed %u times in a row: %s%s%s%s",
			    j->url, fails, ocsp_err_names[res.err], r->err[0] ? " (" : "",
			    r->err, r->err[0] ? ")" : "");
		else
			LOG(LOG_DEBUG, 0, "OCSP %s: %s (HTTP %ld, %u ms)%s%s", j->url,
			    ocsp_err_names[res.err], r->status, ms, r->err[0] ? ": " : "", r->err);
	} else {
		LOG(LOG_DEBUG, 0, "OCSP %s: %s in %u ms", j->url, ocsp_status_names[res.status], ms);
	}
	n = atomic_load_explicit(&s->nws, memory_order_acquire);
	for (int i = 0; i < n; i++)
		worker_ocsp_wake(&s->ws[i]);
	ocsp_job_free(j);
	free(call);
}

int ocsp_fetch_submit(void *arg, struct ocsp_job *j)
{
	struct ocsp_fetch *s = arg;
	struct ocsp_fetch_call *call;
	struct ocsp_request rq;
	struct fetch_req fr;
	char url[OCSP_GET_URL_MAX + 1];
	int rc;

	if (!s || !s->f)
		return -1;
	if (j->nonce && RAND_bytes(j->nonce_bytes, OCSP_NONCE_LEN) != 1)
		return -1;
	if (ocsp_request_build(j->leaf, j->issuer, j->nonce ? j->nonce_bytes : NULL, &rq) < 0)
		return -1;
	call = calloc(1, sizeof(*call));
	if (!call) {
		ocsp_request_free(&rq);
		return -1;
	}
	call->s = s;
	call->job = j;
	clock_gettime(CLOCK_MONOTONIC, &call->t0);
	memset(&fr, 0, sizeof(fr));
	/* RFC 5019: GET when the URL fits in 255 bytes (cacheable), else POST */
	if (ocsp_get_url(j->url, rq.der, rq.len, url, sizeof(url)) > 0) {
		fr.url = url;
	} else {
		fr.url = j->url;
		fr.body = rq.der;
		fr.body_len = rq.len;
		fr.content_type = "application/ocsp-request";
	}
	fr.timeout_ms = (long)j->timeout_ms;
	fr.max_size = OCSP_RESPONSE_MAX;
	rc = fetcher_submit(s->f, &fr, on_done, call);   /* copies the request */
	ocsp_request_free(&rq);
	if (rc < 0) {
		free(call);
		return -1;
	}
	return 0;
}
