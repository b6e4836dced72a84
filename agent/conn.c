/* SPOP connection state machine. See conn.h.
 *
 *   accept -> HELLO --HAPROXY-HELLO--> READY --NOTIFY--> ACK (many in flight)
 *                  \--health check--> AGENT-HELLO, close
 *   any protocol error -> AGENT-DISCONNECT(status) -> CLOSING -> close
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg-t.h"
#include "conn.h"
#include "counter.h"
#include "log.h"
#include "spop.h"

#define CONN_TX_SLACK        32768   /* beyond two max frames */
#define CONN_CLOSE_GRACE     2.0     /* seconds to flush a last frame */
#define CONN_READS_PER_EVENT 8       /* fairness between connections */

static atomic_ulong next_conn_id = 1;

static void conn_io_cb(struct ev_loop *loop, ev_io *io, int revents);
static void conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents);
static int conn_flush(struct conn *c);
static int conn_drain(struct conn *c);

static inline uint32_t get_be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static inline size_t tx_room(const struct conn *c)
{
	return c->tx_cap - c->tx_len;
}

/* Make room at the tail of tx by dropping what was already sent. */
static void tx_compact(struct conn *c)
{
	if (c->tx_off == 0)
		return;
	memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
	c->tx_len -= c->tx_off;
	c->tx_off = 0;
}

/* Can one more reply of up to max_frame bytes be queued? */
static int tx_has_room(struct conn *c)
{
	if (tx_room(c) >= (size_t)c->max_frame + 4)
		return 1;
	tx_compact(c);
	return tx_room(c) >= (size_t)c->max_frame + 4;
}

/* Watch for what the connection needs now. */
static void conn_update_events(struct conn *c)
{
	int ev = 0;

	if (c->state != CONN_ST_CLOSING && !c->eof && c->rx_len < c->rx_cap &&
	    tx_room(c) >= (size_t)c->max_frame + 4)
		ev |= EV_READ;
	if (c->tx_off < c->tx_len)
		ev |= EV_WRITE;
	if (ev == (c->io.events & (EV_READ | EV_WRITE)) && ev_is_active(&c->io))
		return;
	ev_io_stop(c->own->loop, &c->io);
	ev_io_set(&c->io, c->fd, ev);
	if (ev)
		ev_io_start(c->own->loop, &c->io);
}

struct conn *conn_new(struct conn_owner *own, int fd)
{
	const struct config *cfg = own->cfg;
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		goto fail;
	c->fd = fd;
	c->own = own;
	c->id = atomic_fetch_add(&next_conn_id, 1);
	c->max_frame = (uint32_t)cfg->max_frame_size;
	c->rx_cap = (size_t)cfg->max_frame_size + 4;
	c->tx_cap = 2 * c->rx_cap + CONN_TX_SLACK;
	c->rx = malloc(c->rx_cap);
	c->tx = malloc(c->tx_cap);
	if (!c->rx || !c->tx)
		goto fail;
	c->state = CONN_ST_HELLO;
	c->last_rx = ev_now(own->loop);
	ev_io_init(&c->io, conn_io_cb, fd, EV_READ);
	ev_io_start(own->loop, &c->io);
	ev_timer_init(&c->timer, conn_timer_cb, cfg->hello_timeout_ms / 1000.0, 0.);
	ev_timer_start(own->loop, &c->timer);
	own->ops->opened(own, c);
	LOG(LOG_DEBUG, c->id, "accepted (fd %d)", fd);
	return c;
fail:
	if (c) {
		free(c->rx);
		free(c->tx);
		free(c);
	}
	close(fd);
	return NULL;
}

void conn_close(struct conn *c)
{
	struct conn_owner *own = c->own;

	ev_io_stop(own->loop, &c->io);
	ev_timer_stop(own->loop, &c->timer);
	if (close(c->fd) == -1)
		LOG(LOG_DEBUG, c->id, "close: %s", strerror(errno));
	own->ops->closed(own, c);
	LOG(LOG_DEBUG, c->id, "closed");
	free(c->rx);
	free(c->tx);
	free(c->frag);
	free(c);
}

