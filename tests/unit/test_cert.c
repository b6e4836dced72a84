/* Certificate modules (cert-facts.c, cert-store.c): DER parsing, facts,
 * trust store, verification.
 * Every certificate is made in-process by testpki.c, valid relative to NOW,
 * a fixed time years away from the wall clock: a test that passes proves
 * cert_verify() judged validity at `now` and not at the current time. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "cert.h"
#include "testhelp.h"
#include "testpki.h"

#define NOW  INT64_C(2000000000)   /* 2033-05-18T03:33:20Z */
#define DAY  INT64_C(86400)

/* The standard cast: a root in the store, an intermediate it signed, and an
 * unrelated CA. Built fresh by each test that needs it. */
struct pki {
	EVP_PKEY *root_key, *int_key, *other_key, *leaf_key;
	X509 *root, *inter, *other;
	struct cert_store *store;
};

static void pki_close(struct pki *p)
{
	cert_store_free(p->store);
	X509_free(p->root);
	X509_free(p->inter);
	X509_free(p->other);
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->int_key);
	EVP_PKEY_free(p->other_key);
	EVP_PKEY_free(p->leaf_key);
	memset(p, 0, sizeof(*p));
}

static int pki_open(struct pki *p)
{
	char path[64], err[256];

	memset(p, 0, sizeof(*p));
	p->root_key = testpki_make_key();
	p->int_key = testpki_make_key();
	p->other_key = testpki_make_key();
	p->leaf_key = testpki_make_key();
	if (!p->root_key || !p->int_key || !p->other_key || !p->leaf_key)
		goto fail;
	p->root = testpki_make_cert("/O=Example/CN=Test Root CA", p->root_key,
	                            NULL, NULL, NOW - 30 * DAY, NOW + 3650 * DAY, 1, NULL);
	p->inter = testpki_make_cert("/O=Example/CN=Test Intermediate CA", p->int_key,
	                             p->root, p->root_key, NOW - 30 * DAY, NOW + 365 * DAY, 1, NULL);
	p->other = testpki_make_cert("/O=Elsewhere/CN=Other Root CA", p->other_key,
	                             NULL, NULL, NOW - 30 * DAY, NOW + 3650 * DAY, 1, NULL);
	if (!p->root || !p->inter || !p->other)
		goto fail;
	if (testpki_write_pem(&p->root, 1, path, sizeof(path)) < 0)
		goto fail;
	p->store = cert_store_load(path, err, sizeof(err));
	unlink(path);
	if (!p->store) {
		fprintf(stderr, "  pki_open: %s\n", err);
		goto fail;
	}
	return 0;
fail:
	pki_close(p);
	return -1;
}

/* A leaf for alice with the shared leaf key. */
static X509 *leaf(struct pki *p, X509 *issuer, EVP_PKEY *issuer_key,
                  int64_t nb, int64_t na, const char *eku)
{
	return testpki_make_cert("/O=Example/CN=alice", p->leaf_key, issuer, issuer_key,
	                         nb, na, 0, eku);
}

/* Verify the way the handler does: leaf and chain go through DER. */
static int verify(const struct pki *p, X509 *lf, X509 *const *chain, int n,
                  int64_t now, int *depth)
{
	unsigned char *der = NULL, *cd = NULL;
	size_t len = 0, clen = 0;
	X509 *x = NULL;
	int code = -100;

	*depth = -100;
	der = testpki_to_der(lf, &len);
	if (!der)
		goto out;
	x = cert_parse_der(der, len);
	if (!x)
		goto out;
	if (n > 0) {
		cd = testpki_concat_der(chain, n, &clen);
		if (!cd)
			goto out;
	}
	code = cert_verify(p->store, x, cd, clen, now, depth);
out:
	X509_free(x);
	free(der);
	free(cd);
	return code;
}

static void fill_random(uint64_t *s, unsigned char *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		d[i] = (unsigned char)((z ^ (z >> 31)) >> 24);
	}
}

static int has_bad_header_char(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f || c == '"')
			return 1;
	}
	return 0;
}

/* ---- digests and hex -------------------------------------------------- */

