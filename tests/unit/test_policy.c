/* The policy engine end to end (config text -> decide_request): one
 * positive and one negative case per rule, each asserting the exact code
 * and rule; routes, shadow mode, optional certificates, deny-wins,
 * domain fronting, forwarded certificates, traces. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cert.h"
#include "cfg.h"
#include "handler.h"
#include "rules.h"
#include "spop.h"
#include "testcfg.h"
#include "testhelp.h"
#include "testpki.h"

#define NOW 1950000000LL
#define DAY 86400LL

static struct {
	int ready;
	EVP_PKEY *ca_key, *int_key, *key;
	X509 *ca, *inter, *alice, *bob, *svc;
	unsigned char *alice_der, *bob_der, *svc_der, *inter_der;
	size_t alice_len, bob_len, svc_len, inter_len;
	char ca_pem[128];
	char files[8][64];
	int nfiles;
} P;

static void cleanup(void)
{
	if (P.ca_pem[0])
		unlink(P.ca_pem);
	for (int i = 0; i < P.nfiles; i++)
		unlink(P.files[i]);
}

static X509 *leaf(const char *subj, const char *san, const char *serial, int64_t nb, int64_t na)
{
	struct testpki_cert c = {
		.subject = subj, .key = P.key, .issuer = P.inter, .issuer_key = P.int_key,
		.not_before = nb, .not_after = na, .is_ca = 0, .eku = "clientAuth",
		.san = san, .serial_hex = serial,
	};

	return testpki_make_cert_ex(&c);
}

static void setup(void)
{
	if (P.ready)
		return;
	P.ca_key = testpki_make_key();
	P.int_key = testpki_make_key();
	P.key = testpki_make_key();
	P.ca = testpki_make_cert("/O=Example/CN=Policy Root", P.ca_key, NULL, NULL, NOW - 100 * DAY, NOW + 3000 * DAY, 1, NULL);
	P.inter = testpki_make_cert("/O=Example/CN=Policy Issuing CA", P.int_key, P.ca, P.ca_key,
	                            NOW - 100 * DAY, NOW + 1000 * DAY, 1, NULL);
	P.alice = leaf("/C=FR/O=Example Corp/OU=Payments/CN=Alice Smith",
	               "DNS:alice.example.com,email:Alice@Example.com,IP:10.1.2.3",
	               "0a1b2c", NOW - DAY, NOW + 10 * DAY);
	P.bob = leaf("/O=Example Corp/CN=bob", "DNS:bob.eu.example.com", "0b0b", NOW - DAY, NOW + 90 * DAY);
	P.svc = leaf("/O=Example Corp/CN=orders", "URI:spiffe://prod.example.org/ns/shop/sa/orders",
	             "5e", NOW - DAY, NOW + 30 * DAY);
	P.alice_der = testpki_to_der(P.alice, &P.alice_len);
	P.bob_der = testpki_to_der(P.bob, &P.bob_len);
	P.svc_der = testpki_to_der(P.svc, &P.svc_len);
	P.inter_der = testpki_to_der(P.inter, &P.inter_len);
	testpki_write_pem(&P.ca, 1, P.ca_pem, sizeof(P.ca_pem));
	atexit(cleanup);
	P.ready = P.alice_der && P.bob_der && P.svc_der && P.inter_der && P.ca_pem[0];
}

static const char *write_tmp(const char *text)
{
	int fd;

	if (P.nfiles == 8)
		return NULL;
	snprintf(P.files[P.nfiles], sizeof(P.files[0]), "/tmp/certspoa-pol-XXXXXX");
	fd = mkstemp(P.files[P.nfiles]);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return NULL;
	close(fd);
	return P.files[P.nfiles++];
}

/* A config with one policy "default": verify = agent against the test CA,
 * plus the given lines. */
static struct config *conf(const char *extra)
{
	char text[4096], err[1024];
	struct config *cfg;

	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nca_file = %s\n%s\n", P.ca_pem, extra);
	cfg = test_cfg_text(text, err, sizeof(err));
	if (!cfg)
		fprintf(stderr, "  config error: %s\n", err);
	return cfg;
}

