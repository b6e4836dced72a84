/* Certificate-bound JWT access tokens: see token.h and docs/TOKENS.md.
 *
 * The order of checks (the first failure decides):
 *   decode     three base64url parts within max_size, header a JSON object
 *   alg        RS256, PS256, ES256 or EdDSA; none and HS* refused; no crit
 *   key        the JWKS keys with the header's kid (or all, without kid)
 *              whose type fits alg (and whose own alg, if any, is alg)
 *   signature  against those keys, ES256 as JOSE r||s (64 bytes)
 *   time       exp required, exp and nbf within skew of now
 *   iss/aud    when configured: iss equal, aud equal or an array naming it
 *   binding    cnf."x5t#S256" equal, in constant time, to base64url of the
 *              SHA-256 of the certificate's DER (43 characters exactly)
 * The payload is parsed only after the signature has verified. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "strutil.h"
#include "token.h"

/* a switch on an enum names every value: a new one is a compile error here */
#pragma GCC diagnostic warning "-Wswitch-enum"

#define TOKEN_ERR_INFO(id, rule, cls, words) [TOKEN_##id] = { rule, TOKEN_CLASS_##cls, words },
const struct token_err_info token_errs[TOKEN_ERRS] = { TOKEN_ERR_LIST(TOKEN_ERR_INFO) };
#undef TOKEN_ERR_INFO

const char *const token_step_names[TOKEN_STEPS] = {
	[TOKEN_STEP_DECODE] = "decode", [TOKEN_STEP_ALG] = "alg", [TOKEN_STEP_KEY] = "kid",
	[TOKEN_STEP_SIGNATURE] = "signature", [TOKEN_STEP_TIME] = "exp/nbf",
	[TOKEN_STEP_ISS_AUD] = "iss/aud", [TOKEN_STEP_BINDING] = "binding", [TOKEN_STEP_DONE] = "done",
};

#define TOKEN_RSA_MIN_BITS 2048
#define TOKEN_HEADER_MAX   2048      /* decoded JOSE header */

enum token_kty {
	KTY_RSA = 0,
	KTY_EC_P256,
	KTY_ED25519,
	KTYS
};

enum token_alg {
	ALG_RS256 = 0,
	ALG_PS256,
	ALG_ES256,
	ALG_EDDSA,
	ALGS
};

static const struct {
	const char *name;
	enum token_kty kty;
} alg_table[ALGS] = {
	[ALG_RS256] = { "RS256", KTY_RSA },
	[ALG_PS256] = { "PS256", KTY_RSA },
	[ALG_ES256] = { "ES256", KTY_EC_P256 },
	[ALG_EDDSA] = { "EdDSA", KTY_ED25519 },
};

struct token_key {
	char kid[TOKEN_KID_MAX + 1];
	int has_kid;
	int has_alg;
	enum token_alg alg;            /* the key's own "alg", when has_alg */
	enum token_kty kty;
	EVP_PKEY *pkey;
};

struct token_jwks {
	size_t n;
	struct token_key keys[TOKEN_JWKS_MAX_KEYS];
};

/* ---- base64url ---- */

static const char b64url_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t token_b64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

void token_b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i = 0, o = 0;

	for (; i + 3 <= n; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
		out[o++] = b64url_chars[v >> 6 & 63];
		out[o++] = b64url_chars[v & 63];
	}
	if (n - i == 1) {
		out[o++] = b64url_chars[in[i] >> 2];
		out[o++] = b64url_chars[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		unsigned long v = (unsigned long)in[i] << 8 | in[i + 1];

		out[o++] = b64url_chars[v >> 10 & 63];
		out[o++] = b64url_chars[v >> 4 & 63];
		out[o++] = b64url_chars[(v & 15) << 2];
	}
	out[o] = 0;
}

