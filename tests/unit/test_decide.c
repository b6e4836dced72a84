/* The tables the decision half is built from (spoe_args, ack_vars, the
 * enum name lists), the ASCII helpers, and the decision pipeline run
 * without the SPOP handler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "decide.h"
#include "fwd.h"
#include "handler.h"
#include "lists.h"
#include "rules.h"
#include "spop.h"
#include "strutil.h"
#include "testcfg.h"
#include "testhelp.h"

TEST(strutil_hexval_every_byte)
{
	static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";

	for (int c = 0; c < 256; c++) {
		const char *l = c ? strchr(lower, c) : NULL, *u = c ? strchr(upper, c) : NULL;
		int want = l ? (int)(l - lower) : u ? (int)(u - upper) : -1;

		CHECK_EQ_INT(str_hexval((unsigned char)c), want);
	}
}

TEST(strutil_lower_ascii_only)
{
	/* '@' and '[' sit just outside A..Z; bytes >= 0x80 stay as they are */
	char s[] = "@AZ[az`{\xc3\x89-Mixed", d[sizeof(s)];

	str_lower_n(d, s, sizeof(s));
	CHECK_EQ_STR(d, "@az[az`{\xc3\x89-mixed");
	str_lower(s);
	CHECK_EQ_STR(s, "@az[az`{\xc3\x89-mixed");
	CHECK_EQ_INT(str_lower_c('A'), 'a');
	CHECK_EQ_INT(str_lower_c('Z'), 'z');
	CHECK_EQ_INT(str_lower_c('@'), '@');
}

TEST(decide_spoe_args_table_sane)
{
	for (size_t i = 0; i < spoe_nargs; i++) {
		const struct spoe_arg *a = &spoe_args[i];

		CHECK_EQ_INT(a->len, strlen(a->name));
		CHECK(a->types != 0);
		CHECK(!(a->types & (1U << SPOP_DATA_NULL)));
		CHECK((unsigned int)a->store < SPOE_ARG_STORES);
		CHECK(a->has_off + sizeof(int) <= sizeof(struct req_facts));
		CHECK(a->val_off < sizeof(struct req_facts));
		CHECK(a->sample && a->sample[0] && a->help && a->help[0]);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(spoe_args[j].name, a->name) != 0);
	}
}

/* A value of the first type a row accepts. */
static struct spop_data sample_of(const struct spoe_arg *a)
{
	static const unsigned char ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct spop_data d;

	memset(&d, 0, sizeof(d));
	for (int t = 1; t < 16; t++) {
		if (!(a->types & (1U << t)))
			continue;
		d.type = (enum spop_data_type)t;
		break;
	}
	switch (d.type) {
	case SPOP_DATA_BOOL:
		d.u.boolean = 1;
		break;
	case SPOP_DATA_INT32:
	case SPOP_DATA_INT64:
		d.u.sint = 7;
		break;
	case SPOP_DATA_UINT32:
	case SPOP_DATA_UINT64:
		d.u.uint = 7;
		break;
	case SPOP_DATA_IPV4:
		memcpy(d.u.ipv4, "\x0a\x00\x00\x01", 4);
		break;
	case SPOP_DATA_IPV6:
		memcpy(d.u.ipv6, ip6, 16);
		break;
	case SPOP_DATA_STR:
	case SPOP_DATA_BIN:
		d.u.str.ptr = a->name;
		d.u.str.len = a->len;
		break;
	default:
		break;
	}
	return d;
}

/* Every row, sent alone, sets exactly its has_ flag and its value. */
TEST(decide_spoe_args_each_fills_its_field)
{
	for (size_t i = 0; i < spoe_nargs; i++) {
		const struct spoe_arg *a = &spoe_args[i];
		struct spop_data v = sample_of(a);
		struct req_facts rq, zero;
		char buf[256], *p = buf;
		const char *q = buf;
		int has;

		CHECK(spop_put_str(&p, buf + sizeof(buf), a->name, a->len) == 0);
		CHECK(spop_put_data(&p, buf + sizeof(buf), &v) == 0);
		CHECK_EQ_INT(handler_get_args(&q, p, 1, &rq), 0);
		CHECK(q == p);
		CHECK(rq.bad_arg == NULL);
		memcpy(&has, (const char *)&rq + a->has_off, sizeof(has));
		CHECK_EQ_INT(has, 1);
		switch (a->store) {
		case SPOE_ARG_BOOL: {
			int b;

			memcpy(&b, (const char *)&rq + a->val_off, sizeof(b));
			CHECK_EQ_INT(b, 1);
			break;
		}
		case SPOE_ARG_INT: {
			int64_t n;

			memcpy(&n, (const char *)&rq + a->val_off, sizeof(n));
			CHECK_EQ_INT(n, 7);
			break;
		}
		case SPOE_ARG_VIEW:
		case SPOE_ARG_VIEW_NONEMPTY: {
			struct spop_str s;

			memcpy(&s, (const char *)&rq + a->val_off, sizeof(s));
			CHECK(spop_str_eq(s, a->name, a->len));
			break;
		}
		case SPOE_ARG_DATA: {
			struct spop_data d;

			memcpy(&d, (const char *)&rq + a->val_off, sizeof(d));
			CHECK_EQ_INT(d.type, v.type);
			break;
		}
		case SPOE_ARG_STORES:
			CHECK(0);
			break;
		}
		/* nothing else was touched: clear this row's fields, compare */
		memset((char *)&rq + a->has_off, 0, sizeof(int));
		memset((char *)&rq + a->val_off, 0,
		       a->store == SPOE_ARG_BOOL ? sizeof(int) :
		       a->store == SPOE_ARG_INT ? sizeof(int64_t) :
		       a->store == SPOE_ARG_DATA ? sizeof(struct spop_data) : sizeof(struct spop_str));
		memset(&zero, 0, sizeof(zero));
		CHECK(memcmp(&rq, &zero, sizeof(rq)) == 0);
	}
}

