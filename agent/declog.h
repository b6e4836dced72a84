/* Decision log and recent denials: what happens after a message has been
 * decided, in the thread that decided it. One line per decision (as the
 * [agent] log_decisions mode and the log level ask), rate limited by
 * log_decision(); every denial also goes into a small ring that the stats
 * page reads through a worker snapshot. */
#ifndef CERTSPOA_DECLOG_H
#define CERTSPOA_DECLOG_H

#include <stdint.h>

#include "stats-t.h"

struct handler_result;

/* Recent denials of one thread; only that thread writes it. */
struct declog {
	struct stats_denial ring[STATS_DENIALS_PER_WORKER];
	unsigned int next, count;
};

/* Is a log line wanted for this decision under mode (an enum
 * log_decisions value) and the log level? Denials, and the would-be
 * denials of shadow policies, under "denials"; everything under "all" or
 * at debug level. */
int declog_wants_line(int mode, const struct handler_result *res);

/* One decided message: log it (mode is an enum log_decisions value) and
 * remember it if it is a denial or a shadow one
 * (rule, req_id and the shadow marker included). now is the decision time (Unix seconds). */
void declog_decided(struct declog *dl, int mode, int64_t now, unsigned long conn_id,
                    const struct handler_result *res);

/* Copy the remembered denials, newest first, into out (room for max);
 * returns how many. */
int declog_recent(const struct declog *dl, struct stats_denial *out, int max);

#endif /* CERTSPOA_DECLOG_H */
