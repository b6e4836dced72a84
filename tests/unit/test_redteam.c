/* Adversarial tests of the identity features (SPIFFE trust domains,
 * client_id): each one is an attack that worked, or a vector that was
 * tried and must keep failing. The attacker controls the client
 * certificate and owns the CA of one trust domain (td1); the victim is a
 * workload of another (td2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "cfg.h"
#include "decide.h"
#include "rules.h"
#include "spiffe-bundle.h"
#include "testcfg.h"
#include "testhelp.h"
#include "testjwt.h"
#include "testpki.h"
#include "token.h"

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
	cfg = test_cfg_text(text, err, sizeof(err));
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

/* ---- the bundle parser: only CA certificates, only exact DER ---- */

/* A self-signed certificate made by hand: version (0 = v1), and an
 * optional keyUsage (then v3) without basicConstraints. */
static X509 *raw_self_signed(EVP_PKEY *key, long version, const char *ku)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *ex = NULL;
	int ok;

	ok = x && n && X509_set_version(x, version) &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), 4242) &&
	     X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"not a CA", -1, -1, 0) &&
	     X509_set_subject_name(x, n) && X509_set_issuer_name(x, n) &&
	     X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, (time_t[]){ NOW - DAY }) &&
	     X509_time_adj_ex(X509_getm_notAfter(x), 365, 0, (time_t[]){ NOW }) &&
	     X509_set_pubkey(x, key);
	if (ok && ku) {
		X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
		ok = (ex = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, ku)) != NULL &&
		     X509_add_ext(x, ex, -1);
		X509_EXTENSION_free(ex);
	}
	ok = ok && X509_sign(x, key, EVP_sha256()) > 0;
	X509_NAME_free(n);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static char *b64(const unsigned char *der, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, der, (int)len);
	return out;
}

/* A JSON bundle of one x509-svid key with these DER bytes. */
static char *json_of_der(const unsigned char *der, size_t len)
{
	char *s = b64(der, len), *out = s ? malloc(strlen(s) + 128) : NULL;

	if (out)
		snprintf(out, strlen(s) + 128, "{\"keys\":[{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[\"%s\"]}]}", s);
	free(s);
	return out;
}

/* A PEM CERTIFICATE block of these DER bytes (whatever they are). */
static char *pem_of_der(const unsigned char *der, size_t len, size_t *outlen)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL, *out = NULL;
	long n;

	if (bio && PEM_write_bio(bio, "CERTIFICATE", "", der, (long)len) > 0 &&
	    (n = BIO_get_mem_data(bio, &p)) > 0 && (out = malloc((size_t)n + 1))) {
		memcpy(out, p, (size_t)n);
		out[n] = 0;
		*outlen = (size_t)n;
	}
	BIO_free(bio);
	return out;
}

/* Both bundle formats refuse these DER bytes as an authority. */
static void bundle_refuses(const unsigned char *der, size_t len, const char *what)
{
	struct spiffe_bundle b;
	char err[256] = "", *j = json_of_der(der, len), *p;
	size_t plen = 0;

	p = pem_of_der(der, len, &plen);
	CHECK(j && p);
	if (!j || !p)
		goto out;
	if (spiffe_bundle_parse_json(j, strlen(j), &b, err, sizeof(err)) != -1) {
		unit_fail(__FILE__, __LINE__, "JSON bundle accepted %s", what);
		spiffe_bundle_clear(&b);
	}
	if (spiffe_bundle_parse_pem(p, plen, &b, err, sizeof(err)) != -1) {
		unit_fail(__FILE__, __LINE__, "PEM bundle accepted %s", what);
		spiffe_bundle_clear(&b);
	}
	CHECK(b.authorities == NULL);
out:
	free(j);
	free(p);
}

/* X509_check_ca() says "CA" for a v1 self-signed certificate (3), for a
 * v3 one with keyUsage keyCertSign and no basicConstraints (4), and for
 * Netscape CA types (5). None of them is an X.509 authority as the
 * X.509-SVID standard (section 4.1) has it: basicConstraints CA:TRUE and
 * keyUsage keyCertSign. A v1 self-signed certificate is any leaf made
 * without extensions. */
