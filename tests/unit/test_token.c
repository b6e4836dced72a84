/* Certificate-bound tokens (token.c): base64url, JWKS parsing, each
 * refusal with its exact result, each algorithm, the binding, and the
 * decision pipeline with token = bound|required (decide.c, rules.c).
 * Tokens and keys are minted here (testjwt.c); nothing is committed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/sha.h>

#include "cfg.h"
#include "decide.h"
#include "handler.h"
#include "rules.h"
#include "spop.h"
#include "testcfg.h"
#include "testhelp.h"
#include "testjwt.h"
#include "testpki.h"
#include "token.h"

#define NOW ((int64_t)1700000000)
#define DAY 86400
#define ISS "https://as.example"
#define AUD "api.example"

static struct {
	EVP_PKEY *rsa, *ec, *ed, *rsa2;
	char *jwk_rsa, *jwk_ec, *jwk_ed;
	char jwks_text[8192];
	struct token_jwks *jwks;
	unsigned char *der_a, *der_b;
	size_t la, lb;
	unsigned char sha_a[32], sha_b[32];
	char x5t_a[44], x5t_b[44];
} K;

static void setup(void)
{
	EVP_PKEY *ka = testpki_make_key(), *kb = testpki_make_key();
	X509 *a = testpki_make_cert("/CN=client a", ka, NULL, NULL, NOW - DAY, NOW + DAY, 0, "clientAuth");
	X509 *b = testpki_make_cert("/CN=client b", kb, NULL, NULL, NOW - DAY, NOW + DAY, 0, "clientAuth");
	char why[256];

	K.rsa = testpki_make_rsa_key(2048);
	K.rsa2 = testpki_make_rsa_key(2048);
	K.ec = testpki_make_ec_key("P-256");
	K.ed = testpki_make_ed25519_key();
	K.jwk_rsa = testjwt_jwk(K.rsa, "rsa1", NULL);
	K.jwk_ec = testjwt_jwk(K.ec, "ec1", "ES256");
	K.jwk_ed = testjwt_jwk(K.ed, "ed1", NULL);
	snprintf(K.jwks_text, sizeof(K.jwks_text), "{\"keys\":[%s,%s,%s]}", K.jwk_rsa, K.jwk_ec, K.jwk_ed);
	K.jwks = token_jwks_parse(K.jwks_text, strlen(K.jwks_text), why, sizeof(why));
	if (!K.jwks)
		fprintf(stderr, "jwks: %s\n", why);
	K.der_a = testpki_to_der(a, &K.la);
	K.der_b = testpki_to_der(b, &K.lb);
	SHA256(K.der_a, K.la, K.sha_a);
	SHA256(K.der_b, K.lb, K.sha_b);
	testjwt_x5t(K.der_a, K.la, K.x5t_a);
	testjwt_x5t(K.der_b, K.lb, K.x5t_b);
	X509_free(a);
	X509_free(b);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
}

static void teardown(void)
{
	token_jwks_free(K.jwks);
	EVP_PKEY_free(K.rsa);
	EVP_PKEY_free(K.rsa2);
	EVP_PKEY_free(K.ec);
	EVP_PKEY_free(K.ed);
	free(K.jwk_rsa);
	free(K.jwk_ec);
	free(K.jwk_ed);
	free(K.der_a);
	free(K.der_b);
	memset(&K, 0, sizeof(K));
}

/* The claims of a token bound to x5t (NULL: no cnf), valid at NOW. */
static const char *claims(const char *x5t, const char *extra)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
	         "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"client_id\":\"app-1\","
	         "\"scope\":\"read write\",\"exp\":%lld%s%s%s%s}",
	         (long long)(NOW + 300), x5t ? ",\"cnf\":{\"x5t#S256\":\"" : "", x5t ? x5t : "",
	         x5t ? "\"}" : "", extra ? extra : "");
	return buf;
}

static enum token_err check_opts(const char *jwt, const unsigned char *sha, const char *iss,
                                 const char *aud, struct token_result *r)
{
	struct token_opts o = { K.jwks, iss, aud, 60, TOKEN_MAX_SIZE_DEFAULT };

	if (!jwt)
		return TOKEN_ERRS;
	return token_check(&o, jwt, strlen(jwt), sha, NOW, r);
}

static enum token_err check(const char *jwt, const unsigned char *sha, struct token_result *r)
{
	return check_opts(jwt, sha, ISS, AUD, r);
}

/* Sign and check in one go; the token is freed. */
static enum token_err mint_check(EVP_PKEY *k, const char *alg, const char *hdr, const char *pl,
                                 const unsigned char *sha, struct token_result *r)
{
	char *jwt = testjwt_sign(k, alg, hdr, pl);
	enum token_err e = check(jwt, sha, r);

	free(jwt);
	return e;
}

/* The same with the issuer and audience given. */
static enum token_err mint_check_opts(EVP_PKEY *k, const char *alg, const char *hdr, const char *pl,
                                      const unsigned char *sha, const char *iss, const char *aud,
                                      struct token_result *r)
{
	char *jwt = testjwt_sign(k, alg, hdr, pl);
	enum token_err e = check_opts(jwt, sha, iss, aud, r);

	free(jwt);
	return e;
}

TEST(token_b64url_strict)
{
	unsigned char out[64];
	char enc[64];
	static const unsigned char raw[] = { 0xfb, 0xff, 0xbf, 0x00, 0x01 };

	token_b64url_encode(raw, sizeof(raw), enc);
	CHECK_EQ_STR(enc, "-_-_AAE");
	CHECK_EQ_INT(token_b64url_len(sizeof(raw)), 7);
	CHECK_EQ_INT(token_b64url_decode(enc, strlen(enc), out, sizeof(out)), 5);
	CHECK_EQ_MEM(out, raw, 5);
	/* padding, the standard alphabet, whitespace: refused */
	CHECK_EQ_INT(token_b64url_decode("AAE=", 4, out, sizeof(out)), -1);
	CHECK_EQ_INT(token_b64url_decode("+/+/", 4, out, sizeof(out)), -1);
	CHECK_EQ_INT(token_b64url_decode("AA E", 4, out, sizeof(out)), -1);
	/* a length of 4n+1 and unused bits set: refused */
	CHECK_EQ_INT(token_b64url_decode("AAAAA", 5, out, sizeof(out)), -1);
	CHECK_EQ_INT(token_b64url_decode("AAF", 3, out, sizeof(out)), -1);
	CHECK_EQ_INT(token_b64url_decode("AAE", 3, out, sizeof(out)), 2);
	/* no room */
	CHECK_EQ_INT(token_b64url_decode("AAAA", 4, out, 2), -1);
}

