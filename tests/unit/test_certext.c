/* Certificate extension facts (cert_get_ext) and certificate files
 * (cert_read_file). Certificates come from testpki, made as the test runs:
 * RSA 2048 and 3072, EC P-256 and P-384, Ed25519, a SHA-1 signature, SANs of
 * every type we read, EKUs, policies, a CA. Every field is compared with a
 * value known from how the certificate was made, or computed another way. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "dn.h"
#include "testhelp.h"
#include "testpki.h"

#define NOW  INT64_C(2000000000)
#define DAY  INT64_C(86400)

/* SPKI pin computed from the key, not the certificate: what
 * openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64
 * gives for its public half. */
static void key_pin(EVP_PKEY *k, unsigned char sha[32], char pin[45])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int n = i2d_PUBKEY(k, &der);

	memset(sha, 0, 32);
	pin[0] = '\0';
	if (n > 0 && EVP_Digest(der, (size_t)n, sha, &mdlen, EVP_sha256(), NULL))
		EVP_EncodeBlock((unsigned char *)pin, sha, 32);
	OPENSSL_free(der);
}

/* Every array and string of e lies in e's own allocation, after the
 * struct, the strings one after the other: count them and their bytes. */
static void check_one_block(const struct cert_ext *e, int line)
{
	const char *lo = (const char *)(e + 1), *hi = lo, *first = NULL;
	const char **strs;
	size_t total = 0, usable = malloc_usable_size((void *)(uintptr_t)e), len;
	int n = 0, i, shared = 0;
	const void *arrays[] = { e->sans, e->cns, e->cns_canon, e->policies };

	for (i = 0; i < 4; i++)
		if ((const char *)arrays[i] < lo || (const char *)arrays[i] >= (const char *)e + usable)
			unit_fail(__FILE__, line, "array %d outside the cert_ext block", i);
	strs = calloc((size_t)(e->nsans + e->npolicies + 2 * e->ncns + 8), sizeof(*strs));
	if (!strs)
		return;
	for (i = 0; i < e->nsans; i++)
		strs[n++] = e->sans[i].value;
	for (i = 0; i < e->npolicies; i++)
		strs[n++] = e->policies[i];
	for (i = 0; i < e->ncns; i++) {
		strs[n++] = e->cns[i];
		strs[n++] = e->cns_canon[i];
	}
	strs[n++] = e->cn;
	strs[n++] = e->subject_canon;
	strs[n++] = e->issuer_canon;
	strs[n++] = e->key_name;
	strs[n++] = e->curve;
	strs[n++] = e->sig_alg;
	if (e->spiffe_id) {
		for (i = 0; i < e->nsans; i++)
			shared |= e->spiffe_id == e->sans[i].value;
		if (!shared)
			strs[n++] = e->spiffe_id;
	}
	for (i = 0; i < n; i++) {
		if (!strs[i] || strs[i] < lo || strs[i] >= (const char *)e + usable) {
			unit_fail(__FILE__, line, "string %d outside the cert_ext block", i);
			free(strs);
			return;
		}
		len = strnlen(strs[i], (size_t)((const char *)e + usable - strs[i]));
		total += len + 1;
		if (strs[i] + len + 1 > hi)
			hi = strs[i] + len + 1;
		if (!first || strs[i] < first)
			first = strs[i];
	}
	free(strs);
	if (first && (size_t)(hi - first) != total)
		unit_fail(__FILE__, line, "strings span %zu bytes, hold %zu", (size_t)(hi - first), total);
	if (hi > (const char *)e + usable)
		unit_fail(__FILE__, line, "strings end past the allocation");
}

/* subject_canon agrees with the RFC 2253 subject of cert_facts. */
static void check_facts_agree(X509 *x, const struct cert_ext *e, int line)
{
	unsigned char *der = NULL;
	struct cert_facts f;
	char canon[1024];
	int n = i2d_X509(x, &der);

	if (n <= 0 || cert_get_facts(x, der, (size_t)n, &f) < 0) {
		unit_fail(__FILE__, line, "cert_get_facts failed");
	} else {
		if (dn_canon_text(f.subject, strlen(f.subject), canon, sizeof(canon)) < 0 ||
		    strcmp(canon, e->subject_canon) != 0)
			unit_fail(__FILE__, line, "facts subject \"%s\" -> \"%s\", ext \"%s\"",
			          f.subject, canon, e->subject_canon);
		if (dn_canon_text(f.issuer, strlen(f.issuer), canon, sizeof(canon)) < 0 ||
		    strcmp(canon, e->issuer_canon) != 0)
			unit_fail(__FILE__, line, "facts issuer \"%s\" -> \"%s\", ext \"%s\"",
			          f.issuer, canon, e->issuer_canon);
	}
	OPENSSL_free(der);
}

