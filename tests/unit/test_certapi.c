/* The certificate modules' own entry points, each through its own header
 * (cert-facts.h, cert-ext.h, cert-store.h), not the cert.h umbrella: the
 * exact-DER list reader cert_parse_next(), cert_digests() and its result,
 * cert_asn1_time(), cert_name_canon() and the issuer of a verified path,
 * which is described with it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cert-store.h"
#include "cert-facts.h"
#include "cert-ext.h"
#include "testhelp.h"
#include "testpki.h"

#define NOW  INT64_C(2000000000)
#define DAY  INT64_C(86400)

TEST(certapi_parse_next_walks_a_list)
{
	EVP_PKEY *k = testpki_make_key();
	X509 *a = testpki_make_cert("/CN=certapi a", k, NULL, NULL, NOW - DAY, NOW + DAY, 1, NULL);
	X509 *b = testpki_make_cert("/CN=certapi b", k, NULL, NULL, NOW - DAY, NOW + DAY, 1, NULL);
	X509 *certs[2] = { a, b };
	unsigned char *der, *one;
	size_t len = 0, alen = 0;
	const unsigned char *p;
	X509 *x;

	CHECK(k && a && b);
	der = testpki_concat_der(certs, 2, &len);
	one = testpki_to_der(a, &alen);
	CHECK(der && one && alen < len);
	if (!der || !one)
		goto out;
	p = der;
	x = cert_parse_next(&p, len);
	CHECK(x && X509_cmp(x, a) == 0);
	CHECK(p == der + alen);
	X509_free(x);
	x = cert_parse_next(&p, (size_t)(der + len - p));
	CHECK(x && X509_cmp(x, b) == 0);
	CHECK(p == der + len);
	X509_free(x);
	/* one byte short of the second: NULL, and the cursor stays put */
	p = der + alen;
	x = cert_parse_next(&p, len - alen - 1);
	CHECK(x == NULL);
	CHECK(p == der + alen);
	/* cert_parse_der() wants exactly one: the list is refused whole */
	CHECK(cert_parse_der(der, len) == NULL);
	x = cert_parse_der(one, alen);
	CHECK(x != NULL);
	X509_free(x);
	/* a long-form length where DER has the short one: BER, refused */
	{
		unsigned char ber[8];
		const unsigned char *q = ber;

		/* SEQUENCE, length 0 written as 0x81 0x00 */
		memcpy(ber, "\x30\x81\x00", 3);
		CHECK(cert_parse_next(&q, 3) == NULL);
		CHECK(q == ber);
	}
out:
	free(der);
	free(one);
	X509_free(a);
	X509_free(b);
	EVP_PKEY_free(k);
}

TEST(certapi_digests_result)
{
	static const unsigned char abc[] = "abc";
	unsigned char s1[20], s256[32], e1[20], e256[32], c256[32];
	unsigned int n = 0;

	CHECK_EQ_INT(cert_digests(abc, 3, s1, s256), 0);
	CHECK(EVP_Digest(abc, 3, e1, &n, EVP_sha1(), NULL) == 1 && n == 20);
	CHECK(EVP_Digest(abc, 3, e256, &n, EVP_sha256(), NULL) == 1 && n == 32);
	CHECK_EQ_MEM(s1, e1, 20);
	CHECK_EQ_MEM(s256, e256, 32);
	cert_sha256(abc, 3, c256);
	CHECK_EQ_MEM(c256, e256, 32);
}

TEST(certapi_asn1_time)
{
	ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)NOW);
	ASN1_TIME *bad = ASN1_TIME_new();
	int64_t v = 7;

	CHECK(t != NULL && bad != NULL);
	CHECK_EQ_INT(cert_asn1_time(t, &v), 0);
	CHECK_EQ_INT(v, NOW);
	v = 7;
	CHECK_EQ_INT(cert_asn1_time(NULL, &v), -1);
	CHECK_EQ_INT(v, 7);
	/* an empty time is unreadable */
	CHECK_EQ_INT(cert_asn1_time(bad, &v), -1);
	CHECK_EQ_INT(v, 7);
	ASN1_TIME_free(t);
	ASN1_TIME_free(bad);
}

/* The issuer a verified path reports is described as cert_get_ext()
 * describes names: the same canonical text for the same name. */
TEST(certapi_path_issuer_is_canon_name)
{
	EVP_PKEY *rk = testpki_make_key(), *ik = testpki_make_key(), *lk = testpki_make_key();
	X509 *root = NULL, *inter = NULL, *leaf = NULL;
	struct cert_verify_opts o = { 0 };
	struct cert_issuer iss;
	struct cert_store *st = NULL;
	struct cert_ext *ie = NULL, *le = NULL;
	unsigned char *chain = NULL, *ider = NULL;
	unsigned char s1[20], s256[32];
	size_t clen = 0, ilen = 0;
	char path[64], err[256], *canon = NULL;
	int depth = 0;

	memset(&iss, 0, sizeof(iss));
	CHECK(rk && ik && lk);
	root = testpki_make_cert("/O=Example/CN=Certapi Root", rk, NULL, NULL,
	                         NOW - 30 * DAY, NOW + 30 * DAY, 1, NULL);
	inter = testpki_make_cert("/O=Example/OU=Two/CN=Certapi  Inter", ik, root, rk,
	                          NOW - 30 * DAY, NOW + 30 * DAY, 1, NULL);
	leaf = testpki_make_cert("/O=Example/CN=certapi leaf", lk, inter, ik,
	                         NOW - DAY, NOW + DAY, 0, "clientAuth");
	CHECK(root && inter && leaf);
	if (!root || !inter || !leaf || testpki_write_pem(&root, 1, path, sizeof(path)) < 0)
		goto out;
	st = cert_store_load(path, err, sizeof(err));
	unlink(path);
	CHECK(st != NULL);
	chain = testpki_concat_der(&inter, 1, &clen);
	ider = testpki_to_der(inter, &ilen);
	CHECK(chain && ider);
	if (!st || !chain || !ider)
		goto out;
	CHECK_EQ_INT(cert_verify_path(st, leaf, chain, clen, NOW, &o, &depth, &iss), X509_V_OK);
	CHECK_EQ_INT(iss.found, 1);
	canon = cert_name_canon(X509_get_subject_name(inter));
	ie = cert_get_ext(inter);
	le = cert_get_ext(leaf);
	CHECK(canon && ie && le);
	if (!canon || !ie || !le || !iss.dn)
		goto out;
	CHECK_EQ_STR(iss.dn, canon);
	CHECK_EQ_STR(iss.dn, ie->subject_canon);
	CHECK_EQ_STR(le->issuer_canon, canon);
	CHECK_EQ_STR(canon, "O=example/OU=two/CN=certapi inter");
	CHECK_EQ_INT(cert_digests(ider, ilen, s1, s256), 0);
	CHECK_EQ_MEM(iss.sha1, s1, 20);
	CHECK_EQ_MEM(iss.sha256, s256, 32);
out:
	cert_issuer_clear(&iss);
	free(canon);
	cert_ext_free(ie);
	cert_ext_free(le);
	free(chain);
	free(ider);
	cert_store_free(st);
	X509_free(root);
	X509_free(inter);
	X509_free(leaf);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
}
