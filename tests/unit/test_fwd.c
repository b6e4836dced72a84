/* Forwarded-certificate decoders (agent/fwd.c).
 *
 * The certificates are real ones made in-process by testpki.c; each value
 * is written here the way the upstream that sends it writes it (small
 * encoders below: RFC 9440 sf-binary, Envoy's XFCC, nginx's and AWS ALB's
 * URL-encoded PEM, IIS ARR's base64), and the decoded bytes must equal the
 * DER exactly. Every malformed value must give its exact fwd_error, and
 * no call may write past the capacity it was given. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "cert.h"
#include "fwd.h"
#include "testhelp.h"
#include "testpki.h"

#define NOW        INT64_C(2000000000)
#define DAY        INT64_C(86400)
#define CHAIN_MAX  16               /* FWD_CHAIN_MAX in fwd.c */
#define TXT_MAX    (4 * FWD_HEADER_MAX)

/* ---- certificates ------------------------------------------------------ */

struct der {
	unsigned char *p;
	size_t len;
};

static struct {
	int ready;
	struct der root, inter, leaf, other;
} fx;

static int make_der(X509 *x, struct der *d)
{
	d->p = x ? testpki_to_der(x, &d->len) : NULL;
	X509_free(x);
	return d->p ? 0 : -1;
}

/* Root -> intermediate -> leaf (alice), and an unrelated leaf (bob).
 * Made once; freed at exit. */
static int fixture(void)
{
	EVP_PKEY *rk, *ik, *lk, *ok;
	X509 *root = NULL, *inter = NULL;
	int rc = -1;

	if (fx.ready)
		return 0;
	rk = testpki_make_key();
	ik = testpki_make_key();
	lk = testpki_make_key();
	ok = testpki_make_key();
	if (!rk || !ik || !lk || !ok)
		goto out;
	root = testpki_make_cert("/O=Example/CN=Fwd Root", rk, NULL, NULL,
	                         NOW - 30 * DAY, NOW + 3650 * DAY, 1, NULL);
	inter = testpki_make_cert("/O=Example/CN=Fwd Intermediate", ik, root, rk,
	                          NOW - 30 * DAY, NOW + 365 * DAY, 1, NULL);
	if (!root || !inter)
		goto out;
	if (make_der(testpki_make_cert("/O=Example/CN=alice", lk, inter, ik,
	                               NOW - DAY, NOW + DAY, 0, "clientAuth"), &fx.leaf) < 0 ||
	    make_der(testpki_make_cert("/O=Example/CN=bob", ok, inter, ik,
	                               NOW - DAY, NOW + DAY, 0, "clientAuth"), &fx.other) < 0 ||
	    make_der(X509_dup(inter), &fx.inter) < 0 || make_der(X509_dup(root), &fx.root) < 0)
		goto out;
	fx.ready = 1;
	rc = 0;
out:
	X509_free(root);
	X509_free(inter);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(ok);
	if (rc < 0)
		fprintf(stderr, "  test_fwd: cannot make the test certificates\n");
	return rc;
}

__attribute__((destructor)) static void fixture_free(void)
{
	free(fx.root.p);
	free(fx.inter.p);
	free(fx.leaf.p);
	free(fx.other.p);
}

/* ---- encoders, as the upstreams write ---------------------------------- */

/* A growing text; overflow is a test bug and aborts. */
struct txt {
	char s[TXT_MAX];
	size_t len;
};

static void add(struct txt *t, const char *s, size_t n)
{
	if (n >= sizeof(t->s) - t->len)
		abort();
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void adds(struct txt *t, const char *s)
{
	add(t, s, strlen(s));
}

static void reset(struct txt *t)
{
	t->len = 0;
	t->s[0] = '\0';
}

/* RFC 4648 base64, with or without '=' padding. */
static void add_b64(struct txt *t, const unsigned char *in, size_t n, int pad)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		char q[4] = { a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63] };

		add(t, q, 4);
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		char q[4] = { a[v >> 18], a[(v >> 12) & 63], '=', '=' };

		add(t, q, pad ? 4 : 2);
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		char q[4] = { a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], '=' };

		add(t, q, pad ? 4 : 3);
	}
}

/* PEM as OpenSSL's PEM_write_bio_X509 writes it (width 64, "\n"), or with
 * another width and line end. */
static void add_pem_ex(struct txt *t, const struct der *d, size_t width, const char *eol)
{
	static struct txt b;

	reset(&b);
	add_b64(&b, d->p, d->len, 1);
	adds(t, "-----BEGIN CERTIFICATE-----");
	adds(t, eol);
	for (size_t i = 0; i < b.len; i += width) {
		add(t, b.s + i, b.len - i < width ? b.len - i : width);
		adds(t, eol);
	}
	adds(t, "-----END CERTIFICATE-----");
	adds(t, eol);
}

static void add_pem(struct txt *t, const struct der *d)
{
	add_pem_ex(t, d, 64, "\n");
}

/* Percent-encode: every byte but ALPHA / DIGIT / "-._~" and those in keep.
 *   nginx $ssl_client_escaped_cert (ngx_escape_uri, URI component): keep ""
 *   AWS ALB X-Amzn-Mtls-Clientcert: keep "+=/"                          */
static void add_pct(struct txt *t, const char *s, size_t n, const char *keep, int lower)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[4];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || (c && strchr(keep, c))) {
			add(t, (const char *)&c, 1);
			continue;
		}
		snprintf(e, sizeof(e), lower ? "%%%02x" : "%%%02X", c);
		add(t, e, 3);
	}
}

/* Envoy's urlEncodedPemEncodedPeerCertificate(): PEM with only "\n", " ",
 * "+", "/" and "=" replaced (%0A %20 %2B %2F %3D). */
static void add_envoy_pem(struct txt *t, const struct der *d)
{
	static struct txt p;

	reset(&p);
	add_pem(&p, d);
	for (size_t i = 0; i < p.len; i++) {
		switch (p.s[i]) {
		case '\n': adds(t, "%0A"); break;
		case ' ':  adds(t, "%20"); break;
		case '+':  adds(t, "%2B"); break;
		case '/':  adds(t, "%2F"); break;
		case '=':  adds(t, "%3D"); break;
		default:   add(t, p.s + i, 1); break;
		}
	}
}

static void add_sf(struct txt *t, const struct der *d)
{
	adds(t, ":");
	add_b64(t, d->p, d->len, 1);
	adds(t, ":");
}

static void add_hash(struct txt *t, const struct der *d)
{
	unsigned char h[32];
	char hex[65];

	cert_sha256(d->p, d->len, h);
	cert_hex(h, sizeof(h), hex);
	adds(t, hex);
}

