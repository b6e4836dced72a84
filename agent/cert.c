/* Certificate inspection and verification on OpenSSL 3: DER parsing with
 * exact-length accounting, digests, printable facts, the extension facts a
 * policy matches on (SANs, SPKI pin, key, signature, EKU, policies), trust
 * store loading and TLS-client chain verification at a given time. No
 * sockets, no clock, no global state; every function may run in several
 * threads at once, sharing a cert_store read-only. cert_read_file() is the
 * one function for the command line (inspect, explain): it reads files and
 * may ask for a PKCS#12 password on the terminal. */
/* The low-level SHA1_Init() and SHA256_Init() family is deprecated in OpenSSL 3 but stay
 * supported through 3.x; unlike EVP_Digest() they neither allocate nor take
 * the provider lock, and the digest of the DER is on the per-message hot
 * path (measured: EVP_Digest 0.72 M/s vs 1.54 M/s over 8 threads). */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "errbuf.h"
#include "cert.h"
#include "dn.h"
#include "spiffe.h"

#define CERT_LEARNED_MAX 64

struct cert_store {
	X509_STORE *store;
	int count;
	STACK_OF(X509) *untrusted;   /* intermediates from the config, or NULL */
	/* Intermediates seen in chains that verified: on a resumed TLS session
	 * HAProxy has no ssl_c_chain_der, and the leaf then arrives alone, on
	 * any worker. Untrusted certificates cannot create trust (a chain still
	 * has to end in an anchor), and only CAs from chains that verified are
	 * kept. Written and read on cache misses only, under the mutex. */
	struct cert_learned *learned;
};

struct cert_learned {
	pthread_mutex_t mu;
	STACK_OF(X509) *certs;
	unsigned int gen;            /* +1 per certificate learned */
};

/* Messages for the negative cert_verify() results, indexed by -code. */
static const char *const cert_verify_reasons[] = {
	[-CERT_VERIFY_BAD_CHAIN] = "client chain is not a list of DER certificates",
	[-CERT_VERIFY_INTERNAL]  = "internal error while verifying the certificate",
};
#define CERT_VERIFY_NREASONS \
	(int)(sizeof(cert_verify_reasons) / sizeof(cert_verify_reasons[0]))

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

/* Is x, parsed from der/len, exactly DER? OpenSSL's decoder accepts BER
 * (long-form lengths, indefinite lengths, ...), and i2d_X509() writes the
 * outer SEQUENCE, the signature algorithm and the signature BIT STRING
 * anew but copies the TBS as it was received. So the TBS is re-encoded on
 * its own first (i2d_re_X509_tbs), then the whole: a certificate is DER
 * when that gives back the input bytes. Otherwise the same certificate
 * could arrive under many encodings, each with its own thumbprint. */
static int cert_is_der(X509 *x, const unsigned char *der, size_t len)
{
	unsigned char *tbs = NULL, *out = NULL;
	int n, ok;

	n = i2d_re_X509_tbs(x, &tbs);
	OPENSSL_free(tbs);
	if (n <= 0)
		return 0;
	n = i2d_X509(x, &out);
	ok = n > 0 && (size_t)n == len && memcmp(out, der, len) == 0;
	OPENSSL_free(out);
	return ok;
}

/* One certificate at *p, at most left bytes (capped at CERT_DER_MAX), in
 * exact DER. Advances *p past it on success. */
static X509 *cert_parse_one(const unsigned char **p, size_t left)
{
	const unsigned char *q = *p;
	X509 *x;

	if (left > CERT_DER_MAX)
		left = CERT_DER_MAX;
	x = d2i_X509(NULL, &q, (long)left);
	if (x && !cert_is_der(x, *p, (size_t)(q - *p))) {
		X509_free(x);
		x = NULL;
	}
	if (!x) {
		ERR_clear_error();
		return NULL;
	}
	*p = q;
	return x;
}

X509 *cert_parse_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (!der || len == 0 || len > CERT_DER_MAX)
		return NULL;
	x = cert_parse_one(&p, len);
	if (x && p != der + len) {
		/* one certificate followed by something else */
		X509_free(x);
		x = NULL;
	}
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

/* Read every certificate of a PEM file, calling add() for each. Returns the
 * number read, or -1 with err set. */
static int read_pem_certs(const char *file, int (*add)(void *arg, X509 *x), void *arg,
                          char *err, size_t errlen)
{
	FILE *fp = NULL;
	BIO *bio = NULL;
	X509 *x = NULL;
	struct stat sb;
	unsigned long e;
	int n = 0, rc = -1;

	ERR_clear_error();
	fp = fopen(file, "r");
	if (!fp) {
		set_err(err, errlen, "%s: %s", file, strerror(errno));
		goto out;
	}
	if (fstat(fileno(fp), &sb) == -1) {
		set_err(err, errlen, "%s: %s", file, strerror(errno));
		goto out;
	}
	if (S_ISDIR(sb.st_mode)) {
		set_err(err, errlen, "%s: %s", file, strerror(EISDIR));
		goto out;
	}
	bio = BIO_new_fp(fp, BIO_CLOSE);
	if (!bio) {
		set_err(err, errlen, "%s: out of memory", file);
		goto out;
	}
	fp = NULL;   /* the BIO closes it */

	/* PEM_read_bio_X509_AUX takes "CERTIFICATE" and "TRUSTED CERTIFICATE"
	 * blocks and skips other block types and text between blocks. */
	while ((x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) != NULL) {
		n++;
		/* Compute the cached extension data now, while one thread owns
		 * the store: verifying threads then only read these objects. */
		if (X509_check_purpose(x, -1, 0) != 1) {
			set_err(err, errlen, "%s: certificate #%d has invalid extensions", file, n);
			goto out;
		}
		if (add(arg, x) < 0) {
			set_err(err, errlen, "%s: cannot add certificate #%d", file, n);
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
		        file, n, why ? why : "unknown error");
		goto out;
	}
	if (n == 0) {
		set_err(err, errlen, "%s: no PEM certificate found", file);
		goto out;
	}
	rc = n;
out:
	X509_free(x);
	BIO_free(bio);
	if (fp)
		fclose(fp);
	ERR_clear_error();
	return rc;
}

