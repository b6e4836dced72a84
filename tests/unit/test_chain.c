/* Issuer rules on the path that verified, exact DER for every certificate
 * that enters, and the -c warnings: the decision pipeline over hand-built requests
 * (config text -> cfg_load -> decide_request on one decision context). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "cfg.h"
#include "decide.h"
#include "rules.h"
#include "spop.h"
#include "testcfg.h"
#include "testhelp.h"
#include "testpki.h"

#define NOW 1960000000LL
#define DAY 86400LL

/* root r; ca1 under r; leaf and leaf2 under ca1. Two roots with the same
 * name (a key rollover), ra and rb, each with a leaf. */
static struct {
	int ready;
	EVP_PKEY *r_key, *ca1_key, *leaf_key, *ra_key, *rb_key;
	X509 *r, *ca1, *leaf, *leaf2, *ra, *rb, *leaf_a, *leaf_b, *leaf_b_noaki;
	unsigned char *leaf_der, *leaf2_der, *ca1_der, *ra_der, *rb_der;
	unsigned char *leaf_a_der, *leaf_b_der, *leaf_b_noaki_der;
	size_t leaf_len, leaf2_len, ca1_len, ra_len, rb_len, leaf_a_len, leaf_b_len, leaf_b_noaki_len;
	char r_pem[64], ca1_pem[64], r_ca1_pem[64], rab_pem[64];
	char leaf_serial[CERT_SERIAL_MAX];
	char ca1_hex[65], ra_hex[65], rb_hex[65], leaf_hex[65];
} K;

static void cleanup(void)
{
	const char *f[] = { K.r_pem, K.ca1_pem, K.r_ca1_pem, K.rab_pem };

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i][0])
			unlink(f[i]);
}

static X509 *make(const char *subj, EVP_PKEY *key, X509 *iss, EVP_PKEY *iss_key,
                  int ca, const char *serial)
{
	struct testpki_cert c = {
		.subject = subj, .key = key, .issuer = iss, .issuer_key = iss_key,
		.not_before = NOW - 10 * DAY, .not_after = NOW + 300 * DAY, .is_ca = ca,
		.eku = ca ? NULL : "clientAuth", .serial_hex = serial,
	};

	return testpki_make_cert_ex(&c);
}

/* x without its authorityKeyIdentifier, signed again by key: nothing but
 * the signature then tells which of two same-named CAs issued it. */
static X509 *without_aki(X509 *x, EVP_PKEY *key)
{
	X509 *y = X509_dup(x);
	int i = y ? X509_get_ext_by_NID(y, NID_authority_key_identifier, -1) : -1;

	if (i < 0) {
		X509_free(y);
		return NULL;
	}
	X509_EXTENSION_free(X509_delete_ext(y, i));
	if (X509_sign(y, key, EVP_sha256()) <= 0) {
		X509_free(y);
		return NULL;
	}
	return y;
}

static void sha256_hex(const unsigned char *der, size_t len, char hex[65])
{
	unsigned char s1[20], s256[32];

	cert_digests(der, len, s1, s256);
	cert_hex(s256, 32, hex);
}