TEST(redteam_bundle_refuses_non_ca)
{
	EVP_PKEY *k = testpki_make_key();
	X509 *v1 = k ? raw_self_signed(k, X509_VERSION_1, NULL) : NULL;
	X509 *kuonly = k ? raw_self_signed(k, X509_VERSION_3, "critical,keyCertSign,cRLSign") : NULL;
	X509 *noext = k ? raw_self_signed(k, X509_VERSION_3, NULL) : NULL;
	unsigned char *der;
	size_t len;

	CHECK(v1 && kuonly && noext);
	if (!v1 || !kuonly || !noext)
		goto out;
	/* what OpenSSL calls them: the reason is_authority() must say more */
	CHECK_EQ_INT(X509_check_ca(v1), 3);
	CHECK_EQ_INT(X509_check_ca(kuonly), 4);
	CHECK_EQ_INT(X509_check_ca(noext), 0);
	if ((der = testpki_to_der(v1, &len)) != NULL) {
		bundle_refuses(der, len, "a v1 self-signed certificate");
		free(der);
	}
	if ((der = testpki_to_der(kuonly, &len)) != NULL) {
		bundle_refuses(der, len, "keyCertSign without basicConstraints");
		free(der);
	}
	if ((der = testpki_to_der(noext, &len)) != NULL) {
		bundle_refuses(der, len, "a v3 certificate without extensions");
		free(der);
	}
out:
	X509_free(v1);
	X509_free(kuonly);
	X509_free(noext);
	EVP_PKEY_free(k);
}