/* Queue AGENT-DISCONNECT; a protocol error is counted and logged, a normal
 * end (shutdown, idle connection) only at debug level. */
static void disconnect(struct conn *c, enum spop_status status, const char *message, int is_error)
{
	char *p, *end;

	if (c->state == CONN_ST_CLOSING)
		return;
	if (!is_error)
		LOG(LOG_DEBUG, c->id, "closing: %s", message ? message : spop_status_str(status));
	if (is_error && status != SPOP_ST_NONE) {
		CTR_INC(c->own->stats.errors[status < SPOP_ST_COUNT ? status : SPOP_ST_UNKNOWN]);
		LOG_PEER(LOG_INFO, c->id, "disconnecting: %s (status %u)%s%s",
		         spop_status_str(status), status, message ? ": " : "",
		         message ? message : "");
	}
	tx_compact(c);
	p = c->tx + c->tx_len;
	end = c->tx + c->tx_cap;
	if (spop_put_agent_disconnect(&p, end, status,
	                              message ? message : spop_status_str(status)) == 0)
		c->tx_len = (size_t)(p - c->tx);
	c->state = CONN_ST_CLOSING;
	c->rx_len = 0;
	ev_timer_stop(c->own->loop, &c->timer);
	ev_timer_set(&c->timer, CONN_CLOSE_GRACE, 0.);
	ev_timer_start(c->own->loop, &c->timer);
}

/* Queue AGENT-DISCONNECT(status, message) and close once it is sent. */
static void conn_disconnect(struct conn *c, enum spop_status status, const char *message)
{
	disconnect(c, status, message, status != SPOP_ST_NONE);
}

static void on_hello(struct conn *c, const struct spop_frame *f)
{
	const struct config *cfg = c->own->cfg;
	struct spop_hello h;
	enum spop_status st = SPOP_ST_INVALID;
	char *p = c->tx + c->tx_len;
	const char *caps;

	if (!(f->flags & SPOP_FL_FIN)) {
		conn_disconnect(c, SPOP_ST_FRAG_NOT_SUPP, "HAPROXY-HELLO cannot be fragmented");
		return;
	}
	if (spop_parse_hello(f->payload, f->len, &h, &st) < 0) {
		conn_disconnect(c, st, NULL);
		return;
	}
	if (h.max_frame_size < c->max_frame)
		c->max_frame = h.max_frame_size;
	c->frag_ok = cfg->fragmentation;
	caps = c->frag_ok ? "pipelining,fragmentation" : "pipelining";
	if (spop_put_agent_hello(&p, c->tx + c->tx_cap, c->max_frame, caps) < 0) {
		conn_disconnect(c, SPOP_ST_RES, NULL);
		return;
	}
	c->tx_len = (size_t)(p - c->tx);
	CTR_INC(c->own->stats.hellos);
	if (h.healthcheck) {
		/* health check: answer, then close (no DISCONNECT needed) */
		c->healthcheck = 1;
		CTR_INC(c->own->stats.healthchecks);
		c->state = CONN_ST_CLOSING;
		LOG(LOG_DEBUG, c->id, "health check");
		return;
	}
	c->state = CONN_ST_READY;
	ev_timer_stop(c->own->loop, &c->timer);
	ev_timer_set(&c->timer, cfg->idle_timeout_ms / 1000.0, 0.);
	ev_timer_start(c->own->loop, &c->timer);
	LOG(LOG_DEBUG, c->id, "hello: max-frame-size %u, caps %s%s%s, engine %.*s",
	    c->max_frame, h.cap_pipelining ? "pipelining " : "",
	    h.cap_async ? "async " : "", h.cap_fragmentation ? "fragmentation" : "",
	    (int)h.engine_id.len, h.engine_id.ptr ? h.engine_id.ptr : "");
}

