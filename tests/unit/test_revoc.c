/* Fetched CRLs (agent/cert-crls.c) and their use by verification
 * (cert_verify_path): the published set and its generation, parsing and
 * checking a fetched CRL, revocation with its source, grace and
 * crl_expired = allow, and CDP learning only from paths that verify. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "cfg.h"
#include "decide.h"
#include "testcfg.h"
#include "testhelp.h"
#include "testpki.h"

#define NOW 1900000000LL
#define DAY 86400LL
#define CDP_URL "http://pki.example/ca.crl"

static struct {
	int ready;
	EVP_PKEY *ca_key, *other_key, *leaf_key;
	X509 *ca, *other_ca, *good, *bad, *stranger, *forged;
	struct cert_store *st;
} k;

/* A copy of x with a CDP, signed again by key. */
static X509 *with_cdp(X509 *x, EVP_PKEY *key, const char *uri)
{
	char v[256];
	X509_EXTENSION *ext;

	snprintf(v, sizeof(v), "URI:%s", uri);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_crl_distribution_points, v);
	if (!ext || !X509_add_ext(x, ext, -1) || !X509_sign(x, key, EVP_sha256())) {
		X509_EXTENSION_free(ext);
		return NULL;
	}
	X509_EXTENSION_free(ext);
	return x;
}

static void setup(void)
{
	char pem[128];

	if (k.ready)
		return;
	k.ca_key = testpki_make_key();
	k.other_key = testpki_make_key();
	k.leaf_key = testpki_make_key();
	k.ca = testpki_make_cert("/CN=Fetch Test CA", k.ca_key, NULL, NULL, NOW - 100 * DAY, NOW + 1000 * DAY, 1, NULL);
	/* the same name, another key: its CRLs must never count */
	k.other_ca = testpki_make_cert("/CN=Fetch Test CA", k.other_key, NULL, NULL, NOW - 100 * DAY, NOW + 1000 * DAY, 1, NULL);
	k.good = with_cdp(testpki_make_cert("/CN=good", k.leaf_key, k.ca, k.ca_key, NOW - DAY, NOW + 100 * DAY, 0, "clientAuth"),
	                  k.ca_key, CDP_URL);
	k.bad = testpki_make_cert("/CN=revoked", k.leaf_key, k.ca, k.ca_key, NOW - DAY, NOW + 100 * DAY, 0, "clientAuth");
	k.stranger = with_cdp(testpki_make_cert("/CN=stranger", k.leaf_key, k.other_ca, k.other_key, NOW - DAY, NOW + 100 * DAY, 0, "clientAuth"),
	                      k.other_key, "http://attacker.example/x.crl");
	/* names the real CA as issuer, signed by another key */
	k.forged = with_cdp(testpki_make_cert("/CN=forged", k.leaf_key, k.ca, k.other_key, NOW - DAY, NOW + 100 * DAY, 0, "clientAuth"),
	                    k.other_key, "http://attacker.example/forged.crl");
	if (testpki_write_pem(&k.ca, 1, pem, sizeof(pem)) == 0) {
		k.st = cert_store_load(pem, NULL, 0);
		unlink(pem);
	}
	k.ready = k.ca && k.other_ca && k.good && k.bad && k.stranger && k.forged && k.st;
}

/* A CRL by issuer/key revoking rev (reason, -1: none). */
static X509_CRL *make_crl(X509 *issuer, EVP_PKEY *key, X509 *rev, int reason,
                          int64_t this_update, int64_t next_update)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)this_update);
	ASN1_TIME *t2 = ASN1_TIME_set(NULL, (time_t)next_update);
	ASN1_TIME *tr = ASN1_TIME_set(NULL, (time_t)(this_update - 60));
	int ok = crl && t1 && t2 && tr && X509_CRL_set_version(crl, 1) &&
	         X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) &&
	         X509_CRL_set1_lastUpdate(crl, t1) && X509_CRL_set1_nextUpdate(crl, t2);

	if (ok && rev) {
		X509_REVOKED *r = X509_REVOKED_new();

		ok = r && X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(rev)) &&
		     X509_REVOKED_set_revocationDate(r, tr);
		if (ok && reason >= 0) {
			ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

			ok = e && ASN1_ENUMERATED_set(e, reason) && X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0);
			ASN1_ENUMERATED_free(e);
		}
		if (ok && X509_CRL_add0_revoked(crl, r))
			r = NULL;
		else
			ok = 0;
		X509_REVOKED_free(r);
	}
	ok = ok && X509_CRL_sort(crl) && X509_CRL_sign(crl, key, EVP_sha256());
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	ASN1_TIME_free(tr);
	if (!ok) {
		X509_CRL_free(crl);
		return NULL;
	}
	return crl;
}