TEST(token_authorization_value)
{
	const char *t;
	size_t n;

	CHECK_EQ_INT(token_from_authz("Bearer abc.def.ghi", 18, &t, &n), TOKEN_OK);
	CHECK_EQ_INT(n, 11);
	CHECK(memcmp(t, "abc.def.ghi", 11) == 0);
	CHECK_EQ_INT(token_from_authz("bEaReR   x", 10, &t, &n), TOKEN_OK);
	CHECK_EQ_INT(n, 1);
	/* the Bearer scheme, not followed by one token */
	CHECK_EQ_INT(token_from_authz("Bearer", 6, &t, &n), TOKEN_MALFORMED);
	CHECK_EQ_INT(token_from_authz("Bearer ", 7, &t, &n), TOKEN_MALFORMED);
	CHECK_EQ_INT(token_from_authz("Bearer a b", 10, &t, &n), TOKEN_MALFORMED);
	CHECK_EQ_INT(token_from_authz("Bearer\tabc", 10, &t, &n), TOKEN_MALFORMED);
	CHECK_EQ_INT(token_from_authz("Bearer a,b", 10, &t, &n), TOKEN_MALFORMED);
	CHECK_EQ_INT(token_from_authz("Bearer,abc", 10, &t, &n), TOKEN_MALFORMED);
	/* another scheme; one that hides a Bearer credential after it */
	CHECK_EQ_INT(token_from_authz("Bearerx abc", 11, &t, &n), TOKEN_ABSENT);
	CHECK_EQ_INT(token_from_authz("Basic YWJj", 10, &t, &n), TOKEN_ABSENT);
	CHECK_EQ_INT(token_from_authz("", 0, &t, &n), TOKEN_ABSENT);
	CHECK_EQ_INT(token_from_authz("Basic YWJj, Bearer x", 20, &t, &n), TOKEN_AMBIGUOUS);
	CHECK_EQ_INT(token_from_authz("DPoP x bearer", 13, &t, &n), TOKEN_AMBIGUOUS);
	CHECK_EQ_INT(token_from_authz("Basic YWJj,bearer x", 19, &t, &n), TOKEN_AMBIGUOUS);
	CHECK_EQ_INT(token_from_authz("Basic YWJj,\tBEARER", 18, &t, &n), TOKEN_AMBIGUOUS);
	/* "bearer" that is no credential: no false token_ambiguous */
	CHECK_EQ_INT(token_from_authz("Digest username=\"bearer\", realm=\"x\"", 35, &t, &n), TOKEN_ABSENT);
	CHECK_EQ_INT(token_from_authz("Digest username=\"a\\\" bearer \", realm=\"x\"", 40, &t, &n), TOKEN_ABSENT);
	CHECK_EQ_INT(token_from_authz("Digest username=bearer", 22, &t, &n), TOKEN_ABSENT);
	CHECK_EQ_INT(token_from_authz("Basic bearerish", 15, &t, &n), TOKEN_ABSENT);
}

/* RS256, PS256, ES256 and EdDSA each verify, bound to certificate a, and
 * each fails with certificate b: the binding is checked for every alg. */
TEST(token_each_alg_valid_and_bound)
{
	static const struct { const char *alg, *kid; } a[] = {
		{ "RS256", "rsa1" }, { "PS256", "rsa1" }, { "ES256", "ec1" }, { "EdDSA", "ed1" },
	};
	struct token_result r;
	char hdr[128];

	setup();
	CHECK(K.jwks != NULL);
	CHECK_EQ_INT(token_jwks_count(K.jwks), 3);
	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
		EVP_PKEY *k = a[i].kid[0] == 'r' ? K.rsa : a[i].kid[0] == 'e' && a[i].kid[1] == 'c' ? K.ec : K.ed;

		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", a[i].alg, a[i].kid);
		CHECK_EQ_INT(mint_check(k, a[i].alg, hdr, claims(K.x5t_a, NULL), K.sha_a, &r), TOKEN_OK);
		CHECK_EQ_INT(r.step, TOKEN_STEP_DONE);
		CHECK_EQ_STR(r.alg, a[i].alg);
		CHECK_EQ_STR(r.kid, a[i].kid);
		CHECK_EQ_STR(r.sub, "alice");
		CHECK_EQ_STR(r.client_id, "app-1");
		CHECK_EQ_STR(r.scope, "read write");
		CHECK_EQ_INT(mint_check(k, a[i].alg, hdr, claims(K.x5t_a, NULL), K.sha_b, &r), TOKEN_BINDING);
		CHECK_EQ_INT(mint_check(k, a[i].alg, hdr, claims(K.x5t_b, NULL), K.sha_a, &r), TOKEN_BINDING);
	}
	teardown();
}

