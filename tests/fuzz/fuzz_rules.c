/* Fuzz target: identity matching (agent/rules.c id_match, cert.c's SAN and
 * CN extraction, spiffe.c, cidr.c, the list compiler) against a model.
 *
 * Input:
 *   byte 0   list kind (% 6: dns, spiffe, ip, cn, email, uri) and side
 *            (bit 0x40: deny, else allow)
 *   then     lines ('\n'): list entries, a line "=", then the certificate's
 *            values, each a tag and bytes: "D<dns>", "U<uri>", "E<email>",
 *            "C<common name>", "I<8 or 32 hex digits>" (an IP SAN).
 * A certificate with those SANs (in order) and CNs is built and signed,
 * the list is compiled as one inline list of a policy, and the decision
 * is compared with a model written here from docs/POLICY.md "Matching
 * semantics", independently of rules.c: plain loops and strings, no shared
 * helper. Must hold:
 *   - the rule that decides is the model's: too_many_sans, spiffe_invalid,
 *     dns_invalid, cert_extensions, deny_<kind> / verified, allow_<kind> /
 *     identity;
 *   - identity is the value the model's deciding rule matched (the first
 *     matching SAN, or CN), or, for verified, the descriptive one;
 *   - for SPIFFE lists, the list compiles exactly when every entry is a
 *     SPIFFE ID by the model's reading. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>

#include "cert.h"
#include "cfg-t.h"
#include "fuzz.h"
#include "lists.h"
#include "rules.h"
#include "testpki.h"

#define MAX_VALUES   160
#define MAX_ENTRIES  64
#define MODEL_SANS   100       /* max_sans's default */

enum mkind { M_DNS = 0, M_SPIFFE, M_IP, M_CN, M_EMAIL, M_URI, M_KINDS };

static const enum id_kind id_of[M_KINDS] = {
	[M_DNS] = ID_DNS, [M_SPIFFE] = ID_SPIFFE, [M_IP] = ID_IP,
	[M_CN] = ID_CN, [M_EMAIL] = ID_EMAIL, [M_URI] = ID_URI,
};
static const char *const kname[M_KINDS] = {
	[M_DNS] = "dns", [M_SPIFFE] = "spiffe", [M_IP] = "ip",
	[M_CN] = "cn", [M_EMAIL] = "email", [M_URI] = "uri",
};

struct val {
	char tag;                 /* D U E C I */
	const char *p;
	size_t n;
	unsigned char ip[16];
	int iplen;
};

struct input {
	enum mkind kind;
	int deny;
	const char *ent[MAX_ENTRIES];
	size_t entlen[MAX_ENTRIES];
	int nent;
	struct val v[MAX_VALUES];
	int nv;
};

static EVP_PKEY *key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	key = testpki_make_key();
	FUZZ_ASSERT(key);
	return 0;
}

/* ---- input ---- */

