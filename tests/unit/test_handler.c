/* NOTIFY handler: real certificates in, ACK variables out, cache behaviour. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509_vfy.h>

#include "cert.h"
#include "handler.h"
#include "rules.h"
#include "spop.h"
#include "testhelp.h"
#include "testpki.h"
#include "tplist.h"

#define NOW   1800000000LL
#define DAY   86400LL

/* ---- a small PKI shared by the tests (made once) ---- */
static struct {
	int ready;
	EVP_PKEY *ca_key, *int_key, *leaf_key;
	X509 *ca, *inter, *leaf, *expired;
	unsigned char *leaf_der, *expired_der, *chain_der;
	size_t leaf_len, expired_len, chain_len;
	char ca_pem[128];
} pki;

static void pki_cleanup(void)
{
	if (pki.ca_pem[0])
		unlink(pki.ca_pem);
}

static void pki_setup(void)
{
	if (pki.ready)
		return;
	pki.ca_key = testpki_make_key();
	pki.int_key = testpki_make_key();
	pki.leaf_key = testpki_make_key();
	pki.ca = testpki_make_cert("/CN=Handler Root", pki.ca_key, NULL, NULL,
	                           NOW - 10 * DAY, NOW + 3650 * DAY, 1, NULL);
	pki.inter = testpki_make_cert("/CN=Handler Intermediate", pki.int_key, pki.ca, pki.ca_key,
	                              NOW - 10 * DAY, NOW + 365 * DAY, 1, NULL);
	pki.leaf = testpki_make_cert("/O=Example/CN=alice", pki.leaf_key, pki.inter, pki.int_key,
	                             NOW - DAY, NOW + 30 * DAY, 0, "clientAuth");
	pki.expired = testpki_make_cert("/O=Example/CN=old", pki.leaf_key, pki.inter, pki.int_key,
	                                NOW - 30 * DAY, NOW - DAY, 0, "clientAuth");
	pki.leaf_der = testpki_to_der(pki.leaf, &pki.leaf_len);
	pki.expired_der = testpki_to_der(pki.expired, &pki.expired_len);
	pki.chain_der = testpki_to_der(pki.inter, &pki.chain_len);
	testpki_write_pem(&pki.ca, 1, pki.ca_pem, sizeof(pki.ca_pem));
	pki.ready = pki.leaf_der && pki.expired_der && pki.chain_der && pki.ca_pem[0];
	atexit(pki_cleanup);
}

/* ---- building NOTIFY payloads ---- */
struct arg {
	const char *name;
	struct spop_data v;
};

static size_t build_notify(char *buf, size_t cap, const char *msg,
                           const struct arg *args, int nargs)
{
	char *p = buf, *end = buf + cap;

	if (spop_put_str(&p, end, msg, strlen(msg)) < 0 || p >= end)
		return 0;
	*p++ = (char)nargs;
	for (int i = 0; i < nargs; i++)
		if (spop_put_str(&p, end, args[i].name, strlen(args[i].name)) < 0 ||
		    spop_put_data(&p, end, &args[i].v) < 0)
			return 0;
	return (size_t)(p - buf);
}

static struct spop_data bin(const void *p, size_t n)
{
	struct spop_data d = { .type = SPOP_DATA_BIN };

	d.u.str.ptr = p;
	d.u.str.len = n;
	return d;
}

static struct spop_data i64(int64_t v)
{
	struct spop_data d = { .type = SPOP_DATA_INT64 };

	d.u.sint = v;
	return d;
}

static struct spop_data boolean(int b)
{
	struct spop_data d = { .type = SPOP_DATA_BOOL };

	d.u.boolean = b;
	return d;
}

/* ---- reading the ACK back ---- */
#define MAX_VARS 32
struct ack {
	uint64_t sid, fid;
	int nvars, nunset;
	char names[MAX_VARS][32];
	struct spop_data vals[MAX_VARS];
};