/* Publish one CRL with its URL (taken). */
static int publish_one(X509_CRL *crl, const char *url)
{
	STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
	const char *urls[1] = { url };

	if (!sk || !crl || !sk_X509_CRL_push(sk, crl)) {
		X509_CRL_free(crl);
		sk_X509_CRL_free(sk);
		return -1;
	}
	return cert_crls_install(sk, urls);
}

static int verify(X509 *leaf, unsigned int flags, int64_t grace, struct cert_revocation *rev)
{
	struct cert_verify_opts o = { .flags = flags, .crl_grace = grace, .rev = rev };

	return cert_verify_path(k.st, leaf, NULL, 0, NOW, &o, NULL, NULL);
}

TEST(revoc_set_publish_acquire_generation)
{
	unsigned int g0 = cert_crls_gen();
	struct cert_crlset *s;

	setup();
	CHECK(k.ready);
	cert_crls_clear();
	CHECK(cert_crls_acquire() == NULL);
	CHECK_EQ_INT(publish_one(make_crl(k.ca, k.ca_key, NULL, -1, NOW - DAY, NOW + DAY), "http://a/1.crl"), 0);
	CHECK(cert_crls_gen() != g0);
	s = cert_crls_acquire();
	CHECK(s != NULL);
	CHECK_EQ_INT(sk_X509_CRL_num(cert_crlset_crls(s)), 1);
	CHECK_EQ_STR(cert_crlset_source(s, sk_X509_CRL_value(cert_crlset_crls(s), 0)), "http://a/1.crl");
	/* a new set while a reader holds the old one: the old stays valid */
	g0 = cert_crls_gen();
	CHECK_EQ_INT(publish_one(make_crl(k.ca, k.ca_key, k.bad, 1, NOW - DAY, NOW + DAY), "http://a/2.crl"), 0);
	CHECK(cert_crls_gen() == g0 + 1);
	CHECK_EQ_STR(cert_crlset_source(s, sk_X509_CRL_value(cert_crlset_crls(s), 0)), "http://a/1.crl");
	cert_crls_release(s);
	cert_crls_clear();
	CHECK(cert_crls_acquire() == NULL);
}

TEST(revoc_crl_parse_der_pem_and_refusals)
{
	X509_CRL *crl, *p;
	unsigned char *der = NULL, *two;
	char err[128], *pem;
	BIO *b = BIO_new(BIO_s_mem());
	long plen;
	int dlen;

	setup();
	crl = make_crl(k.ca, k.ca_key, k.bad, 1, NOW - DAY, NOW + DAY);
	CHECK(crl && b);
	dlen = i2d_X509_CRL(crl, &der);
	CHECK(dlen > 0);
	p = cert_crl_parse(der, (size_t)dlen, err, sizeof(err));
	CHECK(p != NULL);
	X509_CRL_free(p);
	/* DER with a byte after it */
	two = malloc((size_t)dlen + 1);
	memcpy(two, der, (size_t)dlen);
	two[dlen] = 0;
	CHECK(cert_crl_parse(two, (size_t)dlen + 1, err, sizeof(err)) == NULL);
	CHECK_EQ_STR(err, "trailing bytes after the DER CRL");
	/* truncated DER */
	CHECK(cert_crl_parse(der, (size_t)dlen - 1, err, sizeof(err)) == NULL);
	free(two);
	/* PEM, then two PEM CRLs */
	PEM_write_bio_X509_CRL(b, crl);
	plen = BIO_get_mem_data(b, &pem);
	p = cert_crl_parse(pem, (size_t)plen, err, sizeof(err));
	CHECK(p != NULL);
	X509_CRL_free(p);
	PEM_write_bio_X509_CRL(b, crl);
	plen = BIO_get_mem_data(b, &pem);
	CHECK(cert_crl_parse(pem, (size_t)plen, err, sizeof(err)) == NULL);
	CHECK_EQ_STR(err, "more than one CRL in the answer");
	CHECK(cert_crl_parse("hello", 5, err, sizeof(err)) == NULL);
	CHECK(cert_crl_parse("", 0, err, sizeof(err)) == NULL);
	BIO_free(b);
	OPENSSL_free(der);
	X509_CRL_free(crl);
}

