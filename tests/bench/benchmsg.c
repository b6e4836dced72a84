/* check-client-cert NOTIFY payloads: see benchmsg.h. */
#include <string.h>

#include "benchmsg.h"
#include "spop.h"

static int put_arg(char **p, char *end, const char *name, const struct spop_data *d)
{
	if (spop_put_str(p, end, name, strlen(name)) < 0)
		return -1;
	return spop_put_data(p, end, d);
}

static int put_arg_bytes(char **p, char *end, const char *name, enum spop_data_type t,
                         const void *v, size_t len)
{
	struct spop_data d = { .type = t };

	d.u.str.ptr = v;
	d.u.str.len = len;
	return put_arg(p, end, name, &d);
}

size_t benchmsg_notify_max(const struct bench_der *cert, size_t chain_len,
                           const struct benchmsg_req *rq)
{
	return 128 + cert->len + chain_len + strlen(rq->sni) + strlen(rq->host) +
	       strlen(rq->path) + 4 * 10;
}

int benchmsg_notify(char **p, char *end, const struct bench_der *cert,
                    const unsigned char *chain, size_t chain_len,
                    const struct benchmsg_req *rq)
{
	char *q = *p;
	struct spop_data d;

	if (spop_put_str(&q, end, "check-client-cert", 17) < 0 || q >= end)
		return -1;
	*q++ = 8;                                   /* NB-ARGS */
	memset(&d, 0, sizeof(d));
	d.type = SPOP_DATA_BOOL;
	d.u.boolean = 1;
	if (put_arg(&q, end, "present", &d) < 0)
		return -1;
	d.type = SPOP_DATA_INT64;
	d.u.sint = 0;
	if (put_arg(&q, end, "verify", &d) < 0 ||
	    put_arg_bytes(&q, end, "cert", SPOP_DATA_BIN, cert->der, cert->len) < 0)
		return -1;
	if (chain_len) {
		if (put_arg_bytes(&q, end, "chain", SPOP_DATA_BIN, chain, chain_len) < 0)
			return -1;
	} else {
		d.type = SPOP_DATA_NULL;              /* HAProxy: no chain sent */
		if (put_arg(&q, end, "chain", &d) < 0)
			return -1;
	}
	if (put_arg_bytes(&q, end, "sni", SPOP_DATA_STR, rq->sni, strlen(rq->sni)) < 0 ||
	    put_arg_bytes(&q, end, "host", SPOP_DATA_STR, rq->host, strlen(rq->host)) < 0 ||
	    put_arg_bytes(&q, end, "path", SPOP_DATA_STR, rq->path, strlen(rq->path)) < 0)
		return -1;
	d.type = SPOP_DATA_IPV4;
	memcpy(d.u.ipv4, "\x7f\x00\x00\x01", 4);
	if (put_arg(&q, end, "src", &d) < 0)
		return -1;
	*p = q;
	return 0;
}
