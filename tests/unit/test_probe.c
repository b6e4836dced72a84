/* certspoa probe: the diagnosis for each shape of facts (exact sentence
 * parts and exit status), the JSON body reader, and the agent detail the
 * probe relies on to tell "TLS ended before HAProxy" apart. */
#include <stdio.h>
#include <string.h>

#include <openssl/x509_vfy.h>

#include "probe.h"
#include "rules.h"
#include "testhelp.h"

static void done(struct probe_facts *f, int status, const char *code, const char *rule,
                 const char *detail)
{
	memset(f, 0, sizeof(*f));
	f->stage = PROBE_ST_DONE;
	f->status = status;
	snprintf(f->code, sizeof(f->code), "%s", code);
	snprintf(f->rule, sizeof(f->rule), "%s", rule);
	snprintf(f->detail, sizeof(f->detail), "%s", detail);
	snprintf(f->client_issuer, sizeof(f->client_issuer), "CN=root");
	f->cert_requested = 1;
	f->nca_names = 1;
	f->ca_match = 1;
	f->cert_sent = 1;
}

static enum probe_diag_id diag(const struct probe_facts *f, char *out, size_t len)
{
	enum probe_diag_id id = probe_diagnose(f, out, len);

	return id;
}

TEST(probe_diag_table_complete)
{
	for (int i = 0; i < PD_COUNT; i++) {
		CHECK(probe_diag_table[i].name != NULL);
		CHECK(probe_diag_table[i].exit_code >= 0 && probe_diag_table[i].exit_code <= 2);
	}
	CHECK_EQ_STR(probe_diag_table[PD_ALLOWED].name, "allowed");
	CHECK_EQ_INT(probe_diag_table[PD_DENIED].exit_code, 1);
	CHECK_EQ_INT(probe_diag_table[PD_AGENT_DOWN].exit_code, 2);
}

TEST(probe_diag_before_http)
{
	struct probe_facts f;
	char s[PROBE_SENTENCE_MAX];

	memset(&f, 0, sizeof(f));
	f.stage = PROBE_ST_TCP;
	snprintf(f.error, sizeof(f.error), "127.0.0.1:1: Connection refused");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_CONNECT);
	CHECK_EQ_STR(s, "cannot connect to the server: 127.0.0.1:1: Connection refused");

	/* TLS 1.3: the alert arrives after the handshake, while reading */
	f.stage = PROBE_ST_HTTP;
	f.alert = 1;
	f.alert_code = 45;
	f.cert_sent = 1;
	snprintf(f.alert_desc, sizeof(f.alert_desc), "certificate expired");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_TLS_ALERT_CERT);
	CHECK_EQ_STR(s, "the server requires a certificate and rejected yours with a TLS alert: "
	             "certificate expired; use verify optional + crt-ignore-err all "
	             "ca-ignore-err all to get a 403 that says why");
	CHECK_EQ_INT(probe_diag_table[PD_TLS_ALERT_CERT].exit_code, 2);

	/* an alert that is not about the certificate: a TLS failure */
	f.stage = PROBE_ST_TLS;
	f.alert_code = 40;
	snprintf(f.error, sizeof(f.error), "the server sent a TLS alert: handshake failure");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_TLS_FAILED);

	f.alert = 0;
	f.stage = PROBE_ST_HTTP;
	snprintf(f.error, sizeof(f.error), "no answer within 10 s");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_NO_HTTP);
}

TEST(probe_diag_cert_missing_hops)
{
	struct probe_facts f;
	char s[PROBE_SENTENCE_MAX];

	/* no CertificateRequest, HAProxy's own TLS: the bind line */
	done(&f, 403, "cert_missing", "require_cert", "no client certificate was presented");
	f.cert_requested = f.cert_sent = 0;
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_NEVER_ASKED_BIND);
	CHECK(strstr(s, "HAProxy's bind line has no verify") != NULL);

	/* no CertificateRequest, and HAProxy's connection was plain */
	snprintf(f.detail, sizeof(f.detail),
	         "no client certificate was presented (HAProxy's connection was not TLS)");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_NEVER_ASKED_PROXY);
	CHECK_EQ_STR(s, "the server never asked for a certificate: something in front of HAProxy "
	             "terminates TLS; configure that proxy to forward the certificate (RFC 9440) "
	             "and use certspoa's [forwarded]");

	/* asked, sent, and certspoa saw none: not the TLS server we spoke to */
	done(&f, 403, "cert_missing", "require_cert", "no client certificate was presented");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_DROPPED_BY_PROXY);
	CHECK(strncmp(s, "you sent a certificate but certspoa got none: a proxy in front", 62) == 0);

	/* asked, sent, HAProxy had it but the SPOE message lacks cert= */
	snprintf(f.detail, sizeof(f.detail),
	         "a certificate was used but the 'cert' argument (ssl_c_der) was not sent");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_SENT_NOT_PASSED);
}

