/* NOTIFY -> arguments (spoe_args) -> decide_request -> ACK (ack_vars). */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"
#include "decide.h"
#include "handler.h"
#include "rules.h"
#include "spop.h"
#include "token.h"

/* a switch on an enum names every value: a new one is a compile error here */
#pragma GCC diagnostic warning "-Wswitch-enum"

const unsigned int handler_lat_bounds_us[HANDLER_LAT_BUCKETS - 1] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000
};

#define T(x) (1U << SPOP_DATA_##x)
#define T_INT (T(INT32) | T(UINT32) | T(INT64) | T(UINT64))
#define ARG(name, types, store, has, val, sample, help) \
	{ name, sizeof(name) - 1, types, SPOE_ARG_##store, \
	  offsetof(struct req_facts, has), offsetof(struct req_facts, val), sample, help }

const struct spoe_arg spoe_args[] = {
	ARG("present",    T(BOOL),          BOOL,          has_present,    present,     "ssl_c_used",
	    "a client certificate was presented"),
	ARG("verify",     T_INT,            INT,           has_verify,     verify,      "ssl_c_verify",
	    "HAProxy's verification result (0 = ok)"),
	ARG("cert",       T(BIN),           VIEW,          has_cert,       cert,        "ssl_c_der",
	    "the client certificate, DER"),
	ARG("chain",      T(BIN),           VIEW,          has_chain,      chain,       "ssl_c_chain_der",
	    "the chain the client sent without its leaf, DER"),
	ARG("sni",        T(STR),           VIEW,          has_sni,        sni,         "ssl_fc_sni",
	    "the TLS server name"),
	ARG("host",       T(STR),           VIEW,          has_host,       host,        "req.fhdr(host)",
	    "the whole Host header value"),
	ARG("host_count", T_INT,            INT,           has_host_count, host_count,  "req.hdr_cnt(host)",
	    "how many Host headers the request has"),
	ARG("path",       T(STR),           VIEW,          has_path,       path,        "path",
	    "the request path"),
	ARG("src",        T(IPV4) | T(IPV6), DATA,         has_src,        src,         "src",
	    "the client address"),
	ARG("frontend",   T(STR),           VIEW,          has_frontend,   frontend,    "fe_name",
	    "the HAProxy frontend name"),
	ARG("fwd_cert",   T(STR) | T(BIN),  VIEW_NONEMPTY, has_fwd_cert,   fwd_cert,    "req.fhdr(client-cert)",
	    "a certificate forwarded by an upstream proxy ([forwarded] format)"),
	ARG("fwd_chain",  T(STR) | T(BIN),  VIEW_NONEMPTY, has_fwd_chain,  fwd_chain,   "req.fhdr(client-cert-chain)",
	    "its chain (rfc9440 only)"),
	ARG("trace",      T(STR) | T(BIN),  VIEW,          has_trace,      trace_value, "req.hdr(x-certspoa-trace)",
	    "a trace comes back when this equals trace_secret"),
	ARG("unique_id",  T(STR),           VIEW_NONEMPTY, has_unique_id,  unique_id,   "unique-id",
	    "HAProxy's request id (unique-id-format), logged as req_id"),
	/* certificate-bound tokens (token = bound|required, docs/TOKENS.md) */
	ARG("authorization", T(STR) | T(BIN), VIEW,        has_authz,      authz,       "req.fhdr(authorization)",
	    "the whole Authorization header value (a Bearer JWT)"),
	ARG("authorization_count", T_INT,   INT,           has_authz_count, authz_count, "req.fhdr_cnt(authorization)",
	    "how many Authorization headers; a token with anything but 1 is refused"),
};
const size_t spoe_nargs = sizeof(spoe_args) / sizeof(spoe_args[0]);

#define ACK_VAR_INFO(id, name, type, when) [ACK_##id] = { name, sizeof(name) - 1, SPOP_DATA_##type, when },
const struct ack_var_info ack_vars[ACK_VARS] = { ACK_VAR_LIST(ACK_VAR_INFO) };
#undef ACK_VAR_INFO

