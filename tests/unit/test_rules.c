/* Rules engine: every decision path with its exact code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509_vfy.h>

#include "cert.h"
#include "rules.h"
#include "testhelp.h"
#include "tplist.h"

static const char CERT_BYTES[] = "not parsed here";

/* Extension facts of a certificate with no names: every policy needs them
 * (max_sans), and a certificate whose extensions cannot be read is denied
 * (cert_extensions). */
static const struct cert_ext NO_NAMES = { .cn = "", .subject_canon = "", .issuer_canon = "" };

static void base(struct policy *p, struct req_facts *rq, struct cert_eval *ce,
                 struct cert_facts *f)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "default");
	p->require_cert = 1;
	p->verify = VERIFY_HAPROXY;
	p->deny_status = 403;

	memset(rq, 0, sizeof(*rq));
	rq->has_present = rq->present = 1;
	rq->has_verify = 1;
	rq->verify = X509_V_OK;
	rq->has_cert = 1;
	rq->cert.ptr = CERT_BYTES;
	rq->cert.len = sizeof(CERT_BYTES);

	memset(f, 0, sizeof(*f));
	memset(f->sha1, 0x11, sizeof(f->sha1));
	memset(f->sha256, 0x22, sizeof(f->sha256));
	memset(ce, 0, sizeof(*ce));
	ce->parsed = 1;
	ce->facts = f;
	ce->ext = &NO_NAMES;
}

/* A thumbprint list holding the SHA-256 of the base facts (0x22...). */
static struct tplist *list_with_base(void)
{
	char path[] = "/tmp/certspoa-rules-XXXXXX";
	int fd = mkstemp(path);
	struct tplist *l;
	char err[256];

	if (fd < 0)
		return NULL;
	for (int i = 0; i < 32; i++)
		if (write(fd, "22", 2) != 2)
			break;
	if (write(fd, "\n", 1) != 1) {
		close(fd);
		return NULL;
	}
	close(fd);
	l = tplist_load(path, err, sizeof(err));
	unlink(path);
	return l;
}

TEST(rules_allow_when_all_checks_pass)
{
	struct policy p; struct req_facts rq; struct cert_eval ce; struct cert_facts f;
	struct decision d;

	base(&p, &rq, &ce, &f);
	p.thumbprints = list_with_base();
	CHECK(p.thumbprints != NULL);
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_ALLOW);
	CHECK_EQ_INT(d.status, 200);
	CHECK_EQ_STR(dec_table[d.code].code, "ok");
	tplist_free(p.thumbprints);
}

TEST(rules_cert_missing)
{
	struct policy p; struct req_facts rq; struct cert_eval ce; struct cert_facts f;
	struct decision d;

	base(&p, &rq, &ce, &f);
	rq.has_cert = 0;
	rq.has_present = 1;
	rq.present = 0;
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_MISSING);
	CHECK_EQ_INT(d.status, 403);
	CHECK_EQ_STR(dec_table[d.code].code, "cert_missing");
	CHECK_EQ_STR(dec_table[d.code].reason, "Client certificate required");
	CHECK_EQ_STR(d.detail, "no client certificate was presented");

	/* an empty binary is not a certificate either */
	rq.has_cert = 1;
	rq.cert.len = 0;
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_MISSING);

	/* HAProxy says a cert was used but the config does not send it */
	rq.has_cert = 0;
	rq.present = 1;
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_MISSING);
	CHECK(strstr(d.detail, "ssl_c_der") != NULL);
}

TEST(rules_optional_cert_allows_anonymous)
{
	struct policy p; struct req_facts rq; struct cert_eval ce; struct cert_facts f;
	struct decision d;

	base(&p, &rq, &ce, &f);
	p.require_cert = 0;
	rq.has_cert = 0;
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_ALLOW);
}

