/* The runtime pieces around the connection: a connection served by an
 * owner that is not a worker (the conn_owner interface is all it needs),
 * stats summed generically from stat_defs[] over real workers, the
 * recent-denials ring, the thread limit, the log format switch. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "cfg.h"
#include "conn.h"
#include "counter.h"
#include "declog.h"
#include "handler.h"
#include "log.h"
#include "rules.h"
#include "spop.h"
#include "stats.h"
#include "testcfg.h"
#include "testhelp.h"
#include "worker.h"

static struct config rcfg;
static struct policy rpol;

static void runtime_cfg(void)
{
	memset(&rcfg, 0, sizeof(rcfg));
	memset(&rpol, 0, sizeof(rpol));
	snprintf(rpol.name, sizeof(rpol.name), "default");
	rpol.require_cert = 1;
	rcfg.policies = rcfg.default_policy = &rpol;
	rcfg.max_frame_size = 16380;
	rcfg.max_message_size = 65536;
	rcfg.max_connections = 100;
	rcfg.hello_timeout_ms = 5000;
	rcfg.idle_timeout_ms = 600000;
	rcfg.shutdown_timeout_ms = 1000;
	rcfg.cache_size = 16;
	rcfg.generation = 1;
}

/* ---- a connection owned by a test, not a worker ---- */

struct fake_owner {
	struct conn_owner own;         /* first: the callbacks recover us */
	int opened, closed, notified;
	uint64_t last_sid, last_fid;
	size_t last_len;
	int refuse;                    /* notify fails with SPOP_ST_RES */
	struct conn *conn;
};

static int fake_notify(struct conn_owner *o, unsigned long conn_id, uint64_t sid, uint64_t fid,
                       const char *payload, size_t len, char **p, char *end, size_t max_frame,
                       enum spop_status *st)
{
	struct fake_owner *f = (struct fake_owner *)o;
	char *start;

	(void)conn_id;
	(void)payload;
	(void)max_frame;
	f->notified++;
	f->last_sid = sid;
	f->last_fid = fid;
	f->last_len = len;
	if (f->refuse) {
		*st = SPOP_ST_RES;
		return -1;
	}
	if (spop_frame_begin(p, end, &start, SPOP_FRM_ACK, SPOP_FL_FIN, sid, fid) < 0 ||
	    spop_frame_end(start, *p) < 0) {
		*st = SPOP_ST_RES;
		return -1;
	}
	return 0;
}

static void fake_opened(struct conn_owner *o, struct conn *c)
{
	struct fake_owner *f = (struct fake_owner *)o;

	f->opened++;
	f->conn = c;
}

static void fake_closed(struct conn_owner *o, struct conn *c)
{
	struct fake_owner *f = (struct fake_owner *)o;

	f->closed++;
	if (f->conn == c)
		f->conn = NULL;
}

static const struct conn_owner_ops fake_ops = {
	.notify = fake_notify, .opened = fake_opened, .closed = fake_closed,
};

static size_t put_hello(char *buf, size_t cap)
{
	char *p = buf, *start;
	struct spop_data d = { .type = SPOP_DATA_STR };

	spop_frame_begin(&p, buf + cap, &start, SPOP_FRM_HAPROXY_HELLO, SPOP_FL_FIN, 0, 0);
	spop_put_str(&p, buf + cap, "supported-versions", 18);
	d.u.str.ptr = "2.0";
	d.u.str.len = 3;
	spop_put_data(&p, buf + cap, &d);
	spop_put_str(&p, buf + cap, "max-frame-size", 14);
	d.type = SPOP_DATA_UINT32;
	d.u.uint = 16380;
	spop_put_data(&p, buf + cap, &d);
	spop_put_str(&p, buf + cap, "capabilities", 12);
	d.type = SPOP_DATA_STR;
	d.u.str.ptr = "pipelining";
	d.u.str.len = 10;
	spop_put_data(&p, buf + cap, &d);
	spop_frame_end(start, p);
	return (size_t)(p - buf);
}

static size_t put_notify(char *buf, size_t cap, uint64_t sid, uint64_t fid)
{
	static const char msg[] = "\x11" "check-client-cert" "\x00";
	char *p = buf, *start;

	spop_frame_begin(&p, buf + cap, &start, SPOP_FRM_NOTIFY, SPOP_FL_FIN, sid, fid);
	memcpy(p, msg, sizeof(msg) - 1);
	p += sizeof(msg) - 1;
	spop_frame_end(start, p);
	return (size_t)(p - buf);
}

