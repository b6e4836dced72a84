/* Extension facts (struct cert_ext): every SAN, the commonNames, the
 * canonical subject and issuer, the SPKI pin, key and signature
 * algorithms, EKU, policies. Pure: no I/O, no clock, no global state. */

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert-ext.h"
#include "dn.h"
#include "spiffe.h"
#include "strutil.h"

/* Everything of cert_ext is first gathered in an ext_build: numbers in
 * place, strings as (source, length, where the pointer goes) with sources
 * that live until the copy (OpenSSL's, or temporaries here). The arrays
 * (SANs, commonNames, policies) are sized to the certificate's real counts:
 * nothing is dropped. Then one block of the struct, the arrays and the
 * strings is allocated and filled. */

/* Where a queued string's pointer goes. */
enum ext_dst {
	EXT_DST_FIELD = 0,     /* a const char * member of struct cert_ext, at offset idx */
	EXT_DST_SAN,           /* sans[idx].value */
	EXT_DST_CN,            /* cns[idx] */
	EXT_DST_CN_CANON,      /* cns_canon[idx] */
	EXT_DST_POLICY,        /* policies[idx] */
	EXT_DSTS
};

struct ext_str {
	enum ext_dst dst;
	size_t idx;
	const char *src;
	size_t len;
	int lower;            /* ASCII-lowercase while copying (DNS names) */
};

struct ext_build {
	struct cert_ext e;
	struct ext_str *str;
	size_t nstr, strcap;
	size_t total;         /* string bytes, NULs included */
	struct cert_san *sans;             /* e.nsans used */
	char (*ip)[INET6_ADDRSTRLEN];      /* text of sans[k] when an address */
	int spiffe_san;       /* index of the first SPIFFE URI in sans, or -1 */
	char *subject, *issuer;
	unsigned char **cn;   /* e.ncns UTF-8 values (OPENSSL_free) */
	char **cn_canon;      /* e.ncns normalized values (free) */
	int cncap;
	char **policy;        /* e.npolicies dotted OIDs (free) */
	int polcap;
	char key_name[128], curve[80], sig_alg[128];
};

#define EXT_OFF(b, member) ((size_t)((const char *)&(b)->e.member - (const char *)&(b)->e))

/* Queue a string. One with a NUL inside cannot be a C string without
 * changing what it says ("a.example\0.evil.example"): unreadable. */
static int ext_str_to(struct ext_build *b, enum ext_dst dst, size_t idx, const char *src,
                      size_t len, int lower)
{
	struct ext_str *s;

	if (len > 0 && memchr(src, 0, len))
		return -1;
	if (b->nstr == b->strcap) {
		size_t cap = b->strcap ? b->strcap * 2 : 32;
		struct ext_str *ns = realloc(b->str, cap * sizeof(*ns));

		if (!ns)
			return -1;
		b->str = ns;
		b->strcap = cap;
	}
	s = &b->str[b->nstr++];
	s->dst = dst;
	s->idx = idx;
	s->src = src;
	s->len = len;
	s->lower = lower;
	b->total += len + 1;
	return 0;
}

static int ext_str_add(struct ext_build *b, size_t off, const char *src, size_t len, int lower)
{
	return ext_str_to(b, EXT_DST_FIELD, off, src, len, lower);
}

static int ext_str_add0(struct ext_build *b, size_t off, const char *src)
{
	return ext_str_add(b, off, src, strlen(src), 0);
}

/* Canonical form of a name into a new string (dn.h). */
char *cert_name_canon(const X509_NAME *name)
{
	int der = i2d_X509_NAME(name, NULL);
	size_t cap;
	char *s;

	if (der < 0)
		return NULL;
	/* the canonical form is at most 4 bytes per DER byte (dotted OIDs:
	 * "127." from one byte; UTF-8 of Latin-1 and "\" escapes: 2) */
	cap = (size_t)der * 4 + 64;
	s = malloc(cap);
	if (s && dn_canon_x509(name, s, cap) < 0) {
		free(s);
		s = NULL;
	}
	return s;
}

