/* Decisions that mutation testing (tests/mutation/) showed no test pinned.
 * Each test names the mutants it kills; each asserts a verdict (code and
 * rule), never a counter. Config text goes through cfg_load() as the agent
 * reads it, requests through handler_decide() as a NOTIFY would. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "cfg.h"
#include "decide.h"
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
	EVP_PKEY *ca_key, *int_key, *key, *other_key;
	X509 *ca, *inter, *other_ca, *alice, *direct;
	unsigned char *alice_der, *inter_der;
	size_t alice_len, inter_len;
	char ca_pem[64], inter_pem[64], other_pem[64];
	char files[16][64];
	int nfiles;
} K;

static void cleanup(void)
{
	if (K.ca_pem[0])
		unlink(K.ca_pem);
	if (K.inter_pem[0])
		unlink(K.inter_pem);
	if (K.other_pem[0])
		unlink(K.other_pem);
	for (int i = 0; i < K.nfiles; i++)
		unlink(K.files[i]);
}

static X509 *make_leaf(const char *subj, EVP_PKEY *key, const char *san, const char *serial,
                       const char *policies, int64_t nb, int64_t na)
{
	struct testpki_cert c = {
		.subject = subj, .key = key, .issuer = K.inter, .issuer_key = K.int_key,
		.not_before = nb, .not_after = na, .eku = "clientAuth", .san = san,
		.serial_hex = serial, .policies = policies,
	};

	return testpki_make_cert_ex(&c);
}

static void setup(void)
{
	if (K.ready)
		return;
	K.ca_key = testpki_make_key();
	K.int_key = testpki_make_key();
	K.key = testpki_make_key();
	K.other_key = testpki_make_key();
	K.ca = testpki_make_cert("/O=Kill/CN=Kill Root", K.ca_key, NULL, NULL, NOW - 100 * DAY, NOW + 3000 * DAY, 1, NULL);
	K.inter = testpki_make_cert("/O=Kill/CN=Kill Issuing CA", K.int_key, K.ca, K.ca_key,
	                            NOW - 100 * DAY, NOW + 1000 * DAY, 1, NULL);
	K.other_ca = testpki_make_cert("/O=Elsewhere/CN=Other Root", K.other_key, NULL, NULL,
	                               NOW - 100 * DAY, NOW + 3000 * DAY, 1, NULL);
	K.alice = make_leaf("/O=Kill/CN=alice", K.key, "DNS:alice.example.com", "10", NULL,
	                    NOW - DAY, NOW + 10 * DAY);
	{
		/* signed by the root itself: no chain needed (CRL tests) */
		struct testpki_cert c = {
			.subject = "/O=Kill/CN=direct", .key = K.key, .issuer = K.ca, .issuer_key = K.ca_key,
			.not_before = NOW - DAY, .not_after = NOW + 10 * DAY, .eku = "clientAuth",
		};

		K.direct = testpki_make_cert_ex(&c);
	}
	K.alice_der = testpki_to_der(K.alice, &K.alice_len);
	K.inter_der = testpki_to_der(K.inter, &K.inter_len);
	testpki_write_pem(&K.ca, 1, K.ca_pem, sizeof(K.ca_pem));
	testpki_write_pem(&K.inter, 1, K.inter_pem, sizeof(K.inter_pem));
	testpki_write_pem(&K.other_ca, 1, K.other_pem, sizeof(K.other_pem));
	atexit(cleanup);
	K.ready = K.alice_der && K.inter_der && K.direct && K.ca_pem[0] && K.inter_pem[0] && K.other_pem[0];
}

/* A file with this text under /tmp, removed at exit. NULL on error. */
static const char *tmp_file(const char *text)
{
	char *path;
	FILE *f;

	if (K.nfiles == 16)
		return NULL;
	path = K.files[K.nfiles];
	snprintf(path, sizeof(K.files[0]), "/tmp/certspoa-kill-XXXXXX");
	{
		int fd = mkstemp(path);

		if (fd < 0)
			return NULL;
		close(fd);
	}
	K.nfiles++;
	if (!(f = fopen(path, "w")))
		return NULL;
	fputs(text, f);
	return fclose(f) == 0 ? path : NULL;
}

