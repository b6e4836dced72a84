/* Identity matching on SANs, CNs and SPIFFE IDs (docs/POLICY.md "Matching
 * semantics"): certificates made at test time, policies from config text,
 * the decision from rules_decide(). Each finding of issues 10 #4 and 11
 * #2 #5 #6 #10 has a case here that the old code got wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "cert.h"
#include "cfg.h"
#include "cidr.h"
#include "rules.h"
#include "spiffe.h"
#include "testcfg.h"
#include "testhelp.h"
#include "testpki.h"

#define NOW 1950000000LL
#define DAY 86400LL

static EVP_PKEY *names_key;

static X509 *mk(const char *subject, const char *san, const char *policies)
{
	struct testpki_cert c;

	if (!names_key)
		names_key = testpki_make_key();
	memset(&c, 0, sizeof(c));
	c.subject = subject;
	c.key = names_key;
	c.not_before = NOW - DAY;
	c.not_after = NOW + 30 * DAY;
	c.eku = "clientAuth";
	c.san = san;
	c.policies = policies;
	return testpki_make_cert_ex(&c);
}

/* Load "[policy default]\n" + body. NULL (and the error in err) on failure. */
static struct config *load(const char *body, char *err, size_t errlen)
{
	return test_cfg_textf(err, errlen, "[policy default]\n%s\n", body);
}

struct verdict {
	char code[32];
	char rule[48];
	char identity[4200];
	char trace[TRACE_MAX];
};

/* Decide for x under the policy body; x is freed. */
static int decide_on(const char *body, X509 *x, struct verdict *v)
{
	char err[512];
	struct config *cfg = load(body, err, sizeof(err));
	struct req_facts rq;
	struct cert_facts f;
	struct cert_eval ce;
	struct decision d;
	struct trace t = { .on = 1 };
	struct cert_ext *ext = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	if (!cfg) {
		fprintf(stderr, "  config error: %s\n", err);
		goto out;
	}
	if (!x || !(der = testpki_to_der(x, &len)) || cert_get_facts(x, der, len, &f) < 0)
		goto out;
	ext = cert_get_ext(x);
	memset(&ce, 0, sizeof(ce));
	ce.parsed = 1;
	ce.facts = &f;
	ce.ext = ext;
	memset(&rq, 0, sizeof(rq));
	rq.has_present = rq.present = 1;
	rq.has_verify = 1;
	rq.verify = X509_V_OK;
	rq.has_cert = 1;
	rq.cert.ptr = (const char *)der;
	rq.cert.len = len;
	rules_decide(cfg->default_policy, &rq, &ce, NOW, &t, &d);
	snprintf(v->code, sizeof(v->code), "%s", dec_table[d.code].code);
	snprintf(v->rule, sizeof(v->rule), "%s", d.rule ? d.rule : "-");
	snprintf(v->identity, sizeof(v->identity), "%s", d.identity ? d.identity : "(none)");
	snprintf(v->trace, sizeof(v->trace), "%s", t.buf);
	rc = 0;
out:
	cert_ext_free(ext);
	free(der);
	X509_free(x);
	if (cfg)
		cfg_free(cfg);
	return rc;
}

/* The rule that decides for x under body must be rule (code follows:
 * "ok" for allow_* / verified, cert_untrusted otherwise). */
static void expect_at(int line, const char *body, X509 *x, const char *rule)
{
	struct verdict v;
	const char *code = (strncmp(rule, "allow_", 6) == 0 || strcmp(rule, "verified") == 0)
	                   ? "ok" : "cert_untrusted";

	if (decide_on(body, x, &v) < 0) {
		unit_fail(__FILE__, line, "[%s]: no decision", body);
		return;
	}
	if (strcmp(v.code, code) != 0 || strcmp(v.rule, rule) != 0)
		unit_fail(__FILE__, line, "[%s]: got %s/%s, expected %s/%s; trace: %s",
		          body, v.code, v.rule, code, rule, v.trace);
}
#define EXPECT(body, x, rule) expect_at(__LINE__, body, x, rule)