long token_b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
	size_t o = 0, i;
	unsigned long acc = 0;
	int bits = 0;

	if (n % 4 == 1)
		return -1;
	if (n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
		return -1;
	for (i = 0; i < n; i++) {
		int v = str_b64val((unsigned char)in[i], '-', '_');

		if (v < 0)
			return -1;
		acc = (acc << 6 | (unsigned long)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	/* the bits left over must be zero: one encoding per value */
	if (bits && (acc & ((1UL << bits) - 1)))
		return -1;
	return (long)o;
}

/* ---- JWKS ---- */

static void set_why(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static int alg_by_name(const char *s, enum token_alg *a)
{
	for (int i = 0; i < ALGS; i++) {
		if (strcmp(s, alg_table[i].name) == 0) {
			*a = (enum token_alg)i;
			return 0;
		}
	}
	return -1;
}

/* A base64url member of a JWK, decoded into buf. Returns the length or -1. */
static long jwk_bytes(json_t *k, const char *name, unsigned char *buf, size_t cap)
{
	json_t *v = json_object_get(k, name);

	if (!json_is_string(v))
		return -1;
	return token_b64url_decode(json_string_value(v), json_string_length(v), buf, cap);
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	if (!params)
		return NULL;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

static EVP_PKEY *jwk_rsa(json_t *k)
{
	unsigned char n[1024], e[16];
	long nl = jwk_bytes(k, "n", n, sizeof(n)), el = jwk_bytes(k, "e", e, sizeof(e));
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	EVP_PKEY *pk = NULL;

	if (nl <= 0 || el <= 0 || n[0] == 0 || e[0] == 0)
		return NULL;     /* minimal big-endian integers, as RFC 7518 asks */
	bn = BN_bin2bn(n, (int)nl, NULL);
	be = BN_bin2bn(e, (int)el, NULL);
	if (!bn || !be || BN_num_bits(bn) < TOKEN_RSA_MIN_BITS || !BN_is_odd(be) || BN_is_one(be))
		goto out;
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		goto out;
	pk = pkey_fromdata("RSA", bld);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return pk;
}

static EVP_PKEY *jwk_ec(json_t *k)
{
	json_t *crv = json_object_get(k, "crv");
	unsigned char pt[65], x[33], y[33];
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *chk = NULL;

	if (!json_is_string(crv) || strcmp(json_string_value(crv), "P-256") != 0)
		return NULL;
	if (jwk_bytes(k, "x", x, sizeof(x)) != 32 || jwk_bytes(k, "y", y, sizeof(y)) != 32)
		return NULL;
	pt[0] = 4;      /* uncompressed point */
	memcpy(pt + 1, x, 32);
	memcpy(pt + 33, y, 32);
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)))
		goto out;
	pk = pkey_fromdata("EC", bld);
	/* the point must be on the curve */
	if (pk && (!(chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) || EVP_PKEY_public_check(chk) != 1)) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
out:
	EVP_PKEY_CTX_free(chk);
	OSSL_PARAM_BLD_free(bld);
	return pk;
}

static EVP_PKEY *jwk_okp(json_t *k)
{
	json_t *crv = json_object_get(k, "crv");
	unsigned char x[33];

	if (!json_is_string(crv) || strcmp(json_string_value(crv), "Ed25519") != 0)
		return NULL;
	if (jwk_bytes(k, "x", x, sizeof(x)) != 32)
		return NULL;
	return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32);
}

