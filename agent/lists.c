/* Configuration lists: reading (inline or @file) and compiling them into
 * the sets the rules engine looks things up in. Runs at load time only. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "errbuf.h"
#include "cidr.h"
#include "comment.h"
#include "dn.h"
#include "lists.h"
#include "spiffe.h"
#include "strset.h"
#include "strutil.h"
#include "tplist.h"
#include "uri.h"

/* a switch on an enum names every value: a new one is a compile error here */
#pragma GCC diagnostic warning "-Wswitch-enum"

#define LIST_LINE_MAX 4096

#define ID_KIND_NAME(kind, name, allow_help, deny_help) [ID_##kind] = name,
const char *const id_kind_names[ID_KINDS] = { ID_KIND_LIST(ID_KIND_NAME) };
#undef ID_KIND_NAME

static const char *trim(const char *s, size_t *len)
{
	while (*len && (*s == ' ' || *s == '\t')) {
		s++;
		(*len)--;
	}
	while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t' ||
	                s[*len - 1] == '\r' || s[*len - 1] == '\n'))
		(*len)--;
	return s;
}

/* How an inline list is split. DN lists ("subjects", "issuers", the
 * issuer part of "serials") write each DN in double quotes; see
 * inline_split(). */
enum list_syntax {
	LIST_PLAIN = 0,          /* entries split at every comma */
	LIST_DN,                 /* each entry is a DN */
	LIST_SERIAL_DN,          /* "SERIAL [DN]": a DN after the first word */
	LIST_SYNTAXES
};

/* A double-quoted string starting at s[0] == '"': the index of its closing
 * quote, or len if there is none. Inside, '\' takes the next character
 * along (the DN parser reads the escapes itself). */
static size_t quote_end(const char *s, size_t len)
{
	size_t i;

	for (i = 1; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '"')
			return i;
	}
	return len;
}

/* Does this entry of a DN list hold a DN that is not in quotes? */
static int dn_is_unquoted(enum list_syntax syn, const char *item, size_t len)
{
	size_t i = 0;

	if (syn == LIST_SERIAL_DN) {
		while (i < len && item[i] != ' ' && item[i] != '\t')
			i++;
		while (i < len && (item[i] == ' ' || item[i] == '\t'))
			i++;
		if (i == len)
			return 0;            /* a serial alone */
	}
	return item[i] != '"';
}

#define DN_AMBIGUOUS "ambiguous DN list: quote each DN (\"CN=a,O=b\", \"CN=c\") " \
	"or use @file with one DN per line"

/* An inline list: entries separated by commas, trimmed, empty ones skipped.
 * In a DN list a comma splits entries only outside double quotes, and an
 * unquoted DN is accepted only when the whole value has no such comma
 * (deny_subjects = CN=mallory): "CN=alice,O=Example" could be one DN or
 * two, so it is refused rather than guessed. */
static int inline_split(const char *src, enum list_syntax syn, list_item_fn fn, void *arg,
                        char *err, size_t errlen)
{
	size_t total = strlen(src), start = 0, i;
	int n = 0, commas = 0;

	if (syn != LIST_PLAIN) {
		for (i = 0; i < total; i++) {
			if (src[i] == '\\' && i + 1 < total && src[i + 1] == '"') {
				i++;                 /* an escaped quote in an unquoted DN */
			} else if (src[i] == '"') {
				i = quote_end(src + i, total - i) + i;
				if (i >= total) {
					set_err(err, errlen, "unterminated quote in '%s'", src);
					return -1;
				}
			} else if (src[i] == ',') {
				commas++;
			}
		}
	}
	for (i = 0; i <= total; i++) {
		const char *item;
		size_t len;

		if (syn != LIST_PLAIN && i + 1 < total && src[i] == '\\' && src[i + 1] == '"') {
			i++;
			continue;
		}
		if (syn != LIST_PLAIN && i < total && src[i] == '"') {
			i += quote_end(src + i, total - i);
			continue;
		}
		if (i < total && src[i] != ',')
			continue;
		len = i - start;
		item = trim(src + start, &len);
		start = i + 1;
		if (!len)
			continue;
		if (syn != LIST_PLAIN && commas && dn_is_unquoted(syn, item, len)) {
			set_err(err, errlen, DN_AMBIGUOUS);
			return -1;
		}
		if (fn(arg, item, len, err, errlen) < 0)
			return -1;
		n++;
	}
	return n;
}