static void expect_identity_at(int line, const char *body, X509 *x, const char *rule,
                               const char *identity)
{
	struct verdict v;

	if (decide_on(body, x, &v) < 0) {
		unit_fail(__FILE__, line, "[%s]: no decision", body);
		return;
	}
	if (strcmp(v.rule, rule) != 0 || strcmp(v.identity, identity) != 0)
		unit_fail(__FILE__, line, "[%s]: got %s identity '%s', expected %s identity '%s'; trace: %s",
		          body, v.rule, v.identity, rule, identity, v.trace);
}
#define EXPECT_ID(body, x, rule, id) expect_identity_at(__LINE__, body, x, rule, id)

/* "DNS:h0.example,...,DNS:h<n-1>.example," then tail. */
static char *many_sans(int n, const char *tail)
{
	size_t cap = (size_t)n * 24 + strlen(tail) + 1, o = 0;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "DNS:h%d.example,", i);
	snprintf(s + o, cap - o, "%s", tail);
	return s;
}

/* ---- issue 10 #4: nothing past the 64th SAN escapes a deny list ---- */

TEST(names_deny_lists_see_every_san)
{
	char *san = many_sans(64, "DNS:evil.example.com");

	CHECK(san != NULL);
	EXPECT("deny_dns = evil.example.com", mk("/CN=many", san, NULL), "deny_dns");
	EXPECT("deny_dns = nobody.example.com", mk("/CN=many", san, NULL), "verified");
	free(san);
	san = many_sans(70, "URI:spiffe://td.example/ns/bad");
	EXPECT("deny_spiffe = spiffe://td.example/ns/bad", mk("/CN=many", san, NULL), "deny_spiffe");
	EXPECT("deny_uri = spiffe://td.example/ns/bad", mk("/CN=many", san, NULL), "deny_uri");
	free(san);
	san = many_sans(80, "IP:192.0.2.7,email:evil@example.com");
	EXPECT("deny_ip = 192.0.2.0/24", mk("/CN=many", san, NULL), "deny_ip");
	EXPECT("deny_email = EVIL@example.com", mk("/CN=many", san, NULL), "deny_email");
	free(san);
}

TEST(names_max_sans)
{
	char *san = many_sans(100, "DNS:last.example");   /* 101 SANs */
	char err[512];
	struct config *cfg;

	CHECK(san != NULL);
	/* with no list at all: the limit is always on (default 100) */
	EXPECT("", mk("/CN=many", san, NULL), "too_many_sans");
	EXPECT("allow_dns = h1.example", mk("/CN=many", san, NULL), "too_many_sans");
	EXPECT("max_sans = 101", mk("/CN=many", san, NULL), "verified");
	EXPECT("max_sans = 101\nallow_dns = last.example", mk("/CN=many", san, NULL), "allow_dns");
	EXPECT("max_sans = 1", mk("/CN=two", "DNS:a.example,URI:https://x.example/", NULL),
	       "too_many_sans");
	EXPECT("max_sans = 2", mk("/CN=two", "DNS:a.example,URI:https://x.example/", NULL), "verified");
	free(san);
	/* a SAN of a type no list reads still counts */
	EXPECT("max_sans = 1", mk("/CN=two", "DNS:a.example,RID:1.2.3.4", NULL), "too_many_sans");
	cfg = load("max_sans = 0", err, sizeof(err));
	CHECK(cfg == NULL && strstr(err, ":2: max_sans") != NULL);
	cfg_free(cfg);
	cfg = load("max_sans = 10001", err, sizeof(err));
	CHECK(cfg == NULL && strstr(err, ":2: max_sans") != NULL);
	cfg_free(cfg);
}

/* Policies past the 16th used to be dropped: a required one was "missing". */
TEST(names_every_policy_is_kept)
{
	char pol[1024];
	size_t o = 0;

	for (int i = 0; i < 20; i++)
		o += (size_t)snprintf(pol + o, sizeof(pol) - o, "%s1.2.3.%d", i ? "," : "", i);
	EXPECT("require_policies = 1.2.3.19", mk("/CN=pols", "DNS:a.example", pol), "verified");
	EXPECT("require_policies = 1.2.3.20", mk("/CN=pols", "DNS:a.example", pol), "require_policies");
}

/* ---- issue 11 #2: identity is what the deciding rule matched ---- */

