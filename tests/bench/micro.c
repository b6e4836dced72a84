/* micro: micro-benchmarks of certspoa's hot path, run on the real modules
 * (agent/spop.c handler.c cache.c cert.c tplist.c rules.c) in one process,
 * with an RSA PKI made at start (tests/bench/benchpki.c).
 *
 *   micro [-f FILTER] [-r REPS] [-t MS] [--smoke]
 *
 * Each benchmark is calibrated to run about MS milliseconds per repetition
 * and repeated REPS times; the median ns/op is what counts (min and max
 * show the noise). Time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID),
 * so that time spent preempted by other load on a shared machine does not
 * count. The issue's ratio "cache miss with verify=agent / (parse +
 * X509_verify_cert)" is measured pairwise: both run alternately, and the
 * median of the per-pair ratios is reported. The last line is
 * "result: name=median_ns ... ratio_cold_agent_ref=R". */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "benchmsg.h"
#include "benchpki.h"
#include "cache.h"
#include "cert.h"
#include "cfg-t.h"
#include "handler.h"
#include "ocsp.h"
#include "rules.h"
#include "spop.h"
#include "testpki.h"
#include "tplist.h"

#define COLD_CERTS   256      /* cycled through a 16-entry cache: every lookup misses */
#define COLD_CACHE   16
#define LIST_SIZE    100000
#define MAX_REPS     31

/* ---------------------------------------------------------------- fixture */

struct frame {
	char *buf;                  /* whole frame without its 4-byte length */
	size_t len;
	const char *payload;        /* NOTIFY payload inside buf */
	size_t plen;
};

static struct bench_pki pki;
static struct frame *frames;    /* one NOTIFY per leaf */
static struct cert_store *store;
static X509_STORE *ref_store;
static struct tplist *list100k;
static unsigned char rand_digest[32], rand_sha1[20];
static struct policy pol_haproxy, pol_agent;
static struct config cfg_haproxy, cfg_agent, cfg_cold_haproxy, cfg_cold_agent;
static struct handler_ctx hc_warm, hc_warm_agent, hc_cold, hc_cold_agent;
static struct cache cache_full;
static X509 *leaf0;
static EVP_MD *sha256_md;
static int64_t now;
static char out[65536];
static volatile uint64_t sink;

static int make_frame(struct frame *f, const struct bench_der *cert)
{
	const struct benchmsg_req rq = { "api.bench.example", "api.bench.example",
	                                 "/api/v1/payments/12345" };
	size_t cap = benchmsg_notify_max(cert, pki.chain_len, &rq) + SPOP_FRAME_HDR_MAX;
	char *p, *start;

	f->buf = malloc(cap);
	if (!f->buf)
		return -1;
	p = f->buf;
	if (spop_frame_begin(&p, f->buf + cap, &start, SPOP_FRM_NOTIFY, SPOP_FL_FIN, 7, 1) < 0 ||
	    benchmsg_notify(&p, f->buf + cap, cert, pki.chain, pki.chain_len, &rq) < 0 ||
	    spop_frame_end(start, p) < 0)
		return -1;
	/* drop the length prefix: spop_parse_frame() takes what follows it */
	f->len = (size_t)(p - f->buf) - 4;
	memmove(f->buf, f->buf + 4, f->len);
	{
		struct spop_frame sf;

		if (spop_parse_frame(f->buf, f->len, &sf) < 0)
			return -1;
		f->payload = sf.payload;
		f->plen = sf.len;
	}
	return 0;
}

static void set_policy(struct policy *pol, int verify)
{
	memset(pol, 0, sizeof(*pol));
	snprintf(pol->name, sizeof(pol->name), "default");
	pol->require_cert = 1;
	pol->verify = verify;
	pol->store = store;
	pol->thumbprints = list100k;
	pol->deny_status = 403;
}

static void set_config(struct config *cfg, struct policy *pol, int cache_size)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_frame_size = 16380;
	cfg->cache_size = cache_size;
	cfg->policies = pol;
	cfg->default_policy = pol;
}

