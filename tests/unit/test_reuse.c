/* Verdict reuse (issue 15, item 3): decide_reuse() says "connection" only
 * when every condition holds, max_age is the smallest bound, the config
 * flag routing_per_request, every event that may change a decision bumps
 * the verdict generation, and the command hapush sends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "cache.h"
#include "cert.h"
#include "cfg.h"
#include "decide.h"
#include "hapush.h"
#include "rtdeny.h"
#include "rules.h"
#include "testcfg.h"
#include "testhelp.h"
#include "testpki.h"

#define NOW 1700000000

/* One allowed, reusable decision; each test breaks one thing. */
struct fixture {
	struct config cfg;
	struct policy pol;
	struct cert_facts facts;
	struct cert_eval ce;
	struct decision d;
	struct reuse_facts rf;
};

static void fixture(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->pol.reuse_max_age_ms = 60000;
	f->pol.token = TOKEN_MODE_OFF;
	f->pol.ocsp = OCSP_MODE_OFF;
	f->cfg.policies = f->cfg.default_policy = &f->pol;
	f->facts.not_before = NOW - 86400;
	f->facts.not_after = NOW + 30 * 86400;
	f->ce.parsed = 1;
	f->ce.facts = &f->facts;
	f->d.code = DEC_ALLOW;
	f->d.status = 200;
}

static enum reuse_scope reuse(struct fixture *f, int64_t *age)
{
	return decide_reuse(&f->cfg, &f->pol, &f->ce, &f->d, &f->rf, NOW, age);
}

/* the fixture itself is reusable, for reuse_max_age */
TEST(reuse_connection_when_all_hold)
{
	struct fixture f;
	int64_t age = -1;

	fixture(&f);
	CHECK_EQ_INT(reuse(&f, &age), REUSE_CONNECTION);
	CHECK_EQ_INT(age, 60);
	CHECK_EQ_STR(reuse_scope_names[REUSE_CONNECTION], "connection");
	CHECK_EQ_STR(reuse_scope_names[REUSE_REQUEST], "request");
}

#define EXPECT_REQUEST(f) do { \
	int64_t age_ = -1; \
	CHECK_EQ_INT(reuse(f, &age_), REUSE_REQUEST); \
	CHECK_EQ_INT(age_, 0); \
} while (0)

TEST(reuse_deny_is_per_request)
{
	struct fixture f;

	fixture(&f);
	f.d.code = DEC_CERT_UNTRUSTED;
	f.d.status = 403;
	EXPECT_REQUEST(&f);
}

TEST(reuse_shadow_pass_is_per_request)
{
	struct fixture f;

	fixture(&f);
	f.d.shadowed = 1;
	f.d.would_code = DEC_CERT_UNTRUSTED;
	EXPECT_REQUEST(&f);
}

TEST(reuse_routing_on_the_request_is_per_request)
{
	struct fixture f;

	fixture(&f);
	f.cfg.routing_per_request = 1;
	EXPECT_REQUEST(&f);
}

TEST(reuse_forwarded_is_per_request)
{
	struct fixture f;

	fixture(&f);
	f.rf.forwarded = 1;
	EXPECT_REQUEST(&f);
	fixture(&f);
	f.cfg.fwd.enabled = 1;      /* a proxy's connection carries many clients */
	EXPECT_REQUEST(&f);
}

TEST(reuse_token_policy_is_per_request)
{
	struct fixture f;

	fixture(&f);
	f.pol.token = TOKEN_MODE_OFF + 1;
	EXPECT_REQUEST(&f);
}

TEST(reuse_trace_is_per_request)
{
	struct fixture f;

	fixture(&f);
	f.rf.trace = 1;
	EXPECT_REQUEST(&f);
}

TEST(reuse_pending_is_per_request)
{
	struct fixture f;

	fixture(&f);
	f.rf.pending = 1;
	EXPECT_REQUEST(&f);
	fixture(&f);
	f.ce.ocsp.pending = 1;
	EXPECT_REQUEST(&f);
	fixture(&f);
	f.pol.lists_pending = 1;
	EXPECT_REQUEST(&f);
}

