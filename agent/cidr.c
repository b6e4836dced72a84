/* Address ranges. See cidr.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

int cidr_parse(const char *s, struct cidr *out)
{
	char buf[64], *slash, *end;
	long bits;

	if (strlen(s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	memset(out, 0, sizeof(*out));
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->len = 4;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->len = 16;
	else
		return -1;
	out->prefix = out->len * 8;
	if (slash) {
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || errno || bits < 0 || bits > out->len * 8)
			return -1;
		out->prefix = (int)bits;
	}
	/* host bits must be zero: "10.1.2.3/8" is a typo, not a range */
	for (int i = 0; i < out->len; i++) {
		int keep = out->prefix - i * 8;
		unsigned char mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));

		if (out->addr[i] & (unsigned char)~mask)
			return -1;
	}
	return 0;
}

int cidr_list_add(struct cidr_list *l, const struct cidr *c)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct cidr *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *c;
	return 0;
}

static int in_range(const struct cidr *c, const unsigned char *a)
{
	int full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr, a, (size_t)full) != 0)
		return 0;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));

		return (c->addr[full] & mask) == (a[full] & mask);
	}
	return 1;
}

/* The forms of one address: IPv4 and IPv4-mapped IPv6 (::ffff:a.b.c.d)
 * are the same address; with CIDR_MATCH_V4COMPAT the deprecated
 * IPv4-compatible form (::a.b.c.d) is too. At most one 4-byte form and two
 * 16-byte forms. */
struct addr_forms {
	unsigned char v4[4];
	int has_v4;
	unsigned char v6[2][16];
	int n6;
};

static void addr_forms(const unsigned char *addr, int len, unsigned int flags,
                       struct addr_forms *f)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const unsigned char compat[12] = { 0 };
	const unsigned char *v4 = NULL;

	memset(f, 0, sizeof(*f));
	if (len == 4) {
		v4 = addr;
	} else if (len == 16) {
		memcpy(f->v6[f->n6++], addr, 16);
		if (memcmp(addr, mapped, 12) == 0 ||
		    ((flags & CIDR_MATCH_V4COMPAT) && memcmp(addr, compat, 12) == 0))
			v4 = addr + 12;
	}
	if (!v4)
		return;
	memcpy(f->v4, v4, 4);
	f->has_v4 = 1;
	/* the other 16-byte spellings of that IPv4 address (two at most:
	 * a 16-byte input is one of them) */
	if (len == 4 || memcmp(addr, mapped, 12) != 0) {
		memcpy(f->v6[f->n6], mapped, 12);
		memcpy(f->v6[f->n6++] + 12, v4, 4);
	}
	if ((flags & CIDR_MATCH_V4COMPAT) && (len == 4 || memcmp(addr, compat, 12) != 0)) {
		memcpy(f->v6[f->n6], compat, 12);
		memcpy(f->v6[f->n6++] + 12, v4, 4);
	}
}

int cidr_list_match_ex(const struct cidr_list *l, const unsigned char *addr, int len,
                       unsigned int flags)
{
	struct addr_forms f;

	if (!l || (len != 4 && len != 16))
		return 0;
	addr_forms(addr, len, flags, &f);
	for (size_t i = 0; i < l->n; i++) {
		const struct cidr *c = &l->v[i];

		if (c->len == 4 && f.has_v4 && in_range(c, f.v4))
			return 1;
		for (int k = 0; c->len == 16 && k < f.n6; k++)
			if (in_range(c, f.v6[k]))
				return 1;
	}
	return 0;
}

int cidr_list_match(const struct cidr_list *l, const unsigned char *addr, int len)
{
	return cidr_list_match_ex(l, addr, len, 0);
}

void cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