/* A wrongly typed argument is named in bad_arg and fills nothing. */
TEST(decide_spoe_args_wrong_type_is_bad_arg)
{
	for (size_t i = 0; i < spoe_nargs; i++) {
		const struct spoe_arg *a = &spoe_args[i];
		struct spop_data v = { .type = SPOP_DATA_IPV4 };
		struct req_facts rq;
		char buf[128], *p = buf;
		const char *q = buf;
		int has;

		if (a->types & (1U << SPOP_DATA_IPV4))
			v.type = SPOP_DATA_BOOL;
		CHECK(spop_put_str(&p, buf + sizeof(buf), a->name, a->len) == 0);
		CHECK(spop_put_data(&p, buf + sizeof(buf), &v) == 0);
		CHECK_EQ_INT(handler_get_args(&q, p, 1, &rq), 0);
		CHECK(rq.bad_arg != NULL && strcmp(rq.bad_arg, a->name) == 0);
		memcpy(&has, (const char *)&rq + a->has_off, sizeof(has));
		CHECK_EQ_INT(has, 0);
	}
}

TEST(decide_ack_vars_table_sane)
{
	for (int i = 0; i < ACK_VARS; i++) {
		const struct ack_var_info *v = &ack_vars[i];

		CHECK(v->name && v->name[0] && v->when && v->when[0]);
		CHECK_EQ_INT(v->len, strlen(v->name));
		/* HAProxy builds "txn.<prefix>.<name>" in 64 bytes; the shipped
		 * prefix is "certspoa" */
		CHECK(strlen("txn.certspoa.") + strlen(v->name) < 64);
		CHECK(v->type == SPOP_DATA_STR || v->type == SPOP_DATA_INT64);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(ack_vars[j].name, v->name) != 0);
	}
	CHECK_EQ_STR(ack_vars[ACK_VERDICT].name, "verdict");
}

TEST(decide_name_tables_complete)
{
	for (int k = 0; k < ID_KINDS; k++)
		CHECK(id_kind_names[k] && id_kind_names[k][0]);
	CHECK_EQ_STR(id_kind_names[ID_THUMBPRINT], "thumbprints");
	CHECK_EQ_STR(id_kind_names[ID_CN], "cn");
	for (int c = 0; c < DEC_CODES; c++)
		CHECK(dec_table[c].code && dec_table[c].reason);
	CHECK_EQ_STR(dec_table[DEC_ALLOW].code, "ok");
	CHECK_EQ_STR(dec_table[DEC_INTERNAL].code, "internal_error");
	for (int f = 0; f < FWD_FORMATS; f++) {
		CHECK(fwd_format_names[f] != NULL);
		CHECK_EQ_STR(fwd_format_name((enum fwd_format)f), fwd_format_names[f]);
	}
	CHECK(fwd_format_names[FWD_FORMATS] == NULL);
}

/* [forwarded] format takes the words of fwd_format_names, exactly. */
TEST(decide_fwd_format_words)
{
	static const char *const bad[] = { "RFC9440", "Xfcc", "pem_urlencoded", "base64" };
	char text[256], err[256];
	struct config *cfg;

	for (int f = 0; f < FWD_FORMATS; f++) {
		snprintf(text, sizeof(text),
		         "[forwarded]\ntrusted_proxies = 10.0.0.1\nformat = %s\n[policy default]\n",
		         fwd_format_names[f]);
		cfg = test_cfg_text(text, err, sizeof(err));
		CHECK(cfg != NULL);
		if (cfg) {
			CHECK_EQ_INT(cfg->fwd.format, f);
			cfg_free(cfg);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
		         "[forwarded]\ntrusted_proxies = 10.0.0.1\nformat = %s\n[policy default]\n", bad[i]);
		cfg = test_cfg_text(text, err, sizeof(err));
		CHECK(cfg == NULL);
		cfg_free(cfg);
	}
}

/* The decision pipeline on its own, as `certspoa explain` runs it. */
TEST(decide_request_without_handler)
{
	char err[256];
	struct decide_ctx dc;
	struct req_facts rq;
	struct cert_eval ce;
	struct decision d;
	struct trace t;
	const struct policy *pol;
	const char *route = NULL;
	struct config *cfg = test_cfg_text("[policy default]\nrequire_cert = yes\n", err, sizeof(err));

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK_EQ_INT(decide_init(&dc, cfg, 1), 0);
	memset(&rq, 0, sizeof(rq));
	memset(&t, 0, sizeof(t));
	t.on = 1;
	pol = decide_request(&dc, &rq, 1700000000, &t, &ce, &d, &route);
	CHECK(pol != NULL);
	CHECK_EQ_INT(d.code, DEC_CERT_MISSING);
	CHECK_EQ_STR(route, "default");
	CHECK(strstr(t.buf, "route=default") != NULL);
	/* a trace only with the secret; this config has none */
	rq.has_trace = 1;
	rq.trace_value.ptr = "x";
	rq.trace_value.len = 1;
	CHECK_EQ_INT(decide_trace_is_allowed(cfg, &rq), 0);
	decide_destroy(&dc);
	cfg_free(cfg);
}
