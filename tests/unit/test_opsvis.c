/* What an operator sees of a decision (issue 16, items 4-6 and
 * correlation): shadow denials in the log, in recent denials and in their
 * own counter; the rule in the log line, the ring and the decision
 * counter's labels; HAProxy's unique-id as req_id; days_left pinned;
 * deny_detail handed to HAProxy. Messages go through the real handler
 * (NOTIFY payload in, ACK out), then through declog as a worker does. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cert.h"
#include "declog.h"
#include "handler.h"
#include "log.h"
#include "rules.h"
#include "sbuf.h"
#include "spop.h"
#include "stats.h"
#include "testhelp.h"
#include "testpki.h"
#include "tplist.h"

#define T0     1800000000LL
#define ONE_D  86400LL

static struct {
	int made;
	EVP_PKEY *key;
	X509 *ca, *leaf;
	unsigned char *der;
	size_t len;
} ov;

static void ov_pki(void)
{
	if (ov.made)
		return;
	ov.key = testpki_make_key();
	ov.ca = testpki_make_cert("/CN=Opsvis Root", ov.key, NULL, NULL, T0 - 9 * ONE_D,
	                          T0 + 900 * ONE_D, 1, NULL);
	ov.leaf = testpki_make_cert("/O=Example/CN=carol", ov.key, ov.ca, ov.key, T0 - ONE_D,
	                            T0 + 20 * ONE_D, 0, "clientAuth");
	ov.der = testpki_to_der(ov.leaf, &ov.len);
	ov.made = ov.der != NULL;
}

/* One policy "edge" (mode and verify given), no lists but a thumbprint
 * list naming nobody we send, so a valid certificate is denied. */
static struct config ov_cfg;
static struct policy ov_pol;
static struct tplist *ov_tp;

static void ov_handler(struct handler_ctx *hc, int mode)
{
	char path[] = "/tmp/certspoa-ov-XXXXXX", err[256];
	int fd = mkstemp(path);

	memset(&ov_cfg, 0, sizeof(ov_cfg));
	memset(&ov_pol, 0, sizeof(ov_pol));
	snprintf(ov_pol.name, sizeof(ov_pol.name), "edge");
	ov_pol.require_cert = 1;
	ov_pol.verify = VERIFY_HAPROXY;
	ov_pol.deny_status = 403;
	ov_pol.mode = mode;
	if (fd >= 0 && write(fd, "00000000000000000000000000000000000000000000000000000000000000aa\n", 65) == 65)
		ov_tp = tplist_load(path, err, sizeof(err));
	if (fd >= 0)
		close(fd);
	unlink(path);
	ov_pol.thumbprints = ov_tp;
	ov_cfg.policies = ov_cfg.default_policy = &ov_pol;
	ov_cfg.cache_size = 16;
	handler_init(hc, &ov_cfg, 1);
}

static void ov_done(struct handler_ctx *hc)
{
	handler_destroy(hc);
	tplist_free(ov_tp);
	ov_tp = NULL;
}

/* A check-client-cert message: the certificate, HAProxy's verify result,
 * and a unique_id when req_id is not NULL. */
static size_t ov_payload(char *buf, size_t cap, int64_t verify, const char *req_id)
{
	static const char *const names[] = { "present", "verify", "cert", "unique_id" };
	struct spop_data v[4];
	char *p = buf, *end = buf + cap;
	int n = req_id ? 4 : 3;

	memset(v, 0, sizeof(v));
	v[0].type = SPOP_DATA_BOOL;
	v[0].u.boolean = 1;
	v[1].type = SPOP_DATA_INT64;
	v[1].u.sint = verify;
	v[2].type = SPOP_DATA_BIN;
	v[2].u.str.ptr = (const char *)ov.der;
	v[2].u.str.len = ov.len;
	if (req_id) {
		v[3].type = SPOP_DATA_STR;
		v[3].u.str.ptr = req_id;
		v[3].u.str.len = strlen(req_id);
	}
	if (spop_put_str(&p, end, HANDLER_MESSAGE, strlen(HANDLER_MESSAGE)) < 0 || p >= end)
		return 0;
	*p++ = (char)n;
	for (int i = 0; i < n; i++)
		if (spop_put_str(&p, end, names[i], strlen(names[i])) < 0 ||
		    spop_put_data(&p, end, &v[i]) < 0)
			return 0;
	return (size_t)(p - buf);
}