/* One XFCC element as Envoy writes it with set_current_client_cert_details
 * {subject, cert, chain, dns, uri}: By, Hash, Cert, Chain (leaf included),
 * Subject, URI, DNS. chain may be NULL. */
static void add_xfcc(struct txt *t, const struct der *leaf, const struct der *chain, int n)
{
	adds(t, "By=spiffe://example.org/ns/edge/sa/envoy;Hash=");
	add_hash(t, leaf);
	adds(t, ";Cert=\"");
	add_envoy_pem(t, leaf);
	adds(t, "\"");
	if (chain) {
		adds(t, ";Chain=\"");
		add_envoy_pem(t, leaf);
		for (int i = 0; i < n; i++)
			add_envoy_pem(t, &chain[i]);
		adds(t, "\"");
	}
	adds(t, ";Subject=\"CN=alice,O=Example\";URI=spiffe://example.org/alice;DNS=alice.example");
}

/* ---- decoding ---------------------------------------------------------- */

/* Output space with a guard zone after cap: nothing may be written there. */
#define GUARD 64
static unsigned char obuf[2 * FWD_HEADER_MAX + GUARD];

static enum fwd_error dec_cap(enum fwd_format f, const char *v, size_t vlen,
                              const char *c, size_t clen, size_t cap, struct fwd_cert *out)
{
	enum fwd_error e;
	int guard_ok = 1;

	memset(obuf, 0xa5, cap + GUARD);
	e = fwd_decode(f, v, vlen, c, clen, obuf, cap, out);
	for (size_t i = cap; i < cap + GUARD; i++)
		if (obuf[i] != 0xa5)
			guard_ok = 0;
	if (!guard_ok)
		unit_fail(__FILE__, __LINE__, "fwd_decode wrote past cap %zu", cap);
	if (e != FWD_OK && (out->der || out->der_len || out->chain || out->chain_len))
		unit_fail(__FILE__, __LINE__, "partial result on error %d", (int)e);
	return e;
}

static enum fwd_error dec(enum fwd_format f, const char *v, const char *c, struct fwd_cert *out)
{
	return dec_cap(f, v, strlen(v), c, c ? strlen(c) : 0, FWD_HEADER_MAX, out);
}

static enum fwd_error dec_t(enum fwd_format f, const struct txt *v, const struct txt *c,
                            struct fwd_cert *out)
{
	return dec_cap(f, v->s, v->len, c ? c->s : NULL, c ? c->len : 0, FWD_HEADER_MAX, out);
}

static int same(const unsigned char *p, size_t n, const struct der *d)
{
	return p && n == d->len && memcmp(p, d->p, n) == 0;
}

/* The chain holds exactly these certificates, in order. */
static int chain_is(const struct fwd_cert *c, const struct der *d, int n)
{
	size_t off = 0;

	for (int i = 0; i < n; i++) {
		if (c->chain_len - off < d[i].len || memcmp(c->chain + off, d[i].p, d[i].len) != 0)
			return 0;
		off += d[i].len;
	}
	return off == c->chain_len;
}

/* The result lies in obuf: leaf first, chain right after it. */
static int layout_ok(const struct fwd_cert *c, size_t cap)
{
	return c->der == obuf && c->der_len > 0 && c->chain == obuf + c->der_len &&
	       c->der_len + c->chain_len <= cap;
}

static struct txt hv, hc, hw;   /* header value, chain value, scratch */

/* ---- names ------------------------------------------------------------- */

TEST(fwd_names)
{
	static const char *const names[] = { "rfc9440", "xfcc", "pem-urlencoded", "base64-der" };

	for (int f = 0; f < FWD_FORMATS; f++) {
		CHECK_EQ_STR(fwd_format_name((enum fwd_format)f), names[f]);
		CHECK_EQ_STR(fwd_format_names[f], names[f]);
	}
	CHECK(fwd_format_names[FWD_FORMATS] == NULL);
	CHECK_EQ_STR(fwd_format_name(FWD_FORMATS), "unknown");
	for (int e = 0; e < FWD_ERRORS; e++) {
		const char *s = fwd_error_str((enum fwd_error)e);

		CHECK(s && *s && strcmp(s, "unknown error") != 0);
	}
	CHECK_EQ_STR(fwd_error_str(FWD_ERRORS), "unknown error");
	CHECK_EQ_STR(fwd_error_str(FWD_OK), "ok");
}

/* ---- RFC 9440 ---------------------------------------------------------- */

TEST(fwd_rfc9440_leaf)
{
	struct fwd_cert out;

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}
	reset(&hv);
	add_sf(&hv, &fx.leaf);
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));
	CHECK_EQ_INT(out.chain_len, 0);
	CHECK(layout_ok(&out, FWD_HEADER_MAX));

	/* surrounding SP; an absent, empty or all-SP chain is no chain */
	reset(&hv);
	adds(&hv, "   ");
	add_sf(&hv, &fx.leaf);
	adds(&hv, "  ");
	CHECK_EQ_INT(dec(FWD_RFC9440, hv.s, "", &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));
	CHECK_EQ_INT(dec(FWD_RFC9440, hv.s, "   ", &out), FWD_OK);
	CHECK_EQ_INT(out.chain_len, 0);
	/* a non-NULL pointer with length 0 */
	CHECK_EQ_INT(dec_cap(FWD_RFC9440, hv.s, hv.len, "junk", 0, FWD_HEADER_MAX, &out), FWD_OK);
}

TEST(fwd_rfc9440_chain)
{
	struct der both[2];
	struct fwd_cert out;

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}
	both[0] = fx.inter;
	both[1] = fx.root;
	reset(&hv);
	add_sf(&hv, &fx.leaf);

	reset(&hc);
	add_sf(&hc, &fx.inter);
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hv, &hc, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));
	CHECK(chain_is(&out, both, 1));
	CHECK(layout_ok(&out, FWD_HEADER_MAX));

	/* as serialized (", ") and with all the OWS the list grammar allows */
	reset(&hc);
	add_sf(&hc, &fx.inter);
	adds(&hc, ", ");
	add_sf(&hc, &fx.root);
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hv, &hc, &out), FWD_OK);
	CHECK(chain_is(&out, both, 2));
	reset(&hc);
	adds(&hc, "  ");
	add_sf(&hc, &fx.inter);
	adds(&hc, " \t,\t  ");
	add_sf(&hc, &fx.root);
	adds(&hc, " ");
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hv, &hc, &out), FWD_OK);
	CHECK(chain_is(&out, both, 2));
	reset(&hc);
	add_sf(&hc, &fx.inter);
	adds(&hc, ",");
	add_sf(&hc, &fx.root);
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hv, &hc, &out), FWD_OK);
	CHECK(chain_is(&out, both, 2));
}