/* A CA:TRUE certificate whose keyUsage lacks keyCertSign signs nothing. */
TEST(redteam_bundle_refuses_ca_without_keycertsign)
{
	EVP_PKEY *k = testpki_make_key();
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *bc = NULL, *ku = NULL;
	unsigned char *der = NULL;
	size_t len;
	int ok;

	ok = k && x && n && X509_set_version(x, X509_VERSION_3) &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), 7) &&
	     X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"ku", -1, -1, 0) &&
	     X509_set_subject_name(x, n) && X509_set_issuer_name(x, n) &&
	     X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, (time_t[]){ NOW - DAY }) &&
	     X509_time_adj_ex(X509_getm_notAfter(x), 365, 0, (time_t[]){ NOW }) &&
	     X509_set_pubkey(x, k);
	if (ok) {
		X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
		ok = (bc = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE")) &&
		     (ku = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,digitalSignature")) &&
		     X509_add_ext(x, bc, -1) && X509_add_ext(x, ku, -1) && X509_sign(x, k, EVP_sha256()) > 0;
	}
	CHECK(ok);
	if (ok && (der = testpki_to_der(x, &len)) != NULL)
		bundle_refuses(der, len, "CA:TRUE with keyUsage digitalSignature only");
	free(der);
	X509_EXTENSION_free(bc);
	X509_EXTENSION_free(ku);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* The JSON format takes exact DER only (cert_parse_der); the PEM format
 * used d2i_X509 through PEM_read_bio_X509, which stops after the
 * certificate and ignores what follows inside the block. Both must
 * read the same bytes the same way. */
TEST(redteam_bundle_pem_trailing_garbage)
{
	struct rt R;
	struct spiffe_bundle b;
	unsigned char *der = NULL, *longer = NULL;
	size_t len = 0, plen = 0;
	char err[256], *p = NULL;

	CHECK_EQ_INT(rt_make(&R), 0);
	der = testpki_to_der(R.ca1, &len);
	CHECK(der != NULL);
	if (!der)
		goto out;
	/* the control: the exact certificate passes both ways */
	p = pem_of_der(der, len, &plen);
	CHECK(p != NULL);
	CHECK_EQ_INT(spiffe_bundle_parse_pem(p, plen, &b, err, sizeof(err)), 0);
	spiffe_bundle_clear(&b);
	free(p);
	longer = malloc(len + 4);
	if (!longer)
		goto out;
	memcpy(longer, der, len);
	memcpy(longer + len, "\x05\x00\x30\x00", 4);
	bundle_refuses(longer, len + 4, "a CA certificate with trailing bytes");
	/* and a block that is no certificate at all, after a good one */
	{
		size_t l1 = 0, l2 = 0;
		char *a = pem_of_der(der, len, &l1), *c = pem_of_der((const unsigned char *)"\x30\x03\x02\x01\x01", 5, &l2);
		char *both = a && c ? malloc(l1 + l2 + 1) : NULL;

		if (both) {
			memcpy(both, a, l1);
			memcpy(both + l1, c, l2 + 1);
			CHECK_EQ_INT(spiffe_bundle_parse_pem(both, l1 + l2, &b, err, sizeof(err)), -1);
			CHECK(b.authorities == NULL);
		}
		free(a);
		free(c);
		free(both);
	}
out:
	free(der);
	free(longer);
	rt_free(&R);
}

/* ---- names a CA chooses, across trust domains ---- */

/* The attack: td2 is a federated partner; td1's clients are allowed by
 * DNS name. td2's CA signs an X.509-SVID of its own trust domain
 * (spiffe://td2/x: its bundle verifies it) that also carries td1's DNS
 * name, and allow_dns lets it in as that client. The same holds for a
 * CN, subject, issuer DN, email, IP or serial. Such a policy is refused
 * now; with one trust domain, or lists bound to the domain (SPIFFE IDs,
 * URIs, thumbprints, SPKI pins), it loads. */
TEST(redteam_td2_claims_td1_name)
{
	static const struct {
		const char *list;       /* the allow list, as in the config */
		const char *san;        /* what td2's CA writes */
		const char *subject;
	} cases[] = {
		{ "allow_dns = svc.td1.example", "URI:spiffe://td2/x,DNS:svc.td1.example", "/O=SPIFFE" },
		{ "allow_cn = billing", "URI:spiffe://td2/x", "/CN=billing" },
		{ "allow_subjects = \"CN=billing,O=td1\"", "URI:spiffe://td2/x", "/O=td1/CN=billing" },
		{ "allow_email = ops@td1.example", "URI:spiffe://td2/x,email:ops@td1.example", "/O=SPIFFE" },
		{ "allow_ip = 10.1.0.0/16", "URI:spiffe://td2/x,IP:10.1.2.3", "/O=SPIFFE" },
	};
	struct rt R;
	struct config *cfg;
	struct decision d;
	char text[768], err[512];

	CHECK_EQ_INT(rt_make(&R), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct testpki_cert c = {
			.subject = cases[i].subject, .key = R.attacker, .issuer = R.ca2, .issuer_key = R.k2,
			.not_before = NOW - DAY, .not_after = NOW + DAY, .eku = "clientAuth", .san = cases[i].san,
		};
		X509 *x = testpki_make_cert_ex(&c);

		CHECK(x != NULL);
		snprintf(text, sizeof(text), "[policy default]\nverify = agent\nspiffe_bundles = td1=%s, td2=%s\n%s\n",
		         R.pem1, R.pem2, cases[i].list);
		cfg = test_cfg_text(text, err, sizeof(err));
		if (cfg && x) {
			decide_for(cfg, x, &d);
			unit_fail(__FILE__, __LINE__, "two trust domains with '%s' load; td2's certificate: %s/%s",
			          cases[i].list, dec_table[d.code].code, d.rule);
		} else {
			CHECK(strstr(err, "trust domains and allow_") != NULL);
		}
		cfg_free(cfg);
		/* one trust domain: its CA names its own clients */
		snprintf(text, sizeof(text), "[policy default]\nverify = agent\nspiffe_bundles = td2=%s\n%s\n",
		         R.pem2, cases[i].list);
		cfg = test_cfg_text(text, err, sizeof(err));
		CHECK(cfg != NULL);
		if (cfg && x) {
			decide_for(cfg, x, &d);
			CHECK_EQ_INT(d.code, DEC_ALLOW);
		}
		cfg_free(cfg);
		X509_free(x);
	}
	/* lists bound to the trust domain still load with two */
	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nspiffe_bundles = td1=%s, td2=%s\n"
	         "allow_spiffe = spiffe://td1/a\nallow_uri = spiffe://td2/b\ndeny_dns = evil.example\ndeny_cn = mallory\n",
	         R.pem1, R.pem2);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	cfg_free(cfg);
	rt_free(&R);
}

/* ---- chain tricks: td1's CA cannot reach td2's bundle ---- */

/* One decide_ctx = one SPOP connection: the decision cache and the
 * learned intermediates carry over between the requests below. */
static void decide_in(struct decide_ctx *dc, X509 *x, X509 *const *chain, int nchain,
                      struct decision *d)
{
	struct req_facts rq;
	struct cert_eval ce;
	struct trace t;
	const char *route = NULL;
	size_t len = 0, clen = 0;
	unsigned char *der = testpki_to_der(x, &len);
	unsigned char *cder = nchain ? testpki_concat_der(chain, nchain, &clen) : NULL;

	memset(&rq, 0, sizeof(rq));
	memset(&t, 0, sizeof(t));
	rq.has_cert = 1;
	rq.cert = (struct spop_str){ (const char *)der, len };
	rq.has_verify = 1;
	rq.verify = 0;
	if (cder) {
		rq.has_chain = 1;
		rq.chain = (struct spop_str){ (const char *)cder, clen };
	}
	decide_request(dc, &rq, NOW, &t, &ce, d, &route);
	free(der);
	free(cder);
}

/* td1's root signs an intermediate that takes td2's CA name (and is a
 * CA); it signs spiffe://td2/db. Sent as the chain, learned from an
 * earlier td1 chain that verified on the same connection, or both: td2's
 * bundle has only td2's root, so nothing verifies. And the same leaf
 * bytes, once denied, stay denied (cache). */
TEST(redteam_chain_tricks_cross_domain)
{
	struct rt R;
	struct config *cfg = NULL;
	struct decide_ctx dc;
	struct decision d;
	char text[512], err[512];
	EVP_PKEY *ik = testpki_make_key();
	X509 *fake = NULL, *inter = NULL, *td1leaf = NULL, *forged = NULL, *forged2 = NULL, *chain[2];
	int ctx = 0;

	CHECK_EQ_INT(rt_make(&R), 0);
	/* an intermediate of td1 named as td2's root, and a plain one */
	fake = testpki_make_cert("/CN=td2 CA", ik, R.ca1, R.k1, NOW - DAY, NOW + 30 * DAY, 1, NULL);
	inter = testpki_make_cert("/CN=td1 issuing", ik, R.ca1, R.k1, NOW - DAY, NOW + 30 * DAY, 1, NULL);
	td1leaf = svid(R.attacker, inter, ik, "URI:spiffe://td1/web");
	forged = svid(R.attacker, fake, ik, "URI:spiffe://td2/db");
	forged2 = svid(R.attacker, inter, ik, "URI:spiffe://td2/db");
	CHECK(fake && inter && td1leaf && forged && forged2);
	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nspiffe_bundles = td1=%s, td2=%s\nclient_id = spiffe\n",
	         R.pem1, R.pem2);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (!cfg || !fake || !inter || !td1leaf || !forged || !forged2)
		goto out;
	CHECK_EQ_INT(decide_init(&dc, cfg, 1), 0);
	ctx = 1;
	/* the td1 client, with its chain: verifies, the intermediate is learned */
	chain[0] = inter;
	decide_in(&dc, td1leaf, chain, 1, &d);
	CHECK_EQ_INT(d.code, DEC_ALLOW);
	/* td2's name on td1's intermediate, sent */
	chain[0] = fake;
	chain[1] = R.ca1;
	decide_in(&dc, forged, chain, 2, &d);
	CHECK(d.code != DEC_ALLOW);
	decide_in(&dc, forged, chain, 1, &d);
	CHECK(d.code != DEC_ALLOW);
	/* td1's learned intermediate, not sent; then sent with td1's root */
	decide_in(&dc, forged2, NULL, 0, &d);
	CHECK(d.code != DEC_ALLOW);
	chain[0] = inter;
	decide_in(&dc, forged2, chain, 2, &d);
	CHECK(d.code != DEC_ALLOW);
	/* the same bytes again, from the cache */
	decide_in(&dc, forged2, NULL, 0, &d);
	CHECK(d.code != DEC_ALLOW);
	CHECK(strncmp(d.client_id, "spki:", 5) == 0);
	/* and the td1 client is still fine */
	decide_in(&dc, td1leaf, NULL, 0, &d);
	CHECK_EQ_INT(d.code, DEC_ALLOW);
	CHECK_EQ_STR(d.client_id, "spiffe://td1/web");
out:
	if (ctx)
		decide_destroy(&dc);
	cfg_free(cfg);
	X509_free(fake);
	X509_free(inter);
	X509_free(td1leaf);
	X509_free(forged);
	X509_free(forged2);
	EVP_PKEY_free(ik);
	rt_free(&R);
}