static void on_notify_payload(struct conn *c, uint64_t sid, uint64_t fid,
                              const char *payload, size_t len)
{
	char *p = c->tx + c->tx_len;
	enum spop_status st = SPOP_ST_UNKNOWN;

	int rc = c->own->ops->notify(c->own, c->id, sid, fid, payload, len, &p, c->tx + c->tx_cap,
	                             c->max_frame, &st);

	if (rc < 0) {
		conn_disconnect(c, st, "cannot process NOTIFY");
		return;
	}
	if (rc == CONN_NOTIFY_DEFERRED) {
		c->deferred++;            /* answered later, out of order */
		return;
	}
	c->tx_len = (size_t)(p - c->tx);
	c->acks_queued++;
}

int conn_late_begin(struct conn *c, char **p, char **end, size_t *max_frame, int *why)
{
	if (c->state != CONN_ST_READY || c->eof) {
		*why = CONN_LATE_GONE;
		return -1;
	}
	if (!tx_has_room(c)) {
		*why = CONN_LATE_FULL;
		return -1;
	}
	*p = c->tx + c->tx_len;
	*end = c->tx + c->tx_cap;
	*max_frame = c->max_frame;
	return 0;
}

int conn_late_commit(struct conn *c, char *p)
{
	c->tx_len = (size_t)(p - c->tx);
	c->acks_queued++;
	if (c->deferred)
		c->deferred--;
	/* conn_drain, not conn_flush: reading may have stopped for want of
	 * room, and frames may wait in rx */
	if (conn_drain(c) < 0)
		return -1;
	conn_update_events(c);
	return 0;
}

void conn_late_drop(struct conn *c)
{
	if (c->deferred)
		c->deferred--;
}

/* A NOTIFY without FIN starts a fragmented payload; UNSET frames continue
 * it; the one with FIN completes it. */
static void on_fragment(struct conn *c, const struct spop_frame *f)
{
	const struct config *cfg = c->own->cfg;

	if (f->type == SPOP_FRM_NOTIFY) {
		if (!c->frag_ok) {
			conn_disconnect(c, SPOP_ST_FRAG_NOT_SUPP, NULL);
			return;
		}
		if (!c->frag) {
			c->frag_cap = (size_t)cfg->max_message_size;
			if (!(c->frag = malloc(c->frag_cap))) {
				conn_disconnect(c, SPOP_ST_RES, NULL);
				return;
			}
		}
		c->frag_active = 1;
		c->frag_sid = f->stream_id;
		c->frag_fid = f->frame_id;
		c->frag_len = 0;
	} else if (!c->frag_active || f->stream_id != c->frag_sid ||
	           f->frame_id != c->frag_fid) {
		conn_disconnect(c, SPOP_ST_FRAMEID_NOTFOUND, "fragment of an unknown frame");
		return;
	}
	if (f->flags & SPOP_FL_ABORT) {
		c->frag_active = 0;      /* HAProxy gave up on this one: no reply */
		return;
	}
	if (f->len > c->frag_cap - c->frag_len) {
		conn_disconnect(c, SPOP_ST_TOO_BIG, "reassembled NOTIFY exceeds max_message_size");
		return;
	}
	memcpy(c->frag + c->frag_len, f->payload, f->len);
	c->frag_len += f->len;
	if (f->flags & SPOP_FL_FIN) {
		c->frag_active = 0;
		on_notify_payload(c, c->frag_sid, c->frag_fid, c->frag, c->frag_len);
	}
}

static void on_haproxy_disconnect(struct conn *c, const struct spop_frame *f)
{
	struct spop_disconnect d;

	CTR_INC(c->own->stats.haproxy_disconnects);
	if (spop_parse_disconnect(f->payload, f->len, &d) == 0)
		LOG(LOG_DEBUG, c->id, "HAPROXY-DISCONNECT status %u: %.*s", d.status,
		    (int)d.message.len, d.message.ptr ? d.message.ptr : "");
	conn_disconnect(c, SPOP_ST_NONE, "bye");
}

