/* Fuzz target: the connection state machine (agent/conn.c) with the worker
 * (agent/worker.c) and the handler behind it, over a real socketpair.
 *
 * Input: three bytes of settings, then the byte stream HAProxy would send.
 *   s0 bits 0-1  max_frame_size: 16380, 256, 1024, 4096
 *      bit  2    fragmentation off
 *      bit  3    close our side (EOF) once everything is sent
 *      bits 4-5  max_message_size: 262144, 256, 2048, 16384
 *      bit  6    lazy reader: read the agent's replies only when a write
 *                would block, and at the end
 *      bit  7    small socket buffers (partial writes on the agent side):
 *                4 KB << (s2 >> 5), so 4 KB to 512 KB
 *   s1, s2       how the stream is cut into writes: s1 = 0 all at once;
 *                s1 = 1 one byte at a time from offset s2 * 32 on (what
 *                comes before in one write); else pseudo-random chunks of
 *                1 .. 1 + s1 * s1 / 8 bytes from a generator seeded by s1, s2.
 *                After MAX_WRITES writes the rest goes at once, so that one
 *                input costs milliseconds, not seconds.
 *                s1 = 255: pipelining burst: the first frame (HELLO), then
 *                the rest of the stream 1 + s2 * 4 times over (at most
 *                REPEAT_MAX bytes), all in one write, as a reloading
 *                HAProxy or a backlog after a pause would send it. Small
 *                inputs so reach the back-pressure paths.
 *                s1 = 254: graceful stop: the first frame (HELLO) and its
 *                answer, then the rest in one write that the agent has not
 *                read yet, then conn_shutdown() as on SIGTERM.
 * After every write the worker's loop runs with EVRUN_NOWAIT until it makes
 * no more progress, and every byte the agent sent is read back.
 *
 * Invariants:
 * - every frame from the agent is a well-formed AGENT-HELLO, ACK or
 *   AGENT-DISCONNECT (fuzzlib.c); the first is AGENT-HELLO or
 *   AGENT-DISCONNECT; nothing follows AGENT-DISCONNECT, nor the AGENT-HELLO
 *   of a health check; an ACK only follows AGENT-HELLO, fits the frame size
 *   it announced, and echoes the ids of a NOTIFY that was in the stream;
 *   there are no more ACKs than NOTIFY frames;
 * - the agent never stops reading while its connection is open (no hang),
 *   and once it is quiet no partial frame is left unsent; a connection
 *   still open at the end has answered every whole NOTIFY it was sent;
 * - after our EOF the connection is closed; before it, the agent closes
 *   only after an AGENT-DISCONNECT or a health check's AGENT-HELLO;
 * - a graceful stop in the exchange ends with AGENT-DISCONNECT and a
 *   close, and (unless that reports an error) every whole NOTIFY that had
 *   reached the socket before it has been answered, when there were at
 *   most 20 of them (HAProxy's limit) and the socket had its usual room;
 * - no crash, no sanitizer report, no leak (worker_destroy frees the rest). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "cfg-t.h"
#include "conn.h"
#include "fuzz.h"
#include "log.h"
#include "spop.h"
#include "worker.h"

#define MAX_NOTIFY_IDS  4096
#define MAX_WRITES      512
#define REPEAT_MAX      (256 * 1024)
#define STUCK_ROUNDS    200
#define OUT_LIMIT       (64U << 20)    /* far above what any input can cause */

static int verbose;                  /* FUZZ_VERBOSE set: one line per input */
static const int frame_sizes[4] = { 16380, 256, 1024, 4096 };
static const int message_sizes[4] = { 262144, 256, 2048, 16384 };

/* What the stream we send contains, read as the agent would frame it. */
struct sent {
	size_t notifies;                 /* frames of type NOTIFY */
	size_t answerable;               /* NOTIFYs owed an ACK if all goes well */
	size_t nids;
	uint64_t sid[MAX_NOTIFY_IDS], fid[MAX_NOTIFY_IDS];
	int healthcheck;                 /* first frame: a valid health-check HELLO */
};

/* What came back so far. */
struct reader {
	char *buf;
	size_t len, cap;
	enum { R_START = 0, R_HELLO, R_DONE } state;
	uint32_t max_frame;              /* announced in AGENT-HELLO */
	uint32_t status;                 /* of the AGENT-DISCONNECT, if one came */
	size_t acks, frames;
	uint64_t total;
};

