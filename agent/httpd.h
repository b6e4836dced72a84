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

struct httpd_response {
	int status;
	const char *content_type;
	struct sbuf body;
};

/* Fill r for path (query string removed). r->status defaults to 200. */
typedef void (*httpd_fn)(void *arg, const char *path, struct httpd_response *r);

struct httpd {
	struct listener l;
	struct ev_loop *loop;
	ev_io accept_w;
	httpd_fn fn;
	void *arg;
	int nclients;
	struct client *clients, *clients_tail;
};

int httpd_open(struct httpd *h, struct ev_loop *loop, const char *spec,
               httpd_fn fn, void *arg, char *err, size_t errlen);
void httpd_close(struct httpd *h);

#endif /* CERTSPOA_HTTPD_H */
