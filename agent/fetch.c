/* The background fetcher (fetch.h): libcurl's multi-socket API on a libev
 * loop of its own thread.
 *
 * Why this design: workers must never wait on the network, and a CDP or
 * a responder may be slow or dead. One thread multiplexes every transfer
 * (curl tells us which sockets to watch and when its timer should fire;
 * libev watches them), so a thousand slow sources cost one thread and no
 * worker time. Submissions cross threads through a locked queue and an
 * ev_async; results cross back through the caller's callback, which
 * publishes them (an atomic pointer swap, a deferred ACK...).
 *
 * Every accepted submission gets exactly one callback: on completion, on
 * failure, or when the fetcher stops. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <ev.h>

#include "errbuf.h"
#include "fetch.h"

#ifndef CERTSPOA_VERSION
#define CERTSPOA_VERSION "0"
#endif

struct fetch_job {
	struct fetch_job *prev, *next;  /* the queue, then the running list */
	struct fetcher *f;
	CURL *easy;
	struct curl_slist *hdrs;
	fetch_done_fn done;
	void *arg;
	/* copies of the request */
	char *url, *etag_in, *ca_file, *body_in;
	size_t body_in_len;
	size_t max_size;
	/* the answer */
	char *buf;
	size_t len, cap;
	size_t header_bytes;
	int too_big, headers_too_big;
	char curl_err[CURL_ERROR_SIZE];
};

/* One socket curl asked us to watch. */
struct fetch_sock {
	ev_io io;
	struct fetcher *f;
};

struct fetcher {
	pthread_t thread;
	pthread_t self;                 /* set by the thread itself */
	struct ev_loop *loop;
	ev_async wake;
	ev_timer timer;
	CURLM *multi;
	pthread_mutex_t mu;
	struct fetch_job *queue;        /* submitted, not yet handed to curl (mu) */
	int stopping;                   /* (mu) */
	struct fetch_job *running;      /* fetcher thread only */
	unsigned pending;               /* queued + running (atomic) */
};

static pthread_once_t fetch_global_once = PTHREAD_ONCE_INIT;
static int fetch_global_rc;

static void fetch_global_init(void)
{
	fetch_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static void list_push(struct fetch_job **head, struct fetch_job *j)
{
	j->prev = NULL;
	j->next = *head;
	if (*head)
		(*head)->prev = j;
	*head = j;
}

static void list_unlink(struct fetch_job **head, struct fetch_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		*head = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->prev = j->next = NULL;
}

static void job_free(struct fetch_job *j)
{
	if (!j)
		return;
	if (j->easy)
		curl_easy_cleanup(j->easy);
	curl_slist_free_all(j->hdrs);
	free(j->url);
	free(j->etag_in);
	free(j->ca_file);
	free(j->body_in);
	free(j->buf);
	free(j);
}

/* Calls the job's callback with a failure and frees it. */
static void job_fail(struct fetch_job *j, const char *why)
{
	struct fetch_result r;

	memset(&r, 0, sizeof(r));
	r.body = "";
	r.last_modified = -1;
	set_err(r.err, sizeof(r.err), "%s", why);
	j->done(j->arg, &r);
	__atomic_sub_fetch(&j->f->pending, 1, __ATOMIC_RELAXED);
	job_free(j);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct fetch_job *j = userp;
	size_t n = size * nmemb, need;
	char *p;

	if (n > j->max_size || j->len > j->max_size - n) {
		j->too_big = 1;
		return 0;       /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	need = j->len + n + 1;
	if (need > j->cap) {
		size_t cap = j->cap ? j->cap : 4096;

		while (cap < need)
			cap *= 2;
		if (cap > j->max_size + 1)
			cap = j->max_size + 1;
		p = realloc(j->buf, cap);
		if (!p)
			return 0;
		j->buf = p;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, data, n);
	j->len += n;
	j->buf[j->len] = '\0';
	return n;
}

/* Counts header bytes only: curl parses them (curl_easy_header). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
	struct fetch_job *j = userp;
	size_t n = size * nmemb;

	(void)data;
	if (n > FETCH_MAX_HEADER_BYTES || j->header_bytes > FETCH_MAX_HEADER_BYTES - n) {
		j->headers_too_big = 1;
		return 0;
	}
	j->header_bytes += n;
	return n;
}

static int is_http_url(const char *url)
{
	return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The easy handle for a job: every limit set here. -1 on failure. */
static int job_setup(struct fetch_job *j, const struct fetch_req *req)
{
	CURL *e = curl_easy_init();
	long timeout = req->timeout_ms > 0 ? req->timeout_ms : FETCH_DEFAULT_TIMEOUT_MS;
	int rc = 0;

	if (!e)
		return -1;
	j->easy = e;
	rc |= curl_easy_setopt(e, CURLOPT_URL, j->url);
	rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
	rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	rc |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)j->max_size);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
	rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->curl_err);
	rc |= curl_easy_setopt(e, CURLOPT_FILETIME, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, "certspoa/" CERTSPOA_VERSION);
	rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (j->ca_file)
		rc |= curl_easy_setopt(e, CURLOPT_CAINFO, j->ca_file);
	if (req->follow_redirects) {
		rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		rc |= curl_easy_setopt(e, CURLOPT_MAXREDIRS, FETCH_MAX_REDIRECTS);
	}
	if (j->etag_in) {
		char h[512];
		int n = snprintf(h, sizeof(h), "If-None-Match: %s", j->etag_in);

		if (n > 0 && (size_t)n < sizeof(h)) {
			struct curl_slist *l = curl_slist_append(j->hdrs, h);

			if (!l)
				return -1;
			j->hdrs = l;
		}
	}
	/* If-Modified-Since only without an ETag (the server would ignore it
	 * next to If-None-Match), and as a plain header: with
	 * CURLOPT_TIMECONDITION libcurl itself drops a 200 whose Last-Modified
	 * is not later than the condition, so a document changed twice within
	 * one second was never fetched again */
	if (req->last_modified > 0 && !j->etag_in) {
		time_t t = (time_t)req->last_modified;
		struct tm tm;
		char h[80];

		if (gmtime_r(&t, &tm) && strftime(h, sizeof(h), "If-Modified-Since: %a, %d %b %Y %H:%M:%S GMT", &tm)) {
			struct curl_slist *l = curl_slist_append(j->hdrs, h);

			if (!l)
				return -1;
			j->hdrs = l;
		}
	}
	if (j->body_in) {
		rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body_in);
		rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body_in_len);
		if (req->content_type) {
			char h[256];
			int n = snprintf(h, sizeof(h), "Content-Type: %s", req->content_type);
			struct curl_slist *l;

			if (n < 0 || (size_t)n >= sizeof(h))
				return -1;
			l = curl_slist_append(j->hdrs, h);
			if (!l)
				return -1;
			j->hdrs = l;
		}
	}
	if (j->hdrs)
		rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs);
	return rc == 0 ? 0 : -1;
}

