/* Per-thread decision cache keyed by the SHA-256 of the raw certificate DER.
 * 2-way set associative, fixed size, allocated once: a hit costs a hash and
 * two compares, no lock and no allocation. Only the owning thread touches it. */
#ifndef CERTSPOA_CACHE_H
#define CERTSPOA_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "cert-t.h"
#include "cert-store-t.h"
#include "counter.h"

/* OCSP keys kept per entry (ocsp = chain on a longer path computes the
 * rest per request). */
#define CACHE_OCSP_KEYS 4

/* An agent verification result is reused for at most this long. */
#define CACHE_VERIFY_TTL 60

struct cache_entry {
	unsigned char key[32];         /* SHA-256 of the DER; all-zero = empty */
	uint64_t last_used;            /* cache tick, for replacement */
	unsigned int generation;       /* config generation it was filled under */
	int parsed;                    /* facts valid (else: garbage DER) */
	/* agent verification, valid for (store, chain_hash) within the TTL */
	const void *verify_store;
	uint64_t chain_hash;
	int64_t verified_at;
	int verify_code;
	int verify_depth;
	unsigned int learned_gen;      /* cert_store_learned_gen() when verified */
	unsigned int crls_gen;         /* cert_crls_gen() when verified: fetched CRLs changed since? */
	struct cert_revocation rev;    /* which CRL entry revoked it (verify_code 23) */
	/* inventory, for the stats page */
	uint64_t requests;
	int64_t last_seen;
	int last_code;                 /* enum dec_code of the last decision */
	const char *last_rule;         /* its rule (a static string), for the admin socket's explain */
	struct cert_ext *ext;          /* owned; freed when the slot is reused */
	char spki_hex[65];             /* of ext->spki_sha256, made once */
	/* the leaf's issuer on the path that verified: part of the
	 * verification above (same store, chain, learned generation, TTL);
	 * issuer_found is 0 when no path verified */
	int issuer_found;
	unsigned char issuer_sha1[20];
	unsigned char issuer_sha256[32];
	char *issuer_dn;               /* owned, dn_canon of its subject; freed with the slot */
	struct stack_st_X509 *path;    /* owned: that verified path (OCSP asks about its certificates) */
	int ocsp_nkeys;                /* OCSP keys of its first pairs, made once per path */
	unsigned char ocsp_keys[CACHE_OCSP_KEYS][32];
	struct cert_facts facts;
};

/* The SHA-256 of a recently seen certificate, kept with a copy of its DER
 * so that the next request with the same bytes skips hashing them: a hit
 * is a byte-for-byte equal DER, so it is exactly cert_sha256() of it. Only
 * a function of the bytes: reloads and clears leave it alone. */
#define CACHE_DER_MEMO     64        /* slots, direct-mapped (power of two) */
#define CACHE_DER_MEMO_MAX 8192      /* a larger DER is hashed every time */

struct cache_der_memo {
	unsigned char *der;            /* owned copy; NULL = empty */
	size_t len, cap;
	unsigned char key[32];
};

struct cache {
	struct cache_entry *slots;     /* nb_sets * 2 */
	struct cache_der_memo *memo;   /* CACHE_DER_MEMO; NULL: hash every time */
	size_t mask;                   /* nb_sets - 1 */
	uint64_t tick;
	uint64_t hits, misses;
	uint64_t memo_hits;
};

/* entries is rounded up to a power of two; 0 disables the cache (every
 * lookup misses and cache_slot() hands out one scratch entry). */
int cache_init(struct cache *c, size_t entries);
void cache_destroy(struct cache *c);

/* Entry for key filled under generation gen, or NULL. */
struct cache_entry *cache_get(struct cache *c, const unsigned char key[32],
                              unsigned int gen);

/* Slot to fill for key (the older of the two ways is evicted). The caller
 * fills it completely; the key is set here. */
struct cache_entry *cache_slot(struct cache *c, const unsigned char key[32],
                               unsigned int gen);

/* Empty the cache (frees what the entries own); counters stay. */
void cache_clear(struct cache *c);

/* key = SHA-256 of der, through the memo above; memo_hits counts the
 * requests it saved a hash. */
void cache_der_key(struct cache *c, const unsigned char *der, size_t len,
                   unsigned char key[32]);

/* "clear cache" on the admin socket: any thread asks every cache to be
 * emptied by bumping an epoch; each owner compares it before its next
 * lookup (decide_sync()) and clears its own cache in its own thread. */
void cache_request_clear_all(void);
unsigned int cache_clear_epoch(void);

/* The verdict generation (txn.certspoa.gen): one process-wide number that
 * grows whenever a decision may change. HAProxy keeps a reusable allow
 * only while its generation is the newest it has seen (proc.certspoa_gen).
 * Bumped after each such change is visible to the deciding threads: a
 * worker adopting a new configuration (handler_set_config: reloads, and
 * fetched lists, CA, JWKS and bundles, which reload), a runtime deny set
 * published (rtdeny_publish: add, del, expiry), a CRL set installed
 * (cert-crls.c), "clear cache". A decision reads it BEFORE deciding, so
 * an answer built on older state never carries a newer generation.
 * cache_verdict_gen_start() sets its start (main: the start time, so a
 * restarted agent counts on above the HAProxy's proc.certspoa_gen of the
 * previous one); it never decreases. */
void cache_verdict_gen_start(uint64_t base);
void cache_verdict_gen_bump(void);
uint64_t cache_verdict_gen(void);

/* A fast non-cryptographic 64-bit hash (for the client chain bytes). */
uint64_t cache_hash64(const void *data, size_t len);

#endif /* CERTSPOA_CACHE_H */
