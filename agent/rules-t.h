/* Decision types: what a request says, what we know of its certificate,
 * and the verdict with its stable code. */
#ifndef CERTSPOA_RULES_T_H
#define CERTSPOA_RULES_T_H

#include <stdint.h>
#include "cert-t.h"
#include "spop-t.h"

/* Stable decision codes; their text is part of the public contract. */
enum dec_code {
	DEC_ALLOW = 0,
	DEC_CERT_MISSING,
	DEC_CERT_UNVERIFIED,
	DEC_CERT_UNTRUSTED,
	DEC_BAD_REQUEST,
	DEC_INTERNAL,
	DEC_CODES
};

struct dec_info {
	const char *code;      /* machine-readable, e.g. "cert_missing" */
	const char *reason;    /* human-readable, e.g. "Client certificate required" */
};

/* The arguments of one check-client-cert message; views into the frame.
 * "has_" flags are 0 when the argument was absent or NULL. */
struct req_facts {
	int has_present;
	int present;              /* ssl_c_used */
	int has_verify;
	int64_t verify;           /* ssl_c_verify */
	int has_cert;
	struct spop_str cert;     /* ssl_c_der */
	int has_chain;
	struct spop_str chain;    /* ssl_c_chain_der */
	int has_sni, has_host, has_path, has_src;
	struct spop_str sni, host, path;
	struct spop_data src;     /* IPV4 or IPV6 */
	const char *bad_arg;      /* first argument with a wrong type, or NULL */
};

/* What the agent learned about the certificate (from cache or fresh). */
struct cache_entry;

struct cert_eval {
	int parsed;                      /* the DER parsed: facts is valid */
	const struct cert_facts *facts;
	struct cache_entry *entry;       /* where facts live (for the inventory) */
	int agent_checked;               /* the agent verified the chain */
	int agent_verify;                /* X509_V_OK, X509_V_ERR_*, CERT_VERIFY_* */
	int agent_depth;
};

#define DEC_DETAIL_MAX 200

struct decision {
	enum dec_code code;
	int status;                     /* HTTP status: 200 on allow */
	char detail[DEC_DETAIL_MAX];    /* precise cause, "" if none */
};

#endif /* CERTSPOA_RULES_T_H */
