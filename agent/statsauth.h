/* Who may read which stats page. Pure: no sockets, no files, no clock.
 *
 * A stats listener on a loopback address (127.0.0.0/8, ::1, ::ffff:127.x)
 * or a unix socket is "local": every page is served as it is. On any other
 * address (0.0.0.0 and :: included) only the pages that carry no
 * certificate data, /metrics, /healthz and /readyz, are public; every other
 * path needs "Authorization: Bearer <token>" with the token of [stats]
 * token_file, and without a token_file it is refused outright. */
#ifndef CERTSPOA_STATSAUTH_H
#define CERTSPOA_STATSAUTH_H

#include <stddef.h>
#include <sys/socket.h>

#define STATSAUTH_TOKEN_MIN 16        /* bytes of a token, after trimming */
#define STATSAUTH_TOKEN_MAX 1024

enum statsauth_verdict {
	STATSAUTH_SERVE = 0,           /* serve the page */
	STATSAUTH_UNAUTHORIZED,        /* 401: no or wrong bearer token */
	STATSAUTH_NO_TOKEN,            /* 403: non-local listener, no token_file */
	STATSAUTH_VERDICTS
};

/* 1 when an address bound by a stats listener only serves this host:
 * AF_UNIX, 127.0.0.0/8, ::1 or an IPv4-mapped 127.0.0.0/8. 0 otherwise,
 * including the wildcard addresses and anything unknown. */
int statsauth_addr_is_local(const struct sockaddr *sa, socklen_t len);

/* 1 for the paths served without a token on any listener. */
int statsauth_path_is_public(const char *path);

/* Compare a presented token with the configured one in time that depends
 * only on the presented length, never on where they differ. 1 = equal. */
int statsauth_token_eq(const char *given, size_t given_len, const char *token, size_t token_len);

/* The decision for one request. authz is the Authorization header's value
 * (NULL when absent), authz_dup is 1 when the request had more than one
 * Authorization header (never accepted), token is the configured token
 * (NULL: no token_file). */
enum statsauth_verdict statsauth_check(int local, const char *path, const char *authz,
                                       size_t authz_len, int authz_dup, const char *token,
                                       size_t token_len);

/* Validate a token file's contents in place: trailing spaces, tabs, CR and
 * LF are dropped (*len shrinks), then it must be STATSAUTH_TOKEN_MIN..MAX
 * visible ASCII characters (0x21-0x7e) with nothing else. Returns 0, or -1
 * with the reason in why. */
int statsauth_token_parse(const char *buf, size_t *len, const char **why);

#endif /* CERTSPOA_STATSAUTH_H */
