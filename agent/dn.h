/* Distinguished names: one canonical text form, so that names written in
 * RFC 2253 order ("CN=alice,O=Example") or OpenSSL's oneline order
 * ("/O=Example/CN=alice") compare equal to the certificate's own.
 *
 * Canonical form (documented in README "Name matching"):
 *   - RDNs in the certificate's order, most significant first, joined by '/':
 *     "O=example/CN=alice" (RFC 2253 input is reversed to this order);
 *   - attribute types as OpenSSL short names, uppercased ("CN", "O", "OU",
 *     "C", "L", "ST", "DC", "EMAILADDRESS", ...); unknown types as dotted OIDs;
 *   - values: escapes resolved, surrounding spaces removed, internal runs of
 *     white space folded to one space, ASCII letters lowercased;
 *     '/', '=', '+' and '\' inside values written as "\/", "\=", "\+", "\\";
 *   - a multi-valued RDN's attributes sorted and joined by '+'.
 *
 * Details (dn.c), so that text and certificate agree:
 *   - a value is what ASN1_STRING_to_UTF8() makes of it; "white space" is
 *     ASCII space, \t \n \v \f \r; a value that is no character string,
 *     or holds a NUL or invalid characters, is written "#" + lowercase hex
 *     of its DER, and a literal '#' starting a value as "\#";
 *   - in text, "#hex" values are BER, decoded and converted like the
 *     certificate's (OpenSSL prints values of unknown types that way); a
 *     '#' followed by no hex digit is a literal '#'; text values must be
 *     valid UTF-8 without NUL;
 *   - "E" and "EMAIL" mean emailAddress; names are matched case-
 *     insensitively; a type whose uppercased short name would read back as
 *     another object ("uid" vs "UID") is written as its dotted OID;
 *   - RFC 2253 text may also use ';' between RDNs, quoted values, "OID."
 *     before a dotted type and "\ " (RFC 4514); the attributes of an RDN
 *     are sorted bytewise on their canonical "TYPE=value";
 *   - the oneline form takes '\' before any byte and "#hex" as RFC 2253
 *     does, so "/" + a canonical form reads back as itself. */
#ifndef CERTSPOA_DN_H
#define CERTSPOA_DN_H

#include <stddef.h>
#include <openssl/x509.h>

/* Canonicalize a DN given as text: RFC 2253 ("CN=a,O=b") or, when it starts
 * with '/', the oneline form ("/O=b/CN=a"). Returns the length written
 * (NUL-terminated), or -1 for malformed input or when it does not fit. */
int dn_canon_text(const char *in, size_t len, char *out, size_t outlen);

/* Canonicalize a certificate's name. Returns the length, or -1. */
int dn_canon_x509(const X509_NAME *name, char *out, size_t outlen);

/* The normalization of a value in the canonical form, without the escapes:
 * surrounding white space removed, inner runs folded to one space, ASCII
 * letters lowercased; other bytes (non-ASCII included) kept: case folding
 * is ASCII-only. Shared by the commonName lists so that a CN compares as
 * it does inside a DN. Writes v[0..n) normalized and a NUL to out; returns
 * the length, or -1 when outlen < n + 1. */
int dn_norm_value(const char *v, size_t n, char *out, size_t outlen);

#endif /* CERTSPOA_DN_H */
