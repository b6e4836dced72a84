/* The trust store: anchors, configured and learned intermediates, CRLs,
 * and TLS-client verification against it at a given time, with the
 * issuer on the path that verified. No I/O after loading, no clock. The
 * state shared between threads: each store's learned pool (under its
 * mutex), and one process-wide X509_STORE_CTX ex_data index, made once
 * (pthread_once) and then only read. */

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "errbuf.h"
#include "cert-crls.h"
#include "cert-ext.h"
#include "cert-facts.h"
#include "cert-store.h"

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

/* ---- building a store (at load time, one thread) ---- */

/* Read every certificate of a PEM file (at least one), calling add() for
 * each. Returns 0, or -1 with err set. */
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
	rc = 0;
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

int cert_store_add_anchor(struct cert_store *st, X509 *x)
{
	if (!st || X509_check_purpose(x, -1, 0) != 1 || add_anchor(st, x) < 0)
		return -1;
	st->count = sk_X509_OBJECT_num(X509_STORE_get0_objects(st->store));
	return 0;
}

int cert_store_dir_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n >= 5 && name[0] != '.' &&
	       (strcmp(name + n - 4, ".pem") == 0 || strcmp(name + n - 4, ".crt") == 0 ||
	        strcmp(name + n - 4, ".cer") == 0);
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
		struct stat sb;

		if (!cert_store_dir_name_ok(de->d_name))
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
	return read_pem_certs(file, add_untrusted, st, err, errlen);
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

/* ---- intermediates learned from chains that verified (under the mutex) ---- */

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

/* ---- revocation ----
 * A store knows the CRLs of its configuration files: they are added to
 * the X509_STORE at load time, and X509_verify_cert() looks them up by
 * issuer name itself when cert_verify_path() sets X509_V_FLAG_CRL_CHECK
 * from the CERT_VF_* flags. CRLs obtained at run time (from the
 * certificates' distribution points or crl_urls) are fetched outside this
 * module (agent/revoc.c; verification does no I/O), checked against their
 * issuer here (cert_store_crl_issuer) and published as one set
 * (cert-crls.h); cert_verify_path() hands that set to OpenSSL with
 * X509_STORE_CTX_set0_crls(), which checks their signatures on the path
 * as it does for file CRLs and prefers them to the store's. Each new set
 * bumps cert_crls_gen(), which the decision cache compares (as
 * cert_store_learned_gen() for learned intermediates), so that a cached
 * "verified" does not outlive a revocation. */

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
		int64_t last = 0, next = 0;

		/* a date that cannot be read counts as none */
		if (cert_asn1_time(X509_CRL_get0_lastUpdate(crl), &last) < 0)
			last = 0;
		if (cert_asn1_time(X509_CRL_get0_nextUpdate(crl), &next) < 0)
			next = 0;

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

/* Is c the signer of crl? Same name, and its key verifies the signature. */
static int signs_crl(X509 *c, X509_CRL *crl)
{
	EVP_PKEY *k;
	int ok;

	if (X509_NAME_cmp(X509_get_subject_name(c), X509_CRL_get_issuer(crl)) != 0)
		return 0;
	if (!(k = X509_get0_pubkey(c)))
		return 0;
	ok = X509_CRL_verify(crl, k) == 1;
	ERR_clear_error();
	return ok;
}

X509 *cert_store_crl_issuer(const struct cert_store *st, X509_CRL *crl)
{
	X509 *found = NULL;

	if (!st || !st->store || !crl)
		return NULL;
	/* anchors: under the store's lock (lookups may sort its objects) */
	if (X509_STORE_lock(st->store)) {
		STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(st->store);

		for (int i = 0; !found && i < sk_X509_OBJECT_num(objs); i++) {
			X509 *c = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));

			if (c && signs_crl(c, crl) && X509_up_ref(c))
				found = c;
		}
		X509_STORE_unlock(st->store);
	}
	for (int i = 0; !found && st->untrusted && i < sk_X509_num(st->untrusted); i++) {
		X509 *c = sk_X509_value(st->untrusted, i);

		if (signs_crl(c, crl) && X509_up_ref(c))
			found = c;
	}
	if (!found && st->learned) {
		pthread_mutex_lock(&st->learned->mu);
		for (int i = 0; !found && st->learned->certs && i < sk_X509_num(st->learned->certs); i++) {
			X509 *c = sk_X509_value(st->learned->certs, i);

			if (signs_crl(c, crl) && X509_up_ref(c))
				found = c;
		}
		pthread_mutex_unlock(&st->learned->mu);
	}
	return found;
}

