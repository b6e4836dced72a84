/* OCSP: requests, response checks (signer, certID, times, nonce), the GET
 * URL, the shared answer cache, and the decision with ocsp = leaf: a miss
 * waits, an answer decides, the wait's end is ocsp_unavailable. Responses
 * are made here with the OpenSSL API from an in-process PKI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cfg.h"
#include "decide.h"
#include "ocsp.h"
#include "ocsp-cache.h"
#include "rules.h"
#include "testcfg.h"
#include "testhelp.h"
#include "testpki.h"

#define NOW 1900000000LL
#define DAY 86400LL

static struct {
	int ready;
	EVP_PKEY *ca_key, *key, *other_key;
	X509 *ca, *leaf, *leaf2, *resp, *resp_noeku, *resp_expired, *other_ca, *other_resp;
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
	k.ca_key = testpki_make_key();
	k.key = testpki_make_key();
	k.other_key = testpki_make_key();
	k.ca = testpki_make_cert("/CN=OCSP Test CA", k.ca_key, NULL, NULL, NOW - 100 * DAY, NOW + 1000 * DAY, 1, NULL);
	k.leaf = testpki_make_cert("/CN=alice", k.key, k.ca, k.ca_key, NOW - DAY, NOW + 100 * DAY, 0, "clientAuth");
	k.leaf2 = testpki_make_cert("/CN=bob", k.key, k.ca, k.ca_key, NOW - DAY, NOW + 100 * DAY, 0, "clientAuth");
	k.resp = testpki_make_cert("/CN=delegated responder", k.key, k.ca, k.ca_key, NOW - DAY, NOW + 100 * DAY, 0, "OCSPSigning");
	k.resp_noeku = testpki_make_cert("/CN=not a responder", k.key, k.ca, k.ca_key, NOW - DAY, NOW + 100 * DAY, 0, "clientAuth");
	k.resp_expired = testpki_make_cert("/CN=expired responder", k.key, k.ca, k.ca_key, NOW - 10 * DAY, NOW - DAY, 0, "OCSPSigning");
	k.other_ca = testpki_make_cert("/CN=OCSP Test CA", k.other_key, NULL, NULL, NOW - 100 * DAY, NOW + 1000 * DAY, 1, NULL);
	k.other_resp = testpki_make_cert("/CN=other responder", k.key, k.other_ca, k.other_key, NOW - DAY, NOW + 100 * DAY, 0, "OCSPSigning");
	testpki_write_pem(&k.ca, 1, k.ca_pem, sizeof(k.ca_pem));
	atexit(cleanup);
	k.ready = k.ca && k.leaf && k.leaf2 && k.resp && k.resp_noeku && k.resp_expired &&
	          k.other_ca && k.other_resp && k.ca_pem[0];
}

/* What a made-up response says. */
struct mk {
	X509 *about, *about_issuer;     /* the certID (default leaf / ca) */
	X509 *signer;                   /* default ca */
	EVP_PKEY *signer_key;           /* default ca_key */
	int status;                     /* V_OCSP_CERTSTATUS_* */
	int reason;
	int64_t this_update, next_update;   /* next 0: none */
	const unsigned char *nonce;
	int resp_status;                /* OCSP_RESPONSE_STATUS_* (default successful) */
};

static unsigned char *make_resp(const struct mk *m, size_t *len)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_RESPONSE *resp = NULL;
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), m->about ? m->about : k.leaf,
	                                  m->about_issuer ? m->about_issuer : k.ca);
	ASN1_TIME *tu = ASN1_TIME_set(NULL, (time_t)(m->this_update ? m->this_update : NOW - 3600));
	ASN1_TIME *nu = m->next_update ? ASN1_TIME_set(NULL, (time_t)m->next_update) : NULL;
	ASN1_TIME *rt = ASN1_TIME_set(NULL, (time_t)(NOW - 2 * DAY));
	unsigned char *der = NULL, *out = NULL;
	int n;

	if (!bs || !id || !tu || !rt)
		goto done;
	if (m->resp_status) {
		resp = OCSP_response_create(m->resp_status, NULL);
		goto encode;
	}
	if (!OCSP_basic_add1_status(bs, id, m->status, m->status == V_OCSP_CERTSTATUS_REVOKED ? m->reason : -1,
	                            m->status == V_OCSP_CERTSTATUS_REVOKED ? rt : NULL, tu, nu))
		goto done;
	if (m->nonce) {
		OCSP_REQUEST *req = OCSP_REQUEST_new();
		unsigned char nb[OCSP_NONCE_LEN];

		memcpy(nb, m->nonce, sizeof(nb));
		if (!req || !OCSP_request_add1_nonce(req, nb, OCSP_NONCE_LEN) || !OCSP_copy_nonce(bs, req)) {
			OCSP_REQUEST_free(req);
			goto done;
		}
		OCSP_REQUEST_free(req);
	}
	if (!OCSP_basic_sign(bs, m->signer ? m->signer : k.ca, m->signer_key ? m->signer_key : k.ca_key,
	                     EVP_sha256(), NULL, 0))
		goto done;
	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
