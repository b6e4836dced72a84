/* Thumbprint list: line parsing, file loading with file:line errors, and a
 * 100,000-entry set. Files are made with mkstemp() under /tmp and removed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tplist.h"
#include "testhelp.h"

#define SHA1_ABC   "a9993e364706816aba3e25717850c26c9cd0d89d"
#define SHA256_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static const unsigned char sha1_abc[20] = {
	0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e,
	0x25, 0x71, 0x78, 0x50, 0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d,
};
static const unsigned char sha256_abc[32] = {
	0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde,
	0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
	0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
};

static int parse(const char *s, unsigned char out[32])
{
	return tplist_parse_line(s, strlen(s), out);
}

/* Writes len bytes to a new file under /tmp; path gets its name. */
static int write_tmp(const char *data, size_t len, char *path, size_t pathlen)
{
	char tmpl[] = "/tmp/certspoa-tplist-XXXXXX";
	int fd = mkstemp(tmpl);
	size_t off = 0;

	if (fd == -1)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w == -1) {
			close(fd);
			unlink(tmpl);
			return -1;
		}
		off += (size_t)w;
	}
	close(fd);
	snprintf(path, pathlen, "%s", tmpl);
	return 0;
}

static void to_hex(const unsigned char *d, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/* splitmix64: a fixed seed gives the same "random" digests on every run */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_fill(uint64_t *s, unsigned char *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 8) {
		uint64_t v = rng_next(s);

		memcpy(d + i, &v, n - i < 8 ? n - i : 8);
	}
}

TEST(tplist_parse_forms)
{
	unsigned char d[32];

	memset(d, 0, sizeof(d));
	CHECK_EQ_INT(parse(SHA1_ABC, d), 20);
	CHECK_EQ_MEM(d, sha1_abc, 20);
	CHECK_EQ_INT(parse(SHA256_ABC, d), 32);
	CHECK_EQ_MEM(d, sha256_abc, 32);
	CHECK_EQ_INT(parse("A9993E364706816ABA3E25717850C26C9CD0D89D", d), 20);
	CHECK_EQ_MEM(d, sha1_abc, 20);
	CHECK_EQ_INT(parse("A9:99:3e:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D", d), 20);
	CHECK_EQ_MEM(d, sha1_abc, 20);
	CHECK_EQ_INT(parse("BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:"
	                   "B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD", d), 32);
	CHECK_EQ_MEM(d, sha256_abc, 32);
}

TEST(tplist_parse_trimming_and_comments)
{
	unsigned char d[32];
	const char *buf = SHA1_ABC "ff";

	CHECK_EQ_INT(parse("  \t" SHA1_ABC " \t", d), 20);
	CHECK_EQ_MEM(d, sha1_abc, 20);
	CHECK_EQ_INT(parse(SHA1_ABC "\r", d), 20);
	CHECK_EQ_INT(parse(SHA1_ABC "\r\n", d), 20);
	CHECK_EQ_INT(parse(SHA256_ABC "  # alice, laptop", d), 32);
	CHECK_EQ_MEM(d, sha256_abc, 32);
	/* one comment syntax (comment.h): '#' or ';' after white space only */
	CHECK_EQ_INT(parse(SHA256_ABC "#no space", d), -1);
	CHECK_EQ_INT(parse(SHA256_ABC " ; semicolon", d), 32);
	CHECK_EQ_INT(parse("\t" SHA256_ABC "\t# tabbed\r", d), 32);
	CHECK_EQ_INT(parse("", d), 0);
	CHECK_EQ_INT(parse("   \t ", d), 0);
	CHECK_EQ_INT(parse("\r", d), 0);
	CHECK_EQ_INT(parse("# just a comment", d), 0);
	CHECK_EQ_INT(parse("   # indented comment " SHA1_ABC, d), 0);
	CHECK_EQ_INT(tplist_parse_line(NULL, 0, d), 0);
	/* only len bytes are read: the buffer need not end after the digest */
	CHECK_EQ_INT(tplist_parse_line(buf, 40, d), 20);
	CHECK_EQ_MEM(d, sha1_abc, 20);
	CHECK_EQ_INT(tplist_parse_line(buf, 42, d), -1);
}