static int add_anchor(void *arg, X509 *x)
{
	return X509_STORE_add_cert(((struct cert_store *)arg)->store, x) ? 0 : -1;
}

static int add_untrusted(void *arg, X509 *x)
{
	struct cert_store *st = arg;

	if (!st->untrusted && !(st->untrusted = sk_X509_new_null()))
		return -1;
	if (sk_X509_num(st->untrusted) >= CERT_CHAIN_MAX || !X509_up_ref(x))
		return -1;
	if (!sk_X509_push(st->untrusted, x)) {
		X509_free(x);
		return -1;
	}
	return 0;
}

struct cert_store *cert_store_new(void)
{
	struct cert_store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->learned = calloc(1, sizeof(*st->learned));
	if (!st->learned || !(st->store = X509_STORE_new()) ||
	    pthread_mutex_init(&st->learned->mu, NULL) != 0) {
		X509_STORE_free(st->store);
		free(st->learned);
		free(st);
		return NULL;
	}
	return st;
}

/* Add the CAs of a chain that verified to the learned pool. */
static void learn_chain(struct cert_learned *l, STACK_OF(X509) *chain)
{
	pthread_mutex_lock(&l->mu);
	if (!l->certs)
		l->certs = sk_X509_new_null();
	for (int i = 0; l->certs && chain && i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);
		int known = 0;

		if (X509_check_ca(c) <= 0)
			continue;
		for (int k = 0; k < sk_X509_num(l->certs) && !known; k++)
			known = X509_cmp(sk_X509_value(l->certs, k), c) == 0;
		if (known || sk_X509_num(l->certs) >= CERT_LEARNED_MAX || !X509_up_ref(c))
			continue;
		if (!sk_X509_push(l->certs, c))
			X509_free(c);
		else
			__atomic_add_fetch(&l->gen, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&l->mu);
}

unsigned int cert_store_learned_gen(const struct cert_store *st)
{
	return st && st->learned ? __atomic_load_n(&st->learned->gen, __ATOMIC_ACQUIRE) : 0;
}