static void fetch_result_of(struct fetch_job *j, CURLcode cc, struct fetch_result *r)
{
	struct curl_header *h = NULL;
	curl_off_t ft = -1;
	long status = 0;
	double secs = 0;

	memset(r, 0, sizeof(*r));
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(j->easy, CURLINFO_TOTAL_TIME, &secs);
	r->status = status;
	r->seconds = secs;
	r->body = j->buf ? j->buf : "";
	r->len = j->len;
	r->last_modified = -1;
	if (cc != CURLE_OK) {
		if (j->too_big || cc == CURLE_FILESIZE_EXCEEDED)
			set_err(r->err, sizeof(r->err), "answer larger than %zu bytes", j->max_size);
		else if (j->headers_too_big)
			set_err(r->err, sizeof(r->err), "response headers larger than %u bytes",
			        FETCH_MAX_HEADER_BYTES);
		else
			set_err(r->err, sizeof(r->err), "%s",
			        j->curl_err[0] ? j->curl_err : curl_easy_strerror(cc));
		r->body = "";
		r->len = 0;
		return;
	}
	if (curl_easy_getinfo(j->easy, CURLINFO_FILETIME_T, &ft) == CURLE_OK && ft >= 0)
		r->last_modified = (long long)ft;
	if (curl_easy_header(j->easy, "ETag", 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h)
		r->etag = h->value;
	if (status == 304) {
		r->ok = 1;
		r->not_modified = 1;
		r->body = "";
		r->len = 0;
	} else if (status >= 200 && status <= 299) {
		r->ok = 1;
	} else {
		set_err(r->err, sizeof(r->err), "HTTP status %ld", status);
	}
}

static void check_done(struct fetcher *f)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(f->multi, &left))) {
		struct fetch_job *j = NULL;
		struct fetch_result r;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		if (!j)
			continue;
		fetch_result_of(j, m->data.result, &r);
		curl_multi_remove_handle(f->multi, j->easy);
		list_unlink(&f->running, j);
		j->done(j->arg, &r);
		__atomic_sub_fetch(&f->pending, 1, __ATOMIC_RELAXED);
		job_free(j);
	}
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fetch_sock *s = (struct fetch_sock *)w;
	struct fetcher *f = s->f;       /* s may be freed inside socket_action */
	int flags = 0, running = 0;

	(void)loop;
	if (revents & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(f->multi, w->fd, flags, &running);
	check_done(f);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fetcher *f = w->data;
	int running = 0;

	(void)loop;
	(void)revents;
	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(f);
}

/* curl: watch (or stop watching) a socket. */
static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct fetcher *f = userp;
	struct fetch_sock *s = sockp;
	int ev = 0;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			ev_io_stop(f->loop, &s->io);
			curl_multi_assign(f->multi, fd, NULL);
			free(s);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->f = f;
		ev_init(&s->io, on_io);
		curl_multi_assign(f->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		ev |= EV_READ;
	if (what & CURL_POLL_OUT)
		ev |= EV_WRITE;
	ev_io_stop(f->loop, &s->io);
	ev_io_set(&s->io, fd, ev);
	ev_io_start(f->loop, &s->io);
	return 0;
}

