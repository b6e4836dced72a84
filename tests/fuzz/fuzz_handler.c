/* Fuzz target: the NOTIFY handler (agent/handler.c, and through it
 * agent/cert.c, agent/cache.c and agent/rules.c).
 *
 * Input: one byte of settings, then a NOTIFY payload.
 *   settings bits 0-4  max-frame-size: 0 = 16380, else 256 + (n - 1) * 64
 *            bits 5-6  policy: 0 verify = agent, 1 both, 2 haproxy, 3 agent with
 *                      revocation (CRLs of root and intermediate, crl_check all)
 *            bit  7    require_cert off
 * The payload may use the placeholders of fuzz_expand(): "{{LEAF}}" is a
 * varint length plus the DER of a good client certificate, so "\x09{{LEAF}}"
 * is a BINARY argument holding it; "{{CHAINROOT}}" holds the intermediate
 * and the root one after the other, as ssl_c_chain_der would. The certificates are made at start-up
 * (fresh keys each run); the thumbprint list holds the good leaf and also
 * certificates that must fail verification (expired, serverAuth only,
 * issued by a look-alike CA, revoked), so that a verdict of allow depends
 * on the verification being right and not only on the list.
 *
 * Invariants, checked on each input:
 * - handler_notify() returns 0 or -1; -1 exactly when the payload is not a
 *   well-formed message list (status INVALID); never "no room" since every
 *   max-frame-size here is at least 256;
 * - on 0 the output is one well-formed ACK frame (fuzz_check_ack) of at most
 *   max_frame + 4 bytes, echoing the stream and frame ids;
 * - the verdict equals the one computed here from the policy and an
 *   independent decoding of the arguments: allow only for a listed
 *   certificate whose DER parses and, as the policy asks, that HAProxy says
 *   verified and/or that verifies against the store with the chain given;
 *   deny whenever there is no well-formed cert argument (unless the policy
 *   makes a certificate optional). No check-client-cert message: an unset;
 * - the same payload handled a second time (now a decision-cache hit) gives
 *   byte-for-byte the same ACK. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509_vfy.h>

#include "cert.h"
#include "cfg.h"
#include "fuzz.h"
#include "handler.h"
#include "log.h"
#include "spop.h"
#include "testpki.h"
#include "tplist.h"

#define NOW  1800000000LL
#define DAY  86400LL
#define OUT_MAX (16380 + 4 + 64)

enum { C_LEAF, C_INTER, C_ROOT, C_EXPIRED, C_SERVER, C_ROGUE_LEAF, C_ROGUE_INTER,
       C_OTHER, C_REVOKED, C_COUNT };

#define REVOKED_SERIAL "0BADCAFE"

/* One token per certificate, and one for intermediate + root together. */
#define T_CHAINROOT C_COUNT
#define T_COUNT     (C_COUNT + 1)

static const char *const tok_names[C_COUNT] = {
	[C_LEAF]        = "{{LEAF}}",          /* good: clientAuth, valid at NOW */
	[C_INTER]       = "{{CHAIN}}",         /* the intermediate that issued it */
	[C_ROOT]        = "{{ROOT}}",          /* the trust anchor itself */
	[C_EXPIRED]     = "{{EXPIRED}}",       /* listed, but expired at NOW */
	[C_SERVER]      = "{{SERVERAUTH}}",    /* listed, EKU serverAuth only */
	[C_ROGUE_LEAF]  = "{{ROGUE}}",         /* listed, issued by the look-alike */
	[C_ROGUE_INTER] = "{{ROGUECHAIN}}",    /* same name as C_INTER, other key */
	[C_OTHER]       = "{{OTHER}}",         /* verifies, but not listed */
	[C_REVOKED]     = "{{REVOKED}}",       /* listed, on the intermediate's CRL */
};

static struct {
	int ready;
	unsigned char *der[C_COUNT];
	size_t len[C_COUNT];
	X509 *x[C_COUNT];
	unsigned char *chainroot;
	size_t chainroot_len;
	struct fuzz_token toks[T_COUNT];
	char ca_pem[128], crl_pem[128];  /* the root; the CRLs of root and intermediate */
	struct cert_store *stores[2];    /* from ca_pem; [1] with the CRLs too */
	pid_t owner;                     /* the process that wrote them */
	struct tplist *list;
	int verbose;                     /* FUZZ_VERBOSE set: one line per input */
} pki;

