/* The decision pipeline: forwarded intake -> route -> certificate (cache,
 * agent verification) -> rules. See decide.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "cert.h"
#include "cidr.h"
#include "decide.h"
#include "fwd.h"
#include "rtdeny.h"
#include "ocsp.h"
#include "rules.h"
#include "token.h"
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
	/* this thread now decides under cfg: verdicts reused under the old
	 * one end (cache.h, the verdict generation) */
	cache_verdict_gen_bump();
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
	free(dc->token);
	dc->token = NULL;
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
		.crl_grace = pol->crl_grace,
		.rev = &e->rev,
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
	e->crls_gen = cert_crls_gen();
	free(e->issuer_dn);
	e->issuer_dn = iss.dn;          /* the entry owns it now */
	sk_X509_pop_free(e->path, X509_free);
	e->path = iss.path;             /* this too */
	e->ocsp_nkeys = 0;              /* its OCSP keys are made on first use */
	e->issuer_found = iss.found && e->verify_code == X509_V_OK;
	memcpy(e->issuer_sha1, iss.sha1, sizeof(e->issuer_sha1));
	memcpy(e->issuer_sha256, iss.sha256, sizeof(e->issuer_sha256));
}

/* Rules that look at the leaf's issuer (issuer thumbprints, serials given
 * with an issuer): the agent then builds and checks the path itself, also
 * under verify = haproxy. */
static int issuer_is_needed(const struct policy *pol)
{
	return pol->ocsp != OCSP_MODE_OFF || pol->issuer_rules || pol->allow[ID_ISSUER_THUMBPRINT].src ||
	       pol->deny[ID_ISSUER_THUMBPRINT].src;
}

