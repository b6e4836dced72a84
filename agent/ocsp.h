/* OCSP for client certificates, the pure part (RFC 6960, RFC 5019 profile):
 * build a request for (certificate, issuer), say how to send it (GET when
 * the URL fits in 255 bytes, else POST), and check a response against the
 * request at a given time. No sockets, no clock (now is passed in), no
 * files. The decisions are ours: OpenSSL's OCSP API parses, finds the
 * signer and verifies the signature; the answer's freshness and what an
 * unknown or an error means are decided here and by the policy. */
#ifndef CERTSPOA_OCSP_H
#define CERTSPOA_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

/* RFC 5019 2.1.1: a GET URL longer than this goes as a POST. */
#define OCSP_GET_URL_MAX   255
#define OCSP_NONCE_LEN     16
#define OCSP_RESPONSE_MAX  (64 * 1024)   /* a bigger answer is an error */
#define OCSP_URL_MAX       1024

/* What a response says about one certificate. */
#define OCSP_STATUS_LIST(X) \
	X(OCSP_GOOD,    "good") \
	X(OCSP_REVOKED, "revoked") \
	X(OCSP_UNKNOWN, "unknown") \
	X(OCSP_ERROR,   "error")
#define OCSP_STATUS_ENUM(c, word) c,
enum ocsp_status { OCSP_STATUS_LIST(OCSP_STATUS_ENUM) OCSP_STATUSES };
#undef OCSP_STATUS_ENUM
_Static_assert(OCSP_GOOD == 0, "first value 0");

/* Why an answer is an error: X(ID, words). The first ones come from the
 * response check, the rest from the transport (set by the caller). */
#define OCSP_ERR_LIST(X) \
	X(OCSP_E_NONE,        "none") \
	X(OCSP_E_MALFORMED,   "malformed response") \
	X(OCSP_E_RESP_STATUS, "responder did not answer successful") \
	X(OCSP_E_NOT_BASIC,   "not a basic OCSP response") \
	X(OCSP_E_SIGNATURE,   "not signed by the CA or a responder it delegated to") \
	X(OCSP_E_CERTID,      "no answer for this certificate") \
	X(OCSP_E_NOT_YET,     "thisUpdate is in the future") \
	X(OCSP_E_EXPIRED,     "nextUpdate has passed") \
	X(OCSP_E_TOO_OLD,     "no nextUpdate and thisUpdate older than ocsp_max_age") \
	X(OCSP_E_BAD_TIME,    "unreadable time in the response") \
	X(OCSP_E_NONCE,       "nonce missing or different") \
	X(OCSP_E_INTERNAL,    "internal error") \
	X(OCSP_E_NO_ISSUER,   "issuer unknown: no verified path") \
	X(OCSP_E_NO_URL,      "no OCSP responder (no AIA OCSP URL, no ocsp_url)") \
	X(OCSP_E_FETCH,       "responder unreachable or HTTP error") \
	X(OCSP_E_TIMEOUT,     "no answer within ocsp_timeout")
#define OCSP_ERR_ENUM(c, words) c,
enum ocsp_err { OCSP_ERR_LIST(OCSP_ERR_ENUM) OCSP_ERRS };
#undef OCSP_ERR_ENUM
_Static_assert(OCSP_E_NONE == 0, "first value 0");

extern const char *const ocsp_status_names[OCSP_STATUSES];
extern const char *const ocsp_err_names[OCSP_ERRS];

/* The key a response is cached under: SHA-256 over the issuer's key hash
 * (SHA-1 of its public key, as in the certID) and the serial's bytes. Two
 * certificates with one key (the same issuer key and serial) are one. */
struct ocsp_key {
	unsigned char b[32];
};

/* A request ready to send. der is OPENSSL_malloc'ed (ocsp_request_free). */
struct ocsp_request {
	unsigned char *der;
	size_t len;
	struct ocsp_key key;
	int has_nonce;
	unsigned char nonce[OCSP_NONCE_LEN];
};

/* What a response came to. Times are unix seconds, 0 = absent. */
struct ocsp_result {
	enum ocsp_status status;
	enum ocsp_err err;             /* OCSP_ERROR: why */
	int reason;                    /* OCSP_REVOKED: CRL reason code, -1 = none given */
	int64_t revoked_at;
	int64_t this_update, next_update, produced_at;
	int delegated;                 /* signed by a delegated responder, not the CA */
};

/* Checks of one response. */
struct ocsp_check_opts {
	int64_t now;
	int64_t skew;                  /* seconds of clock skew allowed each way */
	int64_t max_age;               /* no nextUpdate: good for this long after thisUpdate */
	const unsigned char *nonce;    /* non-NULL: the response must echo it */
};

/* Build the request for leaf issued by issuer: one certID (SHA-1, as RFC
 * 5019 and most responders expect), and a nonce extension when nonce is
 * not NULL (OCSP_NONCE_LEN bytes, from the caller: no randomness here).
 * Returns 0, or -1 (then rq holds nothing to free). */
int ocsp_request_build(X509 *leaf, X509 *issuer, const unsigned char *nonce,
                       struct ocsp_request *rq);
void ocsp_request_free(struct ocsp_request *rq);

/* The cache key of (leaf, issuer) without building a request. 0 or -1. */
int ocsp_key_of(X509 *leaf, X509 *issuer, struct ocsp_key *k);

/* The GET URL for a request: the responder URL, a '/' unless it ends with
 * one, and the request in base64, URL-encoded (RFC 6960 A.1). Returns its
 * length when it is at most OCSP_GET_URL_MAX bytes (and fits out), or -1:
 * then POST the DER to the responder URL itself. */
int ocsp_get_url(const char *responder, const unsigned char *der, size_t len,
                 char *out, size_t outsz);

/* The first OCSP responder URL of the certificate's AIA extension
 * (http:// only: RFC 5019 transport, and an https responder would need
 * OCSP to check its own certificate). Returns 0 and writes it, or -1. */
int ocsp_aia_url(X509 *x, char *out, size_t outsz);

/* Check a DER response to a request for (leaf, issuer) at o->now: status
 * successful, a basic response, signed by issuer or by a certificate that
 * issuer issued with id-kp-OCSPSigning (valid at now), a single answer
 * whose certID matches, thisUpdate not after now + skew, nextUpdate not
 * before now - skew (or, without nextUpdate, thisUpdate within max_age),
 * and the nonce when one was sent. Anything else is OCSP_ERROR with err
 * saying why. Always fills r; returns 0 when r->status != OCSP_ERROR. */
int ocsp_response_check(const unsigned char *der, size_t len, X509 *leaf, X509 *issuer,
                        const struct ocsp_check_opts *o, struct ocsp_result *r);

/* Until when an answer may be used: nextUpdate, or thisUpdate + max_age
 * without one, never later than now + max_age; errors err_ttl after now. */
int64_t ocsp_result_expiry(const struct ocsp_result *r, int64_t now, int64_t max_age,
                           int64_t err_ttl);

/* CRL reason code to its RFC 5280 name ("keyCompromise"...), "unspecified"
 * when none or unknown. */
const char *ocsp_reason_str(int reason);

#endif /* CERTSPOA_OCSP_H */
