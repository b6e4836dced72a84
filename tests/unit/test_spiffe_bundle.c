/* SPIFFE trust domains: the bundle parser (agent/spiffe-bundle.c), the
 * X.509-SVID checks (rules_svid_check), one store per trust domain through
 * the decision pipeline, spiffe_bundles in the config, and client_id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "cfg.h"
#include "decide.h"
#include "rules.h"
#include "spiffe-bundle.h"
#include "testcfg.h"
#include "testhelp.h"
#include "testpki.h"

#define NOW  1700000000LL
#define DAY  86400LL

/* ---- helpers ---- */

/* base64 (RFC 4648 section 4) of x's DER into out (malloc'd). */
static char *b64_cert(X509 *x)
{
	size_t len;
	unsigned char *der = testpki_to_der(x, &len);
	char *out = der ? malloc(4 * ((len + 2) / 3) + 1) : NULL;

	if (out)
		EVP_EncodeBlock((unsigned char *)out, der, (int)len);
	free(der);
	return out;
}

/* A JSON bundle with one x509-svid key per certificate (and extra text
 * spliced in after "keys": [...]). */
static char *json_bundle(X509 *const *certs, int n, const char *extra)
{
	size_t cap = 256 + (extra ? strlen(extra) : 0);
	char *out, **b = calloc((size_t)n + 1, sizeof(*b));
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		b[i] = b64_cert(certs[i]);
		cap += strlen(b[i]) + 64;
	}
	out = malloc(cap);
	len += (size_t)snprintf(out + len, cap - len, "{\"keys\": [");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[\"%s\"]}",
		                        i ? "," : "", b[i]);
	snprintf(out + len, cap - len, "]%s}", extra ? extra : "");
	for (int i = 0; i < n; i++)
		free(b[i]);
	free(b);
	return out;
}

static int parse(const char *s, struct spiffe_bundle *b, char *err, size_t errlen)
{
	return spiffe_bundle_parse_json(s, strlen(s), b, err, errlen);
}

