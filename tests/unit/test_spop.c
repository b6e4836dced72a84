/* Unit tests for the SPOP codec (agent/spop.c): varints, typed data,
 * frame headers, HELLO/DISCONNECT/NOTIFY decoding, frame and action
 * encoding, checked against golden frames in tests/frames/ (real HAProxy
 * 2.6 captures and our own hand-written encodings). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "spop.h"
#include "testhelp.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---------------------------------------------------------- */

/* Reads tests/frames/<name> into buf and checks its 4-byte length prefix.
 * Returns the whole length (prefix included), or -1 after a failed CHECK. */
static long load_frame(const char *name, unsigned char *buf, size_t cap)
{
	char path[512];
	long n;
	int w;

	w = snprintf(path, sizeof(path), "%s/frames/%s", test_dir, name);
	CHECK(w > 0 && (size_t)w < sizeof(path));
	n = unit_read_hex(path, buf, cap);
	if (n < 4) {
		unit_fail(__FILE__, __LINE__, "cannot read golden frame %s", path);
		return -1;
	}
	CHECK_EQ_INT((long)((unsigned long)buf[0] << 24 | (unsigned long)buf[1] << 16 |
	                    (unsigned long)buf[2] << 8 | buf[3]), n - 4);
	return n;
}

/* Golden frame, parsed: header fields in f, payload pointing into buf. */
static int load_parsed(const char *name, unsigned char *buf, size_t cap,
                       struct spop_frame *f)
{
	long n = load_frame(name, buf, cap);

	if (n < 0)
		return -1;
	if (spop_parse_frame((const char *)buf + 4, (size_t)n - 4, f) < 0) {
		unit_fail(__FILE__, __LINE__, "cannot parse golden frame %s", name);
		return -1;
	}
	return 0;
}

static int put_kv(char **p, char *end, const char *key, const struct spop_data *d)
{
	if (spop_put_str(p, end, key, strlen(key)) < 0)
		return -1;
	return spop_put_data(p, end, d);
}

static int put_kv_str(char **p, char *end, const char *key, const char *val)
{
	struct spop_data d = { .type = SPOP_DATA_STR };

	d.u.str.ptr = val;
	d.u.str.len = strlen(val);
	return put_kv(p, end, key, &d);
}

static int put_kv_u32(char **p, char *end, const char *key, uint64_t val)
{
	struct spop_data d = { .type = SPOP_DATA_UINT32, .u.uint = val };

	return put_kv(p, end, key, &d);
}

static int put_kv_bool(char **p, char *end, const char *key, int val)
{
	struct spop_data d = { .type = SPOP_DATA_BOOL, .u.boolean = val };

	return put_kv(p, end, key, &d);
}

/* A well-formed HELLO payload built from parts; NULL leaves an item out. */
struct hello_spec {
	const char *versions;
	int has_fs;
	uint64_t fs;
	const char *caps;
	int healthcheck;       /* -1: absent */
	const char *engine;
};

static size_t build_hello(char *buf, size_t cap, const struct hello_spec *s)
{
	char *p = buf, *end = buf + cap;

	if (s->versions)
		CHECK(put_kv_str(&p, end, "supported-versions", s->versions) == 0);
	if (s->has_fs)
		CHECK(put_kv_u32(&p, end, "max-frame-size", s->fs) == 0);
	if (s->caps)
		CHECK(put_kv_str(&p, end, "capabilities", s->caps) == 0);
	if (s->healthcheck >= 0)
		CHECK(put_kv_bool(&p, end, "healthcheck", s->healthcheck) == 0);
	if (s->engine)
		CHECK(put_kv_str(&p, end, "engine-id", s->engine) == 0);
	return (size_t)(p - buf);
}

static const struct hello_spec hello_ok = {
	"2.0", 1, 16380, "pipelining,async", -1, "0123-engine"
};

static enum spop_status hello_status(const struct hello_spec *s,
                                     struct spop_hello *h)
{
	/* static: h's string views (engine_id) point into it after we return */
	static char buf[512];
	size_t n = build_hello(buf, sizeof(buf), s);
	enum spop_status st = SPOP_ST_UNKNOWN;
	int ret = spop_parse_hello(buf, n, h, &st);

	CHECK_EQ_INT(ret, st == SPOP_ST_NONE ? 0 : -1);
	return st;
}

/* ACK action, decoded here only to check our encoder (the agent never
 * reads actions). */
struct action {
	unsigned int type, nb_args, scope;
	struct spop_str name;
	struct spop_data val;
};

static int get_action(const char **p, const char *end, struct action *a)
{
	const char *q = *p;

	if (end - q < 3)
		return -1;
	a->type = (unsigned char)q[0];
	a->nb_args = (unsigned char)q[1];
	a->scope = (unsigned char)q[2];
	q += 3;
	if (spop_get_str(&q, end, &a->name) < 0)
		return -1;
	if (a->type == SPOP_ACT_SET_VAR) {
		if (a->nb_args != 3 || spop_get_data(&q, end, &a->val) < 0)
			return -1;
	} else if (a->type == SPOP_ACT_UNSET_VAR) {
		if (a->nb_args != 2)
			return -1;
		a->val.type = SPOP_DATA_NULL;
	} else {
		return -1;
	}
	*p = q;
	return 0;
}

/* Deterministic pseudo-random numbers (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* ---- varints ---------------------------------------------------------- */

static const struct {
	uint64_t v;
	size_t len;
	const char *enc;
} varints[] = {
	{ 0,                     1, "\x00" },
	{ 1,                     1, "\x01" },
	{ 239,                   1, "\xef" },
	{ 240,                   2, "\xf0\x00" },
	{ 2287,                  2, "\xff\x7f" },
	{ 2288,                  3, "\xf0\x80\x00" },
	{ 16380,                 3, "\xfc\xf0\x06" },
	{ 264431,                3, "\xff\xff\x7f" },
	{ 264432,                4, "\xf0\x80\x80\x00" },
	{ 33818863,              4, "\xff\xff\xff\x7f" },
	{ 33818864,              5, "\xf0\x80\x80\x80\x00" },
	{ UINT32_MAX,            5, "\xff\xf0\xfe\xfe\x7e" },
	{ 4328786159ULL,         5, "\xff\xff\xff\xff\x7f" },
	{ 4328786160ULL,         6, "\xf0\x80\x80\x80\x80\x00" },
	{ 1ULL << 63,           10, "\xf0\xf1\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x06" },
	{ UINT64_MAX,           10, "\xff\xf0\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x0e" },
};

TEST(varint_known_encodings)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(varints); i++) {
		char buf[16], *p = buf;
		const char *q = buf;
		uint64_t v = 12345;

		CHECK(spop_put_varint(&p, buf + sizeof(buf), varints[i].v) == 0);
		CHECK_EQ_INT(p - buf, varints[i].len);
		CHECK_EQ_MEM(buf, varints[i].enc, varints[i].len);

		/* decode back, with trailing garbage that must not be read */
		memset(buf + varints[i].len, 0xff, sizeof(buf) - varints[i].len);
		CHECK(spop_get_varint(&q, buf + sizeof(buf), &v) == 0);
		CHECK(v == varints[i].v);
		CHECK_EQ_INT(q - buf, varints[i].len);

		/* and with end exactly at the last byte */
		q = varints[i].enc;
		CHECK(spop_get_varint(&q, varints[i].enc + varints[i].len, &v) == 0);
		CHECK(v == varints[i].v);
		CHECK(q == varints[i].enc + varints[i].len);
	}
}

TEST(varint_truncated)
{
	size_t i, cut;

	for (i = 0; i < ARRAY_SIZE(varints); i++) {
		for (cut = 0; cut < varints[i].len; cut++) {
			const char *q = varints[i].enc;
			uint64_t v = 77;

			CHECK(spop_get_varint(&q, varints[i].enc + cut, &v) == -1);
			CHECK(q == varints[i].enc);
			CHECK(v == 77);
		}
	}
}

TEST(varint_overlong_and_overflow)
{
	static const struct {
		const char *enc;
		size_t len;
	} bad[] = {
		/* 11 bytes: the 10th byte still says "more" */
		{ "\xf0\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11 },
		/* 10 bytes whose last carries bits beyond 2^64 */
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10 },
		{ "\xf0\x80\x80\x80\x80\x80\x80\x80\x80\x10", 10 },
		/* UINT64_MAX + 2^60: fits the shift, wraps the sum */
		{ "\xff\xf0\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x0f", 10 },
		/* UINT64_MAX + 1, carried in from the 9th byte */
		{ "\xff\xf1\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x0e", 10 },
		/* continuation bytes all the way to the end */
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 15 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *q = bad[i].enc;
		uint64_t v = 5;

		CHECK(spop_get_varint(&q, bad[i].enc + bad[i].len, &v) == -1);
		CHECK(q == bad[i].enc);
		CHECK(v == 5);
	}
}