TEST(rules_cert_unverified_by_haproxy)
{
	struct policy p; struct req_facts rq; struct cert_eval ce; struct cert_facts f;
	struct decision d;

	base(&p, &rq, &ce, &f);
	rq.verify = X509_V_ERR_CERT_HAS_EXPIRED;
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_UNVERIFIED);
	CHECK_EQ_STR(dec_table[d.code].code, "cert_unverified");
	CHECK_EQ_STR(dec_table[d.code].reason, "Client certificate cannot be verified");
	CHECK_EQ_STR(d.detail, "certificate has expired (10)");

	/* fail closed: verify mode haproxy but no verify result sent */
	rq.verify = 0;
	rq.has_verify = 0;
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_UNVERIFIED);
	CHECK(strstr(d.detail, "ssl_c_verify") != NULL);

	/* a nonsense verify value is still a deny */
	rq.has_verify = 1;
	rq.verify = -5;
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_UNVERIFIED);
}

TEST(rules_cert_unverified_by_agent)
{
	struct policy p; struct req_facts rq; struct cert_eval ce; struct cert_facts f;
	struct decision d;

	base(&p, &rq, &ce, &f);
	p.verify = VERIFY_AGENT;
	rq.has_verify = 0;        /* not needed in agent mode */
	ce.agent_checked = 1;
	ce.agent_verify = X509_V_OK;
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_ALLOW);

	ce.agent_verify = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_UNVERIFIED);
	CHECK(strstr(d.detail, "(20)") != NULL);

	/* the agent check did not run: never an allow */
	ce.agent_checked = 0;
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK(d.code != DEC_ALLOW);

	/* both: HAProxy's failure is enough */
	p.verify = VERIFY_BOTH;
	ce.agent_checked = 1;
	ce.agent_verify = X509_V_OK;
	rq.has_verify = 1;
	rq.verify = X509_V_ERR_CERT_REVOKED;
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_UNVERIFIED);
	CHECK_EQ_STR(d.detail, "certificate revoked (23)");
	/* ... and so is the agent's */
	rq.verify = X509_V_OK;
	ce.agent_verify = X509_V_ERR_CERT_NOT_YET_VALID;
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_UNVERIFIED);
	CHECK_EQ_STR(d.detail, "certificate is not yet valid (9)");
}

TEST(rules_garbage_der_is_unverified)
{
	struct policy p; struct req_facts rq; struct cert_eval ce; struct cert_facts f;
	struct decision d;

	base(&p, &rq, &ce, &f);
	ce.parsed = 0;
	ce.facts = NULL;
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_UNVERIFIED);
	CHECK_EQ_STR(d.detail, "certificate is not valid DER");
}

TEST(rules_cert_untrusted)
{
	struct policy p; struct req_facts rq; struct cert_eval ce; struct cert_facts f;
	struct decision d;

	base(&p, &rq, &ce, &f);
	p.thumbprints = list_with_base();
	CHECK(p.thumbprints != NULL);
	f.sha256[0] = 0x23;        /* not the listed one */
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_UNTRUSTED);
	CHECK_EQ_STR(dec_table[d.code].code, "cert_untrusted");
	CHECK_EQ_STR(dec_table[d.code].reason, "Client certificate is untrusted or invalid");
	tplist_free(p.thumbprints);
}

TEST(rules_order_missing_before_unverified_before_untrusted)
{
	struct policy p; struct req_facts rq; struct cert_eval ce; struct cert_facts f;
	struct decision d;

	base(&p, &rq, &ce, &f);
	p.thumbprints = list_with_base();
	f.sha256[0] = 0;                       /* untrusted ... */
	rq.verify = X509_V_ERR_CERT_HAS_EXPIRED;   /* ... and unverified */
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_UNVERIFIED);
	rq.has_cert = 0;                       /* ... and missing */
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_MISSING);
	tplist_free(p.thumbprints);
}

TEST(rules_bad_request_and_status)
{
	struct policy p; struct req_facts rq; struct cert_eval ce; struct cert_facts f;
	struct decision d;

	base(&p, &rq, &ce, &f);
	p.deny_status = 495;
	rq.bad_arg = "verify";
	rules_decide(&p, &rq, &ce, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_BAD_REQUEST);
	CHECK_EQ_INT(d.status, 495);
	CHECK_EQ_STR(dec_table[d.code].code, "bad_request");
	CHECK_EQ_STR(d.detail, "argument 'verify' has the wrong type");

	rules_decide(NULL, &rq, &ce, 0, NULL, &d);
	CHECK(d.code != DEC_ALLOW);
}