static int write_file(char *path, const char *text)
{
	int fd = mkstemp(path);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Two trust domains, each with its own CA; td1's bundle in JSON, td2's in
 * PEM. Leaves are made by the tests. */
struct tds {
	EVP_PKEY *k1, *k2, *lk;
	X509 *ca1, *ca2;
	char json[64], pem[64];
};

static int tds_make(struct tds *T)
{
	char *j;

	memset(T, 0, sizeof(*T));
	T->k1 = testpki_make_key();
	T->k2 = testpki_make_key();
	T->lk = testpki_make_key();
	T->ca1 = testpki_make_cert("/CN=td1 CA", T->k1, NULL, NULL, NOW - DAY, NOW + 365 * DAY, 1, NULL);
	T->ca2 = testpki_make_cert("/CN=td2 CA", T->k2, NULL, NULL, NOW - DAY, NOW + 365 * DAY, 1, NULL);
	if (!T->ca1 || !T->ca2 || !T->lk)
		return -1;
	j = json_bundle(&T->ca1, 1, ", \"spiffe_refresh_hint\": 300");
	snprintf(T->json, sizeof(T->json), "/tmp/certspoa-td1-XXXXXX");
	if (!j || write_file(T->json, j) < 0) {
		free(j);
		return -1;
	}
	free(j);
	return testpki_write_pem(&T->ca2, 1, T->pem, sizeof(T->pem));
}

static void tds_free(struct tds *T)
{
	unlink(T->json);
	unlink(T->pem);
	X509_free(T->ca1);
	X509_free(T->ca2);
	EVP_PKEY_free(T->k1);
	EVP_PKEY_free(T->k2);
	EVP_PKEY_free(T->lk);
}

static X509 *leaf(struct tds *T, X509 *ca, EVP_PKEY *cak, const char *san)
{
	struct testpki_cert c = {
		.subject = "/O=SPIFFE", .key = T->lk, .issuer = ca, .issuer_key = cak,
		.not_before = NOW - DAY, .not_after = NOW + DAY, .is_ca = 0,
		.eku = "clientAuth", .san = san,
	};

	return testpki_make_cert_ex(&c);
}

/* Decide for leaf x under cfg's default policy (HAProxy said verify 0). */
static void decide_for(const struct config *cfg, X509 *x, struct decision *d, struct trace *t)
{
	struct decide_ctx dc;
	struct req_facts rq;
	struct cert_eval ce;
	const char *route = NULL;
	size_t len = 0;
	unsigned char *der = testpki_to_der(x, &len);

	memset(&rq, 0, sizeof(rq));
	memset(t, 0, sizeof(*t));
	t->on = 1;
	rq.has_cert = 1;
	rq.cert = (struct spop_str){ (const char *)der, len };
	rq.has_verify = 1;
	rq.verify = 0;
	decide_init(&dc, cfg, 1);
	decide_request(&dc, &rq, NOW, t, &ce, d, &route);
	decide_destroy(&dc);
	free(der);
}

/* ---- the bundle parser ---- */

TEST(spiffe_bundle_json_authorities)
{
	struct tds T;
	struct spiffe_bundle b;
	X509 *two[2];
	char err[256], *j;

	CHECK_EQ_INT(tds_make(&T), 0);
	two[0] = T.ca1;
	two[1] = T.ca2;
	j = json_bundle(two, 2, ", \"spiffe_refresh_hint\": 300, \"spiffe_sequence\": 7");
	CHECK_EQ_INT(parse(j, &b, err, sizeof(err)), 0);
	CHECK_EQ_INT(sk_X509_num(b.authorities), 2);
	CHECK_EQ_INT(X509_cmp(sk_X509_value(b.authorities, 1), T.ca2), 0);
	CHECK(b.has_refresh_hint && b.refresh_hint == 300);
	CHECK(b.has_sequence && b.sequence == 7);
	spiffe_bundle_clear(&b);
	CHECK(b.authorities == NULL);
	free(j);
	/* JWT authorities and keys of another use are counted and skipped */
	CHECK_EQ_INT(parse("{\"keys\":[{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":\"a\"},"
	                   "{\"kty\":\"EC\",\"use\":\"future\"}]}", &b, err, sizeof(err)), -1);
	CHECK(strstr(err, "no x509-svid key") != NULL);
	j = json_bundle(&T.ca1, 1, "");
	/* splice a jwt-svid key in front */
	{
		char *k = strstr(j, "[{");
		size_t cap = strlen(j) + 128;
		char *m = malloc(cap);

		snprintf(m, cap, "%.*s[{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":\"x\"},%s",
		         (int)(k - j), j, k + 1);
		CHECK_EQ_INT(parse(m, &b, err, sizeof(err)), 0);
		CHECK_EQ_INT(b.jwt_keys, 1);
		CHECK_EQ_INT(sk_X509_num(b.authorities), 1);
		CHECK(!b.has_refresh_hint);
		spiffe_bundle_clear(&b);
		free(m);
	}
	free(j);
	tds_free(&T);
}

/* Every malformed document is refused with a reason and no result. */
TEST(spiffe_bundle_json_refused)
{
	struct tds T;
	struct spiffe_bundle b;
	char err[256], doc[8192], *ca, *lf;
	X509 *l;
	static const char *const bad[] = {
		"", "[]", "{}", "{\"keys\": {}}", "not json", "{\"keys\": [1]}",
		"{\"keys\": []}",
		"{\"keys\": [{\"use\":\"x509-svid\",\"x5c\":[\"AA==\"]}]}",            /* no kty */
		"{\"keys\": [{\"kty\":\"EC\",\"x5c\":[\"AA==\"]}]}",                   /* no use */
		"{\"keys\": [{\"kty\":\"EC\",\"use\":\"x509-svid\"}]}",                /* no x5c */
		"{\"keys\": [{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[]}]}",
		"{\"keys\": [{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[1]}]}",
		"{\"keys\": [{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[\"AA==\"]}]}", /* not DER */
		"{\"keys\": [], \"keys\": []}",                                         /* duplicate */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_EQ_INT(parse(bad[i], &b, err, sizeof(err)), -1);
		CHECK(err[0] != 0);
		CHECK(b.authorities == NULL);
	}
	CHECK_EQ_INT(tds_make(&T), 0);
	ca = b64_cert(T.ca1);
	/* two certificates in one x5c */
	snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[\"%s\",\"%s\"]}]}", ca, ca);
	CHECK_EQ_INT(parse(doc, &b, err, sizeof(err)), -1);
	CHECK(strstr(err, "exactly one") != NULL);
	/* x5c twice in one key */
	snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[\"%s\"],\"x5c\":[\"%s\"]}]}", ca, ca);
	CHECK_EQ_INT(parse(doc, &b, err, sizeof(err)), -1);
	/* base64url is not base64 */
	for (char *p = ca; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[\"%s\"]}]}", ca);
	if (strpbrk(ca, "-_")) {
		CHECK_EQ_INT(parse(doc, &b, err, sizeof(err)), -1);
		CHECK(strstr(err, "base64") != NULL);
	}
	free(ca);
	/* a leaf is not an authority */
	l = leaf(&T, T.ca1, T.k1, "URI:spiffe://td1/a");
	lf = b64_cert(l);
	snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[\"%s\"]}]}", lf);
	CHECK_EQ_INT(parse(doc, &b, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a CA") != NULL);
	free(lf);
	X509_free(l);
	/* refresh hint and sequence are non-negative integers */
	CHECK_EQ_INT(parse("{\"keys\":[],\"spiffe_refresh_hint\":-1}", &b, err, sizeof(err)), -1);
	CHECK(strstr(err, "spiffe_refresh_hint") != NULL);
	CHECK_EQ_INT(parse("{\"keys\":[],\"spiffe_sequence\":\"1\"}", &b, err, sizeof(err)), -1);
	CHECK(strstr(err, "spiffe_sequence") != NULL);
	tds_free(&T);
}

TEST(spiffe_bundle_size_and_keys_bounded)
{
	struct spiffe_bundle b;
	char err[256];
	size_t n = SPIFFE_BUNDLE_MAX + 1, len = 0;
	char *big = malloc(n + 1);

	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = 0;
	CHECK_EQ_INT(spiffe_bundle_parse_json(big, n, &b, err, sizeof(err)), -1);
	CHECK(strstr(err, "larger than") != NULL);
	/* SPIFFE_BUNDLE_KEYS_MAX + 1 keys */
	len = (size_t)snprintf(big, n, "{\"keys\":[");
	for (int i = 0; i <= SPIFFE_BUNDLE_KEYS_MAX; i++)
		len += (size_t)snprintf(big + len, n - len, "%s{\"kty\":\"EC\",\"use\":\"jwt-svid\"}", i ? "," : "");
	snprintf(big + len, n - len, "]}");
	CHECK_EQ_INT(parse(big, &b, err, sizeof(err)), -1);
	CHECK(strstr(err, "more than") != NULL);
	free(big);
}

TEST(spiffe_bundle_is_json_by_first_byte)
{
	CHECK(spiffe_bundle_is_json(" \n\t{", 4));
	CHECK(!spiffe_bundle_is_json("-----BEGIN CERTIFICATE-----", 27));
	CHECK(!spiffe_bundle_is_json("", 0));
	CHECK(!spiffe_bundle_is_json("   ", 3));
}

/* ---- X.509-SVID checks on hand-made facts ---- */

TEST(spiffe_svid_checks_in_order)
{
	struct spiffe_td td[2] = {
		{ .name = "td1", .name_len = 3 }, { .name = "example.org", .name_len = 11 },
	};
	struct policy pol;
	struct cert_san sans[3] = {
		{ .type = CERT_SAN_URI, .value = "spiffe://example.org/ns/a" },
		{ .type = CERT_SAN_DNS, .value = "a.example" },
		{ .type = CERT_SAN_URI, .value = "spiffe://td1/b" },
	};
	struct cert_ext x;
	int i;

	memset(&pol, 0, sizeof(pol));
	pol.tds = td;
	pol.ntds = 2;
	memset(&x, 0, sizeof(x));
	x.sans = sans;
	x.nsans = x.san_total = 2;
	x.has_key_usage = 1;
	x.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_OK);
	CHECK_EQ_INT(i, 1);
	/* several URI SANs, whatever they are */
	x.nsans = x.san_total = 3;
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_MULTI_URI);
	CHECK_EQ_INT(i, -1);
	/* names that were not kept cannot be told (cert-ext keeps none
	 * beyond CERT_SANS_KEEP_MAX) */
	x.nsans = 0;
	x.san_total = CERT_SANS_KEEP_MAX + 1;
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_NAMES_DROPPED);
	x.nsans = x.san_total = 1;
	x.sans = &sans[1];
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_NO_URI);
	x.sans = sans;
	sans[0].value = "https://example.org/a";
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_NOT_SPIFFE);
	sans[0].value = "SPIFFE://example.org/a";
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_BAD_ID);
	sans[0].value = "spiffe://example.org:443/a";
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_BAD_ID);
	/* a trust domain is compared whole: neither a prefix nor a suffix */
	sans[0].value = "spiffe://example.org.evil/a";
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_TD_UNKNOWN);
	sans[0].value = "spiffe://td/a";
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_TD_UNKNOWN);
	/* the trust domain's own ID is no leaf's (X.509-SVID 3.1, 5.2) */
	sans[0].value = "spiffe://td1";
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_NO_PATH);
	CHECK_EQ_INT(i, -1);
	sans[0].value = "spiffe://td1/w";
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_OK);
	CHECK_EQ_INT(i, 0);
	/* leaf rules */
	x.bc_ca = 1;
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_LEAF_CA);
	CHECK_EQ_INT(i, -1);
	x.bc_ca = 0;
	x.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN;
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_KEY_USAGE);
	x.key_usage = KU_DIGITAL_SIGNATURE | KU_CRL_SIGN;
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_KEY_USAGE);
	x.key_usage = KU_KEY_ENCIPHERMENT;
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_KEY_USAGE);
	x.key_usage = KU_DIGITAL_SIGNATURE;
	x.has_key_usage = 0;
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_KEY_USAGE);
	x.has_key_usage = 1;
	CHECK_EQ_INT(rules_svid_check(&pol, &x, &i), SVID_OK);
}