/* Append the learned intermediates to an untrusted stack (made if NULL). */
static int add_learned(struct cert_learned *l, STACK_OF(X509) **untrusted)
{
	int rc = 0;

	pthread_mutex_lock(&l->mu);
	for (int i = 0; l->certs && i < sk_X509_num(l->certs); i++) {
		X509 *u = sk_X509_value(l->certs, i);

		if ((!*untrusted && !(*untrusted = sk_X509_new_null())) || !X509_up_ref(u)) {
			rc = -1;
			break;
		}
		if (!sk_X509_push(*untrusted, u)) {
			X509_free(u);
			rc = -1;
			break;
		}
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

struct cert_store *cert_store_load(const char *ca_file, char *err, size_t errlen)
{
	struct cert_store *st = cert_store_new();

	if (!st) {
		set_err(err, errlen, "%s: out of memory", ca_file);
		return NULL;
	}
	if (read_pem_certs(ca_file, add_anchor, st, err, errlen) < 0) {
		cert_store_free(st);
		return NULL;
	}
	/* distinct anchors (X509_STORE_add_cert ignores duplicates) */
	st->count = sk_X509_OBJECT_num(X509_STORE_get0_objects(st->store));
	return st;
}

/* Regular files named *.pem, *.crt or *.cer in dir, each a PEM bundle. */
int cert_store_add_dir(struct cert_store *st, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];
	int files = 0, rc = 0;

	if (!d) {
		set_err(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		struct stat sb;

		if (n < 5 || de->d_name[0] == '.' ||
		    (strcmp(de->d_name + n - 4, ".pem") && strcmp(de->d_name + n - 4, ".crt") &&
		     strcmp(de->d_name + n - 4, ".cer")))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    stat(path, &sb) == -1 || !S_ISREG(sb.st_mode))
			continue;
		if (read_pem_certs(path, add_anchor, st, err, errlen) < 0) {
			rc = -1;
			break;
		}
		files++;
	}
	closedir(d);
	if (rc == 0 && files == 0) {
		set_err(err, errlen, "%s: no *.pem, *.crt or *.cer file", dir);
		rc = -1;
	}
	st->count = sk_X509_OBJECT_num(X509_STORE_get0_objects(st->store));
	return rc;
}

int cert_store_add_intermediates(struct cert_store *st, const char *file, char *err, size_t errlen)
{
	return read_pem_certs(file, add_untrusted, st, err, errlen) < 0 ? -1 : 0;
}

void cert_store_free(struct cert_store *st)
{
	if (!st)
		return;
	sk_X509_pop_free(st->untrusted, X509_free);
	if (st->learned) {
		sk_X509_pop_free(st->learned->certs, X509_free);
		pthread_mutex_destroy(&st->learned->mu);
		free(st->learned);
	}
	X509_STORE_free(st->store);
	free(st);
}

int cert_store_count(const struct cert_store *st)
{
	return st ? st->count : 0;
}

/* Split chain bytes into certificates, each one exact DER certificate
 * (cert_parse_one); the next starts where it ended. Returns 0 and a stack
 * (maybe empty), CERT_VERIFY_BAD_CHAIN or CERT_VERIFY_INTERNAL. */
static int cert_parse_chain(const unsigned char *chain, size_t len,
                            STACK_OF(X509) **out)
{
	const unsigned char *p = chain, *end = chain + len;
	STACK_OF(X509) *sk = NULL;
	X509 *x;
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
		x = cert_parse_one(&p, (size_t)(end - p));
		if (!x) {
			ret = CERT_VERIFY_BAD_CHAIN;
			goto out;
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			goto out;
		}
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
	return cert_verify_path(st, leaf, chain, chain_len, now, opts, depth, NULL);
}

void cert_issuer_clear(struct cert_issuer *iss)
{
	if (!iss)
		return;
	free(iss->dn);
	memset(iss, 0, sizeof(*iss));
}

/* The certificate that signed the leaf on the path that verified: the
 * next one up, or the leaf itself when it is its own (self-signed) anchor.
 * Its digests are of its DER as OpenSSL encodes it, which is the DER it
 * was read as (every certificate enters through exact-DER parsing or a
 * PEM file of the configuration). */
static int path_issuer(STACK_OF(X509) *path, struct cert_issuer *iss)
{
	unsigned char *der = NULL;
	X509 *c;
	size_t cap;
	int n, len, rc = -1;

	n = path ? sk_X509_num(path) : 0;
	if (n < 1)
		return -1;
	c = sk_X509_value(path, n > 1 ? 1 : 0);
	len = i2d_X509(c, &der);
	if (len <= 0)
		goto out;
	if (cert_digests_chk(der, (size_t)len, iss->sha1, iss->sha256) < 0)
		goto out;
	/* at most 4 bytes of canonical text per DER byte (see ext_dn) */
	cap = (size_t)len * 4 + 64;
	iss->dn = malloc(cap);
	if (!iss->dn || dn_canon_x509(X509_get_subject_name(c), iss->dn, cap) < 0)
		goto out;
	iss->found = 1;
	rc = 0;
out:
	OPENSSL_free(der);
	if (rc < 0)
		cert_issuer_clear(iss);
	return rc;
}

int cert_verify_path(const struct cert_store *st, X509 *leaf,
                     const unsigned char *chain, size_t chain_len,
                     int64_t now, const struct cert_verify_opts *opts, int *depth,
                     struct cert_issuer *iss)
{
	struct cert_verify_opts o = *opts;
	unsigned int flags = o.flags;
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *vp;
	int code = CERT_VERIFY_INTERNAL, d = -1, r;

	if (iss)
		memset(iss, 0, sizeof(*iss));
	if (!st || !st->store || !leaf || (!chain && chain_len > 0))
		goto out;
	if (chain_len > 0) {
		r = cert_parse_chain(chain, chain_len, &untrusted);
		if (r != 0) {
			code = r;
			goto out;
		}
	}
	/* intermediates from the configuration, after the client's */
	for (int i = 0; st->untrusted && i < sk_X509_num(st->untrusted); i++) {
		X509 *u = sk_X509_value(st->untrusted, i);

		if ((!untrusted && !(untrusted = sk_X509_new_null())) || !X509_up_ref(u))
			goto out;
		if (!sk_X509_push(untrusted, u)) {
			X509_free(u);
			goto out;
		}
	}
	/* and those learned from chains that verified, last */
	if (add_learned(st->learned, &untrusted) < 0)
		goto out;
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
		/* the issuer rules look at this path and only at it: not at
		 * what the client sent, which nothing has checked */
		if (iss && path_issuer(X509_STORE_CTX_get0_chain(ctx), iss) < 0)
			goto out;
		code = X509_V_OK;
		/* the path that verified, not all the client sent: any CA
		 * certificate it adds would take one of the CERT_LEARNED_MAX
		 * places for good */
		if (chain_len > 0)
			learn_chain(st->learned, X509_STORE_CTX_get0_chain(ctx));
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

/* ---- extension facts: cert_get_ext() ---- */

/* Everything of cert_ext is first gathered in an ext_build: numbers in
 * place, strings as (source, length, where the pointer goes) with sources
 * that live until the copy (OpenSSL's, or temporaries here). The arrays
 * (SANs, commonNames, policies) are sized to the certificate's real counts:
 * nothing is dropped. Then one block of the struct, the arrays and the
 * strings is allocated and filled. */

/* Where a queued string's pointer goes. */
enum ext_dst {
	EXT_DST_FIELD = 0,     /* a const char * member of struct cert_ext, at offset idx */
	EXT_DST_SAN,           /* sans[idx].value */
	EXT_DST_CN,            /* cns[idx] */
	EXT_DST_CN_CANON,      /* cns_canon[idx] */
	EXT_DST_POLICY,        /* policies[idx] */
	EXT_DSTS
};

struct ext_str {
	enum ext_dst dst;
	size_t idx;
	const char *src;
	size_t len;
	int lower;            /* ASCII-lowercase while copying (DNS names) */
};

struct ext_build {
	struct cert_ext e;
	struct ext_str *str;
	size_t nstr, strcap;
	size_t total;         /* string bytes, NULs included */
	struct cert_san *sans;             /* e.nsans used */
	char (*ip)[INET6_ADDRSTRLEN];      /* text of sans[k] when an address */
	int spiffe_san;       /* index of the first SPIFFE URI in sans, or -1 */
	char *subject, *issuer;
	unsigned char **cn;   /* e.ncns UTF-8 values (OPENSSL_free) */
	char **cn_canon;      /* e.ncns normalized values (free) */
	int cncap;
	char **policy;        /* e.npolicies dotted OIDs (free) */
	int polcap;
	char key_name[128], curve[80], sig_alg[128];
};

#define EXT_OFF(b, member) ((size_t)((const char *)&(b)->e.member - (const char *)&(b)->e))

/* Queue a string. One with a NUL inside cannot be a C string without
 * changing what it says ("a.example\0.evil.example"): unreadable. */
static int ext_str_to(struct ext_build *b, enum ext_dst dst, size_t idx, const char *src,
                      size_t len, int lower)
{
	struct ext_str *s;

	if (len > 0 && memchr(src, 0, len))
		return -1;
	if (b->nstr == b->strcap) {
		size_t cap = b->strcap ? b->strcap * 2 : 32;
		struct ext_str *ns = realloc(b->str, cap * sizeof(*ns));

		if (!ns)
			return -1;
		b->str = ns;
		b->strcap = cap;
	}
	s = &b->str[b->nstr++];
	s->dst = dst;
	s->idx = idx;
	s->src = src;
	s->len = len;
	s->lower = lower;
	b->total += len + 1;
	return 0;
}

static int ext_str_add(struct ext_build *b, size_t off, const char *src, size_t len, int lower)
{
	return ext_str_to(b, EXT_DST_FIELD, off, src, len, lower);
}

static int ext_str_add0(struct ext_build *b, size_t off, const char *src)
{
	return ext_str_add(b, off, src, strlen(src), 0);
}

/* Canonical form of a name into a new string (dn.h). */
static char *ext_dn(const X509_NAME *name)
{
	int der = i2d_X509_NAME(name, NULL);
	size_t cap;
	char *s;

	if (der < 0)
		return NULL;
	/* the canonical form is at most 4 bytes per DER byte (dotted OIDs:
	 * "127." from one byte; UTF-8 of Latin-1 and "\" escapes: 2) */
	cap = (size_t)der * 4 + 64;
	s = malloc(cap);
	if (s && dn_canon_x509(name, s, cap) < 0) {
		free(s);
		s = NULL;
	}
	return s;
}

/* Subject Alternative Names we match on, all of them; others are ignored.
 * Counts the URIs of scheme "spiffe" (in any case: "SPIFFE://..." is one,
 * and invalid) and remembers the first. */
static int ext_sans(struct ext_build *b, X509 *x, GENERAL_NAMES **gensp)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *gen;
	const ASN1_STRING *s;
	enum cert_san_type type;
	int crit = -1, i, k, num;

	*gensp = gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (!gens)
		return crit == -1 ? 0 : -1;   /* absent, or undecodable/duplicated */
	num = sk_GENERAL_NAME_num(gens);
	if (num <= 0)
		return 0;
	b->e.san_total = num;
	if (num > CERT_SANS_KEEP_MAX)
		return 0;     /* denied by every policy (too_many_sans): keep none */
	b->sans = calloc((size_t)num, sizeof(*b->sans));
	b->ip = calloc((size_t)num, sizeof(*b->ip));
	if (!b->sans || !b->ip)
		return -1;
	for (i = 0; i < num; i++) {
		gen = sk_GENERAL_NAME_value(gens, i);
		switch (gen->type) {
		case GEN_DNS:
			type = CERT_SAN_DNS;
			s = gen->d.dNSName;
			break;
		case GEN_URI:
			type = CERT_SAN_URI;
			s = gen->d.uniformResourceIdentifier;
			break;
		case GEN_EMAIL:
			type = CERT_SAN_EMAIL;
			s = gen->d.rfc822Name;
			break;
		case GEN_IPADD:
			type = CERT_SAN_IP;
			s = gen->d.iPAddress;
			break;
		default:
			continue;
		}
		if (!s || s->length < 0)
			return -1;
		if (type == CERT_SAN_IP && s->length != 4 && s->length != 16)
			return -1;     /* an address/mask pair belongs in name constraints */
		k = b->e.nsans;
		b->sans[k].type = type;
		if (type == CERT_SAN_IP) {
			memcpy(b->sans[k].ip, s->data, (size_t)s->length);
			b->sans[k].ip_len = s->length;
			if (!inet_ntop(s->length == 4 ? AF_INET : AF_INET6, s->data,
			               b->ip[k], sizeof(b->ip[k])) ||
			    ext_str_to(b, EXT_DST_SAN, (size_t)k, b->ip[k], strlen(b->ip[k]), 0) < 0)
				return -1;
		} else if (ext_str_to(b, EXT_DST_SAN, (size_t)k, (const char *)s->data,
		                      (size_t)s->length, type == CERT_SAN_DNS) < 0) {
			return -1;
		}
		if (type == CERT_SAN_URI && spiffe_has_scheme((const char *)s->data, (size_t)s->length)) {
			if (b->spiffe_san < 0)
				b->spiffe_san = k;
			b->e.nspiffe++;
		}
		b->e.nsans++;
	}
	return 0;
}

/* Every commonName of the subject, as UTF-8 and normalized as a DN value
 * (dn_norm_value); cn is the first, "" if none. */
static int ext_cn(struct ext_build *b, const X509_NAME *subj)
{
	const X509_NAME_ENTRY *ne;
	int idx = -1, n, k, count = X509_NAME_entry_count(subj);

	if (count > 0) {
		b->cn = calloc((size_t)count, sizeof(*b->cn));
		b->cn_canon = calloc((size_t)count, sizeof(*b->cn_canon));
		if (!b->cn || !b->cn_canon)
			return -1;
		b->cncap = count;
	}
	while ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >= 0) {
		k = b->e.ncns;
		if (k >= b->cncap)
			return -1;
		ne = X509_NAME_get_entry(subj, idx);
		if (!ne || (n = ASN1_STRING_to_UTF8(&b->cn[k], X509_NAME_ENTRY_get_data(ne))) < 0)
			return -1;
		b->e.ncns++;
		if (!(b->cn_canon[k] = malloc((size_t)n + 1)) ||
		    dn_norm_value((const char *)b->cn[k], (size_t)n, b->cn_canon[k], (size_t)n + 1) < 0)
			return -1;
		if (ext_str_to(b, EXT_DST_CN, (size_t)k, (const char *)b->cn[k], (size_t)n, 0) < 0 ||
		    ext_str_to(b, EXT_DST_CN_CANON, (size_t)k, b->cn_canon[k], strlen(b->cn_canon[k]), 0) < 0)
			return -1;
		if (k == 0 && ext_str_add(b, EXT_OFF(b, cn), (const char *)b->cn[0], (size_t)n, 0) < 0)
			return -1;
	}
	if (b->e.ncns == 0)
		return ext_str_add0(b, EXT_OFF(b, cn), "");
	return 0;
}

