/* Distinguished names (agent/dn.c): the canonical form of dn.h, from RFC
 * 2253 text, from oneline text and from certificates' X509_NAMEs, which
 * must agree for the same name. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "cert.h"
#include "dn.h"
#include "testhelp.h"

#define OUTMAX 8192

struct dn_case {
	const char *in;
	const char *want;
};

/* Text inputs and their canonical form. */
static const struct dn_case dn_cases[] = {
	/* order, separators, spacing */
	{ "CN=Alice,O=Example", "O=example/CN=alice" },
	{ "/O=Example/CN=Alice", "O=example/CN=alice" },
	{ "  cn = Alice ,  o = Example  ", "O=example/CN=alice" },
	{ "CN=alice;O=example", "O=example/CN=alice" },
	{ "CN=alice ; O=example", "O=example/CN=alice" },
	{ "  /O=Example/CN=Alice", "O=example/CN=alice" },
	{ "/ O = Example / CN = Alice ", "O=example/CN=alice" },
	{ "CN=A,CN=B", "CN=b/CN=a" },
	{ "DC=Example,DC=COM", "DC=com/DC=example" },
	{ "CN=Alice Smith,OU=Eng,O=Example Inc.,L=Springfield,ST=IL,C=US",
	  "C=us/ST=il/L=springfield/O=example inc./OU=eng/CN=alice smith" },
	/* attribute type spellings */
	{ "commonName=alice,organizationName=example", "O=example/CN=alice" },
	{ "2.5.4.3=alice,OID.2.5.4.10=example", "O=example/CN=alice" },
	{ "oid.2.5.4.3=alice,o=example", "O=example/CN=alice" },
	{ "2.5.4.03=alice", "CN=alice" },
	{ "E=A@B.example", "EMAILADDRESS=a@b.example" },
	{ "EMAIL=a@b.example", "EMAILADDRESS=a@b.example" },
	{ "emailAddress=a@b.example", "EMAILADDRESS=a@b.example" },
	{ "/emailaddress=a@b.example", "EMAILADDRESS=a@b.example" },
	{ "/EMAILADDRESS=a@b.example", "EMAILADDRESS=a@b.example" },
	{ "1.2.840.113549.1.9.1=a@b.example", "EMAILADDRESS=a@b.example" },
	{ "street=Main St", "STREET=main st" },
	{ "serialNumber=ABC-1", "SERIALNUMBER=abc-1" },
	{ "SERIALNUMBER=abc-1", "SERIALNUMBER=abc-1" },
	{ "GN=Ann,SN=Lee", "SN=lee/GN=ann" },
	{ "givenName=Ann", "GN=ann" },
	{ "UID=x", "UID=x" },
	{ "userId=x", "UID=x" },
	/* OpenSSL also has "uid" (uniqueIdentifier): no name can say it */
	{ "uid=x", "0.9.2342.19200300.100.1.44=x" },
	{ "mail=a@b", "MAIL=a@b" },
	{ "1.2.3.4=Hello", "1.2.3.4=hello" },
	{ "ad_timestamping=x", "AD_TIMESTAMPING=x" },        /* OpenSSL short names may have '_' */
	{ "1.3.6.1.5.5.7.48.3=x", "AD_TIMESTAMPING=x" },
	/* values: white space, case, escapes */
	{ "CN=  Alice \t  Smith  ,O=Example", "O=example/CN=alice smith" },
	{ "CN=a\\20\\20b", "CN=a b" },
	{ "CN=a\\09\\0Ab", "CN=a b" },
	{ "CN=\\ a\\ ", "CN=a" },
	{ "CN=a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h\\=i\\#j", "CN=a,b\\+c\"d\\\\e<f>g;h\\=i#j" },
	{ "CN=a=b", "CN=a\\=b" },
	{ "CN=a#b", "CN=a#b" },
	/* '#' and no hex digit: a literal '#' (OpenSSL prints a value of
	 * just "#" so, unescaped) */
	{ "CN=#", "CN=\\#" },
	{ "CN=#,O=x", "O=x/CN=\\#" },
	{ "CN=# x", "CN=\\# x" },
	{ "/CN=#", "CN=\\#" },
	{ "/CN=#/O=x", "CN=\\#/O=x" },
	{ "CN=#+O=x", "CN=\\#+O=x" },
	{ "CN=#zz", "CN=\\#zz" },
	{ "/CN=#zz", "CN=\\#zz" },
	{ "CN=\\#hash", "CN=\\#hash" },
	{ "/CN=\\#hash", "CN=\\#hash" },
	{ "CN=a/b", "CN=a\\/b" },
	{ "/CN=a\\/b", "CN=a\\/b" },
	{ "/CN=a\\+b", "CN=a\\+b" },
	{ "CN=a\\+b", "CN=a\\+b" },
	{ "/CN=a\\=b", "CN=a\\=b" },
	{ "/CN=a=b", "CN=a\\=b" },
	{ "/CN=a\\\\b", "CN=a\\\\b" },
	{ "/CN=a,b", "CN=a,b" },
	{ "CN=\"quoted, value\"", "CN=quoted, value" },
	{ "CN=\" padded \" , O=x", "O=x/CN=padded" },
	{ "CN=\"a\\\"b\"", "CN=a\"b" },
	{ "CN=\"a+b;c<d>\"", "CN=a\\+b;c<d>" },
	{ "CN=", "CN=" },
	{ "/CN=", "CN=" },
	{ "CN=   ", "CN=" },
	/* non-ASCII: kept as UTF-8, not case-folded */
	{ "CN=caf\\C3\\A9 \\C3\\80B", "CN=caf\xc3\xa9 \xc3\x80" "b" },
	{ "CN=caf\xc3\xa9", "CN=caf\xc3\xa9" },
	{ "CN=\xe4\xb8\xad\xe6\x96\x87 Name", "CN=\xe4\xb8\xad\xe6\x96\x87 name" },
	{ "CN=\xc2\xa0x\xc2\xa0", "CN=\xc2\xa0x\xc2\xa0" },      /* NBSP is not white space here */
	{ "CN=\xf0\x9f\x94\x92 lock", "CN=\xf0\x9f\x94\x92 lock" },
	/* multi-valued RDNs: sorted */
	{ "CN=alice+UID=a1,O=x", "O=x/CN=alice+UID=a1" },
	{ "UID=a1+CN=alice,O=x", "O=x/CN=alice+UID=a1" },
	{ "UID = a1 + CN = alice , O = x", "O=x/CN=alice+UID=a1" },
	{ "/O=x/UID=a1+CN=alice", "O=x/CN=alice+UID=a1" },
	{ "CN=b+CN=a", "CN=a+CN=b" },
	{ "CN=a\\+b+CN=a", "CN=a+CN=a\\+b" },
	{ "OU=z+OU=Y+OU=x,O=o", "O=o/OU=x+OU=y+OU=z" },
	/* #hexstring: the BER value, converted as a certificate's would be */
	{ "CN=#0C03616263", "CN=abc" },
	{ "CN=#0c03414243", "CN=abc" },
	{ "CN=#130461626364", "CN=abcd" },
	{ "CN=#1E0400610062", "CN=ab" },
	{ "CN=#14024142", "CN=ab" },
	{ "CN=#1401E9", "CN=\xc3\xa9" },                     /* T61String as Latin-1 */
	{ "1.2.3.4=#0C0568656C6C6F", "1.2.3.4=hello" },
	{ "CN=  #0C03616263  ,O=x", "O=x/CN=abc" },
	{ "/CN=#0c03616263", "CN=abc" },
	{ "/CN=#0c03616263+O=x", "CN=abc+O=x" },
	{ "CN=#0C052F2B3D5C23", "CN=\\/\\+\\=\\\\#" },
	{ "CN=#0C022341", "CN=\\#a" },
	{ "CN=#020105", "CN=#020105" },                      /* not a string: kept as DER */
	{ "CN=#0c03610062", "CN=#0c03610062" },              /* a NUL inside: kept as DER */
	{ "CN=#0C02C328", "CN=#0c02c328" },                  /* invalid UTF-8: kept as DER */
	{ "CN=#1E02D800", "CN=#1e02d800" },                  /* BMP surrogate: kept as DER */
	{ "CN=#0101FF", "CN=#0101ff" },
	{ "CN=#0500", "CN=#0500" },
	/* the empty DN */
	{ "", "" },
	{ "   ", "" },
	{ "/", "" },
	{ "/  ", "" },
};

