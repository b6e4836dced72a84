/* Worker threads. See worker.h. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "counter.h"
#include "declog.h"
#include "listener.h"
#include "log.h"
#include "rules.h"
#include "spop.h"
#include "worker.h"

/* Monotonic nanoseconds, for the processing-time histogram. */
static uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The worker that embeds a connection owner. */
#define OWNER_WORKER(o) ((struct worker *)((char *)(o) - offsetof(struct worker, own)))

#define ACCEPTS_PER_EVENT 64

static atomic_int conn_count;

int worker_conn_count(void)
{
	return atomic_load_explicit(&conn_count, memory_order_relaxed);
}

/* ---- the connections' owner (conn-t.h) ---- */

static void on_conn_opened(struct conn_owner *o, struct conn *c)
{
	struct worker *w = OWNER_WORKER(o);

	c->prev = NULL;
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	CTR_INC(w->stats.conns_total);
	atomic_fetch_add_explicit(&conn_count, 1, memory_order_relaxed);
}

static void on_conn_closed(struct conn_owner *o, struct conn *c)
{
	struct worker *w = OWNER_WORKER(o);

	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	atomic_fetch_sub_explicit(&conn_count, 1, memory_order_relaxed);
	if (w->stopping && w->nconns == 0)
		ev_break(w->own.loop, EVBREAK_ALL);
}

/* ---- deferred ACKs (OCSP) ---- */

static void deferred_arm(struct worker *w)
{
	ev_tstamp first = 0;

	ev_timer_stop(w->own.loop, &w->deferred_timer);
	__atomic_store_n(&w->stats.deferred_now, w->ndeferred, __ATOMIC_RELAXED);
	if (!w->deferred)
		return;
	for (struct worker_deferred *d = w->deferred; d; d = d->next)
		if (!first || d->deadline < first)
			first = d->deadline;
	first -= ev_now(w->own.loop);
	ev_timer_set(&w->deferred_timer, first > 0.001 ? first : 0.001, 0.);
	ev_timer_start(w->own.loop, &w->deferred_timer);
}

/* Keep a copy of a NOTIFY to decide again. 0, or -1 (no room: decide now). */
static int defer(struct worker *w, unsigned long conn_id, uint64_t sid, uint64_t fid,
                 const char *payload, size_t len, const struct policy *pol, uint64_t t0)
{
	struct worker_deferred *d;

	if (w->ndeferred >= WORKER_DEFERRED_MAX || !pol ||
	    !(d = malloc(sizeof(*d) + len))) {
		CTR_INC(w->stats.deferred_refused);
		return -1;
	}
	d->conn_id = conn_id;
	d->stream_id = sid;
	d->frame_id = fid;
	d->deadline = ev_now(w->own.loop) + pol->ocsp_timeout_ms / 1000.0;
	d->t0_ns = t0;
	d->len = len;
	memcpy(d->payload, payload, len);
	d->next = w->deferred;
	w->deferred = d;
	w->ndeferred++;
	CTR_INC(w->stats.deferred);
	deferred_arm(w);
	return 0;
}

static struct conn *find_conn(struct worker *w, unsigned long id)
{
	for (struct conn *c = w->conns; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* Decide one waiting NOTIFY again. Returns 1 while it still waits (or its
 * connection has no room yet), 0 when it is done with (answered or
 * dropped). */
static int deferred_retry(struct worker *w, struct worker_deferred *d, ev_tstamp now)
{
	struct handler_result res = { .d.code = DEC_CODES };
	enum spop_status st = SPOP_ST_UNKNOWN;
	struct conn *c = find_conn(w, d->conn_id);
	size_t max_frame;
	char *p, *end;
	int why, rc, timed_out = now >= d->deadline;

	if (!c) {
		CTR_INC(w->stats.deferred_dropped);
		return 0;
	}
	if (conn_late_begin(c, &p, &end, &max_frame, &why) < 0) {
		if (why == CONN_LATE_FULL && !timed_out)
			return 1;
		conn_late_drop(c);
		CTR_INC(w->stats.deferred_dropped);
		return 0;
	}
	w->hc.replay = 1;
	w->hc.dc.ocsp_no_wait = timed_out;
	rc = handler_notify(&w->hc, d->stream_id, d->frame_id, d->payload, d->len, (int64_t)now,
	                    &p, end, max_frame, &st, &res);
	w->hc.replay = 0;
	w->hc.dc.ocsp_no_wait = 0;
	if (rc == HANDLER_DEFERRED)
		return 1;
	if (rc < 0) {
		/* it decoded the first time: only room can fail */
		LOG(LOG_WARN, d->conn_id, "deferred NOTIFY: cannot answer (%s)", spop_status_str(st));
		conn_late_drop(c);
		CTR_INC(w->stats.deferred_dropped);
		return 0;
	}
	if (timed_out)
		CTR_INC(w->stats.deferred_timeouts);
	if (res.d.code < DEC_CODES) {
		handler_record_latency(&w->hc, clock_ns() - d->t0_ns);
		declog_decided(&w->declog, w->own.cfg->log_decisions, (int64_t)now, d->conn_id, &res);
	}
	conn_late_commit(c, p);           /* may close c */
	return 0;
}

/* Look at every waiting NOTIFY: answer those whose OCSP answer came or
 * whose wait is over. Answering may read more frames, which may defer
 * more: those join the list while it is out of w. */
static void deferred_run(struct worker *w)
{
	struct worker_deferred *list = w->deferred, *keep = NULL, *d;
	ev_tstamp now = ev_now(w->own.loop);

	w->deferred = NULL;
	while ((d = list) != NULL) {
		list = d->next;
		if (deferred_retry(w, d, now)) {
			d->next = keep;
			keep = d;
			continue;
		}
		w->ndeferred--;
		free(d);
	}
	while ((d = keep) != NULL) {
		keep = d->next;
		d->next = w->deferred;
		w->deferred = d;
	}
	deferred_arm(w);
}

static void ocsp_wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)loop;
	(void)revents;
	deferred_run(a->data);
}