static int setup(void)
{
	char path[256], err[256];
	const unsigned char *p;

	now = (int64_t)time(NULL);
	if (benchpki_generate(&pki, COLD_CERTS, now, 30) < 0)
		return -1;
	frames = calloc(COLD_CERTS, sizeof(*frames));
	if (!frames)
		return -1;
	for (size_t i = 0; i < COLD_CERTS; i++)
		if (make_frame(&frames[i], &pki.leaf[i]) < 0)
			return -1;

	/* the agent's store, through its own loader; and a plain X509_STORE
	 * for the reference cost */
	if (testpki_write_pem(&pki.root, 1, path, sizeof(path)) < 0)
		return -1;
	store = cert_store_load(path, err, sizeof(err));
	unlink(path);
	if (!store) {
		fprintf(stderr, "micro: %s\n", err);
		return -1;
	}
	ref_store = X509_STORE_new();
	if (!ref_store || !X509_STORE_add_cert(ref_store, pki.root))
		return -1;

	/* 100,000 thumbprints: every leaf, then random ones */
	list100k = tplist_new();
	if (!list100k)
		return -1;
	for (size_t i = 0; i < COLD_CERTS; i++)
		if (tplist_add(list100k, pki.leaf[i].sha256, 32) < 0)
			return -1;
	while (tplist_count(list100k) < LIST_SIZE) {
		unsigned char d[32];

		if (RAND_bytes(d, sizeof(d)) != 1 || tplist_add(list100k, d, 32) < 0)
			return -1;
	}
	if (RAND_bytes(rand_digest, 32) != 1 || RAND_bytes(rand_sha1, 20) != 1)
		return -1;

	set_policy(&pol_haproxy, VERIFY_HAPROXY);
	set_policy(&pol_agent, VERIFY_AGENT);
	set_config(&cfg_haproxy, &pol_haproxy, 4096);
	set_config(&cfg_agent, &pol_agent, 4096);
	set_config(&cfg_cold_haproxy, &pol_haproxy, COLD_CACHE);
	set_config(&cfg_cold_agent, &pol_agent, COLD_CACHE);
	if (handler_init(&hc_warm, &cfg_haproxy, 1) < 0 ||
	    handler_init(&hc_warm_agent, &cfg_agent, 1) < 0 ||
	    handler_init(&hc_cold, &cfg_cold_haproxy, 1) < 0 ||
	    handler_init(&hc_cold_agent, &cfg_cold_agent, 1) < 0)
		return -1;

	/* a 4096-entry cache with every slot used, for the bare lookup */
	if (cache_init(&cache_full, 4096) < 0)
		return -1;
	for (size_t i = 0; i < 4096; i++) {
		unsigned char k[32];

		if (RAND_bytes(k, sizeof(k)) != 1)
			return -1;
		cache_slot(&cache_full, k, 1)->parsed = 1;
	}
	cache_slot(&cache_full, pki.leaf[0].sha256, 1)->parsed = 1;

	p = pki.leaf[0].der;
	leaf0 = d2i_X509(NULL, &p, (long)pki.leaf[0].len);
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	return leaf0 && sha256_md ? 0 : -1;
}

/* ------------------------------------------------------------ benchmarks */

static uint64_t cold_i;

static void b_decode_notify(uint64_t n)
{
	for (uint64_t k = 0; k < n; k++) {
		const struct frame *f = &frames[0];
		struct spop_frame sf;
		struct spop_str name, an;
		struct spop_data av;
		unsigned int nb;
		const char *p, *end;

		if (spop_parse_frame(f->buf, f->len, &sf) < 0)
			abort();
		p = sf.payload;
		end = sf.payload + sf.len;
		if (spop_get_message(&p, end, &name, &nb) < 0)
			abort();
		for (unsigned int i = 0; i < nb; i++)
			if (spop_get_arg(&p, end, &an, &av) < 0)
				abort();
		sink += av.type;
	}
}

static void b_decode_args(uint64_t n)
{
	for (uint64_t k = 0; k < n; k++) {
		const struct frame *f = &frames[0];
		struct spop_frame sf;
		struct spop_str name;
		struct req_facts rq;
		unsigned int nb;
		const char *p, *end;

		if (spop_parse_frame(f->buf, f->len, &sf) < 0)
			abort();
		p = sf.payload;
		end = sf.payload + sf.len;
		if (spop_get_message(&p, end, &name, &nb) < 0 ||
		    handler_get_args(&p, end, nb, &rq) < 0)
			abort();
		sink += rq.cert.len;
	}
}

static void notify(struct handler_ctx *hc, const struct frame *f)
{
	char *p = out;
	enum spop_status st;

	if (handler_notify(hc, 7, 1, f->payload, f->plen, now, &p, out + sizeof(out),
	                   16380, &st, NULL) < 0)
		abort();
	sink += (uint64_t)(p - out);
}

static void b_notify_warm(uint64_t n)
{
	for (uint64_t k = 0; k < n; k++)
		notify(&hc_warm, &frames[0]);
}