/* Key names by key type, as OpenSSL's providers name them. */
static const struct {
	int nid;
	const char *name;
} cert_key_names[] = {
	{ EVP_PKEY_RSA,     "RSA" },
	{ EVP_PKEY_RSA_PSS, "RSA-PSS" },
	{ EVP_PKEY_EC,      "EC" },
	{ EVP_PKEY_ED25519, "ED25519" },
	{ EVP_PKEY_ED448,   "ED448" },
	{ EVP_PKEY_DSA,     "DSA" },
	{ EVP_PKEY_SM2,     "SM2" },
	{ EVP_PKEY_X25519,  "X25519" },
	{ EVP_PKEY_X448,    "X448" },
	{ EVP_PKEY_DH,      "DH" },
	{ EVP_PKEY_DHX,     "DHX" },
};

/* A provider's key (an SM2 key from an id-ecPublicKey SPKI) may have no
 * legacy type: EVP_PKEY_get_base_id() says -1. Ask by name instead, so a
 * key limit never sees an SM2 key as "unknown". NID_undef if neither. */
static int key_type_of(EVP_PKEY *pkey)
{
	int t = EVP_PKEY_get_base_id(pkey);

	if (t > 0)
		return t;
	for (size_t i = 0; i < sizeof(cert_key_names) / sizeof(cert_key_names[0]); i++)
		if (EVP_PKEY_is_a(pkey, cert_key_names[i].name))
			return cert_key_names[i].nid;
	return NID_undef;
}

