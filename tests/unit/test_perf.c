/* The per-NOTIFY fast paths (issue 15): the DER -> SHA-256 memo of the
 * decision cache, and the one-byte-length shortcuts of the SPOP encoder,
 * must give exactly what the slow paths give. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cert-facts.h"
#include "spop.h"
#include "testhelp.h"

static void fill(unsigned char *b, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (unsigned char)(seed >> 16);
	}
}

/* Two DERs of one length, equal in their first 32 and last 64 bytes (the
 * memo's slot is the same), different in the middle: each gets its own
 * SHA-256, first, again, and alternating. */
TEST(perf_der_memo_same_slot_different_bytes)
{
	struct cache c;
	unsigned char a[1200], b[1200], ka[32], kb[32], want_a[32], want_b[32];

	fill(a, sizeof(a), 7);
	memcpy(b, a, sizeof(b));
	b[600] ^= 0x01;
	cert_sha256(a, sizeof(a), want_a);
	cert_sha256(b, sizeof(b), want_b);
	CHECK(memcmp(want_a, want_b, 32) != 0);
	CHECK_EQ_INT(cache_init(&c, 64), 0);
	CHECK(c.memo != NULL);
	for (int round = 0; round < 3; round++) {
		cache_der_key(&c, a, sizeof(a), ka);
		CHECK_EQ_MEM(ka, want_a, 32);
		cache_der_key(&c, b, sizeof(b), kb);
		CHECK_EQ_MEM(kb, want_b, 32);
	}
	/* the same bytes twice in a row: the second is a memo hit */
	{
		uint64_t before;

		cache_der_key(&c, a, sizeof(a), ka);
		before = c.memo_hits;
		cache_der_key(&c, a, sizeof(a), ka);
		CHECK_EQ_INT(c.memo_hits, before + 1);
		CHECK_EQ_MEM(ka, want_a, 32);
	}
	cache_destroy(&c);
}

/* A prefix of a memoized DER (same head, shorter) is not the same
 * certificate; nor are sizes around the memo's limit, nor tiny ones. */
TEST(perf_der_memo_lengths)
{
	static const size_t lens[] = { 1, 31, 32, 33, 95, 96, 97, 1000, CACHE_DER_MEMO_MAX,
	                               CACHE_DER_MEMO_MAX + 1, 3 * CACHE_DER_MEMO_MAX };
	struct cache c;
	unsigned char *buf = malloc(3 * CACHE_DER_MEMO_MAX), key[32], want[32];

	CHECK(buf != NULL);
	if (!buf)
		return;
	fill(buf, 3 * CACHE_DER_MEMO_MAX, 99);
	CHECK_EQ_INT(cache_init(&c, 16), 0);
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			cert_sha256(buf, lens[i], want);
			cache_der_key(&c, buf, lens[i], key);
			CHECK_EQ_MEM(key, want, 32);
		}
	}
	/* many distinct certificates through 64 slots: always their own key */
	for (unsigned int s = 0; s < 500; s++) {
		fill(buf, 900, s);
		cert_sha256(buf, 900, want);
		cache_der_key(&c, buf, 900, key);
		CHECK_EQ_MEM(key, want, 32);
	}
	/* a clear (reload, runtime deny) leaves keys right */
	cache_clear(&c);
	fill(buf, 900, 499);
	cert_sha256(buf, 900, want);
	cache_der_key(&c, buf, 900, key);
	CHECK_EQ_MEM(key, want, 32);
	cache_destroy(&c);
	free(buf);
}

/* The encoder's shortcuts around the one-byte length (239/240) write the
 * bytes the general path writes, and refuse a buffer one byte short. */
TEST(perf_put_str_boundaries)
{
	static const size_t lens[] = { 0, 1, 238, 239, 240, 241, 2000 };
	char src[2000], out[2100];

	memset(src, 'x', sizeof(src));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i], hdr = n < 240 ? 1 : 2;
		char *p = out, *v = out;
		const char *q;
		struct spop_str s;

		CHECK_EQ_INT(spop_put_str(&p, out + sizeof(out), src, n), 0);
		CHECK_EQ_INT(p - out, (long long)(hdr + n));
		q = out;
		CHECK_EQ_INT(spop_get_str(&q, p, &s), 0);
		CHECK_EQ_INT(s.len, n);
		CHECK(q == p);
		/* exactly enough room, then one byte less */
		p = out;
		CHECK_EQ_INT(spop_put_str(&p, out + hdr + n, src, n), 0);
		p = out;
		CHECK_EQ_INT(spop_put_str(&p, out + hdr + n - 1, src, n), -1);
		CHECK(p == out);
		/* the varint of the length alone */
		CHECK_EQ_INT(spop_put_varint(&v, out + sizeof(out), n), 0);
		CHECK_EQ_INT(v - out, (long long)hdr);
		v = out;
		CHECK_EQ_INT(spop_put_varint(&v, out + hdr - 1, n), -1);
	}
}

/* SET-VAR of a string: the short-name short-value shortcut writes what
 * the general encoding (header, name, typed data) writes, at every length
 * around the one-byte limit, and nothing when one byte is missing. */
TEST(perf_set_var_str_same_bytes)
{
	static const size_t lens[] = { 0, 1, 64, 239, 240, 300 };
	char name[300], value[300], got[1000], want[1000];

	memset(name, 'n', sizeof(name));
	memset(value, 'v', sizeof(value));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			for (int type = SPOP_DATA_STR; type <= SPOP_DATA_BIN; type++) {
				struct spop_data d = { .type = (enum spop_data_type)type };
				char *g = got, *w = want;
				size_t nl = lens[i], vl = lens[j];

				d.u.str.ptr = vl ? value : NULL;
				d.u.str.len = vl;
				*w++ = SPOP_ACT_SET_VAR;
				*w++ = 3;
				*w++ = SPOP_SCOPE_TXN;
				CHECK_EQ_INT(spop_put_str(&w, want + sizeof(want), name, nl), 0);
				CHECK_EQ_INT(spop_put_data(&w, want + sizeof(want), &d), 0);
				CHECK_EQ_INT(spop_put_set_var(&g, got + sizeof(got), SPOP_SCOPE_TXN, name, nl, &d), 0);
				CHECK_EQ_INT(g - got, w - want);
				CHECK_EQ_MEM(got, want, (size_t)(w - want));
				/* one byte short: refused, nothing moved */
				g = got;
				CHECK_EQ_INT(spop_put_set_var(&g, got + (w - want) - 1, SPOP_SCOPE_TXN, name, nl, &d), -1);
				CHECK(g == got);
			}
		}
	}
}
