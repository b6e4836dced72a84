/* Listen addresses as written in the configuration, checked without
 * touching the network: "HOST:PORT", "[IPV6]:PORT", "unix:/path" (or
 * "/path"). Pure: no sockets, no name resolution. */
#ifndef CERTSPOA_ADDR_H
#define CERTSPOA_ADDR_H

#include <stddef.h>

/* longest unix socket path: sockaddr_un's sun_path (108) less its NUL */
#define ADDR_UNIX_PATH_MAX 107
#define ADDR_HOST_MAX      253   /* a DNS name */

/* 0 when spec is an address listener_open() can bind (names are resolved
 * only then), or -1 with the reason in err. */
int addr_check(const char *spec, char *err, size_t errlen);

#endif /* CERTSPOA_ADDR_H */