TEST(fwd_rfc9440_malformed)
{
	struct fwd_cert out;
	char ok[4096];

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}
	reset(&hv);
	add_sf(&hv, &fx.leaf);
	snprintf(ok, sizeof(ok), "%s", hv.s);

	CHECK_EQ_INT(dec(FWD_RFC9440, "", NULL, &out), FWD_ERR_EMPTY);
	CHECK_EQ_INT(dec(FWD_RFC9440, "    ", NULL, &out), FWD_ERR_EMPTY);
	CHECK_EQ_INT(dec(FWD_RFC9440, "::", NULL, &out), FWD_ERR_EMPTY);
	CHECK_EQ_INT(dec_cap(FWD_RFC9440, NULL, 5, NULL, 0, FWD_HEADER_MAX, &out), FWD_ERR_EMPTY);
	CHECK_EQ_INT(dec(FWD_RFC9440, "  ", "  ", &out), FWD_ERR_EMPTY);
	/* RFC 9440 section 2.3: no Client-Cert-Chain without a Client-Cert */
	CHECK_EQ_INT(dec(FWD_RFC9440, "", ":TUlJ:", &out), FWD_ERR_CHAIN);
	CHECK_EQ_INT(dec(FWD_RFC9440, "::", ":TUlJ:", &out), FWD_ERR_CHAIN);
	CHECK_EQ_INT(dec_cap(FWD_RFC9440, NULL, 0, ":TUlJ:", 6, FWD_HEADER_MAX, &out), FWD_ERR_CHAIN);

	/* missing colons */
	CHECK_EQ_INT(dec(FWD_RFC9440, ok + 1, NULL, &out), FWD_ERR_SYNTAX);
	reset(&hw);
	add(&hw, ok, strlen(ok) - 1);
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hw, NULL, &out), FWD_ERR_SYNTAX);
	reset(&hw);
	add(&hw, ok + 1, strlen(ok) - 2);
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hw, NULL, &out), FWD_ERR_SYNTAX);
	CHECK_EQ_INT(dec(FWD_RFC9440, ":", NULL, &out), FWD_ERR_SYNTAX);

	/* parameters, a second item, anything after the item */
	reset(&hw);
	adds(&hw, ok);
	adds(&hw, ";a=b");
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hw, NULL, &out), FWD_ERR_SYNTAX);
	reset(&hw);
	adds(&hw, ok);
	adds(&hw, ";a");
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hw, NULL, &out), FWD_ERR_SYNTAX);
	reset(&hw);
	adds(&hw, ok);
	adds(&hw, ", ");
	adds(&hw, ok);
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hw, NULL, &out), FWD_ERR_SYNTAX);
	reset(&hw);
	adds(&hw, ok);
	adds(&hw, "x");
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hw, NULL, &out), FWD_ERR_SYNTAX);
	/* tab is not SP: RFC 8941 discards SP only around the field */
	reset(&hw);
	adds(&hw, "\t");
	adds(&hw, ok);
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hw, NULL, &out), FWD_ERR_SYNTAX);
	reset(&hw);
	adds(&hw, ok);
	adds(&hw, "\t");
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hw, NULL, &out), FWD_ERR_SYNTAX);
	/* other structured types */
	CHECK_EQ_INT(dec(FWD_RFC9440, "\"TUlJ\"", NULL, &out), FWD_ERR_SYNTAX);
	CHECK_EQ_INT(dec(FWD_RFC9440, "(:TUlJ:)", NULL, &out), FWD_ERR_SYNTAX);

	/* bad base64 inside the colons */
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TU!J:", NULL, &out), FWD_ERR_BASE64);
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TU J:", NULL, &out), FWD_ERR_BASE64);
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TU-_:", NULL, &out), FWD_ERR_BASE64);   /* URL-safe */
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TQ:", NULL, &out), FWD_ERR_BASE64);     /* no padding */
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TUk:", NULL, &out), FWD_ERR_BASE64);
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TQ=:", NULL, &out), FWD_ERR_BASE64);    /* short padding */
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TQ===:", NULL, &out), FWD_ERR_BASE64);
	CHECK_EQ_INT(dec(FWD_RFC9440, ":T===:", NULL, &out), FWD_ERR_BASE64);
	CHECK_EQ_INT(dec(FWD_RFC9440, ":====:", NULL, &out), FWD_ERR_BASE64);
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TQ==TUlJ:", NULL, &out), FWD_ERR_BASE64); /* data after '=' */
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TR==:", NULL, &out), FWD_ERR_BASE64);   /* pad bits set */
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TUl=:", NULL, &out), FWD_ERR_BASE64);
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TUJ=:", NULL, &out), FWD_ERR_BASE64);
	CHECK_EQ_INT(dec(FWD_RFC9440, ":T:", NULL, &out), FWD_ERR_BASE64);
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TQ==:", NULL, &out), FWD_OK);           /* canonical 'M' */
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TUk=:", NULL, &out), FWD_OK);
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TUlJ:", NULL, &out), FWD_OK);
}

TEST(fwd_rfc9440_chain_malformed)
{
	struct fwd_cert out;

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}
	reset(&hv);
	add_sf(&hv, &fx.leaf);
	reset(&hw);
	add_sf(&hw, &fx.inter);

	/* every error in the chain is FWD_ERR_CHAIN */
	reset(&hc);
	adds(&hc, hw.s);
	adds(&hc, ";a=b");
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hv, &hc, &out), FWD_ERR_CHAIN);
	reset(&hc);
	adds(&hc, hw.s);
	adds(&hc, ";a=b, ");
	adds(&hc, hw.s);
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hv, &hc, &out), FWD_ERR_CHAIN);
	reset(&hc);
	adds(&hc, hw.s);
	adds(&hc, ",");
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hv, &hc, &out), FWD_ERR_CHAIN);   /* trailing comma */
	reset(&hc);
	adds(&hc, hw.s);
	adds(&hc, ", ,");
	adds(&hc, hw.s);
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hv, &hc, &out), FWD_ERR_CHAIN);   /* empty member */
	reset(&hc);
	adds(&hc, ",");
	adds(&hc, hw.s);
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hv, &hc, &out), FWD_ERR_CHAIN);
	reset(&hc);
	adds(&hc, hw.s);
	adds(&hc, " ");
	adds(&hc, hw.s);
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hv, &hc, &out), FWD_ERR_CHAIN);   /* no comma */
	CHECK_EQ_INT(dec(FWD_RFC9440, hv.s, "::", &out), FWD_ERR_CHAIN);
	CHECK_EQ_INT(dec(FWD_RFC9440, hv.s, ":TU!J:", &out), FWD_ERR_CHAIN);
	CHECK_EQ_INT(dec(FWD_RFC9440, hv.s, ":TQ:", &out), FWD_ERR_CHAIN);
	CHECK_EQ_INT(dec(FWD_RFC9440, hv.s, "TUlJ", &out), FWD_ERR_CHAIN);
	CHECK_EQ_INT(dec(FWD_RFC9440, hv.s, ":TUlJ", &out), FWD_ERR_CHAIN);
	CHECK_EQ_INT(dec(FWD_RFC9440, hv.s, "(:TUlJ:)", &out), FWD_ERR_CHAIN);
	/* the leaf's own error comes first */
	CHECK_EQ_INT(dec(FWD_RFC9440, ":TU!J:", "::", &out), FWD_ERR_BASE64);
}