TEST(varint_random_roundtrip)
{
	char buf[SPOP_VARINT_MAX_LEN];
	int i;

	for (i = 0; i < 20000; i++) {
		/* spread over all magnitudes */
		uint64_t v = rnd() >> (rnd() % 64);
		char *p = buf;
		const char *q = buf;
		uint64_t back;

		CHECK(spop_put_varint(&p, buf + sizeof(buf), v) == 0);
		CHECK(spop_get_varint(&q, p, &back) == 0);
		CHECK(back == v);
		CHECK(q == p);
	}
}

TEST(varint_random_bytes)
{
	/* arbitrary input: never reads out of bounds (ASan), and whatever it
	 * accepts re-encodes to the very same bytes (the encoding is canonical) */
	unsigned char in[12];
	char out[SPOP_VARINT_MAX_LEN];
	int i;
	size_t k;

	for (i = 0; i < 50000; i++) {
		size_t len = (size_t)(rnd() % sizeof(in));
		const char *q = (const char *)in;
		char *p = out;
		uint64_t v;

		for (k = 0; k < len; k++)
			in[k] = (unsigned char)(rnd() % 4 ? 0x80 | rnd() : rnd());
		if (spop_get_varint(&q, (const char *)in + len, &v) < 0) {
			CHECK(q == (const char *)in);
			continue;
		}
		CHECK(q > (const char *)in && q <= (const char *)in + len);
		CHECK(q - (const char *)in <= SPOP_VARINT_MAX_LEN);
		CHECK(spop_put_varint(&p, out + sizeof(out), v) == 0);
		CHECK_EQ_INT(p - out, q - (const char *)in);
		CHECK_EQ_MEM(out, in, (size_t)(p - out));
	}
}

TEST(varint_put_does_not_fit)
{
	size_t i, room;

	for (i = 0; i < ARRAY_SIZE(varints); i++) {
		for (room = 0; room < varints[i].len; room++) {
			char buf[16], *p = buf;

			CHECK(spop_put_varint(&p, buf + room, varints[i].v) == -1);
			CHECK(p == buf);
		}
	}
}

/* ---- strings and typed data --------------------------------------------- */

TEST(str_roundtrip_and_bounds)
{
	char buf[400], *p = buf;
	const char *q = buf;
	char big[300];
	struct spop_str s;
	size_t room;

	memset(big, 'x', sizeof(big));
	CHECK(spop_put_str(&p, buf + sizeof(buf), big, sizeof(big)) == 0);
	CHECK_EQ_INT(p - buf, 2 + sizeof(big));
	CHECK(spop_get_str(&q, p, &s) == 0);
	CHECK(q == p);
	CHECK_EQ_INT(s.len, sizeof(big));
	CHECK(s.ptr == buf + 2);

	/* one byte short of the announced length */
	q = buf;
	CHECK(spop_get_str(&q, p - 1, &s) == -1);
	CHECK(q == buf);

	/* encoder: every room too small fails without moving */
	for (room = 0; room < 2 + sizeof(big); room++) {
		p = buf;
		CHECK(spop_put_str(&p, buf + room, big, sizeof(big)) == -1);
		CHECK(p == buf);
	}

	/* a length near 2^64 must not wrap the pointer arithmetic */
	{
		static const char huge[] = "\xff\xf0\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x0e" "abc";

		q = huge;
		CHECK(spop_get_str(&q, huge + sizeof(huge) - 1, &s) == -1);
		CHECK(q == huge);
	}

	/* empty string */
	p = buf;
	CHECK(spop_put_str(&p, buf + 1, NULL, 0) == 0);
	CHECK_EQ_INT(p - buf, 1);
	q = buf;
	CHECK(spop_get_str(&q, buf + 1, &s) == 0);
	CHECK_EQ_INT(s.len, 0);
	CHECK(s.ptr != NULL);
}

/* Every data type, with boundary values, and the exact bytes expected. */
static const struct {
	struct spop_data d;
	size_t len;
	const char *enc;
} datas[] = {
	{ { .type = SPOP_DATA_NULL }, 1, "\x00" },
	{ { .type = SPOP_DATA_BOOL, .u.boolean = 1 }, 1, "\x11" },
	{ { .type = SPOP_DATA_BOOL, .u.boolean = 0 }, 1, "\x01" },
	{ { .type = SPOP_DATA_INT32, .u.sint = 0 }, 2, "\x02\x00" },
	{ { .type = SPOP_DATA_INT32, .u.sint = INT32_MAX }, 6, "\x02\xff\xf0\xfe\xfe\x3e" },
	{ { .type = SPOP_DATA_INT32, .u.sint = -1 }, 11,
	  "\x02\xff\xf0\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x0e" },
	{ { .type = SPOP_DATA_INT32, .u.sint = INT32_MIN }, 11,
	  "\x02\xf0\xf1\xfe\xfe\xbe\xfe\xfe\xfe\xfe\x0e" },
	{ { .type = SPOP_DATA_UINT32, .u.uint = 0 }, 2, "\x03\x00" },
	{ { .type = SPOP_DATA_UINT32, .u.uint = UINT32_MAX }, 6, "\x03\xff\xf0\xfe\xfe\x7e" },
	{ { .type = SPOP_DATA_INT64, .u.sint = 7 }, 2, "\x04\x07" },
	{ { .type = SPOP_DATA_INT64, .u.sint = -5 }, 11,
	  "\x04\xfb\xf0\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x0e" },
	{ { .type = SPOP_DATA_INT64, .u.sint = INT64_MAX }, 11,
	  "\x04\xff\xf0\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x06" },
	{ { .type = SPOP_DATA_INT64, .u.sint = INT64_MIN }, 11,
	  "\x04\xf0\xf1\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x06" },
	{ { .type = SPOP_DATA_UINT64, .u.uint = UINT64_MAX }, 11,
	  "\x05\xff\xf0\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x0e" },
	{ { .type = SPOP_DATA_UINT64, .u.uint = 240 }, 3, "\x05\xf0\x00" },
	{ { .type = SPOP_DATA_IPV4, .u.ipv4 = { 127, 0, 0, 1 } }, 5, "\x06\x7f\x00\x00\x01" },
	{ { .type = SPOP_DATA_IPV6, .u.ipv6 = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } }, 17,
	  "\x07\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01" },
	{ { .type = SPOP_DATA_STR, .u.str = { "", 0 } }, 2, "\x08\x00" },
	{ { .type = SPOP_DATA_STR, .u.str = { "allow", 5 } }, 7, "\x08\x05" "allow" },
	{ { .type = SPOP_DATA_BIN, .u.str = { "\x00\xff\x00", 3 } }, 5, "\x09\x03\x00\xff\x00" },
};

static int data_equal(const struct spop_data *a, const struct spop_data *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case SPOP_DATA_NULL:
		return 1;
	case SPOP_DATA_BOOL:
		return !a->u.boolean == !b->u.boolean;
	case SPOP_DATA_INT32:
	case SPOP_DATA_INT64:
		return a->u.sint == b->u.sint;
	case SPOP_DATA_UINT32:
	case SPOP_DATA_UINT64:
		return a->u.uint == b->u.uint;
	case SPOP_DATA_IPV4:
		return memcmp(a->u.ipv4, b->u.ipv4, 4) == 0;
	case SPOP_DATA_IPV6:
		return memcmp(a->u.ipv6, b->u.ipv6, 16) == 0;
	case SPOP_DATA_STR:
	case SPOP_DATA_BIN:
		return a->u.str.len == b->u.str.len &&
		       (a->u.str.len == 0 ||
		        memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0);
	default:
		return 0;
	}
}

TEST(data_roundtrip_every_type)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(datas); i++) {
		char buf[32], *p = buf;
		const char *q = buf;
		struct spop_data back;

		CHECK(spop_put_data(&p, buf + sizeof(buf), &datas[i].d) == 0);
		if ((size_t)(p - buf) != datas[i].len) {
			unit_fail(__FILE__, __LINE__, "datas[%zu]: %td bytes, expected %zu",
			          i, p - buf, datas[i].len);
			continue;
		}
		CHECK_EQ_MEM(buf, datas[i].enc, datas[i].len);
		memset(&back, 0xa5, sizeof(back));
		CHECK(spop_get_data(&q, p, &back) == 0);
		CHECK(q == p);
		if (!data_equal(&back, &datas[i].d))
			unit_fail(__FILE__, __LINE__, "datas[%zu] does not round-trip", i);
	}
}

