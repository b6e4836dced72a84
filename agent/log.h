/* Levelled one-line logging to stderr (logfmt). The level is checked before
 * anything is formatted; peer-caused errors go through log_peer(), which is
 * rate limited so a misbehaving client cannot flood the log. */
#ifndef CERTSPOA_LOG_H
#define CERTSPOA_LOG_H

enum log_level {
	LOG_ERR   = 0,
	LOG_WARN  = 1,
	LOG_INFO  = 2,
	LOG_DEBUG = 3,
	LOG_LEVELS
};

extern enum log_level log_min_level;

void log_emit(enum log_level lvl, unsigned long conn_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Rate-limited: at most LOG_PEER_BURST lines per second per thread, then one
 * "suppressed N" line when the window rolls over. */
void log_peer_emit(enum log_level lvl, unsigned long conn_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parse "error|warn|info|debug"; -1 if unknown. */
int log_level_parse(const char *s);
const char *log_level_name(enum log_level lvl);

#define LOG(lvl, cid, ...) do { \
	if ((lvl) <= log_min_level) log_emit((lvl), (cid), __VA_ARGS__); \
} while (0)

#define LOG_PEER(lvl, cid, ...) do { \
	if ((lvl) <= log_min_level) log_peer_emit((lvl), (cid), __VA_ARGS__); \
} while (0)

#define LOG_PEER_BURST 20

#endif /* CERTSPOA_LOG_H */
