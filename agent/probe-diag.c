/* certspoa probe: the diagnosis, and the small JSON reader for certspoa's
 * 403 bodies. Pure: no sockets, no files, no clock. What the probe saw is
 * in struct probe_facts; the first broken hop decides, in path order:
 * TCP, TLS (an alert about the certificate), HTTP, then what certspoa said
 * and what that means given what the TLS handshake showed. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "probe.h"
#include "strutil.h"

#define PROBE_DIAG_INFO(id, dname, rc) [id] = { dname, rc },
const struct probe_diag_info probe_diag_table[PD_COUNT] = {
	PROBE_DIAGS(PROBE_DIAG_INFO)
};
#undef PROBE_DIAG_INFO

/* The agent's detail for cert_missing when HAProxy's own connection was
 * not TLS (ssl_c_used absent; agent/rules.c). */
#define PROBE_NOT_TLS_MARK "connection was not TLS"
/* ... and when HAProxy had one but did not send ssl_c_der */
#define PROBE_NO_CERT_ARG_MARK "'cert' argument"

/* The advice for a TLS alert about the certificate; the issue's words. */
#define PROBE_VERIFY_ADVICE \
	"use verify optional + crt-ignore-err all ca-ignore-err all to get a 403 that says why"

#define PROBE_FORWARD_ADVICE \
	"configure that proxy to forward the certificate (RFC 9440) and use certspoa's [forwarded]"