static int hexd(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_input(const uint8_t *data, size_t size, struct input *in)
{
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	int values = 0;

	memset(in, 0, sizeof(*in));
	if (size < 1)
		return -1;
	in->kind = (enum mkind)((data[0] & 0x3f) % M_KINDS);
	in->deny = (data[0] & 0x40) != 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (!values && n == 1 && p[0] == '=') {
			values = 1;
		} else if (!values) {
			if (in->nent == MAX_ENTRIES)
				return -1;
			in->ent[in->nent] = p;
			in->entlen[in->nent++] = n;
		} else if (n >= 1) {
			struct val *v;

			if (in->nv == MAX_VALUES || p[0] == 0 || !strchr("DUECI", p[0]))
				return -1;
			v = &in->v[in->nv++];
			v->tag = p[0];
			v->p = p + 1;
			v->n = n - 1;
			if (v->tag == 'I') {
				if (v->n != 8 && v->n != 32)
					return -1;
				v->iplen = (int)v->n / 2;
				for (int i = 0; i < v->iplen; i++) {
					int hi = hexd(v->p[2 * i]), lo = hexd(v->p[2 * i + 1]);

					if (hi < 0 || lo < 0)
						return -1;
					v->ip[i] = (unsigned char)(hi << 4 | lo);
				}
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (in->nent == 0)
		return -1;
	/* entries go in one inline list: no ',', no comment or quote
	 * character ('#', ';', '"'), nothing the list reader trims, no NUL,
	 * shorter than its 1024-byte buffer */
	for (int i = 0; i < in->nent; i++) {
		const char *e = in->ent[i];
		size_t n = in->entlen[i];

		if (n == 0 || n >= 1000 || memchr(e, ',', n) || memchr(e, 0, n) || memchr(e, '#', n) ||
		    memchr(e, ';', n) || memchr(e, '"', n) ||
		    e[0] == ' ' || e[0] == '\t' || e[n - 1] == ' ' || e[n - 1] == '\t' ||
		    e[n - 1] == '\r' || e[n - 1] == '\n')
			return -1;
	}
	return 0;
}

/* ---- the certificate ---- */

static X509 *build(const struct input *in)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int nsan = 0, ok = 0;

	if (!x || !name || !gens)
		goto out;
	if (!X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 7) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -86400) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400) || !X509_set_pubkey(x, key))
		goto out;
	for (int i = 0; i < in->nv; i++) {
		const struct val *v = &in->v[i];
		GENERAL_NAME *g;
		ASN1_STRING *s;
		int type;

		if (v->tag == 'C') {
			if (!X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
			                                (const unsigned char *)v->p, (int)v->n, -1, 0))
				goto out;      /* not UTF-8, or too long for a CN */
			continue;
		}
		type = v->tag == 'D' ? GEN_DNS : v->tag == 'U' ? GEN_URI : v->tag == 'E' ? GEN_EMAIL : GEN_IPADD;
		s = type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
		g = GENERAL_NAME_new();
		if (!s || !g || !ASN1_STRING_set(s, type == GEN_IPADD ? (const void *)v->ip : v->p,
		                                 type == GEN_IPADD ? v->iplen : (int)v->n)) {
			ASN1_STRING_free(s);
			GENERAL_NAME_free(g);
			goto out;
		}
		GENERAL_NAME_set0_value(g, type, s);
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			goto out;
		}
		nsan++;
	}
	if (!X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name))
		goto out;
	if (nsan && !X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT))
		goto out;
	ok = X509_sign(x, key, EVP_sha256()) > 0;
out:
	GENERAL_NAMES_free(gens);
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* ---- the model ---- */

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int eq(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && memcmp(a, b, an) == 0;
}

/* The host name rules: labels of [a-z0-9-] (the value is lowercased
 * already), 1..63 long, no '-' at either end, 253 in all after one
 * trailing dot is dropped; the first label may be "*" alone. */