/* One JWK into *key. Returns 1 kept, 0 skipped (not for us), -1 malformed. */
static int jwk_parse(json_t *k, struct token_key *key, char *why, size_t whylen, size_t idx)
{
	json_t *kty = json_object_get(k, "kty"), *use = json_object_get(k, "use");
	json_t *kid = json_object_get(k, "kid"), *alg = json_object_get(k, "alg");
	const char *t;

	memset(key, 0, sizeof(*key));
	if (!json_is_object(k) || !json_is_string(kty)) {
		set_why(why, whylen, "JWKS key %zu: not an object with a kty", idx);
		return -1;
	}
	t = json_string_value(kty);
	if (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0))
		return 0;       /* an encryption key, or a SPIFFE x509-svid */
	if (strcmp(t, "RSA") == 0)
		key->kty = KTY_RSA;
	else if (strcmp(t, "EC") == 0)
		key->kty = KTY_EC_P256;
	else if (strcmp(t, "OKP") == 0)
		key->kty = KTY_ED25519;
	else
		return 0;       /* oct (a shared secret) and anything else */
	if (kid) {
		if (!json_is_string(kid) || json_string_length(kid) > TOKEN_KID_MAX ||
		    strlen(json_string_value(kid)) != json_string_length(kid)) {
			set_why(why, whylen, "JWKS key %zu: kid is not a string of at most %d bytes", idx, TOKEN_KID_MAX);
			return -1;
		}
		memcpy(key->kid, json_string_value(kid), json_string_length(kid) + 1);
		key->has_kid = 1;
	}
	if (alg) {
		if (!json_is_string(alg)) {
			set_why(why, whylen, "JWKS key %zu: alg is not a string", idx);
			return -1;
		}
		if (alg_by_name(json_string_value(alg), &key->alg) < 0)
			return 0;   /* RS512, ES384, HS256...: not a key we use */
		if (alg_table[key->alg].kty != key->kty) {
			set_why(why, whylen, "JWKS key %zu: its alg does not fit its kty", idx);
			return -1;
		}
		key->has_alg = 1;
	}
	switch (key->kty) {
	case KTY_RSA:
		key->pkey = jwk_rsa(k);
		break;
	case KTY_EC_P256:
		if (json_is_string(json_object_get(k, "crv")) &&
		    strcmp(json_string_value(json_object_get(k, "crv")), "P-256") != 0)
			return 0;   /* P-384, P-521: not used here */
		key->pkey = jwk_ec(k);
		break;
	case KTY_ED25519:
		if (json_is_string(json_object_get(k, "crv")) &&
		    strcmp(json_string_value(json_object_get(k, "crv")), "Ed25519") != 0)
			return 0;   /* Ed448, X25519 */
		key->pkey = jwk_okp(k);
		break;
	case KTYS:
		break;
	}
	if (!key->pkey) {
		set_why(why, whylen, "JWKS key %zu: malformed %s key (RSA needs %d+ bits)", idx, json_string_value(kty), TOKEN_RSA_MIN_BITS);
		return -1;
	}
	return 1;
}

struct token_jwks *token_jwks_parse(const char *json, size_t len, char *why, size_t whylen)
{
	struct token_jwks *j = NULL;
	json_error_t jerr;
	json_t *doc, *keys;
	size_t i;

	if (len > TOKEN_JWKS_MAX) {
		set_why(why, whylen, "JWKS larger than %d bytes", TOKEN_JWKS_MAX);
		return NULL;
	}
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		set_why(why, whylen, "JWKS is not valid JSON: %s (line %zu)", jerr.text, (size_t)jerr.line);
		return NULL;
	}
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		set_why(why, whylen, "JWKS has no \"keys\" array");
		goto out;
	}
	if (!(j = calloc(1, sizeof(*j)))) {
		set_why(why, whylen, "out of memory");
		goto out;
	}
	for (i = 0; i < json_array_size(keys); i++) {
		struct token_key k;
		int rc = jwk_parse(json_array_get(keys, i), &k, why, whylen, i);

		if (rc < 0)
			goto fail;
		if (rc == 0)
			continue;
		if (j->n == TOKEN_JWKS_MAX_KEYS) {
			EVP_PKEY_free(k.pkey);
			set_why(why, whylen, "JWKS has more than %d usable keys", TOKEN_JWKS_MAX_KEYS);
			goto fail;
		}
		j->keys[j->n++] = k;
	}
	if (!j->n) {
		set_why(why, whylen, "JWKS has no usable signing key (RSA, EC P-256, Ed25519)");
		goto fail;
	}
	json_decref(doc);
	return j;
fail:
	token_jwks_free(j);
	j = NULL;
out:
	json_decref(doc);
	return NULL;
}

void token_jwks_free(struct token_jwks *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++)
		EVP_PKEY_free(j->keys[i].pkey);
	free(j);
}

size_t token_jwks_count(const struct token_jwks *j)
{
	return j ? j->n : 0;
}

/* ---- the token ---- */

/* RFC 9110 tchar: what may continue a scheme name such as "Bearerx" */
static int is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Another scheme's value holds a word "bearer" where a parser could take it
 * for a second credential ("Basic x, Bearer y", "DPoP x bearer"): a whole
 * word (after the start, a space, a tab or a comma; before the end, a space,
 * a tab or a comma), outside a quoted string. A quoted auth-param value
 * (Digest username="bearer") or part of a longer word is not. */
