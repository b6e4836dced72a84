/* Helpers shared by the fuzz targets (see fuzz.h): checks of the frames the
 * agent writes, placeholder expansion, and a CRL writer for test PKIs.
 *
 * The frame checks are written from SPOP-NOTES.md, not from the agent's encoder: an
 * ACK is FIN-flagged, fits the negotiated frame size and holds only
 * SET-VAR/UNSET-VAR actions on txn variables with short names; string values
 * are printable ASCII (they end up in HTTP headers and logs), certificate
 * names carry no '"'; the verdict comes first and is "allow" or "deny". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fuzz.h"
#include "spop.h"

#define FUZZ_MAX_EXPANSIONS 64
#define FUZZ_VAR_NAME_MAX   32   /* HAProxy builds txn.<prefix>.<name> in 64 bytes */

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, what);
	abort();
}

static uint32_t be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* Parse the frame around buf/len and check what every agent frame shares. */
static void agent_frame(const char *buf, size_t len, uint8_t type,
                        struct spop_frame *f)
{
	FUZZ_ASSERT(len >= 4);
	FUZZ_ASSERT(be32(buf) == len - 4);
	FUZZ_ASSERT(spop_parse_frame(buf + 4, len - 4, f) == 0);
	FUZZ_ASSERT(f->type == type);
	FUZZ_ASSERT(f->flags == SPOP_FL_FIN);
}

static int printable(struct spop_str s, int allow_quote)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];

		if (c < 0x20 || c > 0x7e || (c == '"' && !allow_quote))
			return 0;
	}
	return 1;
}

