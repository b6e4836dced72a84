/* The background fetcher: one thread with its own libev loop drives
 * libcurl's multi-socket API. Other threads hand it requests through a
 * mutex-protected queue and an ev_async; they never wait on the network.
 * Results come back through a callback on the fetcher thread.
 * Types are in fetch-t.h. */
#ifndef CERTSPOA_FETCH_H
#define CERTSPOA_FETCH_H

#include <stddef.h>

#include "fetch-t.h"

/* Starts the thread. NULL (and err set) on failure. */
struct fetcher *fetcher_start(char *err, size_t errlen);

/* Stops the thread: every queued or running fetch gets its callback with
 * ok = 0 ("fetcher stopped") before this returns. Then frees it. NULL is
 * accepted. Not to be called from a done callback. */
void fetcher_stop(struct fetcher *f);

/* Queues a fetch (copied). 0: accepted, done(arg, result) will run exactly
 * once on the fetcher thread. -1: refused (bad URL scheme, no memory, the
 * fetcher is stopping); done is never called. Safe from any thread. */
int fetcher_submit(struct fetcher *f, const struct fetch_req *req,
                   fetch_done_fn done, void *arg);

/* Fetches queued or running now (for the stats page). */
unsigned fetcher_pending(const struct fetcher *f);

/* 1 when the calling thread is f's thread (assertions, tests). */
int fetcher_on_thread(const struct fetcher *f);

#endif /* CERTSPOA_FETCH_H */