/* Map each policy of cfg to a stats slot of the same name. */
static void map_policies(struct handler_ctx *hc)
{
	struct handler_stats *st = &hc->stats;

	for (const struct policy *p = hc->dc.cfg->policies; p; p = p->next) {
		int slot, n = __atomic_load_n(&st->npol, __ATOMIC_RELAXED);

		for (slot = 0; slot < n; slot++)
			if (strcmp(st->pol_name[slot], p->name) == 0)
				break;
		if (slot == n && n < CFG_MAX_POLICIES) {
			snprintf(st->pol_name[n], sizeof(st->pol_name[n]), "%s", p->name);
			__atomic_store_n(&st->npol, n + 1, __ATOMIC_RELEASE);
		} else if (slot == n) {
			slot = CFG_MAX_POLICIES - 1;    /* more names than slots over time */
		}
		if (p->index >= 0 && p->index < CFG_MAX_POLICIES)
			hc->pol_slot[p->index] = slot;
	}
}

int handler_init(struct handler_ctx *hc, const struct config *cfg, unsigned int gen)
{
	memset(hc, 0, sizeof(*hc));
	if (decide_init(&hc->dc, cfg, gen) < 0)
		return -1;
	map_policies(hc);
	return 0;
}

void handler_set_config(struct handler_ctx *hc, const struct config *cfg, unsigned int gen)
{
	decide_set_config(&hc->dc, cfg, gen);
	map_policies(hc);
}

void handler_record_latency(struct handler_ctx *hc, uint64_t ns)
{
	int b = 0;

	/* Prometheus buckets are "less than or equal": 2000 ns is in le=2e-06 */
	while (b < HANDLER_LAT_BUCKETS - 1 && ns > (uint64_t)handler_lat_bounds_us[b] * 1000)
		b++;
	CTR_INC(hc->stats.lat[b]);
	CTR_ADD(hc->stats.lat_sum_ns, ns);
}

void handler_destroy(struct handler_ctx *hc)
{
	decide_destroy(&hc->dc);
}

const char *handler_arg_name(unsigned int i)
{
	return i < spoe_nargs ? spoe_args[i].name : NULL;
}

static int64_t data_int(const struct spop_data *d)
{
	if (d->type == SPOP_DATA_UINT32 || d->type == SPOP_DATA_UINT64)
		return d->u.uint > INT64_MAX ? -1 : (int64_t)d->u.uint;
	return d->u.sint;
}

/* Store one argument's value where its row says. */
static void store_arg(const struct spoe_arg *a, const struct spop_data *v, struct req_facts *rq)
{
	char *base = (char *)rq;
	int has = 1, b;
	int64_t i;

	switch (a->store) {
	case SPOE_ARG_BOOL:
		b = v->u.boolean;
		memcpy(base + a->val_off, &b, sizeof(b));
		break;
	case SPOE_ARG_INT:
		i = data_int(v);
		memcpy(base + a->val_off, &i, sizeof(i));
		break;
	case SPOE_ARG_VIEW_NONEMPTY:
		has = v->u.str.len > 0;
		/* fall through */
	case SPOE_ARG_VIEW:
		memcpy(base + a->val_off, &v->u.str, sizeof(v->u.str));
		break;
	case SPOE_ARG_DATA:
		memcpy(base + a->val_off, v, sizeof(*v));
		break;
	case SPOE_ARG_STORES:
		return;
	}
	memcpy(base + a->has_off, &has, sizeof(has));
}

int handler_get_args(const char **p, const char *end, unsigned int nb_args,
                     struct req_facts *rq)
{
	const char *q = *p;

	memset(rq, 0, sizeof(*rq));
	for (unsigned int i = 0; i < nb_args; i++) {
		struct spop_str name;
		struct spop_data v;
		size_t id;

		if (spop_get_arg(&q, end, &name, &v) < 0)
			return -1;
		for (id = 0; id < spoe_nargs; id++)
			if (spop_str_eq(name, spoe_args[id].name, spoe_args[id].len))
				break;
		if (id == spoe_nargs || v.type == SPOP_DATA_NULL)
			continue;           /* unknown, or absent sample */
		if (!(spoe_args[id].types & (1U << v.type))) {
			if (!rq->bad_arg)
				rq->bad_arg = spoe_args[id].name;
			continue;
		}
		store_arg(&spoe_args[id], &v, rq);
	}
	*p = q;
	return 0;
}

