/* The CRL disk cache's read side (agent/crl-cache.c), shared by the
 * fetcher at startup and certspoa explain: which URLs a configuration
 * wants, the checks before a cached CRL is used (signed by a CA of a
 * policy's store, not dated in the future), and the walk over state_dir
 * that hands each copy over, or says why it cannot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "cert.h"
#include "cfg.h"
#include "crl-cache.h"
#include "testhelp.h"
#include "testpki.h"

#define CC_NOW 1900000000LL
#define CC_DAY 86400LL

/* An empty CRL named after issuer, signed by key. */
static X509_CRL *empty_crl(X509 *issuer, EVP_PKEY *key, int64_t this_update)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *tu = ASN1_TIME_set(NULL, (time_t)this_update);
	ASN1_TIME *nu = ASN1_TIME_set(NULL, (time_t)(this_update + 7 * CC_DAY));
	int ok = crl && tu && nu && X509_CRL_set_version(crl, 1) &&
	         X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) &&
	         X509_CRL_set1_lastUpdate(crl, tu) && X509_CRL_set1_nextUpdate(crl, nu) &&
	         X509_CRL_sign(crl, key, EVP_sha256());

	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
	if (!ok) {
		X509_CRL_free(crl);
		return NULL;
	}
	return crl;
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* state_dir's pair of files for url: the URL and (der != NULL) the copy. */
static int put_copy(const char *dir, const char *url, const void *der, size_t len)
{
	char path[512];

	if (cfg_url_cache_path(dir, "crl", url, "url", path, sizeof(path)) < 0 ||
	    write_file(path, url, strlen(url)) < 0)
		return -1;
	if (!der)
		return 0;
	if (cfg_url_cache_path(dir, "crl", url, "der", path, sizeof(path)) < 0)
		return -1;
	return write_file(path, der, len);
}

struct seen {
	int n, parsed, failed;
	char url[4][128];
	char why[4][192];
};

static void collect(void *arg, const char *url, X509_CRL *crl, int64_t mtime, const char *why)
{
	struct seen *s = arg;

	if (s->n < 4) {
		snprintf(s->url[s->n], sizeof(s->url[0]), "%s", url);
		snprintf(s->why[s->n], sizeof(s->why[0]), "%s", why ? why : "");
	}
	s->n++;
	if (crl && mtime > 0)
		s->parsed++;
	if (!crl && why && *why)
		s->failed++;
}

static int seen_url(const struct seen *s, const char *url, const char *why_part)
{
	for (int i = 0; i < s->n && i < 4; i++)
		if (strcmp(s->url[i], url) == 0)
			return why_part ? strstr(s->why[i], why_part) != NULL : s->why[i][0] == '\0';
	return 0;
}

TEST(crlcache_wanted_by_crl_urls_or_cdp)
{
	struct config cfg;
	char urls[] = "http://a.example/1.crl, https://b.example/2.crl";

	memset(&cfg, 0, sizeof(cfg));
	cfg.crl_fetch = CRL_FETCH_OFF;
	CHECK_EQ_INT(crl_cache_wanted(&cfg, "http://a.example/1.crl"), 0);
	cfg.crl_urls = urls;
	CHECK_EQ_INT(crl_cache_wanted(&cfg, "http://a.example/1.crl"), 1);
	CHECK_EQ_INT(crl_cache_wanted(&cfg, "https://b.example/2.crl"), 1);
	/* exact matches only: no prefix, no extension */
	CHECK_EQ_INT(crl_cache_wanted(&cfg, "http://a.example/1.cr"), 0);
	CHECK_EQ_INT(crl_cache_wanted(&cfg, "http://a.example/1.crl2"), 0);
	CHECK_EQ_INT(crl_cache_wanted(&cfg, "http://c.example/3.crl"), 0);
	cfg.crl_fetch = CRL_FETCH_CDP;
	CHECK_EQ_INT(crl_cache_wanted(&cfg, "http://c.example/3.crl"), 1);
	CHECK_EQ_INT(crl_cache_wanted(&cfg, "file:///etc/passwd"), 0);
	CHECK_EQ_INT(crl_cache_wanted(&cfg, "ldap://c.example/x"), 0);
}

