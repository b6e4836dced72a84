/* Fuzz target: forwarded-certificate decoders (agent/fwd.c).
 *
 * Input: one byte of flags, then the header value; unless bit 5 is set,
 * the first '\n' ends the value and what follows is the chain value
 * (RFC 9440's Client-Cert-Chain; the other formats must refuse one).
 *   flags bits 0-1  format (enum fwd_format)
 *         bits 2-4  output capacity: FWD_HEADER_MAX, 0, 1, 2, 100, 500,
 *                   1000 or 3000 bytes (small ones reach FWD_ERR_TOO_BIG
 *                   on every path)
 *         bit 5     the whole rest is the value, the chain pointer NULL
 * Value, chain and output each live in an exactly sized heap buffer, so
 * ASan sees any read past a value or write past the capacity.
 *
 * Invariants:
 * - the result is an enum fwd_error with a message; on an error *out is
 *   all zero (never a partial result);
 * - on FWD_OK: der == buf, der_len > 0, the chain follows the leaf
 *   (chain == buf + der_len) and der_len + chain_len <= cap; only RFC 9440
 *   and XFCC ever return a chain;
 * - the capacity changes nothing but the room: with 2 * FWD_HEADER_MAX
 *   (always enough) the result is never FWD_ERR_TOO_BIG for values within
 *   the limit, and a result with a smaller cap is either FWD_ERR_TOO_BIG or
 *   exactly the same, bytes included;
 * - strictness: an accepted RFC 9440 Client-Cert is exactly ":" base64 ":"
 *   of the DER with padding (after SP trimming), and an accepted base64
 *   DER value is exactly its padded or unpadded base64: one encoding per
 *   certificate;
 * - round trip: the decoded leaf and chain, encoded back the way the
 *   upstream writes them (Envoy's XFCC with the leaf leading its Chain,
 *   nginx's escaped PEM), decode to the same bytes.
 *
 * Seeds in tests/fuzz/corpus/fwd/ (flags byte first): a real leaf
 * (EC P-256, "/O=Fuzz/CN=fuzz-fwd-leaf", SAN URI and DNS, clientAuth) and
 * its CA ("/CN=fuzz-fwd-ca"), made once with the openssl CLI; the keys
 * were written to a scratch directory and deleted, never committed:
 *   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
 *       -keyout ca.key -subj /CN=fuzz-fwd-ca -days 3650 \
 *       -addext basicConstraints=critical,CA:TRUE -out ca.pem
 *   openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
 *       -keyout leaf.key -subj /O=Fuzz/CN=fuzz-fwd-leaf -out leaf.csr
 *   openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -days 3650 \
 *       -extfile ext.cnf -out leaf.pem
 *   openssl x509 -in leaf.pem -outform DER -out leaf.der
 * then written in each format as its upstream does: RFC 9440 with and
 * without a chain and with OWS, and with a 1000-byte capacity; Envoy XFCC
 * (By, Hash, Cert, Chain with the leaf first, Subject, URI, DNS), two
 * elements, and a client's open quote before the proxy's element; nginx
 * (every reserved byte escaped), AWS ALB ("+=/" kept) and Envoy-escaped
 * CRLF PEM; base64 DER padded and unpadded; and RFC 9440 with parameters.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fwd.h"

#define BIG_CAP  (2 * FWD_HEADER_MAX)

static const size_t caps[8] = { FWD_HEADER_MAX, 0, 1, 2, 100, 500, 1000, 3000 };

/* ---- encoders, for the round trip -------------------------------------- */

struct out {
	char *p;
	size_t len, cap;
	int full;          /* ran out of room: the round trip is skipped */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void put_b64(struct out *o, const unsigned char *in, size_t n, int pad)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
		char q[4] = { a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63] };

		put(o, q, 4);
	}
	if (n - i == 1) {
		unsigned long v = (unsigned long)in[i] << 16;
		char q[4] = { a[v >> 18], a[(v >> 12) & 63], '=', '=' };

		put(o, q, pad ? 4 : 2);
	} else if (n - i == 2) {
		unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
		char q[4] = { a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], '=' };

		put(o, q, pad ? 4 : 3);
	}
}

