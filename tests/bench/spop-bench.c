/* spop-bench: a SPOP load generator that talks to an agent the way HAProxy
 * does, to measure an agent alone (certspoa, or any SPOA).
 *
 *   connect -> HAPROXY-HELLO (supported-versions "2.0", max-frame-size,
 *   capabilities "pipelining") -> AGENT-HELLO -> NOTIFY frames, up to
 *   --pipeline in flight per connection, each carrying one
 *   check-client-cert message with the arguments spoe-conf/certspoa.conf
 *   sends (present verify cert chain sni host path src) -> ACKs, each one
 *   checked -> HAPROXY-DISCONNECT.
 *
 * Closed loop (default): every connection keeps --pipeline frames in flight;
 * the figure is the agent's throughput. Open loop (--rate): frames are due
 * on a fixed schedule whatever the agent does, and latency runs from the
 * time a frame was due, not the time it could be sent, so a stalled agent
 * shows up in the percentiles (no coordinated omission).
 *
 * One thread, libev. Frames are pre-encoded per certificate; a burst of
 * frames goes out in one send(). See --help and docs/BENCHMARKS.md. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/evp.h>

#include "benchmsg.h"
#include "benchpki.h"
#include "spop.h"

#define MAX_PIPELINE    256
#define RX_CHUNK        (64 * 1024)
#define HIST_SUB        64            /* sub-buckets per power of two: 1.6% */
#define HIST_BUCKETS    (60 * HIST_SUB)
#define DRAIN_TIMEOUT_S 5.0
#define NS              1000000000ULL

/* ------------------------------------------------------------------ options */

static struct opts {
	const char *agent;
	int conns;
	int pipeline;
	double duration;
	double warmup;
	uint64_t messages;           /* 0: run for duration */
	double rate;                 /* 0: closed loop */
	int tick_us;
	const char *cert_file;
	const char *chain_file;
	int no_chain;
	size_t distinct;             /* 0: all loaded / 1 generated */
	const char *gen_pki;
	enum benchpki_keys keys;
	size_t list_size;
	int days;
	const char *expect;          /* "allow", "deny" or NULL */
	uint32_t max_frame;
	const char *sni, *host, *path;
	int quiet;
} o = {
	.agent = "127.0.0.1:12345",
	.conns = 4,
	.pipeline = 20,
	.duration = 5.0,
	.warmup = 0.5,
	.tick_us = 50,
	.list_size = 100000,
	.days = 30,
	.max_frame = 16380,
	.sni = "api.bench.example",
	.host = "api.bench.example",
	.path = "/api/v1/payments/12345",
};

static void usage(FILE *out)
{
	fprintf(out,
"usage: spop-bench [OPTIONS]                 load an agent, print msg/s and latency\n"
"       spop-bench --gen-pki DIR [-k K]      write a benchmark PKI and exit\n"
"\n"
"Talks SPOP 2.0 like HAProxy: HELLO with capabilities \"pipelining\", up to\n"
"--pipeline NOTIFY frames in flight per connection, each one check-client-cert\n"
"message with the arguments of spoe-conf/certspoa.conf; every ACK is checked\n"
"(ids, FIN, a txn 'verdict' variable, 'sha256' if sent). Exit status: 0, 1 if\n"
"any error was counted, 2 on bad usage or setup.\n"
"\n"
"Target and load:\n"
"  -a, --agent ADDR        HOST:PORT or unix:/path         [127.0.0.1:12345]\n"
"  -c, --connections N     SPOP connections                [4]\n"
"  -p, --pipeline N        frames in flight per connection [20] (HAProxy: 20)\n"
"  -d, --duration SEC      measured time                   [5]\n"
"  -w, --warmup SEC        unmeasured time before it       [0.5]\n"
"  -n, --messages N        send exactly N messages instead (no warm-up)\n"
"  -r, --rate R            open loop: R messages/s in all, latency from the\n"
"                          time each was due; 0 = closed loop [0]\n"
"      --tick USEC         open-loop scheduling tick        [50]\n"
"\n"
"Certificates (default: generate a root, an intermediate and K leaves):\n"
"      --cert FILE         leaf certificate(s) to send: PEM bundle or DER(s)\n"
"      --chain FILE        certificates sent as 'chain' (ssl_c_chain_der)\n"
"      --no-chain          send 'chain' as NULL (the client sent its leaf only)\n"
"  -k, --distinct K        cycle through K distinct leaves, one per message\n"
"                          (more than the agent's cache: every message misses)\n"
"      --gen-pki DIR       write ca.pem inter.pem chain.der leaves.der\n"
"                          allowed.txt client.pem server.pem leaf0.sha256\n"
"      --list-size N       allowed.txt lines (leaves + random)  [100000]\n"
"      --days N            leaf validity                       [30]\n"
"      --keys rsa|ec       generated keys: RSA-2048, leaves sharing one key, or\n"
"                          EC P-256, a key per leaf (fast: 10k in ~1 s) [rsa]\n"
"\n"
"Message and checks:\n"
"      --sni S, --host S, --path S   request facts sent   [api.bench.example, /api/v1/payments/12345]\n"
"      --expect VERDICT    count any other verdict as an error (allow|deny)\n"
"      --max-frame-size N  announced in HAPROXY-HELLO     [16380]\n"
"  -q, --quiet             print only the final 'result:' line\n"
"  -h, --help\n"
"\n"
"The last line is machine-readable: result: key=value ... (rates in msg/s,\n"
"latencies in microseconds).\n");
}

/* ---------------------------------------------------------------- clock */

/* CPU time this process used so far (user + system), in ns. */
static uint64_t cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * NS +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ histogram */

/* Log-linear: exact below 64 ns, then 64 buckets per power of two. */
static uint64_t hist[HIST_BUCKETS];
static uint64_t hist_count, hist_max;