static int parse_ack(const char *buf, size_t len, struct ack *a)
{
	struct spop_frame f;
	const char *p, *end;

	memset(a, 0, sizeof(*a));
	if (len < 4 || spop_parse_frame(buf + 4, len - 4, &f) < 0 || f.type != SPOP_FRM_ACK ||
	    !(f.flags & SPOP_FL_FIN))
		return -1;
	a->sid = f.stream_id;
	a->fid = f.frame_id;
	p = f.payload;
	end = f.payload + f.len;
	while (p < end) {
		unsigned char type = (unsigned char)*p++;
		struct spop_str name;

		if (end - p < 2)
			return -1;
		p += 2;     /* nb-args, scope */
		if (spop_get_str(&p, end, &name) < 0 || name.len >= 32)
			return -1;
		if (type == SPOP_ACT_UNSET_VAR) {
			a->nunset++;
			continue;
		}
		if (type != SPOP_ACT_SET_VAR || a->nvars == MAX_VARS)
			return -1;
		memcpy(a->names[a->nvars], name.ptr, name.len);
		a->names[a->nvars][name.len] = 0;
		if (spop_get_data(&p, end, &a->vals[a->nvars]) < 0)
			return -1;
		a->nvars++;
	}
	return 0;
}

static const struct spop_data *var(const struct ack *a, const char *name)
{
	for (int i = 0; i < a->nvars; i++)
		if (strcmp(a->names[i], name) == 0)
			return &a->vals[i];
	return NULL;
}

static int var_is(const struct ack *a, const char *name, const char *want)
{
	const struct spop_data *d = var(a, name);

	return d && d->type == SPOP_DATA_STR && d->u.str.len == strlen(want) &&
	       memcmp(d->u.str.ptr, want, d->u.str.len) == 0;
}

/* ---- running the handler ---- */
static struct config test_cfg;
static struct policy test_pol;

static void setup(struct handler_ctx *hc, int verify, struct tplist *tp)
{
	memset(&test_cfg, 0, sizeof(test_cfg));
	memset(&test_pol, 0, sizeof(test_pol));
	snprintf(test_pol.name, sizeof(test_pol.name), "default");
	test_pol.require_cert = 1;
	test_pol.verify = verify;
	test_pol.deny_status = 403;
	test_pol.thumbprints = tp;
	if (verify != VERIFY_HAPROXY) {
		char err[256];

		test_pol.store = cert_store_load(pki.ca_pem, err, sizeof(err));
	}
	test_cfg.policies = test_cfg.default_policy = &test_pol;
	test_cfg.cache_size = 64;
	handler_init(hc, &test_cfg, 1);
}

static void teardown(struct handler_ctx *hc)
{
	handler_destroy(hc);
	cert_store_free(test_pol.store);
	test_pol.store = NULL;
}

static int run(struct handler_ctx *hc, const char *payload, size_t len, int64_t now,
               size_t max_frame, struct ack *a)
{
	static char out[70000];
	char *p = out;
	enum spop_status st = SPOP_ST_NONE;

	if (handler_notify(hc, 7, 9, payload, len, now, &p, out + sizeof(out), max_frame, &st, NULL) < 0)
		return -(int)st - 1;
	if ((size_t)(p - out) > max_frame + 4)
		return -1000;
	return parse_ack(out, (size_t)(p - out), a);
}

static struct tplist *list_of(const unsigned char *der, size_t len)
{
	unsigned char sha1[20], sha256[32];
	char hex[65], path[] = "/tmp/certspoa-h-XXXXXX", err[256];
	int fd = mkstemp(path);
	struct tplist *l = NULL;

	cert_digests(der, len, sha1, sha256);
	cert_hex(sha256, 32, hex);
	if (fd >= 0 && write(fd, hex, 64) == 64)
		l = tplist_load(path, err, sizeof(err));
	if (fd >= 0)
		close(fd);
	unlink(path);
	return l;
}