TEST(token_unbound_and_binding_spellings)
{
	struct token_result r;
	const char *h = "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}";
	char hex[65], padded[48];

	setup();
	CHECK_EQ_INT(mint_check(K.rsa, "RS256", h, claims(NULL, NULL), K.sha_a, &r), TOKEN_UNBOUND);
	CHECK_EQ_INT(mint_check(K.rsa, "RS256", h, claims(NULL, ",\"cnf\":{\"jkt\":\"abc\"}"), K.sha_a, &r),
	             TOKEN_UNBOUND);
	CHECK_EQ_INT(mint_check(K.rsa, "RS256", h, claims(NULL, ",\"cnf\":\"x\""), K.sha_a, &r), TOKEN_UNBOUND);
	CHECK_EQ_INT(mint_check(K.rsa, "RS256", h, claims(NULL, ",\"cnf\":{\"x5t#S256\":7}"), K.sha_a, &r),
	             TOKEN_UNBOUND);
	/* hex of the same hash, and base64url with padding: not the binding */
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", K.sha_a[i]);
	CHECK_EQ_INT(mint_check(K.rsa, "RS256", h, claims(hex, NULL), K.sha_a, &r), TOKEN_BINDING);
	snprintf(padded, sizeof(padded), "%s=", K.x5t_a);
	CHECK_EQ_INT(mint_check(K.rsa, "RS256", h, claims(padded, NULL), K.sha_a, &r), TOKEN_BINDING);
	/* the same 43 characters but the last: one byte apart */
	snprintf(padded, sizeof(padded), "%s", K.x5t_a);
	padded[42] = padded[42] == 'A' ? 'B' : 'A';
	CHECK_EQ_INT(mint_check(K.rsa, "RS256", h, claims(padded, NULL), K.sha_a, &r), TOKEN_BINDING);
	/* a token but no certificate */
	CHECK_EQ_INT(mint_check(K.rsa, "RS256", h, claims(K.x5t_a, NULL), NULL, &r), TOKEN_NO_CERT);
	/* the binding is the last step */
	CHECK_EQ_INT(mint_check(K.rsa, "RS256", h, claims(K.x5t_b, NULL), K.sha_a, &r), TOKEN_BINDING);
	CHECK_EQ_INT(r.step, TOKEN_STEP_BINDING);
	teardown();
}

TEST(token_exp_nbf_with_skew)
{
	struct token_result r;
	const char *h = "{\"alg\":\"ES256\",\"kid\":\"ec1\"}";
	char pl[1024];

	setup();
	/* expired 61 s ago with 60 s of skew; 60 s ago is still accepted */
	snprintf(pl, sizeof(pl), "{\"exp\":%lld,\"cnf\":{\"x5t#S256\":\"%s\"}}", (long long)(NOW - 61), K.x5t_a);
	CHECK_EQ_INT(mint_check(K.ec, "ES256", h, pl, K.sha_a, &r), TOKEN_EXPIRED);
	CHECK_EQ_INT(r.step, TOKEN_STEP_TIME);
	snprintf(pl, sizeof(pl), "{\"exp\":%lld,\"cnf\":{\"x5t#S256\":\"%s\"}}", (long long)(NOW - 60), K.x5t_a);
	CHECK_EQ_INT(mint_check_opts(K.ec, "ES256", h, pl, K.sha_a, NULL, NULL, &r), TOKEN_OK);
	/* nbf 61 s ahead: not yet; 60 s: fine */
	snprintf(pl, sizeof(pl), "{\"exp\":%lld,\"nbf\":%lld,\"cnf\":{\"x5t#S256\":\"%s\"}}",
	         (long long)(NOW + 600), (long long)(NOW + 61), K.x5t_a);
	CHECK_EQ_INT(mint_check_opts(K.ec, "ES256", h, pl, K.sha_a, NULL, NULL, &r), TOKEN_NOT_YET_VALID);
	snprintf(pl, sizeof(pl), "{\"exp\":%lld,\"nbf\":%lld,\"cnf\":{\"x5t#S256\":\"%s\"}}",
	         (long long)(NOW + 600), (long long)(NOW + 60), K.x5t_a);
	CHECK_EQ_INT(mint_check_opts(K.ec, "ES256", h, pl, K.sha_a, NULL, NULL, &r), TOKEN_OK);
	/* the far ends of 64 bits: no overflow (UBSan), the right answers */
	snprintf(pl, sizeof(pl), "{\"exp\":-9223372036854775808,\"cnf\":{\"x5t#S256\":\"%s\"}}", K.x5t_a);
	CHECK_EQ_INT(mint_check_opts(K.ec, "ES256", h, pl, K.sha_a, NULL, NULL, &r), TOKEN_EXPIRED);
	snprintf(pl, sizeof(pl), "{\"exp\":9223372036854775807,\"nbf\":9223372036854775807,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", K.x5t_a);
	CHECK_EQ_INT(mint_check_opts(K.ec, "ES256", h, pl, K.sha_a, NULL, NULL, &r), TOKEN_NOT_YET_VALID);
	snprintf(pl, sizeof(pl), "{\"exp\":9223372036854775807,\"nbf\":-9223372036854775808,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", K.x5t_a);
	CHECK_EQ_INT(mint_check_opts(K.ec, "ES256", h, pl, K.sha_a, NULL, NULL, &r), TOKEN_OK);
	/* no exp, and an exp that is no number */
	snprintf(pl, sizeof(pl), "{\"cnf\":{\"x5t#S256\":\"%s\"}}", K.x5t_a);
	CHECK_EQ_INT(mint_check_opts(K.ec, "ES256", h, pl, K.sha_a, NULL, NULL, &r), TOKEN_EXP_MISSING);
	snprintf(pl, sizeof(pl), "{\"exp\":\"%lld\",\"cnf\":{\"x5t#S256\":\"%s\"}}", (long long)(NOW + 600), K.x5t_a);
	CHECK_EQ_INT(mint_check_opts(K.ec, "ES256", h, pl, K.sha_a, NULL, NULL, &r), TOKEN_PAYLOAD);
	teardown();
}