/* ---- one store per trust domain, through the pipeline ---- */

TEST(spiffe_td_store_is_never_pooled)
{
	struct tds T;
	struct config *cfg;
	struct decision d;
	struct trace t;
	char text[512], err[512];
	X509 *good1, *good2, *cross, *unknown, *multi, *noturi;

	CHECK_EQ_INT(tds_make(&T), 0);
	for (int verify = 0; verify < VERIFY_MODES; verify++) {
		snprintf(text, sizeof(text), "[policy default]\nverify = %s\nspiffe_bundles = td1=%s, td2=%s\n",
		         cfg_verify_name(verify), T.json, T.pem);
		cfg = test_cfg_text(text, err, sizeof(err));
		CHECK(cfg != NULL);
		if (!cfg) {
			fprintf(stderr, "%s\n", err);
			break;
		}
		CHECK_EQ_INT(cfg->default_policy->ntds, 2);
		CHECK(cfg->default_policy->tds[0].json && !cfg->default_policy->tds[1].json);
		CHECK(cfg->default_policy->tds[0].has_refresh_hint &&
		      cfg->default_policy->tds[0].refresh_hint == 300);
		good1 = leaf(&T, T.ca1, T.k1, "URI:spiffe://td1/web");
		good2 = leaf(&T, T.ca2, T.k2, "URI:spiffe://td2/db");
		cross = leaf(&T, T.ca1, T.k1, "URI:spiffe://td2/db");   /* td1's CA mints a td2 ID */
		unknown = leaf(&T, T.ca1, T.k1, "URI:spiffe://td3/x");
		multi = leaf(&T, T.ca1, T.k1, "URI:spiffe://td1/a,URI:spiffe://td1/b");
		noturi = leaf(&T, T.ca1, T.k1, "URI:https://td1/a");
		decide_for(cfg, good1, &d, &t);
		CHECK_EQ_INT(d.code, DEC_ALLOW);
		CHECK(strstr(t.buf, "trust_domain=pass(td1)") != NULL);
		CHECK_EQ_STR(d.trust_domain, "td1");
		decide_for(cfg, good2, &d, &t);
		CHECK_EQ_INT(d.code, DEC_ALLOW);
		CHECK(strstr(t.buf, "verify(agent)=pass") != NULL);
		decide_for(cfg, cross, &d, &t);
		CHECK_EQ_INT(d.code, DEC_CERT_UNVERIFIED);
		CHECK_EQ_STR(d.rule, "cert_unknown_ca");
		decide_for(cfg, unknown, &d, &t);
		CHECK_EQ_INT(d.code, DEC_SPIFFE_TD_UNKNOWN);
		CHECK_EQ_STR(d.rule, "spiffe_td_unknown");
		CHECK(strstr(d.detail, "td3") != NULL);
		decide_for(cfg, multi, &d, &t);
		CHECK_EQ_INT(d.code, DEC_SPIFFE_MULTI_URI);
		decide_for(cfg, noturi, &d, &t);
		CHECK_EQ_INT(d.code, DEC_SVID_INVALID);
		CHECK_EQ_STR(d.rule, "spiffe_not_spiffe");
		/* a CA certificate of td1 presented as a leaf: no URI */
		decide_for(cfg, T.ca1, &d, &t);
		CHECK_EQ_INT(d.code, DEC_SVID_INVALID);
		CHECK_EQ_STR(d.rule, "spiffe_no_uri");
		/* a CA with a td1 SPIFFE ID, signed by td1's CA */
		{
			struct testpki_cert c = {
				.subject = "/O=SPIFFE", .key = T.lk, .issuer = T.ca1, .issuer_key = T.k1,
				.not_before = NOW - DAY, .not_after = NOW + DAY, .is_ca = 1,
				.san = "URI:spiffe://td1/ca-leaf",
			};
			X509 *caleaf = testpki_make_cert_ex(&c);

			decide_for(cfg, caleaf, &d, &t);
			CHECK_EQ_INT(d.code, DEC_SVID_INVALID);
			CHECK_EQ_STR(d.rule, "svid_ca");
			X509_free(caleaf);
		}
		X509_free(good1);
		X509_free(good2);
		X509_free(cross);
		X509_free(unknown);
		X509_free(multi);
		X509_free(noturi);
		cfg_free(cfg);
	}
	tds_free(&T);
}