static unsigned hist_index(uint64_t v)
{
	unsigned e;

	if (v < HIST_SUB)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);           /* >= 6 */
	if (e >= 59)
		return HIST_BUCKETS - 1;
	return (e - 5) * HIST_SUB + (unsigned)((v >> (e - 6)) & (HIST_SUB - 1));
}

static uint64_t hist_value(unsigned i)
{
	unsigned e, sub;

	if (i < HIST_SUB)
		return i;
	e = i / HIST_SUB + 5;
	sub = i % HIST_SUB;
	return ((uint64_t)(HIST_SUB + sub) << (e - 6)) + ((1ULL << (e - 6)) >> 1);
}

static void hist_add(uint64_t v)
{
	hist[hist_index(v)]++;
	hist_count++;
	if (v > hist_max)
		hist_max = v;
}

static uint64_t hist_pct(double pct)
{
	uint64_t want, seen = 0;

	if (hist_count == 0)
		return 0;
	want = (uint64_t)((double)hist_count * pct / 100.0 + 0.999999);
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += hist[i];
		if (seen >= want)
			return hist_value(i) < hist_max ? hist_value(i) : hist_max;
	}
	return hist_max;
}

/* --------------------------------------------------------------- counters */

static struct {
	uint64_t sent, acked, window_acks, measured;
	uint64_t allow, deny, other_verdict;
	uint64_t backlog_end;        /* open loop: due but not sent at the end */
	uint64_t bytes_out, bytes_in, writes, reads;
} st;

enum err_kind {
	ERR_IO = 0,       /* connect, read, write failures, unexpected close */
	ERR_PROTO,        /* malformed or unexpected frame */
	ERR_ID,           /* ACK for no frame in flight, or wrong ids */
	ERR_NO_VERDICT,   /* ACK without a txn verdict string */
	ERR_EXPECT,       /* verdict other than --expect */
	ERR_SHA,          /* sha256 variable is not the certificate's */
	ERR_DISCONNECT,   /* AGENT-DISCONNECT during the run */
	ERR_TIMEOUT,      /* still unanswered at the end of the drain */
	ERR_KINDS
};

static const char *const err_names[ERR_KINDS] = {
	[ERR_IO]         = "io",
	[ERR_PROTO]      = "protocol",
	[ERR_ID]         = "ids",
	[ERR_NO_VERDICT] = "no_verdict",
	[ERR_EXPECT]     = "unexpected_verdict",
	[ERR_SHA]        = "sha256_mismatch",
	[ERR_DISCONNECT] = "agent_disconnect",
	[ERR_TIMEOUT]    = "timeout",
};

static uint64_t errs[ERR_KINDS];

static void count_err(enum err_kind k, const char *what)
{
	if (errs[k]++ < 5 && !o.quiet)
		fprintf(stderr, "spop-bench: %s error: %s\n", err_names[k], what);
}

/* ----------------------------------------------------- messages to send */

struct msg_tpl {
	char *payload;               /* NOTIFY payload: the whole message list */
	size_t len;
	char sha256_hex[65];
};

static struct msg_tpl *tpl;
static size_t ntpl;
static size_t max_payload;

static int put_arg(char **p, char *end, const char *name, const struct spop_data *d)
{
	if (spop_put_str(p, end, name, strlen(name)) < 0)
		return -1;
	return spop_put_data(p, end, d);
}

static int put_arg_str(char **p, char *end, const char *name, enum spop_data_type t,
                       const void *v, size_t len)
{
	struct spop_data d = { .type = t };

	d.u.str.ptr = v;
	d.u.str.len = len;
	return put_arg(p, end, name, &d);
}

static int build_payload(struct msg_tpl *t, const struct bench_der *cert,
                         const unsigned char *chain, size_t chain_len)
{
	const struct benchmsg_req rq = { o.sni, o.host, o.path };
	size_t cap = benchmsg_notify_max(cert, chain_len, &rq);
	char *p;

	t->payload = malloc(cap);
	if (!t->payload)
		return -1;
	p = t->payload;
	if (benchmsg_notify(&p, t->payload + cap, cert, chain, chain_len, &rq) < 0)
		return -1;
	t->len = (size_t)(p - t->payload);
	benchpki_hex(cert->sha256, 32, t->sha256_hex);
	if (t->len > max_payload)
		max_payload = t->len;
	return 0;
}

/* ------------------------------------------------------------ connections */

enum bconn_state {
	BC_CONNECTING = 0,
	BC_HELLO,                    /* HAPROXY-HELLO sent */
	BC_READY,
	BC_CLOSED,
	BC_STATES
};

struct slot {
	uint64_t sid;
	uint64_t due;                /* intended send time */
	int busy;
};

struct bconn {
	ev_io io;                    /* first: callbacks cast back */
	int fd;
	int idx;
	enum bconn_state state;
	uint32_t max_frame;
	int depth;                   /* pipeline actually usable */
	char *rx;
	size_t rx_len, rx_cap;
	char *tx;
	size_t tx_off, tx_len, tx_cap;
	struct slot slots[MAX_PIPELINE];
	uint32_t slot_tpl[MAX_PIPELINE];
	int freel[MAX_PIPELINE];
	int nfree;
	uint64_t next_sid;
	uint64_t next_due;           /* open loop */
	uint64_t period;             /* open loop: ns between frames */
};

enum phase {
	PH_CONNECT = 0,
	PH_RUN,
	PH_DRAIN,
	PH_DONE,
	PH_COUNT
};

static struct ev_loop *loop;
static struct bconn *conns;
static int nready, nclosed;
static enum phase phase;
static uint64_t t_start, t_warm, t_end, t_last_ack, t_drain;
static uint64_t cpu_start, cpu_end;   /* our own CPU time over the run */
static uint64_t msg_seq;         /* picks the certificate */
static uint64_t inflight;
static ev_timer phase_timer;
static ev_io tick_w;
static int tick_fd = -1;
static struct sockaddr_storage agent_addr;
static socklen_t agent_addrlen;

static void conn_cb(struct ev_loop *l, ev_io *w, int revents);
static void start_run(void);
static void finish_run(void);

