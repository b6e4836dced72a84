/* Decoders for client certificates forwarded in HTTP headers by an
 * upstream TLS terminator. Pure and strict: anything malformed is an error,
 * never a partial result. No allocation: the caller gives the buffers. */
#ifndef CERTSPOA_FWD_H
#define CERTSPOA_FWD_H

#include <stddef.h>

#define FWD_HEADER_MAX  (64 * 1024)   /* longer header values are refused */

/* Header formats: X(CONSTANT, "config word"); the words are the values of
 * [forwarded] format (fwd_format_names; cfg.c parses them, exact and
 * case-sensitive, like every enum key). */
#define FWD_FORMAT_LIST(X) \
	X(FWD_RFC9440,    "rfc9440")          /* Client-Cert: :<base64 DER>: ; Client-Cert-Chain: :<b64>:, :<b64>: */ \
	X(FWD_XFCC,       "xfcc")             /* Envoy x-forwarded-client-cert: Hash=..;Cert="<urlenc PEM>";Chain="..." */ \
	X(FWD_PEM_URLENC, "pem-urlencoded")   /* nginx $ssl_client_escaped_cert: URL-encoded PEM */ \
	X(FWD_BASE64_DER, "base64-der")       /* X-ARR-ClientCert: base64 of the DER */

#define FWD_FORMAT_CONST(c, word) c,
enum fwd_format { FWD_FORMAT_LIST(FWD_FORMAT_CONST) FWD_FORMATS };
#undef FWD_FORMAT_CONST
_Static_assert(FWD_RFC9440 == 0, "first value 0");

/* The config words by format, NULL after the last (for cfg.c's enum keys). */
extern const char *const fwd_format_names[FWD_FORMATS + 1];

/* What went wrong, for the detail variable. */
enum fwd_error {
	FWD_OK = 0,
	FWD_ERR_EMPTY,          /* no value */
	FWD_ERR_TOO_BIG,        /* over FWD_HEADER_MAX or the output buffer */
	FWD_ERR_SYNTAX,         /* not the format's grammar */
	FWD_ERR_BASE64,         /* bad base64 */
	FWD_ERR_URLENC,         /* bad %XX escape */
	FWD_ERR_PEM,            /* not exactly one PEM CERTIFICATE block where one is required */
	FWD_ERR_HASH_MISMATCH,  /* XFCC Hash= does not match Cert= */
	FWD_ERR_CHAIN,          /* a chain element is malformed or too many */
	FWD_ERRORS
};

const char *fwd_error_str(enum fwd_error e);
const char *fwd_format_name(enum fwd_format f);

struct fwd_cert {
	unsigned char *der;      /* leaf DER, into the caller's buffer */
	size_t der_len;
	unsigned char *chain;    /* concatenated DER of the chain (may be 0 bytes) */
	size_t chain_len;
};

/* Decode a certificate header value (and, for RFC 9440, the separate
 * Client-Cert-Chain value, which may be NULL). buf/cap is scratch and
 * output space (FWD_HEADER_MAX is always enough). The DER is NOT parsed
 * here: the caller parses it exactly as a TLS-sent one. For XFCC with
 * several comma-separated elements the last one (the nearest proxy's) is
 * used. Returns FWD_OK or an error. */
enum fwd_error fwd_decode(enum fwd_format fmt, const char *val, size_t len,
                          const char *chain_val, size_t chain_len,
                          unsigned char *buf, size_t cap, struct fwd_cert *out);

#endif /* CERTSPOA_FWD_H */