/* The SubjectPublicKeyInfo a pin is computed over: the key as OpenSSL
 * re-encodes it, EC points uncompressed and EC parameters by curve name,
 * so that the same key written another way (`openssl ec -conv_form
 * compressed`, explicit curve parameters) keeps its pin. A key OpenSSL
 * cannot load is hashed as the certificate has it. Returns the DER length
 * (*der is the caller's, OPENSSL_free) or -1. */
static int spki_canonical_der(X509_PUBKEY *pk, EVP_PKEY *pkey, unsigned char **der)
{
	EVP_PKEY *copy;
	char group[80];
	size_t glen = 0;
	int n = -1, type;

	if (!pkey)
		return pk ? i2d_X509_PUBKEY(pk, der) : -1;
	type = key_type_of(pkey);
	if (type != EVP_PKEY_EC && type != EVP_PKEY_SM2)
		return i2d_PUBKEY(pkey, der);
	if (!(copy = EVP_PKEY_dup(pkey)))
		return -1;
	if (!EVP_PKEY_set_utf8_string_param(copy, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	                                    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED))
		goto out;
	if (EVP_PKEY_get_utf8_string_param(copy, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) &&
	    !EVP_PKEY_set_utf8_string_param(copy, OSSL_PKEY_PARAM_EC_ENCODING, OSSL_PKEY_EC_ENCODING_GROUP))
		goto out;
	n = i2d_PUBKEY(copy, der);
out:
	EVP_PKEY_free(copy);
	return n;
}

/* A curve's OpenSSL short name ("prime256v1" for "P-256"); "" if unknown. */
static void curve_short_name(char *name, size_t len)
{
	int nid = OBJ_txt2nid(name);

	if (nid == NID_undef)
		nid = EC_curve_nist2nid(name);
	if (nid != NID_undef && OBJ_nid2sn(nid))
		snprintf(name, len, "%s", OBJ_nid2sn(nid));
}

/* SPKI digest and pin (spki_canonical_der), key type, size, name and
 * curve. A key OpenSSL cannot load (unknown algorithm) is named by its
 * algorithm OID, with 0 bits. */
