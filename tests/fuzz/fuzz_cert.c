/* Fuzz target: certificate inspection and verification (agent/cert-facts.c,
 * agent/cert-store.c).
 *
 * Input: one byte of flags, two bytes (big endian) of leaf length, then the
 * leaf DER and, after it, the chain bytes (as HAProxy's ssl_c_chain_der).
 *   flags bit 0  the leaf is our good test leaf instead of the input's bytes
 *                (all the input after the header is then chain)
 *         bit 1  put our real intermediate before the chain bytes
 *         bit 2  put it after them
 *         bits 3-7 added to the verification time, in days, minus 16
 * The test PKI (root, intermediate, good leaf) is made at start-up.
 *
 * Invariants:
 * - cert_parse_der() accepts exactly one certificate that spans all the
 *   bytes: one byte less never parses; nothing above CERT_DER_MAX; OpenSSL's
 *   re-encoding of it parses again to the same subject, issuer, serial and
 *   validity, and re-encodes to itself;
 * - cert_get_facts(): hex digests match cert_digests(); subject and issuer
 *   are NUL-terminated printable ASCII without '"' (they go into HTTP
 *   headers); the serial is lowercase hex with an optional '-';
 * - cert_verify() returns X509_V_OK, an X509 error code or a CERT_VERIFY_*
 *   code, with a text for it; X509_V_OK only for a leaf that has our good
 *   leaf's subject, issuer and key (nothing else carries a signature of our
 *   intermediate), and only at a time within its validity. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509_vfy.h>

#include "cert-facts.h"
#include "cert-store.h"
#include "fuzz.h"
#include "testpki.h"

#define NOW  1800000000LL
#define DAY  86400LL

static struct {
	X509 *root, *inter, *leaf;
	unsigned char *inter_der, *leaf_der;
	size_t inter_len, leaf_len;
	struct cert_store *store;
} pki;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *rk = testpki_make_key(), *ik = testpki_make_key(), *lk = testpki_make_key();
	char pem[128], err[256];

	(void)argc;
	(void)argv;
	FUZZ_ASSERT(rk && ik && lk);
	pki.root = testpki_make_cert("/CN=Fuzz Root", rk, NULL, NULL,
	                             NOW - 100 * DAY, NOW + 3650 * DAY, 1, NULL);
	pki.inter = testpki_make_cert("/CN=Fuzz Intermediate", ik, pki.root, rk,
	                              NOW - 100 * DAY, NOW + 365 * DAY, 1, NULL);
	pki.leaf = testpki_make_cert("/O=Fuzz/CN=alice", lk, pki.inter, ik,
	                             NOW - DAY, NOW + 10 * DAY, 0, "clientAuth");
	FUZZ_ASSERT(pki.root && pki.inter && pki.leaf);
	pki.inter_der = testpki_to_der(pki.inter, &pki.inter_len);
	pki.leaf_der = testpki_to_der(pki.leaf, &pki.leaf_len);
	FUZZ_ASSERT(pki.inter_der && pki.leaf_der);
	FUZZ_ASSERT(testpki_write_pem(&pki.root, 1, pem, sizeof(pem)) == 0);
	pki.store = cert_store_load(pem, err, sizeof(err));
	unlink(pem);
	FUZZ_ASSERT(pki.store);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
	return 0;
}

static int header_safe(const char *s, size_t max)
{
	const char *nul = memchr(s, 0, max);

	if (!nul)
		return 0;
	for (; s < nul; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || *s == '"')
			return 0;
	return 1;
}

static void check_facts(X509 *x, const unsigned char *der, size_t len)
{
	struct cert_facts f;
	unsigned char sha1[20], sha256[32];
	char hex[65];
	const char *s;

	if (cert_get_facts(x, der, len, &f) < 0)
		return;
	cert_digests(der, len, sha1, sha256);
	FUZZ_ASSERT(memcmp(f.sha1, sha1, 20) == 0 && memcmp(f.sha256, sha256, 32) == 0);
	cert_hex(sha1, 20, hex);
	FUZZ_ASSERT(strcmp(hex, f.sha1_hex) == 0);
	cert_hex(sha256, 32, hex);
	FUZZ_ASSERT(strcmp(hex, f.sha256_hex) == 0);
	FUZZ_ASSERT(header_safe(f.subject, sizeof(f.subject)));
	FUZZ_ASSERT(header_safe(f.issuer, sizeof(f.issuer)));
	FUZZ_ASSERT(memchr(f.serial, 0, sizeof(f.serial)));
	s = f.serial;
	if (*s == '-')
		s++;
	FUZZ_ASSERT(*s);
	for (; *s; s++)
		FUZZ_ASSERT((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'));
}

/* What identifies a certificate to a policy, whatever its bytes. */
static int same_identity(const struct cert_facts *a, const struct cert_facts *b)
{
	return strcmp(a->subject, b->subject) == 0 && strcmp(a->issuer, b->issuer) == 0 &&
	       strcmp(a->serial, b->serial) == 0 && a->not_before == b->not_before &&
	       a->not_after == b->not_after;
}

