/* Levelled one-line logging to stderr (logfmt). The level is checked before
 * anything is formatted; peer-caused errors go through log_peer(), which is
 * rate limited so a misbehaving client cannot flood the log. */
#ifndef CERTSPOA_LOG_H
#define CERTSPOA_LOG_H

/* X(CONSTANT, "config word"): the enums here, the names log.c prints and
 * the values cfg.c accepts for log_level / log_format. */
#define LOG_LEVEL_LIST(X) \
	X(LOG_ERR,   "error") \
	X(LOG_WARN,  "warn") \
	X(LOG_INFO,  "info") \
	X(LOG_DEBUG, "debug")
#define LOG_FORMAT_LIST(X) \
	X(LOG_FMT_LOGFMT, "logfmt") \
	X(LOG_FMT_JSON,   "json")

#define LOG_ENUM_CONST(c, word) c,
enum log_level { LOG_LEVEL_LIST(LOG_ENUM_CONST) LOG_LEVELS };
enum log_format { LOG_FORMAT_LIST(LOG_ENUM_CONST) LOG_FORMATS };
#undef LOG_ENUM_CONST

/* The words by value, NULL after the last. */
extern const char *const log_level_names[LOG_LEVELS + 1];
extern const char *const log_format_names[LOG_FORMATS + 1];

extern enum log_level log_min_level;

/* The format may change on reload while workers log: set it here, it is
 * read atomically. */
void log_set_format(enum log_format fmt);

/* One structured field of a log line. */
struct log_field {
	const char *key;
	const char *val;
};

void log_emit(enum log_level lvl, unsigned long conn_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Rate-limited: at most LOG_PEER_BURST lines per second per thread, then one
 * "suppressed N" line when the window rolls over. */
void log_peer_emit(enum log_level lvl, unsigned long conn_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A line with extra fields after msg (values are escaped for the format),
 * rate limited per thread to LOG_DECISION_BURST lines a second (decision
 * logs: a client must not be able to flood them). */
void log_decision(enum log_level lvl, unsigned long conn_id, const char *msg,
                  const struct log_field *f, int n);

#define LOG_DECISION_BURST 500

/* The level may change on reload while workers log: read it atomically. */
#define LOG_ENABLED(lvl) ((int)(lvl) <= (int)__atomic_load_n(&log_min_level, __ATOMIC_RELAXED))

#define LOG(lvl, cid, ...) do { \
	if (LOG_ENABLED(lvl)) log_emit((lvl), (cid), __VA_ARGS__); \
} while (0)

#define LOG_PEER(lvl, cid, ...) do { \
	if (LOG_ENABLED(lvl)) log_peer_emit((lvl), (cid), __VA_ARGS__); \
} while (0)

#define LOG_PEER_BURST 20

#endif /* CERTSPOA_LOG_H */
