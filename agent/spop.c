/* SPOP 2.0 codec: varints, typed data, KV lists, frame headers, HELLO,
 * DISCONNECT, NOTIFY messages and ACK actions.
 *
 * Pure: no I/O, no allocation, no clock, no global state. Every decoder
 * works on a cursor (*p, end) over untrusted bytes: it returns 0 and moves
 * *p past what it read, or returns -1 and leaves *p as it was. Every
 * encoder writes into (*p, end): it returns 0 and moves *p past what it
 * wrote, or returns -1 (does not fit, or the value cannot be encoded) and
 * leaves *p as it was; the bytes between *p and end are then unspecified.
 *
 * Lengths from the wire are only ever compared with (end - p), never added
 * to a pointer before that comparison. Names are compared on exact length
 * with memcmp, never as C strings. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spop.h"

/* Write one byte at *q if it fits. Used by the encoders on a local cursor. */
static int put_byte(char **q, char *end, unsigned char c)
{
	if (*q >= end)
		return -1;
	*(*q)++ = (char)c;
	return 0;
}

static int put_bytes(char **q, char *end, const void *src, size_t len)
{
	if ((size_t)(end - *q) < len)
		return -1;
	if (len)
		memcpy(*q, src, len);
	*q += len;
	return 0;
}

/* Two's-complement reinterpretation without implementation-defined casts. */
static int64_t u64_to_s64(uint64_t u)
{
	if (u <= (uint64_t)INT64_MAX)
		return (int64_t)u;
	return -(int64_t)(~u) - 1;
}

static uint64_t s64_to_u64(int64_t s)
{
	return (uint64_t)s;   /* well defined: reduced modulo 2^64 */
}

/*
 * Varints.
 *
 * A value below 240 is one byte. Above, the first byte carries the low four
 * bits with 0xf0 set, and each following byte b (continuation bit included)
 * adds b << shift, shift starting at 4 and growing by 7; the byte without
 * its high bit ends the number. The layout is a bijection (each length
 * covers its own range), so the only malformed inputs are running past the
 * end, past SPOP_VARINT_MAX_LEN bytes, or past 2^64 - 1.
 */
int spop_get_varint(const char **p, const char *end, uint64_t *v)
{
	const unsigned char *q = (const unsigned char *)*p;
	const unsigned char *e = (const unsigned char *)end;
	uint64_t r, term;
	unsigned int shift = 4, n = 1;
	unsigned char b;

	if (q >= e)
		return -1;
	r = *q++;
	if (r >= 240) {
		do {
			if (q >= e || n >= SPOP_VARINT_MAX_LEN)
				return -1;
			b = *q++;
			n++;
			/* shift stays <= 4 + 7 * 8 = 60: no undefined shift */
			if (((uint64_t)b >> (64 - shift)) != 0)
				return -1;            /* bits would fall off */
			term = (uint64_t)b << shift;
			if (term > UINT64_MAX - r)
				return -1;            /* sum would wrap */
			r += term;
			shift += 7;
		} while (b >= 128);
	}
	*v = r;
	*p = (const char *)q;
	return 0;
}

int spop_put_varint(char **p, char *end, uint64_t v)
{
	unsigned char tmp[SPOP_VARINT_MAX_LEN];
	size_t n = 0;

	if (v < 240)                  /* every name and most lengths: one byte */
		return put_byte(p, end, (unsigned char)v);
	tmp[n++] = (unsigned char)((v & 0xff) | 0xf0);
	v = (v - 240) >> 4;
	while (v >= 128) {
		tmp[n++] = (unsigned char)((v & 0xff) | 0x80);
		v = (v - 128) >> 7;
	}
	tmp[n++] = (unsigned char)v;
	return put_bytes(p, end, tmp, n);
}

/* <varint length><bytes>. The view points into the input buffer. */
int spop_get_str(const char **p, const char *end, struct spop_str *s)
{
	const char *q = *p;
	uint64_t len;

	if (spop_get_varint(&q, end, &len) < 0)
		return -1;
	if (len > (uint64_t)(end - q))
		return -1;
	s->ptr = q;
	s->len = (size_t)len;
	*p = q + len;
	return 0;
}

