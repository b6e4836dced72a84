/* certspoa explain -f CONFIG --cert FILE [--chain FILE] [--host H] [--path P]
 *                  [--sni S] [--frontend F] [--src IP] [--verify N]
 *                  [--haproxy-ca FILE] [--time T] [--json]
 *                  [--token JWT] */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "cert.h"
#include "cfg.h"
#include "decide.h"
#include "explain.h"
#include "ocsp.h"
#include "ocsp-cache.h"
#include "rules.h"
#include "sbuf.h"
#include "token.h"

#define EXPLAIN_MAX_CERTS 17

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: certspoa explain -f CONFIG --cert FILE [--chain FILE] [--host H] [--path P]\n"
	        "                        [--sni S] [--frontend F] [--src IP] [--verify N]\n"
	        "                        [--haproxy-ca FILE] [--time T] [--json] [--offline] [--token JWT]\n"
	        "\n"
	        "Runs the policies of CONFIG on the certificate in FILE (PEM, DER or PKCS#12;\n"
	        "extra certificates in FILE count as the chain the client sent) and prints\n"
	        "every check. Under verify = haproxy|both, HAProxy's ssl_c_verify is --verify N\n"
	        "if given; else it is computed as HAProxy would, against --haproxy-ca FILE (the\n"
	        "bind line's ca-file) or the policy's ca_file; else 0 is ASSUMED (HAProxy\n"
	        "accepted the chain), and the output says so. --time is Unix seconds or ISO\n"
	        "8601 (2026-12-05, 2026-12-05T10:00:00Z, 2026-12-05T11:00:00+01:00).\n"
	        "For ocsp = leaf|chain the responders are asked now, one at a time (at most\n"
	        "ocsp_timeout each); --offline asks nobody, so a policy with OCSP says\n"
	        "ocsp_unavailable. --json prints one JSON object. --token is a bearer token\n"
	        "(JWT), sent as one 'Authorization: Bearer JWT' header; with token =\n"
	        "bound|required every step of its check is printed. Exit: 0 allow, 1 deny.\n");
}

static void print_kv(const char *k, const char *v);

/* Each step of the token check: passed, where it stopped, not reached. */
static void print_token(const struct token_result *r)
{
	printf("token:\n");
	for (int s = TOKEN_STEP_DECODE; s < TOKEN_STEP_DONE; s++) {
		const char *name = token_step_names[s];

		if (r->err != TOKEN_OK && (int)r->step == s) {
			printf("  %-10s fail: %s: %s\n", name, token_errs[r->err].rule, r->detail);
			continue;
		}
		if (r->err != TOKEN_OK && s > (int)r->step) {
			printf("  %-10s not reached\n", name);
			continue;
		}
		switch ((enum token_step)s) {
		case TOKEN_STEP_ALG:
			printf("  %-10s pass (%s)\n", name, r->alg);
			break;
		case TOKEN_STEP_KEY:
			printf("  %-10s pass (%s%s)\n", name, r->kid[0] ? "kid " : "no kid: every key that fits",
			       r->kid);
			break;
		case TOKEN_STEP_TIME:
			printf("  %-10s pass (exp %lld", name, (long long)r->exp);
			if (r->has_nbf)
				printf(", nbf %lld", (long long)r->nbf);
			printf(")\n");
			break;
		case TOKEN_STEP_BINDING:
			printf("  %-10s pass (cnf.x5t#S256 is this certificate's SHA-256)\n", name);
			break;
		case TOKEN_STEP_DECODE:
		case TOKEN_STEP_SIGNATURE:
		case TOKEN_STEP_ISS_AUD:
		case TOKEN_STEP_DONE:
		case TOKEN_STEPS:
			printf("  %-10s pass\n", name);
			break;
		}
	}
	if (r->err == TOKEN_OK) {
		print_kv("token_sub:", r->sub);
		print_kv("token_client_id:", r->client_id);
		print_kv("token_scope:", r->scope);
	}
}

/* n digits at *p into *v; advances. Returns 0, or -1. */
static int digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

/* --time: Unix seconds, or ISO 8601: YYYY-MM-DD (midnight UTC) or
 * YYYY-MM-DDTHH:MM[:SS] followed by Z or +HH:MM / -HH:MM. Returns 0, or
 * -1 (an impossible date such as 2026-02-30 included). */