TEST(fwd_rfc9440_chain_limit)
{
	struct der many[CHAIN_MAX + 1];
	struct fwd_cert out;

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}
	for (int i = 0; i <= CHAIN_MAX; i++)
		many[i] = (i & 1) ? fx.root : fx.inter;
	reset(&hv);
	add_sf(&hv, &fx.leaf);
	reset(&hc);
	for (int i = 0; i < CHAIN_MAX; i++) {
		if (i)
			adds(&hc, ", ");
		add_sf(&hc, &many[i]);
	}
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hv, &hc, &out), FWD_OK);
	CHECK(chain_is(&out, many, CHAIN_MAX));
	adds(&hc, ", ");
	add_sf(&hc, &many[CHAIN_MAX]);
	CHECK_EQ_INT(dec_t(FWD_RFC9440, &hv, &hc, &out), FWD_ERR_CHAIN);
}

/* ---- XFCC -------------------------------------------------------------- */

TEST(fwd_xfcc_envoy)
{
	struct der chain[2];
	struct fwd_cert out;

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}
	chain[0] = fx.inter;
	chain[1] = fx.root;

	/* Cert only */
	reset(&hv);
	add_xfcc(&hv, &fx.leaf, NULL, 0);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));
	CHECK_EQ_INT(out.chain_len, 0);
	CHECK(layout_ok(&out, FWD_HEADER_MAX));

	/* Chain, which Envoy starts with the leaf: the leaf is not repeated */
	reset(&hv);
	add_xfcc(&hv, &fx.leaf, chain, 2);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));
	CHECK(chain_is(&out, chain, 2));
	CHECK(layout_ok(&out, FWD_HEADER_MAX));

	/* a Chain without the leaf is taken as it is */
	reset(&hv);
	adds(&hv, "Cert=\"");
	add_envoy_pem(&hv, &fx.leaf);
	adds(&hv, "\";Chain=\"");
	add_envoy_pem(&hv, &fx.inter);
	adds(&hv, "\"");
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	CHECK(chain_is(&out, chain, 1));

	/* Chain holding the leaf alone: empty chain; Chain="" too */
	reset(&hv);
	add_xfcc(&hv, &fx.leaf, chain, 0);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	CHECK_EQ_INT(out.chain_len, 0);
	reset(&hv);
	adds(&hv, "Cert=\"");
	add_envoy_pem(&hv, &fx.leaf);
	adds(&hv, "\";Chain=\"\"");
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	CHECK_EQ_INT(out.chain_len, 0);
}

TEST(fwd_xfcc_grammar)
{
	struct fwd_cert out;
	static struct txt cert;

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}
	reset(&cert);
	add_envoy_pem(&cert, &fx.leaf);

	/* keys are case-insensitive; Cert unquoted; surrounding SP */
	reset(&hv);
	adds(&hv, "  hASH=");
	add_hash(&hv, &fx.leaf);
	adds(&hv, ";CERT=");
	adds(&hv, cert.s);
	adds(&hv, ";uri=;dns=a.example;by=x  ");
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));

	/* commas, semicolons, '=' and escaped quotes inside quoted values */
	reset(&hv);
	adds(&hv, "Subject=\"CN=a\\\"b\\\\,O=x;y=z\";Cert=\"");
	adds(&hv, cert.s);
	adds(&hv, "\";URI=https://a.example/?q=1");
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));

	/* a quoted Cert with escapes in it is unescaped before percent-decoding */
	reset(&hv);
	adds(&hv, "Cert=\"\\-----BEGIN");
	adds(&hv, cert.s + strlen("-----BEGIN"));
	adds(&hv, "\"");
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));

	/* UTF-8 in a quoted Subject is allowed (Envoy does not escape it) */
	reset(&hv);
	adds(&hv, "Subject=\"CN=J\xc3\xbcrgen\";Cert=");
	adds(&hv, cert.s);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);

	/* grammar errors */
	static const char *const bad[] = {
		"Cert=\"abc",                   /* unbalanced quote */
		"Cert=\"abc\\\"",               /* the closing quote is escaped */
		"Subject=\"a\"b\";Cert=x",       /* text after the closing quote */
		"Subject=\"a;Cert=x",
		"Subject=\"a\\",
		"Subject=\"a\x01\";Cert=x",     /* control character */
		"Subject=\"a\\\x01\";Cert=x",   /* escaped control character */
		"Subject=a\"b;Cert=x",          /* quote inside an unquoted value */
		"Subject=a\\b;Cert=x",
		"Subject=a b;Cert=x",           /* space inside an unquoted value */
		"Subject=\xc3\xbc;Cert=x",      /* 8-bit unquoted */
		"Cert",                          /* no '=' */
		"=x",                            /* no key */
		"Cert=x;",                       /* empty pair */
		"Cert=x;;By=y",
		"Cert=x; By=y",                  /* space around ';' */
		"Cert=x ;By=y",
		"Cert =x",
		"Cert= x",
		"Cert=x,",                       /* trailing comma */
		",Cert=x",
		"By=y,,Cert=x",                  /* empty element */
		"Cert=x By=y",
		"Ce.rt=x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dec(FWD_XFCC, bad[i], NULL, &out) != FWD_ERR_SYNTAX)
			unit_fail(__FILE__, __LINE__, "XFCC '%s' is not FWD_ERR_SYNTAX", bad[i]);
	}

	/* the last element: unknown keys and duplicates of Hash/Cert/Chain */
	reset(&hv);
	adds(&hv, "Foo=1;Cert=");
	adds(&hv, cert.s);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_SYNTAX);
	reset(&hv);
	adds(&hv, "Cert=");
	adds(&hv, cert.s);
	adds(&hv, ";cert=");
	adds(&hv, cert.s);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_SYNTAX);
	reset(&hv);
	adds(&hv, "Cert=");
	adds(&hv, cert.s);
	adds(&hv, ";Chain=;Chain=");
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_SYNTAX);
	reset(&hv);
	adds(&hv, "Hash=");
	add_hash(&hv, &fx.leaf);
	adds(&hv, ";Hash=");
	add_hash(&hv, &fx.leaf);
	adds(&hv, ";Cert=");
	adds(&hv, cert.s);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_SYNTAX);
	/* ...but several URI, DNS and By, as Envoy writes for several SANs */
	reset(&hv);
	adds(&hv, "By=a;By=b;URI=x;URI=y;DNS=p;DNS=q;Subject=\"\";Cert=");
	adds(&hv, cert.s);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	/* an earlier element is parsed, not interpreted */
	reset(&hv);
	adds(&hv, "Foo=1;Cert=x;Cert=y,Cert=");
	adds(&hv, cert.s);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));

	CHECK_EQ_INT(dec(FWD_XFCC, "", NULL, &out), FWD_ERR_EMPTY);
	CHECK_EQ_INT(dec(FWD_XFCC, "   ", NULL, &out), FWD_ERR_EMPTY);
}