static int listed(int c)
{
	return c == C_LEAF || c == C_EXPIRED || c == C_SERVER || c == C_ROGUE_LEAF ||
	       c == C_REVOKED;
}

static void pki_files_remove(void)
{
	if (getpid() != pki.owner)
		return;                      /* a replay child: the parent cleans up */
	unlink(pki.ca_pem);
	unlink(pki.crl_pem);
	cert_store_free(pki.stores[0]);
	cert_store_free(pki.stores[1]);
}

/* A store as loaded: cert.c remembers in a store the intermediates of
 * chains that verified, and an input must not depend on the ones before it
 * (a crash would not reproduce on its own). Stores are kept between inputs
 * and loaded again after an input that sent a chain: only those can teach
 * them anything, and loading for every input cost 80% of the run. */
static struct cert_store *fresh_store(int with_crls)
{
	struct cert_store *st;
	struct cert_crl_info ci;
	char err[256];

	st = cert_store_load(pki.ca_pem, err, sizeof(err));
	FUZZ_ASSERT(st);
	if (with_crls) {
		FUZZ_ASSERT(cert_store_add_crls(st, pki.crl_pem, &ci, err, sizeof(err)) == 0);
		FUZZ_ASSERT(ci.count == 2);
	}
	return st;
}

static void pki_init(void)
{
	EVP_PKEY *rk = testpki_make_key(), *ik = testpki_make_key(), *lk = testpki_make_key();
	EVP_PKEY *gk = testpki_make_key();
	char pem[128];

	FUZZ_ASSERT(rk && ik && lk && gk);
	pki.x[C_ROOT] = testpki_make_cert("/CN=Fuzz Root", rk, NULL, NULL,
	                                  NOW - 100 * DAY, NOW + 3650 * DAY, 1, NULL);
	pki.x[C_INTER] = testpki_make_cert("/CN=Fuzz Intermediate", ik, pki.x[C_ROOT], rk,
	                                   NOW - 100 * DAY, NOW + 365 * DAY, 1, NULL);
	pki.x[C_LEAF] = testpki_make_cert("/O=Fuzz/CN=alice", lk, pki.x[C_INTER], ik,
	                                  NOW - DAY, NOW + 30 * DAY, 0, "clientAuth");
	pki.x[C_EXPIRED] = testpki_make_cert("/O=Fuzz/CN=old", lk, pki.x[C_INTER], ik,
	                                     NOW - 30 * DAY, NOW - DAY, 0, "clientAuth");
	pki.x[C_SERVER] = testpki_make_cert("/O=Fuzz/CN=server", lk, pki.x[C_INTER], ik,
	                                    NOW - DAY, NOW + 30 * DAY, 0, "serverAuth");
	pki.x[C_OTHER] = testpki_make_cert("/O=Fuzz/CN=bob", lk, pki.x[C_INTER], ik,
	                                   NOW - DAY, NOW + 30 * DAY, 0, "clientAuth");
	/* a look-alike intermediate: same subject, self-signed with another key */
	pki.x[C_ROGUE_INTER] = testpki_make_cert("/CN=Fuzz Intermediate", gk, NULL, NULL,
	                                         NOW - 100 * DAY, NOW + 365 * DAY, 1, NULL);
	pki.x[C_ROGUE_LEAF] = testpki_make_cert("/O=Fuzz/CN=mallory", lk, pki.x[C_ROGUE_INTER], gk,
	                                        NOW - DAY, NOW + 30 * DAY, 0, "clientAuth");
	{
		struct testpki_cert rc = {
			.subject = "/O=Fuzz/CN=eve", .key = lk, .issuer = pki.x[C_INTER],
			.issuer_key = ik, .not_before = NOW - DAY, .not_after = NOW + 30 * DAY,
			.eku = "clientAuth", .serial_hex = REVOKED_SERIAL,
		};

		pki.x[C_REVOKED] = testpki_make_cert_ex(&rc);
	}
	pki.list = tplist_new();
	FUZZ_ASSERT(pki.list);
	for (int c = 0; c < C_COUNT; c++) {
		unsigned char sha1[20], sha256[32];

		FUZZ_ASSERT(pki.x[c]);
		pki.der[c] = testpki_to_der(pki.x[c], &pki.len[c]);
		FUZZ_ASSERT(pki.der[c]);
		pki.toks[c].token = tok_names[c];
		pki.toks[c].der = pki.der[c];
		pki.toks[c].len = pki.len[c];
		if (listed(c)) {
			cert_digests(pki.der[c], pki.len[c], sha1, sha256);
			FUZZ_ASSERT(tplist_add(pki.list, sha256, 32) == 0);
		}
	}
	{
		X509 *two[2] = { pki.x[C_INTER], pki.x[C_ROOT] };

		pki.chainroot = testpki_concat_der(two, 2, &pki.chainroot_len);
		FUZZ_ASSERT(pki.chainroot);
		pki.toks[T_CHAINROOT].token = "{{CHAINROOT}}";
		pki.toks[T_CHAINROOT].der = pki.chainroot;
		pki.toks[T_CHAINROOT].len = pki.chainroot_len;
	}
	FUZZ_ASSERT(testpki_write_pem(&pki.x[C_ROOT], 1, pem, sizeof(pem)) == 0);
	snprintf(pki.ca_pem, sizeof(pki.ca_pem), "%s", pem);
	{
		int fd;
		FILE *f;

		snprintf(pki.crl_pem, sizeof(pki.crl_pem), "/tmp/certspoa-fuzz-crl-XXXXXX");
		fd = mkstemp(pki.crl_pem);
		f = fd >= 0 ? fdopen(fd, "w") : NULL;
		FUZZ_ASSERT(f);
		fuzz_write_crl(f, pki.x[C_ROOT], rk, NOW - DAY, NOW + 7 * DAY, NULL);
		fuzz_write_crl(f, pki.x[C_INTER], ik, NOW - DAY, NOW + 7 * DAY, REVOKED_SERIAL);
		FUZZ_ASSERT(fclose(f) == 0);
	}
	pki.owner = getpid();
	atexit(pki_files_remove);
	cert_store_free(fresh_store(1));      /* both files load */
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(gk);
	pki.ready = 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_min_level = LOG_ERR;
	pki.verbose = getenv("FUZZ_VERBOSE") != NULL;
	pki_init();
	return 0;
}

