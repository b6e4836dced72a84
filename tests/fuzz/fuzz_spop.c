/* Fuzz target: the SPOP codec (agent/spop.c).
 *
 * The input is read as a stream of length-prefixed frames, as HAProxy sends
 * them (the golden frames in tests/frames/ are seeds as they are); a frame
 * whose length runs past the input takes the rest. Each frame header is
 * decoded and re-encoded (varints are a bijection, so the bytes must come
 * back identical), and its payload goes to the decoder of its type:
 * HAPROXY-HELLO, HAPROXY-DISCONNECT, NOTIFY messages and arguments (each
 * argument is re-encoded and compared with the bytes it came from). A frame
 * of any other type is given to all three. Then the encoders run on values
 * taken from the input, into buffers of input-chosen size, and what they
 * produce is decoded again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "spop.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int within(const char *p, size_t n, const char *lo, const char *hi)
{
	return n == 0 || (p >= lo && p <= hi && n <= (size_t)(hi - p));
}

/* decode(bytes) then encode must give the same bytes back, and
 * encode(v) then decode must give v. */
static void check_varint(const char *buf, size_t len)
{
	const char *p = buf;
	char tmp[SPOP_VARINT_MAX_LEN], *q = tmp;
	uint64_t v, w;

	if (spop_get_varint(&p, buf + len, &v) == 0) {
		FUZZ_ASSERT(p > buf && p - buf <= SPOP_VARINT_MAX_LEN);
		FUZZ_ASSERT(spop_put_varint(&q, tmp + sizeof(tmp), v) == 0);
		FUZZ_ASSERT(q - tmp == p - buf && memcmp(tmp, buf, (size_t)(q - tmp)) == 0);
	} else {
		FUZZ_ASSERT(p == buf);
	}
	if (len >= 8) {
		memcpy(&v, buf, 8);
		q = tmp;
		FUZZ_ASSERT(spop_put_varint(&q, tmp + sizeof(tmp), v) == 0);
		p = tmp;
		FUZZ_ASSERT(spop_get_varint(&p, q, &w) == 0 && w == v && p == q);
	}
}

/* One KV item or NOTIFY argument [start, end_of_item): re-encode name and
 * value and compare. The type byte's high nibble is only meaningful for
 * BOOL (its "true" bit); other flag bits are ignored on decode. */
static void check_item_roundtrip(const char *start, const char *stop,
                                 struct spop_str name, const struct spop_data *v)
{
	char tmp[64 + SPOP_VARINT_MAX_LEN * 2 + 16];
	char *q = tmp, *end = tmp + sizeof(tmp);
	size_t n = (size_t)(stop - start), tpos;

	if (v->type == SPOP_DATA_STR || v->type == SPOP_DATA_BIN) {
		char *big = malloc(n + 1);

		/* strings of any length: re-encode into a heap buffer */
		q = big;
		FUZZ_ASSERT(big);
		FUZZ_ASSERT(spop_put_str(&q, big + n + 1, name.ptr, name.len) == 0);
		tpos = (size_t)(q - big);
		FUZZ_ASSERT(spop_put_data(&q, big + n + 1, v) == 0);
		FUZZ_ASSERT((size_t)(q - big) == n);
		FUZZ_ASSERT((big[tpos] & 0x0f) == (start[tpos] & 0x0f));
		FUZZ_ASSERT(memcmp(big, start, tpos) == 0);
		FUZZ_ASSERT(memcmp(big + tpos + 1, start + tpos + 1, n - tpos - 1) == 0);
		free(big);
		return;
	}
	if (name.len > 64)
		return;            /* does not fit tmp; long names are covered above */
	FUZZ_ASSERT(spop_put_str(&q, end, name.ptr, name.len) == 0);
	tpos = (size_t)(q - tmp);
	FUZZ_ASSERT(spop_put_data(&q, end, v) == 0);
	FUZZ_ASSERT((size_t)(q - tmp) == n);
	FUZZ_ASSERT(memcmp(tmp, start, tpos) == 0);
	FUZZ_ASSERT((tmp[tpos] & 0x0f) == (start[tpos] & 0x0f));
	if (v->type == SPOP_DATA_BOOL)
		FUZZ_ASSERT(((start[tpos] & SPOP_DATA_FL_TRUE) != 0) == (v->u.boolean != 0));
	FUZZ_ASSERT(memcmp(tmp + tpos + 1, start + tpos + 1, n - tpos - 1) == 0);
}

