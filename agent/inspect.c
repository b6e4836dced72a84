/* certspoa inspect: what a policy can match on, for each certificate in
 * PEM, DER or PKCS#12 files. The values are the ones the agent computes
 * (cert_get_facts, cert_get_ext), so what is printed is what rules see:
 *
 *   file:          alice.pem
 *   cert:          1 of 2
 *   subject:       CN=alice,O=Example
 *   subject_canon: O=example/CN=alice
 *   ...
 *   san:           DNS:alice.example.com
 *
 * One "key: value" per line, values aligned; a blank line between
 * certificates. Bytes that could drive a terminal are printed as \xHH. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "inspect.h"
#include "lists.h"
#include "sbuf.h"

#define INSPECT_MAX_CERTS  512   /* per file */
#define INSPECT_KEY_WIDTH  15    /* "subject_canon: " */

static const char *const san_prefix[CERT_SAN_TYPES] = {
	[CERT_SAN_DNS]   = "DNS:",
	[CERT_SAN_URI]   = "URI:",
	[CERT_SAN_EMAIL] = "email:",
	[CERT_SAN_IP]    = "IP:",
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: certspoa inspect [--json] FILE [FILE...]\n"
	        "\n"
	        "Print what a policy can match on for every certificate in the files:\n"
	        "names (RFC 2253 and canonical), serial, SHA-1 and SHA-256 thumbprints,\n"
	        "SPKI pin, validity, key, signature, EKU, policies, SANs, SPIFFE ID, CN.\n"
	        "spki_pin is the SHA-256 of the canonical SubjectPublicKeyInfo (an EC\n"
	        "point uncompressed, its curve by name), the value *_spki_pins match;\n"
	        "spki_pin_as_encoded shows the certificate's own encoding when it differs.\n"
	        "Files are PEM (one or more certificates), DER (one) or PKCS#12; a\n"
	        "PKCS#12 password comes from CERTSPOA_P12_PASSWORD, else from the terminal.\n"
	        "--json prints a JSON array, one object per certificate (san and cn as\n"
	        "arrays, days_left a number, bytes >= 0x80 as \\xHH).\n"
	        "\n"
	        "Exit status: 0; 65 a file is not a readable certificate; 66 a file is\n"
	        "missing or cannot be opened; 64 usage.\n");
}

/* --json: each certificate is one object of a JSON array, its fields as
 * strings in the order printed, "san" and "cn" as arrays (they repeat). */
static struct {
	int on;
	int certs;                 /* objects printed so far */
	struct sbuf obj, sans, cns;
} js;

/* s (n bytes) with control bytes, DEL, '\' and, if ascii, bytes >= 0x80
 * as \xHH, into b (NUL-terminated). */
static void display(struct sbuf *b, const char *s, size_t n, int ascii)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (ascii && c >= 0x80))
			sbuf_printf(b, "\\x%02x", c);
		else
			sbuf_put(b, s + i, 1);
	}
	sbuf_put(b, "", 1);
}

/* "key:" padded to the value column, then s (n bytes) as display() shows
 * it; under --json, a member of the certificate's object. */
static void field_n(const char *key, const char *s, size_t n, int ascii)
{
	size_t klen = strlen(key);
	struct sbuf v = { 0 };

	/* JSON strings must be UTF-8: every byte >= 0x80 shown as \xHH there */
	display(&v, s, n, ascii || js.on);
	if (v.failed || !v.p) {
		free(v.p);
		return;
	}
	if (!js.on) {
		printf("%s:%*s%s\n", key, klen + 1 < INSPECT_KEY_WIDTH ? (int)(INSPECT_KEY_WIDTH - klen - 1) : 1,
		       "", v.p);
	} else {
		struct sbuf *to = strcmp(key, "san") == 0 ? &js.sans : strcmp(key, "cn") == 0 ? &js.cns : &js.obj;

		if (to == &js.obj)
			sbuf_printf(to, "%s\"%s\":\"", to->len ? "," : "", key);
		else
			sbuf_puts(to, to->len ? ",\"" : "\"");
		sbuf_json(to, v.p);
		sbuf_puts(to, "\"");
	}
	free(v.p);
}

/* Under --json: start a certificate's object / print it. */
static void json_begin(void)
{
	js.obj.len = js.sans.len = js.cns.len = 0;
}

/* A number: "key: N", or under --json a JSON number. */
static void field_num(const char *key, long long n)
{
	char buf[32];

	if (js.on) {
		sbuf_printf(&js.obj, "%s\"%s\":%lld", js.obj.len ? "," : "", key, n);
		return;
	}
	snprintf(buf, sizeof(buf), "%lld", n);
	field_n(key, buf, strlen(buf), 0);
}

static void json_end(void)
{
	if (!js.on)
		return;
	printf("%s{%.*s,\"san\":[%.*s],\"cn\":[%.*s]}", js.certs++ ? ",\n" : "", (int)js.obj.len,
	       js.obj.p ? js.obj.p : "", (int)js.sans.len, js.sans.p ? js.sans.p : "",
	       (int)js.cns.len, js.cns.p ? js.cns.p : "");
}