static int parse_addr(const char *spec)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *colon;
	size_t hl;

	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&agent_addr;

		if (strlen(spec + 5) >= sizeof(un->sun_path))
			return -1;
		un->sun_family = AF_UNIX;
		strncpy(un->sun_path, spec + 5, sizeof(un->sun_path) - 1);
		agent_addrlen = sizeof(*un);
		return 0;
	}
	colon = strrchr(spec, ':');
	if (!colon)
		return -1;
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res)
		return -1;
	memcpy(&agent_addr, res->ai_addr, res->ai_addrlen);
	agent_addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void set_events(struct bconn *c)
{
	int ev = EV_READ;

	if (c->tx_off < c->tx_len || c->state == BC_CONNECTING)
		ev |= EV_WRITE;
	if (c->state == BC_CONNECTING)
		ev = EV_WRITE;
	if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) == ev)
		return;
	ev_io_stop(loop, &c->io);
	ev_io_set(&c->io, c->fd, ev);
	ev_io_start(loop, &c->io);
}

static void conn_close(struct bconn *c)
{
	if (c->state == BC_CLOSED)
		return;
	ev_io_stop(loop, &c->io);
	close(c->fd);
	c->fd = -1;
	if (c->state == BC_READY)
		nready--;
	/* frames still in flight will never be answered */
	for (int i = 0; i < c->depth; i++) {
		if (c->slots[i].busy) {
			c->slots[i].busy = 0;
			inflight--;
			if (phase != PH_DONE)
				count_err(ERR_TIMEOUT, "connection closed with frames in flight");
		}
	}
	c->state = BC_CLOSED;
	nclosed++;
	if (nclosed == o.conns && phase != PH_DONE)
		finish_run();
}

/* Send what is queued. Returns -1 if the connection was closed. */
static int conn_flush(struct bconn *c)
{
	if (c->state == BC_CLOSED)
		return -1;
	while (c->tx_off < c->tx_len) {
		ssize_t n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);

		if (n > 0) {
			c->tx_off += (size_t)n;
			st.bytes_out += (uint64_t)n;
			st.writes++;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		count_err(ERR_IO, n == -1 ? strerror(errno) : "send returned 0");
		conn_close(c);
		return -1;
	}
	if (c->tx_off == c->tx_len)
		c->tx_off = c->tx_len = 0;
	set_events(c);
	return 0;
}

static int tx_reserve(struct bconn *c, size_t n)
{
	if (c->tx_cap - c->tx_len >= n)
		return 0;
	if (c->tx_off) {
		memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
		c->tx_len -= c->tx_off;
		c->tx_off = 0;
	}
	return c->tx_cap - c->tx_len >= n ? 0 : -1;
}

/* Queue one NOTIFY due at time due. Returns 0, or -1 if no slot is free. */
static int send_one(struct bconn *c, uint64_t due)
{
	const struct msg_tpl *t;
	char *p, *end, *start;
	struct slot *s;
	int i;

	if (c->nfree == 0)
		return -1;
	t = &tpl[msg_seq % ntpl];
	if (tx_reserve(c, t->len + SPOP_FRAME_HDR_MAX) < 0)
		return -1;
	i = c->freel[--c->nfree];
	s = &c->slots[i];
	s->busy = 1;
	s->sid = ++c->next_sid;
	s->due = due;
	c->slot_tpl[i] = (uint32_t)(msg_seq % ntpl);
	msg_seq++;
	p = c->tx + c->tx_len;
	end = c->tx + c->tx_cap;
	/* frame-id = slot + 1: an ACK finds its frame in O(1), and the
	 * stream-id (unique per connection) proves it is the right one */
	if (spop_frame_begin(&p, end, &start, SPOP_FRM_NOTIFY, SPOP_FL_FIN,
	                     s->sid, (uint64_t)i + 1) < 0)
		return -1;
	memcpy(p, t->payload, t->len);
	p += t->len;
	spop_frame_end(start, p);
	c->tx_len = (size_t)(p - c->tx);
	inflight++;
	st.sent++;
	return 0;
}

static int may_send(void)
{
	if (phase != PH_RUN)
		return 0;
	return o.messages == 0 || st.sent < o.messages;
}

/* Closed loop: fill the pipeline. Open loop: send what is due. */
static void conn_refill(struct bconn *c, uint64_t now)
{
	if (c->state != BC_READY)
		return;
	if (o.rate > 0) {
		while (may_send() && c->next_due <= now && c->next_due < t_end) {
			if (send_one(c, c->next_due) < 0)
				break;       /* pipeline full: it stays due, and late */
			c->next_due += c->period;
		}
	} else {
		while (may_send() && c->nfree > 0)
			if (send_one(c, now) < 0)
				break;
	}
}

/* ------------------------------------------------------------- receiving */

static int get_action_var(const char **q, const char *end, int *type, int *scope,
                          struct spop_str *name, struct spop_data *val)
{
	const char *p = *q;
	unsigned char at, nb;

	if (end - p < 3)
		return -1;
	at = (unsigned char)*p++;
	nb = (unsigned char)*p++;
	*scope = (unsigned char)*p++;
	*type = at;
	if (spop_get_str(&p, end, name) < 0)
		return -1;
	if (at == SPOP_ACT_SET_VAR && nb == 3) {
		if (spop_get_data(&p, end, val) < 0)
			return -1;
	} else if (at == SPOP_ACT_UNSET_VAR && nb == 2) {
		val->type = SPOP_DATA_NULL;
	} else {
		return -1;
	}
	*q = p;
	return 0;
}