static void setup(void)
{
	X509 *two[2];
	struct cert_facts f;

	if (K.ready)
		return;
	K.r_key = testpki_make_key();
	K.ca1_key = testpki_make_key();
	K.leaf_key = testpki_make_key();
	K.ra_key = testpki_make_key();
	K.rb_key = testpki_make_key();
	K.r = make("/O=Chain/CN=Chain Root", K.r_key, NULL, NULL, 1, NULL);
	K.ca1 = make("/O=Chain/CN=Chain CA1", K.ca1_key, K.r, K.r_key, 1, NULL);
	K.leaf = make("/O=Chain/CN=leaf", K.leaf_key, K.ca1, K.ca1_key, 0, "7a11");
	K.leaf2 = make("/O=Chain/CN=leaf2", K.leaf_key, K.ca1, K.ca1_key, 0, "7a12");
	K.ra = make("/O=Chain/CN=Rollover CA", K.ra_key, NULL, NULL, 1, "0a");
	K.rb = make("/O=Chain/CN=Rollover CA", K.rb_key, NULL, NULL, 1, "0b");
	K.leaf_a = make("/O=Chain/CN=leaf of a", K.leaf_key, K.ra, K.ra_key, 0, NULL);
	K.leaf_b = make("/O=Chain/CN=leaf of b", K.leaf_key, K.rb, K.rb_key, 0, NULL);
	K.leaf_b_noaki = K.leaf_b ? without_aki(K.leaf_b, K.rb_key) : NULL;
	if (!K.r || !K.ca1 || !K.leaf || !K.leaf2 || !K.ra || !K.rb || !K.leaf_a || !K.leaf_b ||
	    !K.leaf_b_noaki)
		return;
	K.leaf_der = testpki_to_der(K.leaf, &K.leaf_len);
	K.leaf2_der = testpki_to_der(K.leaf2, &K.leaf2_len);
	K.ca1_der = testpki_to_der(K.ca1, &K.ca1_len);
	K.ra_der = testpki_to_der(K.ra, &K.ra_len);
	K.rb_der = testpki_to_der(K.rb, &K.rb_len);
	K.leaf_a_der = testpki_to_der(K.leaf_a, &K.leaf_a_len);
	K.leaf_b_der = testpki_to_der(K.leaf_b, &K.leaf_b_len);
	K.leaf_b_noaki_der = testpki_to_der(K.leaf_b_noaki, &K.leaf_b_noaki_len);
	if (testpki_write_pem(&K.r, 1, K.r_pem, sizeof(K.r_pem)) < 0 ||
	    testpki_write_pem(&K.ca1, 1, K.ca1_pem, sizeof(K.ca1_pem)) < 0)
		return;
	two[0] = K.r;
	two[1] = K.ca1;
	if (testpki_write_pem(two, 2, K.r_ca1_pem, sizeof(K.r_ca1_pem)) < 0)
		return;
	two[0] = K.ra;
	two[1] = K.rb;
	if (testpki_write_pem(two, 2, K.rab_pem, sizeof(K.rab_pem)) < 0)
		return;
	atexit(cleanup);
	sha256_hex(K.ca1_der, K.ca1_len, K.ca1_hex);
	sha256_hex(K.ra_der, K.ra_len, K.ra_hex);
	sha256_hex(K.rb_der, K.rb_len, K.rb_hex);
	sha256_hex(K.leaf_der, K.leaf_len, K.leaf_hex);
	if (cert_get_facts(K.leaf, K.leaf_der, K.leaf_len, &f) < 0)
		return;
	snprintf(K.leaf_serial, sizeof(K.leaf_serial), "%s", f.serial);
	K.ready = K.leaf_der && K.leaf2_der && K.ca1_der && K.ra_der && K.rb_der &&
	          K.leaf_a_der && K.leaf_b_der && K.leaf_b_noaki_der;
}

static int write_file(const char *text, char *path, size_t pathlen)
{
	char tmpl[] = "/tmp/certspoa-chain-XXXXXX";
	int fd = mkstemp(tmpl);

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		unlink(tmpl);
		return -1;
	}
	close(fd);
	snprintf(path, pathlen, "%s", tmpl);
	return 0;
}

/* "[policy default]" with these lines. */
static struct config *policy(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct config *policy(const char *fmt, ...)
{
	char body[2048], text[2200], err[1024];
	struct config *cfg;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	snprintf(text, sizeof(text), "[policy default]\n%s\n", body);
	cfg = test_cfg_text(text, err, sizeof(err));
	if (!cfg)
		fprintf(stderr, "  config error: %s\n", err);
	return cfg;
}

struct req {
	const unsigned char *cert;
	size_t cert_len;
	const unsigned char *chain;     /* NULL: no chain argument (a resumed session) */
	size_t chain_len;
	int verify;                     /* ssl_c_verify, sent as 0 unless set */
};

static struct decision last;
static char last_trace[TRACE_MAX];

/* Decide one request on hc; returns "code/rule". */
static const char *decide(struct decide_ctx *hc, const struct req *r, int64_t now)
{
	static char out[128];
	struct req_facts rq;
	struct cert_eval ce;
	struct trace t = { .on = 1 };
	const char *route;

	memset(&rq, 0, sizeof(rq));
	rq.has_verify = 1;
	rq.verify = r->verify;
	rq.has_cert = 1;
	rq.cert = (struct spop_str){ (const char *)r->cert, r->cert_len };
	if (r->chain) {
		rq.has_chain = 1;
		rq.chain = (struct spop_str){ (const char *)r->chain, r->chain_len };
	}
	decide_request(hc, &rq, now, &t, &ce, &last, &route);
	snprintf(last_trace, sizeof(last_trace), "%.*s", (int)t.len, t.buf);
	snprintf(out, sizeof(out), "%s/%s", dec_table[last.code].code, last.rule ? last.rule : "-");
	return out;
}

#define EXPECT(hc, r, now, want) do { \
	const char *got_ = decide((hc), (r), (now)); \
	if (strcmp(got_, (want)) != 0) \
		unit_fail(__FILE__, __LINE__, "got %s (%s), expected %s; trace: %s", \
		          got_, last.detail, (want), last_trace); \
} while (0)