TEST(reuse_max_age_zero_is_per_request)
{
	struct fixture f;

	fixture(&f);
	f.pol.reuse_max_age_ms = 0;
	EXPECT_REQUEST(&f);
	fixture(&f);
	f.pol.reuse_max_age_ms = 999;     /* under a second: nothing to reuse */
	EXPECT_REQUEST(&f);
}

TEST(reuse_no_policy_is_per_request)
{
	struct fixture f;
	int64_t age = -1;

	fixture(&f);
	CHECK_EQ_INT(decide_reuse(&f.cfg, NULL, &f.ce, &f.d, &f.rf, NOW, &age), REUSE_REQUEST);
	CHECK_EQ_INT(age, 0);
}

/* max_age is the min of the bounds, whichever is smallest */
TEST(reuse_max_age_is_the_min)
{
	struct fixture f;
	int64_t age = -1;

	/* the certificate expires in 7 s */
	fixture(&f);
	f.facts.not_after = NOW + 7;
	CHECK_EQ_INT(reuse(&f, &age), REUSE_CONNECTION);
	CHECK_EQ_INT(age, 7);
	/* already expired (an allow from a lax policy): never reused */
	fixture(&f);
	f.facts.not_after = NOW;
	EXPECT_REQUEST(&f);
	/* the crl_file's nextUpdate in 5 s, with CRL checks on */
	fixture(&f);
	f.pol.verify_flags = CERT_VF_CRL_LEAF;
	f.pol.crl_next_update = NOW + 5;
	CHECK_EQ_INT(reuse(&f, &age), REUSE_CONNECTION);
	CHECK_EQ_INT(age, 5);
	/* ... but not without CRL checks */
	f.pol.verify_flags = 0;
	CHECK_EQ_INT(reuse(&f, &age), REUSE_CONNECTION);
	CHECK_EQ_INT(age, 60);
	/* the OCSP answer good until NOW + 3 */
	fixture(&f);
	f.pol.ocsp = OCSP_MODE_OFF + 1;
	f.ce.ocsp.state = REV_GOOD;
	f.ce.ocsp.until = NOW + 3;
	CHECK_EQ_INT(reuse(&f, &age), REUSE_CONNECTION);
	CHECK_EQ_INT(age, 3);
	/* an OCSP policy without a good answer (soft-fail allow): per request */
	f.ce.ocsp.state = REV_UNKNOWN;
	EXPECT_REQUEST(&f);
	/* the policy's own bound is the smallest */
	fixture(&f);
	f.pol.reuse_max_age_ms = 2000;
	f.facts.not_after = NOW + 7;
	CHECK_EQ_INT(reuse(&f, &age), REUSE_CONNECTION);
	CHECK_EQ_INT(age, 2);
}

/* a chain certificate of the verified path that expires first bounds it */
TEST(reuse_max_age_chain_not_after)
{
	struct fixture f;
	struct cache_entry e;
	EVP_PKEY *ck = testpki_make_key();
	X509 *ca = ck ? testpki_make_cert("/CN=Reuse CA", ck, NULL, NULL, NOW - 100, NOW + 9, 1, NULL) : NULL;
	int64_t age = -1;

	CHECK(ca != NULL);
	if (!ca) {
		EVP_PKEY_free(ck);
		return;
	}
	fixture(&f);
	memset(&e, 0, sizeof(e));
	e.path = sk_X509_new_null();
	CHECK(e.path && sk_X509_push(e.path, ca) > 0);
	f.ce.entry = &e;
	CHECK_EQ_INT(reuse(&f, &age), REUSE_CONNECTION);
	CHECK_EQ_INT(age, 9);
	sk_X509_pop_free(e.path, X509_free);
	EVP_PKEY_free(ck);
}

static struct config *load_text(const char *text)
{
	char err[512];
	struct config *cfg = test_cfg_text(text, err, sizeof(err));

	if (!cfg)
		unit_fail(__FILE__, __LINE__, "config: %s", err);
	return cfg;
}