TEST(data_truncated_and_no_room)
{
	size_t i, cut;

	for (i = 0; i < ARRAY_SIZE(datas); i++) {
		for (cut = 0; cut < datas[i].len; cut++) {
			const char *q = datas[i].enc;
			struct spop_data d;
			char buf[32], *p = buf;

			CHECK(spop_get_data(&q, datas[i].enc + cut, &d) == -1);
			CHECK(q == datas[i].enc);
			CHECK(spop_put_data(&p, buf + cut, &datas[i].d) == -1);
			CHECK(p == buf);
		}
	}
}

TEST(data_rejects)
{
	static const struct {
		const char *enc;
		size_t len;
	} bad[] = {
		{ "\x0a", 1 }, { "\x0b\x00", 2 }, { "\x0c", 1 }, { "\x0d", 1 },
		{ "\x0e", 1 }, { "\x0f\x00\x00\x00\x00", 5 }, { "\x1a", 1 }, { "\xff", 1 },
		/* INT32 2^31: out of int32 range */
		{ "\x02\xf0\xf1\xfe\xfe\x3e", 6 },
		/* INT32 -1 written as a zero-extended 32-bit value (0xffffffff) */
		{ "\x02\xff\xf0\xfe\xfe\x7e", 6 },
		/* INT32 INT32_MIN - 1 */
		{ "\x02\xff\xf0\xfe\xfe\xbe\xfe\xfe\xfe\xfe\x0e", 11 },
		/* UINT32 2^32 */
		{ "\x03\xf0\xf1\xfe\xfe\x7e", 6 },
		/* STRING whose length runs past the end */
		{ "\x08\x05" "abcd", 6 },
		/* BINARY with an overflowing length varint */
		{ "\x09\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11 },
		/* INT64 with an overlong varint */
		{ "\x04\xf0\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 12 },
	};
	static const struct spop_data unencodable[] = {
		{ .type = SPOP_DATA_INT32, .u.sint = (int64_t)INT32_MAX + 1 },
		{ .type = SPOP_DATA_INT32, .u.sint = (int64_t)INT32_MIN - 1 },
		{ .type = SPOP_DATA_UINT32, .u.uint = (uint64_t)UINT32_MAX + 1 },
		{ .type = SPOP_DATA_TYPES },
		{ .type = (enum spop_data_type)15 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *q = bad[i].enc;
		struct spop_data d;

		if (spop_get_data(&q, bad[i].enc + bad[i].len, &d) != -1)
			unit_fail(__FILE__, __LINE__, "bad[%zu] accepted", i);
		CHECK(q == bad[i].enc);
	}
	for (i = 0; i < ARRAY_SIZE(unencodable); i++) {
		char buf[32], *p = buf;

		CHECK(spop_put_data(&p, buf + sizeof(buf), &unencodable[i]) == -1);
		CHECK(p == buf);
	}
}

TEST(data_flags_and_bool)
{
	struct spop_data d;
	const char *q;

	/* BOOL: only the 0x10 flag means true */
	q = "\x11";
	CHECK(spop_get_data(&q, q + 1, &d) == 0 && d.type == SPOP_DATA_BOOL && d.u.boolean);
	q = "\x01";
	CHECK(spop_get_data(&q, q + 1, &d) == 0 && d.type == SPOP_DATA_BOOL && !d.u.boolean);
	q = "\x21";
	CHECK(spop_get_data(&q, q + 1, &d) == 0 && d.type == SPOP_DATA_BOOL && !d.u.boolean);
	/* flags on other types are ignored, as HAProxy does */
	q = "\x10";
	CHECK(spop_get_data(&q, q + 1, &d) == 0 && d.type == SPOP_DATA_NULL);
	q = "\xf8\x01z";
	CHECK(spop_get_data(&q, q + 3, &d) == 0 && d.type == SPOP_DATA_STR &&
	      SPOP_STR_EQ(d.u.str, "z"));
	/* any non-zero boolean encodes as true */
	{
		struct spop_data b = { .type = SPOP_DATA_BOOL, .u.boolean = 42 };
		char buf[1], *p = buf;

		CHECK(spop_put_data(&p, buf + 1, &b) == 0 && buf[0] == 0x11);
	}
}

/* ---- frame header ------------------------------------------------------- */

TEST(frame_parse_header)
{
	static const char f1[] = "\x03\x80\x00\x00\x03\xff\xff\x7f\xf0\x80\x00" "payload";
	static const char f2[] = "\x65\x00\x00\x00\x01\x00\x00";
	struct spop_frame f;
	size_t cut;

	CHECK(spop_parse_frame(f1, sizeof(f1) - 1, &f) == 0);
	CHECK_EQ_INT(f.type, SPOP_FRM_NOTIFY);
	CHECK(f.flags == 0x80000003U);
	CHECK(f.stream_id == 264431);
	CHECK(f.frame_id == 2288);
	CHECK(f.payload == f1 + 11);
	CHECK_EQ_INT(f.len, 7);

	/* a header with no payload */
	CHECK(spop_parse_frame(f2, sizeof(f2) - 1, &f) == 0);
	CHECK_EQ_INT(f.type, SPOP_FRM_AGENT_HELLO);
	CHECK(f.flags == SPOP_FL_FIN);
	CHECK(f.stream_id == 0 && f.frame_id == 0);
	CHECK_EQ_INT(f.len, 0);
	CHECK(f.payload == f2 + 7);

	/* every truncation inside the header fails */
	for (cut = 0; cut < 11; cut++)
		CHECK(spop_parse_frame(f1, cut, &f) == -1);
	for (cut = 0; cut < 7; cut++)
		CHECK(spop_parse_frame(f2, cut, &f) == -1);
	CHECK(spop_parse_frame(NULL, 0, &f) == -1);

	/* ids with an overlong varint */
	{
		static const char f3[] = "\x03\x00\x00\x00\x01"
			"\xf0\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00" "\x01";

		CHECK(spop_parse_frame(f3, sizeof(f3) - 1, &f) == -1);
	}
}

/* ---- HAPROXY-HELLO ------------------------------------------------------ */

TEST(hello_golden_haproxy26)
{
	unsigned char buf[512];
	struct spop_frame f;
	struct spop_hello h;
	enum spop_status st = SPOP_ST_UNKNOWN;

	if (load_parsed("haproxy26-hello.hex", buf, sizeof(buf), &f) < 0)
		return;
	CHECK_EQ_INT(f.type, SPOP_FRM_HAPROXY_HELLO);
	CHECK(f.flags == SPOP_FL_FIN);
	CHECK(f.stream_id == 0 && f.frame_id == 0);
	CHECK(spop_parse_hello(f.payload, f.len, &h, &st) == 0);
	CHECK_EQ_INT(st, SPOP_ST_NONE);
	CHECK(h.has_version && h.version_ok);
	CHECK(h.has_max_frame_size);
	CHECK_EQ_INT(h.max_frame_size, 16380);
	CHECK(h.has_capabilities);
	CHECK(h.cap_pipelining && h.cap_async && !h.cap_fragmentation);
	CHECK(!h.healthcheck);
	CHECK_EQ_INT(h.engine_id.len, 36);   /* a UUID */
}

TEST(hello_golden_healthcheck)
{
	unsigned char buf[512];
	struct spop_frame f;
	struct spop_hello h;
	enum spop_status st = SPOP_ST_UNKNOWN;

	if (load_parsed("haproxy26-hello-healthcheck.hex", buf, sizeof(buf), &f) < 0)
		return;
	CHECK_EQ_INT(f.type, SPOP_FRM_HAPROXY_HELLO);
	CHECK(spop_parse_hello(f.payload, f.len, &h, &st) == 0);
	CHECK_EQ_INT(st, SPOP_ST_NONE);
	CHECK(h.version_ok);
	CHECK_EQ_INT(h.max_frame_size, 16380);
	CHECK(h.has_capabilities);
	CHECK(!h.cap_pipelining && !h.cap_async && !h.cap_fragmentation);
	CHECK(h.healthcheck);
	CHECK(h.engine_id.ptr == NULL && h.engine_id.len == 0);
}

TEST(hello_golden_truncated)
{
	/* every cut of a real HELLO: never reads past the cut; a cut inside an
	 * item is INVALID, a cut between items reports what is missing */
	unsigned char buf[512];
	struct spop_frame f;
	struct spop_hello h;
	size_t cut;
	int nboundary = 0;

	if (load_parsed("haproxy26-hello.hex", buf, sizeof(buf), &f) < 0)
		return;
	for (cut = 0; cut < f.len; cut++) {
		enum spop_status st = SPOP_ST_UNKNOWN;
		const char *q = f.payload, *end = f.payload + cut;
		struct spop_str k;
		struct spop_data d;
		int boundary = 0;

		int ret;

		for (;;) {
			const char *item = q;

			if (q >= end || spop_get_str(&item, end, &k) < 0 ||
			    spop_get_data(&item, end, &d) < 0)
				break;
			q = item;
		}
		boundary = q == end;
		ret = spop_parse_hello(f.payload, cut, &h, &st);
		CHECK_EQ_INT(ret, st == SPOP_ST_NONE ? 0 : -1);
		if (!boundary)
			CHECK_EQ_INT(st, SPOP_ST_INVALID);
		else if (cut == 0)
			CHECK_EQ_INT(st, SPOP_ST_NO_VERSION);
		else if (!h.has_max_frame_size)
			CHECK_EQ_INT(st, SPOP_ST_NO_FRAME_SIZE);
		else if (!h.has_capabilities)
			CHECK_EQ_INT(st, SPOP_ST_NO_CAPS);
		else
			CHECK_EQ_INT(st, SPOP_ST_NONE);   /* only engine-id cut off */
		if (boundary)
			nboundary++;
	}
	CHECK_EQ_INT(nboundary, 4);   /* before each of the first 4 items */
}

TEST(hello_haproxy3_style)
{
	struct hello_spec s = { "2.0", 1, 16380, "pipelining", -1, "some-engine" };
	struct spop_hello h;

	CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_NONE);
	CHECK(h.cap_pipelining && !h.cap_async && !h.cap_fragmentation);
	CHECK(SPOP_STR_EQ(h.engine_id, "some-engine"));
	CHECK(!h.healthcheck);
}

TEST(hello_synthetic_healthcheck)
{
	struct hello_spec s = { "2.0", 1, 16380, "", 1, NULL };
	struct spop_hello h;

	CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_NONE);
	CHECK(h.healthcheck && h.has_capabilities);
	CHECK(!h.cap_pipelining && !h.cap_async);
	CHECK(h.engine_id.ptr == NULL);

	s.healthcheck = 0;
	CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_NONE);
	CHECK(!h.healthcheck);
}

