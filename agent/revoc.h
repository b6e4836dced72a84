/* Revocation sources fetched in the background: the CRLs of crl_urls and,
 * with crl_fetch = cdp, of the CRL distribution points of the CA
 * certificates and of verified chains. revoc owns the sources, schedules
 * their refreshes on the main loop (and those of the policy lists given
 * as http(s):// URLs), hands the fetches to the fetcher
 * thread (fetch.h), validates what comes back against the policies'
 * stores and publishes the good CRLs as one set (cert-crls.h). A disk
 * cache (state_dir) gives the last good CRLs at startup.
 *
 * Threads: revoc_start/set_config/stop and the refresh timer run on the
 * main thread; fetch results arrive on the fetcher thread. One mutex
 * guards the sources; workers never take it (they only read the
 * published set). */
#ifndef CERTSPOA_REVOC_H
#define CERTSPOA_REVOC_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "cfg-t.h"
#include "sbuf.h"

#define REVOC_MAX_SOURCES 512
/* fetch latency histogram upper bounds, seconds (+Inf last) */
#define REVOC_LAT_BUCKETS 8
extern const double revoc_lat_bounds[REVOC_LAT_BUCKETS - 1];
/* consecutive failures of a source before the log says so loudly */
#define REVOC_FAIL_LOUD 3

struct revoc;

/* One source as the stats pages show it (revoc_sources). */
struct revoc_source_info {
	char url[512];
	int from_cdp;                 /* learned from a certificate, not crl_urls */
	int is_list;                  /* a policy list given as a URL, not a CRL */
	int has_crl;                  /* a good CRL is held */
	int64_t this_update, next_update;   /* of the CRL held (0 = none) */
	int64_t fetched_at;           /* last successful fetch or 304 (0 = never) */
	int64_t next_fetch;
	int stale;                    /* past nextUpdate (+ crl_grace), or never fetched */
	unsigned long fetches, failures, consecutive_failures, not_modified;
	unsigned long lat[REVOC_LAT_BUCKETS];   /* fetch latency histogram (not cumulative) */
	double lat_sum;
	char last_error[192];
};

/* 1 when cfg fetches anything (crl_fetch = cdp or crl_urls). */
int revoc_is_needed(const struct config *cfg);

/* Loads the disk cache, publishes what it holds, starts the fetcher and
 * the refresh timer on loop (the first fetches start at once). NULL and
 * err set on failure. */
struct revoc *revoc_start(const struct config *cfg, struct ev_loop *loop,
                          char *err, size_t errlen);

/* A reload: the new sources, limits and stores (cfg stays valid until
 * the next call). */
void revoc_set_config(struct revoc *r, const struct config *cfg);

/* fn(arg) runs on the main loop when a list given as a URL changed (it
 * reloads the configuration, which reads the new copy in state_dir). */
void revoc_set_reload(struct revoc *r, void (*fn)(void *arg), void *arg);

/* Stops the fetcher, drops the published set, frees everything. */
void revoc_stop(struct revoc *r);

/* A copy of up to max sources; returns how many. */
int revoc_sources(struct revoc *r, struct revoc_source_info *out, int max, int64_t now);

/* Every source (malloc'd, *n of them; the caller frees), or NULL. */
struct revoc_source_info *revoc_snapshot(struct revoc *r, int64_t now, int *n);

/* The stats pages' revocation parts, from a snapshot: Prometheus
 * families with a url label, a JSON array, an HTML table (red when stale). */
void revoc_render_prometheus(const struct revoc_source_info *v, int n, int64_t now, struct sbuf *b);
void revoc_render_json(const struct revoc_source_info *v, int n, int64_t now, struct sbuf *b);
void revoc_render_html(const struct revoc_source_info *v, int n, int64_t now, struct sbuf *b);

#endif /* CERTSPOA_REVOC_H */
