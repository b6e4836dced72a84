/* SPIFFE trust bundles (SPIFFE Trust Domain and Bundle standard, section 4):
 * a JWK Set whose keys of "use": "x509-svid" each carry one X.509
 * authority in "x5c". Pure: the caller reads the file; this parses bytes
 * (untrusted: a bundle may come from a bundle endpoint) into certificates.
 * No I/O, no clock, no global state. */
#ifndef CERTSPOA_SPIFFE_BUNDLE_H
#define CERTSPOA_SPIFFE_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#define SPIFFE_BUNDLE_MAX       (1024 * 1024)   /* bytes of one bundle document */
#define SPIFFE_BUNDLE_KEYS_MAX  256             /* keys of one bundle, of any use */

/* What a bundle document holds that certspoa uses. */
struct spiffe_bundle {
	STACK_OF(X509) *authorities;   /* the X.509 authorities, each a CA, at least one */
	int jwt_keys;                  /* "use": "jwt-svid" keys (not used for X.509-SVIDs) */
	int other_keys;                /* keys of another "use" (ignored, as the standard says) */
	int has_refresh_hint;
	int64_t refresh_hint;          /* seconds, "spiffe_refresh_hint" (>= 0) */
	int has_sequence;
	int64_t sequence;              /* "spiffe_sequence" (>= 0) */
};

/* Parse a JSON bundle document of len bytes (no NUL needed). Strict:
 * valid UTF-8 JSON, an object, no duplicate member names, "keys" an array
 * of at most SPIFFE_BUNDLE_KEYS_MAX objects, each with a string "kty" and
 * "use"; an "x509-svid" key has "x5c" with exactly one base64 (RFC 4648
 * section 4, not base64url) certificate in exact DER that is a CA
 * (basicConstraints CA:TRUE; keyCertSign if it has a keyUsage); the
 * document yields at least one authority. Returns 0 and fills *b (free it
 * with spiffe_bundle_clear), or -1 with the reason in err and *b empty. */
int spiffe_bundle_parse_json(const char *buf, size_t len, struct spiffe_bundle *b,
                             char *err, size_t errlen);

/* Parse a PEM bundle (the authorities of one trust domain, as a ca_file):
 * every CERTIFICATE block, each one certificate in exact DER (nothing
 * after it in the block) that is a CA, at least one; blocks of other
 * labels are skipped. Returns 0 and fills *b, or -1 with the reason in
 * err and *b empty. */
int spiffe_bundle_parse_pem(const char *buf, size_t len, struct spiffe_bundle *b,
                            char *err, size_t errlen);

/* Is this document JSON (its first byte that is not white space is '{')?
 * Otherwise a bundle file is read as PEM. */
int spiffe_bundle_is_json(const char *buf, size_t len);

void spiffe_bundle_clear(struct spiffe_bundle *b);

#endif /* CERTSPOA_SPIFFE_BUNDLE_H */