/* Put s, percent-encoding every byte but ALPHA / DIGIT / "-._~" (nginx)
 * or only "\n", " ", "+", "/" and "=" (Envoy). */
static void put_pct(struct out *o, const char *s, size_t n, int envoy)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int plain = envoy ? !(c == '\n' || c == ' ' || c == '+' || c == '/' || c == '=')
		                  : ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		                     (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		                     c == '_' || c == '~');
		char e[3] = { '%', hex[c >> 4], hex[c & 15] };

		if (plain)
			put(o, s + i, 1);
		else
			put(o, e, 3);
	}
}

/* PEM with 64-character lines, then percent-encoded. */
static void put_pem_pct(struct out *o, const unsigned char *der, size_t n, int envoy)
{
	static char b64[FWD_HEADER_MAX * 2];
	struct out b = { b64, 0, sizeof(b64), 0 };

	put_b64(&b, der, n, 1);
	if (b.full) {
		o->full = 1;
		return;
	}
	put_pct(o, "-----BEGIN CERTIFICATE-----\n", 28, envoy);
	for (size_t i = 0; i < b.len; i += 64) {
		put_pct(o, b64 + i, b.len - i < 64 ? b.len - i : 64, envoy);
		put_pct(o, "\n", 1, envoy);
	}
	put_pct(o, "-----END CERTIFICATE-----\n", 26, envoy);
}

/* ---- checks ------------------------------------------------------------ */

static void check_result(enum fwd_error e, const struct fwd_cert *c,
                         const unsigned char *buf, size_t cap, enum fwd_format f)
{
	FUZZ_ASSERT((unsigned int)e < FWD_ERRORS);
	FUZZ_ASSERT(fwd_error_str(e) && strcmp(fwd_error_str(e), "unknown error") != 0);
	if (e != FWD_OK) {
		FUZZ_ASSERT(!c->der && !c->der_len && !c->chain && !c->chain_len);
		return;
	}
	FUZZ_ASSERT(c->der == buf && c->der_len > 0);
	FUZZ_ASSERT(c->chain == buf + c->der_len);
	FUZZ_ASSERT(c->der_len <= cap && c->chain_len <= cap - c->der_len);
	if (f != FWD_RFC9440 && f != FWD_XFCC)
		FUZZ_ASSERT(c->chain_len == 0);
}

/* The only accepted encodings of the decoded leaf, for the formats that
 * have one: value (SP trimmed) must equal them. */
static void check_canonical(enum fwd_format f, const char *v, size_t n,
                            const struct fwd_cert *c)
{
	static char enc[FWD_HEADER_MAX * 2];
	struct out o = { enc, 0, sizeof(enc), 0 };

	while (n && *v == ' ') {
		v++;
		n--;
	}
	while (n && v[n - 1] == ' ')
		n--;
	if (f == FWD_RFC9440) {
		put(&o, ":", 1);
		put_b64(&o, c->der, c->der_len, 1);
		put(&o, ":", 1);
		FUZZ_ASSERT(!o.full && o.len == n && memcmp(enc, v, n) == 0);
	} else if (f == FWD_BASE64_DER) {
		put_b64(&o, c->der, c->der_len, n % 4 == 0);
		FUZZ_ASSERT(!o.full && o.len == n && memcmp(enc, v, n) == 0);
	}
}

