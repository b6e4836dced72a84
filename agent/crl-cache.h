/* The CRL disk cache in state_dir: for each CRL source URL the last good
 * CRL as crl-<sha256 of the URL, hex>.der and the URL itself in the .url
 * file of the same name. revoc.c writes it and reads it back at startup;
 * certspoa explain reads it so that it decides with the CRLs the agent
 * holds. Reading only: no network, no clock (now is passed in). */
#ifndef CERTSPOA_CRL_CACHE_H
#define CERTSPOA_CRL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "cfg-t.h"

/* One cached CRL: url, the parsed CRL (borrowed: fn takes a reference
 * with X509_CRL_up_ref to keep it) and the copy's mtime; or crl NULL and
 * why when its files cannot be read or parsed. */
typedef void (*crl_cache_fn)(void *arg, const char *url, X509_CRL *crl, int64_t mtime,
                             const char *why);

/* Calls fn for every crl-*.url of dir (the .der read up to max bytes).
 * 0, or -1 with err when dir cannot be opened. */
int crl_cache_each(const char *dir, size_t max, crl_cache_fn fn, void *arg,
                   char *err, size_t errlen);

/* Checks a CRL as the fetcher does before it uses it: signed by a CA of
 * one of cfg's policy stores, thisUpdate not in the future (beyond 60 s).
 * 0, or -1 with the reason in why. */
int crl_cache_check(const struct config *cfg, X509_CRL *crl, int64_t now,
                    char *why, size_t whylen);

/* 1 when cfg would fetch url as a CRL (listed in crl_urls, or any URL
 * with crl_fetch = cdp). */
int crl_cache_wanted(const struct config *cfg, const char *url);

/* Reads a small file whole (NUL-terminated, malloc'd); NULL on error,
 * when empty or when larger than max. */
char *crl_cache_read_small(const char *path, size_t max, size_t *len);

#endif /* CERTSPOA_CRL_CACHE_H */