int cert_store_cdp_urls(const struct cert_store *st, void (*fn)(void *arg, const char *url), void *arg)
{
	int n = 0;

	if (!st || !st->store)
		return 0;
	if (X509_STORE_lock(st->store)) {
		STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(st->store);

		for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
			X509 *c = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));

			if (c)
				n += cert_cdp_urls(c, fn, arg);
		}
		X509_STORE_unlock(st->store);
	}
	for (int i = 0; st->untrusted && i < sk_X509_num(st->untrusted); i++)
		n += cert_cdp_urls(sk_X509_value(st->untrusted, i), fn, arg);
	return n;
}

/* ---- verification ---- */

/* Split chain bytes into certificates, each one exact DER certificate
 * (cert_parse_next); the next starts where it ended. Returns 0 and a stack
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
		x = cert_parse_next(&p, (size_t)(end - p));
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

/* Index of our options in X509_STORE_CTX ex_data (made once, thread-safe). */
static int opts_idx = -1;
static pthread_once_t opts_once = PTHREAD_ONCE_INIT;

static void opts_idx_init(void)
{
	opts_idx = X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* The CRL of crls (issued by cur's issuer) that lists cur, or NULL. */
static X509_CRL *crl_listing(STACK_OF(X509_CRL) *crls, X509 *cur, X509_REVOKED **r)
{
	for (int i = 0; crls && i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *c = sk_X509_CRL_value(crls, i);

		if (X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_issuer_name(cur)) == 0 &&
		    X509_CRL_get0_by_cert(c, r, cur) == 1 && *r)
			return c;
	}
	return NULL;
}

/* Which CRL entry revoked the certificate that failed, and from where:
 * OpenSSL's current CRL when it still says (it forgets it after checking
 * the CRL's dates), else the fetched set, else the store's CRLs. */
static void revocation_of(X509_STORE_CTX *ctx, const struct cert_crlset *set,
                          struct cert_revocation *rev)
{
	X509_CRL *crl = X509_STORE_CTX_get0_current_crl(ctx);
	X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
	STACK_OF(X509_CRL) *stored = NULL;
	X509_REVOKED *r = NULL;
	const char *src;
	ASN1_ENUMERATED *why;

	memset(rev, 0, sizeof(*rev));
	rev->reason = -1;
	rev->depth = X509_STORE_CTX_get_error_depth(ctx);
	if (!cur)
		goto out;
	if (!crl || X509_CRL_get0_by_cert(crl, &r, cur) != 1 || !r) {
		r = NULL;
		crl = crl_listing(cert_crlset_crls(set), cur, &r);
		if (!crl) {
			stored = X509_STORE_CTX_get1_crls(ctx, X509_get_issuer_name(cur));
			crl = crl_listing(stored, cur, &r);
		}
	}
	if (!crl || !r)
		goto out;
	rev->found = 1;
	if (cert_asn1_time(X509_REVOKED_get0_revocationDate(r), &rev->revoked_at) < 0)
		rev->revoked_at = 0;
	why = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
	if (why) {
		long v = ASN1_ENUMERATED_get(why);

		rev->reason = v >= 0 && v <= 10 ? (int)v : -1;
		ASN1_ENUMERATED_free(why);
	}
	src = cert_crlset_source(set, crl);
	snprintf(rev->source, sizeof(rev->source), "%s", src ? src : "crl_file");
out:
	sk_X509_CRL_pop_free(stored, X509_CRL_free);
	ERR_clear_error();
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
	/* the CRL that says so is known only now (OpenSSL forgets it after) */
	if (err == X509_V_ERR_CERT_REVOKED && o->rev && !o->rev->found)
		revocation_of(ctx, o->crlset, o->rev);
	if (err == X509_V_ERR_UNABLE_TO_GET_CRL && (o->flags & CERT_VF_CRL_MISSING_OK)) {
		X509_STORE_CTX_set_error(ctx, X509_V_OK);
		return 1;
	}
	/* a CRL past its nextUpdate: still used (its revocations stand)
	 * within crl_grace, or always with crl_expired = allow */
	if (err == X509_V_ERR_CRL_HAS_EXPIRED) {
		X509_CRL *crl = X509_STORE_CTX_get0_current_crl(ctx);
		const ASN1_TIME *nu = crl ? X509_CRL_get0_nextUpdate(crl) : NULL;
		int64_t next;

		if ((o->flags & CERT_VF_CRL_EXPIRED_OK) ||
		    (o->crl_grace > 0 && nu && cert_asn1_time(nu, &next) == 0 &&
		     o->now <= next + o->crl_grace)) {
			X509_STORE_CTX_set_error(ctx, X509_V_OK);
			return 1;
		}
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

	return cert_verify_path(st, leaf, chain, chain_len, now, &o, depth, NULL);
}

void cert_issuer_clear(struct cert_issuer *iss)
{
	if (!iss)
		return;
	free(iss->dn);
	sk_X509_pop_free(iss->path, X509_free);
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
	int n, len, rc = -1;

	n = path ? sk_X509_num(path) : 0;
	if (n < 1)
		return -1;
	c = sk_X509_value(path, n > 1 ? 1 : 0);
	len = i2d_X509(c, &der);
	if (len <= 0)
		goto out;
	if (cert_digests(der, (size_t)len, iss->sha1, iss->sha256) < 0)
		goto out;
	iss->dn = cert_name_canon(X509_get_subject_name(c));
	if (!iss->dn)
		goto out;
	/* for OCSP: each certificate of the path with its issuer */
	iss->path = X509_chain_up_ref(path);
	if (!iss->path)
		goto out;
	iss->found = 1;
	rc = 0;
out:
	OPENSSL_free(der);
	if (rc < 0)
		cert_issuer_clear(iss);
	return rc;
}

/* A result that only a CRL caused: the path itself may be sound. */
static int is_crl_result(int code)
{
	return code == X509_V_ERR_UNABLE_TO_GET_CRL || code == X509_V_ERR_CRL_HAS_EXPIRED ||
	       code == X509_V_ERR_CRL_NOT_YET_VALID || code == X509_V_ERR_CRL_SIGNATURE_FAILURE ||
	       code == X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE ||
	       code == X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER;
}

/* CDP learning after a CRL-caused failure: verify the path again without
 * revocation checks; only a path that verifies (signatures, anchor) may
 * name URLs the agent will fetch. */
static void learn_cdps_unchecked(const struct cert_store *st, X509 *leaf,
                                 STACK_OF(X509) *untrusted, int64_t now,
                                 const struct cert_verify_opts *o)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *vp;
	struct cert_verify_opts o2 = *o;

	o2.flags &= ~(CERT_VF_CRL_LEAF | CERT_VF_CRL_ALL);
	o2.now = now;
	if (!ctx || !X509_STORE_CTX_init(ctx, st->store, leaf, untrusted) ||
	    !X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT))
		goto out;
	vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(vp, (time_t)now);
	if (o2.max_depth > 0)
		X509_VERIFY_PARAM_set_depth(vp, o2.max_depth);
	if (o2.skew > 0) {
		if (opts_idx < 0 || !X509_STORE_CTX_set_ex_data(ctx, opts_idx, &o2))
			goto out;
		X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	}
	if (X509_verify_cert(ctx) == 1)
		cert_cdp_note_chain(X509_STORE_CTX_get0_chain(ctx));
out:
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
}

