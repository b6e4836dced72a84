/* Stats: every figure declared once (STATS_FIGURES below, family_defs[]),
 * collected from the workers without locks (stats.c), rendered as
 * Prometheus text (stats-prom.c), JSON (stats-json.c) and a self-contained
 * HTML page (stats-html.c). Runs in the main thread, never on the SPOP path. */
#ifndef CERTSPOA_STATS_H
#define CERTSPOA_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "cfg-t.h"
#include "handler.h"
#include "rtdeny.h"
#include "ocsp-cache.h"
#include "revoc.h"
#include "sbuf.h"
#include "spop-t.h"
#include "stats-t.h"

struct worker;

/* Scalar figures, declared once: X(id, name, type, block, field, help).
 * A figure with a block (enum stats_block, stats-t.h) is a per-worker
 * counter, summed over the workers by stats_collect() from that block's
 * field; SB_NONE figures (field "_") are filled by the collector itself.
 * The Prometheus and JSON renderers print every figure in this order, so
 * a new worker counter is its field, its line here and its increment. */
#define STATS_FIGURES(X) \
	X(ST_START_TIME, "certspoa_start_time_seconds", STAT_GAUGE, SB_NONE, _, \
	  "Unix time the agent started") \
	X(ST_GENERATION, "certspoa_config_generation", STAT_GAUGE, SB_NONE, _, \
	  "Configuration generation in use (1 at start, +1 per successful reload)") \
	X(ST_RELOADS, "certspoa_config_reloads_total", STAT_COUNTER, SB_NONE, _, \
	  "Successful configuration reloads") \
	X(ST_RELOAD_FAILURES, "certspoa_config_reload_failures_total", STAT_COUNTER, SB_NONE, _, \
	  "Reloads refused because the new configuration or a file it names was invalid") \
	X(ST_LAST_RELOAD, "certspoa_config_last_reload_timestamp_seconds", STAT_GAUGE, SB_NONE, _, \
	  "Unix time of the last reload attempt (0 = none)") \
	X(ST_LAST_RELOAD_OK, "certspoa_config_last_reload_success", STAT_GAUGE, SB_NONE, _, \
	  "1 if the last reload attempt succeeded (or none was made), else 0") \
	X(ST_VERDICT_GEN, "certspoa_verdict_generation", STAT_GAUGE, SB_NONE, _, \
	  "Verdict generation: grows with every reload, runtime deny change, CRL install (txn.certspoa.gen)") \
	X(ST_HAPROXY_PUSH_FAILURES, "certspoa_haproxy_push_failures_total", STAT_COUNTER, SB_NONE, _, \
	  "Failed attempts to tell an HAProxy (haproxy_socket) the verdict generation") \
	X(ST_WORKERS, "certspoa_worker_threads", STAT_GAUGE, SB_NONE, _, \
	  "Worker threads serving SPOP") \
	X(ST_CONNS, "certspoa_spop_connections", STAT_GAUGE, SB_NONE, _, \
	  "SPOP connections open now") \
	X(ST_CONNS_TOTAL, "certspoa_spop_connections_accepted_total", STAT_COUNTER, SB_WORKER, conns_total, \
	  "SPOP connections accepted") \
	X(ST_CONNS_REFUSED, "certspoa_spop_connections_refused_total", STAT_COUNTER, SB_WORKER, conns_refused, \
	  "SPOP connections closed at once (max_connections, no file descriptors)") \
	X(ST_HELLOS, "certspoa_spop_hellos_total", STAT_COUNTER, SB_CONN, hellos, \
	  "HAPROXY-HELLO handshakes completed, health checks included") \
	X(ST_HEALTHCHECKS, "certspoa_spop_healthchecks_total", STAT_COUNTER, SB_CONN, healthchecks, \
	  "SPOP health checks answered") \
	X(ST_HAPROXY_DISCONNECTS, "certspoa_spop_haproxy_disconnects_total", STAT_COUNTER, SB_CONN, haproxy_disconnects, \
	  "HAPROXY-DISCONNECT frames received") \
	X(ST_NOTIFY, "certspoa_spop_notify_frames_total", STAT_COUNTER, SB_HANDLER, notify, \
	  "NOTIFY frames answered") \
	X(ST_MESSAGES, "certspoa_messages_total", STAT_COUNTER, SB_HANDLER, messages, \
	  "check-client-cert messages decided") \
	X(ST_UNKNOWN_MESSAGES, "certspoa_messages_unknown_total", STAT_COUNTER, SB_HANDLER, unknown_messages, \
	  "SPOE messages with another name (ignored)") \
	X(ST_INFLIGHT, "certspoa_spop_frames_in_flight", STAT_GAUGE, SB_NONE, _, \
	  "ACK frames queued and not yet written") \
	X(ST_BYTES_IN, "certspoa_spop_received_bytes_total", STAT_COUNTER, SB_CONN, bytes_in, \
	  "SPOP bytes received") \
	X(ST_BYTES_OUT, "certspoa_spop_sent_bytes_total", STAT_COUNTER, SB_CONN, bytes_out, \
	  "SPOP bytes sent") \
	X(ST_CACHE_HITS, "certspoa_cache_hits_total", STAT_COUNTER, SB_CACHE, hits, \
	  "Decision cache hits (no certificate parsing)") \
	X(ST_CACHE_MISSES, "certspoa_cache_misses_total", STAT_COUNTER, SB_CACHE, misses, \
	  "Decision cache misses (certificate parsed)") \
	X(ST_CERTS, "certspoa_client_certificates", STAT_GAUGE, SB_NONE, _, \
	  "Distinct client certificates in the decision caches") \
	X(ST_CERTS_SOONEST, "certspoa_client_certificates_soonest_expiry_timestamp_seconds", STAT_GAUGE, SB_NONE, _, \
	  "Earliest not_after among those last allowed (0 = none)") \
	X(ST_OCSP_HITS, "certspoa_ocsp_cache_hits_total", STAT_COUNTER, SB_NONE, _, \
	  "OCSP lookups answered from the shared OCSP cache") \
	X(ST_OCSP_MISSES, "certspoa_ocsp_cache_misses_total", STAT_COUNTER, SB_NONE, _, \
	  "OCSP lookups without a usable answer (a fetch started or already running)") \
	X(ST_OCSP_REFRESHES, "certspoa_ocsp_refreshes_total", STAT_COUNTER, SB_NONE, _, \
	  "OCSP answers refreshed before their end because the certificate was still seen") \
	X(ST_OCSP_DEFERRED, "certspoa_ocsp_deferred_total", STAT_COUNTER, SB_WORKER, deferred, \
	  "NOTIFYs whose ACK waited for an OCSP answer") \
	X(ST_OCSP_DEFERRED_NOW, "certspoa_ocsp_deferred", STAT_GAUGE, SB_WORKER, deferred_now, \
	  "NOTIFYs waiting for an OCSP answer now") \
	X(ST_OCSP_DEFERRED_TIMEOUTS, "certspoa_ocsp_deferred_timeouts_total", STAT_COUNTER, SB_WORKER, deferred_timeouts, \
	  "Waiting NOTIFYs answered at ocsp_timeout, without an answer") \
	X(ST_OCSP_DEFERRED_DROPPED, "certspoa_ocsp_deferred_dropped_total", STAT_COUNTER, SB_WORKER, deferred_dropped, \
	  "Waiting NOTIFYs whose connection was gone when they could be answered") \
	X(ST_OCSP_DEFERRED_REFUSED, "certspoa_ocsp_deferred_refused_total", STAT_COUNTER, SB_WORKER, deferred_refused, \
	  "NOTIFYs decided at once because too many were waiting (as if their wait were over)")