static const struct req LEAF = { 0 };   /* filled by leaf_alone() etc. */

static struct req leaf_alone(void)
{
	struct req r = LEAF;

	setup();
	r.cert = K.leaf_der;
	r.cert_len = K.leaf_len;
	return r;
}

static struct req leaf_with_ca1(void)
{
	struct req r = leaf_alone();

	r.chain = K.ca1_der;
	r.chain_len = K.ca1_len;
	return r;
}

/* ---- B: the issuer rules never learn from what the client sends ---- */

TEST(chain_issuer_deny_survives_learning_agent)
{
	struct decide_ctx hc;
	struct config *cfg;
	struct req alone = leaf_alone(), sent = leaf_with_ca1();

	setup();
	CHECK(K.ready);
	cfg = policy("verify = agent\nca_file = %s\ndeny_issuer_thumbprints = %s", K.r_pem, K.ca1_hex);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	decide_init(&hc, cfg, 1);
	EXPECT(&hc, &alone, NOW, "cert_unverified/cert_unknown_ca");
	EXPECT(&hc, &sent, NOW, "cert_untrusted/deny_issuer_thumbprints");
	/* ca1 was learned from the chain that verified: the leaf alone now
	 * verifies, and its issuer on that path is ca1 */
	EXPECT(&hc, &alone, NOW, "cert_untrusted/deny_issuer_thumbprints");
	/* past the cache TTL, on a fresh worker context too */
	EXPECT(&hc, &alone, NOW + CACHE_VERIFY_TTL + 1, "cert_untrusted/deny_issuer_thumbprints");
	decide_destroy(&hc);
	decide_init(&hc, cfg, 1);
	EXPECT(&hc, &alone, NOW, "cert_untrusted/deny_issuer_thumbprints");
	decide_destroy(&hc);
	cfg_free(cfg);
}

TEST(chain_issuer_deny_survives_learning_haproxy)
{
	struct decide_ctx hc;
	struct config *cfg;
	struct req alone = leaf_alone(), sent = leaf_with_ca1();

	setup();
	cfg = policy("verify = haproxy\nca_file = %s\ndeny_issuer_thumbprints = %s", K.r_pem, K.ca1_hex);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	decide_init(&hc, cfg, 1);
	/* HAProxy verified (ssl_c_verify = 0), but the agent can build no
	 * path to an issuer: it cannot tell, so it denies */
	EXPECT(&hc, &alone, NOW, "cert_untrusted/issuer_unknown");
	EXPECT(&hc, &sent, NOW, "cert_untrusted/deny_issuer_thumbprints");
	EXPECT(&hc, &alone, NOW, "cert_untrusted/deny_issuer_thumbprints");
	decide_destroy(&hc);
	cfg_free(cfg);
}

TEST(chain_issuer_from_intermediates_and_ca_file)
{
	struct decide_ctx hc;
	struct config *cfg;
	struct req alone = leaf_alone();
	const char *verify[] = { "agent", "both", "haproxy" };

	setup();
	for (size_t i = 0; i < 3; i++) {
		/* ca1 in `intermediates`: never sent by the client */
		cfg = policy("verify = %s\nca_file = %s\nintermediates = %s\ndeny_issuer_thumbprints = %s",
		             verify[i], K.r_pem, K.ca1_pem, K.ca1_hex);
		CHECK(cfg != NULL);
		if (!cfg)
			return;
		decide_init(&hc, cfg, 1);
		EXPECT(&hc, &alone, NOW, "cert_untrusted/deny_issuer_thumbprints");
		decide_destroy(&hc);
		cfg_free(cfg);
		/* ca1 in ca_file, as an anchor */
		cfg = policy("verify = %s\nca_file = %s\ndeny_issuer_thumbprints = %s",
		             verify[i], K.r_ca1_pem, K.ca1_hex);
		CHECK(cfg != NULL);
		if (!cfg)
			return;
		decide_init(&hc, cfg, 1);
		EXPECT(&hc, &alone, NOW, "cert_untrusted/deny_issuer_thumbprints");
		decide_destroy(&hc);
		cfg_free(cfg);
	}
}

/* ---- resumed sessions: no chain argument at all ---- */