int spop_put_str(char **p, char *end, const char *s, size_t len)
{
	char *q = *p;

	if (len < 240) {              /* one length byte: one bounds check */
		if ((size_t)(end - q) < len + 1)
			return -1;
		*q++ = (char)len;
		if (len)
			memcpy(q, s, len);
		*p = q + len;
		return 0;
	}
	if (spop_put_varint(&q, end, len) < 0 ||
	    put_bytes(&q, end, s, len) < 0)
		return -1;
	*p = q;
	return 0;
}

/*
 * TYPED-DATA. The low nibble is the type, the high nibble flags; flags are
 * only meaningful for BOOL and are ignored elsewhere (as HAProxy does).
 * Signed types carry the two's-complement of the value in a uint64 varint.
 */
int spop_get_data(const char **p, const char *end, struct spop_data *d)
{
	const char *q = *p;
	unsigned char tb;
	uint64_t u;

	if (q >= end)
		return -1;
	tb = (unsigned char)*q++;
	switch (tb & SPOP_DATA_TYPE_MASK) {
	case SPOP_DATA_NULL:
		d->type = SPOP_DATA_NULL;
		break;
	case SPOP_DATA_BOOL:
		d->type = SPOP_DATA_BOOL;
		d->u.boolean = (tb & SPOP_DATA_FL_TRUE) != 0;
		break;
	case SPOP_DATA_INT32:
		if (spop_get_varint(&q, end, &u) < 0)
			return -1;
		if (u64_to_s64(u) < INT32_MIN || u64_to_s64(u) > INT32_MAX)
			return -1;
		d->type = SPOP_DATA_INT32;
		d->u.sint = u64_to_s64(u);
		break;
	case SPOP_DATA_UINT32:
		if (spop_get_varint(&q, end, &u) < 0 || u > UINT32_MAX)
			return -1;
		d->type = SPOP_DATA_UINT32;
		d->u.uint = u;
		break;
	case SPOP_DATA_INT64:
		if (spop_get_varint(&q, end, &u) < 0)
			return -1;
		d->type = SPOP_DATA_INT64;
		d->u.sint = u64_to_s64(u);
		break;
	case SPOP_DATA_UINT64:
		if (spop_get_varint(&q, end, &u) < 0)
			return -1;
		d->type = SPOP_DATA_UINT64;
		d->u.uint = u;
		break;
	case SPOP_DATA_IPV4:
		if (end - q < 4)
			return -1;
		d->type = SPOP_DATA_IPV4;
		memcpy(d->u.ipv4, q, 4);
		q += 4;
		break;
	case SPOP_DATA_IPV6:
		if (end - q < 16)
			return -1;
		d->type = SPOP_DATA_IPV6;
		memcpy(d->u.ipv6, q, 16);
		q += 16;
		break;
	case SPOP_DATA_STR:
	case SPOP_DATA_BIN:
		if (spop_get_str(&q, end, &d->u.str) < 0)
			return -1;
		d->type = (enum spop_data_type)(tb & SPOP_DATA_TYPE_MASK);
		break;
	default:
		return -1;   /* 10-15 reserved */
	}
	*p = q;
	return 0;
}