TEST(token_issuer_and_audience)
{
	struct token_result r;
	const char *h = "{\"alg\":\"EdDSA\",\"kid\":\"ed1\"}";
	char pl[1024];

	setup();
	snprintf(pl, sizeof(pl), "{\"iss\":\"https://evil.example\",\"aud\":\"" AUD "\",\"exp\":%lld,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", (long long)(NOW + 600), K.x5t_a);
	CHECK_EQ_INT(mint_check(K.ed, "EdDSA", h, pl, K.sha_a, &r), TOKEN_ISSUER);
	/* unchecked when token_issuer is unset */
	CHECK_EQ_INT(mint_check_opts(K.ed, "EdDSA", h, pl, K.sha_a, NULL, AUD, &r), TOKEN_OK);
	snprintf(pl, sizeof(pl), "{\"iss\":\"" ISS "\",\"aud\":\"other\",\"exp\":%lld,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", (long long)(NOW + 600), K.x5t_a);
	CHECK_EQ_INT(mint_check(K.ed, "EdDSA", h, pl, K.sha_a, &r), TOKEN_AUDIENCE);
	/* a prefix of the audience is not the audience */
	snprintf(pl, sizeof(pl), "{\"iss\":\"" ISS "\",\"aud\":\"api\",\"exp\":%lld,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", (long long)(NOW + 600), K.x5t_a);
	CHECK_EQ_INT(mint_check(K.ed, "EdDSA", h, pl, K.sha_a, &r), TOKEN_AUDIENCE);
	snprintf(pl, sizeof(pl), "{\"iss\":\"" ISS "\",\"aud\":[\"x\",\"" AUD "\"],\"exp\":%lld,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", (long long)(NOW + 600), K.x5t_a);
	CHECK_EQ_INT(mint_check(K.ed, "EdDSA", h, pl, K.sha_a, &r), TOKEN_OK);
	snprintf(pl, sizeof(pl), "{\"iss\":\"" ISS "\",\"aud\":[\"x\",\"y\"],\"exp\":%lld,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", (long long)(NOW + 600), K.x5t_a);
	CHECK_EQ_INT(mint_check(K.ed, "EdDSA", h, pl, K.sha_a, &r), TOKEN_AUDIENCE);
	snprintf(pl, sizeof(pl), "{\"iss\":\"" ISS "\",\"aud\":[1,\"" AUD "\"],\"exp\":%lld,"
	         "\"cnf\":{\"x5t#S256\":\"%s\"}}", (long long)(NOW + 600), K.x5t_a);
	CHECK_EQ_INT(mint_check(K.ed, "EdDSA", h, pl, K.sha_a, &r), TOKEN_PAYLOAD);
	snprintf(pl, sizeof(pl), "{\"iss\":\"" ISS "\",\"exp\":%lld,\"cnf\":{\"x5t#S256\":\"%s\"}}",
	         (long long)(NOW + 600), K.x5t_a);
	CHECK_EQ_INT(mint_check(K.ed, "EdDSA", h, pl, K.sha_a, &r), TOKEN_AUDIENCE);
	teardown();
}

/* "alg": "none" in any spelling, with or without a signature part. */
TEST(token_alg_none_refused)
{
	static const char *const hdrs[] = { "{\"alg\":\"none\"}", "{\"alg\":\"None\"}", "{\"alg\":\"NONE\",\"kid\":\"rsa1\"}" };
	struct token_result r;
	char h64[128], p64[1024], jwt[2048];
	const char *pl;

	setup();
	pl = claims(K.x5t_a, NULL);
	token_b64url_encode((const unsigned char *)pl, strlen(pl), p64);
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		token_b64url_encode((const unsigned char *)hdrs[i], strlen(hdrs[i]), h64);
		snprintf(jwt, sizeof(jwt), "%s.%s.", h64, p64);
		CHECK_EQ_INT(check(jwt, K.sha_a, &r), TOKEN_ALG_NONE);
		snprintf(jwt, sizeof(jwt), "%s.%s.AAAA", h64, p64);
		CHECK_EQ_INT(check(jwt, K.sha_a, &r), TOKEN_ALG_NONE);
		CHECK_EQ_INT(r.step, TOKEN_STEP_ALG);
	}
	teardown();
}

/* Key confusion: an HS256 token whose secret is the public key (as JWK,
 * as the JWKS text, as PEM) never verifies, not even with an oct key of
 * that kid in the JWKS. */
TEST(token_hs256_with_public_key_refused)
{
	struct token_result r;
	const char *h = "{\"alg\":\"HS256\",\"kid\":\"rsa1\"}";
	const char *pl;
	char *jwt, *pem = NULL, why[256], text[8192];
	BIO *b = BIO_new(BIO_s_mem());
	long pn;
	struct token_jwks *j;

	setup();
	pl = claims(K.x5t_a, NULL);
	jwt = testjwt_sign_hs256((const unsigned char *)K.jwk_rsa, strlen(K.jwk_rsa), h, pl);
	CHECK_EQ_INT(check(jwt, K.sha_a, &r), TOKEN_ALG_HMAC);
	free(jwt);
	jwt = testjwt_sign_hs256((const unsigned char *)K.jwks_text, strlen(K.jwks_text), h, pl);
	CHECK_EQ_INT(check(jwt, K.sha_a, &r), TOKEN_ALG_HMAC);
	free(jwt);
	PEM_write_bio_PUBKEY(b, K.rsa);
	pn = BIO_get_mem_data(b, &pem);
	jwt = testjwt_sign_hs256((const unsigned char *)pem, (size_t)pn, "{\"alg\":\"HS256\"}", pl);
	CHECK_EQ_INT(check(jwt, K.sha_a, &r), TOKEN_ALG_HMAC);
	free(jwt);
	jwt = testjwt_sign_hs256((const unsigned char *)pem, (size_t)pn, "{\"alg\":\"hs512\"}", pl);
	CHECK_EQ_INT(check(jwt, K.sha_a, &r), TOKEN_ALG_HMAC);
	free(jwt);
	BIO_free(b);
	/* an oct key in the JWKS is skipped: it can never be a secret here */
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"rsa1\",\"k\":\"c2VjcmV0\"},%s]}", K.jwk_rsa);
	j = token_jwks_parse(text, strlen(text), why, sizeof(why));
	CHECK(j != NULL);
	CHECK_EQ_INT(token_jwks_count(j), 1);
	token_jwks_free(j);
	teardown();
}