static int ext_key(struct ext_build *b, X509 *x)
{
	X509_PUBKEY *pk = X509_get_X509_PUBKEY(x);
	EVP_PKEY *pkey = X509_get0_pubkey(x);
	ASN1_OBJECT *alg = NULL;
	unsigned char *der = NULL;
	const char *name = NULL;
	unsigned int mdlen = 0;
	size_t i, glen = 0;
	int n, ok;

	n = spki_canonical_der(pk, pkey, &der);
	ok = n > 0 && EVP_Digest(der, (size_t)n, b->e.spki_sha256, &mdlen, EVP_sha256(), NULL) &&
	     mdlen == sizeof(b->e.spki_sha256);
	OPENSSL_free(der);
	if (!ok)
		return -1;
	EVP_EncodeBlock((unsigned char *)b->e.spki_pin, b->e.spki_sha256,
	                (int)sizeof(b->e.spki_sha256));

	if (pkey) {
		b->e.key_type = key_type_of(pkey);
		b->e.key_bits = EVP_PKEY_get_bits(pkey);
	} else {
		if (!X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, pk) || !alg)
			return -1;
		b->e.key_type = OBJ_obj2nid(alg);
		b->e.key_bits = 0;
	}
	for (i = 0; i < sizeof(cert_key_names) / sizeof(cert_key_names[0]); i++)
		if (cert_key_names[i].nid == b->e.key_type)
			name = cert_key_names[i].name;
	if (!name && b->e.key_type != NID_undef)
		name = OBJ_nid2sn(b->e.key_type);
	if (!name) {
		if (!alg && !X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, pk))
			return -1;
		n = OBJ_obj2txt(b->key_name, sizeof(b->key_name), alg, 1);
		if (n <= 0 || (size_t)n >= sizeof(b->key_name))
			return -1;
		name = b->key_name;
	}
	if (ext_str_add0(b, EXT_OFF(b, key_name), name) < 0)
		return -1;

	b->curve[0] = '\0';
	if (pkey && (b->e.key_type == EVP_PKEY_EC || b->e.key_type == EVP_PKEY_SM2) &&
	    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, b->curve,
	                                    sizeof(b->curve), &glen))
		b->curve[0] = '\0';    /* explicit parameters: no name */
	if (b->curve[0])
		curve_short_name(b->curve, sizeof(b->curve));
	return ext_str_add0(b, EXT_OFF(b, curve), b->curve);
}

/* Signature algorithm long name (dotted OID if OpenSSL has none) and the
 * NID of its digest: from X509_get_signature_info(), which also reads
 * RSA-PSS parameters, else from the algorithm's OID. */
static int ext_sig(struct ext_build *b, X509 *x)
{
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj = NULL;
	const char *ln = NULL;
	int nid, md = NID_undef, n;

	X509_get0_signature(NULL, &alg, x);
	if (!alg)
		return -1;
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	if (!obj)
		return -1;
	nid = OBJ_obj2nid(obj);
	if (nid != NID_undef)
		ln = OBJ_nid2ln(nid);
	if (!ln) {
		n = OBJ_obj2txt(b->sig_alg, sizeof(b->sig_alg), obj, 1);
		if (n <= 0 || (size_t)n >= sizeof(b->sig_alg))
			return -1;
		ln = b->sig_alg;
	}
	if (!X509_get_signature_info(x, &md, NULL, NULL, NULL) &&
	    (nid == NID_undef || !OBJ_find_sigid_algs(nid, &md, NULL)))
		md = NID_undef;
	b->e.sig_md_nid = md;
	b->e.sig_nid = nid;
	return ext_str_add0(b, EXT_OFF(b, sig_alg), ln);
}

static int ext_eku(struct ext_build *b, X509 *x)
{
	EXTENDED_KEY_USAGE *eku;
	int crit = -1, i, nid;

	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	if (!eku)
		return crit == -1 ? 0 : -1;
	b->e.eku = CERT_EKU_PRESENT;
	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
		if (nid == NID_client_auth)
			b->e.eku |= CERT_EKU_CLIENT_AUTH;
		else if (nid == NID_server_auth)
			b->e.eku |= CERT_EKU_SERVER_AUTH;
		else if (nid == NID_anyExtendedKeyUsage)
			b->e.eku |= CERT_EKU_ANY;
		else
			b->e.eku |= CERT_EKU_OTHER;
	}
	EXTENDED_KEY_USAGE_free(eku);
	return 0;
}

/* Certificate policy OIDs, dotted, in certificate order: all of them. */
static int ext_policies(struct ext_build *b, X509 *x)
{
	CERTIFICATEPOLICIES *pols;
	const POLICYINFO *pi;
	int crit = -1, i, n, k, num, rc = -1;

	pols = X509_get_ext_d2i(x, NID_certificate_policies, &crit, NULL);
	if (!pols)
		return crit == -1 ? 0 : -1;
	num = sk_POLICYINFO_num(pols);
	if (num > 0 && !(b->policy = calloc((size_t)num, sizeof(*b->policy))))
		goto out;
	b->polcap = num > 0 ? num : 0;
	for (i = 0; i < num; i++) {
		k = b->e.npolicies;
		pi = sk_POLICYINFO_value(pols, i);
		if (!pi || !pi->policyid)
			goto out;
		n = OBJ_obj2txt(NULL, 0, pi->policyid, 1);
		if (n <= 0 || !(b->policy[k] = malloc((size_t)n + 1)) ||
		    OBJ_obj2txt(b->policy[k], n + 1, pi->policyid, 1) != n ||
		    ext_str_to(b, EXT_DST_POLICY, (size_t)k, b->policy[k], (size_t)n, 0) < 0)
			goto out;
		b->e.npolicies++;
	}
	rc = 0;
out:
	CERTIFICATEPOLICIES_free(pols);
	return rc;
}

/* Bytes of n objects of size sz, rounded up so what follows stays aligned
 * for pointers and struct cert_san. */
static size_t ext_span(size_t n, size_t sz)
{
	size_t a = _Alignof(struct cert_san) > _Alignof(char *) ? _Alignof(struct cert_san)
	                                                         : _Alignof(char *);
	size_t bytes = n * sz;

	return (bytes + a - 1) / a * a;
}

/* One block: the struct, the SAN array, the CN, normalized CN and policy
 * pointer arrays, then every string. */
static struct cert_ext *ext_copy(const struct ext_build *b)
{
	struct cert_ext *e;
	struct cert_san *sans;
	const char **cns, **cnc, **pols;
	const char *p;
	char *arena, *base;
	size_t k, head;

