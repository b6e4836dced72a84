/* Path and Host normalization for route selection (see uri.h). */
#include <arpa/inet.h>
#include <string.h>

#include "uri.h"
#include "strutil.h"

const char *const uri_err_str[URI_ERRS] = {
	[URI_OK]                = "normal",
	[URI_ERR_NOT_ORIGIN]    = "the path does not start with '/'",
	[URI_ERR_TOO_LONG]      = "the path is too long to normalize",
	[URI_ERR_BYTE]          = "a control, space or non-ASCII byte in the path",
	[URI_ERR_BACKSLASH]     = "a '\\' in the path",
	[URI_ERR_SEMICOLON]     = "a ';' in the path (path parameters)",
	[URI_ERR_FRAGMENT]      = "a '#' in the path",
	[URI_ERR_PERCENT]       = "a '%' not followed by two hex digits",
	[URI_ERR_ENC_SLASH]     = "an encoded '/' (%2F) in the path",
	[URI_ERR_ENC_BACKSLASH] = "an encoded '\\' (%5C) in the path",
	[URI_ERR_ENC_NUL]       = "an encoded NUL (%00) in the path",
	[URI_ERR_ENC_PERCENT]   = "a double-encoded escape (%25XX) in the path",
	[URI_ERR_ENC_UTF8]      = "an escape that is not valid UTF-8 (overlong or out of range) in the path",
};

static int unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* The escaped byte v at in[i] (in[i..i+2] is "%XX") may start a UTF-8
 * sequence; refuse the lead bytes that only ever start an overlong or
 * out-of-range one (C0, C1, F5-FF: %C0%AF is a '/' to a lenient decoder),
 * and E0/F0 followed by an escaped byte that makes them overlong. */
static int utf8_lead_is_bad(const unsigned char *in, size_t len, size_t i, int v)
{
	int hi, lo, next;

	if (v == 0xc0 || v == 0xc1 || v >= 0xf5)
		return 1;
	if (v != 0xe0 && v != 0xf0)
		return 0;
	if (len - i < 6 || in[i + 3] != '%' || (hi = str_hexval(in[i + 4])) < 0 ||
	    (lo = str_hexval(in[i + 5])) < 0)
		return 0;          /* not followed by an escape: no sequence to fold */
	next = hi * 16 + lo;
	return v == 0xe0 ? next >= 0x80 && next < 0xa0 : next >= 0x80 && next < 0x90;
}

/* Pass 1: refuse what is ambiguous, decode the unreserved, uppercase the
 * rest of the escapes. Writes at most len bytes. */
static enum uri_err decode(const unsigned char *in, size_t len, char *out, size_t *n)
{
	static const char HEX[] = "0123456789ABCDEF";
	size_t w = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = in[i];
		int hi, lo, v;

		if (c <= 0x20 || c >= 0x7f)
			return URI_ERR_BYTE;
		if (c == '\\')
			return URI_ERR_BACKSLASH;
		if (c == ';')
			return URI_ERR_SEMICOLON;
		if (c == '#')
			return URI_ERR_FRAGMENT;
		if (c != '%') {
			out[w++] = (char)c;
			continue;
		}
		if (len - i < 3 || (hi = str_hexval(in[i + 1])) < 0 || (lo = str_hexval(in[i + 2])) < 0)
			return URI_ERR_PERCENT;
		v = hi * 16 + lo;
		if (v == '/')
			return URI_ERR_ENC_SLASH;
		if (v == '\\')
			return URI_ERR_ENC_BACKSLASH;
		if (v == 0)
			return URI_ERR_ENC_NUL;
		if (v == '%' && len - i >= 5 && str_hexval(in[i + 3]) >= 0 && str_hexval(in[i + 4]) >= 0)
			return URI_ERR_ENC_PERCENT;
		if (v >= 0x80 && utf8_lead_is_bad(in, len, i, v))
			return URI_ERR_ENC_UTF8;
		if (unreserved((unsigned char)v)) {
			out[w++] = (char)v;
		} else {
			out[w++] = '%';
			out[w++] = HEX[hi];
			out[w++] = HEX[lo];
		}
		i += 2;
	}
	*n = w;
	return URI_OK;
}

