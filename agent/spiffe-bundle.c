/* SPIFFE bundle documents. See spiffe-bundle.h.
 *
 * The JSON is read by jansson (json_loadb: length-delimited, rejects NUL
 * in strings and invalid UTF-8; JSON_REJECT_DUPLICATES so that "keys" or
 * "x5c" cannot be given twice and read differently by another parser).
 * The base64 of x5c goes through the strict decoder of fwd.c (the
 * X-ARR-ClientCert format is exactly "base64 of one DER certificate"),
 * and the DER through cert_parse_der(), the check every certificate that
 * arrives in a request passes. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cert-facts.h"
#include "errbuf.h"
#include "fwd.h"
#include "spiffe-bundle.h"

int spiffe_bundle_is_json(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')
			continue;
		return buf[i] == '{';
	}
	return 0;
}

void spiffe_bundle_clear(struct spiffe_bundle *b)
{
	if (!b)
		return;
	sk_X509_pop_free(b->authorities, X509_free);
	memset(b, 0, sizeof(*b));
}

/* An optional non-negative integer member. Returns 0 (absent or valid) or -1. */
static int opt_count(json_t *root, const char *name, int *has, int64_t *v,
                     char *err, size_t errlen)
{
	json_t *j = json_object_get(root, name);

	*has = 0;
	if (!j)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < 0) {
		set_err(err, errlen, "\"%s\" is not a non-negative integer", name);
		return -1;
	}
	*has = 1;
	*v = (int64_t)json_integer_value(j);
	return 0;
}

/* x is an authority: a CA as the X.509-SVID standard (section 4.1) has
 * signing certificates, basicConstraints CA:TRUE, and a keyUsage, if
 * any, with keyCertSign. X509_check_ca() returns 1 for exactly that; its
 * other positive answers are a v1 self-signed certificate (3: any leaf
 * made without extensions), keyCertSign without basicConstraints (4)
 * and Netscape CA types (5), none of them an authority. Computes x's
 * cached extension data too, while one thread owns it. */
static int is_authority(X509 *x)
{
	return X509_check_purpose(x, -1, 0) == 1 && X509_check_ca(x) == 1;
}

/* One "x509-svid" key: its single x5c certificate, which must be a CA.
 * der is scratch space of CERT_DER_MAX bytes. Returns 0 or -1. */
static int x509_authority(json_t *key, size_t i, unsigned char *der, struct spiffe_bundle *b,
                          char *err, size_t errlen)
{
	json_t *x5c = json_object_get(key, "x5c"), *s;
	struct fwd_cert fc;
	X509 *x = NULL;

	if (!json_is_array(x5c) || json_array_size(x5c) != 1) {
		set_err(err, errlen, "key %zu: an x509-svid key needs \"x5c\" with exactly one certificate", i + 1);
		return -1;
	}
	s = json_array_get(x5c, 0);
	if (!json_is_string(s)) {
		set_err(err, errlen, "key %zu: \"x5c\" holds a %s, not a base64 string", i + 1,
		        json_is_object(s) ? "object" : "non-string");
		return -1;
	}
	if (fwd_decode(FWD_BASE64_DER, json_string_value(s), json_string_length(s), NULL, 0,
	               der, CERT_DER_MAX, &fc) != FWD_OK) {
		set_err(err, errlen, "key %zu: \"x5c\" is not base64 (RFC 4648, not base64url) of at most %d bytes",
		        i + 1, CERT_DER_MAX);
		return -1;
	}
	if (!(x = cert_parse_der(fc.der, fc.der_len))) {
		set_err(err, errlen, "key %zu: \"x5c\" is not one certificate in exact DER", i + 1);
		return -1;
	}
	if (!is_authority(x)) {
		set_err(err, errlen, "key %zu: the certificate is not a CA (an X.509 authority signs SVIDs)", i + 1);
		X509_free(x);
		return -1;
	}
	if (!sk_X509_push(b->authorities, x)) {
		set_err(err, errlen, "out of memory");
		X509_free(x);
		return -1;
	}
	return 0;
}