/* Malformed: every one gives -1. */
static const char *const dn_bad[] = {
	"CN", "=a", " = a", "CN=a,", "CN=a,,O=b", "CN=a+", ",CN=a", "CN=a;", "CN=a;;O=b",
	"CN=a, ", "+CN=a", "C N=a", "XYZZY=a", "1=a", "1.=a", ".1.2=a", "1..2=a",
	"OID.=a", "OID.CN=a", "OID.1=a", "7.1=a", "CN:a", "C\\N=a", "\"CN\"=a", "C+N=a",
	"CN=#0g", "CN=#0", "CN=#0c", "CN=#0c0461", "CN=#0c03616263ff",
	"CN=#0c036162 63", "CN=#0c03616263 x", "CN=#0c03616263\"",
	"CN=\"abc", "CN=\"a\"b", "CN=\"a\\", "CN=a<b", "CN=a>b", "CN=a\"b",
	"CN=a\\q", "CN=a\\", "CN=a\\4", "CN=a\\4g", "CN=a\\/b",
	"CN=\\00", "CN=a\\00b", "CN=\\FF", "CN=\\C3", "CN=\\ED\\A0\\80", "CN=\\C0\\80",
	"CN=\\F4\\90\\80\\80", "CN=\xff", "CN=caf\xe9", "CN=\xc3",
	"/CN", "/CN=a/", "/CN=a//O=b", "//", "/=a", "/CN=a\\", "/CN=a+", "/+CN=a",
	"/CN=#0g", "/C\\N=a", "/CN=#0c0161 x", "/CN=\\\xff", "/XYZZY=a", "/CN=a/O",
	"/CN=\xc3\x28",
};

