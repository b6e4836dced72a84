/* Certificate facts: exact-DER parsing, digests, printable names, serial
 * and validity (struct cert_facts). Pure: no I/O, no clock, no global
 * state. */
#ifndef CERTSPOA_CERT_FACTS_H
#define CERTSPOA_CERT_FACTS_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>
#include "cert-t.h"

/* SHA-1 and SHA-256 of raw bytes (the certificate DER). Returns 0, or -1
 * (an allocation failure in OpenSSL) with both digests zeroed, never stack
 * garbage that might match something. */
int cert_digests(const unsigned char *der, size_t len,
                 unsigned char sha1[20], unsigned char sha256[32]);

/* SHA-256 alone: the decision cache key, computed for every message.
 * No allocation, no lock. Cannot fail with OpenSSL's built-in SHA-256;
 * should it, the digest is zeroed. */
void cert_sha256(const unsigned char *der, size_t len, unsigned char sha256[32]);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void cert_hex(const unsigned char *in, size_t n, char *out);

/* Parse DER. Returns NULL unless the bytes are one certificate that
 * consumes exactly len bytes (no trailing data), len <= CERT_DER_MAX, in
 * exact DER: re-encoding it gives back the same bytes (a BER form of a
 * certificate - long-form lengths, a BER TBS - would hash differently
 * from the certificate it stands for). Every certificate that arrives in
 * a request (ssl_c_der, forwarded headers, each chain certificate) goes
 * through this check. */
X509 *cert_parse_der(const unsigned char *der, size_t len);

/* The same check for the next certificate of a list (a client chain):
 * one exact-DER certificate at *p within left bytes (capped at
 * CERT_DER_MAX); advances *p past it. NULL, *p untouched, otherwise. */
X509 *cert_parse_next(const unsigned char **p, size_t left);

/* Copy the output of X509_NAME_print_ex(XN_FLAG_RFC2253) (in, inlen bytes,
 * not NUL-terminated) into out for use in an HTTP header: '"', control
 * bytes and bytes >= 0x7f become RFC 2253 hex escapes ("\22", "\0A"), so
 * the result is printable ASCII without double quotes. When it does not fit,
 * it is cut between escapes and ends with "...". Returns strlen(out). */
size_t cert_name_copy(char *out, size_t outlen, const char *in, size_t inlen);

/* An ASN1_TIME as unix time. Returns 0, or -1 when t is NULL or unreadable
 * (*out is then untouched). */
int cert_asn1_time(const ASN1_TIME *t, int64_t *out);

/* t (unix time) as "YYYY-MM-DDTHH:MM:SSZ" in buf, or "@t" if it has no
 * calendar form. */
void cert_time_iso8601(int64_t t, char *buf, size_t len);

/* days_left: floor((t - now) / 86400), whole days rounded down: 0 up to
 * the last second, -1 in the first 24 hours after t, -2 in the next 24. */
long long cert_days_until(int64_t t, int64_t now);

/* Fill f from a parsed certificate and its DER (for the digests).
 * Returns 0, or -1 when a field cannot be read (f is then unusable),
 * including a serial longer than 33 bytes (RFC 5280 allows 20), which is
 * refused rather than truncated into something another serial could equal. */
int cert_get_facts(X509 *x, const unsigned char *der, size_t len,
                   struct cert_facts *f);

#endif /* CERTSPOA_CERT_FACTS_H */
