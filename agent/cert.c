/* Certificate inspection and verification on OpenSSL 3: DER parsing with
 * exact-length accounting, digests, printable facts, trust store loading and
 * TLS-client chain verification at a given time. No sockets, no clock, no
 * global state; every function may run in several threads at once, sharing
 * a cert_store read-only. */
/* The low-level SHA1_Init() and SHA256_Init() family is deprecated in OpenSSL 3 but stay
 * supported through 3.x; unlike EVP_Digest() they neither allocate nor take
 * the provider lock, and the digest of the DER is on the per-message hot
 * path (measured: EVP_Digest 0.72 M/s vs 1.54 M/s over 8 threads). */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "cert.h"

struct cert_store {
	X509_STORE *store;
	int count;
};

/* Messages for the negative cert_verify() results, indexed by -code. */
static const char *const cert_verify_reasons[] = {
	[-CERT_VERIFY_BAD_CHAIN] = "client chain is not a list of DER certificates",
	[-CERT_VERIFY_INTERNAL]  = "internal error while verifying the certificate",
};
#define CERT_VERIFY_NREASONS \
	(int)(sizeof(cert_verify_reasons) / sizeof(cert_verify_reasons[0]))

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* One-shot digests: EVP_Digest() builds and frees its own context, so there
 * is nothing shared between threads. Returns 0 or -1. */
static int cert_digests_chk(const unsigned char *der, size_t len,
                            unsigned char sha1[20], unsigned char sha256[32])
{
	SHA_CTX c1;

	if (!SHA1_Init(&c1) || !SHA1_Update(&c1, der, len) || !SHA1_Final(sha1, &c1))
		return -1;
	cert_sha256(der, len, sha256);
	return 0;
}

void cert_sha256(const unsigned char *der, size_t len, unsigned char sha256[32])
{
	SHA256_CTX c;

	/* these cannot fail for the built-in implementation; never leave
	 * stack garbage that might match something */
	if (!SHA256_Init(&c) || !SHA256_Update(&c, der, len) || !SHA256_Final(sha256, &c))
		memset(sha256, 0, 32);
}

void cert_digests(const unsigned char *der, size_t len,
                  unsigned char sha1[20], unsigned char sha256[32])
{
	/* Only an allocation failure can make this fail. Zero the digests
	 * then rather than leave stack garbage that might match something. */
	if (cert_digests_chk(der, len, sha1, sha256) < 0) {
		memset(sha1, 0, 20);
		memset(sha256, 0, 32);
	}
}

void cert_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

X509 *cert_parse_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (!der || len == 0 || len > CERT_DER_MAX)
		return NULL;
	x = d2i_X509(NULL, &p, (long)len);
	if (x && p != der + len) {
		/* one certificate followed by something else */
		X509_free(x);
		x = NULL;
	}
	if (!x)
		ERR_clear_error();
	return x;
}