/* Subject Alternative Names we match on, all of them; others are ignored.
 * Counts the URIs of scheme "spiffe" (in any case: "SPIFFE://..." is one,
 * and invalid) and remembers the first. */
static int ext_sans(struct ext_build *b, X509 *x, GENERAL_NAMES **gensp)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *gen;
	const ASN1_STRING *s;
	enum cert_san_type type;
	int crit = -1, i, k, num;

	*gensp = gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (!gens)
		return crit == -1 ? 0 : -1;   /* absent, or undecodable/duplicated */
	num = sk_GENERAL_NAME_num(gens);
	if (num <= 0)
		return 0;
	b->e.san_total = num;
	if (num > CERT_SANS_KEEP_MAX)
		return 0;     /* denied by every policy (too_many_sans): keep none */
	b->sans = calloc((size_t)num, sizeof(*b->sans));
	b->ip = calloc((size_t)num, sizeof(*b->ip));
	if (!b->sans || !b->ip)
		return -1;
	for (i = 0; i < num; i++) {
		gen = sk_GENERAL_NAME_value(gens, i);
		switch (gen->type) {
		case GEN_DNS:
			type = CERT_SAN_DNS;
			s = gen->d.dNSName;
			break;
		case GEN_URI:
			type = CERT_SAN_URI;
			s = gen->d.uniformResourceIdentifier;
			break;
		case GEN_EMAIL:
			type = CERT_SAN_EMAIL;
			s = gen->d.rfc822Name;
			break;
		case GEN_IPADD:
			type = CERT_SAN_IP;
			s = gen->d.iPAddress;
			break;
		default:
			continue;
		}
		if (!s || s->length < 0)
			return -1;
		if (type == CERT_SAN_IP && s->length != 4 && s->length != 16)
			return -1;     /* an address/mask pair belongs in name constraints */
		k = b->e.nsans;
		b->sans[k].type = type;
		if (type == CERT_SAN_IP) {
			memcpy(b->sans[k].ip, s->data, (size_t)s->length);
			b->sans[k].ip_len = s->length;
			if (!inet_ntop(s->length == 4 ? AF_INET : AF_INET6, s->data,
			               b->ip[k], sizeof(b->ip[k])) ||
			    ext_str_to(b, EXT_DST_SAN, (size_t)k, b->ip[k], strlen(b->ip[k]), 0) < 0)
				return -1;
		} else if (ext_str_to(b, EXT_DST_SAN, (size_t)k, (const char *)s->data,
		                      (size_t)s->length, type == CERT_SAN_DNS) < 0) {
			return -1;
		}
		if (type == CERT_SAN_URI && spiffe_has_scheme((const char *)s->data, (size_t)s->length)) {
			if (b->spiffe_san < 0)
				b->spiffe_san = k;
			b->e.nspiffe++;
		}
		b->e.nsans++;
	}
	return 0;
}

/* Every commonName of the subject, as UTF-8 and normalized as a DN value
 * (dn_norm_value); cn is the first, "" if none. */
static int ext_cn(struct ext_build *b, const X509_NAME *subj)
{
	const X509_NAME_ENTRY *ne;
	int idx = -1, n, k, count = X509_NAME_entry_count(subj);

	if (count > 0) {
		b->cn = calloc((size_t)count, sizeof(*b->cn));
		b->cn_canon = calloc((size_t)count, sizeof(*b->cn_canon));
		if (!b->cn || !b->cn_canon)
			return -1;
		b->cncap = count;
	}
	while ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >= 0) {
		k = b->e.ncns;
		if (k >= b->cncap)
			return -1;
		ne = X509_NAME_get_entry(subj, idx);
		if (!ne || (n = ASN1_STRING_to_UTF8(&b->cn[k], X509_NAME_ENTRY_get_data(ne))) < 0)
			return -1;
		b->e.ncns++;
		if (!(b->cn_canon[k] = malloc((size_t)n + 1)) ||
		    dn_norm_value((const char *)b->cn[k], (size_t)n, b->cn_canon[k], (size_t)n + 1) < 0)
			return -1;
		if (ext_str_to(b, EXT_DST_CN, (size_t)k, (const char *)b->cn[k], (size_t)n, 0) < 0 ||
		    ext_str_to(b, EXT_DST_CN_CANON, (size_t)k, b->cn_canon[k], strlen(b->cn_canon[k]), 0) < 0)
			return -1;
		if (k == 0 && ext_str_add(b, EXT_OFF(b, cn), (const char *)b->cn[0], (size_t)n, 0) < 0)
			return -1;
	}
	if (b->e.ncns == 0)
		return ext_str_add0(b, EXT_OFF(b, cn), "");
	return 0;
}