static int model_dns_ok(const char *s, size_t n)
{
	size_t label = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			const char *l = s + i - label;

			if (label == 0 || label > 63 || l[0] == '-' || l[label - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (s[i] == '*') {
			if (i != 0 || n < 2 || s[1] != '.')
				return 0;
			label++;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
		label++;
	}
	return 1;
}

/* name = ONE label + "." + suffix */
static int one_label_over(const char *name, size_t n, const char *suffix, size_t sn)
{
	if (n < sn + 2 || memcmp(name + n - sn, suffix, sn) != 0 || name[n - sn - 1] != '.')
		return 0;
	return memchr(name, '.', n - sn - 1) == NULL;
}

/* A (lowercased, valid) DNS SAN against one entry as compiled. */
static int model_dns_match(const char *san, size_t n, const char *e, size_t en, int deny)
{
	int wild = n >= 2 && san[0] == '*';

	if (n > 0 && san[n - 1] == '.')
		n--;
	if (eq(san, n, e, en))
		return 1;
	if (!wild)
		return en >= 2 && e[0] == '*' && e[1] == '.' && one_label_over(san, n, e + 2, en - 2);
	/* a wildcard SAN: covers the concrete names one label over its suffix */
	return deny && !(en >= 1 && e[0] == '*') && one_label_over(e, en, san + 2, n - 2);
}

/* A SPIFFE ID: exactly "spiffe://", trust domain [a-z0-9._-]{1,255},
 * then "/segment" pieces of [A-Za-z0-9._-]+, none "." or "..", 2048 bytes
 * in all. td/path get the two parts. */
static int model_spiffe(const char *s, size_t n, const char **td, size_t *tdn,
                        const char **path, size_t *pn)
{
	size_t i = 9, seg;

	if (n > 2048 || n < 9 || strncmp(s, "spiffe://", 9) != 0)
		return 0;
	while (i < n && s[i] != '/') {
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789._-", s[i]) || s[i] == 0)
			return 0;
		i++;
	}
	if (i == 9 || i - 9 > 255)
		return 0;
	*td = s + 9;
	*tdn = i - 9;
	*path = s + i;
	*pn = n - i;
	while (i < n) {
		i++;
		seg = i;
		while (i < n && s[i] != '/') {
			if (s[i] == 0 ||
			    !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]))
				return 0;
			i++;
		}
		if (i == seg || (i - seg == 1 && s[seg] == '.') ||
		    (i - seg == 2 && s[seg] == '.' && s[seg + 1] == '.'))
			return 0;
	}
	return 1;
}

static int spiffe_scheme(const char *s, size_t n)
{
	return n >= 7 && lower(s[0]) == 's' && lower(s[1]) == 'p' && lower(s[2]) == 'i' &&
	       lower(s[3]) == 'f' && lower(s[4]) == 'f' && lower(s[5]) == 'e' && s[6] == ':';
}

/* An entry as the list compiler keeps it: the trust domain lowercased. */
static int model_spiffe_entry(const char *e, size_t en, char *buf, const char **td, size_t *tdn,
                              const char **path, size_t *pn)
{
	memcpy(buf, e, en);
	for (size_t i = 9; i < en && buf[i] != '/'; i++)
		buf[i] = lower(buf[i]);
	return model_spiffe(buf, en, td, tdn, path, pn);
}

/* Every address as 16 bytes: IPv4 as ::ffff:a.b.c.d. */
static void to16(const unsigned char *a, int len, unsigned char out[16])
{
	static const unsigned char pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (len == 4) {
		memcpy(out, pre, 12);
		memcpy(out + 12, a, 4);
	} else {
		memcpy(out, a, 16);
	}
}

static int prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
	for (int i = 0; i < bits; i++)
		if (((a[i / 8] >> (7 - i % 8)) & 1) != ((b[i / 8] >> (7 - i % 8)) & 1))
			return 0;
	return 1;
}

/* Ranges as "a/len" text, the SAN as raw bytes: both to 16 bytes (an IPv4
 * range /p becomes ::ffff:a/96+p); the SAN is also tried as
 * ::ffff:a.b.c.d when it is ::ffff:a.b.c.d (nothing new) or, for deny
 * lists, ::a.b.c.d; and as ::a.b.c.d for deny lists when it is IPv4. */
