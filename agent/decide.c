/* The decision pipeline: forwarded intake -> route -> certificate (cache,
 * agent verification) -> rules. See decide.h. */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "cert.h"
#include "cidr.h"
#include "decide.h"
#include "fwd.h"
#include "rtdeny.h"
#include "rules.h"
#include "uri.h"

/* a switch on an enum names every value: a new one is a compile error here */
#pragma GCC diagnostic warning "-Wswitch-enum"

int decide_init(struct decide_ctx *dc, const struct config *cfg, unsigned int gen)
{
	memset(dc, 0, sizeof(*dc));
	dc->cfg = cfg;
	dc->generation = gen;
	dc->cache_enabled = cfg->cache_size > 0;
	dc->clear_epoch = cache_clear_epoch();
	return cache_init(&dc->cache, dc->cache_enabled ? (size_t)cfg->cache_size : 0);
}

void decide_set_config(struct decide_ctx *dc, const struct config *cfg, unsigned int gen)
{
	/* the cache keeps its size: entries of older generations never match
	 * again and are reused as they age out */
	dc->cfg = cfg;
	dc->generation = gen;
	dc->cache_enabled = cfg->cache_size > 0;
}

void decide_sync(struct decide_ctx *dc)
{
	unsigned int epoch = cache_clear_epoch();

	if (epoch != dc->clear_epoch) {
		cache_clear(&dc->cache);
		dc->clear_epoch = epoch;
	}
}

void decide_destroy(struct decide_ctx *dc)
{
	cache_destroy(&dc->cache);
	free(dc->fwd_buf);
	dc->fwd_buf = NULL;
	free(dc->path_buf);
	dc->path_buf = NULL;
}

/* Agent-side chain verification, stored in the entry with the leaf's
 * issuer on the path that verified (the only issuer the issuer rules ever
 * see). The client's chain is offered as untrusted certificates; the path
 * may also use the configured and learned intermediates. */
static void verify_into(const struct policy *pol, const struct cert_store *store,
                        const struct req_facts *rq, X509 *leaf, uint64_t chain_hash,
                        int64_t now, struct cache_entry *e)
{
	struct cert_verify_opts o = {
		.flags = pol->verify_flags,
		.max_depth = pol->max_depth,
		.skew = pol->clock_skew_ms / 1000,
	};
	struct cert_issuer iss;

	e->verify_code = cert_verify_path(store, leaf,
	                                  rq->has_chain ? (const unsigned char *)rq->chain.ptr : NULL,
	                                  rq->has_chain ? rq->chain.len : 0, now, &o,
	                                  &e->verify_depth, &iss);
	e->verify_store = store;
	e->chain_hash = chain_hash;
	e->verified_at = now;
	e->learned_gen = cert_store_learned_gen(store);
	free(e->issuer_dn);
	e->issuer_dn = iss.dn;          /* the entry owns it now */
	e->issuer_found = iss.found && e->verify_code == X509_V_OK;
	memcpy(e->issuer_sha1, iss.sha1, sizeof(e->issuer_sha1));
	memcpy(e->issuer_sha256, iss.sha256, sizeof(e->issuer_sha256));
}

/* Rules that look at the leaf's issuer (issuer thumbprints, serials given
 * with an issuer): the agent then builds and checks the path itself, also
 * under verify = haproxy. */
static int issuer_is_needed(const struct policy *pol)
{
	return pol->issuer_rules || pol->allow[ID_ISSUER_THUMBPRINT].src ||
	       pol->deny[ID_ISSUER_THUMBPRINT].src;
}

static int verify_is_reusable(const struct cache_entry *e, const struct cert_store *store,
                              uint64_t chain_hash, int64_t now)
{
	if (!e->verify_store || e->verify_store != store || e->chain_hash != chain_hash)
		return 0;
	if (now < e->verified_at || now - e->verified_at >= CACHE_VERIFY_TTL)
		return 0;
	/* a failure may pass now that the store knows more intermediates */
	if (e->verify_code != X509_V_OK && e->learned_gen != cert_store_learned_gen(store))
		return 0;
	/* a time-dependent result must still hold now */
	if (now < e->facts.not_before || now > e->facts.not_after)
		return e->verify_code != X509_V_OK;
	return 1;
}