/* Decide one message and hand it to declog under mode, as a worker does;
 * the log lines written meanwhile land in logbuf. Returns the ACK length,
 * or -1. */
static char ov_ack[20000];

static int ov_decide(struct handler_ctx *hc, struct declog *dl, int mode, int64_t verify,
                     const char *req_id, struct handler_result *res, char *logbuf, size_t logcap)
{
	char payload[4096];
	size_t n = ov_payload(payload, sizeof(payload), verify, req_id);
	char *p = ov_ack;
	enum spop_status st = SPOP_ST_NONE;
	char path[] = "/tmp/certspoa-ovlog-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO), rc = -1;
	ssize_t got;

	memset(res, 0, sizeof(*res));
	logbuf[0] = 0;
	if (n == 0 || fd < 0 || saved < 0)
		goto out;
	if (handler_notify(hc, 1, 1, payload, n, T0, &p, ov_ack + sizeof(ov_ack), 16380, &st, res) < 0)
		goto out;
	dup2(fd, STDERR_FILENO);
	declog_decided(dl, mode, T0, 5, res);
	dup2(saved, STDERR_FILENO);
	got = pread(fd, logbuf, logcap - 1, 0);
	logbuf[got > 0 ? got : 0] = 0;
	rc = (int)(p - ov_ack);
out:
	if (saved >= 0)
		close(saved);
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	return rc;
}

/* Does the ACK set variable name to the string want? */
static int ack_has(int len, const char *name, const char *want)
{
	const char *p = ov_ack, *end = ov_ack + (len > 0 ? len : 0);
	size_t nl = strlen(name), wl = strlen(want);

	/* the value follows its name; names are unique in an ACK */
	for (; p + nl + 2 + wl <= end; p++)
		if (memcmp(p, name, nl) == 0 && (unsigned char)p[-1] == nl &&
		    (p[nl] & 0x0f) == SPOP_DATA_STR && (unsigned char)p[nl + 1] == wl &&
		    memcmp(p + nl + 2, want, wl) == 0)
			return 1;
	return 0;
}

/* ---- 4. shadow mode you can see ---- */

TEST(opsvis_shadow_denial_logged_by_default)
{
	struct handler_ctx hc;
	struct declog *dl = calloc(1, sizeof(*dl));
	struct stats_denial out[4];
	struct handler_result res;
	char log[4096];
	int len;

	ov_pki();
	CHECK(ov.made && dl);
	if (!ov.made || !dl)
		return;
	log_min_level = LOG_INFO;
	ov_handler(&hc, POLICY_SHADOW);
	len = ov_decide(&hc, dl, LOG_DECISIONS_DENIALS, 0, "abc-1", &res, log, sizeof(log));
	CHECK(len > 0);
	CHECK(ack_has(len, "verdict", "allow"));
	CHECK(ack_has(len, "would_deny", "cert_untrusted"));
	/* the default log_decisions = denials writes the would-be denial */
	CHECK(strstr(log, "msg=decision") != NULL);
	CHECK(strstr(log, " verdict=allow ") != NULL);
	CHECK(strstr(log, " rule=shadow ") != NULL);
	CHECK(strstr(log, " would_deny=cert_untrusted ") != NULL);
	CHECK(strstr(log, " would_rule=allow_thumbprints ") != NULL);
	CHECK(strstr(log, " req_id=abc-1 ") != NULL);
	/* ... and recent denials keep it, marked */
	CHECK_EQ_INT(declog_recent(dl, out, 4), 1);
	CHECK_EQ_INT(out[0].shadow, 1);
	CHECK_EQ_INT(out[0].code, DEC_CERT_UNTRUSTED);
	CHECK_EQ_STR(out[0].rule, "allow_thumbprints");
	CHECK_EQ_STR(out[0].req_id, "abc-1");
	/* ... and the shadow counter has it by code and rule */
	CHECK_EQ_INT(hc.stats.shadow[DEC_CERT_UNTRUSTED][RULE_ALLOW_THUMBPRINT], 1);
	CHECK_EQ_INT(hc.stats.by_rule[DEC_ALLOW][RULE_SHADOW], 1);
	/* log_decisions = none: no line, still remembered */
	len = ov_decide(&hc, dl, LOG_DECISIONS_NONE, 0, NULL, &res, log, sizeof(log));
	CHECK(len > 0);
	CHECK_EQ_STR(log, "");
	CHECK_EQ_INT(declog_recent(dl, out, 4), 2);
	CHECK_EQ_INT(out[0].shadow, 1);
	CHECK_EQ_STR(out[0].req_id, "");
	ov_done(&hc);
	log_min_level = LOG_ERR;
	free(dl);
}

