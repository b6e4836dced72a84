/* certspoa explain -f CONFIG --cert FILE [--chain FILE] [--host H] [--path P]
 *                  [--sni S] [--frontend F] [--src IP] [--verify N] [--time T]
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

#include <openssl/x509.h>

#include "cert.h"
#include "cfg.h"
#include "decide.h"
#include "explain.h"
#include "rules.h"
#include "token.h"

#define EXPLAIN_MAX_CERTS 17

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: certspoa explain -f CONFIG --cert FILE [--chain FILE] [--host H] [--path P]\n"
	        "                        [--sni S] [--frontend F] [--src IP] [--verify N] [--time UNIX]\n"
	        "                        [--token JWT]\n"
	        "\n"
	        "Runs the policies of CONFIG on the certificate in FILE (PEM, DER or PKCS#12;\n"
	        "extra certificates in FILE count as the chain the client sent) and prints\n"
	        "every check. --verify is HAProxy's ssl_c_verify for verify = haproxy|both\n"
	        "(default 0: HAProxy accepted the chain). --token is a bearer token (JWT), sent\n"
	        "as one 'Authorization: Bearer JWT' header; with token = bound|required every\n"
	        "step of its check is printed. Exit: 0 allow, 1 deny.\n");
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

static void print_kv(const char *k, const char *v)
{
	if (v && *v)
		printf("%-12s %s\n", k, v);
}

int explain_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'C' }, { "chain", required_argument, NULL, 'c' },
		{ "host", required_argument, NULL, 'H' }, { "path", required_argument, NULL, 'P' },
		{ "sni", required_argument, NULL, 'S' }, { "frontend", required_argument, NULL, 'F' },
		{ "src", required_argument, NULL, 's' }, { "verify", required_argument, NULL, 'v' },
		{ "time", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
		{ "token", required_argument, NULL, 'T' },
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
	char err[1024], *end, buf[64], *authz = NULL;

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
		case 'T':
			free(authz);
			if (!(authz = malloc(strlen(optarg) + 8))) {
				fprintf(stderr, "out of memory\n");
				return EX_OSERR;
			}
			snprintf(authz, strlen(optarg) + 8, "Bearer %s", optarg);
			rq.has_authz = rq.has_authz_count = 1;
			rq.authz.ptr = authz;
			rq.authz.len = strlen(authz);
			rq.authz_count = 1;
			break;
		case 'h':
			free(authz);
			usage(stdout);
			return EX_OK;
		default:
			free(authz);
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (!cfg_file || optind != argc) {
		free(authz);
		usage(stderr);
		return EX_USAGE;
	}
	if (!(cfg = cfg_load(cfg_file, err, sizeof(err)))) {
		free(authz);
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
	memset(&t, 0, sizeof(t));
	t.on = 1;
	pol = decide_request(&dc, &rq, now, &t, &ce, &d, &route);
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
	print_kv("trust_domain:", d.trust_domain);
	print_kv("client_id:", d.client_id);
	if (ce.parsed) {
		print_kv("subject:", ce.facts->subject);
		print_kv("sha256:", ce.facts->sha256_hex);
	}
	if (d.has_days_left) {
		snprintf(buf, sizeof(buf), "%lld%s", (long long)d.days_left, d.expiring ? " (expiring)" : "");
		print_kv("days_left:", buf);
	}
	if (rq.token)
		print_token(rq.token);
	else if (authz)
		printf("token:       not checked (%s)\n", pol && pol->token == TOKEN_MODE_OFF ?
		       "the policy has token = off" : "the request was refused before");
	rc = d.code == DEC_ALLOW ? 0 : 1;
	decide_destroy(&dc);
out:
	for (int i = 0; i < ncerts; i++)
		X509_free(certs[i]);
	for (int i = 0; i < nchain; i++)
		X509_free(chain[i]);
	free(der);
	free(chain_der);
	free(authz);
	cfg_free(cfg);
	return rc;
}