static int bearer_elsewhere(const char *v, size_t len)
{
	int quoted = 0;

	for (size_t i = 1; i < len; i++) {
		unsigned char prev = (unsigned char)v[i - 1];
		size_t end = i + 6;

		if (quoted) {
			if (v[i] == '\\')
				i++;
			else if (v[i] == '"')
				quoted = 0;
			continue;
		}
		if (v[i] == '"') {
			quoted = 1;
			continue;
		}
		if (end > len || strncasecmp(v + i, "bearer", 6) != 0)
			continue;
		if ((prev == ' ' || prev == '\t' || prev == ',') &&
		    (end == len || v[end] == ' ' || v[end] == '\t' || v[end] == ','))
			return 1;
	}
	return 0;
}

enum token_err token_from_authz(const char *v, size_t len, const char **tok, size_t *toklen)
{
	size_t i = 6;

	if (len >= 6 && strncasecmp(v, "bearer", 6) == 0 && (len == 6 || !is_tchar((unsigned char)v[6]))) {
		if (len == 6 || v[6] != ' ')
			return TOKEN_MALFORMED;
		while (i < len && v[i] == ' ')
			i++;
		if (i == len)
			return TOKEN_MALFORMED;
		for (size_t k = i; k < len; k++)
			if ((unsigned char)v[k] <= 0x20 || v[k] == ',' || (unsigned char)v[k] >= 0x7f)
				return TOKEN_MALFORMED;
		*tok = v + i;
		*toklen = len - i;
		return TOKEN_OK;
	}
	return bearer_elsewhere(v, len) ? TOKEN_AMBIGUOUS : TOKEN_ABSENT;
}

static enum token_err fail(struct token_result *r, enum token_err e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum token_err fail(struct token_result *r, enum token_err e, const char *fmt, ...)
{
	va_list ap;

	r->err = e;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
		va_end(ap);
	} else {
		snprintf(r->detail, sizeof(r->detail), "%s", token_errs[e].words);
	}
	return e;
}

/* Copy a printable-ASCII string of at most max bytes. */
static int copy_printable(char *dst, size_t max, json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	if (n > max)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return -1;
	memcpy(dst, s, n);
	dst[n] = 0;
	return 0;
}

/* JOSE ES256 signature r||s (32 + 32 bytes) as the DER ECDSA-Sig-Value
 * OpenSSL verifies. Returns the DER length, or -1. */
static int es256_der(const unsigned char *sig, size_t n, unsigned char *der, size_t cap)
{
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	unsigned char *p = der;
	int len;

	if (n != 64 || cap < 72)
		return -1;
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	es = ECDSA_SIG_new();
	if (!r || !s || !es || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return -1;
	}
	len = i2d_ECDSA_SIG(es, NULL);
	if (len <= 0 || (size_t)len > cap)
		len = -1;
	else
		len = i2d_ECDSA_SIG(es, &p);
	ECDSA_SIG_free(es);
	return len;
}

/* One signature check with one key. Returns 1 when it verifies. */
static int verify_one(enum token_alg alg, EVP_PKEY *pk, const char *input, size_t inlen,
                      const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	unsigned char der[80];
	const EVP_MD *md = alg == ALG_EDDSA ? NULL : EVP_sha256();
	int ok = 0, dl;

	if (!mc)
		return 0;
	if (EVP_DigestVerifyInit(mc, &pc, md, NULL, pk) != 1)
		goto out;
	switch (alg) {
	case ALG_RS256:
		if (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) != 1)
			goto out;
		ok = EVP_DigestVerify(mc, sig, siglen, (const unsigned char *)input, inlen) == 1;
		break;
	case ALG_PS256:
		/* RFC 7518 3.5: MGF1 with SHA-256, salt as long as the hash */
		if (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) != 1)
			goto out;
		ok = EVP_DigestVerify(mc, sig, siglen, (const unsigned char *)input, inlen) == 1;
		break;
	case ALG_ES256:
		if ((dl = es256_der(sig, siglen, der, sizeof(der))) < 0)
			goto out;
		ok = EVP_DigestVerify(mc, der, (size_t)dl, (const unsigned char *)input, inlen) == 1;
		break;
	case ALG_EDDSA:
		ok = EVP_DigestVerify(mc, sig, siglen, (const unsigned char *)input, inlen) == 1;
		break;
	case ALGS:
		break;
	}