static struct config *load(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct config *load(const char *fmt, ...)
{
	char text[4096], err[1024];
	struct config *cfg;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cfg = test_cfg_text(text, err, sizeof(err));
	if (!cfg)
		fprintf(stderr, "  config error: %s\n", err);
	return cfg;
}

/* [policy default], verify = agent against the test root, plus extra. */
static struct config *policy(const char *extra)
{
	return load("[policy default]\nverify = agent\nca_file = %s\n%s\n", K.ca_pem, extra);
}

/* rq for certificate x (NULL: none), with the intermediate as chain or not. */
static void req_for(struct req_facts *rq, X509 *x, int with_chain, unsigned char **der)
{
	size_t len = 0;

	memset(rq, 0, sizeof(*rq));
	*der = x ? testpki_to_der(x, &len) : NULL;
	if (*der) {
		rq->has_cert = 1;
		rq->cert = (struct spop_str){ (const char *)*der, len };
	}
	if (with_chain) {
		rq->has_chain = 1;
		rq->chain = (struct spop_str){ (const char *)K.inter_der, K.inter_len };
	}
}

/* One decision on handler hc; returns "code/rule" in out. */
static const char *decide_on(struct handler_ctx *hc, struct req_facts *rq, int64_t now,
                             char *out, size_t outlen)
{
	struct cert_eval ce;
	struct decision d;
	struct trace t = { .on = 1 };
	const char *route = NULL;

	rq->forwarded = rq->fwd_untrusted = rq->fwd_error = 0;
	decide_request(&hc->dc, rq, now, &t, &ce, &d, &route);
	snprintf(out, outlen, "%s/%s", dec_table[d.code].code, d.rule ? d.rule : "-");
	return out;
}

/* One decision on a fresh handler. */
static const char *decide(struct config *cfg, struct req_facts *rq, int64_t now,
                          char *out, size_t outlen)
{
	struct handler_ctx hc;

	if (!cfg) {
		snprintf(out, outlen, "no config");
		return out;
	}
	handler_init(&hc, cfg, 1);
	decide_on(&hc, rq, now, out, outlen);
	handler_destroy(&hc);
	return out;
}

/* Expect code/rule for certificate x (with the chain) under policy extra. */
#define EXPECT(extra, x, want) expect_at(__LINE__, (extra), (x), (want))

static void expect_at(int line, const char *extra, X509 *x, const char *want)
{
	struct config *cfg = policy(extra);
	struct req_facts rq;
	unsigned char *der;
	char got[128];

	req_for(&rq, x, 1, &der);
	decide(cfg, &rq, NOW, got, sizeof(got));
	if (strcmp(got, want) != 0)
		unit_fail(__FILE__, line, "[%s]: got %s, expected %s", extra, got, want);
	free(der);
	cfg_free(cfg);
}

/* rules-empty-tp-allow-open and lists-empty-tp-file-open: an allow list
 * FILE that holds only comments allows nobody. Since issue 16 it is
 * refused at load, louder than denying every client ("no config": the
 * agent does not start, a reload keeps the previous generation); both
 * mutants are now equivalent (tests/mutation/mutants.txt) and
 * lists-empty-allow-accepted guards the refusal. (A "key =" with no value
 * never gets this far either.) */
TEST(kill_empty_thumbprint_list_file_allows_nobody)
{
	char line[256];
	const char *empty;

	setup();
	CHECK(K.ready);
	empty = tmp_file("# no client is trusted yet\n\n   \n# sha256 of each client, one a line\n");
	CHECK(empty != NULL);
	snprintf(line, sizeof(line), "allow_thumbprints = @%s", empty);
	EXPECT(line, K.alice, "no config");
	snprintf(line, sizeof(line), "allow_thumbprints = %s", empty);   /* a plain path is a file too */
	EXPECT(line, K.alice, "no config");
	snprintf(line, sizeof(line), "thumbprints = %s", empty);         /* the older key */
	EXPECT(line, K.alice, "no config");
	snprintf(line, sizeof(line), "allow_issuer_thumbprints = %s", empty);
	EXPECT(line, K.alice, "no config");
	/* an empty deny list denies nobody */
	snprintf(line, sizeof(line), "deny_thumbprints = %s", empty);
	EXPECT(line, K.alice, "ok/verified");
}

/* Kills rules-id-issuer-tp-no-issuer: allow_issuer_thumbprints matches
 * the issuer on the path that verified. With verify = haproxy, HAProxy's
 * "ok" alone does not name an issuer: when the agent finds no path (the
 * client sent no chain, none configured) the list cannot match and the
 * request is denied as issuer_unknown. */
TEST(kill_issuer_thumbprint_needs_a_verified_issuer)
{
	unsigned char sha1[20], sha256[32];
	char hex[65], got[128];
	struct config *cfg;
	struct req_facts rq;
	unsigned char *der;

	setup();
	CHECK(K.ready);
	cert_digests(K.inter_der, K.inter_len, sha1, sha256);
	cert_hex(sha256, 32, hex);
	cfg = load("[policy default]\nverify = haproxy\nca_file = %s\nallow_issuer_thumbprints = %s\n",
	           K.ca_pem, hex);
	CHECK(cfg != NULL);
	/* without the chain first: once a chain has verified, the store
	 * learns its intermediate and finds the path alone */
	req_for(&rq, K.alice, 0, &der);
	rq.has_verify = 1;
	rq.verify = 0;
	CHECK_EQ_STR(decide(cfg, &rq, NOW, got, sizeof(got)), "cert_untrusted/issuer_unknown");
	rq.has_chain = 1;
	rq.chain = (struct spop_str){ (const char *)K.inter_der, K.inter_len };
	CHECK_EQ_STR(decide(cfg, &rq, NOW, got, sizeof(got)), "ok/allow_issuer_thumbprints");
	free(der);
	cfg_free(cfg);
}

/* Kills rules-dns-any-san-type: allow_dns looks at DNS SANs only. */
TEST(kill_dns_list_ignores_other_san_types)
{
	X509 *x;

	setup();
	CHECK(K.ready);
	x = make_leaf("/O=Kill/CN=spelled", K.key, "URI:api.example.com,email:api.example.com", NULL, NULL,
	              NOW - DAY, NOW + 10 * DAY);
	CHECK(x != NULL);
	EXPECT("allow_dns = api.example.com", x, "cert_untrusted/identity");
	EXPECT("allow_dns = alice.example.com", K.alice, "ok/allow_dns");
	X509_free(x);
}

/* Kills rules-require-cert-needs-present: no certificate is a denial with
 * require_cert, whether or not the 'present' argument came. */
TEST(kill_require_cert_without_present_argument)
{
	struct config *cfg = NULL;
	struct req_facts rq;
	unsigned char *der;
	char got[128];

	setup();
	CHECK(K.ready);
	cfg = policy("require_cert = yes");
	CHECK(cfg != NULL);
	req_for(&rq, NULL, 0, &der);
	CHECK_EQ_STR(decide(cfg, &rq, NOW, got, sizeof(got)), "cert_missing/require_cert");
	rq.has_present = 1;
	rq.present = 0;
	CHECK_EQ_STR(decide(cfg, &rq, NOW, got, sizeof(got)), "cert_missing/require_cert");
	cfg_free(cfg);
}

/* A copy of x whose subjectAltName holds an 8-byte iPAddress (an
 * address/mask pair, which belongs in name constraints: the agent refuses
 * to read such names) and dns. OpenSSL verifies the certificate. */
static X509 *with_unreadable_sans(X509 *x, const char *dns)
{
	static const unsigned char pair[8] = { 10, 0, 0, 0, 255, 0, 0, 0 };
	X509 *y = X509_dup(x);
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *ip = GENERAL_NAME_new(), *name = GENERAL_NAME_new();
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
	int idx, ok;

	ok = y && gens && ip && name && os && ia5 &&
	     ASN1_OCTET_STRING_set(os, pair, sizeof(pair)) &&
	     ASN1_STRING_set(ia5, dns, (int)strlen(dns));
	if (ok) {
		GENERAL_NAME_set0_value(ip, GEN_IPADD, os);
		GENERAL_NAME_set0_value(name, GEN_DNS, ia5);
		os = NULL;
		ia5 = NULL;
		ok = sk_GENERAL_NAME_push(gens, ip) && (ip = NULL, sk_GENERAL_NAME_push(gens, name));
		if (ok)
			name = NULL;
	}
	while (ok && (idx = X509_get_ext_by_NID(y, NID_subject_alt_name, -1)) >= 0)
		X509_EXTENSION_free(X509_delete_ext(y, idx));
	ok = ok && X509_add1_ext_i2d(y, NID_subject_alt_name, gens, 0, X509V3_ADD_APPEND) == 1 &&
	     X509_sign(y, K.int_key, EVP_sha256());
	ASN1_OCTET_STRING_free(os);
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(ip);
	GENERAL_NAME_free(name);
	GENERAL_NAMES_free(gens);
	if (!ok) {
		X509_free(y);
		return NULL;
	}
	return y;
}

/* A certificate whose names cannot be read is denied (cert_extensions),
 * with or without a deny list on names; it never slips past one. (Killed
 * rules-malformed-ext-passes, retired when the check became unconditional.) */
TEST(kill_malformed_extensions_do_not_pass_deny_lists)
{
	X509 *x;

	setup();
	CHECK(K.ready);
	x = with_unreadable_sans(K.alice, "evil.example.com");
	CHECK(x != NULL);
	if (!x)
		return;
	EXPECT("deny_dns = evil.example.com", x, "cert_untrusted/cert_extensions");
	EXPECT("deny_cn = mallory", x, "cert_untrusted/cert_extensions");
	/* every policy reads the names (max_sans at least): denied alone too */
	EXPECT("", x, "cert_untrusted/cert_extensions");
	X509_free(x);
}

/* Kills rules-policy-oid-prefix: certificate policy OIDs compare whole. */
TEST(kill_require_policies_compares_whole_oids)
{
	X509 *shorter, *longer, *exact;

	setup();
	CHECK(K.ready);
	shorter = make_leaf("/O=Kill/CN=p1", K.key, NULL, NULL, "1.2.3", NOW - DAY, NOW + 10 * DAY);
	longer = make_leaf("/O=Kill/CN=p2", K.key, NULL, NULL, "1.2.3.45", NOW - DAY, NOW + 10 * DAY);
	exact = make_leaf("/O=Kill/CN=p3", K.key, NULL, NULL, "1.2.3.4", NOW - DAY, NOW + 10 * DAY);
	CHECK(shorter && longer && exact);
	EXPECT("require_policies = 1.2.3.4", shorter, "cert_untrusted/require_policies");
	EXPECT("require_policies = 1.2.3.4", longer, "cert_untrusted/require_policies");
	EXPECT("require_policies = 1.2.3.4", exact, "ok/verified");
	X509_free(shorter);
	X509_free(longer);
	X509_free(exact);
}

/* Kills rules-min-rsa-off-by-one: the bound is exact. */
TEST(kill_min_rsa_bits_is_exact)
{
	EVP_PKEY *k1024, *k2048;
	X509 *small, *ok;

	setup();
	CHECK(K.ready);
	k1024 = testpki_make_rsa_key(1024);
	k2048 = testpki_make_rsa_key(2048);
	CHECK(k1024 && k2048);
	small = make_leaf("/O=Kill/CN=rsa1024", k1024, NULL, NULL, NULL, NOW - DAY, NOW + 10 * DAY);
	ok = make_leaf("/O=Kill/CN=rsa2048", k2048, NULL, NULL, NULL, NOW - DAY, NOW + 10 * DAY);
	CHECK(small && ok);
	EXPECT("min_rsa_bits = 2048", small, "cert_untrusted/min_rsa_bits");
	EXPECT("min_rsa_bits = 2048", ok, "ok/verified");
	EXPECT("min_rsa_bits = 3072", ok, "cert_untrusted/min_rsa_bits");
	X509_free(small);
	X509_free(ok);
	EVP_PKEY_free(k1024);
	EVP_PKEY_free(k2048);
}

/* Kills rules-sni-host-prefix: SNI and Host compare whole (case aside,
 * port aside), neither may be a prefix of the other. */
TEST(kill_sni_host_match_is_exact)
{
	static const struct {
		const char *sni, *host, *want;
	} cases[] = {
		{ "a.example.com", "a.example.com", "ok/verified" },
		{ "a.example.com", "A.Example.COM:8443", "ok/verified" },
		{ "a.example.com", "a.example.com.evil.net", "sni_host_mismatch/sni_host" },
		{ "a.example.com.evil.net", "a.example.com", "sni_host_mismatch/sni_host" },
		{ "a.example.com", "a.example.co", "sni_host_mismatch/sni_host" },
	};
	struct config *cfg;
	struct req_facts rq;
	unsigned char *der;
	char got[128];

	setup();
	CHECK(K.ready);
	cfg = policy("sni_host_match = yes");
	CHECK(cfg != NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req_for(&rq, K.alice, 1, &der);
		rq.has_sni = rq.has_host = 1;
		rq.sni = (struct spop_str){ cases[i].sni, strlen(cases[i].sni) };
		rq.host = (struct spop_str){ cases[i].host, strlen(cases[i].host) };
		decide(cfg, &rq, NOW, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			unit_fail(__FILE__, __LINE__, "SNI %s, Host %s: got %s, expected %s",
			          cases[i].sni, cases[i].host, got, cases[i].want);
		free(der);
	}
	cfg_free(cfg);
}

/* Kills rules-shadow-internal: shadow mode allows what the policy would
 * deny, but an internal error (no decision could be made) stays a denial. */
TEST(kill_shadow_mode_keeps_internal_errors)
{
	struct policy pol;
	struct req_facts rq;
	struct cert_eval ce;
	struct cert_facts f;
	struct decision d;
	unsigned char *der;
	size_t len;
	X509 *x;

	setup();
	CHECK(K.ready);
	memset(&pol, 0, sizeof(pol));
	snprintf(pol.name, sizeof(pol.name), "shadowed");
	pol.mode = POLICY_SHADOW;
	pol.verify = VERIFY_AGENT;
	pol.require_cert = 1;
	pol.deny_status = 403;
	der = testpki_to_der(K.alice, &len);
	x = der ? cert_parse_der(der, len) : NULL;
	CHECK(x != NULL && cert_get_facts(x, der, len, &f) == 0);
	memset(&rq, 0, sizeof(rq));
	rq.has_cert = 1;
	rq.cert = (struct spop_str){ (const char *)der, len };
	memset(&ce, 0, sizeof(ce));
	ce.parsed = 1;
	ce.facts = &f;
	/* the agent's verification did not run (no store): internal */
	rules_decide(&pol, &rq, &ce, NOW, NULL, &d);
	CHECK_EQ_STR(dec_table[d.code].code, "internal_error");
	CHECK_EQ_INT(d.shadowed, 0);
	/* a real denial is shadowed */
	ce.agent_checked = 1;
	ce.agent_verify = X509_V_ERR_CERT_REVOKED;
	rules_decide(&pol, &rq, &ce, NOW, NULL, &d);
	CHECK_EQ_STR(dec_table[d.code].code, "ok");
	CHECK_EQ_INT(d.shadowed, 1);
	X509_free(x);
	free(der);
}

/* A forwarded-certificate config: trusted_proxies as given, RFC 9440. */
static struct config *fwd_conf(const char *proxies)
{
	return load("[forwarded]\ntrusted_proxies = %s\nformat = rfc9440\n"
	            "[policy default]\nverify = agent\nca_file = %s\n", proxies, K.ca_pem);
}

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

/* The decision for alice forwarded in headers from source address src
 * (text, IPv4 or IPv6). */
static const char *forwarded_from(struct config *cfg, const char *src, char *out, size_t outlen)
{
	struct req_facts rq;
	char *hdr = sf_binary(K.alice_der, K.alice_len);
	char *chain = sf_binary(K.inter_der, K.inter_len);

	memset(&rq, 0, sizeof(rq));
	rq.has_src = 1;
	if (inet_pton(AF_INET, src, rq.src.u.ipv4) == 1) {
		rq.src.type = SPOP_DATA_IPV4;
	} else if (inet_pton(AF_INET6, src, rq.src.u.ipv6) == 1) {
		rq.src.type = SPOP_DATA_IPV6;
	} else {
		snprintf(out, outlen, "bad address %s", src);
		goto done;
	}
	if (!hdr || !chain) {
		snprintf(out, outlen, "out of memory");
		goto done;
	}
	rq.has_fwd_cert = rq.has_fwd_chain = 1;
	rq.fwd_cert = (struct spop_str){ hdr, strlen(hdr) };
	rq.fwd_chain = (struct spop_str){ chain, strlen(chain) };
	decide(cfg, &rq, NOW, out, outlen);
done:
	free(hdr);
	free(chain);
	return out;
}

/* Kills handler-fwd-ipv6-inverted, cidr-mapped-prefix-unchecked and
 * cidr-partial-byte-ignored: who may forward a certificate, by source,
 * IPv6 and IPv4, on and around the range boundaries. */
TEST(kill_trusted_proxies_by_source_address)
{
	static const struct {
		const char *src, *want;
	} cases[] = {
		{ "2001:db8::5", "ok/verified" },
		{ "2001:db8::", "ok/verified" },
		{ "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "ok/verified" },
		{ "2001:db9::5", "forwarded_untrusted/forwarded" },
		{ "2001:db7:ffff::1", "forwarded_untrusted/forwarded" },
		{ "::1", "forwarded_untrusted/forwarded" },
		/* an IPv4 range holds the IPv4-mapped form of its addresses only */
		{ "::ffff:127.0.0.1", "ok/verified" },
		{ "2001:db9::7f00:1", "forwarded_untrusted/forwarded" },
		{ "::127.0.0.1", "forwarded_untrusted/forwarded" },
		{ "127.0.0.1", "ok/verified" },
		{ "127.0.0.2", "forwarded_untrusted/forwarded" },
		/* 10.16.0.0/12: 10.16.0.0 - 10.31.255.255 */
		{ "10.16.0.0", "ok/verified" },
		{ "10.31.255.255", "ok/verified" },
		{ "10.32.0.1", "forwarded_untrusted/forwarded" },
		{ "10.15.255.255", "forwarded_untrusted/forwarded" },
		{ "10.255.0.1", "forwarded_untrusted/forwarded" },
		{ "::ffff:10.32.0.1", "forwarded_untrusted/forwarded" },
	};
	struct config *cfg;
	char got[128];

	setup();
	CHECK(K.ready);
	cfg = fwd_conf("127.0.0.1/32, 2001:db8::/32, 10.16.0.0/12");
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		forwarded_from(cfg, cases[i].src, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			unit_fail(__FILE__, __LINE__, "forwarded from %s: got %s, expected %s",
			          cases[i].src, got, cases[i].want);
	}
	cfg_free(cfg);
	/* an IPv6-only list: no IPv4 source is trusted */
	cfg = fwd_conf("2001:db8::/32");
	CHECK(cfg != NULL);
	if (cfg) {
		CHECK_EQ_STR(forwarded_from(cfg, "127.0.0.1", got, sizeof(got)), "forwarded_untrusted/forwarded");
		CHECK_EQ_STR(forwarded_from(cfg, "2001:db8:1::1", got, sizeof(got)), "ok/verified");
		cfg_free(cfg);
	}
}

/* Kills handler-verify-store-ignored: two policies with different CAs on
 * one handler (one connection): a verification made for one is not
 * reused by the other, whichever comes first. */
TEST(kill_cached_verification_stays_with_its_store)
{
	struct config *cfg;
	struct handler_ctx hc;
	struct req_facts rq;
	unsigned char *der;
	char got[128];

	setup();
	CHECK(K.ready);
	cfg = load("[route other]\npath_prefix = /other\npolicy = other\n"
	           "[policy default]\nverify = agent\nca_file = %s\n"
	           "[policy other]\nverify = agent\nca_file = %s\n", K.ca_pem, K.other_pem);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	for (int order = 0; order < 2; order++) {
		handler_init(&hc, cfg, 1);
		for (int i = 0; i < 2; i++) {
			int other = (i + order) % 2;

			req_for(&rq, K.alice, 1, &der);
			rq.has_path = 1;
			rq.path = other ? (struct spop_str){ "/other/x", 8 } : (struct spop_str){ "/x", 2 };
			decide_on(&hc, &rq, NOW, got, sizeof(got));
			if (other)
				CHECK_EQ_STR(got, "cert_unverified/cert_unknown_ca");
			else
				CHECK_EQ_STR(got, "ok/verified");
			free(der);
		}
		handler_destroy(&hc);
	}
	cfg_free(cfg);
}

/* Kills handler-verify-expiry-cached: a verification cached a moment
 * before the certificate expires does not outlive it. */
TEST(kill_cached_verification_ends_at_not_after)
{
	struct config *cfg;
	struct handler_ctx hc;
	struct req_facts rq;
	unsigned char *der;
	char got[128];
	X509 *x;

	setup();
	CHECK(K.ready);
	x = make_leaf("/O=Kill/CN=short", K.key, NULL, NULL, NULL, NOW - DAY, NOW + 20);
	cfg = policy("");
	CHECK(x && cfg);
	if (!x || !cfg)
		return;
	handler_init(&hc, cfg, 1);
	req_for(&rq, x, 1, &der);
	CHECK_EQ_STR(decide_on(&hc, &rq, NOW, got, sizeof(got)), "ok/verified");
	CHECK_EQ_STR(decide_on(&hc, &rq, NOW + 10, got, sizeof(got)), "ok/verified");
	CHECK_EQ_STR(decide_on(&hc, &rq, NOW + 30, got, sizeof(got)), "cert_unverified/cert_expired");
	handler_destroy(&hc);
	free(der);
	cfg_free(cfg);
	X509_free(x);
}

/* A PEM CRL from the root revoking n certificates, issued at this_update,
 * valid for a week. */
static const char *write_crl(X509 *const *revoked, int n, int64_t this_update)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *last = ASN1_TIME_set(NULL, (time_t)this_update);
	ASN1_TIME *next = ASN1_TIME_set(NULL, (time_t)(NOW + 7 * DAY));
	const char *path = tmp_file("");
	int ok = crl && last && next && path && X509_CRL_set_version(crl, 1) &&
	         X509_CRL_set_issuer_name(crl, X509_get_subject_name(K.ca)) &&
	         X509_CRL_set1_lastUpdate(crl, last) && X509_CRL_set1_nextUpdate(crl, next);
	FILE *f;

	for (int i = 0; ok && i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();

		ok = r && X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(revoked[i])) &&
		     X509_REVOKED_set_revocationDate(r, last) && X509_CRL_add0_revoked(crl, r);
		if (!ok)
			X509_REVOKED_free(r);
	}
	ok = ok && X509_CRL_sort(crl) && X509_CRL_sign(crl, K.ca_key, EVP_sha256());
	if (ok && (f = fopen(path, "w"))) {
		ok = PEM_write_X509_CRL(f, crl) == 1;
		ok = fclose(f) == 0 && ok;
	} else {
		ok = 0;
	}
	X509_CRL_free(crl);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	return ok ? path : NULL;
}

/* Kills cache-generation-ignored by a decision: a reload (a new config
 * generation) whose CRL revokes a certificate already in the cache denies
 * it on the same handler, even when the new trust store sits at the
 * address of the old one (here: the same store, given the new CRL). */
TEST(kill_reload_reaches_cached_certificate_same_store)
{
	const char *crl0, *crl1;
	struct cert_crl_info info;
	struct handler_ctx hc;
	struct config *cfg;
	struct req_facts rq;
	unsigned char *der;
	char got[128], err[512];

	setup();
	CHECK(K.ready);
	crl0 = write_crl(NULL, 0, NOW - DAY);
	crl1 = write_crl(&K.direct, 1, NOW - DAY + 3600);    /* newer: OpenSSL prefers it */
	CHECK(crl0 && crl1);
	if (!crl0 || !crl1)
		return;
	cfg = load("[policy default]\nverify = agent\nca_file = %s\ncrl_file = %s\n", K.ca_pem, crl0);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	cfg->generation = 1;
	handler_init(&hc, cfg, 1);
	req_for(&rq, K.direct, 0, &der);
	CHECK_EQ_STR(decide_on(&hc, &rq, NOW, got, sizeof(got)), "ok/verified");
	CHECK_EQ_STR(decide_on(&hc, &rq, NOW + 1, got, sizeof(got)), "ok/verified");
	memset(&info, 0, sizeof(info));
	CHECK_EQ_INT(cert_store_add_crls(cfg->default_policy->store, crl1, &info, err, sizeof(err)), 0);
	cfg->generation = 2;
	handler_set_config(&hc, cfg, 2);
	CHECK_EQ_STR(decide_on(&hc, &rq, NOW + 2, got, sizeof(got)), "cert_revoked/cert_revoked");
	handler_destroy(&hc);
	free(der);
	cfg_free(cfg);
}

/* Kills lists-serial-zeros-dropped: only leading zeros of a serial are
 * insignificant. */
TEST(kill_serial_zeros_are_significant)
{
	setup();
	CHECK(K.ready);
	/* alice's serial is 0x10 */
	EXPECT("allow_serials = 1", K.alice, "cert_untrusted/identity");
	EXPECT("allow_serials = 100", K.alice, "cert_untrusted/identity");
	EXPECT("allow_serials = 0010", K.alice, "ok/allow_serials");
	EXPECT("deny_serials = 1", K.alice, "ok/verified");
	EXPECT("deny_serials = 00:10", K.alice, "cert_untrusted/deny_serials");
}

/* Kills cert-skew-doubled: clock_skew admits exactly that much: with 300 s,
 * a certificate expired 200 s ago passes, one expired 400 s ago does not;
 * the same before not_before. */
TEST(kill_clock_skew_is_exact)
{
	static const struct {
		int64_t nb, na;
		const char *want;
	} cases[] = {
		{ NOW - DAY, NOW - 200, "ok/verified" },
		{ NOW - DAY, NOW - 400, "cert_unverified/cert_expired" },
		{ NOW - DAY, NOW - 700, "cert_unverified/cert_expired" },
		{ NOW + 200, NOW + DAY, "ok/verified" },
		{ NOW + 400, NOW + DAY, "cert_unverified/cert_not_yet_valid" },
	};
	struct config *cfg;
	struct req_facts rq;
	unsigned char *der;
	char got[128];

	setup();
	CHECK(K.ready);
	cfg = policy("clock_skew = 300s");
	CHECK(cfg != NULL);
	for (size_t i = 0; cfg && i < sizeof(cases) / sizeof(cases[0]); i++) {
		X509 *x = make_leaf("/O=Kill/CN=skewed", K.key, NULL, NULL, NULL, cases[i].nb, cases[i].na);

		req_for(&rq, x, 1, &der);
		decide(cfg, &rq, NOW, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			unit_fail(__FILE__, __LINE__, "case %zu: got %s, expected %s", i, got, cases[i].want);
		free(der);
		X509_free(x);
	}
	cfg_free(cfg);
}

/* Kills handler-fwd-chain-only-ignored in the unit stage (policy.sh's
 * behind part kills it too): a Client-Cert-Chain without Client-Cert is
 * refused, from anyone; it never falls back to the TLS certificate. */
TEST(kill_forwarded_chain_without_certificate)
{
	struct config *cfg;
	struct req_facts rq;
	unsigned char *der;
	char got[128], *chain;

	setup();
	CHECK(K.ready);
	cfg = fwd_conf("127.0.0.1/32");
	chain = sf_binary(K.inter_der, K.inter_len);
	CHECK(cfg && chain);
	if (!cfg || !chain)
		goto out;
	for (int trusted = 0; trusted < 2; trusted++) {
		/* a TLS certificate that would be allowed, plus the header */
		req_for(&rq, K.alice, 1, &der);
		rq.has_src = 1;
		rq.src.type = SPOP_DATA_IPV4;
		inet_pton(AF_INET, trusted ? "127.0.0.1" : "192.0.2.7", rq.src.u.ipv4);
		rq.has_fwd_chain = 1;
		rq.fwd_chain = (struct spop_str){ chain, strlen(chain) };
		decide(cfg, &rq, NOW, got, sizeof(got));
		CHECK_EQ_STR(got, trusted ? "forwarded_invalid/forwarded" : "forwarded_untrusted/forwarded");
		free(der);
	}
out:
	free(chain);
	cfg_free(cfg);
}
