/* Test tokens: JWKs and JWS compact tokens minted with the OpenSSL API
 * while the tests run (test_token.c, tests/token/mint.c). Strings returned
 * are the caller's (free). */
#ifndef CERTSPOA_TESTJWT_H
#define CERTSPOA_TESTJWT_H

#include <stddef.h>
#include <openssl/evp.h>

/* The public JWK of k ({"kty":...}), with kid and alg when not NULL. */
char *testjwt_jwk(EVP_PKEY *k, const char *kid, const char *alg);

/* header_json "." payload_json, each base64url, signed with k under alg
 * (RS256, PS256, ES256 as JOSE r||s, EdDSA). NULL on error. */
char *testjwt_sign(EVP_PKEY *k, const char *alg, const char *header_json, const char *payload_json);

/* The same signed with HMAC-SHA256 under secret (an HS256 token). */
char *testjwt_sign_hs256(const unsigned char *secret, size_t n, const char *header_json,
                         const char *payload_json);

/* base64url(SHA-256(der)) into out (44 bytes): a cnf."x5t#S256" value. */
void testjwt_x5t(const unsigned char *der, size_t len, char out[44]);

#endif /* CERTSPOA_TESTJWT_H */