static int model_ip_match(const unsigned char *ip, int iplen, const char *e, size_t en, int deny)
{
	char buf[64];
	const char *slash;
	unsigned char net[16], raw[16], forms[3][16];
	int bits, nf = 0, fam;
	long b = -1;
	static const unsigned char zero12[12] = { 0 };

	if (en >= sizeof(buf))
		return 0;
	memcpy(buf, e, en);
	buf[en] = 0;
	slash = strchr(buf, '/');
	if (slash) {
		char *endp;

		buf[slash - buf] = 0;
		b = strtol(slash + 1, &endp, 10);
	}
	if (inet_pton(AF_INET, buf, raw) == 1)
		fam = 4;
	else if (inet_pton(AF_INET6, buf, raw) == 1)
		fam = 16;
	else
		return 0;
	bits = slash ? (int)b : fam * 8;
	to16(raw, fam, net);
	if (fam == 4)
		bits += 96;
	to16(ip, iplen, forms[nf++]);
	/* forms[0] starts ::ffff: exactly when the SAN is IPv4 or IPv4-mapped */
	if (deny && forms[0][10] == 0xff && forms[0][11] == 0xff && memcmp(forms[0], zero12, 10) == 0) {
		/* also ::a.b.c.d */
		memset(forms[nf], 0, 12);
		memcpy(forms[nf++] + 12, forms[0] + 12, 4);
	}
	if (deny && iplen == 16 && memcmp(ip, zero12, 12) == 0) {
		/* ::a.b.c.d: also the IPv4 address */
		to16(ip + 12, 4, forms[nf++]);
	}
	for (int i = 0; i < nf; i++)
		if (prefix_eq(forms[i], net, bits))
			return 1;
	return 0;
}

/* The DN value normalization, written out again: white space (space,
 * \t..\r) trimmed and runs folded to one space, ASCII lowercased. */
static size_t model_norm(const char *s, size_t n, char *out)
{
	size_t o = 0;
	int pending = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == ' ' || (c >= '\t' && c <= '\r')) {
			pending = o > 0;
			continue;
		}
		if (pending)
			out[o++] = ' ';
		pending = 0;
		out[o++] = lower(c);
	}
	return o;
}

struct expect {
	char rule[40];
	const char *identity;     /* NULL: do not check */
	size_t idlen;
	char idbuf[4200];
};

/* The value the agent shows for SAN v: DNS lowercased, IP as inet_ntop. */
static void shown(const struct val *v, struct expect *x)
{
	if (v->tag == 'I') {
		inet_ntop(v->iplen == 4 ? AF_INET : AF_INET6, v->ip, x->idbuf, sizeof(x->idbuf));
		x->identity = x->idbuf;
		x->idlen = strlen(x->idbuf);
	} else if (v->tag == 'D') {
		for (size_t i = 0; i < v->n && i < sizeof(x->idbuf); i++)
			x->idbuf[i] = lower(v->p[i]);
		x->identity = x->idbuf;
		x->idlen = v->n < sizeof(x->idbuf) ? v->n : sizeof(x->idbuf);
	} else {
		x->identity = v->p;
		x->idlen = v->n;
	}
}

/* A DNS value lowercased (ASCII), as the agent keeps it. */
static const char *lowered(const struct val *v, char *buf, size_t cap)
{
	for (size_t i = 0; i < v->n && i < cap; i++)
		buf[i] = lower(v->p[i]);
	return buf;
}