static int is_hexdigit(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* Is c safe to pass through into an HTTP header value as is? */
static int name_char_ok(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"';
}

/* One output token of cert_name_copy(): in[i] and, for an escape, what
 * follows. Writes 1 to 3 characters into tok and returns their number;
 * *used gets the input bytes consumed. */
static size_t name_token(const char *in, size_t n, size_t i, char tok[3],
                         size_t *used)
{
	static const char hx[] = "0123456789ABCDEF";
	unsigned char c = (unsigned char)in[i];

	if (c == '\\' && i + 2 < n && is_hexdigit((unsigned char)in[i + 1]) &&
	    is_hexdigit((unsigned char)in[i + 2])) {
		/* \XX from ESC_CTRL / ESC_MSB: keep it whole */
		memcpy(tok, in + i, 3);
		*used = 3;
		return 3;
	}
	if (c == '\\' && i + 1 < n) {
		/* RFC 2253 \<special>; \" becomes the equivalent \22 */
		c = (unsigned char)in[i + 1];
		*used = 2;
		tok[0] = '\\';
		if (name_char_ok(c)) {
			tok[1] = (char)c;
			return 2;
		}
		tok[1] = hx[c >> 4];
		tok[2] = hx[c & 0x0f];
		return 3;
	}
	*used = 1;
	if (c != '\\' && name_char_ok(c)) {
		tok[0] = (char)c;
		return 1;
	}
	/* a raw control byte, quote, byte >= 0x7f or a lone final '\' */
	tok[0] = '\\';
	tok[1] = hx[c >> 4];
	tok[2] = hx[c & 0x0f];
	return 3;
}

size_t cert_name_copy(char *out, size_t outlen, const char *in, size_t inlen)
{
	size_t i, o = 0, total = 0, room, used, k;
	char tok[3];

	if (!out || outlen == 0)
		return 0;
	for (i = 0; i < inlen; i += used)
		total += name_token(in, inlen, i, tok, &used);
	/* all of it, or as many whole tokens as leave room for "..." */
	room = total < outlen ? total : (outlen > 3 ? outlen - 4 : 0);
	for (i = 0; i < inlen; i += used) {
		k = name_token(in, inlen, i, tok, &used);
		if (o + k > room)
			break;
		memcpy(out + o, tok, k);
		o += k;
	}
	if (total >= outlen && outlen > 3) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return o;
}

static int cert_name_str(const X509_NAME *name, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	int ret = -1;

	if (!b || !name)
		goto out;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) < 0)
		goto out;
	n = BIO_get_mem_data(b, &data);
	if (n < 0 || (n > 0 && !data))
		goto out;
	cert_name_copy(out, outlen, data, (size_t)n);
	ret = 0;
out:
	BIO_free(b);
	return ret;
}

/* Serial as BN_bn2hex() gives it ("0", "0A", "-1F": whole bytes), in
 * lowercase. A serial too long for out is an error, not truncated: a
 * truncated serial could equal another certificate's. */
static int cert_serial_str(const ASN1_INTEGER *ai, char *out, size_t outlen)
{
	BIGNUM *bn = NULL;
	char *hex = NULL;
	size_t i, n;
	int ret = -1;

	if (!ai)
		goto out;
	bn = ASN1_INTEGER_to_BN(ai, NULL);
	if (!bn)
		goto out;
	hex = BN_bn2hex(bn);
	if (!hex)
		goto out;
	n = strlen(hex);
	if (n >= outlen)
		goto out;
	for (i = 0; i <= n; i++)
		out[i] = (hex[i] >= 'A' && hex[i] <= 'F') ? (char)(hex[i] + 32) : hex[i];
	ret = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return ret;
}

static int cert_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	time_t u;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	errno = 0;
	u = timegm(&tm);
	if (u == (time_t)-1 && errno != 0)
		return -1;
	*out = (int64_t)u;
	return 0;
}

int cert_get_facts(X509 *x, const unsigned char *der, size_t len,
                   struct cert_facts *f)
{
	int ret = -1;

