/* Certificate-bound OAuth access tokens (RFC 8705): a JWT bearer token
 * from the Authorization header, its signature checked against a JWKS,
 * its times, issuer and audience, and its cnf."x5t#S256" compared with the
 * SHA-256 of the client certificate. Pure: no I/O, no clock (now is passed
 * in); it allocates (JSON, keys) and frees before returning. docs/TOKENS.md. */
#ifndef CERTSPOA_TOKEN_H
#define CERTSPOA_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_MAX_SIZE_DEFAULT 8192     /* token_max_size: the JWT, without "Bearer " */
#define TOKEN_MAX_SIZE_MAX     65536
#define TOKEN_JWKS_MAX         (1 << 20) /* bytes of a JWKS file */
#define TOKEN_JWKS_MAX_KEYS    64
#define TOKEN_KID_MAX          128
#define TOKEN_SUB_MAX          255      /* claims copied out: longer ones are refused */
#define TOKEN_CLIENT_ID_MAX    255
#define TOKEN_SCOPE_MAX        1023

/* What a token check came to: X(ID, rule name, class, words). The class
 * gives the decision code (rules.c): MISSING token_missing, INVALID
 * token_invalid, EXPIRED token_expired, UNBOUND token_unbound, MISMATCH
 * token_binding_mismatch. */
#define TOKEN_ERR_LIST(X) \
	X(OK,            "token",                 NONE,     "bound token verified") \
	X(ABSENT,        "token_missing",         MISSING,  "no bearer token") \
	X(AMBIGUOUS,     "token_ambiguous",       INVALID,  "several Authorization headers, or their count was not sent") \
	X(TOO_LARGE,     "token_too_large",       INVALID,  "token longer than token_max_size") \
	X(MALFORMED,     "token_malformed",       INVALID,  "not a JWS compact token (three base64url parts)") \
	X(HEADER,        "token_header",          INVALID,  "the JOSE header is not valid JSON with an alg") \
	X(ALG_NONE,      "token_alg_none",        INVALID,  "alg none is refused") \
	X(ALG_HMAC,      "token_alg_hmac",        INVALID,  "HMAC algorithms (HS*) are refused: only public-key signatures") \
	X(ALG_UNKNOWN,   "token_alg_unsupported", INVALID,  "alg is not RS256, PS256, ES256 or EdDSA") \
	X(CRIT,          "token_crit",            INVALID,  "the header has crit extensions") \
	X(KID_UNKNOWN,   "token_kid_unknown",     INVALID,  "no key of the JWKS has this kid") \
	X(KEY_MISMATCH,  "token_key_mismatch",    INVALID,  "no key of the JWKS fits this alg") \
	X(SIGNATURE,     "token_signature",       INVALID,  "the signature does not verify") \
	X(PAYLOAD,       "token_payload",         INVALID,  "the payload is not a JSON object of valid claims") \
	X(EXP_MISSING,   "token_exp_missing",     INVALID,  "the token has no exp") \
	X(EXPIRED,       "token_expired",         EXPIRED,  "the token has expired") \
	X(NOT_YET_VALID, "token_not_yet_valid",   INVALID,  "the token is not valid yet (nbf)") \
	X(ISSUER,        "token_issuer",          INVALID,  "iss is not token_issuer") \
	X(AUDIENCE,      "token_audience",        INVALID,  "aud does not name token_audience") \
	X(CLAIM,         "token_claim",           INVALID,  "sub, client_id or scope is too long or not printable ASCII") \
	X(NO_CERT,       "token_no_cert",         MISMATCH, "a token but no client certificate to bind it to") \
	X(UNBOUND,       "token_unbound",         UNBOUND,  "the token has no cnf.x5t#S256") \
	X(BINDING,       "token_binding",         MISMATCH, "cnf.x5t#S256 is not this certificate's") \
	X(INTERNAL,      "token_internal",        INVALID,  "the token could not be checked")

#define TOKEN_ERR_ENUM(id, rule, cls, words) TOKEN_##id,
enum token_err { TOKEN_ERR_LIST(TOKEN_ERR_ENUM) TOKEN_ERRS };
#undef TOKEN_ERR_ENUM
_Static_assert(TOKEN_OK == 0, "token results start at 0");

enum token_class {
	TOKEN_CLASS_NONE = 0,
	TOKEN_CLASS_MISSING,
	TOKEN_CLASS_INVALID,
	TOKEN_CLASS_EXPIRED,
	TOKEN_CLASS_UNBOUND,
	TOKEN_CLASS_MISMATCH,
	TOKEN_CLASSES
};