TEST(fwd_xfcc_elements)
{
	struct fwd_cert out;

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}

	/* the last element wins: proxies append theirs */
	reset(&hv);
	add_xfcc(&hv, &fx.other, NULL, 0);
	adds(&hv, ",");
	add_xfcc(&hv, &fx.leaf, NULL, 0);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));
	reset(&hv);
	add_xfcc(&hv, &fx.leaf, NULL, 0);
	adds(&hv, " ,\t ");
	add_xfcc(&hv, &fx.other, NULL, 0);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.other));

	/* a comma inside quotes does not start an element */
	reset(&hv);
	add_xfcc(&hv, &fx.leaf, NULL, 0);
	adds(&hv, ";Subject=\"CN=x,Cert=y\"");
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));

	/* no falling back to an earlier element's Cert */
	reset(&hv);
	add_xfcc(&hv, &fx.leaf, NULL, 0);
	adds(&hv, ",By=spiffe://x;Hash=");
	add_hash(&hv, &fx.leaf);
	adds(&hv, ";Subject=\"CN=alice\";URI=");
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_PEM);

	/* a client-written quote left open swallows the proxy's element */
	reset(&hv);
	adds(&hv, "Subject=\"evil,");
	add_xfcc(&hv, &fx.leaf, NULL, 0);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_SYNTAX);
	reset(&hv);
	adds(&hv, "Subject=\"evil\\\",");
	add_xfcc(&hv, &fx.leaf, NULL, 0);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_SYNTAX);
}

TEST(fwd_xfcc_errors)
{
	struct der many[CHAIN_MAX + 1];
	struct fwd_cert out;
	static struct txt cert;
	size_t cut;

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}
	reset(&cert);
	add_envoy_pem(&cert, &fx.leaf);
	cut = (size_t)(strstr(cert.s, "-----END") - cert.s);

	/* missing Cert */
	CHECK_EQ_INT(dec(FWD_XFCC, "By=spiffe://a;URI=spiffe://b;Subject=\"CN=a\"", NULL, &out),
	             FWD_ERR_PEM);
	CHECK_EQ_INT(dec(FWD_XFCC, "Cert=\"\"", NULL, &out), FWD_ERR_PEM);
	CHECK_EQ_INT(dec(FWD_XFCC, "Cert=", NULL, &out), FWD_ERR_PEM);

	/* Hash: another certificate's, malformed */
	reset(&hv);
	adds(&hv, "Hash=");
	add_hash(&hv, &fx.other);
	adds(&hv, ";Cert=");
	adds(&hv, cert.s);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_HASH_MISMATCH);
	reset(&hv);
	adds(&hv, "Hash=\"");
	add_hash(&hv, &fx.leaf);
	adds(&hv, "\";Cert=");
	adds(&hv, cert.s);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);     /* quoted is fine */
	for (size_t i = 0; i < hv.len; i++)                         /* so is uppercase */
		if (hv.s[i] >= 'a' && hv.s[i] <= 'f' && i < 6 + 64)
			hv.s[i] = (char)(hv.s[i] - 'a' + 'A');
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	reset(&hv);
	adds(&hv, "Hash=");
	add_hash(&hv, &fx.leaf);
	hv.len--;                                                    /* 63 digits */
	adds(&hv, ";Cert=");
	adds(&hv, cert.s);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_SYNTAX);
	reset(&hv);
	adds(&hv, "Hash=");
	add_hash(&hv, &fx.leaf);
	adds(&hv, "0;Cert=");                                        /* 65 digits */
	adds(&hv, cert.s);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_SYNTAX);
	reset(&hv);
	adds(&hv, "Hash=");
	add_hash(&hv, &fx.leaf);
	hv.s[10] = 'g';
	adds(&hv, ";Cert=");
	adds(&hv, cert.s);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_SYNTAX);
	reset(&hv);
	adds(&hv, "Hash=;Cert=");
	adds(&hv, cert.s);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_SYNTAX);

	/* bad %XX in Cert and in Chain; two blocks in Cert */
	reset(&hv);
	adds(&hv, "Cert=\"");
	adds(&hv, cert.s);
	adds(&hv, "%0\"");
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_URLENC);
	reset(&hv);
	adds(&hv, "Cert=\"");
	adds(&hv, cert.s);
	adds(&hv, "\";Chain=\"");
	adds(&hv, cert.s);
	adds(&hv, "%G0\"");
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_CHAIN);
	reset(&hv);
	adds(&hv, "Cert=\"");
	adds(&hv, cert.s);
	adds(&hv, cert.s);
	adds(&hv, "\"");
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_PEM);
	reset(&hv);
	adds(&hv, "Cert=\"");
	add(&hv, cert.s, cut);                                      /* no END line */
	adds(&hv, "\"");
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_PEM);
	reset(&hv);
	adds(&hv, "Cert=\"");
	adds(&hv, cert.s);
	adds(&hv, "\";Chain=\"");
	add(&hv, cert.s, cut);
	adds(&hv, "\"");
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_CHAIN);
	/* '+' is not a space: "BEGIN+CERTIFICATE" is no PEM label */
	reset(&hv);
	adds(&hv, "Cert=\"-----BEGIN+CERTIFICATE");
	adds(&hv, cert.s + strlen("-----BEGIN%20CERTIFICATE"));
	adds(&hv, "\"");
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_PEM);

	/* 16 chain certificates after the leaf are fine, 17 are not */
	for (int i = 0; i <= CHAIN_MAX; i++)
		many[i] = (i & 1) ? fx.root : fx.inter;
	reset(&hv);
	add_xfcc(&hv, &fx.leaf, many, CHAIN_MAX);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
	CHECK(chain_is(&out, many, CHAIN_MAX));
	reset(&hv);
	add_xfcc(&hv, &fx.leaf, many, CHAIN_MAX + 1);
	CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_ERR_CHAIN);

	/* a separate chain value is RFC 9440's alone */
	reset(&hv);
	add_xfcc(&hv, &fx.leaf, NULL, 0);
	CHECK_EQ_INT(dec(FWD_XFCC, hv.s, ":TUlJ:", &out), FWD_ERR_CHAIN);
	CHECK_EQ_INT(dec(FWD_XFCC, hv.s, "  ", &out), FWD_OK);
}