TEST(cert_digests_known_answers)
{
	unsigned char s1[20], s2[32];
	char h1[41], h2[65];

	cert_digests((const unsigned char *)"abc", 3, s1, s2);
	cert_hex(s1, 20, h1);
	cert_hex(s2, 32, h2);
	CHECK_EQ_STR(h1, "a9993e364706816aba3e25717850c26c9cd0d89d");
	CHECK_EQ_STR(h2, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	cert_digests((const unsigned char *)"", 0, s1, s2);
	cert_hex(s1, 20, h1);
	CHECK_EQ_STR(h1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	cert_hex((const unsigned char *)"\x00\x0f\xf0\xff", 4, h1);
	CHECK_EQ_STR(h1, "000ff0ff");
	cert_hex(s1, 0, h1);
	CHECK_EQ_STR(h1, "");
}

/* ---- DER parsing -------------------------------------------------------- */

TEST(cert_parse_der_exact_length)
{
	struct pki p;
	X509 *lf = NULL, *x;
	unsigned char *der = NULL, *buf = NULL;
	size_t len = 0;

	CHECK(pki_open(&p) == 0);
	lf = leaf(&p, p.inter, p.int_key, NOW - DAY, NOW + DAY, "clientAuth");
	CHECK(lf != NULL);
	if (!lf)
		goto out;
	der = testpki_to_der(lf, &len);
	buf = malloc(2 * len + 1);
	CHECK(der && buf);
	if (!der || !buf)
		goto out;

	x = cert_parse_der(der, len);
	CHECK(x != NULL);
	CHECK(x && X509_cmp(x, lf) == 0);
	X509_free(x);

	/* one trailing byte, of any value */
	memcpy(buf, der, len);
	buf[len] = 0x00;
	CHECK(cert_parse_der(buf, len + 1) == NULL);
	buf[len] = 0x30;
	CHECK(cert_parse_der(buf, len + 1) == NULL);
	/* two certificates back to back are not one certificate */
	memcpy(buf + len, der, len);
	CHECK(cert_parse_der(buf, 2 * len) == NULL);
	/* truncated */
	CHECK(cert_parse_der(der, len - 1) == NULL);
	CHECK(cert_parse_der(der, len / 2) == NULL);
	CHECK(cert_parse_der(der, 1) == NULL);
	/* empty, NULL, over CERT_DER_MAX */
	CHECK(cert_parse_der(der, 0) == NULL);
	CHECK(cert_parse_der(NULL, len) == NULL);
	CHECK(cert_parse_der(der, (size_t)CERT_DER_MAX + 1) == NULL);
	/* failures leave nothing in this thread's OpenSSL error queue */
	CHECK_EQ_INT(ERR_peek_error(), 0);
out:
	free(buf);
	free(der);
	X509_free(lf);
	pki_close(&p);
}

TEST(cert_parse_der_garbage)
{
	unsigned char buf[700];
	uint64_t seed = 42;
	int i, parsed = 0;

	for (i = 0; i < 2000; i++) {
		size_t n = 1 + (size_t)(i * 7919) % sizeof(buf);
		X509 *x;

		fill_random(&seed, buf, n);
		if (i & 1) {
			/* a plausible outer SEQUENCE header, to get past the first byte */
			buf[0] = 0x30;
			if (n > 4) {
				buf[1] = 0x82;
				buf[2] = (unsigned char)((n - 4) >> 8);
				buf[3] = (unsigned char)(n - 4);
			}
		}
		x = cert_parse_der(buf, n);
		parsed += x != NULL;
		X509_free(x);
	}
	CHECK_EQ_INT(parsed, 0);
	CHECK_EQ_INT(ERR_peek_error(), 0);
}

TEST(cert_parse_der_mutations_do_not_crash)
{
	/* Flipped bytes may still parse (a signature byte, say); this only
	 * drives the parser through damaged input under the sanitizers. */
	struct pki p;
	X509 *lf = NULL;
	unsigned char *der = NULL;
	size_t len = 0, i;
	uint64_t seed = 7;

	CHECK(pki_open(&p) == 0);
	lf = leaf(&p, p.inter, p.int_key, NOW - DAY, NOW + DAY, NULL);
	der = lf ? testpki_to_der(lf, &len) : NULL;
	CHECK(der != NULL);
	for (i = 0; der && i < len; i++) {
		unsigned char save = der[i], r;
		X509 *x;

		fill_random(&seed, &r, 1);
		der[i] ^= (unsigned char)(r | 1);
		x = cert_parse_der(der, len);
		if (x) {
			struct cert_facts f;
			int depth;

			(void)cert_get_facts(x, der, len, &f);
			(void)cert_verify(p.store, x, NULL, 0, NOW, &depth);
		}
		X509_free(x);
		der[i] = save;
	}
	free(der);
	X509_free(lf);
	pki_close(&p);
}

/* ---- facts -------------------------------------------------------------- */

TEST(cert_facts_basic)
{
	struct pki p;
	struct testpki_cert c;
	struct cert_facts f;
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char hex[65];
	size_t len = 0;
	X509 *lf = NULL, *x = NULL;

	CHECK(pki_open(&p) == 0);
	memset(&c, 0, sizeof(c));
	c.subject = "/O=Example/OU=Dev/CN=alice";
	c.key = p.leaf_key;
	c.issuer = p.inter;
	c.issuer_key = p.int_key;
	c.not_before = NOW - 3 * DAY;
	c.not_after = NOW + 90 * DAY;
	c.eku = "clientAuth";
	c.serial_hex = "0a";
	lf = testpki_make_cert_ex(&c);
	der = lf ? testpki_to_der(lf, &len) : NULL;
	x = der ? cert_parse_der(der, len) : NULL;
	CHECK(x != NULL);
	if (!x)
		goto out;
	CHECK_EQ_INT(cert_get_facts(x, der, len, &f), 0);

	/* digests: same as OpenSSL's own certificate digest */
	CHECK(X509_digest(lf, EVP_sha1(), md, &mdlen) == 1);
	CHECK_EQ_INT(mdlen, 20);
	CHECK_EQ_MEM(f.sha1, md, 20);
	cert_hex(md, 20, hex);
	CHECK_EQ_STR(f.sha1_hex, hex);
	CHECK(X509_digest(lf, EVP_sha256(), md, &mdlen) == 1);
	CHECK_EQ_INT(mdlen, 32);
	CHECK_EQ_MEM(f.sha256, md, 32);
	cert_hex(md, 32, hex);
	CHECK_EQ_STR(f.sha256_hex, hex);
	CHECK_EQ_INT(strlen(f.sha1_hex), 40);
	CHECK_EQ_INT(strlen(f.sha256_hex), 64);

	/* RFC 2253 lists the last RDN first */
	CHECK_EQ_STR(f.subject, "CN=alice,OU=Dev,O=Example");
	CHECK_EQ_STR(f.issuer, "CN=Test Intermediate CA,O=Example");
	CHECK_EQ_STR(f.serial, "0a");
	CHECK_EQ_INT(f.not_before, NOW - 3 * DAY);
	CHECK_EQ_INT(f.not_after, NOW + 90 * DAY);

	/* argument checks */
	CHECK_EQ_INT(cert_get_facts(x, NULL, len, &f), -1);
	CHECK_EQ_INT(cert_get_facts(x, der, 0, &f), -1);
	CHECK_EQ_INT(cert_get_facts(NULL, der, len, &f), -1);
	CHECK_EQ_INT(cert_get_facts(x, der, len, NULL), -1);
out:
	X509_free(x);
	free(der);
	X509_free(lf);
	pki_close(&p);
}

/* facts of a self-signed certificate with the given serial */
static int facts_for(const char *serial_hex, int64_t nb, int64_t na,
                     const char *subject, struct cert_facts *f)
{
	struct testpki_cert c;
	EVP_PKEY *k = testpki_make_key();
	unsigned char *der = NULL;
	size_t len = 0;
	X509 *x = NULL, *y = NULL;
	int r = -100;

	memset(&c, 0, sizeof(c));
	c.subject = subject;
	c.key = k;
	c.not_before = nb;
	c.not_after = na;
	c.serial_hex = serial_hex;
	x = k ? testpki_make_cert_ex(&c) : NULL;
	der = x ? testpki_to_der(x, &len) : NULL;
	y = der ? cert_parse_der(der, len) : NULL;
	if (y)
		r = cert_get_facts(y, der, len, f);
	X509_free(y);
	free(der);
	X509_free(x);
	EVP_PKEY_free(k);
	return r;
}

TEST(cert_facts_serials)
{
	struct cert_facts f;
	char s33[67], s34[69];

	CHECK_EQ_INT(facts_for("0", NOW, NOW + DAY, "/CN=s", &f), 0);
	CHECK_EQ_STR(f.serial, "0");
	CHECK_EQ_INT(facts_for("1", NOW, NOW + DAY, "/CN=s", &f), 0);
	CHECK_EQ_STR(f.serial, "01");   /* BN_bn2hex prints whole bytes */
	CHECK_EQ_INT(facts_for("ABC", NOW, NOW + DAY, "/CN=s", &f), 0);
	CHECK_EQ_STR(f.serial, "0abc");
	CHECK_EQ_INT(facts_for("80", NOW, NOW + DAY, "/CN=s", &f), 0);
	CHECK_EQ_STR(f.serial, "80");   /* DER 00 80: the sign byte is not shown */
	CHECK_EQ_INT(facts_for("-1F", NOW, NOW + DAY, "/CN=s", &f), 0);
	CHECK_EQ_STR(f.serial, "-1f");
	CHECK_EQ_INT(facts_for("7FEDCBA9876543210FEDCBA9876543210FEDCBA9", NOW, NOW + DAY, "/CN=s", &f), 0);
	CHECK_EQ_STR(f.serial, "7fedcba9876543210fedcba9876543210fedcba9");

	/* 33 bytes still fit (also negative), 34 are refused */
	memset(s33, 'a', 66);
	s33[66] = '\0';
	CHECK_EQ_INT(facts_for(s33, NOW, NOW + DAY, "/CN=s", &f), 0);
	CHECK_EQ_STR(f.serial, s33);
	s34[0] = '-';
	memcpy(s34 + 1, s33, 67);
	CHECK_EQ_INT(facts_for(s34, NOW, NOW + DAY, "/CN=s", &f), 0);
	CHECK_EQ_STR(f.serial, s34);
	memset(s34, 'b', 68);
	s34[68] = '\0';
	CHECK_EQ_INT(facts_for(s34, NOW, NOW + DAY, "/CN=s", &f), -1);
}

TEST(cert_facts_times)
{
	struct cert_facts f;

	/* 1969 (UTCTime, negative unix time) to 2052 (GeneralizedTime) */
	CHECK_EQ_INT(facts_for(NULL, -365 * DAY, INT64_C(2600000000), "/CN=t", &f), 0);
	CHECK_EQ_INT(f.not_before, -365 * DAY);
	CHECK_EQ_INT(f.not_after, INT64_C(2600000000));
	CHECK_EQ_INT(facts_for(NULL, 0, INT64_C(253402300799), "/CN=t", &f), 0);
	CHECK_EQ_INT(f.not_before, 0);
	CHECK_EQ_INT(f.not_after, INT64_C(253402300799));   /* 9999-12-31T23:59:59Z */
}

TEST(cert_facts_name_escaping)
{
	struct cert_facts f;

	/* RFC 2253 specials come back escaped; '"' as \22, not \" */
	CHECK_EQ_INT(facts_for(NULL, NOW, NOW + DAY,
	                       "/O=Acme, Inc./CN=say \"hi\"+<x>;y", &f), 0);
	CHECK_EQ_STR(f.subject, "CN=say \\22hi\\22\\+\\<x\\>\\;y,O=Acme\\, Inc.");
	CHECK(!has_bad_header_char(f.subject));

	/* control bytes, DEL, backslash, UTF-8 */
	CHECK_EQ_INT(facts_for(NULL, NOW, NOW + DAY,
	                       "/CN=a\x01" "b\nc\x7f" "d\\\\e\xc3\xa9", &f), 0);
	CHECK_EQ_STR(f.subject, "CN=a\\01b\\0Ac\\7Fd\\\\e\\C3\\A9");
	CHECK(!has_bad_header_char(f.subject));

	/* leading '#' and space, trailing space */
	CHECK_EQ_INT(facts_for(NULL, NOW, NOW + DAY, "/CN=#x /OU= y ", &f), 0);
	CHECK_EQ_STR(f.subject, "OU=\\ y\\ ,CN=\\#x\\ ");

	/* empty subject */
	CHECK_EQ_INT(facts_for(NULL, NOW, NOW + DAY, "", &f), 0);
	CHECK_EQ_STR(f.subject, "");
	CHECK_EQ_STR(f.issuer, "");
}

TEST(cert_facts_long_name_truncated)
{
	struct cert_facts f;
	char subj[1200], ou[61];
	size_t n = 0;
	int i;

	/* 12 OUs of 60 characters: about 770 characters in RFC 2253 */
	memset(ou, 'u', 60);
	ou[60] = '\0';
	for (i = 0; i < 12; i++)
		n += (size_t)snprintf(subj + n, sizeof(subj) - n, "/OU=%s", ou);
	snprintf(subj + n, sizeof(subj) - n, "/CN=\xc3\xa9\xc3\xa9\xc3\xa9");
	CHECK_EQ_INT(facts_for(NULL, NOW, NOW + DAY, subj, &f), 0);
	CHECK_EQ_INT(strlen(f.subject), CERT_NAME_MAX - 1);
	CHECK(strncmp(f.subject, "CN=\\C3\\A9\\C3\\A9\\C3\\A9,OU=uuu", 27) == 0);
	CHECK(strcmp(f.subject + CERT_NAME_MAX - 4, "...") == 0);
	CHECK(!has_bad_header_char(f.subject));
}

TEST(cert_name_copy_rules)
{
	char out[CERT_NAME_MAX], in[600];
	size_t n;

	n = cert_name_copy(out, sizeof(out), "CN=a\\\"b\\,c", 10);
	CHECK_EQ_STR(out, "CN=a\\22b\\,c");
	CHECK_EQ_INT(n, 11);
	/* raw bytes that OpenSSL would have escaped, and a lone final '\' */
	cert_name_copy(out, sizeof(out), "a\"b\tc\x80\\", 7);
	CHECK_EQ_STR(out, "a\\22b\\09c\\80\\5C");
	/* a NUL byte inside is escaped, not a terminator */
	cert_name_copy(out, sizeof(out), "a\0b", 3);
	CHECK_EQ_STR(out, "a\\00b");

	/* 511 characters fit exactly; 512 are cut to 508 + "..." */
	memset(in, 'x', sizeof(in));
	n = cert_name_copy(out, sizeof(out), in, CERT_NAME_MAX - 1);
	CHECK_EQ_INT(n, CERT_NAME_MAX - 1);
	CHECK(out[CERT_NAME_MAX - 2] == 'x');
	n = cert_name_copy(out, sizeof(out), in, CERT_NAME_MAX);
	CHECK_EQ_INT(n, CERT_NAME_MAX - 1);
	CHECK_EQ_STR(out + CERT_NAME_MAX - 4, "...");
	CHECK(out[CERT_NAME_MAX - 5] == 'x');

	/* an escape straddling the cut is dropped whole, never split */
	memcpy(in + 507, "\\C3\\A9", 6);
	n = cert_name_copy(out, sizeof(out), in, 513);
	CHECK_EQ_INT(n, 510);
	CHECK_EQ_STR(out + 505, "xx...");
	memcpy(in + 506, "\\\"", 2);
	n = cert_name_copy(out, sizeof(out), in, 513);
	CHECK_EQ_STR(out + 503, "xxx...");
	CHECK_EQ_INT(n, 509);

	/* tiny buffers */
	CHECK_EQ_INT(cert_name_copy(out, 1, "abc", 3), 0);
	CHECK_EQ_STR(out, "");
	CHECK_EQ_INT(cert_name_copy(out, 4, "abc", 3), 3);
	CHECK_EQ_STR(out, "abc");
	CHECK_EQ_INT(cert_name_copy(out, 4, "abcd", 4), 3);
	CHECK_EQ_STR(out, "...");
	CHECK_EQ_INT(cert_name_copy(out, 0, "abc", 3), 0);
}

/* ---- trust store ------------------------------------------------------- */

static int write_file(const char *text, char *path, size_t pathlen)
{
	char tmpl[] = "/tmp/certspoa-ca-XXXXXX";
	int fd = mkstemp(tmpl);
	size_t len = strlen(text);

	if (fd == -1)
		return -1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		unlink(tmpl);
		return -1;
	}
	close(fd);
	snprintf(path, pathlen, "%s", tmpl);
	return 0;
}

TEST(cert_store_load_errors)
{
	char path[64], err[256], want[320];
	struct cert_store *st;

	st = cert_store_load("/nonexistent/certspoa/ca.pem", err, sizeof(err));
	CHECK(st == NULL);
	CHECK_EQ_STR(err, "/nonexistent/certspoa/ca.pem: No such file or directory");

	st = cert_store_load("/tmp", err, sizeof(err));
	CHECK(st == NULL);
	CHECK_EQ_STR(err, "/tmp: Is a directory");

	CHECK(write_file("", path, sizeof(path)) == 0);
	st = cert_store_load(path, err, sizeof(err));
	CHECK(st == NULL);
	snprintf(want, sizeof(want), "%s: no PEM certificate found", path);
	CHECK_EQ_STR(err, want);
	CHECK(cert_store_load(path, NULL, 0) == NULL);
	unlink(path);

	CHECK(write_file("just some text\nno PEM here\n", path, sizeof(path)) == 0);
	st = cert_store_load(path, err, sizeof(err));
	CHECK(st == NULL);
	snprintf(want, sizeof(want), "%s: no PEM certificate found", path);
	CHECK_EQ_STR(err, want);
	unlink(path);

	/* a private key alone is not a CA bundle */
	CHECK(write_file("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
	                 path, sizeof(path)) == 0);
	st = cert_store_load(path, err, sizeof(err));
	CHECK(st == NULL);
	snprintf(want, sizeof(want), "%s: no PEM certificate found", path);
	CHECK_EQ_STR(err, want);
	unlink(path);
	CHECK_EQ_INT(ERR_peek_error(), 0);
}

TEST(cert_store_load_bundles)
{
	struct pki p;
	X509 *certs[4];
	char path[64], err[256], want[320];
	struct cert_store *st;
	FILE *f;

	CHECK(pki_open(&p) == 0);
	CHECK_EQ_INT(cert_store_count(p.store), 1);
	CHECK_EQ_INT(cert_store_count(NULL), 0);
	cert_store_free(NULL);

	/* two anchors; a duplicate counts once */
	certs[0] = p.root;
	certs[1] = p.other;
	certs[2] = p.root;
	CHECK(testpki_write_pem(certs, 3, path, sizeof(path)) == 0);
	st = cert_store_load(path, err, sizeof(err));
	CHECK(st != NULL);
	CHECK_EQ_INT(cert_store_count(st), 2);
	cert_store_free(st);

	/* a damaged second certificate is an error, not a shorter bundle */
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		CHECK(PEM_write_X509(f, p.root) == 1);
		fputs("-----BEGIN CERTIFICATE-----\nMIIB!!!!not*base64\n-----END CERTIFICATE-----\n", f);
		fclose(f);
	}
	st = cert_store_load(path, err, sizeof(err));
	CHECK(st == NULL);
	snprintf(want, sizeof(want), "%s: bad PEM data after certificate #1: bad base64 decode", path);
	CHECK_EQ_STR(err, want);

	/* text around the blocks, as in distribution bundles, is fine */
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("# Test Root CA\nsubject=O=Example, CN=Test Root CA\n", f);
		CHECK(PEM_write_X509(f, p.root) == 1);
		fputs("\n# Other Root CA\n", f);
		CHECK(PEM_write_X509(f, p.other) == 1);
		fclose(f);
	}
	st = cert_store_load(path, err, sizeof(err));
	CHECK(st != NULL);
	CHECK_EQ_INT(cert_store_count(st), 2);
	cert_store_free(st);
	unlink(path);
	pki_close(&p);
}

