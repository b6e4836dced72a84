/* The check-client-cert message as HAProxy encodes it, for the load
 * generator and the micro-benchmarks. */
#ifndef CERTSPOA_BENCHMSG_H
#define CERTSPOA_BENCHMSG_H

#include <stddef.h>

#include "benchpki.h"

/* Request facts that are not the certificate. */
struct benchmsg_req {
	const char *sni;
	const char *host;
	const char *path;
};

/* Write a NOTIFY payload with one check-client-cert message carrying the
 * arguments of spoe-conf/certspoa.conf, typed as HAProxy 2.6 sends them for
 * an mTLS request: present BOOL (ssl_c_used), verify INT64 0 (ssl_c_verify),
 * cert BINARY (ssl_c_der), chain BINARY or NULL when chain_len is 0
 * (ssl_c_chain_der), sni, host and path STRING, src IPV4 127.0.0.1.
 * Returns 0 and advances *p, or -1 if it does not fit. */
int benchmsg_notify(char **p, char *end, const struct bench_der *cert,
                    const unsigned char *chain, size_t chain_len,
                    const struct benchmsg_req *rq);

/* Upper bound of that payload's size. */
size_t benchmsg_notify_max(const struct bench_der *cert, size_t chain_len,
                           const struct benchmsg_req *rq);

#endif /* CERTSPOA_BENCHMSG_H */