TEST(names_identity_is_what_matched)
{
	const char *two = "URI:spiffe://prod.example.com/ns/admin,DNS:x.partners.example.com";

	EXPECT_ID("allow_dns = *.partners.example.com", mk("/CN=x", two, NULL), "allow_dns",
	          "x.partners.example.com");
	EXPECT_ID("allow_spiffe = spiffe://prod.example.com", mk("/CN=x", two, NULL), "allow_spiffe",
	          "spiffe://prod.example.com/ns/admin");
	EXPECT_ID("allow_cn = X", mk("/O=Example/CN=X", two, NULL), "allow_cn", "X");
	EXPECT_ID("allow_subjects = /O=Example/CN=X", mk("/O=Example/CN=X", two, NULL),
	          "allow_subjects", "CN=X,O=Example");
	/* an issuer rule matches the CA: the identity stays descriptive */
	EXPECT_ID("allow_issuers = /CN=x", mk("/CN=x", "DNS:a.example,IP:10.9.8.7", NULL),
	          "allow_issuers", "a.example");
	EXPECT_ID("allow_ip = 10.0.0.0/8", mk("/CN=x", "DNS:a.example,IP:10.9.8.7", NULL), "allow_ip",
	          "10.9.8.7");
	EXPECT_ID("allow_email = b@example.com", mk("/CN=x", "email:a@example.com,email:B@example.com", NULL),
	          "allow_email", "B@example.com");
	/* no allow list: descriptive - the single valid SPIFFE ID, else the
	 * first SAN, else the CN */
	EXPECT_ID("", mk("/CN=x", two, NULL), "verified", "spiffe://prod.example.com/ns/admin");
	EXPECT_ID("", mk("/CN=x", "DNS:a.example,URI:spiffe://td/a,URI:spiffe://td/b", NULL),
	          "verified", "a.example");
	EXPECT_ID("", mk("/CN=x", "DNS:a.example,URI:spiffe://td/../b", NULL), "verified", "a.example");
	EXPECT_ID("", mk("/O=Example/CN=just a cn", NULL, NULL), "verified", "just a cn");
}

/* Two SPIFFE IDs: an X.509-SVID has one. The old code allowed by one and
 * named the other. */
TEST(names_two_spiffe_ids_are_invalid)
{
	const char *two = "URI:spiffe://td.example/ns/other,URI:spiffe://td.example/ns/app";

	EXPECT("allow_spiffe = spiffe://td.example/ns/app", mk("/CN=x", two, NULL), "spiffe_invalid");
	EXPECT("deny_spiffe = spiffe://td.example/ns/nothing", mk("/CN=x", two, NULL), "spiffe_invalid");
	/* an upper-case scheme is a SPIFFE URI too (and invalid) */
	EXPECT("allow_spiffe = spiffe://td.example/ns/app",
	       mk("/CN=x", "URI:SPIFFE://td.example/ns/x,URI:spiffe://td.example/ns/app", NULL),
	       "spiffe_invalid");
	/* without SPIFFE rules the IDs are not looked at */
	EXPECT("allow_dns = a.example", mk("/CN=x", "DNS:a.example,URI:spiffe://a/b,URI:spiffe://a/c", NULL),
	       "allow_dns");
}

/* ---- issue 11 #5: CN lists ---- */

TEST(names_cn_lists)
{
	EXPECT("deny_cn = mallory", mk("/O=Example/CN=alice/CN=mallory", NULL, NULL), "deny_cn");
	EXPECT("deny_cn = alice", mk("/O=Example/CN=alice/CN=mallory", NULL, NULL), "deny_cn");
	/* allow_cn: exactly one CN */
	EXPECT("allow_cn = alice", mk("/O=Example/CN=alice/CN=mallory", NULL, NULL), "identity");
	EXPECT("allow_cn = alice, mallory", mk("/O=Example/CN=alice/CN=mallory", NULL, NULL), "identity");
	EXPECT("allow_cn = alice", mk("/O=Example/CN=alice", NULL, NULL), "allow_cn");
	/* normalized as DN values: surrounding space, inner runs, ASCII case */
	EXPECT("deny_cn = mallory", mk("/CN=mallory ", NULL, NULL), "deny_cn");
	EXPECT("deny_subjects = CN=mallory", mk("/CN=mallory ", NULL, NULL), "deny_subjects");
	EXPECT("deny_cn = mallory evil", mk("/CN=  Mallory \t Evil", NULL, NULL), "deny_cn");
	EXPECT("allow_cn = MALLORY   EVIL", mk("/CN=mallory evil", NULL, NULL), "allow_cn");
	EXPECT("deny_cn = mallory", mk("/CN=mallory2", NULL, NULL), "verified");
}

