/* Fuzz target: HAProxy configuration syntax (agent/hacfg.c), the reader
 * under `certspoa lint`. Operators write these files, not the network, so
 * this is robustness, not a trust boundary.
 *
 * Input: 1 settings byte (bit 0: SPOE file instead of haproxy.cfg; bits
 * 1-2: HAProxy version unknown / 2.6 / 3.0 / 3.2), then the file.
 *
 * Invariants:
 * - hacfg_parse() reads anything: every kept line has words (argv
 *   NULL-terminated), line numbers rise and stay within the file, sections
 *   own consecutive lines in order, diagnostics point into the file;
 * - words survive a round trip: each word of each kept line written back
 *   quoted (single quotes, or double quotes with \" \\ \$ escaped) splits
 *   into the same words;
 * - hacfg_eval_cond() on the input gives one of its three values. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hacfg.h"

static const char *no_env(const char *name, void *arg)
{
	(void)arg;
	return strcmp(name, "FUZZ") == 0 ? "v a l" : NULL;
}

/* Write w quoted into out (at most n bytes); -1 if it does not fit. */
static int requote(const char *w, char *out, size_t n)
{
	size_t k = 0;
	int dq = strchr(w, '\'') != NULL;

	if (k + 1 >= n)
		return -1;
	out[k++] = dq ? '"' : '\'';
	for (; *w; w++) {
		if (k + 3 >= n)
			return -1;
		if (dq && (*w == '"' || *w == '\\' || *w == '$'))
			out[k++] = '\\';
		out[k++] = *w;
	}
	out[k++] = dq ? '"' : '\'';
	out[k] = '\0';
	return 0;
}

static void check_roundtrip(const struct hacfg_line *ln, const struct hacfg_opts *o)
{
	static char buf[1 << 16];
	size_t k = 0;
	char **argv, err[160];
	int argc;

	for (int i = 0; i < ln->argc; i++) {
		if (k + 2 >= sizeof(buf) || requote(ln->argv[i], buf + k, sizeof(buf) - k - 1) < 0)
			return;                   /* too long to bother */
		k += strlen(buf + k);
		buf[k++] = ' ';
		buf[k] = '\0';
	}
	argc = hacfg_split(buf, k, o, &argv, err, sizeof(err));
	FUZZ_ASSERT(argc == ln->argc);
	for (int i = 0; i < argc; i++)
		FUZZ_ASSERT(strcmp(argv[i], ln->argv[i]) == 0);
	hacfg_free_words(argv, argc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int versions[4] = { 0, 206, 300, 302 };
	struct hacfg_opts o = { HACFG_HAPROXY, 0, no_env, NULL };
	const char *text = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;
	int nl = 1, prev = 0, next_first = 0;
	struct hacfg c;
	char *expr;

	if (size < 1)
		return 0;
	o.kind = data[0] & 1 ? HACFG_SPOE : HACFG_HAPROXY;
	o.version = versions[(data[0] >> 1) & 3];
	for (size_t i = 0; i < len; i++)
		nl += text[i] == '\n';
	if (hacfg_parse(&c, "fuzz.cfg", text, len, &o) < 0)
		return 0;                        /* out of memory */
	for (int i = 0; i < c.nlines; i++) {
		const struct hacfg_line *ln = &c.lines[i];

		FUZZ_ASSERT(ln->argc > 0 && ln->argv[ln->argc] == NULL);
		FUZZ_ASSERT(ln->line > prev && ln->line <= nl);
		FUZZ_ASSERT(ln->section >= -1 && ln->section < c.nsections);
		prev = ln->line;
		check_roundtrip(ln, &o);
	}
	for (int s = 0; s < c.nsections; s++) {
		const struct hacfg_section *sec = &c.sections[s];

		FUZZ_ASSERT(sec->first >= next_first && sec->count >= 0);
		FUZZ_ASSERT(sec->first + sec->count <= c.nlines);
		FUZZ_ASSERT(sec->line >= 1 && sec->line <= nl);
		for (int k = 0; k < sec->count; k++)
			FUZZ_ASSERT(c.lines[sec->first + k].section == s);
		next_first = sec->first + sec->count;
	}
	for (int d = 0; d < c.ndiags; d++)
		FUZZ_ASSERT(c.diags[d].line >= 1 && c.diags[d].line <= nl);
	hacfg_free(&c);

	if ((expr = malloc(len + 1)) != NULL) {
		enum hacfg_tri t;

		memcpy(expr, text, len);
		expr[len] = '\0';
		t = hacfg_eval_cond(expr, &o);
		FUZZ_ASSERT(t == HACFG_FALSE || t == HACFG_TRUE || t == HACFG_UNKNOWN);
		free(expr);
	}
	return 0;
}