struct run {
	struct worker w;
	int fd;                          /* our end */
	int closed;                      /* the agent closed (EOF or EPIPE seen) */
	int eof_sent;                    /* we closed our side first */
	int eof_seen, reset;             /* recv() gave 0, or ECONNRESET */
	int stopped;                     /* conn_shutdown() during the exchange */
	int stopped_in_hello;            /* conn_shutdown() before the HELLO was whole:
	                                  * the agent closes without a word (conn.c) */
	int cfg_max;
	const struct sent *sent;
	struct reader r;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Also counts the NOTIFYs that a connection which stays open must answer:
 * each one with FIN, and each fragmented one completed by a continuation
 * frame with FIN (not with ABORT). */
static void scan_sent(const uint8_t *p, size_t n, size_t max, struct sent *s)
{
	int first = 1, frag = 0;

	memset(s, 0, sizeof(*s));
	while (n >= 4) {
		size_t flen = be32(p);
		struct spop_frame f;

		if (flen > max || flen > n - 4)
			break;
		if (spop_parse_frame((const char *)p + 4, flen, &f) == 0) {
			if (first && f.type == SPOP_FRM_HAPROXY_HELLO && (f.flags & SPOP_FL_FIN)) {
				struct spop_hello h;

				s->healthcheck = spop_parse_hello(f.payload, f.len, &h, NULL) == 0 &&
				                 h.healthcheck;
			}
			if (f.type == SPOP_FRM_NOTIFY && (f.flags & SPOP_FL_FIN))
				s->answerable++;
			else if (f.type == SPOP_FRM_NOTIFY)
				frag = 1;
			else if (f.type == SPOP_FRM_UNSET && frag &&
			         (f.flags & (SPOP_FL_FIN | SPOP_FL_ABORT))) {
				s->answerable += !(f.flags & SPOP_FL_ABORT);
				frag = 0;
			}
			if (f.type == SPOP_FRM_NOTIFY) {
				s->notifies++;
				if (s->nids < MAX_NOTIFY_IDS) {
					s->sid[s->nids] = f.stream_id;
					s->fid[s->nids] = f.frame_id;
					s->nids++;
				}
			}
		}
		first = 0;
		p += 4 + flen;
		n -= 4 + flen;
	}
}

static int sent_has(const struct sent *s, uint64_t sid, uint64_t fid)
{
	if (s->nids == MAX_NOTIFY_IDS)
		return 1;                    /* list overflowed: cannot tell */
	for (size_t i = 0; i < s->nids; i++)
		if (s->sid[i] == sid && s->fid[i] == fid)
			return 1;
	return 0;
}

/* Check the complete frames at the head of the reader's buffer. */
static void parse_replies(struct run *rn)
{
	struct reader *r = &rn->r;
	size_t off = 0;

	while (r->len - off >= 4) {
		uint32_t flen = be32((const uint8_t *)r->buf + off);
		const char *fr = r->buf + off;
		struct fuzz_ack a;

		/* the agent never sends more than it accepts */
		FUZZ_ASSERT(flen <= (uint32_t)rn->cfg_max);
		if (r->len - off - 4 < flen)
			break;
		FUZZ_ASSERT(flen >= 1);
		FUZZ_ASSERT(r->state != R_DONE);     /* nothing after DISCONNECT */
		r->frames++;
		switch ((uint8_t)fr[4]) {
		case SPOP_FRM_AGENT_HELLO:
			FUZZ_ASSERT(r->state == R_START);
			r->max_frame = fuzz_check_agent_hello(fr, 4 + flen, (uint32_t)rn->cfg_max);
			r->state = rn->sent->healthcheck ? R_DONE : R_HELLO;
			break;
		case SPOP_FRM_ACK:
			FUZZ_ASSERT(r->state == R_HELLO);
			fuzz_check_ack(fr, 4 + flen, r->max_frame, &a);
			FUZZ_ASSERT(sent_has(rn->sent, a.stream_id, a.frame_id));
			r->acks++;
			FUZZ_ASSERT(r->acks <= rn->sent->notifies);
			break;
		case SPOP_FRM_AGENT_DISCON:
			r->status = fuzz_check_agent_disconnect(fr, 4 + flen);
			r->state = R_DONE;
			break;
		default:
			FUZZ_ASSERT(!"unexpected frame type from the agent");
		}
		off += 4 + flen;
	}
	if (off) {
		memmove(r->buf, r->buf + off, r->len - off);
		r->len -= off;
	}
}

/* Read whatever the agent sent. Returns the number of bytes read. */
static size_t read_replies(struct run *rn)
{
	struct reader *r = &rn->r;
	size_t got = 0;

	for (;;) {
		ssize_t n;

		if (r->cap - r->len < 65536) {
			char *nb = realloc(r->buf, r->cap + 65536);

			FUZZ_ASSERT(nb);
			r->buf = nb;
			r->cap += 65536;
		}
		n = recv(rn->fd, r->buf + r->len, r->cap - r->len, 0);
		if (n > 0) {
			r->len += (size_t)n;
			r->total += (uint64_t)n;
			got += (size_t)n;
			FUZZ_ASSERT(r->total <= OUT_LIMIT);
			parse_replies(rn);
			continue;
		}
		if (n == 0) {
			/* the agent closed on its own: it said why first
			 * (AGENT-DISCONNECT), or it was a health check */
			if (!rn->eof_sent && !rn->reset && !rn->eof_seen && !rn->stopped_in_hello)
				FUZZ_ASSERT(r->state == R_DONE);
			rn->closed = rn->eof_seen = 1;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET) {
			rn->closed = rn->reset = 1;
			break;
		}
		FUZZ_ASSERT(errno == EAGAIN || errno == EWOULDBLOCK);
		break;
	}
	return got;
}

/* Run the loop until the agent stops making progress. Returns whether
 * anything moved (bytes in or out, or the connection closed). */
static int pump(struct run *rn, int lazy)
{
	int moved = 0, quiet = 0;

	while (quiet < 2) {
		uint64_t in = worker_conn_stats(&rn->w)->bytes_in, out = worker_conn_stats(&rn->w)->bytes_out;
		unsigned int nc = worker_nconns(&rn->w);
		size_t got;

		ev_run(worker_loop(&rn->w), EVRUN_NOWAIT);
		got = lazy ? 0 : read_replies(rn);
		if (got || in != worker_conn_stats(&rn->w)->bytes_in || out != worker_conn_stats(&rn->w)->bytes_out ||
		    nc != worker_nconns(&rn->w)) {
			moved = 1;
			quiet = 0;
		} else {
			quiet++;
		}
	}
	return moved;
}

/* Send all of buf, pumping when the socket is full. Returns -1 once the
 * agent has closed its end. */
static int send_all(struct run *rn, const uint8_t *buf, size_t n, int lazy)
{
	size_t off = 0;
	int stuck = 0;

	while (off < n) {
		ssize_t k = send(rn->fd, buf + off, n - off, MSG_NOSIGNAL);

		if (k > 0) {
			off += (size_t)k;
			stuck = 0;
			continue;
		}
		if (k == -1 && errno == EINTR)
			continue;
		if (k == -1 && (errno == EPIPE || errno == ECONNRESET)) {
			rn->closed = 1;
			return -1;
		}
		FUZZ_ASSERT(k == -1 && (errno == EAGAIN || errno == EWOULDBLOCK));
		/* full: let the agent run, and read its replies so it can go on */
		if (!pump(rn, 0) && read_replies(rn) == 0) {
			if (rn->closed || worker_nconns(&rn->w) == 0)
				return -1;
			/* the agent holds an open connection and reads nothing */
			FUZZ_ASSERT(++stuck < STUCK_ROUNDS);
		}
	}
	pump(rn, lazy);
	return 0;
}

/* The first frame of s, then the rest times times, cut at REPEAT_MAX.
 * Returns the new stream (*owned, to free) and its length in *len. */
static const uint8_t *burst(const uint8_t *s, size_t *len, size_t times,
                            uint8_t **owned)
{
	size_t head = *len >= 4 ? 4 + (size_t)be32(s) : *len, body, n = 0;
	uint8_t *out;

	if (head > *len)
		head = *len;
	body = *len - head;
	out = malloc(REPEAT_MAX);
	FUZZ_ASSERT(out);
	memcpy(out, s, head);
	n = head;
	for (size_t i = 0; i < times && body && n < REPEAT_MAX; i++) {
		size_t k = body < REPEAT_MAX - n ? body : REPEAT_MAX - n;

		memcpy(out + n, s + head, k);
		n += k;
	}
	*owned = out;
	*len = n;
	return out;
}

/* s1 = 254: HELLO and its answer, then the rest written at once, then a
 * graceful stop before the agent has read any of it. Returns the bytes
 * sent, and counts what they owe in *sent. */
static size_t stop_mode(struct run *rn, const uint8_t *s, size_t n, size_t max,
                        struct sent *sent)
{
	size_t head = n >= 4 ? 4 + (size_t)be32(s) : n, off;
	ssize_t k;