/* Run the loop a little, then read what the agent wrote. */
static size_t fake_pump(struct fake_owner *f, int fd, char *in, size_t cap, size_t have, int *eof)
{
	for (int i = 0; i < 20; i++) {
		ssize_t n;

		ev_run(f->own.loop, EVRUN_NOWAIT);
		while (have < cap && (n = read(fd, in + have, cap - have)) > 0)
			have += (size_t)n;
		if (have < cap && read(fd, in + have, 0) == 0 && eof) {
			char c;

			if (recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
				*eof = 1;
		}
	}
	return have;
}

/* Every frame type in in[0..len), in order, as a string of type bytes. */
static int frame_types(const char *in, size_t len, uint8_t *types, int max, struct spop_frame *last)
{
	size_t off = 0;
	int n = 0;

	while (len - off >= 4 && n < max) {
		const unsigned char *u = (const unsigned char *)in + off;
		uint32_t flen = (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
		struct spop_frame f;

		if (len - off - 4 < flen || spop_parse_frame(in + off + 4, flen, &f) < 0)
			break;
		types[n++] = f.type;
		if (last)
			*last = f;
		off += 4 + flen;
	}
	return n;
}

TEST(runtime_conn_served_by_a_plain_owner)
{
	struct fake_owner f;
	char out[512], in[4096];
	uint8_t types[8];
	struct spop_frame last;
	size_t n, have = 0;
	int sv[2], nt, eof = 0;

	runtime_cfg();
	log_min_level = LOG_ERR;
	memset(&f, 0, sizeof(f));
	f.own.loop = ev_loop_new(EVFLAG_AUTO);
	f.own.cfg = &rcfg;
	f.own.ops = &fake_ops;
	CHECK(f.own.loop != NULL);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	CHECK(conn_new(&f.own, sv[0]) != NULL);
	CHECK_EQ_INT(f.opened, 1);
	CHECK(f.conn != NULL);

	/* HELLO, then two pipelined NOTIFYs in one write */
	n = put_hello(out, sizeof(out));
	n += put_notify(out + n, sizeof(out) - n, 7, 1);
	n += put_notify(out + n, sizeof(out) - n, 9, 4);
	CHECK(write(sv[1], out, n) == (ssize_t)n);
	have = fake_pump(&f, sv[1], in, sizeof(in), have, NULL);
	nt = frame_types(in, have, types, 8, &last);
	CHECK_EQ_INT(nt, 3);
	CHECK_EQ_INT(types[0], SPOP_FRM_AGENT_HELLO);
	CHECK_EQ_INT(types[1], SPOP_FRM_ACK);
	CHECK_EQ_INT(types[2], SPOP_FRM_ACK);
	CHECK_EQ_INT(last.stream_id, 9);
	CHECK_EQ_INT(last.frame_id, 4);
	CHECK_EQ_INT(f.notified, 2);
	CHECK_EQ_INT(f.last_len, 19);
	/* the counters it writes are the owner's */
	CHECK_EQ_INT(CTR_GET(f.own.stats.hellos), 1);
	CHECK_EQ_INT(CTR_GET(f.own.stats.bytes_in), n);
	CHECK_EQ_INT(CTR_GET(f.own.stats.bytes_out), have);

	/* the owner refuses the next message: AGENT-DISCONNECT, then closed */
	f.refuse = 1;
	n = put_notify(out, sizeof(out), 11, 1);
	CHECK(write(sv[1], out, n) == (ssize_t)n);
	have = fake_pump(&f, sv[1], in, sizeof(in), have, &eof);
	nt = frame_types(in, have, types, 8, &last);
	CHECK_EQ_INT(nt, 4);
	CHECK_EQ_INT(types[3], SPOP_FRM_AGENT_DISCON);
	CHECK_EQ_INT(CTR_GET(f.own.stats.errors[SPOP_ST_RES]), 1);
	CHECK_EQ_INT(f.closed, 1);
	CHECK(f.conn == NULL);
	CHECK_EQ_INT(eof, 1);

	close(sv[1]);
	ev_loop_destroy(f.own.loop);
}

/* conn_shutdown() answers every frame already received, then disconnects
 * with status 0, without a worker: with small frames the bytes queued take
 * many reads (more than one read event's worth), all of them answered. */
TEST(runtime_conn_shutdown_answers_what_arrived)
{
	enum { N = 700 };
	static char out[32768], in[32768];
	static uint8_t types[N + 8];
	struct fake_owner f;
	size_t n, have = 0;
	int sv[2], nt;

	runtime_cfg();
	rcfg.max_frame_size = 1024;     /* rx holds 1028 bytes: N frames take ~20 reads */
	log_min_level = LOG_ERR;
	memset(&f, 0, sizeof(f));
	f.own.loop = ev_loop_new(EVFLAG_AUTO);
	f.own.cfg = &rcfg;
	f.own.ops = &fake_ops;
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	CHECK(conn_new(&f.own, sv[0]) != NULL);
	n = put_hello(out, sizeof(out));
	CHECK(write(sv[1], out, n) == (ssize_t)n);
	have = fake_pump(&f, sv[1], in, sizeof(in), have, NULL);
	/* N NOTIFYs the loop has not seen yet */
	n = 0;
	for (int i = 0; i < N; i++)
		n += put_notify(out + n, sizeof(out) - n, (uint64_t)i + 1, 1);
	CHECK(n > 16 * 1028);
	CHECK(write(sv[1], out, n) == (ssize_t)n);
	CHECK(f.conn != NULL);
	if (f.conn)
		conn_shutdown(f.conn);
	have = fake_pump(&f, sv[1], in, sizeof(in), have, NULL);
	nt = frame_types(in, have, types, N + 8, NULL);
	CHECK_EQ_INT(f.notified, N);
	CHECK_EQ_INT(nt, N + 2);                  /* HELLO, N ACKs, DISCONNECT */
	CHECK_EQ_INT(types[nt > 0 ? nt - 1 : 0], SPOP_FRM_AGENT_DISCON);
	CHECK_EQ_INT(CTR_GET(f.own.stats.errors[SPOP_ST_NONE]), 0);
	CHECK(CTR_GET(f.own.stats.reads) > 8);
	CHECK_EQ_INT(f.closed, 1);
	close(sv[1]);
	ev_loop_destroy(f.own.loop);
}

/* ---- stats summed from stat_defs[] ---- */

static uint64_t *counter_at(struct worker *w, enum stats_block b, size_t off)
{
	/* the blocks are the worker's own memory: write through it */
	return (uint64_t *)(uintptr_t)((const char *)worker_counters(w, b) + off);
}

static size_t block_size(enum stats_block b)
{
	switch (b) {
	case SB_WORKER:
		return sizeof(struct worker_stats);
	case SB_CONN:
		return sizeof(struct conn_stats);
	case SB_HANDLER:
		return sizeof(struct handler_stats);
	case SB_CACHE:
		return sizeof(struct cache);
	case SB_NONE:
	case SB_BLOCKS:
		break;
	}
	return 0;
}

TEST(runtime_stat_defs_locations_are_valid)
{
	for (int i = 0; i < ST_COUNT; i++) {
		const struct stat_def *d = &stat_defs[i];

		CHECK(d->name != NULL && d->help != NULL);
		CHECK(d->block < SB_BLOCKS);
		if (d->block == SB_NONE) {
			CHECK_EQ_INT(d->offset, 0);
			continue;
		}
		CHECK(d->offset % sizeof(uint64_t) == 0);
		CHECK(d->offset + sizeof(uint64_t) <= block_size(d->block));
		for (int j = 0; j < i; j++)
			if (stat_defs[j].block == d->block && stat_defs[j].offset == d->offset)
				unit_fail(__FILE__, __LINE__, "%s and %s read the same counter",
				          stat_defs[j].name, d->name);
	}
}

TEST(runtime_stats_collect_sums_every_counter)
{
	struct worker *w = calloc(2, sizeof(*w));
	struct stats_snapshot *s = calloc(1, sizeof(*s));
	struct stats_agent a;

	runtime_cfg();
	CHECK(w && s);
	if (!w || !s)
		goto out;
	CHECK(worker_init(&w[0], 0, &rcfg, NULL, 0) == 0);
	CHECK(worker_init(&w[1], 1, &rcfg, NULL, 0) == 0);
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < ST_COUNT; i++)
			if (stat_defs[i].block != SB_NONE)
				*counter_at(&w[k], stat_defs[i].block, stat_defs[i].offset) =
					(uint64_t)(i + 1) * (k ? 1000 : 1);
		w[k].own.stats.errors[SPOP_ST_INVALID] = 3 + (uint64_t)k;
		w[k].hc.stats.by_code[DEC_CERT_MISSING] = 5 + (uint64_t)k;
		w[k].hc.stats.lat[2] = 7 + (uint64_t)k;
	}
	memset(&a, 0, sizeof(a));
	a.workers = w;
	a.nworkers = 2;
	a.cfg = &rcfg;
	a.reloads = 4;
	stats_collect(&a, s, 0);
	for (int i = 0; i < ST_COUNT; i++)
		if (stat_defs[i].block != SB_NONE && s->v[i] != (double)(i + 1) * 1001)
			unit_fail(__FILE__, __LINE__, "%s = %.0f, expected %d", stat_defs[i].name,
			          s->v[i], (i + 1) * 1001);
	CHECK_EQ_INT(s->v[ST_RELOADS], 4);
	CHECK_EQ_INT(s->v[ST_WORKERS], 2);
	CHECK_EQ_INT(s->spop_errors[SPOP_ST_INVALID], 7);
	CHECK_EQ_INT(s->by_code[DEC_CERT_MISSING], 11);
	CHECK_EQ_INT(s->lat[2], 15);
	CHECK_EQ_INT(stats_messages(&a), (ST_MESSAGES + 1) * 1001);
	CHECK_EQ_INT(s->partial, 1);      /* no loop ran: no snapshot came back */
	worker_destroy(&w[0]);
	worker_destroy(&w[1]);
out:
	free(w);
	free(s);
}

