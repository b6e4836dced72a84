/* mint - test tokens for tests/token/run.sh, with the OpenSSL API
 * (tests/unit/testjwt.c):
 *
 *   mint jwk KEY.pem KID              the public JWK of a private key
 *   mint sign KEY.pem ALG HEADER PAYLOAD   a JWS (RS256 PS256 ES256 EdDSA)
 *   mint hs256 SECRET-FILE HEADER PAYLOAD  an HS256 token keyed by a file
 *   mint x5t CERT.pem                 base64url(SHA-256(DER)), cnf.x5t#S256
 *
 * Prints one line; exit 1 on error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "testjwt.h"

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return k;
}

static int put(char *s)
{
	if (!s)
		return 1;
	printf("%s\n", s);
	free(s);
	return 0;
}

int main(int argc, char **argv)
{
	EVP_PKEY *k;
	int rc = 1;

	if (argc == 4 && strcmp(argv[1], "jwk") == 0 && (k = read_key(argv[2]))) {
		rc = put(testjwt_jwk(k, argv[3], NULL));
		EVP_PKEY_free(k);
	} else if (argc == 6 && strcmp(argv[1], "sign") == 0 && (k = read_key(argv[2]))) {
		rc = put(testjwt_sign(k, argv[3], argv[4], argv[5]));
		EVP_PKEY_free(k);
	} else if (argc == 5 && strcmp(argv[1], "hs256") == 0) {
		unsigned char buf[65536];
		FILE *f = fopen(argv[2], "rb");
		size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;

		if (f)
			fclose(f);
		if (n)
			rc = put(testjwt_sign_hs256(buf, n, argv[3], argv[4]));
	} else if (argc == 3 && strcmp(argv[1], "x5t") == 0) {
		FILE *f = fopen(argv[2], "r");
		X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
		unsigned char *der = NULL;
		int n = x ? i2d_X509(x, &der) : -1;
		char out[44];

		if (f)
			fclose(f);
		if (n > 0) {
			testjwt_x5t(der, (size_t)n, out);
			printf("%s\n", out);
			rc = 0;
		}
		OPENSSL_free(der);
		X509_free(x);
	} else {
		fprintf(stderr, "usage: mint jwk KEY KID | sign KEY ALG HEADER PAYLOAD | hs256 FILE HEADER PAYLOAD | x5t CERT\n");
		return 2;
	}
	if (rc)
		fprintf(stderr, "mint %s: failed\n", argv[1]);
	return rc;
}
