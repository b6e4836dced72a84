/* Lists mean exactly what they say: inline DN lists quote each DN, one
 * comment syntax everywhere, serials compared as DER INTEGER content octets,
 * SPKI pins over the canonical key encoding, forbid_signature names that
 * map to a digest, key limits that cover every key type. Each case goes
 * from config text through cfg_load() and handler_decide() and asserts the
 * exact code and rule (or the exact -c error). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cert.h"
#include "cfg.h"
#include "handler.h"
#include "lists.h"
#include "rules.h"
#include "strset.h"
#include "testhelp.h"
#include "testpki.h"
#include "tplist.h"

#define NOW 1950000000LL
#define DAY 86400LL

static struct {
	int ready;
	EVP_PKEY *ca_key, *key;
	X509 *ca;
	char files[16][64];
	int nfiles;
} L;

static void cleanup(void)
{
	for (int i = 0; i < L.nfiles; i++)
		unlink(L.files[i]);
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
	L.ready = L.ca_key && L.key && L.ca;
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
	char text[4096], path[] = "/tmp/certspoa-l2cfg-XXXXXX";
	struct config *cfg;
	int fd;

	snprintf(text, sizeof(text), "[policy default]\n%s\n", extra);
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return NULL;
	close(fd);
	err[0] = 0;
	cfg = cfg_load(path, err, errlen);
	unlink(path);
	return cfg;
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
	struct handler_ctx hc;
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
	handler_init(&hc, cfg, 1);
	handler_decide(&hc, &rq, NOW, &t, &ce, &d, &route);
	if (strcmp(dec_table[d.code].code, code) != 0 || !d.rule || strcmp(d.rule, rule) != 0)
		unit_fail(__FILE__, line, "[%s]: got %s/%s (%s), expected %s/%s; trace: %s",
		          extra, dec_table[d.code].code, d.rule ? d.rule : "-", d.detail,
		          code, rule, t.buf);
	handler_destroy(&hc);
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
