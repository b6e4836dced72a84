/* IPv4/IPv6 address ranges ("10.0.0.0/8", "2001:db8::/32", or one address). */
#ifndef CERTSPOA_CIDR_H
#define CERTSPOA_CIDR_H

#include <stddef.h>

struct cidr {
	unsigned char addr[16];
	int len;                 /* 4 or 16 */
	int prefix;              /* bits */
};

struct cidr_list {
	struct cidr *v;
	size_t n, cap;
};

/* Parse one range; the host bits must be zero. Returns 0 or -1. */
int cidr_parse(const char *s, struct cidr *out);
int cidr_list_add(struct cidr_list *l, const struct cidr *c);
/* Does addr (4 or 16 raw bytes) fall in any range? An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) also matches IPv4 ranges. */
int cidr_list_match(const struct cidr_list *l, const unsigned char *addr, int len);
void cidr_list_free(struct cidr_list *l);

#endif /* CERTSPOA_CIDR_H */