TEST(handler_allow_sets_identity_vars)
{
	struct handler_ctx hc;
	struct tplist *tp;
	char payload[8192];
	struct ack a;
	size_t n;
	unsigned char sha1[20], sha256[32];
	char hex[65];

	pki_setup();
	CHECK(pki.ready);
	tp = list_of(pki.leaf_der, pki.leaf_len);
	setup(&hc, VERIFY_HAPROXY, tp);
	struct arg args[] = {
		{ "present", boolean(1) },
		{ "verify", i64(0) },
		{ "cert", bin(pki.leaf_der, pki.leaf_len) },
		{ "unknown_arg", i64(42) },
	};
	n = build_notify(payload, sizeof(payload), HANDLER_MESSAGE, args, 4);
	CHECK(n > 0);
	CHECK_EQ_INT(run(&hc, payload, n, NOW, 16380, &a), 0);
	CHECK_EQ_INT(a.sid, 7);
	CHECK_EQ_INT(a.fid, 9);
	CHECK(var_is(&a, "verdict", "allow"));
	CHECK(var_is(&a, "code", "ok"));
	CHECK(var(&a, "status") && var(&a, "status")->u.sint == 200);
	cert_digests(pki.leaf_der, pki.leaf_len, sha1, sha256);
	cert_hex(sha256, 32, hex);
	CHECK(var_is(&a, "sha256", hex));
	cert_hex(sha1, 20, hex);
	CHECK(var_is(&a, "sha1", hex));
	CHECK(var_is(&a, "subject", "CN=alice,O=Example"));
	CHECK(var_is(&a, "issuer", "CN=Handler Intermediate"));
	CHECK(var(&a, "not_after") && var(&a, "not_after")->u.sint == NOW + 30 * DAY);
	CHECK(var(&a, "serial") != NULL);
	CHECK(var(&a, "detail") == NULL);
	CHECK_EQ_INT(hc.stats.by_code[DEC_ALLOW], 1);
	teardown(&hc);
	tplist_free(tp);
}

TEST(handler_each_denial_code)
{
	struct handler_ctx hc;
	struct tplist *tp;
	char payload[8192];
	struct ack a;
	size_t n;

	pki_setup();
	tp = list_of(pki.expired_der, pki.expired_len);   /* leaf is not listed */
	setup(&hc, VERIFY_HAPROXY, tp);

	/* NULL cert = absent */
	struct arg none[] = { { "present", boolean(0) }, { "cert", { .type = SPOP_DATA_NULL } } };
	n = build_notify(payload, sizeof(payload), HANDLER_MESSAGE, none, 2);
	CHECK_EQ_INT(run(&hc, payload, n, NOW, 16380, &a), 0);
	CHECK(var_is(&a, "verdict", "deny"));
	CHECK(var_is(&a, "code", "cert_missing"));
	CHECK(var_is(&a, "reason", "Client certificate required"));
	CHECK(var(&a, "status") && var(&a, "status")->u.sint == 403);
	CHECK(var(&a, "sha256") == NULL);

	/* HAProxy verification failed */
	struct arg bad[] = { { "verify", i64(10) }, { "cert", bin(pki.leaf_der, pki.leaf_len) } };
	n = build_notify(payload, sizeof(payload), HANDLER_MESSAGE, bad, 2);
	CHECK_EQ_INT(run(&hc, payload, n, NOW, 16380, &a), 0);
	CHECK(var_is(&a, "code", "cert_unverified"));
	CHECK(var_is(&a, "detail", "certificate has expired (10)"));
	CHECK(var(&a, "sha256") != NULL);      /* facts still reported */

	/* verified but not on the list */
	struct arg unl[] = { { "verify", i64(0) }, { "cert", bin(pki.leaf_der, pki.leaf_len) } };
	n = build_notify(payload, sizeof(payload), HANDLER_MESSAGE, unl, 2);
	CHECK_EQ_INT(run(&hc, payload, n, NOW, 16380, &a), 0);
	CHECK(var_is(&a, "code", "cert_untrusted"));
	CHECK(var_is(&a, "reason", "Client certificate is untrusted or invalid"));

	/* wrong type for an argument: never an allow */
	struct arg wt[] = { { "verify", { .type = SPOP_DATA_STR, .u.str = { "0", 1 } } },
	                    { "cert", bin(pki.expired_der, pki.expired_len) } };
	n = build_notify(payload, sizeof(payload), HANDLER_MESSAGE, wt, 2);
	CHECK_EQ_INT(run(&hc, payload, n, NOW, 16380, &a), 0);
	CHECK(var_is(&a, "verdict", "deny"));
	CHECK(var_is(&a, "code", "bad_request"));
	CHECK(var_is(&a, "detail", "argument 'verify' has the wrong type"));

	/* garbage DER, and DER with a trailing byte */
	static const unsigned char junk[] = { 0x30, 0x82, 0x01, 0x00, 0xde, 0xad };
	struct arg gb[] = { { "verify", i64(0) }, { "cert", bin(junk, sizeof(junk)) } };
	n = build_notify(payload, sizeof(payload), HANDLER_MESSAGE, gb, 2);
	CHECK_EQ_INT(run(&hc, payload, n, NOW, 16380, &a), 0);
	CHECK(var_is(&a, "code", "cert_unverified"));
	CHECK(var_is(&a, "detail", "certificate is not valid DER"));
	{
		unsigned char *longer = malloc(pki.expired_len + 1);

		memcpy(longer, pki.expired_der, pki.expired_len);
		longer[pki.expired_len] = 0;
		struct arg tr[] = { { "verify", i64(0) }, { "cert", bin(longer, pki.expired_len + 1) } };
		n = build_notify(payload, sizeof(payload), HANDLER_MESSAGE, tr, 2);
		CHECK_EQ_INT(run(&hc, payload, n, NOW, 16380, &a), 0);
		CHECK(var_is(&a, "verdict", "deny"));
		CHECK(var_is(&a, "detail", "certificate is not valid DER"));
		free(longer);
	}
	teardown(&hc);
	tplist_free(tp);
}