TEST(token_bad_signature_kid_and_key_fit)
{
	struct token_result r;
	char *jwt;
	size_t n;

	setup();
	/* one signature bit flipped (the last character but one) */
	jwt = testjwt_sign(K.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", claims(K.x5t_a, NULL));
	CHECK(jwt != NULL);
	n = strlen(jwt);
	jwt[n - 2] = jwt[n - 2] == 'A' ? 'B' : 'A';
	CHECK_EQ_INT(check(jwt, K.sha_a, &r), TOKEN_SIGNATURE);
	free(jwt);
	/* signed by a key the JWKS does not hold, under a kid it does */
	CHECK_EQ_INT(mint_check(K.rsa2, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", claims(K.x5t_a, NULL),
	                        K.sha_a, &r), TOKEN_SIGNATURE);
	/* and without kid: every fitting key is tried, none verifies */
	CHECK_EQ_INT(mint_check(K.rsa2, "RS256", "{\"alg\":\"RS256\"}", claims(K.x5t_a, NULL), K.sha_a, &r),
	             TOKEN_SIGNATURE);
	/* without kid, the right key is found among them */
	CHECK_EQ_INT(mint_check(K.ed, "EdDSA", "{\"alg\":\"EdDSA\"}", claims(K.x5t_a, NULL), K.sha_a, &r), TOKEN_OK);
	/* a PKCS#1 v1.5 signature presented as PS256 */
	jwt = testjwt_sign(K.rsa, "RS256", "{\"alg\":\"PS256\",\"kid\":\"rsa1\"}", claims(K.x5t_a, NULL));
	CHECK_EQ_INT(check(jwt, K.sha_a, &r), TOKEN_SIGNATURE);
	free(jwt);
	/* an unknown kid */
	CHECK_EQ_INT(mint_check(K.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa9\"}", claims(K.x5t_a, NULL),
	                        K.sha_a, &r), TOKEN_KID_UNKNOWN);
	CHECK_EQ_INT(r.step, TOKEN_STEP_KEY);
	/* a kid with a control character never reaches detail, the ACK or a log */
	CHECK_EQ_INT(mint_check(K.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\\r\\nX: y\"}",
	                        claims(K.x5t_a, NULL), K.sha_a, &r), TOKEN_KID_UNKNOWN);
	CHECK(strchr(r.detail, '\n') == NULL && strchr(r.kid, '\n') == NULL);
	/* alg and key do not fit: ES256 with the RSA key's kid, RS256 with
	 * the EC key's, and PS256 with a key whose JWK says ES256 */
	CHECK_EQ_INT(mint_check(K.ec, "ES256", "{\"alg\":\"ES256\",\"kid\":\"rsa1\"}", claims(K.x5t_a, NULL),
	                        K.sha_a, &r), TOKEN_KEY_MISMATCH);
	CHECK_EQ_INT(mint_check(K.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"ec1\"}", claims(K.x5t_a, NULL),
	                        K.sha_a, &r), TOKEN_KEY_MISMATCH);
	/* algorithms not supported */
	CHECK_EQ_INT(mint_check(K.rsa, "RS256", "{\"alg\":\"RS512\",\"kid\":\"rsa1\"}", claims(K.x5t_a, NULL),
	                        K.sha_a, &r), TOKEN_ALG_UNKNOWN);
	CHECK_EQ_INT(mint_check(K.rsa, "RS256", "{\"alg\":\"rs256\",\"kid\":\"rsa1\"}", claims(K.x5t_a, NULL),
	                        K.sha_a, &r), TOKEN_ALG_UNKNOWN);
	/* an ES256 signature of the wrong length */
	jwt = testjwt_sign(K.rsa, "RS256", "{\"alg\":\"ES256\",\"kid\":\"ec1\"}", claims(K.x5t_a, NULL));
	CHECK_EQ_INT(check(jwt, K.sha_a, &r), TOKEN_SIGNATURE);
	free(jwt);
	teardown();
}

TEST(token_size_shape_header_and_payload)
{
	struct token_result r;
	struct token_opts o;
	char *jwt, big[TOKEN_MAX_SIZE_DEFAULT + 64], pl[TOKEN_MAX_SIZE_DEFAULT];

	setup();
	o = (struct token_opts){ K.jwks, NULL, NULL, 60, 512 };
	/* longer than max_size, even when otherwise valid */
	snprintf(pl, sizeof(pl), "{\"exp\":%lld,\"pad\":\"%0600d\",\"cnf\":{\"x5t#S256\":\"%s\"}}",
	         (long long)(NOW + 600), 0, K.x5t_a);
	jwt = testjwt_sign(K.ed, "EdDSA", "{\"alg\":\"EdDSA\"}", pl);
	CHECK_EQ_INT(token_check(&o, jwt, strlen(jwt), K.sha_a, NOW, &r), TOKEN_TOO_LARGE);
	o.max_size = TOKEN_MAX_SIZE_DEFAULT;
	CHECK_EQ_INT(token_check(&o, jwt, strlen(jwt), K.sha_a, NOW, &r), TOKEN_OK);
	free(jwt);
	memset(big, 'A', sizeof(big));
	CHECK_EQ_INT(token_check(&o, big, sizeof(big), K.sha_a, NOW, &r), TOKEN_TOO_LARGE);
	/* shapes */
	CHECK_EQ_INT(check("abc", K.sha_a, &r), TOKEN_MALFORMED);
	CHECK_EQ_INT(check("abc.def", K.sha_a, &r), TOKEN_MALFORMED);
	CHECK_EQ_INT(check("a.b.c.d", K.sha_a, &r), TOKEN_MALFORMED);
	CHECK_EQ_INT(check(".b.c", K.sha_a, &r), TOKEN_MALFORMED);
	CHECK_EQ_INT(check("a..c", K.sha_a, &r), TOKEN_MALFORMED);
	CHECK_EQ_INT(check("e30=.e30.AAAA", K.sha_a, &r), TOKEN_MALFORMED);
	CHECK_EQ_INT(check("", K.sha_a, &r), TOKEN_MALFORMED);
	/* header: not an object, no alg, duplicate members, crit */
	CHECK_EQ_INT(mint_check(K.ed, "EdDSA", "[1]", claims(K.x5t_a, NULL), K.sha_a, &r), TOKEN_HEADER);
	CHECK_EQ_INT(mint_check(K.ed, "EdDSA", "{\"kid\":\"ed1\"}", claims(K.x5t_a, NULL), K.sha_a, &r), TOKEN_HEADER);
	CHECK_EQ_INT(mint_check(K.ed, "EdDSA", "{\"alg\":\"EdDSA\",\"alg\":\"none\"}", claims(K.x5t_a, NULL),
	                        K.sha_a, &r), TOKEN_HEADER);
	CHECK_EQ_INT(mint_check(K.ed, "EdDSA", "{\"alg\":\"EdDSA\",\"crit\":[\"exp\"],\"exp\":1}",
	                        claims(K.x5t_a, NULL), K.sha_a, &r), TOKEN_CRIT);
	/* payload: duplicate claims, not an object */
	snprintf(pl, sizeof(pl), "{\"exp\":%lld,\"exp\":%lld,\"cnf\":{\"x5t#S256\":\"%s\"}}",
	         (long long)(NOW - 9999), (long long)(NOW + 600), K.x5t_a);
	CHECK_EQ_INT(mint_check(K.ed, "EdDSA", "{\"alg\":\"EdDSA\"}", pl, K.sha_a, &r), TOKEN_PAYLOAD);
	CHECK_EQ_INT(mint_check(K.ed, "EdDSA", "{\"alg\":\"EdDSA\"}", "[]", K.sha_a, &r), TOKEN_PAYLOAD);
	teardown();
}

TEST(token_claims_bounded_and_printable)
{
	struct token_result r;
	char pl[2048], sub[300];

	setup();
	memset(sub, 'x', TOKEN_SUB_MAX);
	sub[TOKEN_SUB_MAX] = 0;
	snprintf(pl, sizeof(pl), "{\"exp\":%lld,\"sub\":\"%s\",\"azp\":\"from-azp\",\"cnf\":{\"x5t#S256\":\"%s\"}}",
	         (long long)(NOW + 600), sub, K.x5t_a);
	CHECK_EQ_INT(mint_check_opts(K.ed, "EdDSA", "{\"alg\":\"EdDSA\"}", pl, K.sha_a, NULL, NULL, &r),
	             TOKEN_OK);
	CHECK_EQ_INT(strlen(r.sub), TOKEN_SUB_MAX);
	CHECK_EQ_STR(r.client_id, "from-azp");
	CHECK_EQ_STR(r.scope, "");
	snprintf(pl, sizeof(pl), "{\"exp\":%lld,\"sub\":\"%sy\",\"cnf\":{\"x5t#S256\":\"%s\"}}",
	         (long long)(NOW + 600), sub, K.x5t_a);
	CHECK_EQ_INT(mint_check_opts(K.ed, "EdDSA", "{\"alg\":\"EdDSA\"}", pl, K.sha_a, NULL, NULL, &r),
	             TOKEN_CLAIM);
	snprintf(pl, sizeof(pl), "{\"exp\":%lld,\"sub\":\"a\\r\\nX-Admin: 1\",\"cnf\":{\"x5t#S256\":\"%s\"}}",
	         (long long)(NOW + 600), K.x5t_a);
	CHECK_EQ_INT(mint_check_opts(K.ed, "EdDSA", "{\"alg\":\"EdDSA\"}", pl, K.sha_a, NULL, NULL, &r),
	             TOKEN_CLAIM);
	snprintf(pl, sizeof(pl), "{\"exp\":%lld,\"scope\":[\"a\"],\"cnf\":{\"x5t#S256\":\"%s\"}}",
	         (long long)(NOW + 600), K.x5t_a);
	CHECK_EQ_INT(mint_check_opts(K.ed, "EdDSA", "{\"alg\":\"EdDSA\"}", pl, K.sha_a, NULL, NULL, &r),
	             TOKEN_CLAIM);
	teardown();
}

TEST(token_jwks_parse_refusals)
{
	char why[256], text[8192];
	struct token_jwks *j;
	EVP_PKEY *small = testpki_make_rsa_key(1024);
	char *jwk_small = testjwt_jwk(small, "s", NULL);
	static const char *const bad[] = {
		"", "[]", "{}", "{\"keys\":{}}", "{\"keys\":[]}", "{\"keys\":[1]}",
		"{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}",
		/* not on the curve */
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
		"\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}]}",
		"{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
		"{\"keys\":[],\"keys\":[]}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = token_jwks_parse(bad[i], strlen(bad[i]), why, sizeof(why));
		if (j)
			unit_fail(__FILE__, __LINE__, "JWKS %zu accepted", i);
		token_jwks_free(j);
	}
	snprintf(text, sizeof(text), "{\"keys\":[%s]}", jwk_small);
	j = token_jwks_parse(text, strlen(text), why, sizeof(why));
	CHECK(j == NULL);
	CHECK(strstr(why, "2048") != NULL);
	/* use enc and an unknown alg are skipped, not fatal */
	setup();
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"x\",\"e\":\"y\"},"
	         "{\"kty\":\"RSA\",\"alg\":\"RS512\",\"n\":\"x\",\"e\":\"y\"},%s]}", K.jwk_ed);
	j = token_jwks_parse(text, strlen(text), why, sizeof(why));
	CHECK(j != NULL);
	CHECK_EQ_INT(token_jwks_count(j), 1);
	token_jwks_free(j);
	teardown();
	free(jwk_small);
	EVP_PKEY_free(small);
}

