/* Benchmark PKI: see benchpki.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "benchpki.h"
#include "testpki.h"

#define DAY 86400

void benchpki_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static int set_der(struct bench_der *d, X509 *x)
{
	d->der = testpki_to_der(x, &d->len);
	if (!d->der)
		return -1;
	if (!EVP_Digest(d->der, d->len, d->sha256, NULL, EVP_sha256(), NULL))
		return -1;
	return 0;
}

static EVP_PKEY *gen_key(enum benchpki_keys keys)
{
	return keys == BENCHPKI_EC ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
}

int benchpki_generate(struct bench_pki *pki, size_t n, int64_t now, int days)
{
	return benchpki_generate_keys(pki, n, now, days, BENCHPKI_RSA);
}

int benchpki_generate_keys(struct bench_pki *pki, size_t n, int64_t now, int days,
                           enum benchpki_keys keys)
{
	struct testpki_cert c;
	char subject[256], san[256];
	EVP_PKEY *key = NULL;
	size_t i;

	memset(pki, 0, sizeof(*pki));
	pki->now = now;
	pki->days = days;
	pki->root_key = gen_key(keys);
	pki->inter_key = gen_key(keys);
	pki->leaf_key = gen_key(keys);
	if (!pki->root_key || !pki->inter_key || !pki->leaf_key)
		goto fail;
	pki->root = testpki_make_cert("/C=US/O=certspoa bench/CN=certspoa bench root CA",
	                              pki->root_key, NULL, NULL, now - DAY,
	                              now + (int64_t)(days + 2) * DAY, 1, NULL);
	pki->inter = testpki_make_cert("/C=US/O=certspoa bench/CN=certspoa bench issuing CA 1",
	                               pki->inter_key, pki->root, pki->root_key, now - DAY,
	                               now + (int64_t)(days + 1) * DAY, 1, NULL);
	if (!pki->root || !pki->inter)
		goto fail;
	pki->chain = testpki_to_der(pki->inter, &pki->chain_len);
	pki->leaves = calloc(n ? n : 1, sizeof(*pki->leaves));
	pki->leaf = calloc(n ? n : 1, sizeof(*pki->leaf));
	if (!pki->chain || !pki->leaves || !pki->leaf)
		goto fail;
	for (i = 0; i < n; i++) {
		/* a typical enterprise client certificate: full DN, DNS and
		 * SPIFFE SANs, clientAuth; about 1.1 KB of DER with RSA-2048 */
		snprintf(subject, sizeof(subject),
		         "/C=US/ST=California/L=San Francisco/O=certspoa bench/OU=payments"
		         "/CN=client-%06zu.bench.example", i);
		snprintf(san, sizeof(san),
		         "DNS:client-%06zu.bench.example,URI:spiffe://bench.example/ns/prod/sa/client-%06zu",
		         i, i);
		/* EC: a key of its own per leaf (leaf 0 keeps leaf_key) */
		key = pki->leaf_key;
		if (keys == BENCHPKI_EC && i > 0 && !(key = gen_key(keys)))
			goto fail;
		memset(&c, 0, sizeof(c));
		c.subject = subject;
		c.key = key;
		c.issuer = pki->inter;
		c.issuer_key = pki->inter_key;
		c.not_before = now - DAY;
		c.not_after = now + (int64_t)days * DAY;
		c.eku = "clientAuth";
		c.san = san;
		pki->leaves[i] = testpki_make_cert_ex(&c);
		if (key != pki->leaf_key)
			EVP_PKEY_free(key);
		key = NULL;
		pki->nleaves = i + 1;
		if (!pki->leaves[i] || set_der(&pki->leaf[i], pki->leaves[i]) < 0)
			goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "benchpki: cannot generate the PKI\n");
	ERR_print_errors_fp(stderr);
	benchpki_free(pki);
	return -1;
}