static void model(const struct input *in, struct expect *x)
{
	int nsans = 0, nspiffe = 0, ncn = 0, first_san = -1, first_cn = -1, spiffe_at = -1;
	const char *td, *path, *etd, *epath;
	size_t tdn, pn, etdn, epn;
	char ebuf[1024], low[4200];

	memset(x, 0, sizeof(*x));
	for (int i = 0; i < in->nv; i++) {
		const struct val *v = &in->v[i];

		if (v->tag != 'I' && memchr(v->p, 0, v->n)) {
			snprintf(x->rule, sizeof(x->rule), "cert_extensions");
			return;
		}
		if (v->tag == 'C') {
			if (first_cn < 0)
				first_cn = i;
			ncn++;
			continue;
		}
		if (first_san < 0)
			first_san = i;
		nsans++;
		if (v->tag == 'U' && spiffe_scheme(v->p, v->n)) {
			if (spiffe_at < 0)
				spiffe_at = i;
			nspiffe++;
		}
	}
	if (nsans > MODEL_SANS) {
		snprintf(x->rule, sizeof(x->rule), "too_many_sans");
		return;
	}
	if (in->kind == M_SPIFFE && (nspiffe > 1 ||
	    (nspiffe == 1 && !model_spiffe(in->v[spiffe_at].p, in->v[spiffe_at].n, &td, &tdn, &path, &pn)))) {
		snprintf(x->rule, sizeof(x->rule), "spiffe_invalid");
		return;
	}
	for (int i = 0; in->kind == M_DNS && i < in->nv; i++)
		if (in->v[i].tag == 'D' &&
		    !model_dns_ok(lowered(&in->v[i], low, sizeof(low)), in->v[i].n)) {
			snprintf(x->rule, sizeof(x->rule), "dns_invalid");
			return;
		}
	for (int i = 0; i < in->nv; i++) {
		const struct val *v = &in->v[i];
		int hit = 0;

		if (in->kind == M_CN && (v->tag != 'C' || (!in->deny && ncn != 1)))
			continue;
		for (int k = 0; k < in->nent && !hit; k++) {
			const char *e = in->ent[k];
			size_t en = in->entlen[k];

			switch (in->kind) {
			case M_DNS: {
				char le[1024];

				if (v->tag != 'D')
					break;
				for (size_t j = 0; j < en; j++)
					le[j] = lower(e[j]);
				if (en > 1 && le[en - 1] == '.')
					en--;
				hit = model_dns_match(lowered(v, low, sizeof(low)), v->n, le, en, in->deny);
				break;
			}
			case M_SPIFFE:
				hit = v->tag == 'U' && spiffe_scheme(v->p, v->n) &&
				      model_spiffe(v->p, v->n, &td, &tdn, &path, &pn) &&
				      model_spiffe_entry(e, en, ebuf, &etd, &etdn, &epath, &epn) &&
				      eq(td, tdn, etd, etdn) && pn >= epn && memcmp(path, epath, epn) == 0 &&
				      (pn == epn || path[epn] == '/');
				break;
			case M_IP:
				hit = v->tag == 'I' && model_ip_match(v->ip, v->iplen, e, en, in->deny);
				break;
			case M_CN: {
				char a[1024], b[1024];
				size_t an = model_norm(v->p, v->n, a), bn = model_norm(e, en, b);

				hit = an > 0 && eq(a, an, b, bn);
				break;
			}
			case M_EMAIL:
				if (v->tag == 'E' && v->n == en) {
					hit = 1;
					for (size_t j = 0; j < en && hit; j++)
						hit = lower(v->p[j]) == lower(e[j]);
				}
				break;
			case M_URI:
				hit = v->tag == 'U' && eq(v->p, v->n, e, en);
				break;
			case M_KINDS:
				break;
			}
		}
		if (hit) {
			snprintf(x->rule, sizeof(x->rule), "%s_%s", in->deny ? "deny" : "allow", kname[in->kind]);
			if (!in->deny)
				shown(v, x);
			return;
		}
	}
	if (!in->deny) {
		snprintf(x->rule, sizeof(x->rule), "identity");
		return;
	}
	snprintf(x->rule, sizeof(x->rule), "verified");
	/* descriptive: the one valid SPIFFE ID, else the first SAN, else the first CN */
	if (nspiffe == 1 && model_spiffe(in->v[spiffe_at].p, in->v[spiffe_at].n, &td, &tdn, &path, &pn))
		shown(&in->v[spiffe_at], x);
	else if (first_san >= 0)
		shown(&in->v[first_san], x);
	else if (first_cn >= 0 && in->v[first_cn].n > 0)
		shown(&in->v[first_cn], x);
	else
		x->identity = "";
}

/* ---- the run ---- */

