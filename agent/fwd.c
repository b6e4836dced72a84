/* Decoders for client certificates forwarded in HTTP headers by an upstream
 * TLS terminator (fwd.h; formats, examples and rationale in
 * docs/FORWARDED.md).
 *
 * Pure: no I/O, no allocation, no clock, no mutable state (two one-byte
 * stand-ins for NULL arguments are never written), no certificate parsing
 * (the caller parses the DER exactly as it parses one sent over TLS). The
 * only outside call is cert_sha256() for the XFCC Hash check. The values
 * must not overlap buf.
 *
 * Header values are untrusted bytes given as (pointer, length): they are
 * never NUL-terminated, never passed to strlen or compared as C strings,
 * and are read through cursors that are checked against their end before
 * every read. Every write into the caller's buffer is checked against its
 * capacity first; a value whose result does not fit is FWD_ERR_TOO_BIG.
 *
 * Layers, each strict and each its own function:
 *   base64     RFC 4648 section 4 alphabet only (never the URL-safe one),
 *              pad bits must be zero, nothing after '=' padding;
 *   percent    %XX with two hex digits of either case; every other byte
 *              stands for itself, '+' included (RFC 3986, not HTML form
 *              encoding: AWS ALB leaves '+' unescaped in PEM);
 *   PEM        one "-----BEGIN CERTIFICATE-----" block per certificate,
 *              base64 lines of 1 to 76 characters ending in LF or CRLF,
 *              nothing before, between or after the blocks but line ends;
 *   sf-binary  RFC 8941 ":base64:" with '=' padding required;
 *   XFCC       Envoy's element/pair/quoted-value grammar.
 * The multi-step formats decode in place inside the caller's buffer: each
 * step writes no further than it has read, so the buffer is scratch space
 * and output at once and the result always starts at buf.
 *
 * Errors found in a chain (RFC 9440 Client-Cert-Chain, XFCC Chain=) are
 * FWD_ERR_CHAIN whatever their kind, so the detail says which half of the
 * header was wrong; only FWD_ERR_TOO_BIG is reported as itself. On any
 * error *out is zeroed: there is never a partial result. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cert.h"
#include "fwd.h"
#include "strutil.h"

/* a switch on an enum names every value: a new one is a compile error here */
#pragma GCC diagnostic warning "-Wswitch-enum"

#define FWD_CHAIN_MAX     16   /* certificates in a forwarded chain */
#define FWD_PEM_LINE_MAX  76   /* base64 characters on one PEM line (RFC 2045) */

#define PEM_BEGIN  "-----BEGIN CERTIFICATE-----"
#define PEM_END    "-----END CERTIFICATE-----"

/* [a, b) holds exactly the string literal lit. */
#define SPAN_IS(a, b, lit) \
	((size_t)((b) - (a)) == sizeof(lit) - 1 && memcmp((a), (lit), sizeof(lit) - 1) == 0)

static const char *const fwd_error_msgs[FWD_ERRORS] = {
	[FWD_OK]                = "ok",
	[FWD_ERR_EMPTY]         = "no certificate in the header",
	[FWD_ERR_TOO_BIG]       = "header value or certificate too big",
	[FWD_ERR_SYNTAX]        = "header value does not follow the format's grammar",
	[FWD_ERR_BASE64]        = "bad base64",
	[FWD_ERR_URLENC]        = "bad URL encoding",
	[FWD_ERR_PEM]           = "not exactly one PEM certificate",
	[FWD_ERR_HASH_MISMATCH] = "XFCC Hash does not match Cert",
	[FWD_ERR_CHAIN]         = "malformed or too long certificate chain",
};

#define FWD_FORMAT_NAME(c, word) [c] = word,
const char *const fwd_format_names[FWD_FORMATS + 1] = { FWD_FORMAT_LIST(FWD_FORMAT_NAME) };
#undef FWD_FORMAT_NAME

const char *fwd_error_str(enum fwd_error e)
{
	if ((unsigned int)e >= FWD_ERRORS || !fwd_error_msgs[e])
		return "unknown error";
	return fwd_error_msgs[e];
}

