/* Revocation sources fetched in the background (revoc.h).
 *
 * Each source is a URL: from crl_urls, from the CDPs of the CA
 * certificates in the policies' stores, or learned from verified chains
 * (cert_cdp_*). A one-second timer on the main loop submits the fetches
 * that are due; results come back on the fetcher thread, where a CRL is
 * parsed (DER or PEM), checked against the CA that signed it in one of
 * the current configuration's stores (signature, thisUpdate not in the
 * future, not older than the one held) and, when good, kept, written to
 * state_dir and published with the others as one set.
 *
 * When a source is fetched again: at least every crl_refresh; earlier once
 * crl_refresh_fraction of its thisUpdate..nextUpdate period has passed
 * (plus up to 10% jitter, so a fleet does not fetch in step); quickly
 * (every few seconds, backing off to crl_refresh) after a failure or once
 * the CRL is past its nextUpdate. A failed fetch never drops the last
 * good CRL: past nextUpdate + crl_grace the policies' crl_expired decides. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "cert.h"
#include "cfg.h"
#include "crl-cache.h"
#include "errbuf.h"
#include "fetch.h"
#include "lists.h"
#include "log.h"
#include "revoc.h"
#include "spiffe-bundle.h"
#include "token.h"

const double revoc_lat_bounds[REVOC_LAT_BUCKETS - 1] = { 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5 };

#define REVOC_RETRY_MIN   2     /* seconds before the first retry of a failed fetch */
#define REVOC_TICK        1.0   /* seconds between looks at the schedule */

enum src_kind {
	SRC_CRL = 0,
	SRC_LIST,               /* a policy list given as a URL (cfg.c resolve_url_lists) */
	SRC_CA,                 /* a policy's ca_file given as a URL (cfg.c resolve_url_ca) */
};

struct revoc_src {
	struct revoc *r;
	char *url;
	enum src_kind kind;
	int list_kind, list_deny;   /* SRC_LIST: enum id_kind, deny side */
	int jwks;                   /* SRC_LIST: a JWKS (jwks_file = @URL), checked by token.c */
	int bundle;                 /* SRC_LIST: a SPIFFE bundle (TD=@URL), checked by spiffe-bundle.c */
	int64_t hint;               /* bundle: its spiffe_refresh_hint (seconds), 0: none */
	int from_cdp;
	int wanted;                 /* named by the current configuration */
	int in_flight;
	char *etag;
	long long last_modified;
	X509_CRL *good;
	int64_t this_update, next_update;
	int64_t fetched_at, next_fetch;
	int expired_logged;
	unsigned long fetches, failures, consecutive_failures, not_modified;
	unsigned long lat[REVOC_LAT_BUCKETS];
	double lat_sum;
	char last_error[192];
};

struct revoc {
	pthread_mutex_t mu;
	struct fetcher *f;
	struct ev_loop *loop;
	ev_timer tick;
	const struct config *cfg;       /* (mu) the live configuration */
	struct revoc_src *src[REVOC_MAX_SOURCES];
	int nsrc;                        /* (mu) */
	unsigned int cdp_gen_seen;       /* main thread */
	int stopping;                    /* (mu) */
	unsigned int in_flight;          /* (mu) */
	pthread_cond_t idle;             /* in_flight reached 0 */
	ev_async reload_wake;            /* a list changed: reload on the main loop */
	void (*reload_fn)(void *arg);
	void *reload_arg;
};

static int64_t wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int revoc_is_needed(const struct config *cfg)
{
	if (!cfg)
		return 0;
	if (cfg->crl_fetch != CRL_FETCH_OFF || (cfg->crl_urls && *cfg->crl_urls))
		return 1;
	for (const struct policy *p = cfg->policies; p; p = p->next) {
		if (p->ca_url || p->jwks_url)
			return 1;
		for (int k = 0; k < ID_KINDS; k++)
			if (p->allow[k].url || p->deny[k].url)
				return 1;
		for (int i = 0; p->tds && i < p->ntds; i++)
			if (p->tds[i].url)
				return 1;
	}
	return 0;
}

/* ---- sources (under mu) ---- */

static struct revoc_src *src_find(struct revoc *r, const char *url)
{
	for (int i = 0; i < r->nsrc; i++)
		if (strcmp(r->src[i]->url, url) == 0)
			return r->src[i];
	return NULL;
}

static struct revoc_src *src_add(struct revoc *r, const char *url, int from_cdp)
{
	struct revoc_src *s = src_find(r, url);

