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

/* HAProxy's unique-id as a log value: at most cap - 1 bytes, printable
 * ASCII only (anything else becomes '?'). */
static void format_req_id(const struct handler_result *res, char *out, size_t cap)
{
	size_t n = res->req_id.len < cap - 1 ? res->req_id.len : cap - 1;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)res->req_id.ptr[i];

		out[i] = c > 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = 0;
}

int declog_wants_line(int mode, const struct handler_result *res)
{
	if (mode == LOG_DECISIONS_ALL || LOG_ENABLED(LOG_DEBUG))
		return 1;
	/* a shadow policy's would-be denial is a denial to the operator */
	return mode == LOG_DECISIONS_DENIALS && (res->d.code != DEC_ALLOW || res->d.shadowed);
}

void declog_decided(struct declog *dl, int mode, int64_t now, unsigned long conn_id,
                    const struct handler_result *res)
{
	int allow = res->d.code == DEC_ALLOW, shadow = allow && res->d.shadowed;
	char src[48], req_id[STATS_REQ_ID_MAX];

	if (allow && !shadow && !declog_wants_line(mode, res))
		return;
	format_src(res, src, sizeof(src));
	format_req_id(res, req_id, sizeof(req_id));
	if (declog_wants_line(mode, res)) {
		const struct log_field f[] = {
			{ "verdict", allow ? "allow" : "deny" },
			{ "code", dec_table[res->d.code].code },
			{ "rule", res->d.rule },
			{ "would_deny", shadow ? dec_table[res->d.would_code].code : NULL },
			{ "would_rule", shadow ? res->d.would_rule : NULL },
			{ "policy", res->policy ? res->policy->name : NULL },
			{ "req_id", req_id[0] ? req_id : NULL },
			{ "subject", res->facts ? res->facts->subject : NULL },
			{ "sha256", res->facts ? res->facts->sha256_hex : NULL },
			{ "src", src[0] ? src : NULL },
			{ "detail", res->d.detail[0] ? res->d.detail : NULL },
		};

		log_decision(LOG_INFO, conn_id, "decision", f, (int)(sizeof(f) / sizeof(f[0])));
	}
	if (!allow || shadow) {
		struct stats_denial *d = &dl->ring[dl->next];
		const char *rule = shadow ? res->d.would_rule : res->d.rule;

		d->time = now;
		d->code = shadow ? (int)res->d.would_code : (int)res->d.code;
		d->shadow = shadow;
		stats_copy_cut(d->rule, sizeof(d->rule), rule ? rule : "");
		stats_copy_cut(d->req_id, sizeof(d->req_id), req_id);
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
