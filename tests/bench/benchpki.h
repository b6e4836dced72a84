/* Benchmark PKI: a realistic RSA certificate hierarchy made in-process
 * (root CA -> intermediate CA -> K client leaves of about 1 KB DER), plus
 * loading certificates from files. Shared by spop-bench and micro.
 *
 * Leaves share one RSA-2048 key (key generation is the slow part) but each
 * has its own subject, serial and SAN, hence its own DER and thumbprint, and
 * each is signed by the intermediate with RSA-2048/SHA-256: about 0.3 ms per
 * leaf. */
#ifndef CERTSPOA_BENCHPKI_H
#define CERTSPOA_BENCHPKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* One certificate as bytes, with its SHA-256 (the agent's cache key). */
struct bench_der {
	unsigned char *der;
	size_t len;
	unsigned char sha256[32];
};

struct bench_pki {
	X509 *root, *inter;
	EVP_PKEY *root_key, *inter_key, *leaf_key;  /* leaf_key: leaf 0's */
	X509 **leaves;               /* nleaves, NULL when loaded from files */
	struct bench_der *leaf;      /* nleaves */
	size_t nleaves;
	unsigned char *chain;        /* what HAProxy sends as ssl_c_chain_der */
	size_t chain_len;
	int64_t now;                 /* validity: now - 1 day .. now + days */
	int days;
};

/* Key types: RSA-2048 everywhere, leaves sharing one key (the default); or
 * EC P-256 everywhere, each leaf with its own key (a device fleet: ~0.1 ms
 * per leaf, 10,000 leaves in about a second). */
enum benchpki_keys {
	BENCHPKI_RSA = 0,
	BENCHPKI_EC,
	BENCHPKI_KEYS_COUNT
};

/* Generate root, intermediate and n leaves valid from now - 1 day to
 * now + days, with RSA keys. Returns 0 or -1 (message on stderr). */
int benchpki_generate(struct bench_pki *pki, size_t n, int64_t now, int days);

/* The same with the given key type. */
int benchpki_generate_keys(struct bench_pki *pki, size_t n, int64_t now, int days,
                           enum benchpki_keys keys);

/* Write the PKI into dir (created if needed):
 *   ca.pem       root CA (the agent's ca_file, HAProxy's bind ca-file)
 *   inter.pem    intermediate CA;  chain.der  its DER (the 'chain' argument)
 *   leaves.der   the leaves' DER, concatenated (spop-bench --cert)
 *   allowed.txt  SHA-256 of every leaf, then random digests up to list_size
 *                lines in all (a thumbprint list of realistic size)
 *   client.pem   leaf 0 + intermediate + the leaf key (ab -E, curl --cert)
 *   server.pem   CN=localhost server certificate + EC key (HAProxy crt)
 *   leaf0.sha256 thumbprint of leaf 0, lowercase hex
 * Returns 0 or -1. */
int benchpki_write(const struct bench_pki *pki, const char *dir, size_t list_size);

/* Read certificates from a PEM bundle or concatenated DER into an array
 * (appended to *out, *n updated). Only framing is checked (one DER SEQUENCE
 * each), nothing is parsed. Returns 0 or -1 (message on stderr). */
int benchpki_load(const char *path, struct bench_der **out, size_t *n);

/* Concatenate certificates (a chain as HAProxy sends it). */
unsigned char *benchpki_concat(const struct bench_der *c, size_t n, size_t *len);

void benchpki_free(struct bench_pki *pki);

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
void benchpki_hex(const unsigned char *in, size_t n, char *out);

#endif /* CERTSPOA_BENCHPKI_H */