struct outcome {
	struct decision d;
	const char *route;
	char trace[TRACE_MAX];
};

/* Decide for a certificate (with the intermediate as chain). */
static void run_req(struct config *cfg, const unsigned char *der, size_t len,
                    struct req_facts *rq, struct outcome *o)
{
	struct handler_ctx hc;
	struct cert_eval ce;
	struct trace t = { .on = 1 };

	/* the handler fills these from the forwarded header: start clean */
	rq->forwarded = rq->fwd_untrusted = rq->fwd_error = 0;
	if (!der)
		rq->has_cert = rq->has_chain = 0;
	if (der) {
		rq->has_cert = 1;
		rq->cert.ptr = (const char *)der;
		rq->cert.len = len;
		rq->has_chain = 1;
		rq->chain.ptr = (const char *)P.inter_der;
		rq->chain.len = P.inter_len;
	}
	handler_init(&hc, cfg, 1);
	decide_request(&hc.dc, rq, NOW, &t, &ce, &o->d, &o->route);
	snprintf(o->trace, sizeof(o->trace), "%s", t.buf);
	/* d.identity points into the cache: copy what we check before it goes */
	handler_destroy(&hc);
	o->d.identity = NULL;
}

static void expect(const char *extra, X509 *x, const char *code, const char *rule)
{
	struct config *cfg = conf(extra);
	struct req_facts rq;
	struct outcome o;
	unsigned char *der;
	size_t len;

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	memset(&rq, 0, sizeof(rq));
	der = testpki_to_der(x, &len);
	run_req(cfg, der, len, &rq, &o);
	if (strcmp(dec_table[o.d.code].code, code) != 0 || !o.d.rule || strcmp(o.d.rule, rule) != 0)
		unit_fail(__FILE__, __LINE__, "[%s]: got %s/%s (%s), expected %s/%s; trace: %s",
		          extra, dec_table[o.d.code].code, o.d.rule ? o.d.rule : "-", o.d.detail,
		          code, rule, o.trace);
	free(der);
	cfg_free(cfg);
}

TEST(policy_verified_without_lists)
{
	setup();
	CHECK(P.ready);
	expect("", P.alice, "ok", "verified");
}