TEST(probe_diag_denials)
{
	struct probe_facts f;
	char s[PROBE_SENTENCE_MAX];

	done(&f, 403, "cert_untrusted", "allow_thumbprints", "thumbprint is not on the trusted list");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_DENIED);
	CHECK_EQ_STR(s, "certspoa denied: cert_untrusted / allow_thumbprints: thumbprint is not "
	             "on the trusted list");

	done(&f, 403, "cert_unverified", "cert_expired", "certificate has expired (10)");
	f.client_not_after = 86400;
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_EXPIRED);
	CHECK_EQ_STR(s, "certspoa denied: cert_unverified / cert_expired: your certificate expired "
	             "on 1970-01-02T00:00:00Z; renew it");

	done(&f, 403, "cert_unverified", "cert_unknown_ca", "unable to get local issuer certificate (20)");
	f.ca_match = 0;
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_ISSUER_NOT_LISTED);
	CHECK(strstr(s, "add \"CN=root\" to HAProxy's ca-file (certspoa denied: cert_unverified / "
	             "cert_unknown_ca)") != NULL);

	/* no rule: "code" alone */
	done(&f, 403, "cert_untrusted", "", "");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_DENIED);
	CHECK_EQ_STR(s, "certspoa denied: cert_untrusted");

	done(&f, 503, "agent_unavailable", "", "no verdict from certspoa (spoe error 2)");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_AGENT_DOWN);
	CHECK(strncmp(s, "HAProxy answered 503 agent_unavailable (no verdict from certspoa "
	              "(spoe error 2)): the agent is down", 86) == 0);

	done(&f, 404, "", "", "");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_REFUSED_OTHER);
	CHECK_EQ_INT(probe_diag_table[PD_REFUSED_OTHER].exit_code, 1);
}

TEST(probe_diag_allowed)
{
	struct probe_facts f;
	char s[PROBE_SENTENCE_MAX];

	done(&f, 200, "", "", "");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_ALLOWED);
	CHECK_EQ_STR(s, "allowed: the server answered 200");

	snprintf(f.trace, sizeof(f.trace), "route=default; forwarded=pass; parse=pass(CN=a); verdict=allow");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_ALLOWED_FORWARDED);

	/* a trace that forwarded but denied is no forwarded allow */
	snprintf(f.trace, sizeof(f.trace), "forwarded=pass; verdict=deny");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_ALLOWED);

	done(&f, 200, "", "", "");
	f.ca_match = 0;
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_ALLOWED_CA_WARN);
	CHECK_EQ_INT(probe_diag_table[PD_ALLOWED_CA_WARN].exit_code, 0);

	/* no CA names at all: nothing to match against, no warning */
	f.nca_names = 0;
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_ALLOWED);
}

TEST(probe_diag_small_buffer)
{
	struct probe_facts f;
	char s[8];

	done(&f, 403, "cert_untrusted", "allow_thumbprints", "thumbprint is not on the trusted list");
	CHECK_EQ_INT(diag(&f, s, sizeof(s)), PD_DENIED);
	CHECK_EQ_INT((int)strlen(s), 7);
}