/* Key names by key type, as OpenSSL's providers name them. */
static const struct {
	int nid;
	const char *name;
} cert_key_names[] = {
	{ EVP_PKEY_RSA,     "RSA" },
	{ EVP_PKEY_RSA_PSS, "RSA-PSS" },
	{ EVP_PKEY_EC,      "EC" },
	{ EVP_PKEY_ED25519, "ED25519" },
	{ EVP_PKEY_ED448,   "ED448" },
	{ EVP_PKEY_DSA,     "DSA" },
	{ EVP_PKEY_SM2,     "SM2" },
	{ EVP_PKEY_X25519,  "X25519" },
	{ EVP_PKEY_X448,    "X448" },
	{ EVP_PKEY_DH,      "DH" },
	{ EVP_PKEY_DHX,     "DHX" },
};

/* A provider's key (an SM2 key from an id-ecPublicKey SPKI) may have no
 * legacy type: EVP_PKEY_get_base_id() says -1. Ask by name instead, so a
 * key limit never sees an SM2 key as "unknown". NID_undef if neither. */
static int key_type_of(EVP_PKEY *pkey)
{
	int t = EVP_PKEY_get_base_id(pkey);

	if (t > 0)
		return t;
	for (size_t i = 0; i < sizeof(cert_key_names) / sizeof(cert_key_names[0]); i++)
		if (EVP_PKEY_is_a(pkey, cert_key_names[i].name))
			return cert_key_names[i].nid;
	return NID_undef;
}

/* The SubjectPublicKeyInfo a pin is computed over: the key as OpenSSL
 * re-encodes it, EC points uncompressed and EC parameters by curve name,
 * so that the same key written another way (`openssl ec -conv_form
 * compressed`, explicit curve parameters) keeps its pin. A key OpenSSL
 * cannot load is hashed as the certificate has it. Returns the DER length
 * (*der is the caller's, OPENSSL_free) or -1. */
/* Whether an EC key's SPKI is already in the canonical form: parameters a
 * curve OID, point uncompressed (04 || X || Y). */
static int ec_spki_canonical(X509_PUBKEY *pk)
{
	const unsigned char *point = NULL;
	X509_ALGOR *alg = NULL;
	const void *pval = NULL;
	int plen = 0, ptype = V_ASN1_UNDEF;

	if (!pk || !X509_PUBKEY_get0_param(NULL, &point, &plen, &alg, pk) || !alg)
		return 0;
	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	return ptype == V_ASN1_OBJECT && plen > 1 && point && point[0] == 0x04;
}

static int spki_canonical_der(X509_PUBKEY *pk, EVP_PKEY *pkey, unsigned char **der)
{
	EVP_PKEY *copy;
	char group[80];
	size_t glen = 0;
	int n = -1, type;

	if (!pkey)
		return pk ? i2d_X509_PUBKEY(pk, der) : -1;
	type = key_type_of(pkey);
	if (type != EVP_PKEY_EC && type != EVP_PKEY_SM2)
		return i2d_PUBKEY(pkey, der);
	/* Most EC certificates are written that way already: their own SPKI,
	 * re-encoded, is the canonical one, without the copy and the
	 * provider's encoder (two thirds of the key's cost on a cache miss,
	 * ~60 us with OpenSSL 3.0; docs/BENCHMARKS.md, the fleet). */
	if (ec_spki_canonical(pk))
		return i2d_X509_PUBKEY(pk, der);
	if (!(copy = EVP_PKEY_dup(pkey)))
		return -1;
	if (!EVP_PKEY_set_utf8_string_param(copy, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	                                    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED))
		goto out;
	if (EVP_PKEY_get_utf8_string_param(copy, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) &&
	    !EVP_PKEY_set_utf8_string_param(copy, OSSL_PKEY_PARAM_EC_ENCODING, OSSL_PKEY_EC_ENCODING_GROUP))
		goto out;
	n = i2d_PUBKEY(copy, der);
out:
	EVP_PKEY_free(copy);
	return n;
}