enum stat_id {
#define STAT_ID(id, name, type, block, field, help) id,
	STATS_FIGURES(STAT_ID)
#undef STAT_ID
	ST_COUNT
};

/* Labelled families. */
enum stat_family {
	SF_DECISIONS = 0,     /* {verdict, code, rule} */
	SF_SHADOW,            /* {code, rule}: would-be denials of shadow policies */
	SF_POLICY,            /* {policy, verdict} */
	SF_SPOP_ERRORS,       /* {status, error} */
	SF_LATENCY,           /* histogram */
	SF_THUMBPRINTS,       /* {policy} */
	SF_CRLS,              /* {policy} */
	SF_CRL_LAST_UPDATE,   /* {policy} */
	SF_CRL_NEXT_UPDATE,   /* {policy} */
	SF_BUILD_INFO,        /* {version, openssl, libev}, always 1 */
	SF_CONFIG_INFO,       /* {sha256}, always 1 */
	SF_OCSP_RESULTS,      /* {status} */
	SF_OCSP_FETCHES,      /* {responder, result} */
	SF_OCSP_FAILING,      /* {responder}: consecutive failures */
	SF_OCSP_LATENCY,      /* histogram */
	SF_COUNT
};

enum stat_type {
	STAT_COUNTER = 0,
	STAT_GAUGE,
	STAT_HISTOGRAM,
	STAT_TYPES
};