TEST(revoc_crl_check_signature_issuer_and_dates)
{
	X509_CRL *good, *forged, *future;
	X509 *iss;
	char err[128];

	setup();
	good = make_crl(k.ca, k.ca_key, NULL, -1, NOW - DAY, NOW + DAY);
	forged = make_crl(k.ca, k.other_key, NULL, -1, NOW - DAY, NOW + DAY);
	future = make_crl(k.ca, k.ca_key, NULL, -1, NOW + 3600, NOW + DAY);
	CHECK_EQ_INT(cert_crl_check(good, k.ca, NOW, 60, err, sizeof(err)), 0);
	CHECK_EQ_INT(cert_crl_check(forged, k.ca, NOW, 60, err, sizeof(err)), -1);
	CHECK_EQ_STR(err, "bad CRL signature");
	CHECK_EQ_INT(cert_crl_check(future, k.ca, NOW, 60, err, sizeof(err)), -1);
	CHECK_EQ_STR(err, "thisUpdate is in the future");
	CHECK_EQ_INT(cert_crl_check(good, NULL, NOW, 60, err, sizeof(err)), -1);
	/* the store finds the signer of the good CRL, none for the forged one */
	iss = cert_store_crl_issuer(k.st, good);
	CHECK(iss != NULL && X509_cmp(iss, k.ca) == 0);
	X509_free(iss);
	CHECK(cert_store_crl_issuer(k.st, forged) == NULL);
	X509_CRL_free(good);
	X509_CRL_free(forged);
	X509_CRL_free(future);
}

TEST(revoc_verify_uses_fetched_crl_with_its_source)
{
	struct cert_revocation rev;
	unsigned int f = CERT_VF_CRL_LEAF;

	setup();
	cert_crls_clear();
	CHECK_EQ_INT(verify(k.good, f, 0, &rev), X509_V_ERR_UNABLE_TO_GET_CRL);
	CHECK_EQ_INT(verify(k.good, f | CERT_VF_CRL_MISSING_OK, 0, &rev), X509_V_OK);
	CHECK_EQ_INT(publish_one(make_crl(k.ca, k.ca_key, k.bad, 1, NOW - DAY, NOW + DAY), CDP_URL), 0);
	CHECK_EQ_INT(verify(k.good, f, 0, &rev), X509_V_OK);
	CHECK_EQ_INT(rev.found, 0);
	CHECK_EQ_INT(verify(k.bad, f, 0, &rev), X509_V_ERR_CERT_REVOKED);
	CHECK_EQ_INT(rev.found, 1);
	CHECK_EQ_INT(rev.reason, 1);           /* keyCompromise */
	CHECK_EQ_INT(rev.revoked_at, NOW - DAY - 60);
	CHECK_EQ_INT(rev.depth, 0);
	CHECK_EQ_STR(rev.source, CDP_URL);
	/* no revocation check asked: the CRL is not looked at */
	CHECK_EQ_INT(verify(k.bad, 0, 0, &rev), X509_V_OK);
	/* a CRL under the CA's name signed by another key is not used */
	CHECK_EQ_INT(publish_one(make_crl(k.ca, k.other_key, k.good, 1, NOW - DAY, NOW + DAY), "http://x/forged.crl"), 0);
	CHECK(verify(k.good, f, 0, &rev) != X509_V_OK);
	CHECK(verify(k.bad, f, 0, &rev) != X509_V_OK);   /* nor does the forged set free the revoked one */
	cert_crls_clear();
}

TEST(revoc_expired_crl_grace_and_allow)
{
	struct cert_revocation rev;
	unsigned int f = CERT_VF_CRL_LEAF;

	setup();
	/* nextUpdate a day ago */
	CHECK_EQ_INT(publish_one(make_crl(k.ca, k.ca_key, k.bad, 4, NOW - 3 * DAY, NOW - DAY), CDP_URL), 0);
	CHECK_EQ_INT(verify(k.good, f, 0, &rev), X509_V_ERR_CRL_HAS_EXPIRED);
	CHECK_EQ_INT(verify(k.good, f, DAY - 1, &rev), X509_V_ERR_CRL_HAS_EXPIRED);
	CHECK_EQ_INT(verify(k.good, f, DAY, &rev), X509_V_OK);
	CHECK_EQ_INT(verify(k.bad, f, 2 * DAY, &rev), X509_V_ERR_CERT_REVOKED);
	CHECK_EQ_INT(rev.found, 1);
	CHECK_EQ_INT(rev.reason, 4);           /* superseded */
	CHECK_EQ_INT(verify(k.good, f | CERT_VF_CRL_EXPIRED_OK, 0, &rev), X509_V_OK);
	CHECK_EQ_INT(verify(k.bad, f | CERT_VF_CRL_EXPIRED_OK, 0, &rev), X509_V_ERR_CERT_REVOKED);
	cert_crls_clear();
}

