/* Lists mean exactly what they say: inline DN lists quote each DN, one
 * comment syntax everywhere, serials compared as DER INTEGER content octets,
 * SPKI pins over the canonical key encoding, forbid_signature names that
 * map to a digest, key limits that cover every key type. Each case goes
 * from config text through cfg_load() and decide_request() and asserts the
 * exact code and rule (or the exact -c error). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cert.h"
#include "cfg.h"
#include "decide.h"
#include "lists.h"
#include "rules.h"
#include "strset.h"
#include "testcfg.h"
#include "testhelp.h"
#include "testpki.h"
#include "tplist.h"

#define NOW 1950000000LL
#define DAY 86400LL

static struct {
	int ready;
	EVP_PKEY *ca_key, *key;
	X509 *ca;
	char ca_file[64];
	char files[16][64];
	int nfiles;
} L;

static void cleanup(void)
{
	for (int i = 0; i < L.nfiles; i++)
		unlink(L.files[i]);
	if (L.ca_file[0])
		unlink(L.ca_file);
}

static void setup(void)
{
	if (L.ready)
		return;
	L.ca_key = testpki_make_key();
	L.key = testpki_make_key();
	L.ca = testpki_make_cert("/O=Example/CN=Lists CA", L.ca_key, NULL, NULL,
	                         NOW - 100 * DAY, NOW + 1000 * DAY, 1, NULL);
	atexit(cleanup);
	/* issuer rules (serials with an issuer DN) need a trust store */
	L.ready = L.ca_key && L.key && L.ca &&
	          testpki_write_pem(&L.ca, 1, L.ca_file, sizeof(L.ca_file)) == 0;
}

/* A leaf from the test CA; key NULL = the shared P-256 key. */
static X509 *mk(const char *subj, EVP_PKEY *key, const char *serial, const char *md)
{
	struct testpki_cert c = {
		.subject = subj, .key = key ? key : L.key, .issuer = L.ca, .issuer_key = L.ca_key,
		.not_before = NOW - DAY, .not_after = NOW + 30 * DAY, .eku = "clientAuth",
		.serial_hex = serial, .md = md,
	};

	return testpki_make_cert_ex(&c);
}

static const char *write_tmp(const char *text)
{
	int fd;

	if (L.nfiles == 16)
		return NULL;
	snprintf(L.files[L.nfiles], sizeof(L.files[0]), "/tmp/certspoa-l2-XXXXXX");
	fd = mkstemp(L.files[L.nfiles]);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return NULL;
	close(fd);
	return L.files[L.nfiles++];
}

/* Load "[policy default]" + extra; NULL with the error in err. */
static struct config *load(const char *extra, char *err, size_t errlen)
{
	char text[4096];

	/* after extra, so that extra is on line 2 */
	snprintf(text, sizeof(text), "[policy default]\n%s\n%s%s\n", extra,
	         strstr(extra, "ca_file") ? "" : "ca_file = ", strstr(extra, "ca_file") ? "" : L.ca_file);
	return test_cfg_text(text, err, errlen);
}

/* The config is refused, on line 2, naming key and containing needle. */
static void rejected(const char *extra, const char *key, const char *needle, int line)
{
	char err[1024], want[128];
	struct config *cfg = load(extra, err, sizeof(err));

	if (cfg) {
		unit_fail(__FILE__, line, "[%s] loaded, expected an error about %s", extra, key);
		cfg_free(cfg);
		return;
	}
	snprintf(want, sizeof(want), ":2: %s: ", key);
	if (!strstr(err, want) || !strstr(err, needle))
		unit_fail(__FILE__, line, "[%s]: error \"%s\", expected \"%s\" and \"%s\"",
		          extra, err, want, needle);
}
#define REJECTED(extra, key, needle) rejected(extra, key, needle, __LINE__)

static void accepted(const char *extra, int line)
{
	char err[1024];
	struct config *cfg = load(extra, err, sizeof(err));

	if (!cfg)
		unit_fail(__FILE__, line, "[%s] refused: %s", extra, err);
	cfg_free(cfg);
}
#define ACCEPTED(extra) accepted(extra, __LINE__)