encode:
	if (resp && (n = i2d_OCSP_RESPONSE(resp, &der)) > 0 && (out = malloc((size_t)n))) {
		memcpy(out, der, (size_t)n);
		*len = (size_t)n;
	}
done:
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
	ASN1_TIME_free(rt);
	return out;
}

static const struct ocsp_check_opts opts = { .now = NOW, .skew = 300, .max_age = 3600 };

/* Check what m makes, about leaf/ca, with o (NULL: opts). */
static struct ocsp_result check(const struct mk *m, const struct ocsp_check_opts *o)
{
	struct ocsp_result r;
	size_t len = 0;
	unsigned char *der = make_resp(m, &len);

	memset(&r, 0xff, sizeof(r));
	if (!der) {
		unit_fail(__FILE__, __LINE__, "could not make a response");
		r.status = OCSP_STATUSES;
		return r;
	}
	ocsp_response_check(der, len, k.leaf, k.ca, o ? o : &opts, &r);
	free(der);
	return r;
}

TEST(ocsp_good_revoked_unknown)
{
	struct ocsp_result r;

	setup();
	CHECK(k.ready);
	r = check(&(struct mk){ .status = V_OCSP_CERTSTATUS_GOOD, .next_update = NOW + DAY }, NULL);
	CHECK_EQ_INT(r.status, OCSP_GOOD);
	CHECK_EQ_INT(r.err, OCSP_E_NONE);
	CHECK_EQ_INT(r.delegated, 0);
	CHECK_EQ_INT(r.this_update, NOW - 3600);
	CHECK_EQ_INT(r.next_update, NOW + DAY);
	r = check(&(struct mk){ .status = V_OCSP_CERTSTATUS_REVOKED, .reason = 1, .next_update = NOW + DAY }, NULL);
	CHECK_EQ_INT(r.status, OCSP_REVOKED);
	CHECK_EQ_INT(r.reason, 1);
	CHECK_EQ_INT(r.revoked_at, NOW - 2 * DAY);
	CHECK_EQ_STR(ocsp_reason_str(r.reason), "keyCompromise");
	r = check(&(struct mk){ .status = V_OCSP_CERTSTATUS_UNKNOWN, .next_update = NOW + DAY }, NULL);
	CHECK_EQ_INT(r.status, OCSP_UNKNOWN);
}

TEST(ocsp_signer_must_be_ca_or_delegated)
{
	struct ocsp_result r;

	setup();
	/* a responder the CA issued with id-kp-OCSPSigning */
	r = check(&(struct mk){ .signer = k.resp, .signer_key = k.key, .next_update = NOW + DAY }, NULL);
	CHECK_EQ_INT(r.status, OCSP_GOOD);
	CHECK_EQ_INT(r.delegated, 1);
	/* issued by the CA but without OCSPSigning: OpenSSL would take it
	 * without OCSP_NOEXPLICIT (the self-signed anchor counts as trusted) */
	r = check(&(struct mk){ .signer = k.resp_noeku, .signer_key = k.key, .next_update = NOW + DAY }, NULL);
	CHECK_EQ_INT(r.status, OCSP_ERROR);
	CHECK_EQ_INT(r.err, OCSP_E_SIGNATURE);
	/* ... even when ca_file marks the CA as trusted for OCSP signing (a
	 * TRUSTED CERTIFICATE): only id-kp-OCSPSigning makes a responder */
	{
		X509 *trusted = X509_dup(k.ca);
		struct ocsp_result rt;
		unsigned char *der;
		size_t len = 0;

		CHECK(trusted && X509_add1_trust_object(trusted, OBJ_nid2obj(NID_OCSP_sign)) == 1);
		der = make_resp(&(struct mk){ .signer = k.resp_noeku, .signer_key = k.key, .next_update = NOW + DAY }, &len);
		CHECK(der != NULL);
		if (der && trusted) {
			CHECK(ocsp_response_check(der, len, k.leaf, trusted, &opts, &rt) < 0);
			CHECK_EQ_INT(rt.err, OCSP_E_SIGNATURE);
		}
		free(der);
		der = make_resp(&(struct mk){ .next_update = NOW + DAY }, &len);
		if (der && trusted)
			CHECK(ocsp_response_check(der, len, k.leaf, trusted, &opts, &rt) == 0);
		free(der);
		X509_free(trusted);
	}
	/* a responder of another CA (same CA name, other key) */
	r = check(&(struct mk){ .signer = k.other_resp, .signer_key = k.key, .next_update = NOW + DAY }, NULL);
	CHECK_EQ_INT(r.err, OCSP_E_SIGNATURE);
	/* that other CA itself */
	r = check(&(struct mk){ .signer = k.other_ca, .signer_key = k.other_key, .next_update = NOW + DAY }, NULL);
	CHECK_EQ_INT(r.err, OCSP_E_SIGNATURE);
	/* a delegated responder expired at now */
	r = check(&(struct mk){ .signer = k.resp_expired, .signer_key = k.key, .next_update = NOW + DAY }, NULL);
	CHECK_EQ_INT(r.err, OCSP_E_SIGNATURE);
	/* a good signature over a response about someone else */
	r = check(&(struct mk){ .about = k.leaf2, .next_update = NOW + DAY }, NULL);
	CHECK_EQ_INT(r.err, OCSP_E_CERTID);
}