/* ---- verification ------------------------------------------------------ */

/* Make a leaf with lf_args, verify it with chain at now, check code/depth. */
#define VERIFY_CASE(p, lf, chain, n, now, want_code, want_depth) do { \
	int depth_, code_; \
	CHECK((lf) != NULL); \
	code_ = (lf) ? verify((p), (lf), (chain), (n), (now), &depth_) : -100; \
	CHECK_EQ_INT(code_, (want_code)); \
	if ((lf)) CHECK_EQ_INT(depth_, (want_depth)); \
} while (0)

TEST(cert_verify_ok)
{
	struct pki p;
	X509 *lf[4] = { NULL, NULL, NULL, NULL }, *chain[2];
	int i;

	CHECK(pki_open(&p) == 0);
	chain[0] = p.inter;
	chain[1] = p.root;
	/* clientAuth EKU, intermediate sent in the chain */
	lf[0] = leaf(&p, p.inter, p.int_key, NOW - DAY, NOW + DAY, "clientAuth");
	VERIFY_CASE(&p, lf[0], chain, 1, NOW, X509_V_OK, -1);
	/* the client also sent the root: harmless */
	VERIFY_CASE(&p, lf[0], chain, 2, NOW, X509_V_OK, -1);
	/* no EKU at all passes the TLS-client purpose */
	lf[1] = leaf(&p, p.inter, p.int_key, NOW - DAY, NOW + DAY, NULL);
	VERIFY_CASE(&p, lf[1], chain, 1, NOW, X509_V_OK, -1);
	/* both EKUs */
	lf[2] = leaf(&p, p.inter, p.int_key, NOW - DAY, NOW + DAY, "serverAuth,clientAuth");
	VERIFY_CASE(&p, lf[2], chain, 1, NOW, X509_V_OK, -1);
	/* issued by the root itself: no chain needed */
	lf[3] = leaf(&p, p.root, p.root_key, NOW - DAY, NOW + DAY, "clientAuth");
	VERIFY_CASE(&p, lf[3], NULL, 0, NOW, X509_V_OK, -1);
	for (i = 0; i < 4; i++)
		X509_free(lf[i]);
	pki_close(&p);
}