TEST(spiffe_bundles_config_refused)
{
	struct tds T;
	struct config *cfg;
	char text[512], err[512];
	/* "spiffe_bundles = " A json ", " B pem TAIL */
	static const char *const bad[][3] = {
		{ "td1=", "td1=", "" },                  /* twice */
		{ "TD1=", "td2=", "" },                  /* uppercase */
		{ "td1:443=", "td2=", "" },
		{ "td1/x=", "td2=", "" },                /* a path is not a trust domain */
		{ "td1", "td2=", "" },                   /* no '=' */
		{ "td1=", "td2=", "\nca_file = /dev/null" },
	};

	CHECK_EQ_INT(tds_make(&T), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[policy default]\nspiffe_bundles = %s%s, %s%s%s\n",
		         bad[i][0], T.json, bad[i][1], T.pem, bad[i][2]);
		cfg = test_cfg_text(text, err, sizeof(err));
		CHECK(cfg == NULL);
		CHECK(strstr(err, "spiffe_bundles") != NULL);
		cfg_free(cfg);
	}
	/* an unreadable bundle, a bundle that is neither */
	snprintf(text, sizeof(text), "[policy default]\nspiffe_bundles = td1=/nonexistent/b.json\n");
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK(strstr(err, "/nonexistent/b.json") != NULL);
	tds_free(&T);
}