static void check_hello(const char *p, size_t len)
{
	struct spop_hello h;
	enum spop_status st = SPOP_ST_UNKNOWN;
	int r = spop_parse_hello(p, len, &h, &st);

	FUZZ_ASSERT(r == 0 || r == -1);
	FUZZ_ASSERT((r == 0) == (st == SPOP_ST_NONE));
	FUZZ_ASSERT(st == SPOP_ST_NONE || st == SPOP_ST_INVALID ||
	            st == SPOP_ST_NO_VERSION || st == SPOP_ST_BAD_VERSION ||
	            st == SPOP_ST_NO_FRAME_SIZE || st == SPOP_ST_BAD_FRAME_SIZE ||
	            st == SPOP_ST_NO_CAPS);
	FUZZ_ASSERT(within(h.engine_id.ptr, h.engine_id.len, p, p + len));
	if (r == 0) {
		FUZZ_ASSERT(h.has_version && h.version_ok);
		FUZZ_ASSERT(h.has_max_frame_size && h.max_frame_size >= SPOP_MIN_FRAME_SIZE);
		FUZZ_ASSERT(h.has_capabilities);
	}
	/* the status is the first thing missing, in the documented order */
	if (st == SPOP_ST_BAD_VERSION)
		FUZZ_ASSERT(h.has_version && !h.version_ok);
	if (st == SPOP_ST_NO_FRAME_SIZE || st == SPOP_ST_BAD_FRAME_SIZE ||
	    st == SPOP_ST_NO_CAPS)
		FUZZ_ASSERT(h.version_ok);
	if (st == SPOP_ST_NO_CAPS)
		FUZZ_ASSERT(h.has_max_frame_size && h.max_frame_size >= SPOP_MIN_FRAME_SIZE &&
		            !h.has_capabilities);

	/* an independent walk: the list is malformed exactly when INVALID
	 * came back, unless a known key had the wrong type (also INVALID) */
	{
		const char *q = p, *end = p + len;
		int malformed = 0;

		while (q < end) {
			const char *start = q;
			struct spop_str key;
			struct spop_data v;

			if (spop_get_str(&q, end, &key) < 0 ||
			    spop_get_data(&q, end, &v) < 0) {
				malformed = 1;
				break;
			}
			check_item_roundtrip(start, q, key, &v);
		}
		if (malformed)
			FUZZ_ASSERT(st == SPOP_ST_INVALID);
	}
}

static void check_disconnect(const char *p, size_t len)
{
	struct spop_disconnect d;
	int r = spop_parse_disconnect(p, len, &d);

	FUZZ_ASSERT(r == 0 || r == -1);
	if (r == 0)
		FUZZ_ASSERT(within(d.message.ptr, d.message.len, p, p + len));
	(void)spop_status_str(d.status);
}

static void check_notify(const char *p, size_t len)
{
	const char *q = p, *end = p + len;

	while (q < end) {
		const char *prev = q;
		struct spop_str name;
		unsigned int nb;

		if (spop_get_message(&q, end, &name, &nb) < 0) {
			FUZZ_ASSERT(q == prev);          /* no advance on error */
			return;
		}
		FUZZ_ASSERT(q > prev && q <= end && nb <= 255);
		FUZZ_ASSERT(within(name.ptr, name.len, prev, q));
		for (unsigned int i = 0; i < nb; i++) {
			const char *a = q;
			struct spop_str an;
			struct spop_data av;

			if (spop_get_arg(&q, end, &an, &av) < 0) {
				FUZZ_ASSERT(q == a);
				return;
			}
			FUZZ_ASSERT(q > a && q <= end);
			FUZZ_ASSERT(within(an.ptr, an.len, a, q));
			FUZZ_ASSERT(av.type < SPOP_DATA_TYPES);
			if (av.type == SPOP_DATA_STR || av.type == SPOP_DATA_BIN)
				FUZZ_ASSERT(within(av.u.str.ptr, av.u.str.len, a, q));
			if (av.type == SPOP_DATA_INT32)
				FUZZ_ASSERT(av.u.sint >= INT32_MIN && av.u.sint <= INT32_MAX);
			if (av.type == SPOP_DATA_UINT32)
				FUZZ_ASSERT(av.u.uint <= UINT32_MAX);
			check_item_roundtrip(a, q, an, &av);
		}
	}
}

static void check_frame(const char *buf, size_t len)
{
	struct spop_frame f;
	char hdr[SPOP_FRAME_HDR_MAX], *q = hdr, *start;
	size_t hlen;

	if (spop_parse_frame(buf, len, &f) < 0) {
		/* only too short, or a stream-id/frame-id that does not decode */
		const char *p = buf + 5;
		uint64_t v;

		FUZZ_ASSERT(len < 7 || spop_get_varint(&p, buf + len, &v) < 0 ||
		            spop_get_varint(&p, buf + len, &v) < 0);
		return;
	}
	FUZZ_ASSERT(f.payload >= buf + 7 && f.payload + f.len == buf + len);
	FUZZ_ASSERT(f.type == (uint8_t)buf[0]);
	FUZZ_ASSERT(f.flags == be32((const uint8_t *)buf + 1));

	FUZZ_ASSERT(spop_frame_begin(&q, hdr + sizeof(hdr), &start, f.type, f.flags,
	                             f.stream_id, f.frame_id) == 0);
	hlen = (size_t)(f.payload - buf);
	FUZZ_ASSERT(start == hdr && (size_t)(q - hdr) == 4 + hlen);
	FUZZ_ASSERT(memcmp(hdr + 4, buf, hlen) == 0);
	FUZZ_ASSERT(spop_frame_end(start, q) == 0 && be32((uint8_t *)hdr) == hlen);

	switch (f.type) {
	case SPOP_FRM_HAPROXY_HELLO:
		check_hello(f.payload, f.len);
		break;
	case SPOP_FRM_HAPROXY_DISCON:
		check_disconnect(f.payload, f.len);
		break;
	case SPOP_FRM_NOTIFY:
	case SPOP_FRM_UNSET:
		check_notify(f.payload, f.len);
		break;
	default:
		check_hello(f.payload, f.len);
		check_disconnect(f.payload, f.len);
		check_notify(f.payload, f.len);
		break;
	}
}

