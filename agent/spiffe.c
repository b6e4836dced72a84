/* SPIFFE ID parser. See spiffe.h. */
#include <string.h>

#include "spiffe.h"
#include "strutil.h"

static const char *const spiffe_errs[SPIFFE_ERRS] = {
	[SPIFFE_OK]          = "valid",
	[SPIFFE_E_TOO_LONG]  = "longer than 2048 bytes",
	[SPIFFE_E_SCHEME]    = "scheme is not spiffe:// (lowercase)",
	[SPIFFE_E_TD_EMPTY]  = "empty trust domain",
	[SPIFFE_E_TD_TOO_LONG] = "trust domain longer than 255 bytes",
	[SPIFFE_E_TD_CHAR]   = "trust domain character outside [a-z0-9.-_]",
	[SPIFFE_E_USERINFO]  = "user info not allowed",
	[SPIFFE_E_PORT]      = "port not allowed",
	[SPIFFE_E_PERCENT]   = "percent-encoding not allowed",
	[SPIFFE_E_QUERY]     = "query not allowed",
	[SPIFFE_E_FRAGMENT]  = "fragment not allowed",
	[SPIFFE_E_SEG_EMPTY] = "empty path segment",
	[SPIFFE_E_SEG_DOT]   = "'.' or '..' path segment",
	[SPIFFE_E_PATH_CHAR] = "path character outside [A-Za-z0-9.-_]",
};

const char *spiffe_strerror(enum spiffe_err e)
{
	return (unsigned)e < SPIFFE_ERRS ? spiffe_errs[e] : "invalid";
}

/* The characters that say which part of a URI a bad byte belongs to. */
static enum spiffe_err special(char c, enum spiffe_err otherwise)
{
	switch (c) {
	case '%': return SPIFFE_E_PERCENT;
	case '?': return SPIFFE_E_QUERY;
	case '#': return SPIFFE_E_FRAGMENT;
	default:  break;
	}
	if (otherwise == SPIFFE_E_TD_CHAR && c == '@')
		return SPIFFE_E_USERINFO;
	if (otherwise == SPIFFE_E_TD_CHAR && c == ':')
		return SPIFFE_E_PORT;
	return otherwise;
}

static int td_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static int path_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

enum spiffe_err spiffe_parse(const char *s, size_t len, struct spiffe_id *id)
{
	size_t i, seg;

	memset(id, 0, sizeof(*id));
	if (len > SPIFFE_ID_MAX)
		return SPIFFE_E_TOO_LONG;
	if (len < 9 || memcmp(s, "spiffe://", 9) != 0)
		return SPIFFE_E_SCHEME;
	for (i = 9; i < len && s[i] != '/'; i++)
		if (!td_char(s[i]))
			return special(s[i], SPIFFE_E_TD_CHAR);
	if (i == 9)
		return SPIFFE_E_TD_EMPTY;
	if (i - 9 > SPIFFE_TD_MAX)
		return SPIFFE_E_TD_TOO_LONG;
	id->td = s + 9;
	id->td_len = i - 9;
	id->path = s + i;
	id->path_len = len - i;
	/* each segment: '/' then one or more path characters, not "." or ".." */
	while (i < len) {
		seg = ++i;      /* past the '/' */
		while (i < len && s[i] != '/') {
			if (!path_char(s[i]))
				return special(s[i], SPIFFE_E_PATH_CHAR);
			i++;
		}
		if (i == seg)
			return SPIFFE_E_SEG_EMPTY;
		if ((i - seg == 1 && s[seg] == '.') ||
		    (i - seg == 2 && s[seg] == '.' && s[seg + 1] == '.'))
			return SPIFFE_E_SEG_DOT;
	}
	return SPIFFE_OK;
}

int spiffe_has_scheme(const char *s, size_t len)
{
	static const char scheme[] = "spiffe:";

	if (len < sizeof(scheme) - 1)
		return 0;
	for (size_t i = 0; i < sizeof(scheme) - 1; i++) {
		if (str_lower_c(s[i]) != scheme[i])
			return 0;
	}
	return 1;
}

int spiffe_under(const struct spiffe_id *id, const struct spiffe_id *prefix)
{
	if (id->td_len != prefix->td_len || memcmp(id->td, prefix->td, id->td_len) != 0)
		return 0;
	if (id->path_len < prefix->path_len ||
	    memcmp(id->path, prefix->path, prefix->path_len) != 0)
		return 0;
	return id->path_len == prefix->path_len || id->path[prefix->path_len] == '/';
}
