/* certspoa probe: the HTTP/1.1 answer, parsed. Pure: bytes in, fields out
 * (no sockets), so the unit tests feed it hostile answers. Every read is
 * bounded by the length given; the buffer need not be NUL-terminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe.h"
#include "strutil.h"

const char *probe_http_head_end(const char *buf, size_t len)
{
	const char *e = memmem(buf, len, "\r\n\r\n", 4);

	return e ? e + 4 : NULL;
}

static int name_is(const char *s, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp(s, name, n) == 0;
}

/* Decimal (base 10) or hex digits in [s, end), at most 15 of them.
 * Returns the value, or -1 when there is none, too many, or something
 * other than digits before the optional stop byte. */
static long long number(const char *s, const char *end, int base, char stop)
{
	long long v = 0;
	int n = 0, d;

	for (; s < end && *s != stop; s++, n++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		if (n >= 15)
			return -1;
		v = v * base + d;
	}
	return n ? v : -1;
}

/* Each header line of the block [buf, he): first line (status) skipped. */
struct hline {
	const char *name, *value;
	size_t nlen, vlen;
};

static int next_header(const char **l, const char *he, struct hline *h)
{
	const char *nl, *c, *v, *ve;

	while (*l < he) {
		nl = memmem(*l, (size_t)(he - *l), "\r\n", 2);
		if (!nl || nl == *l)
			return 0;
		c = memchr(*l, ':', (size_t)(nl - *l));
		if (!c) {
			*l = nl + 2;
			continue;
		}
		v = c + 1;
		while (v < nl && (*v == ' ' || *v == '\t'))
			v++;
		ve = nl;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		h->name = *l;
		h->nlen = (size_t)(c - *l);
		h->value = v;
		h->vlen = (size_t)(ve - v);
		*l = nl + 2;
		return 1;
	}
	return 0;
}

static const char *first_header(const char *buf, const char *he)
{
	const char *nl = memmem(buf, (size_t)(he - buf), "\r\n", 2);

	return nl ? nl + 2 : he;
}

long long probe_http_content_length(const char *buf, size_t len)
{
	const char *he = probe_http_head_end(buf, len), *l;
	struct hline h;
	long long v = -1;

	if (!he)
		return -1;
	l = first_header(buf, he);
	while (next_header(&l, he, &h))
		if (name_is(h.name, h.nlen, "content-length"))
			v = number(h.value, h.value + h.vlen, 10, '\0');
	return v;
}

int probe_http_complete(const char *buf, size_t len)
{
	const char *he = probe_http_head_end(buf, len);
	long long cl;

	if (!he)
		return 0;
	cl = probe_http_content_length(buf, len);
	return cl >= 0 && (long long)(len - (size_t)(he - buf)) >= cl;
}

/* Decode a chunked body in place. Returns the decoded length: what was
 * decoded so far when the chunking is cut or malformed. */
static size_t dechunk(char *b, size_t len)
{
	size_t in = 0, out = 0;
	long long sz;

	while (in < len) {
		const char *nl = memmem(b + in, len - in, "\r\n", 2);

		if (!nl)
			break;
		sz = number(b + in, nl, 16, ';');    /* ";ext" is allowed after the size */
		in = (size_t)(nl - b) + 2;
		if (sz <= 0 || (unsigned long long)sz > len - in)
			break;
		memmove(b + out, b + in, (size_t)sz);
		out += (size_t)sz;
		in += (size_t)sz;
		if (len - in >= 2 && b[in] == '\r' && b[in + 1] == '\n')
			in += 2;
	}
	return out;
}

int probe_http_parse(const char *buf, size_t len, struct probe_http *a)
{
	const char *he = probe_http_head_end(buf, len), *l;
	struct hline h;
	int chunked = 0;
	long long cl, st;
	size_t blen;

	memset(a, 0, sizeof(*a));
	if (!he || len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || (buf[7] != '0' && buf[7] != '1')) {
		a->error = "the answer is not HTTP/1.x";
		return -1;
	}
	st = number(buf + 9, buf + 12, 10, '\0');
	if (buf[8] != ' ' || st < 100 || st > 999 || (buf[12] != ' ' && buf[12] != '\r')) {
		a->error = "bad HTTP status line";
		return -1;
	}
	a->status = (int)st;
	l = first_header(buf, he);
	while (next_header(&l, he, &h)) {
		if (name_is(h.name, h.nlen, "transfer-encoding") && h.vlen >= 7 &&
		    strncasecmp(h.value + h.vlen - 7, "chunked", 7) == 0)
			chunked = 1;
		if (h.nlen > 11 && h.nlen < sizeof(a->hdrs[0].name) &&
		    strncasecmp(h.name, "x-certspoa-", 11) == 0 && a->nhdrs < PROBE_MAX_HDRS) {
			struct probe_hdr *ph = &a->hdrs[a->nhdrs++];
			size_t vn = h.vlen < sizeof(ph->value) - 1 ? h.vlen : sizeof(ph->value) - 1;

			str_lower_n(ph->name, h.name, h.nlen);
			ph->name[h.nlen] = '\0';
			memcpy(ph->value, h.value, vn);
			ph->value[vn] = '\0';
			ph->cut = vn < h.vlen;
		}
	}
	blen = len - (size_t)(he - buf);
	cl = probe_http_content_length(buf, len);
	if (!chunked && cl >= 0 && (long long)blen > cl)
		blen = (size_t)cl;
	if (!(a->body = malloc(blen + 1))) {
		a->error = "out of memory";
		return -1;
	}
	memcpy(a->body, he, blen);
	if (chunked)
		blen = dechunk(a->body, blen);
	a->body[blen] = '\0';
	a->body_len = blen;
	return 0;
}

const char *probe_http_hdr(const struct probe_http *a, const char *lname)
{
	const char *v = NULL;

	for (int i = 0; i < a->nhdrs; i++)
		if (strcmp(a->hdrs[i].name, lname) == 0)
			v = a->hdrs[i].value;      /* the last one wins */
	return v;
}

void probe_http_free(struct probe_http *a)
{
	free(a->body);
	a->body = NULL;
	a->body_len = 0;
}