static void check_case(const char *in, size_t len, const char *want)
{
	char out[OUTMAX];
	int n = dn_canon_text(in, len, out, sizeof(out));

	if (!want) {
		if (n != -1)
			unit_fail(__FILE__, __LINE__, "dn_canon_text(\"%s\") == %d \"%s\", expected -1",
			          in, n, out);
		return;
	}
	if (n < 0 || strcmp(out, want) != 0 || (size_t)n != strlen(want))
		unit_fail(__FILE__, __LINE__, "dn_canon_text(\"%s\") == %d \"%s\", expected \"%s\"",
		          in, n, n < 0 ? "" : out, want);
}

/* The canonical form read back as oneline text ("/" + it) is itself. */
static void check_fixed_point(const char *canon)
{
	char in[OUTMAX + 1], out[OUTMAX];
	size_t n = strlen(canon);
	int k;

	in[0] = '/';
	memcpy(in + 1, canon, n);
	k = dn_canon_text(in, n + 1, out, sizeof(out));
	if (k < 0 || strcmp(out, canon) != 0)
		unit_fail(__FILE__, __LINE__, "\"/%s\" canonicalizes to %d \"%s\"", canon, k,
		          k < 0 ? "" : out);
}

TEST(dn_text_cases)
{
	size_t i;

	for (i = 0; i < sizeof(dn_cases) / sizeof(dn_cases[0]); i++) {
		check_case(dn_cases[i].in, strlen(dn_cases[i].in), dn_cases[i].want);
		check_fixed_point(dn_cases[i].want);
	}
}

TEST(dn_text_malformed)
{
	size_t i;

	for (i = 0; i < sizeof(dn_bad) / sizeof(dn_bad[0]); i++)
		check_case(dn_bad[i], strlen(dn_bad[i]), NULL);
	/* a NUL byte is data, not the end: input is (pointer, length) */
	check_case("CN=a\0b", 6, NULL);
	check_case("/CN=a\0b", 7, NULL);
	check_case("CN=a\0", 5, NULL);
	/* and length, not NUL, ends the input */
	check_case("CN=abc,O=x", 6, "CN=abc");
	CHECK(ERR_peek_error() == 0);
}