TEST(cert_verify_validity_period)
{
	struct pki p;
	X509 *expired, *future, *edge, *chain[1];

	CHECK(pki_open(&p) == 0);
	chain[0] = p.inter;
	expired = leaf(&p, p.inter, p.int_key, NOW - 10 * DAY, NOW - DAY, "clientAuth");
	VERIFY_CASE(&p, expired, chain, 1, NOW, X509_V_ERR_CERT_HAS_EXPIRED, 0);
	/* ... and valid when judged at a time it was valid */
	VERIFY_CASE(&p, expired, chain, 1, NOW - 5 * DAY, X509_V_OK, -1);

	future = leaf(&p, p.inter, p.int_key, NOW + DAY, NOW + 10 * DAY, "clientAuth");
	VERIFY_CASE(&p, future, chain, 1, NOW, X509_V_ERR_CERT_NOT_YET_VALID, 0);
	VERIFY_CASE(&p, future, chain, 1, NOW + 2 * DAY, X509_V_OK, -1);

	/* edges: valid from not_before inclusive to not_after exclusive */
	edge = leaf(&p, p.inter, p.int_key, NOW, NOW + 100, "clientAuth");
	VERIFY_CASE(&p, edge, chain, 1, NOW - 1, X509_V_ERR_CERT_NOT_YET_VALID, 0);
	VERIFY_CASE(&p, edge, chain, 1, NOW, X509_V_OK, -1);
	VERIFY_CASE(&p, edge, chain, 1, NOW + 99, X509_V_OK, -1);
	VERIFY_CASE(&p, edge, chain, 1, NOW + 100, X509_V_ERR_CERT_HAS_EXPIRED, 0);

	X509_free(expired);
	X509_free(future);
	X509_free(edge);
	pki_close(&p);
}