TEST(ocsp_times_with_skew)
{
	struct ocsp_result r;

	setup();
	/* nextUpdate passed: beyond the skew an error, within it fine */
	r = check(&(struct mk){ .this_update = NOW - DAY, .next_update = NOW - 301 }, NULL);
	CHECK_EQ_INT(r.err, OCSP_E_EXPIRED);
	r = check(&(struct mk){ .this_update = NOW - DAY, .next_update = NOW - 299 }, NULL);
	CHECK_EQ_INT(r.status, OCSP_GOOD);
	/* thisUpdate in the future */
	r = check(&(struct mk){ .this_update = NOW + 301, .next_update = NOW + DAY }, NULL);
	CHECK_EQ_INT(r.err, OCSP_E_NOT_YET);
	r = check(&(struct mk){ .this_update = NOW + 299, .next_update = NOW + DAY }, NULL);
	CHECK_EQ_INT(r.status, OCSP_GOOD);
	/* nextUpdate before thisUpdate */
	r = check(&(struct mk){ .this_update = NOW - 100, .next_update = NOW - 200 }, NULL);
	CHECK_EQ_INT(r.status, OCSP_ERROR);
	/* no nextUpdate: max_age after thisUpdate (3600 + 300 skew) */
	r = check(&(struct mk){ .this_update = NOW - 3000 }, NULL);
	CHECK_EQ_INT(r.status, OCSP_GOOD);
	CHECK_EQ_INT(r.next_update, 0);
	r = check(&(struct mk){ .this_update = NOW - 3901 }, NULL);
	CHECK_EQ_INT(r.err, OCSP_E_TOO_OLD);
}

TEST(ocsp_nonce)
{
	static const unsigned char n1[OCSP_NONCE_LEN] = "0123456789abcdef";
	static const unsigned char n2[OCSP_NONCE_LEN] = "0123456789abcdeX";
	struct ocsp_check_opts o = opts;
	struct ocsp_result r;

	setup();
	o.nonce = n1;
	r = check(&(struct mk){ .next_update = NOW + DAY, .nonce = n1 }, &o);
	CHECK_EQ_INT(r.status, OCSP_GOOD);
	r = check(&(struct mk){ .next_update = NOW + DAY, .nonce = n2 }, &o);
	CHECK_EQ_INT(r.err, OCSP_E_NONCE);
	r = check(&(struct mk){ .next_update = NOW + DAY }, &o);
	CHECK_EQ_INT(r.err, OCSP_E_NONCE);
	/* not asked for: a nonce in the answer is fine */
	r = check(&(struct mk){ .next_update = NOW + DAY, .nonce = n2 }, NULL);
	CHECK_EQ_INT(r.status, OCSP_GOOD);
}

TEST(ocsp_malformed_answers)
{
	struct ocsp_result r;
	unsigned char *der, *longer;
	size_t len = 0;

	setup();
	r = check(&(struct mk){ .resp_status = OCSP_RESPONSE_STATUS_TRYLATER }, NULL);
	CHECK_EQ_INT(r.err, OCSP_E_RESP_STATUS);
	r = check(&(struct mk){ .resp_status = OCSP_RESPONSE_STATUS_UNAUTHORIZED }, NULL);
	CHECK_EQ_INT(r.err, OCSP_E_RESP_STATUS);
	CHECK(ocsp_response_check((const unsigned char *)"garbage", 7, k.leaf, k.ca, &opts, &r) < 0);
	CHECK_EQ_INT(r.err, OCSP_E_MALFORMED);
	CHECK(ocsp_response_check(NULL, 0, k.leaf, k.ca, &opts, &r) < 0);
	CHECK_EQ_INT(r.status, OCSP_ERROR);
	/* a good answer with a byte after it, or cut short */
	der = make_resp(&(struct mk){ .next_update = NOW + DAY }, &len);
	CHECK(der != NULL);
	if (!der)
		return;
	longer = malloc(len + 1);
	memcpy(longer, der, len);
	longer[len] = 0;
	CHECK(ocsp_response_check(der, len, k.leaf, k.ca, &opts, &r) == 0);
	CHECK(ocsp_response_check(longer, len + 1, k.leaf, k.ca, &opts, &r) < 0);
	CHECK_EQ_INT(r.err, OCSP_E_MALFORMED);
	CHECK(ocsp_response_check(der, len - 1, k.leaf, k.ca, &opts, &r) < 0);
	/* no issuer: never good */
	CHECK(ocsp_response_check(der, len, k.leaf, NULL, &opts, &r) < 0);
	CHECK_EQ_INT(r.err, OCSP_E_NO_ISSUER);
	free(longer);
	free(der);
}

