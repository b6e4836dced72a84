/* Runtime denies. See rtdeny.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "errbuf.h"
#include "lists.h"
#include "rtdeny.h"
#include "rules.h"
#include "strutil.h"

/* a switch on an enum names every value: a new one is a compile error here */
#pragma GCC diagnostic warning "-Wswitch-enum"

#define RTDENY_KIND_NAME(c, word) [c] = word,
static const char *const kind_names[RTDENY_KINDS] = { RTDENY_KIND_LIST(RTDENY_KIND_NAME) };
#undef RTDENY_KIND_NAME

const char *rtdeny_kind_name(enum rtdeny_kind k)
{
	return k < RTDENY_KINDS ? kind_names[k] : "?";
}

int rtdeny_kind_parse(const char *s, size_t n, enum rtdeny_kind *k)
{
	for (int i = 0; i < RTDENY_KINDS; i++)
		if (strlen(kind_names[i]) == n && memcmp(kind_names[i], s, n) == 0) {
			*k = (enum rtdeny_kind)i;
			return 0;
		}
	return -1;
}

static int is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

int rtdeny_norm(enum rtdeny_kind k, const char *in, size_t len, char *out,
                char *err, size_t errlen)
{
	size_t n = 0;

	switch (k) {
	case RTD_THUMBPRINT:
		for (size_t i = 0; i < len; i++) {
			if (in[i] == ':')
				continue;
			if (str_hexval((unsigned char)in[i]) < 0 || n == 64) {
				set_err(err, errlen, "a thumbprint is 40 or 64 hex digits (SHA-1 or SHA-256)");
				return -1;
			}
			out[n++] = str_lower_c(in[i]);
		}
		if (n != 40 && n != 64) {
			set_err(err, errlen, "a thumbprint is 40 or 64 hex digits (SHA-1 or SHA-256)");
			return -1;
		}
		out[n] = 0;
		return 0;
	case RTD_SERIAL:
		n = lists_norm_serial(in, len, out, RTDENY_VALUE_MAX);
		if (!n || n >= RTDENY_VALUE_MAX) {
			set_err(err, errlen, "a serial is hex digits (optional '-', '0x' and ':'), at most %d octets",
			        SERIAL_MAX_OCTETS);
			return -1;
		}
		out[n] = 0;
		return 0;
	case RTD_SPKI:
		if (len != 44 || in[43] != '=') {
			set_err(err, errlen, "an spki pin is the base64 SHA-256 of the public key: 44 characters ending in '='");
			return -1;
		}
		for (size_t i = 0; i < 43; i++)
			if (!is_b64(in[i])) {
				set_err(err, errlen, "an spki pin is base64 (A-Z a-z 0-9 + /)");
				return -1;
			}
		/* 32 bytes end with 2 bits of padding: the last digit is one of 16 */
		if (strchr("AEIMQUYcgkosw048", in[42]) == NULL) {
			set_err(err, errlen, "an spki pin is the base64 of 32 bytes (its last digit cannot be '%c')", in[42]);
			return -1;
		}
		memcpy(out, in, 44);
		out[44] = 0;
		return 0;
	case RTDENY_KINDS:
		break;
	}
	set_err(err, errlen, "unknown kind");
	return -1;
}

void rtdeny_clean(char *dst, size_t cap, const char *src, size_t len, int no_space)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	for (size_t i = 0; i < n; i++) {
		char c = src[i];

		dst[i] = (c < 0x20 || c > 0x7e || (no_space && c == ' ')) ? '?' : c;
	}
	dst[n] = 0;
}

int rtdeny_serial_is_canonical(const char *v, size_t n)
{
	if (n < 2 || n % 2 || n > 2 * (SERIAL_MAX_OCTETS + 1))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
			return 0;
	/* minimal two's complement: no 00 before a byte < 80, no ff before one >= 80 */
	if (n >= 4 && v[0] == '0' && v[1] == '0' && v[2] < '8')
		return 0;
	if (n >= 4 && v[0] == 'f' && v[1] == 'f' && v[2] >= '8')
		return 0;
	return 1;
}

static int entry_cmp(enum rtdeny_kind ka, const char *va, const struct rtdeny_entry *b)
{
	if (ka != b->kind)
		return ka < b->kind ? -1 : 1;
	return strcmp(va, b->value);
}

static int is_expired(const struct rtdeny_entry *e, int64_t now)
{
	return e->expires && now >= e->expires;
}

/* Index of (kind, value) in s, or -(insertion point) - 1. */
static long search(const struct rtdeny_set *s, enum rtdeny_kind kind, const char *value)
{
	size_t lo = 0, hi = s ? s->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = entry_cmp(kind, value, &s->e[mid]);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -(long)lo - 1;
}

static struct rtdeny_set *set_alloc(size_t n)
{
	struct rtdeny_set *s = malloc(sizeof(*s) + n * sizeof(s->e[0]));

	if (s)
		s->n = 0;
	return s;
}

