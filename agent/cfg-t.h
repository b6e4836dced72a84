/* Configuration: what the INI file turns into. Immutable once loaded. */
#ifndef CERTSPOA_CFG_T_H
#define CERTSPOA_CFG_T_H

#include <stddef.h>

#define CFG_MAX_LISTEN 16
#define CFG_NAME_MAX   64

enum verify_mode {
	VERIFY_HAPROXY = 0,   /* trust HAProxy's ssl_c_verify */
	VERIFY_AGENT   = 1,   /* verify the chain here against ca_file */
	VERIFY_BOTH    = 2,   /* both must pass */
	VERIFY_MODES
};

#define CFG_MAX_POLICIES 64

enum crl_check {
	CRL_CHECK_ALL  = 0,    /* every certificate of the chain */
	CRL_CHECK_LEAF = 1,    /* the client certificate only */
	CRL_CHECKS
};

enum crl_missing {
	CRL_MISSING_DENY  = 0,
	CRL_MISSING_ALLOW = 1,
	CRL_MISSINGS
};

struct policy {
	char name[CFG_NAME_MAX];
	int index;                   /* 0.. in file order */
	int line;                    /* line of the [policy NAME] header */
	int require_cert;
	int verify;                  /* enum verify_mode */
	char *ca_file;
	int ca_file_line;
	char *thumbprints_file;
	int thumbprints_line;
	char *crl_file;
	int crl_file_line;
	int crl_check;               /* enum crl_check */
	int crl_missing;             /* enum crl_missing */
	unsigned int verify_flags;   /* CERT_VF_* derived from the three above */
	int crl_count;
	long long crl_last_update;   /* unix time */
	long long crl_next_update;   /* unix time, 0 = none */
	int deny_status;
	struct cert_store *store;    /* from ca_file */
	struct tplist *thumbprints;  /* from thumbprints_file, NULL = no list */
	struct policy *next;
};

enum log_decisions {
	LOG_DECISIONS_NONE    = 0,
	LOG_DECISIONS_DENIALS = 1,
	LOG_DECISIONS_ALL     = 2,
	LOG_DECISIONS_MODES
};

struct config {
	char *file;
	char *listen[CFG_MAX_LISTEN];
	int nlisten;
	int threads;                 /* 0 = one per CPU */
	int max_frame_size;
	int max_connections;
	int hello_timeout_ms;
	int idle_timeout_ms;
	int shutdown_timeout_ms;
	int fragmentation;
	int max_message_size;        /* reassembled NOTIFY payload limit */
	int cache_size;              /* decision cache entries per thread */
	int log_level;
	int log_format;              /* enum log_format */
	int log_decisions;           /* enum log_decisions */
	char *ready_file;
	char *pid_file;
	int reload_watch_ms;         /* 0 = no polling */
	char *stats_listen;          /* NULL = no stats listener */
	unsigned int generation;     /* 1 at start, +1 per successful reload */
	struct policy *policies;
	struct policy *default_policy;
};

#endif /* CERTSPOA_CFG_T_H */