/* Decide for x under "[policy default]" + extra (HAProxy verified it). */
static void expect(const char *extra, X509 *x, const char *code, const char *rule, int line)
{
	char err[1024];
	struct config *cfg = load(extra, err, sizeof(err));
	struct decide_ctx hc;
	struct req_facts rq;
	struct cert_eval ce;
	struct decision d;
	struct trace t = { .on = 1 };
	const char *route;
	unsigned char *der;
	size_t len;

	if (!cfg) {
		unit_fail(__FILE__, line, "[%s] refused: %s", extra, err);
		return;
	}
	if (!x || !(der = testpki_to_der(x, &len))) {
		unit_fail(__FILE__, line, "no certificate");
		cfg_free(cfg);
		return;
	}
	memset(&rq, 0, sizeof(rq));
	rq.has_cert = 1;
	rq.cert.ptr = (const char *)der;
	rq.cert.len = len;
	rq.has_verify = 1;
	rq.verify = 0;
	decide_init(&hc, cfg, 1);
	decide_request(&hc, &rq, NOW, &t, &ce, &d, &route);
	if (strcmp(dec_table[d.code].code, code) != 0 || !d.rule || strcmp(d.rule, rule) != 0)
		unit_fail(__FILE__, line, "[%s]: got %s/%s (%s), expected %s/%s; trace: %s",
		          extra, dec_table[d.code].code, d.rule ? d.rule : "-", d.detail,
		          code, rule, t.buf);
	decide_destroy(&hc);
	free(der);
	cfg_free(cfg);
}
#define EXPECT(extra, x, code, rule) expect(extra, x, code, rule, __LINE__)

/* ---- 1. inline DN lists: one quoted DN per entry, never split ---- */

TEST(lists2_inline_dn_quoted)
{
	X509 *alice, *org, *bob;

	setup();
	CHECK(L.ready);
	alice = mk("/O=Example/CN=alice", NULL, NULL, NULL);
	org = mk("/O=Example", NULL, NULL, NULL);
	bob = mk("/O=Example/CN=bob", NULL, NULL, NULL);
	EXPECT("allow_subjects = \"CN=alice,O=Example\", \"CN=bob,O=Example\"", alice, "ok", "allow_subjects");
	EXPECT("allow_subjects = \"CN=alice,O=Example\", \"CN=bob,O=Example\"", bob, "ok", "allow_subjects");
	/* the old split made "O=Example" an entry of its own */
	EXPECT("allow_subjects = \"CN=alice,O=Example\", \"CN=bob,O=Example\"", org, "cert_untrusted", "identity");
	EXPECT("allow_subjects = \"CN=alice,O=Example\"", org, "cert_untrusted", "identity");
	EXPECT("deny_subjects = \"CN=alice,O=Example\"", alice, "cert_untrusted", "deny_subjects");
	EXPECT("deny_issuers = \"CN=Lists CA,O=Example\"", alice, "cert_untrusted", "deny_issuers");
	EXPECT("allow_issuers = \"CN=Lists CA,O=Example\", \"CN=Other CA,O=Example\"", alice, "ok", "allow_issuers");
	/* a quoted DN keeps its own escapes: "\," is a comma in a value */
	{
		X509 *comma = mk("/O=Example/CN=a\\,b", NULL, NULL, NULL);

		EXPECT("allow_subjects = \"CN=a\\,b,O=Example\", \"CN=b\"", comma, "ok", "allow_subjects");
		EXPECT("allow_subjects = \"CN=a\\,b,O=Example\", \"CN=b\"", org, "cert_untrusted", "identity");
		X509_free(comma);
	}
	/* one unquoted DN without a comma is unambiguous */
	EXPECT("deny_subjects = /O=Example/CN=alice", alice, "cert_untrusted", "deny_subjects");
	EXPECT("allow_issuers = CN=Other", alice, "cert_untrusted", "identity");
	X509_free(alice);
	X509_free(org);
	X509_free(bob);
}

TEST(lists2_inline_dn_ambiguous_rejected)
{
	setup();
	REJECTED("allow_subjects = CN=alice,O=Example", "allow_subjects", "ambiguous DN list");
	REJECTED("deny_subjects = CN=mallory,O=Example", "deny_subjects", "quote each DN");
	REJECTED("allow_issuers = CN=CA,O=Example", "allow_issuers", "ambiguous DN list");
	REJECTED("deny_issuers = CN=CA,O=Example", "deny_issuers", "ambiguous DN list");
	/* quoted and unquoted mixed: the unquoted one is still ambiguous */
	REJECTED("allow_subjects = \"CN=a,O=b\", CN=c", "allow_subjects", "ambiguous DN list");
	/* the issuer part of a serial entry is a DN too */
	REJECTED("deny_serials = 0a CN=CA,O=Example", "deny_serials", "ambiguous DN list");
	REJECTED("allow_subjects = \"CN=a,O=b", "allow_subjects", "unterminated quote");
	REJECTED("allow_subjects = \"CN=a\" O=b", "allow_subjects", "after the closing quote");
	REJECTED("allow_subjects = \"\"", "allow_subjects", "empty DN");
	ACCEPTED("deny_subjects = CN=mallory");
	ACCEPTED("deny_serials = 0a \"CN=CA,O=Example\", 0b, 0c \"/O=Example/CN=CA\"");
	REJECTED("deny_serials = 0a \"CN=CA,O=Example\", 0c /O=Example/CN=CA", "deny_serials", "ambiguous DN list");
	ACCEPTED("deny_serials = 0c /O=Example/CN=CA");
	/* serials alone are still a plain comma list */
	ACCEPTED("deny_serials = 0a, 0b:0c, -1");
}