int spiffe_bundle_parse_json(const char *buf, size_t len, struct spiffe_bundle *b,
                             char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = NULL, *keys, *key, *use;
	unsigned char *der = NULL;
	int rc = -1;

	memset(b, 0, sizeof(*b));
	if (len > SPIFFE_BUNDLE_MAX) {
		set_err(err, errlen, "bundle larger than %d bytes", SPIFFE_BUNDLE_MAX);
		goto out;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		set_err(err, errlen, "not JSON: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		set_err(err, errlen, "not a JSON object");
		goto out;
	}
	keys = json_object_get(root, "keys");
	if (!json_is_array(keys)) {
		set_err(err, errlen, "no \"keys\" array");
		goto out;
	}
	if (json_array_size(keys) > SPIFFE_BUNDLE_KEYS_MAX) {
		set_err(err, errlen, "more than %d keys", SPIFFE_BUNDLE_KEYS_MAX);
		goto out;
	}
	if (opt_count(root, "spiffe_refresh_hint", &b->has_refresh_hint, &b->refresh_hint, err, errlen) < 0 ||
	    opt_count(root, "spiffe_sequence", &b->has_sequence, &b->sequence, err, errlen) < 0)
		goto out;
	if (!(b->authorities = sk_X509_new_null()) || !(der = malloc(CERT_DER_MAX))) {
		set_err(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(keys); i++) {
		key = json_array_get(keys, i);
		if (!json_is_object(key)) {
			set_err(err, errlen, "key %zu is not an object", i + 1);
			goto out;
		}
		use = json_object_get(key, "use");
		if (!json_is_string(json_object_get(key, "kty")) || !json_is_string(use)) {
			set_err(err, errlen, "key %zu: \"kty\" and \"use\" must be strings", i + 1);
			goto out;
		}
		if (strcmp(json_string_value(use), "x509-svid") == 0) {
			if (x509_authority(key, i, der, b, err, errlen) < 0)
				goto out;
		} else if (strcmp(json_string_value(use), "jwt-svid") == 0) {
			b->jwt_keys++;
		} else {
			b->other_keys++;
		}
	}
	if (sk_X509_num(b->authorities) == 0) {
		set_err(err, errlen, "no x509-svid key: the bundle has no X.509 authority");
		goto out;
	}
	rc = 0;
out:
	free(der);
	json_decref(root);
	if (rc < 0)
		spiffe_bundle_clear(b);
	return rc;
}

/* Is this PEM label a certificate's? The labels PEM_read_bio_X509()
 * reads: "CERTIFICATE" and the old "X509 CERTIFICATE". */
static int pem_is_cert(const char *name)
{
	return strcmp(name, PEM_STRING_X509) == 0 || strcmp(name, PEM_STRING_X509_OLD) == 0;
}

/* Each certificate block goes through cert_parse_der(), as an x5c
 * certificate does: exact DER, nothing after it inside the block
 * (PEM_read_bio_X509 would stop after the certificate and ignore the
 * rest). Blocks of other labels (a key, parameters) are skipped, as
 * before; a certificate block with PEM headers (encryption) is refused. */
int spiffe_bundle_parse_pem(const char *buf, size_t len, struct spiffe_bundle *b,
                            char *err, size_t errlen)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long dlen = 0;
	unsigned long e;
	int rc = -1, n = 0;

	memset(b, 0, sizeof(*b));
	ERR_clear_error();
	if (len > SPIFFE_BUNDLE_MAX) {
		set_err(err, errlen, "bundle larger than %d bytes", SPIFFE_BUNDLE_MAX);
		goto out;
	}
	if (!(bio = BIO_new_mem_buf(buf, (int)len)) || !(b->authorities = sk_X509_new_null())) {
		set_err(err, errlen, "out of memory");
		goto out;
	}
	while (PEM_read_bio(bio, &name, &header, &data, &dlen) == 1) {
		if (pem_is_cert(name)) {
			n++;
			if (header[0]) {
				set_err(err, errlen, "certificate %d has PEM headers (encrypted?)", n);
				goto out;
			}
			if (dlen <= 0 || !(x = cert_parse_der(data, (size_t)dlen))) {
				set_err(err, errlen, "certificate %d is not one certificate in exact DER", n);
				goto out;
			}
			if (!is_authority(x)) {
				set_err(err, errlen, "certificate %d is not a CA (an X.509 authority signs SVIDs)", n);
				goto out;
			}
			if (sk_X509_num(b->authorities) >= SPIFFE_BUNDLE_KEYS_MAX) {
				set_err(err, errlen, "more than %d certificates", SPIFFE_BUNDLE_KEYS_MAX);
				goto out;
			}
			if (!sk_X509_push(b->authorities, x)) {
				set_err(err, errlen, "out of memory");
				goto out;
			}
			x = NULL;
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		name = header = NULL;
		data = NULL;
	}
	/* the loop ends with "no start line" at a clean end */
	e = ERR_peek_last_error();
	if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		set_err(err, errlen, "bad PEM data after certificate %d", n);
		goto out;
	}
	if (!n) {
		set_err(err, errlen, "no PEM certificate found");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	X509_free(x);
	BIO_free(bio);
	ERR_clear_error();
	if (rc < 0)
		spiffe_bundle_clear(b);
	return rc;
}