/* Case folding is ASCII-only, for CN lists and DN lists alike (documented). */
TEST(names_cn_folding_is_ascii_only_like_dn)
{
	static const struct {
		const char *cn, *entry;
		int match;
	} cases[] = {
		{ "\xc3\x89VE", "\xc3\x89VE", 1 },          /* ÉVE = ÉVE */
		{ "\xc3\x89VE", "\xc3\x89ve", 1 },          /* ASCII letters fold */
		{ "\xc3\x89VE", "\xc3\xa9ve", 0 },          /* É != é: no Unicode folding */
		{ "\xce\x91lpha", "\xce\xb1lpha", 0 },      /* Greek Α != α */
		{ "Stra\xc3\x9f" "e", "STRA\xc3\x9f" "E", 1 },
	};
	char body[256], subj[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(subj, sizeof(subj), "/CN=%s", cases[i].cn);
		snprintf(body, sizeof(body), "deny_cn = %s", cases[i].entry);
		EXPECT(body, mk(subj, NULL, NULL), cases[i].match ? "deny_cn" : "verified");
		snprintf(body, sizeof(body), "deny_subjects = CN=%s", cases[i].entry);
		EXPECT(body, mk(subj, NULL, NULL), cases[i].match ? "deny_subjects" : "verified");
	}
}

/* ---- issue 11 #6: SPIFFE IDs are parsed ---- */

TEST(names_spiffe_ids_are_validated)
{
	const char *deny = "deny_spiffe = spiffe://td/ns/bad";
	char san[4400], body[128];

	EXPECT(deny, mk("/CN=x", "URI:spiffe://td/ns/bad", NULL), "deny_spiffe");
	EXPECT(deny, mk("/CN=x", "URI:spiffe://td/ns/bad/below", NULL), "deny_spiffe");
	EXPECT(deny, mk("/CN=x", "URI:spiffe://td/ns/badder", NULL), "verified");
	EXPECT(deny, mk("/CN=x", "URI:SPIFFE://td/ns/bad", NULL), "spiffe_invalid");
	EXPECT(deny, mk("/CN=x", "URI:spiffe://TD/ns/bad", NULL), "spiffe_invalid");
	EXPECT(deny, mk("/CN=x", "URI:spiffe://td/ns/b%61d", NULL), "spiffe_invalid");
	EXPECT(deny, mk("/CN=x", "URI:spiffe://td:443/ns/bad", NULL), "spiffe_invalid");
	EXPECT(deny, mk("/CN=x", "URI:spiffe://user@td/ns/bad", NULL), "spiffe_invalid");
	EXPECT(deny, mk("/CN=x", "URI:spiffe://td/ns/bad?x=1", NULL), "spiffe_invalid");
	EXPECT(deny, mk("/CN=x", "URI:spiffe://td/ns/bad#f", NULL), "spiffe_invalid");
	EXPECT(deny, mk("/CN=x", "URI:spiffe://td/ns//bad", NULL), "spiffe_invalid");
	EXPECT(deny, mk("/CN=x", "URI:spiffe://td/ns/bad/", NULL), "spiffe_invalid");
	/* longer than the old 512-byte buffer, and than the 2048-byte limit */
	snprintf(san, sizeof(san), "URI:spiffe://td/ns/bad/%0600d", 0);
	EXPECT(deny, mk("/CN=x", san, NULL), "deny_spiffe");
	snprintf(san, sizeof(san), "URI:spiffe://td/ns/ok/%02100d", 0);
	EXPECT(deny, mk("/CN=x", san, NULL), "spiffe_invalid");
	/* no path traversal */
	EXPECT("allow_spiffe = spiffe://td/ns/app", mk("/CN=x", "URI:spiffe://td/ns/app/../admin", NULL),
	       "spiffe_invalid");
	EXPECT("allow_spiffe = spiffe://td/ns/app", mk("/CN=x", "URI:spiffe://td/ns/app/./x", NULL),
	       "spiffe_invalid");
	EXPECT("allow_spiffe = spiffe://td/ns/app", mk("/CN=x", "URI:spiffe://td/ns/app/x", NULL),
	       "allow_spiffe");
	EXPECT("allow_spiffe = spiffe://td/ns/app", mk("/CN=x", "URI:spiffe://td/ns/App", NULL),
	       "identity");
	/* the trust domain of an entry may be written in any case */
	EXPECT("allow_spiffe = spiffe://TD", mk("/CN=x", "URI:spiffe://td/ns/app", NULL), "allow_spiffe");
	/* entries are SPIFFE IDs: file:line errors at load */
	{
		static const char *const bad[] = {
			"spiffe://td/ns/../x", "spiffe://td:443", "SPIFFE://td", "spiffe://td/a%41",
			"spiffe://u@td", "spiffe://td/a/", "spiffe://", "https://td/x", "spiffe://td/a?b",
		};
		char err[512];

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct config *cfg;

			snprintf(body, sizeof(body), "deny_spiffe = %s", bad[i]);
			cfg = load(body, err, sizeof(err));
			if (cfg || !strstr(err, ":2: deny_spiffe"))
				unit_fail(__FILE__, __LINE__, "'%s' loaded (or wrong error: %s)", bad[i],
				          cfg ? "-" : err);
			cfg_free(cfg);
		}
	}
}