TEST(ocsp_request_and_get_url)
{
	static const unsigned char nonce[OCSP_NONCE_LEN] = "nonce-nonce-1234";
	struct ocsp_request rq, rq2;
	struct ocsp_key key;
	OCSP_REQUEST *req;
	const unsigned char *p;
	char url[600];
	int n;

	setup();
	CHECK(ocsp_request_build(k.leaf, k.ca, NULL, &rq) == 0);
	CHECK(rq.len > 0 && rq.len < 120);
	CHECK(ocsp_key_of(k.leaf, k.ca, &key) == 0);
	CHECK_EQ_MEM(key.b, rq.key.b, 32);
	CHECK(ocsp_key_of(k.leaf2, k.ca, &key) == 0);
	CHECK(memcmp(key.b, rq.key.b, 32) != 0);
	/* it parses back, one certID, no nonce */
	p = rq.der;
	req = d2i_OCSP_REQUEST(NULL, &p, (long)rq.len);
	CHECK(req != NULL && OCSP_request_onereq_count(req) == 1);
	OCSP_REQUEST_free(req);
	n = ocsp_get_url("http://ocsp.example/", rq.der, rq.len, url, sizeof(url));
	CHECK(n > 0 && n <= OCSP_GET_URL_MAX);
	CHECK(strncmp(url, "http://ocsp.example/M", 21) == 0);      /* base64 of 0x30 */
	CHECK(strchr(url + 7, '+') == NULL && strchr(url, '=') == NULL);
	CHECK(strchr(url + 20, '/') == NULL);
	n = ocsp_get_url("http://ocsp.example", rq.der, rq.len, url, sizeof(url));
	CHECK(n > 0 && strncmp(url, "http://ocsp.example/M", 21) == 0);
	/* a long responder URL: POST */
	{
		char longurl[300];

		memset(longurl, 'a', sizeof(longurl));
		memcpy(longurl, "http://", 7);
		longurl[200] = 0;
		CHECK(ocsp_get_url(longurl, rq.der, rq.len, url, sizeof(url)) < 0);
	}
	/* a nonce goes in the request */
	CHECK(ocsp_request_build(k.leaf, k.ca, nonce, &rq2) == 0);
	CHECK(rq2.has_nonce && rq2.len > rq.len);
	CHECK_EQ_MEM(rq2.key.b, rq.key.b, 32);
	ocsp_request_free(&rq);
	ocsp_request_free(&rq2);
	CHECK(ocsp_request_build(k.leaf, NULL, NULL, &rq) < 0);
}

TEST(ocsp_aia_url)
{
	X509 *x;
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	char url[256];

	setup();
	x = testpki_make_cert("/CN=aia", k.key, k.ca, k.ca_key, NOW - DAY, NOW + DAY, 0, "clientAuth");
	CHECK(ocsp_aia_url(x, url, sizeof(url)) < 0);
	X509V3_set_ctx(&ctx, k.ca, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_info_access,
	                          "OCSP;URI:ldap://x/, OCSP;URI:http://ocsp.example:8080/a, caIssuers;URI:http://ca/");
	CHECK(ext != NULL && X509_add_ext(x, ext, -1) == 1);
	X509_EXTENSION_free(ext);
	CHECK(X509_sign(x, k.ca_key, EVP_sha256()) > 0);
	CHECK(ocsp_aia_url(x, url, sizeof(url)) == 0);
	CHECK_EQ_STR(url, "http://ocsp.example:8080/a");
	CHECK(ocsp_aia_url(x, url, 10) < 0);          /* no room: none */
	X509_free(x);
}

