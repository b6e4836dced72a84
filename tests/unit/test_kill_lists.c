/* List look-ups that mutation testing (tests/mutation/) showed no test
 * pinned: near misses. A list must answer "no" for a value that differs
 * from an entry in one byte, or is a prefix of it, wherever the difference
 * is; the earlier tests only asked about listed or unrelated values. */
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "strset.h"
#include "testhelp.h"
#include "tplist.h"

/* Kills tplist-sha1-prefix: a SHA-1 that differs from a listed one in any
 * single byte, in any bit of it, is not on the list; nor a SHA-256. The
 * list holds a few digests so that near misses probe into occupied slots. */
TEST(kill_tplist_near_miss_digests)
{
	struct tplist *l = tplist_new();
	unsigned char sha1[20], sha256[32], probe[32];
	int false_hits = 0, misses = 0;

	CHECK(l != NULL);
	if (!l)
		return;
	for (int n = 0; n < 8; n++) {
		for (int i = 0; i < 20; i++)
			sha1[i] = (unsigned char)(0x3c + 7 * i + 31 * n);
		for (int i = 0; i < 32; i++)
			sha256[i] = (unsigned char)(0xa5 ^ (11 * i + 17 * n));
		CHECK_EQ_INT(tplist_add(l, sha1, 20), 0);
		CHECK_EQ_INT(tplist_add(l, sha256, 32), 0);
	}
	for (int n = 0; n < 8; n++) {
		for (int i = 0; i < 20; i++)
			sha1[i] = (unsigned char)(0x3c + 7 * i + 31 * n);
		for (int i = 0; i < 32; i++)
			sha256[i] = (unsigned char)(0xa5 ^ (11 * i + 17 * n));
		misses += !tplist_has(l, sha1, NULL) + !tplist_has(l, NULL, sha256);
		for (int pos = 0; pos < 20; pos++) {
			for (int bit = 0; bit < 8; bit++) {
				memcpy(probe, sha1, 20);
				probe[pos] ^= (unsigned char)(1u << bit);
				false_hits += tplist_has(l, probe, NULL);
			}
		}
		for (int pos = 0; pos < 32; pos++) {
			for (int bit = 0; bit < 8; bit++) {
				memcpy(probe, sha256, 32);
				probe[pos] ^= (unsigned char)(1u << bit);
				false_hits += tplist_has(l, NULL, probe);
			}
		}
		/* the last bytes are where a short comparison stops looking */
		for (int v = 0; v < 256; v++) {
			memcpy(probe, sha1, 20);
			if (probe[19] == v)
				continue;
			probe[19] = (unsigned char)v;
			false_hits += tplist_has(l, probe, NULL);
		}
	}
	CHECK_EQ_INT(misses, 0);
	CHECK_EQ_INT(false_hits, 0);
	tplist_free(l);
}

/* Kills strset-length-ignored: no prefix of a listed string, and no
 * listed string plus a suffix, is in the set. */
TEST(kill_strset_prefixes_are_not_members)
{
	static const char *const items[] = {
		"spiffe://prod.example.org/ns/shop/sa/orders", "alice@example.com",
		"cn=alice smith/o=example corp", "*.internal.example.com", "admin",
	};
	struct strset *s = strset_new();
	char buf[128];
	int false_hits = 0, misses = 0;

	CHECK(s != NULL);
	if (!s)
		return;
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		CHECK_EQ_INT(strset_add(s, items[i], strlen(items[i])), 0);
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		size_t n = strlen(items[i]);

		misses += !strset_has(s, items[i], n);
		for (size_t k = 0; k < n; k++)
			false_hits += strset_has(s, items[i], k);
		snprintf(buf, sizeof(buf), "%sx", items[i]);
		false_hits += strset_has(s, buf, n + 1);
	}
	CHECK_EQ_INT(misses, 0);
	CHECK_EQ_INT(false_hits, 0);
	strset_free(s);
}

/* Kills strset-never-grows: a set keeps free slots as it grows, so that
 * the look-up of an absent value ends (the runner's timeout catches a
 * hang), and everything added stays found. */
TEST(kill_strset_grows_and_answers_absent_values)
{
	struct strset *s = strset_new();
	char buf[32];
	int n;

	CHECK(s != NULL);
	if (!s)
		return;
	for (int i = 0; i < 300; i++) {
		n = snprintf(buf, sizeof(buf), "host%d.example.com", i);
		CHECK_EQ_INT(strset_add(s, buf, (size_t)n), 0);
		n = snprintf(buf, sizeof(buf), "absent%d", i);
		CHECK(!strset_has(s, buf, (size_t)n));
	}
	CHECK_EQ_INT(strset_count(s), 300);
	for (int i = 0; i < 300; i++) {
		n = snprintf(buf, sizeof(buf), "host%d.example.com", i);
		CHECK(strset_has(s, buf, (size_t)n));
	}
	strset_free(s);
}

/* cidr_list_match directly, on the boundaries of prefixes that are not a
 * multiple of 8, and IPv4-mapped IPv6 (also through the decision in
 * test_kill_policy.c). */
TEST(kill_cidr_boundaries)
{
	static const struct {
		const char *range;
		unsigned char addr[16];
		int len, want;
	} cases[] = {
		{ "10.16.0.0/12", { 10, 16, 0, 0 }, 4, 1 },
		{ "10.16.0.0/12", { 10, 31, 255, 255 }, 4, 1 },
		{ "10.16.0.0/12", { 10, 32, 0, 0 }, 4, 0 },
		{ "10.16.0.0/12", { 10, 15, 255, 255 }, 4, 0 },
		{ "192.168.1.128/25", { 192, 168, 1, 200 }, 4, 1 },
		{ "192.168.1.128/25", { 192, 168, 1, 127 }, 4, 0 },
		{ "2001:db8::/31", { 0x20, 0x01, 0x0d, 0xb9 }, 16, 1 },
		{ "2001:db8::/31", { 0x20, 0x01, 0x0d, 0xba }, 16, 0 },
		{ "127.0.0.0/8", { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 }, 16, 1 },
		{ "127.0.0.0/8", { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 1 }, 16, 0 },
		{ "127.0.0.0/8", { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 1 }, 16, 0 },
		{ "127.0.0.0/8", { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 127, 0, 0, 1 }, 16, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr_list l = { 0 };
		struct cidr c;

		CHECK_EQ_INT(cidr_parse(cases[i].range, &c), 0);
		CHECK_EQ_INT(cidr_list_add(&l, &c), 0);
		if (cidr_list_match(&l, cases[i].addr, cases[i].len) != cases[i].want)
			unit_fail(__FILE__, __LINE__, "case %zu (%s): expected %s", i, cases[i].range,
			          cases[i].want ? "a match" : "no match");
		cidr_list_free(&l);
	}
}
