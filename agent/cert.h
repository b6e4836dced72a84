/* Certificates on OpenSSL 3, in four modules; this header includes them
 * all for the callers that use several:
 *   cert-facts.h  exact-DER parsing, digests, names, serial, validity (pure)
 *   cert-ext.h    SANs, commonNames, SPKI pin, key, signature, EKU, policies (pure)
 *   cert-store.h  trust store, learned intermediates, CRLs, verification at
 *                 a given time (no clock; a mutex guards the learned pool)
 *   cert-crls.h   fetched CRLs as one published set, CDPs of verified chains
 *   cert-file.h   PEM/DER/PKCS#12 files for the command line (reads files,
 *                 may ask on the terminal)
 * Only the miss path of the decision cache calls into the first three;
 * the hit path uses cert_sha256() alone. */
#ifndef CERTSPOA_CERT_H
#define CERTSPOA_CERT_H

#include "cert-t.h"
#include "cert-facts.h"
#include "cert-ext.h"
#include "cert-store.h"
#include "cert-crls.h"
#include "cert-file.h"

#endif /* CERTSPOA_CERT_H */