TEST(ocsp_cache_claim_wait_hit_refresh)
{
	struct ocsp_cache c;
	struct ocsp_cache_entry a;
	struct ocsp_key k1, k2;
	struct ocsp_result good = { .status = OCSP_GOOD, .this_update = NOW, .next_update = NOW + 1000 };
	struct ocsp_result err = { .status = OCSP_ERROR, .err = OCSP_E_FETCH };
	int refresh;

	memset(&k1, 1, sizeof(k1));
	memset(&k2, 2, sizeof(k2));
	CHECK(ocsp_cache_init(&c, 16) == 0);
	/* the first miss claims, the next ones wait: one fetch per key */
	CHECK_EQ_INT(ocsp_cache_lookup(&c, &k1, NOW, &a, &refresh), OCSP_LK_CLAIMED);
	CHECK_EQ_INT(ocsp_cache_lookup(&c, &k1, NOW, &a, &refresh), OCSP_LK_WAIT);
	CHECK_EQ_INT(ocsp_cache_lookup(&c, &k2, NOW, &a, &refresh), OCSP_LK_CLAIMED);
	ocsp_cache_put(&c, &k1, &good, NOW, ocsp_result_expiry(&good, NOW, 3600, 30), "http://r/");
	CHECK_EQ_INT(ocsp_cache_lookup(&c, &k1, NOW + 10, &a, &refresh), OCSP_LK_HIT);
	CHECK_EQ_INT(a.result.status, OCSP_GOOD);
	CHECK_EQ_INT(a.until, NOW + 1000);
	CHECK_EQ_STR(a.url, "http://r/");
	CHECK_EQ_INT(refresh, 0);
	/* the last tenth of its life: still a hit, and one refresh is claimed */
	CHECK_EQ_INT(ocsp_cache_lookup(&c, &k1, NOW + 950, &a, &refresh), OCSP_LK_HIT);
	CHECK_EQ_INT(refresh, 1);
	CHECK_EQ_INT(ocsp_cache_lookup(&c, &k1, NOW + 951, &a, &refresh), OCSP_LK_HIT);
	CHECK_EQ_INT(refresh, 0);
	/* the refresh failed: the good answer stays until its end, and the
	 * next refresh waits for the error's TTL */
	ocsp_cache_put(&c, &k1, &err, NOW + 952, NOW + 982, "http://r/");
	CHECK_EQ_INT(ocsp_cache_lookup(&c, &k1, NOW + 960, &a, &refresh), OCSP_LK_HIT);
	CHECK_EQ_INT(a.result.status, OCSP_GOOD);
	CHECK_EQ_INT(refresh, 0);
	CHECK_EQ_INT(ocsp_cache_lookup(&c, &k1, NOW + 982, &a, &refresh), OCSP_LK_HIT);
	CHECK_EQ_INT(refresh, 1);
	ocsp_cache_release(&c, &k1);
	/* never past nextUpdate */
	CHECK_EQ_INT(ocsp_cache_lookup(&c, &k1, NOW + 1000, &a, &refresh), OCSP_LK_CLAIMED);
	/* an error is kept for its short TTL, then asked again */
	ocsp_cache_put(&c, &k2, &err, NOW, ocsp_result_expiry(&err, NOW, 3600, 30), "http://r/");
	CHECK_EQ_INT(ocsp_cache_lookup(&c, &k2, NOW + 29, &a, &refresh), OCSP_LK_HIT);
	CHECK_EQ_INT(a.result.status, OCSP_ERROR);
	CHECK_EQ_INT(refresh, 0);
	CHECK_EQ_INT(ocsp_cache_lookup(&c, &k2, NOW + 30, &a, &refresh), OCSP_LK_CLAIMED);
	ocsp_cache_release(&c, &k2);
	CHECK_EQ_INT(ocsp_cache_lookup(&c, &k2, NOW + 31, &a, &refresh), OCSP_LK_CLAIMED);
	ocsp_cache_destroy(&c);
}

TEST(ocsp_responder_failures_counted)
{
	struct ocsp_cache c;
	struct ocsp_result err = { .status = OCSP_ERROR, .err = OCSP_E_TIMEOUT };
	struct ocsp_result good = { .status = OCSP_GOOD };
	struct ocsp_responder rs[OCSP_RESPONDERS_MAX];
	struct ocsp_cache_stats st;
	int n = 0;

	CHECK(ocsp_cache_init(&c, 16) == 0);
	CHECK_EQ_INT(ocsp_cache_count_fetch(&c, "http://a/", &err, NOW, 2000), 1);
	CHECK_EQ_INT(ocsp_cache_count_fetch(&c, "http://a/", &err, NOW, 2000), 2);
	CHECK_EQ_INT(ocsp_cache_count_fetch(&c, "http://b/", &good, NOW, 3), 0);
	CHECK_EQ_INT(ocsp_cache_count_fetch(&c, "http://a/", &good, NOW, 7), 0);
	ocsp_cache_snapshot(&c, &st, rs, &n);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(rs[0].url, "http://a/");
	CHECK_EQ_INT(rs[0].failed, 2);
	CHECK_EQ_INT(rs[0].ok, 1);
	CHECK_EQ_STR(rs[0].last_error, "no answer within ocsp_timeout");
	CHECK_EQ_INT(rs[0].lat[8], 2);       /* 2000 ms: <= 5000 */
	CHECK_EQ_INT(rs[0].lat[1], 1);       /* 7 ms: <= 10 */
	CHECK_EQ_INT(rs[1].lat[0], 1);
	ocsp_cache_destroy(&c);
}

/* ---- the decision ---- */

static struct config *load_text(const char *text)
{
	char err[512];
	struct config *cfg = test_cfg_text(text, err, sizeof(err));

	if (!cfg)
		fprintf(stderr, "  %s\n", err);
	return cfg;
}

static struct config *policy_cfg(const char *extra)
{
	char text[1024];

	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nca_file = %s\nocsp = leaf\n"
	         "ocsp_url = http://127.0.0.1:9/\n%s", k.ca_pem, extra);
	return load_text(text);
}

/* The fetches decide_ocsp asked for. */
static struct {
	int n;
	struct ocsp_job *last;
	int refuse;
} sub;

static int fake_submit(void *arg, struct ocsp_job *j)
{
	(void)arg;
	if (sub.refuse)
		return -1;
	sub.n++;
	ocsp_job_free(sub.last);
	sub.last = j;
	return 0;
}

struct dec {
	struct decide_ctx dc;
	struct ocsp_cache oc;
	struct config *cfg;
	unsigned char *der;
	size_t len;
};

static int dec_init(struct dec *t, const char *extra)
{
	memset(t, 0, sizeof(*t));
	memset(&sub, 0, sizeof(sub));
	t->cfg = policy_cfg(extra);
	if (!t->cfg || decide_init(&t->dc, t->cfg, 1) < 0 || ocsp_cache_init(&t->oc, 64) < 0)
		return -1;
	decide_set_ocsp(&t->dc, &t->oc, fake_submit, NULL);
	t->der = testpki_to_der(k.leaf, &t->len);
	return t->der ? 0 : -1;
}

