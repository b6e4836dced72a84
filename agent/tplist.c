/* Thumbprint list: an open-addressing hash set of SHA-1 and SHA-256
 * digests, filled once from a file and then only read.
 *
 * Layout: the digests live in a dense array (33 bytes each, in load order);
 * the hash table holds 32-bit indexes into it (0 = empty slot), so a
 * 100,000-entry list costs about 3.3 MB of digests plus 1 MB of table.
 * Linear probing, power-of-two table, load factor at most 1/2, so a lookup
 * always ends on an empty slot and touches few cache lines. Lookups only
 * read: any number of threads may call tplist_has() once loading is done. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "comment.h"
#include "errbuf.h"
#include "tplist.h"
#include "strutil.h"

#define TPLIST_LINE_MAX   4096          /* longer lines are an error */
#define TPLIST_MIN_SLOTS  16
#define TPLIST_MAX_COUNT  (UINT32_MAX / 4)  /* keeps slot math in range */

struct tp_entry {
	unsigned char len;      /* 20 or 32: a SHA-1 never equals a SHA-256 */
	unsigned char d[32];
};

struct tplist {
	struct tp_entry *ent;   /* distinct digests */
	size_t count;
	size_t ent_cap;
	uint32_t *slot;         /* 0 = empty, else index into ent plus one */
	size_t mask;            /* number of slots minus one */
};

/* Digests are uniformly random, so their first 8 bytes alone would spread
 * well. We fold in every byte and finish with a multiply-xorshift anyway,
 * so a hand-written list ("0000...0001", "0000...0002") or one that mixes
 * a SHA-1 with a SHA-256 sharing its first bytes cannot pile up in one
 * probe run. It costs a few multiplies per lookup. */