static void field(const char *key, const char *s)
{
	field_n(key, s, strlen(s), 0);
}

static void field_fmt(const char *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void field_fmt(const char *key, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	field(key, buf);
}

/* Names of an OID for the eku line: OpenSSL's short name, else dotted. */
static void obj_name(const ASN1_OBJECT *o, char *buf, size_t len)
{
	int nid = OBJ_obj2nid(o);
	const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;

	if (sn)
		snprintf(buf, len, "%s", sn);
	else if (OBJ_obj2txt(buf, (int)len, o, 1) <= 0)
		snprintf(buf, len, "?");
}

/* The EKU OIDs in certificate order (the cert_ext bits say which of them
 * the rules know by name). */
static void print_eku(X509 *x, const struct cert_ext *e)
{
	EXTENDED_KEY_USAGE *eku;
	char line[1024], name[128];
	size_t o = 0;
	int i, k;

	if (!(e->eku & CERT_EKU_PRESENT)) {
		field("eku", "(absent)");
		return;
	}
	line[0] = '\0';
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		obj_name(sk_ASN1_OBJECT_value(eku, i), name, sizeof(name));
		k = snprintf(line + o, sizeof(line) - o, "%s%s", i ? ", " : "", name);
		if (k < 0 || (size_t)k >= sizeof(line) - o)
			break;
		o += (size_t)k;
	}
	EXTENDED_KEY_USAGE_free(eku);
	field("eku", line[0] ? line : "(empty)");
}

static void print_policies(const struct cert_ext *e)
{
	char line[2048];
	size_t o = 0;
	int i, k;

	if (e->npolicies == 0) {
		field("policies", "(none)");
		return;
	}
	line[0] = '\0';
	for (i = 0; i < e->npolicies; i++) {
		k = snprintf(line + o, sizeof(line) - o, "%s%s", i ? ", " : "", e->policies[i]);
		if (k < 0 || (size_t)k >= sizeof(line) - o)
			break;
		o += (size_t)k;
	}
	if (i < e->npolicies && o < sizeof(line))
		snprintf(line + o, sizeof(line) - o, ", ... (%d in all, every one matched)", e->npolicies);
	field("policies", line);
}

static void print_key(const struct cert_ext *e)
{
	if (e->key_bits <= 0)
		field_fmt("key", "%s (not a key type OpenSSL can load)", e->key_name);
	else if (e->curve[0])
		field_fmt("key", "%s %s %d bits", e->key_name, e->curve, e->key_bits);
	else
		field_fmt("key", "%s %d bits", e->key_name, e->key_bits);
}

/* The pin of the SPKI exactly as the certificate encodes it. */
static int raw_spki_pin(X509 *x, char out[45])
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der), ok;

	ok = n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) && mdlen == 32;
	OPENSSL_free(der);
	if (!ok)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, md, 32);
	return 0;
}

static int inspect_cert(const char *path, int idx, int n, X509 *x, int64_t now)
{
	struct cert_facts f;
	struct cert_ext *e = NULL;
	unsigned char *der = NULL;
	char buf[65];
	const char *md;
	int len, i, rc = EX_OK;

	json_begin();
	field("file", path);
	field_fmt("cert", "%d of %d", idx + 1, n);
	len = i2d_X509(x, &der);
	if (len <= 0 || cert_get_facts(x, der, (size_t)len, &f) < 0) {
		fprintf(stderr, "certspoa inspect: %s: certificate %d: unreadable name, serial "
		        "or validity\n", path, idx + 1);
		rc = EX_DATAERR;
		goto out;
	}
	e = cert_get_ext(x);
	field("subject", f.subject);
	if (e)
		field("subject_canon", e->subject_canon);
	field("issuer", f.issuer);
	if (e)
		field("issuer_canon", e->issuer_canon);
	field("serial", f.serial);
	{
		char der_hex[2 * SERIAL_MAX_OCTETS + 4];

		/* what *_serials entries are compared on (lists.h) */
		if (lists_norm_serial(f.serial, strlen(f.serial), der_hex, sizeof(der_hex)))
			field("serial_der", der_hex);
	}
	field("sha1", f.sha1_hex);
	field("sha256", f.sha256_hex);
	if (e) {
		char raw[45];

		/* the pin policies match: over the canonical SPKI (EC point
		 * uncompressed, curve by name), not the bytes as encoded */
		field("spki_pin", e->spki_pin);
		cert_hex(e->spki_sha256, sizeof(e->spki_sha256), buf);
		field("spki_sha256", buf);
		if (raw_spki_pin(x, raw) == 0 && strcmp(raw, e->spki_pin) != 0)
			field_fmt("spki_pin_as_encoded", "%s (this certificate's own encoding of the key; "
			          "pins match spki_pin)", raw);
	}
	cert_time_iso8601(f.not_before, buf, sizeof(buf));
	field("not_before", buf);
	cert_time_iso8601(f.not_after, buf, sizeof(buf));
	field("not_after", buf);
	field_num("days_left", cert_days_until(f.not_after, now));
	if (!e) {
		fprintf(stderr, "certspoa inspect: %s: certificate %d: unreadable extensions "
		        "(a malformed or repeated SAN, EKU or policies extension, a NUL inside "
		        "a name, or an IP address that is not 4 or 16 bytes)\n", path, idx + 1);
		rc = EX_DATAERR;
		goto out;
	}
	print_key(e);
	field("signature", e->sig_alg);
	md = e->sig_md_nid != NID_undef ? OBJ_nid2ln(e->sig_md_nid) : NULL;
	field("sig_digest", md ? md : "(none)");
	print_eku(x, e);
	print_policies(e);
	field("is_ca", e->is_ca ? "yes" : "no");
	for (i = 0; i < e->nsans; i++) {
		char line[4096];
		int k = snprintf(line, sizeof(line), "%s", san_prefix[e->sans[i].type]);
		size_t vlen = strlen(e->sans[i].value);

		if (k < 0 || (size_t)k + vlen >= sizeof(line)) {
			field_fmt("san", "%s(%zu bytes, too long to show)",
			          san_prefix[e->sans[i].type], vlen);
			continue;
		}
		memcpy(line + k, e->sans[i].value, vlen);
		field_n("san", line, (size_t)k + vlen, 1);
	}
	if (e->san_total > CERT_SANS_KEEP_MAX)
		field_fmt("sans", "%d (more than %d: not kept, every policy denies it)", e->san_total,
		          CERT_SANS_KEEP_MAX);
	if (e->spiffe_id)
		field_n("spiffe_id", e->spiffe_id, strlen(e->spiffe_id), 1);
	if (e->nspiffe > 1)
		field_fmt("spiffe_ids", "%d (invalid: an X.509-SVID has one)", e->nspiffe);
	for (i = 0; i < e->ncns; i++)
		if (e->cns[i][0])
			field("cn", e->cns[i]);
out:
	json_end();
	cert_ext_free(e);
	OPENSSL_free(der);
	return rc;
}