/* Pass 2, in place: merge '/' runs and resolve dot segments. buf[0] is
 * '/'. The output is "/seg/seg..." (w bytes, no trailing '/') plus a
 * trailing '/' when the last segment was empty, "." or "..". Writing never
 * overtakes reading: each segment read (1 + its length) writes at most as
 * much. */
static size_t remove_dots(char *buf, size_t n)
{
	size_t r = 0, w = 0;
	int trailing = 0;

	while (r < n) {
		size_t s = r + 1, e = s, sl;
		int last;

		while (e < n && buf[e] != '/')
			e++;
		sl = e - s;
		last = e == n;
		if (sl == 0 || (sl == 1 && buf[s] == '.')) {
			trailing = last;
		} else if (sl == 2 && buf[s] == '.' && buf[s + 1] == '.') {
			while (w > 0 && buf[w - 1] != '/')
				w--;
			if (w > 0)
				w--;               /* drop the '/' before the segment too */
			trailing = last;
		} else {
			buf[w] = '/';
			memmove(buf + w + 1, buf + s, sl);
			w += 1 + sl;
			trailing = 0;
		}
		r = e;
	}
	if (w == 0 || trailing)
		buf[w++] = '/';
	return w;
}

enum uri_err uri_path_norm(const char *path, size_t len, char *out, size_t cap,
                           size_t *out_len)
{
	size_t n = 0;
	enum uri_err e;

	if (!path || len == 0 || path[0] != '/')
		return URI_ERR_NOT_ORIGIN;
	if (len > cap)
		return URI_ERR_TOO_LONG;
	e = decode((const unsigned char *)path, len, out, &n);
	if (e != URI_OK)
		return e;
	*out_len = remove_dots(out, n);
	return URI_OK;
}

int uri_prefix_nocase(const char *path, size_t len, const char *prefix, size_t plen)
{
	if (len < plen)
		return 0;
	for (size_t i = 0; i < plen; i++)
		if (str_lower_c(path[i]) != str_lower_c(prefix[i]))
			return 0;
	return 1;
}

/* A DNS-style name: labels of letters, digits, '-' and '_', 1 to 63
 * characters, at most 253 in all (the trailing dot already removed). */
static int valid_name(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

/* ":digits" (possibly none, RFC 9110 port = *DIGIT), at most 65535. */
static int valid_port(const char *s, size_t len)
{
	unsigned long v = 0;

	if (len == 0 || s[0] != ':' || len > 6)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v <= 65535;
}

int uri_host_name(const char *h, size_t len, const char **name, size_t *name_len)
{
	size_t n;

	if (!h || len == 0)
		return -1;
	if (h[0] == '[') {
		const char *rb = memchr(h, ']', len);
		char addr[INET6_ADDRSTRLEN];
		unsigned char bin[16];
		size_t al;

		if (!rb)
			return -1;
		al = (size_t)(rb - h) - 1;
		if (al == 0 || al >= sizeof(addr))
			return -1;
		/* inet_pton would stop at a NUL: check every byte first */
		for (size_t i = 0; i < al; i++) {
			char c = h[1 + i];

			if (!(str_hexval((unsigned char)c) >= 0 || c == ':' || c == '.'))
				return -1;
			addr[i] = c;
		}
		addr[al] = 0;
		if (inet_pton(AF_INET6, addr, bin) != 1)
			return -1;
		n = (size_t)(rb - h) + 1;
		if (n < len && !valid_port(h + n, len - n))
			return -1;
		*name = h;
		*name_len = n;
		return 0;
	}
	n = len;
	for (size_t i = 0; i < len; i++)
		if (h[i] == ':') {
			if (!valid_port(h + i, len - i))
				return -1;
			n = i;
			break;
		}
	if (n > 1 && h[n - 1] == '.')
		n--;
	if (!valid_name(h, n))
		return -1;
	*name = h;
	*name_len = n;
	return 0;
}

size_t uri_name_len(const char *name, size_t len)
{
	return len > 1 && name[len - 1] == '.' ? len - 1 : len;
}

int uri_name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++)
		if (str_lower_c(a[i]) != str_lower_c(b[i]))
			return 0;
	return 1;
}