TEST(hello_lists_with_spaces)
{
	static const struct {
		const char *versions;
		enum spop_status st;
	} v[] = {
		{ "2.0", SPOP_ST_NONE },
		{ " 2.0 ", SPOP_ST_NONE },
		{ "2.0, 1.5", SPOP_ST_NONE },
		{ "1.0 ,\t2.1", SPOP_ST_NONE },
		{ "3.0,2.0", SPOP_ST_NONE },
		{ ",,2.0,", SPOP_ST_NONE },
		{ "2", SPOP_ST_NONE },
		{ "1.0", SPOP_ST_BAD_VERSION },
		{ "3.0", SPOP_ST_BAD_VERSION },
		{ "", SPOP_ST_BAD_VERSION },
		{ " , ", SPOP_ST_BAD_VERSION },
		{ "20.0", SPOP_ST_BAD_VERSION },
		{ "12.0", SPOP_ST_BAD_VERSION },
		{ "2.x", SPOP_ST_BAD_VERSION },
		{ "2.", SPOP_ST_BAD_VERSION },
		{ ".2", SPOP_ST_BAD_VERSION },
		{ "2 .0", SPOP_ST_BAD_VERSION },
		{ "v2.0", SPOP_ST_BAD_VERSION },
		{ "2.0.1", SPOP_ST_BAD_VERSION },
		{ "99999999999999999999.0", SPOP_ST_BAD_VERSION },
	};
	static const struct {
		const char *caps;
		int pipe, async, frag;
	} c[] = {
		{ "pipelining,async", 1, 1, 0 },
		{ " pipelining , async ", 1, 1, 0 },
		{ "\tasync,\tpipelining\t", 1, 1, 0 },
		{ "fragmentation", 0, 0, 1 },
		{ "pipelining,,fragmentation,async", 1, 1, 1 },
		{ "pipe,asyncx,Pipelining,pipelining-x", 0, 0, 0 },
		{ "", 0, 0, 0 },
		{ ",", 0, 0, 0 },
		{ "unknown-cap, pipelining", 1, 0, 0 },
	};
	struct hello_spec s = hello_ok;
	struct spop_hello h;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		s.versions = v[i].versions;
		if (hello_status(&s, &h) != v[i].st)
			unit_fail(__FILE__, __LINE__, "versions \"%s\": wrong status",
			          v[i].versions);
		CHECK(h.has_version);
	}
	s = hello_ok;
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		s.caps = c[i].caps;
		CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_NONE);
		if (h.cap_pipelining != c[i].pipe || h.cap_async != c[i].async ||
		    h.cap_fragmentation != c[i].frag)
			unit_fail(__FILE__, __LINE__, "capabilities \"%s\": wrong flags",
			          c[i].caps);
	}
}

TEST(hello_missing_and_bad_fields)
{
	struct hello_spec s;
	struct spop_hello h;

	s = hello_ok; s.versions = NULL;
	CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_NO_VERSION);
	s = hello_ok; s.versions = "1.0";
	CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_BAD_VERSION);
	s = hello_ok; s.has_fs = 0;
	CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_NO_FRAME_SIZE);
	s = hello_ok; s.fs = 255;
	CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_BAD_FRAME_SIZE);
	s = hello_ok; s.fs = 0;
	CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_BAD_FRAME_SIZE);
	s = hello_ok; s.fs = 256;
	CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_NONE);
	CHECK_EQ_INT(h.max_frame_size, 256);
	s = hello_ok; s.fs = UINT32_MAX;
	CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_NONE);
	CHECK(h.max_frame_size == UINT32_MAX);
	s = hello_ok; s.caps = NULL;
	CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_NO_CAPS);
	s = hello_ok; s.engine = NULL;
	CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_NONE);

	/* nothing at all: the first missing item is reported */
	{
		enum spop_status st = SPOP_ST_UNKNOWN;

		CHECK(spop_parse_hello("", 0, &h, &st) == -1);
		CHECK_EQ_INT(st, SPOP_ST_NO_VERSION);
		CHECK(spop_parse_hello("", 0, &h, NULL) == -1);   /* err optional */
	}
	/* several problems: version first, then frame size, then caps */
	s = hello_ok; s.versions = "1.0"; s.has_fs = 0; s.caps = NULL;
	CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_BAD_VERSION);
	s = hello_ok; s.fs = 10; s.caps = NULL;
	CHECK_EQ_INT(hello_status(&s, &h), SPOP_ST_BAD_FRAME_SIZE);
}

