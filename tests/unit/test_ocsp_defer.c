/* Deferred ACKs: a NOTIFY waiting for an OCSP answer does not hold up the
 * others on its connection (they are answered first, out of order), is
 * answered once the answer is stored and the worker woken, is answered
 * ocsp_unavailable at ocsp_timeout, and is dropped (counted) when its
 * connection closed meanwhile. The real conn/worker over a socketpair. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ocsp.h>

#include "cfg.h"
#include "conn.h"
#include "log.h"
#include "ocsp-cache.h"
#include "spop.h"
#include "testcfg.h"
#include "testhelp.h"
#include "testpeer.h"
#include "testpki.h"
#include "worker.h"

#define DAY 86400LL

/* The worker runs on the wall clock: this PKI is valid around it. */
static struct {
	int ready;
	int64_t now;
	EVP_PKEY *ca_key, *key;
	X509 *ca, *leaf;
	unsigned char *der;
	size_t len;
	char ca_pem[128];
} k;

static void cleanup(void)
{
	if (k.ca_pem[0])
		unlink(k.ca_pem);
}

static void setup(void)
{
	if (k.ready)
		return;
	k.now = (int64_t)time(NULL);
	k.ca_key = testpki_make_key();
	k.key = testpki_make_key();
	k.ca = testpki_make_cert("/CN=Defer CA", k.ca_key, NULL, NULL, k.now - DAY, k.now + 10 * DAY, 1, NULL);
	k.leaf = testpki_make_cert("/CN=waiting", k.key, k.ca, k.ca_key, k.now - DAY, k.now + 10 * DAY, 0, "clientAuth");
	k.der = testpki_to_der(k.leaf, &k.len);
	testpki_write_pem(&k.ca, 1, k.ca_pem, sizeof(k.ca_pem));
	atexit(cleanup);
	k.ready = k.ca && k.leaf && k.der && k.ca_pem[0];
}

static struct config *load(void)
{
	char err[512];
	struct config *cfg;

	cfg = test_cfg_textf(err, sizeof(err), "[agent]\nlog_decisions = none\n[policy default]\nverify = agent\n"
	                     "ca_file = %s\nocsp = leaf\nocsp_url = http://127.0.0.1:9/\nocsp_timeout = 200ms\n",
	                     k.ca_pem);
	if (!cfg)
		fprintf(stderr, "  %s\n", err);
	return cfg;
}

static struct ocsp_job *last_job;
static int njobs;

static int keep_job(void *arg, struct ocsp_job *j)
{
	(void)arg;
	ocsp_job_free(last_job);
	last_job = j;
	njobs++;
	return 0;
}

/* HELLO, then NOTIFYs: with_cert[i] says whether frame i sends the leaf. */
static size_t frames(char *buf, size_t cap, const int *with_cert, int n)
{
	char *p = buf, *start, *end = buf + cap;
	struct spop_data d;

	spop_frame_begin(&p, end, &start, SPOP_FRM_HAPROXY_HELLO, SPOP_FL_FIN, 0, 0);
	spop_put_str(&p, end, "supported-versions", 18);
	d.type = SPOP_DATA_STR;
	d.u.str.ptr = "2.0";
	d.u.str.len = 3;
	spop_put_data(&p, end, &d);
	spop_put_str(&p, end, "max-frame-size", 14);
	d.type = SPOP_DATA_UINT32;
	d.u.uint = 16380;
	spop_put_data(&p, end, &d);
	spop_put_str(&p, end, "capabilities", 12);
	d.type = SPOP_DATA_STR;
	d.u.str.ptr = "pipelining";
	d.u.str.len = 10;
	spop_put_data(&p, end, &d);
	spop_frame_end(start, p);
	for (int i = 0; i < n; i++) {
		spop_frame_begin(&p, end, &start, SPOP_FRM_NOTIFY, SPOP_FL_FIN, (uint64_t)(2 * i + 1),
		                 (uint64_t)(i + 1));
		spop_put_str(&p, end, "check-client-cert", 17);
		*p++ = (char)(with_cert[i] ? 1 : 0);
		if (with_cert[i]) {
			spop_put_str(&p, end, "cert", 4);
			d.type = SPOP_DATA_BIN;
			d.u.str.ptr = (const char *)k.der;
			d.u.str.len = k.len;
			spop_put_data(&p, end, &d);
		}
		spop_frame_end(start, p);
	}
	return (size_t)(p - buf);
}