TEST(opsvis_enforced_allow_not_logged_under_denials)
{
	struct handler_ctx hc;
	struct declog *dl = calloc(1, sizeof(*dl));
	struct handler_result res;
	struct stats_denial out[2];
	char log[4096];

	ov_pki();
	if (!ov.made || !dl) {
		CHECK(0);
		free(dl);
		return;
	}
	log_min_level = LOG_INFO;
	ov_handler(&hc, POLICY_ENFORCE);
	ov_pol.thumbprints = NULL;          /* no allow list: a valid cert is allowed */
	CHECK(ov_decide(&hc, dl, LOG_DECISIONS_DENIALS, 0, "r", &res, log, sizeof(log)) > 0);
	CHECK_EQ_INT(res.d.code, DEC_ALLOW);
	CHECK_EQ_STR(log, "");
	CHECK_EQ_INT(declog_recent(dl, out, 2), 0);
	CHECK(ov_decide(&hc, dl, LOG_DECISIONS_ALL, 0, "r", &res, log, sizeof(log)) > 0);
	CHECK(strstr(log, " rule=verified ") != NULL);
	CHECK(strstr(log, "would_deny") == NULL);
	ov_pol.thumbprints = ov_tp;
	ov_done(&hc);
	log_min_level = LOG_ERR;
	free(dl);
}

/* ---- 6. the rule everywhere ---- */

TEST(opsvis_rule_in_log_ring_and_counter)
{
	struct handler_ctx hc;
	struct declog *dl = calloc(1, sizeof(*dl));
	struct handler_result res;
	struct stats_denial out[2];
	char log[4096];
	int len;

	ov_pki();
	if (!ov.made || !dl) {
		CHECK(0);
		free(dl);
		return;
	}
	log_min_level = LOG_INFO;
	ov_handler(&hc, POLICY_ENFORCE);
	/* HAProxy said "expired" (10) */
	len = ov_decide(&hc, dl, LOG_DECISIONS_DENIALS, 10, "id-7", &res, log, sizeof(log));
	CHECK(len > 0);
	CHECK(ack_has(len, "code", "cert_unverified"));
	CHECK(strstr(log, " verdict=deny code=cert_unverified rule=cert_expired ") != NULL);
	CHECK(strstr(log, " req_id=id-7 ") != NULL);
	CHECK(strstr(log, "would_deny") == NULL);
	CHECK_EQ_INT(declog_recent(dl, out, 2), 1);
	CHECK_EQ_STR(out[0].rule, "cert_expired");
	CHECK_EQ_INT(out[0].shadow, 0);
	CHECK_EQ_INT(hc.stats.by_rule[DEC_CERT_UNVERIFIED][RULE_CERT_EXPIRED], 1);
	/* unknown CA (20): same code, another rule, another series */
	CHECK(ov_decide(&hc, dl, LOG_DECISIONS_DENIALS, 20, NULL, &res, log, sizeof(log)) > 0);
	CHECK(strstr(log, " rule=cert_unknown_ca ") != NULL);
	CHECK_EQ_INT(hc.stats.by_rule[DEC_CERT_UNVERIFIED][RULE_CERT_UNKNOWN_CA], 1);
	CHECK_EQ_INT(hc.stats.by_rule[DEC_CERT_UNVERIFIED][RULE_CERT_EXPIRED], 1);
	CHECK_EQ_INT(hc.stats.by_code[DEC_CERT_UNVERIFIED], 2);
	ov_done(&hc);
	log_min_level = LOG_ERR;
	free(dl);
}

TEST(opsvis_req_id_is_cleaned_and_cut)
{
	struct handler_ctx hc;
	struct declog *dl = calloc(1, sizeof(*dl));
	struct handler_result res;
	struct stats_denial out[2];
	char log[4096], id[200];

	ov_pki();
	if (!ov.made || !dl) {
		CHECK(0);
		free(dl);
		return;
	}
	log_min_level = LOG_INFO;
	ov_handler(&hc, POLICY_ENFORCE);
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = 0;
	memcpy(id, "a\nb c\x01", 6);
	CHECK(ov_decide(&hc, dl, LOG_DECISIONS_DENIALS, 10, id, &res, log, sizeof(log)) > 0);
	CHECK_EQ_INT(declog_recent(dl, out, 2), 1);
	CHECK_EQ_INT(strlen(out[0].req_id), STATS_REQ_ID_MAX - 1);
	CHECK(strncmp(out[0].req_id, "a?b?c?xx", 8) == 0);
	CHECK(strstr(log, " req_id=a?b?c?xx") != NULL);
	CHECK(strchr(log, '\n') == log + strlen(log) - 1);    /* one line */
	ov_done(&hc);
	log_min_level = LOG_ERR;
	free(dl);
}