TEST(hello_frame_size_integer_types)
{
	static const struct {
		struct spop_data d;
		enum spop_status st;
		uint32_t fs;
	} t[] = {
		{ { .type = SPOP_DATA_UINT32, .u.uint = 16380 }, SPOP_ST_NONE, 16380 },
		{ { .type = SPOP_DATA_INT32, .u.sint = 16380 }, SPOP_ST_NONE, 16380 },
		{ { .type = SPOP_DATA_INT64, .u.sint = 65536 }, SPOP_ST_NONE, 65536 },
		{ { .type = SPOP_DATA_UINT64, .u.uint = 1024 }, SPOP_ST_NONE, 1024 },
		{ { .type = SPOP_DATA_INT64, .u.sint = -16380 }, SPOP_ST_BAD_FRAME_SIZE, 0 },
		{ { .type = SPOP_DATA_INT32, .u.sint = -1 }, SPOP_ST_BAD_FRAME_SIZE, 0 },
		{ { .type = SPOP_DATA_UINT64, .u.uint = 1ULL << 32 }, SPOP_ST_BAD_FRAME_SIZE, 0 },
		{ { .type = SPOP_DATA_STR, .u.str = { "16380", 5 } }, SPOP_ST_INVALID, 0 },
		{ { .type = SPOP_DATA_NULL }, SPOP_ST_INVALID, 0 },
		{ { .type = SPOP_DATA_BOOL, .u.boolean = 1 }, SPOP_ST_INVALID, 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		char buf[256], *p = buf, *end = buf + sizeof(buf);
		struct spop_hello h;
		enum spop_status st = SPOP_ST_UNKNOWN;

		CHECK(put_kv_str(&p, end, "supported-versions", "2.0") == 0);
		CHECK(put_kv(&p, end, "max-frame-size", &t[i].d) == 0);
		CHECK(put_kv_str(&p, end, "capabilities", "pipelining") == 0);
		spop_parse_hello(buf, (size_t)(p - buf), &h, &st);
		if (st != t[i].st)
			unit_fail(__FILE__, __LINE__, "t[%zu]: status %d, expected %d",
			          i, (int)st, (int)t[i].st);
		if (t[i].st == SPOP_ST_NONE)
			CHECK(h.max_frame_size == t[i].fs);
	}
}

TEST(hello_wrong_type_for_known_key)
{
	static const char *const keys[] = {
		"supported-versions", "max-frame-size", "capabilities",
		"healthcheck", "engine-id",
	};
	struct spop_data wrong[] = {
		{ .type = SPOP_DATA_NULL },
		{ .type = SPOP_DATA_BIN, .u.str = { "2.0", 3 } },
		{ .type = SPOP_DATA_IPV4 },
	};
	size_t k, w;

	for (k = 0; k < ARRAY_SIZE(keys); k++) {
		for (w = 0; w < ARRAY_SIZE(wrong); w++) {
			char buf[256], *p = buf, *end = buf + sizeof(buf);
			struct spop_hello h;
			enum spop_status st = SPOP_ST_UNKNOWN;

			CHECK(put_kv_str(&p, end, "supported-versions", "2.0") == 0);
			CHECK(put_kv_u32(&p, end, "max-frame-size", 16380) == 0);
			CHECK(put_kv_str(&p, end, "capabilities", "pipelining") == 0);
			CHECK(put_kv(&p, end, keys[k], &wrong[w]) == 0);
			CHECK(spop_parse_hello(buf, (size_t)(p - buf), &h, &st) == -1);
			if (st != SPOP_ST_INVALID)
				unit_fail(__FILE__, __LINE__, "key %s with type %d accepted",
				          keys[k], (int)wrong[w].type);
		}
	}
	/* and healthcheck as an integer */
	{
		char buf[256], *p = buf, *end = buf + sizeof(buf);
		struct spop_hello h;
		enum spop_status st;

		CHECK(put_kv_str(&p, end, "supported-versions", "2.0") == 0);
		CHECK(put_kv_u32(&p, end, "max-frame-size", 16380) == 0);
		CHECK(put_kv_str(&p, end, "capabilities", "") == 0);
		CHECK(put_kv_u32(&p, end, "healthcheck", 1) == 0);
		CHECK(spop_parse_hello(buf, (size_t)(p - buf), &h, &st) == -1);
		CHECK_EQ_INT(st, SPOP_ST_INVALID);
	}
}

TEST(hello_unknown_keys_skipped)
{
	char buf[512], *p = buf, *end = buf + sizeof(buf);
	struct spop_hello h;
	enum spop_status st = SPOP_ST_UNKNOWN;
	size_t i;

	/* one unknown key of every type, before and between the real ones */
	for (i = 0; i < ARRAY_SIZE(datas); i++) {
		char key[32];

		snprintf(key, sizeof(key), "x-unknown-%zu", i);
		CHECK(put_kv(&p, end, key, &datas[i].d) == 0);
		if (i == 3)
			CHECK(put_kv_str(&p, end, "supported-versions", "2.0") == 0);
		if (i == 7)
			CHECK(put_kv_u32(&p, end, "max-frame-size", 4096) == 0);
	}
	CHECK(put_kv_str(&p, end, "capabilities", "pipelining") == 0);
	CHECK(put_kv_str(&p, end, "", "empty key") == 0);
	CHECK(spop_parse_hello(buf, (size_t)(p - buf), &h, &st) == 0);
	CHECK_EQ_INT(st, SPOP_ST_NONE);
	CHECK_EQ_INT(h.max_frame_size, 4096);
	CHECK(h.cap_pipelining);
}

TEST(hello_prefix_keys_not_accepted)
{
	/* keys that are prefixes, extensions or case variants of the real ones
	 * must count as unknown, so each real item is still "missing" */
	static const struct {
		const char *ver_key, *fs_key, *caps_key;
		enum spop_status st;
	} t[] = {
		{ "sup", "max-frame-size", "capabilities", SPOP_ST_NO_VERSION },
		{ "", "max-frame-size", "capabilities", SPOP_ST_NO_VERSION },
		{ "supported-version", "max-frame-size", "capabilities", SPOP_ST_NO_VERSION },
		{ "supported-versionsX", "max-frame-size", "capabilities", SPOP_ST_NO_VERSION },
		{ "Supported-Versions", "max-frame-size", "capabilities", SPOP_ST_NO_VERSION },
		{ "supported-versions", "max-frame-sizeX", "capabilities", SPOP_ST_NO_FRAME_SIZE },
		{ "supported-versions", "max", "capabilities", SPOP_ST_NO_FRAME_SIZE },
		{ "supported-versions", "", "capabilities", SPOP_ST_NO_FRAME_SIZE },
		{ "supported-versions", "max-frame-size", "cap", SPOP_ST_NO_CAPS },
		{ "supported-versions", "max-frame-size", "capabilitiesX", SPOP_ST_NO_CAPS },
		{ "supported-versions", "max-frame-size", "", SPOP_ST_NO_CAPS },
		{ "supported-versions", "max-frame-size", "capabilities", SPOP_ST_NONE },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		char buf[256], *p = buf, *end = buf + sizeof(buf);
		struct spop_hello h;
		enum spop_status st = SPOP_ST_UNKNOWN;

		CHECK(put_kv_str(&p, end, t[i].ver_key, "2.0") == 0);
		CHECK(put_kv_u32(&p, end, t[i].fs_key, 16380) == 0);
		CHECK(put_kv_str(&p, end, t[i].caps_key, "pipelining") == 0);
		CHECK(put_kv_bool(&p, end, "health", 1) == 0);
		CHECK(put_kv_str(&p, end, "engine-idX", "e") == 0);
		spop_parse_hello(buf, (size_t)(p - buf), &h, &st);
		if (st != t[i].st)
			unit_fail(__FILE__, __LINE__, "t[%zu]: status %d, expected %d",
			          i, (int)st, (int)t[i].st);
		CHECK(!h.healthcheck);
		CHECK(h.engine_id.ptr == NULL);
	}
}

TEST(hello_garbage)
{
	/* malformed KV lists: INVALID, never a crash or an over-read */
	static const struct {
		const char *enc;
		size_t len;
	} bad[] = {
		{ "\x05" "abc", 4 },                 /* name longer than the rest */
		{ "\x03" "abc", 4 },                 /* name without a value */
		{ "\x03" "abc\x0a", 5 },             /* reserved type */
		{ "\x03" "abc\x08\x09xy", 8 },       /* string too long */
		{ "\xff", 1 },                       /* truncated name length */
	};
	size_t i;
	int j;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct spop_hello h;
		enum spop_status st = SPOP_ST_NONE;

		CHECK(spop_parse_hello(bad[i].enc, bad[i].len, &h, &st) == -1);
		CHECK_EQ_INT(st, SPOP_ST_INVALID);
	}
	for (j = 0; j < 20000; j++) {
		unsigned char buf[48];
		size_t k, len = (size_t)(rnd() % sizeof(buf));
		struct spop_hello h;
		enum spop_status st = SPOP_ST_UNKNOWN;
		int ret;

		for (k = 0; k < len; k++)
			buf[k] = (unsigned char)rnd();
		ret = spop_parse_hello((const char *)buf, len, &h, &st);
		CHECK((ret == 0) == (st == SPOP_ST_NONE));
		CHECK(st != SPOP_ST_UNKNOWN);
	}
}

/* ---- HAPROXY-DISCONNECT ------------------------------------------------- */

TEST(disconnect_golden)
{
	unsigned char buf[256];
	struct spop_frame f;
	struct spop_disconnect d;

	if (load_parsed("haproxy26-disconnect.hex", buf, sizeof(buf), &f) < 0)
		return;
	CHECK_EQ_INT(f.type, SPOP_FRM_HAPROXY_DISCON);
	CHECK(f.flags == SPOP_FL_FIN);
	CHECK(f.stream_id == 0 && f.frame_id == 0);
	CHECK(spop_parse_disconnect(f.payload, f.len, &d) == 0);
	CHECK_EQ_INT(d.status, SPOP_ST_TIMEOUT);
	CHECK(SPOP_STR_EQ(d.message, "a timeout occurred"));
}

TEST(disconnect_synthetic)
{
	char buf[256], *p, *end = buf + sizeof(buf);
	struct spop_disconnect d;
	struct spop_data neg = { .type = SPOP_DATA_INT64, .u.sint = -1 };
	struct spop_data i64 = { .type = SPOP_DATA_INT64, .u.sint = 4 };
	struct spop_data big = { .type = SPOP_DATA_UINT64, .u.uint = 1ULL << 32 };
	size_t n, cut;

	/* any integer type; unknown keys skipped; order free */
	p = buf;
	CHECK(put_kv_str(&p, end, "message", "bye") == 0);
	CHECK(put_kv_bool(&p, end, "x-extra", 1) == 0);
	CHECK(put_kv(&p, end, "status-code", &i64) == 0);
	n = (size_t)(p - buf);
	CHECK(spop_parse_disconnect(buf, n, &d) == 0);
	CHECK_EQ_INT(d.status, 4);
	CHECK(SPOP_STR_EQ(d.message, "bye"));
	/* a cut inside an item is an error, a cut between items is not */
	for (cut = 0; cut < n; cut++) {
		int r = spop_parse_disconnect(buf, cut, &d);

		CHECK(r == ((cut == 0 || cut == 13 || cut == 22) ? 0 : -1));
	}

	/* both optional */
	CHECK(spop_parse_disconnect(buf, 0, &d) == 0);
	CHECK_EQ_INT(d.status, 0);
	CHECK_EQ_INT(d.message.len, 0);

	/* prefix keys are not the real ones */
	p = buf;
	CHECK(put_kv_u32(&p, end, "status", 9) == 0);
	CHECK(put_kv_str(&p, end, "messageX", "no") == 0);
	CHECK(spop_parse_disconnect(buf, (size_t)(p - buf), &d) == 0);
	CHECK_EQ_INT(d.status, 0);
	CHECK_EQ_INT(d.message.len, 0);

	/* wrong types and out-of-range codes */
	p = buf;
	CHECK(put_kv_str(&p, end, "status-code", "3") == 0);
	CHECK(spop_parse_disconnect(buf, (size_t)(p - buf), &d) == -1);
	p = buf;
	CHECK(put_kv(&p, end, "status-code", &neg) == 0);
	CHECK(spop_parse_disconnect(buf, (size_t)(p - buf), &d) == -1);
	p = buf;
	CHECK(put_kv(&p, end, "status-code", &big) == 0);
	CHECK(spop_parse_disconnect(buf, (size_t)(p - buf), &d) == -1);
	p = buf;
	CHECK(put_kv_u32(&p, end, "message", 1) == 0);
	CHECK(spop_parse_disconnect(buf, (size_t)(p - buf), &d) == -1);
}