/* ---- client_id ---- */

TEST(spiffe_client_id_kinds)
{
	struct tds T;
	struct config *cfg;
	struct decision d, d2;
	struct trace t;
	char text[512], err[512], want[80];
	X509 *a, *b, *renewed, *longid;
	char longsan[300];

	CHECK_EQ_INT(tds_make(&T), 0);
	a = leaf(&T, T.ca1, T.k1, "URI:spiffe://td1/a");
	/* the same key, renewed: the spki client_id stays */
	renewed = leaf(&T, T.ca1, T.k1, "URI:spiffe://td1/a");
	snprintf(longsan, sizeof(longsan), "URI:spiffe://td1/%0200d", 7);
	longid = leaf(&T, T.ca1, T.k1, longsan);
	{
		EVP_PKEY *other = testpki_make_key(), *keep = T.lk;

		T.lk = other;
		b = leaf(&T, T.ca1, T.k1, "URI:spiffe://td1/b");
		T.lk = keep;
		EVP_PKEY_free(other);
	}
	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nspiffe_bundles = td1=%s\n", T.json);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (!cfg)
		goto out;
	CHECK_EQ_INT(cfg->default_policy->client_id, CLIENT_ID_SPKI);
	decide_for(cfg, a, &d, &t);
	CHECK(strncmp(d.client_id, "spki:", 5) == 0 && strlen(d.client_id) == 5 + 64);
	decide_for(cfg, renewed, &d2, &t);
	CHECK_EQ_STR(d.client_id, d2.client_id);
	decide_for(cfg, b, &d2, &t);
	CHECK(strcmp(d.client_id, d2.client_id) != 0);
	cfg_free(cfg);

	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nspiffe_bundles = td1=%s\nclient_id = spiffe\n", T.json);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (!cfg)
		goto out;
	decide_for(cfg, a, &d, &t);
	CHECK_EQ_STR(d.client_id, "spiffe://td1/a");
	/* a denial still has a client_id: failed attempts count too */
	decide_for(cfg, T.ca1, &d, &t);
	CHECK(d.code != DEC_ALLOW);
	CHECK(strncmp(d.client_id, "spki:", 5) == 0);
	/* too long: bounded, hashed, still distinct and stable */
	decide_for(cfg, longid, &d, &t);
	CHECK_EQ_INT(d.code, DEC_ALLOW);
	CHECK(strncmp(d.client_id, "sha256:", 7) == 0 && strlen(d.client_id) == 7 + 64);
	decide_for(cfg, longid, &d2, &t);
	CHECK_EQ_STR(d.client_id, d2.client_id);
	cfg_free(cfg);

	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nspiffe_bundles = td1=%s\nclient_id = identity\n", T.json);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (!cfg)
		goto out;
	decide_for(cfg, a, &d, &t);
	snprintf(want, sizeof(want), "id:%s", "spiffe://td1/a");
	CHECK_EQ_STR(d.client_id, want);
	cfg_free(cfg);
	/* only the three words */
	snprintf(text, sizeof(text), "[policy default]\nclient_id = SPKI\n");
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg == NULL);
	cfg_free(cfg);