static int parse_time(const char *s, int64_t *out)
{
	const char *p = s;
	struct tm tm, back;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	time_t t;

	if (*s && strspn(s, "0123456789") == strlen(s)) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno || *end)
			return -1;
		*out = v;
		return 0;
	}
	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
	    digits(&p, 2, &d) < 0)
		return -1;
	if (*p == 'T' || *p == 't') {
		p++;
		if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
			return -1;
		if (*p == ':' && (p++, digits(&p, 2, &sec) < 0))
			return -1;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '-' ? -1 : 1;
			if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 ||
			    oh > 23 || om > 59)
				return -1;
		} else {
			return -1;     /* a local time would depend on this machine's zone */
		}
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mday != d || back.tm_mon != mo - 1)
		return -1;
	*out = (int64_t)t - (int64_t)sign * (oh * 3600 + om * 60);
	return 0;
}

static void print_kv(const char *k, const char *v)
{
	if (v && *v)
		printf("%-12s %s\n", k, v);
}

/* ---- OCSP for explain: fetched here and now, one at a time (this is a
 * command, not the agent: blocking is fine), or not at all (--offline) ---- */

struct explain_ocsp {
	struct ocsp_job *jobs[8];
	int njobs;
	int fetched;                  /* answers fetched by this run */
	char body[OCSP_RESPONSE_MAX];
	size_t len;
	int too_big;
};

static int keep_job(void *arg, struct ocsp_job *j)
{
	struct explain_ocsp *x = arg;

	if (x->njobs >= (int)(sizeof(x->jobs) / sizeof(x->jobs[0])))
		return -1;
	x->jobs[x->njobs++] = j;
	return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct explain_ocsp *x = arg;

	if (n && size > (sizeof(x->body) - x->len) / n) {
		x->too_big = 1;
		return 0;
	}
	memcpy(x->body + x->len, p, size * n);
	x->len += size * n;
	return size * n;
}

/* One job, synchronously, with libcurl's easy interface: GET when the
 * request fits in 255 bytes, else POST, as the agent does. */
static void fetch_job(struct explain_ocsp *x, struct ocsp_cache *c, struct ocsp_job *j)
{
	struct ocsp_request rq;
	struct ocsp_result r;
	struct curl_slist *hdr = NULL;
	char url[OCSP_GET_URL_MAX + 1];
	CURL *e = NULL;
	long status = 0;
	int ok = 0;
	enum ocsp_err err = OCSP_E_FETCH;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	x->len = 0;
	x->too_big = 0;
	if ((j->nonce && RAND_bytes(j->nonce_bytes, OCSP_NONCE_LEN) != 1) ||
	    ocsp_request_build(j->leaf, j->issuer, j->nonce ? j->nonce_bytes : NULL, &rq) < 0)
		goto done;
	if ((e = curl_easy_init()) != NULL) {
		if (ocsp_get_url(j->url, rq.der, rq.len, url, sizeof(url)) > 0) {
			curl_easy_setopt(e, CURLOPT_URL, url);
		} else {
			hdr = curl_slist_append(NULL, "Content-Type: application/ocsp-request");
			curl_easy_setopt(e, CURLOPT_URL, j->url);
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq.der);
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)rq.len);
			curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
		}
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)j->timeout_ms);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
		switch (curl_easy_perform(e)) {
		case CURLE_OK:
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
			ok = status == 200 && x->len > 0;
			break;
		case CURLE_OPERATION_TIMEDOUT:
			err = OCSP_E_TIMEOUT;
			break;
		default:
			break;
		}
		curl_easy_cleanup(e);
		curl_slist_free_all(hdr);
	}
	ocsp_request_free(&rq);
done:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ocsp_job_finish(c, j, ok, err, (const unsigned char *)x->body, x->len, (int64_t)time(NULL),
	                (unsigned int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000),
	                &r);
	x->fetched++;
}