int spop_put_data(char **p, char *end, const struct spop_data *d)
{
	char *q = *p;
	int ret;

	switch (d->type) {
	case SPOP_DATA_NULL:
		ret = put_byte(&q, end, SPOP_DATA_NULL);
		break;
	case SPOP_DATA_BOOL:
		ret = put_byte(&q, end, SPOP_DATA_BOOL |
		               (d->u.boolean ? SPOP_DATA_FL_TRUE : 0));
		break;
	case SPOP_DATA_INT32:
		if (d->u.sint < INT32_MIN || d->u.sint > INT32_MAX)
			return -1;
		/* fall through */
	case SPOP_DATA_INT64:
		ret = put_byte(&q, end, (unsigned char)d->type);
		if (ret == 0)
			ret = spop_put_varint(&q, end, s64_to_u64(d->u.sint));
		break;
	case SPOP_DATA_UINT32:
		if (d->u.uint > UINT32_MAX)
			return -1;
		/* fall through */
	case SPOP_DATA_UINT64:
		ret = put_byte(&q, end, (unsigned char)d->type);
		if (ret == 0)
			ret = spop_put_varint(&q, end, d->u.uint);
		break;
	case SPOP_DATA_IPV4:
		ret = put_byte(&q, end, SPOP_DATA_IPV4);
		if (ret == 0)
			ret = put_bytes(&q, end, d->u.ipv4, 4);
		break;
	case SPOP_DATA_IPV6:
		ret = put_byte(&q, end, SPOP_DATA_IPV6);
		if (ret == 0)
			ret = put_bytes(&q, end, d->u.ipv6, 16);
		break;
	case SPOP_DATA_STR:
	case SPOP_DATA_BIN:
		ret = put_byte(&q, end, (unsigned char)d->type);
		if (ret == 0)
			ret = spop_put_str(&q, end, d->u.str.ptr, d->u.str.len);
		break;
	default:
		return -1;
	}
	if (ret < 0)
		return -1;
	*p = q;
	return 0;
}

/* Frame header: TYPE(1) FLAGS(4, big endian) STREAM-ID FRAME-ID PAYLOAD. */
int spop_parse_frame(const char *buf, size_t len, struct spop_frame *f)
{
	const unsigned char *u = (const unsigned char *)buf;
	const char *q, *end;
	uint64_t sid, fid;

	if (len < 1 + 4 + 1 + 1)
		return -1;
	q = buf + 5;
	end = buf + len;
	if (spop_get_varint(&q, end, &sid) < 0 ||
	    spop_get_varint(&q, end, &fid) < 0)
		return -1;
	f->type = u[0];
	f->flags = (uint32_t)u[1] << 24 | (uint32_t)u[2] << 16 |
	           (uint32_t)u[3] << 8 | (uint32_t)u[4];
	f->stream_id = sid;
	f->frame_id = fid;
	f->payload = q;
	f->len = (size_t)(end - q);
	return 0;
}

/*
 * Comma-separated lists ("2.0, 1.5", "pipelining,async"). Spaces and tabs
 * around items are ignored, and so are empty items ("" is an empty list).
 * list_next() returns 0 and the next item in *item, or -1 at the end.
 */
static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int list_next(const char **p, const char *end, struct spop_str *item)
{
	const char *q = *p, *b, *e;

	for (;;) {
		if (q >= end)
			return -1;
		b = q;
		while (q < end && *q != ',')
			q++;
		e = q;
		if (q < end)
			q++;                  /* skip the comma */
		while (b < e && is_blank(*b))
			b++;
		while (e > b && is_blank(e[-1]))
			e--;
		if (e > b)
			break;
	}
	item->ptr = b;
	item->len = (size_t)(e - b);
	*p = q;
	return 0;
}

/* "Major.Minor" (or a bare "Major") whose major is 2. */
static int version_is_2x(struct spop_str v)
{
	size_t i = 0, n;
	unsigned int major = 0;

	for (n = 0; i < v.len && v.ptr[i] >= '0' && v.ptr[i] <= '9'; i++, n++) {
		if (n >= 9)
			return 0;             /* absurd; cannot be 2 anyway */
		major = major * 10 + (unsigned int)(v.ptr[i] - '0');
	}
	if (n == 0)
		return 0;
	if (i < v.len) {
		if (v.ptr[i++] != '.' || i == v.len)
			return 0;
		for (; i < v.len; i++)
			if (v.ptr[i] < '0' || v.ptr[i] > '9')
				return 0;
	}
	return major == 2;
}

