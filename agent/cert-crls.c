/* Fetched CRLs as one published set, and the CDP URLs of verified chains
 * (cert-crls.h). Pure: no I/O, no clock. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cache.h"
#include "errbuf.h"
#include "cert-crls.h"
#include "cert-facts.h"

struct cert_crlset {
	unsigned int refs;
	STACK_OF(X509_CRL) *crls;
	char **urls;                            /* parallel to crls */
};

static struct cert_crlset *crls_cur;        /* atomic */
static unsigned int crls_readers;           /* atomic: readers between load and ref */
static unsigned int crls_generation;        /* atomic */
static pthread_mutex_t crls_write_mu = PTHREAD_MUTEX_INITIALIZER;

static void crlset_free(struct cert_crlset *s)
{
	if (!s)
		return;
	for (int i = 0; s->urls && i < sk_X509_CRL_num(s->crls); i++)
		free(s->urls[i]);
	free(s->urls);
	sk_X509_CRL_pop_free(s->crls, X509_CRL_free);
	free(s);
}

struct cert_crlset *cert_crls_acquire(void)
{
	struct cert_crlset *s;

	if (!__atomic_load_n(&crls_cur, __ATOMIC_ACQUIRE))
		return NULL;    /* the common case without fetching: nothing to pin */
	__atomic_add_fetch(&crls_readers, 1, __ATOMIC_SEQ_CST);
	s = __atomic_load_n(&crls_cur, __ATOMIC_SEQ_CST);
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&crls_readers, 1, __ATOMIC_SEQ_CST);
	return s;
}

void cert_crls_release(struct cert_crlset *s)
{
	if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
		crlset_free(s);
}

STACK_OF(X509_CRL) *cert_crlset_crls(const struct cert_crlset *s)
{
	return s ? s->crls : NULL;
}

const char *cert_crlset_source(const struct cert_crlset *s, const X509_CRL *crl)
{
	for (int i = 0; s && crl && i < sk_X509_CRL_num(s->crls); i++)
		if (sk_X509_CRL_value(s->crls, i) == crl)
			return s->urls[i];
	return NULL;
}

/* Swap in s (may be NULL); the old set loses the publisher's reference
 * once no reader can still be about to take one. */
static void crls_publish(struct cert_crlset *s)
{
	struct cert_crlset *old;

	pthread_mutex_lock(&crls_write_mu);
	old = __atomic_exchange_n(&crls_cur, s, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&crls_generation, 1, __ATOMIC_SEQ_CST);
	cache_verdict_gen_bump();      /* after the swap: HAProxy's reused allows end */
	/* a reader that loaded old has announced itself before: wait until
	 * it has its reference (a few instructions) */
	while (__atomic_load_n(&crls_readers, __ATOMIC_SEQ_CST) != 0)
		sched_yield();
	pthread_mutex_unlock(&crls_write_mu);
	cert_crls_release(old);
}

int cert_crls_install(STACK_OF(X509_CRL) *crls, const char *const *urls)
{
	struct cert_crlset *s = NULL;
	int n = crls ? sk_X509_CRL_num(crls) : 0;

	if (n > 0) {
		s = calloc(1, sizeof(*s));
		if (s)
			s->urls = calloc((size_t)n, sizeof(*s->urls));
		for (int i = 0; s && s->urls && i < n; i++)
			if (!(s->urls[i] = strdup(urls && urls[i] ? urls[i] : "?"))) {
				for (int k = 0; k < i; k++)
					free(s->urls[k]);
				free(s->urls);
				s->urls = NULL;
			}
		if (!s || !s->urls) {
			free(s);
			sk_X509_CRL_pop_free(crls, X509_CRL_free);
			return -1;
		}
		/* shared read-only by the verifying threads; OpenSSL sorts a
		 * CRL's revoked list on first lookup under the CRL's own lock */
		s->refs = 1;
		s->crls = crls;
	} else {
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
	}
	crls_publish(s);
	return 0;
}

unsigned int cert_crls_gen(void)
{
	return __atomic_load_n(&crls_generation, __ATOMIC_ACQUIRE);
}

void cert_crls_clear(void)
{
	crls_publish(NULL);
}

/* ---- CDP learning ---- */

static int cdp_on;                          /* atomic */
static unsigned int cdp_generation;         /* atomic */
static pthread_mutex_t cdp_mu = PTHREAD_MUTEX_INITIALIZER;
static char *cdp_urls[CERT_CDP_MAX];        /* (cdp_mu) */
static int cdp_count;                       /* (cdp_mu) */

void cert_cdp_learning(int on)
{
	__atomic_store_n(&cdp_on, on ? 1 : 0, __ATOMIC_RELEASE);
	if (!on) {
		pthread_mutex_lock(&cdp_mu);
		for (int i = 0; i < cdp_count; i++) {
			free(cdp_urls[i]);
			cdp_urls[i] = NULL;
		}
		cdp_count = 0;
		pthread_mutex_unlock(&cdp_mu);
	}
}

int cert_cdp_learning_on(void)
{
	return __atomic_load_n(&cdp_on, __ATOMIC_ACQUIRE);
}

static int url_is_fetchable(const char *u, size_t n)
{
	if (n >= CERT_CDP_URL_MAX)
		return 0;
	if (!((n > 7 && strncmp(u, "http://", 7) == 0) || (n > 8 && strncmp(u, "https://", 8) == 0)))
		return 0;
	for (size_t i = 0; i < n; i++)      /* printable ASCII, no space */
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
			return 0;
	return 1;
}