/* ---- URL-encoded PEM --------------------------------------------------- */

TEST(fwd_pem_urlenc)
{
	struct fwd_cert out;
	static struct txt pem;

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}
	reset(&pem);
	add_pem(&pem, &fx.leaf);

	/* nginx: every reserved byte escaped, uppercase */
	reset(&hv);
	add_pct(&hv, pem.s, pem.len, "", 0);
	CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));
	CHECK_EQ_INT(out.chain_len, 0);
	CHECK(layout_ok(&out, FWD_HEADER_MAX));

	/* AWS ALB: '+', '=' and '/' left as they are; lowercase hex; SP around */
	reset(&hv);
	adds(&hv, "  ");
	add_pct(&hv, pem.s, pem.len, "+=/", 1);
	adds(&hv, " ");
	CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));

	/* raw spaces (only the line ends escaped), CRLF, 76-character lines,
	 * no final line end */
	reset(&hw);
	add_pem_ex(&hw, &fx.leaf, 76, "\r\n");
	hw.len -= 2;
	reset(&hv);
	add_pct(&hv, hw.s, hw.len, "+=/ ", 0);
	CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));
	/* short lines, and lines that split base64 quantums */
	reset(&hw);
	add_pem_ex(&hw, &fx.leaf, 5, "\n");
	reset(&hv);
	add_pct(&hv, hw.s, hw.len, "", 0);
	CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));
}

/* PEM text (escaped nginx's way) must give err. */
static void pem_case(int line, const char *pem, enum fwd_error err)
{
	struct fwd_cert out;
	enum fwd_error got;

	reset(&hv);
	add_pct(&hv, pem, strlen(pem), "", 0);
	got = dec_t(FWD_PEM_URLENC, &hv, NULL, &out);
	if (got != err)
		unit_fail(__FILE__, line, "PEM case gave %s (%d), expected %s (%d)",
		          fwd_error_str(got), (int)got, fwd_error_str(err), (int)err);
}

TEST(fwd_pem_malformed)
{
	static struct txt pem, two;
	char *body;

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}
	reset(&pem);
	add_pem(&pem, &fx.leaf);
	reset(&two);
	adds(&two, pem.s);
	adds(&two, pem.s);
	body = pem.s + strlen("-----BEGIN CERTIFICATE-----\n");

	pem_case(__LINE__, two.s, FWD_ERR_PEM);                         /* two blocks */
	reset(&hw);
	add(&hw, pem.s, pem.len - 30);
	pem_case(__LINE__, hw.s, FWD_ERR_PEM);                            /* truncated */
	reset(&hw);
	add(&hw, pem.s, (size_t)(body - pem.s) + 64);
	pem_case(__LINE__, hw.s, FWD_ERR_PEM);                            /* ends in the body */
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
	         FWD_ERR_PEM);                                           /* no body */
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----", FWD_ERR_PEM);
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\nTUlJ\n-----END CERTIFICATE-----\n",
	         FWD_OK);
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\nTUlJ\n-----END CERTIFICATE-----",
	         FWD_OK);
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\r\nTUlJ\r\n-----END CERTIFICATE-----\r\n",
	         FWD_OK);
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\nTUlJ\n-----END CERTIFICATE-----\n\n",
	         FWD_ERR_PEM);                                           /* blank line after */
	pem_case(__LINE__, "\n-----BEGIN CERTIFICATE-----\nTUlJ\n-----END CERTIFICATE-----\n",
	         FWD_ERR_PEM);
	pem_case(__LINE__, "x-----BEGIN CERTIFICATE-----\nTUlJ\n-----END CERTIFICATE-----\n",
	         FWD_ERR_PEM);                                           /* text before */
	pem_case(__LINE__, "subject=CN=a\n-----BEGIN CERTIFICATE-----\nTUlJ\n-----END CERTIFICATE-----\n",
	         FWD_ERR_PEM);
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\nTUlJ\n-----END CERTIFICATE-----\nx",
	         FWD_ERR_PEM);                                           /* text after */
	pem_case(__LINE__, "-----BEGIN CERTIFICATE----- \nTUlJ\n-----END CERTIFICATE-----\n",
	         FWD_ERR_PEM);
	pem_case(__LINE__, "-----BEGIN X509 CERTIFICATE-----\nTUlJ\n-----END X509 CERTIFICATE-----\n",
	         FWD_ERR_PEM);
	pem_case(__LINE__, "-----BEGIN TRUSTED CERTIFICATE-----\nTUlJ\n-----END TRUSTED CERTIFICATE-----\n",
	         FWD_ERR_PEM);
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\nTUlJ\n-----END PRIVATE KEY-----\n",
	         FWD_ERR_PEM);
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\nTUlJ\n-----END CERTIFICATE----\n",
	         FWD_ERR_PEM);
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\nTUlJ\n\n-----END CERTIFICATE-----\n",
	         FWD_ERR_PEM);                                           /* blank line */
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\nTUlJ\n"
	         "-----END CERTIFICATE-----\n", FWD_ERR_BASE64);         /* a header */
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\nTUlJ\r\r\n-----END CERTIFICATE-----\n",
	         FWD_ERR_BASE64);
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\nTU J\n-----END CERTIFICATE-----\n",
	         FWD_ERR_BASE64);                                        /* space in a line */
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\n TUlJ\n-----END CERTIFICATE-----\n",
	         FWD_ERR_BASE64);
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\nTUk\n-----END CERTIFICATE-----\n",
	         FWD_ERR_BASE64);                                        /* no padding */
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\nTQ==\nTUlJ\n-----END CERTIFICATE-----\n",
	         FWD_ERR_BASE64);                                        /* data after '=' */
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\nTU-J\n-----END CERTIFICATE-----\n",
	         FWD_ERR_BASE64);
	/* 76 characters on a line are fine, 77 are not */
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\n"
	         "TUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJ\n"
	         "-----END CERTIFICATE-----\n", FWD_OK);
	pem_case(__LINE__, "-----BEGIN CERTIFICATE-----\n"
	         "TUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJTUlJT\nUk=\n"
	         "-----END CERTIFICATE-----\n", FWD_ERR_PEM);
}