TEST(tplist_parse_rejects)
{
	unsigned char d[32];
	char nul[41];

	/* wrong lengths: 19, 21, 31, 33 bytes; odd digit counts */
	CHECK_EQ_INT(parse("a9993e364706816aba3e25717850c26c9cd0d8", d), -1);
	CHECK_EQ_INT(parse(SHA1_ABC "00", d), -1);
	CHECK_EQ_INT(parse("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015", d), -1);
	CHECK_EQ_INT(parse(SHA256_ABC "00", d), -1);
	CHECK_EQ_INT(parse("a9993e364706816aba3e25717850c26c9cd0d89", d), -1);
	CHECK_EQ_INT(parse(SHA1_ABC "0", d), -1);
	CHECK_EQ_INT(parse(SHA256_ABC "0", d), -1);
	CHECK_EQ_INT(parse("0", d), -1);
	/* not hex, or hex with extra decoration */
	CHECK_EQ_INT(parse("g9993e364706816aba3e25717850c26c9cd0d89d", d), -1);
	CHECK_EQ_INT(parse("0x" SHA1_ABC, d), -1);
	CHECK_EQ_INT(parse("a9993e364706816aba3e 25717850c26c9cd0d89d", d), -1);
	CHECK_EQ_INT(parse("a9993e364706816aba3e\t25717850c26c9cd0d89d", d), -1);
	CHECK_EQ_INT(parse("sha1=" SHA1_ABC, d), -1);
	CHECK_EQ_INT(parse(SHA1_ABC " trailing words", d), -1);
	CHECK_EQ_INT(parse("\v" SHA1_ABC, d), -1);
	memcpy(nul, SHA1_ABC, 40);
	nul[10] = '\0';
	CHECK_EQ_INT(tplist_parse_line(nul, 40, d), -1);
	CHECK_EQ_INT(tplist_parse_line(NULL, 40, d), -1);
	/* misplaced colons */
	CHECK_EQ_INT(parse(":A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D", d), -1);
	CHECK_EQ_INT(parse("A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D:", d), -1);
	CHECK_EQ_INT(parse("A9::99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D", d), -1);
	CHECK_EQ_INT(parse("A:999:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D", d), -1);
	CHECK_EQ_INT(parse("A9:993E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D", d), -1);
	CHECK_EQ_INT(parse("A999:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D", d), -1);
	CHECK_EQ_INT(parse(":", d), -1);
}

TEST(tplist_sha1_sha256_kept_apart)
{
	struct tplist *l = tplist_new();
	unsigned char d[32], s[20];

	CHECK(l != NULL);
	if (!l)
		return;
	CHECK_EQ_INT(tplist_count(l), 0);
	CHECK_EQ_INT(tplist_has(l, sha1_abc, sha256_abc), 0);

	/* a SHA-256 in the list: its first 20 bytes as a SHA-1 do not match */
	CHECK_EQ_INT(tplist_add(l, sha256_abc, 32), 0);
	CHECK_EQ_INT(tplist_has(l, NULL, sha256_abc), 1);
	CHECK_EQ_INT(tplist_has(l, sha256_abc, NULL), 0);
	CHECK_EQ_INT(tplist_has(l, sha1_abc, NULL), 0);

	/* a SHA-1 in the list: a SHA-256 starting with it does not match */
	CHECK_EQ_INT(tplist_add(l, sha1_abc, 20), 0);
	memset(d, 0, sizeof(d));
	memcpy(d, sha1_abc, 20);
	CHECK_EQ_INT(tplist_has(l, NULL, d), 0);
	CHECK_EQ_INT(tplist_has(l, sha1_abc, NULL), 1);
	CHECK_EQ_INT(tplist_has(l, sha1_abc, d), 1);

	/* one bit off */
	memcpy(s, sha1_abc, 20);
	s[19] ^= 1;
	CHECK_EQ_INT(tplist_has(l, s, NULL), 0);
	memcpy(d, sha256_abc, 32);
	d[0] ^= 0x80;
	CHECK_EQ_INT(tplist_has(l, s, d), 0);

	/* duplicates are accepted and counted once; bad lengths refused */
	CHECK_EQ_INT(tplist_add(l, sha1_abc, 20), 0);
	CHECK_EQ_INT(tplist_count(l), 2);
	CHECK_EQ_INT(tplist_add(l, sha1_abc, 16), -1);
	CHECK_EQ_INT(tplist_add(l, NULL, 20), -1);
	CHECK_EQ_INT(tplist_has(NULL, sha1_abc, sha256_abc), 0);
	CHECK_EQ_INT(tplist_count(NULL), 0);
	tplist_free(l);
	tplist_free(NULL);
}

TEST(tplist_load_file)
{
	static const char text[] =
		"# allowed client certificates\n"
		"\n"
		SHA1_ABC "  # alice\n"
		"   \t\n"
		"BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:"
		"B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD\r\n"
		"A9993E364706816ABA3E25717850C26C9CD0D89D\r\n"   /* duplicate */
		"# last line has no newline\n"
		"0000000000000000000000000000000000000000";
	char path[64], err[256];
	unsigned char zero[20];
	struct tplist *l;

	CHECK(write_tmp(text, sizeof(text) - 1, path, sizeof(path)) == 0);
	err[0] = '\0';
	l = tplist_load(path, err, sizeof(err));
	CHECK(l != NULL);
	CHECK_EQ_STR(err, "");
	if (l) {
		memset(zero, 0, sizeof(zero));
		CHECK_EQ_INT(tplist_count(l), 3);
		CHECK_EQ_INT(tplist_has(l, sha1_abc, NULL), 1);
		CHECK_EQ_INT(tplist_has(l, NULL, sha256_abc), 1);
		CHECK_EQ_INT(tplist_has(l, zero, NULL), 1);
	}
	tplist_free(l);
	unlink(path);
}

