/* OCSP over the background fetcher: turns the jobs decide.c starts
 * (struct ocsp_job) into HTTP fetches (GET when the request fits in a
 * 255-byte URL, else POST), and on the fetcher thread checks the answer,
 * stores it in the shared OCSP cache and wakes every worker so that their
 * deferred NOTIFYs are decided. A responder that keeps failing gets a
 * warning (after OCSP_FAIL_LOUD failures in a row, then every 100th). */
#ifndef CERTSPOA_OCSP_FETCH_H
#define CERTSPOA_OCSP_FETCH_H

#include "fetch-t.h"
#include "ocsp-cache.h"

struct worker;
struct ocsp_fetch;

/* cache and f stay the caller's. NULL on allocation failure. */
struct ocsp_fetch *ocsp_fetch_new(struct ocsp_cache *cache, struct fetcher *f);

/* The workers woken after each answer: the first n of ws (n may grow as
 * workers start; call again with the new count). */
void ocsp_fetch_set_workers(struct ocsp_fetch *s, struct worker *ws, int n);

/* decide_ocsp_submit_fn: arg is the struct ocsp_fetch. */
int ocsp_fetch_submit(void *arg, struct ocsp_job *job);

/* Stop waking workers (before they are destroyed; the fetcher may still
 * finish jobs, whose answers are then only stored). */
void ocsp_fetch_detach(struct ocsp_fetch *s);
void ocsp_fetch_free(struct ocsp_fetch *s);

#endif /* CERTSPOA_OCSP_FETCH_H */
