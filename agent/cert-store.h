/* The trust store and TLS-client verification against it. A store is
 * built once at (re)load and shared by every worker thread. Verification
 * takes the time as an argument (no clock) and reads no file. One part of
 * a store changes after loading: the pool of intermediates learned from
 * chains that verified, guarded by a mutex inside the store and touched on
 * cache misses only. */
#ifndef CERTSPOA_CERT_STORE_H
#define CERTSPOA_CERT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>
#include "cert-t.h"
#include "cert-store-t.h"

/* Build a trust store from a PEM bundle (one or more CA certificates).
 * Returns NULL and writes "why" into err on failure (no CA found, bad PEM). */
struct cert_store *cert_store_load(const char *ca_file, char *err, size_t errlen);
void cert_store_free(struct cert_store *st);

/* An empty store, to fill with cert_store_add_dir(). NULL when out of memory. */
struct cert_store *cert_store_new(void);

/* Add the anchors of every *.pem, *.crt and *.cer file of a directory.
 * Returns 0, or -1 with the reason in err (also when none was found). */
int cert_store_add_dir(struct cert_store *st, const char *dir, char *err, size_t errlen);

/* Add one trust anchor (the caller keeps its reference; at load time,
 * before any verification). Returns 0, or -1 when out of memory. */
int cert_store_add_anchor(struct cert_store *st, X509 *x);

/* Whether cert_store_add_dir() reads a file of that name: *.pem, *.crt or
 * *.cer, not hidden. */
int cert_store_dir_name_ok(const char *name);

/* Changes whenever the store learns an intermediate from a chain that
 * verified: a cached failure from before may now pass. */
unsigned int cert_store_learned_gen(const struct cert_store *st);

/* Untrusted intermediates from a PEM file, offered to every verification
 * after the ones the client sent (at most CERT_CHAIN_MAX). Returns 0, or
 * -1 with the reason in err. */
int cert_store_add_intermediates(struct cert_store *st, const char *file, char *err, size_t errlen);
int cert_store_count(const struct cert_store *st);   /* trust anchors loaded */

/* Add every CRL of a PEM file to the store (at load time, before any
 * verification). Returns 0, or -1 with "path: why" in err. */
int cert_store_add_crls(struct cert_store *st, const char *crl_file,
                        struct cert_crl_info *info, char *err, size_t errlen);

/* The CA of the store (anchor, configured or learned intermediate) that
 * signed crl: same name, and its key verifies the CRL's signature. A
 * reference the caller frees, or NULL. Safe while other threads verify. */
X509 *cert_store_crl_issuer(const struct cert_store *st, X509_CRL *crl);

/* The http(s) CDP URLs of the store's anchors and configured
 * intermediates, via fn (duplicates possible). Returns how many. */
int cert_store_cdp_urls(const struct cert_store *st, void (*fn)(void *arg, const char *url), void *arg);

/* The verification functions below return a verification result, not
 * 0/-1: X509_V_OK (0), an X509_V_ERR_* code (> 0), CERT_VERIFY_BAD_CHAIN
 * or CERT_VERIFY_INTERNAL (< 0). Anything but X509_V_OK is a failure.
 * *depth (when not NULL) gets the chain depth of the error (0 = leaf), or
 * -1. */

/* Verify leaf for TLS client authentication at time now, using the store's
 * anchors and the untrusted intermediates in chain (concatenated DER as sent
 * by HAProxy's ssl_c_chain_der; may be NULL/0). */
int cert_verify(const struct cert_store *st, X509 *leaf,
                const unsigned char *chain, size_t chain_len,
                int64_t now, int *depth);

/* cert_verify() with CERT_VF_* flags: a revoked certificate gives
 * X509_V_ERR_CERT_REVOKED, a missing CRL X509_V_ERR_UNABLE_TO_GET_CRL,
 * an expired CRL X509_V_ERR_CRL_HAS_EXPIRED. */
int cert_verify_ex(const struct cert_store *st, X509 *leaf,
                   const unsigned char *chain, size_t chain_len,
                   int64_t now, unsigned int flags, int *depth);

/* cert_verify() with a policy's options (opts->now is ignored) that also
 * gives, when the result is X509_V_OK, the issuer of the leaf on the path
 * that verified (the leaf itself when it is a self-signed anchor). iss may
 * be NULL; otherwise it is always initialised, and its dn is the caller's
 * (cert_issuer_clear() frees it). Failing to describe the issuer is
 * CERT_VERIFY_INTERNAL, never a path without one. */
int cert_verify_path(const struct cert_store *st, X509 *leaf,
                     const unsigned char *chain, size_t chain_len,
                     int64_t now, const struct cert_verify_opts *opts, int *depth,
                     struct cert_issuer *iss);
void cert_issuer_clear(struct cert_issuer *iss);

/* Text for a verification result: OpenSSL's string for X509_V_ERR_*,
 * ours for the negative codes. Never NULL. */
const char *cert_verify_str(int code);

#endif /* CERTSPOA_CERT_STORE_H */
