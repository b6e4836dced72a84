/* NOTIFY -> facts -> cache/cert -> rules -> ACK. */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "cidr.h"
#include "fwd.h"
#include "counter.h"
#include "handler.h"
#include "rules.h"
#include "spop.h"
#include "uri.h"

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
	int b = 0;

	/* Prometheus buckets are "less than or equal": 2000 ns is in le=2e-06 */
	while (b < HANDLER_LAT_BUCKETS - 1 && ns > (uint64_t)handler_lat_bounds_us[b] * 1000)
		b++;
	CTR_INC(hc->stats.lat[b]);
	CTR_ADD(hc->stats.lat_sum_ns, ns);
}

void handler_destroy(struct handler_ctx *hc)
{
	cache_destroy(&hc->cache);
	free(hc->fwd_buf);
	hc->fwd_buf = NULL;
	free(hc->path_buf);
	hc->path_buf = NULL;
}

/* Argument table: name, accepted types (bit mask of 1 << SPOP_DATA_*). */
enum arg_id {
	ARG_PRESENT = 0,
	ARG_VERIFY,
	ARG_CERT,
	ARG_CHAIN,
	ARG_SNI,
	ARG_HOST,
	ARG_HOST_COUNT,
	ARG_PATH,
	ARG_SRC,
	ARG_FRONTEND,
	ARG_FWD_CERT,
	ARG_FWD_CHAIN,
	ARG_TRACE,
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
	[ARG_HOST_COUNT] = { "host_count", 10, T_INT },
	[ARG_PATH]    = { "path",    4, T(STR) },
	[ARG_SRC]     = { "src",     3, T(IPV4) | T(IPV6) },
	[ARG_FRONTEND]  = { "frontend",  8, T(STR) },
	[ARG_FWD_CERT]  = { "fwd_cert",  8, T(STR) | T(BIN) },
	[ARG_FWD_CHAIN] = { "fwd_chain", 9, T(STR) | T(BIN) },
	[ARG_TRACE]     = { "trace",     5, T(STR) | T(BIN) },
};

const char *handler_arg_name(unsigned int i)
{
	return i < ARG_COUNT ? arg_table[i].name : NULL;
}

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
		case ARG_HOST_COUNT:
			rq->has_host_count = 1;
			rq->host_count = data_int(&v);
			break;
		case ARG_PATH:
			rq->has_path = 1;
			rq->path = v.u.str;
			break;
		case ARG_SRC:
			rq->has_src = 1;
			rq->src = v;
			break;
		case ARG_FRONTEND:
			rq->has_frontend = 1;
			rq->frontend = v.u.str;
			break;
		case ARG_FWD_CERT:
			rq->has_fwd_cert = v.u.str.len > 0;
			rq->fwd_cert = v.u.str;
			break;
		case ARG_FWD_CHAIN:
			rq->has_fwd_chain = v.u.str.len > 0;
			rq->fwd_chain = v.u.str;
			break;
		case ARG_TRACE:
			rq->has_trace = 1;
			rq->trace_value = v.u.str;
			break;
		}
	}
	*p = q;
	return 0;
}

/* Agent-side chain verification, stored in the entry with the leaf's
 * issuer on the path that verified (the only issuer the issuer rules ever
 * see). The client's chain is offered as untrusted certificates; the path
 * may also use the configured and learned intermediates. */
static void verify_into(const struct policy *pol, const struct req_facts *rq,
                        X509 *leaf, uint64_t chain_hash, int64_t now,
                        struct cache_entry *e)
{
	struct cert_verify_opts o = {
		.flags = pol->verify_flags,
		.max_depth = pol->max_depth,
		.skew = pol->clock_skew_ms / 1000,
	};
	struct cert_issuer iss;

	e->verify_code = cert_verify_path(pol->store, leaf,
	                                  rq->has_chain ? (const unsigned char *)rq->chain.ptr : NULL,
	                                  rq->has_chain ? rq->chain.len : 0, now, &o,
	                                  &e->verify_depth, &iss);
	e->verify_store = pol->store;
	e->chain_hash = chain_hash;
	e->verified_at = now;
	e->learned_gen = cert_store_learned_gen(pol->store);
	free(e->issuer_dn);
	e->issuer_dn = iss.dn;          /* the entry owns it now */
	e->issuer_found = iss.found && e->verify_code == X509_V_OK;
	memcpy(e->issuer_sha1, iss.sha1, sizeof(e->issuer_sha1));
	memcpy(e->issuer_sha256, iss.sha256, sizeof(e->issuer_sha256));
}

/* Rules that look at the leaf's issuer (issuer thumbprints, serials given
 * with an issuer): the agent then builds and checks the path itself, also
 * under verify = haproxy. */