TEST(chain_issuer_resumed_session_allow_and_deny)
{
	struct decide_ctx hc;
	struct config *cfg;
	struct req alone = leaf_alone();

	setup();
	cfg = policy("verify = haproxy\nca_file = %s\nintermediates = %s\nallow_issuer_thumbprints = %s",
	             K.r_pem, K.ca1_pem, K.ca1_hex);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	decide_init(&hc, cfg, 1);
	EXPECT(&hc, &alone, NOW, "ok/allow_issuer_thumbprints");
	decide_destroy(&hc);
	cfg_free(cfg);

	cfg = policy("verify = haproxy\nca_file = %s\nintermediates = %s\ndeny_issuer_thumbprints = %s",
	             K.r_pem, K.ca1_pem, K.ca1_hex);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	decide_init(&hc, cfg, 1);
	EXPECT(&hc, &alone, NOW, "cert_untrusted/deny_issuer_thumbprints");
	decide_destroy(&hc);
	cfg_free(cfg);

	/* nothing to build a path with: neither list is skipped */
	cfg = policy("verify = haproxy\nca_file = %s\nallow_issuer_thumbprints = %s", K.r_pem, K.ca1_hex);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	decide_init(&hc, cfg, 1);
	EXPECT(&hc, &alone, NOW, "cert_untrusted/issuer_unknown");
	CHECK(strstr(last.detail, "no verified path to an issuer") != NULL);
	decide_destroy(&hc);
	cfg_free(cfg);
	cfg = policy("verify = haproxy\nca_file = %s\ndeny_issuer_thumbprints = %s", K.r_pem, K.ra_hex);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	decide_init(&hc, cfg, 1);
	EXPECT(&hc, &alone, NOW, "cert_untrusted/issuer_unknown");
	decide_destroy(&hc);
	cfg_free(cfg);
}

/* ---- two trusted CAs with the same name ---- */

TEST(chain_issuer_rollover_same_dn)
{
	struct decide_ctx hc;
	struct config *cfg;
	struct req r = { 0 };

	setup();
	/* allow list of A; a leaf of B without an AKI, sent with A: A's
	 * name and key usage fit, only the signature says it is not A's.
	 * OpenSSL takes the first anchor of that name (their order follows
	 * their hashes, so it varies from run to run) and does not try the
	 * other one after a bad signature: the outcome is a bad signature or
	 * a path through B, never an allow through A. */
	cfg = policy("verify = agent\nca_file = %s\nallow_issuer_thumbprints = %s", K.rab_pem, K.ra_hex);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	decide_init(&hc, cfg, 1);
	r.cert = K.leaf_b_noaki_der;
	r.cert_len = K.leaf_b_noaki_len;
	r.chain = K.ra_der;
	r.chain_len = K.ra_len;
	decide(&hc, &r, NOW);
	CHECK(last.code != DEC_ALLOW);
	r.cert = K.leaf_b_der;
	r.cert_len = K.leaf_b_len;
	decide(&hc, &r, NOW);
	CHECK(last.code != DEC_ALLOW);
	/* A's own leaf is allowed (the list works) */
	r.cert = K.leaf_a_der;
	r.cert_len = K.leaf_a_len;
	EXPECT(&hc, &r, NOW, "ok/allow_issuer_thumbprints");
	decide_destroy(&hc);
	cfg_free(cfg);

	/* deny list of B catches B's leaf whatever is sent along */
	const char *verify[] = { "agent", "haproxy" };

	for (size_t i = 0; i < 2; i++) {
		cfg = policy("verify = %s\nca_file = %s\ndeny_issuer_thumbprints = %s",
		             verify[i], K.rab_pem, K.rb_hex);
		CHECK(cfg != NULL);
		if (!cfg)
			return;
		decide_init(&hc, cfg, 1);
		r.cert = K.leaf_b_der;
		r.cert_len = K.leaf_b_len;
		r.chain = K.ra_der;
		r.chain_len = K.ra_len;
		EXPECT(&hc, &r, NOW, "cert_untrusted/deny_issuer_thumbprints");
		r.chain = NULL;
		r.chain_len = 0;
		EXPECT(&hc, &r, NOW, "cert_untrusted/deny_issuer_thumbprints");
		r.cert = K.leaf_b_noaki_der;
		r.cert_len = K.leaf_b_noaki_len;
		r.chain = K.ra_der;
		r.chain_len = K.ra_len;
		decide(&hc, &r, NOW);
		CHECK(last.code != DEC_ALLOW);
		r.cert = K.leaf_a_der;
		r.cert_len = K.leaf_a_len;
		EXPECT(&hc, &r, NOW, "ok/verified");
		decide_destroy(&hc);
		cfg_free(cfg);
	}
}