TEST(fwd_urlenc_malformed)
{
	struct fwd_cert out;
	static struct txt pem;
	const char *bad[] = { "%", "%0", "%G0", "%0G", "% 0", "%%41" };
	/* where the first body line starts in Envoy's text: no escape is cut */
	const size_t at = strlen("-----BEGIN%20CERTIFICATE-----%0A");

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}
	reset(&pem);
	add_envoy_pem(&pem, &fx.leaf);
	CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &pem, NULL, &out), FWD_OK);   /* Envoy's too */
	CHECK(same(out.der, out.der_len, &fx.leaf));

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* at the end, and in the middle of the body */
		reset(&hv);
		adds(&hv, pem.s);
		adds(&hv, bad[i]);
		CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_ERR_URLENC);
		reset(&hv);
		add(&hv, pem.s, at);
		adds(&hv, bad[i]);
		adds(&hv, pem.s + at);
		CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_ERR_URLENC);
	}
	/* raw bytes outside printable ASCII */
	reset(&hv);
	add(&hv, pem.s, at);
	adds(&hv, "\n");
	adds(&hv, pem.s + at);
	CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_ERR_URLENC);
	hv.s[at] = '\t';
	CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_ERR_URLENC);
	hv.s[at] = '\x7f';
	CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_ERR_URLENC);
	hv.s[at] = '\x80';
	CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_ERR_URLENC);
	hv.s[at] = '\0';
	CHECK_EQ_INT(dec_cap(FWD_PEM_URLENC, hv.s, hv.len, NULL, 0, FWD_HEADER_MAX, &out),
	             FWD_ERR_URLENC);
	/* escaped, they are data for the PEM layer to refuse */
	reset(&hv);
	add(&hv, pem.s, at);
	adds(&hv, "%00");
	adds(&hv, pem.s + at);
	CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_ERR_BASE64);
	/* '+' is '+' (RFC 3986), never a space */
	reset(&hv);
	adds(&hv, "-----BEGIN+CERTIFICATE-----");
	adds(&hv, pem.s + strlen("-----BEGIN%20CERTIFICATE-----"));
	CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_ERR_PEM);
	/* double encoding is not undone */
	reset(&hv);
	add_pct(&hv, pem.s, pem.len, "", 0);
	CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_ERR_PEM);

	CHECK_EQ_INT(dec(FWD_PEM_URLENC, "", NULL, &out), FWD_ERR_EMPTY);
	CHECK_EQ_INT(dec(FWD_PEM_URLENC, "  ", NULL, &out), FWD_ERR_EMPTY);
	CHECK_EQ_INT(dec(FWD_PEM_URLENC, pem.s, ":TUlJ:", &out), FWD_ERR_CHAIN);
}

/* ---- base64 DER -------------------------------------------------------- */

TEST(fwd_base64_der)
{
	struct fwd_cert out;

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}
	reset(&hv);
	add_b64(&hv, fx.leaf.p, fx.leaf.len, 1);
	CHECK_EQ_INT(dec_t(FWD_BASE64_DER, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));
	CHECK_EQ_INT(out.chain_len, 0);
	CHECK(layout_ok(&out, FWD_HEADER_MAX));
	reset(&hv);
	adds(&hv, "   ");
	add_b64(&hv, fx.leaf.p, fx.leaf.len, 0);
	adds(&hv, " ");
	CHECK_EQ_INT(dec_t(FWD_BASE64_DER, &hv, NULL, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));

	CHECK_EQ_INT(dec(FWD_BASE64_DER, "TQ==", NULL, &out), FWD_OK);
	CHECK_EQ_INT(dec(FWD_BASE64_DER, "TQ", NULL, &out), FWD_OK);
	CHECK_EQ_INT(dec(FWD_BASE64_DER, "TUk", NULL, &out), FWD_OK);
	CHECK_EQ_INT(out.der_len, 2);
	CHECK_EQ_INT(dec(FWD_BASE64_DER, "", NULL, &out), FWD_ERR_EMPTY);
	CHECK_EQ_INT(dec(FWD_BASE64_DER, "   ", NULL, &out), FWD_ERR_EMPTY);

	static const char *const bad[] = {
		"T", "TUlJT", "TQ=", "TQ===", "TUk==", "T===", "=", "====",
		"TQ==TUlJ", "TQ=A", "TR==", "TR", "TUl=", "TUl",
		"TU J", "TUlJ\n", "TU\tJ", "\tTUlJ", "TU-_", "TUlJ:", ":TUlJ:",
		"TUlJ,TUlJ", "\"TUlJ\"", "TUlJ%3D",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dec(FWD_BASE64_DER, bad[i], NULL, &out) != FWD_ERR_BASE64)
			unit_fail(__FILE__, __LINE__, "base64 '%s' is not FWD_ERR_BASE64", bad[i]);
	}
	CHECK_EQ_INT(dec_cap(FWD_BASE64_DER, "TU\0J", 4, NULL, 0, FWD_HEADER_MAX, &out),
	             FWD_ERR_BASE64);
	CHECK_EQ_INT(dec(FWD_BASE64_DER, "TUlJ", "TUlJ", &out), FWD_ERR_CHAIN);
}

/* ---- limits ------------------------------------------------------------ */

