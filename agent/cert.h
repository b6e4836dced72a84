/* Certificate inspection and verification on OpenSSL 3. No sockets, no
 * clock (time is passed in), no global state. Only the miss path of the
 * decision cache calls into here. */
#ifndef CERTSPOA_CERT_H
#define CERTSPOA_CERT_H

#include <stddef.h>
#include <openssl/x509.h>
#include "cert-t.h"

struct cert_store;   /* trust anchors, built once, shared read-only by all threads */

/* SHA-1 and SHA-256 of raw bytes (the certificate DER). */
void cert_digests(const unsigned char *der, size_t len,
                  unsigned char sha1[20], unsigned char sha256[32]);

/* SHA-256 alone: the decision cache key, computed for every message.
 * No allocation, no lock. */
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

/* Copy the output of X509_NAME_print_ex(XN_FLAG_RFC2253) (in, inlen bytes,
 * not NUL-terminated) into out for use in an HTTP header: '"', control
 * bytes and bytes >= 0x7f become RFC 2253 hex escapes ("\22", "\0A"), so
 * the result is printable ASCII without double quotes. When it does not fit,
 * it is cut between escapes and ends with "...". Returns strlen(out). */
size_t cert_name_copy(char *out, size_t outlen, const char *in, size_t inlen);

/* Fill f from a parsed certificate and its DER (for the digests).
 * Returns 0, or -1 when a field cannot be read (f is then unusable),
 * including a serial longer than 33 bytes (RFC 5280 allows 20), which is
 * refused rather than truncated into something another serial could equal. */
int cert_get_facts(X509 *x, const unsigned char *der, size_t len,
                   struct cert_facts *f);

/* Everything of cert_ext from a parsed certificate, in one allocation.
 * Returns NULL on allocation failure or an unreadable field: a NUL inside
 * a SAN or the CN, an IP SAN that is not 4 or 16 bytes, an undecodable or
 * repeated SAN, EKU or policies extension. */
struct cert_ext *cert_get_ext(X509 *x);
void cert_ext_free(struct cert_ext *e);

/* Read certificates from a file: PEM (one or more), DER, or PKCS#12
 * (password from the CERTSPOA_P12_PASSWORD environment variable, else
 * asked on the terminal). Returns the number read (up to max), or -1 with
 * the reason in err. The caller frees each X509.
 * PEM: in file order, other blocks skipped. DER: exactly one certificate,
 * nothing after it. PKCS#12: the certificate of the private key first, then
 * the others; a file without a password is read without asking, and with
 * no terminal (and no variable) it fails saying so. */
int cert_read_file(const char *path, X509 **out, int max, char *err, size_t errlen);

/* cert_read_file() that also hands over a PKCS#12 file's private key in
 * *key (when key is not NULL and the file has one; the caller frees it).
 * *key is left alone for PEM and DER files. */
int cert_read_file_key(const char *path, X509 **out, int max, EVP_PKEY **key,
                       char *err, size_t errlen);

/* Build a trust store from a PEM bundle (one or more CA certificates).
 * Returns NULL and writes "why" into err on failure (no CA found, bad PEM). */
struct cert_store *cert_store_load(const char *ca_file, char *err, size_t errlen);
void cert_store_free(struct cert_store *st);

/* An empty store, to fill with cert_store_add_dir(). */
struct cert_store *cert_store_new(void);

/* Add the anchors of every *.pem, *.crt and *.cer file of a directory.
 * Returns 0, or -1 with the reason in err (also when none was found). */
int cert_store_add_dir(struct cert_store *st, const char *dir, char *err, size_t errlen);

/* Changes whenever the store learns an intermediate from a chain that
 * verified (see cert.c): a cached failure from before may now pass. */
unsigned int cert_store_learned_gen(const struct cert_store *st);

/* Untrusted intermediates from a PEM file, offered to every verification
 * after the ones the client sent (at most CERT_CHAIN_MAX). */
