/* Decision types: what a request says, what we know of its certificate,
 * and the verdict with its stable code and the rule that decided. */
#ifndef CERTSPOA_RULES_T_H
#define CERTSPOA_RULES_T_H

#include <stddef.h>
#include <stdint.h>

#include "cert-t.h"
#include "spop-t.h"

/* Stable decision codes (the `code` variable); their text is part of the
 * public contract. The precise check is in `rule`. The one table of them:
 * X(CODE, code text, reason text) gives enum dec_code and dec_table. */
#define DEC_CODE_LIST(X) \
	X(ALLOW,               "ok",                  "Client certificate accepted") \
	X(CERT_MISSING,        "cert_missing",        "Client certificate required") \
	X(CERT_UNVERIFIED,     "cert_unverified",     "Client certificate cannot be verified") \
	X(CERT_UNTRUSTED,      "cert_untrusted",      "Client certificate is untrusted or invalid") \
	X(CRL_EXPIRED,         "crl_expired",         "Revocation list is out of date") \
	X(CRL_UNAVAILABLE,     "crl_unavailable",     "Revocation status is unavailable") \
	X(BAD_REQUEST,         "bad_request",         "Malformed certificate check request") \
	X(SNI_HOST_MISMATCH,   "sni_host_mismatch",   "TLS server name does not match the Host header") \
	X(FORWARDED_UNTRUSTED, "forwarded_untrusted", "Forwarded client certificate from an untrusted source") \
	X(FORWARDED_INVALID,   "forwarded_invalid",   "Forwarded client certificate is malformed") \
	X(SPIFFE_MULTI_URI,    "spiffe_multi_uri",    "Client certificate has several URI names (an X.509-SVID has one)") \
	X(SPIFFE_TD_UNKNOWN,   "spiffe_td_unknown",   "Client certificate's SPIFFE trust domain is not trusted") \
	X(SVID_INVALID,        "svid_invalid",        "Client certificate is not a valid X.509-SVID") \
	X(CERT_REVOKED,        "cert_revoked",        "Client certificate is revoked") \
	X(OCSP_UNKNOWN,        "ocsp_unknown",        "Client certificate is unknown to its OCSP responder") \
	X(OCSP_UNAVAILABLE,    "ocsp_unavailable",    "Client certificate revocation status is unavailable") \
	X(TOKEN_MISSING,       "token_missing",       "A certificate-bound access token is required") \
	X(TOKEN_INVALID,       "token_invalid",       "The access token is invalid") \
	X(TOKEN_EXPIRED,       "token_expired",       "The access token has expired") \
	X(TOKEN_UNBOUND,       "token_unbound",       "The access token is not bound to a certificate") \
	X(TOKEN_BINDING_MISMATCH, "token_binding_mismatch", "The access token is bound to another certificate") \
	X(INTERNAL,            "internal_error",      "Client certificate check failed")

#define DEC_CODE_ENUM(name, code, reason) DEC_##name,
enum dec_code {
	DEC_CODE_LIST(DEC_CODE_ENUM)
	DEC_CODES
};
#undef DEC_CODE_ENUM
_Static_assert(DEC_ALLOW == 0, "decision codes start at 0");

struct dec_info {
	const char *code;      /* machine-readable, e.g. "cert_missing" */
	const char *reason;    /* human-readable, e.g. "Client certificate required" */
};

/* The arguments of one check-client-cert message (handler.c spoe_args[]
 * fills them); views into the frame (or, for a forwarded certificate, into
 * the decide_ctx decode buffer).
 * "has_" flags are 0 when the argument was absent or NULL. */
struct req_facts {
	int has_present;
	int present;              /* ssl_c_used */
	int has_verify;
	int64_t verify;           /* ssl_c_verify */
	int has_cert;
	struct spop_str cert;     /* ssl_c_der, or the forwarded certificate */
	int has_chain;
	struct spop_str chain;    /* ssl_c_chain_der, or the forwarded chain */
	int has_sni, has_host, has_path, has_src, has_frontend;
	struct spop_str sni, host, path, frontend;
	int has_host_count;
	int64_t host_count;       /* req.hdr_cnt(host); unknown when not sent */
	struct spop_data src;     /* IPV4 or IPV6 */
	int has_fwd_cert, has_fwd_chain;
	struct spop_str fwd_cert, fwd_chain;   /* raw header values */
	int has_unique_id;        /* HAProxy's unique-id, for logs only (req_id) */
	struct spop_str unique_id;
	int has_trace;            /* the trace header's value, checked against trace_secret */
	struct spop_str trace_value;
	int has_authz;            /* the Authorization header (token = bound|required) */
	struct spop_str authz;
	int has_authz_count;
	int64_t authz_count;      /* req.fhdr_cnt(authorization) */
	const char *bad_arg;      /* first argument with a wrong type, or NULL */
	/* set by decide_request before the rules run */
	int forwarded;            /* cert/chain came from a trusted proxy's header */
	int fwd_untrusted;        /* a header came from an untrusted source */
	int fwd_error;            /* enum fwd_error when decoding failed, else 0 */
	/* set by rules_route when a route uses the path */
	int has_route_path;
	struct spop_str route_path;   /* the normalized path routes compared */
	int path_changed;         /* route_path differs from path: hand it back */
	/* set by decide_request when the policy checks tokens (token.h) */
	const struct token_result *token;
};