out:
	EVP_MD_CTX_free(mc);
	return ok;
}

/* A NumericDate: an integer, or a real within range (cut to a second). */
static int numeric_date(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);

		if (!(d > -9.2e18 && d < 9.2e18))
			return -1;
		*out = (int64_t)d;
		return 0;
	}
	return -1;
}

static int str_is(json_t *v, const char *want)
{
	size_t n = strlen(want);

	return json_is_string(v) && json_string_length(v) == n && memcmp(json_string_value(v), want, n) == 0;
}

static enum token_err check_header(struct token_result *r, const char *b64, size_t n,
                                   enum token_alg *alg, int *has_kid)
{
	unsigned char buf[TOKEN_HEADER_MAX];
	json_error_t jerr;
	json_t *h, *a, *kid;
	long hl = token_b64url_decode(b64, n, buf, sizeof(buf));
	enum token_err e = TOKEN_OK;
	const char *as;

	if (hl <= 0)
		return fail(r, TOKEN_MALFORMED, "the header is not base64url (or longer than %d bytes)",
		            TOKEN_HEADER_MAX);
	h = json_loadb((const char *)buf, (size_t)hl, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(h)) {
		json_decref(h);
		return fail(r, TOKEN_HEADER, "the header is not a JSON object");
	}
	a = json_object_get(h, "alg");
	kid = json_object_get(h, "kid");
	if (!json_is_string(a)) {
		e = fail(r, TOKEN_HEADER, "the header has no alg");
		goto out;
	}
	as = json_string_value(a);
	for (size_t i = 0; i < sizeof(r->alg) - 1 && as[i]; i++) {
		r->alg[i] = as[i] >= 0x20 && as[i] <= 0x7e ? as[i] : '?';
		r->alg[i + 1] = 0;
	}
	r->step = TOKEN_STEP_ALG;
	if (strcasecmp(as, "none") == 0) {
		e = fail(r, TOKEN_ALG_NONE, NULL);
		goto out;
	}
	if ((as[0] == 'H' || as[0] == 'h') && (as[1] == 'S' || as[1] == 's')) {
		e = fail(r, TOKEN_ALG_HMAC, "alg %s: HMAC is refused (a public key is no secret)", r->alg);
		goto out;
	}
	if (alg_by_name(as, alg) < 0 || strlen(as) != json_string_length(a)) {
		e = fail(r, TOKEN_ALG_UNKNOWN, "alg %s is not RS256, PS256, ES256 or EdDSA", r->alg);
		goto out;
	}
	if (json_object_get(h, "crit")) {
		e = fail(r, TOKEN_CRIT, NULL);
		goto out;
	}
	*has_kid = 0;
	if (kid) {
		if (!json_is_string(kid) || json_string_length(kid) > TOKEN_KID_MAX ||
		    strlen(json_string_value(kid)) != json_string_length(kid)) {
			r->step = TOKEN_STEP_KEY;
			e = fail(r, TOKEN_KID_UNKNOWN, "kid is not a string of at most %d bytes", TOKEN_KID_MAX);
			goto out;
		}
		memcpy(r->kid, json_string_value(kid), json_string_length(kid) + 1);
		/* it goes into detail, the ACK and the logs: printable only */
		for (const char *q = r->kid; *q; q++) {
			if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e) {
				r->kid[0] = 0;
				r->step = TOKEN_STEP_KEY;
				e = fail(r, TOKEN_KID_UNKNOWN, "kid is not printable ASCII");
				goto out;
			}
		}
		*has_kid = 1;
	}
out:
	json_decref(h);
	return e;
}