static int verify_is_reusable(const struct policy *pol, const struct cache_entry *e, const struct cert_store *store,
                              uint64_t chain_hash, int64_t now)
{
	if (!e->verify_store || e->verify_store != store || e->chain_hash != chain_hash)
		return 0;
	if (now < e->verified_at || now - e->verified_at >= CACHE_VERIFY_TTL)
		return 0;
	/* a failure may pass now that the store knows more intermediates */
	if (e->verify_code != X509_V_OK && e->learned_gen != cert_store_learned_gen(store))
		return 0;
	/* fetched CRLs changed: a revocation (or a CRL that was missing)
	 * must count from the next request on */
	if ((pol->verify_flags & (CERT_VF_CRL_LEAF | CERT_VF_CRL_ALL)) && e->crls_gen != cert_crls_gen())
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
	cache_der_key(&dc->cache, der, rq->cert.len, key);
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
		if (!verify_is_reusable(pol, e, store, chain_hash, now)) {
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
			ce->rev = e->rev.found ? &e->rev : NULL;
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

void decide_set_ocsp(struct decide_ctx *dc, struct ocsp_cache *c,
                     decide_ocsp_submit_fn submit, void *arg)
{
	dc->ocsp = c;
	dc->ocsp_submit = submit;
	dc->ocsp_submit_arg = arg;
}

/* The responder for x: ocsp_url with override, else its AIA, else
 * ocsp_url as the fallback. */
static int ocsp_url_for(const struct policy *pol, X509 *x, char *out, size_t n)
{
	if (pol->ocsp_url && pol->ocsp_url_mode == OCSP_URL_OVERRIDE)
		return snprintf(out, n, "%s", pol->ocsp_url) < (int)n ? 0 : -1;
	if (ocsp_aia_url(x, out, n) == 0)
		return 0;
	if (pol->ocsp_url)
		return snprintf(out, n, "%s", pol->ocsp_url) < (int)n ? 0 : -1;
	return -1;
}

/* A claimed key: start its fetch. On failure the error is stored (for
 * ocsp_error_ttl, so the next request does not try at once) and returned. */
static enum ocsp_err ocsp_start(struct decide_ctx *dc, const struct policy *pol, X509 *x,
                                X509 *issuer, const struct ocsp_key *k, int64_t now,
                                char *url, size_t urllen)
{
	struct ocsp_result er = { .status = OCSP_ERROR, .reason = -1 };
	struct ocsp_job *j = NULL;

	url[0] = 0;
	if (ocsp_url_for(pol, x, url, urllen) < 0) {
		url[0] = 0;
		er.err = OCSP_E_NO_URL;
		goto fail;
	}
	er.err = OCSP_E_FETCH;
	if (!dc->ocsp_submit || !(j = ocsp_job_new(k, x, issuer, url)))
		goto fail;
	j->nonce = pol->ocsp_nonce;
	j->timeout_ms = pol->ocsp_timeout_ms;
	j->skew = pol->clock_skew_ms / 1000;
	j->max_age = pol->ocsp_max_age_ms / 1000;
	j->err_ttl = pol->ocsp_error_ttl_ms / 1000;
	j->started = now;
	if (dc->ocsp_submit(dc->ocsp_submit_arg, j) < 0)
		goto fail;
	return OCSP_E_NONE;
fail:
	ocsp_job_free(j);
	ocsp_cache_put(dc->ocsp, k, &er, now, now + pol->ocsp_error_ttl_ms / 1000, url);
	return er.err;
}

/* A responder URL into rev_eval, cut to its room. */
static void rev_url(struct rev_eval *r, const char *url)
{
	size_t n = url ? strnlen(url, sizeof(r->url) - 1) : 0;

	if (n)
		memcpy(r->url, url, n);
	r->url[n] = 0;
}

static void rev_error(struct rev_eval *r, int depth, enum ocsp_err e, const char *url)
{
	r->state = REV_ERROR;
	r->depth = depth;
	r->err = ocsp_err_names[(unsigned int)e < OCSP_ERRS ? e : OCSP_E_INTERNAL];
	rev_url(r, url);
}

void decide_ocsp(struct decide_ctx *dc, const struct policy *pol, struct cert_eval *ce,
                 int64_t now)
{
	struct rev_eval *r = &ce->ocsp;
	struct cache_entry *e = ce->entry;
	char url[OCSP_URL_MAX] = "";
	int n, last, pending = 0;

	memset(r, 0, sizeof(*r));
	r->reason = -1;
	if (!dc->ocsp) {
		rev_error(r, 0, OCSP_E_INTERNAL, NULL);
		return;
	}
	if (!e || !e->issuer_found || !e->path || (n = sk_X509_num(e->path)) < 1) {
		rev_error(r, 0, OCSP_E_NO_ISSUER, NULL);
		return;
	}
	/* leaf: the client certificate and its issuer; chain: every pair up
	 * to the anchor. A leaf that is itself the anchor has nobody to ask. */
	last = n == 1 ? -1 : pol->ocsp == OCSP_MODE_CHAIN ? n - 2 : 0;
	r->state = REV_GOOD;
	r->until = INT64_MAX;
	for (int i = 0; i <= last; i++) {
		X509 *x = sk_X509_value(e->path, i), *iss = sk_X509_value(e->path, i + 1);
		struct ocsp_cache_entry a;
		struct ocsp_key k;
		enum ocsp_err err;
		int refresh;

		/* the key of each pair, made once per verified path: no
		 * allocation on the hit path */
		if (i < e->ocsp_nkeys) {
			memcpy(k.b, e->ocsp_keys[i], sizeof(k.b));
		} else if (ocsp_key_of(x, iss, &k) < 0) {
			rev_error(r, i, OCSP_E_INTERNAL, NULL);
			return;
		} else if (i == e->ocsp_nkeys && i < CACHE_OCSP_KEYS) {
			memcpy(e->ocsp_keys[i], k.b, sizeof(k.b));
			e->ocsp_nkeys++;
		}
		switch (ocsp_cache_lookup(dc->ocsp, &k, now, &a, &refresh)) {
		case OCSP_LK_HIT:
			if (refresh)       /* the answer serves meanwhile */
				ocsp_start(dc, pol, x, iss, &k, now, url, sizeof(url));
			r->checked++;
			switch (a.result.status) {
			case OCSP_GOOD:
				/* the oldest and the first to expire speak for all */
				if (!r->fetched_at || a.fetched_at < r->fetched_at) {
					r->fetched_at = a.fetched_at;
					r->this_update = a.result.this_update;
				}
				if (a.until < r->until)
					r->until = a.until;
				if (!r->url[0])
					rev_url(r, a.url);
				continue;
			case OCSP_REVOKED:
				r->state = REV_REVOKED;
				r->reason = a.result.reason;
				r->revoked_at = a.result.revoked_at;
				break;
			case OCSP_UNKNOWN:
				r->state = REV_UNKNOWN;
				break;
			case OCSP_ERROR:
			case OCSP_STATUSES:
				rev_error(r, i, a.result.err, a.url);
				break;
			}
			r->depth = i;
			r->fetched_at = a.fetched_at;
			r->this_update = a.result.this_update;
			r->until = a.until;
			rev_url(r, a.url);
			r->pending = 0;
			return;            /* decisive, whatever else is pending */
		case OCSP_LK_CLAIMED:
			err = ocsp_start(dc, pol, x, iss, &k, now, url, sizeof(url));
			if (err != OCSP_E_NONE) {
				rev_error(r, i, err, url);
				return;
			}
			pending = 1;
			break;
		case OCSP_LK_WAIT:
			pending = 1;
			break;
		case OCSP_LK_FULL:
		case OCSP_LOOKUPS:
			rev_error(r, i, OCSP_E_INTERNAL, NULL);
			return;
		}
		if (pending && dc->ocsp_no_wait) {
			/* the responder it waited for, for the detail */
			if (ocsp_url_for(pol, x, url, sizeof(url)) < 0)
				url[0] = 0;
			rev_error(r, i, OCSP_E_TIMEOUT, url);
			return;
		}
	}
	if (pending) {
		r->state = REV_NONE;
		r->pending = 1;
	}
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

/* The bearer token of the request, for a policy with token = bound or
 * required, checked against the certificate evaluated in ce. Never cached:
 * each request's token is verified against that request's certificate, so
 * a token accepted with one certificate cannot pass with another. Leaves
 * rq->token NULL when it cannot check (the rules then deny). */
static void check_token(struct decide_ctx *dc, const struct policy *pol, struct req_facts *rq,
                        const struct cert_eval *ce, int64_t now)
{
	struct token_opts o = {
		.jwks = pol->jwks,
		.issuer = pol->token_issuer,
		.audience = pol->token_audience,
		.skew = pol->token_clock_skew_ms / 1000,
		.max_size = (size_t)pol->token_max_size,
	};
	struct token_result *r;
	const char *jwt = NULL;
	enum token_err e;
	size_t n = 0;

	if (!dc->token && !(dc->token = malloc(sizeof(*dc->token))))
		return;
	r = dc->token;
	memset(r, 0, sizeof(*r));
	rq->token = r;
	/* one Authorization header, counted by HAProxy: with two, the
	 * application might read the one that was not checked */
	if (rq->has_authz && !rq->has_authz_count) {
		r->err = TOKEN_AMBIGUOUS;
		snprintf(r->detail, sizeof(r->detail), "the authorization_count argument was not sent");
		return;
	}
	if (rq->has_authz_count &&
	    (rq->authz_count > 1 || (rq->authz_count < 1 && rq->has_authz && rq->authz.len))) {
		r->err = TOKEN_AMBIGUOUS;
		snprintf(r->detail, sizeof(r->detail), "%lld Authorization headers, a token needs exactly one",
		         (long long)rq->authz_count);
		return;
	}
	e = token_from_authz(rq->has_authz ? rq->authz.ptr : "", rq->has_authz ? rq->authz.len : 0, &jwt, &n);
	if (e != TOKEN_OK) {
		/* ABSENT, AMBIGUOUS, or MALFORMED: nothing else comes back */
		r->err = e == TOKEN_ABSENT || e == TOKEN_AMBIGUOUS ? e : TOKEN_MALFORMED;
		snprintf(r->detail, sizeof(r->detail), "%s", r->err == TOKEN_ABSENT ?
		         token_errs[TOKEN_ABSENT].words : r->err == TOKEN_AMBIGUOUS ?
		         "another scheme, but the value names bearer further on" :
		         "a Bearer credential that is not one token after one or more spaces");
		return;
	}
	token_check(&o, jwt, n, ce->parsed ? ce->facts->sha256 : NULL, now, r);
}

const struct policy *decide_request(struct decide_ctx *dc, struct req_facts *rq,
                                    int64_t now, struct trace *t, struct cert_eval *ce,
                                    struct decision *d, const char **route)
{
	const struct policy *pol;
	size_t tlen;
	int ttrunc;

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
	rq->token = NULL;
	if (!rq->bad_arg && pol && pol->token != TOKEN_MODE_OFF)
		check_token(dc, pol, rq, ce, now);
	tlen = t ? t->len : 0;
	ttrunc = t ? t->truncated : 0;
	rules_decide(pol, rq, ce, now, t, d);
	/* everything but revocation allows: look the OCSP answers up (a
	 * certificate denied anyway never costs a fetch), then decide again */
	if (d->rev_needed && pol && ce->parsed) {
		decide_ocsp(dc, pol, ce, now);
		if (ce->ocsp.pending)
			return pol;
		if (t) {
			t->len = tlen;
			t->truncated = ttrunc;
			if (t->on)
				t->buf[t->len] = 0;
		}
		rules_decide(pol, rq, ce, now, t, d);
	}
	/* an operator's emergency deny (admin socket) wins over every policy */
	rtdeny_apply(rtdeny_current(), ce, now, pol ? pol->deny_status : 403, t, d);
	return pol;
}

const char *const reuse_scope_names[REUSE_SCOPES] = {
	[REUSE_REQUEST] = "request",
	[REUSE_CONNECTION] = "connection",
};

/* lo = min(lo, until - now) for a known, positive end */
static void reuse_bound(int64_t *lo, int64_t until, int64_t now)
{
	if (until > 0 && until - now < *lo)
		*lo = until - now;
}

/* A verdict is reusable on its TLS connection only when ALL hold:
 *  1. it is an allow, and not a shadow pass (no would_deny): a denial is
 *     always asked again, a shadow pass must keep being reported;
 *  2. routing reads nothing of the request (cfg->routing_per_request: no
 *     route on host, path_prefix or sni, no policy with sni_host_match);
 *     the policy was picked from connection facts (frontend) only;
 *  3. the certificate came from the TLS connection: no [forwarded]
 *     section (a proxy's connection carries many clients' headers) and
 *     not a forwarded certificate;
 *  4. the policy checks no token (token != off): a token is per request;
 *  5. no trace was asked for on this request;
 *  6. nothing is pending (an OCSP answer or a list awaited);
 *  7. the policy's reuse_max_age is > 0.
 * max_age = min(reuse_max_age, seconds to the leaf's notAfter and to each
 * verified chain certificate's, to the policy's crl_file nextUpdate when it
 * checks CRLs, to the end of the OCSP answers used); <= 0: not reusable.
 * A policy checking OCSP whose answer was not "good" is not reused. */
enum reuse_scope decide_reuse(const struct config *cfg, const struct policy *pol,
                              const struct cert_eval *ce, const struct decision *d,
                              const struct reuse_facts *rf, int64_t now, int64_t *max_age)
{
	int64_t age;

	*max_age = 0;
	if (!cfg || !pol || !ce || !d || !rf)
		return REUSE_REQUEST;
	if (d->code != DEC_ALLOW || d->shadowed)                  /* 1 */
		return REUSE_REQUEST;
	if (cfg->routing_per_request)                             /* 2 */
		return REUSE_REQUEST;
	if (cfg->fwd.enabled || rf->forwarded)                    /* 3 */
		return REUSE_REQUEST;
	if (pol->token != TOKEN_MODE_OFF)                         /* 4 */
		return REUSE_REQUEST;
	if (rf->trace)                                            /* 5 */
		return REUSE_REQUEST;
	if (rf->pending || ce->ocsp.pending || pol->lists_pending) /* 6 */
		return REUSE_REQUEST;
	if (pol->reuse_max_age_ms <= 0)                           /* 7 */
		return REUSE_REQUEST;
	age = pol->reuse_max_age_ms / 1000;
	if (ce->parsed)
		reuse_bound(&age, ce->facts->not_after, now);
	if (ce->entry && ce->entry->path) {
		for (int i = 0; i < sk_X509_num(ce->entry->path); i++) {
			int64_t na;

			if (cert_asn1_time(X509_get0_notAfter(sk_X509_value(ce->entry->path, i)), &na) == 0)
				reuse_bound(&age, na, now);
		}
	}
	if ((pol->verify_flags & (CERT_VF_CRL_LEAF | CERT_VF_CRL_ALL)) && pol->crl_next_update > 0)
		reuse_bound(&age, (int64_t)pol->crl_next_update, now);
	if (pol->ocsp != OCSP_MODE_OFF) {
		if (ce->ocsp.state != REV_GOOD)
			return REUSE_REQUEST;
		if (ce->ocsp.until != INT64_MAX)
			reuse_bound(&age, ce->ocsp.until, now);
	}
	if (age <= 0)
		return REUSE_REQUEST;
	*max_age = age;
	return REUSE_CONNECTION;
}
