/* Certificate facts: exact-DER parsing, digests, printable names, serial
 * and validity (struct cert_facts). Pure: no I/O, no clock, no global
 * state; every function may run in several threads at once. */
/* The low-level SHA1_Init() and SHA256_Init() family is deprecated in OpenSSL 3 but stay
 * supported through 3.x; unlike EVP_Digest() they neither allocate nor take
 * the provider lock, and the digest of the DER is on the per-message hot
 * path (measured: EVP_Digest 0.72 M/s vs 1.54 M/s over 8 threads). */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "cert-facts.h"
#include "strutil.h"

void cert_sha256(const unsigned char *der, size_t len, unsigned char sha256[32])
{
	SHA256_CTX c;

	/* these cannot fail for the built-in implementation; never leave
	 * stack garbage that might match something */
	if (!SHA256_Init(&c) || !SHA256_Update(&c, der, len) || !SHA256_Final(sha256, &c))
		memset(sha256, 0, 32);
}

/* The contexts are on the stack: nothing is shared between threads. */
int cert_digests(const unsigned char *der, size_t len,
                 unsigned char sha1[20], unsigned char sha256[32])
{
	SHA_CTX c1;

	if (!SHA1_Init(&c1) || !SHA1_Update(&c1, der, len) || !SHA1_Final(sha1, &c1)) {
		memset(sha1, 0, 20);
		memset(sha256, 0, 32);
		return -1;
	}
	cert_sha256(der, len, sha256);
	return 0;
}

void cert_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* Is x, parsed from der/len, exactly DER? OpenSSL's decoder accepts BER
 * (long-form lengths, indefinite lengths, ...), and i2d_X509() writes the
 * outer SEQUENCE, the signature algorithm and the signature BIT STRING
 * anew but copies the TBS as it was received. So the TBS is re-encoded on
 * its own first (i2d_re_X509_tbs), then the whole: a certificate is DER
 * when that gives back the input bytes. Otherwise the same certificate
 * could arrive under many encodings, each with its own thumbprint. */
static int cert_is_der(X509 *x, const unsigned char *der, size_t len)
{
	unsigned char *tbs = NULL, *out = NULL;
	int n, ok;

	n = i2d_re_X509_tbs(x, &tbs);
	OPENSSL_free(tbs);
	if (n <= 0)
		return 0;
	n = i2d_X509(x, &out);
	ok = n > 0 && (size_t)n == len && memcmp(out, der, len) == 0;
	OPENSSL_free(out);
	return ok;
}

X509 *cert_parse_next(const unsigned char **p, size_t left)
{
	const unsigned char *q = *p;
	X509 *x;

	if (left > CERT_DER_MAX)
		left = CERT_DER_MAX;
	x = d2i_X509(NULL, &q, (long)left);
	if (x && !cert_is_der(x, *p, (size_t)(q - *p))) {
		X509_free(x);
		x = NULL;
	}
	if (!x) {
		ERR_clear_error();
		return NULL;
	}
	*p = q;
	return x;
}