TEST(dn_text_limits)
{
	char out[64], *big;
	size_t n = 70000;

	/* exactly fitting, one byte short */
	CHECK_EQ_INT(dn_canon_text("CN=alice", 8, out, 9), 8);
	CHECK_EQ_STR(out, "CN=alice");
	CHECK_EQ_INT(dn_canon_text("CN=alice", 8, out, 8), -1);
	CHECK_EQ_STR(out, "");
	CHECK_EQ_INT(dn_canon_text("O=b,CN=a", 8, out, 8), -1);
	CHECK_EQ_INT(dn_canon_text("O=b,CN=a", 8, out, 9), 8);
	CHECK_EQ_INT(dn_canon_text("CN=a+CN=b", 9, out, 9), -1);
	CHECK_EQ_INT(dn_canon_text("", 0, out, 1), 0);
	CHECK_EQ_INT(dn_canon_text("CN=a", 4, out, 0), -1);
	CHECK_EQ_INT(dn_canon_text(NULL, 0, out, sizeof(out)), 0);
	CHECK_EQ_INT(dn_canon_text(NULL, 1, out, sizeof(out)), -1);
	CHECK_EQ_INT(dn_canon_text("CN=a", 4, NULL, 10), -1);
	CHECK_EQ_INT(dn_canon_x509(NULL, out, sizeof(out)), -1);

	/* overlong input, and a type too long to be one */
	big = malloc(n + 1);
	CHECK(big != NULL);
	if (!big)
		return;
	memset(big, 'a', n);
	memcpy(big, "CN=", 3);
	CHECK_EQ_INT(dn_canon_text(big, n, out, sizeof(out)), -1);
	CHECK_EQ_INT(dn_canon_text(big, 60000, out, sizeof(out)), -1);   /* fits no 64 */
	memset(big, 'a', 300);
	memcpy(big + 300, "=x", 2);
	CHECK_EQ_INT(dn_canon_text(big, 302, out, sizeof(out)), -1);
	free(big);
}

/* ---- certificates' names ---------------------------------------------- */

/* Add one attribute; join: 1 = same RDN as the previous one. */
static void add(X509_NAME *nm, const char *field, int type, const char *bytes, int len, int join)
{
	if (!X509_NAME_add_entry_by_txt(nm, field, type, (const unsigned char *)bytes, len, -1,
	                                join ? -1 : 0))
		unit_fail(__FILE__, __LINE__, "cannot add %s", field);
}

/* What OpenSSL prints as RFC 2253 (what cert_facts holds before
 * cert_name_copy); NULL if it cannot print the name. */
