/* Fuzz target: SPIFFE bundle documents (agent/spiffe-bundle.c).
 *
 * Input: the bytes of a bundle file, read as JSON (a SPIFFE bundle: a JWK
 * Set with x509-svid keys) and as PEM, whatever spiffe_bundle_is_json says.
 *
 * Invariants, for both parsers:
 * - the result is 0 or -1; -1 leaves no authorities and a reason (a
 *   NUL-terminated, non-empty string), 0 at least one authority;
 * - every authority is a CA (X509_check_ca() == 1: CA:TRUE), at most SPIFFE_BUNDLE_KEYS_MAX
 *   of them, and re-encodes to DER that parses back exactly;
 * - refresh hint and sequence, when present, are >= 0;
 * - parsing the same bytes twice gives the same result (no hidden state). */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "cert-facts.h"
#include "fuzz.h"
#include "spiffe-bundle.h"

typedef int (*parse_fn)(const char *, size_t, struct spiffe_bundle *, char *, size_t);

static void check_one(parse_fn parse, const char *buf, size_t len)
{
	struct spiffe_bundle b, again;
	char err[512], err2[512];
	int rc, rc2, n;

	memset(err, 0x55, sizeof(err));
	rc = parse(buf, len, &b, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || rc == -1);
	if (rc < 0) {
		FUZZ_ASSERT(b.authorities == NULL);
		FUZZ_ASSERT(memchr(err, 0, sizeof(err)) != NULL && err[0] != 0);
	} else {
		n = sk_X509_num(b.authorities);
		FUZZ_ASSERT(n >= 1 && n <= SPIFFE_BUNDLE_KEYS_MAX);
		for (int i = 0; i < n; i++) {
			X509 *x = sk_X509_value(b.authorities, i), *y;
			unsigned char *der = NULL;
			int dlen;

			FUZZ_ASSERT(X509_check_ca(x) == 1);   /* basicConstraints CA:TRUE, not a v1 root */
			dlen = i2d_X509(x, &der);
			FUZZ_ASSERT(dlen > 0);
			y = cert_parse_der(der, (size_t)dlen);
			FUZZ_ASSERT(y != NULL && X509_cmp(x, y) == 0);
			X509_free(y);
			OPENSSL_free(der);
		}
		FUZZ_ASSERT(!b.has_refresh_hint || b.refresh_hint >= 0);
		FUZZ_ASSERT(!b.has_sequence || b.sequence >= 0);
	}
	rc2 = parse(buf, len, &again, err2, sizeof(err2));
	FUZZ_ASSERT(rc2 == rc);
	if (rc == 0)
		FUZZ_ASSERT(sk_X509_num(again.authorities) == sk_X509_num(b.authorities));
	spiffe_bundle_clear(&b);
	spiffe_bundle_clear(&again);
	FUZZ_ASSERT(b.authorities == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes: ASan sees any read past the end */
	char *buf = malloc(size ? size : 1);

	FUZZ_ASSERT(buf);
	memcpy(buf, data, size);
	(void)spiffe_bundle_is_json(buf, size);
	check_one(spiffe_bundle_parse_json, buf, size);
	check_one(spiffe_bundle_parse_pem, buf, size);
	free(buf);
	return 0;
}
