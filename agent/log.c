/* One-line logfmt logging: ts=... level=... conn=... msg="..." */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum log_level log_min_level = LOG_INFO;

static const char *const level_names[LOG_LEVELS] = {
	[LOG_ERR]   = "error",
	[LOG_WARN]  = "warn",
	[LOG_INFO]  = "info",
	[LOG_DEBUG] = "debug",
};

const char *log_level_name(enum log_level lvl)
{
	return lvl < LOG_LEVELS ? level_names[lvl] : "?";
}

int log_level_parse(const char *s)
{
	for (int i = 0; i < LOG_LEVELS; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

/* Format the message into a quoted logfmt value: '"' and '\' escaped,
 * control characters shown as '?'. */
static size_t quote_into(char *dst, size_t cap, const char *src)
{
	size_t n = 0;

	for (; *src && n + 3 < cap; src++) {
		unsigned char c = (unsigned char)*src;

		if (c == '"' || c == '\\')
			dst[n++] = '\\';
		dst[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	return n;
}

static void log_vemit(enum log_level lvl, unsigned long conn_id,
                      const char *fmt, va_list ap)
{
	char msg[768], line[1024];
	struct timespec ts;
	struct tm tm;
	int n;
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	             "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s ",
	             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	             tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
	             log_level_name(lvl));
	if (n < 0)
		return;
	len = (size_t)n;
	if (conn_id) {
		n = snprintf(line + len, sizeof(line) - len, "conn=%lu ", conn_id);
		if (n > 0)
			len += (size_t)n;
	}
	memcpy(line + len, "msg=\"", 5);
	len += 5;
	len += quote_into(line + len, sizeof(line) - len - 2, msg);
	line[len++] = '"';
	line[len++] = '\n';
	/* one write per line so lines from several threads never interleave */
	if (write(STDERR_FILENO, line, len) == -1)
		return;
}

void log_emit(enum log_level lvl, unsigned long conn_id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(lvl, conn_id, fmt, ap);
	va_end(ap);
}

void log_peer_emit(enum log_level lvl, unsigned long conn_id, const char *fmt, ...)
{
	static _Thread_local time_t window;
	static _Thread_local unsigned int count, suppressed;
	time_t now = time(NULL);
	va_list ap;

	if (now != window) {
		if (suppressed)
			log_emit(LOG_WARN, 0, "suppressed %u peer error lines", suppressed);
		window = now;
		count = suppressed = 0;
	}
	if (++count > LOG_PEER_BURST) {
		suppressed++;
		return;
	}
	va_start(ap, fmt);
	log_vemit(lvl, conn_id, fmt, ap);
	va_end(ap);
}
