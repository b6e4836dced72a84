/* Revocation: CRL loading, per-request checking, missing and expired CRLs,
 * and a CRL change reaching certificates that were already cached. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "cert.h"
#include "cfg.h"
#include "handler.h"
#include "spop.h"
#include "testcfg.h"
#include "testhelp.h"
#include "testpki.h"

#define NOW 1900000000LL
#define DAY 86400LL

static struct {
	int ready;
	EVP_PKEY *ca_key, *leaf_key;
	X509 *ca, *good, *bad;
	char ca_pem[128];
} k;

static void cleanup(void)
{
	if (k.ca_pem[0])
		unlink(k.ca_pem);
}

static void setup(void)
{
	if (k.ready)
		return;
	k.ca_key = testpki_make_key();
	k.leaf_key = testpki_make_key();
	k.ca = testpki_make_cert("/CN=CRL Test CA", k.ca_key, NULL, NULL, NOW - 100 * DAY, NOW + 1000 * DAY, 1, NULL);
	k.good = testpki_make_cert("/CN=good", k.leaf_key, k.ca, k.ca_key, NOW - DAY, NOW + 100 * DAY, 0, "clientAuth");
	k.bad = testpki_make_cert("/CN=revoked", k.leaf_key, k.ca, k.ca_key, NOW - DAY, NOW + 100 * DAY, 0, "clientAuth");
	testpki_write_pem(&k.ca, 1, k.ca_pem, sizeof(k.ca_pem));
	atexit(cleanup);
	k.ready = k.ca && k.good && k.bad && k.ca_pem[0];
}

/* A CRL signed by the CA listing the given certificates, written to path. */
static int write_crl(char *path, size_t len, X509 *const *revoked, int n,
                     int64_t this_update, int64_t next_update)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)this_update);
	ASN1_TIME *t2 = ASN1_TIME_set(NULL, (time_t)next_update);
	int fd, ok = 0;
	FILE *f;

	snprintf(path, len, "/tmp/certspoa-crl-XXXXXX");
	if (!crl || !t1 || !t2 || !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(k.ca)) ||
	    !X509_CRL_set1_lastUpdate(crl, t1) || !X509_CRL_set1_nextUpdate(crl, t2))
		goto out;
	for (int i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();

		if (!r || !X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(revoked[i])) ||
		    !X509_REVOKED_set_revocationDate(r, t1) || !X509_CRL_add0_revoked(crl, r)) {
			X509_REVOKED_free(r);
			goto out;
		}
	}
	if (!X509_CRL_sort(crl) || !X509_CRL_sign(crl, k.ca_key, EVP_sha256()))
		goto out;
	fd = mkstemp(path);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		goto out;
	ok = PEM_write_X509_CRL(f, crl) == 1;
	fclose(f);
out:
	X509_CRL_free(crl);
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	return ok ? 0 : -1;
}

static struct cert_store *store_with(const char *crl_path, struct cert_crl_info *ci)
{
	char err[256];
	struct cert_store *st = cert_store_load(k.ca_pem, err, sizeof(err));

	if (st && crl_path && cert_store_add_crls(st, crl_path, ci, err, sizeof(err)) < 0) {
		fprintf(stderr, "  %s\n", err);
		cert_store_free(st);
		return NULL;
	}
	return st;
}

TEST(crl_revoked_leaf_is_refused)
{
	char crl[64];
	struct cert_crl_info ci;
	struct cert_store *st;
	int depth;

	setup();
	CHECK(k.ready);
	CHECK(write_crl(crl, sizeof(crl), &k.bad, 1, NOW - DAY, NOW + 7 * DAY) == 0);
	st = store_with(crl, &ci);
	CHECK(st != NULL);
	CHECK_EQ_INT(ci.count, 1);
	CHECK_EQ_INT(ci.last_update, NOW - DAY);
	CHECK_EQ_INT(ci.next_update, NOW + 7 * DAY);
	CHECK_EQ_INT(cert_verify_ex(st, k.bad, NULL, 0, NOW, CERT_VF_CRL_LEAF, &depth), X509_V_ERR_CERT_REVOKED);
	CHECK_EQ_INT(depth, 0);
	CHECK_EQ_INT(cert_verify_ex(st, k.good, NULL, 0, NOW, CERT_VF_CRL_ALL, &depth), X509_V_OK);
	/* without the CRL flags the CRL in the store is not consulted */
	CHECK_EQ_INT(cert_verify_ex(st, k.bad, NULL, 0, NOW, 0, &depth), X509_V_OK);
	/* an expired CRL fails closed */
	CHECK_EQ_INT(cert_verify_ex(st, k.good, NULL, 0, NOW + 8 * DAY, CERT_VF_CRL_LEAF, &depth),
	             X509_V_ERR_CRL_HAS_EXPIRED);
	cert_store_free(st);
	unlink(crl);
}

TEST(crl_missing_is_deny_unless_allowed)
{
	struct cert_store *st;
	int depth;

	setup();
	st = store_with(NULL, NULL);
	CHECK(st != NULL);
	CHECK_EQ_INT(cert_verify_ex(st, k.good, NULL, 0, NOW, CERT_VF_CRL_LEAF, &depth),
	             X509_V_ERR_UNABLE_TO_GET_CRL);
	CHECK_EQ_INT(cert_verify_ex(st, k.good, NULL, 0, NOW, CERT_VF_CRL_LEAF | CERT_VF_CRL_MISSING_OK,
	                            &depth), X509_V_OK);
	/* MISSING_OK never hides another error */
	CHECK_EQ_INT(cert_verify_ex(st, k.good, NULL, 0, NOW + 200 * DAY,
	                            CERT_VF_CRL_LEAF | CERT_VF_CRL_MISSING_OK, &depth),
	             X509_V_ERR_CERT_HAS_EXPIRED);
	cert_store_free(st);
}

