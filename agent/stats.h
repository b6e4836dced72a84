/* Stats: every figure declared once (stat_defs[], family_defs[]), collected
 * from the workers without locks, rendered as Prometheus text, JSON and a
 * self-contained HTML page. Runs in the main thread, never on the SPOP path. */
#ifndef CERTSPOA_STATS_H
#define CERTSPOA_STATS_H

#include <stdint.h>

#include "cfg-t.h"
#include "handler.h"
#include "sbuf.h"
#include "spop-t.h"
#include "stats-t.h"

struct worker;

/* Scalar figures. */
enum stat_id {
	ST_START_TIME = 0,
	ST_GENERATION,
	ST_RELOADS,
	ST_RELOAD_FAILURES,
	ST_LAST_RELOAD,
	ST_LAST_RELOAD_OK,
	ST_WORKERS,
	ST_CONNS,
	ST_CONNS_TOTAL,
	ST_CONNS_REFUSED,
	ST_HELLOS,
	ST_HEALTHCHECKS,
	ST_HAPROXY_DISCONNECTS,
	ST_NOTIFY,
	ST_MESSAGES,
	ST_UNKNOWN_MESSAGES,
	ST_INFLIGHT,
	ST_BYTES_IN,
	ST_BYTES_OUT,
	ST_CACHE_HITS,
	ST_CACHE_MISSES,
	ST_CERTS,
	ST_CERTS_SOONEST,
	ST_COUNT
};

/* Labelled families. */
enum stat_family {
	SF_DECISIONS = 0,     /* {verdict, code} */
	SF_POLICY,            /* {policy, verdict} */
	SF_SPOP_ERRORS,       /* {status, error} */
	SF_LATENCY,           /* histogram */
	SF_THUMBPRINTS,       /* {policy} */
	SF_CRLS,              /* {policy} */
	SF_CRL_LAST_UPDATE,   /* {policy} */
	SF_CRL_NEXT_UPDATE,   /* {policy} */
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
};

extern const struct stat_def stat_defs[ST_COUNT];
extern const struct stat_def family_defs[SF_COUNT];

/* What the main thread knows that the workers do not. */
struct stats_agent {
	struct worker *workers;
	int nworkers;
	const struct config *cfg;
	double start_time;
	uint64_t reloads, reload_failures;
	double last_reload;
	int last_reload_ok;
	double rate;             /* decisions per second, last 10 s */
	int ready;               /* listening with a config */
};

#define STATS_SHOW_CERTS    100
#define STATS_SHOW_DENIALS  50

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
	uint64_t spop_errors[SPOP_ST_COUNT];
	uint64_t lat[HANDLER_LAT_BUCKETS];
	double lat_sum;
	int npolicies;
	struct stats_policy policies[CFG_MAX_POLICIES];
	int ncerts;              /* shown, most recently seen first */
	struct stats_cert certs[STATS_SHOW_CERTS];
	int ndenials;            /* newest first */
	struct stats_denial denials[STATS_SHOW_DENIALS];
	int partial;             /* a worker did not answer in time */
};

/* Sum the workers' counters and gather their inventories (each worker
 * copies its own, in its thread; waits at most wait_ms). */
void stats_collect(const struct stats_agent *a, struct stats_snapshot *s, int wait_ms);

/* Sum of decisions so far (cheap: counters only). */
uint64_t stats_messages(const struct stats_agent *a);

void stats_render_prometheus(const struct stats_snapshot *s, struct sbuf *b);
void stats_render_json(const struct stats_snapshot *s, struct sbuf *b);
void stats_render_html(const struct stats_snapshot *s, struct sbuf *b);

/* Processing-time percentile from the histogram, in seconds (upper bound
 * of the bucket where it falls); -1 when there is no data. */
double stats_percentile(const struct stats_snapshot *s, double q);

#endif /* CERTSPOA_STATS_H */
