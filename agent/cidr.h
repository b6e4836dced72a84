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
/* Does addr (4 or 16 raw bytes) fall in any range? An IPv4 address and
 * its IPv4-mapped IPv6 form (::ffff:a.b.c.d) are one address, whichever
 * form the range and the address are written in. */
int cidr_list_match(const struct cidr_list *l, const unsigned char *addr, int len);

/* The same; with CIDR_MATCH_V4COMPAT, an IPv4-compatible address
 * (::a.b.c.d, deprecated by RFC 4291, any address in ::/96) is also
 * taken for the IPv4 address a.b.c.d: for deny lists, which must catch
 * an address in every form. */
#define CIDR_MATCH_V4COMPAT 0x1U
int cidr_list_match_ex(const struct cidr_list *l, const unsigned char *addr, int len,
                       unsigned int flags);
void cidr_list_free(struct cidr_list *l);

#endif /* CERTSPOA_CIDR_H */
