/* The runtime API's pure halves: runtime denies (rtdeny.c: values, sets,
 * expiry, the state file, the decision override through decide_request)
 * and the command parser (ctl-cmd.c); "clear cache". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "cache.h"
#include "cert.h"
#include "cfg.h"
#include "ctl-cmd.h"
#include "decide.h"
#include "log.h"
#include "rtdeny.h"
#include "rules.h"
#include "testcfg.h"
#include "testhelp.h"
#include "testpki.h"

#define SHA256_A "8fb4715bae2785211951cbb8f56995308561f12d426cb8a12475cf86ba35bf5d"
#define SHA1_A   "62a13fafb915d2b476d515ab033ef6e3575e4c88"
#define PIN_A    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

static struct rtdeny_entry entry(enum rtdeny_kind k, const char *v, int64_t expires)
{
	struct rtdeny_entry e;
	char err[160];

	memset(&e, 0, sizeof(e));
	e.kind = k;
	if (rtdeny_norm(k, v, strlen(v), e.value, err, sizeof(err)) < 0)
		unit_fail(__FILE__, __LINE__, "rtdeny_norm(%s): %s", v, err);
	e.expires = expires;
	e.added = 1;
	snprintf(e.origin, sizeof(e.origin), "uid=0/test");
	return e;
}

static int norm(enum rtdeny_kind k, const char *v, char *out)
{
	char err[160];

	return rtdeny_norm(k, v, strlen(v), out, err, sizeof(err));
}

TEST(rtdeny_norm_thumbprints)
{
	char out[RTDENY_VALUE_MAX];

	CHECK_EQ_INT(norm(RTD_THUMBPRINT, SHA256_A, out), 0);
	CHECK_EQ_STR(out, SHA256_A);
	/* colons and upper case, as openssl x509 -fingerprint prints it */
	CHECK_EQ_INT(norm(RTD_THUMBPRINT, "62:A1:3F:AF:B9:15:D2:B4:76:D5:15:AB:03:3E:F6:E3:57:5E:4C:88", out), 0);
	CHECK_EQ_STR(out, SHA1_A);
	CHECK_EQ_INT(norm(RTD_THUMBPRINT, "62a13fafb915d2b476d515ab033ef6e3575e4c8", out), -1);     /* 39 */
	CHECK_EQ_INT(norm(RTD_THUMBPRINT, "62a13fafb915d2b476d515ab033ef6e3575e4c88a", out), -1);   /* 41 */
	CHECK_EQ_INT(norm(RTD_THUMBPRINT, SHA256_A "0", out), -1);                               /* 65 */
	CHECK_EQ_INT(norm(RTD_THUMBPRINT, "g2a13fafb915d2b476d515ab033ef6e3575e4c88", out), -1);
	CHECK_EQ_INT(norm(RTD_THUMBPRINT, "", out), -1);
}