	if (!f)
		return -1;
	memset(f, 0, sizeof(*f));
	if (!x || !der || len == 0)
		goto out;
	if (cert_digests_chk(der, len, f->sha1, f->sha256) < 0)
		goto out;
	cert_hex(f->sha1, sizeof(f->sha1), f->sha1_hex);
	cert_hex(f->sha256, sizeof(f->sha256), f->sha256_hex);
	if (cert_name_str(X509_get_subject_name(x), f->subject, sizeof(f->subject)) < 0 ||
	    cert_name_str(X509_get_issuer_name(x), f->issuer, sizeof(f->issuer)) < 0 ||
	    cert_serial_str(X509_get0_serialNumber(x), f->serial, sizeof(f->serial)) < 0 ||
	    cert_time(X509_get0_notBefore(x), &f->not_before) < 0 ||
	    cert_time(X509_get0_notAfter(x), &f->not_after) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		ERR_clear_error();
	return ret;
}

static int64_t asn1_time_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

int cert_store_add_crls(struct cert_store *st, const char *crl_file,
                        struct cert_crl_info *info, char *err, size_t errlen)
{
	BIO *bio;
	X509_CRL *crl;
	unsigned long e;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	ERR_clear_error();
	if (!st || !st->store) {
		set_err(err, errlen, "%s: no trust store to attach CRLs to", crl_file);
		return -1;
	}
	if (!(bio = BIO_new_file(crl_file, "r"))) {
		set_err(err, errlen, "%s: %s", crl_file, strerror(errno ? errno : ENOENT));
		ERR_clear_error();
		return -1;
	}
	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
		int64_t last = asn1_time_unix(X509_CRL_get0_lastUpdate(crl));
		int64_t next = asn1_time_unix(X509_CRL_get0_nextUpdate(crl));

		if (!X509_STORE_add_crl(st->store, crl)) {
			X509_CRL_free(crl);
			set_err(err, errlen, "%s: CRL #%d cannot be added", crl_file, info->count + 1);
			goto out;
		}
		X509_CRL_free(crl);     /* the store holds its own reference */
		info->count++;
		if (last > info->last_update)
			info->last_update = last;
		if (next && (!info->next_update || next < info->next_update))
			info->next_update = next;
	}
	e = ERR_peek_last_error();
	if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		set_err(err, errlen, "%s: bad PEM data after CRL #%d: %s", crl_file, info->count,
		        ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown error");
		goto out;
	}
	if (!info->count) {
		set_err(err, errlen, "%s: no X509 CRL found", crl_file);
		goto out;
	}
	rc = 0;
out:
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

struct cert_store *cert_store_load(const char *ca_file, char *err, size_t errlen)
{
	struct cert_store *st = NULL;
	FILE *fp = NULL;
	BIO *bio = NULL;
	X509 *x = NULL;
	struct stat sb;
	unsigned long e;
	int n = 0, ok = 0;

	ERR_clear_error();
	fp = fopen(ca_file, "r");
	if (!fp) {
		set_err(err, errlen, "%s: %s", ca_file, strerror(errno));
		goto out;
	}
	if (fstat(fileno(fp), &sb) == -1) {
		set_err(err, errlen, "%s: %s", ca_file, strerror(errno));
		goto out;
	}
	if (S_ISDIR(sb.st_mode)) {
		set_err(err, errlen, "%s: %s", ca_file, strerror(EISDIR));
		goto out;
	}
	bio = BIO_new_fp(fp, BIO_CLOSE);
	if (!bio) {
		set_err(err, errlen, "%s: out of memory", ca_file);
		goto out;
	}
	fp = NULL;   /* the BIO closes it */
	st = calloc(1, sizeof(*st));
	if (!st || !(st->store = X509_STORE_new())) {
		set_err(err, errlen, "%s: out of memory", ca_file);
		goto out;
	}

	/* PEM_read_bio_X509_AUX takes "CERTIFICATE" and "TRUSTED CERTIFICATE"
	 * blocks and skips other block types and text between blocks. */
	while ((x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) != NULL) {
		n++;
		/* Compute the cached extension data now, while one thread owns
		 * the store: verifying threads then only read these objects. */
		if (X509_check_purpose(x, -1, 0) != 1) {
			set_err(err, errlen, "%s: certificate #%d has invalid extensions",
			        ca_file, n);
			goto out;
		}
		if (!X509_STORE_add_cert(st->store, x)) {
			set_err(err, errlen, "%s: cannot add certificate #%d", ca_file, n);
			goto out;
		}
		X509_free(x);
		x = NULL;
	}
	/* the loop ends with "no start line" at a clean end of file */
	e = ERR_peek_last_error();
	if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
	                ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		const char *why = ERR_reason_error_string(e);