/* The arguments as this file reads SPOP-NOTES.md and the argument table:
 * known names with a non-NULL value of the wrong type make the request bad;
 * a later value of a name replaces an earlier one; NULL means absent. A
 * non-empty fwd_cert or fwd_chain (certificate headers from a proxy) is
 * refused, as no trusted_proxies are configured here. */
struct expect {
	int wellformed;
	int found;
	int bad;
	const char *cert, *chain;
	size_t cert_len, chain_len;
	int has_verify;
	int verify_zero;
	int fwd_cert, fwd_chain;    /* a non-empty forwarded header was sent */
};

static int is_int(enum spop_data_type t)
{
	return t == SPOP_DATA_INT32 || t == SPOP_DATA_UINT32 ||
	       t == SPOP_DATA_INT64 || t == SPOP_DATA_UINT64;
}

static void expect_args(const char *p, size_t len, struct expect *e)
{
	const char *end = p + len;

	memset(e, 0, sizeof(*e));
	while (p < end) {
		struct spop_str name;
		unsigned int nb;
		int mine;

		if (spop_get_message(&p, end, &name, &nb) < 0)
			return;
		mine = !e->found && SPOP_STR_EQ(name, "check-client-cert");
		for (unsigned int i = 0; i < nb; i++) {
			struct spop_str an;
			struct spop_data v;

			if (spop_get_arg(&p, end, &an, &v) < 0)
				return;
			if (!mine || v.type == SPOP_DATA_NULL)
				continue;
			if (SPOP_STR_EQ(an, "cert") || SPOP_STR_EQ(an, "chain")) {
				if (v.type != SPOP_DATA_BIN) {
					e->bad = 1;
				} else if (an.len == 4) {
					e->cert = v.u.str.ptr;
					e->cert_len = v.u.str.len;
				} else {
					e->chain = v.u.str.ptr;
					e->chain_len = v.u.str.len;
				}
			} else if (SPOP_STR_EQ(an, "verify")) {
				if (!is_int(v.type)) {
					e->bad = 1;
				} else {
					e->has_verify = 1;
					e->verify_zero = (v.type == SPOP_DATA_UINT32 ||
					                  v.type == SPOP_DATA_UINT64) ?
					                 v.u.uint == 0 : v.u.sint == 0;
				}
			} else if (SPOP_STR_EQ(an, "present")) {
				e->bad |= v.type != SPOP_DATA_BOOL;
			} else if (SPOP_STR_EQ(an, "sni") || SPOP_STR_EQ(an, "host") ||
			           SPOP_STR_EQ(an, "path") || SPOP_STR_EQ(an, "frontend")) {
				e->bad |= v.type != SPOP_DATA_STR;
			} else if (SPOP_STR_EQ(an, "fwd_cert") || SPOP_STR_EQ(an, "fwd_chain") ||
			           SPOP_STR_EQ(an, "trace")) {
				if (v.type != SPOP_DATA_STR && v.type != SPOP_DATA_BIN)
					e->bad = 1;
				else if (SPOP_STR_EQ(an, "fwd_cert"))
					e->fwd_cert = v.u.str.len > 0;
				else if (SPOP_STR_EQ(an, "fwd_chain"))
					e->fwd_chain = v.u.str.len > 0;
			} else if (SPOP_STR_EQ(an, "src")) {
				e->bad |= v.type != SPOP_DATA_IPV4 && v.type != SPOP_DATA_IPV6;
			}
		}
		if (mine)
			e->found = 1;
	}
	e->wellformed = 1;
}