/* Walk a KV list the encoder wrote: it must decode in full. */
static void check_kv_list(const char *p, size_t len)
{
	const char *end = p + len;

	while (p < end) {
		struct spop_str k;
		struct spop_data v;

		FUZZ_ASSERT(spop_get_str(&p, end, &k) == 0);
		FUZZ_ASSERT(spop_get_data(&p, end, &v) == 0);
	}
}

/* The encoders, on values and buffer sizes taken from the input. Each
 * buffer is malloc'ed at exactly its size, so a write past it is caught. */
static void check_encoders(const uint8_t *data, size_t size)
{
	char caps[33], *buf, *p, *start;
	size_t cap, clen;
	uint32_t mfs;
	struct spop_frame f;
	struct spop_data d;
	int r;

	if (size < 8)
		return;
	cap = data[0] | (size_t)(data[1] & 0x1f) << 8;     /* 0..8191 */
	mfs = be32(data + 2);
	clen = data[6] % sizeof(caps);
	if (clen > size - 8)
		clen = size - 8;
	memcpy(caps, data + 8, clen);
	caps[clen] = 0;                 /* strlen() may stop earlier: fine */

	buf = malloc(cap ? cap : 1);
	FUZZ_ASSERT(buf);
	p = buf;
	r = spop_put_agent_hello(&p, buf + cap, mfs, caps);
	if (r == 0) {
		FUZZ_ASSERT(p > buf && p <= buf + cap);
		FUZZ_ASSERT(be32((uint8_t *)buf) == (uint32_t)(p - buf - 4));
		FUZZ_ASSERT(spop_parse_frame(buf + 4, (size_t)(p - buf - 4), &f) == 0);
		FUZZ_ASSERT(f.type == SPOP_FRM_AGENT_HELLO && f.flags == SPOP_FL_FIN);
		check_kv_list(f.payload, f.len);
	} else {
		FUZZ_ASSERT(p == buf);
	}

	p = buf;
	r = spop_put_agent_disconnect(&p, buf + cap, (enum spop_status)data[7],
	                              clen ? caps : NULL);
	if (r == 0) {
		struct spop_disconnect dc;

		FUZZ_ASSERT(spop_parse_frame(buf + 4, (size_t)(p - buf - 4), &f) == 0);
		FUZZ_ASSERT(f.type == SPOP_FRM_AGENT_DISCON);
		FUZZ_ASSERT(spop_parse_disconnect(f.payload, f.len, &dc) == 0);
		FUZZ_ASSERT(dc.status == data[7]);
	} else {
		FUZZ_ASSERT(p == buf);
	}

	/* an ACK: SET-VAR with a string from the input, then UNSET-VAR */
	p = buf;
	d.type = SPOP_DATA_STR;
	d.u.str.ptr = (const char *)data + 8;
	d.u.str.len = size - 8;
	if (spop_frame_begin(&p, buf + cap, &start, SPOP_FRM_ACK, SPOP_FL_FIN,
	                     mfs, data[6]) == 0) {
		char *before = p;

		r = spop_put_set_var(&p, buf + cap, (enum spop_scope)(data[7] % 8),
		                     caps, clen, &d);
		FUZZ_ASSERT(r == 0 ? data[7] % 8 <= SPOP_SCOPE_RES : p == before);
		if (r == 0)
			r = spop_put_unset_var(&p, buf + cap, SPOP_SCOPE_TXN, caps, clen);
		if (r == 0) {
			const char *q;
			struct spop_str n;
			struct spop_data v;

			FUZZ_ASSERT(spop_frame_end(start, p) == 0);
			FUZZ_ASSERT(spop_parse_frame(start + 4, (size_t)(p - start - 4), &f) == 0);
			FUZZ_ASSERT(f.stream_id == mfs && f.frame_id == data[6]);
			q = f.payload + 3;
			FUZZ_ASSERT(spop_get_str(&q, p, &n) == 0 && n.len == clen);
			FUZZ_ASSERT(spop_get_data(&q, p, &v) == 0 && v.type == SPOP_DATA_STR &&
			            v.u.str.len == size - 8 &&
			            memcmp(v.u.str.ptr, data + 8, size - 8) == 0);
		}
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	size_t left = size;

	check_varint((const char *)data, size);
	if (size < 4) {
		check_frame((const char *)data, size);
		return 0;
	}
	while (left >= 4) {
		size_t flen = be32(p);

		if (flen > left - 4)
			flen = left - 4;
		check_frame((const char *)p + 4, flen);
		p += 4 + flen;
		left -= 4 + flen;
	}
	check_encoders(data, size);
	return 0;
}
