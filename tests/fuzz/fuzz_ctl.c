/* Fuzz target: the admin socket's command parser (agent/ctl-cmd.c) and the
 * runtime denies' state file reader (agent/rtdeny.c).
 *
 * Input: any bytes, read three ways:
 *   - as one command line (ctl_cmd_parse);
 *   - as one state file line (rtdeny_parse_line);
 *   - as a whole state file (rtdeny_parse_text, now = 1000).
 *
 * Invariants:
 * - the parser returns 0 or -1 and never reads past the input (ASan);
 * - a command parsed: a known verb; for add/del deny a kind and a value
 *   that is canonical (rtdeny_norm of it gives itself; a serial is the
 *   DER integer's bytes in minimal lowercase hex), a ttl of 0 or
 *   1 s..CTL_TTL_MAX_S, a comment of printable ASCII only; written back as
 *   a line of its own words it parses to the same command;
 * - a state line parsed: formatted again (rtdeny_format_line) and parsed,
 *   the same entry comes back (a fixed point), its value canonical; so a
 *   negative serial survives a restart (found by this target: it used to
 *   be read back as a positive number, and the deny stopped matching);
 * - a state file parsed: at most RTDENY_MAX entries, sorted strictly by
 *   (kind, value), none expired at now, each findable (rtdeny_find). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-cmd.h"
#include "fuzz.h"
#include "rtdeny.h"

#define NOW 1000

static void check_printable(const char *s)
{
	for (; *s; s++)
		FUZZ_ASSERT(*s >= 0x20 && *s <= 0x7e);
}

/* A serial is kept as the DER INTEGER's content in lowercase hex, minimal:
 * checked here without rtdeny.c (a negative one, "ff", would read back as
 * the number 255, so normalizing it again is no test). */
static int serial_is_der_hex(const char *v)
{
	size_t n = strlen(v);

	if (n < 2 || n % 2 || strspn(v, "0123456789abcdef") != n)
		return 0;
	if (n >= 4 && !strncmp(v, "00", 2) && v[2] < '8')
		return 0;
	if (n >= 4 && !strncmp(v, "ff", 2) && v[2] >= '8')
		return 0;
	return 1;
}

static void check_canonical(enum rtdeny_kind k, const char *v)
{
	char again[RTDENY_VALUE_MAX], err[160];

	FUZZ_ASSERT(k < RTDENY_KINDS);
	if (k == RTD_SERIAL) {
		FUZZ_ASSERT(serial_is_der_hex(v));
		FUZZ_ASSERT(rtdeny_serial_is_canonical(v, strlen(v)));
		if (v[0] >= '8' || strlen(v) > 2 * 64)
			return;                  /* negative: "-..." is how one types it; 64
			                            octets with the top bit set take a 65th, 00 */
	}
	FUZZ_ASSERT(rtdeny_norm(k, v, strlen(v), again, err, sizeof(err)) == 0);
	FUZZ_ASSERT(strcmp(again, v) == 0);
}

static void check_command(const struct ctl_cmd *c)
{
	char line[CTL_LINE_MAX + 64], err[256];
	struct ctl_cmd d;
	int n;

	FUZZ_ASSERT(c->verb < CTL_VERBS);
	if (c->verb != CTL_ADD_DENY && c->verb != CTL_DEL_DENY)
		return;
	check_canonical(c->kind, c->value);
	FUZZ_ASSERT(c->ttl_s == 0 || (c->ttl_s >= 1 && c->ttl_s <= CTL_TTL_MAX_S));
	FUZZ_ASSERT(strlen(c->comment) < RTDENY_COMMENT_MAX);
	check_printable(c->comment);
	FUZZ_ASSERT(c->comment[0] != ' ');
	FUZZ_ASSERT(c->verb == CTL_ADD_DENY || (c->ttl_s == 0 && !c->comment[0]));
	if (c->kind == RTD_SERIAL && (c->value[0] >= '8' || strlen(c->value) > 2 * 64))
		return;                          /* typed as "-..." / without the 00 (above) */
	n = snprintf(line, sizeof(line), "%s %s %s", ctl_cmds[c->verb].words,
	             rtdeny_kind_name(c->kind), c->value);
	if (c->ttl_s)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " ttl %lds", c->ttl_s);
	if (c->comment[0])
		n += snprintf(line + n, sizeof(line) - (size_t)n, " comment %s", c->comment);
	FUZZ_ASSERT(n > 0 && (size_t)n < sizeof(line));
	FUZZ_ASSERT(ctl_cmd_parse(line, (size_t)n, &d, err, sizeof(err)) == 0);
	FUZZ_ASSERT(d.verb == c->verb && d.kind == c->kind && d.ttl_s == c->ttl_s);
	FUZZ_ASSERT(strcmp(d.value, c->value) == 0);
	FUZZ_ASSERT(strcmp(d.comment, c->comment) == 0);
}

static void check_line(const char *p, size_t n)
{
	struct rtdeny_entry e, f;
	char buf[RTDENY_LINE_MAX + 2], err[160];
	int len;

	if (rtdeny_parse_line(p, n, &e, err, sizeof(err)) < 0)
		return;
	check_canonical(e.kind, e.value);
	check_printable(e.origin);
	check_printable(e.comment);
	FUZZ_ASSERT(!strchr(e.origin, ' ') && e.origin[0]);
	len = rtdeny_format_line(&e, buf, sizeof(buf));
	FUZZ_ASSERT(len > 0 && buf[len - 1] == '\n');
	FUZZ_ASSERT(rtdeny_parse_line(buf, (size_t)len - 1, &f, err, sizeof(err)) == 0);
	FUZZ_ASSERT(f.kind == e.kind && f.expires == e.expires && f.added == e.added);
	FUZZ_ASSERT(strcmp(f.value, e.value) == 0 && strcmp(f.origin, e.origin) == 0);
	FUZZ_ASSERT(strcmp(f.comment, e.comment) == 0);
}

static void check_text(const char *p, size_t n)
{
	struct rtdeny_set *s;
	char err[200];

	s = rtdeny_parse_text(p, n, NOW, err, sizeof(err));
	if (!s) {
		FUZZ_ASSERT(strncmp(err, "line ", 5) == 0 || strncmp(err, "more than", 9) == 0 ||
		            strcmp(err, "out of memory") == 0);
		return;
	}
	FUZZ_ASSERT(s->n <= RTDENY_MAX);
	for (size_t i = 0; i < s->n; i++) {
		const struct rtdeny_entry *e = &s->e[i];

		FUZZ_ASSERT(!e->expires || e->expires > NOW);
		if (i)
			FUZZ_ASSERT(e[-1].kind < e->kind ||
			            (e[-1].kind == e->kind && strcmp(e[-1].value, e->value) < 0));
		FUZZ_ASSERT(rtdeny_find(s, e->kind, e->value, NOW) == e);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1), err[256];
	struct ctl_cmd c;

	if (!p)
		return 0;
	memcpy(p, data, size);       /* an exact-size copy: ASan sees any over-read */
	if (ctl_cmd_parse(p, size, &c, err, sizeof(err)) == 0)
		check_command(&c);
	else
		FUZZ_ASSERT(err[0] != 0);
	check_line(p, size);
	check_text(p, size);
	free(p);
	return 0;
}
