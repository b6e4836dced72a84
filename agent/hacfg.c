/* HAProxy configuration syntax, read the way HAProxy reads it (cfgparse.c
 * parse_line(), cfgcond.c): words split on blanks; "#" starts a comment;
 * a backslash escapes " ' # $ \ and blanks, and gives \r \n \t \xNN;
 * double quotes group and expand environment variables ($NAME, ${NAME},
 * ${NAME-default}); single quotes group and keep everything literal. Lines
 * inside .if/.elif/.else/.endif are kept or dropped as the condition says,
 * and kept (marked cond) when it cannot be decided here. Pure: no I/O. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hacfg.h"
#include "strutil.h"

/* A growing string for the word being built. */
struct word {
	char *s;
	size_t len, cap;
};

static int word_add(struct word *w, const char *p, size_t n)
{
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 32;
		char *s;

		while (cap < w->len + n + 1)
			cap *= 2;
		if (!(s = realloc(w->s, cap)))
			return -1;
		w->s = s;
		w->cap = cap;
	}
	memcpy(w->s + w->len, p, n);
	w->len += n;
	w->s[w->len] = '\0';
	return 0;
}

static int word_addc(struct word *w, char c)
{
	return word_add(w, &c, 1);
}

/* The list of words of one line. */
struct words {
	char **v;
	int n, cap;
};

static int words_push(struct words *ws, struct word *w)
{
	if (ws->n + 1 >= ws->cap) {
		int cap = ws->cap ? ws->cap * 2 : 8;
		char **v = realloc(ws->v, (size_t)cap * sizeof(*v));

		if (!v)
			return -1;
		ws->v = v;
		ws->cap = cap;
	}
	if (!w->s && word_add(w, "", 0) < 0)
		return -1;
	ws->v[ws->n++] = w->s;
	ws->v[ws->n] = NULL;
	w->s = NULL;
	w->len = w->cap = 0;
	return 0;
}