TEST(cert_verify_untrusted_issuers)
{
	struct pki p;
	EVP_PKEY *imp_key = NULL, *self_key = NULL;
	X509 *by_other, *imp = NULL, *by_imp = NULL, *self = NULL, *no_inter, *chain[2];

	CHECK(pki_open(&p) == 0);
	/* signed by a CA we do not trust; the client sends nothing else:
	 * OpenSSL finds no issuer for the leaf anywhere */
	by_other = leaf(&p, p.other, p.other_key, NOW - DAY, NOW + DAY, "clientAuth");
	VERIFY_CASE(&p, by_other, NULL, 0, NOW, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0);
	/* the client sends that CA too: chain complete, but its top is a
	 * self-signed certificate that is not in the store */
	chain[0] = p.other;
	VERIFY_CASE(&p, by_other, chain, 1, NOW, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, 1);

	/* an impostor CA with our root's exact name but its own key: its
	 * leaf's authorityKeyIdentifier does not match our root */
	imp_key = testpki_make_key();
	imp = imp_key ? testpki_make_cert("/O=Example/CN=Test Root CA", imp_key, NULL, NULL,
	                                  NOW - DAY, NOW + DAY, 1, NULL) : NULL;
	by_imp = imp ? leaf(&p, imp, imp_key, NOW - DAY, NOW + DAY, "clientAuth") : NULL;
	VERIFY_CASE(&p, by_imp, NULL, 0, NOW, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0);

	/* missing intermediate */
	no_inter = leaf(&p, p.inter, p.int_key, NOW - DAY, NOW + DAY, "clientAuth");
	VERIFY_CASE(&p, no_inter, NULL, 0, NOW, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0);
	/* the wrong intermediate does not help */
	chain[0] = p.other;
	VERIFY_CASE(&p, no_inter, chain, 1, NOW, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0);

	/* a self-signed client certificate */
	self_key = testpki_make_key();
	self = self_key ? testpki_make_cert("/CN=mallory", self_key, NULL, NULL,
	                                    NOW - DAY, NOW + DAY, 0, "clientAuth") : NULL;
	VERIFY_CASE(&p, self, NULL, 0, NOW, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 0);

	X509_free(by_other);
	X509_free(imp);
	X509_free(by_imp);
	X509_free(no_inter);
	X509_free(self);
	EVP_PKEY_free(imp_key);
	EVP_PKEY_free(self_key);
	pki_close(&p);
}