static void on_ack(struct bconn *c, const struct spop_frame *f, uint64_t now)
{
	const char *p = f->payload, *end = f->payload + f->len;
	struct spop_str verdict = { NULL, 0 }, sha = { NULL, 0 };
	const struct msg_tpl *t;
	struct slot *s;
	int i;

	if (!(f->flags & SPOP_FL_FIN)) {
		count_err(ERR_PROTO, "ACK without FIN");
		return;
	}
	if (f->frame_id == 0 || f->frame_id > (uint64_t)c->depth) {
		count_err(ERR_ID, "ACK frame-id matches no frame sent");
		return;
	}
	i = (int)f->frame_id - 1;
	s = &c->slots[i];
	if (!s->busy || s->sid != f->stream_id) {
		count_err(ERR_ID, "ACK stream-id/frame-id pair not in flight");
		return;
	}
	t = &tpl[c->slot_tpl[i]];
	while (p < end) {
		struct spop_str name;
		struct spop_data val;
		int type, scope;

		if (get_action_var(&p, end, &type, &scope, &name, &val) < 0) {
			count_err(ERR_PROTO, "malformed action in ACK");
			break;
		}
		if (type != SPOP_ACT_SET_VAR || scope != SPOP_SCOPE_TXN ||
		    val.type != SPOP_DATA_STR)
			continue;
		if (SPOP_STR_EQ(name, "verdict"))
			verdict = val.u.str;
		else if (SPOP_STR_EQ(name, "sha256"))
			sha = val.u.str;
	}
	if (SPOP_STR_EQ(verdict, "allow"))
		st.allow++;
	else if (SPOP_STR_EQ(verdict, "deny"))
		st.deny++;
	else if (verdict.ptr)
		st.other_verdict++;
	if (!verdict.ptr)
		count_err(ERR_NO_VERDICT, "ACK without a txn verdict");
	else if (o.expect && !spop_str_eq(verdict, o.expect, strlen(o.expect)))
		count_err(ERR_EXPECT, "verdict is not the expected one");
	if (sha.ptr && !spop_str_eq(sha, t->sha256_hex, 64))
		count_err(ERR_SHA, "sha256 variable is not the certificate's thumbprint");

	s->busy = 0;
	c->freel[c->nfree++] = i;
	inflight--;
	st.acked++;
	t_last_ack = now;
	if (o.messages || (s->due >= t_warm && s->due < t_end)) {
		hist_add(now > s->due ? now - s->due : 0);
		st.measured++;
	}
	if (!o.messages && now >= t_warm && now < t_end)
		st.window_acks++;
}

static void on_agent_hello(struct bconn *c, const struct spop_frame *f)
{
	const char *p = f->payload, *end = f->payload + f->len;
	int has_version = 0, pipelining = 0;
	uint64_t mfs = 0;

	while (p < end) {
		struct spop_str k;
		struct spop_data v;

		if (spop_get_str(&p, end, &k) < 0 || spop_get_data(&p, end, &v) < 0) {
			count_err(ERR_PROTO, "malformed AGENT-HELLO");
			conn_close(c);
			return;
		}
		if (SPOP_STR_EQ(k, "version") && v.type == SPOP_DATA_STR)
			has_version = v.u.str.len >= 2 && memcmp(v.u.str.ptr, "2.", 2) == 0;
		else if (SPOP_STR_EQ(k, "max-frame-size") &&
		         (v.type == SPOP_DATA_UINT32 || v.type == SPOP_DATA_UINT64))
			mfs = v.u.uint;
		else if (SPOP_STR_EQ(k, "capabilities") && v.type == SPOP_DATA_STR)
			pipelining = memmem(v.u.str.ptr, v.u.str.len, "pipelining", 10) != NULL;
	}
	if (!has_version || mfs < SPOP_MIN_FRAME_SIZE || mfs > o.max_frame) {
		count_err(ERR_PROTO, "AGENT-HELLO without version 2.x or a valid max-frame-size");
		conn_close(c);
		return;
	}
	if (max_payload + SPOP_FRAME_HDR_MAX > mfs) {
		fprintf(stderr, "spop-bench: the agent's max-frame-size %llu is too small for a %zu-byte NOTIFY\n",
		        (unsigned long long)mfs, max_payload + SPOP_FRAME_HDR_MAX);
		exit(2);
	}
	c->max_frame = (uint32_t)mfs;
	c->depth = pipelining ? o.pipeline : 1;
	c->nfree = 0;
	for (int i = c->depth - 1; i >= 0; i--)
		c->freel[c->nfree++] = i;
	c->state = BC_READY;
	nready++;
}

static void on_frame(struct bconn *c, const char *buf, size_t len, uint64_t now)
{
	struct spop_frame f;

	if (spop_parse_frame(buf, len, &f) < 0) {
		count_err(ERR_PROTO, "malformed frame header");
		conn_close(c);
		return;
	}
	switch (f.type) {
	case SPOP_FRM_AGENT_HELLO:
		if (c->state != BC_HELLO) {
			count_err(ERR_PROTO, "AGENT-HELLO after the handshake");
			break;
		}
		on_agent_hello(c, &f);
		break;
	case SPOP_FRM_ACK:
		if (c->state != BC_READY) {
			count_err(ERR_PROTO, "ACK before AGENT-HELLO");
			break;
		}
		on_ack(c, &f, now);
		break;
	case SPOP_FRM_AGENT_DISCON:
		if (phase != PH_DONE)
			count_err(ERR_DISCONNECT, "AGENT-DISCONNECT");
		conn_close(c);
		break;
	default:
		count_err(ERR_PROTO, "unexpected frame type");
		conn_close(c);
		break;
	}
}