static void print_revocation(const struct policy *pol, const struct cert_eval *ce, int64_t now,
                             int offline, int fetched)
{
	const struct rev_eval *r = &ce->ocsp;
	char when[64];

	if (!pol || pol->ocsp == OCSP_MODE_OFF || !ce->parsed)
		return;
	switch (r->state) {
	case REV_NONE:
		printf("%-12s ocsp: not looked up (another check decided first)\n", "revocation:");
		return;
	case REV_GOOD:
		printf("%-12s ocsp %s: good (%d checked)\n", "revocation:", r->url[0] ? r->url : "?", r->checked);
		break;
	case REV_REVOKED:
		printf("%-12s ocsp %s: revoked (%s)%s\n", "revocation:", r->url,
		       ocsp_reason_str(r->reason), r->depth ? ", an issuer" : "");
		break;
	case REV_UNKNOWN:
		printf("%-12s ocsp %s: unknown to the responder\n", "revocation:", r->url);
		break;
	case REV_ERROR:
	case REV_STATES:
		printf("%-12s ocsp %s: no valid answer: %s%s\n", "revocation:",
		       r->url[0] ? r->url : "(no responder)", r->err ? r->err : "?",
		       offline ? " (--offline: nothing is fetched, and explain keeps no cache)" : "");
		return;
	}
	if (r->this_update) {
		/* an answer made while this command ran is "0s ago", not negative */
		snprintf(when, sizeof(when), "%llds ago",
		         (long long)(now > r->this_update ? now - r->this_update : 0));
		print_kv("  produced:", when);
	}
	if (r->until && r->until != INT64_MAX) {
		snprintf(when, sizeof(when), "for %llds more (nextUpdate, or ocsp_max_age)",
		         (long long)(r->until - now));
		print_kv("  usable:", when);
	}
	print_kv("  source:", fetched ? "fetched now by this command" : "cache");
}

static unsigned char *to_der(X509 *const *certs, int n, size_t *len)
{
	unsigned char *buf = NULL, *p;
	size_t total = 0;

	for (int i = 0; i < n; i++) {
		int l = i2d_X509(certs[i], NULL);

		if (l <= 0)
			return NULL;
		total += (size_t)l;
	}
	if (!total || !(buf = malloc(total)))
		return NULL;
	p = buf;
	for (int i = 0; i < n; i++)
		i2d_X509(certs[i], &p);
	*len = total;
	return buf;
}

static int read_certs(const char *path, X509 **out, int *n)
{
	char err[512];
	struct stat st;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return EX_NOINPUT;
	}
	*n = cert_read_file(path, out, EXPLAIN_MAX_CERTS, err, sizeof(err));
	if (*n <= 0) {
		fprintf(stderr, "%s\n", *n < 0 ? err : "no certificate found");
		return EX_DATAERR;
	}
	return 0;
}

/* Where the ssl_c_verify value explain used came from. */
enum hv_source { HV_NOT_USED = 0, HV_GIVEN, HV_COMPUTED, HV_ASSUMED };
struct hv {
	enum hv_source source;
	const char *ca;          /* HV_COMPUTED: the CA file */
};

static const char *const hv_words[] = {
	[HV_NOT_USED] = "not used", [HV_GIVEN] = "given", [HV_COMPUTED] = "computed",
	[HV_ASSUMED] = "assumed",
};

/* One decision with a fresh trace. */
static const struct policy *explain_decide(struct decide_ctx *dc, struct req_facts *rq, int64_t now,
                                           struct trace *t, struct cert_eval *ce,
                                           struct decision *d, const char **route)
{
	memset(t, 0, sizeof(*t));
	t->on = 1;
	*route = NULL;
	return decide_request(dc, rq, now, t, ce, d, route);
}

static void print_text(struct trace *t, const struct req_facts *rq, const char *route,
                       const struct policy *pol, const struct decision *d,
                       const struct cert_eval *ce, const struct hv *hv)
{
	char buf[512];

	printf("checks:\n");
	for (char *p = t->buf, *q; p && *p; p = q) {
		q = strstr(p, "; ");
		if (q) {
			*q = 0;
			q += 2;
		}
		printf("  %s\n", p);
	}
	if (rq->has_route_path) {
		/* the path the routes compared, handed to HAProxy as the path
		 * variable when it differs from --path */
		printf("%-12s %.*s%s\n", "path:", (int)rq->route_path.len, rq->route_path.ptr,
		       rq->path_changed ? " (normalized)" : "");
	}
	print_kv("route:", route);
	print_kv("policy:", pol ? pol->name : NULL);
	print_kv("verdict:", d->code == DEC_ALLOW ? "allow" : "deny");
	snprintf(buf, sizeof(buf), "%d", d->status);
	print_kv("status:", buf);
	print_kv("code:", dec_table[d->code].code);
	print_kv("reason:", dec_table[d->code].reason);
	print_kv("rule:", d->rule);
	print_kv("detail:", d->detail);
	if (d->shadowed) {
		print_kv("would_deny:", dec_table[d->would_code].code);
		print_kv("would_rule:", d->would_rule);
	}
	print_kv("identity:", d->identity);
	print_kv("trust_domain:", d->trust_domain);
	print_kv("client_id:", d->client_id);
	if (ce->parsed) {
		print_kv("subject:", ce->facts->subject);
		print_kv("sha256:", ce->facts->sha256_hex);
	}
	if (d->has_days_left) {
		snprintf(buf, sizeof(buf), "%lld%s", (long long)d->days_left, d->expiring ? " (expiring)" : "");
		print_kv("days_left:", buf);
	}
	if (hv->source == HV_COMPUTED)
		snprintf(buf, sizeof(buf), "%lld, computed as HAProxy would against %s",
		         (long long)rq->verify, hv->ca);
	else if (hv->source == HV_GIVEN)
		snprintf(buf, sizeof(buf), "%lld (--verify)", (long long)rq->verify);
	else if (hv->source == HV_ASSUMED)
		snprintf(buf, sizeof(buf), "%lld ASSUMED: HAProxy's verification result is not known "
		         "here; give --haproxy-ca FILE (the bind line's ca-file) or --verify N",
		         (long long)rq->verify);
	if (hv->source != HV_NOT_USED)
		print_kv("ssl_c_verify:", buf);
}