static int needs_issuer(const struct policy *pol)
{
	return pol->issuer_rules || pol->allow[ID_ISSUER_THUMBPRINT].src ||
	       pol->deny[ID_ISSUER_THUMBPRINT].src;
}

static int verify_reusable(const struct cache_entry *e, const struct policy *pol,
                           uint64_t chain_hash, int64_t now)
{
	if (!e->verify_store || e->verify_store != pol->store || e->chain_hash != chain_hash)
		return 0;
	if (now < e->verified_at || now - e->verified_at >= CACHE_VERIFY_TTL)
		return 0;
	/* a failure may pass now that the store knows more intermediates */
	if (e->verify_code != X509_V_OK && e->learned_gen != cert_store_learned_gen(pol->store))
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
	int agent_verify = pol->verify != VERIFY_HAPROXY;
	int need_verify = (agent_verify || needs_issuer(pol)) && pol->store;
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
		if (e->parsed && (e->ext = cert_get_ext(x)) != NULL)   /* NULL: rules that need it deny */
			cert_hex(e->ext->spki_sha256, 32, e->spki_hex);
	}
	if (!e->parsed)
		goto out;
	ce->parsed = 1;
	ce->facts = &e->facts;
	ce->ext = e->ext;
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
		if (agent_verify) {
			ce->agent_checked = 1;
			ce->agent_verify = e->verify_code;
			ce->agent_depth = e->verify_depth;
		}
		if (e->issuer_found && e->verify_code == X509_V_OK) {
			ce->has_issuer = 1;
			ce->issuer_sha1 = e->issuer_sha1;
			ce->issuer_sha256 = e->issuer_sha256;
			ce->issuer_dn = e->issuer_dn;
		}
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

/* The same for values that may hold any byte: identity (a SAN or CN from
 * the certificate) and the trace (which quotes SANs, SNI and Host). HAProxy
 * puts them in headers, so anything but printable ASCII becomes '?'. The
 * other variables are printable by construction (hex, escaped names,
 * config names, fixed texts) and are not copied. */
static void opt_str_clean(char **p, char *end, const char *name, const char *val)
{
	char safe[TRACE_MAX + 1], *save = *p;
	size_t n = strlen(val);

	if (n > TRACE_MAX)
		n = TRACE_MAX;
	for (size_t i = 0; i < n; i++)
		safe[i] = (val[i] < 0x20 || val[i] > 0x7e) ? '?' : val[i];
	if (put_str_var(p, end, name, safe, n) < 0)
		*p = save;
}

static void opt_int(char **p, char *end, const char *name, int64_t v)
{
	char *save = *p;


	if (put_int_var(p, end, name, v) < 0)
		*p = save;
}

/* path: the normalized path the routes compared, when it differs from
 * the raw one (haproxy.cfg sets it with set-path on allowed requests). It
 * must fit: an allow without it would send the application a path the
 * agent did not route on. */
static int encode_verdict(char **p, char *end, const struct decision *d,
                          const struct cert_eval *ce, const char *policy,
                          const char *route, const struct spop_str *path,
                          const struct trace *t)
{
	const struct dec_info *di = &dec_table[d->code];

	/* the four a deny rule needs come first and must fit */
	if (put_cstr_var(p, end, "verdict", d->code == DEC_ALLOW ? "allow" : "deny") < 0 ||
	    put_int_var(p, end, "status", d->status) < 0 ||
	    put_cstr_var(p, end, "code", di->code) < 0 ||
	    put_cstr_var(p, end, "reason", di->reason) < 0)
		return -1;
	if (path && put_str_var(p, end, "path", path->ptr, path->len) < 0)
		return -1;
	/* then the rest, most useful first, each only if it fits */
	if (d->detail[0])
		opt_str(p, end, "detail", d->detail);
	if (d->rule)
		opt_str(p, end, "rule", d->rule);
	if (policy)
		opt_str(p, end, "policy", policy);
	if (d->shadowed) {
		opt_str(p, end, "would_deny", dec_table[d->would_code].code);
		if (d->would_rule)
			opt_str(p, end, "would_rule", d->would_rule);
	}
	if (ce && ce->parsed) {
		opt_str(p, end, "sha256", ce->facts->sha256_hex);
		if (d->identity)
			opt_str_clean(p, end, "identity", d->identity);
		if (d->has_days_left)
			opt_int(p, end, "days_left", d->days_left);
		if (d->expiring)
			opt_int(p, end, "expiring", 1);
		opt_str(p, end, "sha1", ce->facts->sha1_hex);
		opt_int(p, end, "not_after", ce->facts->not_after);
		opt_str(p, end, "serial", ce->facts->serial);
		opt_str(p, end, "subject", ce->facts->subject);
		opt_str(p, end, "issuer", ce->facts->issuer);
		if (ce->ext && ce->entry)
			opt_str(p, end, "spki_sha256", ce->entry->spki_hex);
	}
	if (route)
		opt_str(p, end, "route", route);
	if (t && t->on && t->len)
		opt_str_clean(p, end, "trace", t->buf);
	return 0;
}

