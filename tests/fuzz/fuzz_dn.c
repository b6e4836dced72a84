/* Fuzz target: distinguished-name canonicalization (agent/dn.c).
 *
 * Input: text for dn_canon_text() (RFC 2253, or oneline when it starts
 * with '/'). When the same bytes also happen to be the DER of an X509_NAME
 * (seeds may be), the certificate side is checked against it too.
 *
 * Invariants:
 * - dn_canon_text() returns -1 or the length of a NUL-terminated string
 *   with no NUL before it, valid UTF-8, that needs exactly that length + 1
 *   bytes (one less gives -1, never a cut string);
 * - the canonical form is a fixed point: "/" + it canonicalizes to itself;
 * - for an X509_NAME: dn_canon_x509() gives valid UTF-8 that is a fixed
 *   point too, and OpenSSL's RFC 2253 text of the name canonicalizes to the
 *   same string; the one allowed exception is a name with a value only the
 *   #hex form can carry (a NUL, invalid characters for its type: the
 *   canonical form then holds "=#"), which OpenSSL prints as escaped text
 *   that reads as malformed. */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

#include "dn.h"
#include "fuzz.h"

static int utf8_valid(const char *s, size_t n)
{
	return n == 0 || ASN1_mbstring_copy(NULL, (const unsigned char *)s, (int)n,
	                                    MBSTRING_UTF8, B_ASN1_UTF8STRING) >= 0;
}

/* out holds n bytes of a canonical form (from a buffer of cap): check it
 * is well formed and reads back as itself. */
static void check_canon(const char *out, int n, size_t cap)
{
	char *re, *again;
	int m;

	FUZZ_ASSERT(n >= 0 && (size_t)n < cap);
	FUZZ_ASSERT(out[n] == '\0' && strlen(out) == (size_t)n);
	FUZZ_ASSERT(utf8_valid(out, (size_t)n));
	re = malloc((size_t)n + 1);
	again = malloc(cap);
	FUZZ_ASSERT(re && again);
	re[0] = '/';
	memcpy(re + 1, out, (size_t)n);
	m = dn_canon_text(re, (size_t)n + 1, again, cap);
	FUZZ_ASSERT(m == n && memcmp(again, out, (size_t)n) == 0);
	free(re);
	free(again);
}

static void check_x509(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	X509_NAME *name = d2i_X509_NAME(NULL, &p, (long)size);
	size_t cap = size * 4 + 64;
	char *a = NULL, *b = NULL, *text;
	BIO *bio = NULL;
	long tlen;
	int na, nb;

	if (!name || p != data + size)
		goto out;
	a = malloc(cap);
	b = malloc(cap);
	FUZZ_ASSERT(a && b);
	na = dn_canon_x509(name, a, cap);
	if (na < 0)
		goto out;
	check_canon(a, na, cap);
	bio = BIO_new(BIO_s_mem());
	FUZZ_ASSERT(bio);
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0)
		goto out;     /* OpenSSL cannot print it (invalid characters) */
	tlen = BIO_get_mem_data(bio, &text);
	FUZZ_ASSERT(tlen >= 0);
	nb = dn_canon_text(text, (size_t)tlen, b, cap);
	if (nb < 0)
		FUZZ_ASSERT(strstr(a, "=#") != NULL);
	else
		FUZZ_ASSERT(nb == na && memcmp(a, b, (size_t)na) == 0);
out:
	BIO_free(bio);
	free(a);
	free(b);
	X509_NAME_free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a type name grows at most from "E" to "EMAILADDRESS" */
	size_t cap = size * 8 + 64;
	char *out = malloc(cap), *small;
	int n;

	FUZZ_ASSERT(out);
	n = dn_canon_text((const char *)data, size, out, cap);
	FUZZ_ASSERT(n >= -1);
	if (n >= 0) {
		check_canon(out, n, cap);
		small = malloc((size_t)n + 1);
		FUZZ_ASSERT(small);
		FUZZ_ASSERT(dn_canon_text((const char *)data, size, small, (size_t)n + 1) == n);
		FUZZ_ASSERT(memcmp(small, out, (size_t)n + 1) == 0);
		if (n > 0)
			FUZZ_ASSERT(dn_canon_text((const char *)data, size, small, (size_t)n) == -1);
		free(small);
	}
	free(out);
	check_x509(data, size);
	return 0;
}
