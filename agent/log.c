/* One-line logging to stderr, logfmt or JSON:
 *   ts=2026-11-28T16:03:25.456Z level=info conn=3 msg="..." key=value ...
 *   {"ts":"...","level":"info","conn":3,"msg":"...","key":"value"} */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum log_level log_min_level = LOG_INFO;
static enum log_format log_format = LOG_FMT_LOGFMT;

#define LOG_ENUM_NAME(c, word) [c] = word,
const char *const log_level_names[LOG_LEVELS + 1] = { LOG_LEVEL_LIST(LOG_ENUM_NAME) };
const char *const log_format_names[LOG_FORMATS + 1] = { LOG_FORMAT_LIST(LOG_ENUM_NAME) };
#undef LOG_ENUM_NAME

#define LINE_MAX_LEN 2048

struct line {
	char buf[LINE_MAX_LEN];
	size_t len;
	enum log_format fmt;     /* read once per line: a reload cannot mix two */
};

static const char *log_level_name(enum log_level lvl)
{
	return lvl < LOG_LEVELS ? log_level_names[lvl] : "?";
}

void log_set_format(enum log_format fmt)
{
	__atomic_store_n(&log_format, fmt, __ATOMIC_RELAXED);
}


static void put_raw(struct line *l, const char *s)
{
	size_t n = strlen(s);

	if (n > sizeof(l->buf) - 2 - l->len)
		n = sizeof(l->buf) - 2 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* A quoted value: '"' and '\' escaped, control bytes as \u00XX in JSON and
 * '?' in logfmt; cut (never mid-escape) when the line is full. */
static void put_quoted(struct line *l, const char *s)
{
	static const char hx[] = "0123456789abcdef";
	size_t room = sizeof(l->buf) - 3;     /* closing quote, newline */

	if (l->len < room)
		l->buf[l->len++] = '"';
	for (; *s && l->len + 6 < room; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			l->buf[l->len++] = '\\';
			l->buf[l->len++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			if (l->fmt == LOG_FMT_JSON) {
				memcpy(l->buf + l->len, "\\u00", 4);
				l->buf[l->len + 4] = hx[c >> 4];
				l->buf[l->len + 5] = hx[c & 15];
				l->len += 6;
			} else {
				l->buf[l->len++] = '?';
			}
		} else {
			l->buf[l->len++] = (char)c;
		}
	}
	l->buf[l->len++] = '"';
}

/* logfmt values without spaces, quotes or '=' need no quotes */
static int value_is_bare(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s == '"' || *s == '=' || *s == '\\' || *s == 0x7f)
			return 0;
	return 1;
}

static void put_field(struct line *l, const char *key, const char *val, int first)
{
	if (l->fmt == LOG_FMT_JSON) {
		put_raw(l, first ? "{" : ",");
		put_quoted(l, key);
		put_raw(l, ":");
		put_quoted(l, val);
	} else {
		if (!first)
			put_raw(l, " ");
		put_raw(l, key);
		put_raw(l, "=");
		if (value_is_bare(val))
			put_raw(l, val);
		else
			put_quoted(l, val);
	}
}

static void emit(enum log_level lvl, unsigned long conn_id, const char *msg,
                 const struct log_field *f, int n)
{
	struct line l;
	struct timespec ts;
	struct tm tm;
	char tsbuf[64], cid[24];

	l.len = 0;
	l.fmt = __atomic_load_n(&log_format, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(tsbuf, sizeof(tsbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	put_field(&l, "ts", tsbuf, 1);
	put_field(&l, "level", log_level_name(lvl), 0);
	if (conn_id) {
		snprintf(cid, sizeof(cid), "%lu", conn_id);
		put_field(&l, "conn", cid, 0);
	}
	put_field(&l, "msg", msg, 0);
	for (int i = 0; i < n; i++)
		if (f[i].val)
			put_field(&l, f[i].key, f[i].val, 0);
	if (l.fmt == LOG_FMT_JSON)
		put_raw(&l, "}");
	l.buf[l.len++] = '\n';
	/* one write per line so lines from several threads never interleave */
	if (write(STDERR_FILENO, l.buf, l.len) == -1)
		return;
}

__attribute__((format(printf, 3, 0)))
static void log_vemit(enum log_level lvl, unsigned long conn_id, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	emit(lvl, conn_id, msg, NULL, 0);
}

void log_emit(enum log_level lvl, unsigned long conn_id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(lvl, conn_id, fmt, ap);
	va_end(ap);
}

/* Per-thread token window: at most burst lines a second, then one line
 * saying how many were dropped. */
struct limiter {
	time_t window;
	unsigned int count, suppressed;
};

/* Take one line from the window: 1 if it may be written, 0 if suppressed. */
static int limiter_has_room(struct limiter *lim, unsigned int burst, const char *what)
{
	time_t now = time(NULL);

	if (now != lim->window) {
		if (lim->suppressed)
			log_emit(LOG_WARN, 0, "suppressed %u %s lines", lim->suppressed, what);
		lim->window = now;
		lim->count = lim->suppressed = 0;
	}
	if (++lim->count > burst) {
		lim->suppressed++;
		return 0;
	}
	return 1;
}

void log_peer_emit(enum log_level lvl, unsigned long conn_id, const char *fmt, ...)
{
	static _Thread_local struct limiter lim;
	va_list ap;

	if (!limiter_has_room(&lim, LOG_PEER_BURST, "peer error"))
		return;
	va_start(ap, fmt);
	log_vemit(lvl, conn_id, fmt, ap);
	va_end(ap);
}

void log_decision(enum log_level lvl, unsigned long conn_id, const char *msg,
                  const struct log_field *f, int n)
{
	static _Thread_local struct limiter lim;

	if (LOG_ENABLED(lvl) && limiter_has_room(&lim, LOG_DECISION_BURST, "decision log"))
		emit(lvl, conn_id, msg, f, n);
}