struct stat_def {
	const char *name;        /* Prometheus name; JSON key without "certspoa_" */
	enum stat_type type;
	const char *help;
	enum stats_block block;  /* SB_NONE: filled by the collector */
	size_t offset;           /* of the uint64_t counter in its block */
};

extern const struct stat_def stat_defs[ST_COUNT];
extern const struct stat_def family_defs[SF_COUNT];

/* Decisions per second over the last STATS_RATE_WINDOW seconds, from one
 * sample a second (stats_rate_start()). */
#define STATS_RATE_WINDOW 10

/* Decisions by code over the last 15 minutes: one sample every
 * STATS_RING_STEP seconds (wall clock, aligned), written and read by the
 * main thread only (the workers' counters are read as everywhere else). */
#define STATS_RING_STEP  10
#define STATS_RING_SLOTS 90

struct stats_ring {
	int64_t t[STATS_RING_SLOTS];              /* end of each sample (unix s) */
	int dt[STATS_RING_SLOTS];                 /* its length in seconds */
	uint64_t n[STATS_RING_SLOTS][DEC_CODES];  /* decisions in it, by code */
	int pos, len;                             /* next slot; samples held */
	int64_t last_t;                           /* time of the last push, 0 = none */
	uint64_t last[DEC_CODES];                 /* cumulative counts then */
};

/* One sample of the chart: decisions by code in [t - dt, t]. */
struct stats_sample {
	int64_t t;
	int dt;
	uint64_t n[DEC_CODES];
};

/* The samples of the last 15 minutes plus the interval still running. */
#define STATS_HISTORY_MAX (STATS_RING_SLOTS + 1)

/* Record the cumulative counts by code at now (pure: tests pin now). The
 * first push only sets the base; a counter that went down counts 0. */
void stats_ring_push(struct stats_ring *r, int64_t now, const uint64_t *by_code);

/* The samples held, oldest first, those older than 15 minutes before now
 * left out, then (when now is later than the last push) the running
 * interval from cumulative counts by_code. Returns how many were written. */
int stats_ring_history(const struct stats_ring *r, int64_t now, const uint64_t *by_code,
                       struct stats_sample *out, int max);

#define STATS_RELOAD_ERROR_MAX 2048
#define STATS_CFG_FILES_MAX    256

/* A file the configuration names, as the /config view and the config
 * digest show it (reload.c fills these; the secret token file is not one). */
struct stats_cfg_file {
	const char *path;        /* in the live config */
	const char *what;        /* "ca_file", "allow_thumbprints", ... */
	long long size;          /* -1: unreadable or not a regular file */
	char sha256[65];         /* "" when size < 0 */
};

/* What the main thread knows that the workers do not. */
struct stats_agent {
	struct ocsp_cache *ocsp;         /* NULL: no OCSP figures */
	struct worker *workers;
	int nworkers;
	const struct config *cfg;
	struct revoc *revoc;     /* background CRL sources, NULL when none */
	double start_time;
	uint64_t reloads, reload_failures;
	double last_reload;
	int last_reload_ok;
	double rate;             /* decisions per second, last STATS_RATE_WINDOW s */
	int ready;               /* listening with a config */
	ev_timer rate_timer;
	uint64_t rate_samples[STATS_RATE_WINDOW + 1];   /* messages, one a second */
	int rate_pos, rate_n;
	ev_periodic ring_timer;
	struct stats_ring ring;
	double last_reload_error_time;           /* 0 = no refused reload yet */
	char last_reload_error[STATS_RELOAD_ERROR_MAX];
	char config_sha256[65];                  /* of the /config text; "" = not yet */
	int ncfg_files;                          /* of the live config */
	struct stats_cfg_file cfg_files[STATS_CFG_FILES_MAX];
};