/* A curve's OpenSSL short name ("prime256v1" for "P-256"); "" if unknown. */
static void curve_short_name(char *name, size_t len)
{
	int nid = OBJ_txt2nid(name);

	if (nid == NID_undef)
		nid = EC_curve_nist2nid(name);
	if (nid != NID_undef && OBJ_nid2sn(nid))
		snprintf(name, len, "%s", OBJ_nid2sn(nid));
}

/* SPKI digest and pin (spki_canonical_der), key type, size, name and
 * curve. A key OpenSSL cannot load (unknown algorithm) is named by its
 * algorithm OID, with 0 bits. */
static int ext_key(struct ext_build *b, X509 *x)
{
	X509_PUBKEY *pk = X509_get_X509_PUBKEY(x);
	EVP_PKEY *pkey = X509_get0_pubkey(x);
	ASN1_OBJECT *alg = NULL;
	unsigned char *der = NULL;
	const char *name = NULL;
	unsigned int mdlen = 0;
	size_t i, glen = 0;
	int n, ok;

	n = spki_canonical_der(pk, pkey, &der);
	ok = n > 0 && EVP_Digest(der, (size_t)n, b->e.spki_sha256, &mdlen, EVP_sha256(), NULL) &&
	     mdlen == sizeof(b->e.spki_sha256);
	OPENSSL_free(der);
	if (!ok)
		return -1;
	EVP_EncodeBlock((unsigned char *)b->e.spki_pin, b->e.spki_sha256,
	                (int)sizeof(b->e.spki_sha256));

	if (pkey) {
		b->e.key_type = key_type_of(pkey);
		b->e.key_bits = EVP_PKEY_get_bits(pkey);
	} else {
		if (!X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, pk) || !alg)
			return -1;
		b->e.key_type = OBJ_obj2nid(alg);
		b->e.key_bits = 0;
	}
	for (i = 0; i < sizeof(cert_key_names) / sizeof(cert_key_names[0]); i++)
		if (cert_key_names[i].nid == b->e.key_type)
			name = cert_key_names[i].name;
	if (!name && b->e.key_type != NID_undef)
		name = OBJ_nid2sn(b->e.key_type);
	if (!name) {
		if (!alg && !X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, pk))
			return -1;
		n = OBJ_obj2txt(b->key_name, sizeof(b->key_name), alg, 1);
		if (n <= 0 || (size_t)n >= sizeof(b->key_name))
			return -1;
		name = b->key_name;
	}
	if (ext_str_add0(b, EXT_OFF(b, key_name), name) < 0)
		return -1;

	b->curve[0] = '\0';
	if (pkey && (b->e.key_type == EVP_PKEY_EC || b->e.key_type == EVP_PKEY_SM2) &&
	    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, b->curve,
	                                    sizeof(b->curve), &glen))
		b->curve[0] = '\0';    /* explicit parameters: no name */
	if (b->curve[0])
		curve_short_name(b->curve, sizeof(b->curve));
	return ext_str_add0(b, EXT_OFF(b, curve), b->curve);
}

/* Signature algorithm long name (dotted OID if OpenSSL has none) and the
 * NID of its digest: from X509_get_signature_info(), which also reads
 * RSA-PSS parameters, else from the algorithm's OID. */
