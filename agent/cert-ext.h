/* Extension facts (struct cert_ext): what a policy matches on beyond
 * struct cert_facts. Pure: no I/O, no clock, no global state. */
#ifndef CERTSPOA_CERT_EXT_H
#define CERTSPOA_CERT_EXT_H

#include <openssl/x509.h>
#include "cert-t.h"

/* Everything of cert_ext from a parsed certificate, in one allocation.
 * Returns NULL on allocation failure or an unreadable field: a NUL inside
 * a SAN or the CN, an IP SAN that is not 4 or 16 bytes, an undecodable or
 * repeated SAN, EKU or policies extension. */
struct cert_ext *cert_get_ext(X509 *x);
void cert_ext_free(struct cert_ext *e);

/* The dn_canon form of a certificate name, malloc'd; NULL when it cannot
 * be read or on allocation failure. */
char *cert_name_canon(const X509_NAME *name);

#endif /* CERTSPOA_CERT_EXT_H */