	if (s && s->kind != SRC_CRL) {
		LOG(LOG_WARN, 0, "revocation: %s is a list; not fetched as a CRL too", url);
		return NULL;
	}
	if (s) {
		s->wanted = 1;
		s->from_cdp = s->from_cdp && from_cdp;
		return s;
	}
	if (r->nsrc >= REVOC_MAX_SOURCES) {
		LOG(LOG_WARN, 0, "revocation: more than %d CRL sources, %s ignored", REVOC_MAX_SOURCES, url);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->url = strdup(url))) {
		free(s);
		return NULL;
	}
	s->r = r;
	s->from_cdp = from_cdp;
	s->wanted = 1;
	r->src[r->nsrc++] = s;
	LOG(LOG_INFO, 0, "revocation: CRL source %s (%s)", url, from_cdp ? "distribution point" : "crl_urls");
	return s;
}

/* A policy list (kind SRC_LIST) or ca_file (SRC_CA) given as a URL
 * (under mu). */
static void file_src_add(struct revoc *r, const char *url, enum src_kind kind, int list_kind, int deny)
{
	struct revoc_src *s = src_find(r, url);

	if (s) {
		if (s->kind == kind && !s->jwks && !s->bundle)
			s->wanted = 1;
		else
			LOG(LOG_WARN, 0, "source %s is named twice as different things; only the first counts", url);
		return;
	}
	if (r->nsrc >= REVOC_MAX_SOURCES || !(s = calloc(1, sizeof(*s))) || !(s->url = strdup(url))) {
		free(s);
		LOG(LOG_WARN, 0, "source %s ignored (too many sources or no memory)", url);
		return;
	}
	s->r = r;
	s->kind = kind;
	s->list_kind = list_kind;
	s->list_deny = deny;
	s->wanted = 1;
	r->src[r->nsrc++] = s;
	if (kind == SRC_CA)
		LOG(LOG_INFO, 0, "ca_file source %s", url);
	else
		LOG(LOG_INFO, 0, "list source %s (%s_%s)", url, deny ? "deny" : "allow", id_kind_names[list_kind]);
}

/* A JWKS or a SPIFFE bundle given as a URL (under mu): fetched like a
 * list, checked by its own module's parser, reloaded when it changes.
 * hint: a bundle's spiffe_refresh_hint (0: none). */
static void doc_add(struct revoc *r, const char *url, int bundle, int64_t hint)
{
	struct revoc_src *s = src_find(r, url);
	const char *what = bundle ? "SPIFFE bundle" : "JWKS";

	if (s) {
		if (s->kind == SRC_LIST && s->jwks == !bundle && s->bundle == bundle) {
			s->wanted = 1;
			s->hint = hint;
		} else {
			LOG(LOG_WARN, 0, "%s is named as a %s and as something else: fetched as the first", url, what);
		}
		return;
	}
	if (r->nsrc >= REVOC_MAX_SOURCES || !(s = calloc(1, sizeof(*s))) || !(s->url = strdup(url))) {
		free(s);
		LOG(LOG_WARN, 0, "%s source %s ignored (too many sources or no memory)", what, url);
		return;
	}
	s->r = r;
	s->kind = SRC_LIST;
	s->jwks = !bundle;
	s->bundle = bundle;
	s->hint = hint;
	s->wanted = 1;
	r->src[r->nsrc++] = s;
	LOG(LOG_INFO, 0, "%s source %s", what, url);
}

static void src_free(struct revoc_src *s)
{
	if (!s)
		return;
	X509_CRL_free(s->good);
	free(s->etag);
	free(s->url);
	free(s);
}

static void add_cdp(void *arg, const char *url)
{
	src_add(arg, url, 1);
}

static int add_crl_url(void *arg, const char *item, size_t len, char *err, size_t errlen)
{
	char url[CERT_CDP_URL_MAX];

	/* cfg.c checked the URLs; the fetcher refuses any other scheme */
	if (len >= sizeof(url)) {
		set_err(err, errlen, "a URL longer than %zu characters", sizeof(url) - 1);
		return -1;
	}
	memcpy(url, item, len);
	url[len] = '\0';
	src_add(arg, url, 0);
	return 0;
}

/* The sources a configuration names: crl_urls, and with crl_fetch = cdp
 * the CDPs of its stores' CAs and those learned so far. */