TEST(lists2_dn_file_never_split)
{
	char line[256];
	X509 *svc, *svcprod;

	setup();
	svc = mk("/O=Example/CN=svc", NULL, "0a1b", NULL);
	svcprod = mk("/O=Example/CN=svc#prod", NULL, NULL, NULL);
	/* '#' inside an entry is no comment; "# ..." after a space is */
	snprintf(line, sizeof(line), "allow_subjects = @%s",
	         write_tmp("# who may call\nCN=svc#prod,O=Example   # the prod service\n\"CN=bob,O=Example\"\n"));
	EXPECT(line, svcprod, "ok", "allow_subjects");
	EXPECT(line, svc, "cert_untrusted", "identity");
	/* serial + issuer DN in a file, quoted or not */
	snprintf(line, sizeof(line), "allow_serials = @%s",
	         write_tmp("0a1b \"CN=Lists CA,O=Example\"\n0c0d CN=Lists CA,O=Example ; another\n"));
	EXPECT(line, svc, "ok", "allow_serials");
	X509_free(svc);
	X509_free(svcprod);
}

/* ---- 2. one comment syntax: INI values and list files ---- */

TEST(lists2_inline_comment_stripped)
{
	X509 *mallory;

	setup();
	mallory = mk("/O=Example/CN=mallory", NULL, NULL, NULL);
	/* the old parser kept "mallory   # revoked" as the name: nobody denied */
	EXPECT("deny_cn = mallory   # revoked", mallory, "cert_untrusted", "deny_cn");
	EXPECT("deny_cn = mallory\t# revoked", mallory, "cert_untrusted", "deny_cn");
	EXPECT("deny_cn = mallory ; revoked", mallory, "cert_untrusted", "deny_cn");
	EXPECT("allow_cn = mallory # only him", mallory, "ok", "allow_cn");
	EXPECT("deny_cn = mallory#1", mallory, "ok", "verified");
	/* comments after other kinds of values too */
	EXPECT("min_rsa_bits = 2048   # RSA only\nmode = shadow # for now\ndeny_cn = mallory", mallory, "ok", "shadow");
	REJECTED("deny_cn =    # nobody yet", "deny_cn", "empty list");
	REJECTED("allow_cn = # nobody", "allow_cn", "empty list");
	X509_free(mallory);
}

TEST(lists2_file_comment_syntax)
{
	char line[256];
	X509 *x;
	unsigned char sha1[20], sha256[32], *der;
	size_t len;
	char hex[65], text[256];

	setup();
	x = mk("/O=Example/CN=uri", NULL, NULL, NULL);
	der = testpki_to_der(x, &len);
	CHECK(der != NULL);
	if (!der)
		return;
	cert_digests(der, len, sha1, sha256);
	cert_hex(sha256, 32, hex);
	/* thumbprint files: '#' after white space is a comment ... */
	snprintf(text, sizeof(text), "; revoked on Monday\n%s  # uri, laptop\n", hex);
	snprintf(line, sizeof(line), "deny_thumbprints = @%s", write_tmp(text));
	EXPECT(line, x, "cert_untrusted", "deny_thumbprints");
	/* ... right after the digest it is not */
	snprintf(text, sizeof(text), "%s#uri\n", hex);
	snprintf(line, sizeof(line), "deny_thumbprints = @%s", write_tmp(text));
	REJECTED(line, "deny_thumbprints", "not a SHA-1 or SHA-256 hex digest");
	/* an URI entry keeps its fragment */
	snprintf(line, sizeof(line), "allow_uri = @%s", write_tmp("spiffe://td/x#frag  # a fragment\n"));
	{
		char err[1024];
		struct config *cfg = load(line, err, sizeof(err));
		const struct strset *s = cfg ? cfg->default_policy->allow[ID_URI].set : NULL;

		CHECK(cfg != NULL);
		CHECK(s && strset_has(s, "spiffe://td/x#frag", 18));
		CHECK(s && !strset_has(s, "spiffe://td/x", 13));
		cfg_free(cfg);
	}
	free(der);
	X509_free(x);
}