void decide_eval_cert(struct decide_ctx *dc, const struct policy *pol,
                      const struct req_facts *rq, int64_t now, struct cert_eval *ce)
{
	const unsigned char *der = (const unsigned char *)rq->cert.ptr;
	/* with spiffe_bundles the agent always verifies (rules.c) */
	int agent_verify = pol->verify != VERIFY_HAPROXY || pol->ntds;
	const struct cert_store *store = pol->store;
	int need_verify, td;
	unsigned char key[32];
	uint64_t chain_hash = 0;
	struct cache_entry *e = NULL;
	X509 *x = NULL;

	memset(ce, 0, sizeof(*ce));
	if (!rq->has_cert || rq->cert.len == 0)
		return;
	decide_sync(dc);
	cert_sha256(der, rq->cert.len, key);
	if (dc->cache_enabled)
		e = cache_get(&dc->cache, key, dc->generation);
	if (!e) {
		e = cache_slot(&dc->cache, key, dc->generation);
		x = cert_parse_der(der, rq->cert.len);
		e->parsed = x && cert_get_facts(x, der, rq->cert.len, &e->facts) == 0;
		if (e->parsed && (e->ext = cert_get_ext(x)) != NULL)   /* NULL: rules that need it deny */
			cert_hex(e->ext->spki_sha256, 32, e->spki_hex);
	}
	if (!e->parsed)
		goto out;
	/* a SPIFFE policy: the store of the certificate's own trust domain,
	 * and none when it has no valid one (the rules deny it first) */
	if (pol->ntds)
		store = e->ext && rules_svid_check(pol, e->ext, &td) == SVID_OK ? pol->tds[td].store : NULL;
	need_verify = (agent_verify || issuer_is_needed(pol)) && store;
	if (need_verify && rq->has_chain)
		chain_hash = cache_hash64(rq->chain.ptr, rq->chain.len);
	ce->parsed = 1;
	ce->facts = &e->facts;
	ce->ext = e->ext;
	ce->entry = e;
	if (need_verify) {
		if (!verify_is_reusable(e, store, chain_hash, now)) {
			if (!x)
				x = cert_parse_der(der, rq->cert.len);
			if (!x) {
				ce->parsed = 0;
				goto out;
			}
			verify_into(pol, store, rq, x, chain_hash, now, e);
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

int decide_trace_is_allowed(const struct config *cfg, const struct req_facts *rq)
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
static void take_forwarded(struct decide_ctx *dc, struct req_facts *rq)
{
	const struct fwd_config *fc = &dc->cfg->fwd;
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
	if (!dc->fwd_buf && !(dc->fwd_buf = malloc(FWD_HEADER_MAX))) {
		rq->fwd_error = FWD_ERR_TOO_BIG;
		return;
	}
	/* only RFC 9440 carries the chain in a header of its own; for the other
	 * formats a Client-Cert-Chain header is whatever the client sent */
	use_chain = fc->format == FWD_RFC9440 && rq->has_fwd_chain;
	e = fwd_decode((enum fwd_format)fc->format, rq->fwd_cert.ptr, rq->fwd_cert.len,
	               use_chain ? rq->fwd_chain.ptr : NULL, use_chain ? rq->fwd_chain.len : 0,
	               dc->fwd_buf, FWD_HEADER_MAX, &out);
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

const struct policy *decide_request(struct decide_ctx *dc, struct req_facts *rq,
                                    int64_t now, struct trace *t, struct cert_eval *ce,
                                    struct decision *d, const char **route)
{
	const struct policy *pol;

	memset(ce, 0, sizeof(*ce));
	if (!rq->bad_arg)
		take_forwarded(dc, rq);
	/* room for the normalized path, made on first use; without it a route
	 * on the path cannot match and the request is refused */
	if (!dc->path_buf && dc->cfg->routes)
		dc->path_buf = malloc(URI_PATH_MAX);
	memset(d, 0, sizeof(*d));
	if (rules_route(dc->cfg, rq, dc->path_buf, dc->path_buf ? URI_PATH_MAX : 0, t, d,
	                &pol, route) < 0) {
		trace_add(t, "route=%s", *route);
		trace_add(t, "verdict=deny");
		return NULL;
	}
	trace_add(t, "route=%s", *route);
	if (!rq->bad_arg && !rq->fwd_untrusted && !rq->fwd_error && pol)
		decide_eval_cert(dc, pol, rq, now, ce);
	rules_decide(pol, rq, ce, now, t, d);
	/* an operator's emergency deny (admin socket) wins over every policy */
	rtdeny_apply(rtdeny_current(), ce, now, pol ? pol->deny_status : 403, t, d);
	return pol;
}
