/* Small ASCII helpers shared by the parsers: hex and base64 digits, lowercasing.
 * Pure: no locale (unlike <ctype.h>), no I/O, no allocation. */
#ifndef CERTSPOA_STRUTIL_H
#define CERTSPOA_STRUTIL_H

#include <stddef.h>

/* The value of one hex digit (either case), or -1 if c is not one. */
int str_hexval(unsigned char c);

/* The value of one base64 digit, or -1: A-Z a-z 0-9, then c62 and c63
 * ('+' '/' for base64, '-' '_' for base64url, RFC 4648). */
int str_b64val(unsigned char c, char c62, char c63);

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