TEST(opsvis_prometheus_and_json_carry_rule_and_shadow)
{
	struct stats_snapshot *s = calloc(1, sizeof(*s));
	struct sbuf b = { 0 };

	CHECK(s != NULL);
	if (!s)
		return;
	s->by_code[DEC_ALLOW] = 4;
	s->by_rule[DEC_ALLOW][RULE_VERIFIED] = 3;
	s->by_rule[DEC_ALLOW][RULE_SHADOW] = 1;
	s->by_code[DEC_CERT_UNVERIFIED] = 2;
	s->by_rule[DEC_CERT_UNVERIFIED][RULE_CERT_EXPIRED] = 2;
	s->shadow[DEC_CERT_UNTRUSTED][RULE_ALLOW_THUMBPRINT] = 1;
	s->ndenials = 1;
	s->denials[0].code = DEC_CERT_UNTRUSTED;
	s->denials[0].shadow = 1;
	snprintf(s->denials[0].rule, sizeof(s->denials[0].rule), "allow_thumbprints");
	snprintf(s->denials[0].req_id, sizeof(s->denials[0].req_id), "7f\"q");
	stats_render_prometheus(s, &b);
	CHECK(b.p && strstr(b.p, "\ncertspoa_decisions_total{verdict=\"deny\",code=\"cert_unverified\",rule=\"cert_expired\"} 2\n"));
	CHECK(b.p && strstr(b.p, "\ncertspoa_decisions_total{verdict=\"allow\",code=\"ok\",rule=\"shadow\"} 1\n"));
	/* a code never decided keeps its zero series */
	CHECK(b.p && strstr(b.p, "\ncertspoa_decisions_total{verdict=\"deny\",code=\"cert_missing\"} 0\n"));
	CHECK(b.p && strstr(b.p, "\n# TYPE certspoa_shadow_denials_total counter\n"));
	CHECK(b.p && strstr(b.p, "\ncertspoa_shadow_denials_total{code=\"cert_untrusted\",rule=\"allow_thumbprints\"} 1\n"));
	free(b.p);
	memset(&b, 0, sizeof(b));
	stats_render_json(s, &b);
	CHECK(b.p && strstr(b.p, "\"shadow_denials\":[{\"code\":\"cert_untrusted\",\"rule\":\"allow_thumbprints\",\"count\":1}]"));
	CHECK(b.p && strstr(b.p, "{\"code\":\"cert_unverified\",\"rule\":\"cert_expired\",\"count\":2}"));
	CHECK(b.p && strstr(b.p, "\"rule\":\"allow_thumbprints\",\"shadow\":true,\"req_id\":\"7f\\\"q\""));
	free(b.p);
	free(s);
}

/* The rule names a source file hands out: "name" right after a DEC_X,
 * argument (deny(pol, d, DEC_X, "name", ...), on the same or the next
 * line) or after "rule = ". Each must be in the table; returns how many
 * were seen, -1 if the file cannot be read. */
static int rules_in_source(const char *rel)
{
	char path[512], *src = NULL;
	FILE *f;
	long n;
	int seen = 0;

	snprintf(path, sizeof(path), "%s/../%s", test_dir, rel);
	if (!(f = fopen(path, "r")))
		return -1;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (src = calloc(1, (size_t)n + 1)) && fread(src, 1, (size_t)n, f) == (size_t)n) {
		for (char *p = src; *p; p++) {
			char *q, *e;

			if (strncmp(p, "DEC_", 4) == 0) {
				q = p + 4;
				while ((*q >= 'A' && *q <= 'Z') || *q == '_')
					q++;
				if (*q != ',')
					continue;
				q++;
			} else if (strncmp(p, "rule = ", 7) == 0) {
				q = p + 7;
			} else {
				continue;
			}
			while (*q == ' ' || *q == '\t' || *q == '\n')
				q++;
			if (*q != '"' || !(e = strchr(q + 1, '"')))
				continue;
			*e = 0;
			if (rules_rule_id(q + 1) == RULE_OTHER)
				unit_fail(__FILE__, __LINE__, "rule \"%s\" of %s is not in RULE_NAME_LIST (rules.h)",
				          q + 1, rel);
			*e = '"';
			seen++;
		}
	}
	free(src);
	fclose(f);
	return seen;
}