void benchpki_free(struct bench_pki *pki)
{
	for (size_t i = 0; i < pki->nleaves; i++) {
		if (pki->leaves)
			X509_free(pki->leaves[i]);
		if (pki->leaf)
			free(pki->leaf[i].der);
	}
	free(pki->leaves);
	free(pki->leaf);
	free(pki->chain);
	X509_free(pki->root);
	X509_free(pki->inter);
	EVP_PKEY_free(pki->root_key);
	EVP_PKEY_free(pki->inter_key);
	EVP_PKEY_free(pki->leaf_key);
	memset(pki, 0, sizeof(*pki));
}

static FILE *open_out(const char *dir, const char *name, int private)
{
	char path[4096];
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return NULL;
	f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "benchpki: %s: %s\n", path, strerror(errno));
	else if (private)
		chmod(path, 0600);
	return f;
}

static int close_out(FILE *f, int ok)
{
	if (fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

int benchpki_write(const struct bench_pki *pki, const char *dir, size_t list_size)
{
	EVP_PKEY *srv_key = NULL;
	X509 *srv = NULL;
	unsigned char rnd[32];
	char hex[65];
	FILE *f;
	int ok = 0;
	size_t i;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		fprintf(stderr, "benchpki: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (!(f = open_out(dir, "ca.pem", 0)) ||
	    close_out(f, PEM_write_X509(f, pki->root)) < 0)
		goto out;
	if (!(f = open_out(dir, "inter.pem", 0)) ||
	    close_out(f, PEM_write_X509(f, pki->inter)) < 0)
		goto out;
	if (!(f = open_out(dir, "chain.der", 0)) ||
	    close_out(f, fwrite(pki->chain, 1, pki->chain_len, f) == pki->chain_len) < 0)
		goto out;
	if (!(f = open_out(dir, "leaves.der", 0)))
		goto out;
	ok = 1;
	for (i = 0; i < pki->nleaves; i++)
		ok &= fwrite(pki->leaf[i].der, 1, pki->leaf[i].len, f) == pki->leaf[i].len;
	if (close_out(f, ok) < 0)
		goto out;
	ok = 0;

	/* the leaves first, then random digests nobody holds */
	if (!(f = open_out(dir, "allowed.txt", 0)))
		goto out;
	ok = fprintf(f, "# certspoa bench thumbprint list: %zu leaves + %zu random\n",
	             pki->nleaves, list_size > pki->nleaves ? list_size - pki->nleaves : 0) > 0;
	for (i = 0; i < pki->nleaves; i++) {
		benchpki_hex(pki->leaf[i].sha256, 32, hex);
		ok &= fprintf(f, "%s\n", hex) > 0;
	}
	for (; i < list_size && ok; i++) {
		ok &= RAND_bytes(rnd, sizeof(rnd)) == 1;
		benchpki_hex(rnd, 32, hex);
		ok &= fprintf(f, "%s\n", hex) > 0;
	}
	if (close_out(f, ok) < 0)
		goto out;
	ok = 0;

	if (pki->nleaves > 0) {
		if (!(f = open_out(dir, "client.pem", 1)) ||
		    close_out(f, PEM_write_X509(f, pki->leaves[0]) &&
		                 PEM_write_X509(f, pki->inter) &&
		                 PEM_write_PrivateKey(f, pki->leaf_key, NULL, NULL, 0,
		                                      NULL, NULL)) < 0)
			goto out;
		benchpki_hex(pki->leaf[0].sha256, 32, hex);
		if (!(f = open_out(dir, "leaf0.sha256", 0)) ||
		    close_out(f, fprintf(f, "%s\n", hex) > 0) < 0)
			goto out;
	}

	/* The TLS server side of the end-to-end runs: EC P-256, as most
	 * fronts use today; its handshake cost is the same in every scenario. */
	srv_key = testpki_make_key();
	if (srv_key) {
		struct testpki_cert c;

		memset(&c, 0, sizeof(c));
		c.subject = "/CN=localhost";
		c.key = srv_key;
		c.issuer = pki->root;
		c.issuer_key = pki->root_key;
		c.not_before = pki->now - DAY;
		c.not_after = pki->now + (int64_t)pki->days * DAY;
		c.eku = "serverAuth";
		c.san = "DNS:localhost,IP:127.0.0.1";
		srv = testpki_make_cert_ex(&c);
	}
	if (!srv || !(f = open_out(dir, "server.pem", 1)) ||
	    close_out(f, PEM_write_X509(f, srv) &&
	                 PEM_write_PrivateKey(f, srv_key, NULL, NULL, 0, NULL, NULL)) < 0)
		goto out;
	ok = 1;
out:
	X509_free(srv);
	EVP_PKEY_free(srv_key);
	if (!ok)
		fprintf(stderr, "benchpki: cannot write the PKI into %s\n", dir);
	return ok ? 0 : -1;
}

/* Length of the DER SEQUENCE at p (tag, length, contents), or 0. */
static size_t der_seq_len(const unsigned char *p, size_t left)
{
	size_t n, len = 0;

	if (left < 2 || p[0] != 0x30)
		return 0;
	if (p[1] < 0x80)
		len = p[1], n = 0;
	else {
		n = p[1] & 0x7f;
		if (n == 0 || n > 4 || left < 2 + n)
			return 0;
		for (size_t i = 0; i < n; i++)
			len = len << 8 | p[2 + i];
	}
	if (len > left - 2 - n)
		return 0;
	return 2 + n + len;
}

static int push(struct bench_der **out, size_t *n, const unsigned char *der, size_t len)
{
	struct bench_der *a = realloc(*out, (*n + 1) * sizeof(**out));

	if (!a)
		return -1;
	*out = a;
	a[*n].der = malloc(len);
	if (!a[*n].der)
		return -1;
	memcpy(a[*n].der, der, len);
	a[*n].len = len;
	if (!EVP_Digest(der, len, a[*n].sha256, NULL, EVP_sha256(), NULL))
		return -1;
	(*n)++;
	return 0;
}

int benchpki_load(const char *path, struct bench_der **out, size_t *n)
{
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0, k, before = *n;
	FILE *f = fopen(path, "rb");
	int ret = -1;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			unsigned char *b = realloc(buf, cap ? cap * 2 : 65536);

			if (!b)
				goto out;
			buf = b;
			cap = cap ? cap * 2 : 65536;
		}
		k = fread(buf + len, 1, cap - len, f);
		len += k;
		if (k == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		goto out;
	}
	if (len > 11 && memcmp(buf, "-----BEGIN ", 11) == 0) {
		BIO *bio = BIO_new_mem_buf(buf, (int)len);
		char *name = NULL, *header = NULL;
		unsigned char *data = NULL;
		long dlen;

		if (!bio)
			goto out;
		while (PEM_read_bio(bio, &name, &header, &data, &dlen)) {
			int bad = strcmp(name, "CERTIFICATE") == 0 &&
			          (der_seq_len(data, (size_t)dlen) != (size_t)dlen ||
			           push(out, n, data, (size_t)dlen) < 0);

			OPENSSL_free(name);
			OPENSSL_free(header);
			OPENSSL_free(data);
			if (bad) {
				BIO_free(bio);
				fprintf(stderr, "%s: bad CERTIFICATE block\n", path);
				goto out;
			}
		}
		ERR_clear_error();
		BIO_free(bio);
	} else {
		for (size_t off = 0; off < len; off += k) {
			k = der_seq_len(buf + off, len - off);
			if (k == 0) {
				fprintf(stderr, "%s: not DER at offset %zu\n", path, off);
				goto out;
			}
			if (push(out, n, buf + off, k) < 0)
				goto out;
		}
	}
	if (*n == before) {
		fprintf(stderr, "%s: no certificate found\n", path);
		goto out;
	}
	ret = 0;
out:
	fclose(f);
	free(buf);
	return ret;
}

unsigned char *benchpki_concat(const struct bench_der *c, size_t n, size_t *len)
{
	unsigned char *buf, *p;
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += c[i].len;
	buf = malloc(total ? total : 1);
	if (!buf)
		return NULL;
	p = buf;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, c[i].der, c[i].len);
		p += c[i].len;
	}
	*len = total;
	return buf;
}
