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
 *   - a multi-valued RDN's attributes sorted and joined by '+'. */
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

#endif /* CERTSPOA_DN_H */