/* ---- 6. serials: DER INTEGER content octets on both sides ---- */

TEST(lists2_serial_normal_form)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "0", "00" }, { "00", "00" }, { "-0", "00" }, { "1", "01" }, { "01", "01" },
		{ "7f", "7f" }, { "80", "0080" }, { "ff", "00ff" }, { "FF", "00ff" }, { "0xff", "00ff" },
		{ "00:ff", "00ff" }, { "0a1b2c", "0a1b2c" }, { "a1b2c", "0a1b2c" },
		{ "-1", "ff" }, { "-01", "ff" }, { "-0x1", "ff" }, { "-7f", "81" }, { "-80", "80" },
		{ "-81", "ff7f" }, { "-ff", "ff01" }, { "-100", "ff00" }, { "-8000", "8000" },
	};
	char out[160];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = lists_norm_serial(v[i].in, strlen(v[i].in), out, sizeof(out));

		if (!n || strcmp(out, v[i].out) != 0)
			unit_fail(__FILE__, __LINE__, "norm_serial(%s) = %s, expected %s", v[i].in,
			          n ? out : "(error)", v[i].out);
	}
	CHECK_EQ_INT(lists_norm_serial("", 0, out, sizeof(out)), 0);
	CHECK_EQ_INT(lists_norm_serial("-", 1, out, sizeof(out)), 0);
	CHECK_EQ_INT(lists_norm_serial("0x", 2, out, sizeof(out)), 0);
	CHECK_EQ_INT(lists_norm_serial("12g4", 4, out, sizeof(out)), 0);
	CHECK_EQ_INT(lists_norm_serial("ff", 2, out, 4), 0);     /* "00ff" does not fit */
	/* the raw reading, for deny lists */
	CHECK(lists_serial_raw("ff", 2, out, sizeof(out)) == 2 && strcmp(out, "ff") == 0);
	CHECK(lists_serial_raw("FF:FF", 5, out, sizeof(out)) == 2 && strcmp(out, "ff") == 0);
	CHECK(lists_serial_raw("ff7f", 4, out, sizeof(out)) == 4 && strcmp(out, "ff7f") == 0);
	CHECK_EQ_INT(lists_serial_raw("7f", 2, out, sizeof(out)), 0);
	CHECK_EQ_INT(lists_serial_raw("fff", 3, out, sizeof(out)), 0);
	CHECK_EQ_INT(lists_serial_raw("-ff", 3, out, sizeof(out)), 0);
}

TEST(lists2_negative_serial)
{
	X509 *neg, *pos;

	setup();
	neg = mk("/O=Example/CN=neg", NULL, "-1", NULL);
	pos = mk("/O=Example/CN=pos", NULL, "FF", NULL);
	CHECK(neg && pos);
	/* the old code compared "-01" with "ff" and missed it */
	EXPECT("deny_serials = FF", neg, "cert_untrusted", "deny_serials");
	EXPECT("deny_serials = ff", neg, "cert_untrusted", "deny_serials");
	EXPECT("deny_serials = -1", neg, "cert_untrusted", "deny_serials");
	EXPECT("deny_serials = -01", neg, "cert_untrusted", "deny_serials");
	EXPECT("deny_serials = ff \"CN=Lists CA,O=Example\"", neg, "cert_untrusted", "deny_serials");
	/* FF as openssl prints it: the positive 255 */
	EXPECT("deny_serials = FF", pos, "cert_untrusted", "deny_serials");
	EXPECT("deny_serials = -1", pos, "ok", "verified");
	EXPECT("deny_serials = 00ff", neg, "ok", "verified");
	/* allow lists take only the positive reading: -1 must be written so */
	EXPECT("allow_serials = ff", neg, "cert_untrusted", "identity");
	EXPECT("allow_serials = -1", neg, "ok", "allow_serials");
	EXPECT("allow_serials = ff", pos, "ok", "allow_serials");
	X509_free(neg);
	X509_free(pos);
}

/* ---- 3. SPKI pins over the canonical encoding of the key ---- */

/* A copy of k whose public point is written as fmt ("compressed", ...) and
 * its curve as enc ("named_curve", "explicit"); NULL enc leaves it. */
