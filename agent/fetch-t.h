/* Background HTTP(S) fetches: the request and result types (fetch.h has
 * the functions). The fetcher is shared by the CRL sources (revoc.c), the
 * lists given as URLs and the OCSP client. */
#ifndef CERTSPOA_FETCH_T_H
#define CERTSPOA_FETCH_T_H

#include <stddef.h>

/* Defaults when a request leaves a limit at 0. */
#define FETCH_DEFAULT_TIMEOUT_MS 10000L
#define FETCH_DEFAULT_MAX_SIZE   (10U << 20)
/* Response headers, all of them together: past this the fetch fails
 * ("endless headers" from a misbehaving server). */
#define FETCH_MAX_HEADER_BYTES   (64U << 10)
#define FETCH_MAX_REDIRECTS      5L

/* One fetch. fetcher_submit() copies every field (strings and body), so
 * the caller may free them as soon as it returns. */
struct fetch_req {
	const char *url;            /* http:// or https:// only */
	const void *body;           /* non-NULL: POST this body */
	size_t body_len;
	const char *content_type;   /* with body: "Content-Type" (NULL: none) */
	long timeout_ms;            /* whole transfer, connect included; 0: default */
	size_t max_size;            /* body bytes; past it the fetch fails; 0: default */
	const char *etag;           /* conditional GET: If-None-Match (NULL: none) */
	long long last_modified;    /* conditional GET: If-Modified-Since (<= 0: none) */
	int follow_redirects;       /* 0 (default): a 3xx is an answer like any other */
	const char *ca_file;        /* HTTPS trust (NULL: the system's) */
};

/* What the done callback gets. Pointers are valid only during the call. */
struct fetch_result {
	int ok;                     /* 1: a 2xx body, or 304 (not_modified) */
	long status;                /* HTTP status, 0 when there was no answer */
	int not_modified;           /* 1: 304 to a conditional GET, no body */
	const char *body;           /* NUL-terminated after len bytes (never NULL) */
	size_t len;
	const char *etag;           /* the answer's ETag, NULL when none */
	long long last_modified;    /* the answer's Last-Modified, -1 when none */
	double seconds;             /* the whole transfer's time */
	char err[192];              /* why, when !ok ("" otherwise) */
};

/* Runs ON THE FETCHER THREAD, exactly once per accepted submission (also
 * when the fetcher stops: ok = 0, err "fetcher stopped"). It must not
 * block; it may call fetcher_submit(). */
typedef void (*fetch_done_fn)(void *arg, const struct fetch_result *r);

struct fetcher;

#endif /* CERTSPOA_FETCH_T_H */