static void dec_free(struct dec *t)
{
	decide_destroy(&t->dc);
	ocsp_cache_destroy(&t->oc);
	cfg_free(t->cfg);
	free(t->der);
	ocsp_job_free(sub.last);
	sub.last = NULL;
}

static void dec_run(struct dec *t, int64_t now, struct decision *d, struct cert_eval *ce)
{
	struct req_facts rq;
	const char *route = NULL;

	memset(&rq, 0, sizeof(rq));
	rq.has_cert = 1;
	rq.cert.ptr = (const char *)t->der;
	rq.cert.len = t->len;
	decide_request(&t->dc, &rq, now, NULL, ce, d, &route);
}

TEST(ocsp_decide_waits_then_decides)
{
	struct dec t;
	struct decision d;
	struct cert_eval ce;
	struct ocsp_result r;
	unsigned char *der;
	size_t len = 0;

	setup();
	CHECK(dec_init(&t, "") == 0);
	/* a miss: no verdict, one fetch started, to ocsp_url (no AIA) */
	dec_run(&t, NOW, &d, &ce);
	CHECK_EQ_INT(ce.ocsp.pending, 1);
	CHECK_EQ_INT(sub.n, 1);
	CHECK(sub.last != NULL);
	if (!sub.last)
		goto out;
	CHECK_EQ_STR(sub.last->url, "http://127.0.0.1:9/");
	CHECK_EQ_INT(sub.last->timeout_ms, 2000);
	/* a second request for it waits on the same fetch */
	dec_run(&t, NOW, &d, &ce);
	CHECK_EQ_INT(ce.ocsp.pending, 1);
	CHECK_EQ_INT(sub.n, 1);
	/* the answer comes: good -> allowed, from that responder */
	der = make_resp(&(struct mk){ .next_update = NOW + DAY }, &len);
	ocsp_job_finish(&t.oc, sub.last, 1, OCSP_E_NONE, der, len, NOW + 1, 40, &r);
	free(der);
	CHECK_EQ_INT(r.status, OCSP_GOOD);
	dec_run(&t, NOW + 2, &d, &ce);
	CHECK_EQ_INT(ce.ocsp.pending, 0);
	CHECK_EQ_INT(d.code, DEC_ALLOW);
	CHECK_EQ_INT(ce.ocsp.state, REV_GOOD);
	CHECK_EQ_STR(ce.ocsp.url, "http://127.0.0.1:9/");
	CHECK_EQ_INT(ce.ocsp.until, NOW + DAY);
	/* past nextUpdate the answer is not used: a new fetch, a new wait */
	dec_run(&t, NOW + DAY, &d, &ce);
	CHECK_EQ_INT(ce.ocsp.pending, 1);
	CHECK_EQ_INT(sub.n, 2);
out:
	dec_free(&t);
}

TEST(ocsp_decide_revoked_unknown_unavailable)
{
	struct dec t;
	struct decision d;
	struct cert_eval ce;
	struct ocsp_result r;
	unsigned char *der;
	size_t len = 0;

	setup();
	/* revoked: cert_revoked with the source, the time and the reason */
	CHECK(dec_init(&t, "") == 0);
	dec_run(&t, NOW, &d, &ce);
	CHECK(sub.last != NULL);
	if (!sub.last)
		goto out;
	der = make_resp(&(struct mk){ .status = V_OCSP_CERTSTATUS_REVOKED, .reason = 1, .next_update = NOW + DAY }, &len);
	ocsp_job_finish(&t.oc, sub.last, 1, OCSP_E_NONE, der, len, NOW, 10, &r);
	free(der);
	dec_run(&t, NOW, &d, &ce);
	CHECK_EQ_INT(d.code, DEC_CERT_REVOKED);
	CHECK_EQ_STR(d.rule, "ocsp_revoked");
	CHECK(strstr(d.detail, "source ocsp http://127.0.0.1:9/") != NULL);
	CHECK(strstr(d.detail, "keyCompromise") != NULL);
	CHECK(strstr(d.detail, "2030-03-15T") != NULL);     /* NOW - 2 days */
	dec_free(&t);

	/* unknown: denied, unless ocsp_unknown = allow */
	CHECK(dec_init(&t, "") == 0);
	dec_run(&t, NOW, &d, &ce);
	der = make_resp(&(struct mk){ .status = V_OCSP_CERTSTATUS_UNKNOWN, .next_update = NOW + DAY }, &len);
	ocsp_job_finish(&t.oc, sub.last, 1, OCSP_E_NONE, der, len, NOW, 10, &r);
	dec_run(&t, NOW, &d, &ce);
	CHECK_EQ_INT(d.code, DEC_OCSP_UNKNOWN);
	dec_free(&t);
	CHECK(dec_init(&t, "ocsp_unknown = allow\n") == 0);
	dec_run(&t, NOW, &d, &ce);
	ocsp_job_finish(&t.oc, sub.last, 1, OCSP_E_NONE, der, len, NOW, 10, &r);
	dec_run(&t, NOW, &d, &ce);
	CHECK_EQ_INT(d.code, DEC_ALLOW);
	free(der);
	dec_free(&t);

	/* a wrong signer is unavailable, never good */
	CHECK(dec_init(&t, "") == 0);
	dec_run(&t, NOW, &d, &ce);
	der = make_resp(&(struct mk){ .signer = k.resp_noeku, .signer_key = k.key, .next_update = NOW + DAY }, &len);
	ocsp_job_finish(&t.oc, sub.last, 1, OCSP_E_NONE, der, len, NOW, 10, &r);
	free(der);
	dec_run(&t, NOW, &d, &ce);
	CHECK_EQ_INT(d.code, DEC_OCSP_UNAVAILABLE);
	CHECK(strstr(d.detail, "not signed by the CA") != NULL);
	/* the error is remembered for ocsp_error_ttl (30 s), then asked again */
	dec_run(&t, NOW + 29, &d, &ce);
	CHECK_EQ_INT(d.code, DEC_OCSP_UNAVAILABLE);
	CHECK_EQ_INT(sub.n, 1);
	dec_run(&t, NOW + 30, &d, &ce);
	CHECK_EQ_INT(ce.ocsp.pending, 1);
	CHECK_EQ_INT(sub.n, 2);
	dec_free(&t);
out:
	;
}