/* ---- NOTIFY messages ------------------------------------------------------ */

TEST(notify_golden_plain)
{
	unsigned char buf[1024];
	struct spop_frame f;
	const char *p, *end;
	struct spop_str name, an;
	struct spop_data v;
	unsigned int nb;

	if (load_parsed("haproxy26-notify-plain.hex", buf, sizeof(buf), &f) < 0)
		return;
	CHECK_EQ_INT(f.type, SPOP_FRM_NOTIFY);
	CHECK(f.flags == SPOP_FL_FIN);
	CHECK(f.stream_id == 0 && f.frame_id == 1);
	p = f.payload;
	end = f.payload + f.len;

	CHECK(spop_get_message(&p, end, &name, &nb) == 0);
	CHECK(SPOP_STR_EQ(name, "check-client-cert"));
	CHECK_EQ_INT(nb, 7);
	/* no TLS at all: every ssl_* fetch is NULL, even ssl_c_used */
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "present") && v.type == SPOP_DATA_NULL);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "verify") && v.type == SPOP_DATA_NULL);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "cert") && v.type == SPOP_DATA_NULL);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "sni") && v.type == SPOP_DATA_NULL);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "host") && v.type == SPOP_DATA_STR &&
	      SPOP_STR_EQ(v.u.str, "plain.test"));
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "path") && v.type == SPOP_DATA_STR &&
	      SPOP_STR_EQ(v.u.str, "/hello"));
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "src") && v.type == SPOP_DATA_IPV4 &&
	      memcmp(v.u.ipv4, "\x7f\x00\x00\x01", 4) == 0);

	CHECK(spop_get_message(&p, end, &name, &nb) == 0);
	CHECK(SPOP_STR_EQ(name, "client-meta"));
	CHECK_EQ_INT(nb, 8);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "frontend") && v.type == SPOP_DATA_INT64 && v.u.sint == 1);
	/* unnamed args: src dst ssl_fc */
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(an.len == 0 && v.type == SPOP_DATA_IPV4);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(an.len == 0 && v.type == SPOP_DATA_IPV4);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(an.len == 0 && SPOP_STR_EQ(an, "") && v.type == SPOP_DATA_BOOL && !v.u.boolean);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "neg") && v.type == SPOP_DATA_INT64 && v.u.sint == -5);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "v6") && v.type == SPOP_DATA_IPV6 &&
	      memcmp(v.u.ipv6, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16) == 0);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "empty") && v.type == SPOP_DATA_STR && v.u.str.len == 0);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "bin") && v.type == SPOP_DATA_BIN &&
	      v.u.str.len == 2 && memcmp(v.u.str.ptr, "\x00\xff", 2) == 0);
	CHECK(p == end);
	CHECK(spop_get_message(&p, end, &name, &nb) == -1);
	CHECK(p == end);
}

TEST(notify_golden_tls)
{
	unsigned char buf[2048];
	struct spop_frame f;
	const char *p, *end;
	struct spop_str name, an;
	struct spop_data v;
	unsigned int nb, i;

	if (load_parsed("haproxy26-notify-tls-cert.hex", buf, sizeof(buf), &f) < 0)
		return;
	CHECK_EQ_INT(f.type, SPOP_FRM_NOTIFY);
	CHECK(f.flags == SPOP_FL_FIN);
	CHECK(f.stream_id == 2 && f.frame_id == 1);
	p = f.payload;
	end = f.payload + f.len;
	CHECK(spop_get_message(&p, end, &name, &nb) == 0);
	CHECK(SPOP_STR_EQ(name, "check-client-cert") && nb == 7);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "present") && v.type == SPOP_DATA_BOOL && v.u.boolean);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "verify") && v.type == SPOP_DATA_INT64 && v.u.sint == 0);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "cert") && v.type == SPOP_DATA_BIN);
	CHECK_EQ_INT(v.u.str.len, 654);
	/* a DER SEQUENCE whose own length covers exactly the value */
	CHECK(v.u.str.len >= 4 && memcmp(v.u.str.ptr, "\x30\x82\x02\x8a", 4) == 0);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "sni") && SPOP_STR_EQ(v.u.str, "localhost"));
	for (i = 4; i < nb; i++)
		CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(spop_get_message(&p, end, &name, &nb) == 0);
	CHECK(SPOP_STR_EQ(name, "client-meta") && nb == 8);
	for (i = 0; i < nb; i++)
		CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(p == end);
}

TEST(notify_golden_tls_nocert)
{
	unsigned char buf[512];
	struct spop_frame f;
	const char *p, *end;
	struct spop_str name, an;
	struct spop_data v;
	unsigned int nb;

	if (load_parsed("haproxy26-notify-tls-nocert.hex", buf, sizeof(buf), &f) < 0)
		return;
	CHECK(f.type == SPOP_FRM_NOTIFY && f.flags == SPOP_FL_FIN);
	CHECK(f.stream_id == 4 && f.frame_id == 1);
	p = f.payload;
	end = f.payload + f.len;
	CHECK(spop_get_message(&p, end, &name, &nb) == 0);
	CHECK(SPOP_STR_EQ(name, "check-client-cert") && nb == 7);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "present") && v.type == SPOP_DATA_BOOL && !v.u.boolean);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "verify") && v.type == SPOP_DATA_INT64 && v.u.sint == 0);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "cert") && v.type == SPOP_DATA_NULL);
	CHECK(spop_get_arg(&p, end, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "sni") && SPOP_STR_EQ(v.u.str, "localhost"));
}

TEST(notify_golden_every_cut)
{
	/* decoding any prefix of a real NOTIFY never reads past the cut and
	 * never advances on a failed item */
	unsigned char buf[2048];
	struct spop_frame f;
	size_t cut;

	if (load_parsed("haproxy26-notify-tls-cert.hex", buf, sizeof(buf), &f) < 0)
		return;
	for (cut = 0; cut <= f.len; cut++) {
		const char *p = f.payload, *end = f.payload + cut, *before;
		struct spop_str name, an;
		struct spop_data v;
		unsigned int nb, i;
		int ok = 1;

		while (ok && p < end) {
			before = p;
			if (spop_get_message(&p, end, &name, &nb) < 0) {
				CHECK(p == before);
				break;
			}
			for (i = 0; i < nb; i++) {
				before = p;
				if (spop_get_arg(&p, end, &an, &v) < 0) {
					CHECK(p == before);
					ok = 0;
					break;
				}
			}
		}
		CHECK(p <= end);
		if (cut == f.len)
			CHECK(ok && p == end);
	}
}