/* A trace only for a request whose trace header carries trace_secret
 * (compared in constant time); without a secret, never. */
static int trace_allowed(const struct config *cfg, const struct req_facts *rq)
{
	size_t n;
	unsigned char diff = 0;

	if (!cfg->trace_secret || !rq->has_trace)
		return 0;
	n = strlen(cfg->trace_secret);
	if (rq->trace_value.len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(rq->trace_value.ptr[i] ^ cfg->trace_secret[i]);
	return diff == 0;
}

/* A certificate in a header from an upstream proxy: believed only from
 * trusted_proxies, decoded strictly; it then replaces the TLS one. */
static void take_forwarded(struct handler_ctx *hc, struct req_facts *rq)
{
	const struct fwd_config *fc = &hc->cfg->fwd;
	struct fwd_cert out;
	enum fwd_error e;
	int trusted = 0, use_chain;

	if (!rq->has_fwd_cert && !rq->has_fwd_chain)
		return;
	if (fc->enabled && rq->has_src) {
		if (rq->src.type == SPOP_DATA_IPV4)
			trusted = cidr_list_match(fc->trusted_proxies.cidrs, rq->src.u.ipv4, 4);
		else if (rq->src.type == SPOP_DATA_IPV6)
			trusted = cidr_list_match(fc->trusted_proxies.cidrs, rq->src.u.ipv6, 16);
	}
	if (!trusted) {
		rq->fwd_untrusted = 1;
		return;
	}
	if (!rq->has_fwd_cert) {
		rq->fwd_error = FWD_ERR_CHAIN;     /* a chain without a certificate */
		return;
	}
	if (!hc->fwd_buf && !(hc->fwd_buf = malloc(FWD_HEADER_MAX))) {
		rq->fwd_error = FWD_ERR_TOO_BIG;
		return;
	}
	/* only RFC 9440 carries the chain in a header of its own; for the other
	 * formats a Client-Cert-Chain header is whatever the client sent */
	use_chain = fc->format == FWD_RFC9440 && rq->has_fwd_chain;
	e = fwd_decode((enum fwd_format)fc->format, rq->fwd_cert.ptr, rq->fwd_cert.len,
	               use_chain ? rq->fwd_chain.ptr : NULL, use_chain ? rq->fwd_chain.len : 0,
	               hc->fwd_buf, FWD_HEADER_MAX, &out);
	if (e != FWD_OK) {
		rq->fwd_error = (int)e;
		return;
	}
	rq->forwarded = 1;
	rq->has_cert = 1;
	rq->cert.ptr = (const char *)out.der;
	rq->cert.len = out.der_len;
	rq->has_chain = out.chain_len > 0;
	rq->chain.ptr = (const char *)out.chain;
	rq->chain.len = out.chain_len;
}

const struct policy *handler_decide(struct handler_ctx *hc, struct req_facts *rq,
                                    int64_t now, struct trace *t, struct cert_eval *ce,
                                    struct decision *d, const char **route)
{
	const struct policy *pol;

	memset(ce, 0, sizeof(*ce));
	if (!rq->bad_arg)
		take_forwarded(hc, rq);
	/* room for the normalized path, made on first use; without it a route
	 * on the path cannot match and the request is refused */
	if (!hc->path_buf && hc->cfg->routes)
		hc->path_buf = malloc(URI_PATH_MAX);
	memset(d, 0, sizeof(*d));
	if (rules_route(hc->cfg, rq, hc->path_buf, hc->path_buf ? URI_PATH_MAX : 0, t, d,
	                &pol, route) < 0) {
		trace_add(t, "route=%s", *route);
		trace_add(t, "verdict=deny");
		return NULL;
	}
	trace_add(t, "route=%s", *route);
	if (!rq->bad_arg && !rq->fwd_untrusted && !rq->fwd_error && pol)
		handler_eval_cert(hc, pol, rq, now, ce);
	rules_decide(pol, rq, ce, now, t, d);
	return pol;
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
		const struct policy *pol;
		const char *route = NULL;
		char *actions = out;

		t.on = trace_allowed(hc->cfg, &rq);
		t.len = 0;
		t.truncated = 0;
		pol = handler_decide(hc, &rq, now, &t, &ce, &d, &route);
		if (encode_verdict(&out, end, &d, &ce, pol ? pol->name : NULL, route,
		                   rq.path_changed ? &rq.route_path : NULL, &t) < 0) {
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
			if (encode_verdict(&out, end, &d, &ce, pol ? pol->name : NULL, route, NULL, &t) < 0)
				goto no_room;
		}
		CTR_INC(hc->stats.messages);
		CTR_INC(hc->stats.by_code[d.code]);
		if (pol)
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