/* ---- SAN types an X.509-SVID may also carry ---- */

/* The X.509-SVID standard allows SANs of other types next to the one
 * URI. An otherName (a UPN) or a registeredID is not kept by cert-ext;
 * that made nsans < san_total, which the trust-domain step read as
 * "names were dropped" and refused as too_many_sans. A URI inside an
 * otherName is no URI SAN and picks no trust domain. */
TEST(redteam_svid_with_othername)
{
	struct rt R;
	struct config *cfg = NULL;
	struct decision d;
	char text[512], err[512];
	X509 *upn = NULL, *rid = NULL, *hidden = NULL;

	CHECK_EQ_INT(rt_make(&R), 0);
	upn = svid(R.victim, R.ca1, R.k1, "URI:spiffe://td1/a,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:a@td1");
	rid = svid(R.victim, R.ca1, R.k1, "RID:1.2.3.4,URI:spiffe://td1/a");
	/* the only "URI" is inside an otherName: not an SVID */
	hidden = svid(R.victim, R.ca1, R.k1, "otherName:1.3.6.1.4.1.99999.1;IA5STRING:spiffe://td1/a");
	CHECK(upn && rid && hidden);
	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nspiffe_bundles = td1=%s, td2=%s\n",
	         R.pem1, R.pem2);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (!cfg || !upn || !rid || !hidden)
		goto out;
	decide_for(cfg, upn, &d);
	CHECK_EQ_INT(d.code, DEC_ALLOW);
	CHECK_EQ_STR(d.trust_domain, "td1");
	decide_for(cfg, rid, &d);
	CHECK_EQ_INT(d.code, DEC_ALLOW);
	decide_for(cfg, hidden, &d);
	CHECK_EQ_INT(d.code, DEC_SVID_INVALID);
	CHECK_EQ_STR(d.rule, "spiffe_no_uri");