static void deferred_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	ev_now_update(loop);
	deferred_run(t->data);
}

void worker_set_ocsp(struct worker *w, struct ocsp_cache *c, decide_ocsp_submit_fn submit,
                     void *arg)
{
	decide_set_ocsp(&w->hc.dc, c, submit, arg);
}

void worker_ocsp_wake(struct worker *w)
{
	ev_async_send(w->own.loop, &w->ocsp_wake);
}

/* Decide one message with the handler, time it, log it; or keep it for
 * later when it waits for an OCSP answer. */
static int on_conn_notify(struct conn_owner *o, unsigned long conn_id,
                          uint64_t stream_id, uint64_t frame_id,
                          const char *payload, size_t len,
                          char **p, char *end, size_t max_frame, enum spop_status *st)
{
	struct worker *w = OWNER_WORKER(o);
	struct handler_result res = { .d.code = DEC_CODES };
	int64_t now = (int64_t)ev_now(o->loop);
	uint64_t t0 = clock_ns();
	int rc;

	rc = handler_notify(&w->hc, stream_id, frame_id, payload, len, now,
	                    p, end, max_frame, st, &res);
	if (rc == HANDLER_DEFERRED) {
		if (defer(w, conn_id, stream_id, frame_id, payload, len, res.policy, t0) == 0)
			return CONN_NOTIFY_DEFERRED;
		/* no room to wait: decide now, as if the wait were over */
		w->hc.replay = 1;
		w->hc.dc.ocsp_no_wait = 1;
		rc = handler_notify(&w->hc, stream_id, frame_id, payload, len, now,
		                    p, end, max_frame, st, &res);
		w->hc.replay = 0;
		w->hc.dc.ocsp_no_wait = 0;
	}
	if (rc < 0)
		return -1;
	if (res.d.code < DEC_CODES) {
		handler_record_latency(&w->hc, clock_ns() - t0);
		declog_decided(&w->declog, o->cfg->log_decisions, now, conn_id, &res);
	}
	return 0;
}

static const struct conn_owner_ops worker_conn_ops = {
	.notify = on_conn_notify,
	.opened = on_conn_opened,
	.closed = on_conn_closed,
};

/* Out of file descriptors: release the spare one to accept and drop the
 * pending connection, so HAProxy sees a close instead of a hang. */
/* Every accept of the process is made under this lock. Out of descriptors,
 * a worker closes its spare, accepts the pending connection into the freed
 * slot, closes it and reopens the spare: with two workers on one listening
 * socket, the other worker's accept4() could take the freed slot in
 * between, and the spare would be lost for good (then the agent could
 * neither serve nor refuse, and the level-triggered watcher would spin).
 * Accepts are rare (SPOP connections live long), so the lock costs nothing
 * that shows. */
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

/* How long the accept watchers rest when the spare could not be had back
 * (a descriptor taken outside the accept path, by a fetch or a reload). */
#define ACCEPT_PAUSE_S 0.1

static void accept_watchers(struct worker *w, int on)
{
	for (int i = 0; i < w->nlisten; i++) {
		if (on)
			ev_io_start(w->own.loop, &w->accept_w[i]);
		else
			ev_io_stop(w->own.loop, &w->accept_w[i]);
	}
}

static void accept_pause_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;

	(void)loop;
	(void)revents;
	if (w->stopping)
		return;
	if (w->spare_fd == -1)
		w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	accept_watchers(w, 1);
}