	head = ext_span(1, sizeof(*e));
	head += ext_span((size_t)b->e.nsans, sizeof(*sans));
	head += 2 * ext_span((size_t)b->e.ncns, sizeof(char *));
	head += ext_span((size_t)b->e.npolicies, sizeof(char *));
	base = malloc(head + b->total);
	if (!base)
		return NULL;
	e = (struct cert_ext *)(void *)base;
	*e = b->e;
	arena = base + ext_span(1, sizeof(*e));
	sans = (struct cert_san *)(void *)arena;
	arena += ext_span((size_t)b->e.nsans, sizeof(*sans));
	cns = (const char **)(void *)arena;
	arena += ext_span((size_t)b->e.ncns, sizeof(char *));
	cnc = (const char **)(void *)arena;
	arena += ext_span((size_t)b->e.ncns, sizeof(char *));
	pols = (const char **)(void *)arena;
	arena += ext_span((size_t)b->e.npolicies, sizeof(char *));
	if (b->e.nsans)
		memcpy(sans, b->sans, (size_t)b->e.nsans * sizeof(*sans));
	e->sans = sans;
	e->cns = cns;
	e->cns_canon = cnc;
	e->policies = pols;
	for (size_t i = 0; i < b->nstr; i++) {
		const struct ext_str *s = &b->str[i];

		for (k = 0; k < s->len; k++) {
			char c = s->src[k];

			arena[k] = (s->lower && c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		}
		arena[s->len] = '\0';
		p = arena;
		switch (s->dst) {
		case EXT_DST_FIELD:
			memcpy((char *)e + s->idx, &p, sizeof(p));
			break;
		case EXT_DST_SAN:
			sans[s->idx].value = p;
			break;
		case EXT_DST_CN:
			cns[s->idx] = p;
			break;
		case EXT_DST_CN_CANON:
			cnc[s->idx] = p;
			break;
		case EXT_DST_POLICY:
			pols[s->idx] = p;
			break;
		case EXT_DSTS:
			break;
		}
		arena += s->len + 1;
	}
	if (b->spiffe_san >= 0)
		e->spiffe_id = sans[b->spiffe_san].value;
	return e;
}

struct cert_ext *cert_get_ext(X509 *x)
{
	struct ext_build *b = NULL;
	struct cert_ext *e = NULL;
	GENERAL_NAMES *gens = NULL;
	const X509_NAME *subj, *iss;
	int i, ca;

	if (!x)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		goto out;
	b->spiffe_san = -1;
	subj = X509_get_subject_name(x);
	iss = X509_get_issuer_name(x);
	if (!subj || !iss)
		goto out;
	if (ext_sans(b, x, &gens) < 0 || ext_cn(b, subj) < 0)
		goto out;
	if (!(b->subject = ext_dn(subj)) || !(b->issuer = ext_dn(iss)) ||
	    ext_str_add0(b, EXT_OFF(b, subject_canon), b->subject) < 0 ||
	    ext_str_add0(b, EXT_OFF(b, issuer_canon), b->issuer) < 0)
		goto out;
	if (ext_key(b, x) < 0 || ext_sig(b, x) < 0 || ext_eku(b, x) < 0 ||
	    ext_policies(b, x) < 0)
		goto out;
	ca = X509_check_ca(x);
	b->e.is_ca = ca > 0;
	e = ext_copy(b);
out:
	GENERAL_NAMES_free(gens);
	if (b) {
		free(b->subject);
		free(b->issuer);
		for (i = 0; i < b->cncap; i++) {
			OPENSSL_free(b->cn[i]);
			free(b->cn_canon[i]);
		}
		free(b->cn);
		free(b->cn_canon);
		for (i = 0; i < b->polcap; i++)
			free(b->policy[i]);
		free(b->policy);
		free(b->sans);
		free(b->ip);
		free(b->str);
		free(b);
	}
	ERR_clear_error();
	return e;
}

void cert_ext_free(struct cert_ext *e)
{
	free(e);
}

/* ---- reading certificate files: cert_read_file() ---- */

#define CERT_FILE_MAX  (16 * 1024 * 1024)   /* bigger is not a certificate file */
#define CERT_PASS_MAX  1024

static const char *cert_ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *why = e ? ERR_reason_error_string(e) : NULL;

	return why ? why : "unknown error";
}

static int read_whole(const char *path, unsigned char **buf, size_t *len,
                      char *err, size_t errlen)
{
	unsigned char *b = NULL, *nb;
	size_t n = 0, cap = 0;
	struct stat sb;
	ssize_t r;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(sb.st_mode)) {
		set_err(err, errlen, "%s: %s", path, strerror(EISDIR));
		goto out;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= CERT_FILE_MAX) {
				set_err(err, errlen, "%s: larger than %d MB: not a certificate file",
				        path, CERT_FILE_MAX >> 20);
				goto out;
			}
			cap = cap ? cap * 2 : 16384;
			if (!(nb = realloc(b, cap))) {
				set_err(err, errlen, "%s: out of memory", path);
				goto out;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			set_err(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	b = NULL;
	rc = 0;
out:
	free(b);
	close(fd);
	return rc;
}

/* Read a password from the controlling terminal without echo. -1 when
 * there is no terminal. */
static int read_tty_password(const char *path, char *pw, size_t pwlen)
{
	struct termios old, quiet;
	size_t n = 0;
	ssize_t r;
	char c;
	int fd, rc = -1;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (tcgetattr(fd, &old) == -1)
		goto out;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	if (dprintf(fd, "PKCS#12 password for %s: ", path) < 0 ||
	    tcsetattr(fd, TCSAFLUSH, &quiet) == -1)
		goto out;
	for (;;) {
		r = read(fd, &c, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r != 1 || c == '\n' || c == '\r')
			break;
		if (n + 1 < pwlen)
			pw[n++] = c;
	}
	pw[n] = '\0';
	tcsetattr(fd, TCSAFLUSH, &old);
	rc = r == -1 ? -1 : 0;
out:
	close(fd);
	return rc;
}

static int push_cert(X509 *x, X509 **out, int max, int *n)
{
	if (*n >= max) {
		X509_free(x);
		return 0;
	}
	out[(*n)++] = x;
	return 1;
}

static int read_pem(const char *path, const unsigned char *buf, size_t len,
                    X509 **out, int max, char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	unsigned long e;
	X509 *x;
	int n = 0, seen = 0;

	if (!bio) {
		set_err(err, errlen, "%s: out of memory", path);
		return -1;
	}
	/* other PEM blocks (keys, CRLs) are skipped */
	while ((x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) != NULL) {
		seen++;
		push_cert(x, out, max, &n);
	}
	BIO_free(bio);
	e = ERR_peek_last_error();
	if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		set_err(err, errlen, "%s: bad PEM data after certificate #%d: %s",
		        path, seen, cert_ossl_reason());
		goto fail;
	}
	if (seen == 0) {
		set_err(err, errlen, "%s: PEM file without a CERTIFICATE block", path);
		goto fail;
	}
	return n;
fail:
	while (n > 0)
		X509_free(out[--n]);
	return -1;
}