/* Report a list file's bad line: the first as "PATH:LINE: why", the next
 * ones (up to LIST_ERRORS_SHOWN in all) appended as "; line N: why", on one
 * line so that a reload's log line stays one line. */
static void bad_line(char *err, size_t errlen, const char *path, int lineno,
                     const char *why, int nbad)
{
	size_t used;

	if (nbad == 1) {
		set_err(err, errlen, "%s:%d: %s", path, lineno, why);
		return;
	}
	if (nbad > LIST_ERRORS_SHOWN || !err || !errlen)
		return;
	used = strlen(err);
	if (used + 1 < errlen)
		snprintf(err + used, errlen - used, "; line %d: %s", lineno, why);
}

/* A list file: one entry per line, never split; comments as comment.h.
 * Every bad line is reported (the first LIST_ERRORS_SHOWN of them, then
 * how many more), not the first only: an operator fixes them in one go. */
static int file_walk(const char *path, list_item_fn fn, void *arg, char **file,
                     char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	int lineno = 0, n = 0, nbad = 0;

	if (!f) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (file && !(*file = strdup(path))) {
		fclose(f);
		set_err(err, errlen, "out of memory");
		return -1;
	}
	while ((got = getline(&line, &cap, f)) != -1) {
		size_t len = (size_t)got;
		const char *item;
		char why[512];

		lineno++;
		if (len > LIST_LINE_MAX) {
			snprintf(why, sizeof(why), "line longer than %d characters", LIST_LINE_MAX);
			bad_line(err, errlen, path, lineno, why, ++nbad);
			continue;
		}
		len = comment_cut(line, len);
		item = trim(line, &len);
		if (!len)
			continue;
		if (fn(arg, item, len, why, sizeof(why)) < 0) {
			bad_line(err, errlen, path, lineno, why, ++nbad);
			continue;
		}
		n++;
	}
	free(line);
	fclose(f);
	if (nbad > LIST_ERRORS_SHOWN && err && errlen) {
		size_t used = strlen(err);

		if (used + 1 < errlen)
			snprintf(err + used, errlen - used, "; and %d more (%d bad lines in all)",
			         nbad - LIST_ERRORS_SHOWN, nbad);
	}
	return nbad ? -1 : n;
}

static int list_walk(const char *src, int plain_is_file, enum list_syntax syn,
                     list_item_fn fn, void *arg, char **file, char *err, size_t errlen)
{
	if (file)
		*file = NULL;
	if (!src)
		return 0;
	if (src[0] == '@')
		return file_walk(src + 1, fn, arg, file, err, errlen);
	if (plain_is_file)
		return file_walk(src, fn, arg, file, err, errlen);
	return inline_split(src, syn, fn, arg, err, errlen);
}

int list_foreach(const char *src, int plain_is_file, list_item_fn fn, void *arg,
                 char **file, char *err, size_t errlen)
{
	return list_walk(src, plain_is_file, LIST_PLAIN, fn, arg, file, err, errlen);
}

/* ---- per-kind entry compilers ---- */

struct ctx {
	struct cfg_list *l;
	enum id_kind kind;         /* for identity lists */
	int deny;                  /* a deny list */
	int what;                  /* for other lists: enum other_list */
};

enum other_list {
	OL_CURVES = 0,
	OL_KEY_TYPES,
	OL_SIGNATURE,
	OL_POLICIES,
	OL_HOSTNAME,               /* route sni/host: lowercase, "*.suffix" allowed */
	OL_PATH,
	OL_PLAIN,
	OL_CIDR,
	OL_COUNT
};