/* ACK variables, by their row in ack_vars (handler.h ACK_VAR_LIST). */
static int put_str_var(char **p, char *end, enum ack_var v, const char *val, size_t len)
{
	struct spop_data d = { .type = SPOP_DATA_STR };

	d.u.str.ptr = val;
	d.u.str.len = len;
	return spop_put_set_var(p, end, SPOP_SCOPE_TXN, ack_vars[v].name, ack_vars[v].len, &d);
}

static int put_cstr_var(char **p, char *end, enum ack_var v, const char *val)
{
	return put_str_var(p, end, v, val, strlen(val));
}

static int put_int_var(char **p, char *end, enum ack_var v, int64_t i)
{
	struct spop_data d = { .type = SPOP_DATA_INT64 };

	d.u.sint = i;
	return spop_put_set_var(p, end, SPOP_SCOPE_TXN, ack_vars[v].name, ack_vars[v].len, &d);
}

/* Optional variables: written only if they fit; a partial write is undone. */
static void opt_str(char **p, char *end, enum ack_var v, const char *val)
{
	char *save = *p;

	if (put_cstr_var(p, end, v, val) < 0)
		*p = save;
}

/* The same for values that may hold any byte: identity (a SAN or CN from
 * the certificate) and the trace (which quotes SANs, SNI and Host). HAProxy
 * puts them in headers, so anything but printable ASCII becomes '?'. The
 * other variables are printable by construction (hex, escaped names,
 * config names, fixed texts) and are not copied. */
static void opt_str_clean(char **p, char *end, enum ack_var v, const char *val)
{
	char safe[TRACE_MAX + 1], *save = *p;
	size_t n = strlen(val);

	if (n > TRACE_MAX)
		n = TRACE_MAX;
	for (size_t i = 0; i < n; i++)
		safe[i] = (val[i] < 0x20 || val[i] > 0x7e) ? '?' : val[i];
	if (put_str_var(p, end, v, safe, n) < 0)
		*p = save;
}

static void opt_int(char **p, char *end, enum ack_var v, int64_t i)
{
	char *save = *p;

	if (put_int_var(p, end, v, i) < 0)
		*p = save;
}

/* path: the normalized path the routes compared, when it differs from
 * the raw one (haproxy.cfg sets it with set-path on allowed requests). It
 * must fit: an allow without it would send the application a path the
 * agent did not route on. */
static const char *const deny_detail_words[DENY_DETAILS] = { DENY_DETAIL_LIST(CFG_ENUM_NAME) };