TEST(crlcache_check_signature_issuer_and_date)
{
	EVP_PKEY *ck = testpki_make_key(), *ok2 = testpki_make_key();
	X509 *ca = testpki_make_cert("/CN=Cache Test CA", ck, NULL, NULL, CC_NOW - 100 * CC_DAY,
	                             CC_NOW + 100 * CC_DAY, 1, NULL);
	X509_CRL *good = empty_crl(ca, ck, CC_NOW - CC_DAY);
	X509_CRL *forged = empty_crl(ca, ok2, CC_NOW - CC_DAY);
	X509_CRL *future = empty_crl(ca, ck, CC_NOW + 3600);
	struct cert_store *st = cert_store_new();
	struct policy pol;
	struct config cfg;
	char why[192];

	CHECK(ck && ok2 && ca && good && forged && future && st);
	if (!(ck && ok2 && ca && good && forged && future && st))
		goto out;
	CHECK(cert_store_add_anchor(st, ca) == 0);
	memset(&pol, 0, sizeof(pol));
	memset(&cfg, 0, sizeof(cfg));
	cfg.policies = &pol;
	/* no store: nobody can have signed it */
	why[0] = '\0';
	CHECK_EQ_INT(crl_cache_check(&cfg, good, CC_NOW, why, sizeof(why)), -1);
	CHECK(strstr(why, "not signed by a CA") != NULL);
	pol.store = st;
	CHECK_EQ_INT(crl_cache_check(&cfg, good, CC_NOW, why, sizeof(why)), 0);
	/* the CA's name, another key */
	CHECK_EQ_INT(crl_cache_check(&cfg, forged, CC_NOW, why, sizeof(why)), -1);
	/* dated an hour ahead (skew is a minute) */
	CHECK_EQ_INT(crl_cache_check(&cfg, future, CC_NOW, why, sizeof(why)), -1);
	CHECK_EQ_INT(crl_cache_check(&cfg, future, CC_NOW + 3600, why, sizeof(why)), 0);
out:
	cert_store_free(st);
	X509_CRL_free(good);
	X509_CRL_free(forged);
	X509_CRL_free(future);
	X509_free(ca);
	EVP_PKEY_free(ck);
	EVP_PKEY_free(ok2);
}

TEST(crlcache_each_reads_copies_and_says_why_not)
{
	char dir[] = "/tmp/certspoa-crlcache-XXXXXX", path[512], err[256];
	EVP_PKEY *ck = testpki_make_key();
	X509 *ca = testpki_make_cert("/CN=Cache Walk CA", ck, NULL, NULL, CC_NOW - 100 * CC_DAY,
	                             CC_NOW + 100 * CC_DAY, 1, NULL);
	X509_CRL *crl = ca ? empty_crl(ca, ck, CC_NOW - CC_DAY) : NULL;
	unsigned char *der = NULL;
	int len = crl ? i2d_X509_CRL(crl, &der) : -1;
	struct seen s;

	CHECK(mkdtemp(dir) != NULL && len > 0);
	if (len <= 0)
		goto out;
	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(crl_cache_each(dir, 1 << 20, collect, &s, err, sizeof(err)), 0);
	CHECK_EQ_INT(s.n, 0);
	CHECK_EQ_INT(put_copy(dir, "http://ok.example/a.crl", der, (size_t)len), 0);
	CHECK_EQ_INT(put_copy(dir, "http://nocopy.example/b.crl", NULL, 0), 0);
	CHECK_EQ_INT(put_copy(dir, "http://junk.example/c.crl", "not a crl", 9), 0);
	/* not a cache file: ignored */
	snprintf(path, sizeof(path), "%s/list-00.txt", dir);
	CHECK_EQ_INT(write_file(path, "x\n", 2), 0);
	CHECK_EQ_INT(crl_cache_each(dir, 1 << 20, collect, &s, err, sizeof(err)), 0);
	CHECK_EQ_INT(s.n, 3);
	CHECK_EQ_INT(s.parsed, 1);
	CHECK_EQ_INT(s.failed, 2);
	CHECK(seen_url(&s, "http://ok.example/a.crl", NULL));
	CHECK(seen_url(&s, "http://nocopy.example/b.crl", "missing"));
	CHECK(s.n >= 3 && seen_url(&s, "http://junk.example/c.crl", ""));
	/* a copy larger than the limit is not read */
	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(crl_cache_each(dir, (size_t)len - 1, collect, &s, err, sizeof(err)), 0);
	CHECK_EQ_INT(s.parsed, 0);
	CHECK_EQ_INT(s.failed, 3);
	/* no directory */
	snprintf(path, sizeof(path), "%s/absent", dir);
	CHECK_EQ_INT(crl_cache_each(path, 1 << 20, collect, &s, err, sizeof(err)), -1);
	CHECK(strstr(err, "absent") != NULL);
out:
	if (dir[sizeof(dir) - 7] != 'X') {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		CHECK_EQ_INT(system(cmd), 0);
	}
	OPENSSL_free(der);
	X509_CRL_free(crl);
	X509_free(ca);
	EVP_PKEY_free(ck);
}