/* cert_get_ext() and then X509_free(): nothing in e may point into x. */
static struct cert_ext *ext_of(X509 *x, int line)
{
	struct cert_ext *e;

	if (!x) {
		unit_fail(__FILE__, line, "no certificate");
		return NULL;
	}
	e = cert_get_ext(x);
	if (!e) {
		unit_fail(__FILE__, line, "cert_get_ext failed");
	} else {
		check_one_block(e, line);
		check_facts_agree(x, e, line);
	}
	X509_free(x);
	return e;
}

static void check_key(const struct cert_ext *e, EVP_PKEY *k)
{
	unsigned char sha[32];
	char pin[45];

	key_pin(k, sha, pin);
	CHECK_EQ_MEM(e->spki_sha256, sha, 32);
	CHECK_EQ_STR(e->spki_pin, pin);
	CHECK_EQ_INT(strlen(e->spki_pin), 44);
}

struct cast {
	EVP_PKEY *ca_key, *rsa2048, *rsa3072, *p256, *ed_ca, *ed;
	X509 *ca, *edca;
};

static int cast_open(struct cast *c)
{
	memset(c, 0, sizeof(*c));
	c->ca_key = testpki_make_ec_key("P-384");
	c->rsa2048 = testpki_make_rsa_key(2048);
	c->p256 = testpki_make_ec_key("P-256");
	c->ed_ca = testpki_make_ed25519_key();
	c->ed = testpki_make_ed25519_key();
	if (!c->ca_key || !c->rsa2048 || !c->p256 || !c->ed_ca || !c->ed)
		return -1;
	c->ca = testpki_make_cert("/O=Example/CN=Test CA P-384", c->ca_key, NULL, NULL,
	                          NOW - 30 * DAY, NOW + 3650 * DAY, 1, NULL);
	c->edca = testpki_make_cert("/CN=Ed CA", c->ed_ca, NULL, NULL,
	                            NOW - 30 * DAY, NOW + 3650 * DAY, 1, NULL);
	return c->ca && c->edca ? 0 : -1;
}

static void cast_close(struct cast *c)
{
	EVP_PKEY_free(c->ca_key);
	EVP_PKEY_free(c->rsa2048);
	EVP_PKEY_free(c->rsa3072);
	EVP_PKEY_free(c->p256);
	EVP_PKEY_free(c->ed_ca);
	EVP_PKEY_free(c->ed);
	X509_free(c->ca);
	X509_free(c->edca);
}

static void leaf_init(struct testpki_cert *t, const char *subject, EVP_PKEY *key,
                      X509 *issuer, EVP_PKEY *issuer_key)
{
	memset(t, 0, sizeof(*t));
	t->subject = subject;
	t->key = key;
	t->issuer = issuer;
	t->issuer_key = issuer_key;
	t->not_before = NOW - DAY;
	t->not_after = NOW + 90 * DAY;
}

