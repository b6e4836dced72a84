/* Small ASCII helpers shared by the parsers: hex digits and lowercasing.
 * Pure: no locale (unlike <ctype.h>), no I/O, no allocation. */
#ifndef CERTSPOA_STRUTIL_H
#define CERTSPOA_STRUTIL_H

#include <stddef.h>

/* The value of one hex digit (either case), or -1 if c is not one. */
int str_hexval(unsigned char c);

/* c lowercased if it is an ASCII capital letter, else c. */
static inline char str_lower_c(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Lowercase (ASCII) n bytes from src into dst; dst may equal src. */
void str_lower_n(char *dst, const char *src, size_t n);

/* Lowercase (ASCII) a NUL-terminated string in place. */
void str_lower(char *s);

#endif /* CERTSPOA_STRUTIL_H */