static void sources_of_config(struct revoc *r, const struct config *cfg)
{
	char err[256];

	for (int i = 0; i < r->nsrc; i++)
		r->src[i]->wanted = 0;
	/* inline or @file, as cfg.c checked it (a file may have changed
	 * since: a bad entry is logged and the others still count) */
	if (cfg->crl_urls && list_foreach(cfg->crl_urls, 0, add_crl_url, r, NULL, err, sizeof(err)) < 0)
		LOG(LOG_WARN, 0, "revocation: crl_urls: %s", err);
	if (cfg->crl_fetch == CRL_FETCH_CDP) {
		for (const struct policy *pol = cfg->policies; pol; pol = pol->next)
			cert_store_cdp_urls(pol->store, add_cdp, r);
		cert_cdp_each(add_cdp, r);
	}
	for (const struct policy *pol = cfg->policies; pol; pol = pol->next)
		if (pol->ca_url)
			file_src_add(r, pol->ca_url, SRC_CA, 0, 0);
	for (const struct policy *pol = cfg->policies; pol; pol = pol->next)
		for (int side = 0; side < 2; side++)
			for (int k = 0; k < ID_KINDS; k++) {
				const struct cfg_list *l = side ? &pol->deny[k] : &pol->allow[k];

				if (l->url)
					file_src_add(r, l->url, SRC_LIST, k, side);
			}
	for (const struct policy *pol = cfg->policies; pol; pol = pol->next)
		if (pol->jwks_url)
			doc_add(r, pol->jwks_url, 0, 0);
	for (const struct policy *pol = cfg->policies; pol; pol = pol->next)
		for (int i = 0; pol->tds && i < pol->ntds; i++)
			if (pol->tds[i].url)
				doc_add(r, pol->tds[i].url, 1, pol->tds[i].has_refresh_hint ? pol->tds[i].refresh_hint : 0);
}

/* Publishes the good CRLs of the wanted sources (under mu). */
static void publish(struct revoc *r)
{
	STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
	const char *urls[REVOC_MAX_SOURCES];
	int n = 0;

	for (int i = 0; sk && i < r->nsrc; i++) {
		struct revoc_src *s = r->src[i];

		if (s->kind != SRC_CRL || !s->wanted || !s->good || !X509_CRL_up_ref(s->good))
			continue;
		if (!sk_X509_CRL_push(sk, s->good)) {
			X509_CRL_free(s->good);
			continue;
		}
		urls[n++] = s->url;
	}
	if (!sk || cert_crls_install(sk, urls) < 0)
		LOG(LOG_ERR, 0, "revocation: out of memory publishing %d CRLs", n);
}

/* ---- disk cache ---- */

/* state_dir/crl-<sha256 of the URL, hex>.{der,url} */
static int cache_path(const char *dir, const char *url, const char *ext, char *out, size_t outlen)
{
	return cfg_url_cache_path(dir, "crl", url, ext, out, outlen);
}

