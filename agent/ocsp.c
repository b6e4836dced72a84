/* OCSP requests and response checks. See ocsp.h. */
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "ocsp.h"

#define OCSP_NAME(c, word) [c] = word,
const char *const ocsp_status_names[OCSP_STATUSES] = { OCSP_STATUS_LIST(OCSP_NAME) };
const char *const ocsp_err_names[OCSP_ERRS] = { OCSP_ERR_LIST(OCSP_NAME) };
#undef OCSP_NAME

/* RFC 5280 CRLReason, by code (7 is not used). */
static const char *const reason_names[] = {
	[0] = "unspecified", [1] = "keyCompromise", [2] = "cACompromise",
	[3] = "affiliationChanged", [4] = "superseded", [5] = "cessationOfOperation",
	[6] = "certificateHold", [8] = "removeFromCRL", [9] = "privilegeWithdrawn",
	[10] = "aACompromise",
};

const char *ocsp_reason_str(int reason)
{
	if (reason < 0 || (size_t)reason >= sizeof(reason_names) / sizeof(reason_names[0]) ||
	    !reason_names[reason])
		return "unspecified";
	return reason_names[reason];
}

/* SHA-256 over the certID's issuer key hash and the serial's DER. */
static int key_of_id(OCSP_CERTID *id, struct ocsp_key *k)
{
	ASN1_OCTET_STRING *keyhash = NULL;
	ASN1_INTEGER *serial = NULL;
	unsigned char *sder = NULL;
	EVP_MD_CTX *md = NULL;
	int slen, rc = -1;

	if (!OCSP_id_get0_info(NULL, NULL, &keyhash, &serial, id) || !keyhash || !serial)
		return -1;
	slen = i2d_ASN1_INTEGER(serial, &sder);
	if (slen <= 0)
		goto out;
	md = EVP_MD_CTX_new();
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(md, ASN1_STRING_get0_data(keyhash), (size_t)ASN1_STRING_length(keyhash)) ||
	    !EVP_DigestUpdate(md, sder, (size_t)slen) ||
	    !EVP_DigestFinal_ex(md, k->b, NULL))
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(sder);
	return rc;
}

int ocsp_key_of(X509 *leaf, X509 *issuer, struct ocsp_key *k)
{
	OCSP_CERTID *id;
	int rc;

	if (!leaf || !issuer)
		return -1;
	id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
	if (!id)
		return -1;
	rc = key_of_id(id, k);
	OCSP_CERTID_free(id);
	ERR_clear_error();
	return rc;
}

int ocsp_request_build(X509 *leaf, X509 *issuer, const unsigned char *nonce,
                       struct ocsp_request *rq)
{
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *id = NULL;
	unsigned char *der = NULL;
	int len, rc = -1;

	memset(rq, 0, sizeof(*rq));
	if (!leaf || !issuer)
		return -1;
	req = OCSP_REQUEST_new();
	id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
	if (!req || !id || key_of_id(id, &rq->key) < 0)
		goto out;
	if (!OCSP_request_add0_id(req, id))
		goto out;
	id = NULL;                        /* the request owns it now */
	if (nonce) {
		memcpy(rq->nonce, nonce, OCSP_NONCE_LEN);   /* OpenSSL wants it writable */
		if (!OCSP_request_add1_nonce(req, rq->nonce, OCSP_NONCE_LEN))
			goto out;
		rq->has_nonce = 1;
	}
	len = i2d_OCSP_REQUEST(req, &der);
	if (len <= 0)
		goto out;
	rq->der = der;
	rq->len = (size_t)len;
	rc = 0;
out:
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	ERR_clear_error();
	if (rc < 0)
		memset(rq, 0, sizeof(*rq));
	return rc;
}

void ocsp_request_free(struct ocsp_request *rq)
{
	OPENSSL_free(rq->der);
	rq->der = NULL;
	rq->len = 0;
}