/* Which of our certificates these bytes are, or -1. */
static int which_cert(const char *der, size_t len)
{
	for (int c = 0; c < C_COUNT; c++)
		if (len == pki.len[c] && memcmp(der, pki.der[c], len) == 0)
			return c;
	return -1;
}

static int expect_allow(const struct expect *e, const struct policy *pol)
{
	int verify_mode = pol->verify, crl = pol->verify_flags != 0;
	int c, code;
	X509 *x;

	if (e->bad)
		return 0;
	/* no trusted_proxies here: a forwarded certificate is never believed */
	if (e->fwd_cert || e->fwd_chain)
		return 0;
	if (!e->cert || e->cert_len == 0)
		return !pol->require_cert;
	/* only a listed certificate can pass the thumbprint check: it must be
	 * one of ours, byte for byte */
	c = which_cert(e->cert, e->cert_len);
	if (c < 0 || !listed(c))
		return 0;
	if (verify_mode != VERIFY_AGENT && !(e->has_verify && e->verify_zero))
		return 0;
	if (verify_mode == VERIFY_HAPROXY)
		return 1;
	x = cert_parse_der((const unsigned char *)e->cert, e->cert_len);
	FUZZ_ASSERT(x);
	code = cert_verify_ex(pol->store, x, (const unsigned char *)e->chain, e->chain_len,
	                      NOW, pol->verify_flags, NULL);
	X509_free(x);
	/* whatever the chain, only the good leaf can ever verify, and the
	 * revoked one where revocation is not checked */
	if (code == X509_V_OK)
		FUZZ_ASSERT(c == C_LEAF || (c == C_REVOKED && !crl));
	return code == X509_V_OK;
}