TEST(tplist_load_empty_file)
{
	char path[64], err[256];
	struct tplist *l;

	CHECK(write_tmp("", 0, path, sizeof(path)) == 0);
	l = tplist_load(path, err, sizeof(err));
	CHECK(l != NULL);
	CHECK_EQ_INT(tplist_count(l), 0);
	CHECK_EQ_INT(tplist_has(l, sha1_abc, sha256_abc), 0);
	tplist_free(l);
	unlink(path);

	/* comments and blank lines only: also a valid empty list */
	CHECK(write_tmp("# nobody yet\n\n  \n", 17, path, sizeof(path)) == 0);
	l = tplist_load(path, err, sizeof(err));
	CHECK(l != NULL);
	CHECK_EQ_INT(tplist_count(l), 0);
	tplist_free(l);
	unlink(path);
}

TEST(tplist_load_errors)
{
	static const char bad7[] =
		"# line 1\n" SHA1_ABC "\n\n" SHA256_ABC "\n# 5\n\n"
		SHA1_ABC "0\n" SHA1_ABC "\n";
	char path[64], err[256], want[320];
	char *big;
	struct tplist *l;

	/* the error names the file and the line */
	CHECK(write_tmp(bad7, sizeof(bad7) - 1, path, sizeof(path)) == 0);
	l = tplist_load(path, err, sizeof(err));
	CHECK(l == NULL);
	snprintf(want, sizeof(want), "%s:7: not a SHA-1 or SHA-256 hex digest", path);
	CHECK_EQ_STR(err, want);
	tplist_free(l);
	/* a caller that does not want the text */
	CHECK(tplist_load(path, NULL, 0) == NULL);
	unlink(path);

	l = tplist_load("/nonexistent/certspoa/allowed.txt", err, sizeof(err));
	CHECK(l == NULL);
	CHECK_EQ_STR(err, "/nonexistent/certspoa/allowed.txt: No such file or directory");

	l = tplist_load("/tmp", err, sizeof(err));
	CHECK(l == NULL);
	CHECK_EQ_STR(err, "/tmp: Is a directory");

	/* line 2 is a comment of 4097 characters: too long */
	big = malloc(41 + 4097 + 1);
	CHECK(big != NULL);
	if (!big)
		return;
	memcpy(big, SHA1_ABC "\n", 41);
	big[41] = '#';
	memset(big + 42, 'x', 4096);
	big[41 + 4097] = '\n';
	CHECK(write_tmp(big, 41 + 4097 + 1, path, sizeof(path)) == 0);
	l = tplist_load(path, err, sizeof(err));
	CHECK(l == NULL);
	snprintf(want, sizeof(want), "%s:2: line longer than 4096 characters", path);
	CHECK_EQ_STR(err, want);
	unlink(path);

	/* 4096 characters, not counting the newline, is still fine */
	big[41 + 4096] = '\n';
	CHECK(write_tmp(big, 41 + 4096 + 1, path, sizeof(path)) == 0);
	l = tplist_load(path, err, sizeof(err));
	CHECK(l != NULL);
	CHECK_EQ_INT(tplist_count(l), 1);
	tplist_free(l);
	unlink(path);
	free(big);
}

TEST(tplist_100k_entries)
{
	enum { N = 100000 };
	uint64_t seed = 0x5eed;
	unsigned char d[32];
	char path[64], err[256], hex[65];
	char *text;
	size_t off = 0, i, found = 0, absent = 0;
	struct tplist *l;

	/* 100,000 digests: every 4th a SHA-1, the rest SHA-256 */
	text = malloc((size_t)N * 66);
	CHECK(text != NULL);
	if (!text)
		return;
	for (i = 0; i < N; i++) {
		size_t n = (i % 4 == 0) ? 20 : 32;

		rng_fill(&seed, d, n);
		to_hex(d, n, hex);
		memcpy(text + off, hex, 2 * n);
		off += 2 * n;
		text[off++] = '\n';
	}
	CHECK(write_tmp(text, off, path, sizeof(path)) == 0);
	free(text);
	l = tplist_load(path, err, sizeof(err));
	unlink(path);
	CHECK(l != NULL);
	if (!l)
		return;
	CHECK_EQ_INT(tplist_count(l), N);

	/* replay the same sequence: every digest is found */
	seed = 0x5eed;
	for (i = 0; i < N; i++) {
		size_t n = (i % 4 == 0) ? 20 : 32;

		rng_fill(&seed, d, n);
		found += n == 20 ? tplist_has(l, d, NULL) : tplist_has(l, NULL, d);
	}
	CHECK_EQ_INT(found, N);

	/* 100,000 others (both kinds) are not */
	for (i = 0; i < N; i++) {
		unsigned char s[20];

		rng_fill(&seed, s, 20);
		rng_fill(&seed, d, 32);
		absent += !tplist_has(l, s, d);
	}
	CHECK_EQ_INT(absent, N);
	tplist_free(l);
}