TEST(names_spiffe_parser)
{
	static const struct {
		const char *s;
		enum spiffe_err e;
	} cases[] = {
		{ "spiffe://td", SPIFFE_OK },
		{ "spiffe://example.org/ns/prod/sa/web", SPIFFE_OK },
		{ "spiffe://a-b_c.9/A.b-C_9", SPIFFE_OK },
		{ "spiffe://td/..a/.b/a..", SPIFFE_OK },
		{ "spiffe:/td", SPIFFE_E_SCHEME },
		{ "Spiffe://td", SPIFFE_E_SCHEME },
		{ "spiffe://", SPIFFE_E_TD_EMPTY },
		{ "spiffe:///x", SPIFFE_E_TD_EMPTY },
		{ "spiffe://Td", SPIFFE_E_TD_CHAR },
		{ "spiffe://t d", SPIFFE_E_TD_CHAR },
		{ "spiffe://td:1", SPIFFE_E_PORT },
		{ "spiffe://u@td", SPIFFE_E_USERINFO },
		{ "spiffe://td%41", SPIFFE_E_PERCENT },
		{ "spiffe://td/%41", SPIFFE_E_PERCENT },
		{ "spiffe://td/a?", SPIFFE_E_QUERY },
		{ "spiffe://td#x", SPIFFE_E_FRAGMENT },
		{ "spiffe://td/", SPIFFE_E_SEG_EMPTY },
		{ "spiffe://td/a//b", SPIFFE_E_SEG_EMPTY },
		{ "spiffe://td/.", SPIFFE_E_SEG_DOT },
		{ "spiffe://td/a/../b", SPIFFE_E_SEG_DOT },
		{ "spiffe://td/a:b", SPIFFE_E_PATH_CHAR },
		{ "spiffe://td/a@b", SPIFFE_E_PATH_CHAR },
		{ "spiffe://td/\xc3\xa9", SPIFFE_E_PATH_CHAR },
	};
	struct spiffe_id id, p;
	char big[SPIFFE_ID_MAX + 2];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum spiffe_err e = spiffe_parse(cases[i].s, strlen(cases[i].s), &id);

		if (e != cases[i].e)
			unit_fail(__FILE__, __LINE__, "'%s': %s, expected %s", cases[i].s,
			          spiffe_strerror(e), spiffe_strerror(cases[i].e));
	}
	CHECK_EQ_INT(spiffe_parse("spiffe://td\0/x", 14, &id), SPIFFE_E_TD_CHAR);
	memcpy(big, "spiffe://td/", 12);
	memset(big + 12, 'a', sizeof(big) - 12);
	CHECK_EQ_INT(spiffe_parse(big, SPIFFE_ID_MAX, &id), SPIFFE_OK);
	CHECK_EQ_INT(spiffe_parse(big, SPIFFE_ID_MAX + 1, &id), SPIFFE_E_TOO_LONG);
	memcpy(big, "spiffe://", 9);
	memset(big + 9, 'a', 256);
	CHECK_EQ_INT(spiffe_parse(big, 9 + 255, &id), SPIFFE_OK);
	CHECK_EQ_INT(spiffe_parse(big, 9 + 256, &id), SPIFFE_E_TD_TOO_LONG);
	/* under: same trust domain, path at a segment boundary */
	CHECK(spiffe_parse("spiffe://td/a/bc", 16, &id) == SPIFFE_OK);
	CHECK(spiffe_parse("spiffe://td/a", 13, &p) == SPIFFE_OK && spiffe_under(&id, &p));
	CHECK(spiffe_parse("spiffe://td", 11, &p) == SPIFFE_OK && spiffe_under(&id, &p));
	CHECK(spiffe_parse("spiffe://td/a/b", 15, &p) == SPIFFE_OK && !spiffe_under(&id, &p));
	CHECK(spiffe_parse("spiffe://t", 10, &p) == SPIFFE_OK && !spiffe_under(&id, &p));
	CHECK(spiffe_parse("spiffe://td/a/bc/d", 18, &p) == SPIFFE_OK && !spiffe_under(&id, &p));
	CHECK(spiffe_has_scheme("SpIfFe:x", 8) && !spiffe_has_scheme("spiffe", 6) &&
	      !spiffe_has_scheme("spiffex:", 8));
}

