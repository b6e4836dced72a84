/* Certificate facts extracted once per distinct certificate. */
#ifndef CERTSPOA_CERT_T_H
#define CERTSPOA_CERT_T_H

#include <stdint.h>

#define CERT_NAME_MAX    512   /* RFC 2253 subject/issuer, truncated with "..." */
#define CERT_SERIAL_MAX  68    /* lowercase hex of up to 33 bytes + NUL */
#define CERT_CHAIN_MAX   16    /* client-sent intermediates we accept */
#define CERT_DER_MAX     (64 * 1024)

/* Result of cert_verify() beyond OpenSSL's X509_V_ERR_* codes (which are >= 0). */
#define CERT_VERIFY_BAD_CHAIN   (-1)   /* chain bytes are not a list of DER certificates */
#define CERT_VERIFY_INTERNAL    (-2)   /* allocation or OpenSSL internal error */

struct cert_facts {
	unsigned char sha1[20];
	unsigned char sha256[32];
	char sha1_hex[41];
	char sha256_hex[65];
	char subject[CERT_NAME_MAX];   /* RFC 2253, e.g. "CN=alice,O=Example" */
	char issuer[CERT_NAME_MAX];
	char serial[CERT_SERIAL_MAX];  /* lowercase hex, no colons, no leading "0x" */
	int64_t not_before;            /* unix time */
	int64_t not_after;             /* unix time */
};

#endif /* CERTSPOA_CERT_T_H */
