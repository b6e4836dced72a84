/* Worker threads. See worker.h. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "listener.h"
#include "log.h"
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
	w->stats.conns_total++;
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
	w->stats.conns_refused++;
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
			w->stats.conns_refused++;
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

static void wakeup_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = a->data;
	struct conn *c, *next;

	(void)revents;
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
	if (handler_init(&w->hc, cfg, 1) < 0) {
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
	ev_loop_destroy(w->loop);
	w->loop = NULL;
	if (w->spare_fd != -1)
		close(w->spare_fd);
}