TEST(policy_each_allow_rule_positive_and_negative)
{
	char line[512];
	unsigned char sha1[20], sha256[32];
	char hex[65];

	setup();
	cert_digests(P.alice_der, P.alice_len, sha1, sha256);
	cert_hex(sha256, 32, hex);
	snprintf(line, sizeof(line), "allow_thumbprints = %s", hex);
	expect(line, P.alice, "ok", "allow_thumbprints");
	expect(line, P.bob, "cert_untrusted", "allow_thumbprints");

	expect("allow_serials = 0A:1B:2C", P.alice, "ok", "allow_serials");
	expect("allow_serials = 0a1b2d", P.alice, "cert_untrusted", "identity");
	snprintf(line, sizeof(line), "allow_serials = @%s",
	         write_tmp("# serial, then the issuer it must come from\n0a1b2c  CN=Policy Issuing CA, O=Example\n"));
	expect(line, P.alice, "ok", "allow_serials");
	snprintf(line, sizeof(line), "allow_serials = @%s", write_tmp("0a1b2c /O=Other/CN=Policy Issuing CA\n"));
	expect(line, P.alice, "cert_untrusted", "identity");

	/* subjects: RFC 2253 order and OpenSSL's oneline order, any spacing and case */
	snprintf(line, sizeof(line), "allow_subjects = @%s",
	         write_tmp("CN=alice smith,  OU=Payments,O=Example   Corp,C=fr\n"));
	expect(line, P.alice, "ok", "allow_subjects");
	snprintf(line, sizeof(line), "allow_subjects = @%s",
	         write_tmp("/C=FR/O=Example Corp/OU=Payments/CN=Alice Smith\n"));
	expect(line, P.alice, "ok", "allow_subjects");
	expect(line, P.bob, "cert_untrusted", "identity");
	snprintf(line, sizeof(line), "allow_issuers = @%s", write_tmp("CN=Policy Issuing CA,O=Example\n"));
	expect(line, P.bob, "ok", "allow_issuers");
	snprintf(line, sizeof(line), "allow_issuers = @%s", write_tmp("CN=Policy Root,O=Example\n"));
	expect(line, P.bob, "cert_untrusted", "identity");

	expect("allow_cn = ALICE SMITH, carol", P.alice, "ok", "allow_cn");
	expect("allow_cn = alice", P.alice, "cert_untrusted", "identity");

	expect("allow_dns = alice.example.com", P.alice, "ok", "allow_dns");
	expect("allow_dns = *.example.com", P.alice, "ok", "allow_dns");
	/* a wildcard covers one label only */
	expect("allow_dns = *.example.com", P.bob, "cert_untrusted", "identity");
	expect("allow_dns = *.eu.example.com", P.bob, "ok", "allow_dns");

	expect("allow_email = alice@example.com", P.alice, "ok", "allow_email");
	expect("allow_email = bob@example.com", P.alice, "cert_untrusted", "identity");
	expect("allow_ip = 10.0.0.0/8", P.alice, "ok", "allow_ip");
	expect("allow_ip = 10.2.0.0/16, ::1", P.alice, "cert_untrusted", "identity");

	expect("allow_uri = spiffe://prod.example.org/ns/shop/sa/orders", P.svc, "ok", "allow_uri");
	expect("allow_uri = spiffe://prod.example.org/ns/shop", P.svc, "cert_untrusted", "identity");
	expect("allow_spiffe = spiffe://PROD.example.org", P.svc, "ok", "allow_spiffe");
	expect("allow_spiffe = spiffe://prod.example.org/ns/shop", P.svc, "ok", "allow_spiffe");
	expect("allow_spiffe = spiffe://prod.example.org/ns/sho", P.svc, "cert_untrusted", "identity");
	expect("allow_spiffe = spiffe://staging.example.org", P.svc, "cert_untrusted", "identity");

	cert_digests(P.inter_der, P.inter_len, sha1, sha256);
	cert_hex(sha1, 20, hex);
	snprintf(line, sizeof(line), "allow_issuer_thumbprints = %s", hex);
	expect(line, P.alice, "ok", "allow_issuer_thumbprints");
	snprintf(line, sizeof(line), "allow_issuer_thumbprints = %064d", 0);
	expect(line, P.alice, "cert_untrusted", "identity");
}

TEST(policy_spki_pin)
{
	char line[256];
	struct cert_ext *x;

	setup();
	x = cert_get_ext(P.alice);
	CHECK(x != NULL);
	if (!x)
		return;
	snprintf(line, sizeof(line), "allow_spki_pins = %s", x->spki_pin);
	expect(line, P.alice, "ok", "allow_spki_pins");
	/* bob has the same key (the test PKI reuses it): the pin is the key */
	expect(line, P.bob, "ok", "allow_spki_pins");
	snprintf(line, sizeof(line), "deny_spki_pins = %s", x->spki_pin);
	expect(line, P.alice, "cert_untrusted", "deny_spki_pins");
	expect("allow_spki_pins = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", P.alice, "cert_untrusted", "identity");
	cert_ext_free(x);
}

TEST(policy_deny_lists_win)
{
	setup();
	expect("allow_dns = *.example.com\ndeny_dns = alice.example.com", P.alice, "cert_untrusted", "deny_dns");
	expect("allow_cn = alice smith\ndeny_serials = 0a1b2c", P.alice, "cert_untrusted", "deny_serials");
	expect("deny_spiffe = spiffe://prod.example.org/ns/shop", P.svc, "cert_untrusted", "deny_spiffe");
	expect("deny_email = ALICE@example.COM", P.alice, "cert_untrusted", "deny_email");
	expect("deny_cn = bob", P.alice, "ok", "verified");
}