/* RSA 2048 leaf under an EC P-384 CA with SANs of every kind. */
TEST(certext_rsa2048_all_sans)
{
	static const unsigned char v4[4] = { 192, 0, 2, 1 };
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct testpki_cert t;
	struct cert_ext *e;
	struct cast c;

	CHECK(cast_open(&c) == 0);
	leaf_init(&t, "/C=US/O=Example Corp/OU=Eng/CN=Alice Smith/emailAddress=alice@example.com",
	          c.rsa2048, c.ca, c.ca_key);
	t.san = "DNS:Alice.Example.COM,DNS:*.Wild.Example,"
	        "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@corp,"
	        "URI:spiffe://example.org/ns/prod/sa/alice,URI:https://Example.org/X,"
	        "email:Alice@Example.com,RID:1.2.3.4,IP:192.0.2.1,IP:2001:db8::1";
	t.eku = "clientAuth,serverAuth";
	t.policies = "1.2.3.4,2.23.140.1.2.1";
	e = ext_of(testpki_make_cert_ex(&t), __LINE__);
	if (e) {
		CHECK_EQ_INT(e->nsans, 7);
		CHECK_EQ_INT(e->sans[0].type, CERT_SAN_DNS);
		CHECK_EQ_STR(e->sans[0].value, "alice.example.com");
		CHECK_EQ_INT(e->sans[1].type, CERT_SAN_DNS);
		CHECK_EQ_STR(e->sans[1].value, "*.wild.example");
		CHECK_EQ_INT(e->sans[2].type, CERT_SAN_URI);
		CHECK_EQ_STR(e->sans[2].value, "spiffe://example.org/ns/prod/sa/alice");
		CHECK_EQ_INT(e->sans[3].type, CERT_SAN_URI);
		CHECK_EQ_STR(e->sans[3].value, "https://Example.org/X");
		CHECK_EQ_INT(e->sans[4].type, CERT_SAN_EMAIL);
		CHECK_EQ_STR(e->sans[4].value, "Alice@Example.com");
		CHECK_EQ_INT(e->sans[5].type, CERT_SAN_IP);
		CHECK_EQ_STR(e->sans[5].value, "192.0.2.1");
		CHECK_EQ_INT(e->sans[5].ip_len, 4);
		CHECK_EQ_MEM(e->sans[5].ip, v4, 4);
		CHECK_EQ_INT(e->sans[6].type, CERT_SAN_IP);
		CHECK_EQ_STR(e->sans[6].value, "2001:db8::1");
		CHECK_EQ_INT(e->sans[6].ip_len, 16);
		CHECK_EQ_MEM(e->sans[6].ip, v6, 16);
		CHECK(e->spiffe_id == e->sans[2].value);
		CHECK_EQ_STR(e->cn, "Alice Smith");
		CHECK_EQ_STR(e->subject_canon,
		             "C=us/O=example corp/OU=eng/CN=alice smith/EMAILADDRESS=alice@example.com");
		CHECK_EQ_STR(e->issuer_canon, "O=example/CN=test ca p-384");
		check_key(e, c.rsa2048);
		CHECK_EQ_INT(e->key_type, EVP_PKEY_RSA);
		CHECK_EQ_INT(e->key_bits, 2048);
		CHECK_EQ_STR(e->key_name, "RSA");
		CHECK_EQ_STR(e->curve, "");
		CHECK_EQ_STR(e->sig_alg, "ecdsa-with-SHA256");
		CHECK_EQ_INT(e->sig_md_nid, NID_sha256);
		CHECK_EQ_INT(e->eku, CERT_EKU_PRESENT | CERT_EKU_CLIENT_AUTH | CERT_EKU_SERVER_AUTH);
		CHECK_EQ_INT(e->npolicies, 2);
		CHECK_EQ_STR(e->policies[0], "1.2.3.4");
		CHECK_EQ_STR(e->policies[1], "2.23.140.1.2.1");
		CHECK_EQ_INT(e->is_ca, 0);
	}
	cert_ext_free(e);
	cast_close(&c);
}

/* RSA 3072, self-signed with SHA-1, nothing optional: no CN, no SAN, no
 * EKU, no policies. */
TEST(certext_rsa3072_sha1_bare)
{
	struct testpki_cert t;
	struct cert_ext *e;
	EVP_PKEY *k = testpki_make_rsa_key(3072);

	CHECK(k != NULL);
	leaf_init(&t, "/O=Legacy/OU=Old", k, NULL, NULL);
	t.md = "sha1";
	e = ext_of(testpki_make_cert_ex(&t), __LINE__);
	if (e) {
		CHECK_EQ_INT(e->nsans, 0);
		CHECK(e->spiffe_id == NULL);
		CHECK_EQ_STR(e->cn, "");
		CHECK_EQ_STR(e->subject_canon, "O=legacy/OU=old");
		CHECK_EQ_STR(e->issuer_canon, "O=legacy/OU=old");
		check_key(e, k);
		CHECK_EQ_INT(e->key_type, EVP_PKEY_RSA);
		CHECK_EQ_INT(e->key_bits, 3072);
		CHECK_EQ_STR(e->key_name, "RSA");
		CHECK_EQ_STR(e->curve, "");
		CHECK_EQ_STR(e->sig_alg, "sha1WithRSAEncryption");
		CHECK_EQ_INT(e->sig_md_nid, NID_sha1);
		CHECK_EQ_INT(e->eku, 0);
		CHECK_EQ_INT(e->npolicies, 0);
		CHECK_EQ_INT(e->is_ca, 0);
	}
	cert_ext_free(e);
	EVP_PKEY_free(k);
}