/* One whole frame (without its length prefix). */
static void on_frame(struct conn *c, const char *buf, size_t len)
{
	struct spop_frame f;

	if (spop_parse_frame(buf, len, &f) < 0) {
		conn_disconnect(c, SPOP_ST_INVALID, "malformed frame header");
		return;
	}
	if (c->state == CONN_ST_HELLO) {
		if (f.type == SPOP_FRM_HAPROXY_HELLO)
			on_hello(c, &f);
		else if (f.type == SPOP_FRM_HAPROXY_DISCON)
			on_haproxy_disconnect(c, &f);
		else
			conn_disconnect(c, SPOP_ST_INVALID, "expected HAPROXY-HELLO");
		return;
	}
	if (c->frag_active && f.type != SPOP_FRM_UNSET && f.type != SPOP_FRM_HAPROXY_DISCON) {
		conn_disconnect(c, SPOP_ST_INTERLACED, "frame inside a fragmented NOTIFY");
		return;
	}
	switch (f.type) {
	case SPOP_FRM_NOTIFY:
		if (!(f.flags & SPOP_FL_FIN))
			on_fragment(c, &f);
		else
			on_notify_payload(c, f.stream_id, f.frame_id, f.payload, f.len);
		break;
	case SPOP_FRM_UNSET:
		on_fragment(c, &f);
		break;
	case SPOP_FRM_HAPROXY_DISCON:
		on_haproxy_disconnect(c, &f);
		break;
	default:
		conn_disconnect(c, SPOP_ST_INVALID, "unexpected frame type");
		break;
	}
}

/* Answer the complete frames in c->rx, as long as there is room for the
 * replies; keep an incomplete one for the next read. */
static void conn_process(struct conn *c)
{
	const char *p = c->rx;
	size_t left = c->rx_len;

	while (c->state != CONN_ST_CLOSING && left >= 4) {
		uint32_t flen = get_be32(p);

		if (flen > c->max_frame) {
			conn_disconnect(c, SPOP_ST_TOO_BIG, NULL);
			break;
		}
		if (left - 4 < flen)
			break;                   /* incomplete: wait for more */
		if (!tx_has_room(c))
			break;                   /* flush first (back-pressure) */
		on_frame(c, p + 4, flen);
		p += 4 + (size_t)flen;
		left -= 4 + (size_t)flen;
	}
	if (c->state == CONN_ST_CLOSING)
		left = 0;                        /* nothing more will be read */
	if (p != c->rx && left)
		memmove(c->rx, p, left);
	c->rx_len = left;
}

/* Write what is queued. Returns -1 if the connection was closed. */
static int conn_flush(struct conn *c)
{
	while (c->tx_off < c->tx_len) {
		ssize_t n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);

		if (n > 0) {
			c->tx_off += (size_t)n;
			CTR_ADD(c->own->stats.bytes_out, (uint64_t)n);
			CTR_INC(c->own->stats.writes);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* EPIPE, ECONNRESET: HAProxy 3.x often just resets */
		LOG(LOG_DEBUG, c->id, "write: %s", n == -1 ? strerror(errno) : "closed");
		conn_close(c);
		return -1;
	}
	if (c->tx_off == c->tx_len) {
		c->tx_off = c->tx_len = 0;
		c->acks_queued = 0;
		if (c->state == CONN_ST_CLOSING || c->eof) {
			conn_close(c);
			return -1;
		}
	}
	return 0;
}

/* Write, then answer what is still buffered, as long as there is room.
 * Reading or answering may have stopped for want of room in tx; once tx is
 * flushed nothing else would come back to these frames (the peer waits for
 * their ACKs, so no new bytes wake us up), so loop here until rx holds no
 * complete frame or tx is full again (then EV_WRITE brings us back).
 * Returns -1 if the connection was closed. */