TEST(policy_limits)
{
	setup();
	expect("max_lifetime_days = 5", P.alice, "cert_untrusted", "max_lifetime_days");
	expect("max_lifetime_days = 11", P.alice, "ok", "verified");
	expect("allowed_curves = secp384r1", P.alice, "cert_untrusted", "allowed_curves");
	expect("allowed_curves = P-256, secp384r1", P.alice, "ok", "verified");
	expect("require_policies = 1.3.6.1.4.1.99999.1", P.alice, "cert_untrusted", "require_policies");
	expect("forbid_signature = md5, sha1", P.alice, "ok", "verified");
	expect("forbid_signature = sha256", P.alice, "cert_untrusted", "forbid_signature");
	/* EC key: an RSA minimum does not apply */
	expect("min_rsa_bits = 4096", P.alice, "ok", "verified");
}

TEST(policy_verification_rules)
{
	X509 *old, *future, *foreign;
	EVP_PKEY *fk;

	setup();
	old = leaf("/CN=old", NULL, NULL, NOW - 30 * DAY, NOW - DAY);
	future = leaf("/CN=future", NULL, NULL, NOW + DAY, NOW + 30 * DAY);
	fk = testpki_make_key();
	foreign = testpki_make_cert("/CN=foreign", fk, NULL, NULL, NOW - DAY, NOW + DAY, 0, "clientAuth");
	expect("", old, "cert_unverified", "cert_expired");
	expect("", future, "cert_unverified", "cert_not_yet_valid");
	/* a clock skew allowance covers both edges, and no more */
	expect("clock_skew = 2d", old, "ok", "verified");
	expect("clock_skew = 2d", future, "ok", "verified");
	expect("clock_skew = 12h", old, "cert_unverified", "cert_expired");
	expect("clock_skew = 12h", future, "cert_unverified", "cert_not_yet_valid");
	expect("", foreign, "cert_unverified", "cert_unknown_ca");
	X509_free(old);
	X509_free(future);
	X509_free(foreign);
	EVP_PKEY_free(fk);
}

TEST(policy_routes_first_match_wins)
{
	char text[2048], err[1024];
	struct config *cfg;
	struct req_facts rq;
	struct outcome o;

	setup();
	snprintf(text, sizeof(text),
	         "[route admin]\nhost = admin.example.com\npath_prefix = /admin\npolicy = strict\n"
	         "[route internal]\nsni = *.internal.example.com\npolicy = open\n"
	         "[route by-frontend]\nfrontend = partners\npolicy = strict\n"
	         "[policy default]\nverify = agent\nca_file = %s\n"
	         "[policy strict]\nverify = agent\nca_file = %s\nallow_cn = nobody\n"
	         "[policy open]\nrequire_cert = no\n", P.ca_pem, P.ca_pem);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (!cfg) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	memset(&rq, 0, sizeof(rq));
	rq.has_host = 1;
	rq.host = (struct spop_str){ "Admin.Example.com:8443", 22 };
	rq.has_path = 1;
	rq.path = (struct spop_str){ "/admin/users", 12 };
	run_req(cfg, P.alice_der, P.alice_len, &rq, &o);
	CHECK_EQ_STR(o.route, "admin");
	CHECK_EQ_STR(dec_table[o.d.code].code, "cert_untrusted");

	memset(&rq, 0, sizeof(rq));
	rq.has_host = 1;
	rq.host = (struct spop_str){ "admin.example.com", 17 };
	rq.has_path = 1;
	rq.path = (struct spop_str){ "/public", 7 };
	run_req(cfg, P.alice_der, P.alice_len, &rq, &o);
	CHECK_EQ_STR(o.route, "default");
	CHECK_EQ_STR(o.d.rule, "verified");

	/* routes use host and path: every request needs one valid Host (and,
	 * with an SNI, the same name) and a path */
	memset(&rq, 0, sizeof(rq));
	rq.has_sni = rq.has_host = rq.has_path = 1;
	rq.path = (struct spop_str){ "/", 1 };
	rq.sni = (struct spop_str){ "db.internal.example.com", 23 };
	rq.host = (struct spop_str){ "db.internal.example.com", 23 };
	run_req(cfg, NULL, 0, &rq, &o);
	CHECK_EQ_STR(o.route, "internal");
	CHECK_EQ_STR(dec_table[o.d.code].code, "ok");
	CHECK_EQ_STR(o.d.rule, "anonymous");

	memset(&rq, 0, sizeof(rq));
	rq.has_frontend = rq.has_host = rq.has_path = 1;
	rq.path = (struct spop_str){ "/", 1 };
	rq.frontend = (struct spop_str){ "partners", 8 };
	rq.host = (struct spop_str){ "partners.example.com", 20 };
	run_req(cfg, P.alice_der, P.alice_len, &rq, &o);
	CHECK_EQ_STR(o.route, "by-frontend");
	CHECK(strstr(o.trace, "policy=strict") != NULL);
	cfg_free(cfg);
}

