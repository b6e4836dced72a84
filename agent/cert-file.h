/* Reading certificates from files, for the command line (inspect,
 * explain, probe). Reads files and may ask on the terminal: never called
 * on the agent's message path. */
#ifndef CERTSPOA_CERT_FILE_H
#define CERTSPOA_CERT_FILE_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Read certificates from a file: PEM (one or more), DER, or PKCS#12
 * (password from the CERTSPOA_P12_PASSWORD environment variable, else
 * asked on the terminal). Returns the number read (1 to max), or -1 with
 * the reason in err: a count rather than 0/-1, as read(2) does, since
 * every caller (inspect, explain, probe) needs it. The caller frees each
 * X509.
 * PEM: in file order, other blocks skipped. DER: exactly one certificate,
 * nothing after it. PKCS#12: the certificate of the private key first, then
 * the others; a file without a password is read without asking, and with
 * no terminal (and no variable) it fails saying so. */
int cert_read_file(const char *path, X509 **out, int max, char *err, size_t errlen);

/* cert_read_file() that also hands over a PKCS#12 file's private key in
 * *key (when key is not NULL and the file has one; the caller frees it).
 * *key is left alone for PEM and DER files. */
int cert_read_file_key(const char *path, X509 **out, int max, EVP_PKEY **key,
                       char *err, size_t errlen);

#endif /* CERTSPOA_CERT_FILE_H */
