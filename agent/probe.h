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

/* ---- the HTTP answer (probe-http.c; pure, bounded by len) ---- */

/* The end of the header block (after "\r\n\r\n"), or NULL. */
const char *probe_http_head_end(const char *buf, size_t len);

/* Content-Length of the header block in buf, or -1 (absent, not a number,
 * more than 15 digits, or no complete header block). */
long long probe_http_content_length(const char *buf, size_t len);

/* 1 when buf holds the header block and, with Content-Length, the body. */
int probe_http_complete(const char *buf, size_t len);

/* Status line, X-Certspoa-* headers (at most PROBE_MAX_HDRS, values cut
 * to PROBE_HDR_MAX - 1), the body (Content-Length applied, chunked decoded).
 * Returns 0, or -1 with a->error set; free with probe_http_free() either
 * way. */
int probe_http_parse(const char *buf, size_t len, struct probe_http *a);
void probe_http_free(struct probe_http *a);

/* The value of a kept header by lowercase name (the last one), or NULL. */
const char *probe_http_hdr(const struct probe_http *a, const char *lname);

#endif /* CERTSPOA_PROBE_H */
