/* Connection framing limits that mutation testing (tests/mutation/)
 * showed no test pinned: a frame a few bytes over the negotiated
 * max-frame-size, and a reassembled NOTIFY that outgrows max_message_size
 * over several fragments each of which fits. The real conn/worker code
 * over a socketpair, as in test_conn.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "spop.h"
#include "testhelp.h"
#include "testpeer.h"
#include "worker.h"

static struct config kcfg;
static struct policy kpol;

static void kill_cfg(void)
{
	log_min_level = LOG_ERR;     /* the disconnects below are expected */
	memset(&kcfg, 0, sizeof(kcfg));
	memset(&kpol, 0, sizeof(kpol));
	snprintf(kpol.name, sizeof(kpol.name), "default");
	kpol.require_cert = 1;
	kpol.deny_status = 403;
	kcfg.policies = kcfg.default_policy = &kpol;
	kcfg.max_frame_size = 16380;
	kcfg.fragmentation = 1;
	kcfg.max_message_size = 65536;
	kcfg.max_connections = 10;
	kcfg.hello_timeout_ms = 5000;
	kcfg.idle_timeout_ms = 600000;
	kcfg.shutdown_timeout_ms = 1000;
	kcfg.cache_size = 16;
}


/* Type of the next frame the agent sent (status of a DISCONNECT in
 * *status), or -1 if none came. */
static int knext(struct test_peer *pr, long *status)
{
	const unsigned char *u = (const unsigned char *)pr->in + pr->off;
	struct spop_frame f;
	struct spop_disconnect d;
	uint32_t len;

	*status = -1;
	if (pr->in_len - pr->off < 4)
		return -1;
	len = (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
	if (pr->in_len - pr->off - 4 < len || spop_parse_frame(pr->in + pr->off + 4, len, &f) < 0)
		return -1;
	pr->off += 4 + len;
	if (f.type == SPOP_FRM_AGENT_DISCON && spop_parse_disconnect(f.payload, f.len, &d) == 0)
		*status = d.status;
	return f.type;
}

/* HAPROXY-HELLO: version 2.0, the given max-frame-size, capabilities. */
static size_t khello(char *buf, size_t cap, uint32_t max_frame, const char *caps)
{
	char *p = buf, *start;
	struct spop_data d = { .type = SPOP_DATA_STR };

	spop_frame_begin(&p, buf + cap, &start, SPOP_FRM_HAPROXY_HELLO, SPOP_FL_FIN, 0, 0);
	spop_put_str(&p, buf + cap, "supported-versions", 18);
	d.u.str = (struct spop_str){ "2.0", 3 };
	spop_put_data(&p, buf + cap, &d);
	spop_put_str(&p, buf + cap, "max-frame-size", 14);
	d.type = SPOP_DATA_UINT32;
	d.u.uint = max_frame;
	spop_put_data(&p, buf + cap, &d);
	spop_put_str(&p, buf + cap, "capabilities", 12);
	d.type = SPOP_DATA_STR;
	d.u.str = (struct spop_str){ caps, strlen(caps) };
	spop_put_data(&p, buf + cap, &d);
	spop_frame_end(start, p);
	return (size_t)(p - buf);
}

/* A frame of type/flags/ids whose payload is plen bytes of filler (a
 * NOTIFY payload that is one message with a long name). */
static size_t kframe(char *buf, size_t cap, uint8_t type, uint32_t flags,
                     uint64_t sid, uint64_t fid, size_t plen)
{
	char *p = buf, *start;

	if (spop_frame_begin(&p, buf + cap, &start, type, flags, sid, fid) < 0 ||
	    (size_t)(buf + cap - p) < plen)
		return 0;
	memset(p, 'x', plen);
	p += plen;
	spop_frame_end(start, p);
	return (size_t)(p - buf);
}

/* Kills conn-max-frame-slack: after HAProxy asked for 1024-byte frames, a
 * frame of 1025 to 1028 bytes is refused with status 3 (frame too big),
 * whatever it holds, and the connection closes. 1024 itself is fine. */
TEST(kill_conn_frame_just_over_max_frame_size)
{
	static char b[4096];
	struct test_peer pr;
	long st;

	kill_cfg();
	for (size_t over = 0; over <= 4; over++) {
		size_t n, hdr;

		CHECK(test_peer_open(&pr, &kcfg) == 0);
		test_peer_send(&pr, b, khello(b, sizeof(b), 1024, "pipelining"));
		CHECK_EQ_INT(knext(&pr, &st), SPOP_FRM_AGENT_HELLO);
		/* frame length (after the 4-byte prefix) = 1024 + over: the
		 * header takes 1 + 4 + 1 + 1 bytes of it */
		hdr = 1 + 4 + 1 + 1;
		n = kframe(b, sizeof(b), SPOP_FRM_NOTIFY, SPOP_FL_FIN, 1, 1, 1024 + over - hdr);
		CHECK_EQ_INT(n, 4 + 1024 + over);
		test_peer_send(&pr, b, n);
		if (over == 0) {
			/* fits: decoded (and refused as a malformed message) */
			CHECK_EQ_INT(knext(&pr, &st), SPOP_FRM_AGENT_DISCON);
			CHECK_EQ_INT(st, SPOP_ST_INVALID);
		} else {
			int type = knext(&pr, &st);

			if (type != SPOP_FRM_AGENT_DISCON || st != SPOP_ST_TOO_BIG)
				unit_fail(__FILE__, __LINE__, "frame of 1024 + %zu bytes: got frame type %d status %ld,"
				          " expected AGENT-DISCONNECT %d", over, type, st, SPOP_ST_TOO_BIG);
		}
		CHECK(pr.closed);
		test_peer_close(&pr);
	}
}

/* Kills conn-frag-overflow: fragments that each fit but together exceed
 * max_message_size end the connection with status 3 before the
 * reassembly buffer overflows. */
TEST(kill_conn_reassembly_bound_over_many_fragments)
{
	static char b[8192];
	struct test_peer pr;
	size_t n;
	long st;
	int type;

	kill_cfg();
	kcfg.max_message_size = 256;
	CHECK(test_peer_open(&pr, &kcfg) == 0);
	test_peer_send(&pr, b, khello(b, sizeof(b), 16380, "pipelining,fragmentation"));
	CHECK_EQ_INT(knext(&pr, &st), SPOP_FRM_AGENT_HELLO);
	n = kframe(b, sizeof(b), SPOP_FRM_NOTIFY, 0, 9, 1, 100);
	for (int i = 0; i < 6 && n; i++)
		n += kframe(b + n, sizeof(b) - n, SPOP_FRM_UNSET, 0, 9, 1, 100);
	CHECK(n > 0);
	test_peer_send(&pr, b, n);
	type = knext(&pr, &st);
	if (type != SPOP_FRM_AGENT_DISCON || st != SPOP_ST_TOO_BIG)
		unit_fail(__FILE__, __LINE__, "7 x 100 bytes into 256: got frame type %d status %ld,"
		          " expected AGENT-DISCONNECT %d", type, st, SPOP_ST_TOO_BIG);
	CHECK(pr.closed);
	test_peer_close(&pr);
}