struct token_err_info {
	const char *rule;
	enum token_class cls;
	const char *words;
};
extern const struct token_err_info token_errs[TOKEN_ERRS];

/* The steps of a check, in order; explain prints each one reached. */
enum token_step {
	TOKEN_STEP_DECODE = 0,    /* Bearer, size, three parts, header JSON */
	TOKEN_STEP_ALG,
	TOKEN_STEP_KEY,           /* kid and key selection */
	TOKEN_STEP_SIGNATURE,
	TOKEN_STEP_TIME,          /* exp, nbf */
	TOKEN_STEP_ISS_AUD,
	TOKEN_STEP_BINDING,
	TOKEN_STEP_DONE,
	TOKEN_STEPS
};
extern const char *const token_step_names[TOKEN_STEPS];

struct token_jwks;

/* Parse a JWKS ({"keys":[...]}) into public keys. Keys of kty RSA (2048
 * bits or more), EC (P-256) and OKP (Ed25519) with use "sig" or no use are
 * kept; symmetric (oct) and other keys are skipped: a token is never
 * checked with a shared secret. Returns NULL with why set when the
 * document is malformed, a key of a kept type is malformed, or no key is
 * usable. */
struct token_jwks *token_jwks_parse(const char *json, size_t len, char *why, size_t whylen);
void token_jwks_free(struct token_jwks *jwks);
size_t token_jwks_count(const struct token_jwks *jwks);

struct token_opts {
	const struct token_jwks *jwks;
	const char *issuer;            /* NULL: iss not checked */
	const char *audience;          /* NULL: aud not checked */
	int64_t skew;                  /* seconds allowed around exp and nbf */
	size_t max_size;               /* of the JWT */
};

struct token_result {
	enum token_err err;
	enum token_step step;          /* where it stopped (DONE on success) */
	char detail[160];
	char alg[16];                  /* the header's alg, printable, cut */
	char kid[TOKEN_KID_MAX + 1];   /* "" when none */
	int64_t exp, nbf;
	int has_nbf;
	char sub[TOKEN_SUB_MAX + 1];   /* "" when absent */
	char client_id[TOKEN_CLIENT_ID_MAX + 1];   /* client_id, else azp */
	char scope[TOKEN_SCOPE_MAX + 1];
};

/* What an Authorization value holds, for a policy that checks tokens:
 *   TOKEN_OK         "Bearer" (any case), one or more spaces, one token
 *                    without white space or comma: *tok and *toklen set;
 *   TOKEN_MALFORMED  the Bearer scheme (followed by anything but a token
 *                    character) without exactly that: "Bearer", "Bearer\tx",
 *                    "Bearer a b", "Bearer a,b";
 *   TOKEN_AMBIGUOUS  another scheme whose value names "bearer" further on
 *                    ("Basic x, Bearer y"): a lenient application might take
 *                    the token that was not checked;
 *   TOKEN_ABSENT     empty, or another scheme (Basic, DPoP...). */
enum token_err token_from_authz(const char *v, size_t len, const char **tok, size_t *toklen);

/* Check one JWT against o and bind it to the certificate whose DER has
 * SHA-256 cert_sha256 (NULL: no certificate). Every check is made in the
 * order of enum token_step; the first failure decides. Returns r->err. */
enum token_err token_check(const struct token_opts *o, const char *jwt, size_t len,
                           const unsigned char *cert_sha256, int64_t now,
                           struct token_result *r);

/* The claims steps alone (exp/nbf, iss/aud, claims, binding) on the JSON
 * payload of a token whose signature verified: token_check's second half,
 * and what fuzz_token reaches without signing. r keeps what the first half
 * filled in. Returns r->err. */
enum token_err token_check_claims(const struct token_opts *o, const char *json, size_t len,
                                  const unsigned char *cert_sha256, int64_t now,
                                  struct token_result *r);

/* base64url without padding, as RFC 7515 writes it. out must have room for
 * token_b64url_len(n) + 1 bytes; it is NUL-terminated. */
size_t token_b64url_len(size_t n);
void token_b64url_encode(const unsigned char *in, size_t n, char *out);

/* Strict base64url decoding: the alphabet A-Z a-z 0-9 - _, no padding, no
 * whitespace, unused bits zero. Returns the decoded length, or -1. */
long token_b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap);

#endif /* CERTSPOA_TOKEN_H */