/* ---- serials given per issuer ---- */

TEST(chain_serial_per_issuer_on_verified_path)
{
	struct decide_ctx hc;
	struct config *cfg;
	struct req alone = leaf_alone(), sent = leaf_with_ca1();
	char list[64], path[80], line[200];

	setup();
	snprintf(line, sizeof(line), "%s  CN=Chain CA1,O=Chain\n", K.leaf_serial);
	CHECK(write_file(line, list, sizeof(list)) == 0);
	snprintf(path, sizeof(path), "@%s", list);

	/* allowed through the issuer on the path (intermediates) */
	cfg = policy("verify = haproxy\nca_file = %s\nintermediates = %s\nallow_serials = %s",
	             K.r_pem, K.ca1_pem, path);
	CHECK(cfg != NULL);
	if (cfg) {
		decide_init(&hc, cfg, 1);
		EXPECT(&hc, &alone, NOW, "ok/allow_serials");
		decide_destroy(&hc);
		cfg_free(cfg);
	}
	/* no path: the leaf's own issuer field is not enough */
	cfg = policy("verify = haproxy\nca_file = %s\nallow_serials = %s", K.r_pem, path);
	CHECK(cfg != NULL);
	if (cfg) {
		decide_init(&hc, cfg, 1);
		EXPECT(&hc, &alone, NOW, "cert_untrusted/issuer_unknown");
		/* once a path is known, it matches */
		EXPECT(&hc, &sent, NOW, "ok/allow_serials");
		EXPECT(&hc, &alone, NOW, "ok/allow_serials");
		decide_destroy(&hc);
		cfg_free(cfg);
	}
	/* deny list: no path is a denial, a path of another issuer is not */
	cfg = policy("verify = haproxy\nca_file = %s\ndeny_serials = %s", K.r_pem, path);
	CHECK(cfg != NULL);
	if (cfg) {
		struct req other = { .cert = K.leaf2_der, .cert_len = K.leaf2_len };

		decide_init(&hc, cfg, 1);
		EXPECT(&hc, &alone, NOW, "cert_untrusted/issuer_unknown");
		/* another serial: the serial list does not need its issuer */
		EXPECT(&hc, &other, NOW, "ok/verified");
		EXPECT(&hc, &sent, NOW, "cert_untrusted/deny_serials");
		decide_destroy(&hc);
		cfg_free(cfg);
	}
	/* the issuer named is not the one on the path */
	snprintf(line, sizeof(line), "%s  CN=Chain Root,O=Chain\n", K.leaf_serial);
	unlink(list);
	CHECK(write_file(line, list, sizeof(list)) == 0);
	snprintf(path, sizeof(path), "@%s", list);
	cfg = policy("verify = agent\nca_file = %s\nallow_serials = %s", K.r_pem, path);
	CHECK(cfg != NULL);
	if (cfg) {
		decide_init(&hc, cfg, 1);
		EXPECT(&hc, &sent, NOW, "cert_untrusted/identity");
		decide_destroy(&hc);
		cfg_free(cfg);
	}
	unlink(list);
}

/* ---- the issuer is cached with the verification ---- */

TEST(chain_issuer_cache_and_generations)
{
	struct decide_ctx hc;
	struct config *cfg, *cfg2;
	struct req alone = leaf_alone();
	struct req other = { .cert = K.leaf2_der, .cert_len = K.leaf2_len,
	                     .chain = K.ca1_der, .chain_len = K.ca1_len };

	setup();
	cfg = policy("verify = haproxy\nca_file = %s\nallow_issuer_thumbprints = %s", K.r_pem, K.ca1_hex);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	decide_init(&hc, cfg, 1);
	/* a cached "no issuer" ... */
	EXPECT(&hc, &alone, NOW, "cert_untrusted/issuer_unknown");
	EXPECT(&hc, &alone, NOW + 1, "cert_untrusted/issuer_unknown");
	/* ... is not reused once the store learned ca1 from another chain */
	EXPECT(&hc, &other, NOW + 2, "ok/allow_issuer_thumbprints");
	EXPECT(&hc, &alone, NOW + 3, "ok/allow_issuer_thumbprints");

	/* a reload to a store that does not know ca1: the cached issuer of
	 * the old store does not carry over */
	cfg2 = policy("verify = haproxy\nca_file = %s\nallow_issuer_thumbprints = %s", K.r_pem, K.ca1_hex);
	CHECK(cfg2 != NULL);
	if (cfg2) {
		decide_set_config(&hc, cfg2, 2);
		EXPECT(&hc, &alone, NOW + 4, "cert_untrusted/issuer_unknown");
		/* the entry's store check alone, without the generation: the
		 * same holds */
		decide_set_config(&hc, cfg, 3);
		EXPECT(&hc, &alone, NOW + 5, "ok/allow_issuer_thumbprints");
		hc.cfg = cfg2;
		EXPECT(&hc, &alone, NOW + 6, "cert_untrusted/issuer_unknown");
	}
	/* with the cache off, the same decisions */
	decide_destroy(&hc);
	cfg->cache_size = 0;
	decide_init(&hc, cfg, 1);
	EXPECT(&hc, &alone, NOW, "ok/allow_issuer_thumbprints");
	decide_destroy(&hc);
	if (cfg2) {
		cfg2->cache_size = 0;
		decide_init(&hc, cfg2, 1);
		EXPECT(&hc, &alone, NOW, "cert_untrusted/issuer_unknown");
		decide_destroy(&hc);
		cfg_free(cfg2);
	}
	cfg_free(cfg);
}