out:
	cfg_free(cfg);
	X509_free(upn);
	X509_free(rid);
	X509_free(hidden);
	rt_free(&R);
}

/* ---- client_id = spiffe without per-domain bundles ---- */

/* Two CAs in one ca_file, client_id = spiffe: CA2 signs the SPIFFE ID
 * that CA1 gave its client, both verify, and the two clients share one
 * client_id (one stick-table entry: one can exhaust the other's rate).
 * That is the configuration's doing, not a bug to refuse: certspoa -c
 * warns about it. */
TEST(redteam_client_id_spiffe_pooled_warns)
{
	struct rt R;
	struct config *cfg = NULL;
	struct decision a, b;
	char text[512], err[512], pool[64], *buf = NULL;
	size_t len = 0;
	X509 *one = NULL, *two = NULL, *cas[2];
	FILE *out;

	CHECK_EQ_INT(rt_make(&R), 0);
	cas[0] = R.ca1;
	cas[1] = R.ca2;
	pool[0] = 0;
	CHECK_EQ_INT(testpki_write_pem(cas, 2, pool, sizeof(pool)), 0);
	one = svid(R.victim, R.ca1, R.k1, "URI:spiffe://td1/db");
	two = svid(R.attacker, R.ca2, R.k2, "URI:spiffe://td1/db");
	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nca_file = %s\nclient_id = spiffe\n", pool);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (!cfg || !one || !two)
		goto out;
	/* the collision itself */
	decide_for(cfg, one, &a);
	decide_for(cfg, two, &b);
	CHECK_EQ_INT(a.code, DEC_ALLOW);
	CHECK_EQ_INT(b.code, DEC_ALLOW);
	CHECK_EQ_STR(a.client_id, b.client_id);
	/* and the warning */
	out = open_memstream(&buf, &len);
	CHECK(out != NULL);
	if (!out)
		goto out;
	CHECK_EQ_INT(cfg_warnings(cfg, out), 1);
	fclose(out);
	CHECK(buf && strstr(buf, "WARNING: [policy default] has client_id = spiffe but no spiffe_bundles") != NULL);
	free(buf);
	buf = NULL;
	cfg_free(cfg);
	/* with bundles, or client_id = spki: no warning */
	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nspiffe_bundles = td1=%s\nclient_id = spiffe\n"
	         "[policy other]\nverify = agent\nca_file = %s\n", R.pem1, pool);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (cfg && (out = open_memstream(&buf, &len)) != NULL) {
		CHECK_EQ_INT(cfg_warnings(cfg, out), 0);
		fclose(out);
	}
out:
	free(buf);
	cfg_free(cfg);
	if (pool[0])
		unlink(pool);
	X509_free(one);
	X509_free(two);
	rt_free(&R);
}

/* ---- a leaf with the trust domain's own ID ---- */

/* X.509-SVID 3.1 and 5.2: a leaf's SPIFFE ID MUST have a non-root path,
 * and the validator MUST check it. spiffe://td2 alone is the trust
 * domain's ID (its signing certificates'); a leaf carrying it was let in,
 * matched allow_spiffe = spiffe://td2 (the whole domain), and its
 * client_id was the domain's. */