/* Out of descriptors (accept_lock held): refuse one pending connection by
 * accepting and closing it in the spare's slot. Returns 0, or -1 when the
 * spare is gone: the caller stops accepting for ACCEPT_PAUSE_S, as
 * retrying at once would only spin. */
static int accept_emfile(struct worker *w, int lfd)
{
	int fd;

	if (w->spare_fd == -1)
		w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (w->spare_fd == -1)
		return -1;
	close(w->spare_fd);
	fd = accept(lfd, NULL, NULL);
	if (fd != -1) {
		close(fd);
		CTR_INC(w->stats.conns_refused);
		LOG_PEER(LOG_WARN, 0, "out of file descriptors: connection refused");
	}
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return w->spare_fd == -1 ? -1 : 0;
}

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker *w = io->data;
	const int one = 1;

	(void)revents;
	for (int i = 0; i < ACCEPTS_PER_EVENT && !w->stopping; i++) {
		int fd, err, paused = 0;

		pthread_mutex_lock(&accept_lock);
		fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		err = errno;
		if (fd == -1 && (err == EMFILE || err == ENFILE))
			paused = accept_emfile(w, io->fd) < 0;
		pthread_mutex_unlock(&accept_lock);
		if (fd == -1) {
			if (err == EINTR || err == ECONNABORTED)
				continue;
			if (paused) {
				LOG_PEER(LOG_WARN, 0, "out of file descriptors and no spare: "
				         "not accepting for %.0f ms", ACCEPT_PAUSE_S * 1000);
				accept_watchers(w, 0);
				ev_timer_stop(loop, &w->accept_pause);
				ev_timer_set(&w->accept_pause, ACCEPT_PAUSE_S, 0.);
				ev_timer_start(loop, &w->accept_pause);
			} else if (err != EAGAIN && err != EWOULDBLOCK && err != EMFILE && err != ENFILE) {
				LOG_PEER(LOG_WARN, 0, "accept: %s", strerror(err));
			}
			return;
		}
		if (worker_conn_count() >= w->own.cfg->max_connections) {
			close(fd);
			CTR_INC(w->stats.conns_refused);
			LOG_PEER(LOG_WARN, 0, "max_connections (%d) reached: connection refused",
			         w->own.cfg->max_connections);
			continue;
		}
		/* replies are batched already: send each batch at once */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!conn_new(&w->own, fd))       /* it closed fd */
			LOG_PEER(LOG_ERR, 0, "out of memory: connection refused");
	}
}

static void stop_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;

	(void)revents;
	LOG(LOG_WARN, 0, "worker %d: shutdown timeout, closing %u connections", w->idx, w->nconns);
	while (w->conns)
		conn_close(w->conns);
	ev_break(loop, EVBREAK_ALL);
}

/* ---- configuration hand-over ---- */

void worker_post_config(struct worker *w, struct config *cfg)
{
	__atomic_store_n(&w->mbox.pending_cfg, cfg, __ATOMIC_RELEASE);
	ev_async_send(w->own.loop, &w->wakeup);
}

unsigned int worker_config_generation(const struct worker *w)
{
	return __atomic_load_n(&w->mbox.cfg_gen, __ATOMIC_ACQUIRE);
}

static void adopt_config(struct worker *w)
{
	struct config *cfg = __atomic_exchange_n(&w->mbox.pending_cfg, NULL, __ATOMIC_ACQ_REL);

	if (!cfg)
		return;
	/* every message from here on is decided under cfg; the old one is
	 * freed by the main thread once all workers have moved */
	w->own.cfg = cfg;
	handler_set_config(&w->hc, cfg, cfg->generation);
	__atomic_store_n(&w->mbox.cfg_gen, cfg->generation, __ATOMIC_RELEASE);
}

/* ---- snapshots for the stats reader ---- */

unsigned int worker_request_snapshot(struct worker *w)
{
	unsigned int t = __atomic_add_fetch(&w->mbox.snap_req, 1, __ATOMIC_ACQ_REL);

	ev_async_send(w->own.loop, &w->wakeup);
	return t;
}

int worker_snapshot_is_ready(const struct worker *w, unsigned int ticket)
{
	return (int)(__atomic_load_n(&w->mbox.snap_done, __ATOMIC_ACQUIRE) - ticket) >= 0;
}