/* OpenSSL's own encoding of x. It need not equal the input: d2i accepts
 * some non-DER forms that i2d writes canonically (found by this target: a
 * signature BIT STRING with non-zero unused bits comes back with them
 * cleared; see docs/FUZZING.md). But the canonical form must parse again
 * to the same certificate, and be a fixed point. */
static void check_reencoding(X509 *x)
{
	unsigned char *re = NULL, *re2 = NULL;
	int n = i2d_X509(x, &re), n2;
	struct cert_facts f1, f2;
	X509 *y;

	FUZZ_ASSERT(n > 0);
	y = cert_parse_der(re, (size_t)n);
	FUZZ_ASSERT(y);
	n2 = i2d_X509(y, &re2);
	FUZZ_ASSERT(n2 == n && memcmp(re, re2, (size_t)n) == 0);
	if (cert_get_facts(x, re, (size_t)n, &f1) == 0) {
		FUZZ_ASSERT(cert_get_facts(y, re2, (size_t)n2, &f2) == 0);
		FUZZ_ASSERT(same_identity(&f1, &f2));
	}
	X509_free(y);
	OPENSSL_free(re);
	OPENSSL_free(re2);
}

/* Is x our good leaf in all that a signature covers and we can compare? */
static int is_good_leaf(X509 *x)
{
	return X509_NAME_cmp(X509_get_subject_name(x), X509_get_subject_name(pki.leaf)) == 0 &&
	       X509_NAME_cmp(X509_get_issuer_name(x), X509_get_issuer_name(pki.leaf)) == 0 &&
	       EVP_PKEY_eq(X509_get0_pubkey(x), X509_get0_pubkey(pki.leaf)) == 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *leaf, *body;
	unsigned char *chain = NULL, *copy = NULL;
	size_t leaf_len, body_len, chain_len = 0;
	int64_t now;
	X509 *x;
	int code, depth;

	if (!pki.store)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 3)
		return 0;
	leaf_len = (size_t)data[1] << 8 | data[2];
	body = data + 3;
	body_len = size - 3;
	now = NOW + ((int64_t)(data[0] >> 3) - 16) * DAY;
	if (data[0] & 1) {
		leaf = pki.leaf_der;
		leaf_len = pki.leaf_len;
	} else {
		if (leaf_len > body_len)
			leaf_len = body_len;
		leaf = body;
		body += leaf_len;
		body_len -= leaf_len;
	}

	/* the leaf on its own, in an exactly sized buffer */
	copy = malloc(leaf_len ? leaf_len : 1);
	FUZZ_ASSERT(copy);
	if (leaf_len)
		memcpy(copy, leaf, leaf_len);
	x = cert_parse_der(copy, leaf_len);
	if (x) {
		FUZZ_ASSERT(leaf_len <= CERT_DER_MAX);
		/* exact length: one byte less never parses */
		FUZZ_ASSERT(!cert_parse_der(copy, leaf_len - 1));
		check_facts(x, copy, leaf_len);
		check_reencoding(x);
	}

	/* chain: [intermediate] body [intermediate] */
	chain_len = body_len + ((data[0] & 2) ? pki.inter_len : 0) +
	            ((data[0] & 4) ? pki.inter_len : 0);
	chain = malloc(chain_len ? chain_len : 1);
	FUZZ_ASSERT(chain);
	{
		unsigned char *c = chain;

		if (data[0] & 2) {
			memcpy(c, pki.inter_der, pki.inter_len);
			c += pki.inter_len;
		}
		if (body_len)
			memcpy(c, body, body_len);
		c += body_len;
		if (data[0] & 4)
			memcpy(c, pki.inter_der, pki.inter_len);
	}
	if (x) {
		code = cert_verify(pki.store, x, chain_len ? chain : NULL, chain_len, now, &depth);
		FUZZ_ASSERT(code >= 0 || code == CERT_VERIFY_BAD_CHAIN ||
		            code == CERT_VERIFY_INTERNAL);
		FUZZ_ASSERT(cert_verify_str(code) != NULL);
		FUZZ_ASSERT(depth >= -1 && depth <= 32);
		if (code == X509_V_OK) {
			FUZZ_ASSERT(is_good_leaf(x));
			FUZZ_ASSERT(now >= NOW - DAY && now <= NOW + 10 * DAY);
		}
		X509_free(x);
	}
	free(copy);
	free(chain);
	return 0;
}