/* The frames the agent sent after *off: ACK frame ids in order, and
 * whether each one carries `code` text want[i]. */
struct acks {
	int n;
	uint64_t fid[8];
	char code[8][32];
};

static void read_acks(struct test_peer *pr, size_t *off, struct acks *a)
{
	static const char *const codes[] = { "ocsp_unavailable", "cert_missing", "cert_revoked", "ok" };

	while (pr->in_len - *off >= 4) {
		const unsigned char *u = (const unsigned char *)pr->in + *off;
		uint32_t len = (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
		struct spop_frame f;

		if (pr->in_len - *off - 4 < len || spop_parse_frame(pr->in + *off + 4, len, &f) < 0)
			break;
		*off += 4 + len;
		if (f.type != SPOP_FRM_ACK || a->n >= 8)
			continue;
		a->fid[a->n] = f.frame_id;
		a->code[a->n][0] = 0;
		for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
			char pat[40];
			size_t pl = (size_t)snprintf(pat, sizeof(pat), "code%c%c%s", SPOP_DATA_STR,
			                             (char)strlen(codes[i]), codes[i]);

			if (memmem(f.payload, f.len, pat, pl)) {
				snprintf(a->code[a->n], sizeof(a->code[a->n]), "%s", codes[i]);
				break;
			}
		}
		a->n++;
	}
}

static unsigned char *good_response(size_t *len)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), k.leaf, k.ca);
	ASN1_TIME *tu = ASN1_TIME_set(NULL, (time_t)(k.now - 60));
	ASN1_TIME *nu = ASN1_TIME_set(NULL, (time_t)(k.now + DAY));
	OCSP_RESPONSE *resp = NULL;
	unsigned char *der = NULL, *out = NULL;
	int n;

	if (bs && id && tu && nu && OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_GOOD, -1, NULL, tu, nu) &&
	    OCSP_basic_sign(bs, k.ca, k.ca_key, EVP_sha256(), NULL, 0) &&
	    (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) &&
	    (n = i2d_OCSP_RESPONSE(resp, &der)) > 0 && (out = malloc((size_t)n))) {
		memcpy(out, der, (size_t)n);
		*len = (size_t)n;
	}
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
	return out;
}

struct rig {
	struct test_peer pr;
	struct config *cfg;
	struct ocsp_cache oc;
	size_t off;
};

static int rig_open(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	log_min_level = LOG_ERR;
	last_job = NULL;
	njobs = 0;
	setup();
	if (!k.ready || !(r->cfg = load()) || ocsp_cache_init(&r->oc, 64) < 0)
		return -1;
	if (test_peer_open(&r->pr, r->cfg) < 0)
		return -1;
	worker_set_ocsp(&r->pr.w, &r->oc, keep_job, NULL);
	return 0;
}

static void rig_close(struct rig *r)
{
	test_peer_close(&r->pr);
	ocsp_cache_destroy(&r->oc);
	cfg_free(r->cfg);
	ocsp_job_free(last_job);
	last_job = NULL;
}