static EVP_PKEY *ec_encoded(EVP_PKEY *k, const char *fmt, const char *enc)
{
	EVP_PKEY *c = EVP_PKEY_dup(k);

	if (c && (!EVP_PKEY_set_utf8_string_param(c, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, fmt) ||
	          (enc && !EVP_PKEY_set_utf8_string_param(c, OSSL_PKEY_PARAM_EC_ENCODING, enc)))) {
		EVP_PKEY_free(c);
		c = NULL;
	}
	return c;
}

/* The pin of the SPKI exactly as x carries it (what the old code used). */
static void raw_pin(X509 *x, char out[45])
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);

	out[0] = 0;
	if (n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL))
		EVP_EncodeBlock((unsigned char *)out, md, 32);
	OPENSSL_free(der);
}

static int spki_len(X509 *x)
{
	return i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), NULL);
}

TEST(lists2_spki_pin_canonical)
{
	EVP_PKEY *k = testpki_make_ec_key("P-256"), *kc, *ku, *ke;
	X509 *comp, *unc, *expl;
	char pin_u[45], pin_c[45], pin_e[45], line[256];
	struct cert_ext *ec, *eu, *ee;

	setup();
	kc = k ? ec_encoded(k, "compressed", NULL) : NULL;
	ku = k ? ec_encoded(k, "uncompressed", NULL) : NULL;
	ke = k ? ec_encoded(k, "uncompressed", "explicit") : NULL;
	CHECK(kc && ku && ke);
	if (!kc || !ku || !ke)
		return;
	comp = mk("/O=Example/CN=compressed", kc, NULL, NULL);
	unc = mk("/O=Example/CN=uncompressed", ku, NULL, NULL);
	expl = mk("/O=Example/CN=explicit", ke, NULL, NULL);
	CHECK(comp && unc && expl);
	/* the same key, three encodings of it */
	CHECK_EQ_INT(spki_len(comp), 59);
	CHECK_EQ_INT(spki_len(unc), 91);
	CHECK(spki_len(expl) > 91);
	raw_pin(unc, pin_u);
	raw_pin(comp, pin_c);
	raw_pin(expl, pin_e);
	CHECK(strcmp(pin_u, pin_c) != 0 && strcmp(pin_u, pin_e) != 0);
	/* the pin is the uncompressed, named-curve encoding's, whatever the certificate says */
	ec = cert_get_ext(comp);
	eu = cert_get_ext(unc);
	ee = cert_get_ext(expl);
	CHECK(ec && eu && ee);
	if (ec && eu && ee) {
		CHECK_EQ_STR(eu->spki_pin, pin_u);
		CHECK_EQ_STR(ec->spki_pin, pin_u);
		CHECK_EQ_STR(ee->spki_pin, pin_u);
		CHECK_EQ_MEM(ec->spki_sha256, eu->spki_sha256, 32);
	}
	free(ec);
	free(eu);
	free(ee);
	/* a compromised key stays denied when re-encoded */
	snprintf(line, sizeof(line), "deny_spki_pins = %s", pin_u);
	EXPECT(line, comp, "cert_untrusted", "deny_spki_pins");
	EXPECT(line, expl, "cert_untrusted", "deny_spki_pins");
	EXPECT(line, unc, "cert_untrusted", "deny_spki_pins");
	/* and an allowed key is allowed in any encoding */
	snprintf(line, sizeof(line), "allow_spki_pins = %s", pin_u);
	EXPECT(line, comp, "ok", "allow_spki_pins");
	/* a pin of the compressed encoding names no key */
	snprintf(line, sizeof(line), "allow_spki_pins = %s", pin_c);
	EXPECT(line, comp, "cert_untrusted", "identity");
	X509_free(comp);
	X509_free(unc);
	X509_free(expl);
	EVP_PKEY_free(k);
	EVP_PKEY_free(kc);
	EVP_PKEY_free(ku);
	EVP_PKEY_free(ke);
}

/* ---- 4. forbid_signature: names that map to a digest ---- */

/* x re-signed by key with RSASSA-PSS over md. */
static int resign_pss(X509 *x, EVP_PKEY *key, const EVP_MD *md)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok = mctx && EVP_DigestSignInit(mctx, &pctx, md, NULL, key) > 0 &&
	         EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
	         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
	         X509_sign_ctx(x, mctx) > 0;

	EVP_MD_CTX_free(mctx);
	return ok;
}

