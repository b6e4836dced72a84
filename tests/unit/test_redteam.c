/* Adversarial tests of the identity features (SPIFFE trust domains,
 * client_id): each one is an attack that worked, or a vector that was
 * tried and must keep failing. The attacker controls the client
 * certificate and owns the CA of one trust domain (td1); the victim is a
 * workload of another (td2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "cfg.h"
#include "decide.h"
#include "rules.h"
#include "testhelp.h"
#include "testpki.h"

#define NOW  1700000000LL
#define DAY  86400LL

/* ---- helpers ---- */

struct rt {
	EVP_PKEY *k1, *k2, *victim, *attacker;
	X509 *ca1, *ca2;
	char pem1[64], pem2[64];
};

static int rt_make(struct rt *R)
{
	memset(R, 0, sizeof(*R));
	R->k1 = testpki_make_key();
	R->k2 = testpki_make_key();
	R->victim = testpki_make_key();
	R->attacker = testpki_make_key();
	R->ca1 = testpki_make_cert("/CN=td1 CA", R->k1, NULL, NULL, NOW - DAY, NOW + 365 * DAY, 1, NULL);
	R->ca2 = testpki_make_cert("/CN=td2 CA", R->k2, NULL, NULL, NOW - DAY, NOW + 365 * DAY, 1, NULL);
	if (!R->ca1 || !R->ca2 || !R->victim || !R->attacker)
		return -1;
	if (testpki_write_pem(&R->ca1, 1, R->pem1, sizeof(R->pem1)) < 0)
		return -1;
	return testpki_write_pem(&R->ca2, 1, R->pem2, sizeof(R->pem2));
}

static void rt_free(struct rt *R)
{
	if (R->pem1[0])
		unlink(R->pem1);
	if (R->pem2[0])
		unlink(R->pem2);
	X509_free(R->ca1);
	X509_free(R->ca2);
	EVP_PKEY_free(R->k1);
	EVP_PKEY_free(R->k2);
	EVP_PKEY_free(R->victim);
	EVP_PKEY_free(R->attacker);
}

/* An X.509-SVID-shaped leaf: key signed by ca (self-signed when ca is NULL). */
static X509 *svid(EVP_PKEY *key, X509 *ca, EVP_PKEY *cak, const char *san)
{
	struct testpki_cert c = {
		.subject = "/O=SPIFFE", .key = key, .issuer = ca, .issuer_key = cak,
		.not_before = NOW - DAY, .not_after = NOW + DAY, .is_ca = 0,
		.eku = "clientAuth", .san = san,
	};

	return testpki_make_cert_ex(&c);
}

static struct config *load_text(const char *text, char *err, size_t errlen)
{
	char path[] = "/tmp/certspoa-redteam-cfg-XXXXXX";
	int fd = mkstemp(path);
	struct config *cfg;
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = write(fd, text, strlen(text));
	close(fd);
	cfg = n == (ssize_t)strlen(text) ? cfg_load(path, err, errlen) : NULL;
	unlink(path);
	return cfg;
}

/* Decide for leaf x under cfg's default policy; HAProxy said verify 0
 * (verify optional + crt-ignore-err all would say so for anything). */
static void decide_for(const struct config *cfg, X509 *x, struct decision *d)
{
	struct decide_ctx dc;
	struct req_facts rq;
	struct cert_eval ce;
	struct trace t;
	const char *route = NULL;
	size_t len = 0;
	unsigned char *der = testpki_to_der(x, &len);

	memset(&rq, 0, sizeof(rq));
	memset(&t, 0, sizeof(t));
	rq.has_cert = 1;
	rq.cert = (struct spop_str){ (const char *)der, len };
	rq.has_verify = 1;
	rq.verify = 0;
	decide_init(&dc, cfg, 1);
	decide_request(&dc, &rq, NOW, &t, &ce, d, &route);
	decide_destroy(&dc);
	free(der);
}

/* ---- client_id: a denied certificate must not wear another client's key ---- */

/* The attacker cannot get an SVID of td2 (td1's CA does not verify for
 * td2), but a denial still carries a client_id ("failed attempts count
 * too"). With client_id = spiffe or identity it was the SPIFFE ID the
 * certificate merely claimed: the victim's key. A HAProxy that counts
 * failed attempts (track-sc before the deny) then spends the victim's
 * budget; in shadow mode the forged certificate is even let through
 * under the victim's client_id. Unverified, it must be the attacker's
 * own spki form (bound to a key the TLS handshake proved). */
static void forged_client_id(const char *kind, const char *mode)
{
	struct rt R;
	struct config *cfg = NULL;
	struct decision good, bad;
	char text[512], err[512];
	X509 *victim = NULL, *forged = NULL, *selfsigned = NULL;

	CHECK_EQ_INT(rt_make(&R), 0);
	victim = svid(R.victim, R.ca2, R.k2, "URI:spiffe://td2/db");
	forged = svid(R.attacker, R.ca1, R.k1, "URI:spiffe://td2/db");
	selfsigned = svid(R.attacker, NULL, NULL, "URI:spiffe://td2/db");
	CHECK(victim && forged && selfsigned);
	snprintf(text, sizeof(text),
	         "[policy default]\nverify = agent\nmode = %s\nspiffe_bundles = td1=%s, td2=%s\nclient_id = %s\n",
	         mode, R.pem1, R.pem2, kind);
	cfg = load_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (!cfg || !victim || !forged || !selfsigned)
		goto out;
	decide_for(cfg, victim, &good);
	CHECK_EQ_INT(good.code, DEC_ALLOW);
	CHECK(strstr(good.client_id, "spiffe://td2/db") != NULL);

	decide_for(cfg, forged, &bad);
	CHECK(strcmp(bad.rule, "cert_unknown_ca") == 0 || strcmp(bad.rule, "shadow") == 0);
	CHECK(bad.client_id[0] != 0);
	CHECK(strcmp(bad.client_id, good.client_id) != 0);
	CHECK(strncmp(bad.client_id, "spki:", 5) == 0);

	decide_for(cfg, selfsigned, &bad);
	CHECK(bad.client_id[0] != 0);
	CHECK(strcmp(bad.client_id, good.client_id) != 0);
	CHECK(strncmp(bad.client_id, "spki:", 5) == 0);
out:
	cfg_free(cfg);
	X509_free(victim);
	X509_free(forged);
	X509_free(selfsigned);
	rt_free(&R);
}

TEST(redteam_client_id_forged_spiffe)
{
	forged_client_id("spiffe", "enforce");
}

TEST(redteam_client_id_forged_identity)
{
	forged_client_id("identity", "enforce");
}

TEST(redteam_client_id_forged_shadow)
{
	forged_client_id("spiffe", "shadow");
	forged_client_id("identity", "shadow");
}