static void put(char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void put(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	if (outlen == 0)
		return;
	va_start(ap, fmt);
	if (vsnprintf(out, outlen, fmt, ap) < 0)
		out[0] = '\0';
	va_end(ap);
}

/* TLS AlertDescription values a server sends about a client certificate
 * (RFC 8446 6.2): bad_certificate .. access_denied, certificate_required. */
static int alert_is_about_cert(int code)
{
	switch (code) {
	case 42: case 43: case 44: case 45: case 46: case 48: case 49: case 116:
		return 1;
	default:
		return 0;
	}
}

static int is(const char *s, const char *want)
{
	return strcmp(s, want) == 0;
}

static void date_of(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
}

/* "code / rule", or "code" alone */
static void code_rule(const struct probe_facts *f, char *buf, size_t len)
{
	if (f->rule[0])
		snprintf(buf, len, "%s / %s", f->code, f->rule);
	else
		snprintf(buf, len, "%s", f->code);
}

enum probe_diag_id probe_diagnose(const struct probe_facts *f, char *out, size_t outlen)
{
	char cr[160], when[40];
	int names_miss = f->cert_requested && f->nca_names > 0 && !f->ca_match;

	/* 1. the path broke before any HTTP answer */
	if (f->stage == PROBE_ST_TCP || f->stage == PROBE_ST_ARGS) {
		put(out, outlen, "cannot connect to the server: %s", f->error);
		return PD_CONNECT;
	}
	if (f->alert && alert_is_about_cert(f->alert_code)) {
		if (f->cert_sent)
			put(out, outlen, "the server requires a certificate and rejected yours with a TLS "
			    "alert: %s; " PROBE_VERIFY_ADVICE, f->alert_desc);
		else
			put(out, outlen, "the server requires a certificate and none was sent; it ended "
			    "the connection with a TLS alert: %s; " PROBE_VERIFY_ADVICE, f->alert_desc);
		return PD_TLS_ALERT_CERT;
	}
	if (f->stage == PROBE_ST_TLS) {
		put(out, outlen, "the TLS handshake failed: %s", f->error);
		return PD_TLS_FAILED;
	}
	if (f->stage == PROBE_ST_HTTP || f->status == 0) {
		put(out, outlen, "TLS worked but no HTTP answer came back: %s",
		    f->error[0] ? f->error : "no status line");
		return PD_NO_HTTP;
	}

	/* 2. an answer without a verdict from certspoa */
	if (is(f->code, "agent_unavailable")) {
		put(out, outlen, "HAProxy answered %d agent_unavailable (%s): the agent is down, too "
		    "slow or unreachable; start it and check that HAProxy's certspoa-agents backend is UP",
		    f->status, f->detail[0] ? f->detail : "no detail");
		return PD_AGENT_DOWN;
	}
	if (!f->code[0] || is(f->code, "ok")) {
		if (f->status >= 400) {
			put(out, outlen, "the server answered %d without an X-Certspoa-Code header: "
			    "something other than certspoa refused the request (HAProxy itself, a proxy "
			    "in front of it, or the application)", f->status);
			return PD_REFUSED_OTHER;
		}
		if (names_miss) {
			put(out, outlen, "allowed, but your certificate's issuer is not among the server's "
			    "acceptable CAs: HAProxy's ca-file lacks \"%s\", and clients that choose a "
			    "certificate by that list (browsers, Java, .NET) will send none; add it to the "
			    "bind line's ca-file", f->client_issuer);
			return PD_ALLOWED_CA_WARN;
		}
		if (strstr(f->trace, "forwarded=pass") && strstr(f->trace, "verdict=allow")) {
			put(out, outlen, "allowed: certspoa accepted the certificate that the proxy in front "
			    "of HAProxy forwarded (RFC 9440, [forwarded])");
			return PD_ALLOWED_FORWARDED;
		}
		put(out, outlen, "allowed: the server answered %d%s", f->status,
		    strstr(f->trace, "verdict=allow") ? " and certspoa's trace says verdict=allow" : "");
		return PD_ALLOWED;
	}

	/* 3. certspoa denied: what the handshake says about why */
	code_rule(f, cr, sizeof(cr));
	if (is(f->code, "cert_missing")) {
		int not_tls = strstr(f->detail, PROBE_NOT_TLS_MARK) != NULL;

		if (!f->cert_requested && not_tls) {
			put(out, outlen, "the server never asked for a certificate: something in front of "
			    "HAProxy terminates TLS; " PROBE_FORWARD_ADVICE);
			return PD_NEVER_ASKED_PROXY;
		}
		if (!f->cert_requested) {
			put(out, outlen, "the server never asked for a certificate: HAProxy's bind line has "
			    "no verify; add \"verify optional crt-ignore-err all ca-ignore-err all ca-file "
			    "<your CA>\" to it (if a proxy in front of HAProxy terminates TLS, configure that "
			    "proxy to forward the certificate instead)");
			return PD_NEVER_ASKED_BIND;
		}
		if (f->cert_sent && strstr(f->detail, PROBE_NO_CERT_ARG_MARK)) {
			put(out, outlen, "you sent a certificate and HAProxy received it, but did not pass it "
			    "to certspoa: add cert=ssl_c_der to the check-client-cert arguments in the SPOE file");
			return PD_SENT_NOT_PASSED;
		}
		if (f->cert_sent) {
			/* the TLS server that took it is not the HAProxy that
			 * asked certspoa: that one saw no certificate */
			put(out, outlen, "you sent a certificate but certspoa got none: a proxy in front of "
			    "HAProxy terminates TLS and drops it; " PROBE_FORWARD_ADVICE);
			return PD_DROPPED_BY_PROXY;
		}
	}
	if (names_miss && is(f->code, "cert_unverified")) {
		put(out, outlen, "your certificate's issuer is not among the server's acceptable CAs: use "
		    "a certificate from one of them, or add \"%s\" to HAProxy's ca-file (certspoa "
		    "denied: %s)", f->client_issuer, cr);
		return PD_ISSUER_NOT_LISTED;
	}
	if (is(f->rule, "cert_expired") || (f->client_expired && is(f->code, "cert_unverified"))) {
		date_of(f->client_not_after, when, sizeof(when));
		put(out, outlen, "certspoa denied: %s: your certificate expired on %s; renew it", cr, when);
		return PD_EXPIRED;
	}
	if (f->detail[0])
		put(out, outlen, "certspoa denied: %s: %s", cr, f->detail);
	else
		put(out, outlen, "certspoa denied: %s", cr);
	return PD_DENIED;
}

/* ---- a flat JSON object reader ---- */

static void skip_ws(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\r' || **p == '\n'))
		(*p)++;
}

/* A JSON string at *p (on its opening quote); unescaped into out (may be
 * NULL), cut to fit. Advances past the closing quote. 0 or -1. */
static int json_string(const char **p, const char *end, char *out, size_t outlen, size_t *outn)
{
	const char *s = *p;
	size_t n = 0;
	unsigned int u;
	char tmp[4];
	size_t tn, i;

	if (s >= end || *s != '"')
		return -1;
	s++;
	while (s < end && *s != '"') {
		tn = 0;
		if ((unsigned char)*s < 0x20)
			return -1;
		if (*s != '\\') {
			tmp[tn++] = *s++;
		} else {
			if (++s >= end)
				return -1;
			switch (*s) {
			case '"': case '\\': case '/': tmp[tn++] = *s; break;
			case 'b': tmp[tn++] = '\b'; break;
			case 'f': tmp[tn++] = '\f'; break;
			case 'n': tmp[tn++] = '\n'; break;
			case 'r': tmp[tn++] = '\r'; break;
			case 't': tmp[tn++] = '\t'; break;
			case 'u':
				if (end - s < 5)
					return -1;
				u = 0;
				for (i = 1; i <= 4; i++) {
					int h = str_hexval((unsigned char)s[i]);

					if (h < 0)
						return -1;
					u = u << 4 | (unsigned int)h;
				}
				s += 4;
				if (u >= 0xd800 && u <= 0xdfff) {
					tmp[tn++] = '?';    /* surrogates: shown, not decoded */
				} else if (u < 0x80) {
					tmp[tn++] = (char)u;
				} else if (u < 0x800) {
					tmp[tn++] = (char)(0xc0 | u >> 6);
					tmp[tn++] = (char)(0x80 | (u & 0x3f));
				} else {
					tmp[tn++] = (char)(0xe0 | u >> 12);
					tmp[tn++] = (char)(0x80 | ((u >> 6) & 0x3f));
					tmp[tn++] = (char)(0x80 | (u & 0x3f));
				}
				break;
			default:
				return -1;
			}
			s++;
		}
		for (i = 0; i < tn; i++)
			if (out && n + 1 < outlen)
				out[n++] = tmp[i];
	}
	if (s >= end)
		return -1;
	*p = s + 1;
	if (out && outlen)
		out[n] = '\0';
	if (outn)
		*outn = n;
	return 0;
}

/* Skip a scalar value (number, true, false, null). */
static int json_scalar(const char **p, const char *end)
{
	const char *s = *p;

	while (s < end && *s != ',' && *s != '}' && *s != ' ' && *s != '\t' &&
	       *s != '\r' && *s != '\n') {
		if (*s == '{' || *s == '[' || *s == '"')
			return -1;
		s++;
	}
	if (s == *p)
		return -1;
	*p = s;
	return 0;
}

int probe_json_str(const char *body, size_t len, const char *key, char *out, size_t outlen)
{
	const char *p = body, *end = body + len;
	char name[64];
	size_t nlen = 0;
	int found = -1;

	if (outlen)
		out[0] = '\0';
	skip_ws(&p, end);
	if (p >= end || *p++ != '{')
		return -1;
	for (;;) {
		skip_ws(&p, end);
		if (p < end && *p == '}')
			return found;
		if (json_string(&p, end, name, sizeof(name), &nlen) < 0)
			return -1;
		skip_ws(&p, end);
		if (p >= end || *p++ != ':')
			return -1;
		skip_ws(&p, end);
		if (p < end && *p == '"') {
			int want = nlen == strlen(key) && nlen < sizeof(name) - 1 &&
			           memcmp(name, key, nlen) == 0;

			if (json_string(&p, end, want ? out : NULL, outlen, NULL) < 0)
				return -1;
			if (want)
				found = 0;
		} else if (json_scalar(&p, end) < 0) {
			return -1;
		}
		skip_ws(&p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}')
			return found;
		return -1;
	}
}