static void b_notify_warm_agent(uint64_t n)
{
	for (uint64_t k = 0; k < n; k++)
		notify(&hc_warm_agent, &frames[0]);
}

static void b_notify_cold(uint64_t n)
{
	for (uint64_t k = 0; k < n; k++)
		notify(&hc_cold, &frames[cold_i++ % COLD_CERTS]);
}

static void b_notify_cold_agent(uint64_t n)
{
	for (uint64_t k = 0; k < n; k++)
		notify(&hc_cold_agent, &frames[cold_i++ % COLD_CERTS]);
}

/* The ACK of an allowed certificate, written as handler.c's encode_verdict()
 * writes it (the same 10 variables, same values). */
static void b_ack_encode(uint64_t n)
{
	const struct cache_entry *e = cache_get(&hc_warm.dc.cache, pki.leaf[0].sha256, 1);
	const struct cert_facts *fa;
	static const char *const names[] = { "verdict", "code", "reason", "sha256",
	                                     "sha1", "serial", "subject", "issuer" };

	if (!e)
		abort();
	fa = &e->facts;
	for (uint64_t k = 0; k < n; k++) {
		char *p = out, *end = out + sizeof(out), *start;
		const char *vals[] = { "allow", "ok", "Client certificate accepted",
		                       fa->sha256_hex, fa->sha1_hex, fa->serial,
		                       fa->subject, fa->issuer };
		struct spop_data d;

		if (spop_frame_begin(&p, end, &start, SPOP_FRM_ACK, SPOP_FL_FIN, 7, 1) < 0)
			abort();
		for (int i = 0; i < 8; i++) {
			d.type = SPOP_DATA_STR;
			d.u.str.ptr = vals[i];
			d.u.str.len = strlen(vals[i]);
			if (spop_put_set_var(&p, end, SPOP_SCOPE_TXN, names[i], strlen(names[i]), &d) < 0)
				abort();
			if (i == 0 || i == 4) {
				d.type = SPOP_DATA_INT64;
				d.u.sint = i == 0 ? 200 : fa->not_after;
				if (spop_put_set_var(&p, end, SPOP_SCOPE_TXN, i == 0 ? "status" : "not_after",
				                     i == 0 ? 6 : 9, &d) < 0)
					abort();
			}
		}
		spop_frame_end(start, p);
		sink += (uint64_t)(p - out);
	}
}

static void b_tplist_hit(uint64_t n)
{
	for (uint64_t k = 0; k < n; k++)
		sink += (uint64_t)tplist_has(list100k, rand_sha1, pki.leaf[k & 127].sha256);
}

static void b_tplist_miss(uint64_t n)
{
	for (uint64_t k = 0; k < n; k++) {
		rand_digest[0] = (unsigned char)k;
		rand_sha1[0] = (unsigned char)k;
		sink += (uint64_t)tplist_has(list100k, rand_sha1, rand_digest);
	}
}

static void b_cache_hit(uint64_t n)
{
	for (uint64_t k = 0; k < n; k++)
		sink += (uint64_t)(uintptr_t)cache_get(&cache_full, pki.leaf[0].sha256, 1);
}

static void b_sha256_1k(uint64_t n)
{
	unsigned char md[32];

	for (uint64_t k = 0; k < n; k++) {
		if (!EVP_Digest(pki.leaf[0].der, pki.leaf[0].len, md, NULL, EVP_sha256(), NULL))
			abort();
		sink += md[0];
	}
}

static void b_sha256_1k_fetched(uint64_t n)
{
	unsigned char md[32];

	for (uint64_t k = 0; k < n; k++) {
		if (!EVP_Digest(pki.leaf[0].der, pki.leaf[0].len, md, NULL, sha256_md, NULL))
			abort();
		sink += md[0];
	}
}

static void b_cert_sha256(uint64_t n)
{
	unsigned char s256[32];

	for (uint64_t k = 0; k < n; k++) {
		cert_sha256(pki.leaf[0].der, pki.leaf[0].len, s256);
		sink += s256[0];
	}
}

static void b_cert_digests(uint64_t n)
{
	unsigned char s1[20], s256[32];

	for (uint64_t k = 0; k < n; k++) {
		cert_digests(pki.leaf[0].der, pki.leaf[0].len, s1, s256);
		sink += s1[0] + s256[0];
	}
}