TEST(policy_shadow_mode_reports_and_allows)
{
	struct config *cfg;
	struct req_facts rq;
	struct outcome o;

	setup();
	cfg = conf("mode = shadow\nallow_cn = nobody");
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	memset(&rq, 0, sizeof(rq));
	run_req(cfg, P.alice_der, P.alice_len, &rq, &o);
	CHECK_EQ_STR(dec_table[o.d.code].code, "ok");
	CHECK_EQ_INT(o.d.status, 200);
	CHECK(o.d.shadowed);
	CHECK_EQ_STR(dec_table[o.d.would_code].code, "cert_untrusted");
	CHECK_EQ_STR(o.d.would_rule, "identity");
	CHECK_EQ_STR(o.d.rule, "shadow");
	cfg_free(cfg);
}

TEST(policy_sni_host_mismatch)
{
	struct config *cfg;
	struct req_facts rq;
	struct outcome o;

	setup();
	cfg = conf("sni_host_match = yes");
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	memset(&rq, 0, sizeof(rq));
	rq.has_sni = rq.has_host = 1;
	rq.sni = (struct spop_str){ "api.example.com", 15 };
	rq.host = (struct spop_str){ "admin.example.com", 17 };
	run_req(cfg, P.alice_der, P.alice_len, &rq, &o);
	CHECK_EQ_STR(dec_table[o.d.code].code, "sni_host_mismatch");
	CHECK_EQ_STR(o.d.rule, "sni_host");
	memset(&rq, 0, sizeof(rq));
	rq.has_sni = rq.has_host = 1;
	rq.sni = (struct spop_str){ "api.example.com", 15 };
	rq.host = (struct spop_str){ "API.example.com:443", 19 };
	run_req(cfg, P.alice_der, P.alice_len, &rq, &o);
	CHECK_EQ_STR(dec_table[o.d.code].code, "ok");
	cfg_free(cfg);
}

TEST(policy_expiry_and_identity_vars)
{
	struct config *cfg;
	struct req_facts rq;
	struct handler_ctx hc;
	struct cert_eval ce;
	struct decision d;
	const char *route;

	setup();
	cfg = conf("warn_days = 14");
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	memset(&rq, 0, sizeof(rq));
	rq.has_cert = 1;
	rq.cert = (struct spop_str){ (const char *)P.alice_der, P.alice_len };
	rq.has_chain = 1;
	rq.chain = (struct spop_str){ (const char *)P.inter_der, P.inter_len };
	handler_init(&hc, cfg, 1);
	decide_request(&hc.dc, &rq, NOW, NULL, &ce, &d, &route);
	CHECK_EQ_INT(d.days_left, 10);
	CHECK_EQ_INT(d.expiring, 1);
	CHECK(d.identity && strcmp(d.identity, "alice.example.com") == 0);
	rq.cert = (struct spop_str){ (const char *)P.svc_der, P.svc_len };
	decide_request(&hc.dc, &rq, NOW, NULL, &ce, &d, &route);
	CHECK(d.identity && strcmp(d.identity, "spiffe://prod.example.org/ns/shop/sa/orders") == 0);
	CHECK_EQ_INT(d.expiring, 0);
	handler_destroy(&hc);
	cfg_free(cfg);
}