/* EC P-256 leaf: curve name; an EKU we have no bit for; the SPIFFE ID is
 * the first URI of scheme spiffe in any case (an upper-case one is a
 * SPIFFE URI, and invalid: the rules deny it), and all three are counted. */
TEST(certext_p256_other_eku)
{
	struct testpki_cert t;
	struct cert_ext *e;
	struct cast c;

	CHECK(cast_open(&c) == 0);
	leaf_init(&t, "/CN=svc/CN=second", c.p256, c.ca, c.ca_key);
	t.md = "sha512";
	t.eku = "codeSigning";
	t.san = "URI:SPIFFE://caps.example/x,URI:spiffe://example.org/two,"
	        "URI:spiffe://example.org/three,DNS:svc.internal";
	e = ext_of(testpki_make_cert_ex(&t), __LINE__);
	if (e) {
		CHECK_EQ_INT(e->nsans, 4);
		CHECK(e->spiffe_id == e->sans[0].value);
		CHECK_EQ_STR(e->spiffe_id, "SPIFFE://caps.example/x");
		CHECK_EQ_INT(e->nspiffe, 3);
		CHECK_EQ_STR(e->cn, "svc");
		CHECK_EQ_INT(e->ncns, 2);
		CHECK_EQ_STR(e->cns[0], "svc");
		CHECK_EQ_STR(e->cns[1], "second");
		CHECK_EQ_STR(e->subject_canon, "CN=svc/CN=second");
		check_key(e, c.p256);
		CHECK_EQ_INT(e->key_type, EVP_PKEY_EC);
		CHECK_EQ_INT(e->key_bits, 256);
		CHECK_EQ_STR(e->key_name, "EC");
		CHECK_EQ_STR(e->curve, "prime256v1");
		CHECK_EQ_STR(e->sig_alg, "ecdsa-with-SHA512");
		CHECK_EQ_INT(e->sig_md_nid, NID_sha512);
		CHECK_EQ_INT(e->eku, CERT_EKU_PRESENT | CERT_EKU_OTHER);
		CHECK_EQ_INT(e->is_ca, 0);
	}
	cert_ext_free(e);
	cast_close(&c);
}

/* The EC P-384 CA itself, self-signed with SHA-384. */
TEST(certext_p384_ca)
{
	struct testpki_cert t;
	struct cert_ext *e;
	EVP_PKEY *k = testpki_make_ec_key("P-384");

	CHECK(k != NULL);
	leaf_init(&t, "/DC=org/DC=Example/O=Example/CN=Root CA", k, NULL, NULL);
	t.is_ca = 1;
	t.md = "sha384";
	t.policies = "2.5.29.32.0";
	e = ext_of(testpki_make_cert_ex(&t), __LINE__);
	if (e) {
		CHECK_EQ_INT(e->is_ca, 1);
		CHECK_EQ_STR(e->subject_canon, "DC=org/DC=example/O=example/CN=root ca");
		CHECK_EQ_STR(e->issuer_canon, e->subject_canon);
		CHECK_EQ_STR(e->cn, "Root CA");
		check_key(e, k);
		CHECK_EQ_INT(e->key_type, EVP_PKEY_EC);
		CHECK_EQ_INT(e->key_bits, 384);
		CHECK_EQ_STR(e->curve, "secp384r1");
		CHECK_EQ_STR(e->sig_alg, "ecdsa-with-SHA384");
		CHECK_EQ_INT(e->sig_md_nid, NID_sha384);
		CHECK_EQ_INT(e->npolicies, 1);
		CHECK_EQ_STR(e->policies[0], "2.5.29.32.0");
		CHECK_EQ_INT(e->eku, 0);
	}
	cert_ext_free(e);
	EVP_PKEY_free(k);
}