static void b_d2i_x509(uint64_t n)
{
	for (uint64_t k = 0; k < n; k++) {
		const unsigned char *p = pki.leaf[k % COLD_CERTS].der;
		X509 *x = d2i_X509(NULL, &p, (long)pki.leaf[k % COLD_CERTS].len);

		if (!x)
			abort();
		X509_free(x);
	}
}

static void b_cert_get_facts(uint64_t n)
{
	struct cert_facts f;

	for (uint64_t k = 0; k < n; k++) {
		if (cert_get_facts(leaf0, pki.leaf[0].der, pki.leaf[0].len, &f) < 0)
			abort();
		sink += (uint64_t)f.not_after;
	}
}

/* OCSP on a miss, the agent's part: check one answer (parse, RSA-2048
 * signature by the intermediate, certID, times). Made once, lazily. */
static unsigned char *ocsp_der;
static int ocsp_len;

static void make_ocsp_answer(void)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), pki.leaves[0], pki.inter);
	ASN1_TIME *tu = ASN1_TIME_set(NULL, (time_t)(now - 60));
	ASN1_TIME *nu = ASN1_TIME_set(NULL, (time_t)(now + 86400));
	OCSP_RESPONSE *resp = NULL;

	if (!bs || !id || !tu || !nu ||
	    !OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_GOOD, -1, NULL, tu, nu) ||
	    !OCSP_basic_sign(bs, pki.inter, pki.inter_key, EVP_sha256(), NULL, 0) ||
	    !(resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) ||
	    (ocsp_len = i2d_OCSP_RESPONSE(resp, &ocsp_der)) <= 0)
		abort();
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
}

static void b_ocsp_check(uint64_t n)
{
	struct ocsp_check_opts o = { .now = now, .skew = 60, .max_age = 3600 };
	struct ocsp_result r;

	if (!ocsp_der)
		make_ocsp_answer();
	for (uint64_t k = 0; k < n; k++) {
		if (ocsp_response_check(ocsp_der, (size_t)ocsp_len, pki.leaves[0], pki.inter, &o, &r) < 0)
			abort();
		sink += (uint64_t)r.status;
	}
}

static void b_ocsp_request(uint64_t n)
{
	struct ocsp_request rq;
	char url[OCSP_GET_URL_MAX + 1];

	for (uint64_t k = 0; k < n; k++) {
		if (ocsp_request_build(pki.leaves[0], pki.inter, NULL, &rq) < 0 ||
		    ocsp_get_url("http://ocsp.example.com/", rq.der, rq.len, url, sizeof(url)) < 0)
			abort();
		sink += rq.len;
		ocsp_request_free(&rq);
	}
}

/* The reference of the issue's target: parse the leaf and the chain,
 * then X509_verify_cert() for TLS client use against one shared store. */
static void b_parse_verify_ref(uint64_t n)
{
	for (uint64_t k = 0; k < n; k++) {
		const struct bench_der *l = &pki.leaf[k % COLD_CERTS];
		const unsigned char *p = l->der, *q = pki.chain;
		X509 *leaf = d2i_X509(NULL, &p, (long)l->len);
		X509 *inter = d2i_X509(NULL, &q, (long)pki.chain_len);
		STACK_OF(X509) *untrusted = sk_X509_new_null();
		X509_STORE_CTX *ctx = X509_STORE_CTX_new();

		if (!leaf || !inter || !untrusted || !ctx || !sk_X509_push(untrusted, inter) ||
		    !X509_STORE_CTX_init(ctx, ref_store, leaf, untrusted) ||
		    !X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT))
			abort();
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)now);
		if (X509_verify_cert(ctx) != 1)
			abort();
		X509_STORE_CTX_free(ctx);
		sk_X509_pop_free(untrusted, X509_free);
		X509_free(leaf);
	}
}

static void b_cert_verify(uint64_t n)
{
	int depth;

	for (uint64_t k = 0; k < n; k++)
		if (cert_verify(store, leaf0, pki.chain, pki.chain_len, now, &depth) != X509_V_OK)
			abort();
}

struct bench {
	const char *name;
	void (*fn)(uint64_t n);
	const char *what;
};