/* ---- issue 11 #10: IP forms, DNS names ---- */

TEST(names_ip_forms)
{
	EXPECT("deny_ip = ::ffff:10.0.0.0/104", mk("/CN=x", "IP:10.0.0.5", NULL), "deny_ip");
	EXPECT("deny_ip = 10.0.0.0/8", mk("/CN=x", "IP:::ffff:10.0.0.5", NULL), "deny_ip");
	EXPECT("deny_ip = 10.0.0.0/8", mk("/CN=x", "IP:::10.0.0.5", NULL), "deny_ip");
	EXPECT("deny_ip = ::ffff:10.0.0.0/104", mk("/CN=x", "IP:::10.0.0.5", NULL), "deny_ip");
	EXPECT("deny_ip = ::10.0.0.0/104", mk("/CN=x", "IP:10.0.0.5", NULL), "deny_ip");
	EXPECT("deny_ip = ::10.0.0.0/104", mk("/CN=x", "IP:::ffff:10.0.0.5", NULL), "deny_ip");
	EXPECT("deny_ip = 10.0.0.0/8", mk("/CN=x", "IP:::ffff:11.0.0.5", NULL), "verified");
	EXPECT("deny_ip = 10.0.0.0/8", mk("/CN=x", "IP:2001:db8::a00:5", NULL), "verified");
	/* allow lists: IPv4 and IPv4-mapped are one address; the deprecated
	 * IPv4-compatible form is not read as IPv4 */
	EXPECT("allow_ip = 10.0.0.0/8", mk("/CN=x", "IP:::ffff:10.0.0.5", NULL), "allow_ip");
	EXPECT("allow_ip = ::ffff:10.0.0.0/104", mk("/CN=x", "IP:10.0.0.5", NULL), "allow_ip");
	EXPECT("allow_ip = 10.0.0.0/8", mk("/CN=x", "IP:::10.0.0.5", NULL), "identity");
}

TEST(names_cidr_forms)
{
	struct cidr_list l = { 0 };
	struct cidr c;
	static const unsigned char v4[4] = { 10, 0, 0, 5 };
	static const unsigned char mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 5 };
	static const unsigned char compat[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 5 };

	CHECK(cidr_parse("::ffff:10.0.0.0/104", &c) == 0 && cidr_list_add(&l, &c) == 0);
	CHECK(cidr_list_match(&l, v4, 4));
	CHECK(cidr_list_match(&l, mapped, 16));
	CHECK(!cidr_list_match(&l, compat, 16));
	CHECK(cidr_list_match_ex(&l, compat, 16, CIDR_MATCH_V4COMPAT));
	cidr_list_free(&l);
	CHECK(cidr_parse("10.0.0.0/8", &c) == 0 && cidr_list_add(&l, &c) == 0);
	CHECK(cidr_list_match(&l, mapped, 16));
	CHECK(!cidr_list_match(&l, compat, 16));
	CHECK(cidr_list_match_ex(&l, compat, 16, CIDR_MATCH_V4COMPAT));
	CHECK(!cidr_list_match(&l, v4, 3));
	cidr_list_free(&l);
}

