/* The decision. Pure: no I/O, no clock (now is passed in), no allocation.
 *
 * Before a route is chosen (rules_route; only for the inputs routes use):
 *   path_ambiguous  bad_request        a path the application may read otherwise
 *   host_ambiguous  bad_request        no Host, several, or not one host[:port]
 *   sni_host        sni_host_mismatch  SNI differs from Host (routes use them)
 * Then, in the chosen policy (rules_decide), the order of checks (the first
 * failure decides; `code` is the class, `rule` the precise check):
 *   request   bad_request          an argument of the wrong type
 *   forwarded forwarded_untrusted  certificate header from an untrusted source
 *             forwarded_invalid    malformed certificate header
 *   sni_host  sni_host_mismatch    SNI differs from Host (sni_host_match)
 *   presence  cert_missing         no certificate (require_cert)
 *   parse     cert_unverified      not exactly one DER certificate
 *   trust_domain (spiffe_bundles)  spiffe_multi_uri, svid_invalid (no URI,
 *                                  not spiffe, invalid ID, CA leaf, key
 *                                  usage), spiffe_td_unknown
 *   verify    cert_unverified      HAProxy's and/or the agent's chain check;
 *                                  with spiffe_bundles the agent's always,
 *                                  against the trust domain's bundle only
 *   names     cert_untrusted       too_many_sans (max_sans, always), spiffe_invalid
 *                                  and dns_invalid (when SPIFFE or DNS lists are set)
 *   deny_*    cert_untrusted       deny lists, which always win
 *   limits    cert_untrusted       key type, size, curve, signature, lifetime, policies
 *   allow_*   cert_untrusted       when allow lists exist, one must match
 *   ocsp      cert_revoked         OCSP (policy ocsp = leaf|chain): revoked;
 *             ocsp_unknown         the responder does not know it (ocsp_unknown = deny);
 *             ocsp_unavailable     no valid answer in ocsp_timeout (ocsp_unavailable = deny)
 *   token     token_* (401)        token = bound|required: the bearer token
 *                                  verifies and is bound to this certificate
 *                                  (token.c, checked by decide.c before)
 * then shadow mode may turn a denial into an allow. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "cert-store-t.h"
#include "cidr.h"
#include "fwd.h"
#include "lists.h"
#include "ocsp.h"
#include "rules.h"
#include "spiffe.h"
#include "spop.h"
#include "strset.h"
#include "strutil.h"
#include "token.h"
#include "tplist.h"
#include "uri.h"

/* a switch on an enum names every value: a new one is a compile error here */
#pragma GCC diagnostic warning "-Wswitch-enum"

#define DEC_INFO(name, code, reason) [DEC_##name] = { code, reason },
const struct dec_info dec_table[DEC_CODES] = { DEC_CODE_LIST(DEC_INFO) };
#undef DEC_INFO

/* ---- rule names (rules.h RULE_NAME_LIST) ---- */

#define RULE_NAME(id, name) [RULE_##id] = name,
#define RULE_DENY_NAME(kind, name, allow_help, deny_help) [RULE_DENY_##kind] = "deny_" name,
#define RULE_ALLOW_NAME(kind, name, allow_help, deny_help) [RULE_ALLOW_##kind] = "allow_" name,
#define RULE_TOKEN_NAME(id, rule, cls, words) [RULE_TOKEN_##id] = rule,
const char *const rule_names[RULE_COUNT] = {
	RULE_NAME_LIST(RULE_NAME)
	ID_KIND_LIST(RULE_DENY_NAME)
	ID_KIND_LIST(RULE_ALLOW_NAME)
	TOKEN_ERR_LIST(RULE_TOKEN_NAME)
	[RULE_OTHER] = "other",
};
#undef RULE_NAME
#undef RULE_DENY_NAME
#undef RULE_ALLOW_NAME
#undef RULE_TOKEN_NAME

enum rule_id rules_rule_id(const char *rule)
{
	if (!rule)
		return RULE_OTHER;
	for (int i = 0; i < RULE_OTHER; i++)
		if (strcmp(rule_names[i], rule) == 0)
			return (enum rule_id)i;
	return RULE_OTHER;
}

/* ---- trace ---- */

void trace_add(struct trace *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!t || !t->on || t->truncated)
		return;
	if (t->len && t->len + 2 < sizeof(t->buf)) {
		t->buf[t->len++] = ';';
		t->buf[t->len++] = ' ';
	}
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(t->buf) - t->len) {
		/* keep the buffer a clean prefix ending in "..." */
		t->truncated = 1;
		t->len = sizeof(t->buf) - 4;
		memcpy(t->buf + t->len, "...", 4);
		t->len += 3;
		return;
	}
	t->len += (size_t)n;
}

/* ---- verification results -> stable rule names ---- */

const char *rules_verify_rule(int code)
{
	switch (code) {
	case X509_V_OK:                                 return "verified";
	case X509_V_ERR_CERT_HAS_EXPIRED:               return "cert_expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:             return "cert_not_yet_valid";
	case X509_V_ERR_CERT_REVOKED:                   return "cert_revoked";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:      return "cert_unknown_ca";
	case X509_V_ERR_INVALID_PURPOSE:                return "cert_bad_purpose";
	case X509_V_ERR_CERT_CHAIN_TOO_LONG:
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:           return "cert_chain_too_long";
	case X509_V_ERR_UNABLE_TO_GET_CRL:              return "crl_missing";
	case X509_V_ERR_CRL_HAS_EXPIRED:                return "crl_expired";
	case X509_V_ERR_CRL_NOT_YET_VALID:              return "crl_not_yet_valid";
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE: return "crl_invalid";
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE: return "cert_bad_signature";
	case X509_V_ERR_INVALID_CA:                     return "cert_invalid_ca";
	case CERT_VERIFY_BAD_CHAIN:                     return "chain_invalid";
	default:                                        return "cert_invalid";
	}
}

/* ---- small matchers ---- */

/* name (any case) against a set of lowercase names and "*.suffix" patterns,
 * a wildcard covering exactly one label. */
static int set_has_name(const struct strset *set, struct spop_str name)
{
	char buf[256];
	const char *dot;

	if (!set || !name.len || name.len >= sizeof(buf))
		return 0;
	str_lower_n(buf, name.ptr, name.len);
	buf[name.len] = 0;
	if (strset_has(set, buf, name.len))
		return 1;
	dot = memchr(buf, '.', name.len);
	if (!dot || dot == buf || !dot[1])
		return 0;
	/* "a.example.com" -> "*.example.com" */
	{
		char wild[258];
		size_t slen = name.len - (size_t)(dot - buf);

		wild[0] = '*';
		memcpy(wild + 1, dot, slen);
		wild[1 + slen] = 0;
		return strset_has(set, wild, slen + 1);
	}
}