static int encode_verdict(char **p, char *end, const struct decision *d,
                          const struct cert_eval *ce, const struct policy *pol,
                          const char *route, const struct spop_str *path,
                          const struct token_result *tok, const struct trace *t,
                          int deny_detail)
{
	const struct dec_info *di = &dec_table[d->code];
	const char *policy = pol ? pol->name : NULL;

	/* the four a deny rule needs come first and must fit */
	if (put_cstr_var(p, end, ACK_VERDICT, d->code == DEC_ALLOW ? "allow" : "deny") < 0 ||
	    put_int_var(p, end, ACK_STATUS, d->status) < 0 ||
	    put_cstr_var(p, end, ACK_CODE, di->code) < 0 ||
	    put_cstr_var(p, end, ACK_REASON, di->reason) < 0)
		return -1;
	if (path && put_str_var(p, end, ACK_PATH, path->ptr, path->len) < 0)
		return -1;
	/* what the client may be told; without it the shipped haproxy.cfg
	 * tells nothing */
	if (d->code != DEC_ALLOW && deny_detail >= 0 && deny_detail < DENY_DETAILS)
		opt_str(p, end, ACK_DENY_DETAIL, deny_detail_words[deny_detail]);
	/* then the rest, most useful first, each only if it fits */
	if (d->detail[0])
		opt_str(p, end, ACK_DETAIL, d->detail);
	if (d->rule)
		opt_str(p, end, ACK_RULE, d->rule);
	if (policy)
		opt_str(p, end, ACK_POLICY, policy);
	/* early: a rate limit keyed on it must not lose it for want of room */
	if (d->client_id[0])
		opt_str(p, end, ACK_CLIENT_ID, d->client_id);
	if (d->shadowed) {
		opt_str(p, end, ACK_WOULD_DENY, dec_table[d->would_code].code);
		if (d->would_rule)
			opt_str(p, end, ACK_WOULD_RULE, d->would_rule);
	}
	if (ce && ce->parsed) {
		opt_str(p, end, ACK_SHA256, ce->facts->sha256_hex);
		if (d->identity)
			opt_str_clean(p, end, ACK_IDENTITY, d->identity);
		if (d->has_days_left)
			opt_int(p, end, ACK_DAYS_LEFT, d->days_left);
		if (d->expiring)
			opt_int(p, end, ACK_EXPIRING, 1);
		opt_str(p, end, ACK_SHA1, ce->facts->sha1_hex);
		opt_int(p, end, ACK_NOT_AFTER, ce->facts->not_after);
		opt_str(p, end, ACK_SERIAL, ce->facts->serial);
		opt_str(p, end, ACK_SUBJECT, ce->facts->subject);
		opt_str(p, end, ACK_ISSUER, ce->facts->issuer);
		if (ce->ext && ce->entry)
			opt_str(p, end, ACK_SPKI_SHA256, ce->entry->spki_hex);
	}
	if (route)
		opt_str(p, end, ACK_ROUTE, route);
	/* the claims of a verified, bound token (printable ASCII, bounded:
	 * token.c refuses others); never for a shadow pass */
	if (tok && tok->err == TOKEN_OK && d->code == DEC_ALLOW && !d->shadowed) {
		if (tok->sub[0])
			opt_str(p, end, ACK_TOKEN_SUB, tok->sub);
		if (tok->client_id[0])
			opt_str(p, end, ACK_TOKEN_CLIENT_ID, tok->client_id);
		if (tok->scope[0])
			opt_str(p, end, ACK_TOKEN_SCOPE, tok->scope);
	}
	if (t && t->on && t->len)
		opt_str_clean(p, end, ACK_TRACE, t->buf);
	return 0;
}

/* rules_rule_id() through hc->rule_memo: a hit is checked by content
 * too, so a name in a reused buffer can never take another's label. */
static enum rule_id rule_id_memo(struct handler_ctx *hc, const char *rule)
{
	unsigned int slot;
	enum rule_id id;

	if (!rule)
		return rules_rule_id(rule);
	slot = (unsigned int)(((uintptr_t)rule >> 3) % (sizeof(hc->rule_memo) / sizeof(hc->rule_memo[0])));
	if (hc->rule_memo[slot].name == rule && strcmp(rule_names[hc->rule_memo[slot].id], rule) == 0)
		return (enum rule_id)hc->rule_memo[slot].id;
	id = rules_rule_id(rule);
	hc->rule_memo[slot].name = rule;
	hc->rule_memo[slot].id = (int)id;
	return id;
}

int handler_notify(struct handler_ctx *hc, uint64_t stream_id, uint64_t frame_id,
                   const char *payload, size_t len, int64_t now,
                   char **p, char *end, size_t max_frame, enum spop_status *st,
                   struct handler_result *res)
{
	const char *q = payload, *qend = payload + len;
	struct req_facts rq;
	struct cert_eval ce;
	struct decision d;
	struct trace t;
	int found = 0;
	char *start, *out = *p;

	if (!hc->replay)
		CTR_INC(hc->stats.notify);
	if ((size_t)(end - out) > max_frame + 4)
		end = out + max_frame + 4;

	/* Decode every message: the whole payload must be well formed. The
	 * first check-client-cert message is the one decided on. */
	while (q < qend) {
		struct spop_str name;
		unsigned int nb_args;

		if (spop_get_message(&q, qend, &name, &nb_args) < 0)
			goto invalid;
		if (!found && SPOP_STR_EQ(name, HANDLER_MESSAGE)) {
			if (handler_get_args(&q, qend, nb_args, &rq) < 0)
				goto invalid;
			found = 1;
			continue;
		}
		CTR_INC(hc->stats.unknown_messages);
		for (unsigned int i = 0; i < nb_args; i++) {
			struct spop_str an;
			struct spop_data av;

			if (spop_get_arg(&q, qend, &an, &av) < 0)
				goto invalid;
		}
	}