struct rtdeny_set *rtdeny_set_new(void)
{
	return set_alloc(0);
}

size_t rtdeny_expired(const struct rtdeny_set *s, int64_t now)
{
	size_t n = 0;

	for (size_t i = 0; s && i < s->n; i++)
		n += is_expired(&s->e[i], now);
	return n;
}

const struct rtdeny_entry *rtdeny_find(const struct rtdeny_set *s, enum rtdeny_kind kind,
                                       const char *value, int64_t now)
{
	long i = search(s, kind, value);

	if (i < 0 || is_expired(&s->e[i], now))
		return NULL;
	return &s->e[i];
}

struct rtdeny_set *rtdeny_with(const struct rtdeny_set *s, const struct rtdeny_entry *e,
                               int64_t now, int *replaced, char *err, size_t errlen)
{
	size_t have = s ? s->n : 0, live = have - rtdeny_expired(s, now);
	struct rtdeny_set *out;
	int placed = 0;

	*replaced = rtdeny_find(s, e->kind, e->value, now) != NULL;
	if (!*replaced && live >= RTDENY_MAX) {
		set_err(err, errlen, "%d runtime denies already: delete some first", RTDENY_MAX);
		return NULL;
	}
	if (!(out = set_alloc(live + 1))) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	/* a merge of the sorted entries with e, in order */
	for (size_t i = 0; i < have; i++) {
		const struct rtdeny_entry *x = &s->e[i];
		int c = entry_cmp(e->kind, e->value, x);

		if (!placed && c <= 0) {
			out->e[out->n++] = *e;
			placed = 1;
		}
		if (c == 0 || is_expired(x, now))
			continue;
		out->e[out->n++] = *x;
	}
	if (!placed)
		out->e[out->n++] = *e;
	return out;
}

struct rtdeny_set *rtdeny_without(const struct rtdeny_set *s, enum rtdeny_kind kind,
                                  const char *value, int64_t now, int *found)
{
	size_t have = s ? s->n : 0;
	struct rtdeny_set *out = set_alloc(have);

	*found = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < have; i++) {
		const struct rtdeny_entry *x = &s->e[i];

		if (entry_cmp(kind, value, x) == 0) {
			*found = !is_expired(x, now);
			continue;
		}
		if (!is_expired(x, now))
			out->e[out->n++] = *x;
	}
	return out;
}

const struct rtdeny_entry *rtdeny_match(const struct rtdeny_set *s, const struct cert_facts *f,
                                        const struct cert_ext *x, int64_t now)
{
	const struct rtdeny_entry *e;
	char serial[RTDENY_VALUE_MAX];
	size_t n;

	if (!s || !s->n || !f)
		return NULL;
	if ((e = rtdeny_find(s, RTD_THUMBPRINT, f->sha256_hex, now)) != NULL ||
	    (e = rtdeny_find(s, RTD_THUMBPRINT, f->sha1_hex, now)) != NULL)
		return e;
	n = lists_norm_serial(f->serial, strlen(f->serial), serial, sizeof(serial));
	if (n && n < sizeof(serial)) {
		serial[n] = 0;
		if ((e = rtdeny_find(s, RTD_SERIAL, serial, now)) != NULL)
			return e;
	}
	if (x && (e = rtdeny_find(s, RTD_SPKI, x->spki_pin, now)) != NULL)
		return e;
	return NULL;
}

int rtdeny_apply(const struct rtdeny_set *s, const struct cert_eval *ce, int64_t now,
                 int deny_status, struct trace *t, struct decision *d)
{
	const struct rtdeny_entry *e;

	if (!s || !s->n || !ce || !ce->parsed || d->code != DEC_ALLOW)
		return 0;
	if (!(e = rtdeny_match(s, ce->facts, ce->ext, now)))
		return 0;
	trace_add(t, "%s=fail(%s)", RTDENY_RULE, rtdeny_kind_name(e->kind));
	d->code = DEC_CERT_UNTRUSTED;
	d->status = deny_status;
	d->rule = RTDENY_RULE;
	d->shadowed = 0;
	d->would_rule = NULL;
	snprintf(d->detail, sizeof(d->detail), "denied at runtime by %s", rtdeny_kind_name(e->kind));
	trace_add(t, "verdict=deny");
	return 1;
}

int rtdeny_format_line(const struct rtdeny_entry *e, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s %s %lld %lld %s %s\n", rtdeny_kind_name(e->kind), e->value,
	                 (long long)e->expires, (long long)e->added,
	                 e->origin[0] ? e->origin : "-", e->comment);

	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* The next word of [*p, end): skips spaces; *w, *wn get it. */
static int next_word(const char **p, const char *end, const char **w, size_t *wn)
{
	const char *q = *p;

	while (q < end && *q == ' ')
		q++;
	*w = q;
	while (q < end && *q != ' ')
		q++;
	*wn = (size_t)(q - *w);
	*p = q;
	return *wn ? 0 : -1;
}