struct cache_entry;
struct cert_revocation;

/* Revocation by OCSP, for the rules (policy ocsp != off): looked up by
 * decide_request (decide.c) in the shared OCSP cache once the other
 * checks allow. REV_NONE means not looked up yet: the rules deny it
 * (fail closed) and set decision.rev_needed, which makes decide_request
 * look it up and decide again. */
enum rev_state {
	REV_NONE = 0,
	REV_GOOD,           /* every certificate checked is good */
	REV_REVOKED,        /* depth says which one */
	REV_UNKNOWN,
	REV_ERROR,          /* no valid answer: err says why */
	REV_STATES
};

#define REV_URL_MAX 128

struct rev_eval {
	enum rev_state state;
	int depth;                       /* the certificate that decided (0 = leaf) */
	int checked;                     /* certificates checked */
	const char *err;                 /* REV_ERROR: why (static text) */
	int reason;                      /* REV_REVOKED: CRL reason code, -1 = none */
	int64_t revoked_at;
	int64_t this_update, fetched_at, until;
	char url[REV_URL_MAX];           /* the responder, "" if none */
	int pending;                     /* an answer is awaited: no verdict yet */
};

struct token_result;

/* The HTTP status of the token_* codes (RFC 6750: 401 with
 * WWW-Authenticate: Bearer); every other denial uses deny_status. */
#define DEC_TOKEN_STATUS 401

/* What the agent learned about the certificate (from cache or fresh). */
struct cert_eval {
	int parsed;                      /* the DER parsed: facts is valid */
	const struct cert_facts *facts;
	const struct cert_ext *ext;      /* NULL if it could not be read */
	struct cache_entry *entry;       /* where facts live (for the inventory) */
	int agent_checked;               /* the agent verified the chain */
	int agent_verify;                /* X509_V_OK, X509_V_ERR_*, CERT_VERIFY_* */
	int agent_depth;
	const struct cert_revocation *rev;   /* agent_verify 23: which CRL entry, or NULL */
	int has_issuer;                  /* a path verified: the leaf's issuer on it is known */
	const unsigned char *issuer_sha1, *issuer_sha256;
	const char *issuer_dn;           /* dn_canon of that issuer's subject */
	struct rev_eval ocsp;            /* OCSP, when the policy asks for it */
};

#define DEC_DETAIL_MAX 200
#define DEC_IDENTITY_MAX 256
/* client_id: at most this many bytes, printable ASCII; a longer or
 * unprintable value is replaced by "sha256:" and the hex of its SHA-256 */
#define DEC_CLIENT_ID_MAX 128

/* The X.509-SVID checks of a policy with spiffe_bundles (rules_svid_check),
 * in the order they are made. */
enum svid_check {
	SVID_OK = 0,
	SVID_NAMES_DROPPED,     /* more SANs than were kept: cannot be told */
	SVID_NO_URI,            /* no URI SAN */
	SVID_MULTI_URI,         /* more than one URI SAN */
	SVID_NOT_SPIFFE,        /* the URI is not of scheme spiffe */
	SVID_BAD_ID,            /* a spiffe URI that is not a valid SPIFFE ID */
	SVID_NO_PATH,           /* spiffe://td alone: the trust domain's ID, no leaf's */
	SVID_TD_UNKNOWN,        /* no bundle for its trust domain */
	SVID_LEAF_CA,           /* basicConstraints CA:TRUE */
	SVID_KEY_USAGE,         /* no keyUsage, no digitalSignature, or keyCertSign/cRLSign */
	SVID_CHECKS
};

struct decision {
	enum dec_code code;
	int status;                     /* HTTP status: 200 on allow */
	const char *rule;               /* the check that decided, e.g. "cert_expired" */
	char detail[DEC_DETAIL_MAX];    /* precise cause, "" if none */
	enum dec_code would_code;       /* shadow mode: what enforce would have said */
	const char *would_rule;
	int shadowed;                   /* a denial turned into an allow by shadow mode */
	int has_days_left;
	int64_t days_left;
	int expiring;                   /* days_left <= warn_days */
	const char *identity;           /* SPIFFE ID, else first SAN, else CN */
	char client_id[DEC_CLIENT_ID_MAX + 1];  /* "" without a certificate (policy client_id) */
	const char *trust_domain;       /* the SPIFFE trust domain whose bundle applied, or NULL */
	int rev_needed;                 /* denied for want of an OCSP lookup (rev_eval) */
};

/* A bounded, human-readable list of the checks made, for the trace
 * variable and `certspoa explain`. */
#define TRACE_MAX 1024
struct trace {
	int on;
	size_t len;
	int truncated;
	char buf[TRACE_MAX];
};

#endif /* CERTSPOA_RULES_T_H */