TEST(fwd_limits)
{
	struct fwd_cert out;
	static char big[FWD_HEADER_MAX + 2];

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}

	/* over FWD_HEADER_MAX: refused before anything is read */
	memset(big, 'A', sizeof(big));
	for (int f = 0; f < FWD_FORMATS; f++) {
		CHECK_EQ_INT(dec_cap((enum fwd_format)f, big, FWD_HEADER_MAX + 1, NULL, 0,
		                     FWD_HEADER_MAX, &out), FWD_ERR_TOO_BIG);
		CHECK_EQ_INT(dec_cap((enum fwd_format)f, "TUlJ", 4, big, FWD_HEADER_MAX + 1,
		                     FWD_HEADER_MAX, &out), FWD_ERR_TOO_BIG);
	}
	/* exactly FWD_HEADER_MAX is read: a base64 text of that length */
	CHECK_EQ_INT(dec_cap(FWD_BASE64_DER, big, FWD_HEADER_MAX, NULL, 0, FWD_HEADER_MAX, &out),
	             FWD_OK);
	CHECK_EQ_INT(out.der_len, FWD_HEADER_MAX / 4 * 3);
	big[0] = ':';
	big[FWD_HEADER_MAX - 1] = ':';
	big[FWD_HEADER_MAX - 2] = '=';
	CHECK_EQ_INT(dec_cap(FWD_RFC9440, big, FWD_HEADER_MAX, NULL, 0, FWD_HEADER_MAX, &out),
	             FWD_ERR_BASE64);   /* 65532 'A' then '=': padding cannot start a quantum */

	/* the output never passes cap: exact fit, one byte short, nothing */
	reset(&hv);
	add_b64(&hv, fx.leaf.p, fx.leaf.len, 1);
	CHECK_EQ_INT(dec_cap(FWD_BASE64_DER, hv.s, hv.len, NULL, 0, fx.leaf.len, &out), FWD_OK);
	CHECK(same(out.der, out.der_len, &fx.leaf));
	CHECK_EQ_INT(dec_cap(FWD_BASE64_DER, hv.s, hv.len, NULL, 0, fx.leaf.len - 1, &out),
	             FWD_ERR_TOO_BIG);
	CHECK_EQ_INT(dec_cap(FWD_BASE64_DER, hv.s, hv.len, NULL, 0, 0, &out), FWD_ERR_TOO_BIG);
	CHECK_EQ_INT(fwd_decode(FWD_BASE64_DER, hv.s, hv.len, NULL, 0, NULL, 100, &out),
	             FWD_ERR_TOO_BIG);
	CHECK_EQ_INT(fwd_decode(FWD_BASE64_DER, hv.s, hv.len, NULL, 0, obuf, 100, NULL),
	             FWD_ERR_SYNTAX);
	CHECK_EQ_INT(dec_cap((enum fwd_format)FWD_FORMATS, hv.s, hv.len, NULL, 0, 100, &out),
	             FWD_ERR_SYNTAX);

	/* RFC 9440: leaf and chain must both fit */
	reset(&hv);
	add_sf(&hv, &fx.leaf);
	reset(&hc);
	add_sf(&hc, &fx.inter);
	CHECK_EQ_INT(dec_cap(FWD_RFC9440, hv.s, hv.len, hc.s, hc.len, fx.leaf.len + fx.inter.len,
	                     &out), FWD_OK);
	CHECK_EQ_INT(dec_cap(FWD_RFC9440, hv.s, hv.len, hc.s, hc.len, fx.leaf.len + fx.inter.len - 1,
	                     &out), FWD_ERR_TOO_BIG);
	CHECK_EQ_INT(dec_cap(FWD_RFC9440, hv.s, hv.len, hc.s, hc.len, fx.leaf.len - 1, &out),
	             FWD_ERR_TOO_BIG);

	/* every cap below what a value needs is FWD_ERR_TOO_BIG, never a
	 * write past it (dec_cap checks the guard zone) */
	for (int f = 0; f < FWD_FORMATS; f++) {
		struct der chain[1] = { fx.inter };
		size_t need = 0;

		reset(&hv);
		reset(&hc);
		switch (f) {
		case FWD_RFC9440:
			add_sf(&hv, &fx.leaf);
			add_sf(&hc, &fx.inter);
			break;
		case FWD_XFCC:
			add_xfcc(&hv, &fx.leaf, chain, 1);
			break;
		case FWD_PEM_URLENC:
			add_envoy_pem(&hv, &fx.leaf);
			break;
		default:
			add_b64(&hv, fx.leaf.p, fx.leaf.len, 0);
			break;
		}
		for (size_t cap = 0; cap <= hv.len + hc.len; cap++) {
			enum fwd_error e = dec_cap((enum fwd_format)f, hv.s, hv.len, hc.s, hc.len, cap, &out);

			if (e == FWD_OK) {
				if (!need)
					need = cap;
				CHECK(same(out.der, out.der_len, &fx.leaf));
				CHECK(layout_ok(&out, cap));
			} else if (e != FWD_ERR_TOO_BIG || need) {
				unit_fail(__FILE__, __LINE__, "%s cap %zu: %s", fwd_format_name(f), cap,
				          fwd_error_str(e));
				break;
			}
		}
		CHECK(need > 0);
	}
}

/* ---- round trips ------------------------------------------------------- */

/* Arbitrary byte strings of every length class go through each encoder
 * and come back unchanged (fwd_decode does not look inside the DER). */
TEST(fwd_roundtrip)
{
	unsigned char raw[700];
	uint64_t s = 0x243f6a8885a308d3ULL;
	struct fwd_cert out;

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}
	for (size_t n = 1; n <= sizeof(raw); n += (n < 70 ? 1 : 37)) {
		struct der d = { raw, n }, ch[2];
		static struct txt pem;

		for (size_t i = 0; i < n; i++) {
			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			raw[i] = (unsigned char)(s >> 56);
		}
		ch[0] = d;
		ch[1] = fx.inter;

		reset(&hv);
		add_sf(&hv, &d);
		reset(&hc);
		add_sf(&hc, &ch[0]);
		adds(&hc, ", ");
		add_sf(&hc, &ch[1]);
		CHECK_EQ_INT(dec_t(FWD_RFC9440, &hv, &hc, &out), FWD_OK);
		CHECK(same(out.der, out.der_len, &d) && chain_is(&out, ch, 2));

		reset(&hv);
		add_xfcc(&hv, &d, &fx.inter, 1);
		CHECK_EQ_INT(dec_t(FWD_XFCC, &hv, NULL, &out), FWD_OK);
		CHECK(same(out.der, out.der_len, &d) && chain_is(&out, &fx.inter, 1));

		reset(&pem);
		add_pem(&pem, &d);
		reset(&hv);
		add_pct(&hv, pem.s, pem.len, "", n & 1);
		CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_OK);
		CHECK(same(out.der, out.der_len, &d));
		reset(&hv);
		add_pct(&hv, pem.s, pem.len, "+=/", 0);
		CHECK_EQ_INT(dec_t(FWD_PEM_URLENC, &hv, NULL, &out), FWD_OK);
		CHECK(same(out.der, out.der_len, &d));

		for (int pad = 0; pad <= 1; pad++) {
			reset(&hv);
			add_b64(&hv, d.p, d.len, pad);
			CHECK_EQ_INT(dec_t(FWD_BASE64_DER, &hv, NULL, &out), FWD_OK);
			CHECK(same(out.der, out.der_len, &d));
		}
	}
}

/* The decoded leaf is a certificate the caller can parse: the whole path a
 * forwarded header takes before the policy sees it. */
TEST(fwd_roundtrip_parse)
{
	struct fwd_cert out;
	static struct txt pem;

	if (fixture() < 0) {
		CHECK(!"test certificates");
		return;
	}
	reset(&pem);
	add_pem(&pem, &fx.leaf);
	for (int f = 0; f < FWD_FORMATS; f++) {
		X509 *x;

		reset(&hv);
		if (f == FWD_RFC9440)
			add_sf(&hv, &fx.leaf);
		else if (f == FWD_XFCC)
			add_xfcc(&hv, &fx.leaf, NULL, 0);
		else if (f == FWD_PEM_URLENC)
			add_pct(&hv, pem.s, pem.len, "", 0);
		else
			add_b64(&hv, fx.leaf.p, fx.leaf.len, 1);
		CHECK_EQ_INT(dec_t((enum fwd_format)f, &hv, NULL, &out), FWD_OK);
		x = cert_parse_der(out.der, out.der_len);
		CHECK(x != NULL);
		X509_free(x);
	}
}
