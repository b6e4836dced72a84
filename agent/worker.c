/* Worker threads. See worker.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cert.h"
#include "conn.h"
#include "counter.h"
#include "listener.h"
#include "log.h"
#include "rules.h"
#include "worker.h"

#define ACCEPTS_PER_EVENT 64

static atomic_int conn_count;

int worker_conn_count(void)
{
	return atomic_load_explicit(&conn_count, memory_order_relaxed);
}

void worker_conn_added(struct worker *w, struct conn *c)
{
	c->prev = NULL;
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	CTR_INC(w->stats.conns_total);
	atomic_fetch_add_explicit(&conn_count, 1, memory_order_relaxed);
}

void worker_conn_removed(struct worker *w, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	atomic_fetch_sub_explicit(&conn_count, 1, memory_order_relaxed);
	if (w->stopping && w->nconns == 0)
		ev_break(w->loop, EVBREAK_ALL);
}

/* Out of file descriptors: release the spare one to accept and drop the
 * pending connection, so HAProxy sees a close instead of a hang. */
static void accept_emfile(struct worker *w, int lfd)
{
	int fd;

	if (w->spare_fd == -1)
		return;
	close(w->spare_fd);
	fd = accept(lfd, NULL, NULL);
	if (fd != -1)
		close(fd);
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CTR_INC(w->stats.conns_refused);
	LOG_PEER(LOG_WARN, 0, "out of file descriptors: connection refused");
}

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker *w = io->data;
	const int one = 1;

	(void)loop;
	(void)revents;
	for (int i = 0; i < ACCEPTS_PER_EVENT && !w->stopping; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				accept_emfile(w, io->fd);
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				LOG_PEER(LOG_WARN, 0, "accept: %s", strerror(errno));
			return;
		}
		if (worker_conn_count() >= w->cfg->max_connections) {
			close(fd);
			CTR_INC(w->stats.conns_refused);
			LOG_PEER(LOG_WARN, 0, "max_connections (%d) reached: connection refused",
			         w->cfg->max_connections);
			continue;
		}
		/* replies are batched already: send each batch at once */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!conn_new(w, fd))       /* it closed fd */
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
	ev_async_send(w->loop, &w->wakeup);
}

unsigned int worker_config_generation(struct worker *w)
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
	w->cfg = cfg;
	handler_set_config(&w->hc, cfg, cfg->generation);
	__atomic_store_n(&w->mbox.cfg_gen, cfg->generation, __ATOMIC_RELEASE);
}

/* Copy a string, cut to fit (the stats page shows names shortened). */
static void copy_cut(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

/* ---- snapshots for the stats reader ---- */

unsigned int worker_request_snapshot(struct worker *w)
{
	unsigned int t = __atomic_add_fetch(&w->mbox.snap_req, 1, __ATOMIC_ACQ_REL);

	ev_async_send(w->loop, &w->wakeup);
	return t;
}

int worker_snapshot_ready(struct worker *w, unsigned int ticket)
{
	return (int)(__atomic_load_n(&w->mbox.snap_done, __ATOMIC_ACQUIRE) - ticket) >= 0;
}

static void fill_snapshot(struct worker *w)
{
	struct worker_snap *s = &w->snap;
	struct cache *cache = &w->hc.dc.cache;
	size_t nslots = (cache->mask + 1) * 2;
	unsigned int inflight = 0;

	for (struct conn *c = w->conns; c; c = c->next)
		inflight += c->acks_queued;
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
		copy_cut(sc->subject, sizeof(sc->subject), e->facts.subject);
	}
	s->ndenials = 0;
	for (unsigned int i = 0; i < w->denials_count; i++) {
		unsigned int k = (w->denials_next + STATS_DENIALS_PER_WORKER - 1 - i) % STATS_DENIALS_PER_WORKER;

		s->denials[s->ndenials++] = w->denials[k];
	}
}

/* ---- decisions: logs and the recent-denials ring ---- */

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

void worker_decided(struct worker *w, unsigned long conn_id, const struct handler_result *res)
{
	int allow = res->d.code == DEC_ALLOW;
	int mode = w->cfg->log_decisions;
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
		struct stats_denial *d = &w->denials[w->denials_next];

		d->time = (int64_t)ev_now(w->loop);
		d->code = res->d.code;
		copy_cut(d->policy, sizeof(d->policy), res->policy ? res->policy->name : "");
		copy_cut(d->subject, sizeof(d->subject), res->facts ? res->facts->subject : "");
		copy_cut(d->sha256, sizeof(d->sha256), res->facts ? res->facts->sha256_hex : "");
		copy_cut(d->src, sizeof(d->src), src);
		copy_cut(d->detail, sizeof(d->detail), res->d.detail);
		w->denials_next = (w->denials_next + 1) % STATS_DENIALS_PER_WORKER;
		if (w->denials_count < STATS_DENIALS_PER_WORKER)
			w->denials_count++;
	}
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
	if (!worker_stop_requested || w->stopping)
		return;
	w->stopping = 1;
	for (int i = 0; i < w->nlisten; i++)
		ev_io_stop(loop, &w->accept_w[i]);
	for (c = w->conns; c; c = next) {
		next = c->next;      /* c may be freed */
		conn_shutdown(c);
	}
	if (w->nconns == 0) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	ev_timer_init(&w->stop_timer, stop_timer_cb, w->cfg->shutdown_timeout_ms / 1000.0, 0.);
	w->stop_timer.data = w;
	ev_timer_start(loop, &w->stop_timer);
}

volatile int worker_stop_requested;

int worker_init(struct worker *w, int idx, const struct config *cfg,
                struct listener *ls, int nls)
{
	memset(w, 0, sizeof(*w));
	w->idx = idx;
	w->cfg = cfg;
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	w->loop = ev_loop_new(EVFLAG_AUTO);
	if (!w->loop)
		return -1;
	w->mbox.cfg_gen = cfg->generation;
	if (handler_init(&w->hc, cfg, cfg->generation) < 0) {
		ev_loop_destroy(w->loop);
		w->loop = NULL;
		return -1;
	}
	ev_async_init(&w->wakeup, wakeup_cb);
	w->wakeup.data = w;
	ev_async_start(w->loop, &w->wakeup);
	for (int i = 0; i < nls && i < CFG_MAX_LISTEN; i++) {
		ev_io_init(&w->accept_w[i], accept_cb, ls[i].fd, EV_READ);
		w->accept_w[i].data = w;
		ev_io_start(w->loop, &w->accept_w[i]);
		w->nlisten++;
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	ev_run(w->loop, 0);
	return NULL;
}

int worker_start(struct worker *w)
{
	return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : -1;
}

void worker_stop(struct worker *w)
{
	ev_async_send(w->loop, &w->wakeup);
}

void worker_join(struct worker *w)
{
	pthread_join(w->thread, NULL);
}

void worker_destroy(struct worker *w)
{
	if (!w->loop)
		return;
	while (w->conns)
		conn_close(w->conns);
	handler_destroy(&w->hc);
	free(w->snap.certs);
	w->snap.certs = NULL;
	ev_loop_destroy(w->loop);
	w->loop = NULL;
	if (w->spare_fd != -1)
		close(w->spare_fd);
}