#define STATS_SHOW_CERTS    100
#define STATS_SHOW_DENIALS  50
#define STATS_SHOW_RTDENIES 100

struct stats_policy {
	char name[CFG_NAME_MAX];
	uint64_t allow, deny;
	long thumbprints;        /* -1 = no list */
	int crls;                /* 0 = no crl_file */
	long long crl_last_update, crl_next_update;
};

struct stats_snapshot {
	double now;
	double v[ST_COUNT];
	double rate;
	uint64_t by_code[DEC_CODES];
	uint64_t by_rule[DEC_CODES][RULE_COUNT];
	uint64_t shadow[DEC_CODES][RULE_COUNT];    /* by would_deny code and would_rule */
	uint64_t spop_errors[SPOP_ST_COUNT];
	uint64_t lat[HANDLER_LAT_BUCKETS];
	double lat_sum;
	int npolicies;
	struct stats_policy policies[CFG_MAX_POLICIES];
	int ncerts;              /* shown, most recently seen first */
	struct stats_cert certs[STATS_SHOW_CERTS];
	int ndenials;            /* newest first */
	struct stats_denial denials[STATS_SHOW_DENIALS];
	int nrtdenies;           /* runtime denies in force (admin socket), sorted */
	struct rtdeny_entry rtdenies[STATS_SHOW_RTDENIES];
	int partial;             /* a worker did not answer in time */
	int nhistory;            /* oldest first, the running interval last */
	struct stats_sample history[STATS_HISTORY_MAX];
	double last_reload_error_time;
	char last_reload_error[STATS_RELOAD_ERROR_MAX];
	char config_sha256[65];
	char openssl_version[64];
	char libev_version[16];
	struct ocsp_cache_stats ocsp;
	int nresp;
	struct ocsp_responder resp[OCSP_RESPONDERS_MAX];
	struct revoc_source_info *crl_sources;   /* malloc'd by stats_collect; stats_snapshot_done frees */
	int ncrl_sources;
};

/* Frees what stats_collect allocated in s (not s). */
void stats_snapshot_done(struct stats_snapshot *s);

/* Sum the workers' counters and gather their inventories (each worker
 * copies its own, in its thread; waits at most wait_ms). */
void stats_collect(const struct stats_agent *a, struct stats_snapshot *s, int wait_ms);

/* Sum of decisions so far (cheap: counters only). */
uint64_t stats_messages(const struct stats_agent *a);

/* Keep a->rate up to date from a timer in loop (the main thread's). */
void stats_rate_start(struct stats_agent *a, struct ev_loop *loop);

void stats_render_prometheus(const struct stats_snapshot *s, struct sbuf *b);
void stats_render_json(const struct stats_snapshot *s, struct sbuf *b);
void stats_render_html(const struct stats_snapshot *s, struct sbuf *b);

/* The /config view: the effective configuration, list sizes and sources,
 * the files it names with their SHA-256, secrets never (trace_secret and
 * the stats token show as "redacted"). Pure; deterministic for a given
 * config and files, so its SHA-256 is certspoa_config_info's. */
void stats_render_config_text(const struct config *cfg, const struct stats_cfg_file *files,
                              int nfiles, struct sbuf *b);
void stats_render_config_html(const struct config *cfg, const struct stats_cfg_file *files,
                              int nfiles, const char *sha256, struct sbuf *b);

/* "in 12 d", "3 d ago", "in 5 h", "in 40 min", "now": t relative to now. */
void stats_fmt_relative(int64_t t, double now, char *out, size_t len);

/* Processing-time percentile from the histogram, in seconds (upper bound
 * of the bucket where it falls); -1 when there is no data. */
double stats_percentile(const struct stats_snapshot *s, double q);

#endif /* CERTSPOA_STATS_H */