TEST(policy_config_errors_name_the_list)
{
	char text[512], err[1024];
	const char *bad[][2] = {
		{ "allow_dns = exa mple.com", ":2: allow_dns: " },
		{ "allow_ip = 10.1.2.3/8", ":2: allow_ip: " },
		{ "allow_spiffe = https://x", ":2: allow_spiffe: " },
		{ "allow_spki_pins = short", ":2: allow_spki_pins: " },
		{ "allowed_curves = nosuchcurve", ":2: allowed_curves: " },
		{ "forbid_signature = nosuchdigest", ":2: forbid_signature: " },
		{ "require_policies = not-an-oid", ":2: require_policies: " },
		{ "allow_subjects = @/nonexistent/subjects", ":2: allow_subjects: /nonexistent/subjects" },
		{ "allow_cn = a\nallow_cn = b", ":3: allow_cn: given twice" },
	};

	setup();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text), "[policy default]\n%s\n", bad[i][0]);
		cfg = test_cfg_text(text, err, sizeof(err));
		if (cfg || !strstr(err, bad[i][1]))
			unit_fail(__FILE__, __LINE__, "'%s': error '%s' lacks '%s'", bad[i][0], cfg ? "(none)" : err, bad[i][1]);
		cfg_free(cfg);
	}
}

TEST(policy_trace_needs_the_secret)
{
	char text[512];
	struct config *cfg;
	struct handler_ctx hc;
	char payload[4096], out[16384], *p = payload, *o = out;
	struct spop_data v;
	enum spop_status st;
	struct handler_result res;
	const char *secret = "s3cret-trace-token-0123";

	setup();
	snprintf(text, sizeof(text), "[agent]\ntrace_secret = %s\n[policy default]\nverify = agent\nca_file = %s\n",
	         secret, P.ca_pem);
	cfg = test_cfg_text(text, NULL, 0);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	handler_init(&hc, cfg, 1);
	for (int round = 0; round < 2; round++) {
		const char *tv = round ? secret : "wrong-secret-0123456789";

		p = payload;
		o = out;
		spop_put_str(&p, payload + sizeof(payload), "check-client-cert", 17);
		*p++ = 2;
		spop_put_str(&p, payload + sizeof(payload), "cert", 4);
		v.type = SPOP_DATA_BIN;
		v.u.str = (struct spop_str){ (const char *)P.alice_der, P.alice_len };
		spop_put_data(&p, payload + sizeof(payload), &v);
		spop_put_str(&p, payload + sizeof(payload), "trace", 5);
		v.type = SPOP_DATA_STR;
		v.u.str = (struct spop_str){ tv, strlen(tv) };
		spop_put_data(&p, payload + sizeof(payload), &v);
		CHECK(handler_notify(&hc, 1, 1, payload, (size_t)(p - payload), NOW, &o, out + sizeof(out),
		                     16380, &st, &res) == 0);
		/* the ACK holds a "trace" variable only with the right secret */
		CHECK_EQ_INT(memmem(out, (size_t)(o - out), "\x05trace", 6) != NULL, round);
		if (round)
			CHECK(memmem(out, (size_t)(o - out), "route=default; policy=default; parse=pass", 41) != NULL);
	}
	handler_destroy(&hc);
	cfg_free(cfg);
}

static struct config *conf_fwd(const char *verify)
{
	char err[1024];
	struct config *cfg;

	cfg = test_cfg_textf(err, sizeof(err), "[forwarded]\ntrusted_proxies = 127.0.0.1/32, 2001:db8::/32\n"
	                     "format = rfc9440\n[policy default]\nverify = %s\nca_file = %s\n", verify, P.ca_pem);
	if (!cfg)
		fprintf(stderr, "  %s\n", err);
	return cfg;
}

/* ":<base64>:" as RFC 9440 sends it. */
static char *sf_binary(const unsigned char *der, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 3);
	int n;

	if (!out)
		return NULL;
	out[0] = ':';
	n = EVP_EncodeBlock((unsigned char *)out + 1, der, (int)len);
	out[1 + n] = ':';
	out[2 + n] = 0;
	return out;
}