static int ext_sig(struct ext_build *b, X509 *x)
{
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj = NULL;
	const char *ln = NULL;
	int nid, md = NID_undef, n;

	X509_get0_signature(NULL, &alg, x);
	if (!alg)
		return -1;
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	if (!obj)
		return -1;
	nid = OBJ_obj2nid(obj);
	if (nid != NID_undef)
		ln = OBJ_nid2ln(nid);
	if (!ln) {
		n = OBJ_obj2txt(b->sig_alg, sizeof(b->sig_alg), obj, 1);
		if (n <= 0 || (size_t)n >= sizeof(b->sig_alg))
			return -1;
		ln = b->sig_alg;
	}
	if (!X509_get_signature_info(x, &md, NULL, NULL, NULL) &&
	    (nid == NID_undef || !OBJ_find_sigid_algs(nid, &md, NULL)))
		md = NID_undef;
	b->e.sig_md_nid = md;
	b->e.sig_nid = nid;
	return ext_str_add0(b, EXT_OFF(b, sig_alg), ln);
}

static int ext_eku(struct ext_build *b, X509 *x)
{
	EXTENDED_KEY_USAGE *eku;
	int crit = -1, i, nid;

	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	if (!eku)
		return crit == -1 ? 0 : -1;
	b->e.eku = CERT_EKU_PRESENT;
	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
		if (nid == NID_client_auth)
			b->e.eku |= CERT_EKU_CLIENT_AUTH;
		else if (nid == NID_server_auth)
			b->e.eku |= CERT_EKU_SERVER_AUTH;
		else if (nid == NID_anyExtendedKeyUsage)
			b->e.eku |= CERT_EKU_ANY;
		else
			b->e.eku |= CERT_EKU_OTHER;
	}
	EXTENDED_KEY_USAGE_free(eku);
	return 0;
}

/* Certificate policy OIDs, dotted, in certificate order: all of them. */
static int ext_policies(struct ext_build *b, X509 *x)
{
	CERTIFICATEPOLICIES *pols;
	const POLICYINFO *pi;
	int crit = -1, i, n, k, num, rc = -1;

	pols = X509_get_ext_d2i(x, NID_certificate_policies, &crit, NULL);
	if (!pols)
		return crit == -1 ? 0 : -1;
	num = sk_POLICYINFO_num(pols);
	if (num > 0 && !(b->policy = calloc((size_t)num, sizeof(*b->policy))))
		goto out;
	b->polcap = num > 0 ? num : 0;
	for (i = 0; i < num; i++) {
		k = b->e.npolicies;
		pi = sk_POLICYINFO_value(pols, i);
		if (!pi || !pi->policyid)
			goto out;
		n = OBJ_obj2txt(NULL, 0, pi->policyid, 1);
		if (n <= 0 || !(b->policy[k] = malloc((size_t)n + 1)) ||
		    OBJ_obj2txt(b->policy[k], n + 1, pi->policyid, 1) != n ||
		    ext_str_to(b, EXT_DST_POLICY, (size_t)k, b->policy[k], (size_t)n, 0) < 0)
			goto out;
		b->e.npolicies++;
	}
	rc = 0;
out:
	CERTIFICATEPOLICIES_free(pols);
	return rc;
}

/* Bytes of n objects of size sz, rounded up so what follows stays aligned
 * for pointers and struct cert_san. */
static size_t ext_span(size_t n, size_t sz)
{
	size_t a = _Alignof(struct cert_san) > _Alignof(char *) ? _Alignof(struct cert_san)
	                                                         : _Alignof(char *);
	size_t bytes = n * sz;

	return (bytes + a - 1) / a * a;
}

/* One block: the struct, the SAN array, the CN, normalized CN and policy
 * pointer arrays, then every string. */
static struct cert_ext *ext_copy(const struct ext_build *b)
{
	struct cert_ext *e;
	struct cert_san *sans;
	const char **cns, **cnc, **pols;
	const char *p;
	char *arena, *base;
	size_t head;