TEST(lists2_forbid_signature_names)
{
	static const char *const sha1_names[] = {
		"sha1", "SHA1", "RSA-SHA1", "sha1WithRSAEncryption", "ecdsa-with-SHA1", "dsaWithSHA1",
		"1.3.14.3.2.26", "md5, sha1", "rsa-sha1",
	};
	X509 *s1, *s256;
	char line[128];

	setup();
	s1 = mk("/O=Example/CN=sha1", NULL, NULL, "sha1");
	s256 = mk("/O=Example/CN=sha256", NULL, NULL, NULL);
	CHECK(s1 && s256);
	for (size_t i = 0; i < sizeof(sha1_names) / sizeof(sha1_names[0]); i++) {
		snprintf(line, sizeof(line), "forbid_signature = %s", sha1_names[i]);
		/* the old code took RSA-SHA1 and ecdsa-with-SHA1 for themselves: never matched */
		EXPECT(line, s1, "cert_untrusted", "forbid_signature");
		EXPECT(line, s256, "ok", "verified");
	}
	EXPECT("forbid_signature = RSA-SHA256", s256, "cert_untrusted", "forbid_signature");
	EXPECT("forbid_signature = SHA2-256", s256, "cert_untrusted", "forbid_signature");
	REJECTED("forbid_signature = CN", "forbid_signature", "'CN' is not a digest");
	REJECTED("forbid_signature = sha1, prime256v1", "forbid_signature", "'prime256v1' is not a digest");
	REJECTED("forbid_signature = ED25519", "forbid_signature", "is not a digest");
	REJECTED("forbid_signature = RSASSA-PSS", "forbid_signature", "is not a digest");
	REJECTED("forbid_signature = sha1x", "forbid_signature", "is not a digest");
	X509_free(s1);
	X509_free(s256);
}

TEST(lists2_forbid_signature_pss_and_eddsa)
{
	EVP_PKEY *rk = testpki_make_rsa_key(2048), *ek = testpki_make_ed25519_key();
	X509 *rca = NULL, *pss1 = NULL, *pss256 = NULL, *eca = NULL, *ed = NULL;
	struct testpki_cert c = {
		.subject = "/O=Example/CN=pss", .key = L.key, .not_before = NOW - DAY,
		.not_after = NOW + 30 * DAY, .eku = "clientAuth",
	};

	setup();
	c.key = L.key;      /* set by setup(): the initializer above ran before it */
	CHECK(rk && ek);
	if (!rk || !ek)
		goto out;
	rca = testpki_make_cert("/CN=RSA CA", rk, NULL, NULL, NOW - DAY, NOW + 90 * DAY, 1, NULL);
	eca = testpki_make_cert("/CN=Ed CA", ek, NULL, NULL, NOW - DAY, NOW + 90 * DAY, 1, NULL);
	c.issuer = rca;
	c.issuer_key = rk;
	pss1 = testpki_make_cert_ex(&c);
	pss256 = testpki_make_cert_ex(&c);
	c.issuer = eca;
	c.issuer_key = ek;
	ed = testpki_make_cert_ex(&c);
	CHECK(pss1 && pss256 && ed);
	CHECK(pss1 && resign_pss(pss1, rk, EVP_sha1()));
	CHECK(pss256 && resign_pss(pss256, rk, EVP_sha256()));
	/* RSA-PSS: the digest is in the parameters */
	EXPECT("forbid_signature = sha1", pss1, "cert_untrusted", "forbid_signature");
	EXPECT("forbid_signature = sha1", pss256, "ok", "verified");
	EXPECT("forbid_signature = sha256", pss256, "cert_untrusted", "forbid_signature");
	/* Ed25519 signs without a separate digest: not forbidden */
	EXPECT("forbid_signature = sha1, sha512", ed, "ok", "verified");
out:
	X509_free(rca);
	X509_free(eca);
	X509_free(pss1);
	X509_free(pss256);
	X509_free(ed);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ek);
}

