/* SPIFFE IDs as the SPIFFE ID standard (SPIFFE-ID.md, section 2) defines
 * them: "spiffe://" TRUST-DOMAIN PATH, nothing else. Pure: no allocation,
 * no I/O; the input is a {ptr,len} view and may hold any byte. */
#ifndef CERTSPOA_SPIFFE_H
#define CERTSPOA_SPIFFE_H

#include <stddef.h>

#define SPIFFE_ID_MAX  2048   /* bytes, the standard's limit for an X.509-SVID URI */
#define SPIFFE_TD_MAX  255    /* trust domain */

enum spiffe_err {
	SPIFFE_OK = 0,
	SPIFFE_E_TOO_LONG,        /* more than SPIFFE_ID_MAX bytes */
	SPIFFE_E_SCHEME,          /* not "spiffe://" (any other case is invalid) */
	SPIFFE_E_TD_EMPTY,
	SPIFFE_E_TD_TOO_LONG,
	SPIFFE_E_TD_CHAR,         /* outside [a-z0-9.-_] (uppercase included) */
	SPIFFE_E_USERINFO,        /* '@' */
	SPIFFE_E_PORT,            /* ':' */
	SPIFFE_E_PERCENT,         /* percent-encoding */
	SPIFFE_E_QUERY,           /* '?' */
	SPIFFE_E_FRAGMENT,        /* '#' */
	SPIFFE_E_SEG_EMPTY,       /* "//" or a trailing '/' */
	SPIFFE_E_SEG_DOT,         /* a "." or ".." segment */
	SPIFFE_E_PATH_CHAR,       /* outside [A-Za-z0-9.-_] */
	SPIFFE_ERRS
};

/* Views into the parsed text. path is "" or "/seg/seg...". */
struct spiffe_id {
	const char *td;
	size_t td_len;
	const char *path;
	size_t path_len;
};

/* Parse s[0..len). Returns SPIFFE_OK and fills *id, or the first error. */
enum spiffe_err spiffe_parse(const char *s, size_t len, struct spiffe_id *id);

/* A short English reason ("port not allowed"). */
const char *spiffe_strerror(enum spiffe_err e);

/* Is s a URI of scheme "spiffe" (compared without case: "SPIFFE:..." is a
 * SPIFFE URI, and an invalid one)? */
int spiffe_has_scheme(const char *s, size_t len);

/* Is id the same as, or under, prefix: same trust domain, and prefix's path
 * is id's path or a leading run of its segments. */
int spiffe_under(const struct spiffe_id *id, const struct spiffe_id *prefix);

#endif /* CERTSPOA_SPIFFE_H */