static int write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[4200];
	FILE *f;
	int ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if (!(f = fopen(tmp, "wb")))
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	if (fclose(f) != 0 || !ok || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The last good CRL of s, to state_dir (fetcher thread, under mu). */
static void cache_store(const struct config *cfg, struct revoc_src *s)
{
	char der_path[4096], url_path[4096];
	unsigned char *der = NULL;
	int len;

	if (!cfg->state_dir || !s->good)
		return;
	if (cache_path(cfg->state_dir, s->url, "der", der_path, sizeof(der_path)) < 0 ||
	    cache_path(cfg->state_dir, s->url, "url", url_path, sizeof(url_path)) < 0)
		return;
	len = i2d_X509_CRL(s->good, &der);
	if (len <= 0 || write_atomic(der_path, der, (size_t)len) < 0 ||
	    write_atomic(url_path, s->url, strlen(s->url)) < 0)
		LOG(LOG_WARN, 0, "revocation: cannot write %s: %s", der_path, strerror(errno));
	OPENSSL_free(der);
}

/* Accepts crl for s when it is good (under mu): 0, or -1 with why. */
static int accept_crl(struct revoc *r, struct revoc_src *s, X509_CRL *crl, int64_t now,
                      char *why, size_t whylen)
{
	int64_t tu, nu;

	if (crl_cache_check(r->cfg, crl, now, why, whylen) < 0)
		return -1;
	cert_crl_dates(crl, &tu, &nu);
	if (s->good && tu < s->this_update) {
		set_err(why, whylen, "older than the CRL held (thisUpdate %lld < %lld)",
		        (long long)tu, (long long)s->this_update);
		return -1;
	}
	if (!X509_CRL_up_ref(crl))
		return -1;
	X509_CRL_free(s->good);
	s->good = crl;
	s->this_update = tu;
	s->next_update = nu;
	s->expired_logged = 0;
	return 0;
}

struct cache_load_ctx {
	struct revoc *r;
	int64_t now;
	int loaded;
};

static void cache_load_one(void *arg, const char *url, X509_CRL *crl, int64_t mtime, const char *why)
{
	struct cache_load_ctx *c = arg;
	struct revoc *r = c->r;
	struct revoc_src *s = src_find(r, url);
	char err[192];

	(void)mtime;
	if (!s && crl_cache_wanted(r->cfg, url))
		s = src_add(r, url, 1);
	if (!s)
		return;
	if (!crl) {
		LOG(LOG_WARN, 0, "revocation: cached CRL for %s not used: %s", url, why);
		return;
	}
	if (accept_crl(r, s, crl, c->now, err, sizeof(err)) < 0) {
		LOG(LOG_WARN, 0, "revocation: cached CRL for %s not used: %s", url, err);
		return;
	}
	c->loaded++;
	LOG(LOG_INFO, 0, "revocation: %s from the disk cache (thisUpdate %lld)", url,
	    (long long)s->this_update);
}

/* At startup: every CRL of state_dir whose URL the configuration wants
 * (crl_urls, or any with crl_fetch = cdp). */
static void cache_load(struct revoc *r, int64_t now)
{
	struct cache_load_ctx c = { r, now, 0 };
	char err[4200];

	if (!r->cfg->state_dir)
		return;
	if (crl_cache_each(r->cfg->state_dir, (size_t)r->cfg->fetch_max_size, cache_load_one, &c,
	                   err, sizeof(err)) < 0) {
		LOG(LOG_WARN, 0, "revocation: state_dir %s", err);
		return;
	}
	if (c.loaded)
		publish(r);
}

/* ---- scheduling ---- */

/* Up to pct% of span, at random. */
static int64_t jitter(int64_t span, int pct)
{
	unsigned int v = 0;

	if (span <= 0 || RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		return 0;
	return (int64_t)(v % ((uint64_t)span * (uint64_t)pct / 100 + 1));
}

/* When s is fetched next, after a success at now (under mu). */
static void schedule_ok(const struct config *cfg, struct revoc_src *s, int64_t now)
{
	int64_t refresh = (s->kind != SRC_CRL ? cfg->list_refresh_ms : cfg->crl_refresh_ms) / 1000;
	int64_t next;

	if (s->bundle && s->hint > 0) {
		/* its spiffe_refresh_hint, bounded: at least 10 s, at most list_refresh */
		int64_t h = s->hint < 10 ? 10 : s->hint;

		refresh = h < refresh ? h : refresh;
	}

	if (refresh < 1)
		refresh = 1;
	next = now + refresh;
	if (s->good && s->next_update > s->this_update) {
		int64_t span = s->next_update - s->this_update;
		int64_t at = s->this_update + span * cfg->crl_refresh_fraction / 100 + jitter(span, 10);

		if (at > now && at < next)
			next = at;
		if (s->next_update <= now)             /* expired: look often */
			next = now + (refresh < 30 ? refresh : 30);
	}
	s->next_fetch = next;
}

static void schedule_fail(const struct config *cfg, struct revoc_src *s, int64_t now)
{
	int64_t refresh = (s->kind != SRC_CRL ? cfg->list_refresh_ms : cfg->crl_refresh_ms) / 1000;
	int64_t wait = REVOC_RETRY_MIN;

	for (unsigned long i = 1; i < s->consecutive_failures && wait < refresh; i++)
		wait *= 2;
	if (wait > refresh)
		wait = refresh;
	s->next_fetch = now + (wait > 0 ? wait : 1);
}

/* A fetched ca_file, checked by the loader of the file form: at least
 * one trust anchor, nothing that does not parse. 0, or -1 (why set). */
static int ca_check(const char *tmp, char *why, size_t whylen)
{
	char perr[4800];
	struct cert_store *st = cert_store_load(tmp, perr, sizeof(perr));
	size_t tl = strlen(tmp);
	int n = st ? cert_store_count(st) : 0;

	cert_store_free(st);
	if (n > 0)
		return 0;
	if (!st && strncmp(perr, tmp, tl) == 0 && perr[tl] == ':')
		set_err(why, whylen, "not a CA bundle:%s", perr + tl + 1);
	else
		set_err(why, whylen, "not a CA bundle: %s", st ? "no certificate in it" : perr[0] ? perr : "?");
	return -1;
}

/* A fetched JWKS: what token.c would load on reload (0), else -1 with why. */
static int jwks_check(const struct fetch_result *res, char *why, size_t whylen)
{
	struct token_jwks *j;
	char perr[160];

	if (res->len > TOKEN_JWKS_MAX) {
		set_err(why, whylen, "a JWKS larger than %d bytes", TOKEN_JWKS_MAX);
		return -1;
	}
	if (!(j = token_jwks_parse(res->body, res->len, perr, sizeof(perr)))) {
		set_err(why, whylen, "JWKS: %s", perr);
		return -1;
	}
	token_jwks_free(j);
	return 0;
}

/* A fetched SPIFFE bundle document: what cfg.c would load on reload (0,
 * its refresh hint kept), else -1 with why. Fetcher thread, under mu. */
static int bundle_check(struct revoc_src *s, const struct fetch_result *res, char *why, size_t whylen)
{
	struct spiffe_bundle b;
	char perr[160];

	if (res->len > SPIFFE_BUNDLE_MAX) {
		set_err(why, whylen, "a bundle larger than %d bytes", SPIFFE_BUNDLE_MAX);
		return -1;
	}
	if (spiffe_bundle_parse_json(res->body, res->len, &b, perr, sizeof(perr)) < 0) {
		set_err(why, whylen, "SPIFFE bundle: %s", perr);
		return -1;
	}
	s->hint = b.has_refresh_hint ? b.refresh_hint : 0;
	spiffe_bundle_clear(&b);
	return 0;
}

/* A fetched list or ca_file: checked by the configuration's own parser
 * (or loader), then put in place in state_dir when it differs from the
 * copy there. 1: changed, 0: the same, -1: refused (why set). Fetcher
 * thread, under mu. */
static int list_store(struct revoc *r, struct revoc_src *s, const struct fetch_result *res,
                      char *why, size_t whylen)
{
	char path[4096], tmp[4200], perr[4800], *old = NULL;
	size_t olen = 0;
	int n, same, ca = s->kind == SRC_CA;

	if (cfg_url_cache_path(r->cfg->state_dir, s->jwks ? "jwks" : s->bundle ? "bundle" : ca ? "ca" : "list",
	                       s->url, s->jwks || s->bundle ? "json" : ca ? "pem" : "txt", path, sizeof(path)) < 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp)) {
		set_err(why, whylen, "no state_dir for the copy");
		return -1;
	}
	if (write_atomic(tmp, res->body, res->len) < 0) {
		set_err(why, whylen, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (ca) {
		if (ca_check(tmp, why, whylen) < 0) {
			unlink(tmp);
			return -1;
		}
		goto checked;
	}
	if (s->jwks) {
		if (jwks_check(res, why, whylen) < 0) {
			unlink(tmp);
			return -1;
		}
		goto checked;
	}
	if (s->bundle) {
		if (bundle_check(s, res, why, whylen) < 0) {
			unlink(tmp);
			return -1;
		}
		goto checked;
	}
	n = lists_check_file(s->list_kind, s->list_deny, tmp, perr, sizeof(perr));
	if (n < 0) {
		size_t tl = strlen(tmp);

		/* "TMP:LINE: why" -> "line LINE: why": the URL is the source */
		if (strncmp(perr, tmp, tl) == 0 && perr[tl] == ':')
			set_err(why, whylen, "line %s", perr + tl + 1);
		else
			set_err(why, whylen, "%s", perr[0] ? perr : "the list does not parse");
		unlink(tmp);
		return -1;
	}
	if (n == 0 && !s->list_deny) {
		/* the configuration refuses an empty allow list too */
		set_err(why, whylen, "an empty allow list (it would deny everyone)");
		unlink(tmp);
		return -1;
	}
	LOG(LOG_DEBUG, 0, "list %s: %d entries parsed", s->url, n);
checked:
	old = crl_cache_read_small(path, (size_t)r->cfg->fetch_max_size, &olen);
	same = old && olen == res->len && memcmp(old, res->body, olen) == 0;
	free(old);
	if (same) {
		unlink(tmp);
		return 0;
	}
	if (rename(tmp, path) == -1) {
		set_err(why, whylen, "cannot rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 1;
}

static void on_fetched(void *arg, const struct fetch_result *res)
{
	struct revoc_src *s = arg;
	struct revoc *r = s->r;
	int64_t now = wall_now();
	char why[192] = "";
	int b, changed = 0;

	pthread_mutex_lock(&r->mu);
	s->in_flight = 0;
	s->fetches++;
	for (b = 0; b < REVOC_LAT_BUCKETS - 1 && res->seconds > revoc_lat_bounds[b]; b++)
		;
	s->lat[b]++;
	s->lat_sum += res->seconds;
	if (r->stopping)
		goto done;
	if (!res->ok) {
		snprintf(why, sizeof(why), "%s", res->err);
	} else if (res->not_modified) {
		s->not_modified++;
	} else if (s->kind != SRC_CRL) {
		if (list_store(r, s, res, why, sizeof(why)) == 1) {
			free(s->etag);
			s->etag = res->etag ? strdup(res->etag) : NULL;
			s->last_modified = res->last_modified;
			s->this_update = now;
			changed = 1;
		}
	} else {
		X509_CRL *crl = cert_crl_parse(res->body, res->len, why, sizeof(why));

		if (crl && accept_crl(r, s, crl, now, why, sizeof(why)) == 0) {
			free(s->etag);
			s->etag = res->etag ? strdup(res->etag) : NULL;
			s->last_modified = res->last_modified;
			changed = 1;
		}
		X509_CRL_free(crl);
	}
	if (why[0]) {
		s->failures++;
		s->consecutive_failures++;
		snprintf(s->last_error, sizeof(s->last_error), "%s", why);
		schedule_fail(r->cfg, s, now);
		if (s->consecutive_failures == REVOC_FAIL_LOUD ||
		    (s->consecutive_failures > REVOC_FAIL_LOUD && s->consecutive_failures % 100 == 0))
			LOG(LOG_ERR, 0, "revocation: CRL source %s failed %lu times in a row: %s%s", s->url,
			    s->consecutive_failures, why,
			    s->good ? " (keeping the last good CRL)" : " (no CRL for its issuer yet)");
		else
			LOG(LOG_WARN, 0, "revocation: fetching %s failed: %s", s->url, why);
	} else {
		if (s->consecutive_failures >= REVOC_FAIL_LOUD)
			LOG(LOG_INFO, 0, "revocation: CRL source %s answers again", s->url);
		s->consecutive_failures = 0;
		s->last_error[0] = '\0';
		s->fetched_at = now;
		schedule_ok(r->cfg, s, now);
		if (changed && s->kind != SRC_CRL) {
			LOG(LOG_INFO, 0, "%s %s changed: reloading", s->kind == SRC_CA ? "ca_file" : "list", s->url);
			ev_async_send(r->loop, &r->reload_wake);
		} else if (changed) {
			LOG(LOG_INFO, 0, "revocation: new CRL from %s (thisUpdate %lld, nextUpdate %lld, %.3fs)",
			    s->url, (long long)s->this_update, (long long)s->next_update, res->seconds);
			cache_store(r->cfg, s);
			publish(r);
		}
	}
done:
	if (--r->in_flight == 0)
		pthread_cond_broadcast(&r->idle);
	pthread_mutex_unlock(&r->mu);
}

/* Submits what is due; says loudly when a CRL runs out (main thread). */
static void tick(struct revoc *r, int64_t now)
{
	const struct config *cfg;
	int republish = 0;

	pthread_mutex_lock(&r->mu);
	cfg = r->cfg;
	if (cfg->crl_fetch == CRL_FETCH_CDP && cert_cdp_gen() != r->cdp_gen_seen) {
		r->cdp_gen_seen = cert_cdp_gen();
		cert_cdp_each(add_cdp, r);
	}
	for (int i = 0; i < r->nsrc; i++) {
		struct revoc_src *s = r->src[i];
		struct fetch_req req;

		if (!s->wanted)
			continue;
		if (s->kind == SRC_CRL && s->good && s->next_update && !s->expired_logged &&
		    now > s->next_update + cfg->crl_grace_ms / 1000) {
			s->expired_logged = 1;
			republish = 1;   /* cached decisions must see it */
			LOG(LOG_ERR, 0, "revocation: the CRL from %s EXPIRED (nextUpdate %lld%s): crl_expired applies",
			    s->url, (long long)s->next_update, cfg->crl_grace_ms ? " + crl_grace" : "");
		}
		if (s->in_flight || now < s->next_fetch)
			continue;
		memset(&req, 0, sizeof(req));
		req.url = s->url;
		req.timeout_ms = cfg->fetch_timeout_ms;
		req.max_size = (size_t)cfg->fetch_max_size;
		req.ca_file = cfg->fetch_ca_file;
		if (s->good || (s->kind != SRC_CRL && s->etag)) {   /* conditional only when we hold what it refers to */
			req.etag = s->etag;
			req.last_modified = s->last_modified;
		}
		if (fetcher_submit(r->f, &req, on_fetched, s) == 0) {
			s->in_flight = 1;
			r->in_flight++;
		} else {
			s->next_fetch = now + REVOC_RETRY_MIN;
		}
	}
	if (republish)
		publish(r);
	pthread_mutex_unlock(&r->mu);
}

static void on_reload_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	struct revoc *r = w->data;

	(void)loop;
	(void)revents;
	if (r->reload_fn)
		r->reload_fn(r->reload_arg);
}

void revoc_set_reload(struct revoc *r, void (*fn)(void *arg), void *arg)
{
	if (r) {
		r->reload_fn = fn;
		r->reload_arg = arg;
	}
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	tick(w->data, wall_now());
}

/* ---- life ---- */

struct revoc *revoc_start(const struct config *cfg, struct ev_loop *loop,
                          char *err, size_t errlen)
{
	struct revoc *r = calloc(1, sizeof(*r));
	int64_t now = wall_now();

	if (!r) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->idle, NULL);
	r->cfg = cfg;
	r->loop = loop;
	cert_cdp_learning(cfg->crl_fetch == CRL_FETCH_CDP);
	r->cdp_gen_seen = cert_cdp_gen();
	pthread_mutex_lock(&r->mu);
	sources_of_config(r, cfg);
	cache_load(r, now);
	pthread_mutex_unlock(&r->mu);
	r->f = fetcher_start(err, errlen);
	if (!r->f) {
		revoc_stop(r);
		return NULL;
	}
	ev_timer_init(&r->tick, on_tick, 0., REVOC_TICK);
	r->tick.data = r;
	ev_timer_start(loop, &r->tick);
	ev_async_init(&r->reload_wake, on_reload_wake);
	r->reload_wake.data = r;
	ev_async_start(loop, &r->reload_wake);
	return r;
}

void revoc_set_config(struct revoc *r, const struct config *cfg)
{
	if (!r)
		return;
	cert_cdp_learning(cfg->crl_fetch == CRL_FETCH_CDP);
	pthread_mutex_lock(&r->mu);
	r->cfg = cfg;
	sources_of_config(r, cfg);
	publish(r);                /* sources no longer named leave the set */
	pthread_mutex_unlock(&r->mu);
}

void revoc_stop(struct revoc *r)
{
	if (!r)
		return;
	if (r->loop) {
		ev_timer_stop(r->loop, &r->tick);
		ev_async_stop(r->loop, &r->reload_wake);
	}
	pthread_mutex_lock(&r->mu);
	r->stopping = 1;
	pthread_mutex_unlock(&r->mu);
	fetcher_stop(r->f);        /* every callback has run when it returns */
	cert_crls_clear();
	cert_cdp_learning(0);
	for (int i = 0; i < r->nsrc; i++)
		src_free(r->src[i]);
	pthread_cond_destroy(&r->idle);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* ---- visibility ---- */

int revoc_sources(struct revoc *r, struct revoc_source_info *out, int max, int64_t now)
{
	int n = 0;

	if (!r)
		return 0;
	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < r->nsrc && n < max; i++) {
		const struct revoc_src *s = r->src[i];
		struct revoc_source_info *o = &out[n];

		if (!s->wanted)
			continue;
		memset(o, 0, sizeof(*o));
		snprintf(o->url, sizeof(o->url), "%s", s->url);
		o->from_cdp = s->from_cdp;
		o->is_list = s->kind != SRC_CRL;
		o->has_crl = s->good != NULL;
		o->this_update = s->this_update;
		o->next_update = s->next_update;
		o->fetched_at = s->fetched_at;
		o->next_fetch = s->next_fetch;
		o->stale = s->kind != SRC_CRL ? s->consecutive_failures > 0 && !s->fetched_at :
		           !s->good || (s->next_update && now > s->next_update + r->cfg->crl_grace_ms / 1000);
		o->fetches = s->fetches;
		o->failures = s->failures;
		o->consecutive_failures = s->consecutive_failures;
		o->not_modified = s->not_modified;
		memcpy(o->lat, s->lat, sizeof(o->lat));
		o->lat_sum = s->lat_sum;
		snprintf(o->last_error, sizeof(o->last_error), "%s", s->last_error);
		n++;
	}
	pthread_mutex_unlock(&r->mu);
	return n;
}

struct revoc_source_info *revoc_snapshot(struct revoc *r, int64_t now, int *n)
{
	struct revoc_source_info *v;

	*n = 0;
	if (!r || !(v = calloc(REVOC_MAX_SOURCES, sizeof(*v))))
		return NULL;
	*n = revoc_sources(r, v, REVOC_MAX_SOURCES, now);
	return v;
}

void revoc_render_prometheus(const struct revoc_source_info *v, int n, int64_t now, struct sbuf *b)
{
	if (!v)
		return;
	sbuf_puts(b, "# HELP certspoa_crl_source_age_seconds Age of the CRL held for a source (since its thisUpdate); -1 = none\n"
	             "# TYPE certspoa_crl_source_age_seconds gauge\n");
	for (int i = 0; i < n; i++) {
		if (v[i].is_list)
			continue;
		sbuf_puts(b, "certspoa_crl_source_age_seconds{url=\"");
		sbuf_label(b, v[i].url);
		sbuf_printf(b, "\"} %lld\n", v[i].has_crl ? (long long)(now - v[i].this_update) : -1LL);
	}
	sbuf_puts(b, "# HELP certspoa_crl_source_next_update_seconds Unix time of the held CRL's nextUpdate (0 = none)\n"
	             "# TYPE certspoa_crl_source_next_update_seconds gauge\n");
	for (int i = 0; i < n; i++) {
		if (v[i].is_list)
			continue;
		sbuf_puts(b, "certspoa_crl_source_next_update_seconds{url=\"");
		sbuf_label(b, v[i].url);
		sbuf_printf(b, "\"} %lld\n", (long long)v[i].next_update);
	}
	sbuf_puts(b, "# HELP certspoa_crl_source_stale 1 when a source has no CRL or its CRL is past nextUpdate + crl_grace\n"
	             "# TYPE certspoa_crl_source_stale gauge\n");
	for (int i = 0; i < n; i++) {
		if (v[i].is_list)
			continue;
		sbuf_puts(b, "certspoa_crl_source_stale{url=\"");
		sbuf_label(b, v[i].url);
		sbuf_printf(b, "\"} %d\n", v[i].stale);
	}
	sbuf_puts(b, "# HELP certspoa_crl_source_fetch_failures_total Failed fetches of a CRL source\n"
	             "# TYPE certspoa_crl_source_fetch_failures_total counter\n");
	for (int i = 0; i < n; i++) {
		if (v[i].is_list)
			continue;
		sbuf_puts(b, "certspoa_crl_source_fetch_failures_total{url=\"");
		sbuf_label(b, v[i].url);
		sbuf_printf(b, "\"} %lu\n", v[i].failures);
	}
	sbuf_puts(b, "# HELP certspoa_crl_source_fetch_seconds Latency of the fetches of a CRL source\n"
	             "# TYPE certspoa_crl_source_fetch_seconds histogram\n");
	for (int i = 0; i < n; i++) {
		if (v[i].is_list)
			continue;
		unsigned long cum = 0;

		for (int k = 0; k < REVOC_LAT_BUCKETS; k++) {
			cum += v[i].lat[k];
			sbuf_puts(b, "certspoa_crl_source_fetch_seconds_bucket{url=\"");
			sbuf_label(b, v[i].url);
			if (k < REVOC_LAT_BUCKETS - 1)
				sbuf_printf(b, "\",le=\"%g\"} %lu\n", revoc_lat_bounds[k], cum);
			else
				sbuf_printf(b, "\",le=\"+Inf\"} %lu\n", cum);
		}
		sbuf_puts(b, "certspoa_crl_source_fetch_seconds_sum{url=\"");
		sbuf_label(b, v[i].url);
		sbuf_printf(b, "\"} %.6f\n", v[i].lat_sum);
		sbuf_puts(b, "certspoa_crl_source_fetch_seconds_count{url=\"");
		sbuf_label(b, v[i].url);
		sbuf_printf(b, "\"} %lu\n", cum);
	}
}

void revoc_render_json(const struct revoc_source_info *v, int n, int64_t now, struct sbuf *b)
{
	(void)now;
	sbuf_puts(b, "[");
	for (int i = 0; i < n; i++) {
		sbuf_printf(b, "%s{\"url\":\"", i ? "," : "");
		sbuf_json(b, v[i].url);
		sbuf_printf(b, "\",\"kind\":\"%s\",\"from_cdp\":%s,\"has_crl\":%s,\"this_update\":%lld,\"next_update\":%lld,"
		            "\"fetched_at\":%lld,\"next_fetch\":%lld,\"stale\":%s,\"fetches\":%lu,"
		            "\"failures\":%lu,\"consecutive_failures\":%lu,\"not_modified\":%lu,\"last_error\":\"",
		            v[i].is_list ? "list" : "crl",
		            v[i].from_cdp ? "true" : "false", v[i].has_crl ? "true" : "false",
		            (long long)v[i].this_update, (long long)v[i].next_update,
		            (long long)v[i].fetched_at, (long long)v[i].next_fetch,
		            v[i].stale ? "true" : "false", v[i].fetches, v[i].failures,
		            v[i].consecutive_failures, v[i].not_modified);
		sbuf_json(b, v[i].last_error);
		sbuf_puts(b, "\"}");
	}
	sbuf_puts(b, "]");
}

void revoc_render_html(const struct revoc_source_info *v, int n, int64_t now, struct sbuf *b)
{
	if (!v)
		return;
	sbuf_puts(b, "<h2>Revocation sources</h2>\n<table id=\"crl-sources\"><tr><th>source</th><th>freshness</th>"
	             "<th>thisUpdate age</th><th>nextUpdate in</th><th>fetches</th><th>failures</th>"
	             "<th>last error</th></tr>\n");
	for (int i = 0; i < n; i++) {
		const char *fresh = v[i].stale ? (v[i].has_crl ? "expired" : "none") : "fresh";

		sbuf_printf(b, "<tr class=\"%s\"><td>", v[i].stale ? "bad" : "good");
		sbuf_html(b, v[i].url);
		sbuf_printf(b, "%s</td><td style=\"color:%s\">%s</td>",
		            v[i].is_list ? " (list)" : v[i].from_cdp ? " (CDP)" : "",
		            v[i].stale ? "#c00" : "#080", fresh);
		if (v[i].has_crl)
			sbuf_printf(b, "<td>%llds</td><td>%llds</td>", (long long)(now - v[i].this_update),
			            v[i].next_update ? (long long)(v[i].next_update - now) : 0LL);
		else
			sbuf_puts(b, "<td>-</td><td>-</td>");
		sbuf_printf(b, "<td>%lu</td><td>%lu (%lu in a row)</td><td>", v[i].fetches, v[i].failures,
		            v[i].consecutive_failures);
		sbuf_html(b, v[i].last_error);
		sbuf_puts(b, "</td></tr>\n");
	}
	sbuf_puts(b, "</table>\n");
}