static const struct bench benches[] = {
	{ "decode_notify",     b_decode_notify,     "spop_parse_frame + spop_get_message + 8 x spop_get_arg" },
	{ "decode_args",       b_decode_args,       "the same through handler_get_args (into struct req_facts)" },
	{ "notify_warm",       b_notify_warm,       "handler_notify, cache hit, verify=haproxy, 100k list" },
	{ "notify_warm_agent", b_notify_warm_agent, "handler_notify, cache hit, verify=agent (result reused)" },
	{ "notify_cold",       b_notify_cold,       "handler_notify, cache miss, verify=haproxy" },
	{ "notify_cold_agent", b_notify_cold_agent, "handler_notify, cache miss, verify=agent (chain verified)" },
	{ "ack_encode",        b_ack_encode,        "ACK frame with the 10 variables of an allow" },
	{ "tplist_hit",        b_tplist_hit,        "tplist_has(sha1 miss, sha256 hit), 100k list" },
	{ "tplist_miss",       b_tplist_miss,       "tplist_has(sha1 miss, sha256 miss), 100k list" },
	{ "cache_hit",         b_cache_hit,         "cache_get hit, 4096 entries" },
	{ "sha256_1k",         b_sha256_1k,         "EVP_Digest(EVP_sha256()) of the 1 KB DER" },
	{ "sha256_1k_fetched", b_sha256_1k_fetched, "the same with an EVP_MD_fetch()ed SHA256" },
	{ "cert_sha256",       b_cert_sha256,       "cert_sha256: the cache key, SHA-256 of the DER (hit path)" },
	{ "cert_digests",      b_cert_digests,      "cert_digests: SHA-1 + SHA-256 of the DER (miss path)" },
	{ "d2i_x509",          b_d2i_x509,          "d2i_X509 + X509_free of a 1 KB RSA leaf" },
	{ "cert_get_facts",    b_cert_get_facts,    "cert_get_facts on a parsed leaf (digests, names, serial, dates)" },
	{ "cert_verify",       b_cert_verify,       "cert_verify on a parsed leaf (parses the chain)" },
	{ "parse_verify_ref",  b_parse_verify_ref,  "reference: d2i leaf + chain, X509_verify_cert, shared store" },
	{ "ocsp_request",      b_ocsp_request,      "OCSP request for a leaf (SHA-1 certID) and its GET URL" },
	{ "ocsp_check",        b_ocsp_check,        "ocsp_response_check: parse, RSA-2048 signature, certID, times" },
};
#define NBENCH (sizeof(benches) / sizeof(benches[0]))

static uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Iterations of b that take about ms milliseconds. */
static uint64_t calibrate(const struct bench *b, double ms)
{
	uint64_t n = 1, t;

	b->fn(1);                                    /* warm up */
	for (;;) {
		t = clock_ns();
		b->fn(n);
		t = clock_ns() - t;
		if ((double)t >= ms * 1e6 / 4 || n >= (1ULL << 32))
			break;
		n *= 2;
	}
	n = (uint64_t)((double)n * (ms * 1e6) / (double)(t ? t : 1));
	return n ? n : 1;
}

static double time_one(const struct bench *b, uint64_t n)
{
	uint64_t t = clock_ns();

	b->fn(n);
	return (double)(clock_ns() - t) / (double)n;
}

/* Median over reps of a/b, the two run alternately. */
static double run_ratio(const struct bench *a, const struct bench *b, int reps, double ms)
{
	uint64_t na = calibrate(a, ms), nb = calibrate(b, ms);
	double r[MAX_REPS];

	for (int i = 0; i < reps; i++) {
		double ta = time_one(a, na);

		r[i] = ta / time_one(b, nb);
	}
	qsort(r, (size_t)reps, sizeof(r[0]), cmp_double);
	return r[reps / 2];
}

