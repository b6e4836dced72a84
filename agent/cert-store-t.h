/* Types of the trust store and of verification against it. */
#ifndef CERTSPOA_CERT_STORE_T_H
#define CERTSPOA_CERT_STORE_T_H

#include <stdint.h>

struct cert_store;   /* opaque: see cert-store.c */
struct cert_crlset;  /* cert-crls.h */

/* Result of cert_verify() beyond OpenSSL's X509_V_ERR_* codes (which are >= 0). */
#define CERT_VERIFY_BAD_CHAIN   (-1)   /* chain bytes are not a list of DER certificates */
#define CERT_VERIFY_INTERNAL    (-2)   /* allocation or OpenSSL internal error */

/* Revocation checking for cert_verify_ex(). */
#define CERT_VF_CRL_LEAF        0x1U   /* the leaf must have a CRL from its issuer */
#define CERT_VF_CRL_ALL         0x2U   /* every certificate of the chain must */
#define CERT_VF_CRL_MISSING_OK  0x4U   /* no CRL for an issuer is not an error */
#define CERT_VF_CRL_EXPIRED_OK  0x8U   /* a CRL past nextUpdate (and crl_grace) still counts */

struct cert_crl_info {
	int count;               /* CRLs loaded */
	int64_t last_update;     /* newest thisUpdate among them */
	int64_t next_update;     /* earliest nextUpdate (0 = none given) */
};

/* Everything a policy sets for agent verification. */
struct cert_verify_opts {
	unsigned int flags;      /* CERT_VF_* */
	int max_depth;           /* intermediates allowed below the leaf; 0 = OpenSSL's default */
	int64_t skew;            /* seconds of clock skew accepted on validity dates */
	int64_t now;             /* filled in by cert_verify_path() */
	int64_t crl_grace;       /* seconds a CRL still counts after its nextUpdate */
	struct cert_revocation *rev;   /* when not NULL: filled on X509_V_ERR_CERT_REVOKED */
	const struct cert_crlset *crlset;   /* filled in by cert_verify_path(): the fetched CRLs used */
};

/* Where a revocation came from (cert_verify_path, on X509_V_ERR_CERT_REVOKED). */
#define CERT_REV_SOURCE_MAX 200
struct cert_revocation {
	int found;               /* 1: the fields below are set */
	int64_t revoked_at;      /* revocationDate, unix time (0 = unreadable) */
	int reason;              /* CRLReason code, -1 when the entry has none */
	int depth;               /* the revoked certificate's depth (0 = leaf) */
	char source[CERT_REV_SOURCE_MAX];   /* "crl_file" or the URL of a fetched CRL */
};

/* The issuer of the leaf on the path X509_verify_cert() built and checked
 * (signatures included): never taken from the client's chain as sent. */
struct cert_issuer {
	int found;                   /* 1: a path verified and the fields are set */
	unsigned char sha1[20];      /* of the issuer's DER */
	unsigned char sha256[32];
	char *dn;                    /* dn_canon form of its subject (malloc'd) */
	struct stack_st_X509 *path;  /* the verified path, leaf first, anchor last
	                                (references; cert_issuer_clear frees it) */
};

#endif /* CERTSPOA_CERT_STORE_T_H */