static int run(struct handler_ctx *hc, const char *payload, size_t len,
               size_t max_frame, char *out, size_t *outlen, enum spop_status *st)
{
	char *p = out;
	int r;

	*st = SPOP_ST_NONE;
	r = handler_notify(hc, 0x1234567, 42, payload, len, NOW, &p, out + OUT_MAX,
	                   max_frame, st, NULL);
	FUZZ_ASSERT(r == 0 || r == -1);
	FUZZ_ASSERT(p >= out && p <= out + OUT_MAX);
	if (r == 0)
		*outlen = (size_t)(p - out);
	else
		FUZZ_ASSERT(p == out);               /* nothing claimed on error */
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int modes[4] = { VERIFY_AGENT, VERIFY_BOTH, VERIFY_HAPROXY, VERIFY_AGENT };
	struct config cfg;
	struct policy pol;
	struct handler_ctx hc;
	struct expect e;
	struct fuzz_ack a;
	char *payload = NULL, *out1 = NULL, *out2 = NULL;
	size_t max_frame, len1 = 0, len2 = 0;
	enum spop_status st1, st2;
	long plen;
	int r1, r2, allow, crl;

	if (!pki.ready)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 1)
		return 0;
	max_frame = (data[0] & 0x1f) ? 256 + (size_t)((data[0] & 0x1f) - 1) * 64 : 16380;

	memset(&cfg, 0, sizeof(cfg));
	memset(&pol, 0, sizeof(pol));
	snprintf(pol.name, sizeof(pol.name), "default");
	pol.require_cert = !(data[0] & 0x80);
	pol.verify = modes[(data[0] >> 5) & 3];
	pol.deny_status = 403;
	crl = ((data[0] >> 5) & 3) == 3;
	if (!pki.stores[crl])
		pki.stores[crl] = fresh_store(crl);
	pol.store = pki.stores[crl];
	if (((data[0] >> 5) & 3) == 3) {
		pol.crl_check = CRL_CHECK_ALL;
		pol.crl_missing = CRL_MISSING_DENY;
		pol.verify_flags = CERT_VF_CRL_ALL;
	}
	pol.thumbprints = pki.list;
	cfg.policies = cfg.default_policy = &pol;
	cfg.cache_size = 16;
	cfg.max_frame_size = 16380;
	FUZZ_ASSERT(handler_init(&hc, &cfg, 1) == 0);

	plen = fuzz_expand(data + 1, size - 1, pki.toks, T_COUNT, &payload);
	FUZZ_ASSERT(plen >= 0);
	/* shrink to the exact size: ASan then sees any read past the payload */
	payload = realloc(payload, plen ? (size_t)plen : 1);
	FUZZ_ASSERT(payload);
	out1 = malloc(OUT_MAX);
	out2 = malloc(OUT_MAX);
	FUZZ_ASSERT(out1 && out2);

	expect_args(payload, (size_t)plen, &e);
	r1 = run(&hc, payload, (size_t)plen, max_frame, out1, &len1, &st1);
	r2 = run(&hc, payload, (size_t)plen, max_frame, out2, &len2, &st2);

	/* deterministic, cache or no cache */
	FUZZ_ASSERT(r1 == r2 && st1 == st2);
	if (r1 == 0)
		FUZZ_ASSERT(len1 == len2 && memcmp(out1, out2, len1) == 0);

	FUZZ_ASSERT((r1 == 0) == e.wellformed);
	if (r1 < 0) {
		FUZZ_ASSERT(st1 == SPOP_ST_INVALID);
		goto out;
	}
	fuzz_check_ack(out1, len1, max_frame, &a);
	FUZZ_ASSERT(a.stream_id == 0x1234567 && a.frame_id == 42);
	if (!e.found) {
		FUZZ_ASSERT(a.verdict == FUZZ_V_UNSET);
		goto out;
	}
	allow = expect_allow(&e, &pol);
	if (pki.verbose)
		fprintf(stderr, "fuzz_handler: verify %s%s require %d max %zu: %s (expected %s)\n",
		        cfg_verify_name(pol.verify), pol.verify_flags ? "+crl" : "",
		        pol.require_cert, max_frame,
		        a.verdict == FUZZ_V_ALLOW ? "allow" : "deny", allow ? "allow" : "deny");
	FUZZ_ASSERT(a.verdict == (allow ? FUZZ_V_ALLOW : FUZZ_V_DENY));
out:
	handler_destroy(&hc);
	if (e.chain_len) {
		/* it may have learned an intermediate: the next input starts
		 * from a store as loaded */
		cert_store_free(pki.stores[crl]);
		pki.stores[crl] = NULL;
	}
	free(payload);
	free(out1);
	free(out2);
	return 0;
}