TEST(cert_verify_purpose_and_ca_checks)
{
	struct pki p;
	EVP_PKEY *k2 = NULL;
	X509 *srv, *inter_srv = NULL, *lf2 = NULL, *inter_old = NULL, *lf3 = NULL;
	X509 *notca = NULL, *lf4 = NULL, *chain[1];

	CHECK(pki_open(&p) == 0);
	/* serverAuth-only leaf */
	chain[0] = p.inter;
	srv = leaf(&p, p.inter, p.int_key, NOW - DAY, NOW + DAY, "serverAuth");
	VERIFY_CASE(&p, srv, chain, 1, NOW, X509_V_ERR_INVALID_PURPOSE, 0);

	/* an intermediate restricted to serverAuth: OpenSSL applies the
	 * leaf's purpose to the CAs' EKU too */
	k2 = testpki_make_key();
	inter_srv = k2 ? testpki_make_cert("/O=Example/CN=Server-only CA", k2, p.root, p.root_key,
	                                   NOW - DAY, NOW + 10 * DAY, 1, "serverAuth") : NULL;
	lf2 = inter_srv ? leaf(&p, inter_srv, k2, NOW - DAY, NOW + DAY, "clientAuth") : NULL;
	chain[0] = inter_srv;
	VERIFY_CASE(&p, lf2, chain, 1, NOW, X509_V_ERR_INVALID_PURPOSE, 1);

	/* an expired intermediate */
	inter_old = testpki_make_cert("/O=Example/CN=Old CA", p.int_key, p.root, p.root_key,
	                              NOW - 10 * DAY, NOW - DAY, 1, NULL);
	lf3 = inter_old ? leaf(&p, inter_old, p.int_key, NOW - DAY, NOW + DAY, "clientAuth") : NULL;
	chain[0] = inter_old;
	VERIFY_CASE(&p, lf3, chain, 1, NOW, X509_V_ERR_CERT_HAS_EXPIRED, 1);

	/* a leaf (CA:FALSE) used to sign another certificate */
	notca = testpki_make_cert("/O=Example/CN=not a CA", p.int_key, p.root, p.root_key,
	                          NOW - DAY, NOW + 10 * DAY, 0, "clientAuth");
	lf4 = notca ? leaf(&p, notca, p.int_key, NOW - DAY, NOW + DAY, "clientAuth") : NULL;
	chain[0] = notca;
	VERIFY_CASE(&p, lf4, chain, 1, NOW, X509_V_ERR_INVALID_CA, 1);

	X509_free(srv);
	X509_free(inter_srv);
	X509_free(lf2);
	X509_free(inter_old);
	X509_free(lf3);
	X509_free(notca);
	X509_free(lf4);
	EVP_PKEY_free(k2);
	pki_close(&p);
}