static void count_url(void *arg, const char *url)
{
	int *n = arg;

	if (strcmp(url, CDP_URL) == 0)
		n[0]++;
	else
		n[1]++;
}

TEST(revoc_cdp_learned_only_from_verified_paths)
{
	int seen[2] = { 0, 0 };
	unsigned int g;

	setup();
	cert_crls_clear();
	CHECK_EQ_INT(cert_cdp_urls(k.good, count_url, seen), 1);
	CHECK_EQ_INT(seen[0], 1);
	seen[0] = 0;
	cert_cdp_learning(1);
	g = cert_cdp_gen();
	/* an untrusted issuer: its CDP is never learned */
	CHECK(verify(k.stranger, CERT_VF_CRL_LEAF, 0, NULL) != X509_V_OK);
	CHECK(cert_cdp_gen() == g);
	/* a forged signature under the CA's name: OpenSSL checks revocation
	 * before signatures, so this fails "for want of a CRL" too; the check
	 * without CRLs catches the signature, nothing is learned */
	CHECK(verify(k.forged, CERT_VF_CRL_LEAF, 0, NULL) != X509_V_OK);
	CHECK(cert_cdp_gen() == g);
	/* a path that fails only for want of a CRL: learned */
	CHECK_EQ_INT(verify(k.good, CERT_VF_CRL_LEAF, 0, NULL), X509_V_ERR_UNABLE_TO_GET_CRL);
	CHECK(cert_cdp_gen() == g + 1);
	cert_cdp_each(count_url, seen);
	CHECK_EQ_INT(seen[0], 1);
	CHECK_EQ_INT(seen[1], 0);
	/* learned once */
	verify(k.good, CERT_VF_CRL_LEAF, 0, NULL);
	CHECK(cert_cdp_gen() == g + 1);
	cert_cdp_learning(0);
	seen[0] = 0;
	cert_cdp_each(count_url, seen);
	CHECK_EQ_INT(seen[0], 0);
}

/* The agent's verification of der under pol, through the decision cache. */
static int eval_der(struct decide_ctx *dc, const struct policy *pol, const unsigned char *der, size_t len)
{
	struct req_facts rq;
	struct cert_eval ce;

	memset(&rq, 0, sizeof(rq));
	rq.has_cert = 1;
	rq.cert.ptr = (const char *)der;
	rq.cert.len = len;
	decide_eval_cert(dc, pol, &rq, NOW, &ce);
	return ce.agent_checked ? ce.agent_verify : -100;
}

TEST(revoc_new_crl_reaches_cached_verification)
{
	char pem[128], err[512];
	struct decide_ctx dc;
	struct config *cfg = NULL;
	unsigned char *der;
	size_t len = 0;

	setup();
	der = testpki_to_der(k.bad, &len);
	CHECK(der != NULL && testpki_write_pem(&k.ca, 1, pem, sizeof(pem)) == 0);
	if (!der)
		return;
	cfg = test_cfg_textf(err, sizeof(err), "[agent]\ncrl_urls = http://pki.example/ca.crl\n"
	                     "[policy default]\nverify = agent\nca_file = %s\n", pem);
	CHECK(cfg != NULL);
	if (!cfg) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	/* crl_urls turns revocation checking on for the agent's verification */
	CHECK(cfg->default_policy->verify_flags & CERT_VF_CRL_ALL);
	CHECK_EQ_INT(decide_init(&dc, cfg, 1), 0);
	cert_crls_clear();
	CHECK_EQ_INT(eval_der(&dc, cfg->default_policy, der, len), X509_V_ERR_UNABLE_TO_GET_CRL);
	/* a CRL arrives that does not list it: verified, then from the cache */
	CHECK_EQ_INT(publish_one(make_crl(k.ca, k.ca_key, NULL, -1, NOW - DAY, NOW + DAY), CDP_URL), 0);
	CHECK_EQ_INT(eval_der(&dc, cfg->default_policy, der, len), X509_V_OK);
	CHECK_EQ_INT(eval_der(&dc, cfg->default_policy, der, len), X509_V_OK);
	CHECK(dc.cache.hits >= 1);
	/* the next CRL revokes it: the very next evaluation says so, although
	 * the "verified" is in the cache and its TTL has not run out */
	CHECK_EQ_INT(publish_one(make_crl(k.ca, k.ca_key, k.bad, 1, NOW - DAY + 1, NOW + DAY), CDP_URL), 0);
	CHECK_EQ_INT(eval_der(&dc, cfg->default_policy, der, len), X509_V_ERR_CERT_REVOKED);
	decide_destroy(&dc);
	cert_crls_clear();
	cfg_free(cfg);
	free(der);
	unlink(pem);
}