/* ---- through the decision pipeline ---- */

static char jwks_path[64];
static const char *jwks_override;     /* the JWKS file's text, else K.jwks_text */

static struct config *load_cfg(const char *policy_lines)
{
	const char *jt = jwks_override ? jwks_override : K.jwks_text;
	char text[2048], err[512];
	int fd;
	struct config *cfg;

	snprintf(jwks_path, sizeof(jwks_path), "/tmp/certspoa-jwks-XXXXXX");

	fd = mkstemp(jwks_path);
	if (fd < 0 || write(fd, jt, strlen(jt)) != (ssize_t)strlen(jt))
		return NULL;
	close(fd);
	snprintf(text, sizeof(text), "[policy default]\nverify = haproxy\njwks_file = %s\n%s\n", jwks_path,
	         policy_lines);
	cfg = test_cfg_text(text, err, sizeof(err));
	if (!cfg)
		fprintf(stderr, "cfg: %s\n", err);
	unlink(jwks_path);
	return cfg;
}

static void request(struct req_facts *rq, const unsigned char *der, size_t len, const char *authz, int count)
{
	memset(rq, 0, sizeof(*rq));
	rq->has_verify = 1;
	rq->verify = 0;
	rq->has_cert = der != NULL;
	rq->cert.ptr = (const char *)der;
	rq->cert.len = len;
	if (authz) {
		rq->has_authz = 1;
		rq->authz.ptr = authz;
		rq->authz.len = strlen(authz);
	}
	if (count >= 0) {
		rq->has_authz_count = 1;
		rq->authz_count = count;
	}
}