TEST(notify_synthetic_messages)
{
	char buf[256], *p = buf, *end = buf + sizeof(buf);
	const char *q, *qe, *before;
	struct spop_str name, an;
	struct spop_data v;
	unsigned int nb;
	struct spop_data t = { .type = SPOP_DATA_BOOL, .u.boolean = 1 };

	/* "m0" with no args, "m1" with two unnamed args, "" with one */
	CHECK(spop_put_str(&p, end, "m0", 2) == 0);
	*p++ = 0;
	CHECK(spop_put_str(&p, end, "m1", 2) == 0);
	*p++ = 2;
	CHECK(put_kv(&p, end, "", &t) == 0);
	CHECK(put_kv_str(&p, end, "", "v") == 0);
	CHECK(spop_put_str(&p, end, "", 0) == 0);
	*p++ = 1;
	CHECK(put_kv_u32(&p, end, "n", 9) == 0);

	q = buf;
	qe = p;
	CHECK(spop_get_message(&q, qe, &name, &nb) == 0);
	CHECK(SPOP_STR_EQ(name, "m0") && nb == 0);
	CHECK(spop_get_message(&q, qe, &name, &nb) == 0);
	CHECK(SPOP_STR_EQ(name, "m1") && nb == 2);
	CHECK(spop_get_arg(&q, qe, &an, &v) == 0);
	CHECK(an.len == 0 && v.type == SPOP_DATA_BOOL && v.u.boolean);
	CHECK(spop_get_arg(&q, qe, &an, &v) == 0);
	CHECK(an.len == 0 && SPOP_STR_EQ(v.u.str, "v"));
	CHECK(spop_get_message(&q, qe, &name, &nb) == 0);
	CHECK(name.len == 0 && nb == 1);
	/* the last arg cut short: cursor stays */
	before = q;
	CHECK(spop_get_arg(&q, qe - 1, &an, &v) == -1);
	CHECK(q == before);
	CHECK(spop_get_arg(&q, qe, &an, &v) == 0);
	CHECK(SPOP_STR_EQ(an, "n") && v.u.uint == 9);
	CHECK(q == qe);

	/* a message name with no NB-ARGS byte */
	q = "\x02m0";
	CHECK(spop_get_message(&q, q + 3, &name, &nb) == -1);
	CHECK(q[0] == '\x02');
	/* NB-ARGS is one unsigned byte */
	q = "\x01m\xff";
	CHECK(spop_get_message(&q, q + 3, &name, &nb) == 0 && nb == 255);
}

/* ---- encoders --------------------------------------------------------------- */

/* Runs an encoder with every output room from 0 to the full size: below
 * the full size it must fail without moving the cursor; at the full size
 * it must produce exactly want. */
#define CHECK_ENCODER_ROOMS(want, want_len, call) do { \
	size_t room_; \
	for (room_ = 0; room_ <= (want_len); room_++) { \
		char obuf_[2048], *p = obuf_, *end = obuf_ + room_; \
		int r_ = (call); \
		if (room_ < (want_len)) { \
			if (r_ != -1 || p != obuf_) \
				unit_fail(__FILE__, __LINE__, "%s fits in %zu bytes", #call, room_); \
		} else { \
			CHECK(r_ == 0); \
			CHECK_EQ_INT(p - obuf_, (want_len)); \
			CHECK_EQ_MEM(obuf_, (want), (want_len)); \
		} \
		(void)end; \
	} \
} while (0)

static int encode_ack(char **p, char *end)
{
	static const struct spop_data allow = {
		.type = SPOP_DATA_STR, .u.str = { "allow", 5 } };
	static const struct spop_data ok = {
		.type = SPOP_DATA_STR, .u.str = { "ok", 2 } };
	static const struct spop_data rule = { .type = SPOP_DATA_INT64, .u.sint = 7 };
	char *q = *p, *start;

	if (spop_frame_begin(&q, end, &start, SPOP_FRM_ACK, SPOP_FL_FIN, 2, 1) < 0 ||
	    spop_put_set_var(&q, end, SPOP_SCOPE_TXN, "verdict", 7, &allow) < 0 ||
	    spop_put_set_var(&q, end, SPOP_SCOPE_TXN, "reason", 6, &ok) < 0 ||
	    spop_put_set_var(&q, end, SPOP_SCOPE_TXN, "rule", 4, &rule) < 0 ||
	    spop_put_unset_var(&q, end, SPOP_SCOPE_TXN, "error", 5) < 0 ||
	    spop_frame_end(start, q) < 0)
		return -1;
	*p = q;
	return 0;
}

static int encode_ack_bigids(char **p, char *end)
{
	static const struct spop_data yes = { .type = SPOP_DATA_BOOL, .u.boolean = 1 };
	char *q = *p, *start;

	if (spop_frame_begin(&q, end, &start, SPOP_FRM_ACK, SPOP_FL_FIN,
	                     264431, 2288) < 0 ||
	    spop_put_set_var(&q, end, SPOP_SCOPE_SESS, "cached", 6, &yes) < 0 ||
	    spop_frame_end(start, q) < 0)
		return -1;
	*p = q;
	return 0;
}

TEST(agent_hello_golden)
{
	unsigned char want[256];
	long n = load_frame("agent-hello.hex", want, sizeof(want));
	struct spop_frame f;
	const char *q, *qe;
	struct spop_str k;
	struct spop_data v;

	if (n < 0)
		return;
	CHECK_ENCODER_ROOMS(want, (size_t)n,
	                    spop_put_agent_hello(&p, end, 16380, "pipelining"));

	/* decode it back */
	CHECK(spop_parse_frame((const char *)want + 4, (size_t)n - 4, &f) == 0);
	CHECK(f.type == SPOP_FRM_AGENT_HELLO && f.flags == SPOP_FL_FIN);
	CHECK(f.stream_id == 0 && f.frame_id == 0);
	q = f.payload;
	qe = f.payload + f.len;
	CHECK(spop_get_str(&q, qe, &k) == 0 && SPOP_STR_EQ(k, "version"));
	CHECK(spop_get_data(&q, qe, &v) == 0 && v.type == SPOP_DATA_STR &&
	      SPOP_STR_EQ(v.u.str, "2.0"));
	CHECK(spop_get_str(&q, qe, &k) == 0 && SPOP_STR_EQ(k, "max-frame-size"));
	CHECK(spop_get_data(&q, qe, &v) == 0 && v.type == SPOP_DATA_UINT32 &&
	      v.u.uint == 16380);
	CHECK(spop_get_str(&q, qe, &k) == 0 && SPOP_STR_EQ(k, "capabilities"));
	CHECK(spop_get_data(&q, qe, &v) == 0 && v.type == SPOP_DATA_STR &&
	      SPOP_STR_EQ(v.u.str, "pipelining"));
	CHECK(q == qe);
}

TEST(agent_hello_variants)
{
	char buf[256], *p = buf;
	struct spop_frame f;
	const char *q, *end;
	struct spop_str k;
	struct spop_data v;

	/* NULL capabilities is an empty list; a large frame size */
	CHECK(spop_put_agent_hello(&p, buf + sizeof(buf), SPOP_MAX_FRAME_SIZE, NULL) == 0);
	CHECK(spop_parse_frame(buf + 4, (size_t)(p - buf) - 4, &f) == 0);
	q = f.payload;
	end = f.payload + f.len;
	CHECK(spop_get_str(&q, end, &k) == 0 && spop_get_data(&q, end, &v) == 0);
	CHECK(spop_get_str(&q, end, &k) == 0 && spop_get_data(&q, end, &v) == 0);
	CHECK(v.type == SPOP_DATA_UINT32 && v.u.uint == SPOP_MAX_FRAME_SIZE);
	CHECK(spop_get_str(&q, end, &k) == 0 && spop_get_data(&q, end, &v) == 0);
	CHECK(SPOP_STR_EQ(k, "capabilities") && v.type == SPOP_DATA_STR && v.u.str.len == 0);
	CHECK(q == end);
}

TEST(agent_disconnect_golden)
{
	unsigned char want[256];
	long n = load_frame("agent-disconnect.hex", want, sizeof(want));
	struct spop_frame f;
	struct spop_disconnect d;

	if (n < 0)
		return;
	CHECK_ENCODER_ROOMS(want, (size_t)n,
	                    spop_put_agent_disconnect(&p, end, SPOP_ST_INVALID,
	                                              "invalid frame received"));
	/* a NULL message means the status text */
	CHECK_ENCODER_ROOMS(want, (size_t)n,
	                    spop_put_agent_disconnect(&p, end, SPOP_ST_INVALID, NULL));

	/* our DISCONNECT reads back with the HAPROXY-DISCONNECT parser */
	CHECK(spop_parse_frame((const char *)want + 4, (size_t)n - 4, &f) == 0);
	CHECK(f.type == SPOP_FRM_AGENT_DISCON && f.flags == SPOP_FL_FIN);
	CHECK(f.stream_id == 0 && f.frame_id == 0);
	CHECK(spop_parse_disconnect(f.payload, f.len, &d) == 0);
	CHECK_EQ_INT(d.status, SPOP_ST_INVALID);
	CHECK(SPOP_STR_EQ(d.message, "invalid frame received"));
}