static int parse_time(const char *w, size_t n, int64_t *out)
{
	char buf[24];
	char *end;
	long long v;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, w, n);
	buf[n] = 0;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || *end || v < 0 || buf[0] == '-' || buf[0] == '+')
		return -1;
	*out = v;
	return 0;
}

int rtdeny_parse_line(const char *line, size_t len, struct rtdeny_entry *e,
                      char *err, size_t errlen)
{
	const char *p = line, *end = line + len, *w;
	size_t wn;

	memset(e, 0, sizeof(*e));
	if (len >= RTDENY_LINE_MAX) {
		set_err(err, errlen, "line too long");
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e) {
			set_err(err, errlen, "a byte that is not printable ASCII");
			return -1;
		}
	if (next_word(&p, end, &w, &wn) < 0 || rtdeny_kind_parse(w, wn, &e->kind) < 0) {
		set_err(err, errlen, "expected a kind (thumbprint, serial or spki)");
		return -1;
	}
	if (next_word(&p, end, &w, &wn) < 0) {
		set_err(err, errlen, "expected a value");
		return -1;
	}
	if (e->kind == RTD_SERIAL) {
		/* as written: the DER integer's bytes in hex (a negative serial
		 * is "ff..."; reading it as a number again would change it) */
		if (!rtdeny_serial_is_canonical(w, wn)) {
			set_err(err, errlen, "a serial here is the DER integer's bytes in lowercase hex, minimal");
			return -1;
		}
		memcpy(e->value, w, wn);
		e->value[wn] = 0;
	} else if (rtdeny_norm(e->kind, w, wn, e->value, err, errlen) < 0) {
		return -1;
	}
	if (next_word(&p, end, &w, &wn) < 0 || parse_time(w, wn, &e->expires) < 0) {
		set_err(err, errlen, "expected the expiry time (unix seconds, 0 = never)");
		return -1;
	}
	if (next_word(&p, end, &w, &wn) < 0 || parse_time(w, wn, &e->added) < 0) {
		set_err(err, errlen, "expected the time it was added (unix seconds)");
		return -1;
	}
	if (next_word(&p, end, &w, &wn) < 0) {
		set_err(err, errlen, "expected the origin");
		return -1;
	}
	rtdeny_clean(e->origin, sizeof(e->origin), w, wn, 1);
	if (p < end && *p == ' ')
		p++;
	rtdeny_clean(e->comment, sizeof(e->comment), p, (size_t)(end - p), 0);
	return 0;
}

/* While reading a file: an entry and its line, so that a value given twice
 * keeps its last line. */
struct numbered {
	struct rtdeny_entry e;
	int line;
};

static int numbered_cmp(const void *a, const void *b)
{
	const struct numbered *x = a, *y = b;
	int c = entry_cmp(x->e.kind, x->e.value, &y->e);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

struct rtdeny_set *rtdeny_parse_text(const char *text, size_t len, int64_t now,
                                     char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	struct numbered *all;
	struct rtdeny_set *s;
	size_t n = 0, cap = 1;
	char why[160];
	int lineno = 0;

	for (size_t i = 0; i < len; i++)
		cap += text[i] == '\n';
	if (cap > RTDENY_MAX * 4 + 64) {
		set_err(err, errlen, "more than %d lines", RTDENY_MAX * 4 + 64);
		return NULL;
	}
	if (!(all = calloc(cap, sizeof(*all)))) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ln = nl ? (size_t)(nl - p) : (size_t)(end - p);

		lineno++;
		if (ln && p[ln - 1] == '\r')
			ln--;
		if (ln && p[0] != '#') {
			if (rtdeny_parse_line(p, ln, &all[n].e, why, sizeof(why)) < 0) {
				set_err(err, errlen, "line %d: %s", lineno, why);
				free(all);
				return NULL;
			}
			all[n].line = lineno;
			n += !is_expired(&all[n].e, now);
		}
		p = nl ? nl + 1 : end;
	}
	qsort(all, n, sizeof(*all), numbered_cmp);
	if (!(s = set_alloc(n))) {
		set_err(err, errlen, "out of memory");
		free(all);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		/* of the same value, the last line wins */
		if (i + 1 < n && entry_cmp(all[i].e.kind, all[i].e.value, &all[i + 1].e) == 0)
			continue;
		if (s->n == RTDENY_MAX) {
			set_err(err, errlen, "more than %d entries", RTDENY_MAX);
			free(all);
			free(s);
			return NULL;
		}
		s->e[s->n++] = all[i].e;
	}
	free(all);
	return s;
}

/* The one published set: written by the main thread, read by workers. */
static struct rtdeny_set *published;

const struct rtdeny_set *rtdeny_current(void)
{
	return __atomic_load_n(&published, __ATOMIC_ACQUIRE);
}

struct rtdeny_set *rtdeny_publish(struct rtdeny_set *s)
{
	struct rtdeny_set *old = __atomic_exchange_n(&published, s, __ATOMIC_ACQ_REL);

	cache_verdict_gen_bump();      /* after the swap: HAProxy's reused allows end */
	return old;
}