TEST(policy_forwarded_certificates)
{
	struct config *cfg;
	struct req_facts rq;
	struct outcome o;
	char *hdr, *chain;
	static const unsigned char proxy[4] = { 127, 0, 0, 1 }, other[4] = { 10, 0, 0, 1 };

	setup();
	cfg = conf_fwd("agent");
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	hdr = sf_binary(P.alice_der, P.alice_len);
	chain = sf_binary(P.inter_der, P.inter_len);

	/* from the trusted proxy without the chain: the leaf cannot be verified */
	memset(&rq, 0, sizeof(rq));
	rq.has_src = 1;
	rq.src.type = SPOP_DATA_IPV4;
	memcpy(rq.src.u.ipv4, proxy, 4);
	rq.has_fwd_cert = 1;
	rq.fwd_cert = (struct spop_str){ hdr, strlen(hdr) };
	rq.fwd_chain = (struct spop_str){ chain, strlen(chain) };
	run_req(cfg, NULL, 0, &rq, &o);
	CHECK_EQ_STR(dec_table[o.d.code].code, "cert_unverified");
	CHECK_EQ_STR(o.d.rule, "cert_unknown_ca");

	/* with the chain header: verified, allowed */
	rq.has_fwd_chain = 1;
	run_req(cfg, NULL, 0, &rq, &o);
	CHECK_EQ_STR(dec_table[o.d.code].code, "ok");
	CHECK(strstr(o.trace, "forwarded=pass") != NULL);

	/* the same header from anyone else is refused, never used */
	rq.has_fwd_chain = 1;
	memcpy(rq.src.u.ipv4, other, 4);
	run_req(cfg, NULL, 0, &rq, &o);
	CHECK_EQ_STR(dec_table[o.d.code].code, "forwarded_untrusted");
	CHECK_EQ_STR(o.d.rule, "forwarded");
	/* ... also when the source is unknown */
	rq.has_src = 0;
	run_req(cfg, NULL, 0, &rq, &o);
	CHECK_EQ_STR(dec_table[o.d.code].code, "forwarded_untrusted");

	/* malformed, from the trusted proxy */
	rq.has_src = 1;
	memcpy(rq.src.u.ipv4, proxy, 4);
	rq.fwd_cert = (struct spop_str){ ":not base64!:", 13 };
	run_req(cfg, NULL, 0, &rq, &o);
	CHECK_EQ_STR(dec_table[o.d.code].code, "forwarded_invalid");
	cfg_free(cfg);

	/* HAProxy's verification says nothing about a forwarded certificate */
	cfg = conf_fwd("haproxy");
	CHECK(cfg != NULL);
	if (cfg) {
		rq.fwd_cert = (struct spop_str){ hdr, strlen(hdr) };
		rq.has_verify = 1;
		rq.verify = 0;
		run_req(cfg, NULL, 0, &rq, &o);
		CHECK_EQ_STR(dec_table[o.d.code].code, "cert_unverified");
		CHECK_EQ_STR(o.d.rule, "verify_forwarded");
		cfg_free(cfg);
	}
	/* no [forwarded] section: any certificate header is refused */
	cfg = conf("");
	if (cfg) {
		run_req(cfg, NULL, 0, &rq, &o);
		CHECK_EQ_STR(dec_table[o.d.code].code, "forwarded_untrusted");
		cfg_free(cfg);
	}
	free(hdr);
	free(chain);
}

TEST(policy_learned_intermediates_for_resumed_sessions)
{
	struct config *cfg;
	struct req_facts rq;
	struct handler_ctx hc;
	struct cert_eval ce;
	struct decision d;
	const char *route;

	setup();
	cfg = conf("");
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	/* the leaf alone, before any chain was seen: unknown CA */
	memset(&rq, 0, sizeof(rq));
	rq.has_cert = 1;
	rq.cert = (struct spop_str){ (const char *)P.bob_der, P.bob_len };
	handler_init(&hc, cfg, 1);
	decide_request(&hc.dc, &rq, NOW, NULL, &ce, &d, &route);
	CHECK_EQ_STR(d.rule, "cert_unknown_ca");
	handler_destroy(&hc);
	/* another leaf of that issuer arrives with the chain and verifies */
	rq.cert = (struct spop_str){ (const char *)P.alice_der, P.alice_len };
	rq.has_chain = 1;
	rq.chain = (struct spop_str){ (const char *)P.inter_der, P.inter_len };
	handler_init(&hc, cfg, 1);
	decide_request(&hc.dc, &rq, NOW, NULL, &ce, &d, &route);
	CHECK_EQ_STR(d.rule, "verified");
	handler_destroy(&hc);
	/* now the first leaf alone (a resumed session), on another worker */
	rq.cert = (struct spop_str){ (const char *)P.bob_der, P.bob_len };
	rq.has_chain = 0;
	handler_init(&hc, cfg, 1);
	decide_request(&hc.dc, &rq, NOW, NULL, &ce, &d, &route);
	CHECK_EQ_STR(d.rule, "verified");
	handler_destroy(&hc);
	cfg_free(cfg);
}