int cert_verify_path(const struct cert_store *st, X509 *leaf,
                     const unsigned char *chain, size_t chain_len,
                     int64_t now, const struct cert_verify_opts *opts, int *depth,
                     struct cert_issuer *iss)
{
	struct cert_verify_opts o = *opts;
	unsigned int flags = o.flags;
	int crl_check = (flags & (CERT_VF_CRL_LEAF | CERT_VF_CRL_ALL)) != 0;
	struct cert_crlset *fetched = NULL;
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *vp;
	int code = CERT_VERIFY_INTERNAL, d = -1, r;

	if (iss)
		memset(iss, 0, sizeof(*iss));
	if (o.rev) {
		memset(o.rev, 0, sizeof(*o.rev));
		o.rev->reason = -1;
	}
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
	if (crl_check) {
		X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_CRL_CHECK |
		                            ((flags & CERT_VF_CRL_ALL) ? X509_V_FLAG_CRL_CHECK_ALL : 0));
		/* the fetched CRLs (cert-crls.h), looked at before the
		 * store's own; OpenSSL checks their signatures on the path */
		if ((fetched = cert_crls_acquire()) != NULL)
			X509_STORE_CTX_set0_crls(ctx, cert_crlset_crls(fetched));
		o.crlset = fetched;
	}
	if (o.max_depth > 0)
		X509_VERIFY_PARAM_set_depth(vp, o.max_depth);
	o.now = now;
	pthread_once(&opts_once, opts_idx_init);
	if ((flags & (CERT_VF_CRL_MISSING_OK | CERT_VF_CRL_EXPIRED_OK)) || o.skew > 0 ||
	    (crl_check && (o.crl_grace > 0 || o.rev))) {
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
		if (crl_check)
			cert_cdp_note_chain(X509_STORE_CTX_get0_chain(ctx));
		goto out;
	}
	code = X509_STORE_CTX_get_error(ctx);
	if (code == X509_V_OK)   /* failed without saying why */
		code = CERT_VERIFY_INTERNAL;
	else
		d = X509_STORE_CTX_get_error_depth(ctx);
	if (crl_check && is_crl_result(code) && cert_cdp_learning_on())
		learn_cdps_unchecked(st, leaf, untrusted, now, &o);
out:
	X509_STORE_CTX_free(ctx);
	cert_crls_release(fetched);
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