TEST(defer_out_of_order_then_answered)
{
	static char buf[16384];
	static const int with_cert[3] = { 1, 0, 1 };
	struct rig r;
	struct acks a = { 0 };
	struct ocsp_result res;
	unsigned char *body;
	size_t blen = 0;

	CHECK(rig_open(&r) == 0);
	test_peer_send(&r.pr, buf, frames(buf, sizeof(buf), with_cert, 3));
	r.off = 0;
	read_acks(&r.pr, &r.off, &a);
	/* frame 2 (no certificate) is answered at once; 1 and 3 wait on one fetch */
	CHECK_EQ_INT(a.n, 1);
	CHECK_EQ_INT(a.fid[0], 2);
	CHECK_EQ_STR(a.code[0], "cert_missing");
	CHECK_EQ_INT(r.pr.w.ndeferred, 2);
	CHECK_EQ_INT(njobs, 1);
	CHECK_EQ_INT(r.pr.w.stats.deferred, 2);
	CHECK(!r.pr.closed);
	/* the answer comes (as the fetcher thread would store it): both go */
	body = good_response(&blen);
	CHECK(body != NULL && last_job != NULL);
	if (body && last_job)
		ocsp_job_finish(&r.oc, last_job, 1, OCSP_E_NONE, body, blen, k.now, 12, &res);
	CHECK_EQ_INT(res.status, OCSP_GOOD);
	free(body);
	worker_ocsp_wake(&r.pr.w);
	test_peer_pump(&r.pr);
	read_acks(&r.pr, &r.off, &a);
	CHECK_EQ_INT(a.n, 3);
	CHECK((a.fid[1] == 1 && a.fid[2] == 3) || (a.fid[1] == 3 && a.fid[2] == 1));
	CHECK_EQ_STR(a.code[1], "ok");
	CHECK_EQ_STR(a.code[2], "ok");
	CHECK_EQ_INT(r.pr.w.ndeferred, 0);
	CHECK_EQ_INT(r.pr.w.stats.deferred_timeouts, 0);
	/* counted once each, not once per try */
	CHECK_EQ_INT(r.pr.w.hc.stats.notify, 3);
	CHECK_EQ_INT(r.pr.w.hc.stats.messages, 3);
	rig_close(&r);
}

TEST(defer_times_out_unavailable)
{
	static char buf[8192];
	static const int with_cert[1] = { 1 };
	struct rig r;
	struct acks a = { 0 };
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	CHECK(rig_open(&r) == 0);
	test_peer_send(&r.pr, buf, frames(buf, sizeof(buf), with_cert, 1));
	read_acks(&r.pr, &r.off, &a);
	CHECK_EQ_INT(a.n, 0);
	CHECK_EQ_INT(r.pr.w.ndeferred, 1);
	/* nobody answers: at ocsp_timeout (200 ms) the ACK says so */
	for (int i = 0; i < 20 && a.n == 0; i++) {
		nanosleep(&ts, NULL);
		test_peer_pump(&r.pr);
		read_acks(&r.pr, &r.off, &a);
	}
	CHECK_EQ_INT(a.n, 1);
	CHECK_EQ_INT(a.fid[0], 1);
	CHECK_EQ_STR(a.code[0], "ocsp_unavailable");
	CHECK_EQ_INT(r.pr.w.stats.deferred_timeouts, 1);
	CHECK_EQ_INT(r.pr.w.ndeferred, 0);
	rig_close(&r);
}

TEST(defer_connection_closed_while_waiting)
{
	static char buf[8192];
	static const int with_cert[2] = { 1, 1 };
	struct rig r;
	struct acks a = { 0 };
	struct ocsp_result res;
	unsigned char *body;
	size_t blen = 0;

	CHECK(rig_open(&r) == 0);
	test_peer_send(&r.pr, buf, frames(buf, sizeof(buf), with_cert, 2));
	CHECK_EQ_INT(r.pr.w.ndeferred, 2);
	/* HAProxy goes away */
	shutdown(r.pr.fd, SHUT_RDWR);
	test_peer_pump(&r.pr);
	CHECK_EQ_INT(worker_nconns(&r.pr.w), 0);
	/* the answer comes later: nothing to write to, both are dropped */
	body = good_response(&blen);
	if (body && last_job)
		ocsp_job_finish(&r.oc, last_job, 1, OCSP_E_NONE, body, blen, k.now, 12, &res);
	free(body);
	worker_ocsp_wake(&r.pr.w);
	test_peer_pump(&r.pr);
	read_acks(&r.pr, &r.off, &a);
	CHECK_EQ_INT(a.n, 0);
	CHECK_EQ_INT(r.pr.w.ndeferred, 0);
	CHECK_EQ_INT(r.pr.w.stats.deferred_dropped, 2);
	rig_close(&r);
}