TEST(ocsp_decide_timeout_and_soft_fail)
{
	struct dec t;
	struct decision d;
	struct cert_eval ce;

	setup();
	CHECK(dec_init(&t, "") == 0);
	dec_run(&t, NOW, &d, &ce);
	CHECK_EQ_INT(ce.ocsp.pending, 1);
	/* the wait is over (ocsp_timeout): ocsp_unavailable */
	t.dc.ocsp_no_wait = 1;
	dec_run(&t, NOW + 2, &d, &ce);
	CHECK_EQ_INT(ce.ocsp.pending, 0);
	CHECK_EQ_INT(d.code, DEC_OCSP_UNAVAILABLE);
	CHECK(strstr(d.detail, "no answer within ocsp_timeout") != NULL);
	dec_free(&t);

	CHECK(dec_init(&t, "ocsp_unavailable = allow\n") == 0);
	t.dc.ocsp_no_wait = 1;
	dec_run(&t, NOW, &d, &ce);
	CHECK_EQ_INT(d.code, DEC_ALLOW);
	dec_free(&t);

	/* the fetch cannot be started: unavailable at once, no wait */
	CHECK(dec_init(&t, "") == 0);
	sub.refuse = 1;
	dec_run(&t, NOW, &d, &ce);
	CHECK_EQ_INT(ce.ocsp.pending, 0);
	CHECK_EQ_INT(d.code, DEC_OCSP_UNAVAILABLE);
	dec_free(&t);

	/* no OCSP service at all (explain without network): unavailable */
	CHECK(dec_init(&t, "") == 0);
	decide_set_ocsp(&t.dc, NULL, NULL, NULL);
	dec_run(&t, NOW, &d, &ce);
	CHECK_EQ_INT(d.code, DEC_OCSP_UNAVAILABLE);
	dec_free(&t);
}

TEST(ocsp_not_fetched_for_a_denied_certificate)
{
	struct dec t;
	struct decision d;
	struct cert_eval ce;

	setup();
	/* the allow list does not name alice: denied without a fetch */
	CHECK(dec_init(&t, "allow_cn = bob\n") == 0);
	dec_run(&t, NOW, &d, &ce);
	CHECK_EQ_INT(ce.ocsp.pending, 0);
	CHECK_EQ_INT(d.code, DEC_CERT_UNTRUSTED);
	CHECK_EQ_INT(sub.n, 0);
	dec_free(&t);
}

/* The rules alone, as any caller but decide_request sees them: an OCSP
 * policy without an answer looked up is a denial, never an allow. */
TEST(ocsp_rules_deny_without_lookup)
{
	struct dec t;
	struct decision d;
	struct cert_eval ce;
	struct req_facts rq;

	setup();
	CHECK(dec_init(&t, "") == 0);
	memset(&rq, 0, sizeof(rq));
	rq.has_cert = 1;
	rq.cert.ptr = (const char *)t.der;
	rq.cert.len = t.len;
	decide_eval_cert(&t.dc, t.cfg->default_policy, &rq, NOW, &ce);
	CHECK(ce.parsed);
	CHECK_EQ_INT(ce.ocsp.state, REV_NONE);
	rules_decide(t.cfg->default_policy, &rq, &ce, NOW, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_OCSP_UNAVAILABLE);
	CHECK_EQ_STR(d.rule, "ocsp_not_checked");
	CHECK_EQ_INT(d.rev_needed, 1);
	CHECK_EQ_INT(sub.n, 0);
	dec_free(&t);
}

/* ocsp = chain: every certificate of the path but the anchor, each with
 * the answer of its own issuer; an issuer revoked denies the leaf. */
static struct ocsp_job *chain_jobs[4];
static int nchain_jobs;

static int keep_chain_job(void *arg, struct ocsp_job *j)
{
	(void)arg;
	if (nchain_jobs >= 4)
		return -1;
	chain_jobs[nchain_jobs++] = j;
	return 0;
}