	if (spop_frame_begin(&out, end, &start, SPOP_FRM_ACK, SPOP_FL_FIN,
	                     stream_id, frame_id) < 0)
		goto no_room;
	if (!found) {
		/* nothing for us: still send one action (empty ACKs stall some
		 * 3.1 builds); an unset verdict keeps HAProxy failing closed */
		if (spop_put_unset_var(&out, end, SPOP_SCOPE_TXN, ack_vars[ACK_VERDICT].name,
		                       ack_vars[ACK_VERDICT].len) < 0)
			goto no_room;
	} else {
		const struct policy *pol, *dp;
		const char *route = NULL;
		char *actions = out;
		int detail;
		struct reuse_facts rf;
		enum reuse_scope reuse;
		int64_t max_age;
		/* read before deciding: an answer never carries a generation
		 * newer than the state it was decided on (cache.h) */
		uint64_t vgen = cache_verdict_gen();

		t.on = decide_trace_is_allowed(hc->dc.cfg, &rq);
		t.len = 0;
		t.truncated = 0;
		rf.trace = rq.has_trace;
		pol = decide_request(&hc->dc, &rq, now, &t, &ce, &d, &route);
		if (ce.ocsp.pending) {
			/* an OCSP answer is awaited: no ACK now (nothing is
			 * written); the owner decides this payload again later */
			if (res) {
				memset(res, 0, sizeof(*res));
				res->d.code = DEC_CODES;
				res->policy = pol;
				res->deferred = 1;
			}
			return HANDLER_DEFERRED;
		}
		/* refused before routing: the default policy says what to tell */
		dp = pol ? pol : hc->dc.cfg->default_policy;
		detail = dp ? dp->deny_detail : DENY_DETAIL_NONE;
		if (encode_verdict(&out, end, &d, &ce, pol, route,
		                   rq.path_changed ? &rq.route_path : NULL, rq.token, &t, detail) < 0) {
			if (!rq.path_changed)
				goto no_room;
			/* the normalized path does not fit in the ACK: refuse
			 * rather than allow a path the agent did not route on */
			out = actions;
			d.code = DEC_BAD_REQUEST;
			d.status = pol ? pol->deny_status : 403;
			d.rule = "path_ambiguous";
			d.shadowed = 0;
			snprintf(d.detail, sizeof(d.detail), "the normalized path does not fit in the answer");
			if (encode_verdict(&out, end, &d, &ce, pol, route, NULL, rq.token, &t, detail) < 0)
				goto no_room;
		}
		rf.forwarded = rq.forwarded || rq.has_fwd_cert;
		rf.pending = 0;
		reuse = decide_reuse(hc->dc.cfg, pol, &ce, &d, &rf, now, &max_age);
		opt_str(&out, end, ACK_REUSE, reuse_scope_names[reuse]);
		opt_int(&out, end, ACK_MAX_AGE, max_age);
		opt_int(&out, end, ACK_GEN, (int64_t)(vgen & INT64_MAX));
		CTR_INC(hc->stats.messages);
		CTR_INC(hc->stats.by_code[d.code]);
		CTR_INC(hc->stats.by_rule[d.code][rule_id_memo(hc, d.rule)]);
		if (d.shadowed)
			CTR_INC(hc->stats.shadow[d.would_code][rule_id_memo(hc, d.would_rule)]);
		if (pol)
			CTR_INC(hc->stats.pol_verdict[hc->pol_slot[pol->index]][d.code == DEC_ALLOW]);
		if (ce.entry) {
			ce.entry->requests++;
			ce.entry->last_seen = now;
			ce.entry->last_code = d.code;
			ce.entry->last_rule = d.rule;
		}
		if (res) {
			res->d = d;
			res->policy = pol;
			res->facts = ce.parsed ? ce.facts : NULL;
			res->has_src = rq.has_src;
			res->src = rq.src;
			res->req_id.ptr = rq.has_unique_id ? rq.unique_id.ptr : NULL;
			res->req_id.len = rq.has_unique_id ? rq.unique_id.len : 0;
		}
	}
	if (spop_frame_end(start, out) < 0)
		goto no_room;
	*p = out;
	return 0;

invalid:
	*st = SPOP_ST_INVALID;
	return -1;
no_room:
	*st = SPOP_ST_RES;
	return -1;
}
