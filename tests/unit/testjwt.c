/* Test tokens minted with OpenSSL: see testjwt.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "testjwt.h"
#include "token.h"

static char *b64(const unsigned char *p, size_t n)
{
	char *s = malloc(token_b64url_len(n) + 1);

	if (s)
		token_b64url_encode(p, n, s);
	return s;
}

static char *bn_b64(EVP_PKEY *k, const char *name, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;
	char *s = NULL;

	if (!EVP_PKEY_get_bn_param(k, name, &bn))
		return NULL;
	n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	if (n > 0)
		s = b64(buf, (size_t)n);
	BN_free(bn);
	return s;
}

char *testjwt_jwk(EVP_PKEY *k, const char *kid, const char *alg)
{
	char *a = NULL, *b = NULL, *out = malloc(4096), extra[256] = "";
	int id = EVP_PKEY_get_base_id(k);

	if (!out)
		return NULL;
	if (kid)
		snprintf(extra, sizeof(extra), ",\"kid\":\"%s\"", kid);
	if (alg)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",\"alg\":\"%s\"", alg);
	if (id == EVP_PKEY_RSA) {
		a = bn_b64(k, OSSL_PKEY_PARAM_RSA_N, 0);
		b = bn_b64(k, OSSL_PKEY_PARAM_RSA_E, 0);
		snprintf(out, 4096, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"%s}", a ? a : "", b ? b : "", extra);
	} else if (id == EVP_PKEY_EC) {
		a = bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, 32);
		b = bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
		snprintf(out, 4096, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"%s}",
		         a ? a : "", b ? b : "", extra);
	} else if (id == EVP_PKEY_ED25519) {
		unsigned char raw[32];
		size_t n = sizeof(raw);

		if (EVP_PKEY_get_raw_public_key(k, raw, &n) == 1)
			a = b64(raw, n);
		snprintf(out, 4096, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"%s}", a ? a : "", extra);
	} else {
		free(out);
		out = NULL;
	}
	free(a);
	free(b);
	return out;
}

/* base64url(header) "." base64url(payload), malloc'd with room for a
 * signature of sigroom characters and the dot. */
static char *signing_input(const char *h, const char *p, size_t sigroom, size_t *len)
{
	char *hb = b64((const unsigned char *)h, strlen(h));
	char *pb = b64((const unsigned char *)p, strlen(p));
	char *s = NULL;
	size_t cap;

	if (hb && pb && (s = malloc(cap = strlen(hb) + strlen(pb) + sigroom + 3)))
		*len = (size_t)snprintf(s, cap, "%s.%s", hb, pb);
	free(hb);
	free(pb);
	return s;
}

static char *append_sig(char *s, size_t len, const unsigned char *sig, size_t n)
{
	s[len] = '.';
	token_b64url_encode(sig, n, s + len + 1);
	return s;
}

char *testjwt_sign(EVP_PKEY *k, const char *alg, const char *h, const char *p)
{
	size_t len = 0, sl = 1024;
	unsigned char sig[1024];
	char *s = signing_input(h, p, token_b64url_len(sizeof(sig)), &len);
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	int eddsa = strcmp(alg, "EdDSA") == 0, ok;

	if (!s || !mc)
		goto fail;
	if (EVP_DigestSignInit(mc, &pc, eddsa ? NULL : EVP_sha256(), NULL, k) != 1)
		goto fail;
	if (strcmp(alg, "PS256") == 0 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto fail;
	ok = EVP_DigestSign(mc, sig, &sl, (const unsigned char *)s, len) == 1;
	if (!ok)
		goto fail;
	if (strcmp(alg, "ES256") == 0) {
		const unsigned char *q = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)sl);
		unsigned char raw[64];

		if (!es)
			goto fail;
		BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
		ECDSA_SIG_free(es);
		memcpy(sig, raw, 64);
		sl = 64;
	}
	EVP_MD_CTX_free(mc);
	return append_sig(s, len, sig, sl);
fail:
	EVP_MD_CTX_free(mc);
	free(s);
	return NULL;
}

char *testjwt_sign_hs256(const unsigned char *secret, size_t n, const char *h, const char *p)
{
	size_t len = 0;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;
	char *s = signing_input(h, p, token_b64url_len(sizeof(mac)), &len);

	if (!s || !HMAC(EVP_sha256(), secret, (int)n, (const unsigned char *)s, len, mac, &ml)) {
		free(s);
		return NULL;
	}
	return append_sig(s, len, mac, ml);
}

void testjwt_x5t(const unsigned char *der, size_t len, char out[44])
{
	unsigned char md[32];

	SHA256(der, len, md);
	token_b64url_encode(md, 32, out);
}