static void decide(struct decide_ctx *dc, struct req_facts *rq, struct decision *d)
{
	struct cert_eval ce;
	struct trace t = { .on = 1 };
	const char *route;

	decide_request(dc, rq, NOW, &t, &ce, d, &route);
}

TEST(token_decide_modes_and_codes)
{
	struct decide_ctx dc;
	struct req_facts rq;
	struct decision d;
	struct config *cfg;
	char *jwt, authz[4096];

	setup();
	jwt = testjwt_sign(K.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", claims(K.x5t_a, NULL));
	snprintf(authz, sizeof(authz), "Bearer %s", jwt);
	cfg = load_cfg("token = required\ntoken_issuer = " ISS "\ntoken_audience = " AUD);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK_EQ_INT(decide_init(&dc, cfg, 1), 0);
	request(&rq, K.der_a, K.la, authz, 1);
	decide(&dc, &rq, &d);
	CHECK_EQ_INT(d.code, DEC_ALLOW);
	CHECK(rq.token && rq.token->err == TOKEN_OK);
	/* required: none, another scheme, an empty Bearer */
	request(&rq, K.der_a, K.la, NULL, 0);
	decide(&dc, &rq, &d);
	CHECK_EQ_INT(d.code, DEC_TOKEN_MISSING);
	CHECK_EQ_INT(d.status, 401);
	CHECK_EQ_STR(dec_table[d.code].code, "token_missing");
	request(&rq, K.der_a, K.la, "Basic YTpi", 1);
	decide(&dc, &rq, &d);
	CHECK_EQ_INT(d.code, DEC_TOKEN_MISSING);
	request(&rq, K.der_a, K.la, "Bearer", 1);
	decide(&dc, &rq, &d);
	CHECK_EQ_INT(d.code, DEC_TOKEN_INVALID);
	CHECK_EQ_STR(d.rule, "token_malformed");
	request(&rq, K.der_a, K.la, "Bearer\tx.y.z", 1);
	decide(&dc, &rq, &d);
	CHECK_EQ_STR(d.rule, "token_malformed");
	/* two Authorization headers, or their count not sent */
	request(&rq, K.der_a, K.la, authz, 2);
	decide(&dc, &rq, &d);
	CHECK_EQ_INT(d.code, DEC_TOKEN_INVALID);
	CHECK_EQ_STR(d.rule, "token_ambiguous");
	request(&rq, K.der_a, K.la, authz, -1);
	decide(&dc, &rq, &d);
	CHECK_EQ_STR(d.rule, "token_ambiguous");
	request(&rq, K.der_a, K.la, authz, 0);
	decide(&dc, &rq, &d);
	CHECK_EQ_STR(d.rule, "token_ambiguous");
	/* the certificate's own checks come first: no certificate */
	request(&rq, NULL, 0, authz, 1);
	decide(&dc, &rq, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_MISSING);
	CHECK_EQ_INT(d.status, 403);
	decide_destroy(&dc);
	cfg_free(cfg);

	/* bound: no token is fine, a bad one is not */
	cfg = load_cfg("token = bound");
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK_EQ_INT(decide_init(&dc, cfg, 1), 0);
	request(&rq, K.der_a, K.la, NULL, 0);
	decide(&dc, &rq, &d);
	CHECK_EQ_INT(d.code, DEC_ALLOW);
	request(&rq, K.der_a, K.la, "Basic YTpi", 1);
	decide(&dc, &rq, &d);
	CHECK_EQ_INT(d.code, DEC_ALLOW);
	/* a token smuggled behind another scheme is no way around bound */
	snprintf(authz, sizeof(authz), "Basic YTpi, Bearer %s", jwt);
	request(&rq, K.der_b, K.lb, authz, 1);
	decide(&dc, &rq, &d);
	CHECK_EQ_INT(d.code, DEC_TOKEN_INVALID);
	CHECK_EQ_STR(d.rule, "token_ambiguous");
	snprintf(authz, sizeof(authz), "Bearer %s", jwt);
	request(&rq, K.der_b, K.lb, authz, 1);
	decide(&dc, &rq, &d);
	CHECK_EQ_INT(d.code, DEC_TOKEN_BINDING_MISMATCH);
	CHECK_EQ_INT(d.status, 401);
	free(jwt);
	jwt = testjwt_sign(K.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", claims(NULL, NULL));
	snprintf(authz, sizeof(authz), "Bearer %s", jwt);
	request(&rq, K.der_a, K.la, authz, 1);
	decide(&dc, &rq, &d);
	CHECK_EQ_INT(d.code, DEC_TOKEN_UNBOUND);
	free(jwt);
	snprintf(authz, sizeof(authz), "Bearer x.y.z");
	request(&rq, K.der_a, K.la, authz, 1);
	decide(&dc, &rq, &d);
	CHECK_EQ_INT(d.code, DEC_TOKEN_INVALID);
	decide_destroy(&dc);
	cfg_free(cfg);
	teardown();
}

/* The decision cache holds the certificate's facts, never a token
 * result: on one decision context (one worker thread, one SPOP connection)
 * the same token with certificate a, then b, then a again is checked each
 * time against that request's certificate. */
TEST(token_cache_never_carries_a_token_to_another_cert)
{
	struct decide_ctx dc;
	struct req_facts rq;
	struct decision d;
	struct config *cfg;
	char *jwt, authz[4096];
	char pl[1024];

	setup();
	snprintf(pl, sizeof(pl), "{\"exp\":%lld,\"cnf\":{\"x5t#S256\":\"%s\"}}", (long long)(NOW + 600), K.x5t_a);
	jwt = testjwt_sign(K.ec, "ES256", "{\"alg\":\"ES256\",\"kid\":\"ec1\"}", pl);
	snprintf(authz, sizeof(authz), "Bearer %s", jwt);
	cfg = load_cfg("token = required");
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK(cfg->cache_size > 0);
	CHECK_EQ_INT(decide_init(&dc, cfg, 1), 0);
	for (int round = 0; round < 2; round++) {
		request(&rq, K.der_a, K.la, authz, 1);
		decide(&dc, &rq, &d);
		CHECK_EQ_INT(d.code, DEC_ALLOW);
		request(&rq, K.der_b, K.lb, authz, 1);
		decide(&dc, &rq, &d);
		CHECK_EQ_INT(d.code, DEC_TOKEN_BINDING_MISMATCH);
		CHECK_EQ_STR(d.rule, "token_binding");
	}
	decide_destroy(&dc);
	cfg_free(cfg);
	free(jwt);
	teardown();
}

TEST(token_config_errors)
{
	char err[512];
	struct config *cfg;

	setup();
	/* token without jwks_file */
	cfg = test_cfg_text("[policy default]\ntoken = bound\n", err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK(strstr(err, "jwks_file") != NULL);
	/* a JWKS that is not one, or holds only a shared secret */
	jwks_override = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}";
	cfg = load_cfg("token = bound");
	CHECK(cfg == NULL);
	jwks_override = "not json";
	cfg = load_cfg("token = bound");
	CHECK(cfg == NULL);
	jwks_override = NULL;
	cfg = load_cfg("token = bound\ntoken_max_size = 100");
	CHECK(cfg == NULL);
	cfg = load_cfg("token = sometimes");
	CHECK(cfg == NULL);
	cfg = load_cfg("token = off");
	CHECK(cfg != NULL);
	if (cfg)
		CHECK_EQ_INT(cfg->default_policy->token_clock_skew_ms, 60000);
	cfg_free(cfg);
	teardown();
}

/* ---- through the SPOP handler: the claims in the ACK ---- */

/* A check-client-cert NOTIFY payload with the certificate, HAProxy's
 * verify result and the Authorization header (count 1). */
static size_t notify_with(char *buf, size_t cap, const unsigned char *der, size_t len,
                          int64_t verify, const char *authz)
{
	struct spop_data v[4] = {
		{ .type = SPOP_DATA_BIN }, { .type = SPOP_DATA_INT64 },
		{ .type = SPOP_DATA_STR }, { .type = SPOP_DATA_INT64 },
	};
	static const char *const names[4] = { "cert", "verify", "authorization", "authorization_count" };
	char *p = buf, *end = buf + cap;

	v[0].u.str.ptr = (const char *)der;
	v[0].u.str.len = len;
	v[1].u.sint = verify;
	v[2].u.str.ptr = authz;
	v[2].u.str.len = strlen(authz);
	v[3].u.sint = 1;
	if (spop_put_str(&p, end, HANDLER_MESSAGE, strlen(HANDLER_MESSAGE)) < 0 || p >= end)
		return 0;
	*p++ = 4;
	for (int i = 0; i < 4; i++)
		if (spop_put_str(&p, end, names[i], strlen(names[i])) < 0 || spop_put_data(&p, end, &v[i]) < 0)
			return 0;
	return (size_t)(p - buf);
}

/* Does the ACK written to out[0..n) set variable name? (Names are
 * length-prefixed strings in the frame: look for the length and the name.) */
static int ack_sets(const char *out, size_t n, const char *name)
{
	char pat[64];
	size_t l = strlen(name);

	pat[0] = (char)l;
	memcpy(pat + 1, name, l);
	return memmem(out, n, pat, l + 1) != NULL;
}

/* token_sub, token_client_id, token_scope go back only on an allow with a
 * verified bound token; a shadow-mode pass of a refused certificate
 * carrying a valid token bound to it vouches for nothing. */
TEST(token_claims_in_the_ack_only_when_vouched_for)
{
	static char payload[16384], out[16384];
	struct handler_ctx hc;
	struct config *cfg;
	enum spop_status st;
	char *jwt, authz[4096], *p;
	size_t n;

	setup();
	jwt = testjwt_sign(K.ed, "EdDSA", "{\"alg\":\"EdDSA\",\"kid\":\"ed1\"}", claims(K.x5t_a, NULL));
	snprintf(authz, sizeof(authz), "Bearer %s", jwt);
	cfg = load_cfg("token = required\nmode = shadow");
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK_EQ_INT(handler_init(&hc, cfg, 1), 0);
	/* HAProxy verified the certificate: allowed, claims set */
	n = notify_with(payload, sizeof(payload), K.der_a, K.la, 0, authz);
	p = out;
	CHECK_EQ_INT(handler_notify(&hc, 1, 1, payload, n, NOW, &p, out + sizeof(out), 16380, &st, NULL), 0);
	CHECK(ack_sets(out, (size_t)(p - out), "token_sub"));
	CHECK(ack_sets(out, (size_t)(p - out), "token_client_id"));
	CHECK(ack_sets(out, (size_t)(p - out), "token_scope"));
	CHECK(!ack_sets(out, (size_t)(p - out), "would_deny"));
	/* HAProxy's verification failed (10: expired): shadow lets it pass */
	n = notify_with(payload, sizeof(payload), K.der_a, K.la, 10, authz);
	p = out;
	CHECK_EQ_INT(handler_notify(&hc, 1, 2, payload, n, NOW, &p, out + sizeof(out), 16380, &st, NULL), 0);
	CHECK(ack_sets(out, (size_t)(p - out), "would_deny"));
	CHECK(!ack_sets(out, (size_t)(p - out), "token_sub"));
	CHECK(!ack_sets(out, (size_t)(p - out), "token_scope"));
	/* another certificate: the token is refused, nothing set */
	n = notify_with(payload, sizeof(payload), K.der_b, K.lb, 0, authz);
	p = out;
	CHECK_EQ_INT(handler_notify(&hc, 1, 3, payload, n, NOW, &p, out + sizeof(out), 16380, &st, NULL), 0);
	CHECK(ack_sets(out, (size_t)(p - out), "would_deny"));
	CHECK(!ack_sets(out, (size_t)(p - out), "token_sub"));
	handler_destroy(&hc);
	cfg_free(cfg);
	free(jwt);
	teardown();
}