/* Ed25519 under an Ed25519 CA: no digest, no curve. */
TEST(certext_ed25519)
{
	struct testpki_cert t;
	struct cert_ext *e;
	struct cast c;

	CHECK(cast_open(&c) == 0);
	leaf_init(&t, "/O=Ed/CN=ed.example", c.ed, c.edca, c.ed_ca);
	t.eku = "anyExtendedKeyUsage,clientAuth";
	t.san = "DNS:ED.example,IP:10.0.0.1";
	e = ext_of(testpki_make_cert_ex(&t), __LINE__);
	if (e) {
		CHECK_EQ_INT(e->nsans, 2);
		CHECK_EQ_STR(e->sans[0].value, "ed.example");
		CHECK_EQ_STR(e->sans[1].value, "10.0.0.1");
		CHECK(e->spiffe_id == NULL);
		check_key(e, c.ed);
		CHECK_EQ_INT(e->key_type, EVP_PKEY_ED25519);
		CHECK_EQ_INT(e->key_bits, EVP_PKEY_get_bits(c.ed));
		CHECK_EQ_STR(e->key_name, "ED25519");
		CHECK_EQ_STR(e->curve, "");
		CHECK_EQ_STR(e->sig_alg, "ED25519");
		CHECK_EQ_INT(e->sig_md_nid, NID_undef);
		CHECK_EQ_INT(e->eku, CERT_EKU_PRESENT | CERT_EKU_ANY | CERT_EKU_CLIENT_AUTH);
		CHECK_EQ_STR(e->issuer_canon, "CN=ed ca");
	}
	cert_ext_free(e);
	cast_close(&c);
}

/* Many SANs and policies: every one is kept (there used to be a cut at 64
 * SANs and 16 policies, past which deny lists did not look). */
TEST(certext_no_truncation)
{
	struct testpki_cert t;
	struct cert_ext *e;
	char san[8192], pol[2048];
	size_t o = 0, p = 0;
	struct cast c;
	int i;

	CHECK(cast_open(&c) == 0);
	for (i = 0; i < 70; i++)
		o += (size_t)snprintf(san + o, sizeof(san) - o, "DNS:h%d.example,", i);
	snprintf(san + o, sizeof(san) - o, "URI:spiffe://late.example/x");
	for (i = 0; i < 20; i++)
		p += (size_t)snprintf(pol + p, sizeof(pol) - p, "%s1.2.3.%d", i ? "," : "", i);
	leaf_init(&t, "/CN=many", c.p256, c.ca, c.ca_key);
	t.san = san;
	t.policies = pol;
	e = ext_of(testpki_make_cert_ex(&t), __LINE__);
	if (e) {
		CHECK_EQ_INT(e->nsans, 71);
		CHECK_EQ_STR(e->sans[63].value, "h63.example");
		CHECK_EQ_STR(e->sans[69].value, "h69.example");
		CHECK_EQ_STR(e->sans[70].value, "spiffe://late.example/x");
		CHECK(e->spiffe_id == e->sans[70].value);
		CHECK_EQ_INT(e->nspiffe, 1);
		CHECK_EQ_INT(e->npolicies, 20);
		CHECK_EQ_STR(e->policies[15], "1.2.3.15");
		CHECK_EQ_STR(e->policies[19], "1.2.3.19");
	}
	cert_ext_free(e);
	cast_close(&c);
}

/* A subject with a multi-valued RDN and a BMPString CN. */
TEST(certext_subject_types)
{
	struct testpki_cert t;
	struct cert_ext *e;
	X509_NAME *nm = X509_NAME_new();
	struct cast c;

	CHECK(cast_open(&c) == 0);
	CHECK(nm != NULL);
	X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8, (const unsigned char *)"Org", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "OU", MBSTRING_UTF8, (const unsigned char *)"b", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "OU", MBSTRING_UTF8, (const unsigned char *)"A", -1, -1, -1);
	X509_NAME_add_entry_by_txt(nm, "CN", V_ASN1_BMPSTRING,
	                           (const unsigned char *)"\x00J\x00\xfc\x4e\x2d", 6, -1, 0);
	leaf_init(&t, NULL, c.p256, c.ca, c.ca_key);
	t.subject_name = nm;
	e = ext_of(testpki_make_cert_ex(&t), __LINE__);
	if (e) {
		CHECK_EQ_STR(e->cn, "J\xc3\xbc\xe4\xb8\xad");
		CHECK_EQ_STR(e->subject_canon, "O=org/OU=a+OU=b/CN=j\xc3\xbc\xe4\xb8\xad");
	}
	cert_ext_free(e);
	X509_NAME_free(nm);
	cast_close(&c);
}