/* the config flag: routes on host, path_prefix, sni, or sni_host_match */
TEST(reuse_routing_per_request_flag)
{
	static const struct { const char *extra; int want; } cases[] = {
		{ "", 0 },
		{ "[route f]\nfrontend = api\npolicy = other\n", 0 },
		{ "[route a]\npath_prefix = /admin\npolicy = other\n", 1 },
		{ "[route h]\nhost = admin.example.com\npolicy = other\n", 1 },
		{ "[route s]\nsni = admin.example.com\npolicy = other\n", 1 },
		{ "[policy third]\nsni_host_match = yes\n", 1 },
	};
	char text[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text), "[policy default]\nreuse_max_age = 30s\n[policy other]\n%s",
		         cases[i].extra);
		cfg = load_text(text);
		CHECK(cfg != NULL);
		if (!cfg)
			continue;
		if (cfg->routing_per_request != cases[i].want)
			unit_fail(__FILE__, __LINE__, "case %zu: routing_per_request %d, expected %d", i,
			          cfg->routing_per_request, cases[i].want);
		CHECK_EQ_INT(cfg->default_policy->reuse_max_age_ms, 30000);
		CHECK_EQ_INT(cfg->policies->next->reuse_max_age_ms, 60000);   /* the default */
		cfg_free(cfg);
	}
}

/* ---- the verdict generation: each kind of event bumps it ---- */

TEST(reuse_gen_reload_bumps)
{
	struct config *cfg = load_text("[policy default]\n");
	struct decide_ctx dc;
	uint64_t g;

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK_EQ_INT(decide_init(&dc, cfg, 1), 0);
	g = cache_verdict_gen();
	decide_set_config(&dc, cfg, 2);
	CHECK(cache_verdict_gen() > g);
	decide_destroy(&dc);
	cfg_free(cfg);
}

TEST(reuse_gen_runtime_deny_bumps)
{
	struct rtdeny_set *s = rtdeny_set_new(), *old;
	uint64_t g = cache_verdict_gen();

	CHECK(s != NULL);
	old = rtdeny_publish(s);               /* add, del, expiry: all publish */
	CHECK(cache_verdict_gen() > g);
	g = cache_verdict_gen();
	CHECK(rtdeny_publish(old) == s);
	CHECK(cache_verdict_gen() > g);
	free(s);
}

TEST(reuse_gen_crl_install_bumps)
{
	uint64_t g = cache_verdict_gen();

	CHECK_EQ_INT(cert_crls_install(NULL, NULL), 0);
	CHECK(cache_verdict_gen() > g);
	g = cache_verdict_gen();
	cert_crls_clear();
	CHECK(cache_verdict_gen() > g);
}

TEST(reuse_gen_clear_cache_bumps)
{
	uint64_t g = cache_verdict_gen();

	cache_request_clear_all();
	CHECK(cache_verdict_gen() > g);
}

TEST(reuse_gen_start_only_raises)
{
	uint64_t g = cache_verdict_gen();

	cache_verdict_gen_start(g + 1000);
	CHECK_EQ_INT(cache_verdict_gen(), g + 1000);
	cache_verdict_gen_start(5);            /* never down */
	CHECK_EQ_INT(cache_verdict_gen(), g + 1000);
}

/* ---- hapush: the command and the addresses ---- */

TEST(reuse_hapush_command_and_addresses)
{
	char buf[128], err[256];

	CHECK(hapush_command(123456789012345ULL, buf, sizeof(buf)) > 0);
	CHECK_EQ_STR(buf, "experimental-mode on; set var proc.certspoa_gen int(123456789012345)\n");
	CHECK_EQ_INT(hapush_command(1, buf, 10), -1);
	CHECK_EQ_INT(hapush_check("unix@/run/haproxy/admin.sock, 127.0.0.1:9999 [::1]:80", err, sizeof(err)), 0);
	CHECK_EQ_INT(hapush_check("", err, sizeof(err)), 0);
	CHECK_EQ_INT(hapush_check("localhost:9999", err, sizeof(err)), -1);    /* numeric only */
	CHECK_EQ_INT(hapush_check("unix@relative.sock", err, sizeof(err)), -1);
	CHECK_EQ_INT(hapush_check("127.0.0.1:0", err, sizeof(err)), -1);
	CHECK_EQ_INT(hapush_check("127.0.0.1:70000", err, sizeof(err)), -1);
	CHECK_EQ_INT(hapush_check("127.0.0.1", err, sizeof(err)), -1);
	CHECK(strstr(err, "haproxy_socket") != NULL);
}