TEST(names_dns_sans)
{
	/* invalid DNS SANs deny wherever DNS rules apply */
	EXPECT("allow_dns = *.example.com", mk("/CN=x", "DNS:**.example.com", NULL), "dns_invalid");
	EXPECT("deny_dns = a.example.com", mk("/CN=x", "DNS:ok.example.com,DNS:a..example.com", NULL),
	       "dns_invalid");
	EXPECT("allow_dns = a.example.com", mk("/CN=x", "DNS:a.example.com,DNS:a.*.example.com", NULL),
	       "dns_invalid");
	EXPECT("allow_dns = a.example.com", mk("/CN=x", "DNS:a.example.com,DNS:-a.example.com", NULL),
	       "dns_invalid");
	EXPECT("allow_dns = a.example.com", mk("/CN=x", "DNS:a.example.com,DNS:a_b.example.com", NULL),
	       "dns_invalid");
	EXPECT("allow_dns = a.example.com", mk("/CN=x", "DNS:a.example.com,DNS:a.example.com..", NULL),
	       "dns_invalid");
	{
		char san[400];

		snprintf(san, sizeof(san), "DNS:a.example.com,DNS:%064d.example.com", 0);
		EXPECT("allow_dns = a.example.com", mk("/CN=x", san, NULL), "dns_invalid");
	}
	/* without DNS rules they are not looked at */
	EXPECT("allow_cn = x", mk("/CN=x", "DNS:**.example.com", NULL), "allow_cn");
	/* a wildcard SAN covering a denied name, and a trailing dot */
	EXPECT("deny_dns = evil.example.com", mk("/CN=x", "DNS:*.example.com", NULL), "deny_dns");
	EXPECT("deny_dns = evil.example.com", mk("/CN=x", "DNS:evil.example.com.", NULL), "deny_dns");
	EXPECT("deny_dns = evil.example.com.", mk("/CN=x", "DNS:EVIL.example.com", NULL), "deny_dns");
	EXPECT("deny_dns = *.example.com", mk("/CN=x", "DNS:*.example.com", NULL), "deny_dns");
	EXPECT("deny_dns = a.b.example.com", mk("/CN=x", "DNS:*.example.com", NULL), "verified");
	EXPECT("deny_dns = *.b.example.com", mk("/CN=x", "DNS:*.example.com", NULL), "verified");
	EXPECT("deny_dns = example.com", mk("/CN=x", "DNS:*.example.com", NULL), "verified");
	/* allow: a wildcard SAN matches only the identical wildcard entry */
	EXPECT("allow_dns = a.example.com", mk("/CN=x", "DNS:*.example.com", NULL), "identity");
	EXPECT("allow_dns = *.example.com", mk("/CN=x", "DNS:*.example.com", NULL), "allow_dns");
	EXPECT("allow_dns = *.example.com", mk("/CN=x", "DNS:a.example.com.", NULL), "allow_dns");
	EXPECT("allow_dns = *.example.com", mk("/CN=x", "DNS:a.b.example.com", NULL), "identity");
	EXPECT("allow_dns = *.example.com", mk("/CN=x", "DNS:example.com", NULL), "identity");
}

/* More SANs than any max_sans allows: none kept (bounded memory in the
 * cache), san_total still counts them, every policy denies. */
TEST(names_sans_over_the_keep_limit)
{
	size_t cap = 6 * (CERT_SANS_KEEP_MAX + 1) + 1, o = 0;
	char *san = malloc(cap);
	struct cert_ext *e;
	X509 *x;

	CHECK(san != NULL);
	if (!san)
		return;
	for (int i = 0; i <= CERT_SANS_KEEP_MAX; i++)
		o += (size_t)snprintf(san + o, cap - o, "%sDNS:a", i ? "," : "");
	x = mk("/CN=huge", san, NULL);
	CHECK(x != NULL);
	e = x ? cert_get_ext(x) : NULL;
	CHECK(e != NULL);
	if (e) {
		CHECK_EQ_INT(e->san_total, CERT_SANS_KEEP_MAX + 1);
		CHECK_EQ_INT(e->nsans, 0);
	}
	cert_ext_free(e);
	EXPECT("max_sans = 10000", x, "too_many_sans");
	/* exactly the limit: all kept */
	san[o - 6] = '\0';
	x = mk("/CN=huge", san, NULL);
	e = x ? cert_get_ext(x) : NULL;
	CHECK(e != NULL);
	if (e) {
		CHECK_EQ_INT(e->san_total, CERT_SANS_KEEP_MAX);
		CHECK_EQ_INT(e->nsans, CERT_SANS_KEEP_MAX);
	}
	cert_ext_free(e);
	EXPECT("max_sans = 10000", x, "verified");
	free(san);
}
