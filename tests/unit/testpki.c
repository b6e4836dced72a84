/* In-process test PKI: see testpki.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/conf.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "testpki.h"

EVP_PKEY *testpki_make_key(void)
{
	return EVP_EC_gen("P-256");
}

EVP_PKEY *testpki_make_rsa_key(unsigned int bits)
{
	return EVP_RSA_gen(bits);
}

EVP_PKEY *testpki_make_ec_key(const char *curve)
{
	return EVP_EC_gen(curve);
}

EVP_PKEY *testpki_make_ed25519_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

/* "/O=Example/CN=alice" -> X509_NAME with O first, then CN. */
static X509_NAME *parse_subject(const char *s)
{
	X509_NAME *name = X509_NAME_new();
	size_t cap = strlen(s) + 1, n;
	char *buf = malloc(cap), *field, *value;
	int ok = 0;

	if (!name || !buf)
		goto out;
	if (*s == '/')
		s++;
	while (*s) {
		/* copy one "field=value" RDN, unescaping '\' */
		n = 0;
		while (*s && *s != '/') {
			if (*s == '\\' && s[1])
				s++;
			buf[n++] = *s++;
		}
		buf[n] = '\0';
		if (*s == '/')
			s++;
		field = buf;
		value = strchr(buf, '=');
		if (!value)
			goto out;
		*value++ = '\0';
		if (!X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
		                                (const unsigned char *)value, -1, -1, 0))
			goto out;
	}
	ok = 1;
out:
	free(buf);
	if (!ok) {
		X509_NAME_free(name);
		name = NULL;
	}
	return name;
}

static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	int ok;

	if (!ex)
		return 0;
	ok = X509_add_ext(x, ex, -1);
	X509_EXTENSION_free(ex);
	return ok;
}

X509 *testpki_make_cert_ex(const struct testpki_cert *c)
{
	X509 *x = X509_new();
	X509_NAME *name = NULL;
	BIGNUM *bn = NULL;
	EVP_PKEY *signer = c->issuer ? c->issuer_key : c->key;
	const EVP_MD *md = EVP_sha256();
	CONF *conf = NULL;
	X509V3_CTX v3;
	int ok = 0;

	if (!x || !c->key || !signer)
		goto out;
	if (!X509_set_version(x, X509_VERSION_3))
		goto out;
	if (c->serial_hex) {
		if (!BN_hex2bn(&bn, c->serial_hex))
			goto out;
	} else {
		bn = BN_new();
		if (!bn || !BN_rand(bn, 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY))
			goto out;
	}
	if (!BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;

	if (c->subject_name)
		name = X509_NAME_dup(c->subject_name);
	else
		name = parse_subject(c->subject ? c->subject : "");
	if (!name || !X509_set_subject_name(x, name))
		goto out;
	if (!X509_set_issuer_name(x, c->issuer ? X509_get_subject_name(c->issuer) : name))
		goto out;
	if (!ASN1_TIME_set(X509_getm_notBefore(x), (time_t)c->not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)c->not_after))
		goto out;
	if (!X509_set_pubkey(x, c->key))
		goto out;

	X509V3_set_ctx(&v3, c->issuer ? c->issuer : x, x, NULL, NULL, 0);
	/* certificatePolicies wants a config database, even an empty one */
	conf = NCONF_new(NULL);
	if (!conf)
		goto out;
	X509V3_set_nconf(&v3, conf);
	if (!add_ext(x, &v3, NID_basic_constraints,
	             c->is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") ||
	    !add_ext(x, &v3, NID_key_usage,
	             c->is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") ||
	    !add_ext(x, &v3, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, &v3, NID_authority_key_identifier, "keyid:always"))
		goto out;
	if (c->eku && !add_ext(x, &v3, NID_ext_key_usage, c->eku))
		goto out;
	if (c->san && !add_ext(x, &v3, NID_subject_alt_name, c->san))
		goto out;
	if (c->policies && !add_ext(x, &v3, NID_certificate_policies, c->policies))
		goto out;
	if (EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED448)
		md = NULL;
	else if (c->md && !(md = EVP_get_digestbyname(c->md)))
		goto out;
	if (X509_sign(x, signer, md) <= 0)
		goto out;
	ok = 1;
out:
	NCONF_free(conf);
	BN_free(bn);
	X509_NAME_free(name);
	if (!ok) {
		ERR_print_errors_fp(stderr);
		X509_free(x);
		x = NULL;
	}
	return x;
}

X509 *testpki_make_cert(const char *subject, EVP_PKEY *key,
                        X509 *issuer, EVP_PKEY *issuer_key,
                        int64_t not_before, int64_t not_after,
                        int is_ca, const char *eku)
{
	struct testpki_cert c;

	memset(&c, 0, sizeof(c));
	c.subject = subject;
	c.key = key;
	c.issuer = issuer;
	c.issuer_key = issuer_key;
	c.not_before = not_before;
	c.not_after = not_after;
	c.is_ca = is_ca;
	c.eku = eku;
	return testpki_make_cert_ex(&c);
}

unsigned char *testpki_concat_der(X509 *const *certs, int n, size_t *len)
{
	unsigned char *buf = NULL, *p;
	size_t total = 0;
	int i, k;

	for (i = 0; i < n; i++) {
		k = i2d_X509(certs[i], NULL);
		if (k <= 0)
			return NULL;
		total += (size_t)k;
	}
	buf = malloc(total ? total : 1);
	if (!buf)
		return NULL;
	p = buf;
	for (i = 0; i < n; i++) {
		if (i2d_X509(certs[i], &p) <= 0) {
			free(buf);
			return NULL;
		}
	}
	*len = total;
	return buf;
}

unsigned char *testpki_to_der(X509 *x, size_t *len)
{
	return testpki_concat_der(&x, 1, len);
}

int testpki_write_pem(X509 *const *certs, int n, char *path, size_t pathlen)
{
	char tmpl[] = "/tmp/certspoa-pki-XXXXXX";
	FILE *f;
	int fd, i, ok = 1;

	fd = mkstemp(tmpl);
	if (fd == -1)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmpl);
		return -1;
	}
	for (i = 0; i < n; i++)
		ok &= PEM_write_X509(f, certs[i]);
	if (fclose(f) != 0 || !ok) {
		unlink(tmpl);
		return -1;
	}
	snprintf(path, pathlen, "%s", tmpl);
	return 0;
}