/* ---- exact DER ---- */

/* Header length of the TLV at der[off] (short form or 0x81/0x82/0x83). */
static size_t tlv_hdr(const unsigned char *der, size_t off)
{
	return der[off + 1] < 0x80 ? 2 : 2 + (size_t)(der[off + 1] & 0x7f);
}

static size_t tlv_len(const unsigned char *der, size_t off)
{
	size_t n = 0, h = tlv_hdr(der, off);

	if (h == 2)
		return der[off + 1];
	for (size_t i = 2; i < h; i++)
		n = n << 8 | der[off + i];
	return n;
}

/* The certificate der with the TLV at off written with a length one byte
 * longer than needed (BER, not DER); the outer SEQUENCE (30 82 hi lo)
 * grows by one when off > 0. Same content, other bytes. */
static unsigned char *ber_widen(const unsigned char *der, size_t len, size_t off, size_t *out_len)
{
	unsigned char *b = malloc(len + 1);
	size_t h = tlv_hdr(der, off), o;

	if (!b)
		return NULL;
	memcpy(b, der, off + 1);
	o = off + 1;
	if (h == 2) {
		b[o++] = 0x81;
		b[o++] = der[off + 1];
	} else {
		b[o++] = (unsigned char)(der[off + 1] + 1);
		b[o++] = 0;
		memcpy(b + o, der + off + 2, h - 2);
		o += h - 2;
	}
	memcpy(b + o, der + off + h, len - off - h);
	if (off > 0) {
		size_t outer = tlv_len(der, 0) + 1;

		b[2] = (unsigned char)(outer >> 8);
		b[3] = (unsigned char)outer;
	}
	*out_len = len + 1;
	return b;
}

/* Offsets in a certificate: the TBS, then the signature BIT STRING. */
static size_t tbs_off(void)
{
	return 4;
}

static size_t sig_off(const unsigned char *der)
{
	size_t alg = tbs_off() + tlv_hdr(der, tbs_off()) + tlv_len(der, tbs_off());

	return alg + tlv_hdr(der, alg) + tlv_len(der, alg);
}

TEST(chain_ber_certificate_is_not_parsed)
{
	unsigned char *outer, *sig, *tbs;
	size_t outer_len, sig_len, tbs_len;
	X509 *x;

	setup();
	CHECK(K.leaf_der[0] == 0x30 && K.leaf_der[1] == 0x82);
	outer = ber_widen(K.leaf_der, K.leaf_len, 0, &outer_len);
	sig = ber_widen(K.leaf_der, K.leaf_len, sig_off(K.leaf_der), &sig_len);
	tbs = ber_widen(K.leaf_der, K.leaf_len, tbs_off(), &tbs_len);
	CHECK(outer && sig && tbs);
	if (!outer || !sig || !tbs)
		goto out;
	CHECK(K.leaf_der[sig_off(K.leaf_der)] == 0x03);   /* the BIT STRING */
	/* OpenSSL's decoder takes each of them as the same certificate ... */
	{
		const unsigned char *p = outer;

		x = d2i_X509(NULL, &p, (long)outer_len);
		CHECK(x != NULL && X509_cmp(x, K.leaf) == 0);
		X509_free(x);
		p = sig;
		x = d2i_X509(NULL, &p, (long)sig_len);
		CHECK(x != NULL && X509_cmp(x, K.leaf) == 0);
		X509_free(x);
		p = tbs;
		x = d2i_X509(NULL, &p, (long)tbs_len);
		CHECK(x != NULL);
		X509_free(x);
	}
	/* ... cert_parse_der does not */
	CHECK(cert_parse_der(outer, outer_len) == NULL);
	CHECK(cert_parse_der(sig, sig_len) == NULL);
	CHECK(cert_parse_der(tbs, tbs_len) == NULL);
	x = cert_parse_der(K.leaf_der, K.leaf_len);
	CHECK(x != NULL);
	X509_free(x);
out:
	free(outer);
	free(sig);
	free(tbs);
}

