/* Shared by the fuzz targets and the replay driver.
 *
 * Every target defines LLVMFuzzerTestOneInput() (and LLVMFuzzerInitialize()
 * when it needs one-time setup) and checks its invariants with FUZZ_ASSERT,
 * which prints the failed condition and aborts, so libFuzzer and the replay
 * driver both see a crash. fuzzlib.c holds what more than one target needs:
 * the checks that the frames the agent sends are well formed, placeholder
 * expansion, and CRLs for the test PKIs. */
#ifndef CERTSPOA_FUZZ_H
#define CERTSPOA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void fuzz_fail(const char *file, int line, const char *what)
	__attribute__((noreturn));

#define FUZZ_ASSERT(cond) do { \
	if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond); \
} while (0)

/* What an ACK said, for the targets that judge the verdict. */
enum fuzz_verdict {
	FUZZ_V_NONE = 0,     /* no "verdict" action at all (never valid) */
	FUZZ_V_UNSET,        /* UNSET-VAR verdict: no check-client-cert message */
	FUZZ_V_ALLOW,
	FUZZ_V_DENY,
	FUZZ_V_COUNT
};

struct fuzz_ack {
	uint64_t stream_id, frame_id;
	int nactions;
	enum fuzz_verdict verdict;
	int64_t status;      /* the "status" variable, -1 if absent */
};

/* Check one whole frame from the agent, 4-byte length prefix included
 * (len is that prefix plus 4), that must be an ACK no bigger than
 * max_frame + 4. Aborts on any violation; fills a. */
void fuzz_check_ack(const char *buf, size_t len, size_t max_frame,
                    struct fuzz_ack *a);

/* The same for AGENT-HELLO: returns the max-frame-size it announced,
 * which must lie in [SPOP_MIN_FRAME_SIZE, our_max]. */
uint32_t fuzz_check_agent_hello(const char *buf, size_t len, uint32_t our_max);

/* The same for AGENT-DISCONNECT: returns its status code. */
uint32_t fuzz_check_agent_disconnect(const char *buf, size_t len);

/* Placeholders: a payload may name test certificates instead of carrying
 * them, so that a checked-in corpus can reach code that needs a certificate
 * made at start-up with fresh keys. fuzz_expand() copies in[0..n) to a new
 * buffer, replacing each occurrence of a token ("{{LEAF}}"...) by the
 * varint length and DER bytes of the certificate it names (so "\x09{{LEAF}}"
 * is a BINARY holding the leaf). Returns the new length; *out is malloc'ed
 * and never NULL on success, -1 on allocation failure. */
struct fuzz_token {
	const char *token;
	const unsigned char *der;
	size_t len;
};
long fuzz_expand(const uint8_t *in, size_t n, const struct fuzz_token *toks,
                 int ntoks, char **out);

/* Append to the PEM file f a CRL of issuer, signed with key, valid from
 * last_update to next_update, revoking serial_hex (NULL: revoking nothing). */
void fuzz_write_crl(FILE *f, X509 *issuer, EVP_PKEY *key, int64_t last_update,
                    int64_t next_update, const char *serial_hex);

#endif /* CERTSPOA_FUZZ_H */
