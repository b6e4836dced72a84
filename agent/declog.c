/* Decision log and recent denials. See declog.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "cfg-t.h"
#include "cert-t.h"
#include "declog.h"
#include "handler.h"
#include "log.h"
#include "rules.h"

static void format_src(const struct handler_result *res, char *out, size_t len)
{
	out[0] = 0;
	if (!res->has_src)
		return;
	if (res->src.type == SPOP_DATA_IPV4)
		inet_ntop(AF_INET, res->src.u.ipv4, out, (socklen_t)len);
	else if (res->src.type == SPOP_DATA_IPV6)
		inet_ntop(AF_INET6, res->src.u.ipv6, out, (socklen_t)len);
}

void declog_decided(struct declog *dl, int mode, int64_t now, unsigned long conn_id,
                    const struct handler_result *res)
{
	int allow = res->d.code == DEC_ALLOW;
	char src[48];

	if (allow && mode != LOG_DECISIONS_ALL && !LOG_ENABLED(LOG_DEBUG))
		return;
	format_src(res, src, sizeof(src));
	if (mode == LOG_DECISIONS_ALL || (!allow && mode == LOG_DECISIONS_DENIALS) ||
	    LOG_ENABLED(LOG_DEBUG)) {
		const struct log_field f[] = {
			{ "verdict", allow ? "allow" : "deny" },
			{ "code", dec_table[res->d.code].code },
			{ "policy", res->policy ? res->policy->name : NULL },
			{ "subject", res->facts ? res->facts->subject : NULL },
			{ "sha256", res->facts ? res->facts->sha256_hex : NULL },
			{ "src", src[0] ? src : NULL },
			{ "detail", res->d.detail[0] ? res->d.detail : NULL },
		};

		log_decision(LOG_INFO, conn_id, "decision", f, (int)(sizeof(f) / sizeof(f[0])));
	}
	if (!allow) {
		struct stats_denial *d = &dl->ring[dl->next];

		d->time = now;
		d->code = res->d.code;
		stats_copy_cut(d->policy, sizeof(d->policy), res->policy ? res->policy->name : "");
		stats_copy_cut(d->subject, sizeof(d->subject), res->facts ? res->facts->subject : "");
		stats_copy_cut(d->sha256, sizeof(d->sha256), res->facts ? res->facts->sha256_hex : "");
		stats_copy_cut(d->src, sizeof(d->src), src);
		stats_copy_cut(d->detail, sizeof(d->detail), res->d.detail);
		dl->next = (dl->next + 1) % STATS_DENIALS_PER_WORKER;
		if (dl->count < STATS_DENIALS_PER_WORKER)
			dl->count++;
	}
}

int declog_recent(const struct declog *dl, struct stats_denial *out, int max)
{
	int n = 0;

	for (unsigned int i = 0; i < dl->count && n < max; i++) {
		unsigned int k = (dl->next + STATS_DENIALS_PER_WORKER - 1 - i) % STATS_DENIALS_PER_WORKER;

		out[n++] = dl->ring[k];
	}
	return n;
}
