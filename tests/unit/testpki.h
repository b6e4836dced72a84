/* In-process test PKI for unit tests: keys and certificates made with the
 * OpenSSL API while the tests run, valid relative to a `now` the test picks,
 * so nothing is committed and nothing expires. Certificates and keys
 * returned are the caller's (X509_free, EVP_PKEY_free).
 *
 *   EVP_PKEY *ck = testpki_make_key(), *lk = testpki_make_key();
 *   X509 *ca = testpki_make_cert("/CN=Test CA", ck, NULL, NULL,
 *                                now - DAY, now + 365 * DAY, 1, NULL);
 *   X509 *leaf = testpki_make_cert("/O=Example/CN=alice", lk, ca, ck,
 *                                  now - DAY, now + DAY, 0, "clientAuth");
 */
#ifndef CERTSPOA_TESTPKI_H
#define CERTSPOA_TESTPKI_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

struct testpki_cert {
	const char *subject;    /* "/O=Example/CN=alice" as for openssl req -subj:
	                           RDNs in that order, '\' escapes the next char */
	EVP_PKEY *key;          /* subject key, its public half goes in the cert */
	X509 *issuer;           /* NULL: self-signed with key */
	EVP_PKEY *issuer_key;   /* signs the certificate (ignored if issuer NULL) */
	int64_t not_before;     /* unix time */
	int64_t not_after;
	int is_ca;              /* CA:TRUE + keyCertSign,cRLSign; else CA:FALSE +
	                           digitalSignature */
	const char *eku;        /* NULL: no extendedKeyUsage; else OpenSSL config
	                           text, e.g. "clientAuth" or "serverAuth,clientAuth" */
	const char *san;        /* NULL or e.g. "DNS:a.example,URI:spiffe://x/y" */
	const char *serial_hex; /* NULL: random positive 63-bit; may start with '-' */
	/* fields below were added later; zero means the old behaviour */
	const char *policies;   /* NULL or certificatePolicies OpenSSL config text,
	                           e.g. "1.2.3.4,2.23.140.1.2.1" */
	const char *md;         /* signing digest ("sha1", "sha384"); NULL: sha256;
	                           Ed25519/Ed448 signers always sign without one */
	const X509_NAME *subject_name;   /* used instead of subject when set
	                                    (multi-valued RDNs, string types) */
};

/* A fresh EC P-256 key, or NULL. */
EVP_PKEY *testpki_make_key(void);

/* Other fresh keys, or NULL: RSA of the given size, EC on a named curve
 * ("P-256", "P-384", "prime256v1"...), Ed25519. */
EVP_PKEY *testpki_make_rsa_key(unsigned int bits);
EVP_PKEY *testpki_make_ec_key(const char *curve);
EVP_PKEY *testpki_make_ed25519_key(void);

/* A signed X.509 v3 certificate (with SKI/AKI), or NULL. */
X509 *testpki_make_cert_ex(const struct testpki_cert *c);
X509 *testpki_make_cert(const char *subject, EVP_PKEY *key,
                        X509 *issuer, EVP_PKEY *issuer_key,
                        int64_t not_before, int64_t not_after,
                        int is_ca, const char *eku);

/* DER of one certificate, or of n concatenated (as HAProxy's
 * ssl_c_chain_der sends them). Free with free(). NULL on error. */
unsigned char *testpki_to_der(X509 *x, size_t *len);
unsigned char *testpki_concat_der(X509 *const *certs, int n, size_t *len);

/* Write n certificates as a PEM bundle to a new file under /tmp; path gets
 * its name. The caller unlinks it. Returns 0 or -1. */
int testpki_write_pem(X509 *const *certs, int n, char *path, size_t pathlen);

#endif /* CERTSPOA_TESTPKI_H */