	head = ext_span(1, sizeof(*e));
	head += ext_span((size_t)b->e.nsans, sizeof(*sans));
	head += 2 * ext_span((size_t)b->e.ncns, sizeof(char *));
	head += ext_span((size_t)b->e.npolicies, sizeof(char *));
	base = malloc(head + b->total);
	if (!base)
		return NULL;
	e = (struct cert_ext *)(void *)base;
	*e = b->e;
	arena = base + ext_span(1, sizeof(*e));
	sans = (struct cert_san *)(void *)arena;
	arena += ext_span((size_t)b->e.nsans, sizeof(*sans));
	cns = (const char **)(void *)arena;
	arena += ext_span((size_t)b->e.ncns, sizeof(char *));
	cnc = (const char **)(void *)arena;
	arena += ext_span((size_t)b->e.ncns, sizeof(char *));
	pols = (const char **)(void *)arena;
	arena += ext_span((size_t)b->e.npolicies, sizeof(char *));
	if (b->e.nsans)
		memcpy(sans, b->sans, (size_t)b->e.nsans * sizeof(*sans));
	e->sans = sans;
	e->cns = cns;
	e->cns_canon = cnc;
	e->policies = pols;
	for (size_t i = 0; i < b->nstr; i++) {
		const struct ext_str *s = &b->str[i];

		if (s->lower)
			str_lower_n(arena, s->src, s->len);
		else
			memcpy(arena, s->src, s->len);
		arena[s->len] = '\0';
		p = arena;
		switch (s->dst) {
		case EXT_DST_FIELD:
			memcpy((char *)e + s->idx, &p, sizeof(p));
			break;
		case EXT_DST_SAN:
			sans[s->idx].value = p;
			break;
		case EXT_DST_CN:
			cns[s->idx] = p;
			break;
		case EXT_DST_CN_CANON:
			cnc[s->idx] = p;
			break;
		case EXT_DST_POLICY:
			pols[s->idx] = p;
			break;
		case EXT_DSTS:
			break;
		}
		arena += s->len + 1;
	}
	if (b->spiffe_san >= 0)
		e->spiffe_id = sans[b->spiffe_san].value;
	return e;
}

struct cert_ext *cert_get_ext(X509 *x)
{
	struct ext_build *b = NULL;
	struct cert_ext *e = NULL;
	GENERAL_NAMES *gens = NULL;
	const X509_NAME *subj, *iss;
	int i, ca;

	if (!x)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		goto out;
	b->spiffe_san = -1;
	subj = X509_get_subject_name(x);
	iss = X509_get_issuer_name(x);
	if (!subj || !iss)
		goto out;
	if (ext_sans(b, x, &gens) < 0 || ext_cn(b, subj) < 0)
		goto out;
	if (!(b->subject = cert_name_canon(subj)) || !(b->issuer = cert_name_canon(iss)) ||
	    ext_str_add0(b, EXT_OFF(b, subject_canon), b->subject) < 0 ||
	    ext_str_add0(b, EXT_OFF(b, issuer_canon), b->issuer) < 0)
		goto out;
	if (ext_key(b, x) < 0 || ext_sig(b, x) < 0 || ext_eku(b, x) < 0 ||
	    ext_policies(b, x) < 0)
		goto out;
	ca = X509_check_ca(x);
	b->e.is_ca = ca > 0;
	/* X509_check_ca() cached the extensions: these read them */
	b->e.bc_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
	b->e.has_key_usage = (X509_get_extension_flags(x) & EXFLAG_KUSAGE) != 0;
	b->e.key_usage = b->e.has_key_usage ? (unsigned int)X509_get_key_usage(x) : 0;
	e = ext_copy(b);
out:
	GENERAL_NAMES_free(gens);
	if (b) {
		free(b->subject);
		free(b->issuer);
		for (i = 0; i < b->cncap; i++) {
			OPENSSL_free(b->cn[i]);
			free(b->cn_canon[i]);
		}
		free(b->cn);
		free(b->cn_canon);
		for (i = 0; i < b->polcap; i++)
			free(b->policy[i]);
		free(b->policy);
		free(b->sans);
		free(b->ip);
		free(b->str);
		free(b);
	}
	ERR_clear_error();
	return e;
}

void cert_ext_free(struct cert_ext *e)
{
	free(e);
}