		set_err(err, errlen, "%s: bad PEM data after certificate #%d: %s",
		        ca_file, n, why ? why : "unknown error");
		goto out;
	}
	if (n == 0) {
		set_err(err, errlen, "%s: no PEM certificate found", ca_file);
		goto out;
	}
	/* distinct anchors (X509_STORE_add_cert ignores duplicates) */
	st->count = sk_X509_OBJECT_num(X509_STORE_get0_objects(st->store));
	ok = 1;
out:
	X509_free(x);
	BIO_free(bio);
	if (fp)
		fclose(fp);
	ERR_clear_error();
	if (!ok) {
		cert_store_free(st);
		st = NULL;
	}
	return st;
}

void cert_store_free(struct cert_store *st)
{
	if (!st)
		return;
	X509_STORE_free(st->store);
	free(st);
}

int cert_store_count(const struct cert_store *st)
{
	return st ? st->count : 0;
}

/* Split chain bytes into certificates, each one DER SEQUENCE that d2i must
 * consume exactly; the next starts where it ended. Returns 0 and a stack
 * (maybe empty), CERT_VERIFY_BAD_CHAIN or CERT_VERIFY_INTERNAL. */
static int cert_parse_chain(const unsigned char *chain, size_t len,
                            STACK_OF(X509) **out)
{
	const unsigned char *p = chain, *end = chain + len, *q;
	STACK_OF(X509) *sk = NULL;
	X509 *x;
	size_t left;
	int ret = CERT_VERIFY_INTERNAL;

	*out = NULL;
	if (len > (size_t)CERT_CHAIN_MAX * CERT_DER_MAX) {
		ret = CERT_VERIFY_BAD_CHAIN;
		goto out;
	}
	sk = sk_X509_new_null();
	if (!sk)
		goto out;
	while (p < end) {
		if (sk_X509_num(sk) >= CERT_CHAIN_MAX) {
			ret = CERT_VERIFY_BAD_CHAIN;
			goto out;
		}
		left = (size_t)(end - p);
		q = p;
		x = d2i_X509(NULL, &q, (long)(left < CERT_DER_MAX ? left : CERT_DER_MAX));
		if (!x) {
			ret = CERT_VERIFY_BAD_CHAIN;
			goto out;
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			goto out;
		}
		p = q;
	}
	*out = sk;
	sk = NULL;
	ret = 0;
out:
	sk_X509_pop_free(sk, X509_free);
	return ret;
}

/* With CERT_VF_CRL_MISSING_OK: an issuer without a CRL is accepted, every
 * other error stands. */
/* Index of our options in X509_STORE_CTX ex_data (made once, thread-safe). */
static int opts_idx = -1;
static pthread_once_t opts_once = PTHREAD_ONCE_INIT;

static void opts_idx_init(void)
{
	opts_idx = X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* With CERT_VF_CRL_MISSING_OK an issuer without a CRL is accepted; with a
 * clock skew, a certificate that is not yet valid or just expired by at
 * most that much is accepted. Every other error stands. */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	const struct cert_verify_opts *o = opts_idx >= 0 ? X509_STORE_CTX_get_ex_data(ctx, opts_idx) : NULL;
	int err = X509_STORE_CTX_get_error(ctx);
	X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
	time_t t;

	if (ok || !o)
		return ok;
	if (err == X509_V_ERR_UNABLE_TO_GET_CRL && (o->flags & CERT_VF_CRL_MISSING_OK)) {
		X509_STORE_CTX_set_error(ctx, X509_V_OK);
		return 1;
	}
	if (o->skew > 0 && cur && err == X509_V_ERR_CERT_NOT_YET_VALID) {
		t = (time_t)(o->now + o->skew);
		if (X509_cmp_time(X509_get0_notBefore(cur), &t) <= 0) {
			X509_STORE_CTX_set_error(ctx, X509_V_OK);
			return 1;
		}
	}
	if (o->skew > 0 && cur && err == X509_V_ERR_CERT_HAS_EXPIRED) {
		t = (time_t)(o->now - o->skew);
		if (X509_cmp_time(X509_get0_notAfter(cur), &t) >= 0) {
			X509_STORE_CTX_set_error(ctx, X509_V_OK);
			return 1;
		}
	}
	return ok;
}

