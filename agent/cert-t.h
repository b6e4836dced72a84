/* Certificate facts extracted once per distinct certificate (cert-facts.c,
 * cert-ext.c); the store's types are in cert-store-t.h. */
#ifndef CERTSPOA_CERT_T_H
#define CERTSPOA_CERT_T_H

#include <stdint.h>

#define CERT_NAME_MAX    512   /* RFC 2253 subject/issuer, truncated with "..." */
#define CERT_SERIAL_MAX  68    /* lowercase hex of up to 33 bytes + NUL */
#define CERT_CHAIN_MAX   16    /* client-sent intermediates we accept */
#define CERT_DER_MAX     (64 * 1024)

struct cert_facts {
	unsigned char sha1[20];
	unsigned char sha256[32];
	char sha1_hex[41];
	char sha256_hex[65];
	char subject[CERT_NAME_MAX];   /* RFC 2253, e.g. "CN=alice,O=Example" */
	char issuer[CERT_NAME_MAX];
	char serial[CERT_SERIAL_MAX];  /* lowercase hex, no colons, no leading "0x" */
	int64_t not_before;            /* unix time */
	int64_t not_after;             /* unix time */
};

/* Subject Alternative Names we match on. */
enum cert_san_type {
	CERT_SAN_DNS   = 0,    /* lowercased, as in the certificate (may start with "*.") */
	CERT_SAN_URI   = 1,    /* as in the certificate */
	CERT_SAN_EMAIL = 2,    /* as in the certificate */
	CERT_SAN_IP    = 3,    /* text form: "192.0.2.1", "2001:db8::1" (inet_ntop) */
	CERT_SAN_TYPES
};

/* Every SAN, CN and policy is kept: nothing is dropped for want of room
 * (a certificate is at most CERT_DER_MAX bytes, which bounds the counts).
 * Policies limit how many SANs they accept (max_sans, at most
 * CERT_SANS_KEEP_MAX): a certificate with more SANs than that keeps none
 * (san_total still counts them), since every policy denies it. This bounds
 * what a cached cert_ext can hold. */
#define CERT_SANS_KEEP_MAX 10000
struct cert_san {
	enum cert_san_type type;
	const char *value;
	unsigned char ip[16];     /* CERT_SAN_IP: raw address */
	int ip_len;               /* 4 or 16 */
};

/* Extended key usage bits. */
#define CERT_EKU_PRESENT      0x01U   /* the extension is there at all */
#define CERT_EKU_CLIENT_AUTH  0x02U
#define CERT_EKU_SERVER_AUTH  0x04U
#define CERT_EKU_ANY          0x08U   /* anyExtendedKeyUsage */
#define CERT_EKU_OTHER        0x10U

/* Everything a policy can match on beyond cert_facts. One allocation
 * (cert_get_ext); every string points into it. */
struct cert_ext {
	int nsans;
	const struct cert_san *sans;  /* all nsans of them, in certificate order */
	int san_total;                /* every GeneralName of the SAN extension, of any type;
	                                 more than CERT_SANS_KEEP_MAX: nsans is 0 */
	const char *cn;               /* first commonName of the subject (UTF-8), "" if none */
	int ncns;                     /* commonNames in the subject */
	const char *const *cns;       /* all of them, UTF-8, in subject order */
	const char *const *cns_canon; /* the same, normalized as DN values (dn_norm_value) */
	int nspiffe;                  /* URI SANs of scheme "spiffe", in any case */
	const char *spiffe_id;        /* the first of them, or NULL (maybe not a valid ID) */
	const char *subject_canon;    /* dn_canon form of the subject */
	const char *issuer_canon;     /* dn_canon form of the issuer */
	unsigned char spki_sha256[32];    /* of the canonical SPKI: EC point uncompressed, named curve */
	char spki_pin[45];            /* base64 of spki_sha256 (Envoy/HPKP pin format) */
	int key_type;                 /* EVP_PKEY_RSA, EVP_PKEY_EC, EVP_PKEY_ED25519, ... (NID) */
	int key_bits;                 /* EVP_PKEY_get_bits */
	const char *key_name;         /* "RSA", "EC", "ED25519", ... */
	const char *curve;            /* EC/SM2 curve, OpenSSL short name ("prime256v1", "SM2"), or "" */
	const char *sig_alg;          /* signature algorithm long name, e.g. "sha256WithRSAEncryption" */
	int sig_md_nid;               /* NID of its digest (NID_sha1, NID_sha256, ...; for RSA-PSS the
	                                 one in its parameters), NID_undef if none or unknown */
	int sig_nid;                  /* NID of the signature algorithm, NID_undef if unknown */
	unsigned int eku;             /* CERT_EKU_* */
	int npolicies;
	const char *const *policies;  /* all of them, dotted OIDs, in certificate order */
	int is_ca;                    /* X509_check_ca() > 0: CA:TRUE, keyCertSign, or v1 self-signed */
	int bc_ca;                    /* basicConstraints says CA:TRUE */
	int has_key_usage;            /* the keyUsage extension is there */
	unsigned int key_usage;       /* its bits, OpenSSL's KU_* (KU_DIGITAL_SIGNATURE...) */
};

#endif /* CERTSPOA_CERT_T_H */
