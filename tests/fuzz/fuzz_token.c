/* Fuzz target: certificate-bound tokens (agent/token.c): JWT splitting,
 * strict base64url, the JOSE header and the claims through jansson, key
 * selection, signature verification, the binding, and JWKS parsing.
 *
 * Input: the bytes of a bearer token (what follows "Bearer "), checked
 * against a fixed JWKS (public keys only: RSA, EC P-256, Ed25519; the seed
 * tokens were signed with their private halves, which were thrown away)
 * at a fixed time, bound to a fixed certificate hash. The same bytes are
 * also parsed as a JWKS, read as an Authorization value, and
 * base64url-decoded.
 *
 * Invariants:
 * - a result is one of enum token_err, its step one of enum token_step,
 *   its detail a NUL-terminated string;
 * - TOKEN_OK only at step DONE, for a token within max_size with exactly
 *   two dots, whose claims copied out are printable ASCII within their
 *   bounds; and never for a header whose alg is none or HS*;
 * - the same bytes checked without a certificate are never TOKEN_OK;
 * - a parsed JWKS holds 1..TOKEN_JWKS_MAX_KEYS keys;
 * - a token taken from an Authorization value is its non-empty tail,
 *   without space or comma;
 * - base64url: whatever decodes, encodes back to the same text;
 * - the same bytes as a verified token's payload (token_check_claims), at
 *   now = the fixed time, 0, INT64_MAX and INT64_MIN: OK only when exp and
 *   nbf hold within the skew, with bounded printable claims, and never
 *   without the certificate. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "token.h"

static const char fuzz_jwks[] =
	"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"zFJq-8FTAxJivuv9l8qmzIyTYazyntYw4D75ITUlg7U31jPI7r94uv"
	"Zc1ur3UNeZmhVMD5iHOP0W5jjxBqI2wzTrRol33uzFLhQjoYcQ0P7J5GmL7bsim1O40BeOyIloTF7kRHEU1o3kNBMO"
	"O2NRW-1HMw7dW-oMvTbWWHKcfpP09NY1dRjTfxRsT3MP6xPIx8tJUC6iIrEk5g68eD2yEa5FunEitx46EoCq3641Cc"
	"x4n5UYxd7BP3onhZsoTmc3JPpzVnT2UCKQBvLOoIT1iA8w_2eCSGWR13g3aRbxJKP7yR2etN8VyHf9_Arhb4xpR_2i"
	"_uBcFvLgYMdwMxF3MQ\",\"e\":\"AQAB\",\"kid\":\"rsa1\"},{\"kty\":\"EC\",\"crv\":\"P-256\",\""
	"x\":\"jztnOExwZXCCw8Qj7k4kc1I-l8ttua0W9BHTeXtRbdA\",\"y\":\"S64NDCbrUQHXXh2ZGh5GyHP_PbG-Gh"
	"9N0vKsuxrM9Pk\",\"kid\":\"ec1\"},{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"x3zxCPr7iz-A"
	"0YA0InH-C10VJOPTQjBvU516KLLn6T0\",\"kid\":\"ed1\"}]}";

#define FUZZ_NOW ((int64_t)1700000000)

static struct token_jwks *jwks;
/* SHA-256 of "the" certificate: bytes 0..31 (base64url
 * AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8, as the seeds' cnf) */
static unsigned char cert_sha256[32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char why[256];

	(void)argc;
	(void)argv;
	for (int i = 0; i < 32; i++)
		cert_sha256[i] = (unsigned char)i;
	jwks = token_jwks_parse(fuzz_jwks, sizeof(fuzz_jwks) - 1, why, sizeof(why));
	FUZZ_ASSERT(jwks != NULL);
	return 0;
}

