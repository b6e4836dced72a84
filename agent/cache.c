/* Decision cache: see cache.h. */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "cache.h"
#include "cert-ext.h"
#include "cert-facts.h"

int cache_init(struct cache *c, size_t entries)
{
	size_t sets = 1;

	memset(c, 0, sizeof(*c));
	if (entries < 2)
		entries = 2;          /* a disabled cache still needs a scratch slot */
	while (sets * 2 < entries)
		sets <<= 1;
	c->slots = calloc(sets * 2, sizeof(*c->slots));
	if (!c->slots)
		return -1;
	c->mask = sets - 1;
	/* without it every request is hashed: slower, never wrong */
	c->memo = calloc(CACHE_DER_MEMO, sizeof(*c->memo));
	return 0;
}

/* What an entry owns, released; the one place that knows (destroy,
 * clear and reuse all come here). */
static void entry_release(struct cache_entry *e)
{
	cert_ext_free(e->ext);
	free(e->issuer_dn);
	sk_X509_pop_free(e->path, X509_free);
}

void cache_destroy(struct cache *c)
{
	for (size_t i = 0; c->slots && i < (c->mask + 1) * 2; i++)
		entry_release(&c->slots[i]);
	free(c->slots);
	c->slots = NULL;
	for (size_t i = 0; c->memo && i < CACHE_DER_MEMO; i++)
		free(c->memo[i].der);
	free(c->memo);
	c->memo = NULL;
}

void cache_clear(struct cache *c)
{
	size_t n = (c->mask + 1) * 2;

	for (size_t i = 0; c->slots && i < n; i++) {
		entry_release(&c->slots[i]);
		memset(&c->slots[i], 0, sizeof(c->slots[i]));
	}
}

static unsigned int clear_epoch;

void cache_request_clear_all(void)
{
	__atomic_add_fetch(&clear_epoch, 1, __ATOMIC_RELEASE);
	cache_verdict_gen_bump();
}

static uint64_t verdict_gen = 1;

void cache_verdict_gen_start(uint64_t base)
{
	uint64_t cur = __atomic_load_n(&verdict_gen, __ATOMIC_ACQUIRE);

	/* only up: never below what an answer may already have carried */
	while (base > cur && !__atomic_compare_exchange_n(&verdict_gen, &cur, base, 0,
	                                                   __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE))
		;
}

void cache_verdict_gen_bump(void)
{
	__atomic_add_fetch(&verdict_gen, 1, __ATOMIC_SEQ_CST);
}

uint64_t cache_verdict_gen(void)
{
	return __atomic_load_n(&verdict_gen, __ATOMIC_SEQ_CST);
}

unsigned int cache_clear_epoch(void)
{
	return __atomic_load_n(&clear_epoch, __ATOMIC_ACQUIRE);
}

static inline size_t set_of(const struct cache *c, const unsigned char key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));   /* SHA-256 bytes are already uniform */
	return (size_t)(h & c->mask) * 2;
}

struct cache_entry *cache_get(struct cache *c, const unsigned char key[32],
                              unsigned int gen)
{
	struct cache_entry *e = &c->slots[set_of(c, key)];

	for (int way = 0; way < 2; way++, e++) {
		if (e->generation == gen && e->last_used &&
		    memcmp(e->key, key, 32) == 0) {
			e->last_used = ++c->tick;
			CTR_INC(c->hits);
			return e;
		}
	}
	CTR_INC(c->misses);
	return NULL;
}

struct cache_entry *cache_slot(struct cache *c, const unsigned char key[32],
                               unsigned int gen)
{
	struct cache_entry *e = &c->slots[set_of(c, key)];

	/* same key in either way (stale generation): reuse it, else the LRU way */
	if (!(memcmp(e[0].key, key, 32) == 0 && e[0].last_used) &&
	    ((memcmp(e[1].key, key, 32) == 0 && e[1].last_used) ||
	     e[1].last_used < e[0].last_used))
		e++;
	entry_release(e);
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, 32);
	e->generation = gen;
	e->last_used = ++c->tick;
	return e;
}

/* The memo slot of a DER: its length, its first 32 bytes (the serial
 * number is there) and its last 64 (the signature): cheap, and it tells
 * apart the certificates of one CA. Only a slot choice; memcmp decides. */
static size_t memo_slot(const unsigned char *der, size_t len)
{
	size_t head = len < 32 ? len : 32, tail = len - head < 64 ? len - head : 64;
	uint64_t h = cache_hash64(der, head) ^ (cache_hash64(der + len - tail, tail) * 0x9e3779b97f4a7c15ULL);

	return (size_t)(h >> 32) & (CACHE_DER_MEMO - 1);
}

void cache_der_key(struct cache *c, const unsigned char *der, size_t len,
                   unsigned char key[32])
{
	struct cache_der_memo *m;

	if (!c->memo || len == 0 || len > CACHE_DER_MEMO_MAX) {
		cert_sha256(der, len, key);
		return;
	}
	m = &c->memo[memo_slot(der, len)];
	if (m->der && m->len == len && memcmp(m->der, der, len) == 0) {
		memcpy(key, m->key, 32);
		CTR_INC(c->memo_hits);
		return;
	}
	cert_sha256(der, len, key);
	if (m->cap < len) {
		unsigned char *p = realloc(m->der, len);

		if (!p)                /* keep the old entry; this one is just not memoized */
			return;
		m->der = p;
		m->cap = len;
	}
	memcpy(m->der, der, len);
	m->len = len;
	memcpy(m->key, key, 32);
}

uint64_t cache_hash64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (len * 0xff51afd7ed558ccdULL);
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		h ^= w * 0xc2b2ae3d27d4eb4fULL;
		h = (h << 31 | h >> 33) * 0x9e3779b97f4a7c15ULL;
		p += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, p, len);
	h ^= w * 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return h;
}