static int process_rx(struct bconn *c, uint64_t now)
{
	const char *p = c->rx;
	size_t left = c->rx_len;

	while (left >= 4) {
		const unsigned char *u = (const unsigned char *)p;
		uint32_t flen = (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
		                (uint32_t)u[2] << 8 | u[3];

		if (flen > o.max_frame) {
			count_err(ERR_PROTO, "frame larger than max-frame-size");
			conn_close(c);
			return -1;
		}
		if (left - 4 < flen)
			break;
		on_frame(c, p + 4, flen, now);
		if (c->state == BC_CLOSED)
			return -1;
		p += 4 + flen;
		left -= 4 + flen;
	}
	if (left && p != c->rx)
		memmove(c->rx, p, left);
	c->rx_len = left;
	return 0;
}

static void send_hello(struct bconn *c)
{
	char *p = c->tx + c->tx_len, *end = c->tx + c->tx_cap, *start;
	char engine[40];
	struct spop_data d = { .type = SPOP_DATA_STR };

	snprintf(engine, sizeof(engine), "spop-bench-%d-%d", (int)getpid(), c->idx);
	if (spop_frame_begin(&p, end, &start, SPOP_FRM_HAPROXY_HELLO, SPOP_FL_FIN, 0, 0) < 0)
		goto fail;
	d.u.str.ptr = "2.0";
	d.u.str.len = 3;
	if (put_arg(&p, end, "supported-versions", &d) < 0)
		goto fail;
	d.type = SPOP_DATA_UINT32;
	d.u.uint = o.max_frame;
	if (put_arg(&p, end, "max-frame-size", &d) < 0)
		goto fail;
	if (put_arg_str(&p, end, "capabilities", SPOP_DATA_STR, "pipelining", 10) < 0 ||
	    put_arg_str(&p, end, "engine-id", SPOP_DATA_STR, engine, strlen(engine)) < 0 ||
	    spop_frame_end(start, p) < 0)
		goto fail;
	c->tx_len = (size_t)(p - c->tx);
	c->state = BC_HELLO;
	conn_flush(c);
	return;
fail:
	fprintf(stderr, "spop-bench: cannot encode HAPROXY-HELLO\n");
	exit(2);
}

static void send_disconnect(struct bconn *c)
{
	char *p, *end, *start;
	struct spop_data d = { .type = SPOP_DATA_UINT32 };

	if (c->state == BC_CLOSED || tx_reserve(c, 128) < 0)
		return;
	p = c->tx + c->tx_len;
	end = c->tx + c->tx_cap;
	if (spop_frame_begin(&p, end, &start, SPOP_FRM_HAPROXY_DISCON, SPOP_FL_FIN, 0, 0) < 0 ||
	    put_arg(&p, end, "status-code", &d) < 0 ||
	    put_arg_str(&p, end, "message", SPOP_DATA_STR, "normal", 6) < 0 ||
	    spop_frame_end(start, p) < 0)
		return;
	c->tx_len = (size_t)(p - c->tx);
	conn_flush(c);
}

static void on_readable(struct bconn *c)
{
	uint64_t now = 0;

	for (int i = 0; i < 16; i++) {
		size_t room = c->rx_cap - c->rx_len;
		ssize_t n = recv(c->fd, c->rx + c->rx_len, room, 0);

		if (n > 0) {
			c->rx_len += (size_t)n;
			st.bytes_in += (uint64_t)n;
			st.reads++;
			now = now_ns();     /* one clock read per batch of ACKs */
			if (process_rx(c, now) < 0)
				return;
			if ((size_t)n < room)
				break;
			continue;
		}
		if (n == 0) {
			if (phase != PH_DONE)
				count_err(ERR_IO, "agent closed the connection");
			conn_close(c);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		count_err(ERR_IO, strerror(errno));
		conn_close(c);
		return;
	}
	if (phase == PH_CONNECT && nready + nclosed == o.conns) {
		/* every handshake is done: start the clock */
		start_run();
		return;
	}
	if (now == 0)
		now = now_ns();
	conn_refill(c, now);
	if (conn_flush(c) < 0)
		return;
	if (phase == PH_DRAIN && inflight == 0)
		finish_run();
}

static void conn_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct bconn *c = (struct bconn *)w;

	(void)l;
	if (c->state == BC_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err) {
			count_err(ERR_IO, err ? strerror(err) : "connect failed");
			conn_close(c);
			return;
		}
		send_hello(c);
		return;
	}
	if (revents & EV_WRITE)
		if (conn_flush(c) < 0)
			return;
	if (revents & EV_READ)
		on_readable(c);
}

static int conn_open(struct bconn *c, int idx)
{
	const int one = 1;

	memset(c, 0, sizeof(*c));
	c->idx = idx;
	c->rx_cap = RX_CHUNK + o.max_frame + 4;
	c->tx_cap = (size_t)o.pipeline * (max_payload + SPOP_FRAME_HDR_MAX) + 4096;
	c->rx = malloc(c->rx_cap);
	c->tx = malloc(c->tx_cap);
	if (!c->rx || !c->tx)
		return -1;
	c->fd = socket(agent_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		return -1;
	if (agent_addr.ss_family != AF_UNIX)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&agent_addr, agent_addrlen) == -1 &&
	    errno != EINPROGRESS) {
		fprintf(stderr, "spop-bench: connect %s: %s\n", o.agent, strerror(errno));
		return -1;
	}
	c->state = BC_CONNECTING;
	ev_io_init(&c->io, conn_cb, c->fd, EV_WRITE);
	ev_io_start(loop, &c->io);
	return 0;
}

/* ------------------------------------------------------------ run phases */

static void tick_cb(struct ev_loop *l, ev_io *w, int revents)
{
	uint64_t expirations, now;

	(void)l;
	(void)revents;
	if (read(w->fd, &expirations, sizeof(expirations)) == -1 && errno != EAGAIN)
		return;
	now = now_ns();
	for (int i = 0; i < o.conns; i++) {
		struct bconn *c = &conns[i];

		if (c->state != BC_READY)
			continue;
		conn_refill(c, now);
		conn_flush(c);
	}
}