/* A signature algorithm OpenSSL does not know: the digest cannot be told. */
TEST(lists2_forbid_signature_unknown_digest)
{
	static const unsigned char oid[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
	X509 *x, *y = NULL;
	unsigned char *der, *p = NULL;
	const unsigned char *q;
	size_t len, i, last = 0;

	setup();
	x = mk("/O=Example/CN=odd", NULL, NULL, NULL);
	der = x ? testpki_to_der(x, &len) : NULL;
	CHECK(der != NULL);
	if (!der)
		goto out;
	/* ecdsa-with-SHA256 -> 1.2.840.10045.4.3.127 in the outer signatureAlgorithm */
	for (i = 0; i + sizeof(oid) <= len; i++)
		if (memcmp(der + i, oid, sizeof(oid)) == 0)
			last = i;
	CHECK(last > 0);
	der[last + sizeof(oid) - 1] = 0x7f;
	q = der;
	y = d2i_X509(NULL, &q, (long)len);
	CHECK(y != NULL);
	if (y) {
		struct cert_ext *e = cert_get_ext(y);

		CHECK(e != NULL);
		if (e)
			CHECK_EQ_INT(e->sig_md_nid, NID_undef);
		free(e);
		EXPECT("forbid_signature = md5", y, "cert_untrusted", "forbid_signature");
		EXPECT("deny_cn = nobody", y, "ok", "verified");
	}
out:
	OPENSSL_free(p);
	free(der);
	X509_free(x);
	X509_free(y);
}

/* ---- 5. key limits cover every key type ---- */

TEST(lists2_key_limits_every_type)
{
	EVP_PKEY *sm2 = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	EVP_PKEY *ed = testpki_make_ed25519_key();
	EVP_PKEY *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	EVP_PKEY *p384 = testpki_make_ec_key("P-384");
	EVP_PKEY *rsa = testpki_make_rsa_key(2048);
	X509 *xs = NULL, *xe = NULL, *x448 = NULL, *x384 = NULL, *x256 = NULL, *xr = NULL;

	setup();
	CHECK(sm2 && ed && ed448 && p384 && rsa);
	if (!sm2 || !ed || !ed448 || !p384 || !rsa)
		goto out;
	xs = mk("/O=Example/CN=sm2", sm2, NULL, NULL);
	xe = mk("/O=Example/CN=ed25519", ed, NULL, NULL);
	x448 = mk("/O=Example/CN=ed448", ed448, NULL, NULL);
	x384 = mk("/O=Example/CN=p384", p384, NULL, NULL);
	x256 = mk("/O=Example/CN=p256", NULL, NULL, NULL);
	xr = mk("/O=Example/CN=rsa", rsa, NULL, NULL);
	CHECK(xs && xe && x448 && x384 && x256 && xr);
	/* the old code checked EC keys only: SM2 and Ed25519 passed */
	EXPECT("allowed_curves = P-256", xs, "cert_untrusted", "allowed_curves");
	EXPECT("allowed_curves = P-256", xe, "cert_untrusted", "allowed_curves");
	EXPECT("allowed_curves = P-256", x448, "cert_untrusted", "allowed_curves");
	EXPECT("allowed_curves = P-256", x384, "cert_untrusted", "allowed_curves");
	EXPECT("allowed_curves = P-256", x256, "ok", "verified");
	EXPECT("allowed_curves = prime256v1", x256, "ok", "verified");
	EXPECT("allowed_curves = P-256", xr, "ok", "verified");        /* RSA: min_rsa_bits' business */
	EXPECT("allowed_curves = P-256, ed25519", xe, "ok", "verified");
	EXPECT("allowed_curves = Ed448", x448, "ok", "verified");
	EXPECT("allowed_curves = sm2", xs, "ok", "verified");
	EXPECT("allowed_curves = secp384r1", x384, "ok", "verified");
	EXPECT("allowed_curves = p-384", x384, "ok", "verified");
	/* allowed_key_types */
	EXPECT("allowed_key_types = rsa, ec", xs, "cert_untrusted", "allowed_key_types");
	EXPECT("allowed_key_types = rsa, ec", xe, "cert_untrusted", "allowed_key_types");
	EXPECT("allowed_key_types = rsa, ec", x256, "ok", "verified");
	EXPECT("allowed_key_types = rsa, ec", xr, "ok", "verified");
	EXPECT("allowed_key_types = ec", xr, "cert_untrusted", "allowed_key_types");
	EXPECT("allowed_key_types = Ed25519", xe, "ok", "verified");
	EXPECT("allowed_key_types = SM2", xs, "ok", "verified");
	EXPECT("allowed_key_types = rsa-pss", xr, "cert_untrusted", "allowed_key_types");
	/* -c checks the names */
	REJECTED("allowed_curves = CN", "allowed_curves", "'CN' is not a curve");
	REJECTED("allowed_curves = sha256", "allowed_curves", "is not a curve");
	REJECTED("allowed_curves = P-257", "allowed_curves", "is not a curve");
	REJECTED("allowed_key_types = rsa, elliptic", "allowed_key_types", "'elliptic' is not a key type");
	ACCEPTED("allowed_curves = P-256, P-384, P-521, brainpoolP256r1, ED25519, x25519, X448, SM2");
	ACCEPTED("allowed_key_types = rsa, rsa-pss, ec, ed25519, ed448, sm2, dsa, x25519, x448, dh, dhx");
out:
	X509_free(xs);
	X509_free(xe);
	X509_free(x448);
	X509_free(x384);
	X509_free(x256);
	X509_free(xr);
	EVP_PKEY_free(sm2);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ed448);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa);
}