void hacfg_free_words(char **argv, int argc)
{
	if (!argv)
		return;
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* Expand the variable at s[*i] ('$'), inside double quotes, into w. */
static int expand_var(const char *s, size_t len, size_t *i, struct word *w,
                      const struct hacfg_opts *o, char *err, size_t errlen)
{
	char name[128];
	const char *val, *def = NULL;
	size_t j = *i + 1, nlen = 0, deflen = 0;
	int braced = 0;

	if (j < len && s[j] == '{') {
		braced = 1;
		j++;
	}
	while (j < len && is_name_char(s[j])) {
		if (nlen + 1 >= sizeof(name)) {
			snprintf(err, errlen, "environment variable name too long");
			return -1;
		}
		name[nlen++] = s[j++];
	}
	name[nlen] = '\0';
	if (nlen == 0) {
		if (braced) {
			snprintf(err, errlen, "bad environment variable reference '${'");
			return -1;
		}
		*i += 1;                      /* a lone '$' is itself */
		return word_addc(w, '$');
	}
	if (braced) {
		if (j < len && s[j] == '-') {
			def = s + j + 1;
			while (j < len && s[j] != '}')
				j++;
			deflen = (size_t)(s + j - def);
		} else if (j + 3 < len && memcmp(s + j, "[*]", 3) == 0) {
			j += 3;                   /* ${NAME[*]}: kept as one word here */
		}
		if (j >= len || s[j] != '}') {
			snprintf(err, errlen, "unterminated '${%s'", name);
			return -1;
		}
		j++;
	}
	*i = j;
	val = o && o->getenv ? o->getenv(name, o->env_arg) : NULL;
	if (val)
		return word_add(w, val, strlen(val));
	if (def)
		return word_add(w, def, deflen);
	return 0;
}

int hacfg_split(const char *s, size_t len, const struct hacfg_opts *o,
                char ***argv, char *err, size_t errlen)
{
	struct words ws = { 0 };
	struct word w = { 0 };
	size_t i = 0;
	int inword = 0, quote = 0;   /* quote: 0, '"' or '\'' */

	*argv = NULL;
	while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	while (i < len) {
		char c = s[i];

		if (quote == '\'') {
			if (c == '\'')
				quote = 0;
			else if (word_addc(&w, c) < 0)
				goto nomem;
			i++;
			continue;
		}
		if (!quote && (c == ' ' || c == '\t')) {
			if (inword && words_push(&ws, &w) < 0)
				goto nomem;
			inword = 0;
			i++;
			continue;
		}
		if (!quote && c == '#')
			break;
		inword = 1;
		if (c == '\\' && i + 1 < len) {
			char n = s[i + 1];
			int hi, lo;

			if (strchr(" \t\\#'\"$", n)) {
				if (word_addc(&w, n) < 0)
					goto nomem;
				i += 2;
			} else if (n == 'r' || n == 'n' || n == 't') {
				if (word_addc(&w, n == 'r' ? '\r' : n == 'n' ? '\n' : '\t') < 0)
					goto nomem;
				i += 2;
			} else if (n == 'x' && i + 3 < len && (hi = str_hexval((unsigned char)s[i + 2])) >= 0 &&
			           (lo = str_hexval((unsigned char)s[i + 3])) >= 0) {
				if (word_addc(&w, (char)(hi * 16 + lo)) < 0)
					goto nomem;
				i += 4;
			} else {
				if (word_addc(&w, c) < 0)   /* unknown escape: kept as written */
					goto nomem;
				i++;
			}
			continue;
		}
		if (c == '"' || c == '\'') {
			if (quote == c)
				quote = 0;
			else if (!quote)
				quote = c;
			else if (word_addc(&w, c) < 0)
				goto nomem;
			if (!w.s && word_add(&w, "", 0) < 0)   /* "" is an empty word */
				goto nomem;
			i++;
			continue;
		}
		if (c == '$' && quote == '"') {
			if (expand_var(s, len, &i, &w, o, err, errlen) < 0)
				goto bad;
			continue;
		}
		if (word_addc(&w, c) < 0)
			goto nomem;
		i++;
	}
	if (quote) {
		snprintf(err, errlen, "unterminated %s quote", quote == '"' ? "double" : "single");
		goto bad;
	}
	if (inword && words_push(&ws, &w) < 0)
		goto nomem;
	*argv = ws.v;
	return ws.n;
nomem:
	snprintf(err, errlen, "out of memory");
bad:
	free(w.s);
	hacfg_free_words(ws.v, ws.n);
	return -1;
}

/* ---- .if conditions ---- */

int hacfg_version(const char *s)
{
	long maj, min = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	maj = strtol(s, &end, 10);
	if (*end == '.') {
		const char *m = end + 1;

		if (*m < '0' || *m > '9')
			return -1;
		min = strtol(m, &end, 10);
	}
	if (maj > 99 || min > 99)
		return -1;
	return (int)(maj * 100 + min);
}

struct cond {
	const char *p;
	const struct hacfg_opts *o;
};

static void skip_blanks(struct cond *c)
{
	while (*c->p == ' ' || *c->p == '\t')
		c->p++;
}

static enum hacfg_tri tri_not(enum hacfg_tri t)
{
	return t == HACFG_TRUE ? HACFG_FALSE : t == HACFG_FALSE ? HACFG_TRUE : HACFG_UNKNOWN;
}

/* version_atleast(v) on a known running version; a patch level given in v
 * cannot be compared with a major.minor one. */
static enum hacfg_tri version_cmp(const struct hacfg_opts *o, const char *arg, int atleast)
{
	int want = hacfg_version(arg), have = o ? o->version : 0;
	const char *dot;

	if (want < 0 || have <= 0)
		return HACFG_UNKNOWN;
	if (want == have && (dot = strchr(arg, '.')) && strchr(dot + 1, '.'))
		return HACFG_UNKNOWN;
	if (atleast)
		return have >= want ? HACFG_TRUE : HACFG_FALSE;
	return have < want ? HACFG_TRUE : HACFG_FALSE;
}

static enum hacfg_tri cond_expr(struct cond *c);

/* name(args) with args split at commas (at most 2 used). */
static enum hacfg_tri cond_pred(struct cond *c)
{
	char name[40], args[2][256];
	size_t n = 0;
	int nargs = 0;

	while (is_name_char(*c->p) && n + 1 < sizeof(name))
		name[n++] = *c->p++;
	name[n] = '\0';
	args[0][0] = args[1][0] = '\0';
	skip_blanks(c);
	if (*c->p == '(') {
		size_t an = 0;

		c->p++;
		nargs = 1;
		while (*c->p && *c->p != ')') {
			if (*c->p == ',') {
				nargs++;
				an = 0;
			} else if (nargs <= 2 && an + 1 < sizeof(args[0])) {
				args[nargs - 1][an++] = *c->p;
				args[nargs - 1][an] = '\0';
			}
			c->p++;
		}
		if (*c->p != ')')
			return HACFG_UNKNOWN;
		c->p++;
	}
	if (n == 0)
		return HACFG_UNKNOWN;
	if (name[0] >= '0' && name[0] <= '9' && nargs == 0)
		return strtol(name, NULL, 10) ? HACFG_TRUE : HACFG_FALSE;
	if (strcmp(name, "defined") == 0) {
		/* set now: true; not set now: it may be where HAProxy runs */
		if (c->o && c->o->getenv && c->o->getenv(args[0], c->o->env_arg))
			return HACFG_TRUE;
		return HACFG_UNKNOWN;
	}
	if (strcmp(name, "streq") == 0)
		return strcmp(args[0], args[1]) == 0 ? HACFG_TRUE : HACFG_FALSE;
	if (strcmp(name, "strneq") == 0)
		return strcmp(args[0], args[1]) != 0 ? HACFG_TRUE : HACFG_FALSE;
	if (strcmp(name, "strstr") == 0)
		return strstr(args[0], args[1]) ? HACFG_TRUE : HACFG_FALSE;
	if (strcmp(name, "version_atleast") == 0)
		return version_cmp(c->o, args[0], 1);
	if (strcmp(name, "version_before") == 0)
		return version_cmp(c->o, args[0], 0);
	return HACFG_UNKNOWN;   /* feature(), enabled(), openssl_*(): not known here */
}

static enum hacfg_tri cond_factor(struct cond *c)
{
	enum hacfg_tri t;

	skip_blanks(c);
	if (*c->p == '!') {
		c->p++;
		return tri_not(cond_factor(c));
	}
	if (*c->p == '(') {
		c->p++;
		t = cond_expr(c);
		skip_blanks(c);
		if (*c->p == ')')
			c->p++;
		else
			t = HACFG_UNKNOWN;
		return t;
	}
	return cond_pred(c);
}

static enum hacfg_tri cond_term(struct cond *c)
{
	enum hacfg_tri t = cond_factor(c), u;

	for (;;) {
		skip_blanks(c);
		if (c->p[0] != '&' || c->p[1] != '&')
			return t;
		c->p += 2;
		u = cond_factor(c);
		if (t == HACFG_FALSE || u == HACFG_FALSE)
			t = HACFG_FALSE;
		else if (t == HACFG_UNKNOWN || u == HACFG_UNKNOWN)
			t = HACFG_UNKNOWN;
	}
}

static enum hacfg_tri cond_expr(struct cond *c)
{
	enum hacfg_tri t = cond_term(c), u;

	for (;;) {
		skip_blanks(c);
		if (c->p[0] != '|' || c->p[1] != '|')
			return t;
		c->p += 2;
		u = cond_term(c);
		if (t == HACFG_TRUE || u == HACFG_TRUE)
			t = HACFG_TRUE;
		else if (t == HACFG_UNKNOWN || u == HACFG_UNKNOWN)
			t = HACFG_UNKNOWN;
	}
}

enum hacfg_tri hacfg_eval_cond(const char *expr, const struct hacfg_opts *o)
{
	struct cond c = { expr, o };
	enum hacfg_tri t = cond_expr(&c);

	skip_blanks(&c);
	return *c.p ? HACFG_UNKNOWN : t;
}

/* ---- the file ---- */

#define HACFG_MAX_NEST 32

/* One open .if: what its current branch is, and whether an earlier branch
 * was (or may have been) taken. */
struct ifblock {
	enum hacfg_tri cur;
	int taken;                /* an earlier branch was surely taken */
	int maybe;                /* an earlier branch may have been taken */
	int line;
	int seen_else;
};

static const char *const haproxy_sections[] = {
	"global", "defaults", "frontend", "backend", "listen", "peers", "resolvers",
	"userlist", "program", "http-errors", "ring", "mailers", "cache",
	"crt-store", "log-forward", "traces", "acme", NULL
};
static const char *const spoe_sections[] = {
	"spoe-agent", "spoe-message", "spoe-group", NULL
};

static int is_section(const struct hacfg_opts *o, const char *w)
{
	const char *const *k = o->kind == HACFG_SPOE ? spoe_sections : haproxy_sections;

	for (; *k; k++)
		if (strcmp(*k, w) == 0)
			return 1;
	return 0;
}

static void diag(struct hacfg *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void diag(struct hacfg *c, int line, const char *fmt, ...)
{
	struct hacfg_diag *d;
	va_list ap;

	if (!(d = realloc(c->diags, (size_t)(c->ndiags + 1) * sizeof(*d))))
		return;               /* a lost diagnostic, not a crash */
	c->diags = d;
	d += c->ndiags++;
	d->line = line;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

/* Is the current line read, given the open .if blocks? */
static enum hacfg_tri block_state(const struct ifblock *st, int depth)
{
	enum hacfg_tri t = HACFG_TRUE;

	for (int i = 0; i < depth; i++) {
		if (st[i].cur == HACFG_FALSE)
			return HACFG_FALSE;
		if (st[i].cur == HACFG_UNKNOWN)
			t = HACFG_UNKNOWN;
	}
	return t;
}

static char *join_words(char **argv, int from, int argc)
{
	size_t n = 1;
	char *s;

	for (int i = from; i < argc; i++)
		n += strlen(argv[i]) + 1;
	if (!(s = malloc(n)))
		return NULL;
	s[0] = '\0';
	for (int i = from; i < argc; i++) {
		if (i > from)
			strncat(s, " ", n - strlen(s) - 1);
		strncat(s, argv[i], n - strlen(s) - 1);
	}
	return s;
}

/* A directive line (.if and friends). Returns 0, or -1 out of memory. */
static int directive(struct hacfg *c, struct ifblock *st, int *depth, int line,
                     char **argv, int argc, const struct hacfg_opts *o)
{
	const char *d = argv[0];
	enum hacfg_tri t = HACFG_UNKNOWN;
	struct ifblock *b;
	char *expr = NULL;

	if (strcmp(d, ".if") == 0 || strcmp(d, ".elif") == 0) {
		if (!(expr = join_words(argv, 1, argc)))
			return -1;
		t = argc > 1 ? hacfg_eval_cond(expr, o) : HACFG_UNKNOWN;
		if (argc < 2)
			diag(c, line, "%s without a condition", d);
		free(expr);
	}
	if (strcmp(d, ".if") == 0) {
		if (*depth >= HACFG_MAX_NEST) {
			diag(c, line, ".if nested too deep");
			return 0;
		}
		b = &st[(*depth)++];
		b->cur = t;
		b->taken = t == HACFG_TRUE;
		b->maybe = t != HACFG_FALSE;
		b->line = line;
		b->seen_else = 0;
		return 0;
	}
	if (strcmp(d, ".elif") == 0 || strcmp(d, ".else") == 0) {
		if (*depth == 0) {
			diag(c, line, "%s without .if", d);
			return 0;
		}
		b = &st[*depth - 1];
		if (b->seen_else)
			diag(c, line, "%s after .else", d);
		if (strcmp(d, ".else") == 0) {
			b->seen_else = 1;
			t = HACFG_TRUE;
		}
		if (b->taken)
			b->cur = HACFG_FALSE;
		else if (b->maybe && t != HACFG_FALSE)
			b->cur = HACFG_UNKNOWN;
		else
			b->cur = t;
		b->taken |= b->cur == HACFG_TRUE;
		b->maybe |= b->cur != HACFG_FALSE;
		return 0;
	}
	if (strcmp(d, ".endif") == 0) {
		if (*depth == 0)
			diag(c, line, ".endif without .if");
		else
			(*depth)--;
		return 0;
	}
	if (strcmp(d, ".notice") && strcmp(d, ".warning") && strcmp(d, ".alert") &&
	    strcmp(d, ".diag"))
		diag(c, line, "unknown directive '%s'", d);
	return 0;
}

static int add_section(struct hacfg *c, const char *kind, const char *name,
                       const char *scope, int line)
{
	struct hacfg_section *s = realloc(c->sections, (size_t)(c->nsections + 1) * sizeof(*s));

	if (!s)
		return -1;
	c->sections = s;
	s += c->nsections;
	memset(s, 0, sizeof(*s));
	s->line = line;
	s->first = c->nlines;
	s->kind = strdup(kind);
	s->name = strdup(name);
	s->scope = scope ? strdup(scope) : NULL;
	c->nsections++;
	if (!s->kind || !s->name || (scope && !s->scope))
		return -1;
	return 0;
}

static int add_line(struct hacfg *c, int line, char **argv, int argc, int cond)
{
	struct hacfg_line *l = realloc(c->lines, (size_t)(c->nlines + 1) * sizeof(*l));

	if (!l)
		return -1;
	c->lines = l;
	l += c->nlines++;
	l->line = line;
	l->argv = argv;
	l->argc = argc;
	l->cond = cond;
	l->section = c->nsections - 1;
	if (c->nsections > 0)
		c->sections[c->nsections - 1].count++;
	return 0;
}

int hacfg_parse(struct hacfg *c, const char *file, const char *text, size_t len,
                const struct hacfg_opts *o)
{
	struct ifblock st[HACFG_MAX_NEST];
	const char *p = text, *end = text + len;
	char *scope = NULL, err[160];
	int depth = 0, lineno = 0;

	memset(c, 0, sizeof(*c));
	if (!(c->file = strdup(file)))
		return -1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		enum hacfg_tri active;
		char **argv;
		int argc;

		lineno++;
		if (memchr(p, '\0', n))
			diag(c, lineno, "NUL byte in the line");
		argc = hacfg_split(p, n, o, &argv, err, sizeof(err));
		p += n + (nl ? 1 : 0);
		if (argc < 0) {
			if (strcmp(err, "out of memory") == 0)
				goto nomem;
			if (block_state(st, depth) != HACFG_FALSE)
				diag(c, lineno, "%s", err);
			continue;
		}
		if (argc == 0) {
			free(argv);
			continue;
		}
		if (argv[0][0] == '.' && argv[0][1] != '\0') {
			int rc = 0;

			/* directives are read even inside a skipped branch, for nesting */
			if (block_state(st, depth) != HACFG_FALSE || strcmp(argv[0], ".if") == 0 ||
			    strcmp(argv[0], ".elif") == 0 || strcmp(argv[0], ".else") == 0 ||
			    strcmp(argv[0], ".endif") == 0)
				rc = directive(c, st, &depth, lineno, argv, argc, o);
			hacfg_free_words(argv, argc);
			if (rc < 0)
				goto nomem;
			continue;
		}
		active = block_state(st, depth);
		if (active == HACFG_FALSE) {
			hacfg_free_words(argv, argc);
			continue;
		}
		if (o->kind == HACFG_SPOE && argv[0][0] == '[') {
			size_t wl = strlen(argv[0]);

			if (argc != 1 || wl < 3 || argv[0][wl - 1] != ']') {
				diag(c, lineno, "bad scope line: want [NAME]");
				hacfg_free_words(argv, argc);
				continue;
			}
			free(scope);
			if (!(scope = strndup(argv[0] + 1, wl - 2))) {
				hacfg_free_words(argv, argc);
				goto nomem;
			}
			hacfg_free_words(argv, argc);
			continue;
		}
		if (is_section(o, argv[0])) {
			int rc = add_section(c, argv[0], argc > 1 ? argv[1] : "", scope, lineno);

			hacfg_free_words(argv, argc);
			if (rc < 0)
				goto nomem;
			continue;
		}
		if (c->nsections == 0)
			diag(c, lineno, "'%s' outside any section", argv[0]);
		if (add_line(c, lineno, argv, argc, active == HACFG_UNKNOWN) < 0) {
			hacfg_free_words(argv, argc);
			goto nomem;
		}
	}
	for (int i = 0; i < depth; i++)
		diag(c, st[i].line, ".if without .endif");
	free(scope);
	return 0;
nomem:
	free(scope);
	hacfg_free(c);
	return -1;
}

void hacfg_free(struct hacfg *c)
{
	for (int i = 0; i < c->nlines; i++)
		hacfg_free_words(c->lines[i].argv, c->lines[i].argc);
	for (int i = 0; i < c->nsections; i++) {
		free(c->sections[i].kind);
		free(c->sections[i].name);
		free(c->sections[i].scope);
	}
	free(c->lines);
	free(c->sections);
	free(c->diags);
	free(c->file);
	memset(c, 0, sizeof(*c));
}

int hacfg_find_section(const struct hacfg *c, const char *kind, const char *name, int from)
{
	for (int i = from < 0 ? 0 : from; i < c->nsections; i++)
		if (strcmp(c->sections[i].kind, kind) == 0 &&
		    (!name || strcmp(c->sections[i].name, name) == 0))
			return i;
	return -1;
}
