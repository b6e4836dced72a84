/* certspoa probe: what one request along the client-certificate path
 * showed (struct probe_facts), and the diagnosis drawn from it. */
#ifndef CERTSPOA_PROBE_T_H
#define CERTSPOA_PROBE_T_H

#include <stdint.h>

#define PROBE_MAX_CA_NAMES   32     /* acceptable CA names kept (more are counted) */
#define PROBE_MAX_CHAIN      16     /* server chain certificates shown */
#define PROBE_NAME_MAX       512    /* an RFC 2253 name, cut with "..." */
#define PROBE_MAX_HDRS       16     /* X-Certspoa-* response headers kept */
#define PROBE_HDR_MAX        1400   /* one header value; the trace is up to 1 KB */
#define PROBE_BODY_SHOW      4096   /* body bytes kept for the report */
#define PROBE_SENTENCE_MAX   1024

/* How far the probe got. */
enum probe_stage {
	PROBE_ST_ARGS = 0,     /* nothing tried */
	PROBE_ST_TCP,          /* connecting */
	PROBE_ST_TLS,          /* connected; handshaking */
	PROBE_ST_HTTP,         /* TLS up; request sent or being sent */
	PROBE_ST_DONE,         /* an HTTP answer was read */
	PROBE_ST_COUNT
};

/* The diagnoses, one table: id, stable name (--json "diagnosis_id") and
 * exit status (0 allowed, 1 denied, 2 broke before the agent). The
 * sentences are written in probe_diagnose(); docs/PROBE.md lists them. */
#define PROBE_DIAGS(X) \
	X(PD_CONNECT,           "connect_failed",          2) \
	X(PD_TLS_FAILED,        "tls_failed",              2) \
	X(PD_TLS_ALERT_CERT,    "tls_alert_certificate",   2) \
	X(PD_NO_HTTP,           "no_http_answer",          2) \
	X(PD_AGENT_DOWN,        "agent_unavailable",       2) \
	X(PD_NEVER_ASKED_PROXY, "never_asked_proxy",       1) \
	X(PD_DROPPED_BY_PROXY,  "dropped_by_proxy",        1) \
	X(PD_NEVER_ASKED_BIND,  "never_asked_bind",        1) \
	X(PD_SENT_NOT_PASSED,   "sent_not_passed",         1) \
	X(PD_ISSUER_NOT_LISTED, "issuer_not_acceptable",   1) \
	X(PD_EXPIRED,           "cert_expired",            1) \
	X(PD_DENIED,            "denied",                  1) \
	X(PD_REFUSED_OTHER,     "refused_not_by_certspoa", 1) \
	X(PD_ALLOWED_CA_WARN,   "allowed_issuer_not_listed", 0) \
	X(PD_ALLOWED_FORWARDED, "allowed_forwarded",       0) \
	X(PD_ALLOWED,           "allowed",                 0)

#define PROBE_DIAG_ENUM(id, name, rc) id,
enum probe_diag_id {
	PROBE_DIAGS(PROBE_DIAG_ENUM)
	PD_COUNT
};
#undef PROBE_DIAG_ENUM

struct probe_diag_info {
	const char *name;
	int exit_code;
};

struct probe_hdr {
	char name[64];                  /* lowercase */
	char value[PROBE_HDR_MAX];
	int cut;                        /* the value was longer */
};

/* An HTTP answer (probe_http_parse). */
struct probe_http {
	int status;
	int nhdrs;
	struct probe_hdr hdrs[PROBE_MAX_HDRS];   /* X-Certspoa-* only, in order */
	char *body;                     /* malloc'd, dechunked, NUL-terminated */
	size_t body_len;
	const char *error;              /* why parsing failed (static text) */
};

/* Everything the diagnosis looks at. Filled by probe.c from the wire;
 * unit tests fill it by hand. Strings are NUL-terminated, "" when absent. */
struct probe_facts {
	enum probe_stage stage;        /* the stage that failed, or PROBE_ST_DONE */
	char error[512];               /* what went wrong at that stage */

	/* TLS */
	int alert;                     /* a fatal alert from the server was read */
	int alert_code;                /* its TLS AlertDescription */
	char alert_desc[64];           /* "unknown CA", ... */
	int alert_after_handshake;     /* TLS 1.3: the handshake had completed */

	/* the client certificate */
	int cert_requested;            /* a CertificateRequest arrived */
	int nca_names;                 /* acceptable CA names the server listed */
	int ca_match;                  /* the client's chain leads to one of them */
	int cert_sent;                 /* our certificate went into the handshake */
	char client_issuer[PROBE_NAME_MAX];
	int64_t client_not_after;
	int client_expired;            /* not_after is before now */

	/* HTTP */
	int status;                    /* 0: none */
	char code[64];                 /* X-Certspoa-Code, else the JSON body's "code" */
	char rule[64];                 /* X-Certspoa-Rule, else the body's "rule" */
	char detail[512];              /* the JSON body's "detail" */
	char trace[PROBE_HDR_MAX];     /* X-Certspoa-Trace */
};

#endif /* CERTSPOA_PROBE_T_H */