/* The raw reading of a deny entry keeps its issuer, however long the DN. */
TEST(lists2_negative_serial_long_issuer)
{
	static const char org[] = "/O=An Issuing Organisation With A Rather Long Name"
	                          "/OU=Division Of Names Long Enough To Overflow"
	                          "/OU=Department Of Small Buffers";
	char subj[256], text[512], line[256], store[64] = "";
	EVP_PKEY *ck = testpki_make_key();
	X509 *ca = NULL, *x = NULL;
	struct testpki_cert c = {
		.subject = "/O=Example/CN=neg", .key = L.key, .not_before = NOW - DAY,
		.not_after = NOW + 30 * DAY, .eku = "clientAuth", .serial_hex = "-1",
	};

	setup();
	c.key = L.key;      /* set by setup(): the initializer above ran before it */
	snprintf(subj, sizeof(subj), "%s/CN=Long CA", org);
	ca = ck ? testpki_make_cert(subj, ck, NULL, NULL, NOW - DAY, NOW + 90 * DAY, 1, NULL) : NULL;
	c.issuer = ca;
	c.issuer_key = ck;
	x = ca ? testpki_make_cert_ex(&c) : NULL;
	CHECK(x != NULL);
	if (x) {
		/* the issuer is matched on the verified path: trust this CA */
		CHECK(testpki_write_pem(&ca, 1, store, sizeof(store)) == 0);
		snprintf(text, sizeof(text), "ff \"%s/CN=Long CA\"\n", org);
		snprintf(line, sizeof(line), "deny_serials = @%s\nca_file = %s", write_tmp(text), store);
		EXPECT(line, x, "cert_untrusted", "deny_serials");
		snprintf(text, sizeof(text), "ff %s/CN=Other CA\n", org);
		snprintf(line, sizeof(line), "deny_serials = @%s\nca_file = %s", write_tmp(text), store);
		EXPECT(line, x, "ok", "verified");
		if (store[0])
			unlink(store);
	}
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(ck);
}

/* An escaped quote inside an unquoted single DN is no quote. */
TEST(lists2_inline_dn_escaped_quote)
{
	X509 *x;

	setup();
	x = mk("/O=Example/CN=a\"b", NULL, NULL, NULL);
	CHECK(x != NULL);
	EXPECT("deny_subjects = /O=Example/CN=a\\\"b", x, "cert_untrusted", "deny_subjects");
	EXPECT("deny_subjects = \"CN=a\\\"b,O=Example\"", x, "cert_untrusted", "deny_subjects");
	X509_free(x);
}

/* An RSA key OpenSSL cannot read: its size is unknown, min_rsa_bits denies. */
TEST(lists2_min_rsa_bits_unknown_size)
{
	static const unsigned char spki[] = { 0x03, 0x82, 0x01, 0x0f, 0x00, 0x30, 0x82, 0x01, 0x0a };
	EVP_PKEY *rsa = testpki_make_rsa_key(2048);
	X509 *x = NULL, *y = NULL;
	unsigned char *der = NULL;
	const unsigned char *q;
	size_t len = 0, i, at = 0;

	setup();
	x = rsa ? mk("/O=Example/CN=rsa", rsa, NULL, NULL) : NULL;
	der = x ? testpki_to_der(x, &len) : NULL;
	CHECK(der != NULL);
	if (!der)
		goto out;
	for (i = 0; i + sizeof(spki) <= len && !at; i++)
		if (memcmp(der + i, spki, sizeof(spki)) == 0)
			at = i;
	CHECK(at > 0);
	der[at + 5] = 0x31;       /* RSAPublicKey SEQUENCE -> SET: not a key */
	q = der;
	y = d2i_X509(NULL, &q, (long)len);
	CHECK(y != NULL);
	if (y) {
		struct cert_ext *e = cert_get_ext(y);

		CHECK(e != NULL);
		if (e) {
			CHECK_EQ_INT(e->key_type, EVP_PKEY_RSA);
			CHECK_EQ_INT(e->key_bits, 0);
		}
		free(e);
		EXPECT("min_rsa_bits = 1024", y, "cert_untrusted", "min_rsa_bits");
		EXPECT("allowed_curves = P-256", y, "ok", "verified");
		EXPECT("allowed_key_types = ec", y, "cert_untrusted", "allowed_key_types");
	}
out:
	free(der);
	X509_free(x);
	X509_free(y);
	EVP_PKEY_free(rsa);
}