static char *rfc2253(const X509_NAME *nm)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *s = NULL;
	long n;

	if (b && X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_get_mem_data(b, &data)) >= 0 && (s = malloc((size_t)n + 1))) {
		if (n)
			memcpy(s, data, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(b);
	return s;
}

/* The X509_NAME's canonical form is want (if given), and RFC 2253 text of
 * the name, as printed by OpenSSL and as cert_facts holds it, gives the
 * same. Returns 0 if all agree. */
static int check_name(const X509_NAME *nm, const char *want, int line)
{
	char a[OUTMAX], b[OUTMAX], hs[OUTMAX];
	char *text = rfc2253(nm);
	int na, nb, nh, bad = 0;

	na = dn_canon_x509(nm, a, sizeof(a));
	if (na < 0 || (want && strcmp(a, want) != 0)) {
		unit_fail(__FILE__, line, "dn_canon_x509 == %d \"%s\", expected \"%s\"", na,
		          na < 0 ? "" : a, want ? want : "(any)");
		bad = 1;
	}
	if (!text) {
		unit_fail(__FILE__, line, "X509_NAME_print_ex failed");
		return 1;
	}
	nb = dn_canon_text(text, strlen(text), b, sizeof(b));
	if (na >= 0 && (nb != na || strcmp(a, b) != 0)) {
		unit_fail(__FILE__, line, "RFC 2253 \"%s\" -> %d \"%s\", certificate -> \"%s\"",
		          text, nb, nb < 0 ? "" : b, a);
		bad = 1;
	}
	cert_name_copy(hs, sizeof(hs), text, strlen(text));
	nh = dn_canon_text(hs, strlen(hs), b, sizeof(b));
	if (na >= 0 && (nh != na || strcmp(a, b) != 0)) {
		unit_fail(__FILE__, line, "header-safe \"%s\" -> %d \"%s\", certificate -> \"%s\"",
		          hs, nh, nh < 0 ? "" : b, a);
		bad = 1;
	}
	if (na >= 0)
		check_fixed_point(a);
	free(text);
	return bad;
}

TEST(dn_x509_matches_text)
{
	X509_NAME *nm;

	/* plain, in certificate order */
	nm = X509_NAME_new();
	add(nm, "C", MBSTRING_UTF8, "US", -1, 0);
	add(nm, "O", MBSTRING_UTF8, "Example  Inc.", -1, 0);
	add(nm, "OU", MBSTRING_UTF8, "Eng", -1, 0);
	add(nm, "UID", MBSTRING_UTF8, "x1", -1, 1);
	add(nm, "CN", MBSTRING_UTF8, " Alice Smith ", -1, 0);
	add(nm, "emailAddress", MBSTRING_UTF8, "Alice@Example.COM", -1, 0);
	check_name(nm, "C=us/O=example inc./OU=eng+UID=x1/CN=alice smith/"
	           "EMAILADDRESS=alice@example.com", __LINE__);
	/* the same name written by hand, both ways */
	check_case("/C=US/O=Example Inc./UID=x1+OU=Eng/CN=Alice Smith/E=alice@example.com",
	           strlen("/C=US/O=Example Inc./UID=x1+OU=Eng/CN=Alice Smith/E=alice@example.com"),
	           "C=us/O=example inc./OU=eng+UID=x1/CN=alice smith/EMAILADDRESS=alice@example.com");
	X509_NAME_free(nm);

	/* every character RFC 2253 escapes, and '/', '=' and '#' */
	nm = X509_NAME_new();
	add(nm, "O", MBSTRING_UTF8, "#1 a,b+c\"d\\e<f>g;h=i/j#k ", -1, 0);
	add(nm, "CN", MBSTRING_UTF8, "  #lead and trail  ", -1, 0);
	check_name(nm, "O=\\#1 a,b\\+c\"d\\\\e<f>g;h\\=i\\/j#k/CN=\\#lead and trail", __LINE__);
	X509_NAME_free(nm);

	/* string types: BMP, T61 (Latin-1), IA5, Printable, Universal */
	nm = X509_NAME_new();
	add(nm, "CN", V_ASN1_BMPSTRING, "\x00" "J\x00\xfc\x4e\x2d\x00 \x00X", 10, 0);
	add(nm, "O", V_ASN1_T61STRING, "Caf\xe9 \xc0", 6, 0);
	add(nm, "OU", V_ASN1_IA5STRING, "Ia5", -1, 0);
	add(nm, "L", V_ASN1_PRINTABLESTRING, "Print Able", -1, 0);
	add(nm, "ST", V_ASN1_UNIVERSALSTRING, "\x00\x00\x00S\x00\x01\xf5\x12", 8, 0);
	check_name(nm, "CN=j\xc3\xbc\xe4\xb8\xad x/O=caf\xc3\xa9 \xc3\x80/OU=ia5/L=print able/"
	           "ST=s\xf0\x9f\x94\x92", __LINE__);
	X509_NAME_free(nm);

	/* unknown attribute types: OpenSSL prints their values as #DER */
	nm = X509_NAME_new();
	add(nm, "1.2.3.4", MBSTRING_UTF8, "Hello World", -1, 0);
	add(nm, "1.3.6.1.4.1.99999.1", V_ASN1_PRINTABLESTRING, "X", -1, 1);
	add(nm, "CN", MBSTRING_UTF8, "n", -1, 0);
	check_name(nm, "1.2.3.4=hello world+1.3.6.1.4.1.99999.1=x/CN=n", __LINE__);
	X509_NAME_free(nm);

	/* types whose uppercased names would be read as another */
	nm = X509_NAME_new();
	add(nm, "uid", MBSTRING_UTF8, "u", -1, 0);
	add(nm, "UID", MBSTRING_UTF8, "v", -1, 0);
	add(nm, "mail", MBSTRING_UTF8, "m@x", -1, 0);
	check_name(nm, "0.9.2342.19200300.100.1.44=u/UID=v/MAIL=m@x", __LINE__);
	X509_NAME_free(nm);

	/* multi-valued RDNs in any order give the same string */
	nm = X509_NAME_new();
	add(nm, "DC", MBSTRING_UTF8, "com", -1, 0);
	add(nm, "DC", MBSTRING_UTF8, "example", -1, 0);
	add(nm, "OU", MBSTRING_UTF8, "z", -1, 0);
	add(nm, "OU", MBSTRING_UTF8, "Y", -1, 1);
	add(nm, "CN", MBSTRING_UTF8, "x", -1, 1);
	check_name(nm, "DC=com/DC=example/CN=x+OU=y+OU=z", __LINE__);
	X509_NAME_free(nm);
	nm = X509_NAME_new();
	add(nm, "DC", MBSTRING_UTF8, "COM", -1, 0);
	add(nm, "DC", MBSTRING_UTF8, "Example", -1, 0);
	add(nm, "CN", MBSTRING_UTF8, "X", -1, 0);
	add(nm, "OU", MBSTRING_UTF8, "Z", -1, 1);
	add(nm, "OU", MBSTRING_UTF8, "y", -1, 1);
	check_name(nm, "DC=com/DC=example/CN=x+OU=y+OU=z", __LINE__);
	X509_NAME_free(nm);

	/* a short name with '_' */
	nm = X509_NAME_new();
	add(nm, "1.3.6.1.5.5.7.48.3", MBSTRING_UTF8, "T", -1, 0);
	check_name(nm, "AD_TIMESTAMPING=t", __LINE__);
	X509_NAME_free(nm);

	/* control characters are white space or kept; the empty name */
	nm = X509_NAME_new();
	add(nm, "CN", MBSTRING_UTF8, "a\tb\r\nc\x01", -1, 0);
	check_name(nm, "CN=a b c\x01", __LINE__);
	X509_NAME_free(nm);
	nm = X509_NAME_new();
	check_name(nm, "", __LINE__);
	X509_NAME_free(nm);
}

/* A NUL in a certificate's value: the certificate side keeps it as DER
 * (no C string can hold it), and no text can be read as that value except
 * the #hex form; "\00" in text is refused. */
TEST(dn_x509_nul_value)
{
	X509_NAME *nm = X509_NAME_new();
	char out[256];
	char *text;

	add(nm, "CN", V_ASN1_UTF8STRING, "a\0b", 3, 0);
	CHECK(dn_canon_x509(nm, out, sizeof(out)) > 0);
	CHECK_EQ_STR(out, "CN=#0c03610062");
	text = rfc2253(nm);
	CHECK(text != NULL);
	if (text) {
		CHECK_EQ_STR(text, "CN=a\\00b");
		CHECK_EQ_INT(dn_canon_text(text, strlen(text), out, sizeof(out)), -1);
	}
	check_case("CN=#0c03610062", 14, "CN=#0c03610062");
	free(text);
	X509_NAME_free(nm);

	/* the same for a BMPString surrogate: no valid UTF-8 can say it */
	nm = X509_NAME_new();
	add(nm, "CN", V_ASN1_BMPSTRING, "\xd8\x00", 2, 0);
	CHECK(dn_canon_x509(nm, out, sizeof(out)) > 0);
	CHECK_EQ_STR(out, "CN=#1e02d800");
	X509_NAME_free(nm);
}

/* ---- random names: certificate and RFC 2253 text agree ----------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* UTF-8 of code point c into p; returns the length. */
static int utf8(uint32_t c, char *p)
{
	if (c < 0x80) {
		p[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		p[0] = (char)(0xc0 | c >> 6);
		p[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		p[0] = (char)(0xe0 | c >> 12);
		p[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		p[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | c >> 18);
	p[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	p[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	p[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

static uint32_t random_char(int ascii_only)
{
	static const char ascii[] = "aZ09 ,+\"\\<>;=#/-.\t\n";
	static const uint32_t wide[] = { 0xe9, 0xc0, 0xa0, 0x4e2d, 0x1f512, 0x3b1, 0x391 };
	uint32_t r = rnd(10);

	if (r < 6 || ascii_only)
		return (unsigned char)ascii[rnd(sizeof(ascii) - 1)];
	if (r < 8)
		return 'A' + rnd(26);
	return wide[rnd(sizeof(wide) / sizeof(wide[0]))];
}

TEST(dn_random_names)
{
	static const char *const types[] = {
		"CN", "O", "OU", "L", "ST", "DC", "emailAddress", "serialNumber", "UID", "uid",
		"title", "street", "mail", "1.2.3.4", "1.3.6.1.4.1.1.2.3", "GN", "SN",
	};
	static const int stypes[] = {
		V_ASN1_UTF8STRING, V_ASN1_BMPSTRING, V_ASN1_T61STRING, V_ASN1_IA5STRING,
		V_ASN1_PRINTABLESTRING,
	};
	int iter, bad = 0;

	for (iter = 0; iter < 2000 && bad < 5; iter++) {
		X509_NAME *nm = X509_NAME_new();
		int nrdn = (int)rnd(6), r, a;

		for (r = 0; r < nrdn; r++) {
			int natt = 1 + (int)(rnd(4) == 0) + (int)(rnd(8) == 0);

			for (a = 0; a < natt; a++) {
				int st = stypes[rnd(sizeof(stypes) / sizeof(stypes[0]))];
				int len = (int)rnd(12), i, k = 0;
				char v[128];

				for (i = 0; i < len; i++) {
					uint32_t c = random_char(st == V_ASN1_IA5STRING ||
					                         st == V_ASN1_PRINTABLESTRING);

					if (st == V_ASN1_UTF8STRING) {
						k += utf8(c, v + k);
					} else if (st == V_ASN1_BMPSTRING) {
						if (c > 0xffff)
							c = 0x4e2d;
						v[k++] = (char)(c >> 8);
						v[k++] = (char)(c & 0xff);
					} else {
						v[k++] = (char)(c > 0xff ? 'q' : c);
					}
				}
				add(nm, types[rnd(sizeof(types) / sizeof(types[0]))], st, v, k,
				    a > 0);
			}
		}
		bad += check_name(nm, NULL, __LINE__);
		X509_NAME_free(nm);
	}
	CHECK_EQ_INT(bad, 0);
}

/* Append s to buf (cap bytes, *len used) if it fits. */
static void put(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n < cap) {
		memcpy(buf + *len, s, n);
		*len += n;
	}
}

/* Random text shaped like DNs (with now and then a piece out of place):
 * whatever is accepted has a canonical form that reads back as itself,
 * and fits in exactly its length + 1. */
TEST(dn_random_text)
{
	static const char *const types[] = {
		"CN", "cn", " O ", "E", "uid", "UID", "1.2.3.4", "OID.2.5.4.3", "emailAddress",
		"GN", "street", "x", "",
	};
	static const char *const values[] = {
		"a", "B", " ", "\\,", "\\2C", "\\C3\\A9", "\\/", "#", "#0C0161", "#0c03610062",
		"\\+", "\\\\", "\\#", "\"q,+\"", "\xc3\xa9", "\t", "=", "/", ",", "+", "x y",
	};
	char in[512], out[2048], small[2048];
	int iter, ok = 0, bad = 0, n, k, i, j, oneline;
	size_t len;

	for (iter = 0; iter < 20000 && bad < 5; iter++) {
		len = 0;
		oneline = (int)rnd(2);
		k = (int)rnd(5);
		for (i = 0; i < k; i++) {
			int natt = 1 + (int)(rnd(3) == 0);

			for (j = 0; j < natt; j++) {
				int nv = (int)rnd(4), v;

				if (j > 0)
					put(in, sizeof(in), &len, "+");
				else if (oneline)
					put(in, sizeof(in), &len, "/");
				else if (i > 0)
					put(in, sizeof(in), &len, rnd(4) ? "," : " ; ");
				put(in, sizeof(in), &len, types[rnd(sizeof(types) / sizeof(types[0]))]);
				put(in, sizeof(in), &len, "=");
				for (v = 0; v < nv; v++) {
					const char *val = values[rnd(sizeof(values) / sizeof(values[0]))];

					/* the bare separators only where they are data */
					if (!oneline && (!strcmp(val, ",") || !strcmp(val, "+")) && rnd(4))
						continue;
					if (oneline && (!strcmp(val, "/") || !strcmp(val, "+")) && rnd(4))
						continue;
					put(in, sizeof(in), &len, val);
				}
			}
		}
		n = dn_canon_text(in, len, out, sizeof(out));
		if (n < 0)
			continue;
		ok++;
		if (strlen(out) != (size_t)n ||
		    dn_canon_text(in, len, small, (size_t)n + 1) != n ||
		    (n > 0 && dn_canon_text(in, len, small, (size_t)n) != -1)) {
			unit_fail(__FILE__, __LINE__, "\"%.*s\": length %d", (int)len, in, n);
			bad++;
		}
		check_fixed_point(out);
	}
	CHECK(ok > 2000);     /* the generator reaches the accepting paths */
	CHECK_EQ_INT(bad, 0);
}
