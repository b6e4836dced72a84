/* Tells HAProxy the newest verdict generation (cache.h) over its runtime
 * API: "experimental-mode on; set var proc.certspoa_gen int(N)" to every
 * address of the haproxy_socket option, so that a connection reusing an
 * older verdict (haproxy-examples/mtls-api) asks again on its next
 * request. Runs on the main loop, never blocks: non-blocking connect, a
 * short timeout, a failure is logged, counted and tried again. */
#ifndef CERTSPOA_HAPUSH_H
#define CERTSPOA_HAPUSH_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

/* How often the generation is compared with what each HAProxy was told. */
#define HAPUSH_POLL_MS      100
/* One attempt: connect, send, read the answer. */
#define HAPUSH_TIMEOUT_MS   1000
/* After a failure, the next attempt waits this long (or for a newer generation). */
#define HAPUSH_RETRY_MS     2000
#define HAPUSH_MAX_TARGETS  8

struct hapush;

/* Parse addrs ("unix@/path" or "host:port", separated by spaces or commas);
 * NULL or empty: nothing to do (returns NULL, no error). Returns NULL with
 * err set on a bad address. */
struct hapush *hapush_start(struct ev_loop *loop, const char *addrs, char *err, size_t errlen);

/* Check addrs without starting anything (certspoa -c, reload). */
int hapush_check(const char *addrs, char *err, size_t errlen);

void hapush_stop(struct hapush *h);

/* Failed pushes since the start (all targets). */
uint64_t hapush_failures(void);

/* The command sent for generation gen, into buf. Returns its length, or -1. */
int hapush_command(uint64_t gen, char *buf, size_t cap);

#endif /* CERTSPOA_HAPUSH_H */