TEST(handler_agent_verification_and_cache)
{
	struct handler_ctx hc;
	char payload[8192];
	struct ack a;
	size_t n;

	pki_setup();
	setup(&hc, VERIFY_AGENT, NULL);
	CHECK(test_pol.store != NULL);

	/* leaf + intermediate sent by the client: verified here */
	struct arg ok[] = { { "cert", bin(pki.leaf_der, pki.leaf_len) },
	                    { "chain", bin(pki.chain_der, pki.chain_len) } };
	n = build_notify(payload, sizeof(payload), HANDLER_MESSAGE, ok, 2);
	CHECK_EQ_INT(run(&hc, payload, n, NOW, 16380, &a), 0);
	CHECK(var_is(&a, "verdict", "allow"));
	CHECK_EQ_INT(hc.dc.cache.misses, 1);
	CHECK_EQ_INT(run(&hc, payload, n, NOW + 1, 16380, &a), 0);
	CHECK(var_is(&a, "verdict", "allow"));
	CHECK_EQ_INT(hc.dc.cache.hits, 1);

	/* a cache hit never outlives the certificate: past not_after it is
	 * verified again and expires */
	CHECK_EQ_INT(run(&hc, payload, n, NOW + 31 * DAY, 16380, &a), 0);
	CHECK(var_is(&a, "verdict", "deny"));
	CHECK(var_is(&a, "code", "cert_unverified"));
	CHECK(var_is(&a, "detail", "certificate has expired (10)"));

	/* same leaf without its intermediate, as on a resumed TLS session
	 * (HAProxy has no ssl_c_chain_der then): the intermediate learned from
	 * the chain that verified completes it, also past the cache TTL */
	struct arg noch[] = { { "cert", bin(pki.leaf_der, pki.leaf_len) } };
	n = build_notify(payload, sizeof(payload), HANDLER_MESSAGE, noch, 1);
	CHECK_EQ_INT(run(&hc, payload, n, NOW + CACHE_VERIFY_TTL + 5, 16380, &a), 0);
	CHECK(var_is(&a, "verdict", "allow"));
	/* ... while a store that never saw the chain cannot verify it alone */
	teardown(&hc);
	setup(&hc, VERIFY_AGENT, NULL);
	CHECK_EQ_INT(run(&hc, payload, n, NOW, 16380, &a), 0);
	CHECK(var_is(&a, "verdict", "deny"));
	CHECK(var_is(&a, "code", "cert_unverified"));

	/* expired leaf */
	struct arg ex[] = { { "cert", bin(pki.expired_der, pki.expired_len) },
	                    { "chain", bin(pki.chain_der, pki.chain_len) } };
	n = build_notify(payload, sizeof(payload), HANDLER_MESSAGE, ex, 2);
	CHECK_EQ_INT(run(&hc, payload, n, NOW, 16380, &a), 0);
	CHECK(var_is(&a, "detail", "certificate has expired (10)"));

	/* garbage chain */
	static const unsigned char junk[] = { 1, 2, 3 };
	struct arg gc[] = { { "cert", bin(pki.leaf_der, pki.leaf_len) }, { "chain", bin(junk, 3) } };
	n = build_notify(payload, sizeof(payload), HANDLER_MESSAGE, gc, 2);
	CHECK_EQ_INT(run(&hc, payload, n, NOW, 16380, &a), 0);
	CHECK(var_is(&a, "verdict", "deny"));
	CHECK(var_is(&a, "code", "cert_unverified"));
	teardown(&hc);
}

