/* Connection state machine over a socketpair: the real conn/worker code,
 * real frames (some captured from HAProxy 2.6), no HAProxy. Every protocol
 * error must end in AGENT-DISCONNECT with its status, then a close. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "spop.h"
#include "testhelp.h"
#include "testpeer.h"
#include "worker.h"

static struct config ccfg;
static struct policy cpol;

static void conn_cfg(void)
{
	log_min_level = LOG_WARN;    /* the disconnects below are expected */
	memset(&ccfg, 0, sizeof(ccfg));
	memset(&cpol, 0, sizeof(cpol));
	snprintf(cpol.name, sizeof(cpol.name), "default");
	cpol.require_cert = 1;
	cpol.deny_status = 403;
	ccfg.policies = ccfg.default_policy = &cpol;
	ccfg.max_frame_size = 16380;
	ccfg.fragmentation = 1;
	ccfg.max_message_size = 65536;
	ccfg.max_connections = 100;
	ccfg.hello_timeout_ms = 5000;
	ccfg.idle_timeout_ms = 600000;
	ccfg.shutdown_timeout_ms = 1000;
	ccfg.cache_size = 16;
}


/* Pop the next whole frame the agent sent. */
static int next_frame(struct test_peer *pr, size_t *off, struct spop_frame *f)
{
	uint32_t len;
	const unsigned char *u = (const unsigned char *)pr->in + *off;

	if (pr->in_len - *off < 4)
		return -1;
	len = (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
	if (pr->in_len - *off - 4 < len)
		return -1;
	if (spop_parse_frame(pr->in + *off + 4, len, f) < 0)
		return -1;
	*off += 4 + len;
	return 0;
}

/* Status code of an AGENT-DISCONNECT frame, or -1. */
static long disconnect_status(const struct spop_frame *f)
{
	struct spop_disconnect d;

	if (f->type != SPOP_FRM_AGENT_DISCON || spop_parse_disconnect(f->payload, f->len, &d) < 0)
		return -1;
	return d.status;
}

static size_t golden(const char *name, unsigned char *buf, size_t cap)
{
	char path[256];
	long n;

	snprintf(path, sizeof(path), "%s/frames/%s", test_dir, name);
	n = unit_read_hex(path, buf, cap);
	if (n < 0)
		unit_fail(__FILE__, __LINE__, "cannot read %s", path);
	return n < 0 ? 0 : (size_t)n;
}

/* A HAPROXY-HELLO with the given fields (NULL = key absent). */
static size_t hello(char *buf, size_t cap, const char *versions, long max_frame,
                    const char *caps, int healthcheck)
{
	char *p = buf, *start;
	struct spop_data d;

	spop_frame_begin(&p, buf + cap, &start, SPOP_FRM_HAPROXY_HELLO, SPOP_FL_FIN, 0, 0);
	if (versions) {
		spop_put_str(&p, buf + cap, "supported-versions", 18);
		d.type = SPOP_DATA_STR;
		d.u.str.ptr = versions;
		d.u.str.len = strlen(versions);
		spop_put_data(&p, buf + cap, &d);
	}
	if (max_frame >= 0) {
		spop_put_str(&p, buf + cap, "max-frame-size", 14);
		d.type = SPOP_DATA_UINT32;
		d.u.uint = (uint64_t)max_frame;
		spop_put_data(&p, buf + cap, &d);
	}
	if (caps) {
		spop_put_str(&p, buf + cap, "capabilities", 12);
		d.type = SPOP_DATA_STR;
		d.u.str.ptr = caps;
		d.u.str.len = strlen(caps);
		spop_put_data(&p, buf + cap, &d);
	}
	if (healthcheck) {
		spop_put_str(&p, buf + cap, "healthcheck", 11);
		d.type = SPOP_DATA_BOOL;
		d.u.boolean = 1;
		spop_put_data(&p, buf + cap, &d);
	}
	spop_frame_end(start, p);
	return (size_t)(p - buf);
}

/* A NOTIFY frame with one check-client-cert message and no arguments. */
static size_t notify(char *buf, size_t cap, uint8_t type, uint32_t flags,
                     uint64_t sid, uint64_t fid, const char *payload, size_t plen)
{
	char *p = buf, *start;

	spop_frame_begin(&p, buf + cap, &start, type, flags, sid, fid);
	memcpy(p, payload, plen);
	p += plen;
	spop_frame_end(start, p);
	return (size_t)(p - buf);
}

static const char MSG[] = "\x11" "check-client-cert" "\x00";

static void expect_disconnect(const char *what, const void *bytes, size_t len,
                              int after_hello, long status)
{
	struct test_peer pr;
	struct spop_frame f;
	size_t off = 0;
	char hb[256];

	CHECK(test_peer_open(&pr, &ccfg) == 0);
	if (after_hello) {
		test_peer_send(&pr, hb, hello(hb, sizeof(hb), "2.0", 16380, "pipelining", 0));
		CHECK(next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_AGENT_HELLO);
	}
	test_peer_send(&pr, bytes, len);
	if (next_frame(&pr, &off, &f) < 0 || disconnect_status(&f) != status)
		unit_fail(__FILE__, __LINE__, "%s: expected AGENT-DISCONNECT %ld, got type %d status %ld",
		          what, status, f.type, disconnect_status(&f));
	CHECK(pr.closed);
	CHECK_EQ_INT(worker_nconns(&pr.w), 0);
	CHECK_EQ_INT(worker_conn_stats(&pr.w)->errors[status], 1);
	test_peer_close(&pr);
}

TEST(conn_hello_then_notify_from_real_haproxy_frames)
{
	unsigned char buf[4096];
	struct test_peer pr;
	struct spop_frame f;
	struct spop_str k;
	struct spop_data v;
	const char *p, *end;
	size_t off = 0, n;
	int seen = 0;

	conn_cfg();
	CHECK(test_peer_open(&pr, &ccfg) == 0);
	n = golden("haproxy26-hello.hex", buf, sizeof(buf));
	test_peer_send(&pr, buf, n);
	CHECK(next_frame(&pr, &off, &f) == 0);
	CHECK_EQ_INT(f.type, SPOP_FRM_AGENT_HELLO);
	CHECK(f.flags & SPOP_FL_FIN);
	p = f.payload;
	end = f.payload + f.len;
	while (p < end && spop_get_str(&p, end, &k) == 0 && spop_get_data(&p, end, &v) == 0) {
		if (SPOP_STR_EQ(k, "version"))
			seen += v.type == SPOP_DATA_STR && SPOP_STR_EQ(v.u.str, "2.0");
		if (SPOP_STR_EQ(k, "max-frame-size"))
			seen += v.type == SPOP_DATA_UINT32 && v.u.uint == 16380;
		if (SPOP_STR_EQ(k, "capabilities"))
			seen += v.type == SPOP_DATA_STR && SPOP_STR_EQ(v.u.str, "pipelining,fragmentation");
	}
	CHECK_EQ_INT(seen, 3);

	n = golden("haproxy26-notify-tls-cert.hex", buf, sizeof(buf));
	test_peer_send(&pr, buf, n);
	CHECK(next_frame(&pr, &off, &f) == 0);
	CHECK_EQ_INT(f.type, SPOP_FRM_ACK);
	CHECK(f.flags & SPOP_FL_FIN);
	CHECK(!pr.closed);
	CHECK_EQ_INT(worker_handler_stats(&pr.w)->messages, 1);
	test_peer_close(&pr);
}

TEST(conn_healthcheck_answers_then_closes)
{
	unsigned char buf[512];
	struct test_peer pr;
	struct spop_frame f;
	size_t off = 0, n;

	conn_cfg();
	CHECK(test_peer_open(&pr, &ccfg) == 0);
	n = golden("haproxy26-hello-healthcheck.hex", buf, sizeof(buf));
	test_peer_send(&pr, buf, n);
	CHECK(next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_AGENT_HELLO);
	CHECK(pr.closed);
	CHECK_EQ_INT(worker_conn_stats(&pr.w)->healthchecks, 1);
	test_peer_close(&pr);
}

TEST(conn_protocol_errors_map_to_status)
{
	char b[512];
	size_t n;
	static const unsigned char garbage[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	static const unsigned char zero_len[] = { 0, 0, 0, 0 };
	static const unsigned char too_big[] = { 0, 0x01, 0, 0, 1, 0, 0, 0, 1 };
	static const unsigned char bad_varint[] = { 0, 0, 0, 16, 3, 0, 0, 0, 1,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	conn_cfg();
	/* before HELLO */
	n = notify(b, sizeof(b), SPOP_FRM_NOTIFY, SPOP_FL_FIN, 1, 1, MSG, sizeof(MSG) - 1);
	expect_disconnect("NOTIFY before HELLO", b, n, 0, SPOP_ST_INVALID);
	expect_disconnect("HTTP garbage", garbage, sizeof(garbage) - 1, 0, SPOP_ST_TOO_BIG);
	expect_disconnect("zero-length frame", zero_len, 4, 0, SPOP_ST_INVALID);
	expect_disconnect("frame over max-frame-size", too_big, sizeof(too_big), 0, SPOP_ST_TOO_BIG);
	expect_disconnect("bad varint", bad_varint, sizeof(bad_varint), 0, SPOP_ST_INVALID);
	/* HELLO contents */
	expect_disconnect("no version", b, hello(b, sizeof(b), NULL, 16380, "", 0), 0, SPOP_ST_NO_VERSION);
	expect_disconnect("version 1.0", b, hello(b, sizeof(b), "1.0", 16380, "", 0), 0, SPOP_ST_BAD_VERSION);
	expect_disconnect("no max-frame-size", b, hello(b, sizeof(b), "2.0", -1, "", 0), 0, SPOP_ST_NO_FRAME_SIZE);
	expect_disconnect("max-frame-size 100", b, hello(b, sizeof(b), "2.0", 100, "", 0), 0, SPOP_ST_BAD_FRAME_SIZE);
	expect_disconnect("no capabilities", b, hello(b, sizeof(b), "2.0", 16380, NULL, 0), 0, SPOP_ST_NO_CAPS);
	/* after HELLO */
	expect_disconnect("second HELLO", b, hello(b, sizeof(b), "2.0", 16380, "", 0), 1, SPOP_ST_INVALID);
	n = notify(b, sizeof(b), 77, SPOP_FL_FIN, 1, 1, MSG, sizeof(MSG) - 1);
	expect_disconnect("unknown frame type", b, n, 1, SPOP_ST_INVALID);
	n = notify(b, sizeof(b), SPOP_FRM_NOTIFY, SPOP_FL_FIN, 1, 1, "\x11" "check-client-cert" "\x03", 19);
	expect_disconnect("NOTIFY with missing args", b, n, 1, SPOP_ST_INVALID);
	n = notify(b, sizeof(b), SPOP_FRM_UNSET, SPOP_FL_FIN, 5, 5, "x", 1);
	expect_disconnect("fragment of unknown frame", b, n, 1, SPOP_ST_FRAMEID_NOTFOUND);
}

TEST(conn_haproxy_disconnect_is_answered)
{
	unsigned char buf[512];
	char hb[256];
	struct test_peer pr;
	struct spop_frame f;
	size_t off = 0, n;

	conn_cfg();
	CHECK(test_peer_open(&pr, &ccfg) == 0);
	test_peer_send(&pr, hb, hello(hb, sizeof(hb), "2.0", 16380, "pipelining", 0));
	n = golden("haproxy26-disconnect.hex", buf, sizeof(buf));
	test_peer_send(&pr, buf, n);
	CHECK(next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_AGENT_HELLO);
	CHECK(next_frame(&pr, &off, &f) == 0);
	CHECK_EQ_INT(disconnect_status(&f), 0);
	CHECK(pr.closed);
	CHECK_EQ_INT(worker_conn_stats(&pr.w)->errors[SPOP_ST_INVALID], 0);
	test_peer_close(&pr);
}

TEST(conn_pipelining_many_frames_one_write)
{
	static char b[64 * 1024];
	char hb[256];
	struct test_peer pr;
	struct spop_frame f;
	size_t off = 0, n = 0;
	int acks = 0, in_order = 1;

	conn_cfg();
	CHECK(test_peer_open(&pr, &ccfg) == 0);
	n = hello(b, sizeof(b), "2.0", 16380, "pipelining,async", 0);
	for (int i = 0; i < 200; i++)
		n += notify(b + n, sizeof(b) - n, SPOP_FRM_NOTIFY, SPOP_FL_FIN,
		            (uint64_t)(2 * i + 1), (uint64_t)(i + 1000), MSG, sizeof(MSG) - 1);
	test_peer_send(&pr, b, n);
	CHECK(next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_AGENT_HELLO);
	while (next_frame(&pr, &off, &f) == 0) {
		if (f.type != SPOP_FRM_ACK || f.stream_id != (uint64_t)(2 * acks + 1) ||
		    f.frame_id != (uint64_t)(acks + 1000))
			in_order = 0;
		acks++;
	}
	CHECK_EQ_INT(acks, 200);
	CHECK(in_order);
	/* replies are batched: far fewer writes than frames */
	CHECK(worker_conn_stats(&pr.w)->writes < 50);
	(void)hb;
	test_peer_close(&pr);
}

TEST(conn_byte_at_a_time)
{
	char b[1024];
	struct test_peer pr;
	struct spop_frame f;
	size_t off = 0, n;

	conn_cfg();
	CHECK(test_peer_open(&pr, &ccfg) == 0);
	n = hello(b, sizeof(b), "2.0", 16380, "pipelining", 0);
	n += notify(b + n, sizeof(b) - n, SPOP_FRM_NOTIFY, SPOP_FL_FIN, 3, 4, MSG, sizeof(MSG) - 1);
	for (size_t i = 0; i < n; i++)
		test_peer_send(&pr, b + i, 1);
	CHECK(next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_AGENT_HELLO);
	CHECK(next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_ACK && f.stream_id == 3 && f.frame_id == 4);
	CHECK(!pr.closed);
	test_peer_close(&pr);
}

TEST(conn_fragmented_notify_reassembled)
{
	char b[2048], hb[256];
	struct test_peer pr;
	struct spop_frame f;
	size_t off = 0, n = 0, half = (sizeof(MSG) - 1) / 2;

	conn_cfg();
	CHECK(test_peer_open(&pr, &ccfg) == 0);
	test_peer_send(&pr, hb, hello(hb, sizeof(hb), "2.0", 16380, "pipelining", 0));
	n = notify(b, sizeof(b), SPOP_FRM_NOTIFY, 0, 9, 1, MSG, half);
	n += notify(b + n, sizeof(b) - n, SPOP_FRM_UNSET, 0, 9, 1, MSG + half, 1);
	test_peer_send(&pr, b, n);
	CHECK(next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_AGENT_HELLO);
	CHECK(next_frame(&pr, &off, &f) < 0);          /* no ACK before FIN */
	n = notify(b, sizeof(b), SPOP_FRM_UNSET, SPOP_FL_FIN, 9, 1, MSG + half + 1,
	           sizeof(MSG) - 1 - half - 1);
	test_peer_send(&pr, b, n);
	CHECK(next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_ACK && f.stream_id == 9);
	CHECK_EQ_INT(worker_handler_stats(&pr.w)->messages, 1);

	/* an aborted fragmented NOTIFY gets no ACK and the connection lives */
	n = notify(b, sizeof(b), SPOP_FRM_NOTIFY, 0, 11, 1, MSG, half);
	n += notify(b + n, sizeof(b) - n, SPOP_FRM_UNSET, SPOP_FL_FIN | SPOP_FL_ABORT, 11, 1, "", 0);
	n += notify(b + n, sizeof(b) - n, SPOP_FRM_NOTIFY, SPOP_FL_FIN, 13, 1, MSG, sizeof(MSG) - 1);
	test_peer_send(&pr, b, n);
	CHECK(next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_ACK && f.stream_id == 13);
	CHECK(!pr.closed);
	test_peer_close(&pr);

	/* interlaced frames */
	n = notify(b, sizeof(b), SPOP_FRM_NOTIFY, 0, 9, 1, MSG, half);
	n += notify(b + n, sizeof(b) - n, SPOP_FRM_NOTIFY, SPOP_FL_FIN, 10, 1, MSG, sizeof(MSG) - 1);
	expect_disconnect("interlaced", b, n, 1, SPOP_ST_INTERLACED);
	/* fragmentation refused when not announced */
	ccfg.fragmentation = 0;
	n = notify(b, sizeof(b), SPOP_FRM_NOTIFY, 0, 9, 1, MSG, half);
	expect_disconnect("fragment without capability", b, n, 1, SPOP_ST_FRAG_NOT_SUPP);
	/* reassembly has a bound */
	ccfg.fragmentation = 1;
	ccfg.max_message_size = 256;
	{
		static char big[1024];

		n = notify(b, sizeof(b), SPOP_FRM_NOTIFY, 0, 9, 1, big, 200);
		n += notify(b + n, sizeof(b) - n, SPOP_FRM_UNSET, 0, 9, 1, big, 200);
		expect_disconnect("reassembly too big", b, n, 1, SPOP_ST_TOO_BIG);
	}
}

TEST(conn_negotiates_smaller_frame_size)
{
	char b[1024];
	static char big[600];
	struct test_peer pr;
	struct spop_frame f;
	size_t off = 0, n;

	conn_cfg();
	CHECK(test_peer_open(&pr, &ccfg) == 0);
	test_peer_send(&pr, b, hello(b, sizeof(b), "2.0", 512, "pipelining", 0));
	CHECK(next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_AGENT_HELLO);
	/* a 600-byte frame now exceeds the negotiated 512 */
	n = notify(b, sizeof(b), SPOP_FRM_NOTIFY, SPOP_FL_FIN, 1, 1, big, sizeof(big));
	test_peer_send(&pr, b, n);
	CHECK(next_frame(&pr, &off, &f) == 0);
	CHECK_EQ_INT(disconnect_status(&f), SPOP_ST_TOO_BIG);
	CHECK(pr.closed);
	test_peer_close(&pr);
}

TEST(conn_hello_timeout)
{
	struct test_peer pr;
	struct spop_frame f;
	size_t off = 0;
	struct timespec ts = { 0, 80 * 1000 * 1000 };

	conn_cfg();
	ccfg.hello_timeout_ms = 30;
	CHECK(test_peer_open(&pr, &ccfg) == 0);
	nanosleep(&ts, NULL);
	ev_run(worker_loop(&pr.w), EVRUN_ONCE);
	test_peer_pump(&pr);
	CHECK(next_frame(&pr, &off, &f) == 0);
	CHECK_EQ_INT(disconnect_status(&f), SPOP_ST_TIMEOUT);
	CHECK(pr.closed);
	test_peer_close(&pr);
}

TEST(conn_bad_peer_does_not_affect_another)
{
	char b[1024];
	struct test_peer good, bad;
	struct spop_frame f;
	size_t off = 0, n;

	conn_cfg();
	CHECK(test_peer_open(&good, &ccfg) == 0 && test_peer_open(&bad, &ccfg) == 0);
	test_peer_send(&good, b, hello(b, sizeof(b), "2.0", 16380, "pipelining", 0));
	test_peer_send(&bad, "\xff\xff\xff\xff garbage", 12);
	CHECK(bad.closed);
	n = notify(b, sizeof(b), SPOP_FRM_NOTIFY, SPOP_FL_FIN, 1, 1, MSG, sizeof(MSG) - 1);
	test_peer_send(&good, b, n);
	CHECK(next_frame(&good, &off, &f) == 0 && f.type == SPOP_FRM_AGENT_HELLO);
	CHECK(next_frame(&good, &off, &f) == 0 && f.type == SPOP_FRM_ACK);
	CHECK(!good.closed);
	test_peer_close(&bad);
	test_peer_close(&good);
}

TEST(conn_shutdown_answers_pending_then_disconnects)
{
	char b[1024];
	struct test_peer pr;
	struct spop_frame f;
	size_t off = 0, n;

	conn_cfg();
	CHECK(test_peer_open(&pr, &ccfg) == 0);
	test_peer_send(&pr, b, hello(b, sizeof(b), "2.0", 16380, "pipelining", 0));
	CHECK(next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_AGENT_HELLO);
	/* two NOTIFYs reach the socket, then SIGTERM's shutdown runs before
	 * the loop saw them: both are answered, then AGENT-DISCONNECT(0) */
	n = notify(b, sizeof(b), SPOP_FRM_NOTIFY, SPOP_FL_FIN, 1, 1, MSG, sizeof(MSG) - 1);
	n += notify(b + n, sizeof(b) - n, SPOP_FRM_NOTIFY, SPOP_FL_FIN, 3, 1, MSG, sizeof(MSG) - 1);
	CHECK(write(pr.fd, b, n) == (ssize_t)n);
	CHECK(worker_first_conn(&pr.w) != NULL);
	conn_shutdown(worker_first_conn(&pr.w));
	test_peer_pump(&pr);
	CHECK(next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_ACK && f.stream_id == 1);
	CHECK(next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_ACK && f.stream_id == 3);
	CHECK(next_frame(&pr, &off, &f) == 0);
	CHECK_EQ_INT(disconnect_status(&f), SPOP_ST_NONE);
	CHECK(pr.closed);
	test_peer_close(&pr);
}

TEST(conn_answers_every_buffered_frame)
{
	/* More pipelined NOTIFYs than the ACK buffer holds, all already in the
	 * socket when the agent looks: every one must be answered even though
	 * no new byte arrives once the peer waits (regression: the agent used
	 * to stop after ~250 and wait until idle_timeout). */
	static char b[128 * 1024];
	struct test_peer pr;
	struct spop_frame f;
	size_t off = 0, n;
	int acks = 0;

	conn_cfg();
	CHECK(test_peer_open(&pr, &ccfg) == 0);
	n = hello(b, sizeof(b), "2.0", 16380, "pipelining", 0);
	for (int i = 0; i < 500; i++)
		n += notify(b + n, sizeof(b) - n, SPOP_FRM_NOTIFY, SPOP_FL_FIN,
		            (uint64_t)i, 1, MSG, sizeof(MSG) - 1);
	CHECK(write(pr.fd, b, n) == (ssize_t)n);
	for (int round = 0; round < 50; round++)
		test_peer_pump(&pr);
	CHECK(next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_AGENT_HELLO);
	while (next_frame(&pr, &off, &f) == 0 && f.type == SPOP_FRM_ACK)
		acks++;
	CHECK_EQ_INT(acks, 500);
	if (acks != 500 && worker_first_conn(&pr.w))
		fprintf(stderr, "  rx_len %zu tx %zu/%zu events %d active %d closed %d in_len %zu\n",
		        worker_first_conn(&pr.w)->rx_len, worker_first_conn(&pr.w)->tx_off, worker_first_conn(&pr.w)->tx_len, worker_first_conn(&pr.w)->io.events,
		        ev_is_active(&worker_first_conn(&pr.w)->io), pr.closed, pr.in_len);
	test_peer_close(&pr);
}