int cert_cdp_urls(X509 *x, void (*fn)(void *arg, const char *url), void *arg)
{
	STACK_OF(DIST_POINT) *dps;
	char buf[CERT_CDP_URL_MAX];
	int found = 0;

	dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	for (int i = 0; dps && i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		GENERAL_NAMES *names;

		/* a partitioned CDP (reasons, or a CRL issuer other than the
		 * certificate's) is not a full CRL for this certificate */
		if (!dp->distpoint || dp->distpoint->type != 0 || dp->reasons || dp->CRLissuer)
			continue;
		names = dp->distpoint->name.fullname;
		for (int k = 0; k < sk_GENERAL_NAME_num(names); k++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, k);
			const unsigned char *u;
			int n;

			if (gn->type != GEN_URI)
				continue;
			u = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
			n = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
			if (n <= 0 || memchr(u, 0, (size_t)n) || !url_is_fetchable((const char *)u, (size_t)n))
				continue;
			memcpy(buf, u, (size_t)n);
			buf[n] = '\0';
			fn(arg, buf);
			found++;
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ERR_clear_error();
	return found;
}

/* Under cdp_mu. */
static void cdp_add(void *arg, const char *url)
{
	(void)arg;
	for (int i = 0; i < cdp_count; i++)
		if (strcmp(cdp_urls[i], url) == 0)
			return;
	if (cdp_count >= CERT_CDP_MAX)
		return;
	if ((cdp_urls[cdp_count] = strdup(url)) != NULL) {
		cdp_count++;
		__atomic_add_fetch(&cdp_generation, 1, __ATOMIC_RELEASE);
	}
}

void cert_cdp_note_chain(STACK_OF(X509) *path)
{
	if (!cert_cdp_learning_on() || !path)
		return;
	pthread_mutex_lock(&cdp_mu);
	for (int i = 0; i < sk_X509_num(path); i++)
		cert_cdp_urls(sk_X509_value(path, i), cdp_add, NULL);
	pthread_mutex_unlock(&cdp_mu);
}

unsigned int cert_cdp_gen(void)
{
	return __atomic_load_n(&cdp_generation, __ATOMIC_ACQUIRE);
}

void cert_cdp_each(void (*fn)(void *arg, const char *url), void *arg)
{
	pthread_mutex_lock(&cdp_mu);
	for (int i = 0; i < cdp_count; i++)
		fn(arg, cdp_urls[i]);
	pthread_mutex_unlock(&cdp_mu);
}

/* ---- one fetched CRL ---- */

X509_CRL *cert_crl_parse(const void *data, size_t len, char *err, size_t errlen)
{
	const unsigned char *p = data;
	X509_CRL *crl = NULL;
	BIO *bio;

	ERR_clear_error();
	if (!data || len == 0 || len > (size_t)INT32_MAX) {
		set_err(err, errlen, "empty answer");
		return NULL;
	}
	if (p[0] == 0x30) {
		/* DER: exactly one CRL, nothing after it */
		crl = d2i_X509_CRL(NULL, &p, (long)len);
		if (crl && p != (const unsigned char *)data + len) {
			X509_CRL_free(crl);
			crl = NULL;
			set_err(err, errlen, "trailing bytes after the DER CRL");
			goto out;
		}
		if (!crl)
			set_err(err, errlen, "not a DER CRL");
		goto out;
	}
	bio = BIO_new_mem_buf(data, (int)len);
	if (!bio) {
		set_err(err, errlen, "out of memory");
		goto out;
	}
	crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
	if (crl) {
		X509_CRL *more = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);

		if (more) {
			X509_CRL_free(more);
			X509_CRL_free(crl);
			crl = NULL;
			set_err(err, errlen, "more than one CRL in the answer");
		}
	} else {
		set_err(err, errlen, "neither a DER nor a PEM CRL");
	}
	BIO_free(bio);
out:
	ERR_clear_error();
	return crl;
}

void cert_crl_dates(const X509_CRL *crl, int64_t *this_update, int64_t *next_update)
{
	const ASN1_TIME *n = X509_CRL_get0_nextUpdate(crl);

	if (cert_asn1_time(X509_CRL_get0_lastUpdate(crl), this_update) < 0)
		*this_update = 0;
	if (!n || cert_asn1_time(n, next_update) < 0)
		*next_update = 0;
}

int cert_crl_check(X509_CRL *crl, X509 *issuer, int64_t now, int64_t skew,
                   char *err, size_t errlen)
{
	EVP_PKEY *key = issuer ? X509_get0_pubkey(issuer) : NULL;
	int64_t this_update, next_update;
	int ok;

	if (!key) {
		set_err(err, errlen, "no issuer for the CRL in the trust store");
		return -1;
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
		set_err(err, errlen, "the CRL's issuer is not the given CA");
		return -1;
	}
	ok = X509_CRL_verify(crl, key);
	ERR_clear_error();
	if (ok != 1) {
		set_err(err, errlen, "bad CRL signature");
		return -1;
	}
	cert_crl_dates(crl, &this_update, &next_update);
	if (this_update == 0) {
		set_err(err, errlen, "unreadable thisUpdate");
		return -1;
	}
	if (this_update > now + skew) {
		set_err(err, errlen, "thisUpdate is in the future");
		return -1;
	}
	if (next_update && next_update < this_update) {
		set_err(err, errlen, "nextUpdate before thisUpdate");
		return -1;
	}
	return 0;
}
