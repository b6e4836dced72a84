/* The one comment syntax of certspoa, for configuration values and list
 * files alike: a comment starts with '#' or ';' at the start of the text
 * (a line, or a value) or right after a space or tab, and runs to the end
 * of the line. So "mallory   # revoked" is "mallory", while "CN=svc#prod",
 * "spiffe://td/x#frag" and "a;b" keep their '#' and ';'. */
#ifndef CERTSPOA_COMMENT_H
#define CERTSPOA_COMMENT_H

#include <stddef.h>

/* The length of s[0..len) before its comment (len if it has none). */
static inline size_t comment_cut(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((s[i] == '#' || s[i] == ';') &&
		    (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t'))
			return i;
	return len;
}

#endif /* CERTSPOA_COMMENT_H */