TEST(redteam_svid_root_id_refused)
{
	struct rt R;
	struct config *cfg = NULL;
	struct decision d;
	char text[512], err[512];
	X509 *root = NULL, *good = NULL;

	CHECK_EQ_INT(rt_make(&R), 0);
	root = svid(R.attacker, R.ca2, R.k2, "URI:spiffe://td2");
	good = svid(R.victim, R.ca2, R.k2, "URI:spiffe://td2/db");
	snprintf(text, sizeof(text), "[policy default]\nverify = agent\nspiffe_bundles = td1=%s, td2=%s\n"
	         "allow_spiffe = spiffe://td2\nclient_id = spiffe\n", R.pem1, R.pem2);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (!cfg || !root || !good)
		goto out;
	decide_for(cfg, root, &d);
	CHECK_EQ_INT(d.code, DEC_SVID_INVALID);
	CHECK_EQ_STR(d.rule, "spiffe_no_path");
	CHECK(strcmp(d.client_id, "spiffe://td2") != 0);
	decide_for(cfg, good, &d);
	CHECK_EQ_INT(d.code, DEC_ALLOW);
	CHECK_EQ_STR(d.client_id, "spiffe://td2/db");
out:
	cfg_free(cfg);
	X509_free(root);
	X509_free(good);
	rt_free(&R);
}

/* ---- certificate-bound tokens (token.c): attacks that found nothing ---- */

/* Each vector below was tried against token.c after the token branch
 * was merged and is refused (or, for a key embedded in the header,
 * ignored); kept as guards. JSON duplicate members spelled with escapes,
 * NUL and non-ASCII in claims, look-alike issuers, huge or odd numbers in
 * exp/nbf, trailing JSON, alg/kid confusion, alg spellings, crit, and
 * base64url variants (padding, the standard alphabet, unused bits). */

#define TNOW ((int64_t)1700000000)

struct tk {
	EVP_PKEY *rsa, *ec, *ed;
	struct token_jwks *jwks;
	unsigned char sha[32];
	char x5t[44];
};

static int tk_make(struct tk *T)
{
	char *jr, *je, *jd, text[8192], why[256];
	unsigned char der[] = "any certificate bytes";

	memset(T, 0, sizeof(*T));
	T->rsa = testpki_make_rsa_key(2048);
	T->ec = testpki_make_ec_key("P-256");
	T->ed = testpki_make_ed25519_key();
	jr = testjwt_jwk(T->rsa, "rsa1", NULL);
	je = testjwt_jwk(T->ec, "ec1", NULL);
	jd = testjwt_jwk(T->ed, "ed1", NULL);
	if (!jr || !je || !jd)
		return -1;
	snprintf(text, sizeof(text), "{\"keys\":[%s,%s,%s]}", jr, je, jd);
	free(jr);
	free(je);
	free(jd);
	T->jwks = token_jwks_parse(text, strlen(text), why, sizeof(why));
	SHA256(der, sizeof(der), T->sha);
	testjwt_x5t(der, sizeof(der), T->x5t);
	return T->jwks ? 0 : -1;
}

static void tk_free(struct tk *T)
{
	token_jwks_free(T->jwks);
	EVP_PKEY_free(T->rsa);
	EVP_PKEY_free(T->ec);
	EVP_PKEY_free(T->ed);
}

/* sign header/payload with k under alg, check; payload %s gets x5t */
static enum token_err tk_check(struct tk *T, EVP_PKEY *k, const char *alg, const char *hdr,
                               const char *pl)
{
	struct token_opts o = { T->jwks, "https://as.example", "api", 60, TOKEN_MAX_SIZE_DEFAULT };
	struct token_result r;
	char *jwt = testjwt_sign(k, alg, hdr, pl);
	enum token_err e = jwt ? token_check(&o, jwt, strlen(jwt), T->sha, TNOW, &r) : TOKEN_ERRS;

	free(jwt);
	return e;
}

#define PL_HEAD "{\"iss\":\"https://as.example\",\"aud\":\"api\",\"exp\":1700000300"

