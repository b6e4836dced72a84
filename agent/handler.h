/* The SPOP side of a decision: decodes the arguments of a
 * check-client-cert message into struct req_facts (spoe_args[]), hands
 * them to the decision pipeline (decide.h), and encodes the verdict as ACK
 * variables (ACK_VAR_LIST). No sockets, no allocation on a cache hit. */
#ifndef CERTSPOA_HANDLER_H
#define CERTSPOA_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "cfg-t.h"
#include "decide.h"
#include "rules-t.h"
#include "rules.h"
#include "spop-t.h"

#define HANDLER_MESSAGE "check-client-cert"

/* The SPOE arguments of check-client-cert, one table: name, accepted
 * SPOP types, where the value goes in struct req_facts, the HAProxy sample
 * the shipped spoe-conf/ sends, and help. A new argument is one row here,
 * its fields in req_facts (rules-t.h), and the rule that reads it. */
enum spoe_arg_store {
	SPOE_ARG_BOOL = 0,       /* int = the boolean */
	SPOE_ARG_INT,            /* int64_t; an unsigned value above INT64_MAX is -1 */
	SPOE_ARG_VIEW,           /* struct spop_str view into the frame */
	SPOE_ARG_VIEW_NONEMPTY,  /* the same; an empty value counts as absent */
	SPOE_ARG_DATA,           /* struct spop_data, whole */
	SPOE_ARG_STORES
};

struct spoe_arg {
	const char *name;
	size_t len;                      /* strlen(name) */
	unsigned int types;              /* bit mask of 1 << SPOP_DATA_* */
	enum spoe_arg_store store;
	size_t has_off;                  /* int has_<x> in struct req_facts */
	size_t val_off;                  /* its value in struct req_facts */
	const char *sample;              /* what spoe-conf/ sends */
	const char *help;
};

extern const struct spoe_arg spoe_args[];
extern const size_t spoe_nargs;

/* The variables the ACK sets (txn.<var-prefix>.<name>), one table: X(ID,
 * name, SPOP type, when it is set). Names stay short: HAProxy builds the
 * whole variable name in a 64-byte buffer. tests/docs/run.sh checks that
 * README documents each and that every spoe-conf/ file registers each
 * (keep one X( line per variable). */
#define ACK_VAR_LIST(X) \
	X(VERDICT,     "verdict",     STR,   "always: allow or deny") \
	X(STATUS,      "status",      INT64, "always: 200 on allow, deny_status on deny") \
	X(CODE,        "code",        STR,   "always: the stable decision code") \
	X(REASON,      "reason",      STR,   "always: the code in words") \
	X(PATH,        "path",        STR,   "a route used the path and normalizing changed it") \
	X(DETAIL,      "detail",      STR,   "there is a precise cause") \
	X(RULE,        "rule",        STR,   "the check that decided") \
	X(POLICY,      "policy",      STR,   "a policy was chosen") \
	X(WOULD_DENY,  "would_deny",  STR,   "shadow mode turned a denial into an allow: its code") \
	X(WOULD_RULE,  "would_rule",  STR,   "shadow mode: the rule that would have denied") \
	X(DENY_DETAIL, "deny_detail", STR,   "a denial: what the client may be told (none, code, hint)") \
	X(SHA256,      "sha256",      STR,   "a parsed certificate") \
	X(IDENTITY,    "identity",    STR,   "a parsed certificate with an identity") \
	X(DAYS_LEFT,   "days_left",   INT64, "a parsed certificate") \
	X(EXPIRING,    "expiring",    INT64, "days_left <= warn_days") \
	X(SHA1,        "sha1",        STR,   "a parsed certificate") \
	X(NOT_AFTER,   "not_after",   INT64, "a parsed certificate") \
	X(SERIAL,      "serial",      STR,   "a parsed certificate") \
	X(SUBJECT,     "subject",     STR,   "a parsed certificate") \
	X(ISSUER,      "issuer",      STR,   "a parsed certificate") \
	X(SPKI_SHA256, "spki_sha256", STR,   "a parsed certificate whose extensions were read") \
	X(CLIENT_ID,   "client_id",   STR,   "a parsed certificate: the policy's client_id key, at most 128 bytes") \
	X(ROUTE,       "route",       STR,   "always, once routing ran") \
	X(TOKEN_SUB,   "token_sub",   STR,   "allowed with a verified bound token that has sub") \
	X(TOKEN_CLIENT_ID, "token_client_id", STR, "allowed with a verified bound token that has client_id (or azp)") \
	X(TOKEN_SCOPE, "token_scope", STR,   "allowed with a verified bound token that has scope") \
	X(TRACE,       "trace",       STR,   "the trace argument equals trace_secret") \
	X(REUSE,       "reuse",       STR,   "always with a verdict: connection (HAProxy may reuse it on this TLS connection) or request") \
	X(MAX_AGE,     "max_age",     INT64, "always with a verdict: seconds it may be reused (0 with reuse = request)") \
	X(GEN,         "gen",         INT64, "always with a verdict: the verdict generation it was made under (reuse only while it is the newest)")

