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

int cidr_list_match(const struct cidr_list *l, const unsigned char *addr, int len)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (!l)
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct cidr *c = &l->v[i];

		if (c->len == len && in_range(c, addr))
			return 1;
		if (c->len == 4 && len == 16 && memcmp(addr, mapped, 12) == 0 && in_range(c, addr + 12))
			return 1;
	}
	return 0;
}

void cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