TEST(redteam_token_json_tricks)
{
	struct tk T;
	char pl[1024];
	const char *rs = "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}";

	CHECK_EQ_INT(tk_make(&T), 0);
	/* the control */
	snprintf(pl, sizeof(pl), PL_HEAD ",\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", rs, pl), TOKEN_OK);
	/* duplicate members spelled with escapes: one object, two readings */
	snprintf(pl, sizeof(pl), PL_HEAD ",\"cnf\":{\"x5t#S256\":\"%s\"},\"cn\\u0066\":{\"x5t#S256\":\"x\"}}", T.x5t);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", rs, pl), TOKEN_PAYLOAD);
	snprintf(pl, sizeof(pl), PL_HEAD ",\"cnf\":{\"x5t#S256\":\"%s\",\"x5t\\u0023S256\":\"x\"}}", T.x5t);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", rs, pl), TOKEN_PAYLOAD);
	snprintf(pl, sizeof(pl), PL_HEAD ",\"ex\\u0070\":1,\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", rs, pl), TOKEN_PAYLOAD);
	snprintf(pl, sizeof(pl), PL_HEAD ",\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"\\u0061lg\":\"none\"}", pl),
	             TOKEN_HEADER);
	/* NUL inside strings (jansson refuses them unless asked) */
	snprintf(pl, sizeof(pl), PL_HEAD ",\"sub\":\"a\\u0000b\",\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	CHECK(tk_check(&T, T.rsa, "RS256", rs, pl) != TOKEN_OK);
	snprintf(pl, sizeof(pl), "{\"iss\":\"https://as.example\\u0000x\",\"aud\":\"api\",\"exp\":1700000300,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	CHECK(tk_check(&T, T.rsa, "RS256", rs, pl) != TOKEN_OK);
	CHECK(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\\u0000x\"}", pl) != TOKEN_OK);
	/* unicode in claims handed to HAProxy: refused, not mangled */
	snprintf(pl, sizeof(pl), PL_HEAD ",\"sub\":\"\\u00e9\",\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", rs, pl), TOKEN_CLAIM);
	snprintf(pl, sizeof(pl), PL_HEAD ",\"scope\":\"a\\r\\nX-Evil: 1\",\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", rs, pl), TOKEN_CLAIM);
	/* an issuer that only looks the same */
	snprintf(pl, sizeof(pl), "{\"iss\":\"https://as.exampl\\u0435\",\"aud\":\"api\",\"exp\":1700000300,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", rs, pl), TOKEN_ISSUER);
	/* huge and odd numbers in exp/nbf */
	snprintf(pl, sizeof(pl), "{\"iss\":\"https://as.example\",\"aud\":\"api\",\"exp\":1e19,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", rs, pl), TOKEN_PAYLOAD);
	snprintf(pl, sizeof(pl), "{\"iss\":\"https://as.example\",\"aud\":\"api\",\"exp\":18446744073709551617,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", rs, pl), TOKEN_PAYLOAD);
	snprintf(pl, sizeof(pl), "{\"iss\":\"https://as.example\",\"aud\":\"api\",\"exp\":1699999000.5,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", rs, pl), TOKEN_EXPIRED);
	snprintf(pl, sizeof(pl), "{\"iss\":\"https://as.example\",\"aud\":\"api\",\"exp\":1700000300,\"nbf\":-1e300,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", rs, pl), TOKEN_PAYLOAD);
	snprintf(pl, sizeof(pl), "{\"iss\":\"https://as.example\",\"aud\":\"api\",\"exp\":true,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", rs, pl), TOKEN_PAYLOAD);
	snprintf(pl, sizeof(pl), "{\"iss\":\"https://as.example\",\"aud\":\"api\",\"exp\":null,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	CHECK(tk_check(&T, T.rsa, "RS256", rs, pl) != TOKEN_OK);
	/* a second JSON text after the object */
	snprintf(pl, sizeof(pl), PL_HEAD ",\"cnf\":{\"x5t#S256\":\"%s\"}} {}", T.x5t);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", rs, pl), TOKEN_PAYLOAD);
	tk_free(&T);
}

