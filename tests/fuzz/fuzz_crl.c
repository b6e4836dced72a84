/* Fuzz target: what certspoa does itself with fetched bytes and with
 * certificates' CRL distribution points (agent/cert-crls.c).
 *
 * Input: one byte of selector, then the bytes.
 *   selector even  the bytes are an answer from a CRL source:
 *                  cert_crl_parse() (DER or PEM, exactly one CRL)
 *   selector odd   the bytes are a certificate (exact DER):
 *                  cert_cdp_urls() on it
 *
 * Invariants:
 * - cert_crl_parse() returns a CRL or NULL with a reason; a DER CRL it
 *   accepts spans every byte (one byte less never parses to the same
 *   length); cert_crl_check() against a CA that never signed it says no;
 * - cert_cdp_urls() only reports NUL-terminated http:// or https:// URLs
 *   of printable ASCII without spaces, shorter than CERT_CDP_URL_MAX, and
 *   reports as many as it returns. */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "cert-crls.h"
#include "cert-facts.h"
#include "fuzz.h"
#include "testpki.h"

#define NOW 1800000000LL

static X509 *stranger;     /* a CA that signed none of the inputs */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *k = testpki_make_key();

	(void)argc;
	(void)argv;
	stranger = testpki_make_cert("/CN=nobody", k, NULL, NULL, NOW - 86400, NOW + 86400, 1, NULL);
	EVP_PKEY_free(k);
	return 0;
}

static int reported;

static void on_url(void *arg, const char *url)
{
	size_t n = strlen(url);

	(void)arg;
	reported++;
	FUZZ_ASSERT(n < CERT_CDP_URL_MAX);
	FUZZ_ASSERT(strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0);
	for (size_t i = 0; i < n; i++)
		FUZZ_ASSERT((unsigned char)url[i] > 0x20 && (unsigned char)url[i] < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *in = data + 1;
	size_t n;
	char err[192];

	if (!stranger)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 1)
		return 0;
	n = size - 1;
	if ((data[0] & 1) == 0) {
		X509_CRL *crl;

		err[0] = '\0';
		crl = cert_crl_parse(in, n, err, sizeof(err));
		if (!crl) {
			FUZZ_ASSERT(err[0] != '\0');
			return 0;
		}
		if (n > 0 && in[0] == 0x30) {
			/* DER that spans the input: one byte less never parses
			 * (OpenSSL re-encodes a non-minimal length differently:
			 * the bytes need not round-trip, the extent must hold) */
			X509_CRL *shorter = cert_crl_parse(in, n - 1, err, sizeof(err));

			FUZZ_ASSERT(shorter == NULL);
		}
		{
			int64_t tu, nu;

			cert_crl_dates(crl, &tu, &nu);     /* any dates: read, never a crash */
		}
		FUZZ_ASSERT(cert_crl_check(crl, stranger, NOW, 60, err, sizeof(err)) == -1);
		X509_CRL_free(crl);
		return 0;
	}
	{
		X509 *x = n ? cert_parse_der(in, n) : NULL;
		int got;

		if (!x)
			return 0;
		reported = 0;
		got = cert_cdp_urls(x, on_url, NULL);
		FUZZ_ASSERT(got == reported);
		X509_free(x);
	}
	return 0;
}
