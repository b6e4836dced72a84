/* Writing "why" into a caller's error buffer, for the loaders (config,
 * lists, certificates) that report errors as text. */
#ifndef CERTSPOA_ERRBUF_H
#define CERTSPOA_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#endif /* CERTSPOA_ERRBUF_H */