/* ---- recent denials ---- */

TEST(runtime_declog_keeps_newest_denials)
{
	struct declog *dl = calloc(1, sizeof(*dl));
	struct stats_denial out[STATS_DENIALS_PER_WORKER + 4];
	struct handler_result res;
	int n;

	log_min_level = LOG_ERR;
	runtime_cfg();      /* rpol's name: not left over from another test */
	CHECK(dl != NULL);
	if (!dl)
		return;
	memset(&res, 0, sizeof(res));
	res.policy = &rpol;
	for (int i = 0; i < STATS_DENIALS_PER_WORKER + 5; i++) {
		res.d.code = i % 2 ? DEC_CERT_MISSING : DEC_ALLOW;   /* allows are not kept */
		snprintf(res.d.detail, sizeof(res.d.detail), "n%d", i);
		declog_decided(dl, LOG_DECISIONS_NONE, 1000 + i, 1, &res);
	}
	n = declog_recent(dl, out, STATS_DENIALS_PER_WORKER + 4);
	CHECK_EQ_INT(n, (STATS_DENIALS_PER_WORKER + 5) / 2);
	CHECK_EQ_STR(out[0].detail, "n19");
	CHECK_EQ_INT(out[0].time, 1019);
	CHECK_EQ_INT(out[0].code, DEC_CERT_MISSING);
	CHECK_EQ_STR(out[0].policy, "default");
	CHECK_EQ_STR(out[n - 1].detail, "n1");
	for (int i = 0; i < 30; i++) {
		res.d.code = DEC_CERT_MISSING;
		snprintf(res.d.detail, sizeof(res.d.detail), "m%d", i);
		declog_decided(dl, LOG_DECISIONS_NONE, 2000 + i, 1, &res);
	}
	n = declog_recent(dl, out, 3);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_STR(out[0].detail, "m29");
	CHECK_EQ_STR(out[2].detail, "m27");
	CHECK_EQ_INT(declog_recent(dl, out, STATS_DENIALS_PER_WORKER + 4), STATS_DENIALS_PER_WORKER);
	free(dl);
}

