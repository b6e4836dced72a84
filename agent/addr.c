/* Listen address syntax (addr.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"
#include "errbuf.h"

_Static_assert(ADDR_UNIX_PATH_MAX + 1 == sizeof(((struct sockaddr_un *)0)->sun_path),
               "ADDR_UNIX_PATH_MAX follows sun_path");

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "0".."65535", digits only (no sign, no spaces, no hex) */
static int port_check(const char *s, const char *spec, char *err, size_t errlen)
{
	long v = 0;
	size_t n = strlen(s);

	if (n == 0) {
		set_err(err, errlen, "'%s': no port after ':'", spec);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i])) {
			set_err(err, errlen, "'%s': port '%s' is not a number", spec, s);
			return -1;
		}
		if (i >= 5 || (v = v * 10 + (s[i] - '0')) > 65535) {
			set_err(err, errlen, "'%s': port %s is out of range [0, 65535]", spec, s);
			return -1;
		}
	}
	return 0;
}

/* A DNS name: labels of letters, digits and '-' (not at either end), 1 to
 * 63 characters each, 253 in all; a name of digits and dots only would be
 * a mistyped IPv4 address and is refused. */
static int hostname_check(const char *h, size_t n)
{
	size_t label = 0;
	int letters = 0;

	if (n == 0 || n > ADDR_HOST_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return -1;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-'))
			return -1;
		if (c == '-' && label == 0)
			return -1;
		if (!is_digit(c))
			letters = 1;
		if (++label > 63)
			return -1;
	}
	if (h[n - 1] == '-')
		return -1;
	return letters ? 0 : -1;
}

static int unix_check(const char *path, const char *spec, char *err, size_t errlen)
{
	size_t n = strlen(path);

	if (n == 0) {
		set_err(err, errlen, "'%s': empty unix socket path", spec);
		return -1;
	}
	if (n > ADDR_UNIX_PATH_MAX) {
		set_err(err, errlen, "unix socket path of %zu characters: at most %d", n, ADDR_UNIX_PATH_MAX);
		return -1;
	}
	return 0;
}

int addr_check(const char *spec, char *err, size_t errlen)
{
	char host[ADDR_HOST_MAX + 3];
	const char *colon;
	unsigned char bin[16];
	size_t hlen;

	if (strncmp(spec, "unix:", 5) == 0)
		return unix_check(spec + 5, spec, err, errlen);
	if (spec[0] == '/')
		return unix_check(spec, spec, err, errlen);
	if (spec[0] == '[' && !strstr(spec, "]:")) {
		set_err(err, errlen, "'%s' needs [IPV6]:PORT", spec);
		return -1;
	}
	colon = strrchr(spec, ':');
	if (!colon) {
		int digits = *spec != 0;

		for (const char *p = spec; *p; p++)
			digits &= is_digit(*p);
		if (digits)
			set_err(err, errlen, "'%s' has no host: write HOST:PORT, e.g. 127.0.0.1:%s "
			        "(or *:%s for every address)", spec, spec, spec);
		else
			set_err(err, errlen, "'%s' needs HOST:PORT, [IPV6]:PORT or unix:/path", spec);
		return -1;
	}
	if (port_check(colon + 1, spec, err, errlen) < 0)
		return -1;
	hlen = (size_t)(colon - spec);
	if (hlen >= sizeof(host)) {
		set_err(err, errlen, "'%s': host longer than %d characters", spec, ADDR_HOST_MAX);
		return -1;
	}
	memcpy(host, spec, hlen);
	host[hlen] = 0;
	if (hlen == 0 || strcmp(host, "*") == 0)
		return 0;                              /* every address */
	if (host[0] == '[') {
		if (hlen < 3 || host[hlen - 1] != ']') {
			set_err(err, errlen, "'%s': an IPv6 address goes in brackets: [::1]:PORT", spec);
			return -1;
		}
		host[hlen - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, bin) != 1) {
			set_err(err, errlen, "'%s': '%s' is not an IPv6 address", spec, host + 1);
			return -1;
		}
		return 0;
	}
	if (strchr(host, ':')) {
		set_err(err, errlen, "'%s': an IPv6 address goes in brackets: [%s]:PORT", spec, host);
		return -1;
	}
	if (inet_pton(AF_INET, host, bin) == 1)
		return 0;
	if (hostname_check(host, hlen) < 0) {
		set_err(err, errlen, "'%s': '%s' is neither an IPv4 address nor a host name", spec, host);
		return -1;
	}
	return 0;
}
