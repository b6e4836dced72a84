/* Distinguished names in one canonical text form (see dn.h for the form).
 *
 * Two producers feed one writer: the text parsers (RFC 2253, and OpenSSL's
 * oneline "/A=b/C=d") and the walk over a certificate's X509_NAME. Both
 * append "TYPE=value" attributes to a work buffer, tagged with their RDN;
 * the writer then sorts each RDN's attributes and joins them, in the
 * certificate's order. The text side reduces everything to the same inputs
 * as the certificate side before writing, so that one name gives one string:
 *
 *   - an attribute type becomes an ASN1_OBJECT (keyword or dotted OID),
 *     written by the same function for both sides;
 *   - a value becomes UTF-8 through ASN1_STRING_to_UTF8(). A "#hexstring"
 *     value is decoded as BER (d2i_ASN1_TYPE) and converted exactly as a
 *     certificate's value of that type would be. This matters: OpenSSL's
 *     RFC 2253 printer writes values of attribute types it does not know as
 *     "#" + DER, so "1.2.3.4=#0C0568656C6C6F" is "1.2.3.4=hello";
 *   - a value that is no character string, or that holds a NUL or invalid
 *     characters for its type, is kept as "#" + lowercase hex of its DER.
 *     To keep that apart from a literal value starting with '#', a literal
 *     '#' at the start of a value is written "\#". In text, a '#' that no
 *     hex digit follows is a literal '#': OpenSSL prints a value of just
 *     "#" without its escape.
 *
 * Text input is bounded (DN_TEXT_MAX); literal text values must be valid
 * UTF-8 (checked by OpenSSL's own UTF-8 rules, the ones the certificate side
 * applies) without NUL. No global state; OpenSSL errors raised here are
 * popped before returning. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "dn.h"
#include "strutil.h"

#define DN_TEXT_MAX   65536        /* longest text input */
#define DN_WORK_MAX   (1U << 20)   /* work buffer limit, for names from certificates */
#define DN_TYPE_MAX   256          /* longest attribute type, keyword or dotted OID */

/* One "TYPE=value" in dn_work.buf. */
struct dn_attr {
	size_t off, len;
	int rdn;                /* RDN number in input order */
	const char *p;          /* buf + off, set once buf stops moving */
};

struct dn_work {
	char *buf;
	size_t len, cap;
	struct dn_attr *attr;
	int nattr, attrcap;
};

/* Attribute types common in DNs, looked up case-insensitively before the
 * scan of the whole object table (see type_lookup). */
static const int dn_common_types[] = {
	NID_commonName, NID_countryName, NID_localityName, NID_stateOrProvinceName,
	NID_organizationName, NID_organizationalUnitName, NID_pkcs9_emailAddress,
	NID_domainComponent, NID_userId, NID_serialNumber, NID_surname, NID_givenName,
	NID_title, NID_streetAddress, NID_initials, NID_generationQualifier,
	NID_pseudonym, NID_dnQualifier, NID_postalCode, NID_businessCategory,
	NID_description, NID_name, NID_role, NID_x500UniqueIdentifier,
	NID_organizationIdentifier, NID_jurisdictionCountryName,
	NID_jurisdictionStateOrProvinceName, NID_jurisdictionLocalityName,
	NID_pkcs9_unstructuredName, NID_rfc822Mailbox,
};