TEST(handler_cache_generation_invalidates)
{
	struct handler_ctx hc;
	char payload[8192];
	struct ack a;
	size_t n;

	pki_setup();
	setup(&hc, VERIFY_HAPROXY, NULL);
	struct arg ok[] = { { "verify", i64(0) }, { "cert", bin(pki.leaf_der, pki.leaf_len) } };
	n = build_notify(payload, sizeof(payload), HANDLER_MESSAGE, ok, 2);
	run(&hc, payload, n, NOW, 16380, &a);
	run(&hc, payload, n, NOW, 16380, &a);
	CHECK_EQ_INT(hc.dc.cache.hits, 1);
	hc.dc.generation++;
	run(&hc, payload, n, NOW, 16380, &a);
	CHECK_EQ_INT(hc.dc.cache.hits, 1);
	CHECK_EQ_INT(hc.dc.cache.misses, 2);
	CHECK(var_is(&a, "verdict", "allow"));
	teardown(&hc);
}

TEST(handler_unknown_message_and_malformed_payload)
{
	struct handler_ctx hc;
	char payload[256];
	struct ack a;
	size_t n;

	pki_setup();
	setup(&hc, VERIFY_HAPROXY, NULL);
	struct arg x[] = { { "a", i64(1) } };
	n = build_notify(payload, sizeof(payload), "something-else", x, 1);
	CHECK_EQ_INT(run(&hc, payload, n, NOW, 16380, &a), 0);
	CHECK_EQ_INT(a.nvars, 0);
	CHECK_EQ_INT(a.nunset, 1);          /* never an empty ACK */

	/* truncated: the last argument is cut */
	CHECK_EQ_INT(run(&hc, payload, n - 1, NOW, 16380, &a), -(int)SPOP_ST_INVALID - 1);
	/* a message claiming more args than it has */
	payload[strlen("something-else") + 1] = 5;
	CHECK_EQ_INT(run(&hc, payload, n, NOW, 16380, &a), -(int)SPOP_ST_INVALID - 1);
	/* empty payload: no message at all */
	CHECK_EQ_INT(run(&hc, payload, 0, NOW, 16380, &a), 0);
	CHECK_EQ_INT(a.nunset, 1);
	teardown(&hc);
}

TEST(handler_ack_fits_small_frames)
{
	struct handler_ctx hc;
	char payload[8192];
	struct ack a;
	size_t n;

	pki_setup();
	setup(&hc, VERIFY_HAPROXY, NULL);
	struct arg ok[] = { { "verify", i64(0) }, { "cert", bin(pki.leaf_der, pki.leaf_len) } };
	n = build_notify(payload, sizeof(payload), HANDLER_MESSAGE, ok, 2);
	/* 256 is the smallest frame HAProxy may negotiate: the verdict must
	 * still be there, optional variables are dropped to fit */
	CHECK_EQ_INT(run(&hc, payload, n, NOW, 256, &a), 0);
	CHECK(var_is(&a, "verdict", "allow"));
	CHECK(var_is(&a, "code", "ok"));
	CHECK(a.nvars >= 4);
	teardown(&hc);
}