static int name_ok(struct spop_str s)
{
	if (s.len == 0 || s.len > FUZZ_VAR_NAME_MAX)
		return 0;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

void fuzz_check_ack(const char *buf, size_t len, size_t max_frame,
                    struct fuzz_ack *a)
{
	static const char *const once[] = {
		"verdict", "status", "code", "reason", "detail", "sha256", "sha1",
		"not_after", "serial", "subject", "issuer",
		/* 11.. the policy engine's */
		"rule", "policy", "route", "identity", "days_left", "expiring",
		"spki_sha256", "would_deny", "would_rule", "trace",
		/* 21.. later additions (strings); keep the indices above */
		"path", "deny_detail", "client_id",
		"token_sub", "token_client_id", "token_scope",
		/* 27.. verdict reuse (issue 15): reuse is a string, max_age and
		 * gen integers */
		"reuse", "max_age", "gen",
	};
	enum { K_REUSE = 27, K_MAX_AGE = 28, K_GEN = 29 };
	enum { NONCE = sizeof(once) / sizeof(once[0]) };
	int seen[NONCE] = { 0 };
	struct spop_frame f;
	const char *p, *end;
	int allow = 0, has_code = 0, code_ok = 0, reuse_conn = 0;
	int64_t max_age = 0;

	memset(a, 0, sizeof(*a));
	a->status = -1;
	FUZZ_ASSERT(len <= max_frame + 4);
	agent_frame(buf, len, SPOP_FRM_ACK, &f);
	a->stream_id = f.stream_id;
	a->frame_id = f.frame_id;
	p = f.payload;
	end = f.payload + f.len;
	FUZZ_ASSERT(p < end);                /* never an empty ACK */
	while (p < end) {
		unsigned char act, nb, scope;
		struct spop_str name;
		struct spop_data v;
		int k;

		FUZZ_ASSERT(end - p >= 3);
		act = (unsigned char)p[0];
		nb = (unsigned char)p[1];
		scope = (unsigned char)p[2];
		p += 3;
		FUZZ_ASSERT((act == SPOP_ACT_SET_VAR && nb == 3) ||
		            (act == SPOP_ACT_UNSET_VAR && nb == 2));
		FUZZ_ASSERT(scope == SPOP_SCOPE_TXN);
		FUZZ_ASSERT(spop_get_str(&p, end, &name) == 0);
		FUZZ_ASSERT(name_ok(name));
		for (k = 0; k < NONCE; k++)
			if (spop_str_eq(name, once[k], strlen(once[k])))
				break;
		FUZZ_ASSERT(k < NONCE);              /* a variable we document */
		FUZZ_ASSERT(!seen[k]);
		seen[k] = 1;
		if (a->nactions == 0)
			FUZZ_ASSERT(k == 0);         /* the verdict comes first */
		a->nactions++;
		if (act == SPOP_ACT_UNSET_VAR) {
			/* only "no check-client-cert message": that one action */
			FUZZ_ASSERT(k == 0);
			a->verdict = FUZZ_V_UNSET;
			continue;
		}
		FUZZ_ASSERT(a->verdict != FUZZ_V_UNSET);
		FUZZ_ASSERT(spop_get_data(&p, end, &v) == 0);
		if (k == 1 || k == 7 || k == 15 || k == 16 || k == K_MAX_AGE || k == K_GEN) {
			/* status, not_after, days_left, expiring, max_age, gen */
			FUZZ_ASSERT(v.type == SPOP_DATA_INT64);
			if (k == 1)
				a->status = v.u.sint;
			if (k == K_MAX_AGE) {
				FUZZ_ASSERT(v.u.sint >= 0);
				max_age = v.u.sint;
			}
			continue;
		}
		FUZZ_ASSERT(v.type == SPOP_DATA_STR);
		/* subject and issuer must never carry a double quote */
		FUZZ_ASSERT(printable(v.u.str, k != 9 && k != 10));
		if (k == 0) {
			allow = SPOP_STR_EQ(v.u.str, "allow");
			FUZZ_ASSERT(allow || SPOP_STR_EQ(v.u.str, "deny"));
			a->verdict = allow ? FUZZ_V_ALLOW : FUZZ_V_DENY;
		} else if (k == 2) {
			has_code = 1;
			code_ok = SPOP_STR_EQ(v.u.str, "ok");
		} else if (k == K_REUSE) {
			reuse_conn = SPOP_STR_EQ(v.u.str, "connection");
			FUZZ_ASSERT(reuse_conn || SPOP_STR_EQ(v.u.str, "request"));
		}
	}
	FUZZ_ASSERT(p == end);
	/* a verdict may be kept for the connection only if it is an allow, and
	 * then for a positive time; "request" means ask again (max_age 0) */
	FUZZ_ASSERT(!reuse_conn || allow);
	FUZZ_ASSERT(reuse_conn ? max_age > 0 : max_age == 0);
	FUZZ_ASSERT(a->verdict != FUZZ_V_NONE);
	if (a->verdict == FUZZ_V_UNSET) {
		FUZZ_ASSERT(a->nactions == 1);
		return;
	}
	/* status and code always accompany the verdict and agree with it */
	FUZZ_ASSERT(seen[1] && has_code);
	FUZZ_ASSERT(code_ok == allow);
	if (allow)
		FUZZ_ASSERT(a->status == 200);
	else
		FUZZ_ASSERT(a->status >= 400 && a->status <= 599);
}

/* Walk a KV list, calling back for each item; every item must decode. */
typedef void (*kv_fn)(void *ctx, struct spop_str key, const struct spop_data *v);

static void kv_walk(const char *p, size_t len, kv_fn fn, void *ctx)
{
	const char *end = p + len;

	while (p < end) {
		struct spop_str key;
		struct spop_data v;

		FUZZ_ASSERT(spop_get_str(&p, end, &key) == 0);
		FUZZ_ASSERT(spop_get_data(&p, end, &v) == 0);
		fn(ctx, key, &v);
	}
}

struct hello_seen {
	int version, mfs, caps;
	uint32_t max_frame;
};

static void hello_kv(void *ctx, struct spop_str key, const struct spop_data *v)
{
	struct hello_seen *h = ctx;
	const char *c, *e;

	if (SPOP_STR_EQ(key, "version")) {
		FUZZ_ASSERT(!h->version++);
		FUZZ_ASSERT(v->type == SPOP_DATA_STR && SPOP_STR_EQ(v->u.str, "2.0"));
	} else if (SPOP_STR_EQ(key, "max-frame-size")) {
		FUZZ_ASSERT(!h->mfs++);
		FUZZ_ASSERT(v->type == SPOP_DATA_UINT32);
		h->max_frame = (uint32_t)v->u.uint;
	} else if (SPOP_STR_EQ(key, "capabilities")) {
		FUZZ_ASSERT(!h->caps++);
		FUZZ_ASSERT(v->type == SPOP_DATA_STR);
		/* only what is implemented: never "async" */
		c = v->u.str.ptr;
		e = c + v->u.str.len;
		while (c < e) {
			const char *comma = memchr(c, ',', (size_t)(e - c));
			struct spop_str item = { c, (size_t)((comma ? comma : e) - c) };

			FUZZ_ASSERT(SPOP_STR_EQ(item, "pipelining") ||
			            SPOP_STR_EQ(item, "fragmentation"));
			c = comma ? comma + 1 : e;
		}
	} else {
		FUZZ_ASSERT(!"unexpected AGENT-HELLO key");
	}
}

uint32_t fuzz_check_agent_hello(const char *buf, size_t len, uint32_t our_max)
{
	struct spop_frame f;
	struct hello_seen h = { 0 };

	agent_frame(buf, len, SPOP_FRM_AGENT_HELLO, &f);
	FUZZ_ASSERT(f.stream_id == 0 && f.frame_id == 0);
	kv_walk(f.payload, f.len, hello_kv, &h);
	FUZZ_ASSERT(h.version && h.mfs && h.caps);
	FUZZ_ASSERT(h.max_frame >= SPOP_MIN_FRAME_SIZE && h.max_frame <= our_max);
	return h.max_frame;
}

struct discon_seen {
	int status, message;
	uint32_t code;
};

static void discon_kv(void *ctx, struct spop_str key, const struct spop_data *v)
{
	struct discon_seen *d = ctx;

	if (SPOP_STR_EQ(key, "status-code")) {
		FUZZ_ASSERT(!d->status++);
		FUZZ_ASSERT(v->type == SPOP_DATA_UINT32);
		d->code = (uint32_t)v->u.uint;
		/* a status the protocol defines */
		FUZZ_ASSERT(d->code <= SPOP_ST_RES || d->code == SPOP_ST_UNKNOWN);
	} else if (SPOP_STR_EQ(key, "message")) {
		FUZZ_ASSERT(!d->message++);
		FUZZ_ASSERT(v->type == SPOP_DATA_STR && printable(v->u.str, 1));
	} else {
		FUZZ_ASSERT(!"unexpected AGENT-DISCONNECT key");
	}
}

uint32_t fuzz_check_agent_disconnect(const char *buf, size_t len)
{
	struct spop_frame f;
	struct discon_seen d = { 0 };

	agent_frame(buf, len, SPOP_FRM_AGENT_DISCON, &f);
	FUZZ_ASSERT(f.stream_id == 0 && f.frame_id == 0);
	kv_walk(f.payload, f.len, discon_kv, &d);
	FUZZ_ASSERT(d.status && d.message);
	return d.code;
}

long fuzz_expand(const uint8_t *in, size_t n, const struct fuzz_token *toks,
                 int ntoks, char **out)
{
	size_t cap = n, o = 0, i = 0;
	int nexp = 0;
	char *buf;

	/* worst case: every expansion is the longest DER plus its varint */
	for (int t = 0; t < ntoks; t++)
		cap += FUZZ_MAX_EXPANSIONS * (toks[t].len + SPOP_VARINT_MAX_LEN);
	buf = malloc(cap ? cap : 1);
	if (!buf)
		return -1;
	while (i < n) {
		int t = ntoks;

		if (in[i] == '{' && nexp < FUZZ_MAX_EXPANSIONS) {
			for (t = 0; t < ntoks; t++) {
				size_t tl = strlen(toks[t].token);

				if (n - i >= tl && memcmp(in + i, toks[t].token, tl) == 0)
					break;
			}
		}
		if (t < ntoks) {
			char *q = buf + o;

			FUZZ_ASSERT(spop_put_str(&q, buf + cap, (const char *)toks[t].der,
			                         toks[t].len) == 0);
			o = (size_t)(q - buf);
			i += strlen(toks[t].token);
			nexp++;
			continue;
		}
		buf[o++] = (char)in[i++];
	}
	*out = buf;
	return (long)o;
}

void fuzz_write_crl(FILE *f, X509 *issuer, EVP_PKEY *key, int64_t last_update,
                    int64_t next_update, const char *serial_hex)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();

	FUZZ_ASSERT(crl && t);
	FUZZ_ASSERT(X509_CRL_set_version(crl, X509_CRL_VERSION_2));
	FUZZ_ASSERT(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)));
	FUZZ_ASSERT(ASN1_TIME_set(t, (time_t)last_update) && X509_CRL_set1_lastUpdate(crl, t));
	FUZZ_ASSERT(ASN1_TIME_set(t, (time_t)next_update) && X509_CRL_set1_nextUpdate(crl, t));
	if (serial_hex) {
		X509_REVOKED *r = X509_REVOKED_new();
		BIGNUM *bn = NULL;
		ASN1_INTEGER *ai;

		FUZZ_ASSERT(r && BN_hex2bn(&bn, serial_hex));
		ai = BN_to_ASN1_INTEGER(bn, NULL);
		FUZZ_ASSERT(ai && X509_REVOKED_set_serialNumber(r, ai));
		FUZZ_ASSERT(ASN1_TIME_set(t, (time_t)last_update) &&
		            X509_REVOKED_set_revocationDate(r, t));
		FUZZ_ASSERT(X509_CRL_add0_revoked(crl, r));
		ASN1_INTEGER_free(ai);
		BN_free(bn);
	}
	FUZZ_ASSERT(X509_CRL_sort(crl));
	FUZZ_ASSERT(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	FUZZ_ASSERT(PEM_write_X509_CRL(f, crl));
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
}