TEST(ack_golden)
{
	unsigned char want[256];
	long n = load_frame("agent-ack.hex", want, sizeof(want));
	struct spop_frame f;
	struct action a;
	const char *q, *qe;

	if (n < 0)
		return;
	CHECK_ENCODER_ROOMS(want, (size_t)n, encode_ack(&p, end));

	CHECK(spop_parse_frame((const char *)want + 4, (size_t)n - 4, &f) == 0);
	CHECK(f.type == SPOP_FRM_ACK && f.flags == SPOP_FL_FIN);
	CHECK(f.stream_id == 2 && f.frame_id == 1);
	q = f.payload;
	qe = f.payload + f.len;
	CHECK(get_action(&q, qe, &a) == 0);
	CHECK(a.type == SPOP_ACT_SET_VAR && a.scope == SPOP_SCOPE_TXN);
	CHECK(SPOP_STR_EQ(a.name, "verdict") && SPOP_STR_EQ(a.val.u.str, "allow"));
	CHECK(get_action(&q, qe, &a) == 0);
	CHECK(SPOP_STR_EQ(a.name, "reason") && SPOP_STR_EQ(a.val.u.str, "ok"));
	CHECK(get_action(&q, qe, &a) == 0);
	CHECK(SPOP_STR_EQ(a.name, "rule") && a.val.type == SPOP_DATA_INT64 &&
	      a.val.u.sint == 7);
	CHECK(get_action(&q, qe, &a) == 0);
	CHECK(a.type == SPOP_ACT_UNSET_VAR && a.scope == SPOP_SCOPE_TXN);
	CHECK(SPOP_STR_EQ(a.name, "error"));
	CHECK(q == qe);
}

TEST(ack_golden_bigids)
{
	unsigned char want[64];
	long n = load_frame("agent-ack-bigids.hex", want, sizeof(want));
	struct spop_frame f;
	struct action a;
	const char *q;

	if (n < 0)
		return;
	CHECK_ENCODER_ROOMS(want, (size_t)n, encode_ack_bigids(&p, end));
	CHECK(spop_parse_frame((const char *)want + 4, (size_t)n - 4, &f) == 0);
	CHECK(f.stream_id == 264431 && f.frame_id == 2288);
	q = f.payload;
	CHECK(get_action(&q, f.payload + f.len, &a) == 0);
	CHECK(a.type == SPOP_ACT_SET_VAR && a.scope == SPOP_SCOPE_SESS);
	CHECK(SPOP_STR_EQ(a.name, "cached") && a.val.type == SPOP_DATA_BOOL &&
	      a.val.u.boolean);
}

TEST(actions_every_scope_and_type)
{
	static const enum spop_scope scopes[] = {
		SPOP_SCOPE_PROC, SPOP_SCOPE_SESS, SPOP_SCOPE_TXN,
		SPOP_SCOPE_REQ, SPOP_SCOPE_RES,
	};
	size_t s, i;

	for (s = 0; s < ARRAY_SIZE(scopes); s++) {
		for (i = 0; i < ARRAY_SIZE(datas); i++) {
			char buf[64], *p = buf;
			const char *q = buf;
			struct action a;
			size_t full, room;

			CHECK(spop_put_set_var(&p, buf + sizeof(buf), scopes[s],
			                       "v", 1, &datas[i].d) == 0);
			full = (size_t)(p - buf);
			CHECK_EQ_INT(full, 3 + 2 + datas[i].len);
			CHECK(get_action(&q, p, &a) == 0 && q == p);
			CHECK(a.scope == (unsigned int)scopes[s]);
			CHECK(data_equal(&a.val, &datas[i].d));
			for (room = 0; room < full; room++) {
				p = buf;
				CHECK(spop_put_set_var(&p, buf + room, scopes[s], "v", 1,
				                       &datas[i].d) == -1);
				CHECK(p == buf);
			}
		}
	}
	/* NULL value pointer: SET-VAR with NULL (unsets in HAProxy) */
	{
		char buf[16], *p = buf;

		CHECK(spop_put_set_var(&p, buf + sizeof(buf), SPOP_SCOPE_TXN, "x", 1, NULL) == 0);
		CHECK_EQ_INT(p - buf, 6);
		CHECK_EQ_MEM(buf, "\x01\x03\x02\x01x\x00", 6);
	}
	/* unset-var: exact bytes and every short room */
	CHECK_ENCODER_ROOMS("\x02\x02\x04\x03" "abc", 7,
	                    spop_put_unset_var(&p, end, SPOP_SCOPE_RES, "abc", 3));
	/* bad scope, unencodable value */
	{
		char buf[32], *p = buf;
		struct spop_data bad = { .type = SPOP_DATA_UINT32, .u.uint = 1ULL << 40 };

		CHECK(spop_put_set_var(&p, buf + sizeof(buf), (enum spop_scope)5,
		                       "x", 1, &datas[0].d) == -1);
		CHECK(spop_put_unset_var(&p, buf + sizeof(buf), (enum spop_scope)9, "x", 1) == -1);
		CHECK(spop_put_set_var(&p, buf + sizeof(buf), SPOP_SCOPE_TXN, "x", 1, &bad) == -1);
		CHECK(p == buf);
	}
}

TEST(frame_begin_end)
{
	char buf[64], *p, *start = NULL;
	size_t room;
	struct spop_frame f;

	/* header room: 4 + 1 + 4 + 3 + 10 bytes for these ids */
	for (room = 0; room < 22; room++) {
		p = buf;
		CHECK(spop_frame_begin(&p, buf + room, &start, SPOP_FRM_ACK, SPOP_FL_FIN,
		                       264431, UINT64_MAX) == -1);
		CHECK(p == buf && start == NULL);
	}
	p = buf;
	CHECK(spop_frame_begin(&p, buf + 22, &start, SPOP_FRM_ACK,
	                       SPOP_FL_FIN | SPOP_FL_ABORT, 264431, UINT64_MAX) == 0);
	CHECK(start == buf && p == buf + 22);
	memcpy(p, "xyz", 3);
	p += 3;
	CHECK(spop_frame_end(start, p) == 0);
	CHECK_EQ_MEM(buf, "\x00\x00\x00\x15\x67\x00\x00\x00\x03", 9);
	CHECK(spop_parse_frame(buf + 4, 0x15, &f) == 0);
	CHECK(f.type == SPOP_FRM_ACK && f.flags == 3);
	CHECK(f.stream_id == 264431 && f.frame_id == UINT64_MAX);
	CHECK(f.len == 3 && memcmp(f.payload, "xyz", 3) == 0);

	/* the largest header fits SPOP_FRAME_HDR_MAX */
	p = buf;
	CHECK(spop_frame_begin(&p, buf + SPOP_FRAME_HDR_MAX, &start, SPOP_FRM_ACK,
	                       SPOP_FL_FIN, UINT64_MAX, UINT64_MAX) == 0);
	CHECK_EQ_INT(p - buf, SPOP_FRAME_HDR_MAX);

	/* end before the length prefix is complete */
	CHECK(spop_frame_end(buf, buf + 3) == -1);
	CHECK(spop_frame_end(buf, buf + 4) == 0);
	CHECK_EQ_MEM(buf, "\x00\x00\x00\x00", 4);
}

/* ---- status texts ------------------------------------------------------------ */

TEST(status_strings)
{
	static const enum spop_status all[] = {
		SPOP_ST_NONE, SPOP_ST_IO, SPOP_ST_TIMEOUT, SPOP_ST_TOO_BIG,
		SPOP_ST_INVALID, SPOP_ST_NO_VERSION, SPOP_ST_NO_FRAME_SIZE,
		SPOP_ST_NO_CAPS, SPOP_ST_BAD_VERSION, SPOP_ST_BAD_FRAME_SIZE,
		SPOP_ST_FRAG_NOT_SUPP, SPOP_ST_INTERLACED, SPOP_ST_FRAMEID_NOTFOUND,
		SPOP_ST_RES,
	};
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(all); i++) {
		const char *s = spop_status_str(all[i]);

		CHECK(s != NULL && s[0] != '\0');
		if (strcmp(s, "unknown error") == 0)
			unit_fail(__FILE__, __LINE__, "status %d has no text", (int)all[i]);
		for (j = 0; j < i; j++)
			CHECK(strcmp(s, spop_status_str(all[j])) != 0);
	}
	CHECK_EQ_STR(spop_status_str(SPOP_ST_INVALID), "invalid frame received");
	CHECK_EQ_STR(spop_status_str(SPOP_ST_UNKNOWN), "unknown error");
	CHECK_EQ_STR(spop_status_str(14), "unknown error");
	CHECK_EQ_STR(spop_status_str(98), "unknown error");
	CHECK_EQ_STR(spop_status_str(SPOP_ST_COUNT), "unknown error");
	CHECK_EQ_STR(spop_status_str(~0U), "unknown error");
}

TEST(str_eq_views)
{
	struct spop_str absent = { NULL, 0 };
	struct spop_str abc = { "abcd", 3 };

	CHECK(SPOP_STR_EQ(absent, ""));
	CHECK(!SPOP_STR_EQ(absent, "a"));
	CHECK(SPOP_STR_EQ(abc, "abc"));
	CHECK(!SPOP_STR_EQ(abc, "abcd"));
	CHECK(!SPOP_STR_EQ(abc, "ab"));
}