static int read_p12(const char *path, PKCS12 *p12, X509 **out, int max,
                    EVP_PKEY **keyout, char *err, size_t errlen)
{
	char pw[CERT_PASS_MAX];
	const char *pass = getenv("CERTSPOA_P12_PASSWORD"), *from = "CERTSPOA_P12_PASSWORD";
	STACK_OF(X509) *ca = NULL;
	EVP_PKEY *pkey = NULL;
	X509 *leaf = NULL;
	int n = 0, i, mac = PKCS12_mac_present(p12);

	pw[0] = '\0';
	if (!pass) {
		if (mac && !PKCS12_verify_mac(p12, NULL, 0) && !PKCS12_verify_mac(p12, "", 0)) {
			if (read_tty_password(path, pw, sizeof(pw)) < 0) {
				set_err(err, errlen, "%s: PKCS#12 file needs a password: set "
				        "CERTSPOA_P12_PASSWORD (no terminal to ask on)", path);
				goto fail;
			}
			from = "the one typed";
		}
		pass = pw;     /* "": PKCS12_parse tries no password and the empty one */
	}
	if (mac && *pass && !PKCS12_verify_mac(p12, pass, -1)) {
		set_err(err, errlen, "%s: wrong PKCS#12 password (%s)", path, from);
		goto fail;
	}
	if (!PKCS12_parse(p12, pass, &pkey, &leaf, &ca)) {
		set_err(err, errlen, "%s: cannot read PKCS#12: %s", path, cert_ossl_reason());
		goto fail;
	}
	if (leaf) {
		push_cert(leaf, out, max, &n);
		leaf = NULL;
	}
	for (i = 0; i < sk_X509_num(ca); i++)
		push_cert(sk_X509_value(ca, i), out, max, &n);
	sk_X509_free(ca);        /* its certificates are in out[] or freed */
	ca = NULL;
	if (n == 0) {
		set_err(err, errlen, "%s: PKCS#12 file without a certificate", path);
		goto fail;
	}
	if (keyout && pkey) {    /* certspoa probe: the client's key */
		EVP_PKEY_free(*keyout);
		*keyout = pkey;
	} else {
		EVP_PKEY_free(pkey); /* not ours to look at */
	}
	OPENSSL_cleanse(pw, sizeof(pw));
	return n;
fail:
	OPENSSL_cleanse(pw, sizeof(pw));
	EVP_PKEY_free(pkey);
	X509_free(leaf);
	sk_X509_pop_free(ca, X509_free);
	while (n > 0)
		X509_free(out[--n]);
	return -1;
}

int cert_read_file(const char *path, X509 **out, int max, char *err, size_t errlen)
{
	return cert_read_file_key(path, out, max, NULL, err, errlen);
}

int cert_read_file_key(const char *path, X509 **out, int max, EVP_PKEY **key,
                       char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	const unsigned char *p;
	PKCS12 *p12 = NULL;
	size_t len = 0;
	X509 *x;
	int n = -1;

	ERR_clear_error();
	if (!path || !out || max <= 0) {
		set_err(err, errlen, "cert_read_file: bad arguments");
		return -1;
	}
	if (read_whole(path, &buf, &len, err, errlen) < 0)
		goto out;
	if (len == 0) {
		set_err(err, errlen, "%s: empty file", path);
		goto out;
	}
	/* DER: one certificate spanning the file exactly */
	p = buf;
	x = d2i_X509(NULL, &p, (long)len);
	if (x && p == buf + len) {
		out[0] = x;
		n = 1;
		goto out;
	}
	X509_free(x);
	p = buf;
	p12 = d2i_PKCS12(NULL, &p, (long)len);
	if (p12 && p == buf + len) {
		n = read_p12(path, p12, out, max, key, err, errlen);
		goto out;
	}
	if (memmem(buf, len, "-----BEGIN ", 11)) {
		ERR_clear_error();   /* read_pem() judges the queue */
		n = read_pem(path, buf, len, out, max, err, errlen);
		goto out;
	}
	set_err(err, errlen, "%s: not a certificate: neither PEM, DER (one certificate, "
	        "nothing after it) nor PKCS#12", path);
out:
	PKCS12_free(p12);
	if (buf)
		OPENSSL_cleanse(buf, len);   /* a PKCS#12 file holds a private key */
	free(buf);
	ERR_clear_error();
	return n;
}
