/* Who may read which stats page. See statsauth.h. */
#include <string.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "statsauth.h"
#include "strutil.h"

static const char *const public_paths[] = { "/metrics", "/healthz", "/readyz" };

int statsauth_addr_is_local(const struct sockaddr *sa, socklen_t len)
{
	if (!sa || len < (socklen_t)sizeof(sa->sa_family))
		return 0;
	switch (sa->sa_family) {
	case AF_UNIX:
		return 1;
	case AF_INET: {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		if (len < (socklen_t)sizeof(*in))
			return 0;
		return ((const unsigned char *)&in->sin_addr)[0] == 127;
	}
	case AF_INET6: {
		static const unsigned char loop6[16] = { [15] = 1 };
		static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		const unsigned char *a;

		if (len < (socklen_t)sizeof(*in6))
			return 0;
		a = in6->sin6_addr.s6_addr;
		if (memcmp(a, loop6, 16) == 0)
			return 1;
		return memcmp(a, mapped, 12) == 0 && a[12] == 127;
	}
	default:
		return 0;
	}
}

int statsauth_path_is_public(const char *path)
{
	for (size_t i = 0; i < sizeof(public_paths) / sizeof(public_paths[0]); i++)
		if (strcmp(path, public_paths[i]) == 0)
			return 1;
	return 0;
}

int statsauth_token_eq(const char *given, size_t given_len, const char *token, size_t token_len)
{
	unsigned char diff = 0;

	if (!token || !token_len)
		return 0;
	/* walk the presented bytes whatever happens; compare each with the
	 * token byte at the same place (wrapping, so no read past its end) */
	for (size_t i = 0; i < given_len; i++)
		diff |= (unsigned char)(given[i] ^ token[i % token_len]);
	return (diff | (unsigned char)(given_len != token_len)) == 0;
}

static int lower_eq(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	if (len != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (str_lower_c(s[i]) != lit[i])
			return 0;
	}
	return 1;
}

enum statsauth_verdict statsauth_check(int local, const char *path, const char *authz,
                                       size_t authz_len, int authz_dup, const char *token,
                                       size_t token_len)
{
	size_t i = 0, start;

	if (local || statsauth_path_is_public(path))
		return STATSAUTH_SERVE;
	if (!token || !token_len)
		return STATSAUTH_NO_TOKEN;
	if (!authz || authz_dup)
		return STATSAUTH_UNAUTHORIZED;
	/* credentials = auth-scheme 1*SP token68 (RFC 9110 11.4, RFC 6750) */
	while (i < authz_len && authz[i] != ' ' && authz[i] != '\t')
		i++;
	if (!lower_eq(authz, i, "bearer"))
		return STATSAUTH_UNAUTHORIZED;
	while (i < authz_len && (authz[i] == ' ' || authz[i] == '\t'))
		i++;
	start = i;
	while (authz_len > start && (authz[authz_len - 1] == ' ' || authz[authz_len - 1] == '\t'))
		authz_len--;
	if (!statsauth_token_eq(authz + start, authz_len - start, token, token_len))
		return STATSAUTH_UNAUTHORIZED;
	return STATSAUTH_SERVE;
}

int statsauth_token_parse(const char *buf, size_t *len, const char **why)
{
	size_t n = *len;

	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\r' ||
	                 buf[n - 1] == '\n'))
		n--;
	if (n == 0) {
		*why = "is empty";
		return -1;
	}
	if (n < STATSAUTH_TOKEN_MIN) {
		*why = "holds a token shorter than 16 characters (e.g. openssl rand -hex 32)";
		return -1;
	}
	if (n > STATSAUTH_TOKEN_MAX) {
		*why = "holds a token longer than 1024 characters";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] > 0x7e) {
			*why = "must hold one token of visible ASCII characters (no spaces, no second line)";
			return -1;
		}
	}
	*len = n;
	return 0;
}