/* x plus one more extension (appended even if one of its kind is there),
 * signed again. */
static X509 *with_ext(X509 *x, EVP_PKEY *signer, int nid, void *value)
{
	if (!x)
		return NULL;
	if (X509_add1_ext_i2d(x, nid, value, 0, X509V3_ADD_APPEND) != 1 ||
	    X509_sign(x, signer, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static GENERAL_NAMES *one_name(int type, const char *bytes, int len)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *gen = GENERAL_NAME_new();
	ASN1_STRING *s = type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();

	if (!gens || !gen || !s || !ASN1_STRING_set(s, bytes, len)) {
		GENERAL_NAMES_free(gens);
		GENERAL_NAME_free(gen);
		ASN1_STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(gen, type, s);
	sk_GENERAL_NAME_push(gens, gen);
	return gens;
}

/* Fields we cannot read faithfully make the whole thing unreadable (the
 * caller denies) rather than a quietly different value. */
TEST(certext_unreadable)
{
	struct testpki_cert t;
	GENERAL_NAMES *gens;
	X509_NAME *nm;
	X509 *x;
	struct cast c;

	CHECK(cast_open(&c) == 0);
	leaf_init(&t, "/CN=x", c.p256, c.ca, c.ca_key);

	/* a NUL inside a DNS name */
	gens = one_name(GEN_DNS, "good.example\0.evil.example", 26);
	x = with_ext(testpki_make_cert_ex(&t), c.ca_key, NID_subject_alt_name, gens);
	CHECK(x != NULL);
	CHECK(cert_get_ext(x) == NULL);
	X509_free(x);
	GENERAL_NAMES_free(gens);

	/* an IP SAN of 8 bytes (an address and mask) */
	gens = one_name(GEN_IPADD, "\xc0\x00\x02\x01\xff\xff\xff\x00", 8);
	x = with_ext(testpki_make_cert_ex(&t), c.ca_key, NID_subject_alt_name, gens);
	CHECK(x != NULL);
	CHECK(cert_get_ext(x) == NULL);
	X509_free(x);
	GENERAL_NAMES_free(gens);

	/* two SAN extensions */
	t.san = "DNS:a.example";
	gens = one_name(GEN_DNS, "b.example", 9);
	x = with_ext(testpki_make_cert_ex(&t), c.ca_key, NID_subject_alt_name, gens);
	CHECK(x != NULL);
	CHECK(cert_get_ext(x) == NULL);
	X509_free(x);
	GENERAL_NAMES_free(gens);
	t.san = NULL;

	/* a NUL inside the CN */
	nm = X509_NAME_new();
	X509_NAME_add_entry_by_txt(nm, "CN", V_ASN1_UTF8STRING,
	                           (const unsigned char *)"a\0b", 3, -1, 0);
	t.subject_name = nm;
	x = testpki_make_cert_ex(&t);
	CHECK(x != NULL);
	CHECK(cert_get_ext(x) == NULL);
	X509_free(x);
	X509_NAME_free(nm);

	CHECK(cert_get_ext(NULL) == NULL);
	cert_ext_free(NULL);
	CHECK(ERR_peek_error() == 0);
	cast_close(&c);
}

/* ---- cert_read_file -------------------------------------------------- */

static int write_tmp(const void *data, size_t len, char *path, size_t pathlen)
{
	char tmpl[] = "/tmp/certspoa-certext-XXXXXX";
	int fd = mkstemp(tmpl);

	if (fd == -1)
		return -1;
	if (len && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		unlink(tmpl);
		return -1;
	}
	close(fd);
	snprintf(path, pathlen, "%s", tmpl);
	return 0;
}

static void free_certs(X509 **v, int n)
{
	while (n > 0)
		X509_free(v[--n]);
}

TEST(read_file_pem_der)
{
	struct testpki_cert t;
	X509 *leaf, *out[4];
	EVP_PKEY *k;
	unsigned char *der = NULL;
	char path[64], err[256], *pem = NULL;
	size_t dlen = 0;
	long plen;
	BIO *b;
	struct cast c;
	int n;

	CHECK(cast_open(&c) == 0);
	k = c.p256;
	leaf_init(&t, "/CN=leaf", k, c.ca, c.ca_key);
	leaf = testpki_make_cert_ex(&t);
	CHECK(leaf != NULL);

	/* PEM: leaf, a private key (skipped), CA, leaf again */
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, leaf);
	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	PEM_write_bio_X509(b, c.ca);
	BIO_puts(b, "some text between blocks\n");
	PEM_write_bio_X509(b, leaf);
	plen = BIO_get_mem_data(b, &pem);
	CHECK(write_tmp(pem, (size_t)plen, path, sizeof(path)) == 0);
	n = cert_read_file(path, out, 4, err, sizeof(err));
	CHECK_EQ_INT(n, 3);
	if (n == 3) {
		CHECK(X509_cmp(out[0], leaf) == 0);
		CHECK(X509_cmp(out[1], c.ca) == 0);
		CHECK(X509_cmp(out[2], leaf) == 0);
	}
	free_certs(out, n);
	n = cert_read_file(path, out, 2, err, sizeof(err));   /* up to max */
	CHECK_EQ_INT(n, 2);
	free_certs(out, n);
	unlink(path);

	/* PEM with a broken second block */
	BIO_reset(b);
	PEM_write_bio_X509(b, leaf);
	BIO_puts(b, "-----BEGIN CERTIFICATE-----\nMIIB!!!notbase64\n-----END CERTIFICATE-----\n");
	plen = BIO_get_mem_data(b, &pem);
	CHECK(write_tmp(pem, (size_t)plen, path, sizeof(path)) == 0);
	CHECK_EQ_INT(cert_read_file(path, out, 4, err, sizeof(err)), -1);
	CHECK(strstr(err, "bad PEM data after certificate #1") != NULL);
	unlink(path);

	/* PEM without a certificate */
	BIO_reset(b);
	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	plen = BIO_get_mem_data(b, &pem);
	CHECK(write_tmp(pem, (size_t)plen, path, sizeof(path)) == 0);
	CHECK_EQ_INT(cert_read_file(path, out, 4, err, sizeof(err)), -1);
	CHECK(strstr(err, "without a CERTIFICATE") != NULL);
	unlink(path);
	BIO_free(b);

	/* DER: exactly one certificate */
	der = testpki_to_der(leaf, &dlen);
	CHECK(der != NULL);
	CHECK(write_tmp(der, dlen, path, sizeof(path)) == 0);
	n = cert_read_file(path, out, 4, err, sizeof(err));
	CHECK_EQ_INT(n, 1);
	if (n == 1)
		CHECK(X509_cmp(out[0], leaf) == 0);
	free_certs(out, n);
	unlink(path);
	/* one byte more, one byte less */
	der = realloc(der, dlen + 1);
	der[dlen] = 0;
	CHECK(write_tmp(der, dlen + 1, path, sizeof(path)) == 0);
	CHECK_EQ_INT(cert_read_file(path, out, 4, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a certificate") != NULL);
	unlink(path);
	CHECK(write_tmp(der, dlen - 1, path, sizeof(path)) == 0);
	CHECK_EQ_INT(cert_read_file(path, out, 4, err, sizeof(err)), -1);
	unlink(path);
	free(der);

	/* garbage, empty, missing, a directory */
	CHECK(write_tmp("\x30\x03garbage", 9, path, sizeof(path)) == 0);
	CHECK_EQ_INT(cert_read_file(path, out, 4, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a certificate") != NULL);
	unlink(path);
	CHECK(write_tmp("", 0, path, sizeof(path)) == 0);
	CHECK_EQ_INT(cert_read_file(path, out, 4, err, sizeof(err)), -1);
	CHECK(strstr(err, "empty file") != NULL);
	unlink(path);
	CHECK_EQ_INT(cert_read_file("/nonexistent/cert.pem", out, 4, err, sizeof(err)), -1);
	CHECK(strstr(err, strerror(ENOENT)) != NULL);
	CHECK_EQ_INT(cert_read_file("/tmp", out, 4, err, sizeof(err)), -1);
	CHECK(strstr(err, strerror(EISDIR)) != NULL);
	CHECK_EQ_INT(cert_read_file("/tmp", out, 0, err, sizeof(err)), -1);

	X509_free(leaf);
	cast_close(&c);
	CHECK(ERR_peek_error() == 0);
}

/* PKCS#12 of leaf + key + CA, with the password given, or none. */
static int write_p12(const char *pass, EVP_PKEY *k, X509 *leaf, X509 *ca,
                     char *path, size_t pathlen)
{
	STACK_OF(X509) *cas = sk_X509_new_null();
	PKCS12 *p12;
	unsigned char *der = NULL;
	int n, rc = -1;

	if (!cas || !sk_X509_push(cas, ca))
		goto out;
	p12 = PKCS12_create(pass, "leaf", k, leaf, cas, 0, 0, 0, 0, 0);
	if (!p12)
		goto out;
	n = i2d_PKCS12(p12, &der);
	PKCS12_free(p12);
	if (n > 0)
		rc = write_tmp(der, (size_t)n, path, pathlen);
out:
	OPENSSL_free(der);
	sk_X509_free(cas);
	return rc;
}

TEST(read_file_pkcs12)
{
	struct testpki_cert t;
	const char *saved = getenv("CERTSPOA_P12_PASSWORD");
	char *keep = saved ? strdup(saved) : NULL;
	X509 *leaf, *out[4];
	char path[64], err[256];
	struct cast c;
	int n, fd;

	CHECK(cast_open(&c) == 0);
	leaf_init(&t, "/CN=p12 leaf", c.p256, c.ca, c.ca_key);
	leaf = testpki_make_cert_ex(&t);
	CHECK(leaf != NULL);

	/* with a password, from the environment: leaf first, then the CA */
	CHECK(write_p12("s3cret pass", c.p256, leaf, c.ca, path, sizeof(path)) == 0);
	setenv("CERTSPOA_P12_PASSWORD", "s3cret pass", 1);
	n = cert_read_file(path, out, 4, err, sizeof(err));
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK(X509_cmp(out[0], leaf) == 0);
		CHECK(X509_cmp(out[1], c.ca) == 0);
	}
	free_certs(out, n);
	n = cert_read_file(path, out, 1, err, sizeof(err));
	CHECK_EQ_INT(n, 1);
	if (n == 1)
		CHECK(X509_cmp(out[0], leaf) == 0);
	free_certs(out, n);

	setenv("CERTSPOA_P12_PASSWORD", "wrong", 1);
	CHECK_EQ_INT(cert_read_file(path, out, 4, err, sizeof(err)), -1);
	CHECK(strstr(err, "wrong PKCS#12 password") != NULL);

	/* no password given and no terminal to ask on (only checked where
	 * there is none: elsewhere it would ask) */
	unsetenv("CERTSPOA_P12_PASSWORD");
	fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd == -1) {
		CHECK_EQ_INT(cert_read_file(path, out, 4, err, sizeof(err)), -1);
		CHECK(strstr(err, "CERTSPOA_P12_PASSWORD") != NULL);
	} else {
		close(fd);
	}
	unlink(path);

	/* without a password: read without asking */
	CHECK(write_p12(NULL, c.p256, leaf, c.ca, path, sizeof(path)) == 0);
	n = cert_read_file(path, out, 4, err, sizeof(err));
	CHECK_EQ_INT(n, 2);
	if (n >= 1)
		CHECK(X509_cmp(out[0], leaf) == 0);
	free_certs(out, n);
	unlink(path);
	CHECK(write_p12("", c.p256, leaf, c.ca, path, sizeof(path)) == 0);
	n = cert_read_file(path, out, 4, err, sizeof(err));
	CHECK_EQ_INT(n, 2);
	free_certs(out, n);
	unlink(path);

	if (keep)
		setenv("CERTSPOA_P12_PASSWORD", keep, 1);
	free(keep);
	X509_free(leaf);
	cast_close(&c);
	CHECK(ERR_peek_error() == 0);
}