/* Any integer type, as a plain number: -1 if negative or not an integer. */
static int data_to_u64(const struct spop_data *d, uint64_t *v)
{
	switch (d->type) {
	case SPOP_DATA_INT32:
	case SPOP_DATA_INT64:
		if (d->u.sint < 0)
			return -1;
		*v = (uint64_t)d->u.sint;
		return 0;
	case SPOP_DATA_UINT32:
	case SPOP_DATA_UINT64:
		*v = d->u.uint;
		return 0;
	default:
		return -1;
	}
}

static int data_is_int(const struct spop_data *d)
{
	return d->type == SPOP_DATA_INT32 || d->type == SPOP_DATA_UINT32 ||
	       d->type == SPOP_DATA_INT64 || d->type == SPOP_DATA_UINT64;
}

int spop_parse_hello(const char *p, size_t len, struct spop_hello *h,
                     enum spop_status *err)
{
	const char *end = p + len, *lp;
	enum spop_status st = SPOP_ST_INVALID;
	struct spop_str key, item;
	struct spop_data val;
	uint64_t fs;

	memset(h, 0, sizeof(*h));
	while (p < end) {
		if (spop_get_str(&p, end, &key) < 0 ||
		    spop_get_data(&p, end, &val) < 0)
			goto out;

		if (SPOP_STR_EQ(key, "supported-versions")) {
			if (val.type != SPOP_DATA_STR)
				goto out;
			h->has_version = 1;
			h->version_ok = 0;
			lp = val.u.str.ptr;
			while (list_next(&lp, val.u.str.ptr + val.u.str.len, &item) == 0)
				if (version_is_2x(item))
					h->version_ok = 1;
		} else if (SPOP_STR_EQ(key, "max-frame-size")) {
			if (!data_is_int(&val))
				goto out;
			h->has_max_frame_size = 1;
			if (data_to_u64(&val, &fs) < 0 || fs > UINT32_MAX) {
				/* cannot be a frame size at all */
				h->max_frame_size = 0;
			} else {
				h->max_frame_size = (uint32_t)fs;
			}
		} else if (SPOP_STR_EQ(key, "capabilities")) {
			if (val.type != SPOP_DATA_STR)
				goto out;
			h->has_capabilities = 1;
			h->cap_pipelining = h->cap_async = h->cap_fragmentation = 0;
			lp = val.u.str.ptr;
			while (list_next(&lp, val.u.str.ptr + val.u.str.len, &item) == 0) {
				if (SPOP_STR_EQ(item, "pipelining"))
					h->cap_pipelining = 1;
				else if (SPOP_STR_EQ(item, "async"))
					h->cap_async = 1;
				else if (SPOP_STR_EQ(item, "fragmentation"))
					h->cap_fragmentation = 1;
			}
		} else if (SPOP_STR_EQ(key, "healthcheck")) {
			if (val.type != SPOP_DATA_BOOL)
				goto out;
			h->healthcheck = val.u.boolean;
		} else if (SPOP_STR_EQ(key, "engine-id")) {
			if (val.type != SPOP_DATA_STR)
				goto out;
			h->engine_id = val.u.str;
		}
		/* anything else: skipped, whatever its type */
	}

	if (!h->has_version)
		st = SPOP_ST_NO_VERSION;
	else if (!h->version_ok)
		st = SPOP_ST_BAD_VERSION;
	else if (!h->has_max_frame_size)
		st = SPOP_ST_NO_FRAME_SIZE;
	else if (h->max_frame_size < SPOP_MIN_FRAME_SIZE)
		st = SPOP_ST_BAD_FRAME_SIZE;
	else if (!h->has_capabilities)
		st = SPOP_ST_NO_CAPS;
	else
		st = SPOP_ST_NONE;
 out:
	if (err)
		*err = st;
	return st == SPOP_ST_NONE ? 0 : -1;
}