/* ---- the thread limit ---- */

TEST(runtime_threads_over_the_limit_are_refused)
{
	char text[256], err[512];
	struct config *cfg;

	snprintf(text, sizeof(text), "[agent]\nthreads = %d\n\n[policy default]\nrequire_cert = no\n",
	         CFG_MAX_THREADS);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (cfg)
		CHECK_EQ_INT(cfg->threads, CFG_MAX_THREADS);
	cfg_free(cfg);
	snprintf(text, sizeof(text), "[agent]\nthreads = %d\n\n[policy default]\nrequire_cert = no\n",
	         CFG_MAX_THREADS + 1);
	err[0] = 0;
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg == NULL);
	if (!strstr(err, ":2: threads"))
		unit_fail(__FILE__, __LINE__, "unexpected error: %s", err);
	cfg_free(cfg);
}

/* ---- the log format switch ---- */

/* One log line written while fmt is set, as text. */
static void log_line_in(enum log_format fmt, char *buf, size_t cap)
{
	char path[] = "/tmp/certspoa-runtime-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n = -1;

	buf[0] = 0;
	if (fd < 0 || saved < 0)
		return;
	log_set_format(fmt);
	dup2(fd, STDERR_FILENO);
	log_emit(LOG_ERR, 42, "hello \"there\"");
	dup2(saved, STDERR_FILENO);
	close(saved);
	if (lseek(fd, 0, SEEK_SET) == 0)
		n = read(fd, buf, cap - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
}

TEST(runtime_log_format_switches)
{
	char line[512];

	log_line_in(LOG_FMT_JSON, line, sizeof(line));
	CHECK(line[0] == '{');
	CHECK(strstr(line, "\"conn\":\"42\",\"msg\":\"hello \\\"there\\\"\"}\n") != NULL);
	log_line_in(LOG_FMT_LOGFMT, line, sizeof(line));
	CHECK(strncmp(line, "ts=", 3) == 0);
	CHECK(strstr(line, " conn=42 msg=\"hello \\\"there\\\"\"\n") != NULL);
}