/* Encode the result as the upstream would and decode it again. */
static void check_roundtrip(enum fwd_format f, const struct fwd_cert *c)
{
	static char enc[FWD_HEADER_MAX], cenc[FWD_HEADER_MAX];
	static unsigned char buf2[BIG_CAP];
	struct out o = { enc, 0, sizeof(enc), 0 }, co = { cenc, 0, sizeof(cenc), 0 };
	struct fwd_cert c2;
	enum fwd_error e;

	switch (f) {
	case FWD_RFC9440:
		put(&o, ":", 1);
		put_b64(&o, c->der, c->der_len, 1);
		put(&o, ":", 1);
		if (c->chain_len) {                  /* one item: fwd never splits DER */
			put(&co, ":", 1);
			put_b64(&co, c->chain, c->chain_len, 1);
			put(&co, ":", 1);
		}
		break;
	case FWD_XFCC:
		put(&o, "By=spiffe://fuzz;Cert=\"", 23);
		put_pem_pct(&o, c->der, c->der_len, 1);
		put(&o, "\"", 1);
		if (c->chain_len) {
			put(&o, ";Chain=\"", 8);
			put_pem_pct(&o, c->der, c->der_len, 1);
			put_pem_pct(&o, c->chain, c->chain_len, 1);
			put(&o, "\"", 1);
		}
		put(&o, ";Subject=\"CN=x\"", 15);
		break;
	case FWD_PEM_URLENC:
		put_pem_pct(&o, c->der, c->der_len, 0);
		break;
	default:
		put_b64(&o, c->der, c->der_len, 0);
		break;
	}
	if (o.full || co.full)
		return;                              /* longer than a header may be */
	e = fwd_decode(f, enc, o.len, cenc, co.len, buf2, sizeof(buf2), &c2);
	FUZZ_ASSERT(e == FWD_OK);
	FUZZ_ASSERT(c2.der_len == c->der_len && memcmp(c2.der, c->der, c->der_len) == 0);
	FUZZ_ASSERT(c2.chain_len == c->chain_len &&
	            memcmp(c2.chain, c->chain, c->chain_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char big[BIG_CAP];
	const uint8_t *rest, *nl = NULL;
	size_t rest_len, vlen, clen = 0, cap;
	char *val, *chain = NULL;
	unsigned char *buf;
	struct fwd_cert c, cb;
	enum fwd_format f;
	enum fwd_error e, eb;

	if (size < 1)
		return 0;
	f = (enum fwd_format)(data[0] & 3);
	cap = caps[(data[0] >> 2) & 7];
	rest = data + 1;
	rest_len = size - 1;
	if (!(data[0] & 0x20))
		nl = memchr(rest, '\n', rest_len);
	vlen = nl ? (size_t)(nl - rest) : rest_len;

	val = calloc(vlen ? vlen : 1, 1);
	buf = malloc(cap ? cap : 1);
	FUZZ_ASSERT(val && buf);
	if (vlen)
		memcpy(val, rest, vlen);
	if (nl) {
		clen = rest_len - vlen - 1;
		chain = calloc(clen ? clen : 1, 1);
		FUZZ_ASSERT(chain);
		if (clen)
			memcpy(chain, nl + 1, clen);
	}

	e = fwd_decode(f, val, vlen, chain, clen, buf, cap, &c);
	check_result(e, &c, buf, cap, f);
	if (vlen > FWD_HEADER_MAX || clen > FWD_HEADER_MAX)
		FUZZ_ASSERT(e == FWD_ERR_TOO_BIG);

	/* the same with all the room there is */
	eb = fwd_decode(f, val, vlen, chain, clen, big, sizeof(big), &cb);
	check_result(eb, &cb, big, sizeof(big), f);
	if (vlen <= FWD_HEADER_MAX && clen <= FWD_HEADER_MAX)
		FUZZ_ASSERT(eb != FWD_ERR_TOO_BIG);
	if (e != FWD_ERR_TOO_BIG) {
		FUZZ_ASSERT(e == eb);
		if (e == FWD_OK) {
			FUZZ_ASSERT(c.der_len == cb.der_len && c.chain_len == cb.chain_len);
			FUZZ_ASSERT(memcmp(c.der, cb.der, c.der_len + c.chain_len) == 0);
		}
	}
	if (eb == FWD_OK) {
		check_canonical(f, val, vlen, &cb);
		check_roundtrip(f, &cb);
	}

	free(val);
	free(chain);
	free(buf);
	return 0;
}