TEST(crl_file_errors)
{
	char err[256], path[] = "/tmp/certspoa-crlbad-XXXXXX";
	struct cert_crl_info ci;
	struct cert_store *st;
	int fd;

	setup();
	st = store_with(NULL, NULL);
	CHECK(cert_store_add_crls(st, "/nonexistent.crl", &ci, err, sizeof(err)) < 0);
	CHECK(strstr(err, "/nonexistent.crl") != NULL);
	fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, "not a crl\n", 10) == 10);
	close(fd);
	CHECK(cert_store_add_crls(st, path, &ci, err, sizeof(err)) < 0);
	CHECK(strstr(err, "no X509 CRL found") != NULL);
	unlink(path);
	cert_store_free(st);
}

/* One check-client-cert NOTIFY with the cert; returns 1 allow, 0 deny. */
static int decide(struct handler_ctx *hc, X509 *x, int64_t now, char *detail, size_t dlen)
{
	char payload[4096], out[8192], *p = payload, *o = out, *start;
	unsigned char *der;
	size_t len;
	struct spop_data d = { .type = SPOP_DATA_BIN };
	struct handler_result res;
	enum spop_status st;

	der = testpki_to_der(x, &len);
	spop_put_str(&p, payload + sizeof(payload), "check-client-cert", 17);
	*p++ = 1;
	spop_put_str(&p, payload + sizeof(payload), "cert", 4);
	d.u.str.ptr = (const char *)der;
	d.u.str.len = len;
	spop_put_data(&p, payload + sizeof(payload), &d);
	(void)start;
	if (handler_notify(hc, 1, 1, payload, (size_t)(p - payload), now, &o, out + sizeof(out),
	                   16380, &st, &res) < 0) {
		free(der);
		return -1;
	}
	free(der);
	snprintf(detail, dlen, "%s", res.d.detail);
	return res.d.code == DEC_ALLOW;
}

TEST(crl_update_reaches_cached_certificates)
{
	char crl0[64], crl1[64], text[512], err[512], detail[256];
	struct config *c0, *c1;
	struct handler_ctx hc;

	setup();
	CHECK(write_crl(crl0, sizeof(crl0), NULL, 0, NOW - DAY, NOW + 7 * DAY) == 0);
	CHECK(write_crl(crl1, sizeof(crl1), &k.bad, 1, NOW - DAY, NOW + 7 * DAY) == 0);
	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nca_file = %s\ncrl_file = %s\n",
	         k.ca_pem, crl0);
	c0 = test_cfg_text(text, err, sizeof(err));
	CHECK(c0 != NULL);
	if (!c0) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nca_file = %s\ncrl_file = %s\n",
	         k.ca_pem, crl1);
	c1 = test_cfg_text(text, err, sizeof(err));
	CHECK(c1 != NULL);
	CHECK_EQ_INT(c0->default_policy->crl_count, 1);
	handler_init(&hc, c0, 1);
	/* allowed and cached under the empty CRL... */
	CHECK_EQ_INT(decide(&hc, k.bad, NOW, detail, sizeof(detail)), 1);
	CHECK_EQ_INT(decide(&hc, k.bad, NOW, detail, sizeof(detail)), 1);
	CHECK_EQ_INT(hc.dc.cache.hits, 1);
	/* ... a reload with the new CRL denies it on the very next message,
	 * on the same connection, although it is still in the cache */
	c1->generation = 2;
	handler_set_config(&hc, c1, 2);
	CHECK_EQ_INT(decide(&hc, k.bad, NOW, detail, sizeof(detail)), 0);
	/* the detail says when and from where (a crl_file CRL) */
	CHECK_EQ_STR(detail, "revoked 2030-03-16T17:46:40Z at depth 0, source crl crl_file");
	CHECK_EQ_INT(decide(&hc, k.good, NOW, detail, sizeof(detail)), 1);
	handler_destroy(&hc);
	cfg_free(c0);
	cfg_free(c1);
	unlink(crl0);
	unlink(crl1);
}

TEST(crl_config_rules)
{
	char crl[64], text[512], err[512];
	struct config *cfg;

	setup();
	CHECK(write_crl(crl, sizeof(crl), NULL, 0, NOW - DAY, NOW + 7 * DAY) == 0);
	snprintf(text, sizeof(text), "[policy default]\nverify = haproxy\nca_file = %s\ncrl_file = %s\n",
	         k.ca_pem, crl);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK(strstr(err, ":4: crl_file: needs verify = agent or both") != NULL);
	snprintf(text, sizeof(text), "[policy default]\nverify = both\nca_file = %s\ncrl_file = %s\n"
	         "crl_check = leaf\ncrl_missing = allow\n", k.ca_pem, crl);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (cfg)
		CHECK_EQ_INT(cfg->default_policy->verify_flags, CERT_VF_CRL_LEAF | CERT_VF_CRL_MISSING_OK);
	cfg_free(cfg);
	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nca_file = %s\ncrl_file = /nope.crl\n",
	         k.ca_pem);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg == NULL && strstr(err, ":4: crl_file: /nope.crl") != NULL);
	unlink(crl);
}