TEST(redteam_token_alg_kid_tricks)
{
	struct tk T;
	char pl[1024];

	CHECK_EQ_INT(tk_make(&T), 0);
	snprintf(pl, sizeof(pl), PL_HEAD ",\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	/* the header names one alg, the signature is of another */
	CHECK_EQ_INT(tk_check(&T, T.rsa, "PS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", pl), TOKEN_SIGNATURE);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"PS256\",\"kid\":\"rsa1\"}", pl), TOKEN_SIGNATURE);
	/* an RSA kid under an EC alg, an EC kid under RSA */
	CHECK_EQ_INT(tk_check(&T, T.ec, "ES256", "{\"alg\":\"ES256\",\"kid\":\"rsa1\"}", pl), TOKEN_KEY_MISMATCH);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"ec1\"}", pl), TOKEN_KEY_MISMATCH);
	/* kid forms */
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"\"}", pl), TOKEN_KID_UNKNOWN);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":1}", pl), TOKEN_KID_UNKNOWN);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":[\"rsa1\"]}", pl), TOKEN_KID_UNKNOWN);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"RSA1\"}", pl), TOKEN_KID_UNKNOWN);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":null}", pl), TOKEN_KID_UNKNOWN);
	/* no kid: every key that fits alg is tried */
	CHECK_EQ_INT(tk_check(&T, T.ed, "EdDSA", "{\"alg\":\"EdDSA\"}", pl), TOKEN_OK);
	/* alg spellings */
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"rs256\",\"kid\":\"rsa1\"}", pl), TOKEN_ALG_UNKNOWN);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"RS256 \",\"kid\":\"rsa1\"}", pl), TOKEN_ALG_UNKNOWN);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"hS256\",\"kid\":\"rsa1\"}", pl), TOKEN_ALG_HMAC);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"nOnE\"}", pl), TOKEN_ALG_NONE);
	CHECK(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"RS256\\u0000\",\"kid\":\"rsa1\"}", pl) != TOKEN_OK);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":[\"RS256\"],\"kid\":\"rsa1\"}", pl), TOKEN_HEADER);
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[]}", pl), TOKEN_CRIT);
	/* keys in the header are never trusted */
	CHECK_EQ_INT(tk_check(&T, T.rsa, "RS256", "{\"alg\":\"RS256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}", pl), TOKEN_OK);
	tk_free(&T);
}

TEST(redteam_token_encodings)
{
	struct tk T;
	struct token_opts o;
	struct token_result r;
	char pl[1024], *jwt, *alt;
	size_t n;

	CHECK_EQ_INT(tk_make(&T), 0);
	o = (struct token_opts){ T.jwks, NULL, NULL, 60, TOKEN_MAX_SIZE_DEFAULT };
	snprintf(pl, sizeof(pl), PL_HEAD ",\"cnf\":{\"x5t#S256\":\"%s\"}}", T.x5t);
	jwt = testjwt_sign(T.ec, "ES256", "{\"alg\":\"ES256\"}", pl);
	CHECK(jwt != NULL);
	if (!jwt)
		goto out;
	n = strlen(jwt);
	CHECK_EQ_INT(token_check(&o, jwt, n, T.sha, TNOW, &r), TOKEN_OK);
	alt = malloc(n + 8);
	/* padding on the signature, a trailing dot, a leading space */
	snprintf(alt, n + 8, "%s=", jwt);
	CHECK(token_check(&o, alt, strlen(alt), T.sha, TNOW, &r) != TOKEN_OK);
	snprintf(alt, n + 8, "%s.", jwt);
	CHECK_EQ_INT(token_check(&o, alt, strlen(alt), T.sha, TNOW, &r), TOKEN_MALFORMED);
	snprintf(alt, n + 8, " %s", jwt);
	CHECK(token_check(&o, alt, strlen(alt), T.sha, TNOW, &r) != TOKEN_OK);
	/* the standard alphabet for the signature's '-' or '_' */
	snprintf(alt, n + 8, "%s", jwt);
	for (char *p = strrchr(alt, '.'); p && *p; p++) {
		if (*p == '-' || *p == '_') {
			*p = *p == '-' ? '+' : '/';
			CHECK(token_check(&o, alt, strlen(alt), T.sha, TNOW, &r) != TOKEN_OK);
			break;
		}
	}
	/* the last signature character moved to its other unused-bits value */
	snprintf(alt, n + 8, "%s", jwt);
	alt[n - 1] = alt[n - 1] == 'A' ? 'B' : 'A';
	CHECK(token_check(&o, alt, strlen(alt), T.sha, TNOW, &r) != TOKEN_OK);
	/* a NUL inside, the length saying more */
	snprintf(alt, n + 8, "%s", jwt);
	alt[n / 2] = 0;
	CHECK(token_check(&o, alt, n, T.sha, TNOW, &r) != TOKEN_OK);
	/* the DER form of an ES256 signature instead of r||s */
	free(alt);
	free(jwt);
out:
	tk_free(&T);
}
