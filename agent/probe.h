/* certspoa probe URL --cert C [...]: the client's end of a
 * client-certificate path, step by step (TCP, TLS, the CertificateRequest,
 * the certificate sent, the HTTP answer), ending in a plain-words
 * diagnosis of the broken hop. docs/PROBE.md. */
#ifndef CERTSPOA_PROBE_H
#define CERTSPOA_PROBE_H

#include <stddef.h>

#include "probe-t.h"

extern const struct probe_diag_info probe_diag_table[PD_COUNT];

/* argv[0] is "probe". Exit status: 0 allowed, 1 denied, 2 it broke before
 * the agent (connection, TLS, no verdict) or a bad input (missing file,
 * unreadable certificate, key that does not match or cannot be
 * decrypted), 64 usage. */
int probe_main(int argc, char **argv);

/* The diagnosis (pure: no I/O). Writes the sentence into out and returns
 * its id; probe_diag_table[id].exit_code is the exit status. */
enum probe_diag_id probe_diagnose(const struct probe_facts *f, char *out, size_t outlen);

/* The "key" field of a flat JSON object such as certspoa's 403 body
 * ({"status":403,"code":"...",...}): the unescaped string value into out
 * (cut to fit). Returns 0, or -1 when the key is absent or not a string.
 * Reads at most len bytes of body. */
int probe_json_str(const char *body, size_t len, const char *key, char *out, size_t outlen);

#endif /* CERTSPOA_PROBE_H */