/* ,"key":"value" (null when v is NULL). */
static void json_str(struct sbuf *b, const char *key, const char *v)
{
	sbuf_printf(b, ",\"%s\":", key);
	if (!v) {
		sbuf_puts(b, "null");
		return;
	}
	sbuf_puts(b, "\"");
	sbuf_json(b, v);
	sbuf_puts(b, "\"");
}

static void print_json(const struct trace *t, const struct req_facts *rq, const char *route,
                       const struct policy *pol, const struct decision *d,
                       const struct cert_eval *ce, const struct hv *hv, int64_t now)
{
	struct sbuf b = { 0 };
	char step[TRACE_MAX + 1];
	size_t i = 0;
	int first = 1;

	sbuf_printf(&b, "{\"time\":%lld,\"checks\":[", (long long)now);
	while (i < t->len) {
		const char *q = strstr(t->buf + i, "; ");
		size_t n = q ? (size_t)(q - (t->buf + i)) : t->len - i;

		memcpy(step, t->buf + i, n);
		step[n] = 0;
		sbuf_puts(&b, first ? "\"" : ",\"");
		sbuf_json(&b, step);
		sbuf_puts(&b, "\"");
		first = 0;
		i += n + (q ? 2 : 0);
	}
	sbuf_puts(&b, "]");
	if (rq->has_route_path) {
		memcpy(step, rq->route_path.ptr, rq->route_path.len < TRACE_MAX ? rq->route_path.len : TRACE_MAX);
		step[rq->route_path.len < TRACE_MAX ? rq->route_path.len : TRACE_MAX] = 0;
		json_str(&b, "path", step);
	}
	json_str(&b, "route", route);
	json_str(&b, "policy", pol ? pol->name : NULL);
	json_str(&b, "verdict", d->code == DEC_ALLOW ? "allow" : "deny");
	sbuf_printf(&b, ",\"status\":%d", d->status);
	json_str(&b, "code", dec_table[d->code].code);
	json_str(&b, "reason", dec_table[d->code].reason);
	json_str(&b, "rule", d->rule);
	json_str(&b, "detail", d->detail[0] ? d->detail : NULL);
	json_str(&b, "would_deny", d->shadowed ? dec_table[d->would_code].code : NULL);
	json_str(&b, "would_rule", d->shadowed ? d->would_rule : NULL);
	json_str(&b, "identity", d->identity);
	json_str(&b, "trust_domain", d->trust_domain);
	json_str(&b, "client_id", d->client_id[0] ? d->client_id : NULL);
	json_str(&b, "subject", ce->parsed ? ce->facts->subject : NULL);
	json_str(&b, "sha256", ce->parsed ? ce->facts->sha256_hex : NULL);
	if (d->has_days_left)
		sbuf_printf(&b, ",\"days_left\":%lld,\"expiring\":%s", (long long)d->days_left,
		            d->expiring ? "true" : "false");
	if (hv->source != HV_NOT_USED) {
		sbuf_printf(&b, ",\"ssl_c_verify\":{\"value\":%lld", (long long)rq->verify);
		json_str(&b, "source", hv_words[hv->source]);
		json_str(&b, "ca_file", hv->ca);
		sbuf_puts(&b, "}");
	}
	sbuf_puts(&b, "}\n");
	if (b.failed || !b.p)
		fprintf(stderr, "out of memory\n");
	else
		fputs(b.p, stdout);
	free(b.p);
}