out:
	X509_free(a);
	X509_free(b);
	X509_free(renewed);
	X509_free(longid);
	tds_free(&T);
}

/* certs as a PEM bundle, read back into a malloc'd buffer (*len bytes). */
static char *pem_text(X509 *const *certs, int n, size_t *len)
{
	char path[64], *text = calloc(1, 16384);
	FILE *f;

	*len = 0;
	if (!text || testpki_write_pem(certs, n, path, sizeof(path)) < 0)
		return text;
	if ((f = fopen(path, "r")) != NULL) {
		*len = fread(text, 1, 16383, f);
		fclose(f);
	}
	unlink(path);
	return text;
}

/* A PEM bundle holds authorities only, like a JSON one. */
TEST(spiffe_bundle_pem_authorities_only)
{
	struct tds T;
	struct spiffe_bundle b;
	char err[256], *text;
	X509 *certs[2];
	size_t n;

	CHECK_EQ_INT(tds_make(&T), 0);
	certs[0] = T.ca1;
	certs[1] = T.ca2;
	text = pem_text(certs, 2, &n);
	CHECK(n > 40);
	CHECK_EQ_INT(spiffe_bundle_parse_pem(text, n, &b, err, sizeof(err)), 0);
	CHECK_EQ_INT(sk_X509_num(b.authorities), 2);
	spiffe_bundle_clear(&b);
	/* cut in the middle of the second block */
	CHECK_EQ_INT(spiffe_bundle_parse_pem(text, n - 40, &b, err, sizeof(err)), -1);
	CHECK(b.authorities == NULL);
	free(text);
	CHECK_EQ_INT(spiffe_bundle_parse_pem("hello", 5, &b, err, sizeof(err)), -1);
	CHECK(strstr(err, "no PEM certificate") != NULL);
	certs[1] = leaf(&T, T.ca1, T.k1, "URI:spiffe://td1/a");
	text = pem_text(certs, 2, &n);
	CHECK_EQ_INT(spiffe_bundle_parse_pem(text, n, &b, err, sizeof(err)), -1);
	CHECK(strstr(err, "certificate 2 is not a CA") != NULL);
	free(text);
	X509_free(certs[1]);
	tds_free(&T);
}