static void phase_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	if (phase == PH_RUN && !o.messages) {
		/* measured window over: stop sending, wait for the answers */
		uint64_t now = now_ns();

		phase = PH_DRAIN;
		t_drain = now;
		/* open loop: frames that were due in the window but never sent
		 * (the agent did not keep up) count with the time they have
		 * waited so far, a lower bound of their latency */
		for (int i = 0; o.rate > 0 && i < o.conns; i++) {
			struct bconn *c = &conns[i];

			if (c->state != BC_READY)
				continue;
			for (uint64_t due = c->next_due; due < t_end; due += c->period) {
				st.backlog_end++;
				if (due >= t_warm)
					hist_add(now - due);
			}
		}
		if (inflight == 0) {
			finish_run();
			return;
		}
		ev_timer_set(&phase_timer, DRAIN_TIMEOUT_S, 0.);
		ev_timer_start(loop, &phase_timer);
		return;
	}
	/* connect, drain or -n run took too long */
	if (phase == PH_CONNECT)
		count_err(ERR_TIMEOUT, "handshakes did not complete within 5 s");
	else if (inflight)
		count_err(ERR_TIMEOUT, "frames unanswered at the end");
	errs[ERR_TIMEOUT] += inflight ? inflight - 1 : 0;
	finish_run();
}

static void start_run(void)
{
	uint64_t now = now_ns();

	ev_timer_stop(loop, &phase_timer);
	if (nready == 0) {
		fprintf(stderr, "spop-bench: no connection completed its HELLO\n");
		finish_run();
		return;
	}
	phase = PH_RUN;
	t_start = now;
	cpu_start = cpu_ns();
	t_warm = o.messages ? now : now + (uint64_t)(o.warmup * 1e9);
	t_end = o.messages ? UINT64_MAX : t_warm + (uint64_t)(o.duration * 1e9);
	if (o.rate > 0) {
		struct itimerspec its;
		double per_conn = o.rate / nready;
		int k = 0;

		for (int i = 0; i < o.conns; i++) {
			struct bconn *c = &conns[i];

			if (c->state != BC_READY)
				continue;
			c->period = (uint64_t)(1e9 / per_conn);
			if (c->period == 0)
				c->period = 1;
			/* stagger the connections over one period */
			c->next_due = now + (uint64_t)k++ * (c->period / (uint64_t)nready);
		}
		tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (tick_fd == -1) {
			perror("spop-bench: timerfd_create");
			exit(2);
		}
		memset(&its, 0, sizeof(its));
		its.it_value.tv_nsec = (long)o.tick_us * 1000;
		its.it_interval.tv_nsec = (long)o.tick_us * 1000;
		timerfd_settime(tick_fd, 0, &its, NULL);
		ev_io_init(&tick_w, tick_cb, tick_fd, EV_READ);
		ev_io_start(loop, &tick_w);
	}
	if (o.messages) {
		/* a -n run ends when everything is answered; bound it anyway */
		ev_timer_set(&phase_timer, 3600., 0.);
	} else {
		ev_timer_set(&phase_timer, (double)(t_end - now) / 1e9, 0.);
	}
	ev_timer_start(loop, &phase_timer);
	for (int i = 0; i < o.conns; i++) {
		if (conns[i].state != BC_READY)
			continue;
		conn_refill(&conns[i], now);
		conn_flush(&conns[i]);
	}
}

static void finish_run(void)
{
	if (phase == PH_DONE)
		return;
	phase = PH_DONE;
	cpu_end = cpu_ns();
	if (!t_drain)
		t_drain = now_ns();
	ev_timer_stop(loop, &phase_timer);
	if (tick_fd != -1) {
		ev_io_stop(loop, &tick_w);
		close(tick_fd);
		tick_fd = -1;
	}
	for (int i = 0; i < o.conns; i++) {
		send_disconnect(&conns[i]);
		conn_close(&conns[i]);
	}
	ev_break(loop, EVBREAK_ALL);
}

/* In a -n run, the end comes with the last ACK: checked before the loop
 * blocks again (an ev_check would only run after the next wake-up). */
static void check_done_cb(struct ev_loop *l, ev_prepare *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	if (phase == PH_RUN && o.messages && st.acked >= o.messages)
		finish_run();
}

static void sigint_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	if (phase == PH_RUN && !o.messages) {
		t_end = now_ns();
		phase_cb(loop, &phase_timer, 0);
	} else {
		finish_run();
	}
}

/* --------------------------------------------------------------- report */

static void report(void)
{
	uint64_t total_err = 0;
	double window, rate, gen_us;
	const struct msg_tpl *t = &tpl[0];

	for (int k = 0; k < ERR_KINDS; k++)
		total_err += errs[k];
	if (o.messages) {
		window = t_last_ack > t_start ? (double)(t_last_ack - t_start) / 1e9 : 0;
		rate = window > 0 ? (double)st.acked / window : 0;
	} else {
		uint64_t end = t_drain && t_drain < t_end ? t_drain : t_end;

		window = end > t_warm ? (double)(end - t_warm) / 1e9 : 0;
		rate = window > 0 ? (double)st.window_acks / window : 0;
	}
	gen_us = st.acked && cpu_end > cpu_start ?
	         (double)(cpu_end - cpu_start) / 1e3 / (double)st.acked : 0;
	if (!o.quiet) {
		printf("spop-bench: %s, %d connections x %d in flight, %s, ",
		       o.agent, o.conns, o.pipeline,
		       o.rate > 0 ? "open loop" : "closed loop");
		if (o.messages)
			printf("%llu messages\n", (unsigned long long)o.messages);
		else
			printf("%.1f s measured after %.1f s warm-up\n", o.duration, o.warmup);
		if (o.rate > 0)
			printf("  offered      %.0f msg/s (latency counted from the time each frame was due)\n",
			       o.rate);
		printf("  certificates %zu distinct; NOTIFY payload %zu bytes\n", ntpl, t->len);
		printf("  throughput   %.0f msg/s (%llu in %.3f s)\n", rate,
		       (unsigned long long)(o.messages ? st.acked : st.window_acks), window);
		printf("  latency      p50 %.1f us, p90 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us (%llu measured)\n",
		       hist_pct(50) / 1e3, hist_pct(90) / 1e3, hist_pct(99) / 1e3,
		       hist_pct(99.9) / 1e3, hist_max / 1e3, (unsigned long long)hist_count);
		printf("  verdicts     allow %llu, deny %llu, other %llu\n",
		       (unsigned long long)st.allow, (unsigned long long)st.deny,
		       (unsigned long long)st.other_verdict);
		printf("  i/o          %.1f frames per write, %.1f KB per read; spop-bench used %.2f us CPU per message\n",
		       st.writes ? (double)st.sent / (double)st.writes : 0,
		       st.reads ? (double)st.bytes_in / (double)st.reads / 1024 : 0, gen_us);
		if (st.backlog_end)
			printf("  backlog      %llu frames were due but not sent: the agent did not keep up\n",
			       (unsigned long long)st.backlog_end);
		printf("  errors       %llu", (unsigned long long)total_err);
		for (int k = 0; k < ERR_KINDS; k++)
			if (errs[k])
				printf(" %s=%llu", err_names[k], (unsigned long long)errs[k]);
		printf("\n");
	}
	printf("result: mode=%s conns=%d pipeline=%d certs=%zu payload=%zu offered=%.0f "
	       "seconds=%.3f acked=%llu rate=%.0f p50_us=%.1f p90_us=%.1f p99_us=%.1f "
	       "p999_us=%.1f max_us=%.1f allow=%llu deny=%llu backlog=%llu gen_cpu_us=%.2f errors=%llu\n",
	       o.rate > 0 ? "open" : "closed", o.conns, o.pipeline, ntpl, t->len, o.rate,
	       window, (unsigned long long)st.acked, rate,
	       hist_pct(50) / 1e3, hist_pct(90) / 1e3, hist_pct(99) / 1e3,
	       hist_pct(99.9) / 1e3, hist_max / 1e3,
	       (unsigned long long)st.allow, (unsigned long long)st.deny,
	       (unsigned long long)st.backlog_end, gen_us, (unsigned long long)total_err);
	fflush(stdout);
}