static int printable_within(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static void check_token(const char *s, size_t n)
{
	struct token_opts o = { jwks, "https://as.example", "api.example", 60, TOKEN_MAX_SIZE_DEFAULT };
	struct token_result r;
	enum token_err e = token_check(&o, s, n, cert_sha256, FUZZ_NOW, &r);
	size_t dots = 0;

	FUZZ_ASSERT(e == r.err && (int)e >= 0 && e < TOKEN_ERRS);
	FUZZ_ASSERT((int)r.step >= 0 && r.step < TOKEN_STEPS);
	FUZZ_ASSERT(memchr(r.detail, 0, sizeof(r.detail)) != NULL);
	FUZZ_ASSERT(memchr(r.alg, 0, sizeof(r.alg)) != NULL);
	if (e != TOKEN_OK)
		return;
	for (size_t i = 0; i < n; i++)
		dots += s[i] == '.';
	FUZZ_ASSERT(r.step == TOKEN_STEP_DONE && n <= o.max_size && dots == 2);
	FUZZ_ASSERT(printable_within(r.sub, TOKEN_SUB_MAX));
	FUZZ_ASSERT(printable_within(r.client_id, TOKEN_CLIENT_ID_MAX));
	FUZZ_ASSERT(printable_within(r.scope, TOKEN_SCOPE_MAX));
	FUZZ_ASSERT(strcmp(r.alg, "none") != 0 && strncmp(r.alg, "HS", 2) != 0);
	/* without the certificate it is bound to, never accepted */
	FUZZ_ASSERT(token_check(&o, s, n, NULL, FUZZ_NOW, &r) != TOKEN_OK);
}

/* The same bytes as the JSON payload of a token whose signature verified,
 * at a few times, the far ends of 64 bits included. */
static void check_claims_only(const char *s, size_t n)
{
	static const int64_t nows[] = { FUZZ_NOW, 0, INT64_MAX, INT64_MIN };
	struct token_opts o = { jwks, "https://as.example", "api.example", 60, TOKEN_MAX_SIZE_DEFAULT };
	struct token_result r;

	for (size_t i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
		enum token_err e;

		memset(&r, 0, sizeof(r));
		e = token_check_claims(&o, s, n, cert_sha256, nows[i], &r);
		FUZZ_ASSERT(e == r.err && (int)e >= 0 && e < TOKEN_ERRS);
		FUZZ_ASSERT(memchr(r.detail, 0, sizeof(r.detail)) != NULL);
		if (e != TOKEN_OK)
			continue;
		FUZZ_ASSERT(r.step == TOKEN_STEP_DONE);
		FUZZ_ASSERT(nows[i] <= r.exp || (uint64_t)nows[i] - (uint64_t)r.exp <= 60);
		FUZZ_ASSERT(!r.has_nbf || r.nbf <= nows[i] || (uint64_t)r.nbf - (uint64_t)nows[i] <= 60);
		FUZZ_ASSERT(printable_within(r.sub, TOKEN_SUB_MAX));
		FUZZ_ASSERT(printable_within(r.client_id, TOKEN_CLIENT_ID_MAX));
		FUZZ_ASSERT(printable_within(r.scope, TOKEN_SCOPE_MAX));
		FUZZ_ASSERT(token_check_claims(&o, s, n, NULL, nows[i], &r) != TOKEN_OK);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *tok;
	char why[256];
	struct token_jwks *j;
	size_t tl;

	if (!jwks)
		LLVMFuzzerInitialize(NULL, NULL);
	check_token(s, size);
	if (token_from_authz(s, size, &tok, &tl) == TOKEN_OK) {
		FUZZ_ASSERT(tok > s && tok + tl == s + size && tl > 0);
		FUZZ_ASSERT(!memchr(tok, ' ', tl) && !memchr(tok, ',', tl));
		check_token(tok, tl);
	}
	check_claims_only(s, size);
	j = token_jwks_parse(s, size, why, sizeof(why));
	if (j)
		FUZZ_ASSERT(token_jwks_count(j) >= 1 && token_jwks_count(j) <= TOKEN_JWKS_MAX_KEYS);
	token_jwks_free(j);
	if (size <= 4096) {
		unsigned char *buf = malloc(size + 1);
		char *back = malloc(size + 2);
		long n = buf ? token_b64url_decode(s, size, buf, size) : -1;

		if (n >= 0 && back) {
			FUZZ_ASSERT(token_b64url_len((size_t)n) == size);
			token_b64url_encode(buf, (size_t)n, back);
			FUZZ_ASSERT(memcmp(back, s, size) == 0);
		}
		free(buf);
		free(back);
	}
	return 0;
}