#define ACK_VAR_ENUM(id, name, type, when) ACK_##id,
enum ack_var { ACK_VAR_LIST(ACK_VAR_ENUM) ACK_VARS };
#undef ACK_VAR_ENUM

struct ack_var_info {
	const char *name;
	size_t len;                      /* strlen(name) */
	enum spop_data_type type;
	const char *when;
};

extern const struct ack_var_info ack_vars[ACK_VARS];

/* Processing-time histogram: upper bounds in microseconds, last = +Inf. */
#define HANDLER_LAT_BUCKETS 15
extern const unsigned int handler_lat_bounds_us[HANDLER_LAT_BUCKETS - 1];

/* Per-thread counters (see counter.h), summed by the stats reader. */
struct handler_stats {
	uint64_t notify;                  /* NOTIFY frames handled */
	uint64_t messages;                /* check-client-cert messages decided */
	uint64_t unknown_messages;
	uint64_t by_code[DEC_CODES];
	uint64_t by_rule[DEC_CODES][RULE_COUNT];     /* the decision's code and rule */
	uint64_t shadow[DEC_CODES][RULE_COUNT];      /* shadow allows: would_deny, would_rule */
	uint64_t lat[HANDLER_LAT_BUCKETS];
	uint64_t lat_sum_ns;
	/* decisions per policy name; slots are appended (release on npol),
	 * never renamed, so a reader may read names below npol */
	int npol;
	char pol_name[CFG_MAX_POLICIES][CFG_NAME_MAX];
	uint64_t pol_verdict[CFG_MAX_POLICIES][2];    /* [slot][0 deny, 1 allow] */
};

struct handler_ctx {
	struct decide_ctx dc;             /* config, cache, decision buffers */
	int pol_slot[CFG_MAX_POLICIES];   /* policy->index -> stats slot */
	struct handler_stats stats;
	int replay;                       /* deciding a deferred NOTIFY again: not counted twice */
	/* rule name -> label id, by the name's address (the rules name
	 * themselves with string constants): one strcmp instead of a walk of
	 * the whole table on every message */
	struct { const char *name; int id; } rule_memo[8];
};

/* What one message came to, for logs and the recent-denials list. The
 * pointers are valid until the next call on this context. */
struct handler_result {
	struct decision d;
	const struct policy *policy;
	const struct cert_facts *facts;   /* NULL if no parsed certificate */
	int has_src;
	struct spop_data src;
	struct spop_str req_id;           /* HAProxy's unique-id; len 0 if not sent */
	int deferred;                     /* HANDLER_DEFERRED: only policy is set */
};

/* Returns 0, or -1 when the decision cache cannot be allocated. */
int handler_init(struct handler_ctx *hc, const struct config *cfg, unsigned int gen);
void handler_destroy(struct handler_ctx *hc);

/* Switch to a new configuration (a reload): cached decisions of older
 * generations stop matching; counters carry on. */
void handler_set_config(struct handler_ctx *hc, const struct config *cfg, unsigned int gen);

/* Count one processing time. */
void handler_record_latency(struct handler_ctx *hc, uint64_t ns);

/* Decode the arguments of one check-client-cert message into rq; *p is
 * after NB-ARGS. Returns -1 on a malformed list (a protocol error);
 * wrongly typed arguments are reported in rq->bad_arg instead. */
int handler_get_args(const char **p, const char *end, unsigned int nb_args,
                     struct req_facts *rq);

/* The argument names a check-client-cert message may carry (what
 * `certspoa lint` checks SPOE files against): spoe_args[i].name, NULL past
 * the last one. */
const char *handler_arg_name(unsigned int i);

/* Handle one NOTIFY payload and write a whole ACK frame (ids echoed, FIN)
 * at *p, at most max_frame bytes after its length prefix. Returns 0, or -1
 * with *st the status to disconnect with (malformed payload, no room), or
 * HANDLER_DEFERRED when the decision waits for an OCSP answer: nothing is
 * written, and the caller calls again with the same payload later (with
 * hc->replay set, and hc->dc.ocsp_no_wait once its wait is over). */
#define HANDLER_DEFERRED 1
int handler_notify(struct handler_ctx *hc, uint64_t stream_id, uint64_t frame_id,
                   const char *payload, size_t len, int64_t now,
                   char **p, char *end, size_t max_frame, enum spop_status *st,
                   struct handler_result *res);

#endif /* CERTSPOA_HANDLER_H */