/* Every rule name the agent hands out is in the table: the counter's rule
 * label never says "other" for a rule of ours. Read from the sources, so a
 * new rule without its table row fails here. */
TEST(opsvis_rule_names_cover_the_sources)
{
	CHECK(rules_in_source("agent/rules.c") > 20);
	CHECK(rules_in_source("agent/handler.c") >= 1);
	CHECK(rules_in_source("agent/decide.c") >= 0);
	for (int code = -3; code < 120; code++)
		CHECK(rules_rule_id(rules_verify_rule(code)) != RULE_OTHER);
	CHECK(rules_rule_id("allow_thumbprints") == RULE_ALLOW_THUMBPRINT);
	CHECK(rules_rule_id("deny_spki_pins") == RULE_DENY_SPKI);
	CHECK(rules_rule_id("identity") == RULE_IDENTITY);
	CHECK(rules_rule_id("no_such_rule") == RULE_OTHER);
	CHECK(rules_rule_id(NULL) == RULE_OTHER);
	CHECK_EQ_STR(rule_names[RULE_OTHER], "other");
}

/* ---- 5. days_left: floor((not_after - now) / 86400) ---- */

TEST(opsvis_days_left_is_floor_of_days)
{
	struct decision d;
	struct cert_eval ce;
	struct cert_facts facts;
	struct req_facts rq;
	static const struct { int64_t off; long long want; } cases[] = {
		{ ONE_D, 1 }, { ONE_D - 1, 0 }, { 0, 0 }, { -1, -1 },
		{ -ONE_D, -1 }, { -ONE_D - 1, -2 }, { 30 * ONE_D + 5, 30 },
	};

	memset(&ov_pol, 0, sizeof(ov_pol));
	snprintf(ov_pol.name, sizeof(ov_pol.name), "edge");
	ov_pol.require_cert = 1;
	ov_pol.verify = VERIFY_HAPROXY;
	ov_pol.deny_status = 403;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&ce, 0, sizeof(ce));
		memset(&facts, 0, sizeof(facts));
		memset(&rq, 0, sizeof(rq));
		facts.not_after = T0 + cases[i].off;
		ce.parsed = 1;
		ce.facts = &facts;
		rq.has_present = rq.present = 1;
		rq.has_cert = 1;
		rq.cert.ptr = "x";
		rq.cert.len = 1;
		rq.has_verify = 1;
		rules_decide(&ov_pol, &rq, &ce, T0, NULL, &d);
		CHECK_EQ_INT(d.has_days_left, 1);
		CHECK_EQ_INT(d.days_left, cases[i].want);
		CHECK_EQ_INT(cert_days_until(T0 + cases[i].off, T0), cases[i].want);
	}
}

/* ---- deny_detail: what the denied client may be told ---- */

TEST(opsvis_deny_detail_in_the_ack)
{
	struct handler_ctx hc;
	struct declog *dl = calloc(1, sizeof(*dl));
	struct handler_result res;
	char log[4096];
	static const char *const words[] = { "none", "code", "hint" };
	int len;

	ov_pki();
	if (!ov.made || !dl) {
		CHECK(0);
		free(dl);
		return;
	}
	ov_handler(&hc, POLICY_ENFORCE);
	for (int k = DENY_DETAIL_NONE; k < DENY_DETAILS; k++) {
		ov_pol.deny_detail = k;
		len = ov_decide(&hc, dl, LOG_DECISIONS_NONE, 10, NULL, &res, log, sizeof(log));
		CHECK(ack_has(len, "verdict", "deny"));
		CHECK(ack_has(len, "deny_detail", words[k]));
	}
	/* an allow (shadow included) carries none */
	ov_pol.mode = POLICY_SHADOW;
	len = ov_decide(&hc, dl, LOG_DECISIONS_NONE, 10, NULL, &res, log, sizeof(log));
	CHECK(ack_has(len, "verdict", "allow"));
	for (int k = DENY_DETAIL_NONE; k < DENY_DETAILS; k++)
		CHECK(!ack_has(len, "deny_detail", words[k]));
	ov_done(&hc);
	free(dl);
}