static int is_ws(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* ---- work buffer ---- */

static int work_put(struct dn_work *w, const void *s, size_t n)
{
	size_t cap;
	char *nb;

	if (n > DN_WORK_MAX - w->len)
		return -1;
	if (w->len + n > w->cap) {
		cap = w->cap ? w->cap : 256;
		while (cap < w->len + n)
			cap *= 2;
		if (cap > DN_WORK_MAX)
			cap = DN_WORK_MAX;
		nb = realloc(w->buf, cap);
		if (!nb)
			return -1;
		w->buf = nb;
		w->cap = cap;
	}
	if (n)
		memcpy(w->buf + w->len, s, n);
	w->len += n;
	return 0;
}

static int work_putc(struct dn_work *w, char c)
{
	return work_put(w, &c, 1);
}

/* The attribute written since off belongs to RDN rdn. */
static int work_attr(struct dn_work *w, size_t off, int rdn)
{
	struct dn_attr *na;
	int cap;

	if (w->nattr == w->attrcap) {
		cap = w->attrcap ? w->attrcap * 2 : 16;
		na = realloc(w->attr, (size_t)cap * sizeof(*na));
		if (!na)
			return -1;
		w->attr = na;
		w->attrcap = cap;
	}
	w->attr[w->nattr].off = off;
	w->attr[w->nattr].len = w->len - off;
	w->attr[w->nattr].rdn = rdn;
	w->nattr++;
	return 0;
}

static void work_free(struct dn_work *w)
{
	free(w->buf);
	free(w->attr);
	memset(w, 0, sizeof(*w));
}

static int attr_cmp(const void *a, const void *b)
{
	const struct dn_attr *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);

	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/* Attributes [i, j) are one RDN: sort them, append them joined by '+'. */
static int emit_rdn(struct dn_work *w, int i, int j, char *out, size_t outlen, size_t *o)
{
	int k;

	qsort(w->attr + i, (size_t)(j - i), sizeof(*w->attr), attr_cmp);
	for (k = i; k < j; k++) {
		size_t need = w->attr[k].len + (k > i);

		if (need >= outlen - *o)
			return -1;
		if (k > i)
			out[(*o)++] = '+';
		memcpy(out + *o, w->attr[k].p, w->attr[k].len);
		*o += w->attr[k].len;
	}
	return 0;
}

/* Write the RDNs, joined by '/', in input order or reversed (RFC 2253 text
 * lists the most significant RDN last). */
static int work_emit(struct dn_work *w, int reverse, char *out, size_t outlen)
{
	size_t o = 0;
	int i, j, first = 1;

	for (i = 0; i < w->nattr; i++)
		w->attr[i].p = w->buf + w->attr[i].off;
	if (!reverse) {
		for (i = 0; i < w->nattr; i = j) {
			for (j = i + 1; j < w->nattr && w->attr[j].rdn == w->attr[i].rdn; j++)
				;
			if (!first) {
				if (o + 1 >= outlen)
					return -1;
				out[o++] = '/';
			}
			first = 0;
			if (emit_rdn(w, i, j, out, outlen, &o) < 0)
				return -1;
		}
	} else {
		for (j = w->nattr; j > 0; j = i) {
			for (i = j - 1; i > 0 && w->attr[i - 1].rdn == w->attr[j - 1].rdn; i--)
				;
			if (!first) {
				if (o + 1 >= outlen)
					return -1;
				out[o++] = '/';
			}
			first = 0;
			if (emit_rdn(w, i, j, out, outlen, &o) < 0)
				return -1;
		}
	}
	out[o] = '\0';
	return (int)o;
}

/* ---- attribute types ---- */

/* RFC 4514 keystring, and '_' (OpenSSL's printer writes short names such
 * as "ad_timestamping"). */
static int is_keyword(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !is_alpha((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!is_alpha((unsigned char)s[i]) && !is_digit((unsigned char)s[i]) &&
		    s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

/* digits ('.' digits)+ */
static int is_numericoid(const char *s, size_t n)
{
	size_t i, dots = 0, run = 0;

	for (i = 0; i < n; i++) {
		if (is_digit((unsigned char)s[i])) {
			run++;
		} else if (s[i] == '.' && run > 0) {
			dots++;
			run = 0;
		} else {
			return 0;
		}
	}
	return run > 0 && dots > 0;
}

/* A keyword (NUL-terminated) to a NID: "E" and "EMAIL" for emailAddress,
 * then OpenSSL's short and long names as written, then case-insensitively:
 * the common DN types, then every object OpenSSL knows (lowest NID first,
 * short names before long names). NID_undef if none. */
static int type_lookup(const char *name)
{
	int nid, n, max, ln_nid = NID_undef;
	const char *sn, *ln;
	size_t i;

	if (strcasecmp(name, "E") == 0 || strcasecmp(name, "EMAIL") == 0)
		return NID_pkcs9_emailAddress;
	if ((nid = OBJ_sn2nid(name)) != NID_undef || (nid = OBJ_ln2nid(name)) != NID_undef)
		return nid;
	for (i = 0; i < sizeof(dn_common_types) / sizeof(dn_common_types[0]); i++) {
		n = dn_common_types[i];
		sn = OBJ_nid2sn(n);
		ln = OBJ_nid2ln(n);
		if ((sn && strcasecmp(sn, name) == 0) || (ln && strcasecmp(ln, name) == 0))
			return n;
	}
	/* OBJ_new_nid(0) reserves nothing: it is the first NID not in use.
	 * Unused NIDs below it raise errors, which the caller's mark pops. */
	max = OBJ_new_nid(0);
	for (n = 1; n < max; n++) {
		sn = OBJ_nid2sn(n);
		if (sn && strcasecmp(sn, name) == 0)
			return n;
		ln = OBJ_nid2ln(n);
		if (ln_nid == NID_undef && ln && strcasecmp(ln, name) == 0)
			ln_nid = n;
	}
	return ln_nid;
}

/* The canonical type of obj: the uppercased short name, or the dotted OID
 * when OpenSSL has no name for it, the name is not a keyword, or reading the
 * uppercased name back would give another object (OpenSSL has "uid" and
 * "UID", "mail" and "Mail"). */
static int put_type(struct dn_work *w, const ASN1_OBJECT *obj)
{
	char name[DN_TYPE_MAX];
	int nid = OBJ_obj2nid(obj), k;
	const char *sn;
	size_t n, i;

	if (OBJ_length(obj) == 0)
		return -1;
	if (nid != NID_undef && (sn = OBJ_nid2sn(nid)) != NULL &&
	    (n = strlen(sn)) < sizeof(name) && is_keyword(sn, n)) {
		for (i = 0; i < n; i++)
			name[i] = (sn[i] >= 'a' && sn[i] <= 'z') ? (char)(sn[i] - 32) : sn[i];
		name[n] = '\0';
		if (type_lookup(name) == nid)
			return work_put(w, name, n);
	}
	k = OBJ_obj2txt(name, sizeof(name), obj, 1);
	if (k <= 0 || (size_t)k >= sizeof(name))
		return -1;
	return work_put(w, name, (size_t)k);
}

/* A type from text: keyword, dotted OID, or "OID." + dotted OID. */
static int put_type_text(struct dn_work *w, const char *t, size_t n)
{
	char name[DN_TYPE_MAX];
	ASN1_OBJECT *obj = NULL;
	int nid, rc;

	while (n > 0 && is_ws((unsigned char)*t)) {
		t++;
		n--;
	}
	while (n > 0 && is_ws((unsigned char)t[n - 1]))
		n--;
	if (n > 4 && strncasecmp(t, "oid.", 4) == 0) {
		t += 4;
		n -= 4;
		if (!is_numericoid(t, n))
			return -1;
	}
	if (n == 0 || n >= sizeof(name))
		return -1;
	memcpy(name, t, n);
	name[n] = '\0';
	if (is_numericoid(t, n)) {
		obj = OBJ_txt2obj(name, 1);
		if (!obj)
			return -1;
		rc = put_type(w, obj);
		ASN1_OBJECT_free(obj);
		return rc;
	}
	if (!is_keyword(t, n) || (nid = type_lookup(name)) == NID_undef)
		return -1;
	return put_type(w, OBJ_nid2obj(nid));
}

/* ---- values ---- */

/* The one value normalization, for DN values and for commonName lists
 * (dn_norm_value): surrounding white space dropped, inner runs folded to
 * one space, ASCII letters lowercased; every other byte (non-ASCII UTF-8
 * included) kept as it is. Writes at most n bytes to out, which may be v
 * itself (it never writes ahead of what it reads). Returns the length. */
static size_t norm_value(const unsigned char *v, size_t n, unsigned char *out)
{
	size_t i = 0, end = n, o = 0;
	int space = 0;
	unsigned char c;

	while (i < end && is_ws(v[i]))
		i++;
	while (end > i && is_ws(v[end - 1]))
		end--;
	for (; i < end; i++) {
		c = v[i];
		if (is_ws(c)) {
			space = 1;
			continue;
		}
		if (space)
			out[o++] = ' ';
		space = 0;
		out[o++] = (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
	}
	return o;
}

int dn_norm_value(const char *v, size_t n, char *out, size_t outlen)
{
	size_t m;

	if (outlen < n + 1 || n > INT32_MAX)
		return -1;
	m = norm_value((const unsigned char *)v, n, (unsigned char *)out);
	out[m] = '\0';
	return (int)m;
}

static int needs_escape(unsigned char c, int first)
{
	return c == '/' || c == '=' || c == '+' || c == '\\' || (c == '#' && first);
}

/* Normalize (norm_value) and escape UTF-8 bytes v[0..n) (no NUL): '/',
 * '=', '+', '\' and a leading '#' get a '\' before them. Done in place in
 * the work buffer: copied, normalized, then spread out from the end. */
static int put_value(struct dn_work *w, const unsigned char *v, size_t n)
{
	size_t off = w->len, m, k = 0, src, dst;
	unsigned char *b;

	if (work_put(w, v, n) < 0)
		return -1;
	b = (unsigned char *)w->buf + off;
	m = norm_value(b, n, b);
	w->len = off + m;
	for (size_t i = 0; i < m; i++)
		k += (size_t)needs_escape(b[i], i == 0);
	for (size_t i = 0; i < k; i++)
		if (work_putc(w, '\0') < 0)
			return -1;
	b = (unsigned char *)w->buf + off;   /* the buffer may have moved */
	for (src = m, dst = m + k; src > 0; src--) {
		b[--dst] = b[src - 1];
		if (needs_escape(b[src - 1], src == 1))
			b[--dst] = '\\';
	}
	return 0;
}

/* "#" and the lowercase hex of t's DER. */
static int put_dump(struct dn_work *w, const ASN1_TYPE *t)
{
	static const char hx[] = "0123456789abcdef";
	unsigned char *der = NULL;
	char two[2];
	int n, i, rc = -1;

	n = i2d_ASN1_TYPE(t, &der);
	if (n <= 0)
		goto out;
	if (work_putc(w, '#') < 0)
		goto out;
	for (i = 0; i < n; i++) {
		two[0] = hx[der[i] >> 4];
		two[1] = hx[der[i] & 0x0f];
		if (work_put(w, two, 2) < 0)
			goto out;
	}
	rc = 0;
out:
	OPENSSL_free(der);
	return rc;
}

/* Valid UTF-8 by OpenSSL's rules (no overlong forms, no surrogates), no NUL. */
static int utf8_ok(const unsigned char *v, size_t n)
{
	return n == 0 || (n <= INT32_MAX && !memchr(v, 0, n) &&
	                  ASN1_mbstring_copy(NULL, v, (int)n, MBSTRING_UTF8, B_ASN1_UTF8STRING) >= 0);
}

/* A value of a certificate's name, or decoded from "#hex": as UTF-8 text
 * if it is a character string that converts to valid UTF-8 without NUL
 * (a BMPString may hold surrogates, which convert to invalid UTF-8), else
 * dumped. t is the value as an ASN1_TYPE (for the dump), s its string. */
static int put_asn1_value(struct dn_work *w, const ASN1_TYPE *t, const ASN1_STRING *s)
{
	unsigned char *u = NULL;
	int n, rc;

	n = ASN1_STRING_to_UTF8(&u, s);
	if (n >= 0 && utf8_ok(u, (size_t)n)) {
		rc = put_value(w, u, (size_t)n);
		OPENSSL_free(u);
		return rc;
	}
	OPENSSL_free(u);
	return put_dump(w, t);
}

static int put_entry_value(struct dn_work *w, ASN1_STRING *s)
{
	ASN1_TYPE t;

	/* as OpenSSL's own name printer does it: for SEQUENCE, SET and
	 * OTHER the string already holds the whole encoding */
	t.type = ASN1_STRING_type(s);
	t.value.asn1_string = s;
	return put_asn1_value(w, &t, s);
}

/* hex[0..n) from a "#hexstring" value: BER of one ASN.1 value. */
static int put_hex_value(struct dn_work *w, const char *hex, size_t n, unsigned char *tmp)
{
	const unsigned char *p = tmp;
	ASN1_TYPE *t;
	size_t i;
	int rc = -1, hi, lo;

	if (n == 0 || n % 2)
		return -1;
	for (i = 0; i < n; i += 2) {
		hi = str_hexval((unsigned char)hex[i]);
		lo = str_hexval((unsigned char)hex[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		tmp[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	t = d2i_ASN1_TYPE(NULL, &p, (long)(n / 2));
	if (!t || p != tmp + n / 2)
		goto out;
	switch (t->type) {
	case V_ASN1_BOOLEAN:
	case V_ASN1_NULL:
	case V_ASN1_OBJECT:
		/* no ASN1_STRING inside (and never a name's value) */
		rc = put_dump(w, t);
		break;
	default:
		rc = put_asn1_value(w, t, t->value.asn1_string);
		break;
	}
out:
	ASN1_TYPE_free(t);
	return rc;
}

/* A literal value from text: valid UTF-8, no NUL. */
static int put_literal(struct dn_work *w, const unsigned char *v, size_t n)
{
	if (!utf8_ok(v, n))
		return -1;
	return put_value(w, v, n);
}

/* ---- text parsers ---- */

/* s[*i] is '\' in an RFC 2253 value: one escaped byte into *out. */
static int unescape_2253(const char *s, size_t n, size_t *i, unsigned char *out)
{
	unsigned char c;
	int hi, lo;

	if (*i + 1 >= n)
		return -1;
	c = (unsigned char)s[*i + 1];
	hi = str_hexval(c);
	if (hi >= 0) {
		if (*i + 2 >= n || (lo = str_hexval((unsigned char)s[*i + 2])) < 0)
			return -1;
		*out = (unsigned char)(hi << 4 | lo);
		*i += 3;
		return 0;
	}
	if (c == 0 || !strchr(",+\"\\<>;=# ", c))
		return -1;
	*out = c;
	*i += 2;
	return 0;
}

/* The attribute type at s[*i] up to its '=' (a byte of stops first is an
 * error), written to w as "TYPE="; *i is moved past the '=' and the white
 * space after it. Returns 0 or -1. */
static int take_type(struct dn_work *w, const char *s, size_t n, size_t *i,
                     const char *stops)
{
	size_t start = *i, k = *i, nstops = strlen(stops);

	while (k < n && s[k] != '=' && !memchr(stops, s[k], nstops))
		k++;
	if (k >= n || s[k] != '=')
		return -1;
	if (put_type_text(w, s + start, k - start) < 0 || work_putc(w, '=') < 0)
		return -1;
	k++;
	while (k < n && is_ws((unsigned char)s[k]))
		k++;
	*i = k;
	return 0;
}

/* Does a "#hex" value (BER in hex) start at s[i]? */
static int hex_value_is_at(const char *s, size_t n, size_t i)
{
	return i + 1 < n && s[i] == '#' && str_hexval((unsigned char)s[i + 1]) >= 0;
}

/* The "#hex" value at s[*i], decoded and written to w; *i is moved past
 * it and the white space after it. Returns 0 or -1. */
static int take_hex_value(struct dn_work *w, const char *s, size_t n, size_t *i,
                          unsigned char *tmp)
{
	size_t start = *i + 1, k = *i + 1;

	while (k < n && str_hexval((unsigned char)s[k]) >= 0)
		k++;
	if (put_hex_value(w, s + start, k - start, tmp) < 0)
		return -1;
	while (k < n && is_ws((unsigned char)s[k]))
		k++;
	*i = k;
	return 0;
}

/* "CN=alice,O=Example": RDNs separated by ',' (or ';'), attributes of one
 * RDN by '+'; spaces allowed around separators and '='. */
static int parse_rfc2253(struct dn_work *w, const char *s, size_t n, unsigned char *tmp)
{
	size_t i = 0, off, vn;
	int rdn = 0;
	unsigned char c;

	while (i < n && is_ws((unsigned char)s[i]))
		i++;
	if (i == n)
		return 0;     /* the empty DN */
	for (;;) {
		off = w->len;
		if (take_type(w, s, n, &i, ",;+\"\\") < 0)
			return -1;
		if (hex_value_is_at(s, n, i)) {
			if (take_hex_value(w, s, n, &i, tmp) < 0)
				return -1;
		} else if (i < n && s[i] == '"') {
			i++;
			vn = 0;
			for (;;) {
				if (i >= n)
					return -1;
				c = (unsigned char)s[i];
				if (c == '"')
					break;
				if (c == '\\') {
					if (unescape_2253(s, n, &i, &tmp[vn++]) < 0)
						return -1;
					continue;
				}
				tmp[vn++] = c;
				i++;
			}
			i++;
			while (i < n && is_ws((unsigned char)s[i]))
				i++;
			if (put_literal(w, tmp, vn) < 0)
				return -1;
		} else {
			vn = 0;
			while (i < n) {
				c = (unsigned char)s[i];
				if (c == ',' || c == ';' || c == '+')
					break;
				if (c == '\\') {
					if (unescape_2253(s, n, &i, &tmp[vn++]) < 0)
						return -1;
					continue;
				}
				if (c == '"' || c == '<' || c == '>')
					return -1;
				tmp[vn++] = c;
				i++;
			}
			if (put_literal(w, tmp, vn) < 0)
				return -1;
		}
		if (work_attr(w, off, rdn) < 0)
			return -1;

		if (i >= n)
			return 0;
		c = (unsigned char)s[i++];
		if (c == ',' || c == ';')
			rdn++;
		else if (c != '+')
			return -1;     /* something after a quoted or #hex value */
	}
}

/* "/O=Example/CN=alice": '/' before each RDN, '+' between the attributes
 * of one RDN, '\' makes the next byte literal. As in RFC 2253, a value
 * starting with '#' is BER in hex (write "\#" for a literal '#'). */
static int parse_oneline(struct dn_work *w, const char *s, size_t n, unsigned char *tmp)
{
	size_t i = 1, start, off, vn;
	int rdn = 0;

	start = i;
	while (start < n && is_ws((unsigned char)s[start]))
		start++;
	if (start == n)
		return 0;     /* "/": the empty DN */
	for (;;) {
		off = w->len;
		if (take_type(w, s, n, &i, "/+\\") < 0)
			return -1;
		if (hex_value_is_at(s, n, i)) {
			if (take_hex_value(w, s, n, &i, tmp) < 0)
				return -1;
			if (i < n && s[i] != '/' && s[i] != '+')
				return -1;
		} else {
			vn = 0;
			while (i < n && s[i] != '/' && s[i] != '+') {
				if (s[i] == '\\') {
					if (++i >= n)
						return -1;
				}
				tmp[vn++] = (unsigned char)s[i++];
			}
			if (put_literal(w, tmp, vn) < 0)
				return -1;
		}
		if (work_attr(w, off, rdn) < 0)
			return -1;
		if (i >= n)
			return 0;
		if (s[i++] == '/')
			rdn++;
	}
}

int dn_canon_text(const char *in, size_t len, char *out, size_t outlen)
{
	struct dn_work w = { 0 };
	unsigned char *tmp = NULL;
	size_t i = 0;
	int rc = -1, reverse = 0;

	if (!out || outlen == 0)
		return -1;
	out[0] = '\0';
	if ((!in && len > 0) || len > DN_TEXT_MAX)
		return -1;
	if (len == 0)
		return 0;      /* the empty DN (in may be NULL) */
	ERR_set_mark();
	tmp = malloc(len ? len : 1);
	if (!tmp)
		goto out;
	while (i < len && is_ws((unsigned char)in[i]))
		i++;
	if (i < len && in[i] == '/') {
		rc = parse_oneline(&w, in + i, len - i, tmp);
	} else {
		rc = parse_rfc2253(&w, in + i, len - i, tmp);
		reverse = 1;
	}
	if (rc == 0)
		rc = work_emit(&w, reverse, out, outlen);
out:
	if (rc < 0)
		out[0] = '\0';
	free(tmp);
	work_free(&w);
	ERR_pop_to_mark();
	return rc;
}

int dn_canon_x509(const X509_NAME *name, char *out, size_t outlen)
{
	struct dn_work w = { 0 };
	const X509_NAME_ENTRY *ne;
	int i, n, set, prev = 0, rdn = -1, rc = -1;
	size_t off;

	if (!out || outlen == 0)
		return -1;
	out[0] = '\0';
	if (!name)
		return -1;
	ERR_set_mark();
	n = X509_NAME_entry_count(name);
	for (i = 0; i < n; i++) {
		ne = X509_NAME_get_entry(name, i);
		if (!ne)
			goto out;
		/* entries of one RDN are adjacent and share their set number */
		set = X509_NAME_ENTRY_set(ne);
		if (i == 0 || set != prev)
			rdn++;
		prev = set;
		off = w.len;
		if (put_type(&w, X509_NAME_ENTRY_get_object(ne)) < 0 || work_putc(&w, '=') < 0 ||
		    put_entry_value(&w, X509_NAME_ENTRY_get_data(ne)) < 0 ||
		    work_attr(&w, off, rdn) < 0)
			goto out;
	}
	rc = work_emit(&w, 0, out, outlen);
out:
	if (rc < 0)
		out[0] = '\0';
	work_free(&w);
	ERR_pop_to_mark();
	return rc;
}