TEST(probe_json_body)
{
	const char *b = "{\"status\":403,\"code\":\"cert_untrusted\",\"reason\":\"a \\\"q\\\" \\u00e9\","
	                "\"rule\":\"allow_thumbprints\",\"detail\":\"x\\ny\",\"ok\":true,\"n\":null}";
	char out[64];

	CHECK_EQ_INT(probe_json_str(b, strlen(b), "code", out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "cert_untrusted");
	CHECK_EQ_INT(probe_json_str(b, strlen(b), "reason", out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "a \"q\" \xc3\xa9");
	CHECK_EQ_INT(probe_json_str(b, strlen(b), "detail", out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "x\ny");
	/* a number is not a string; an absent key; a prefix of a key */
	CHECK_EQ_INT(probe_json_str(b, strlen(b), "status", out, sizeof(out)), -1);
	CHECK_EQ_INT(probe_json_str(b, strlen(b), "missing", out, sizeof(out)), -1);
	CHECK_EQ_INT(probe_json_str(b, strlen(b), "cod", out, sizeof(out)), -1);
	/* a value that looks like a key does not count */
	b = "{\"a\":\"code\",\"b\":\"x\"}";
	CHECK_EQ_INT(probe_json_str(b, strlen(b), "code", out, sizeof(out)), -1);
	/* cut to fit */
	b = "{\"code\":\"0123456789\"}";
	CHECK_EQ_INT(probe_json_str(b, strlen(b), "code", out, 5), 0);
	CHECK_EQ_STR(out, "0123");
}

TEST(probe_json_malformed)
{
	static const char *const bad[] = {
		"", "{", "{\"code\"", "{\"code\":", "{\"code\":\"abc", "{\"code\":\"a\\", "{\"code\":\"\\u12\"}",
		"{\"code\":\"\\q\"}", "{\"code\":[1]}", "{\"code\":{}}", "[\"code\"]", "{\"code\":\"a\"x",
		"{\"code\":\"a\x01\"}", "backend saw:\nclient-cert-count: 1\n",
	};
	char out[32];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(probe_json_str(bad[i], strlen(bad[i]), "code", out, sizeof(out)), -1);
	/* length is respected: the closing quote lies beyond it */
	CHECK_EQ_INT(probe_json_str("{\"code\":\"ab\"}", 11, "code", out, sizeof(out)), -1);
}

/* The detail probe reads to tell a plain connection to HAProxy (TLS ended
 * in front of it: ssl_c_used absent) from HAProxy's own TLS without a
 * certificate (ssl_c_used false). */
TEST(probe_rules_cert_missing_not_tls)
{
	struct policy p;
	struct req_facts rq;
	struct decision d;

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "default");
	p.require_cert = 1;
	p.verify = VERIFY_HAPROXY;
	p.deny_status = 403;
	memset(&rq, 0, sizeof(rq));

	rules_decide(&p, &rq, NULL, 0, NULL, &d);
	CHECK_EQ_INT(d.code, DEC_CERT_MISSING);
	CHECK_EQ_STR(d.detail, "no client certificate was presented (HAProxy's connection was not TLS)");

	rq.has_present = 1;
	rq.present = 0;
	rules_decide(&p, &rq, NULL, 0, NULL, &d);
	CHECK_EQ_STR(d.detail, "no client certificate was presented");

	/* a trusted proxy's request whose header was empty is not "plain" */
	rq.has_present = 0;
	rq.forwarded = 1;
	rules_decide(&p, &rq, NULL, 0, NULL, &d);
	CHECK_EQ_STR(d.detail, "no client certificate was presented");
}

/* ---- the HTTP answer parser ---- */

static int parse_str(const char *s, struct probe_http *a)
{
	return probe_http_parse(s, strlen(s), a);
}

TEST(probe_http_denial)
{
	const char *r = "HTTP/1.1 403 Forbidden\r\ncontent-length: 27\r\nX-Certspoa-Code: cert_untrusted\r\n"
	                "x-certspoa-rule:allow_thumbprints  \r\nX-Other: 1\r\n\r\n{\"code\":\"cert_untrusted\"}\r\nGARBAGE";
	struct probe_http a;

	CHECK_EQ_INT(parse_str(r, &a), 0);
	CHECK_EQ_INT(a.status, 403);
	CHECK_EQ_INT(a.nhdrs, 2);
	CHECK_EQ_STR(a.hdrs[0].name, "x-certspoa-code");
	CHECK_EQ_STR(probe_http_hdr(&a, "x-certspoa-code"), "cert_untrusted");
	CHECK_EQ_STR(probe_http_hdr(&a, "x-certspoa-rule"), "allow_thumbprints");
	CHECK(probe_http_hdr(&a, "x-other") == NULL);
	/* Content-Length cuts what follows */
	CHECK_EQ_INT((int)a.body_len, 27);
	CHECK_EQ_STR(a.body, "{\"code\":\"cert_untrusted\"}\r\n");
	probe_http_free(&a);
	CHECK(probe_http_complete(r, strlen(r)));
	CHECK(!probe_http_complete(r, 60));
	CHECK_EQ_INT((int)probe_http_content_length(r, strlen(r)), 27);
}

TEST(probe_http_chunked)
{
	const char *r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	                "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
	struct probe_http a;

	CHECK_EQ_INT(parse_str(r, &a), 0);
	CHECK_EQ_INT((int)a.body_len, 12);
	CHECK_EQ_STR(a.body, "hello, world");
	probe_http_free(&a);
	/* a chunk size larger than what arrived: what was decoded so far */
	r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nffff\r\nxy";
	CHECK_EQ_INT(parse_str(r, &a), 0);
	CHECK_EQ_STR(a.body, "abc");
	probe_http_free(&a);
	/* an absurd size is no size */
	r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nabc";
	CHECK_EQ_INT(parse_str(r, &a), 0);
	CHECK_EQ_INT((int)a.body_len, 0);
	probe_http_free(&a);
}

TEST(probe_http_bad)
{
	static const char *const bad[] = {
		"", "HTTP/1.1 200 OK\r\n", "HTTP/2 200\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 +20 OK\r\n\r\n",
		"HTTP/1.1 099 OK\r\n\r\n", "SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.9 200 OK\r\n\r\n",
		"HTTP/1.1 200OK\r\n\r\n",
	};
	struct probe_http a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ_INT(parse_str(bad[i], &a), -1);
		CHECK(a.error != NULL);
		probe_http_free(&a);
	}
	/* Content-Length that is not a number, or too long a number */
	CHECK_EQ_INT((int)probe_http_content_length("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", 38), -1);
	CHECK_EQ_INT((int)probe_http_content_length(
	    "HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456\r\n\r\n", 52), -1);
	CHECK(!probe_http_complete("HTTP/1.1 200 OK\r\n\r\n", 19));   /* no length: read to close */
}

TEST(probe_http_many_headers)
{
	char r[8192], big[3000];
	struct probe_http a;
	size_t n;

	n = (size_t)snprintf(r, sizeof(r), "HTTP/1.1 403 x\r\n");
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(r + n, sizeof(r) - n, "X-Certspoa-H%d: %d\r\n", i, i);
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n += (size_t)snprintf(r + n, sizeof(r) - n, "X-Certspoa-Trace: %s\r\n\r\n", big);
	CHECK(n < sizeof(r));
	CHECK_EQ_INT(probe_http_parse(r, n, &a), 0);
	CHECK_EQ_INT(a.nhdrs, PROBE_MAX_HDRS);
	probe_http_free(&a);

	n = (size_t)snprintf(r, sizeof(r), "HTTP/1.1 403 x\r\nX-Certspoa-Trace: %s\r\n\r\n", big);
	CHECK_EQ_INT(probe_http_parse(r, n, &a), 0);
	CHECK_EQ_INT((int)strlen(probe_http_hdr(&a, "x-certspoa-trace")), PROBE_HDR_MAX - 1);
	CHECK(a.hdrs[0].cut);
	probe_http_free(&a);
}

/* Mutations of real answers: never a crash or an out-of-bounds read (the
 * sanitizer build of the unit tests checks the latter), a body always
 * within what was given. */
TEST(probe_http_mutations)
{
	static const char *const seeds[] = {
		"HTTP/1.1 403 Forbidden\r\nContent-Length: 40\r\nX-Certspoa-Code: cert_missing\r\n\r\n"
		"{\"code\":\"cert_missing\",\"detail\":\"x\\u00e9\"}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	};
	char buf[256], out[64];
	unsigned int seed = 12345;
	struct probe_http a;

	for (int round = 0; round < 20000; round++) {
		const char *s = seeds[round % 2];
		size_t n = strlen(s), k;

		if (n > sizeof(buf))
			n = sizeof(buf);
		memcpy(buf, s, n);
		for (int m = 0; m < 4; m++) {
			seed = seed * 1103515245U + 12345U;
			k = (seed >> 8) % n;
			buf[k] = (char)(seed >> 16);
		}
		seed = seed * 1103515245U + 12345U;
		n -= (seed >> 8) % 8;          /* and cut the end off */
		if (probe_http_parse(buf, n, &a) == 0) {
			CHECK(a.body_len <= n);
			CHECK(a.status >= 100 && a.status <= 999);
			probe_json_str(a.body, a.body_len, "code", out, sizeof(out));
		}
		probe_http_free(&a);
		(void)probe_http_complete(buf, n);
		probe_json_str(buf, n, "code", out, sizeof(out));
	}
}