int cert_verify(const struct cert_store *st, X509 *leaf,
                const unsigned char *chain, size_t chain_len,
                int64_t now, int *depth)
{
	return cert_verify_ex(st, leaf, chain, chain_len, now, 0, depth);
}

int cert_verify_ex(const struct cert_store *st, X509 *leaf,
                   const unsigned char *chain, size_t chain_len,
                   int64_t now, unsigned int flags, int *depth)
{
	struct cert_verify_opts o = { .flags = flags };

	return cert_verify_opt(st, leaf, chain, chain_len, now, &o, depth);
}

int cert_verify_opt(const struct cert_store *st, X509 *leaf,
                    const unsigned char *chain, size_t chain_len,
                    int64_t now, const struct cert_verify_opts *opts, int *depth)
{
	struct cert_verify_opts o = *opts;
	unsigned int flags = o.flags;
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *vp;
	int code = CERT_VERIFY_INTERNAL, d = -1, r;

	if (!st || !st->store || !leaf || (!chain && chain_len > 0))
		goto out;
	if (chain_len > 0) {
		r = cert_parse_chain(chain, chain_len, &untrusted);
		if (r != 0) {
			code = r;
			goto out;
		}
	}
	ctx = X509_STORE_CTX_new();
	if (!ctx || !X509_STORE_CTX_init(ctx, st->store, leaf, untrusted))
		goto out;
	/* TLS client purpose: a leaf without extendedKeyUsage passes, one whose
	 * EKU lacks clientAuth fails with X509_V_ERR_INVALID_PURPOSE. OpenSSL
	 * applies the same EKU test to the intermediates. This also sets the
	 * trust setting checked on the anchor to X509_TRUST_SSL_CLIENT. */
	if (!X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT))
		goto out;
	vp = X509_STORE_CTX_get0_param(ctx);
	/* set_time() also sets X509_V_FLAG_USE_CHECK_TIME; say it anyway so
	 * nobody wonders whether the wall clock leaks in */
	X509_VERIFY_PARAM_set_time(vp, (time_t)now);
	X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_USE_CHECK_TIME);
	if (flags & (CERT_VF_CRL_LEAF | CERT_VF_CRL_ALL))
		X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_CRL_CHECK |
		                            ((flags & CERT_VF_CRL_ALL) ? X509_V_FLAG_CRL_CHECK_ALL : 0));
	if (o.max_depth > 0)
		X509_VERIFY_PARAM_set_depth(vp, o.max_depth);
	o.now = now;
	if ((flags & CERT_VF_CRL_MISSING_OK) || o.skew > 0) {
		pthread_once(&opts_once, opts_idx_init);
		if (opts_idx < 0 || !X509_STORE_CTX_set_ex_data(ctx, opts_idx, &o))
			goto out;
		X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	}

	if (X509_verify_cert(ctx) == 1) {
		code = X509_V_OK;
		goto out;
	}
	code = X509_STORE_CTX_get_error(ctx);
	if (code == X509_V_OK)   /* failed without saying why */
		code = CERT_VERIFY_INTERNAL;
	else
		d = X509_STORE_CTX_get_error_depth(ctx);
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
	ERR_clear_error();
	if (depth)
		*depth = d;
	return code;
}

const char *cert_verify_str(int code)
{
	if (code >= 0)
		return X509_verify_cert_error_string(code);
	if (code > -CERT_VERIFY_NREASONS && cert_verify_reasons[-code])
		return cert_verify_reasons[-code];
	return "unknown certificate verification result";
}