static void deny(const struct policy *pol, struct decision *d, enum dec_code code,
                 const char *rule, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int set_has_prefix(const struct strset *set, struct spop_str path)
{
	for (size_t i = 0; i < strset_count(set); i++) {
		const char *p = strset_get(set, i);

		if (uri_prefix_nocase(path.ptr, path.len, p, strlen(p)))
			return 1;
	}
	return 0;
}

/* What the routes of a configuration look at. */
struct route_uses {
	int path, host, sni, sni_host_match;
};

static void route_uses(const struct config *cfg, struct route_uses *u)
{
	memset(u, 0, sizeof(*u));
	for (const struct route *r = cfg->routes; r; r = r->next) {
		u->path |= r->path_prefix.src != NULL;
		u->host |= r->host.src != NULL;
		u->sni |= r->sni.src != NULL;
	}
	for (const struct policy *p = cfg->policies; p; p = p->next)
		u->sni_host_match |= p->sni_host_match;
}

int rules_routing_per_request(const struct config *cfg)
{
	struct route_uses u;

	route_uses(cfg, &u);
	return u.path || u.host || u.sni || u.sni_host_match;
}

/* The request's names in the form routes compare: Host without port and
 * trailing dot (len 0 when absent or invalid), SNI without trailing dot. */
struct route_names {
	struct spop_str host, sni;
	int host_valid;
};

static int route_match(const struct route *r, const struct req_facts *rq,
                         const struct route_names *nm)
{
	if (r->sni.src && !(rq->has_sni && set_has_name(r->sni.set, nm->sni)))
		return 0;
	if (r->host.src && !(nm->host_valid && set_has_name(r->host.set, nm->host)))
		return 0;
	if (r->path_prefix.src && !(rq->has_route_path && set_has_prefix(r->path_prefix.set, rq->route_path)))
		return 0;
	if (r->frontend.src &&
	    !(rq->has_frontend && strset_has(r->frontend.set, rq->frontend.ptr, rq->frontend.len)))
		return 0;
	return 1;
}

#define CLAMP(n) ((int)((n) > 64 ? 64 : (n)))

/* Host: missing, several, or not one valid host[:port]. Returns 0 when
 * fine, -1 with d set. need: a route uses host or a policy compares it. */
static int check_host(const struct config *cfg, const struct req_facts *rq, int need,
                      const struct route_names *nm, struct trace *t, struct decision *d)
{
	const struct policy *dp = cfg->default_policy;

	if (!rq->has_host) {
		if (!need)
			return 0;
		trace_add(t, "host=fail(missing)");
		deny(dp, d, DEC_BAD_REQUEST, "host_ambiguous", "no Host header (a route or sni_host_match needs it)");
		return -1;
	}
	if (rq->has_host_count && rq->host_count != 1) {
		trace_add(t, "host=fail(host_count %lld)", (long long)rq->host_count);
		deny(dp, d, DEC_BAD_REQUEST, "host_ambiguous", "%lld Host values, exactly one is needed",
		     (long long)rq->host_count);
		return -1;
	}
	if (!nm->host_valid) {
		trace_add(t, "host=fail(invalid: %.*s)", CLAMP(rq->host.len), rq->host.ptr);
		deny(dp, d, DEC_BAD_REQUEST, "host_ambiguous",
		     "the Host header is not one host[:port] (several values, a comma, space or bad character)");
		return -1;
	}
	return 0;
}

int rules_route(const struct config *cfg, struct req_facts *rq, char *buf, size_t cap,
                struct trace *t, struct decision *d, const struct policy **pol,
                const char **route)
{
	const struct policy *dp = cfg->default_policy;
	struct route_names nm;
	struct route_uses u;

	memset(&nm, 0, sizeof(nm));
	rq->has_route_path = rq->path_changed = 0;
	if (rq->has_host) {
		const char *n;
		size_t l;

		nm.host_valid = uri_host_name(rq->host.ptr, rq->host.len, &n, &l) == 0;
		if (nm.host_valid)
			nm.host = (struct spop_str){ n, l };
	}
	if (rq->has_sni)
		nm.sni = (struct spop_str){ rq->sni.ptr, uri_name_len(rq->sni.ptr, rq->sni.len) };

	route_uses(cfg, &u);
	if (rq->bad_arg)
		goto select;
	if ((u.host || u.sni_host_match || (u.sni && rq->has_host)) &&
	    check_host(cfg, rq, u.host || u.sni_host_match, &nm, t, d) < 0)
		goto refused;
	/* domain fronting: routing on one name while the application serves
	 * the other. Whatever the chosen policy would say. */
	if ((u.sni || u.host) && rq->has_sni && rq->has_host &&
	    !uri_name_eq(nm.sni.ptr, nm.sni.len, nm.host.ptr, nm.host.len)) {
		trace_add(t, "sni_host(routes)=fail(%.*s!=%.*s)", CLAMP(nm.sni.len), nm.sni.ptr,
		          CLAMP(nm.host.len), nm.host.ptr);
		deny(dp, d, DEC_SNI_HOST_MISMATCH, "sni_host",
		     "SNI and Host differ (checked before routing: routes use them)");
		goto refused;
	}
	if (u.path) {
		enum uri_err e;
		size_t n = 0;

		if (!rq->has_path) {
			trace_add(t, "path=fail(not sent)");
			deny(dp, d, DEC_BAD_REQUEST, "path_ambiguous",
			     "the path argument was not sent (routes use the path)");
			goto refused;
		}
		e = buf ? uri_path_norm(rq->path.ptr, rq->path.len, buf, cap, &n) : URI_ERR_TOO_LONG;
		if (e != URI_OK) {
			trace_add(t, "path=fail(%s)", uri_err_str[e]);
			deny(dp, d, DEC_BAD_REQUEST, "path_ambiguous", "%s", uri_err_str[e]);
			goto refused;
		}
		rq->has_route_path = 1;
		rq->route_path = (struct spop_str){ buf, n };
		rq->path_changed = n != rq->path.len || memcmp(buf, rq->path.ptr, n) != 0;
		if (rq->path_changed)
			trace_add(t, "path=normalized(%.*s)", (int)(n > 128 ? 128 : n), buf);
	}
select:
	for (const struct route *r = cfg->routes; r; r = r->next) {
		if (route_match(r, rq, &nm)) {
			*route = r->name;
			*pol = r->policy;
			return 0;
		}
	}
	*route = "default";
	*pol = dp;
	return 0;
refused:
	*route = ROUTE_NONE;
	*pol = NULL;
	return -1;
}

/* ---- identity matchers (docs/POLICY.md "Matching semantics") ---- */

/* A SPIFFE ID under one of the list's entries: equal, or a path below it
 * at a segment boundary. Entries were checked with spiffe_parse() at load
 * (trust domain lowercased); the ID must itself be valid: an invalid one
 * matches nothing here, and the rules deny it before (spiffe_invalid). */
static int set_has_spiffe(const struct strset *set, const char *v)
{
	struct spiffe_id id, e;

	if (spiffe_parse(v, strlen(v), &id) != SPIFFE_OK)
		return 0;
	for (size_t i = 0; i < strset_count(set); i++) {
		const char *s = strset_get(set, i);

		if (spiffe_parse(s, strlen(s), &e) == SPIFFE_OK && spiffe_under(&id, &e))
			return 1;
	}
	return 0;
}

/* Longest list entry (lists.c reads entries into a 1024-byte buffer): a
 * value longer than this equals no entry. */
#define RULES_ENTRY_MAX 1024

/* s lowercased (ASCII) in the set; entries are stored lowercased. */
static int set_has_lower(const struct strset *set, const char *s)
{
	char buf[RULES_ENTRY_MAX];
	size_t n = strlen(s);

	if (!set || n >= sizeof(buf))
		return 0;      /* longer than any entry */
	str_lower_n(buf, s, n + 1);
	return strset_has(set, buf, n);
}

#define DNS_NAME_MAX  253
#define DNS_LABEL_MAX 63

/* A DNS SAN as a host name. cert.c lowercased it; here one trailing dot
 * is dropped, then it must be LDH labels ([a-z0-9-], not starting or
 * ending with '-') of 1..63 bytes, 253 bytes in all, of which the first
 * may be "*" (a wildcard, *wild set). Returns the length without the dot,
 * or 0 if it is no valid host name. */
static size_t dns_san_norm(const char *v, int *wild)
{
	size_t n = strlen(v), i, start;

	*wild = 0;
	if (n && v[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_MAX)
		return 0;
	i = 0;
	if (n >= 2 && v[0] == '*' && v[1] == '.') {
		*wild = 1;
		i = 2;
	}
	for (;;) {
		start = i;
		while (i < n && v[i] != '.') {
			char c = v[i];

			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
				return 0;
			i++;
		}
		if (i == start || i - start > DNS_LABEL_MAX || v[start] == '-' || v[i - 1] == '-')
			return 0;
		if (i == n)
			return n;
		i++;   /* the dot */
	}
}

/* A valid DNS SAN name[0..n) (wild: it is "*.suffix") against a list of
 * names and "*.suffix" patterns (one label).
 *   concrete name: equal to an entry, or covered by a pattern entry;
 *   wildcard name: equal to the identical pattern entry; for a deny list
 *                  also any concrete entry it covers ("*.example.com"
 *                  covers "evil.example.com"), since the certificate is
 *                  good for that name. */
static int set_has_dns(const struct strset *set, const char *name, size_t n, int wild, int deny)
{
	char buf[DNS_NAME_MAX + 2];
	const char *dot;

	if (!set || n > DNS_NAME_MAX)
		return 0;
	if (strset_has(set, name, n))
		return 1;
	if (wild) {
		const char *suffix = name + 1;        /* ".example.com" */
		size_t slen = n - 1;

		for (size_t i = 0; deny && i < strset_count(set); i++) {
			const char *e = strset_get(set, i);
			size_t el = strlen(e);

			/* e = LABEL + suffix, LABEL one label, not a pattern */
			if (el > slen && memcmp(e + el - slen, suffix, slen) == 0 && e[0] != '*' &&
			    !memchr(e, '.', el - slen))
				return 1;
		}
		return 0;
	}
	dot = memchr(name, '.', n);
	if (!dot)
		return 0;
	buf[0] = '*';
	memcpy(buf + 1, dot, n - (size_t)(dot - name));
	return strset_has(set, buf, 1 + n - (size_t)(dot - name));
}

/* Does one SAN match list l of kind k? Kinds that are not SAN kinds never
 * match here (id_match handles them). */
static int san_match(enum id_kind k, const struct cert_san *san, const struct cfg_list *l, int deny)
{
	const char *v = san->value;
	size_t vlen = strlen(v), dl;
	int wild;

	switch (k) {
	case ID_SPIFFE:
		return san->type == CERT_SAN_URI && spiffe_has_scheme(v, vlen) && set_has_spiffe(l->set, v);
	case ID_URI:
		return san->type == CERT_SAN_URI && strset_has(l->set, v, vlen);
	case ID_DNS:
		if (san->type != CERT_SAN_DNS)
			return 0;
		dl = dns_san_norm(v, &wild);
		return dl && set_has_dns(l->set, v, dl, wild, deny);
	case ID_EMAIL:
		return san->type == CERT_SAN_EMAIL && set_has_lower(l->set, v);
	case ID_IP:
		return san->type == CERT_SAN_IP &&
		       cidr_list_match_ex(l->cidrs, san->ip, san->ip_len, deny ? CIDR_MATCH_V4COMPAT : 0);
	case ID_THUMBPRINT:
	case ID_SERIAL:
	case ID_SUBJECT:
	case ID_ISSUER:
	case ID_ISSUER_THUMBPRINT:
	case ID_SPKI:
	case ID_CN:
	case ID_KINDS:
		break;
	}
	return 0;
}

/* Does the certificate match list l of kind k? deny: l is a deny list
 * (where a certificate with several values matches if any does, a
 * wildcard SAN matches what it covers, and an IPv4-compatible address is
 * also read as IPv4). *what gets the value that matched, for the trace
 * and the identity. */
static int id_match(enum id_kind k, const struct cfg_list *l, const struct cert_eval *ce,
                    int deny, const char **what)
{
	const struct cert_facts *f = ce->facts;
	const struct cert_ext *x = ce->ext;
	char buf[1100];
	size_t n;

	*what = NULL;
	switch (k) {
	case ID_THUMBPRINT:
		*what = f->sha256_hex;
		return l->tp && tplist_has(l->tp, f->sha1, f->sha256);
	case ID_ISSUER_THUMBPRINT:
		*what = "issuer";
		return ce->has_issuer && l->tp && tplist_has(l->tp, ce->issuer_sha1, ce->issuer_sha256);
	case ID_SERIAL:
		*what = f->serial;
		n = lists_norm_serial(f->serial, strlen(f->serial), buf, sizeof(buf));
		if (!n || !l->set)
			return 0;
		if (strset_has(l->set, buf, n))
			return 1;
		/* "SERIAL ISSUER-DN": the issuer on the path that verified */
		if (!ce->has_issuer || !ce->issuer_dn)
			return 0;
		if ((size_t)snprintf(buf + n, sizeof(buf) - n, "|%s", ce->issuer_dn) >= sizeof(buf) - n)
			return 0;
		return strset_has(l->set, buf, strlen(buf));
	case ID_SUBJECT:
		*what = f->subject;
		return x && strset_has(l->set, x->subject_canon, strlen(x->subject_canon));
	case ID_ISSUER:
		*what = f->issuer;
		return x && strset_has(l->set, x->issuer_canon, strlen(x->issuer_canon));
	case ID_SPKI:
		*what = x ? x->spki_pin : NULL;
		return x && strset_has(l->set, x->spki_pin, strlen(x->spki_pin));
	case ID_CN:
		/* normalized as DN values (dn_norm_value, lists.c does the same
		 * to entries); deny: any CN; allow: the one CN, if only one */
		*what = x ? x->cn : NULL;
		if (!x || !l->set || (!deny && x->ncns != 1))
			return 0;
		for (int i = 0; i < x->ncns; i++)
			if (x->cns_canon[i][0] && strset_has(l->set, x->cns_canon[i], strlen(x->cns_canon[i]))) {
				*what = x->cns[i];
				return 1;
			}
		return 0;
	case ID_SPIFFE:
	case ID_URI:
	case ID_DNS:
	case ID_EMAIL:
	case ID_IP:
		if (!x)
			return 0;
		for (int i = 0; i < x->nsans; i++) {
			if (san_match(k, &x->sans[i], l, deny)) {
				*what = x->sans[i].value;
				return 1;
			}
		}
		return 0;
	case ID_KINDS:
		break;
	}
	return 0;
}

/* Can list l of kind k not be decided for want of an issuer? The issuer
 * rules only ever look at the path the agent verified; without one an
 * issuer thumbprint list, or a serial list naming this serial with an
 * issuer, can say neither yes nor no, and the caller denies. */
static int issuer_is_undecided(enum id_kind k, const struct cfg_list *l, const struct cert_eval *ce)
{
	const size_t mark = sizeof(CFG_SERIAL_ANY_ISSUER) - 1;
	char buf[CERT_SERIAL_MAX + sizeof(CFG_SERIAL_ANY_ISSUER)];
	size_t n;

	if (ce->has_issuer)
		return 0;
	if (k == ID_ISSUER_THUMBPRINT)
		return 1;
	if (k != ID_SERIAL || !l->set)
		return 0;
	n = lists_norm_serial(ce->facts->serial, strlen(ce->facts->serial), buf, sizeof(buf) - mark);
	if (!n)
		return 0;
	memcpy(buf + n, CFG_SERIAL_ANY_ISSUER, mark);
	return strset_has(l->set, buf, n + mark);
}

/* The identity variable when no allow rule decides (rule `verified`, and
 * denials): descriptive, not matched. The SPIFFE ID when there is exactly
 * one and it is valid, else the first SAN, else the first CN. An allow
 * rule that decides replaces it with the value it matched. */
static const char *identity_of(const struct cert_ext *x)
{
	struct spiffe_id id;

	if (!x)
		return NULL;
	if (x->nspiffe == 1 && spiffe_parse(x->spiffe_id, strlen(x->spiffe_id), &id) == SPIFFE_OK)
		return x->spiffe_id;
	if (x->nsans)
		return x->sans[0].value;
	return x->cn[0] ? x->cn : NULL;
}

static int policy_has_spiffe_rules(const struct policy *pol)
{
	return pol->allow[ID_SPIFFE].src || pol->deny[ID_SPIFFE].src;
}

static int policy_has_dns_rules(const struct policy *pol)
{
	return pol->allow[ID_DNS].src || pol->deny[ID_DNS].src;
}

/* ---- SPIFFE trust domains ---- */

enum svid_check rules_svid_check(const struct policy *pol, const struct cert_ext *x, int *td)
{
	const struct cert_san *uri = NULL;
	struct spiffe_id id;
	int nuri = 0;

	*td = -1;
	/* cert-ext keeps no SAN of a certificate with too many; below that it
	 * keeps every DNS, URI, email and IP SAN and skips the other types
	 * (otherName, registeredID, directoryName...), which an X.509-SVID
	 * may carry and which are no URI SAN: nsans < san_total is fine */
	if (x->san_total > CERT_SANS_KEEP_MAX || x->nsans > x->san_total)
		return SVID_NAMES_DROPPED;
	for (int i = 0; i < x->nsans; i++) {
		if (x->sans[i].type == CERT_SAN_URI) {
			uri = &x->sans[i];
			nuri++;
		}
	}
	if (nuri == 0)
		return SVID_NO_URI;
	if (nuri > 1)
		return SVID_MULTI_URI;
	if (!spiffe_has_scheme(uri->value, strlen(uri->value)))
		return SVID_NOT_SPIFFE;
	if (spiffe_parse(uri->value, strlen(uri->value), &id) != SPIFFE_OK)
		return SVID_BAD_ID;
	/* X.509-SVID 3.1 and 5.2: a leaf's SPIFFE ID has a path; the bare
	 * spiffe://td is the trust domain's (its signing certificates') */
	if (id.path_len == 0)
		return SVID_NO_PATH;
	for (int i = 0; i < pol->ntds && *td < 0; i++)
		if (pol->tds[i].name_len == id.td_len && memcmp(pol->tds[i].name, id.td, id.td_len) == 0)
			*td = i;
	if (*td < 0)
		return SVID_TD_UNKNOWN;
	/* X.509-SVID section 4: a leaf is no CA, signs (digitalSignature),
	 * and signs neither certificates nor CRLs */
	if (x->bc_ca) {
		*td = -1;
		return SVID_LEAF_CA;
	}
	if (!x->has_key_usage || !(x->key_usage & KU_DIGITAL_SIGNATURE) ||
	    (x->key_usage & (KU_KEY_CERT_SIGN | KU_CRL_SIGN))) {
		*td = -1;
		return SVID_KEY_USAGE;
	}
	return SVID_OK;
}

/* The first URI SAN's value (the only one, after rules_svid_check), or "". */
static const char *uri_of(const struct cert_ext *x)
{
	for (int i = 0; i < x->nsans; i++)
		if (x->sans[i].type == CERT_SAN_URI)
			return x->sans[i].value;
	return "";
}

/* Each failed X.509-SVID check: code, rule, trace word, detail. */
static const struct svid_fail {
	enum dec_code code;
	const char *rule, *trace, *detail;
} svid_fails[SVID_CHECKS] = {
	[SVID_NAMES_DROPPED] = { DEC_CERT_UNTRUSTED, "too_many_sans", "SANs not kept",
	                         "too many subject alternative names to find the SPIFFE ID" },
	[SVID_NO_URI]        = { DEC_SVID_INVALID, "spiffe_no_uri", "no URI SAN",
	                         "no URI SAN: not an X.509-SVID" },
	[SVID_MULTI_URI]     = { DEC_SPIFFE_MULTI_URI, "spiffe_multi_uri", "several URI SANs",
	                         "several URI SANs: an X.509-SVID has exactly one" },
	[SVID_NOT_SPIFFE]    = { DEC_SVID_INVALID, "spiffe_not_spiffe", "URI not spiffe",
	                         "the URI SAN is not a SPIFFE ID" },
	[SVID_BAD_ID]        = { DEC_SVID_INVALID, "spiffe_invalid", "invalid SPIFFE ID",
	                         "invalid SPIFFE ID" },
	[SVID_NO_PATH]       = { DEC_SVID_INVALID, "spiffe_no_path", "no path",
	                         "the SPIFFE ID has no path: spiffe://td names the trust domain, not a workload" },
	[SVID_TD_UNKNOWN]    = { DEC_SPIFFE_TD_UNKNOWN, "spiffe_td_unknown", "unknown trust domain",
	                         "no bundle in this policy for trust domain" },
	[SVID_LEAF_CA]       = { DEC_SVID_INVALID, "svid_ca", "leaf is a CA",
	                         "an X.509-SVID leaf must not be a CA" },
	[SVID_KEY_USAGE]     = { DEC_SVID_INVALID, "svid_key_usage", "key usage",
	                         "an X.509-SVID leaf has keyUsage digitalSignature and neither keyCertSign nor cRLSign" },
};

/* The trust-domain step: deny unless the certificate is an X.509-SVID of
 * a trust domain with a bundle. Returns 0 if it passes. */
static int check_svid(const struct policy *pol, const struct cert_ext *x,
                      struct trace *t, struct decision *d)
{
	const struct svid_fail *f;
	enum svid_check r;
	struct spiffe_id id;
	char why[80] = "";
	int td;

	if (!x) {
		trace_add(t, "trust_domain=fail(extensions)");
		deny(pol, d, DEC_CERT_UNTRUSTED, "cert_extensions",
		     "the certificate's names or extensions are malformed");
		return -1;
	}
	r = rules_svid_check(pol, x, &td);
	if (r == SVID_OK && td >= 0 && td < pol->ntds && pol->tds[td].pending) {
		/* its bundle endpoint was never fetched: no authority to verify with */
		trace_add(t, "trust_domain=fail(%s: bundle not fetched yet)", pol->tds[td].name);
		deny(pol, d, DEC_CERT_UNTRUSTED, "list_unavailable",
		     "the bundle of trust domain %s, given as a URL, not fetched yet (no copy in state_dir)",
		     pol->tds[td].name);
		return -1;
	}
	if (r == SVID_OK && td >= 0 && td < pol->ntds) {
		d->trust_domain = pol->tds[td].name;
		trace_add(t, "trust_domain=pass(%s)", pol->tds[td].name);
		return 0;
	}
	f = (unsigned)r < SVID_CHECKS ? &svid_fails[r] : NULL;
	if (!f || !f->rule) {
		trace_add(t, "trust_domain=fail(internal)");
		deny(pol, d, DEC_INTERNAL, "internal", "X.509-SVID check");
		return -1;
	}
	/* what the certificate said: the parser's reason, or the trust domain
	 * (an ID that parsed: [a-z0-9.-_] only) */
	if (r == SVID_BAD_ID)
		snprintf(why, sizeof(why), ": %s", spiffe_strerror(spiffe_parse(uri_of(x), strlen(uri_of(x)), &id)));
	else if (r == SVID_TD_UNKNOWN && spiffe_parse(uri_of(x), strlen(uri_of(x)), &id) == SPIFFE_OK)
		snprintf(why, sizeof(why), " %.*s", CLAMP(id.td_len), id.td);
	trace_add(t, "trust_domain=fail(%s%s)", f->trace, why);
	deny(pol, d, f->code, f->rule, "%s%s", f->detail, why);
	return -1;
}

/* ---- client_id ---- */

/* value as the client_id, or "sha256:" and its hex when it is longer than
 * DEC_CLIENT_ID_MAX or holds a byte that is not printable ASCII. */
static void client_id_set(struct decision *d, const char *prefix, const char *value)
{
	size_t pl = strlen(prefix), vl = strlen(value);
	unsigned char h[32];
	int plain = pl + vl <= DEC_CLIENT_ID_MAX;

	for (size_t i = 0; plain && i < vl; i++)
		plain = value[i] >= 0x21 && value[i] <= 0x7e;
	if (plain) {
		memcpy(d->client_id, prefix, pl);
		memcpy(d->client_id + pl, value, vl);
		d->client_id[pl + vl] = 0;
		return;
	}
	/* the hash covers the prefix: kinds never share a key */
	{
		char buf[DEC_CLIENT_ID_MAX + 1 + 8];
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		unsigned int n = 0;

		snprintf(buf, sizeof(buf), "%s", prefix);
		if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestUpdate(c, buf, strlen(buf)) != 1 ||
		    EVP_DigestUpdate(c, value, vl) != 1 || EVP_DigestFinal_ex(c, h, &n) != 1 || n != 32) {
			EVP_MD_CTX_free(c);
			d->client_id[0] = 0;     /* no key rather than a shared one */
			return;
		}
		EVP_MD_CTX_free(c);
	}
	memcpy(d->client_id, "sha256:", 7);
	cert_hex(h, 32, d->client_id + 7);
}

/* The policy's client_id of a parsed certificate. Kinds cannot collide:
 * "spki:", "spiffe://", "id:" and "sha256:" start them. The SPIFFE ID and
 * the identity are names the certificate states; only an allowed one has
 * been checked (the trust domain's bundle verified it, an allow rule
 * matched it). A denied certificate can state any name (a CA of td1
 * signing spiffe://td2/db, a self-signed one): it gets the spki form,
 * the key its TLS handshake proved, never the key of the client it
 * claims to be. */
static void client_id_of(const struct policy *pol, const struct cert_eval *ce, struct decision *d)
{
	const struct cert_ext *x = ce->ext;
	char hex[65];
	struct spiffe_id id;
	enum client_id_kind kind = (enum client_id_kind)pol->client_id;

	d->client_id[0] = 0;
	if (d->code != DEC_ALLOW)
		kind = CLIENT_ID_SPKI;
	switch (kind) {
	case CLIENT_ID_IDENTITY:
		if (d->identity) {
			client_id_set(d, "id:", d->identity);
			return;
		}
		break;
	case CLIENT_ID_SPIFFE:
		if (x && x->nspiffe == 1 && x->spiffe_id &&
		    spiffe_parse(x->spiffe_id, strlen(x->spiffe_id), &id) == SPIFFE_OK) {
			client_id_set(d, "", x->spiffe_id);
			return;
		}
		break;
	case CLIENT_ID_SPKI:
	case CLIENT_IDS:
		break;
	}
	/* spki, and the fallback: the key stays the client's across renewals */
	if (x) {
		cert_hex(x->spki_sha256, 32, hex);
		client_id_set(d, "spki:", hex);
	} else {
		client_id_set(d, "cert:", ce->facts->sha256_hex);
	}
}

/* ---- the decision ---- */

static void deny(const struct policy *pol, struct decision *d, enum dec_code code,
                 const char *rule, const char *fmt, ...)
{
	va_list ap;

	d->code = code;
	d->rule = rule;
	d->status = pol ? pol->deny_status : 403;
	va_start(ap, fmt);
	vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
	va_end(ap);
}

/* The class of an agent verification failure: the CRL ones have theirs. */
static enum dec_code agent_verify_code(int code)
{
	if (code == X509_V_ERR_CRL_HAS_EXPIRED)
		return DEC_CRL_EXPIRED;
	if (code == X509_V_ERR_UNABLE_TO_GET_CRL)
		return DEC_CRL_UNAVAILABLE;
	if (code == X509_V_ERR_CERT_REVOKED)
		return DEC_CERT_REVOKED;
	return DEC_CERT_UNVERIFIED;
}

/* RFC 5280 CRLReason names, by code (7 is unused). */
static const char *const crl_reason_names[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise",
};

/* cert_revoked with where it came from: the CRL's source (a URL, or
 * crl_file), the revocation time and reason, and the depth. */
static void deny_revoked(const struct policy *pol, struct decision *d,
                         const struct cert_revocation *rev)
{
	const char *why = rev->reason >= 0 && rev->reason < (int)(sizeof(crl_reason_names) / sizeof(crl_reason_names[0]))
	                  ? crl_reason_names[rev->reason] : NULL;
	char when[32] = "unknown time";
	time_t t = (time_t)rev->revoked_at;
	struct tm tm;

	if (rev->revoked_at > 0 && gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	deny(pol, d, DEC_CERT_REVOKED, "cert_revoked", "revoked %s%s%s%s at depth %d, source crl %s",
	     when, why ? " (" : "", why ? why : "", why ? ")" : "", rev->depth, rev->source);
}

static void allow(struct decision *d, const char *rule)
{
	d->code = DEC_ALLOW;
	d->status = 200;
	d->rule = rule;
}

/* Unix time as 2026-01-02T03:04:05Z. */
static void fmt_time(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

/* 6. revocation by OCSP, once everything else allows (so a certificate
 * denied anyway never costs a fetch). ce->ocsp was filled by decide.c;
 * REV_NONE (not looked up) is a denial that asks for the lookup. */
static void check_revocation(const struct policy *pol, const struct cert_eval *ce,
                             int64_t now, struct trace *t, struct decision *d)
{
	const struct rev_eval *r = &ce->ocsp;
	char when[32];

	if (pol->ocsp == OCSP_MODE_OFF)
		return;
	switch (r->state) {
	case REV_NONE:
		trace_add(t, "ocsp=needed");
		deny(pol, d, DEC_OCSP_UNAVAILABLE, "ocsp_not_checked", "no OCSP answer was looked up");
		d->rev_needed = 1;
		return;
	case REV_GOOD:
		trace_add(t, "ocsp=good(%d checked, from %s, %llds old, until %llds)", r->checked,
		          r->url[0] ? r->url : "?", (long long)(now - r->fetched_at),
		          (long long)(r->until - now));
		return;
	case REV_REVOKED:
		fmt_time(when, sizeof(when), r->revoked_at);
		trace_add(t, "ocsp=revoked(depth %d, %s)", r->depth, r->url);
		deny(pol, d, DEC_CERT_REVOKED, "ocsp_revoked", "source ocsp %s: %srevoked %s (%s)",
		     r->url, r->depth ? "an issuer is " : "", when, ocsp_reason_str(r->reason));
		return;
	case REV_UNKNOWN:
		if (pol->ocsp_unknown == OCSP_SOFT_ALLOW) {
			trace_add(t, "ocsp=unknown(allowed by ocsp_unknown, depth %d)", r->depth);
			return;
		}
		trace_add(t, "ocsp=unknown(depth %d, %s)", r->depth, r->url);
		deny(pol, d, DEC_OCSP_UNKNOWN, "ocsp_unknown", "source ocsp %s: the responder does not know %s",
		     r->url, r->depth ? "an issuer" : "the certificate");
		return;
	case REV_ERROR:
	case REV_STATES:
		break;
	}
	if (pol->ocsp_fallback == OCSP_FALLBACK_CRL && (pol->verify_flags & (CERT_VF_CRL_LEAF | CERT_VF_CRL_ALL)) &&
	    ce->agent_checked && ce->agent_verify == X509_V_OK) {
		trace_add(t, "ocsp=error(%s),crl=pass", r->err ? r->err : "?");
		return;
	}
	if (pol->ocsp_unavailable == OCSP_SOFT_ALLOW) {
		trace_add(t, "ocsp=error(%s, allowed by ocsp_unavailable)", r->err ? r->err : "?");
		return;
	}
	trace_add(t, "ocsp=error(%s)", r->err ? r->err : "?");
	deny(pol, d, DEC_OCSP_UNAVAILABLE, "ocsp_unavailable", "source ocsp %s: %s",
	     r->url[0] ? r->url : "(no responder)", r->err ? r->err : "no valid answer");
}

/* Key, signature, lifetime and policy limits. Returns 0 if they pass. A
 * limit that cannot tell (a key of unknown size, a signature digest that
 * cannot be determined) denies. */
static int check_limits(const struct policy *pol, const struct cert_eval *ce,
                        struct trace *t, struct decision *d)
{
	const struct cert_ext *x = ce->ext;
	const struct cert_facts *f = ce->facts;
	const char *kt = lists_key_type_name(x->key_type);
	char nid[16];

	if (pol->allowed_key_types.src) {
		snprintf(nid, sizeof(nid), "%d", x->key_type);
		if (!strset_has(pol->allowed_key_types.set, nid, strlen(nid))) {
			trace_add(t, "allowed_key_types=fail(%s)", x->key_name);
			deny(pol, d, DEC_CERT_UNTRUSTED, "allowed_key_types", "key type %s is not allowed", x->key_name);
			return -1;
		}
		trace_add(t, "allowed_key_types=pass(%s)", kt ? kt : x->key_name);
	}
	if (pol->min_rsa_bits && (x->key_type == EVP_PKEY_RSA || x->key_type == EVP_PKEY_RSA_PSS)) {
		if (x->key_bits <= 0) {
			trace_add(t, "min_rsa_bits=fail(unknown size)");
			deny(pol, d, DEC_CERT_UNTRUSTED, "min_rsa_bits", "RSA key of unknown size, the policy requires %d bits",
			     pol->min_rsa_bits);
			return -1;
		}
		if (x->key_bits < pol->min_rsa_bits) {
			trace_add(t, "min_rsa_bits=fail(%d<%d)", x->key_bits, pol->min_rsa_bits);
			deny(pol, d, DEC_CERT_UNTRUSTED, "min_rsa_bits", "RSA key of %d bits, the policy requires %d",
			     x->key_bits, pol->min_rsa_bits);
			return -1;
		}
		trace_add(t, "min_rsa_bits=pass(%d)", x->key_bits);
	}
	if (pol->allowed_curves.src && x->key_type != EVP_PKEY_RSA && x->key_type != EVP_PKEY_RSA_PSS) {
		/* every other key: EC by its curve, the rest by their type */
		const char *c = lists_key_curve(x->key_type, x->curve);

		if (!c[0]) {
			trace_add(t, "allowed_curves=fail(%s)", x->key_name);
			if (x->key_type == EVP_PKEY_EC)
				deny(pol, d, DEC_CERT_UNTRUSTED, "allowed_curves", "EC key without a named curve");
			else
				deny(pol, d, DEC_CERT_UNTRUSTED, "allowed_curves", "key type %s is not allowed", x->key_name);
			return -1;
		}
		if (!strset_has(pol->allowed_curves.set, c, strlen(c))) {
			trace_add(t, "allowed_curves=fail(%s)", c);
			if (x->key_type == EVP_PKEY_EC)
				deny(pol, d, DEC_CERT_UNTRUSTED, "allowed_curves", "EC curve %s is not allowed", c);
			else
				deny(pol, d, DEC_CERT_UNTRUSTED, "allowed_curves", "key type %s is not allowed", x->key_name);
			return -1;
		}
		trace_add(t, "allowed_curves=pass(%s)", c);
	}
	if (pol->forbid_signature.src) {
		if (x->sig_md_nid == NID_undef) {
			/* Ed25519 and Ed448 sign without a separate digest; any
			 * other signature whose digest is unknown cannot be
			 * shown to avoid the forbidden ones */
			if (x->sig_nid != NID_ED25519 && x->sig_nid != NID_ED448) {
				trace_add(t, "forbid_signature=fail(%s, digest unknown)", x->sig_alg);
				deny(pol, d, DEC_CERT_UNTRUSTED, "forbid_signature",
				     "the digest of signature %s cannot be determined", x->sig_alg);
				return -1;
			}
			trace_add(t, "forbid_signature=pass(%s, no separate digest)", x->sig_alg);
		} else {
			snprintf(nid, sizeof(nid), "%d", x->sig_md_nid);
			if (strset_has(pol->forbid_signature.set, nid, strlen(nid))) {
				trace_add(t, "forbid_signature=fail(%s)", x->sig_alg);
				deny(pol, d, DEC_CERT_UNTRUSTED, "forbid_signature", "signed with %s", x->sig_alg);
				return -1;
			}
			trace_add(t, "forbid_signature=pass(%s)", x->sig_alg);
		}
	}
	if (pol->max_lifetime_days) {
		int64_t days = (f->not_after - f->not_before) / 86400;

		if (f->not_after - f->not_before > (int64_t)pol->max_lifetime_days * 86400) {
			trace_add(t, "max_lifetime_days=fail(%lld>%d)", (long long)days, pol->max_lifetime_days);
			deny(pol, d, DEC_CERT_UNTRUSTED, "max_lifetime_days",
			     "valid for %lld days, the policy allows %d", (long long)days, pol->max_lifetime_days);
			return -1;
		}
		trace_add(t, "max_lifetime_days=pass(%lld)", (long long)days);
	}
	for (size_t i = 0; pol->require_policies.set && i < strset_count(pol->require_policies.set); i++) {
		const char *oid = strset_get(pol->require_policies.set, i);
		int found = 0;

		for (int k = 0; k < x->npolicies && !found; k++)
			found = strcmp(x->policies[k], oid) == 0;
		if (!found) {
			trace_add(t, "require_policies=fail(%s)", oid);
			deny(pol, d, DEC_CERT_UNTRUSTED, "require_policies", "certificate policy %s is missing", oid);
			return -1;
		}
	}
	if (pol->require_policies.src)
		trace_add(t, "require_policies=pass");
	return 0;
}

/* Rule names: the config keys of the lists (cfg-t.h ID_KIND_LIST). */
#define DENY_RULE(kind, name, allow_help, deny_help) [ID_##kind] = "deny_" name,
#define ALLOW_RULE(kind, name, allow_help, deny_help) [ID_##kind] = "allow_" name,
static const char *const deny_rules[ID_KINDS] = { ID_KIND_LIST(DENY_RULE) };
static const char *const allow_rules[ID_KINDS] = { ID_KIND_LIST(ALLOW_RULE) };
#undef DENY_RULE
#undef ALLOW_RULE

/* Is allow list k set? The thumbprint allow list is pol->thumbprints
 * (cfg.c sets it from allow[ID_THUMBPRINT]; hand-built test policies set
 * only it). */
static const struct cfg_list *allow_list(const struct policy *pol, int k, struct cfg_list *tmp)
{
	if (k != ID_THUMBPRINT)
		return pol->allow[k].src ? &pol->allow[k] : NULL;
	if (!pol->thumbprints)
		return NULL;
	memset(tmp, 0, sizeof(*tmp));
	tmp->tp = pol->thumbprints;
	return tmp;
}

/* A certificate with more SANs than cert.c keeps is over every max_sans. */
_Static_assert(POLICY_MAX_SANS_MAX <= CERT_SANS_KEEP_MAX, "max_sans above what cert.c keeps");

/* SAN count, SPIFFE IDs and DNS names that cannot be matched as they
 * mean: checked before any list. Returns 0 if they pass. */
static int check_names(const struct policy *pol, const struct cert_ext *x,
                       struct trace *t, struct decision *d)
{
	int max = pol->max_sans > 0 && pol->max_sans <= POLICY_MAX_SANS_MAX ? pol->max_sans
	                                                                    : POLICY_MAX_SANS_DEFAULT, wild;
	struct spiffe_id id;
	enum spiffe_err err;

	if (x->san_total > max) {
		trace_add(t, "max_sans=fail(%d>%d)", x->san_total, max);
		deny(pol, d, DEC_CERT_UNTRUSTED, "too_many_sans",
		     "%d subject alternative names, the policy allows %d", x->san_total, max);
		return -1;
	}
	if (policy_has_spiffe_rules(pol) && x->nspiffe > 1) {
		trace_add(t, "spiffe=fail(%d SPIFFE IDs)", x->nspiffe);
		deny(pol, d, DEC_CERT_UNTRUSTED, "spiffe_invalid",
		     "%d SPIFFE IDs: an X.509-SVID has exactly one", x->nspiffe);
		return -1;
	}
	if (policy_has_spiffe_rules(pol) && x->nspiffe == 1 &&
	    (err = spiffe_parse(x->spiffe_id, strlen(x->spiffe_id), &id)) != SPIFFE_OK) {
		trace_add(t, "spiffe=fail(%s)", spiffe_strerror(err));
		deny(pol, d, DEC_CERT_UNTRUSTED, "spiffe_invalid", "invalid SPIFFE ID: %s",
		     spiffe_strerror(err));
		return -1;
	}
	for (int i = 0; policy_has_dns_rules(pol) && i < x->nsans; i++) {
		if (x->sans[i].type == CERT_SAN_DNS && !dns_san_norm(x->sans[i].value, &wild)) {
			trace_add(t, "dns=fail(invalid name)");
			deny(pol, d, DEC_CERT_UNTRUSTED, "dns_invalid",
			     "DNS SAN %d is not a valid host name", i + 1);
			return -1;
		}
	}
	trace_add(t, "names=pass(%d SANs)", x->san_total);
	return 0;
}

static void decide(const struct policy *pol, const struct req_facts *rq,
                   const struct cert_eval *ce, int64_t now, struct trace *t,
                   struct decision *d)
{
	struct cfg_list tmp;
	const char *what;
	int matched = 0, has_allow = 0;

	if (rq->bad_arg) {
		trace_add(t, "request=fail(%s)", rq->bad_arg);
		deny(pol, d, DEC_BAD_REQUEST, "request", "argument '%s' has the wrong type", rq->bad_arg);
		return;
	}
	if (rq->fwd_untrusted) {
		trace_add(t, "forwarded=fail(untrusted source)");
		deny(pol, d, DEC_FORWARDED_UNTRUSTED, "forwarded",
		     "a client certificate header came from a source not in trusted_proxies");
		return;
	}
	if (rq->fwd_error) {
		trace_add(t, "forwarded=fail(malformed)");
		deny(pol, d, DEC_FORWARDED_INVALID, "forwarded", "forwarded certificate header: %s",
		     fwd_error_str((enum fwd_error)rq->fwd_error));
		return;
	}
	if (rq->forwarded)
		trace_add(t, "forwarded=pass");

	/* domain fronting: the name TLS was set up for must be the one asked */
	if (pol->sni_host_match && rq->has_sni && rq->has_host) {
		struct spop_str h = { NULL, 0 };
		size_t sl = uri_name_len(rq->sni.ptr, rq->sni.len);

		/* an invalid Host (len 0) never equals an SNI */
		if (uri_host_name(rq->host.ptr, rq->host.len, &h.ptr, &h.len) < 0)
			h.len = 0;
		if (!h.len || !uri_name_eq(rq->sni.ptr, sl, h.ptr, h.len)) {
			trace_add(t, "sni_host=fail(%.*s!=%.*s)", CLAMP(rq->sni.len), rq->sni.ptr,
			          CLAMP(rq->host.len), rq->host.ptr);
			deny(pol, d, DEC_SNI_HOST_MISMATCH, "sni_host", "SNI and Host differ");
			return;
		}
		trace_add(t, "sni_host=pass");
	} else if (pol->sni_host_match && rq->has_host && !rq->has_sni) {
		trace_add(t, "sni_host=fail(no SNI)");
		deny(pol, d, DEC_SNI_HOST_MISMATCH, "sni_host", "no SNI to compare with Host");
		return;
	}

	/* 1. presence */
	if (!rq->has_cert || rq->cert.len == 0) {
		if (pol->require_cert) {
			trace_add(t, "require_cert=fail");
			if (rq->has_present && rq->present)
				deny(pol, d, DEC_CERT_MISSING, "require_cert",
				     "a certificate was used but the 'cert' argument (ssl_c_der) was not sent");
			else if (!rq->has_present && !rq->forwarded)
				/* ssl_c_used fails on a plain connection: TLS ended
				 * before HAProxy (certspoa probe tells the two apart) */
				deny(pol, d, DEC_CERT_MISSING, "require_cert",
				     "no client certificate was presented (HAProxy's connection was not TLS)");
			else
				deny(pol, d, DEC_CERT_MISSING, "require_cert", "no client certificate was presented");
			return;
		}
		trace_add(t, "require_cert=pass(optional, anonymous)");
		allow(d, "anonymous");
		snprintf(d->detail, sizeof(d->detail), "no client certificate (optional)");
		return;
	}
	if (!ce || !ce->parsed) {
		if (rq->forwarded) {
			/* decoded, but not one certificate in exact DER */
			trace_add(t, "forwarded=fail(not DER)");
			deny(pol, d, DEC_FORWARDED_INVALID, "forwarded",
			     "forwarded certificate is not valid DER");
			return;
		}
		trace_add(t, "parse=fail");
		deny(pol, d, DEC_CERT_UNVERIFIED, "cert_parse", "certificate is not valid DER");
		return;
	}
	trace_add(t, "parse=pass(%s)", ce->facts->subject);
	d->has_days_left = 1;
	d->days_left = cert_days_until(ce->facts->not_after, now);
	d->expiring = pol->warn_days && d->days_left <= pol->warn_days;
	d->identity = identity_of(ce->ext);

	/* the trust domain picks the bundle the agent verifies against */
	if (pol->ntds && check_svid(pol, ce->ext, t, d) < 0)
		return;

	/* 2. verification: HAProxy's result does not apply to a forwarded
	 * certificate (it is about the proxy's own connection) */
	if ((pol->verify == VERIFY_HAPROXY || pol->verify == VERIFY_BOTH) && !rq->forwarded) {
		if (!rq->has_verify) {
			trace_add(t, "verify(haproxy)=fail(not sent)");
			deny(pol, d, DEC_CERT_UNVERIFIED, "verify_missing",
			     "the 'verify' argument (ssl_c_verify) was not sent");
			return;
		}
		if (rq->verify != X509_V_OK) {
			int code = rq->verify >= 0 && rq->verify <= 0x7fffffff ? (int)rq->verify : -2;

			trace_add(t, "verify(haproxy)=fail(%lld)", (long long)rq->verify);
			deny(pol, d, DEC_CERT_UNVERIFIED, rules_verify_rule(code), "%s (%lld)",
			     code >= 0 ? cert_verify_str(code) : "invalid verify result",
			     (long long)rq->verify);
			return;
		}
		trace_add(t, "verify(haproxy)=pass");
	}
	if (pol->verify == VERIFY_HAPROXY && rq->forwarded) {
		trace_add(t, "verify=fail(forwarded, verify = haproxy)");
		deny(pol, d, DEC_CERT_UNVERIFIED, "verify_forwarded",
		     "a forwarded certificate needs verify = agent or both");
		return;
	}
	/* with spiffe_bundles the agent verifies whatever verify says: HAProxy's
	 * ca-file may pool every trust domain, and one must not sign for another */
	if (pol->verify == VERIFY_AGENT || pol->verify == VERIFY_BOTH || pol->ntds) {
		if (!ce->agent_checked) {
			trace_add(t, "verify(agent)=fail(not run)");
			deny(pol, d, DEC_INTERNAL, "verify_internal", "agent verification did not run");
			return;
		}
		if (ce->agent_verify == CERT_VERIFY_BAD_CHAIN && rq->forwarded) {
			trace_add(t, "forwarded=fail(chain not DER)");
			deny(pol, d, DEC_FORWARDED_INVALID, "forwarded",
			     "forwarded certificate chain is not a list of DER certificates");
			return;
		}
		if (ce->agent_verify != X509_V_OK) {
			trace_add(t, "verify(agent)=fail(%d at depth %d)", ce->agent_verify, ce->agent_depth);
			if (ce->agent_verify == X509_V_ERR_CERT_REVOKED && ce->rev) {
				deny_revoked(pol, d, ce->rev);
				return;
			}
			deny(pol, d, agent_verify_code(ce->agent_verify), rules_verify_rule(ce->agent_verify),
			     "%s (%d)", cert_verify_str(ce->agent_verify), ce->agent_verify);
			return;
		}
		trace_add(t, "verify(agent)=pass");
	}

	if (!ce->ext) {
		/* a NUL in a SAN, a repeated extension...: malformed, not ours;
		 * every policy needs the names (max_sans at least) */
		trace_add(t, "extensions=fail");
		deny(pol, d, DEC_CERT_UNTRUSTED, "cert_extensions",
		     "the certificate's names or extensions are malformed");
		return;
	}
	if (check_names(pol, ce->ext, t, d) < 0)
		return;

	/* 3. deny lists always win; a list given as a URL that was never
	 * fetched could be one: fail closed */
	if (pol->lists_pending) {
		trace_add(t, "lists=fail(%d not fetched yet)", pol->lists_pending);
		deny(pol, d, DEC_CERT_UNTRUSTED, "list_unavailable",
		     "%d list(s) given as a URL not fetched yet (no copy in state_dir)", pol->lists_pending);
		return;
	}
	for (int k = 0; k < ID_KINDS; k++) {
		if (!pol->deny[k].src)
			continue;
		if (id_match((enum id_kind)k, &pol->deny[k], ce, 1, &what)) {
			trace_add(t, "%s=fail(%s)", deny_rules[k], what ? what : "");
			deny(pol, d, DEC_CERT_UNTRUSTED, deny_rules[k], "on the %s list", deny_rules[k]);
			return;
		}
		if (issuer_is_undecided((enum id_kind)k, &pol->deny[k], ce)) {
			trace_add(t, "%s=fail(no verified issuer)", deny_rules[k]);
			deny(pol, d, DEC_CERT_UNTRUSTED, "issuer_unknown",
			     "%s: no verified path to an issuer could be built", deny_rules[k]);
			return;
		}
		trace_add(t, "%s=pass", deny_rules[k]);
	}

	/* 4. limits */
	if (ce->ext && check_limits(pol, ce, t, d) < 0)
		return;

	/* 5. identities: with allow lists, one must match */
	for (int k = 0; k < ID_KINDS; k++)
		has_allow |= allow_list(pol, k, &tmp) != NULL;
	if (!has_allow) {
		allow(d, "verified");
		check_revocation(pol, ce, now, t, d);
		return;
	}
	for (int k = 0; k < ID_KINDS && !matched; k++) {
		const struct cfg_list *l = allow_list(pol, k, &tmp);

		if (!l)
			continue;
		if (id_match((enum id_kind)k, l, ce, 0, &what)) {
			trace_add(t, "%s=match(%s)", allow_rules[k], what ? what : "");
			allow(d, allow_rules[k]);
			/* the identity is what this rule matched; an issuer rule
			 * matched the CA, not the client: identity stays descriptive */
			if (what && k != ID_ISSUER && k != ID_ISSUER_THUMBPRINT)
				d->identity = what;
			matched = 1;
		} else {
			trace_add(t, "%s=no", allow_rules[k]);
		}
	}
	if (!matched) {
		int only_tp = 1;

		for (int k = 0; k < ID_KINDS; k++) {
			const struct cfg_list *l = allow_list(pol, k, &tmp);

			if (l && issuer_is_undecided((enum id_kind)k, l, ce)) {
				trace_add(t, "%s=fail(no verified issuer)", allow_rules[k]);
				deny(pol, d, DEC_CERT_UNTRUSTED, "issuer_unknown",
				     "%s: no verified path to an issuer could be built", allow_rules[k]);
				return;
			}
		}
		for (int k = 0; k < ID_KINDS; k++)
			if (k != ID_THUMBPRINT && allow_list(pol, k, &tmp))
				only_tp = 0;
		deny(pol, d, DEC_CERT_UNTRUSTED, only_tp ? "allow_thumbprints" : "identity",
		     only_tp ? "thumbprint is not on the trusted list" : "no allow rule matched");
		return;
	}
	check_revocation(pol, ce, now, t, d);
}

/* The last step, once the certificate is accepted: the bearer token that
 * decide.c checked (rq->token). Denials are 401 (RFC 6750). */
static void check_token(const struct policy *pol, const struct req_facts *rq,
                        struct trace *t, struct decision *d)
{
	const struct token_result *r = rq->token;
	enum dec_code code = DEC_TOKEN_INVALID;

	if (!r) {
		trace_add(t, "token=fail(not checked)");
		deny(pol, d, DEC_INTERNAL, "token_internal", "the token check did not run");
		return;
	}
	if (r->err == TOKEN_OK) {
		trace_add(t, "token=pass(%s, bound)", r->alg);
		return;
	}
	if (r->err == TOKEN_ABSENT && pol->token == TOKEN_MODE_BOUND) {
		trace_add(t, "token=pass(none sent, token = bound)");
		return;
	}
	switch (token_errs[r->err].cls) {
	case TOKEN_CLASS_MISSING:  code = DEC_TOKEN_MISSING; break;
	case TOKEN_CLASS_EXPIRED:  code = DEC_TOKEN_EXPIRED; break;
	case TOKEN_CLASS_UNBOUND:  code = DEC_TOKEN_UNBOUND; break;
	case TOKEN_CLASS_MISMATCH: code = DEC_TOKEN_BINDING_MISMATCH; break;
	case TOKEN_CLASS_INVALID:
	case TOKEN_CLASS_NONE:
	case TOKEN_CLASSES:
		code = DEC_TOKEN_INVALID;
		break;
	}
	trace_add(t, "token=fail(%s)", token_errs[r->err].rule);
	deny(pol, d, code, token_errs[r->err].rule, "%s", r->detail);
	d->status = DEC_TOKEN_STATUS;
}

void rules_decide(const struct policy *pol, const struct req_facts *rq,
                  const struct cert_eval *ce, int64_t now, struct trace *t,
                  struct decision *d)
{
	memset(d, 0, sizeof(*d));
	d->code = DEC_INTERNAL;
	d->status = 403;
	d->rule = "internal";
	if (!pol) {
		deny(pol, d, DEC_INTERNAL, "no_policy", "no policy");
		return;
	}
	trace_add(t, "policy=%s", pol->name);
	decide(pol, rq, ce, now, t, d);
	if (ce && ce->parsed)
		client_id_of(pol, ce, d);
	if (d->code == DEC_ALLOW && pol->token != TOKEN_MODE_OFF)
		check_token(pol, rq, t, d);
	if (d->code != DEC_ALLOW && pol->mode == POLICY_SHADOW &&
	    d->code != DEC_BAD_REQUEST && d->code != DEC_INTERNAL) {
		d->would_code = d->code;
		d->would_rule = d->rule;
		d->shadowed = 1;
		d->code = DEC_ALLOW;
		d->status = 200;
		d->rule = "shadow";
		trace_add(t, "shadow=allow(would deny %s)", dec_table[d->would_code].code);
	}
	trace_add(t, "verdict=%s", d->code == DEC_ALLOW ? "allow" : "deny");
}