TEST(chain_ber_ssl_c_der_is_denied)
{
	struct decide_ctx hc;
	struct config *cfg;
	unsigned char *ber[3];
	size_t ber_len[3];

	setup();
	ber[0] = ber_widen(K.leaf_der, K.leaf_len, 0, &ber_len[0]);
	ber[1] = ber_widen(K.leaf_der, K.leaf_len, sig_off(K.leaf_der), &ber_len[1]);
	ber[2] = ber_widen(K.leaf_der, K.leaf_len, tbs_off(), &ber_len[2]);
	/* HAProxy verified the handshake; the deny list names the leaf */
	cfg = policy("verify = haproxy\ndeny_thumbprints = %s", K.leaf_hex);
	CHECK(cfg != NULL);
	if (cfg) {
		struct req r = leaf_alone();

		decide_init(&hc, cfg, 1);
		EXPECT(&hc, &r, NOW, "cert_untrusted/deny_thumbprints");
		for (int i = 0; i < 3; i++) {
			r.cert = ber[i];
			r.cert_len = ber_len[i];
			EXPECT(&hc, &r, NOW, "cert_unverified/cert_parse");
			CHECK(strstr(last.detail, "not valid DER") != NULL);
		}
		decide_destroy(&hc);
		cfg_free(cfg);
	}
	for (int i = 0; i < 3; i++)
		free(ber[i]);
}

TEST(chain_ber_chain_certificate_is_refused)
{
	struct decide_ctx hc;
	struct config *cfg;
	unsigned char *ber;
	size_t ber_len;
	struct req r = leaf_with_ca1();

	setup();
	ber = ber_widen(K.ca1_der, K.ca1_len, 0, &ber_len);
	CHECK(ber != NULL);
	cfg = policy("verify = agent\nca_file = %s", K.r_pem);
	CHECK(cfg != NULL);
	if (cfg && ber) {
		decide_init(&hc, cfg, 1);
		r.chain = ber;
		r.chain_len = ber_len;
		EXPECT(&hc, &r, NOW, "cert_unverified/chain_invalid");
		r = leaf_with_ca1();
		EXPECT(&hc, &r, NOW, "ok/verified");
		decide_destroy(&hc);
	}
	cfg_free(cfg);
	/* under verify = haproxy the chain only serves the issuer rules: a
	 * BER one gives no path */
	cfg = policy("verify = haproxy\nca_file = %s\nallow_issuer_thumbprints = %s", K.r_pem, K.ca1_hex);
	CHECK(cfg != NULL);
	if (cfg && ber) {
		decide_init(&hc, cfg, 1);
		r.chain = ber;
		r.chain_len = ber_len;
		EXPECT(&hc, &r, NOW, "cert_untrusted/issuer_unknown");
		decide_destroy(&hc);
	}
	cfg_free(cfg);
	free(ber);
}

static char *b64(const unsigned char *der, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, der, (int)len);
	return out;
}