const char *fwd_format_name(enum fwd_format f)
{
	if ((unsigned int)f >= FWD_FORMATS || !fwd_format_names[f])
		return "unknown";
	return fwd_format_names[f];
}

/* Leading and trailing SP only: RFC 8941 section 4.2 discards SP around a
 * structured field, and HAProxy has already removed the OWS around the
 * field value. A tab at either end is part of the value (and an error). */
static void trim_sp(const unsigned char **p, const unsigned char **end)
{
	while (*p < *end && **p == ' ')
		(*p)++;
	while (*end > *p && (*end)[-1] == ' ')
		(*end)--;
}

static void skip_ows(const unsigned char **p, const unsigned char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

/*
 * Base64, as a stream so that PEM lines can be fed one at a time.
 *
 * Characters gather in quantums of four; a full quantum writes three bytes.
 * '=' may only complete a quantum of two or three data characters, and
 * nothing but more '=' of the same quantum may follow it. At the end, a
 * partial quantum of one character is always an error; one of two or three
 * is an error when padding is required and must otherwise carry zero pad
 * bits, as every real encoder writes them (RFC 4648 section 3.5), so each
 * byte string has exactly one accepted encoding per format.
 */
struct b64 {
	unsigned char *o, *oend;   /* output cursor and its limit */
	uint32_t acc;              /* 6 bits per data character of the quantum */
	unsigned int ndata;        /* data characters in the quantum, 0..3 */
	unsigned int npad;         /* '=' seen in the quantum, 0..2 */
};

enum b64_pad {
	B64_PAD_REQUIRED = 0,      /* RFC 8941 sf-binary, PEM */
	B64_PAD_OPTIONAL,          /* X-ARR-ClientCert */
};

static int b64_val(unsigned char c)
{
	return str_b64val(c, '+', '/');
}

static void b64_start(struct b64 *s, unsigned char *o, unsigned char *oend)
{
	s->o = o;
	s->oend = oend;
	s->acc = 0;
	s->ndata = 0;
	s->npad = 0;
}

/* Writes happen only after the four characters of a quantum were read, so
 * the output may overlap the input as long as it starts no later. */
static enum fwd_error b64_feed(struct b64 *s, const unsigned char *p,
                               const unsigned char *end)
{
	for (; p < end; p++) {
		int v;

		if (*p == '=') {
			if (s->ndata < 2 || s->ndata + s->npad >= 4)
				return FWD_ERR_BASE64;
			s->npad++;
			continue;
		}
		if (s->npad || (v = b64_val(*p)) < 0)
			return FWD_ERR_BASE64;
		s->acc = s->acc << 6 | (uint32_t)v;
		if (++s->ndata < 4)
			continue;
		if (s->oend - s->o < 3)
			return FWD_ERR_TOO_BIG;
		*s->o++ = (unsigned char)(s->acc >> 16);
		*s->o++ = (unsigned char)(s->acc >> 8);
		*s->o++ = (unsigned char)s->acc;
		s->acc = 0;
		s->ndata = 0;
	}
	return FWD_OK;
}

static enum fwd_error b64_finish(struct b64 *s, enum b64_pad pad)
{
	if (s->ndata == 0)
		return FWD_OK;                /* npad is 0 too: see b64_feed */
	if (s->ndata == 1)
		return FWD_ERR_BASE64;
	if (s->npad ? s->ndata + s->npad != 4 : pad == B64_PAD_REQUIRED)
		return FWD_ERR_BASE64;
	if (s->ndata == 2) {                  /* 12 bits: one byte, 4 pad bits */
		if (s->acc & 0xf)
			return FWD_ERR_BASE64;
		if (s->oend - s->o < 1)
			return FWD_ERR_TOO_BIG;
		*s->o++ = (unsigned char)(s->acc >> 4);
	} else {                              /* 18 bits: two bytes, 2 pad bits */
		if (s->acc & 0x3)
			return FWD_ERR_BASE64;
		if (s->oend - s->o < 2)
			return FWD_ERR_TOO_BIG;
		*s->o++ = (unsigned char)(s->acc >> 10);
		*s->o++ = (unsigned char)(s->acc >> 2);
	}
	s->ndata = 0;
	s->npad = 0;
	return FWD_OK;
}

/* All of [p, end) as one base64 text into *o; *o advances on success. */
static enum fwd_error b64_decode(const unsigned char *p, const unsigned char *end,
                                 unsigned char **o, unsigned char *oend,
                                 enum b64_pad pad)
{
	struct b64 s;
	enum fwd_error err;

	b64_start(&s, *o, oend);
	if ((err = b64_feed(&s, p, end)) != FWD_OK ||
	    (err = b64_finish(&s, pad)) != FWD_OK)
		return err;
	*o = s.o;
	return FWD_OK;
}

/* Percent-decode [p, end) to o, which may be p itself (in place: each
 * output byte consumes at least one input byte). Bytes outside printable
 * ASCII (controls, DEL, 8-bit) are refused raw; escaped, they are data and
 * the next layer judges them. Sets *n to the decoded length. */
static enum fwd_error pct_decode(const unsigned char *p, const unsigned char *end,
                                 unsigned char *o, unsigned char *oend, size_t *n)
{
	unsigned char *o0 = o;

	while (p < end) {
		unsigned char c = *p;

		if (c == '%') {
			int hi, lo;

			if (end - p < 3 || (hi = str_hexval(p[1])) < 0 || (lo = str_hexval(p[2])) < 0)
				return FWD_ERR_URLENC;
			c = (unsigned char)(hi << 4 | lo);
			p += 3;
		} else {
			if (c < 0x20 || c > 0x7e)
				return FWD_ERR_URLENC;
			p++;
		}
		if (o >= oend)
			return FWD_ERR_TOO_BIG;
		*o++ = c;
	}
	*n = (size_t)(o - o0);
	return FWD_OK;
}

/*
 * PEM (RFC 7468 section 3, the strict form, with lines up to 76).
 */

/* The line at *p as [*line, *eol), its LF or CRLF excluded. Returns 1 and
 * moves *p past the line end, or 0 when the input ends without one (*p is
 * then end). */
static int next_line(const unsigned char **p, const unsigned char *end,
                     const unsigned char **line, const unsigned char **eol)
{
	const unsigned char *lf = memchr(*p, '\n', (size_t)(end - *p));

	*line = *p;
	if (!lf) {
		*eol = end;
		*p = end;
		return 0;
	}
	*eol = (lf > *p && lf[-1] == '\r') ? lf - 1 : lf;
	*p = lf + 1;
	return 1;
}

/* One block at *p:
 *   "-----BEGIN CERTIFICATE-----" EOL
 *   1*( 1*76( base64 character / "=" ) EOL )
 *   "-----END CERTIFICATE-----" [ EOL ]
 * with EOL = LF / CRLF: no headers, blank lines, spaces or other labels.
 * The DER goes to *o, which may trail *p in the same buffer (in place).
 * Both cursors advance on success. The framing is FWD_ERR_PEM, the base64
 * inside it FWD_ERR_BASE64. */
static enum fwd_error pem_block(const unsigned char **p, const unsigned char *end,
                                unsigned char **o, unsigned char *oend)
{
	const unsigned char *q = *p, *line, *eol;
	unsigned char *start = *o;
	enum fwd_error err;
	struct b64 s;
	int has_eol;

	if (!next_line(&q, end, &line, &eol) || !SPAN_IS(line, eol, PEM_BEGIN))
		return FWD_ERR_PEM;
	b64_start(&s, *o, oend);
	for (;;) {
		has_eol = next_line(&q, end, &line, &eol);
		if (line < eol && *line == '-')
			break;                        /* the END line, or bad framing */
		if (!has_eol || line == eol || eol - line > FWD_PEM_LINE_MAX)
			return FWD_ERR_PEM;           /* truncated, blank or long line */
		if ((err = b64_feed(&s, line, eol)) != FWD_OK)
			return err;
	}
	if (!SPAN_IS(line, eol, PEM_END))
		return FWD_ERR_PEM;
	if ((err = b64_finish(&s, B64_PAD_REQUIRED)) != FWD_OK)
		return err;
	if (s.o == start)
		return FWD_ERR_PEM;                   /* no body at all */
	*p = q;
	*o = s.o;
	return FWD_OK;
}

/* XFCC and URL-encoded PEM share this step: percent-decode src/n to
 * buf + at (src may be buf + at itself: in place), then decode the PEM
 * there, in place, to buf + at. With max 1, the text is exactly one block;
 * otherwise it is up to max blocks (none is fine), and a first block equal
 * to skip/skip_len is dropped. */
static enum fwd_error pem_text(const unsigned char *src, size_t n,
                               unsigned char *buf, size_t cap, size_t at,
                               int max, const unsigned char *skip, size_t skip_len,
                               size_t *out_len)
{
	unsigned char *o = buf + at, *oend = buf + cap;
	const unsigned char *p = buf + at, *end;
	enum fwd_error err;
	int nblocks = 0, count = 0;

	if ((err = pct_decode(src, src + n, buf + at, oend, &n)) != FWD_OK)
		return err;
	end = p + n;
	if (max == 1) {
		if ((err = pem_block(&p, end, &o, oend)) != FWD_OK)
			return err;
		if (p != end)
			return FWD_ERR_PEM;           /* a second block or trailing text */
	} else {
		while (p < end) {
			unsigned char *block = o;

			if ((err = pem_block(&p, end, &o, oend)) != FWD_OK)
				return err;
			if (nblocks++ == 0 && skip && (size_t)(o - block) == skip_len &&
			    memcmp(block, skip, skip_len) == 0) {
				o = block;            /* the leaf again: Envoy's Chain has it */
				continue;
			}
			if (++count > max)
				return FWD_ERR_CHAIN;
		}
	}
	*out_len = (size_t)(o - (buf + at));
	return FWD_OK;
}

/*
 * RFC 9440.
 */

/* An sf-binary (RFC 8941 section 3.3.5) at *p: ":" base64 ":". The base64
 * is whatever lies up to the next ':', so "a:b" inside is a missing colon
 * or bad base64, never a shorter item. */
static enum fwd_error sf_binary(const unsigned char **p, const unsigned char *end,
                                unsigned char **o, unsigned char *oend)
{
	const unsigned char *q = *p, *close;
	enum fwd_error err;

	if (q >= end || *q != ':')
		return FWD_ERR_SYNTAX;
	q++;
	close = memchr(q, ':', (size_t)(end - q));
	if (!close)
		return FWD_ERR_SYNTAX;
	if ((err = b64_decode(q, close, o, oend, B64_PAD_REQUIRED)) != FWD_OK)
		return err;
	*p = close + 1;
	return FWD_OK;
}

/* Client-Cert: one sf-binary, SP around it, no parameters (RFC 9440
 * section 2.2 defines none, so ";a=b" can only be a mistake or a smuggle). */
static enum fwd_error rfc9440_leaf(const unsigned char *p, const unsigned char *end,
                                   unsigned char *buf, size_t cap, size_t *len)
{
	unsigned char *o = buf;
	enum fwd_error err;

	trim_sp(&p, &end);
	if (p == end)
		return FWD_ERR_EMPTY;
	if ((err = sf_binary(&p, end, &o, buf + cap)) != FWD_OK)
		return err;
	if (p != end)
		return FWD_ERR_SYNTAX;                /* parameters or anything else */
	if (o == buf)
		return FWD_ERR_EMPTY;                 /* "::" */
	*len = (size_t)(o - buf);
	return FWD_OK;
}

/* Client-Cert-Chain: an sf-list (RFC 8941 section 4.2.1) of sf-binary
 * items without parameters, OWS around the commas, no empty member and no
 * trailing comma. An empty or all-SP value is an empty list. Every error is
 * FWD_ERR_CHAIN but a full buffer. */
static enum fwd_error rfc9440_chain(const unsigned char *p, const unsigned char *end,
                                    unsigned char *o, unsigned char *oend, size_t *len)
{
	unsigned char *o0 = o;
	enum fwd_error err;
	int n = 0;

	trim_sp(&p, &end);
	while (p < end) {
		unsigned char *item = o;

		if (n++ == FWD_CHAIN_MAX)
			return FWD_ERR_CHAIN;
		if ((err = sf_binary(&p, end, &o, oend)) != FWD_OK)
			return err == FWD_ERR_TOO_BIG ? err : FWD_ERR_CHAIN;
		if (o == item)
			return FWD_ERR_CHAIN;         /* "::" is no certificate */
		skip_ows(&p, end);
		if (p == end)
			break;
		if (*p != ',')
			return FWD_ERR_CHAIN;         /* parameters or junk */
		p++;
		skip_ows(&p, end);
		if (p == end)
			return FWD_ERR_CHAIN;         /* trailing comma */
	}
	*len = (size_t)(o - o0);
	return FWD_OK;
}

/*
 * Envoy x-forwarded-client-cert.
 *
 *   xfcc    = element *( OWS "," OWS element )
 *   element = pair *( ";" pair )
 *   pair    = key "=" ( quoted / *unquoted )
 *   key     = 1*( ALPHA / DIGIT / "-" / "_" ), compared case-insensitively
 *   quoted  = DQUOTE *( qdtext / "\" qchar ) DQUOTE
 *   qdtext  = HTAB / SP / %x21 / %x23-5B / %x5D-7E / %x80-FF
 *   qchar   = HTAB / SP / %x21-7E / %x80-FF
 *   unquoted = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
 *              (VCHAR but DQUOTE "," ";" "\")
 * Every element must parse, so that a quote left open by an earlier one
 * (which a client may have written, if a proxy appends to what it got)
 * cannot move where the last one starts. Only the last element, the
 * nearest proxy's, is interpreted: its keys must be By, Hash, Cert, Chain,
 * Subject, URI or DNS, and Hash, Cert and Chain may appear once each.
 */
struct xfcc_val {
	const unsigned char *p, *end;   /* between the quotes, escapes kept */
	int quoted;
	int seen;
};

struct xfcc_elem {
	struct xfcc_val cert, chain, hash;
	int bad_key;                    /* unknown key, or Hash/Cert/Chain twice */
};

static int char_is_key(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int char_is_unquoted(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

static int char_is_qd(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int key_is(const unsigned char *k, size_t n, const char *lit, size_t litlen)
{
	if (n != litlen)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (str_lower_c((char)k[i]) != lit[i])
			return 0;
	}
	return 1;
}

#define KEY_IS(k, n, lit) key_is((k), (n), (lit), sizeof(lit) - 1)

/* One value at *p: sets v's span and quoted flag, advances *p. */
static enum fwd_error xfcc_value(const unsigned char **p, const unsigned char *end,
                                 struct xfcc_val *v)
{
	const unsigned char *q = *p;

	if (q < end && *q == '"') {
		v->p = ++q;
		for (;;) {
			if (q >= end)
				return FWD_ERR_SYNTAX;   /* unbalanced quote */
			if (*q == '"')
				break;
			if (*q == '\\') {
				if (end - q < 2 || !char_is_qd(q[1]))
					return FWD_ERR_SYNTAX;
				q += 2;
				continue;
			}
			if (!char_is_qd(*q))
				return FWD_ERR_SYNTAX;
			q++;
		}
		v->end = q++;
		v->quoted = 1;
	} else {
		v->p = q;
		while (q < end && char_is_unquoted(*q))
			q++;
		v->end = q;
		v->quoted = 0;
	}
	*p = q;
	return FWD_OK;
}

static void xfcc_keep(struct xfcc_elem *el, struct xfcc_val *slot,
                      const struct xfcc_val *v)
{
	if (slot->seen)
		el->bad_key = 1;
	*slot = *v;
	slot->seen = 1;
}

/* Parse all of [p, end); *last gets the last element's values. */
static enum fwd_error xfcc_parse(const unsigned char *p, const unsigned char *end,
                                 struct xfcc_elem *last)
{
	enum fwd_error err;

	for (;;) {
		memset(last, 0, sizeof(*last));
		for (;;) {
			const unsigned char *k = p;
			struct xfcc_val v;
			size_t kn;

			while (p < end && char_is_key(*p))
				p++;
			kn = (size_t)(p - k);
			if (kn == 0 || p >= end || *p != '=')
				return FWD_ERR_SYNTAX;
			p++;
			if ((err = xfcc_value(&p, end, &v)) != FWD_OK)
				return err;
			if (KEY_IS(k, kn, "cert"))
				xfcc_keep(last, &last->cert, &v);
			else if (KEY_IS(k, kn, "chain"))
				xfcc_keep(last, &last->chain, &v);
			else if (KEY_IS(k, kn, "hash"))
				xfcc_keep(last, &last->hash, &v);
			else if (!KEY_IS(k, kn, "by") && !KEY_IS(k, kn, "subject") &&
			         !KEY_IS(k, kn, "uri") && !KEY_IS(k, kn, "dns"))
				last->bad_key = 1;
			if (p < end && *p == ';') {
				p++;
				continue;
			}
			break;
		}
		skip_ows(&p, end);
		if (p == end)
			return FWD_OK;
		if (*p != ',')
			return FWD_ERR_SYNTAX;
		p++;
		skip_ows(&p, end);
		if (p == end)
			return FWD_ERR_SYNTAX;        /* trailing comma */
	}
}

/* Copy a value to o, resolving "\x" escapes in a quoted one. Sets *n. */
static enum fwd_error xfcc_unquote(const struct xfcc_val *v, unsigned char *o,
                                   unsigned char *oend, size_t *n)
{
	const unsigned char *q = v->p;
	unsigned char *o0 = o;

	while (q < v->end) {
		if (v->quoted && *q == '\\')
			q++;                          /* xfcc_value saw a char after it */
		if (o >= oend)
			return FWD_ERR_TOO_BIG;
		*o++ = *q++;
	}
	*n = (size_t)(o - o0);
	return FWD_OK;
}

/* Hash=: exactly 64 hex digits, either case. */
static int xfcc_hash(const struct xfcc_val *v, unsigned char sha256[32])
{
	unsigned char hex[64];
	size_t n;

	if (xfcc_unquote(v, hex, hex + sizeof(hex), &n) != FWD_OK || n != sizeof(hex))
		return -1;
	for (size_t i = 0; i < 32; i++) {
		int hi = str_hexval(hex[2 * i]), lo = str_hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		sha256[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static enum fwd_error xfcc_decode(const unsigned char *p, const unsigned char *end,
                                  unsigned char *buf, size_t cap, struct fwd_cert *out)
{
	unsigned char want[32], got[32];
	struct xfcc_elem el;
	enum fwd_error err;
	size_t n, der_len, chain_len = 0;

	trim_sp(&p, &end);
	if (p == end)
		return FWD_ERR_EMPTY;
	if ((err = xfcc_parse(p, end, &el)) != FWD_OK)
		return err;
	if (el.bad_key)
		return FWD_ERR_SYNTAX;
	if (!el.cert.seen)
		return FWD_ERR_PEM;                   /* nothing to use: no fallback */
	if (el.hash.seen && xfcc_hash(&el.hash, want) < 0)
		return FWD_ERR_SYNTAX;
	if ((err = xfcc_unquote(&el.cert, buf, buf + cap, &n)) != FWD_OK ||
	    (err = pem_text(buf, n, buf, cap, 0, 1, NULL, 0, &der_len)) != FWD_OK)
		return err;
	if (el.hash.seen) {
		cert_sha256(buf, der_len, got);
		if (memcmp(want, got, sizeof(got)) != 0)
			return FWD_ERR_HASH_MISMATCH;
	}
	if (el.chain.seen) {
		if ((err = xfcc_unquote(&el.chain, buf + der_len, buf + cap, &n)) != FWD_OK)
			return err;
		err = pem_text(buf + der_len, n, buf, cap, der_len, FWD_CHAIN_MAX, buf, der_len,
		               &chain_len);
		if (err != FWD_OK)
			return err == FWD_ERR_TOO_BIG ? err : FWD_ERR_CHAIN;
	}
	out->der = buf;
	out->der_len = der_len;
	out->chain = buf + der_len;
	out->chain_len = chain_len;
	return FWD_OK;
}

/*
 * Entry point.
 */
static enum fwd_error decode(enum fwd_format fmt, const unsigned char *p, const unsigned char *end,
                             const unsigned char *cp, const unsigned char *cend,
                             unsigned char *buf, size_t cap, struct fwd_cert *out)
{
	enum fwd_error err;
	size_t der_len = 0, chain_len = 0;
	unsigned char *o;

	if ((unsigned int)fmt >= FWD_FORMATS)
		return FWD_ERR_SYNTAX;
	/* only RFC 9440 carries the chain in a header of its own */
	trim_sp(&cp, &cend);
	if (fmt != FWD_RFC9440 && cp != cend)
		return FWD_ERR_CHAIN;

	switch (fmt) {
	case FWD_RFC9440:
		err = rfc9440_leaf(p, end, buf, cap, &der_len);
		if (err == FWD_ERR_EMPTY && cp != cend)
			return FWD_ERR_CHAIN;         /* a chain without its certificate */
		if (err != FWD_OK ||
		    (err = rfc9440_chain(cp, cend, buf + der_len, buf + cap, &chain_len)) != FWD_OK)
			return err;
		break;
	case FWD_XFCC:
		return xfcc_decode(p, end, buf, cap, out);
	case FWD_PEM_URLENC:
		trim_sp(&p, &end);
		if (p == end)
			return FWD_ERR_EMPTY;
		err = pem_text(p, (size_t)(end - p), buf, cap, 0, 1, NULL, 0, &der_len);
		if (err != FWD_OK)
			return err;
		break;
	case FWD_BASE64_DER:
		trim_sp(&p, &end);
		if (p == end)
			return FWD_ERR_EMPTY;
		o = buf;
		if ((err = b64_decode(p, end, &o, buf + cap, B64_PAD_OPTIONAL)) != FWD_OK)
			return err;
		der_len = (size_t)(o - buf);
		break;
	case FWD_FORMATS:
		return FWD_ERR_SYNTAX;        /* not a format (refused above too) */
	}
	out->der = buf;
	out->der_len = der_len;
	out->chain = buf + der_len;
	out->chain_len = chain_len;
	return FWD_OK;
}

enum fwd_error fwd_decode(enum fwd_format fmt, const char *val, size_t len,
                          const char *chain_val, size_t chain_len,
                          unsigned char *buf, size_t cap, struct fwd_cert *out)
{
	static const unsigned char none_in[1];
	static unsigned char none_out[1];   /* cap 0: never written */
	const unsigned char *p = val ? (const unsigned char *)val : none_in;
	const unsigned char *cp = chain_val ? (const unsigned char *)chain_val : none_in;
	enum fwd_error err;

	if (!out)
		return FWD_ERR_SYNTAX;
	memset(out, 0, sizeof(*out));
	if (!val)
		len = 0;
	if (!chain_val)
		chain_len = 0;
	if (!buf) {
		buf = none_out;
		cap = 0;
	}
	if (len > FWD_HEADER_MAX || chain_len > FWD_HEADER_MAX)
		return FWD_ERR_TOO_BIG;
	err = decode(fmt, p, p + len, cp, cp + chain_len, buf, cap, out);
	if (err != FWD_OK)
		memset(out, 0, sizeof(*out));
	return err;
}
