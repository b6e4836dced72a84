/* Client-certificate decision: presence, verification, thumbprint.
 * Pure: no I/O, no clock; the order of checks is the order of the codes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509_vfy.h>

#include "cert.h"
#include "rules.h"
#include "tplist.h"

const struct dec_info dec_table[DEC_CODES] = {
	[DEC_ALLOW]           = { "ok",              "Client certificate accepted" },
	[DEC_CERT_MISSING]    = { "cert_missing",    "Client certificate required" },
	[DEC_CERT_UNVERIFIED] = { "cert_unverified", "Client certificate cannot be verified" },
	[DEC_CERT_UNTRUSTED]  = { "cert_untrusted",  "Client certificate is untrusted or invalid" },
	[DEC_BAD_REQUEST]     = { "bad_request",     "Malformed certificate check request" },
	[DEC_INTERNAL]        = { "internal_error",  "Client certificate check failed" },
};

static void deny(const struct policy *pol, struct decision *d, enum dec_code code,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void deny(const struct policy *pol, struct decision *d, enum dec_code code,
                 const char *fmt, ...)
{
	va_list ap;

	d->code = code;
	d->status = pol ? pol->deny_status : 403;
	va_start(ap, fmt);
	vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
	va_end(ap);
}

void rules_decide(const struct policy *pol, const struct req_facts *rq,
                  const struct cert_eval *ce, struct decision *d)
{
	d->code = DEC_INTERNAL;
	d->status = 403;
	d->detail[0] = 0;

	if (!pol) {
		deny(pol, d, DEC_INTERNAL, "no policy");
		return;
	}
	if (rq->bad_arg) {
		deny(pol, d, DEC_BAD_REQUEST, "argument '%s' has the wrong type", rq->bad_arg);
		return;
	}

	/* 1. presence */
	if (!rq->has_cert || rq->cert.len == 0) {
		if (pol->require_cert) {
			if (rq->has_present && rq->present)
				deny(pol, d, DEC_CERT_MISSING, "a certificate was used but the 'cert' argument (ssl_c_der) was not sent");
			else
				deny(pol, d, DEC_CERT_MISSING, "no client certificate was presented");
			return;
		}
		d->code = DEC_ALLOW;
		d->status = 200;
		snprintf(d->detail, sizeof(d->detail), "no client certificate (optional)");
		return;
	}
	if (!ce || !ce->parsed) {
		deny(pol, d, DEC_CERT_UNVERIFIED, "certificate is not valid DER");
		return;
	}

	/* 2. verification */
	if (pol->verify == VERIFY_HAPROXY || pol->verify == VERIFY_BOTH) {
		if (!rq->has_verify) {
			deny(pol, d, DEC_CERT_UNVERIFIED, "the 'verify' argument (ssl_c_verify) was not sent");
			return;
		}
		if (rq->verify != X509_V_OK) {
			deny(pol, d, DEC_CERT_UNVERIFIED, "%s (%lld)",
			     rq->verify >= 0 && rq->verify <= 0x7fffffff ?
			         cert_verify_str((int)rq->verify) : "invalid verify result",
			     (long long)rq->verify);
			return;
		}
	}
	if (pol->verify == VERIFY_AGENT || pol->verify == VERIFY_BOTH) {
		if (!ce->agent_checked) {
			deny(pol, d, DEC_INTERNAL, "agent verification did not run");
			return;
		}
		if (ce->agent_verify != X509_V_OK) {
			deny(pol, d, DEC_CERT_UNVERIFIED, "%s (%d)",
			     cert_verify_str(ce->agent_verify), ce->agent_verify);
			return;
		}
	}

	/* 3. thumbprint */
	if (pol->thumbprints &&
	    !tplist_has(pol->thumbprints, ce->facts->sha1, ce->facts->sha256)) {
		deny(pol, d, DEC_CERT_UNTRUSTED, "thumbprint is not on the trusted list");
		return;
	}

	d->code = DEC_ALLOW;
	d->status = 200;
}