static int inspect_file(const char *path, int64_t now, int *first)
{
	X509 **certs = NULL;
	char err[1024];
	struct stat sb;
	int fd, n, i, r, rc = EX_OK;

	/* missing or unopenable: EX_NOINPUT; everything after that: EX_DATAERR */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &sb) == -1 || S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "certspoa inspect: %s: %s\n", path,
		        fd == -1 ? strerror(errno) : strerror(EISDIR));
		if (fd != -1)
			close(fd);
		return EX_NOINPUT;
	}
	close(fd);
	certs = calloc(INSPECT_MAX_CERTS, sizeof(*certs));
	if (!certs) {
		fprintf(stderr, "certspoa inspect: out of memory\n");
		return EX_OSERR;
	}
	n = cert_read_file(path, certs, INSPECT_MAX_CERTS, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "certspoa inspect: %s\n", err);
		rc = EX_DATAERR;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!*first && !js.on)
			putchar('\n');
		*first = 0;
		r = inspect_cert(path, i, n, certs[i], now);
		if (r != EX_OK && rc == EX_OK)
			rc = r;
	}
	if (n == INSPECT_MAX_CERTS)
		fprintf(stderr, "certspoa inspect: %s: only the first %d certificates shown\n",
		        path, INSPECT_MAX_CERTS);
out:
	for (i = 0; i < n; i++)
		X509_free(certs[i]);
	free(certs);
	return rc;
}

int inspect_main(int argc, char **argv)
{
	OSSL_PROVIDER *legacy;
	int i, r, rc = EX_OK, first = 1, files = 0, opts = 1;

	for (i = 1; i < argc; i++) {
		if (opts && (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)) {
			usage(stdout);
			return EX_OK;
		}
		if (opts && strcmp(argv[i], "--") == 0) {
			opts = 0;
			continue;
		}
		if (opts && strcmp(argv[i], "--json") == 0) {
			js.on = 1;
			continue;
		}
		if (opts && argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "certspoa inspect: unknown option %s\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		}
		files++;
	}
	if (files == 0) {
		usage(stderr);
		return EX_USAGE;
	}
	/* PKCS#12 files from older tools use RC2 and 3DES; harmless if absent */
	legacy = OSSL_PROVIDER_try_load(NULL, "legacy", 1);
	ERR_clear_error();
	opts = 1;
	if (js.on)
		putchar('[');
	for (i = 1; i < argc; i++) {
		if (opts && strcmp(argv[i], "--") == 0) {
			opts = 0;
			continue;
		}
		if (opts && strcmp(argv[i], "--json") == 0)
			continue;
		r = inspect_file(argv[i], (int64_t)time(NULL), &first);
		if (r != EX_OK && rc == EX_OK)
			rc = r;
	}
	if (js.on) {
		puts("]");
		free(js.obj.p);
		free(js.sans.p);
		free(js.cns.p);
	}
	if (legacy)
		OSSL_PROVIDER_unload(legacy);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "certspoa inspect: writing the output: %s\n", strerror(errno));
		if (rc == EX_OK)
			rc = EX_IOERR;
	}
	return rc;
}