	if (head > n)
		head = n;
	if (send_all(rn, s, head, 0) < 0)
		return head;
	off = head;
	if (off < n && (k = send(rn->fd, s + off, n - off, MSG_NOSIGNAL)) > 0)
		off += (size_t)k;
	scan_sent(s, off, max, sent);
	if (worker_nconns(&rn->w) == 1) {
		rn->stopped = rn->r.state == R_HELLO;
		rn->stopped_in_hello = worker_first_conn(&rn->w)->state == CONN_ST_HELLO;
		conn_shutdown(worker_first_conn(&rn->w));
	}
	return off;
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_min_level = LOG_ERR;
	signal(SIGPIPE, SIG_IGN);
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sent sent;
	struct config cfg;
	struct policy pol;
	struct run rn;
	const uint8_t *stream;
	uint8_t *owned = NULL;
	size_t slen, off = 0;
	int sv[2], lazy;
	uint32_t seed;

	if (size < 3)
		return 0;
	log_min_level = LOG_ERR;
	stream = data + 3;
	slen = size - 3;
	lazy = (data[0] >> 6) & 1;
	if (data[1] == 0xff)
		stream = burst(stream, &slen, 1 + (size_t)data[2] * 4, &owned);

	memset(&pol, 0, sizeof(pol));
	snprintf(pol.name, sizeof(pol.name), "default");
	pol.require_cert = 1;
	pol.verify = VERIFY_HAPROXY;
	pol.deny_status = 403;
	memset(&cfg, 0, sizeof(cfg));
	cfg.policies = cfg.default_policy = &pol;
	cfg.threads = 1;
	cfg.max_frame_size = frame_sizes[data[0] & 3];
	cfg.fragmentation = !(data[0] & 4);
	cfg.max_message_size = message_sizes[(data[0] >> 4) & 3];
	cfg.max_connections = 16;
	cfg.hello_timeout_ms = 3600000;      /* timers must not fire mid-run */
	cfg.idle_timeout_ms = 86400000;
	cfg.shutdown_timeout_ms = 1000;
	cfg.cache_size = 16;
	cfg.log_level = LOG_ERR;

