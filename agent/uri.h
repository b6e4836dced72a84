/* Request paths and Host values in the one form routes compare. Pure: no
 * I/O, no allocation; the caller gives the output buffer and every loop is
 * bounded by the input length. */
#ifndef CERTSPOA_URI_H
#define CERTSPOA_URI_H

#include <stddef.h>

/* Longest path the agent normalizes; a longer one is ambiguous (denied
 * when a route uses the path). */
#define URI_PATH_MAX (64 * 1024)

/* Why a path cannot be routed on: the application might read it in another
 * way than the agent does. */
enum uri_err {
	URI_OK = 0,
	URI_ERR_NOT_ORIGIN,     /* does not start with '/' (asterisk/absolute-form leftovers, empty) */
	URI_ERR_TOO_LONG,       /* longer than the output buffer */
	URI_ERR_BYTE,           /* a control, space or non-ASCII byte */
	URI_ERR_BACKSLASH,      /* '\' : a separator on some servers */
	URI_ERR_SEMICOLON,      /* ';' : path parameters (Tomcat, Jetty, Spring...) */
	URI_ERR_FRAGMENT,       /* '#' never reaches a server */
	URI_ERR_PERCENT,        /* '%' not followed by two hex digits */
	URI_ERR_ENC_SLASH,      /* %2F : a separator once decoded */
	URI_ERR_ENC_BACKSLASH,  /* %5C */
	URI_ERR_ENC_NUL,        /* %00 */
	URI_ERR_ENC_PERCENT,    /* %25 + two hex digits: a second decoding changes the path */
	URI_ERR_ENC_UTF8,       /* an escape that starts no valid UTF-8 sequence (%C0%AF: overlong '/') */
	URI_ERRS
};

extern const char *const uri_err_str[URI_ERRS];

/* Normalize an origin-form path (no query string) into out:
 *  - percent-decode the unreserved characters (ALPHA DIGIT - . _ ~),
 *    uppercase the hex digits of every other %XX;
 *  - merge runs of '/';
 *  - resolve "." and ".." segments (RFC 3986 5.2.4; ".." at the root
 *    stays at the root). A path ending in '/', "/." or "/.." ends in '/'.
 * Returns URI_OK and *out_len (at most len, never 0), or why the path is
 * ambiguous (out is then unspecified). */
enum uri_err uri_path_norm(const char *path, size_t len, char *out, size_t cap,
                           size_t *out_len);

/* Does path start with prefix, ASCII case-insensitively? */
int uri_prefix_nocase(const char *path, size_t len, const char *prefix, size_t plen);

/* The name in a Host value "name[:port]" or "[ipv6][:port]": *name points
 * into h, without the port and without ONE trailing dot (case untouched;
 * an IPv6 literal keeps its brackets). Returns 0, or -1 when h is not
 * exactly one valid host: empty, a ',' or white space (several values
 * folded into one), a bad character, an empty or over-long label, a bad
 * port or IPv6 literal. */
int uri_host_name(const char *h, size_t len, const char **name, size_t *name_len);

/* A TLS server name without ONE trailing dot (the form Host names are
 * compared in). */
size_t uri_name_len(const char *name, size_t len);

/* Do two names (as given by uri_host_name/uri_name_len) match, ASCII
 * case-insensitively? */
int uri_name_eq(const char *a, size_t alen, const char *b, size_t blen);

#endif /* CERTSPOA_URI_H */