static uint64_t tp_hash(const unsigned char *d, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL * (uint64_t)len, w;
	size_t i;

	for (i = 0; i < len; i += 8) {
		w = 0;
		memcpy(&w, d + i, len - i < 8 ? len - i : 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static int tp_find(const struct tplist *l, const unsigned char *d, size_t len)
{
	size_t i = (size_t)tp_hash(d, len) & l->mask;
	uint32_t s;

	while ((s = l->slot[i]) != 0) {
		const struct tp_entry *e = &l->ent[s - 1];

		if (e->len == len && memcmp(e->d, d, len) == 0)
			return 1;
		i = (i + 1) & l->mask;
	}
	return 0;
}

/* Put entry index idx (0-based) into the table; the caller made room. */
static void tp_place(uint32_t *slot, size_t mask, const struct tp_entry *e,
                     uint32_t idx)
{
	size_t i = (size_t)tp_hash(e->d, e->len) & mask;

	while (slot[i] != 0)
		i = (i + 1) & mask;
	slot[i] = idx + 1;
}

/* Double the table and re-place every entry. */
static int tp_grow(struct tplist *l)
{
	size_t nslots = (l->mask + 1) * 2, i;
	uint32_t *slot = calloc(nslots, sizeof(*slot));

	if (!slot)
		return -1;
	for (i = 0; i < l->count; i++)
		tp_place(slot, nslots - 1, &l->ent[i], (uint32_t)i);
	free(l->slot);
	l->slot = slot;
	l->mask = nslots - 1;
	return 0;
}

struct tplist *tplist_new(void)
{
	struct tplist *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->slot = calloc(TPLIST_MIN_SLOTS, sizeof(*l->slot));
	if (!l->slot) {
		free(l);
		return NULL;
	}
	l->mask = TPLIST_MIN_SLOTS - 1;
	return l;
}

int tplist_add(struct tplist *l, const unsigned char *d, size_t len)
{
	if (!l || !d || (len != 20 && len != 32))
		return -1;
	if (tp_find(l, d, len))
		return 0;
	if (l->count >= TPLIST_MAX_COUNT)
		return -1;
	if ((l->count + 1) * 2 > l->mask + 1 && tp_grow(l) < 0)
		return -1;
	if (l->count == l->ent_cap) {
		size_t ncap = l->ent_cap ? l->ent_cap * 2 : 64;
		struct tp_entry *ent = realloc(l->ent, ncap * sizeof(*ent));

		if (!ent)
			return -1;
		l->ent = ent;
		l->ent_cap = ncap;
	}
	memset(&l->ent[l->count], 0, sizeof(l->ent[l->count]));
	l->ent[l->count].len = (unsigned char)len;
	memcpy(l->ent[l->count].d, d, len);
	tp_place(l->slot, l->mask, &l->ent[l->count], (uint32_t)l->count);
	l->count++;
	return 0;
}

int tplist_has(const struct tplist *l, const unsigned char sha1[20],
               const unsigned char sha256[32])
{
	if (!l || l->count == 0)
		return 0;
	if (sha1 && tp_find(l, sha1, 20))
		return 1;
	if (sha256 && tp_find(l, sha256, 32))
		return 1;
	return 0;
}

size_t tplist_count(const struct tplist *l)
{
	return l ? l->count : 0;
}

void tplist_free(struct tplist *l)
{
	if (!l)
		return;
	free(l->ent);
	free(l->slot);
	free(l);
}

/* Line grammar, after cutting the comment (comment.h: '#' or ';' at the
 * start or after a space or tab) and trimming:
 *   digest := byte{20} | byte{32} | byte (':' byte){19} | byte (':' byte){31}
 *   byte   := hexdigit hexdigit
 * Leading spaces/tabs and trailing spaces/tabs/CR/LF are trimmed. Colons go
 * between every pair of bytes or nowhere: "AB:CDEF..." is refused, since a
 * half-separated digest is more likely a paste error than a thumbprint. */
int tplist_parse_line(const char *line, size_t len, unsigned char out[32])
{
	const char *p = line, *end;
	size_t n = 0;
	int colons = -1;   /* -1: not known until the first byte boundary */

	if (len == 0)
		return 0;
	if (!line)
		return -1;
	end = line + comment_cut(line, len);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
	                   end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (p == end)
		return 0;

	for (;;) {
		int hi, lo;

		if (end - p < 2 || n == 32)
			return -1;
		hi = str_hexval((unsigned char)p[0]);
		lo = str_hexval((unsigned char)p[1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[n++] = (unsigned char)(hi << 4 | lo);
		p += 2;
		if (p == end)
			break;
		if (*p == ':') {
			if (colons == 0)
				return -1;
			colons = 1;
			p++;
		} else {
			if (colons == 1)
				return -1;
			colons = 0;
		}
	}
	return (n == 20 || n == 32) ? (int)n : -1;
}

struct tplist *tplist_load(const char *path, char *err, size_t errlen)
{
	struct tplist *l = NULL;
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	unsigned char d[32];
	int r, ok = 0;

	f = fopen(path, "r");
	if (!f) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	l = tplist_new();
	if (!l) {
		set_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	errno = 0;
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (n > TPLIST_LINE_MAX) {
			set_err(err, errlen, "%s:%lu: line longer than %d characters",
			        path, lineno, TPLIST_LINE_MAX);
			goto out;
		}
		r = tplist_parse_line(line, (size_t)n, d);
		if (r < 0) {
			set_err(err, errlen, "%s:%lu: not a SHA-1 or SHA-256 hex digest",
			        path, lineno);
			goto out;
		}
		if (r > 0 && tplist_add(l, d, (size_t)r) < 0) {
			set_err(err, errlen, "%s:%lu: out of memory", path, lineno);
			goto out;
		}
	}
	/* getline() returns -1 at EOF and on errors (EISDIR, EIO, ENOMEM) */
	if (ferror(f) || !feof(f)) {
		set_err(err, errlen, "%s: %s", path,
		        strerror(errno ? errno : EIO));
		goto out;
	}
	ok = 1;
out:
	free(line);
	if (f)
		fclose(f);
	if (!ok) {
		tplist_free(l);
		l = NULL;
	}
	return l;
}