int ocsp_get_url(const char *responder, const unsigned char *der, size_t len,
                 char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char b64[4 * ((OCSP_GET_URL_MAX + 2) / 3) + 1];
	size_t rlen = strlen(responder), n = 0;
	int blen;

	/* base64 alone is 4/3 of the DER: past this it cannot fit */
	if (len > (OCSP_GET_URL_MAX / 4) * 3 || rlen >= OCSP_GET_URL_MAX)
		return -1;
	blen = EVP_EncodeBlock(b64, der, (int)len);
	if (blen < 0)
		return -1;
	if (rlen + 1 > outsz)
		return -1;
	memcpy(out, responder, rlen);
	n = rlen;
	if (rlen == 0 || responder[rlen - 1] != '/')
		out[n++] = '/';
	for (int i = 0; i < blen; i++) {
		unsigned char ch = b64[i];

		if (ch == '+' || ch == '/' || ch == '=') {
			if (n + 3 >= outsz)
				return -1;
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		} else {
			if (n + 1 >= outsz)
				return -1;
			out[n++] = (char)ch;
		}
		if (n > OCSP_GET_URL_MAX)
			return -1;
	}
	out[n] = 0;
	return (int)n;
}

int ocsp_aia_url(X509 *x, char *out, size_t outsz)
{
	STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(x);
	int rc = -1;

	for (int i = 0; urls && i < sk_OPENSSL_STRING_num(urls); i++) {
		const char *u = sk_OPENSSL_STRING_value(urls, i);
		size_t n = strlen(u);

		if (n < 8 || strncasecmp(u, "http://", 7) != 0 || n >= outsz || n >= OCSP_URL_MAX)
			continue;
		/* it goes into a request line: no spaces or control bytes */
		for (size_t j = 0; j < n; j++)
			if ((unsigned char)u[j] <= 0x20 || (unsigned char)u[j] >= 0x7f)
				goto next;
		memcpy(out, u, n + 1);
		rc = 0;
		break;
next:
		;
	}
	X509_email_free(urls);
	ERR_clear_error();
	return rc;
}

/* ASN1 time to unix seconds; -1 when unreadable. */
static int time_of(const ASN1_GENERALIZEDTIME *t, int64_t *out)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int fail(struct ocsp_result *r, enum ocsp_err e)
{
	r->status = OCSP_ERROR;
	r->err = e;
	return -1;
}

/* The nonce we sent must come back: OpenSSL compares the extensions of a
 * request holding only that nonce with the response's. */
static int nonce_matches(OCSP_BASICRESP *bs, const unsigned char *nonce)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char copy[OCSP_NONCE_LEN];
	int ok;

	memcpy(copy, nonce, sizeof(copy));
	if (!req || !OCSP_request_add1_nonce(req, copy, OCSP_NONCE_LEN)) {
		OCSP_REQUEST_free(req);
		return 0;
	}
	ok = OCSP_check_nonce(req, bs) == 1;   /* both present and equal */
	OCSP_REQUEST_free(req);
	return ok;
}