TEST(policy_ca_dir_and_config_intermediates)
{
	char dir[] = "/tmp/certspoa-cadir-XXXXXX", path[256], text[1024], err[1024], inter_pem[128];
	char cfgpath[] = "/tmp/certspoa-cadircfg-XXXXXX";
	struct config *cfg;
	struct req_facts rq;
	struct handler_ctx hc;
	struct cert_eval ce;
	struct decision d;
	const char *route;
	FILE *src, *dst;
	int fd, c;

	setup();
	CHECK(mkdtemp(dir) != NULL);
	/* the root as the only file of a directory */
	snprintf(path, sizeof(path), "%s/root.pem", dir);
	src = fopen(P.ca_pem, "r");
	dst = fopen(path, "w");
	CHECK(src && dst);
	while (src && dst && (c = fgetc(src)) != EOF)
		fputc(c, dst);
	if (src)
		fclose(src);
	if (dst)
		fclose(dst);
	CHECK(testpki_write_pem(&P.inter, 1, inter_pem, sizeof(inter_pem)) == 0);
	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nca_dir = %s\nintermediates = %s\n",
	         dir, inter_pem);
	fd = mkstemp(cfgpath);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	cfg = cfg_load(cfgpath, err, sizeof(err));
	if (!cfg)
		unit_fail(__FILE__, __LINE__, "%s", err);
	if (cfg) {
		/* the client sends its leaf only: the configured intermediate
		 * and the directory's root complete the chain */
		memset(&rq, 0, sizeof(rq));
		rq.has_cert = 1;
		rq.cert = (struct spop_str){ (const char *)P.alice_der, P.alice_len };
		handler_init(&hc, cfg, 1);
		decide_request(&hc.dc, &rq, NOW, NULL, &ce, &d, &route);
		CHECK_EQ_STR(dec_table[d.code].code, "ok");
		handler_destroy(&hc);
		cfg_free(cfg);
	}
	/* without the configured intermediate, the same leaf alone fails */
	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nca_dir = %s\n", dir);
	fd = open(cfgpath, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	cfg = cfg_load(cfgpath, err, sizeof(err));
	CHECK(cfg != NULL);
	if (cfg) {
		memset(&rq, 0, sizeof(rq));
		rq.has_cert = 1;
		rq.cert = (struct spop_str){ (const char *)P.alice_der, P.alice_len };
		handler_init(&hc, cfg, 1);
		decide_request(&hc.dc, &rq, NOW, NULL, &ce, &d, &route);
		CHECK_EQ_STR(d.rule, "cert_unknown_ca");
		handler_destroy(&hc);
		cfg_free(cfg);
	}
	/* a directory without certificates is a config error */
	unlink(path);
	cfg = cfg_load(cfgpath, err, sizeof(err));
	CHECK(cfg == NULL && strstr(err, ":3: ca_dir: ") && strstr(err, "no *.pem"));
	cfg_free(cfg);
	unlink(cfgpath);
	unlink(inter_pem);
	rmdir(dir);
}

TEST(policy_empty_list_value_is_an_error)
{
	const char *keys[] = { "allow_cn", "allow_dns", "thumbprints", "allow_thumbprints", "deny_cn", "allow_ip" };
	char text[256], err[512];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text), "[policy default]\n%s =\n", keys[i]);
		cfg = test_cfg_text(text, err, sizeof(err));
		if (cfg || !strstr(err, "empty list"))
			unit_fail(__FILE__, __LINE__, "'%s =' was accepted (%s)", keys[i], cfg ? "loaded" : err);
		cfg_free(cfg);
	}
}