static enum token_err check_signature(const struct token_opts *o, struct token_result *r,
                                      enum token_alg alg, int has_kid, const char *input,
                                      size_t inlen, const char *sig64, size_t siglen)
{
	unsigned char *sig;
	long sl;
	int kid_seen = 0, fits = 0, ok = 0;

	r->step = TOKEN_STEP_KEY;
	if (!o->jwks)
		return fail(r, TOKEN_INTERNAL, "no JWKS loaded");
	for (size_t i = 0; i < o->jwks->n; i++) {
		const struct token_key *k = &o->jwks->keys[i];

		if (has_kid && !(k->has_kid && strcmp(k->kid, r->kid) == 0))
			continue;
		kid_seen = 1;
		if (k->kty == alg_table[alg].kty && (!k->has_alg || k->alg == alg))
			fits++;
	}
	if (has_kid && !kid_seen)
		return fail(r, TOKEN_KID_UNKNOWN, "no key with kid \"%.64s\"", r->kid);
	if (!fits)
		return fail(r, TOKEN_KEY_MISMATCH, "no %skey fits alg %s", has_kid ? "such " : "", r->alg);
	r->step = TOKEN_STEP_SIGNATURE;
	if (!siglen)
		return fail(r, TOKEN_MALFORMED, "no signature");
	if (!(sig = malloc(siglen)))
		return fail(r, TOKEN_INTERNAL, "out of memory");
	sl = token_b64url_decode(sig64, siglen, sig, siglen);
	for (size_t i = 0; sl > 0 && !ok && i < o->jwks->n; i++) {
		const struct token_key *k = &o->jwks->keys[i];

		if (has_kid && !(k->has_kid && strcmp(k->kid, r->kid) == 0))
			continue;
		if (k->kty != alg_table[alg].kty || (k->has_alg && k->alg != alg))
			continue;
		ok = verify_one(alg, k->pkey, input, inlen, sig, (size_t)sl);
	}
	free(sig);
	if (sl <= 0)
		return fail(r, TOKEN_MALFORMED, "the signature is not base64url");
	if (!ok)
		return fail(r, TOKEN_SIGNATURE, NULL);
	return TOKEN_OK;
}

static enum token_err check_claims(const struct token_opts *o, struct token_result *r,
                                   json_t *c, const unsigned char *cert_sha256, int64_t now)
{
	json_t *v, *cnf, *x5t;
	char want[48];

	/* exp and nbf */
	r->step = TOKEN_STEP_TIME;
	v = json_object_get(c, "exp");
	if (!v)
		return fail(r, TOKEN_EXP_MISSING, NULL);
	if (numeric_date(v, &r->exp) < 0)
		return fail(r, TOKEN_PAYLOAD, "exp is not a number");
	/* differences taken unsigned: exp and nbf are any 64-bit value the
	 * token says, and now - exp must not overflow */
	if (now > r->exp && (uint64_t)now - (uint64_t)r->exp > (uint64_t)o->skew)
		return fail(r, TOKEN_EXPIRED, "expired %llu s ago (clock skew %lld s)",
		            (unsigned long long)((uint64_t)now - (uint64_t)r->exp), (long long)o->skew);
	if ((v = json_object_get(c, "nbf"))) {
		if (numeric_date(v, &r->nbf) < 0)
			return fail(r, TOKEN_PAYLOAD, "nbf is not a number");
		r->has_nbf = 1;
		if (r->nbf > now && (uint64_t)r->nbf - (uint64_t)now > (uint64_t)o->skew)
			return fail(r, TOKEN_NOT_YET_VALID, "valid in %llu s (clock skew %lld s)",
			            (unsigned long long)((uint64_t)r->nbf - (uint64_t)now), (long long)o->skew);
	}

	/* iss and aud */
	r->step = TOKEN_STEP_ISS_AUD;
	if (o->issuer && !str_is(json_object_get(c, "iss"), o->issuer))
		return fail(r, TOKEN_ISSUER, NULL);
	if (o->audience) {
		int found = 0;

		v = json_object_get(c, "aud");
		if (json_is_array(v)) {
			for (size_t i = 0; i < json_array_size(v); i++) {
				json_t *a = json_array_get(v, i);

				if (!json_is_string(a))
					return fail(r, TOKEN_PAYLOAD, "aud holds a value that is not a string");
				found |= str_is(a, o->audience);
			}
		} else {
			found = str_is(v, o->audience);
		}
		if (!found)
			return fail(r, TOKEN_AUDIENCE, NULL);
	}

	/* claims handed to HAProxy: whole and printable, or refused */
	if ((v = json_object_get(c, "sub")) &&
	    (!json_is_string(v) || copy_printable(r->sub, TOKEN_SUB_MAX, v) < 0))
		return fail(r, TOKEN_CLAIM, "sub is not a printable string of at most %d bytes", TOKEN_SUB_MAX);
	if (!(v = json_object_get(c, "client_id")))
		v = json_object_get(c, "azp");
	if (v && (!json_is_string(v) || copy_printable(r->client_id, TOKEN_CLIENT_ID_MAX, v) < 0))
		return fail(r, TOKEN_CLAIM, "client_id is not a printable string of at most %d bytes",
		            TOKEN_CLIENT_ID_MAX);
	if ((v = json_object_get(c, "scope")) &&
	    (!json_is_string(v) || copy_printable(r->scope, TOKEN_SCOPE_MAX, v) < 0))
		return fail(r, TOKEN_CLAIM, "scope is not a printable string of at most %d bytes",
		            TOKEN_SCOPE_MAX);

	/* the binding (RFC 8705 3.1): base64url, no padding, 43 characters */
	r->step = TOKEN_STEP_BINDING;
	cnf = json_object_get(c, "cnf");
	x5t = json_is_object(cnf) ? json_object_get(cnf, "x5t#S256") : NULL;
	if (!json_is_string(x5t))
		return fail(r, TOKEN_UNBOUND, NULL);
	if (!cert_sha256)
		return fail(r, TOKEN_NO_CERT, NULL);
	token_b64url_encode(cert_sha256, 32, want);
	if (json_string_length(x5t) != 43 ||
	    CRYPTO_memcmp(json_string_value(x5t), want, 43) != 0)
		return fail(r, TOKEN_BINDING, NULL);
	r->step = TOKEN_STEP_DONE;
	return TOKEN_OK;
}

