/* Growable output buffer for the stats pages (never on the SPOP path).
 * Bounded by SBUF_MAX; once an append fails the buffer is marked failed
 * and further appends are ignored, so callers check once at the end. */
#ifndef CERTSPOA_SBUF_H
#define CERTSPOA_SBUF_H

#include <stddef.h>

#define SBUF_MAX (8U << 20)

struct sbuf {
	char *p;
	size_t len, cap;
	int failed;
};

void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_put(struct sbuf *b, const char *s, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
/* s with HTML special characters escaped / as a JSON string body. */
void sbuf_html(struct sbuf *b, const char *s);
void sbuf_json(struct sbuf *b, const char *s);
/* a Prometheus label value: \\, \" and \n escaped */
void sbuf_label(struct sbuf *b, const char *s);
void sbuf_free(struct sbuf *b);

#endif /* CERTSPOA_SBUF_H */