int spop_parse_disconnect(const char *p, size_t len, struct spop_disconnect *d)
{
	const char *end = p + len;
	struct spop_str key;
	struct spop_data val;
	uint64_t code;

	memset(d, 0, sizeof(*d));
	while (p < end) {
		if (spop_get_str(&p, end, &key) < 0 ||
		    spop_get_data(&p, end, &val) < 0)
			return -1;
		if (SPOP_STR_EQ(key, "status-code")) {
			if (data_to_u64(&val, &code) < 0 || code > UINT32_MAX)
				return -1;
			d->status = (uint32_t)code;
		} else if (SPOP_STR_EQ(key, "message")) {
			if (val.type != SPOP_DATA_STR)
				return -1;
			d->message = val.u.str;
		}
	}
	return 0;
}

int spop_get_message(const char **p, const char *end, struct spop_str *name,
                     unsigned int *nb_args)
{
	const char *q = *p;
	struct spop_str n;

	if (spop_get_str(&q, end, &n) < 0 || q >= end)
		return -1;
	*nb_args = (unsigned char)*q++;
	*name = n;
	*p = q;
	return 0;
}

int spop_get_arg(const char **p, const char *end, struct spop_str *name,
                 struct spop_data *val)
{
	const char *q = *p;
	struct spop_str n;
	struct spop_data v;

	if (spop_get_str(&q, end, &n) < 0 || spop_get_data(&q, end, &v) < 0)
		return -1;
	*name = n;
	*val = v;
	*p = q;
	return 0;
}

int spop_frame_begin(char **p, char *end, char **start, uint8_t type,
                     uint32_t flags, uint64_t stream_id, uint64_t frame_id)
{
	char *q = *p;
	unsigned char hdr[4 + 1 + 4] = {
		0, 0, 0, 0,           /* length, patched by spop_frame_end() */
		type,
		(unsigned char)(flags >> 24), (unsigned char)(flags >> 16),
		(unsigned char)(flags >> 8), (unsigned char)flags,
	};

	if (put_bytes(&q, end, hdr, sizeof(hdr)) < 0 ||
	    spop_put_varint(&q, end, stream_id) < 0 ||
	    spop_put_varint(&q, end, frame_id) < 0)
		return -1;
	*start = *p;
	*p = q;
	return 0;
}

int spop_frame_end(char *start, const char *p)
{
	size_t len;

	if (p < start + 4)
		return -1;
	len = (size_t)(p - start - 4);
	if (len > UINT32_MAX)
		return -1;
	start[0] = (char)(len >> 24);
	start[1] = (char)(len >> 16);
	start[2] = (char)(len >> 8);
	start[3] = (char)len;
	return 0;
}

/* KV item with a STRING value. */
static int put_kv_str(char **q, char *end, const char *key, const char *val)
{
	struct spop_data d = { .type = SPOP_DATA_STR };

	d.u.str.ptr = val;
	d.u.str.len = strlen(val);
	if (spop_put_str(q, end, key, strlen(key)) < 0)
		return -1;
	return spop_put_data(q, end, &d);
}

/* KV item with a UINT32 value. */
static int put_kv_u32(char **q, char *end, const char *key, uint32_t val)
{
	struct spop_data d = { .type = SPOP_DATA_UINT32, .u.uint = val };

	if (spop_put_str(q, end, key, strlen(key)) < 0)
		return -1;
	return spop_put_data(q, end, &d);
}

int spop_put_agent_hello(char **p, char *end, uint32_t max_frame_size,
                         const char *capabilities)
{
	char *q = *p, *start;

	if (spop_frame_begin(&q, end, &start, SPOP_FRM_AGENT_HELLO,
	                     SPOP_FL_FIN, 0, 0) < 0 ||
	    put_kv_str(&q, end, "version", SPOP_VERSION) < 0 ||
	    put_kv_u32(&q, end, "max-frame-size", max_frame_size) < 0 ||
	    put_kv_str(&q, end, "capabilities",
	               capabilities ? capabilities : "") < 0 ||
	    spop_frame_end(start, q) < 0)
		return -1;
	*p = q;
	return 0;
}