X509 *cert_parse_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (!der || len == 0 || len > CERT_DER_MAX)
		return NULL;
	x = cert_parse_next(&p, len);
	if (x && p != der + len) {
		/* one certificate followed by something else */
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* Is c safe to pass through into an HTTP header value as is? */
static int name_char_is_safe(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"';
}

/* One output token of cert_name_copy(): in[i] and, for an escape, what
 * follows. Writes 1 to 3 characters into tok and returns their number;
 * *used gets the input bytes consumed. */
static size_t name_token(const char *in, size_t n, size_t i, char tok[3],
                         size_t *used)
{
	static const char hx[] = "0123456789ABCDEF";
	unsigned char c = (unsigned char)in[i];

	if (c == '\\' && i + 2 < n && str_hexval((unsigned char)in[i + 1]) >= 0 &&
	    str_hexval((unsigned char)in[i + 2]) >= 0) {
		/* \XX from ESC_CTRL / ESC_MSB: keep it whole */
		memcpy(tok, in + i, 3);
		*used = 3;
		return 3;
	}
	if (c == '\\' && i + 1 < n) {
		/* RFC 2253 \<special>; \" becomes the equivalent \22 */
		c = (unsigned char)in[i + 1];
		*used = 2;
		tok[0] = '\\';
		if (name_char_is_safe(c)) {
			tok[1] = (char)c;
			return 2;
		}
		tok[1] = hx[c >> 4];
		tok[2] = hx[c & 0x0f];
		return 3;
	}
	*used = 1;
	if (c != '\\' && name_char_is_safe(c)) {
		tok[0] = (char)c;
		return 1;
	}
	/* a raw control byte, quote, byte >= 0x7f or a lone final '\' */
	tok[0] = '\\';
	tok[1] = hx[c >> 4];
	tok[2] = hx[c & 0x0f];
	return 3;
}

size_t cert_name_copy(char *out, size_t outlen, const char *in, size_t inlen)
{
	size_t i, o = 0, total = 0, room, used, k;
	char tok[3];

	if (!out || outlen == 0)
		return 0;
	for (i = 0; i < inlen; i += used)
		total += name_token(in, inlen, i, tok, &used);
	/* all of it, or as many whole tokens as leave room for "..." */
	room = total < outlen ? total : (outlen > 3 ? outlen - 4 : 0);
	for (i = 0; i < inlen; i += used) {
		k = name_token(in, inlen, i, tok, &used);
		if (o + k > room)
			break;
		memcpy(out + o, tok, k);
		o += k;
	}
	if (total >= outlen && outlen > 3) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return o;
}

static int cert_name_str(const X509_NAME *name, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	int ret = -1;

	if (!b || !name)
		goto out;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) < 0)
		goto out;
	n = BIO_get_mem_data(b, &data);
	if (n < 0 || (n > 0 && !data))
		goto out;
	cert_name_copy(out, outlen, data, (size_t)n);
	ret = 0;
out:
	BIO_free(b);
	return ret;
}

/* Serial as BN_bn2hex() gives it ("0", "0A", "-1F": whole bytes), in
 * lowercase. A serial too long for out is an error, not truncated: a
 * truncated serial could equal another certificate's. */
static int cert_serial_str(const ASN1_INTEGER *ai, char *out, size_t outlen)
{
	BIGNUM *bn = NULL;
	char *hex = NULL;
	size_t i, n;
	int ret = -1;

	if (!ai)
		goto out;
	bn = ASN1_INTEGER_to_BN(ai, NULL);
	if (!bn)
		goto out;
	hex = BN_bn2hex(bn);
	if (!hex)
		goto out;
	n = strlen(hex);
	if (n >= outlen)
		goto out;
	for (i = 0; i <= n; i++)
		out[i] = str_lower_c(hex[i]);
	ret = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return ret;
}

int cert_asn1_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	time_t u;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	errno = 0;
	u = timegm(&tm);
	if (u == (time_t)-1 && errno != 0)
		return -1;
	*out = (int64_t)u;
	return 0;
}

int cert_get_facts(X509 *x, const unsigned char *der, size_t len,
                   struct cert_facts *f)
{
	int ret = -1;

	if (!f)
		return -1;
	memset(f, 0, sizeof(*f));
	if (!x || !der || len == 0)
		goto out;
	if (cert_digests(der, len, f->sha1, f->sha256) < 0)
		goto out;
	cert_hex(f->sha1, sizeof(f->sha1), f->sha1_hex);
	cert_hex(f->sha256, sizeof(f->sha256), f->sha256_hex);
	if (cert_name_str(X509_get_subject_name(x), f->subject, sizeof(f->subject)) < 0 ||
	    cert_name_str(X509_get_issuer_name(x), f->issuer, sizeof(f->issuer)) < 0 ||
	    cert_serial_str(X509_get0_serialNumber(x), f->serial, sizeof(f->serial)) < 0 ||
	    cert_asn1_time(X509_get0_notBefore(x), &f->not_before) < 0 ||
	    cert_asn1_time(X509_get0_notAfter(x), &f->not_after) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		ERR_clear_error();
	return ret;
}

void cert_time_iso8601(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
}

long long cert_days_until(int64_t t, int64_t now)
{
	int64_t d = t - now;

	/* floor, not truncation: 1 s after not_after is -1, one day and 1 s
	 * after it is -2 (C division truncates toward zero) */
	return (long long)(d / 86400 - (d % 86400 < 0 ? 1 : 0));
}