int ocsp_response_check(const unsigned char *der, size_t len, X509 *leaf, X509 *issuer,
                        const struct ocsp_check_opts *o, struct ocsp_result *r)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_CERTID *id = NULL;
	OCSP_SINGLERESP *single;
	STACK_OF(X509) *certs = NULL;
	X509_STORE *store = NULL;
	X509_VERIFY_PARAM *vp;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	X509 *signer = NULL;
	int idx, st, reason = -1, rc = -1;

	memset(r, 0, sizeof(*r));
	r->reason = -1;
	if (!der || len == 0 || len > OCSP_RESPONSE_MAX || !leaf || !issuer) {
		fail(r, !leaf || !issuer ? OCSP_E_NO_ISSUER : OCSP_E_MALFORMED);
		goto out;
	}
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	if (!resp || p != der + len) {         /* exactly the bytes received */
		fail(r, OCSP_E_MALFORMED);
		goto out;
	}
	if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		fail(r, OCSP_E_RESP_STATUS);
		goto out;
	}
	bs = OCSP_response_get1_basic(resp);
	if (!bs) {
		fail(r, OCSP_E_NOT_BASIC);
		goto out;
	}

	/* Signature: the issuer is the only trust anchor (it is on the path
	 * that verified, so a partial chain is fine), checked at now. Flags:
	 * OCSP_NOEXPLICIT, because without it OpenSSL also accepts a signer
	 * that merely chains to an anchor trusted for OCSP signing (a
	 * "TRUSTED CERTIFICATE" in ca_file with that trust setting), so any
	 * certificate that CA issued, without id-kp-OCSPSigning, could sign.
	 * With it, only the CA itself or a certificate it issued with
	 * id-kp-OCSPSigning passes. No OCSP_TRUSTOTHER: the certificates in
	 * the response are never anchors. */
	store = X509_STORE_new();
	certs = sk_X509_new_null();
	if (!store || !certs || !X509_STORE_add_cert(store, issuer) ||
	    !X509_up_ref(issuer)) {
		fail(r, OCSP_E_INTERNAL);
		goto out;
	}
	if (!sk_X509_push(certs, issuer)) {
		X509_free(issuer);
		fail(r, OCSP_E_INTERNAL);
		goto out;
	}
	vp = X509_STORE_get0_param(store);
	X509_VERIFY_PARAM_set_time(vp, (time_t)o->now);
	X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_USE_CHECK_TIME);
	if (OCSP_basic_verify(bs, certs, store, OCSP_NOEXPLICIT) <= 0) {
		fail(r, OCSP_E_SIGNATURE);
		goto out;
	}
	if (OCSP_resp_get0_signer(bs, &signer, certs) == 1 && signer)
		r->delegated = X509_cmp(signer, issuer) != 0;

	/* the answer for our certificate, and only one */
	id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
	if (!id) {
		fail(r, OCSP_E_INTERNAL);
		goto out;
	}
	idx = OCSP_resp_find(bs, id, -1);
	if (idx < 0 || OCSP_resp_find(bs, id, idx) >= 0) {
		fail(r, OCSP_E_CERTID);
		goto out;
	}
	single = OCSP_resp_get0(bs, idx);
	st = OCSP_single_get0_status(single, &reason, &rev, &thisupd, &nextupd);
	if (o->nonce && !nonce_matches(bs, o->nonce)) {
		fail(r, OCSP_E_NONCE);
		goto out;
	}

	/* freshness, ours: OCSP_check_validity() reads the wall clock */
	if (time_of(thisupd, &r->this_update) < 0 ||
	    (nextupd && time_of(nextupd, &r->next_update) < 0) ||
	    (st == V_OCSP_CERTSTATUS_REVOKED && time_of(rev, &r->revoked_at) < 0)) {
		fail(r, OCSP_E_BAD_TIME);
		goto out;
	}
	if (time_of(OCSP_resp_get0_produced_at(bs), &r->produced_at) < 0)
		r->produced_at = 0;
	if (r->this_update > o->now + o->skew) {
		fail(r, OCSP_E_NOT_YET);
		goto out;
	}
	if (nextupd) {
		if (r->next_update < r->this_update) {
			fail(r, OCSP_E_BAD_TIME);
			goto out;
		}
		if (r->next_update < o->now - o->skew) {
			fail(r, OCSP_E_EXPIRED);
			goto out;
		}
	} else if (o->now - r->this_update > o->max_age + o->skew) {
		fail(r, OCSP_E_TOO_OLD);
		goto out;
	}

	switch (st) {
	case V_OCSP_CERTSTATUS_GOOD:
		r->status = OCSP_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		r->status = OCSP_REVOKED;
		r->reason = reason;
		break;
	case V_OCSP_CERTSTATUS_UNKNOWN:
		r->status = OCSP_UNKNOWN;
		break;
	default:
		fail(r, OCSP_E_MALFORMED);
		goto out;
	}
	r->err = OCSP_E_NONE;
	rc = 0;
out:
	OCSP_CERTID_free(id);
	sk_X509_pop_free(certs, X509_free);
	X509_STORE_free(store);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_clear_error();
	return rc;
}

int64_t ocsp_result_expiry(const struct ocsp_result *r, int64_t now, int64_t max_age,
                           int64_t err_ttl)
{
	int64_t until;

	if (r->status == OCSP_ERROR)
		return now + err_ttl;
	until = r->next_update ? r->next_update : r->this_update + max_age;
	/* accepted within the clock skew but already past: one more second,
	 * not a refetch on every request */
	if (until <= now)
		until = now + 1;
	return until;
}
