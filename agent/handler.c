/* NOTIFY -> facts -> cache/cert -> rules -> ACK. */
#include <string.h>

#include <openssl/x509.h>

#include "cert.h"
#include "counter.h"
#include "handler.h"
#include "rules.h"
#include "spop.h"

const unsigned int handler_lat_bounds_us[HANDLER_LAT_BUCKETS - 1] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000
};

/* Map each policy of cfg to a stats slot of the same name. */
static void map_policies(struct handler_ctx *hc)
{
	struct handler_stats *st = &hc->stats;

	for (const struct policy *p = hc->cfg->policies; p; p = p->next) {
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
	hc->cfg = cfg;
	hc->generation = gen;
	hc->cache_enabled = cfg->cache_size > 0;
	map_policies(hc);
	return cache_init(&hc->cache, hc->cache_enabled ? (size_t)cfg->cache_size : 0);
}

void handler_set_config(struct handler_ctx *hc, const struct config *cfg, unsigned int gen)
{
	/* the cache keeps its size: entries of older generations never match
	 * again and are reused as they age out */
	hc->cfg = cfg;
	hc->generation = gen;
	hc->cache_enabled = cfg->cache_size > 0;
	map_policies(hc);
}

void handler_record_latency(struct handler_ctx *hc, uint64_t ns)
{
	uint64_t us = ns / 1000;
	int b = 0;

	while (b < HANDLER_LAT_BUCKETS - 1 && us >= handler_lat_bounds_us[b])
		b++;
	CTR_INC(hc->stats.lat[b]);
	CTR_ADD(hc->stats.lat_sum_ns, ns);
}

void handler_destroy(struct handler_ctx *hc)
{
	cache_destroy(&hc->cache);
}

/* Argument table: name, accepted types (bit mask of 1 << SPOP_DATA_*). */
enum arg_id {
	ARG_PRESENT = 0,
	ARG_VERIFY,
	ARG_CERT,
	ARG_CHAIN,
	ARG_SNI,
	ARG_HOST,
	ARG_PATH,
	ARG_SRC,
	ARG_COUNT
};

#define T(x) (1U << SPOP_DATA_##x)
#define T_INT (T(INT32) | T(UINT32) | T(INT64) | T(UINT64))

static const struct {
	const char *name;
	size_t len;
	unsigned int types;
} arg_table[ARG_COUNT] = {
	[ARG_PRESENT] = { "present", 7, T(BOOL) },
	[ARG_VERIFY]  = { "verify",  6, T_INT },
	[ARG_CERT]    = { "cert",    4, T(BIN) },
	[ARG_CHAIN]   = { "chain",   5, T(BIN) },
	[ARG_SNI]     = { "sni",     3, T(STR) },
	[ARG_HOST]    = { "host",    4, T(STR) },
	[ARG_PATH]    = { "path",    4, T(STR) },
	[ARG_SRC]     = { "src",     3, T(IPV4) | T(IPV6) },
};

static int64_t data_int(const struct spop_data *d)
{
	if (d->type == SPOP_DATA_UINT32 || d->type == SPOP_DATA_UINT64)
		return d->u.uint > INT64_MAX ? -1 : (int64_t)d->u.uint;
	return d->u.sint;
}

int handler_get_args(const char **p, const char *end, unsigned int nb_args,
                     struct req_facts *rq)
{
	const char *q = *p;

	memset(rq, 0, sizeof(*rq));
	for (unsigned int i = 0; i < nb_args; i++) {
		struct spop_str name;
		struct spop_data v;
		int id;

		if (spop_get_arg(&q, end, &name, &v) < 0)
			return -1;
		for (id = 0; id < ARG_COUNT; id++)
			if (spop_str_eq(name, arg_table[id].name, arg_table[id].len))
				break;
		if (id == ARG_COUNT || v.type == SPOP_DATA_NULL)
			continue;           /* unknown, or absent sample */
		if (!(arg_table[id].types & (1U << v.type))) {
			if (!rq->bad_arg)
				rq->bad_arg = arg_table[id].name;
			continue;
		}
		switch (id) {
		case ARG_PRESENT:
			rq->has_present = 1;
			rq->present = v.u.boolean;
			break;
		case ARG_VERIFY:
			rq->has_verify = 1;
			rq->verify = data_int(&v);
			break;
		case ARG_CERT:
			rq->has_cert = 1;
			rq->cert = v.u.str;
			break;
		case ARG_CHAIN:
			rq->has_chain = 1;
			rq->chain = v.u.str;
			break;
		case ARG_SNI:
			rq->has_sni = 1;
			rq->sni = v.u.str;
			break;
		case ARG_HOST:
			rq->has_host = 1;
			rq->host = v.u.str;
			break;
		case ARG_PATH:
			rq->has_path = 1;
			rq->path = v.u.str;
			break;
		case ARG_SRC:
			rq->has_src = 1;
			rq->src = v;
			break;
		}
	}
	*p = q;
	return 0;
}

/* Agent-side chain verification, stored in the entry. */
static void verify_into(const struct policy *pol, const struct req_facts *rq,
                        X509 *leaf, uint64_t chain_hash, int64_t now,
                        struct cache_entry *e)
{
	e->verify_code = cert_verify_ex(pol->store, leaf,
	                                rq->has_chain ? (const unsigned char *)rq->chain.ptr : NULL,
	                                rq->has_chain ? rq->chain.len : 0, now, pol->verify_flags,
	                                &e->verify_depth);
	e->verify_store = pol->store;
	e->chain_hash = chain_hash;
	e->verified_at = now;
}

static int verify_reusable(const struct cache_entry *e, const struct policy *pol,
                           uint64_t chain_hash, int64_t now)
{
	if (!e->verify_store || e->verify_store != pol->store || e->chain_hash != chain_hash)
		return 0;
	if (now < e->verified_at || now - e->verified_at >= CACHE_VERIFY_TTL)
		return 0;
	/* a time-dependent result must still hold now */
	if (now < e->facts.not_before || now > e->facts.not_after)
		return e->verify_code != X509_V_OK;
	return 1;
}

void handler_eval_cert(struct handler_ctx *hc, const struct policy *pol,
                       const struct req_facts *rq, int64_t now,
                       struct cert_eval *ce)
{
	const unsigned char *der = (const unsigned char *)rq->cert.ptr;
	int need_verify = pol->verify != VERIFY_HAPROXY && pol->store;
	unsigned char key[32];
	uint64_t chain_hash = 0;
	struct cache_entry *e = NULL;
	X509 *x = NULL;

	memset(ce, 0, sizeof(*ce));
	if (!rq->has_cert || rq->cert.len == 0)
		return;
	cert_sha256(der, rq->cert.len, key);
	if (need_verify && rq->has_chain)
		chain_hash = cache_hash64(rq->chain.ptr, rq->chain.len);
	if (hc->cache_enabled)
		e = cache_get(&hc->cache, key, hc->generation);
	if (!e) {
		e = cache_slot(&hc->cache, key, hc->generation);
		x = cert_parse_der(der, rq->cert.len);
		e->parsed = x && cert_get_facts(x, der, rq->cert.len, &e->facts) == 0;
	}
	if (!e->parsed)
		goto out;
	ce->parsed = 1;
	ce->facts = &e->facts;
	ce->entry = e;
	if (need_verify) {
		if (!verify_reusable(e, pol, chain_hash, now)) {
			if (!x)
				x = cert_parse_der(der, rq->cert.len);
			if (!x) {
				ce->parsed = 0;
				goto out;
			}
			verify_into(pol, rq, x, chain_hash, now, e);
		}
		ce->agent_checked = 1;
		ce->agent_verify = e->verify_code;
		ce->agent_depth = e->verify_depth;
	}
out:
	X509_free(x);
}

/* ACK variables. Names stay short: HAProxy builds "txn.<prefix>.<name>" in
 * a 64-byte buffer. */
static int put_str_var(char **p, char *end, const char *name, const char *val, size_t len)
{
	struct spop_data d = { .type = SPOP_DATA_STR };

	d.u.str.ptr = val;
	d.u.str.len = len;
	return spop_put_set_var(p, end, SPOP_SCOPE_TXN, name, strlen(name), &d);
}

static int put_cstr_var(char **p, char *end, const char *name, const char *val)
{
	return put_str_var(p, end, name, val, strlen(val));
}

static int put_int_var(char **p, char *end, const char *name, int64_t v)
{
	struct spop_data d = { .type = SPOP_DATA_INT64 };

	d.u.sint = v;
	return spop_put_set_var(p, end, SPOP_SCOPE_TXN, name, strlen(name), &d);
}

/* Optional variables: written only if they fit; a partial write is undone. */
static void opt_str(char **p, char *end, const char *name, const char *val)
{
	char *save = *p;

	if (put_cstr_var(p, end, name, val) < 0)
		*p = save;
}

static int encode_verdict(char **p, char *end, const struct decision *d,
                          const struct cert_eval *ce)
{
	const struct dec_info *di = &dec_table[d->code];
	char *save;

	if (put_cstr_var(p, end, "verdict", d->code == DEC_ALLOW ? "allow" : "deny") < 0 ||
	    put_int_var(p, end, "status", d->status) < 0 ||
	    put_cstr_var(p, end, "code", di->code) < 0 ||
	    put_cstr_var(p, end, "reason", di->reason) < 0)
		return -1;
	if (d->detail[0])
		opt_str(p, end, "detail", d->detail);
	if (!ce || !ce->parsed)
		return 0;
	opt_str(p, end, "sha256", ce->facts->sha256_hex);
	opt_str(p, end, "sha1", ce->facts->sha1_hex);
	save = *p;
	if (put_int_var(p, end, "not_after", ce->facts->not_after) < 0)
		*p = save;
	opt_str(p, end, "serial", ce->facts->serial);
	opt_str(p, end, "subject", ce->facts->subject);
	opt_str(p, end, "issuer", ce->facts->issuer);
	return 0;
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
	int found = 0;
	char *start, *out = *p;

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
		if (spop_put_unset_var(&out, end, SPOP_SCOPE_TXN, "verdict", 7) < 0)
			goto no_room;
	} else {
		const struct policy *pol = hc->cfg->default_policy;

		if (!rq.bad_arg)
			handler_eval_cert(hc, pol, &rq, now, &ce);
		else
			memset(&ce, 0, sizeof(ce));
		rules_decide(pol, &rq, &ce, &d);
		CTR_INC(hc->stats.messages);
		CTR_INC(hc->stats.by_code[d.code]);
		CTR_INC(hc->stats.pol_verdict[hc->pol_slot[pol->index]][d.code == DEC_ALLOW]);
		if (ce.entry) {
			ce.entry->requests++;
			ce.entry->last_seen = now;
			ce.entry->last_code = d.code;
		}
		if (res) {
			res->d = d;
			res->policy = pol;
			res->facts = ce.parsed ? ce.facts : NULL;
			res->has_src = rq.has_src;
			res->src = rq.src;
		}
		if (encode_verdict(&out, end, &d, &ce) < 0)
			goto no_room;
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
