/* Configuration: what the INI file turns into. Immutable once loaded. */
#ifndef CERTSPOA_CFG_T_H
#define CERTSPOA_CFG_T_H

#include <stddef.h>

#define CFG_MAX_LISTEN 16
#define CFG_MAX_THREADS 64     /* worker threads: [agent] threads is refused above it */
#define CFG_NAME_MAX   64

enum verify_mode {
	VERIFY_HAPROXY = 0,   /* trust HAProxy's ssl_c_verify */
	VERIFY_AGENT   = 1,   /* verify the chain here against ca_file */
	VERIFY_BOTH    = 2,   /* both must pass */
	VERIFY_MODES
};

#define CFG_MAX_POLICIES 64
#define POLICY_MAX_SANS_DEFAULT 100   /* max_sans */
#define POLICY_MAX_SANS_MAX     10000 /* its upper bound: <= CERT_SANS_KEEP_MAX */
#define CFG_MAX_ROUTES   256

enum policy_mode {
	POLICY_ENFORCE = 0,
	POLICY_SHADOW  = 1,      /* decide and report, but always allow */
	POLICY_MODES
};

/* Identity kinds a policy can allow or deny, in the order they are tried. */
enum id_kind {
	ID_THUMBPRINT = 0,       /* SHA-1 / SHA-256 of the certificate */
	ID_SERIAL,               /* serial, optionally with its issuer DN */
	ID_SUBJECT,              /* canonical subject DN */
	ID_ISSUER,               /* canonical issuer DN */
	ID_ISSUER_THUMBPRINT,    /* SHA-1 / SHA-256 of the issuing certificate */
	ID_SPKI,                 /* base64 SHA-256 of the SubjectPublicKeyInfo */
	ID_SPIFFE,               /* SPIFFE ID: trust domain or path prefix */
	ID_URI,                  /* SAN URI, exact */
	ID_DNS,                  /* SAN DNS, exact or "*.suffix" */
	ID_EMAIL,                /* SAN email */
	ID_IP,                   /* SAN IP in a CIDR */
	ID_CN,                   /* subject common name */
	ID_KINDS
};

/* A list as written in the file (inline "a, b" or "@/path") and what it
 * compiled to. Only one of tp/set/cidrs is used, by kind. */
struct cfg_list {
	char *src;
	int line;
	const char *key;         /* the config key it was given with */
	char *file;              /* the file it was read from, if any (for reload watching) */
	struct tplist *tp;
	struct strset *set;
	struct cidr_list *cidrs;
};

struct route {
	char name[CFG_NAME_MAX];
	int line;
	struct cfg_list sni, host, path_prefix, frontend;
	char *policy_name;
	const struct policy *policy;
	struct route *next;
};

struct fwd_config {
	int enabled;             /* a [forwarded] section exists */
	int line;
	struct cfg_list trusted_proxies;
	int format;              /* enum fwd_format */
};

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

/* A serial list holding "SERIAL|ISSUER-DN" also holds "SERIAL" CFG_SERIAL_ANY_ISSUER
 * (added at load): one lookup tells that the serial is listed with an issuer.
 * 0xff is never in a canonical DN (valid UTF-8 or "#hex"). */
#define CFG_SERIAL_ANY_ISSUER "|\xff"

struct policy {
	char name[CFG_NAME_MAX];
	int index;                   /* 0.. in file order */
	int line;                    /* line of the [policy NAME] header */
	int require_cert;
	int verify;                  /* enum verify_mode */
	char *ca_file;
	int ca_file_line;
	char *ca_dir;
	int ca_dir_line;
	char *intermediates;
	int intermediates_line;
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
	struct tplist *thumbprints;  /* allow[ID_THUMBPRINT].tp (issue-2 name) */
	int mode;                    /* enum policy_mode */
	int sni_host_match;          /* SNI must equal Host (domain fronting) */
	int warn_days;               /* 0 = no expiry warning */
	int max_sans;                /* more SANs: too_many_sans; 0 (hand-built) = the default */
	int max_depth;               /* 0 = OpenSSL's default */
	int clock_skew_ms;
	int min_rsa_bits;
	int max_lifetime_days;       /* 0 = any */
	struct cfg_list allowed_curves;      /* set of curve short names / key tokens (lists_key_curve) */
	struct cfg_list allowed_key_types;   /* set of EVP_PKEY type NIDs, as decimal text */
	struct cfg_list forbid_signature;    /* set of digest NIDs, as decimal text */
	struct cfg_list require_policies;    /* set of dotted OIDs */
	struct cfg_list allow[ID_KINDS];
	struct cfg_list deny[ID_KINDS];
	int issuer_rules;            /* issuer thumbprints or serials given with an issuer:
	                                matched on the path the agent verified */
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
	char *stats_token_file;      /* [stats] token_file; NULL = none */
	int stats_token_file_line;
	char *stats_token;           /* its token, trimmed; NULL = none */
	size_t stats_token_len;
	int stats_token_world_readable;  /* a warning for certspoa -c and the log */
	int socket_mode;             /* unix socket permissions, -1 = leave to the umask */
	char *trace_secret;          /* trace argument must equal it; NULL = no traces */
	struct route *routes;        /* first match wins, else default_policy */
	int nroutes;
	struct fwd_config fwd;
	unsigned int generation;     /* 1 at start, +1 per successful reload */
	struct policy *policies;
	struct policy *default_policy;
};

#endif /* CERTSPOA_CFG_T_H */