int cert_store_add_intermediates(struct cert_store *st, const char *file, char *err, size_t errlen);
int cert_store_count(const struct cert_store *st);   /* trust anchors loaded */

/* Verify leaf for TLS client authentication at time now, using the store's
 * anchors and the untrusted intermediates in chain (concatenated DER as sent
 * by HAProxy's ssl_c_chain_der; may be NULL/0). Returns X509_V_OK (0), an
 * X509_V_ERR_* code, CERT_VERIFY_BAD_CHAIN or CERT_VERIFY_INTERNAL.
 * *depth gets the chain depth of the error (0 = leaf), or -1. */
int cert_verify(const struct cert_store *st, X509 *leaf,
                const unsigned char *chain, size_t chain_len,
                int64_t now, int *depth);

/* Revocation checking for cert_verify_ex(). */
#define CERT_VF_CRL_LEAF        0x1U   /* the leaf must have a CRL from its issuer */
#define CERT_VF_CRL_ALL         0x2U   /* every certificate of the chain must */
#define CERT_VF_CRL_MISSING_OK  0x4U   /* no CRL for an issuer is not an error */

struct cert_crl_info {
	int count;               /* CRLs loaded */
	int64_t last_update;     /* newest thisUpdate among them */
	int64_t next_update;     /* earliest nextUpdate (0 = none given) */
};

/* Add every CRL of a PEM file to the store (at load time, before any
 * verification). Returns 0, or -1 with "path: why" in err. */
int cert_store_add_crls(struct cert_store *st, const char *crl_file,
                        struct cert_crl_info *info, char *err, size_t errlen);

/* cert_verify() with CERT_VF_* flags: a revoked certificate gives
 * X509_V_ERR_CERT_REVOKED, a missing CRL X509_V_ERR_UNABLE_TO_GET_CRL,
 * an expired CRL X509_V_ERR_CRL_HAS_EXPIRED. */
int cert_verify_ex(const struct cert_store *st, X509 *leaf,
                   const unsigned char *chain, size_t chain_len,
                   int64_t now, unsigned int flags, int *depth);

/* Everything a policy sets for agent verification. */
struct cert_verify_opts {
	unsigned int flags;      /* CERT_VF_* */
	int max_depth;           /* intermediates allowed below the leaf; 0 = OpenSSL's default */
	int64_t skew;            /* seconds of clock skew accepted on validity dates */
	int64_t now;             /* filled in by cert_verify_opt() */
};

int cert_verify_opt(const struct cert_store *st, X509 *leaf,
                    const unsigned char *chain, size_t chain_len,
                    int64_t now, const struct cert_verify_opts *opts, int *depth);

/* The issuer of the leaf on the path X509_verify_cert() built and checked
 * (signatures included): never taken from the client's chain as sent. */
struct cert_issuer {
	int found;                   /* 1: a path verified and the fields are set */
	unsigned char sha1[20];      /* of the issuer's DER */
	unsigned char sha256[32];
	char *dn;                    /* dn_canon form of its subject (malloc'd) */
};

/* cert_verify_opt() that also gives, when the result is X509_V_OK, the
 * issuer of the leaf on the path that verified (the leaf itself when it is
 * a self-signed anchor). iss may be NULL; otherwise it is always
 * initialised and must be released with cert_issuer_clear(). Failing to
 * describe the issuer is CERT_VERIFY_INTERNAL, never a path without one. */
int cert_verify_path(const struct cert_store *st, X509 *leaf,
                     const unsigned char *chain, size_t chain_len,
                     int64_t now, const struct cert_verify_opts *opts, int *depth,
                     struct cert_issuer *iss);
void cert_issuer_clear(struct cert_issuer *iss);

/* Text for a cert_verify() result: OpenSSL's string for X509_V_ERR_*,
 * ours for the negative codes. Never NULL. */
const char *cert_verify_str(int code);

#endif /* CERTSPOA_CERT_H */