TEST(cert_verify_bad_chain_bytes)
{
	struct pki p;
	X509 *lf = NULL, *x = NULL;
	unsigned char *der = NULL, *cd = NULL, *many = NULL, junk[64];
	size_t len = 0, clen = 0, i;
	uint64_t seed = 99;
	int depth;

	CHECK(pki_open(&p) == 0);
	lf = leaf(&p, p.inter, p.int_key, NOW - DAY, NOW + DAY, "clientAuth");
	der = lf ? testpki_to_der(lf, &len) : NULL;
	x = der ? cert_parse_der(der, len) : NULL;
	cd = testpki_to_der(p.inter, &clen);
	many = cd ? malloc(clen * (CERT_CHAIN_MAX + 2)) : NULL;
	CHECK(x && cd && many);
	if (!x || !cd || !many)
		goto out;

	/* the good chain, for reference */
	CHECK_EQ_INT(cert_verify(p.store, x, cd, clen, NOW, &depth), X509_V_OK);
	CHECK_EQ_INT(depth, -1);
	/* random bytes */
	fill_random(&seed, junk, sizeof(junk));
	CHECK_EQ_INT(cert_verify(p.store, x, junk, sizeof(junk), NOW, &depth), CERT_VERIFY_BAD_CHAIN);
	CHECK_EQ_INT(depth, -1);
	/* a good certificate then one stray byte */
	memcpy(many, cd, clen);
	many[clen] = 0x30;
	CHECK_EQ_INT(cert_verify(p.store, x, many, clen + 1, NOW, &depth), CERT_VERIFY_BAD_CHAIN);
	/* truncated */
	CHECK_EQ_INT(cert_verify(p.store, x, cd, clen - 1, NOW, &depth), CERT_VERIFY_BAD_CHAIN);
	/* up to CERT_CHAIN_MAX certificates are accepted, one more is not */
	for (i = 0; i < CERT_CHAIN_MAX + 1; i++)
		memcpy(many + i * clen, cd, clen);
	CHECK_EQ_INT(cert_verify(p.store, x, many, clen * CERT_CHAIN_MAX, NOW, &depth), X509_V_OK);
	CHECK_EQ_INT(cert_verify(p.store, x, many, clen * (CERT_CHAIN_MAX + 1), NOW, &depth),
	             CERT_VERIFY_BAD_CHAIN);
	/* caller errors */
	CHECK_EQ_INT(cert_verify(p.store, x, NULL, 10, NOW, &depth), CERT_VERIFY_INTERNAL);
	CHECK_EQ_INT(depth, -1);
	CHECK_EQ_INT(cert_verify(NULL, x, NULL, 0, NOW, &depth), CERT_VERIFY_INTERNAL);
	CHECK_EQ_INT(cert_verify(p.store, NULL, NULL, 0, NOW, &depth), CERT_VERIFY_INTERNAL);
	/* depth may be NULL; an empty non-NULL chain is no chain, and the
	 * intermediate learned from the chains that verified above completes
	 * it (as for a resumed TLS session, which has no ssl_c_chain_der) */
	CHECK_EQ_INT(cert_verify(p.store, x, cd, 0, NOW, NULL), X509_V_OK);
	CHECK_EQ_INT(ERR_peek_error(), 0);
out:
	free(many);
	free(cd);
	X509_free(x);
	free(der);
	X509_free(lf);
	pki_close(&p);
}

