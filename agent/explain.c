/* certspoa explain -f CONFIG --cert FILE [--chain FILE] [--host H] [--path P]
 *                  [--sni S] [--frontend F] [--src IP] [--verify N] [--time T] */
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

#define EXPLAIN_MAX_CERTS 17

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: certspoa explain -f CONFIG --cert FILE [--chain FILE] [--host H] [--path P]\n"
	        "                        [--sni S] [--frontend F] [--src IP] [--verify N] [--time UNIX]\n"
	        "                        [--offline]\n"
	        "\n"
	        "Runs the policies of CONFIG on the certificate in FILE (PEM, DER or PKCS#12;\n"
	        "extra certificates in FILE count as the chain the client sent) and prints\n"
	        "every check. --verify is HAProxy's ssl_c_verify for verify = haproxy|both\n"
	        "(default 0: HAProxy accepted the chain). For ocsp = leaf|chain the\n"
	        "responders are asked now, one at a time (at most ocsp_timeout each);\n"
	        "--offline asks nobody, so a policy with OCSP says ocsp_unavailable.\n"
	        "Exit: 0 allow, 1 deny.\n");
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

int explain_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'C' }, { "chain", required_argument, NULL, 'c' },
		{ "host", required_argument, NULL, 'H' }, { "path", required_argument, NULL, 'P' },
		{ "sni", required_argument, NULL, 'S' }, { "frontend", required_argument, NULL, 'F' },
		{ "src", required_argument, NULL, 's' }, { "verify", required_argument, NULL, 'v' },
		{ "time", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
		{ "offline", no_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cfg_file = NULL, *cert_file = NULL, *chain_file = NULL;
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
	char err[1024], *end, buf[64];
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
		case 'v':
			errno = 0;
			rq.verify = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg) {
				fprintf(stderr, "--verify %s: not a number\n", optarg);
				return EX_USAGE;
			}
			break;
		case 't':
			errno = 0;
			now = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg) {
				fprintf(stderr, "--time %s: not a unix time\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'O':
			offline = 1;
			break;
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
	memset(&t, 0, sizeof(t));
	t.on = 1;
	pol = decide_request(&dc, &rq, now, &t, &ce, &d, &route);
	/* each round fetches what the decision waits for (chain: one per
	 * certificate of the path), then decides again */
	for (int round = 0; ce.ocsp.pending && round < 8; round++) {
		for (int i = 0; i < xo.njobs; i++) {
			fetch_job(&xo, &oc, xo.jobs[i]);
			ocsp_job_free(xo.jobs[i]);
		}
		xo.njobs = 0;
		memset(&t, 0, sizeof(t));
		t.on = 1;
		if (round == 7)
			dc.ocsp_no_wait = 1;
		pol = decide_request(&dc, &rq, now, &t, &ce, &d, &route);
	}
	printf("checks:\n");
	for (char *p = t.buf, *q; p && *p; p = q) {
		q = strstr(p, "; ");
		if (q) {
			*q = 0;
			q += 2;
		}
		printf("  %s\n", p);
	}
	if (rq.has_route_path) {
		/* the path the routes compared, handed to HAProxy as the path
		 * variable when it differs from --path */
		printf("%-12s %.*s%s\n", "path:", (int)rq.route_path.len, rq.route_path.ptr,
		       rq.path_changed ? " (normalized)" : "");
	}
	print_kv("route:", route);
	print_kv("policy:", pol ? pol->name : NULL);
	print_kv("verdict:", d.code == DEC_ALLOW ? "allow" : "deny");
	snprintf(buf, sizeof(buf), "%d", d.status);
	print_kv("status:", buf);
	print_kv("code:", dec_table[d.code].code);
	print_kv("reason:", dec_table[d.code].reason);
	print_kv("rule:", d.rule);
	print_kv("detail:", d.detail);
	if (d.shadowed) {
		print_kv("would_deny:", dec_table[d.would_code].code);
		print_kv("would_rule:", d.would_rule);
	}
	print_kv("identity:", d.identity);
	if (ce.parsed) {
		print_kv("subject:", ce.facts->subject);
		print_kv("sha256:", ce.facts->sha256_hex);
	}
	if (d.has_days_left) {
		snprintf(buf, sizeof(buf), "%lld%s", (long long)d.days_left, d.expiring ? " (expiring)" : "");
		print_kv("days_left:", buf);
	}
	print_revocation(pol, &ce, now, offline, xo.fetched);
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
	cfg_free(cfg);
	return rc;
}