enum token_err token_check(const struct token_opts *o, const char *jwt, size_t len,
                           const unsigned char *cert_sha256, int64_t now,
                           struct token_result *r)
{
	const char *d1, *d2;
	enum token_alg alg = ALG_RS256;
	int has_kid = 0;
	unsigned char *pl = NULL;
	long pn;
	enum token_err e;

	memset(r, 0, sizeof(*r));
	r->step = TOKEN_STEP_DECODE;
	if (len > o->max_size)
		return fail(r, TOKEN_TOO_LARGE, "%zu bytes, token_max_size is %zu", len, o->max_size);
	d1 = memchr(jwt, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt)) : NULL;
	if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt)) ||
	    d1 == jwt || d2 == d1 + 1)
		return fail(r, TOKEN_MALFORMED, "not three parts separated by dots");
	if ((e = check_header(r, jwt, (size_t)(d1 - jwt), &alg, &has_kid)) != TOKEN_OK)
		return e;
	if ((e = check_signature(o, r, alg, has_kid, jwt, (size_t)(d2 - jwt), d2 + 1,
	                         len - (size_t)(d2 + 1 - jwt))) != TOKEN_OK)
		return e;
	/* signed by a key we trust: now read what it says */
	r->step = TOKEN_STEP_TIME;
	if (!(pl = malloc((size_t)(d2 - d1))))
		return fail(r, TOKEN_INTERNAL, "out of memory");
	pn = token_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), pl, (size_t)(d2 - d1));
	e = pn > 0 ? token_check_claims(o, (const char *)pl, (size_t)pn, cert_sha256, now, r)
	           : fail(r, TOKEN_PAYLOAD, "the payload is not base64url");
	free(pl);
	return e;
}

enum token_err token_check_claims(const struct token_opts *o, const char *json, size_t len,
                                  const unsigned char *cert_sha256, int64_t now,
                                  struct token_result *r)
{
	json_error_t jerr;
	json_t *claims = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	enum token_err e;

	r->step = TOKEN_STEP_TIME;
	if (!json_is_object(claims))
		e = fail(r, TOKEN_PAYLOAD, "the payload is not a JSON object");
	else
		e = check_claims(o, r, claims, cert_sha256, now);
	json_decref(claims);
	if (e == TOKEN_OK)
		snprintf(r->detail, sizeof(r->detail), "%s", token_errs[TOKEN_OK].words);
	return e;
}