/* ns/op of each repetition: calibrated so that one takes ~ms milliseconds. */
static double run_bench(const struct bench *b, int reps, double ms, double *minv,
                        double *maxv, uint64_t *iters)
{
	double r[MAX_REPS];
	uint64_t n = calibrate(b, ms), t;

	for (int i = 0; i < reps; i++) {
		t = clock_ns();
		b->fn(n);
		r[i] = (double)(clock_ns() - t) / (double)n;
	}
	qsort(r, (size_t)reps, sizeof(r[0]), cmp_double);
	*minv = r[0];
	*maxv = r[reps - 1];
	*iters = n;
	return r[reps / 2];
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "filter", required_argument, NULL, 'f' },
		{ "reps",   required_argument, NULL, 'r' },
		{ "time",   required_argument, NULL, 't' },
		{ "smoke",  no_argument,       NULL, 's' },
		{ "list",   no_argument,       NULL, 'l' },
		{ "help",   no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *filter = NULL;
	double ms = 40, med[NBENCH] = { 0 }, ratio = 0;
	const struct bench *cold_agent = NULL, *ref = NULL;
	int reps = 7, opt;
	char *end;

	while ((opt = getopt_long(argc, argv, "f:r:t:slh", lo, NULL)) != -1) {
		switch (opt) {
		case 'f': filter = optarg; break;
		case 'r':
			reps = (int)strtol(optarg, &end, 10);
			if (*end || reps < 1 || reps > MAX_REPS) {
				fprintf(stderr, "micro: -r wants 1..%d\n", MAX_REPS);
				return 2;
			}
			break;
		case 't':
			ms = strtod(optarg, &end);
			if (*end || ms <= 0 || ms > 10000) {
				fprintf(stderr, "micro: -t wants milliseconds, 0..10000\n");
				return 2;
			}
			break;
		case 's': reps = 1; ms = 2; break;
		case 'l':
			for (size_t i = 0; i < NBENCH; i++)
				printf("%-18s %s\n", benches[i].name, benches[i].what);
			return 0;
		case 'h':
			printf("usage: micro [-f FILTER] [-r REPS] [-t MS] [--smoke] [--list]\n"
			       "  Micro-benchmarks of certspoa's hot path on the real modules.\n"
			       "  -f  run the benchmarks whose name contains FILTER\n"
			       "  -r  repetitions, the median is reported (7)\n"
			       "  -t  milliseconds per repetition (40)\n"
			       "  --smoke  one short repetition each (CI)\n");
			return 0;
		default:
			return 2;
		}
	}
	if (setup() < 0) {
		fprintf(stderr, "micro: setup failed\n");
		return 2;
	}
	notify(&hc_warm, &frames[0]);               /* ack_encode reads its entry */
	printf("micro: ns of thread CPU time per operation, median of %d repetition%s of ~%.0f ms (min..max)\n",
	       reps, reps > 1 ? "s" : "", ms);
	printf("  leaf %zu bytes DER (RSA-2048), chain %zu bytes, NOTIFY payload %zu bytes, "
	       "sizeof(struct cache_entry) %zu\n",
	       pki.leaf[0].len, pki.chain_len, frames[0].plen, sizeof(struct cache_entry));
	for (size_t i = 0; i < NBENCH; i++) {
		double lo_, hi_;
		uint64_t n;

		if (filter && !strstr(benches[i].name, filter))
			continue;
		med[i] = run_bench(&benches[i], reps, ms, &lo_, &hi_, &n);
		printf("  %-18s %11.1f  (%.1f..%.1f, %llu ops)  %s\n", benches[i].name, med[i],
		       lo_, hi_, (unsigned long long)n, benches[i].what);
		fflush(stdout);
	}
	for (size_t i = 0; i < NBENCH; i++) {
		if (strcmp(benches[i].name, "notify_cold_agent") == 0)
			cold_agent = &benches[i];
		if (strcmp(benches[i].name, "parse_verify_ref") == 0)
			ref = &benches[i];
	}
	if (!filter) {
		ratio = run_ratio(cold_agent, ref, reps, ms);
		printf("  notify_cold_agent / parse_verify_ref, run alternately: %.2f (median of %d pairs)\n",
		       ratio, reps);
	}
	printf("  cold caches: %llu hits / %llu lookups (verify=haproxy), %llu / %llu (verify=agent)\n",
	       (unsigned long long)hc_cold.dc.cache.hits,
	       (unsigned long long)(hc_cold.dc.cache.hits + hc_cold.dc.cache.misses),
	       (unsigned long long)hc_cold_agent.dc.cache.hits,
	       (unsigned long long)(hc_cold_agent.dc.cache.hits + hc_cold_agent.dc.cache.misses));
	printf("result:");
	for (size_t i = 0; i < NBENCH; i++)
		if (med[i] > 0)
			printf(" %s=%.1f", benches[i].name, med[i]);
	if (ratio > 0)
		printf(" ratio_cold_agent_ref=%.3f", ratio);
	printf(" cache_entry_bytes=%zu\n", sizeof(struct cache_entry));
	handler_destroy(&hc_warm);
	handler_destroy(&hc_warm_agent);
	handler_destroy(&hc_cold);
	handler_destroy(&hc_cold_agent);
	cache_destroy(&cache_full);
	tplist_free(list100k);
	cert_store_free(store);
	X509_STORE_free(ref_store);
	X509_free(leaf0);
	EVP_MD_free(sha256_md);
	for (size_t i = 0; i < COLD_CERTS; i++)
		free(frames[i].buf);
	free(frames);
	benchpki_free(&pki);
	return 0;
}