int spop_put_agent_disconnect(char **p, char *end, enum spop_status status,
                              const char *message)
{
	char *q = *p, *start;

	if (!message)
		message = spop_status_str(status);
	if (spop_frame_begin(&q, end, &start, SPOP_FRM_AGENT_DISCON,
	                     SPOP_FL_FIN, 0, 0) < 0 ||
	    put_kv_u32(&q, end, "status-code", (uint32_t)status) < 0 ||
	    put_kv_str(&q, end, "message", message) < 0 ||
	    spop_frame_end(start, q) < 0)
		return -1;
	*p = q;
	return 0;
}

int spop_put_set_var(char **p, char *end, enum spop_scope scope,
                     const char *name, size_t name_len,
                     const struct spop_data *val)
{
	static const struct spop_data null_data = { .type = SPOP_DATA_NULL };
	unsigned char hdr[3] = { SPOP_ACT_SET_VAR, 3, (unsigned char)scope };
	char *q = *p;

	if ((unsigned int)scope > SPOP_SCOPE_RES)
		return -1;
	if (!val)
		val = &null_data;
	/* the ACK's usual case, a short name and a short string: one bounds
	 * check, the same bytes as the general path below */
	if ((val->type == SPOP_DATA_STR || val->type == SPOP_DATA_BIN) &&
	    name_len < 240 && val->u.str.len < 240) {
		size_t vlen = val->u.str.len;

		if ((size_t)(end - q) < sizeof(hdr) + 1 + name_len + 2 + vlen)
			return -1;
		memcpy(q, hdr, sizeof(hdr));
		q += sizeof(hdr);
		*q++ = (char)name_len;
		if (name_len)
			memcpy(q, name, name_len);
		q += name_len;
		*q++ = (char)val->type;
		*q++ = (char)vlen;
		if (vlen)
			memcpy(q, val->u.str.ptr, vlen);
		*p = q + vlen;
		return 0;
	}
	if (put_bytes(&q, end, hdr, sizeof(hdr)) < 0 ||
	    spop_put_str(&q, end, name, name_len) < 0 ||
	    spop_put_data(&q, end, val) < 0)
		return -1;
	*p = q;
	return 0;
}

int spop_put_unset_var(char **p, char *end, enum spop_scope scope,
                       const char *name, size_t name_len)
{
	unsigned char hdr[3] = { SPOP_ACT_UNSET_VAR, 2, (unsigned char)scope };
	char *q = *p;

	if ((unsigned int)scope > SPOP_SCOPE_RES)
		return -1;
	if (put_bytes(&q, end, hdr, sizeof(hdr)) < 0 ||
	    spop_put_str(&q, end, name, name_len) < 0)
		return -1;
	*p = q;
	return 0;
}

static const char *const spop_status_msgs[SPOP_ST_COUNT] = {
	[SPOP_ST_NONE]             = "normal",
	[SPOP_ST_IO]               = "I/O error",
	[SPOP_ST_TIMEOUT]          = "a timeout occurred",
	[SPOP_ST_TOO_BIG]          = "frame is too big",
	[SPOP_ST_INVALID]          = "invalid frame received",
	[SPOP_ST_NO_VERSION]       = "version value not found",
	[SPOP_ST_NO_FRAME_SIZE]    = "max-frame-size value not found",
	[SPOP_ST_NO_CAPS]          = "capabilities value not found",
	[SPOP_ST_BAD_VERSION]      = "unsupported version",
	[SPOP_ST_BAD_FRAME_SIZE]   = "max-frame-size too big or too small",
	[SPOP_ST_FRAG_NOT_SUPP]    = "fragmentation not supported",
	[SPOP_ST_INTERLACED]       = "invalid interlaced frames",
	[SPOP_ST_FRAMEID_NOTFOUND] = "frame-id not found",
	[SPOP_ST_RES]              = "resource allocation error",
	[SPOP_ST_UNKNOWN]          = "unknown error",
};

const char *spop_status_str(unsigned int status)
{
	if (status >= SPOP_ST_COUNT || !spop_status_msgs[status])
		return "unknown error";
	return spop_status_msgs[status];
}