static void chain_case(int inter_status, enum dec_code want, int want_checked)
{
	EVP_PKEY *ik = testpki_make_key();
	X509 *inter = testpki_make_cert("/CN=OCSP Test Intermediate", ik, k.ca, k.ca_key,
	                                NOW - 10 * DAY, NOW + 100 * DAY, 1, NULL);
	X509 *leaf = testpki_make_cert("/CN=carol", k.key, inter, ik, NOW - DAY, NOW + 10 * DAY, 0, "clientAuth");
	struct ocsp_cache oc;
	struct decide_ctx dc;
	struct config *cfg = policy_cfg("ocsp = chain\n");
	struct req_facts rq;
	struct cert_eval ce;
	struct decision d;
	const char *route = NULL;
	unsigned char *der = NULL, *chain = NULL;
	size_t len = 0, clen = 0;

	CHECK(ik && inter && leaf && cfg);
	if (!ik || !inter || !leaf || !cfg)
		goto out;
	der = testpki_to_der(leaf, &len);
	chain = testpki_to_der(inter, &clen);
	CHECK(decide_init(&dc, cfg, 1) == 0 && ocsp_cache_init(&oc, 64) == 0);
	nchain_jobs = 0;
	decide_set_ocsp(&dc, &oc, keep_chain_job, NULL);
	memset(&rq, 0, sizeof(rq));
	rq.has_cert = rq.has_chain = 1;
	rq.cert.ptr = (const char *)der;
	rq.cert.len = len;
	rq.chain.ptr = (const char *)chain;
	rq.chain.len = clen;
	decide_request(&dc, &rq, NOW, NULL, &ce, &d, &route);
	/* both fetches start at once */
	CHECK_EQ_INT(ce.ocsp.pending, 1);
	CHECK_EQ_INT(nchain_jobs, 2);
	for (int i = 0; i < nchain_jobs; i++) {
		struct ocsp_job *j = chain_jobs[i];
		int is_leaf = X509_cmp(j->leaf, leaf) == 0;
		struct ocsp_result r;
		unsigned char *resp;
		size_t rlen = 0;

		CHECK(is_leaf || X509_cmp(j->leaf, inter) == 0);
		resp = make_resp(&(struct mk){ .about = is_leaf ? leaf : inter,
		                               .about_issuer = is_leaf ? inter : k.ca,
		                               .signer = is_leaf ? inter : k.ca,
		                               .signer_key = is_leaf ? ik : k.ca_key,
		                               .status = is_leaf ? V_OCSP_CERTSTATUS_GOOD : inter_status,
		                               .reason = 2, .next_update = NOW + DAY }, &rlen);
		CHECK(resp != NULL);
		ocsp_job_finish(&oc, j, 1, OCSP_E_NONE, resp, rlen, NOW, 5, &r);
		CHECK(r.status != OCSP_ERROR);
		free(resp);
		ocsp_job_free(j);
	}
	decide_request(&dc, &rq, NOW, NULL, &ce, &d, &route);
	CHECK_EQ_INT(ce.ocsp.pending, 0);
	CHECK_EQ_INT(d.code, want);
	CHECK_EQ_INT(ce.ocsp.checked, want_checked);
	if (want == DEC_CERT_REVOKED) {
		CHECK_EQ_INT(ce.ocsp.depth, 1);
		CHECK(strstr(d.detail, "an issuer is revoked") != NULL);
		CHECK(strstr(d.detail, "cACompromise") != NULL);
	}
	decide_destroy(&dc);
	ocsp_cache_destroy(&oc);
out:
	cfg_free(cfg);
	free(der);
	free(chain);
	X509_free(leaf);
	X509_free(inter);
	EVP_PKEY_free(ik);
}

TEST(ocsp_chain_checks_every_issuer)
{
	setup();
	chain_case(V_OCSP_CERTSTATUS_GOOD, DEC_ALLOW, 2);
	chain_case(V_OCSP_CERTSTATUS_REVOKED, DEC_CERT_REVOKED, 2);
}

TEST(ocsp_config_rules)
{
	struct config *c;

	setup();
	CHECK((c = policy_cfg("ocsp_url_mode = override\n")) != NULL);
	cfg_free(c);
	CHECK(load_text("[policy default]\nocsp = leaf\n") == NULL);           /* no ca_file */
	CHECK(policy_cfg("ocsp_url_mode = sometimes\n") == NULL);
	CHECK(policy_cfg("ocsp_fallback = crl\n") == NULL);                      /* no crl_file */
	CHECK(policy_cfg("ocsp_timeout = 10m\n") == NULL);                       /* over 60 s */
	{
		char text[512];

		snprintf(text, sizeof(text), "[policy default]\nverify = agent\nca_file = %s\nocsp = leaf\n"
		         "ocsp_url = https://ocsp.example/\n", k.ca_pem);
		CHECK(load_text(text) == NULL);
		snprintf(text, sizeof(text), "[policy default]\nverify = agent\nca_file = %s\nocsp = chain\n"
		         "ocsp_url_mode = override\n", k.ca_pem);
		CHECK(load_text(text) == NULL);
	}
}