static int need_set(struct cfg_list *l, char *err, size_t errlen)
{
	if (!l->set && !(l->set = strset_new())) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int add_str(struct cfg_list *l, const char *s, size_t len, char *err, size_t errlen)
{
	if (need_set(l, err, errlen) < 0)
		return -1;
	if (strset_add(l->set, s, len) < 0) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int add_cidr(struct cfg_list *l, const char *item, size_t len, char *err, size_t errlen)
{
	char buf[64];
	struct cidr c;

	if (len >= sizeof(buf)) {
		set_err(err, errlen, "'%.*s' is not an address or CIDR range", (int)(len > 60 ? 60 : len), item);
		return -1;
	}
	memcpy(buf, item, len);
	buf[len] = 0;
	if (cidr_parse(buf, &c) < 0) {
		set_err(err, errlen, "'%s' is not an address or CIDR range (host bits must be zero)", buf);
		return -1;
	}
	if (!l->cidrs && !(l->cidrs = calloc(1, sizeof(*l->cidrs)))) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	if (cidr_list_add(l->cidrs, &c) < 0) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Hex digits of a serial as written: optional '-', optional "0x", digits
 * with ':' anywhere between them. Fills bytes (big-endian, the digits read
 * as one number, a leading odd digit padded) and returns their count, or
 * -1. *neg tells the sign, *ndigits the digits written. */
static int serial_bytes(const char *in, size_t len, unsigned char *bytes, size_t cap,
                        int *neg, size_t *ndigits)
{
	size_t i = 0, nd = 0, n;
	unsigned char nib[2 * SERIAL_MAX_OCTETS + 2];

	*neg = 0;
	if (len && in[0] == '-') {
		*neg = 1;
		i = 1;
	}
	if (len - i > 2 && in[i] == '0' && (in[i + 1] == 'x' || in[i + 1] == 'X'))
		i += 2;
	for (; i < len; i++) {
		int v;

		if (in[i] == ':')
			continue;
		if ((v = str_hexval((unsigned char)in[i])) < 0 || nd == sizeof(nib))
			return -1;
		nib[nd++] = (unsigned char)v;
	}
	if (!nd)
		return -1;
	*ndigits = nd;
	n = (nd + 1) / 2;
	if (n > cap)
		return -1;
	memset(bytes, 0, n);
	for (i = 0; i < nd; i++) {
		size_t pos = i + (nd & 1);      /* nibble position, odd count padded */

		bytes[pos / 2] |= (unsigned char)(pos & 1 ? nib[i] : nib[i] << 4);
	}
	return (int)n;
}

static size_t serial_hex_out(const unsigned char *b, size_t n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";

	if (2 * n + 1 > outlen)
		return 0;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = 0;
	return 2 * n;
}

size_t lists_norm_serial(const char *in, size_t len, char *out, size_t outlen)
{
	unsigned char m[SERIAL_MAX_OCTETS + 1], *b = m + 1;
	size_t nd, n, i;
	int neg, r, carry;

	r = serial_bytes(in, len, b, SERIAL_MAX_OCTETS, &neg, &nd);
	if (r < 0)
		return 0;
	n = (size_t)r;
	while (n > 1 && b[0] == 0) {             /* the magnitude, minimal */
		b++;
		n--;
	}
	if (n == 1 && b[0] == 0)
		neg = 0;                            /* -0 is 0 */
	if (neg) {
		/* two's complement of the magnitude */
		carry = 1;
		for (i = n; i-- > 0; ) {
			int v = (unsigned char)~b[i] + carry;

			b[i] = (unsigned char)v;
			carry = v >> 8;
		}
		if (!(b[0] & 0x80)) {
			*--b = 0xff;
			n++;
		}
	} else if (b[0] & 0x80) {
		*--b = 0x00;
		n++;
	}
	return serial_hex_out(b, n, out, outlen);
}

size_t lists_serial_raw(const char *in, size_t len, char *out, size_t outlen)
{
	unsigned char b[SERIAL_MAX_OCTETS];
	size_t nd, n, s = 0;
	int neg, r;

	r = serial_bytes(in, len, b, sizeof(b), &neg, &nd);
	if (r < 0 || neg || (nd & 1) || !(b[0] & 0x80))
		return 0;
	n = (size_t)r;
	while (n - s > 1 && b[s] == 0xff && (b[s + 1] & 0x80))
		s++;                                /* minimal, as DER has it */
	return serial_hex_out(b + s, n - s, out, outlen);
}

static int hostname_pattern_is_valid(const char *s)
{
	if (s[0] == '*') {
		if (s[1] != '.' || !s[2])
			return 0;
		s += 2;
	}
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '.' || *s == '_'))
			return 0;
	return 1;
}

/* A DN entry may be written in double quotes, in a file as inline
 * ("CN=a,O=b"): the DN is the text between them, escapes left to the DN
 * parser. */
static int dn_unquote(const char **s, size_t *len, char *err, size_t errlen)
{
	size_t q;

	if (!*len || (*s)[0] != '"')
		return 0;
	q = quote_end(*s, *len);
	if (q >= *len) {
		set_err(err, errlen, "unterminated quote in '%.*s'", (int)*len, *s);
		return -1;
	}
	if (q + 1 != *len) {
		set_err(err, errlen, "text after the closing quote in '%.*s'", (int)*len, *s);
		return -1;
	}
	if (q == 1) {
		set_err(err, errlen, "empty DN \"\"");
		return -1;
	}
	(*s)++;
	*len = q - 1;
	return 0;
}

static int id_item(void *arg, const char *item, size_t len, char *err, size_t errlen)
{
	struct ctx *c = arg;
	struct cfg_list *l = c->l;
	char buf[1024], canon[1024];
	unsigned char d[32];
	int r;

	if (len >= sizeof(buf)) {
		set_err(err, errlen, "entry longer than %zu characters", sizeof(buf) - 1);
		return -1;
	}
	memcpy(buf, item, len);
	buf[len] = 0;
	switch (c->kind) {
	case ID_THUMBPRINT:
	case ID_ISSUER_THUMBPRINT:
		r = tplist_parse_line(buf, len, d);
		if (r != 20 && r != 32) {
			set_err(err, errlen, "'%s' is not a SHA-1 or SHA-256 hex digest", buf);
			return -1;
		}
		if ((!l->tp && !(l->tp = tplist_new())) || tplist_add(l->tp, d, (size_t)r) < 0) {
			set_err(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	case ID_SERIAL: {
		size_t sl = strcspn(buf, " \t"), n, rn;
		const char *dn = buf + sl;
		size_t dl;
		char raw[sizeof(canon)];

		n = lists_norm_serial(buf, sl, canon, sizeof(canon));
		if (!n) {
			set_err(err, errlen, "'%.*s' is not a hex serial number (at most %d bytes)",
			        (int)sl, buf, SERIAL_MAX_OCTETS);
			return -1;
		}
		/* in a deny list, "ff" also names the certificate whose DER
		 * serial is the byte ff (-1): a deny entry catches every
		 * certificate it can be read as naming */
		rn = c->deny ? lists_serial_raw(buf, sl, raw, sizeof(raw)) : 0;
		while (*dn == ' ' || *dn == '\t')
			dn++;
		dl = strlen(dn);
		if (dl) {
			/* "SERIAL ISSUER-DN": that serial from that issuer only */
			if (dn_unquote(&dn, &dl, err, errlen) < 0)
				return -1;
			canon[n++] = '|';
			if (dn_canon_text(dn, dl, canon + n, sizeof(canon) - n) < 0) {
				set_err(err, errlen, "'%.*s' is not a distinguished name", (int)dl, dn);
				return -1;
			}
			if (rn && snprintf(raw + rn, sizeof(raw) - rn, "|%s", canon + n) >= (int)(sizeof(raw) - rn))
				rn = 0;
		}
		if (rn && add_str(l, raw, strlen(raw), err, errlen) < 0)
			return -1;
		return add_str(l, canon, strlen(canon), err, errlen);
	}
	case ID_SUBJECT:
	case ID_ISSUER: {
		const char *dn = buf;
		size_t dl = len;

		if (dn_unquote(&dn, &dl, err, errlen) < 0)
			return -1;
		if (dn_canon_text(dn, dl, canon, sizeof(canon)) < 0) {
			set_err(err, errlen, "'%.*s' is not a distinguished name (CN=a,O=b or /O=b/CN=a)",
			        (int)dl, dn);
			return -1;
		}
		return add_str(l, canon, strlen(canon), err, errlen);
	}
	case ID_SPKI:
		if (len != 44 || buf[43] != '=' || strspn(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != 43) {
			set_err(err, errlen, "'%s' is not a base64 SHA-256 SPKI pin (44 characters)", buf);
			return -1;
		}
		return add_str(l, buf, len, err, errlen);
	case ID_SPIFFE: {
		struct spiffe_id sid;
		enum spiffe_err why;

		/* the trust domain is written lowercase (a certificate with
		 * another case is invalid); the path is case-sensitive */
		for (size_t i = 9; i < len && buf[i] != '/'; i++)
			buf[i] = str_lower_c(buf[i]);
		if ((why = spiffe_parse(buf, len, &sid)) != SPIFFE_OK) {
			set_err(err, errlen, "'%s' is not a SPIFFE ID spiffe://TRUST-DOMAIN[/path]: %s",
			        buf, spiffe_strerror(why));
			return -1;
		}
		return add_str(l, buf, len, err, errlen);
	}
	case ID_URI:
		return add_str(l, buf, len, err, errlen);
	case ID_DNS:
		str_lower(buf);
		if (len > 1 && buf[len - 1] == '.')
			buf[--len] = 0;        /* "evil.example.com." is evil.example.com */
		if (!hostname_pattern_is_valid(buf)) {
			set_err(err, errlen, "'%s' is not a DNS name or *.suffix pattern", buf);
			return -1;
		}
		return add_str(l, buf, len, err, errlen);
	case ID_EMAIL:
		str_lower(buf);
		if (!strchr(buf, '@')) {
			set_err(err, errlen, "'%s' is not an email address", buf);
			return -1;
		}
		return add_str(l, buf, len, err, errlen);
	case ID_IP:
		return add_cidr(l, buf, len, err, errlen);
	case ID_CN: {
		/* as a DN value (dn_norm_value), like the certificate's CNs */
		int cl = dn_norm_value(buf, len, canon, sizeof(canon));

		if (cl <= 0) {
			set_err(err, errlen, "'%s' is not a common name", buf);
			return -1;
		}
		return add_str(l, canon, (size_t)cl, err, errlen);
	}
	case ID_KINDS:
		break;
	}
	set_err(err, errlen, "internal error");
	return -1;
}

/* Key types by their allowed_key_types name. */
static const struct {
	const char *name;
	int nid;
} key_types[] = {
	{ "rsa", EVP_PKEY_RSA }, { "rsa-pss", EVP_PKEY_RSA_PSS }, { "ec", EVP_PKEY_EC },
	{ "ed25519", EVP_PKEY_ED25519 }, { "ed448", EVP_PKEY_ED448 }, { "sm2", EVP_PKEY_SM2 },
	{ "dsa", EVP_PKEY_DSA }, { "x25519", EVP_PKEY_X25519 }, { "x448", EVP_PKEY_X448 },
	{ "dh", EVP_PKEY_DH }, { "dhx", EVP_PKEY_DHX },
};

static int key_type_nid(const char *name)
{
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (strcasecmp(name, key_types[i].name) == 0)
			return key_types[i].nid;
	return NID_undef;
}

const char *lists_key_type_name(int nid)
{
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (key_types[i].nid == nid)
			return key_types[i].name;
	return NULL;
}

static int curve_is_builtin(int nid)
{
	EC_builtin_curve curves[128];
	size_t n = EC_get_builtin_curves(curves, sizeof(curves) / sizeof(curves[0]));

	for (size_t i = 0; i < n && i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].nid == nid)
			return 1;
	return 0;
}

/* allowed_curves entry -> its token in place (lists_key_curve() gives the
 * key's): an EC curve by OpenSSL short name ("P-256" -> "prime256v1"),
 * the other key types that have no curve by their name uppercased
 * ("ED25519", "ED448", "X25519", "X448"; "SM2" is both). 0 if neither. */
static int key_curve_token(char *buf, size_t len)
{
	static const char *const types[] = { "ED25519", "ED448", "X25519", "X448", "SM2" };
	char up[256];
	int nid;

	snprintf(up, sizeof(up), "%s", buf);
	for (char *q = up; *q; q++)
		*q = (char)toupper((unsigned char)*q);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(up, types[i]) == 0) {
			snprintf(buf, len, "%s", types[i]);
			return 1;
		}
	}
	nid = EC_curve_nist2nid(up);
	if (nid == NID_undef)
		nid = OBJ_txt2nid(buf);
	if (nid == NID_undef) {
		str_lower(up);
		nid = OBJ_txt2nid(up);
	}
	ERR_clear_error();           /* names tried and not found */
	if (nid == NID_undef || !curve_is_builtin(nid))
		return 0;
	snprintf(buf, len, "%s", OBJ_nid2sn(nid));
	return 1;
}

const char *lists_key_curve(int key_type, const char *curve)
{
	switch (key_type) {
	case EVP_PKEY_EC:
		return curve;
	case EVP_PKEY_SM2:
		return "SM2";
	case EVP_PKEY_ED25519:
		return "ED25519";
	case EVP_PKEY_ED448:
		return "ED448";
	case EVP_PKEY_X25519:
		return "X25519";
	case EVP_PKEY_X448:
		return "X448";
	default:
		return "";
	}
}

/* forbid_signature entry -> the NID of the digest it names: a digest
 * ("sha1", "SHA1", "md5", "SHA2-256", an OID) or a signature algorithm
 * that has one ("RSA-SHA1", "sha1WithRSAEncryption", "ecdsa-with-SHA1",
 * "dsaWithSHA1"), as written, uppercased or lowercased. NID_undef for
 * anything else, including algorithms without a fixed digest (ED25519,
 * RSASSA-PSS, whose digest is in its parameters). */
static int signature_digest(const char *name)
{
	char v[3][256];
	const EVP_MD *md;
	int nid, mdnid, pknid;

	snprintf(v[0], sizeof(v[0]), "%s", name);
	snprintf(v[1], sizeof(v[1]), "%s", name);
	snprintf(v[2], sizeof(v[2]), "%s", name);
	for (char *q = v[1]; *q; q++)
		*q = (char)toupper((unsigned char)*q);
	str_lower(v[2]);
	for (int i = 0; i < 3; i++) {
		nid = OBJ_txt2nid(v[i]);
		if (nid != NID_undef) {
			ERR_clear_error();
			if (OBJ_find_sigid_algs(nid, &mdnid, &pknid))
				return mdnid;         /* NID_undef: no fixed digest */
			if (EVP_get_digestbynid(nid))
				return nid;
		}
		md = EVP_get_digestbyname(v[i]);
		if (md && EVP_MD_get_type(md) != NID_undef) {
			ERR_clear_error();
			return EVP_MD_get_type(md);
		}
	}
	ERR_clear_error();           /* names tried and not found */
	return NID_undef;
}

static int other_item(void *arg, const char *item, size_t len, char *err, size_t errlen)
{
	struct ctx *c = arg;
	char buf[256];
	ASN1_OBJECT *obj;
	int nid;

	if (len >= sizeof(buf)) {
		set_err(err, errlen, "entry longer than %zu characters", sizeof(buf) - 1);
		return -1;
	}
	memcpy(buf, item, len);
	buf[len] = 0;
	switch (c->what) {
	case OL_CURVES:
		if (!key_curve_token(buf, sizeof(buf))) {
			set_err(err, errlen, "'%s' is not a curve (P-256 or prime256v1, secp384r1, ...) "
			        "or a key type named like one (ed25519, ed448, x25519, x448, sm2)", buf);
			return -1;
		}
		return add_str(c->l, buf, strlen(buf), err, errlen);
	case OL_KEY_TYPES:
		nid = key_type_nid(buf);
		if (nid == NID_undef) {
			set_err(err, errlen, "'%s' is not a key type (rsa, rsa-pss, ec, ed25519, ed448, sm2, "
			        "dsa, x25519, x448, dh, dhx)", buf);
			return -1;
		}
		snprintf(buf, sizeof(buf), "%d", nid);
		return add_str(c->l, buf, strlen(buf), err, errlen);
	case OL_SIGNATURE:
		nid = signature_digest(buf);
		if (nid == NID_undef) {
			set_err(err, errlen, "'%s' is not a digest (md5, sha1, ...) or a signature algorithm "
			        "with one (RSA-SHA1, ecdsa-with-SHA1, sha1WithRSAEncryption, ...)", buf);
			return -1;
		}
		snprintf(buf, sizeof(buf), "%d", nid);
		return add_str(c->l, buf, strlen(buf), err, errlen);
	case OL_POLICIES:
		if (!(obj = OBJ_txt2obj(buf, 1))) {
			set_err(err, errlen, "'%s' is not a dotted OID", buf);
			return -1;
		}
		OBJ_obj2txt(buf, sizeof(buf), obj, 1);
		ASN1_OBJECT_free(obj);
		return add_str(c->l, buf, strlen(buf), err, errlen);
	case OL_HOSTNAME:
		str_lower(buf);
		if (len > 1 && buf[len - 1] == '.')
			buf[--len] = 0;    /* requests are compared without it */
		if (!hostname_pattern_is_valid(buf)) {
			set_err(err, errlen, "'%s' is not a host name or *.suffix pattern", buf);
			return -1;
		}
		return add_str(c->l, buf, len, err, errlen);
	case OL_PATH: {
		/* requests are routed on their normalized path: a prefix must be
		 * in that form already, or it could never match */
		char norm[sizeof(buf)];
		enum uri_err ue;
		size_t nl = 0;

		if (buf[0] != '/') {
			set_err(err, errlen, "'%s' does not start with '/'", buf);
			return -1;
		}
		ue = uri_path_norm(buf, len, norm, sizeof(norm), &nl);
		if (ue != URI_OK) {
			set_err(err, errlen, "'%s': %s", buf, uri_err_str[ue]);
			return -1;
		}
		if (nl != len || strncasecmp(norm, buf, len) != 0) {
			set_err(err, errlen, "'%s' is not a normalized path (write '%.*s')", buf, (int)nl, norm);
			return -1;
		}
		return add_str(c->l, buf, len, err, errlen);
	}
	case OL_PLAIN:
		return add_str(c->l, buf, len, err, errlen);
	case OL_CIDR:
		return add_cidr(c->l, buf, len, err, errlen);
	}
	set_err(err, errlen, "internal error");
	return -1;
}

static int compile_other(struct cfg_list *l, int what, char *err, size_t errlen)
{
	struct ctx c = { .l = l, .what = what };

	return list_foreach(l->src, 0, other_item, &c, &l->file, err, errlen) < 0 ? -1 : 0;
}

/* "ab12...ef, 0011..." (SHA-1/SHA-256 hex digests) rather than a path? */
static int src_is_inline_digests(const char *src)
{
	unsigned char d[32];

	for (const char *p = src; *p; ) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int r = tplist_parse_line(p, len, d);

		if (r != 20 && r != 32)
			return 0;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 1;
}

int lists_compile_policy(struct policy *p, int *line, const char **key,
                         char *err, size_t errlen)
{
	static const struct {
		size_t off;
		int what;
		const char *key;
	} others[] = {
		{ offsetof(struct policy, allowed_curves), OL_CURVES, "allowed_curves" },
		{ offsetof(struct policy, allowed_key_types), OL_KEY_TYPES, "allowed_key_types" },
		{ offsetof(struct policy, forbid_signature), OL_SIGNATURE, "forbid_signature" },
		{ offsetof(struct policy, require_policies), OL_POLICIES, "require_policies" },
	};
	static char keybuf[64];

	for (int side = 0; side < 2; side++) {
		for (int k = 0; k < ID_KINDS; k++) {
			struct cfg_list *l = side ? &p->deny[k] : &p->allow[k];
			struct ctx c = { .l = l, .kind = (enum id_kind)k, .deny = side };
			int n;
			int plain_file = k == ID_THUMBPRINT || k == ID_ISSUER_THUMBPRINT;
			enum list_syntax syn = k == ID_SUBJECT || k == ID_ISSUER ? LIST_DN :
			                       k == ID_SERIAL ? LIST_SERIAL_DN : LIST_PLAIN;

			/* a URL list not fetched yet: nothing to read, the
			 * policy denies (lists_pending) */
			if (!l->src || l->pending)
				continue;
			if (plain_file && src_is_inline_digests(l->src))
				plain_file = 0;
			n = list_walk(l->src, plain_file, syn, id_item, &c, &l->file, err, errlen);
			if (n == 0 && !side && !l->pending)
				/* it would allow nobody: refused, not guessed (an
				 * empty deny list denies nobody, and is accepted; a
				 * URL list with no copy yet is pending: the policy
				 * denies every request until it comes) */
				set_err(err, errlen, "%s holds no entry (only comments or blank lines): an "
				        "empty allow list would deny everyone; add entries, or remove the key "
				        "to not filter on %s", l->file ? l->file : l->src, id_kind_names[k]);
			if (n < 0 || (n == 0 && !side && !l->pending)) {
				*line = l->line;
				if (l->key)
					snprintf(keybuf, sizeof(keybuf), "%s", l->key);
				else
					snprintf(keybuf, sizeof(keybuf), "%s_%s", side ? "deny" : "allow", id_kind_names[k]);
				*key = keybuf;
				return -1;
			}
		}
	}
	/* an allow list that turns out empty allows nobody (fail closed): it
	 * must not look like "no list" */
	for (int side = 0; side < 2; side++) {
		for (int k = 0; k < ID_KINDS; k++) {
			struct cfg_list *l = side ? &p->deny[k] : &p->allow[k];

			if (l->src && (k == ID_THUMBPRINT || k == ID_ISSUER_THUMBPRINT) && !l->tp &&
			    !(l->tp = tplist_new())) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		}
	}
	p->thumbprints = p->allow[ID_THUMBPRINT].tp;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		struct cfg_list *l = (struct cfg_list *)(void *)((char *)p + others[i].off);

		if (l->src && compile_other(l, others[i].what, err, errlen) < 0) {
			*line = l->line;
			*key = others[i].key;
			return -1;
		}
	}
	return 0;
}