static int conn_drain(struct conn *c)
{
	for (;;) {
		size_t before;

		if (conn_flush(c) < 0)
			return -1;
		if (c->state == CONN_ST_CLOSING || !c->rx_len || !tx_has_room(c))
			return 0;
		before = c->rx_len;
		conn_process(c);
		if (c->rx_len == before)
			return 0;          /* an incomplete frame: wait for bytes */
	}
}

/* Read what is available, answer every complete frame, write once. *got
 * (when not NULL) is increased by the number of bytes read. Returns -1 if
 * the connection was closed. */
static int conn_on_readable(struct conn *c, size_t *got)
{
	struct conn_owner *own = c->own;

	for (int i = 0; i < CONN_READS_PER_EVENT; i++) {
		size_t space = c->rx_cap - c->rx_len;
		ssize_t n;

		if (c->state == CONN_ST_CLOSING || space == 0 || !tx_has_room(c))
			break;
		n = recv(c->fd, c->rx + c->rx_len, space, 0);
		if (n > 0) {
			c->rx_len += (size_t)n;
			if (got)
				*got += (size_t)n;
			CTR_ADD(own->stats.bytes_in, (uint64_t)n);
			CTR_INC(own->stats.reads);
			c->last_rx = ev_now(own->loop);
			conn_process(c);
			if ((size_t)n < space)
				break;           /* drained the socket */
			continue;
		}
		if (n == 0) {
			c->eof = 1;
			LOG(LOG_DEBUG, c->id, "peer closed the connection");
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		LOG(LOG_DEBUG, c->id, "read: %s", strerror(errno));
		conn_close(c);
		return -1;
	}
	/* at EOF, conn_flush() closes once tx is empty: closing here would
	 * cut a reply still waiting for room in the socket */
	if (conn_drain(c) < 0)
		return -1;
	conn_update_events(c);
	return 0;
}

static void conn_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = (struct conn *)io;    /* io is the first member */

	(void)loop;
	if ((revents & EV_WRITE) && conn_drain(c) < 0)
		return;
	if (revents & EV_READ) {
		conn_on_readable(c, NULL);
		return;
	}
	conn_update_events(c);
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));
	const struct config *cfg = c->own->cfg;
	ev_tstamp idle, left;

	(void)revents;
	switch (c->state) {
	case CONN_ST_HELLO:
		conn_disconnect(c, SPOP_ST_TIMEOUT, "no HAPROXY-HELLO in time");
		break;
	case CONN_ST_READY:
		idle = cfg->idle_timeout_ms / 1000.0;
		left = c->last_rx + idle - ev_now(loop);
		if (left > 0.001) {
			ev_timer_set(t, left, 0.);
			ev_timer_start(loop, t);
			return;
		}
		/* an idle connection is a normal end (HAProxy 3.x leaves them
		 * open): status 2 on the wire, not an error in logs or stats */
		disconnect(c, SPOP_ST_TIMEOUT, "idle timeout", 0);
		break;
	default:
		conn_close(c);
		return;
	}
	if (conn_flush(c) == 0)
		conn_update_events(c);
}

void conn_shutdown(struct conn *c)
{
	size_t done = 0;
	int queued;

	if (c->state == CONN_ST_HELLO) {
		conn_close(c);
		return;
	}
	/* answer what already arrived, then say goodbye: all the bytes queued
	 * now, not just CONN_READS_PER_EVENT reads (with small frames, 20
	 * pipelined NOTIFYs take more), and no more (a busy peer would keep
	 * us here) */
	if (ioctl(c->fd, FIONREAD, &queued) == -1 || queued < 0)
		queued = 0;
	while (c->state == CONN_ST_READY) {
		size_t got = 0;

		if (conn_on_readable(c, &got) < 0)
			return;
		done += got;
		if (got == 0 || done >= (size_t)queued)
			break;
	}
	if (c->state == CONN_ST_READY) {
		conn_disconnect(c, SPOP_ST_NONE, "agent is shutting down");
		if (conn_flush(c) == 0)
			conn_update_events(c);
	}
}