TEST(chain_ber_forwarded_certificate_is_invalid)
{
	static const unsigned char proxy[4] = { 127, 0, 0, 1 };
	struct decide_ctx hc;
	struct config *cfg;
	struct req_facts rq;
	struct cert_eval ce;
	struct decision d;
	const char *route;
	char text[1024], err[1024], *good, *bad, *badsig;
	unsigned char *ber, *ber2;
	size_t ber_len, ber2_len;

	setup();
	ber = ber_widen(K.leaf_der, K.leaf_len, 0, &ber_len);
	ber2 = ber_widen(K.leaf_der, K.leaf_len, sig_off(K.leaf_der), &ber2_len);
	good = b64(K.leaf_der, K.leaf_len);
	bad = ber ? b64(ber, ber_len) : NULL;
	badsig = ber2 ? b64(ber2, ber2_len) : NULL;
	snprintf(text, sizeof(text), "[forwarded]\ntrusted_proxies = 127.0.0.1\nformat = base64-der\n"
	         "[policy default]\nverify = agent\nca_file = %s\nintermediates = %s\n"
	         "deny_thumbprints = %s\n", K.r_pem, K.ca1_pem, K.leaf_hex);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL && good && bad && badsig);
	if (!cfg || !good || !bad || !badsig)
		goto out;
	decide_init(&hc, cfg, 1);
	memset(&rq, 0, sizeof(rq));
	rq.has_src = 1;
	rq.src.type = SPOP_DATA_IPV4;
	memcpy(rq.src.u.ipv4, proxy, 4);
	rq.has_fwd_cert = 1;
	rq.fwd_cert = (struct spop_str){ good, strlen(good) };
	decide_request(&hc, &rq, NOW, NULL, &ce, &d, &route);
	CHECK_EQ_STR(d.rule, "deny_thumbprints");
	for (int i = 0; i < 2; i++) {
		const char *h = i ? badsig : bad;

		memset(&rq, 0, sizeof(rq));
		rq.has_src = 1;
		rq.src.type = SPOP_DATA_IPV4;
		memcpy(rq.src.u.ipv4, proxy, 4);
		rq.has_fwd_cert = 1;
		rq.fwd_cert = (struct spop_str){ h, strlen(h) };
		decide_request(&hc, &rq, NOW, NULL, &ce, &d, &route);
		CHECK_EQ_STR(dec_table[d.code].code, "forwarded_invalid");
		CHECK_EQ_STR(d.rule, "forwarded");
		CHECK(strstr(d.detail, "not valid DER") != NULL);
	}
	decide_destroy(&hc);
out:
	cfg_free(cfg);
	free(good);
	free(bad);
	free(badsig);
	free(ber);
	free(ber2);
}

/* ---- configuration ---- */

TEST(chain_cfg_issuer_rules_need_a_store)
{
	char text[512], err[1024], list[64];
	struct config *cfg;

	setup();
	cfg = test_cfg_text("[policy default]\nverify = haproxy\n\ndeny_issuer_thumbprints = "
	                    "0000000000000000000000000000000000000000000000000000000000000000\n", err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK(strstr(err, ":4: deny_issuer_thumbprints: ") != NULL);
	CHECK(strstr(err, "issuer rules need ca_file or ca_dir") != NULL);
	cfg_free(cfg);

	CHECK(write_file("0a1b  CN=Chain CA1\n", list, sizeof(list)) == 0);
	snprintf(text, sizeof(text), "[policy default]\nallow_serials = @%s\n", list);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK(strstr(err, ":2: allow_serials: ") != NULL);
	cfg_free(cfg);
	unlink(list);

	/* serials without an issuer need no store */
	cfg = test_cfg_text("[policy default]\nallow_serials = 0a1b\n", err, sizeof(err));
	CHECK(cfg != NULL);
	if (cfg)
		CHECK_EQ_INT(cfg->default_policy->issuer_rules, 0);
	cfg_free(cfg);
	/* with a store, accepted, under verify = haproxy too */
	snprintf(text, sizeof(text), "[policy default]\nverify = haproxy\nca_file = %s\n"
	         "allow_issuer_thumbprints = %s\n", K.r_pem, K.ca1_hex);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (cfg)
		CHECK_EQ_INT(cfg->default_policy->issuer_rules, 1);
	cfg_free(cfg);
}

TEST(chain_cfg_warns_frontend_route_with_verify_haproxy)
{
	char text[1024], err[1024], *buf = NULL;
	struct config *cfg;
	size_t len = 0;
	FILE *out;
	int n;

	setup();
	snprintf(text, sizeof(text),
	         "[route partners]\nfrontend = fe_partners\npolicy = partners\n"
	         "[route admin]\nhost = admin.example.com\npolicy = partners\n"
	         "[route strict]\nfrontend = fe_strict\npolicy = default\n"
	         "[policy partners]\nverify = haproxy\n"
	         "[policy default]\nverify = both\nca_file = %s\n", K.r_pem);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	out = open_memstream(&buf, &len);
	CHECK(out != NULL);
	if (!out) {
		cfg_free(cfg);
		return;
	}
	n = cfg_warnings(cfg, out);
	fclose(out);
	/* one: the frontend route to the verify = haproxy policy; not the
	 * host route to it, not the frontend route to verify = both */
	CHECK_EQ_INT(n, 1);
	CHECK(buf && strstr(buf, ":2: WARNING: [route partners]") != NULL);
	CHECK(buf && strstr(buf, "verify = both") != NULL);
	CHECK(buf && strstr(buf, "[route strict]") == NULL);
	CHECK(buf && strstr(buf, "[route admin]") == NULL);
	free(buf);
	cfg_free(cfg);
}