int lists_compile_route(struct route *r, int *line, const char **key,
                        char *err, size_t errlen)
{
	const struct {
		struct cfg_list *l;
		int what;
		const char *key;
	} v[] = {
		{ &r->sni, OL_HOSTNAME, "sni" },
		{ &r->host, OL_HOSTNAME, "host" },
		{ &r->path_prefix, OL_PATH, "path_prefix" },
		{ &r->frontend, OL_PLAIN, "frontend" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (v[i].l->src && compile_other(v[i].l, v[i].what, err, errlen) < 0) {
			*line = v[i].l->line;
			*key = v[i].key;
			return -1;
		}
	}
	return 0;
}

int lists_compile_fwd(struct fwd_config *f, int *line, const char **key,
                      char *err, size_t errlen)
{
	if (compile_other(&f->trusted_proxies, OL_CIDR, err, errlen) < 0) {
		*line = f->trusted_proxies.line;
		*key = "trusted_proxies";
		return -1;
	}
	return 0;
}

int lists_check_file(int kind, int deny, const char *path, char *err, size_t errlen)
{
	struct cfg_list l;
	struct ctx c;
	char src[4200];
	enum list_syntax syn;
	int n;

	if (kind < 0 || kind >= ID_KINDS ||
	    snprintf(src, sizeof(src), "@%s", path) >= (int)sizeof(src)) {
		set_err(err, errlen, "bad list");
		return -1;
	}
	memset(&l, 0, sizeof(l));
	memset(&c, 0, sizeof(c));
	c.l = &l;
	c.kind = (enum id_kind)kind;
	c.deny = deny;
	syn = kind == ID_SUBJECT || kind == ID_ISSUER ? LIST_DN : kind == ID_SERIAL ? LIST_SERIAL_DN : LIST_PLAIN;
	n = list_walk(src, 0, syn, id_item, &c, &l.file, err, errlen);
	cfg_list_free(&l);
	return n;
}

void cfg_list_free(struct cfg_list *l)
{
	free(l->src);
	free(l->file);
	free(l->url);
	tplist_free(l->tp);
	strset_free(l->set);
	if (l->cidrs) {
		cidr_list_free(l->cidrs);
		free(l->cidrs);
	}
	memset(l, 0, sizeof(*l));
}