int explain_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'C' }, { "chain", required_argument, NULL, 'c' },
		{ "host", required_argument, NULL, 'H' }, { "path", required_argument, NULL, 'P' },
		{ "sni", required_argument, NULL, 'S' }, { "frontend", required_argument, NULL, 'F' },
		{ "src", required_argument, NULL, 's' }, { "verify", required_argument, NULL, 'v' },
		{ "time", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
		{ "haproxy-ca", required_argument, NULL, 'A' }, { "json", no_argument, NULL, 'j' },
		{ "offline", no_argument, NULL, 'O' },
		{ "token", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cfg_file = NULL, *cert_file = NULL, *chain_file = NULL, *haproxy_ca = NULL;
	struct cert_store *hstore = NULL;
	struct hv hv = { HV_NOT_USED, NULL };
	int verify_given = 0, json = 0;
	struct req_facts rq;
	struct decide_ctx dc;
	struct cert_eval ce;
	struct decision d;
	struct trace t;
	struct config *cfg;
	X509 *certs[EXPLAIN_MAX_CERTS], *chain[EXPLAIN_MAX_CERTS];
	int ncerts = 0, nchain = 0, opt, rc = EX_OK;
	unsigned char *der = NULL, *chain_der = NULL;
	size_t der_len = 0, chain_len = 0;
	int64_t now = (int64_t)time(NULL);
	const char *route = NULL;
	const struct policy *pol;
	char err[1024], *end, *authz = NULL;
	const char *token = NULL;
	static struct explain_ocsp xo;
	struct ocsp_cache oc;
	int offline = 0, oc_on = 0;

	memset(&rq, 0, sizeof(rq));
	rq.has_verify = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': cfg_file = optarg; break;
		case 'C': cert_file = optarg; break;
		case 'c': chain_file = optarg; break;
		case 'H': rq.has_host = 1; rq.host.ptr = optarg; rq.host.len = strlen(optarg); break;
		case 'P': rq.has_path = 1; rq.path.ptr = optarg; rq.path.len = strlen(optarg); break;
		case 'S': rq.has_sni = 1; rq.sni.ptr = optarg; rq.sni.len = strlen(optarg); break;
		case 'F': rq.has_frontend = 1; rq.frontend.ptr = optarg; rq.frontend.len = strlen(optarg); break;
		case 's':
			rq.has_src = 1;
			if (inet_pton(AF_INET, optarg, rq.src.u.ipv4) == 1) {
				rq.src.type = SPOP_DATA_IPV4;
			} else if (inet_pton(AF_INET6, optarg, rq.src.u.ipv6) == 1) {
				rq.src.type = SPOP_DATA_IPV6;
			} else {
				fprintf(stderr, "--src %s: not an IP address\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'A': haproxy_ca = optarg; break;
		case 'j': json = 1; break;
		case 'v':
			verify_given = 1;
			errno = 0;
			rq.verify = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg) {
				fprintf(stderr, "--verify %s: not a number\n", optarg);
				return EX_USAGE;
			}
			break;
		case 't':
			if (parse_time(optarg, &now) < 0) {
				fprintf(stderr, "--time %s: not Unix seconds nor an ISO 8601 date "
				        "(2026-12-05, 2026-12-05T10:00:00Z)\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'O':
			offline = 1;
			break;
		case 'T': token = optarg; break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (!cfg_file || optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!(cfg = cfg_load(cfg_file, err, sizeof(err)))) {
		fprintf(stderr, "%s\n", err);
		return EX_CONFIG;
	}
	if (token) {
		/* one "Authorization: Bearer <token>" header */
		size_t n = strlen(token) + sizeof("Bearer ");

		if (!(authz = malloc(n))) {
			fprintf(stderr, "out of memory\n");
			cfg_free(cfg);
			return EX_OSERR;
		}
		snprintf(authz, n, "Bearer %s", token);
		rq.has_authz = rq.has_authz_count = 1;
		rq.authz.ptr = authz;
		rq.authz.len = n - 1;
		rq.authz_count = 1;
	}
	if (haproxy_ca && !(hstore = cert_store_load(haproxy_ca, err, sizeof(err)))) {
		fprintf(stderr, "--haproxy-ca: %s\n", err);
		free(authz);
		cfg_free(cfg);
		return EX_NOINPUT;
	}
	if (cert_file) {
		if ((rc = read_certs(cert_file, certs, &ncerts)) != 0)
			goto out;
		der = to_der(certs, 1, &der_len);
		if (ncerts > 1)
			chain_der = to_der(certs + 1, ncerts - 1, &chain_len);
	}
	if (chain_file) {
		if ((rc = read_certs(chain_file, chain, &nchain)) != 0)
			goto out;
		free(chain_der);
		chain_der = to_der(chain, nchain, &chain_len);
	}
	if (der) {
		rq.has_present = rq.present = 1;
		rq.has_cert = 1;
		rq.cert.ptr = (const char *)der;
		rq.cert.len = der_len;
	}
	if (chain_der) {
		rq.has_chain = 1;
		rq.chain.ptr = (const char *)chain_der;
		rq.chain.len = chain_len;
	}
	if (decide_init(&dc, cfg, cfg->generation) < 0) {
		fprintf(stderr, "out of memory\n");
		rc = EX_OSERR;
		goto out;
	}
	if (ocsp_cache_init(&oc, 64) < 0) {
		fprintf(stderr, "out of memory\n");
		decide_destroy(&dc);
		rc = EX_OSERR;
		goto out;
	}
	oc_on = 1;
	if (!offline)
		curl_global_init(CURL_GLOBAL_DEFAULT);
	/* offline: no fetch can start, a missing answer is unavailable */
	decide_set_ocsp(&dc, &oc, offline ? NULL : keep_job, &xo);
	pol = explain_decide(&dc, &rq, now, &t, &ce, &d, &route);
	/* under verify = haproxy|both, the agent only sees HAProxy's result:
	 * take it as given, compute it as HAProxy would, or say it is assumed */
	if (der && pol && !rq.forwarded &&
	    (pol->verify == VERIFY_HAPROXY || pol->verify == VERIFY_BOTH)) {
		if (verify_given) {
			hv.source = HV_GIVEN;
		} else if (hstore || pol->store) {
			int depth, v = cert_verify(hstore ? hstore : pol->store, certs[0], chain_der,
			                           chain_der ? chain_len : 0, now, &depth);

			hv.source = HV_COMPUTED;
			hv.ca = hstore ? haproxy_ca : pol->ca_file;
			/* HAProxy reports an X509_V_ERR_* code, never one of ours */
			rq.verify = v >= 0 ? v : X509_V_ERR_UNSPECIFIED;
			if (rq.verify != X509_V_OK)
				pol = explain_decide(&dc, &rq, now, &t, &ce, &d, &route);
		} else {
			hv.source = HV_ASSUMED;
		}
	}
	/* each round fetches what the decision waits for (chain: one per
	 * certificate of the path), then decides again */
	for (int round = 0; ce.ocsp.pending && round < 8; round++) {
		for (int i = 0; i < xo.njobs; i++) {
			fetch_job(&xo, &oc, xo.jobs[i]);
			ocsp_job_free(xo.jobs[i]);
		}
		xo.njobs = 0;
		if (round == 7)
			dc.ocsp_no_wait = 1;
		pol = explain_decide(&dc, &rq, now, &t, &ce, &d, &route);
	}
	if (json) {
		print_json(&t, &rq, route, pol, &d, &ce, &hv, now);
	} else {
		print_text(&t, &rq, route, pol, &d, &ce, &hv);
		print_revocation(pol, &ce, now, offline, xo.fetched);
	}
	if (!json && rq.token)
		print_token(rq.token);
	else if (!json && authz)
		printf("token:       not checked (%s)\n", pol && pol->token == TOKEN_MODE_OFF ?
		       "the policy has token = off" : "the request was refused before");
	rc = d.code == DEC_ALLOW ? 0 : 1;
	decide_destroy(&dc);
out:
	for (int i = 0; i < xo.njobs; i++)
		ocsp_job_free(xo.jobs[i]);
	xo.njobs = 0;
	if (oc_on) {
		ocsp_cache_destroy(&oc);
		if (!offline)
			curl_global_cleanup();
	}
	for (int i = 0; i < ncerts; i++)
		X509_free(certs[i]);
	for (int i = 0; i < nchain; i++)
		X509_free(chain[i]);
	free(der);
	free(chain_der);
	cert_store_free(hstore);
	free(authz);
	cfg_free(cfg);
	return rc;
}
