/* CRLs obtained at run time (agent/revoc.c fetches them) and the CRL
 * distribution points seen in verified chains. Pure: no I/O, no clock.
 *
 * The fetched CRLs form one immutable, reference-counted set published
 * behind an atomic pointer. Verification (cert_verify_path) takes a
 * reference for the length of one X509_verify_cert() and hands the set to
 * OpenSSL (X509_STORE_CTX_set0_crls), which checks each CRL's signature
 * against the issuer on the path as it does for file CRLs. Readers never
 * lock: a reader announces itself in a counter for the two instructions
 * between loading the pointer and taking its reference, and the (single,
 * rare) writer waits for that counter to be zero before it drops the old
 * set. Every install bumps a generation that the decision cache compares.
 *
 * CDP learning: when enabled (crl_fetch = cdp), the http(s) URLs of the
 * CRL distribution points of every certificate on a path that verified
 * (signatures checked, ending in an anchor) are collected in a bounded
 * pool that the fetcher side reads. A certificate that did not verify
 * never names a URL the agent fetches. */
#ifndef CERTSPOA_CERT_CRLS_H
#define CERTSPOA_CERT_CRLS_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

#define CERT_CDP_MAX      256     /* distinct URLs learned from chains */
#define CERT_CDP_URL_MAX  512     /* longer URLs are ignored */

/* The current set (a reference the caller releases), or NULL when none. */
struct cert_crlset;
struct cert_crlset *cert_crls_acquire(void);
void cert_crls_release(struct cert_crlset *s);
/* The CRLs of a set (owned by the set; valid while the reference is held). */
STACK_OF(X509_CRL) *cert_crlset_crls(const struct cert_crlset *s);
/* The URL crl was fetched from, or NULL when it is not in the set. */
const char *cert_crlset_source(const struct cert_crlset *s, const X509_CRL *crl);

/* Publish crls, urls[i] being where CRL i came from (copied). The stack is
 * taken: the caller must not touch it afterwards (NULL or empty: no
 * fetched CRLs). Bumps the generation. Writers are serialised inside.
 * Returns 0, or -1 when out of memory (crls freed, the previous set stays). */
int cert_crls_install(STACK_OF(X509_CRL) *crls, const char *const *urls);

/* +1 per install: a verification made under another generation is stale. */
unsigned int cert_crls_gen(void);

/* Drops the current set (at exit, for leak checkers). */
void cert_crls_clear(void);

/* CDP learning on or off (off by default). */
void cert_cdp_learning(int on);
int cert_cdp_learning_on(void);
/* The URLs of the CDPs of every certificate of a verified path. */
void cert_cdp_note_chain(STACK_OF(X509) *path);
/* +1 per URL learned. */
unsigned int cert_cdp_gen(void);
/* Calls fn for each URL learned so far (under the pool's lock: fn must be
 * quick and must not call back into this module). */
void cert_cdp_each(void (*fn)(void *arg, const char *url), void *arg);
/* The http(s) CDP URLs of one certificate, via fn. Returns how many. */
int cert_cdp_urls(X509 *x, void (*fn)(void *arg, const char *url), void *arg);

/* A fetched CRL, parsed from DER or PEM (exactly one CRL). NULL with the
 * reason in err when it is neither. */
X509_CRL *cert_crl_parse(const void *data, size_t len, char *err, size_t errlen);

/* Checks a parsed CRL at time now: its signature against issuer (the
 * CA named by its issuer field, found by the caller), thisUpdate not in
 * the future (beyond skew seconds). 0, or -1 with the reason in err. */
int cert_crl_check(X509_CRL *crl, X509 *issuer, int64_t now, int64_t skew,
                   char *err, size_t errlen);

/* thisUpdate and nextUpdate (0 when absent) as unix time. */
void cert_crl_dates(const X509_CRL *crl, int64_t *this_update, int64_t *next_update);

#endif /* CERTSPOA_CERT_CRLS_H */