TEST(cert_verify_str_texts)
{
	CHECK_EQ_STR(cert_verify_str(X509_V_OK), "ok");
	CHECK_EQ_STR(cert_verify_str(X509_V_ERR_CERT_HAS_EXPIRED), "certificate has expired");
	CHECK_EQ_STR(cert_verify_str(X509_V_ERR_INVALID_PURPOSE), "unsuitable certificate purpose");
	CHECK_EQ_STR(cert_verify_str(CERT_VERIFY_BAD_CHAIN),
	             "client chain is not a list of DER certificates");
	CHECK_EQ_STR(cert_verify_str(CERT_VERIFY_INTERNAL),
	             "internal error while verifying the certificate");
	CHECK_EQ_STR(cert_verify_str(-3), "unknown certificate verification result");
	CHECK_EQ_STR(cert_verify_str(INT32_MIN), "unknown certificate verification result");
	CHECK(cert_verify_str(100000) != NULL);
}

/* Several threads verify against one store at once, each with its own
 * parsed leaf, the way worker threads will. */
struct verify_job {
	const struct cert_store *store;
	const unsigned char *good, *old, *chain;
	size_t good_len, old_len, chain_len;
	int wrong;
};

static void *verify_thread(void *arg)
{
	struct verify_job *j = arg;
	int i, depth;

	for (i = 0; i < 200; i++) {
		int old = i & 1;
		X509 *x = cert_parse_der(old ? j->old : j->good, old ? j->old_len : j->good_len);
		int code = x ? cert_verify(j->store, x, j->chain, j->chain_len, NOW, &depth) : -100;

		if (code != (old ? X509_V_ERR_CERT_HAS_EXPIRED : X509_V_OK))
			j->wrong++;
		X509_free(x);
	}
	return NULL;
}

TEST(cert_verify_shared_store_threads)
{
	enum { NT = 4 };
	struct pki p;
	struct verify_job job[NT];
	pthread_t t[NT];
	X509 *good, *old;
	unsigned char *gd = NULL, *od = NULL, *cd = NULL;
	size_t gl = 0, ol = 0, cl = 0;
	int i, started = 0, wrong = 0;

	CHECK(pki_open(&p) == 0);
	good = leaf(&p, p.inter, p.int_key, NOW - DAY, NOW + DAY, "clientAuth");
	old = leaf(&p, p.inter, p.int_key, NOW - 9 * DAY, NOW - DAY, "clientAuth");
	gd = good ? testpki_to_der(good, &gl) : NULL;
	od = old ? testpki_to_der(old, &ol) : NULL;
	cd = testpki_to_der(p.inter, &cl);
	CHECK(gd && od && cd);
	for (i = 0; gd && od && cd && i < NT; i++) {
		job[i] = (struct verify_job){ p.store, gd, od, cd, gl, ol, cl, 0 };
		if (pthread_create(&t[i], NULL, verify_thread, &job[i]) != 0)
			break;
		started++;
	}
	CHECK_EQ_INT(started, gd && od && cd ? NT : 0);
	for (i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		wrong += job[i].wrong;
	}
	CHECK_EQ_INT(wrong, 0);
	free(gd);
	free(od);
	free(cd);
	X509_free(good);
	X509_free(old);
	pki_close(&p);
}