TEST(rtdeny_norm_serial_and_spki)
{
	char out[RTDENY_VALUE_MAX];

	CHECK_EQ_INT(norm(RTD_SERIAL, "0x00:4A:3F", out), 0);
	CHECK_EQ_STR(out, "4a3f");
	CHECK_EQ_INT(norm(RTD_SERIAL, "xyz", out), -1);
	CHECK_EQ_INT(norm(RTD_SPKI, PIN_A, out), 0);
	CHECK_EQ_STR(out, PIN_A);
	CHECK_EQ_INT(norm(RTD_SPKI, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", out), -1);    /* no '=' */
	CHECK_EQ_INT(norm(RTD_SPKI, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF!=", out), -1);   /* not base64 */
	CHECK_EQ_INT(norm(RTD_SPKI, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=", out), -1);   /* not 32 bytes */
}

TEST(rtdeny_set_sorted_replace_delete)
{
	struct rtdeny_entry a = entry(RTD_THUMBPRINT, SHA256_A, 0), b = entry(RTD_SERIAL, "01", 0);
	struct rtdeny_entry c = entry(RTD_THUMBPRINT, SHA1_A, 0), a2 = a;
	struct rtdeny_set *s0 = rtdeny_set_new(), *s1, *s2, *s3, *s4, *s5;
	char err[160];
	int rep, found;

	s1 = rtdeny_with(s0, &b, 10, &rep, err, sizeof(err));
	CHECK(s1 && rep == 0);
	s2 = rtdeny_with(s1, &a, 10, &rep, err, sizeof(err));
	s3 = rtdeny_with(s2, &c, 10, &rep, err, sizeof(err));
	CHECK(s3 && s3->n == 3);
	/* by kind, then value: thumbprints (SHA-1 < SHA-256 here) then serials */
	CHECK_EQ_STR(s3->e[0].value, SHA1_A);
	CHECK_EQ_STR(s3->e[1].value, SHA256_A);
	CHECK_EQ_INT(s3->e[2].kind, RTD_SERIAL);
	snprintf(a2.comment, sizeof(a2.comment), "again");
	s4 = rtdeny_with(s3, &a2, 10, &rep, err, sizeof(err));
	CHECK(s4 && rep == 1 && s4->n == 3);
	CHECK_EQ_STR(rtdeny_find(s4, RTD_THUMBPRINT, SHA256_A, 10)->comment, "again");
	/* the old sets are untouched (workers may still read them) */
	CHECK_EQ_STR(rtdeny_find(s3, RTD_THUMBPRINT, SHA256_A, 10)->comment, "");
	s5 = rtdeny_without(s4, RTD_THUMBPRINT, SHA256_A, 10, &found);
	CHECK(s5 && found == 1 && s5->n == 2);
	CHECK(rtdeny_find(s5, RTD_THUMBPRINT, SHA256_A, 10) == NULL);
	CHECK(rtdeny_find(s5, RTD_THUMBPRINT, SHA1_A, 10) != NULL);
	free(s5);
	s5 = rtdeny_without(s4, RTD_SPKI, PIN_A, 10, &found);
	CHECK(s5 && found == 0 && s5->n == 3);
	free(s0);
	free(s1);
	free(s2);
	free(s3);
	free(s4);
	free(s5);
}

TEST(rtdeny_expiry_boundary)
{
	struct rtdeny_entry a = entry(RTD_THUMBPRINT, SHA256_A, 100);
	struct rtdeny_set *s, *t;
	char err[160];
	int rep, found;

	s = rtdeny_with(NULL, &a, 50, &rep, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(rtdeny_find(s, RTD_THUMBPRINT, SHA256_A, 99) != NULL);
	CHECK(rtdeny_find(s, RTD_THUMBPRINT, SHA256_A, 100) == NULL);    /* expires AT 100 */
	CHECK_EQ_INT(rtdeny_expired(s, 99), 0);
	CHECK_EQ_INT(rtdeny_expired(s, 100), 1);
	/* a purge (without nothing) drops it; a delete of an expired one says not found */
	t = rtdeny_without(s, RTDENY_KINDS, "", 100, &found);
	CHECK(t && t->n == 0 && found == 0);
	free(t);
	t = rtdeny_without(s, RTD_THUMBPRINT, SHA256_A, 100, &found);
	CHECK(t && found == 0);
	free(t);
	free(s);
}

TEST(rtdeny_set_full)
{
	struct rtdeny_set *s = NULL, *n;
	char err[160], v[65];
	int rep;

	for (int i = 0; i < RTDENY_MAX; i++) {
		struct rtdeny_entry e;

		snprintf(v, sizeof(v), "%064x", i);
		e = entry(RTD_THUMBPRINT, v, 0);
		n = rtdeny_with(s, &e, 1, &rep, err, sizeof(err));
		free(s);
		s = n;
		if (!s)
			break;
	}
	CHECK(s && s->n == RTDENY_MAX);
	if (!s)
		return;
	{
		struct rtdeny_entry e = entry(RTD_THUMBPRINT, SHA256_A, 0), same = s->e[0];

		CHECK(rtdeny_with(s, &e, 1, &rep, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "runtime denies already") != NULL);
		/* replacing one is still possible when full */
		n = rtdeny_with(s, &same, 1, &rep, err, sizeof(err));
		CHECK(n && rep == 1 && n->n == RTDENY_MAX);
		free(n);
	}
	free(s);
}

static int parse_line(const char *line, struct rtdeny_entry *e, char *err, size_t errlen)
{
	return rtdeny_parse_line(line, strlen(line), e, err, errlen);
}

TEST(rtdeny_state_lines_roundtrip)
{
	struct rtdeny_entry a = entry(RTD_SERIAL, "4A:3F", 1800000000), b;
	char line[RTDENY_LINE_MAX + 2], err[160];
	int n;

	snprintf(a.comment, sizeof(a.comment), "ticket 42: key leaked");
	n = rtdeny_format_line(&a, line, sizeof(line));
	CHECK(n > 0 && line[n - 1] == '\n');
	CHECK_EQ_STR(line, "serial 4a3f 1800000000 1 uid=0/test ticket 42: key leaked\n");
	CHECK_EQ_INT(rtdeny_parse_line(line, (size_t)n - 1, &b, err, sizeof(err)), 0);
	CHECK_EQ_INT(b.kind, RTD_SERIAL);
	CHECK_EQ_STR(b.value, "4a3f");
	CHECK_EQ_INT(b.expires, 1800000000);
	CHECK_EQ_INT(b.added, 1);
	CHECK_EQ_STR(b.origin, "uid=0/test");
	CHECK_EQ_STR(b.comment, "ticket 42: key leaked");
	CHECK_EQ_INT(parse_line("thumbprint " SHA1_A " 0 0 -", &b, err, sizeof(err)), 0);
	CHECK_EQ_STR(b.comment, "");
	CHECK_EQ_INT(parse_line("cert " SHA1_A " 0 0 x", &b, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse_line("serial 01 -5 0 x", &b, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse_line("serial 01 5x 0 x", &b, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse_line("serial 01 5 0", &b, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse_line("serial 01 5 0 x\x01", &b, err, sizeof(err)), -1);
}

TEST(rtdeny_state_text)
{
	static const char text[] =
		"# header\n"
		"\n"
		"thumbprint " SHA256_A " 0 5 uid=0/ctl first\r\n"
		"serial 01 100 5 uid=0/ctl expired at 100\n"
		"thumbprint " SHA256_A " 0 6 uid=1/socat second\n"
		"spki " PIN_A " 0 7 uid=0/ctl";
	struct rtdeny_set *s;
	char err[160];

	s = rtdeny_parse_text(text, sizeof(text) - 1, 200, err, sizeof(err));
	CHECK(s != NULL);
	if (s) {
		CHECK_EQ_INT(s->n, 2);           /* the expired one dropped, the duplicate merged */
		CHECK_EQ_STR(rtdeny_find(s, RTD_THUMBPRINT, SHA256_A, 200)->comment, "second");
		CHECK(rtdeny_find(s, RTD_SPKI, PIN_A, 200) != NULL);
		free(s);
	}
	s = rtdeny_parse_text("# x\nthumbprint abc 0 0 x\n", 24, 0, err, sizeof(err));
	CHECK(s == NULL);
	CHECK(strncmp(err, "line 2: ", 8) == 0);
	s = rtdeny_parse_text("", 0, 0, err, sizeof(err));
	CHECK(s && s->n == 0);
	free(s);
}

/* ---- the decision ---- */

/* The config text; a failure to load fails the test. */
static struct config *load_text(const char *text)
{
	char err[512];
	struct config *cfg = test_cfg_text(text, err, sizeof(err));

	if (!cfg)
		unit_fail(__FILE__, __LINE__, "cfg_load: %s", err);
	return cfg;
}

#define NOW 1700000000

/* A config, a decision context and a client certificate (serial given). */
struct fixture {
	struct config *cfg;
	struct decide_ctx dc;
	X509 *x;
	unsigned char *der;
	size_t len;
	struct cert_facts facts;
};

static int fixture_up(struct fixture *f, const char *ini, const char *serial_hex)
{
	EVP_PKEY *ck = testpki_make_key(), *lk = testpki_make_key();
	X509 *ca = testpki_make_cert("/CN=ctl CA", ck, NULL, NULL, NOW - 86400, NOW + 86400 * 365, 1, NULL);
	struct testpki_cert tc = {
		.subject = "/CN=ctl client", .key = lk, .issuer = ca, .issuer_key = ck,
		.not_before = NOW - 86400, .not_after = NOW + 86400, .eku = "clientAuth",
		.serial_hex = serial_hex,
	};

	memset(f, 0, sizeof(*f));
	f->x = testpki_make_cert_ex(&tc);
	X509_free(ca);
	EVP_PKEY_free(ck);
	EVP_PKEY_free(lk);
	if (!f->x || !(f->der = testpki_to_der(f->x, &f->len)) ||
	    cert_get_facts(f->x, f->der, f->len, &f->facts) < 0 ||
	    !(f->cfg = load_text(ini)) || decide_init(&f->dc, f->cfg, 1) < 0) {
		unit_fail(__FILE__, __LINE__, "fixture");
		return -1;
	}
	return 0;
}

static void fixture_down(struct fixture *f)
{
	free(rtdeny_publish(NULL));
	if (f->cfg)
		decide_destroy(&f->dc);
	cfg_free(f->cfg);
	X509_free(f->x);
	free(f->der);
}

/* One request with the certificate; HAProxy's verification result is
 * verify (0: verified, for verify = haproxy). */
static struct decision decide_verify(struct fixture *f, int64_t verify, int64_t now,
                                     struct trace *t, struct cert_eval *ce)
{
	struct req_facts rq;
	struct decision d;
	const char *route;

	memset(&rq, 0, sizeof(rq));
	rq.has_present = rq.present = 1;
	rq.has_verify = 1;
	rq.verify = verify;
	rq.has_cert = 1;
	rq.cert.ptr = (const char *)f->der;
	rq.cert.len = f->len;
	memset(t, 0, sizeof(*t));
	t->on = 1;
	decide_request(&f->dc, &rq, now, t, ce, &d, &route);
	return d;
}

static struct decision decide_at(struct fixture *f, int64_t now, struct trace *t)
{
	struct cert_eval ce;

	return decide_verify(f, 0, now, t, &ce);
}

static void publish_one(enum rtdeny_kind k, const char *v, int64_t expires)
{
	struct rtdeny_entry e = entry(k, v, expires);
	char err[160];
	int rep;

	free(rtdeny_publish(rtdeny_with(NULL, &e, NOW, &rep, err, sizeof(err))));
}

static void check_runtime_denied(struct fixture *f, int line)
{
	struct trace t;
	struct decision d = decide_at(f, NOW, &t);

	if (d.code != DEC_CERT_UNTRUSTED || !d.rule || strcmp(d.rule, RTDENY_RULE) != 0 || d.status != 403 ||
	    d.shadowed || !strstr(t.buf, "runtime_deny=fail"))
		unit_fail(__FILE__, line, "want cert_untrusted runtime_deny 403, got %s %s %d (trace %s)",
		          dec_table[d.code].code, d.rule ? d.rule : "-", d.status, t.buf);
}

static void check_allowed(struct fixture *f, int64_t now, int line)
{
	struct trace t;
	struct decision d = decide_at(f, now, &t);

	if (d.code != DEC_ALLOW)
		unit_fail(__FILE__, line, "want allow, got %s %s", dec_table[d.code].code, d.rule ? d.rule : "-");
}

#define PLAIN_POLICY "[policy default]\nverify = haproxy\n"

TEST(rtdeny_decision_every_kind_and_cached)
{
	struct fixture f;
	struct cert_eval ce;
	struct trace t;
	char pin[64] = "";

	if (fixture_up(&f, PLAIN_POLICY, "4A3F") == 0) {
		check_allowed(&f, NOW, __LINE__);
		check_allowed(&f, NOW, __LINE__);         /* now a cache hit */
		CHECK(f.dc.cache.hits >= 1);
		publish_one(RTD_THUMBPRINT, f.facts.sha256_hex, 0);
		check_runtime_denied(&f, __LINE__);       /* the cached certificate too */
		publish_one(RTD_THUMBPRINT, f.facts.sha1_hex, 0);
		check_runtime_denied(&f, __LINE__);
		publish_one(RTD_SERIAL, "00:4A:3F", 0);
		check_runtime_denied(&f, __LINE__);
		/* the leaf's SPKI pin, as the agent reads it */
		decide_verify(&f, 0, NOW, &t, &ce);
		CHECK(ce.ext != NULL);
		if (ce.ext)
			snprintf(pin, sizeof(pin), "%s", ce.ext->spki_pin);
		publish_one(RTD_SPKI, pin, 0);
		check_runtime_denied(&f, __LINE__);
		/* another certificate's value, an expired entry, no set: allowed */
		publish_one(RTD_THUMBPRINT, SHA256_A, 0);
		check_allowed(&f, NOW, __LINE__);
		publish_one(RTD_THUMBPRINT, f.facts.sha256_hex, NOW + 10);
		check_runtime_denied(&f, __LINE__);
		check_allowed(&f, NOW + 10, __LINE__);
		free(rtdeny_publish(NULL));
		check_allowed(&f, NOW, __LINE__);
	}
	fixture_down(&f);
}

/* A negative serial ("-4A3F": DER bytes b5c1) denied, written to the state
 * file, read back as at a restart: still denied. (Read back as a number,
 * "b5c1" became the positive 0x00b5c1 and the deny silently stopped
 * matching; the fuzz target ctl found it.) */
TEST(rtdeny_negative_serial_survives_restart)
{
	struct rtdeny_entry e;
	struct rtdeny_set *s;
	struct fixture f;
	struct ctl_cmd c;
	char err[256], line[RTDENY_LINE_MAX + 2];
	int rep, n;

	if (fixture_up(&f, PLAIN_POLICY, "-4A3F") == 0) {
		CHECK_EQ_INT(ctl_cmd_parse("add deny serial -4A3F", 21, &c, err, sizeof(err)), 0);
		memset(&e, 0, sizeof(e));
		e.kind = c.kind;
		memcpy(e.value, c.value, sizeof(e.value));
		snprintf(e.origin, sizeof(e.origin), "uid=0/test");
		free(rtdeny_publish(rtdeny_with(NULL, &e, NOW, &rep, err, sizeof(err))));
		check_runtime_denied(&f, __LINE__);
		/* the restart: the state file's line, read back */
		n = rtdeny_format_line(&e, line, sizeof(line));
		CHECK(n > 0);
		s = rtdeny_parse_text(line, (size_t)n, NOW, err, sizeof(err));
		CHECK(s && s->n == 1);
		if (s) {
			CHECK_EQ_STR(s->e[0].value, e.value);
			free(rtdeny_publish(s));
			check_runtime_denied(&f, __LINE__);
		}
		/* a serial in the state file that the agent would not write: refused */
		CHECK(rtdeny_parse_text("serial 0045 0 0 x\n", 18, NOW, err, sizeof(err)) == NULL);
		CHECK(rtdeny_parse_text("serial B5C1 0 0 x\n", 18, NOW, err, sizeof(err)) == NULL);
	}
	fixture_down(&f);
}

TEST(rtdeny_decision_shadow_mode_and_status)
{
	struct fixture f;
	struct decision d;
	struct trace t;

	if (fixture_up(&f, "[policy default]\nverify = haproxy\nmode = shadow\n"
	               "deny_status = 495\nthumbprints = " SHA256_A "\n", NULL) == 0) {
		d = decide_at(&f, NOW, &t);
		CHECK(d.code == DEC_ALLOW && d.shadowed);       /* shadow: would deny, allowed */
		publish_one(RTD_THUMBPRINT, f.facts.sha256_hex, 0);
		d = decide_at(&f, NOW, &t);
		/* an emergency deny is enforced in shadow mode too, with the policy's status */
		CHECK_EQ_INT(d.code, DEC_CERT_UNTRUSTED);
		CHECK_EQ_STR(d.rule, RTDENY_RULE);
		CHECK_EQ_INT(d.status, 495);
		CHECK_EQ_INT(d.shadowed, 0);
	}
	fixture_down(&f);
}

TEST(rtdeny_keeps_an_earlier_denial)
{
	struct cert_eval ce;
	struct fixture f;
	struct decision d;
	struct trace t;

	if (fixture_up(&f, PLAIN_POLICY, NULL) == 0) {
		publish_one(RTD_THUMBPRINT, f.facts.sha256_hex, 0);
		d = decide_verify(&f, 10, NOW, &t, &ce);        /* HAProxy: expired */
		CHECK_EQ_INT(d.code, DEC_CERT_UNVERIFIED);      /* the first reason stays */
	}
	fixture_down(&f);
}

TEST(ctl_clear_cache_epoch)
{
	unsigned char key[32];
	struct fixture f;

	if (fixture_up(&f, PLAIN_POLICY, NULL) == 0) {
		check_allowed(&f, NOW, __LINE__);
		cert_sha256(f.der, f.len, key);
		CHECK(cache_get(&f.dc.cache, key, 1) != NULL);
		cache_request_clear_all();
		CHECK(cache_get(&f.dc.cache, key, 1) != NULL);    /* the owner clears, at its next sync */
		decide_sync(&f.dc);
		CHECK(cache_get(&f.dc.cache, key, 1) == NULL);
		check_allowed(&f, NOW, __LINE__);
		CHECK(cache_get(&f.dc.cache, key, 1) != NULL);
		decide_sync(&f.dc);                               /* no new request: nothing cleared */
		CHECK(cache_get(&f.dc.cache, key, 1) != NULL);
	}
	fixture_down(&f);
}

/* ---- the command parser ---- */

static int parse(const char *line, struct ctl_cmd *c, char *err, size_t errlen)
{
	return ctl_cmd_parse(line, strlen(line), c, err, errlen);
}

TEST(ctl_cmd_every_verb)
{
	struct ctl_cmd c;
	char err[256];

	for (int v = 0; v < CTL_VERBS; v++) {
		CHECK(ctl_cmds[v].words && ctl_cmds[v].help && ctl_cmds[v].help[0]);
		if (ctl_cmds[v].args[0])
			continue;
		CHECK_EQ_INT(parse(ctl_cmds[v].words, &c, err, sizeof(err)), 0);
		CHECK_EQ_INT(c.verb, v);
	}
	CHECK_EQ_INT(parse("  show\tinfo \r", &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.verb, CTL_SHOW_INFO);
	CHECK_EQ_INT(parse("set log-level debug", &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.log_level, LOG_DEBUG);
	CHECK_EQ_INT(parse("explain " SHA256_A, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.sha256[0], 0x8f);
	CHECK_EQ_INT(c.sha256[31], 0x5d);
}

TEST(ctl_cmd_deny_arguments)
{
	struct ctl_cmd c;
	char err[256];

	CHECK_EQ_INT(parse("add deny thumbprint " SHA256_A, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.verb, CTL_ADD_DENY);
	CHECK_EQ_INT(c.kind, RTD_THUMBPRINT);
	CHECK_EQ_STR(c.value, SHA256_A);
	CHECK_EQ_INT(c.ttl_s, 0);
	CHECK_EQ_STR(c.comment, "");
	CHECK_EQ_INT(parse("add deny serial 0x4A3F ttl 12h comment  a b  c d e f g h i j k l", &c, err, sizeof(err)), 0);
	CHECK_EQ_STR(c.value, "4a3f");
	CHECK_EQ_INT(c.ttl_s, 12 * 3600);
	CHECK_EQ_STR(c.comment, "a b  c d e f g h i j k l");
	CHECK_EQ_INT(parse("add deny spki " PIN_A " comment x\tttl 5s", &c, err, sizeof(err)), 0);
	CHECK_EQ_STR(c.comment, "x?ttl 5s");     /* a tab would split the state file's line */
	CHECK_EQ_INT(c.ttl_s, 0);
	CHECK_EQ_INT(parse("del deny thumbprint " SHA1_A, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.verb, CTL_DEL_DENY);
	/* refusals, each with its reason */
	CHECK_EQ_INT(parse("del deny thumbprint " SHA1_A " ttl 5s", &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "expected nothing more") != NULL);
	CHECK_EQ_INT(parse("add deny thumbprint " SHA1_A " ttl", &c, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse("add deny thumbprint " SHA1_A " ttl 0s", &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "is not a duration") != NULL);
	CHECK_EQ_INT(parse("add deny thumbprint " SHA1_A " ttl 400d", &c, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse("add deny thumbprint " SHA1_A " ttl 1h ttl 2h", &c, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse("add deny thumbprint " SHA1_A " a b c d e f", &c, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse("add deny cert " SHA1_A, &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "thumbprint, serial or spki") != NULL);
	CHECK_EQ_INT(parse("add deny thumbprint", &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "usage: add deny") != NULL);
	CHECK_EQ_INT(parse("add deny thumbprint 12", &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "40 or 64 hex digits") != NULL);
}

TEST(ctl_cmd_refusals)
{
	struct ctl_cmd c;
	char err[256], line[CTL_LINE_MAX + 2];

	CHECK_EQ_INT(parse("", &c, err, sizeof(err)), -1);
	CHECK(strncmp(err, "empty command", 13) == 0);
	CHECK_EQ_INT(parse("show", &c, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse("show infos", &c, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse("SHOW INFO", &c, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse("show info now", &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "takes no argument") != NULL);
	CHECK_EQ_INT(parse("help a b c d e f g h i", &c, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse("set log-level", &c, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse("set log-level trace", &c, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse("set log-level info warn", &c, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse("explain 8fb4", &c, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse("explain " SHA1_A "zzzzzzzzzzzzzzzzzzzzzzzz", &c, err, sizeof(err)), -1);
	CHECK_EQ_INT(ctl_cmd_parse("show\0info", 9, &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "not printable ASCII") != NULL);
	CHECK_EQ_INT(parse("show \xc3\xa9", &c, err, sizeof(err)), -1);
	memset(line, 'a', sizeof(line));
	CHECK_EQ_INT(ctl_cmd_parse(line, CTL_LINE_MAX + 1, &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "line too long") != NULL);
}