/* ----------------------------------------------------------------- setup */

static int parse_num(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static void bad_opt(const char *name, const char *val)
{
	fprintf(stderr, "spop-bench: bad value for %s: '%s' (see --help)\n", name, val);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	enum {
		OPT_TICK = 256, OPT_CERT, OPT_CHAIN, OPT_NOCHAIN, OPT_GEN, OPT_LIST, OPT_DAYS,
		OPT_EXPECT, OPT_MFS, OPT_SNI, OPT_HOST, OPT_PATH, OPT_KEYS
	};
	static const struct option lo[] = {
		{ "agent",          required_argument, NULL, 'a' },
		{ "connections",    required_argument, NULL, 'c' },
		{ "pipeline",       required_argument, NULL, 'p' },
		{ "duration",       required_argument, NULL, 'd' },
		{ "warmup",         required_argument, NULL, 'w' },
		{ "messages",       required_argument, NULL, 'n' },
		{ "rate",           required_argument, NULL, 'r' },
		{ "distinct",       required_argument, NULL, 'k' },
		{ "quiet",          no_argument,       NULL, 'q' },
		{ "help",           no_argument,       NULL, 'h' },
		{ "tick",           required_argument, NULL, OPT_TICK },
		{ "cert",           required_argument, NULL, OPT_CERT },
		{ "chain",          required_argument, NULL, OPT_CHAIN },
		{ "no-chain",       no_argument,       NULL, OPT_NOCHAIN },
		{ "gen-pki",        required_argument, NULL, OPT_GEN },
		{ "list-size",      required_argument, NULL, OPT_LIST },
		{ "days",           required_argument, NULL, OPT_DAYS },
		{ "keys",           required_argument, NULL, OPT_KEYS },
		{ "expect",         required_argument, NULL, OPT_EXPECT },
		{ "max-frame-size", required_argument, NULL, OPT_MFS },
		{ "sni",            required_argument, NULL, OPT_SNI },
		{ "host",           required_argument, NULL, OPT_HOST },
		{ "path",           required_argument, NULL, OPT_PATH },
		{ NULL, 0, NULL, 0 }
	};
	int opt;
	double v;

	while ((opt = getopt_long(argc, argv, "a:c:p:d:w:n:r:k:qh", lo, NULL)) != -1) {
		switch (opt) {
		case 'a': o.agent = optarg; break;
		case 'c':
			if (parse_num(optarg, 1, 10000, &v) < 0) bad_opt("--connections", optarg);
			o.conns = (int)v;
			break;
		case 'p':
			if (parse_num(optarg, 1, MAX_PIPELINE, &v) < 0) bad_opt("--pipeline", optarg);
			o.pipeline = (int)v;
			break;
		case 'd':
			if (parse_num(optarg, 0.01, 86400, &v) < 0) bad_opt("--duration", optarg);
			o.duration = v;
			break;
		case 'w':
			if (parse_num(optarg, 0, 3600, &v) < 0) bad_opt("--warmup", optarg);
			o.warmup = v;
			break;
		case 'n':
			if (parse_num(optarg, 1, 1e15, &v) < 0) bad_opt("--messages", optarg);
			o.messages = (uint64_t)v;
			break;
		case 'r':
			if (parse_num(optarg, 0, 1e8, &v) < 0) bad_opt("--rate", optarg);
			o.rate = v;
			break;
		case 'k':
			if (parse_num(optarg, 1, 1e7, &v) < 0) bad_opt("--distinct", optarg);
			o.distinct = (size_t)v;
			break;
		case 'q': o.quiet = 1; break;
		case 'h': usage(stdout); exit(0);
		case OPT_TICK:
			if (parse_num(optarg, 1, 999999, &v) < 0) bad_opt("--tick", optarg);
			o.tick_us = (int)v;
			break;
		case OPT_CERT: o.cert_file = optarg; break;
		case OPT_CHAIN: o.chain_file = optarg; break;
		case OPT_NOCHAIN: o.no_chain = 1; break;
		case OPT_GEN: o.gen_pki = optarg; break;
		case OPT_LIST:
			if (parse_num(optarg, 0, 1e8, &v) < 0) bad_opt("--list-size", optarg);
			o.list_size = (size_t)v;
			break;
		case OPT_DAYS:
			if (parse_num(optarg, 1, 3650, &v) < 0) bad_opt("--days", optarg);
			o.days = (int)v;
			break;
		case OPT_KEYS:
			if (strcmp(optarg, "rsa") == 0)
				o.keys = BENCHPKI_RSA;
			else if (strcmp(optarg, "ec") == 0)
				o.keys = BENCHPKI_EC;
			else
				bad_opt("--keys", optarg);
			break;
		case OPT_EXPECT:
			if (strcmp(optarg, "allow") != 0 && strcmp(optarg, "deny") != 0)
				bad_opt("--expect", optarg);
			o.expect = optarg;
			break;
		case OPT_MFS:
			if (parse_num(optarg, SPOP_MIN_FRAME_SIZE, SPOP_MAX_FRAME_SIZE, &v) < 0)
				bad_opt("--max-frame-size", optarg);
			o.max_frame = (uint32_t)v;
			break;
		case OPT_SNI: o.sni = optarg; break;
		case OPT_HOST: o.host = optarg; break;
		case OPT_PATH: o.path = optarg; break;
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
}

/* Certificates and pre-encoded NOTIFY payloads. */
static int setup_messages(void)
{
	struct bench_pki pki;
	struct bench_der *leaves = NULL, *chain_certs = NULL;
	size_t nleaves = 0, nchain = 0, chain_len = 0;
	unsigned char *chain = NULL;
	int generated = 0;

	memset(&pki, 0, sizeof(pki));
	if (o.cert_file) {
		if (benchpki_load(o.cert_file, &leaves, &nleaves) < 0)
			return -1;
		if (o.chain_file) {
			if (benchpki_load(o.chain_file, &chain_certs, &nchain) < 0)
				return -1;
			chain = benchpki_concat(chain_certs, nchain, &chain_len);
			if (!chain)
				return -1;
		}
	} else {
		size_t k = o.distinct ? o.distinct : 1;

		if (!o.quiet && k > 64)
			fprintf(stderr, "spop-bench: generating %zu certificates...\n", k);
		if (benchpki_generate_keys(&pki, k, (int64_t)time(NULL), o.days, o.keys) < 0)
			return -1;
		leaves = pki.leaf;
		nleaves = pki.nleaves;
		chain = pki.chain;
		chain_len = pki.chain_len;
		generated = 1;
	}
	if (o.no_chain)
		chain_len = 0;
	ntpl = o.distinct && o.distinct < nleaves ? o.distinct : nleaves;
	if (o.distinct > nleaves) {
		fprintf(stderr, "spop-bench: -k %zu but only %zu certificates in %s\n",
		        o.distinct, nleaves, o.cert_file);
		return -1;
	}
	tpl = calloc(ntpl, sizeof(*tpl));
	if (!tpl)
		return -1;
	for (size_t i = 0; i < ntpl; i++)
		if (build_payload(&tpl[i], &leaves[i], chain, chain_len) < 0) {
			fprintf(stderr, "spop-bench: cannot encode a NOTIFY payload\n");
			return -1;
		}
	if (max_payload + SPOP_FRAME_HDR_MAX > o.max_frame) {
		fprintf(stderr, "spop-bench: a %zu-byte NOTIFY does not fit max-frame-size %u\n",
		        max_payload + SPOP_FRAME_HDR_MAX, o.max_frame);
		return -1;
	}
	if (generated) {
		benchpki_free(&pki);
	} else {
		for (size_t i = 0; i < nleaves; i++)
			free(leaves[i].der);
		for (size_t i = 0; i < nchain; i++)
			free(chain_certs[i].der);
		free(leaves);
		free(chain_certs);
		free(chain);
	}
	return 0;
}

static int gen_pki(void)
{
	struct bench_pki pki;
	size_t k = o.distinct ? o.distinct : 1;
	uint64_t t0 = now_ns();

	if (benchpki_generate_keys(&pki, k, (int64_t)time(NULL), o.days, o.keys) < 0)
		return 2;
	if (benchpki_write(&pki, o.gen_pki, o.list_size) < 0) {
		benchpki_free(&pki);
		return 2;
	}
	if (!o.quiet)
		printf("spop-bench: wrote %zu leaves (%zu bytes DER each, chain %zu bytes) and a "
		       "%zu-line thumbprint list into %s in %.1f s\n",
		       pki.nleaves, pki.leaf[0].len, pki.chain_len,
		       o.list_size > k ? o.list_size : k, o.gen_pki, (double)(now_ns() - t0) / 1e9);
	benchpki_free(&pki);
	return 0;
}

int main(int argc, char **argv)
{
	ev_signal sigint_w;
	ev_prepare check_w;

	parse_args(argc, argv);
	if (o.gen_pki)
		return gen_pki();
	signal(SIGPIPE, SIG_IGN);
	/* timer slack: an open-loop tick of 50 us must not become 100 */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	if (parse_addr(o.agent) < 0) {
		fprintf(stderr, "spop-bench: bad agent address '%s' (HOST:PORT or unix:/path)\n", o.agent);
		return 2;
	}
	if (setup_messages() < 0)
		return 2;
	loop = ev_default_loop(EVFLAG_AUTO);
	conns = calloc((size_t)o.conns, sizeof(*conns));
	if (!loop || !conns)
		return 2;
	for (int i = 0; i < o.conns; i++)
		if (conn_open(&conns[i], i) < 0) {
			fprintf(stderr, "spop-bench: cannot open connection %d to %s\n", i, o.agent);
			return 2;
		}
	ev_timer_init(&phase_timer, phase_cb, 5., 0.);
	ev_timer_start(loop, &phase_timer);
	ev_signal_init(&sigint_w, sigint_cb, SIGINT);
	ev_signal_start(loop, &sigint_w);
	ev_prepare_init(&check_w, check_done_cb);
	ev_prepare_start(loop, &check_w);
	ev_run(loop, 0);
	report();
	for (uint64_t k = 0; k < ERR_KINDS; k++)
		if (errs[k])
			return 1;
	return 0;
}