static int same_identity(const struct expect *x, const char *got)
{
	if (!x->identity)
		return 1;
	if (!got)
		return x->idlen == 0;
	return eq(got, strlen(got), x->identity, x->idlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in;
	struct expect x;
	struct policy pol;
	struct cfg_list *l;
	struct req_facts rq;
	struct cert_facts f;
	struct cert_eval ce;
	struct decision d;
	unsigned char *der = NULL;
	X509 *cert = NULL, *back = NULL;
	struct cert_ext *ext = NULL;
	char err[512], *src = NULL, ebuf[1024];
	const char *key_name = NULL, *td, *path;
	size_t srclen = 0, tdn, pn;
	int line = 0, n, compiled, model_ok = 1;

	if (parse_input(data, size, &in) < 0)
		return 0;
	for (int i = 0; i < in.nent; i++)
		srclen += in.entlen[i] + 1;
	src = malloc(srclen + 1);
	FUZZ_ASSERT(src);
	srclen = 0;
	for (int i = 0; i < in.nent; i++) {
		memcpy(src + srclen, in.ent[i], in.entlen[i]);
		srclen += in.entlen[i];
		src[srclen++] = i + 1 < in.nent ? ',' : '\0';
	}
	memset(&pol, 0, sizeof(pol));
	snprintf(pol.name, sizeof(pol.name), "default");
	pol.require_cert = 1;
	pol.verify = VERIFY_HAPROXY;
	pol.deny_status = 403;
	l = in.deny ? &pol.deny[id_of[in.kind]] : &pol.allow[id_of[in.kind]];
	l->src = src;
	compiled = lists_compile_policy(&pol, &line, &key_name, err, sizeof(err)) == 0;
	if (in.kind == M_SPIFFE) {
		for (int i = 0; i < in.nent; i++)
			model_ok &= model_spiffe_entry(in.ent[i], in.entlen[i], ebuf, &td, &tdn, &path, &pn);
		FUZZ_ASSERT(compiled == model_ok);
	}
	if (!compiled)
		goto out;
	cert = build(&in);
	if (!cert)
		goto out;
	n = i2d_X509(cert, &der);
	FUZZ_ASSERT(n > 0);
	back = cert_parse_der(der, (size_t)n);
	FUZZ_ASSERT(back);
	FUZZ_ASSERT(cert_get_facts(back, der, (size_t)n, &f) == 0);
	ext = cert_get_ext(back);
	memset(&ce, 0, sizeof(ce));
	ce.parsed = 1;
	ce.facts = &f;
	ce.ext = ext;
	memset(&rq, 0, sizeof(rq));
	rq.has_present = rq.present = 1;
	rq.has_verify = 1;
	rq.verify = X509_V_OK;
	rq.has_cert = 1;
	rq.cert.ptr = (const char *)der;
	rq.cert.len = (size_t)n;
	rules_decide(&pol, &rq, &ce, 1950000000, NULL, &d);

	model(&in, &x);
	if (getenv("FUZZ_RULES_VERBOSE"))   /* to see what the seeds reach */
		fprintf(stderr, "%s_%s: rules %s, model %s, identity '%s'\n", in.deny ? "deny" : "allow",
		        kname[in.kind], d.rule, x.rule, d.identity ? d.identity : "");
	if (!ext)
		FUZZ_ASSERT(strcmp(x.rule, "cert_extensions") == 0);
	if (strcmp(d.rule, x.rule) != 0) {
		fprintf(stderr, "rules said %s, the model %s\n", d.rule, x.rule);
		FUZZ_ASSERT(!"the rule that decided is the model's");
	}
	if (d.code == DEC_ALLOW && !same_identity(&x, d.identity)) {
		fprintf(stderr, "identity '%s', the model '%.*s'\n", d.identity ? d.identity : "(null)",
		        (int)x.idlen, x.identity);
		FUZZ_ASSERT(!"identity is what the deciding rule matched");
	}
out:
	cert_ext_free(ext);
	X509_free(back);
	X509_free(cert);
	OPENSSL_free(der);
	for (int k = 0; k < ID_KINDS; k++) {
		cfg_list_free(&pol.allow[k]);
		cfg_list_free(&pol.deny[k]);
	}
	return 0;
}
