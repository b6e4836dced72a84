/* A deliberately small HTTP/1.x server for the stats listener: GET/HEAD
 * only, one request per connection, bounded request size, a timeout, a cap
 * on clients. Runs in the main thread's event loop. */
#ifndef CERTSPOA_HTTPD_H
#define CERTSPOA_HTTPD_H

#include <ev.h>

#include "listener.h"
#include "sbuf.h"

#define HTTPD_MAX_CLIENTS  64
#define HTTPD_REQ_MAX      8192
#define HTTPD_TIMEOUT      5.0     /* to read the request and write the answer */

struct client;

struct httpd_request {
	const char *path;             /* query string removed */
	const char *authz;            /* Authorization value, trimmed; NULL = none */
	size_t authz_len;
	int authz_dup;                /* more than one Authorization header */
	int local;                    /* the listener only serves this host */
};

struct httpd_response {
	int status;
	const char *content_type;
	const char *www_authenticate; /* value of a WWW-Authenticate header, or NULL */
	struct sbuf body;
};

/* Fill r for the request. r->status defaults to 200. */
typedef void (*httpd_fn)(void *arg, const struct httpd_request *rq, struct httpd_response *r);

struct httpd {
	struct listener l;
	struct ev_loop *loop;
	ev_io accept_w;
	httpd_fn fn;
	void *arg;
	int nclients;
	struct client *clients, *clients_tail;
	int local;                    /* bound to loopback or a unix socket */
};

int httpd_open(struct httpd *h, struct ev_loop *loop, const char *spec,
               httpd_fn fn, void *arg, char *err, size_t errlen);
void httpd_close(struct httpd *h);

/* The stats listener's access rule (statsauth.h) for one request: returns 1
 * when the page may be served, else fills r with the 401 (and its
 * WWW-Authenticate) or 403 answer and returns 0. token is [stats]
 * token_file's token, NULL when there is none. */
int httpd_authorize(const struct httpd_request *rq, const char *token, size_t token_len,
                    struct httpd_response *r);

#endif /* CERTSPOA_HTTPD_H */