static void fill_snapshot(struct worker *w)
{
	struct worker_snap *s = &w->snap;
	struct cache *cache = &w->hc.dc.cache;
	size_t nslots = (cache->mask + 1) * 2;
	unsigned int inflight = 0;

	decide_sync(&w->hc.dc);      /* a "clear cache" shows at once */
	for (struct conn *c = w->conns; c; c = c->next)
		inflight += conn_inflight(c);
	s->conns = w->nconns;
	s->inflight = inflight;
	if (!s->certs && w->hc.dc.cache_enabled) {
		s->certs = calloc(nslots, sizeof(*s->certs));
		s->certs_cap = s->certs ? nslots : 0;
	}
	s->ncerts = 0;
	for (size_t i = 0; i < nslots && s->ncerts < s->certs_cap; i++) {
		const struct cache_entry *e = &cache->slots[i];
		struct stats_cert *sc;

		if (!e->last_used || !e->parsed || !e->requests)
			continue;
		sc = &s->certs[s->ncerts++];
		memcpy(sc->sha256, e->key, 32);
		sc->not_after = e->facts.not_after;
		sc->last_seen = e->last_seen;
		sc->requests = e->requests;
		sc->last_code = e->last_code;
		stats_copy_cut(sc->last_rule, sizeof(sc->last_rule), e->last_rule ? e->last_rule : "");
		stats_copy_cut(sc->subject, sizeof(sc->subject), e->facts.subject);
	}
	s->ndenials = declog_recent(&w->declog, s->denials, STATS_DENIALS_PER_WORKER);
}

static void wakeup_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = a->data;
	struct conn *c, *next;
	unsigned int req;

	(void)revents;
	adopt_config(w);
	req = __atomic_load_n(&w->mbox.snap_req, __ATOMIC_ACQUIRE);
	if (req != w->mbox.snap_done) {
		fill_snapshot(w);
		__atomic_store_n(&w->mbox.snap_done, req, __ATOMIC_RELEASE);
	}
	if (!worker_stop_is_requested() || w->stopping)
		return;
	w->stopping = 1;
	ev_timer_stop(loop, &w->accept_pause);
	accept_watchers(w, 0);
	for (c = w->conns; c; c = next) {
		next = c->next;      /* c may be freed */
		conn_shutdown(c);
	}
	if (w->nconns == 0) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	ev_timer_init(&w->stop_timer, stop_timer_cb, w->own.cfg->shutdown_timeout_ms / 1000.0, 0.);
	w->stop_timer.data = w;
	ev_timer_start(loop, &w->stop_timer);
}

/* Set once by the main thread, read by every worker. */
static atomic_int stop_requested;

void worker_request_stop_all(void)
{
	atomic_store_explicit(&stop_requested, 1, memory_order_release);
}

int worker_stop_is_requested(void)
{
	return atomic_load_explicit(&stop_requested, memory_order_acquire);
}

int worker_init(struct worker *w, int idx, const struct config *cfg,
                struct listener *ls, int nls)
{
	memset(w, 0, sizeof(*w));
	w->idx = idx;
	w->own.cfg = cfg;
	w->own.ops = &worker_conn_ops;
	w->own.loop = ev_loop_new(EVFLAG_AUTO);
	if (!w->own.loop)
		return -1;
	w->mbox.cfg_gen = cfg->generation;
	if (handler_init(&w->hc, cfg, cfg->generation) < 0) {
		ev_loop_destroy(w->own.loop);
		w->own.loop = NULL;
		return -1;
	}
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ev_async_init(&w->wakeup, wakeup_cb);
	w->wakeup.data = w;
	ev_async_start(w->own.loop, &w->wakeup);
	ev_async_init(&w->ocsp_wake, ocsp_wake_cb);
	w->ocsp_wake.data = w;
	ev_async_start(w->own.loop, &w->ocsp_wake);
	ev_timer_init(&w->deferred_timer, deferred_timer_cb, 1., 0.);
	w->deferred_timer.data = w;
	ev_timer_init(&w->accept_pause, accept_pause_cb, ACCEPT_PAUSE_S, 0.);
	w->accept_pause.data = w;
	for (int i = 0; i < nls && i < CFG_MAX_LISTEN; i++) {
		ev_io_init(&w->accept_w[i], accept_cb, ls[i].fd, EV_READ);
		w->accept_w[i].data = w;
		ev_io_start(w->own.loop, &w->accept_w[i]);
		w->nlisten++;
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	ev_run(w->own.loop, 0);
	return NULL;
}

int worker_start(struct worker *w)
{
	return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : -1;
}

void worker_stop(struct worker *w)
{
	ev_async_send(w->own.loop, &w->wakeup);
}

void worker_join(struct worker *w)
{
	pthread_join(w->thread, NULL);
}

void worker_destroy(struct worker *w)
{
	if (!w->own.loop)
		return;
	while (w->conns)
		conn_close(w->conns);
	while (w->deferred) {
		struct worker_deferred *d = w->deferred;

		w->deferred = d->next;
		free(d);
	}
	w->ndeferred = 0;
	handler_destroy(&w->hc);
	free(w->snap.certs);
	w->snap.certs = NULL;
	ev_loop_destroy(w->own.loop);
	w->own.loop = NULL;
	if (w->spare_fd != -1)
		close(w->spare_fd);
}