/* curl: (re)arm the one timer; -1 stops it. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct fetcher *f = userp;

	(void)multi;
	ev_timer_stop(f->loop, &f->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&f->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(f->loop, &f->timer);
	}
	return 0;
}

/* The queue, taken under the lock; every job handed to curl (or, when
 * stopping, failed along with the running ones). */
static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	struct fetcher *f = w->data;
	struct fetch_job *q, *j;
	int stopping;

	(void)revents;
	pthread_mutex_lock(&f->mu);
	q = f->queue;
	f->queue = NULL;
	stopping = f->stopping;
	pthread_mutex_unlock(&f->mu);

	/* the queue is newest first: hand them to curl oldest first */
	j = NULL;
	while (q) {
		struct fetch_job *n = q->next;

		q->next = j;
		j = q;
		q = n;
	}
	q = j;
	while ((j = q)) {
		q = j->next;
		j->prev = j->next = NULL;
		if (stopping) {
			job_fail(j, "fetcher stopped");
			continue;
		}
		list_push(&f->running, j);
		if (curl_multi_add_handle(f->multi, j->easy) != CURLM_OK) {
			list_unlink(&f->running, j);
			job_fail(j, "curl_multi_add_handle failed");
		}
	}
	if (stopping) {
		while ((j = f->running)) {
			list_unlink(&f->running, j);
			curl_multi_remove_handle(f->multi, j->easy);
			job_fail(j, "fetcher stopped");
		}
		ev_break(loop, EVBREAK_ALL);
	}
}

static void *fetcher_main(void *p)
{
	struct fetcher *f = p;

	f->self = pthread_self();
	ev_run(f->loop, 0);
	return NULL;
}

struct fetcher *fetcher_start(char *err, size_t errlen)
{
	struct fetcher *f;
	sigset_t all, old;
	int rc;

	pthread_once(&fetch_global_once, fetch_global_init);
	if (fetch_global_rc != 0) {
		set_err(err, errlen, "curl_global_init failed");
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&f->mu, NULL);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	f->multi = curl_multi_init();
	if (!f->loop || !f->multi) {
		set_err(err, errlen, "cannot create the fetcher's loop");
		goto fail;
	}
	ev_async_init(&f->wake, on_wake);
	f->wake.data = f;
	ev_async_start(f->loop, &f->wake);
	ev_init(&f->timer, on_timer);
	f->timer.data = f;
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);

	/* signals stay with the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&f->thread, NULL, fetcher_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		set_err(err, errlen, "pthread_create: %s", strerror(rc));
		goto fail;
	}
	return f;
fail:
	if (f->multi)
		curl_multi_cleanup(f->multi);
	if (f->loop)
		ev_loop_destroy(f->loop);
	pthread_mutex_destroy(&f->mu);
	free(f);
	return NULL;
}

void fetcher_stop(struct fetcher *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stopping = 1;
	pthread_mutex_unlock(&f->mu);
	ev_async_send(f->loop, &f->wake);
	pthread_join(f->thread, NULL);
	ev_timer_stop(f->loop, &f->timer);
	ev_async_stop(f->loop, &f->wake);
	curl_multi_cleanup(f->multi);
	ev_loop_destroy(f->loop);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

int fetcher_submit(struct fetcher *f, const struct fetch_req *req,
                   fetch_done_fn done, void *arg)
{
	struct fetch_job *j;
	int stopping;

	if (!f || !req || !req->url || !done || !is_http_url(req->url))
		return -1;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -1;
	j->f = f;
	j->done = done;
	j->arg = arg;
	j->max_size = req->max_size ? req->max_size : FETCH_DEFAULT_MAX_SIZE;
	j->url = strdup(req->url);
	j->etag_in = dup_or_null(req->etag);
	j->ca_file = dup_or_null(req->ca_file);
	if (req->body) {
		j->body_in = malloc(req->body_len ? req->body_len : 1);
		if (j->body_in)
			memcpy(j->body_in, req->body, req->body_len);
		j->body_in_len = req->body_len;
	}
	if (!j->url || (req->etag && !j->etag_in) || (req->ca_file && !j->ca_file) ||
	    (req->body && !j->body_in) || job_setup(j, req) != 0) {
		job_free(j);
		return -1;
	}
	pthread_mutex_lock(&f->mu);
	stopping = f->stopping;
	if (!stopping) {
		list_push(&f->queue, j);
		__atomic_add_fetch(&f->pending, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&f->mu);
	if (stopping) {
		job_free(j);
		return -1;
	}
	ev_async_send(f->loop, &f->wake);
	return 0;
}

unsigned fetcher_pending(const struct fetcher *f)
{
	return f ? __atomic_load_n(&f->pending, __ATOMIC_RELAXED) : 0;
}

int fetcher_on_thread(const struct fetcher *f)
{
	return f && pthread_equal(pthread_self(), f->self);
}