	scan_sent(stream, slen, (size_t)cfg.max_frame_size, &sent);
	memset(&rn, 0, sizeof(rn));
	rn.cfg_max = cfg.max_frame_size;
	rn.sent = &sent;
	FUZZ_ASSERT(worker_init(&rn.w, 0, &cfg, NULL, 0) == 0);
	FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	if (data[0] & 0x80) {
		int small = 4096 << (data[2] >> 5);

		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
		setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	}
	rn.fd = sv[1];
	FUZZ_ASSERT(conn_new(&rn.w.own, sv[0]) != NULL);

	seed = (uint32_t)data[1] << 8 | data[2] | 1u << 16;
	if (data[1] == 0xfe)
		off = slen = stop_mode(&rn, stream, slen, (size_t)cfg.max_frame_size, &sent);
	for (int writes = 0; off < slen; writes++) {
		size_t n;

		if (data[1] == 0 || data[1] == 0xff || writes >= MAX_WRITES)
			n = slen - off;
		else if (data[1] == 1)
			n = (off < (size_t)data[2] * 32) ? (size_t)data[2] * 32 - off : 1;
		else
			n = 1 + xorshift(&seed) % (1 + (size_t)data[1] * data[1] / 8);
		if (n > slen - off)
			n = slen - off;
		if (send_all(&rn, stream + off, n, lazy) < 0)
			break;
		off += n;
	}
	if (data[0] & 8)
		rn.eof_sent = shutdown(sv[1], SHUT_WR) == 0;
	/* let everything settle, reading all of it */
	for (int i = 0; i < 4; i++) {
		pump(&rn, 0);
		read_replies(&rn);
	}
	if (data[0] & 8)
		FUZZ_ASSERT(worker_nconns(&rn.w) == 0);
	/* still open and in the exchange: no protocol error happened, so every
	 * NOTIFY that arrived whole has been answered (none left waiting in
	 * the agent's buffer with nothing to wake it) */
	if (!(data[0] & 8) && worker_nconns(&rn.w) == 1 && rn.r.state == R_HELLO)
		FUZZ_ASSERT(rn.r.acks == sent.answerable);
	/* quiet now: every frame the agent started has been sent whole */
	FUZZ_ASSERT(rn.r.len == 0);
	/* a graceful stop answers what had arrived, says goodbye, closes.
	 * "Answers" holds where replies can be written while it stops: with
	 * the socket's default buffer and at most 20 NOTIFYs in flight, as
	 * HAProxy sends them (SPOP-NOTES); past that, tx may fill and what
	 * is left unread is dropped with the connection. */
	if (rn.stopped) {
		FUZZ_ASSERT(worker_nconns(&rn.w) == 0 && rn.r.state == R_DONE);
		if (rn.r.status == SPOP_ST_NONE && !(data[0] & 0x80) && sent.answerable <= 20)
			FUZZ_ASSERT(rn.r.acks == sent.answerable);
	}
	if (verbose)
		fprintf(stderr, "fuzz_conn: %zu bytes sent of %zu, %zu NOTIFY; got %zu frames, "
		        "%zu ACKs, %s; connection %s\n", off, slen, sent.notifies, rn.r.frames,
		        rn.r.acks, rn.r.state == R_DONE ? "ended" : "open",
		        worker_nconns(&rn.w) ? "open" : "closed");

	worker_destroy(&rn.w);
	close(sv[1]);
	free(rn.r.buf);
	free(owned);
	return 0;
}
