/* certspoa lint: static checks of an HAProxy configuration that uses
 * certspoa. haproxy.cfg and the SPOE files it names are read with hacfg
 * (HAProxy's own syntax, not grep), then each rule of docs/LINT.md looks
 * at the frontends that carry the certspoa filter. Findings are collected,
 * sorted by file and line, and printed as "file:line: severity: message
 * [rule]". */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "cfg.h"
#include "cfg-t.h"
#include "hacfg.h"
#include "handler.h"
#include "lint.h"

#define LINT_FILE_MAX  (16 * 1024 * 1024)
#define LINT_VARS_MAX  16
#define LINT_NAME_MAX  128

enum lint_sev {
	LINT_WARNING = 0,
	LINT_ERROR,
	LINT_SEVS
};

static const char *const sev_names[LINT_SEVS] = {
	[LINT_WARNING] = "warning",
	[LINT_ERROR]   = "error",
};

struct finding {
	char *file;
	int line;
	enum lint_sev sev;
	char *msg;
	int seq;
};

/* One SPOE file as a filter line names it (file + engine). */
struct spoe {
	char *path;
	char *engine;             /* NULL: no "engine" on the filter line */
	int read_ok;
	char read_err[200];
	struct hacfg cfg;
	int agent;                /* spoe-agent section, -1 */
	int msg;                  /* the check-client-cert spoe-message, -1 */
	char prefix[LINT_NAME_MAX];
	char group[LINT_NAME_MAX];    /* the group that carries the message, "" */
	int msg_listed;           /* in the agent's "messages" */
	int has_event;
	struct spoe *next;
};

struct lint {
	int version;              /* major * 100 + minor, 0 = unknown */
	const char *spoe_override;
	struct hacfg ha;
	struct config *agent;     /* --agent-config, NULL without */
	struct spoe *spoes;
	struct finding *f;
	int nf;
	int oom;
};

/* What one certspoa frontend is made of. */
struct fe {
	const struct hacfg_section *sec;
	int si;
	int filter_line;
	struct spoe *sp;
	char vv[LINT_VARS_MAX][LINT_NAME_MAX];   /* variables holding the verdict */
	int nvv;
	int sess_line;            /* line storing the verdict in sess.*, 0 = none */
	char sess_var[LINT_NAME_MAX];
};

/* ------------------------------------------------------------ findings */

static void report(struct lint *l, const char *file, int line, enum lint_sev sev,
                   const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void report(struct lint *l, const char *file, int line, enum lint_sev sev,
                   const char *rule, const char *fmt, ...)
{
	char msg[1024];
	struct finding *f;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	snprintf(msg + n, sizeof(msg) - n, " [%s]", rule);
	for (int i = 0; i < l->nf; i++)       /* one SPOE file, several frontends */
		if (l->f[i].line == line && strcmp(l->f[i].file, file) == 0 &&
		    strcmp(l->f[i].msg, msg) == 0)
			return;
	if (!(f = realloc(l->f, (size_t)(l->nf + 1) * sizeof(*f)))) {
		l->oom = 1;
		return;
	}
	l->f = f;
	f += l->nf;
	f->file = strdup(file);
	f->msg = strdup(msg);
	f->line = line;
	f->sev = sev;
	f->seq = l->nf;
	if (!f->file || !f->msg) {
		free(f->file);
		free(f->msg);
		l->oom = 1;
		return;
	}
	l->nf++;
}

static int finding_cmp(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Version-specific checks: with an unknown version, every version. */
static int may_be_before(const struct lint *l, int v)
{
	return l->version == 0 || l->version < v;
}

/* ------------------------------------------------------------ words */

static int eq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static const struct hacfg_line *sline(const struct hacfg *c, const struct hacfg_section *s, int k)
{
	return &c->lines[s->first + k];
}

/* Index of the "if"/"unless" that starts a rule's condition, or -1. */
static int cond_at(const struct hacfg_line *ln, int from)
{
	for (int i = from; i < ln->argc; i++)
		if (eq(ln->argv[i], "if") || eq(ln->argv[i], "unless"))
			return i;
	return -1;
}

/* "var(NAME)" or "var(NAME,default)" -> NAME. */
static int var_arg(const char *w, char *out, size_t n)
{
	size_t k = 0;

	if (strncmp(w, "var(", 4) != 0)
		return -1;
	w += 4;
	while (*w && *w != ')' && *w != ',' && k + 1 < n)
		out[k++] = *w++;
	out[k] = '\0';
	return *w == ')' || *w == ',' ? 0 : -1;
}

/* "set-var(NAME)" / "unset-var(NAME)" action -> NAME. */
static int action_var(const char *w, const char *act, char *out, size_t n)
{
	size_t al = strlen(act), k = 0;

	if (strncmp(w, act, al) != 0 || w[al] != '(')
		return -1;
	w += al + 1;
	while (*w && *w != ')' && *w != ',' && k + 1 < n)
		out[k++] = *w++;
	out[k] = '\0';
	return *w ? 0 : -1;
}

static int is_verdict_var(const struct fe *fe, const char *name)
{
	for (int i = 0; i < fe->nvv; i++)
		if (eq(fe->vv[i], name))
			return 1;
	return 0;
}

/* ------------------------------------------------------------ conditions */

enum pat {
	PAT_OTHER = 0,
	PAT_ALLOW,                /* var(verdict) -m str allow */
	PAT_DENY,                 /* var(verdict) -m str deny */
	PATS
};

/* An ACL pattern: var(V) [-m str] [-i] [--] VALUE, V holding the verdict. */
static enum pat acl_pattern(const struct fe *fe, char *const *w, int n)
{
	char name[LINT_NAME_MAX];
	int i = 1;

	if (n < 2 || var_arg(w[0], name, sizeof(name)) < 0 || !is_verdict_var(fe, name))
		return PAT_OTHER;
	while (i < n - 1) {
		if (eq(w[i], "-m") && i + 1 < n - 1 && eq(w[i + 1], "str"))
			i += 2;
		else if (eq(w[i], "-i") || eq(w[i], "--"))
			i++;
		else
			return PAT_OTHER;
	}
	if (i != n - 1)
		return PAT_OTHER;
	return eq(w[i], "allow") ? PAT_ALLOW : eq(w[i], "deny") ? PAT_DENY : PAT_OTHER;
}

/* A named ACL of the frontend: every line defining it must be the same
 * verdict test, else it may be true for something else. */
static enum pat named_acl(const struct hacfg *c, const struct fe *fe, const char *name)
{
	enum pat p = PAT_OTHER;
	int seen = 0;

	for (int k = 0; k < fe->sec->count; k++) {
		const struct hacfg_line *ln = sline(c, fe->sec, k);
		enum pat q;

		if (ln->argc < 3 || !eq(ln->argv[0], "acl") || !eq(ln->argv[1], name))
			continue;
		q = acl_pattern(fe, ln->argv + 2, ln->argc - 2);
		if (seen && q != p)
			return PAT_OTHER;
		p = q;
		seen = 1;
	}
	return p;
}

struct condinfo {
	int present;
	int fail_closed;          /* true unless the verdict is an explicit allow */
	int requires_allow;       /* only true when the verdict is allow */
	int tests_deny;           /* a term "the verdict is deny" */
	int mentions_date;        /* a term uses the date fetch (max age) */
};

#define COND_GROUPS 16

static void analyze_cond(const struct hacfg *c, const struct fe *fe,
                         const struct hacfg_line *ln, int at, struct condinfo *ci)
{
	int unless, ng = 0, nterms[COND_GROUPS] = { 0 };
	int pos_allow[COND_GROUPS] = { 0 }, neg_allow[COND_GROUPS] = { 0 };

	memset(ci, 0, sizeof(*ci));
	if (at < 0) {
		ci->fail_closed = 1;          /* unconditional */
		return;
	}
	ci->present = 1;
	unless = eq(ln->argv[at], "unless");
	for (int i = at + 1; i < ln->argc; i++) {
		const char *w = ln->argv[i];
		enum pat p;
		int neg = 0;

		if (eq(w, "||") || eq(w, "or")) {
			if (ng < COND_GROUPS - 1)
				ng++;
			continue;
		}
		if (strstr(w, "date"))
			ci->mentions_date = 1;
		if (w[0] == '!') {
			neg = 1;
			w++;
			if (!*w && i + 1 < ln->argc)
				w = ln->argv[++i];
		}
		if (eq(w, "{")) {
			int j = i + 1;

			while (j < ln->argc && !eq(ln->argv[j], "}")) {
				if (strstr(ln->argv[j], "date"))
					ci->mentions_date = 1;
				j++;
			}
			p = acl_pattern(fe, ln->argv + i + 1, j - i - 1);
			i = j;
		} else {
			p = named_acl(c, fe, w);
		}
		nterms[ng]++;
		if (p == PAT_ALLOW && !neg)
			pos_allow[ng] = 1;
		if (p == PAT_ALLOW && neg)
			neg_allow[ng] = 1;
		if (p == PAT_DENY && !neg)
			ci->tests_deny = 1;
	}
	ng++;
	if (!unless) {
		ci->requires_allow = 1;
		for (int g = 0; g < ng; g++) {
			if (nterms[g] == 1 && neg_allow[g])
				ci->fail_closed = 1;
			if (!pos_allow[g])
				ci->requires_allow = 0;
		}
	} else {
		ci->fail_closed = ng == 1 && pos_allow[0];
		for (int g = 0; g < ng; g++)
			if (nterms[g] == 1 && neg_allow[g])
				ci->requires_allow = 1;
	}
}

/* ------------------------------------------------------------ files */

static const char *env_lookup(const char *name, void *arg)
{
	(void)arg;
	return getenv(name);
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, *nb;
	size_t n = 0, cap = 0, r;

	if (!f) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > LINT_FILE_MAX || !(nb = realloc(buf, cap))) {
				snprintf(err, errlen, "%s", cap > LINT_FILE_MAX ? "file too big" : "out of memory");
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s", strerror(errno));
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* ------------------------------------------------------------ SPOE files */

static int in_scope(const struct spoe *sp, const struct hacfg_section *s)
{
	if (!sp->engine)
		return 1;
	return s->scope && eq(s->scope, sp->engine);
}

static int spoe_section(const struct spoe *sp, const char *kind, const char *name)
{
	for (int i = 0; i < sp->cfg.nsections; i++) {
		const struct hacfg_section *s = &sp->cfg.sections[i];

		if (in_scope(sp, s) && eq(s->kind, kind) && (!name || eq(s->name, name)))
			return i;
	}
	return -1;
}

/* Line k of the agent whose words start with a, b (b may be NULL). */
static const struct hacfg_line *agent_line(const struct spoe *sp, const char *a, const char *b)
{
	const struct hacfg_section *s;

	if (sp->agent < 0)
		return NULL;
	s = &sp->cfg.sections[sp->agent];
	for (int k = 0; k < s->count; k++) {
		const struct hacfg_line *ln = sline(&sp->cfg, s, k);

		if (eq(ln->argv[0], a) && (!b || (ln->argc > 1 && eq(ln->argv[1], b))))
			return ln;
	}
	return NULL;
}

/* Does a words list (from index from) hold name? */
static int words_have(const struct hacfg_line *ln, int from, const char *name)
{
	for (int i = from; i < ln->argc; i++)
		if (eq(ln->argv[i], name))
			return 1;
	return 0;
}

/* Read and index a SPOE file; the findings about the file itself are made
 * here, once per file and engine. */
static struct spoe *spoe_load(struct lint *l, const char *path, const char *engine)
{
	struct hacfg_opts o = { HACFG_SPOE, l->version, env_lookup, NULL };
	struct spoe *sp;
	char *text;
	size_t len;

	for (sp = l->spoes; sp; sp = sp->next)
		if (eq(sp->path, path) && ((!engine && !sp->engine) ||
		                           (engine && sp->engine && eq(engine, sp->engine))))
			return sp;
	if (!(sp = calloc(1, sizeof(*sp))))
		return NULL;
	sp->path = strdup(path);
	sp->engine = engine ? strdup(engine) : NULL;
	sp->agent = sp->msg = -1;
	sp->next = l->spoes;
	l->spoes = sp;
	if (!sp->path || (engine && !sp->engine)) {
		l->oom = 1;
		return sp;
	}
	if (!(text = read_file(path, &len, sp->read_err, sizeof(sp->read_err))))
		return sp;
	if (hacfg_parse(&sp->cfg, path, text, len, &o) < 0) {
		free(text);
		l->oom = 1;
		return sp;
	}
	free(text);
	sp->read_ok = 1;
	for (int i = 0; i < sp->cfg.ndiags; i++)
		report(l, path, sp->cfg.diags[i].line, LINT_ERROR, "spoe", "%s", sp->cfg.diags[i].msg);
	sp->agent = spoe_section(sp, "spoe-agent", NULL);
	sp->msg = spoe_section(sp, "spoe-message", HANDLER_MESSAGE);
	if (sp->agent >= 0) {
		const struct hacfg_line *ln = agent_line(sp, "option", "var-prefix");

		snprintf(sp->prefix, sizeof(sp->prefix), "%s",
		         ln && ln->argc > 2 ? ln->argv[2] : sp->cfg.sections[sp->agent].name);
	}
	return sp;
}

/* Is the certspoa message sent, and how (event, or a group)? */
static void spoe_message_route(struct spoe *sp)
{
	const struct hacfg_section *a, *m;

	if (sp->agent < 0 || sp->msg < 0)
		return;
	a = &sp->cfg.sections[sp->agent];
	m = &sp->cfg.sections[sp->msg];
	for (int k = 0; k < m->count; k++)
		if (eq(sline(&sp->cfg, m, k)->argv[0], "event"))
			sp->has_event = 1;
	for (int k = 0; k < a->count; k++) {
		const struct hacfg_line *ln = sline(&sp->cfg, a, k);

		if (eq(ln->argv[0], "messages") && words_have(ln, 1, HANDLER_MESSAGE))
			sp->msg_listed = 1;
		if (!eq(ln->argv[0], "groups"))
			continue;
		for (int i = 1; i < ln->argc; i++) {
			int g = spoe_section(sp, "spoe-group", ln->argv[i]);

			if (g < 0)
				continue;
			for (int j = 0; j < sp->cfg.sections[g].count; j++) {
				const struct hacfg_line *gl = sline(&sp->cfg, &sp->cfg.sections[g], j);

				if (eq(gl->argv[0], "messages") && words_have(gl, 1, HANDLER_MESSAGE))
					snprintf(sp->group, sizeof(sp->group), "%s", ln->argv[i]);
			}
		}
	}
}

/* The argument names of the certspoa message. */
static int msg_has_arg(const struct spoe *sp, const char *name, int *line)
{
	const struct hacfg_section *m;

	if (sp->msg < 0)
		return 0;
	m = &sp->cfg.sections[sp->msg];
	for (int k = 0; k < m->count; k++) {
		const struct hacfg_line *ln = sline(&sp->cfg, m, k);

		if (!eq(ln->argv[0], "args"))
			continue;
		if (line)
			*line = ln->line;
		for (int i = 1; i < ln->argc; i++) {
			const char *eqs = strchr(ln->argv[i], '=');
			size_t nl = strlen(name);

			if (eqs && (size_t)(eqs - ln->argv[i]) == nl && strncmp(ln->argv[i], name, nl) == 0)
				return 1;
		}
	}
	return 0;
}

/* The sample an argument of the certspoa message is bound to, or NULL. */
static const char *msg_arg_sample(const struct spoe *sp, const char *name)
{
	const struct hacfg_section *m;
	size_t nl = strlen(name);

	if (sp->msg < 0)
		return NULL;
	m = &sp->cfg.sections[sp->msg];
	for (int k = 0; k < m->count; k++) {
		const struct hacfg_line *ln = sline(&sp->cfg, m, k);

		for (int i = 1; eq(ln->argv[0], "args") && i < ln->argc; i++)
			if (strncmp(ln->argv[i], name, nl) == 0 && ln->argv[i][nl] == '=')
				return ln->argv[i] + nl + 1;
	}
	return NULL;
}

/* host=req.hdr(host): split at commas, the last item only. */
static int host_split(const struct spoe *sp)
{
	const char *h = msg_arg_sample(sp, "host");

	return h && (strncasecmp(h, "req.hdr(", 8) == 0 || strncasecmp(h, "hdr(", 4) == 0);
}

static int known_arg(const char *name, size_t n)
{
	const char *a;

	for (unsigned int i = 0; (a = handler_arg_name(i)) != NULL; i++)
		if (strlen(a) == n && strncmp(a, name, n) == 0)
			return 1;
	return 0;
}

/* An HAProxy time ("500ms", "3s", "2m", "1h", "1d", "10us"; no unit:
 * ms) in milliseconds. 0, or -1 when it is not one. */
static int hatime_ms(const char *s, long *ms)
{
	static const struct { const char *unit; long num, den; } units[] = {
		{ "", 1, 1 }, { "us", 1, 1000 }, { "ms", 1, 1 }, { "s", 1000, 1 },
		{ "m", 60000, 1 }, { "h", 3600000, 1 }, { "d", 86400000, 1 },
	};
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || errno || v < 0 || v > 100000000)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0) {
			*ms = v * units[i].num / units[i].den;
			return 0;
		}
	return -1;
}

/* The first policy whose ocsp_timeout is not below the SPOE file's
 * 'timeout processing' (HAProxy gives up on the answer first: the
 * request gets SPOE's error, no verdict, instead of the agent's
 * ocsp_unavailable after its own wait), or NULL. *proc_ms and *line say
 * what the file has. */
static const struct policy *ocsp_timeout_over(const struct config *cfg, const struct spoe *sp,
                                              long *proc_ms, int *line)
{
	const struct hacfg_line *ln = agent_line(sp, "timeout", "processing");

	if (!cfg || !ln || ln->argc < 3 || hatime_ms(ln->argv[2], proc_ms) < 0)
		return NULL;
	*line = ln->line;
	for (const struct policy *p = cfg->policies; p; p = p->next)
		if (p->ocsp != OCSP_MODE_OFF && *proc_ms <= p->ocsp_timeout_ms)
			return p;
	return NULL;
}

#define OCSP_TIMEOUT_ADVICE "raise 'timeout processing' above ocsp_timeout (e.g. ocsp_timeout + 1s), " \
	"or lower ocsp_timeout"

int lint_ocsp_timeouts(const struct config *cfg, const char *spoe_path, FILE *out)
{
	struct lint l;
	struct spoe *sp;
	const struct policy *p;
	long proc = 0;
	int line = 0, n = 0;

	memset(&l, 0, sizeof(l));
	sp = spoe_load(&l, spoe_path, NULL);
	if (sp && sp->read_ok && (p = ocsp_timeout_over(cfg, sp, &proc, &line)) != NULL) {
		fprintf(out, "%s:%d: WARNING: SPOE 'timeout processing' (%ld ms) is not above [policy %s] "
		        "ocsp_timeout (%d ms): a request waiting for an OCSP answer gets no verdict from "
		        "HAProxy's side (agent_unavailable) before the agent answers; " OCSP_TIMEOUT_ADVICE "\n",
		        spoe_path, line, proc, p->name, p->ocsp_timeout_ms);
		n++;
	}
	free(l.f);
	while (l.spoes) {
		struct spoe *next = l.spoes->next;

		hacfg_free(&l.spoes->cfg);
		free(l.spoes->path);
		free(l.spoes->engine);
		free(l.spoes);
		l.spoes = next;
	}
	return n;
}

/* Rule "spoe": the file, the agent, the message and its arguments. */
static void check_spoe_file(struct lint *l, struct spoe *sp, const struct hacfg_line *filter)
{
	const struct hacfg_section *ag, *m;
	const struct hacfg_line *ln;
	int line = 0;

	if (!sp->read_ok) {
		report(l, l->ha.file, filter->line, LINT_ERROR, "spoe",
		       "cannot read SPOE file %s: %s%s", sp->path, sp->read_err,
		       sp->path[0] == '/' ? "" : " (a relative path is read from the current "
		       "directory, as HAProxy does; or pass --spoe FILE)");
		return;
	}
	if (sp->engine && spoe_section(sp, "spoe-agent", NULL) < 0 &&
	    hacfg_find_section(&sp->cfg, "spoe-agent", NULL, 0) >= 0) {
		report(l, l->ha.file, filter->line, LINT_ERROR, "spoe",
		       "SPOE file %s has no [%s] scope with a spoe-agent: HAProxy refuses to start",
		       sp->path, sp->engine);
		return;
	}
	if (sp->agent < 0) {
		report(l, sp->path, 1, LINT_ERROR, "spoe", "no spoe-agent section%s%s%s",
		       sp->engine ? " in [" : "", sp->engine ? sp->engine : "", sp->engine ? "]" : "");
		return;
	}
	ag = &sp->cfg.sections[sp->agent];
	for (int i = sp->agent + 1; i < sp->cfg.nsections; i++)
		if (in_scope(sp, &sp->cfg.sections[i]) && eq(sp->cfg.sections[i].kind, "spoe-agent"))
			report(l, sp->path, sp->cfg.sections[i].line, LINT_ERROR, "spoe",
			       "a second spoe-agent (%s) in the same scope: HAProxy allows one per "
			       "engine", sp->cfg.sections[i].name);
	if (sp->msg < 0) {
		report(l, sp->path, ag->line, LINT_ERROR, "spoe",
		       "no spoe-message %s: certspoa decides on that message only, every request "
		       "gets no verdict", HANDLER_MESSAGE);
		return;
	}
	m = &sp->cfg.sections[sp->msg];
	spoe_message_route(sp);
	if (!sp->msg_listed && !sp->group[0])
		report(l, sp->path, ag->line, LINT_ERROR, "spoe",
		       "spoe-agent %s does not list message %s (messages or groups): it is never sent",
		       ag->name, HANDLER_MESSAGE);
	else if (sp->msg_listed && !sp->has_event && !sp->group[0])
		report(l, sp->path, m->line, LINT_ERROR, "spoe",
		       "spoe-message %s has no event and is in no group: it is never sent",
		       HANDLER_MESSAGE);
	for (int k = 0; k < m->count; k++) {
		ln = sline(&sp->cfg, m, k);
		if (!eq(ln->argv[0], "args"))
			continue;
		for (int i = 1; i < ln->argc; i++) {
			const char *eqs = strchr(ln->argv[i], '=');

			if (!eqs)
				report(l, sp->path, ln->line, LINT_WARNING, "spoe",
				       "argument '%s' has no name: certspoa ignores it (name=sample)",
				       ln->argv[i]);
			else if (!known_arg(ln->argv[i], (size_t)(eqs - ln->argv[i])))
				report(l, sp->path, ln->line, LINT_WARNING, "spoe",
				       "argument '%.*s' is not one certspoa reads: it is sent for nothing",
				       (int)(eqs - ln->argv[i]), ln->argv[i]);
		}
	}
	if (host_split(sp)) {
		msg_has_arg(sp, "host", &line);
		report(l, sp->path, line, LINT_WARNING, "spoe",
		       "host=%s: req.hdr splits a Host value at commas and sends one item "
		       "(\"Host: a, b\" reaches the agent as b) while the application sees it "
		       "all; use host=req.fhdr(host)", msg_arg_sample(sp, "host"));
		line = 0;
	}
	if (!msg_has_arg(sp, "cert", &line))
		report(l, sp->path, line ? line : m->line, LINT_ERROR, "spoe",
		       "message %s does not send cert=ssl_c_der: the agent never sees a certificate",
		       HANDLER_MESSAGE);
	if (!l->agent && !msg_has_arg(sp, "verify", NULL))
		report(l, sp->path, line ? line : m->line, LINT_ERROR, "spoe",
		       "message %s does not send verify=ssl_c_verify: a verify = haproxy policy "
		       "(the default) denies every certificate", HANDLER_MESSAGE);

	if (!agent_line(sp, "timeout", "processing")) {
		report(l, sp->path, ag->line, LINT_ERROR, "spoe",
		       "spoe-agent %s has no 'timeout processing': a hung agent stalls every request "
		       "(2.6 and 3.x alike)", ag->name);
	} else {
		const struct policy *p;
		long proc = 0;

		if ((p = ocsp_timeout_over(l->agent, sp, &proc, &line)) != NULL)
			report(l, sp->path, line, LINT_WARNING, "spoe",
			       "'timeout processing' (%ld ms) is not above [policy %s] ocsp_timeout (%d ms): "
			       "a request waiting for an OCSP answer gets no verdict (agent_unavailable) "
			       "before the agent's own ocsp_unavailable; " OCSP_TIMEOUT_ADVICE,
			       proc, p->name, p->ocsp_timeout_ms);
	}
	/* "option send-frag-payload" (the 2.6/3.0 default) is no finding:
	 * HAProxy 2.6 and 3.0 do not announce fragmentation, so a message
	 * larger than max-frame-size is refused alone (503), with it on or
	 * off; tests/lint/run.sh shows it (docs/LINT.md). */
}

/* ------------------------------------------------------------ frontends */

static int defaults_for(const struct hacfg *c, int si)
{
	int d = -1;

	for (int i = 0; i < si; i++)
		if (eq(c->sections[i].kind, "defaults"))
			d = i;
	return d;
}

static int is_proxy_section(const struct hacfg_section *s, int frontend)
{
	return eq(s->kind, "listen") || eq(s->kind, frontend ? "frontend" : "backend");
}

/* Every "txn.P.NAME" the frontend reads, P the SPOE prefix. */
struct var_read {
	char prefix[LINT_NAME_MAX];
	char name[LINT_NAME_MAX];
	int line;
};

#define VAR_READS_MAX 64

static int collect_reads(const struct hacfg *c, const struct fe *fe, struct var_read *out, int max);

/* The variables that hold the verdict: txn.PREFIX.verdict, and those the
 * frontend copies it into (set-var(sess.x) var(txn.certspoa.verdict)). */
static void find_verdict_vars(const struct hacfg *c, struct fe *fe)
{
	struct var_read r[VAR_READS_MAX];
	int n = collect_reads(c, fe, r, VAR_READS_MAX);

	if (snprintf(fe->vv[0], sizeof(fe->vv[0]), "txn.%.100s.verdict", fe->sp->prefix) < 0)
		fe->vv[0][0] = '\0';
	fe->nvv = 1;
	/* a verdict read under another prefix is the "spoe" rule's finding;
	 * the gate is judged as if the prefix were right */
	for (int i = 0; i < n && fe->nvv < LINT_VARS_MAX; i++)
		if (eq(r[i].name, "verdict") && !eq(r[i].prefix, fe->sp->prefix))
			snprintf(fe->vv[fe->nvv++], sizeof(fe->vv[0]), "txn.%.100s.verdict", r[i].prefix);
	for (int k = 0; k < fe->sec->count; k++) {
		const struct hacfg_line *ln = sline(c, fe->sec, k);
		char to[LINT_NAME_MAX], from[LINT_NAME_MAX];

		if (ln->argc < 3 || !eq(ln->argv[0], "http-request") ||
		    action_var(ln->argv[1], "set-var", to, sizeof(to)) < 0 ||
		    var_arg(ln->argv[2], from, sizeof(from)) < 0 || !is_verdict_var(fe, from) ||
		    is_verdict_var(fe, to) || fe->nvv >= LINT_VARS_MAX)
			continue;
		snprintf(fe->vv[fe->nvv++], sizeof(fe->vv[0]), "%s", to);
		if (strncmp(to, "sess.", 5) == 0 && !fe->sess_line) {
			fe->sess_line = ln->line;
			snprintf(fe->sess_var, sizeof(fe->sess_var), "%s", to);
		}
	}
}

enum act {
	ACT_OTHER = 0,
	ACT_BLOCK,                /* deny, reject, tarpit, silent-drop, auth */
	ACT_ANSWER,               /* return, redirect: answers, may also block */
	ACT_FORWARD,              /* allow, use-service: skips the rules after it */
	ACTS
};

static enum act http_action(const char *a)
{
	static const char *const block[] = { "deny", "reject", "tarpit", "silent-drop", "auth", NULL };

	for (int i = 0; block[i]; i++)
		if (eq(a, block[i]))
			return ACT_BLOCK;
	if (eq(a, "return") || eq(a, "redirect"))
		return ACT_ANSWER;
	if (eq(a, "allow") || eq(a, "use-service"))
		return ACT_FORWARD;
	return ACT_OTHER;
}

/* "http-request redirect scheme https ..." (or the older "redirect scheme
 * https"): plain-HTTP requests are sent to TLS, never to the gate. */
static int is_https_redirect(const struct hacfg_line *ln)
{
	int i = eq(ln->argv[0], "http-request") ? 2 : eq(ln->argv[0], "redirect") ? 1 : -1;

	if (i < 0 || (i == 2 && (ln->argc < 2 || !eq(ln->argv[1], "redirect"))))
		return 0;
	return i + 1 < ln->argc && eq(ln->argv[i], "scheme") && eq(ln->argv[i + 1], "https");
}

static int redirects_to_https(const struct hacfg *c, const struct fe *fe)
{
	for (int k = 0; k < fe->sec->count; k++)
		if (is_https_redirect(sline(c, fe->sec, k)))
			return 1;
	return 0;
}

/* Rules "fail-open" and "order". Returns the index (in the section) of the
 * fail-closed rule, -1 if none. */
static int check_gate(struct lint *l, struct fe *fe)
{
	const struct hacfg *c = &l->ha;
	int gate = -1, deny_only = -1, group_sent = -1;

	for (int k = 0; k < fe->sec->count && gate < 0; k++) {
		const struct hacfg_line *ln = sline(c, fe->sec, k);
		struct condinfo ci;
		enum act a;

		if (ln->argc < 2 || !eq(ln->argv[0], "http-request"))
			continue;
		a = http_action(ln->argv[1]);
		if (a != ACT_BLOCK && a != ACT_ANSWER)
			continue;
		analyze_cond(c, fe, ln, cond_at(ln, 2), &ci);
		if (ci.fail_closed)
			gate = k;
		else if (ci.tests_deny && deny_only < 0)
			deny_only = k;
	}
	if (gate < 0) {
		if (deny_only >= 0)
			report(l, c->file, sline(c, fe->sec, deny_only)->line, LINT_ERROR, "fail-open",
			       "%s %s: this rule denies only a 'deny' verdict, and nothing refuses a "
			       "request without one: with the agent down, slow or unreachable every request "
			       "passes; add 'http-request deny unless { var(%s) -m str allow }'",
			       fe->sec->kind, fe->sec->name, fe->vv[0]);
		else
			report(l, c->file, fe->sec->line, LINT_ERROR, "fail-open",
			       "%s %s uses certspoa but no http-request rule refuses what is not an "
			       "explicit allow: add 'http-request deny unless { var(%s) -m str allow }'",
			       fe->sec->kind, fe->sec->name, fe->vv[0]);
		return -1;
	}
	for (int k = 0; k < fe->sec->count && group_sent < 0; k++) {
		const struct hacfg_line *ln = sline(c, fe->sec, k);

		if (ln->argc >= 2 && eq(ln->argv[0], "http-request") && eq(ln->argv[1], "send-spoe-group"))
			group_sent = k;
	}
	if (fe->sp->group[0] && !fe->sp->has_event && group_sent < 0)
		report(l, c->file, fe->filter_line, LINT_ERROR, "order",
		       "%s %s: message %s is in group %s and no 'http-request send-spoe-group' "
		       "sends it: every request is refused", fe->sec->kind, fe->sec->name, HANDLER_MESSAGE, fe->sp->group);
	for (int k = 0; k < gate; k++) {
		const struct hacfg_line *ln = sline(c, fe->sec, k);
		struct condinfo ci;
		enum act a;

		if (ln->argc >= 3 && eq(ln->argv[0], "tcp-request") && eq(ln->argv[1], "content") &&
		    eq(ln->argv[2], "use-service")) {
			report(l, c->file, ln->line, LINT_ERROR, "order",
			       "%s %s: tcp-request content use-service answers before the http-request "
			       "rules, the certspoa verdict is never asked for", fe->sec->kind, fe->sec->name);
			continue;
		}
		if (ln->argc < 2 || !eq(ln->argv[0], "http-request"))
			continue;
		a = http_action(ln->argv[1]);
		if (a != ACT_ANSWER && a != ACT_FORWARD)
			continue;
		analyze_cond(c, fe, ln, cond_at(ln, 2), &ci);
		if (ci.requires_allow || is_https_redirect(ln))
			continue;
		report(l, c->file, ln->line, a == ACT_FORWARD || eq(ln->argv[1], "return") ?
		       LINT_ERROR : LINT_WARNING, "order",
		       "%s %s: 'http-request %s' comes before the fail-closed rule (line %d): "
		       "it %s without an allow verdict", fe->sec->kind, fe->sec->name, ln->argv[1],
		       sline(c, fe->sec, gate)->line,
		       a == ACT_FORWARD ? "skips the rules after it and forwards" : "answers");
	}
	if (group_sent > gate)
		report(l, c->file, sline(c, fe->sec, gate)->line, LINT_ERROR, "order",
		       "%s %s: the fail-closed rule comes before 'http-request send-spoe-group' "
		       "(line %d): there is no verdict yet, every request is refused",
		       fe->sec->kind, fe->sec->name, sline(c, fe->sec, group_sent)->line);
	return gate;
}

/* Rule "headers": the certificate and identity header family. */
static const struct {
	const char *name;
	int prefix;               /* the name is a prefix: X-SSL-Client-* */
} cert_headers[] = {
	{ "Client-Cert", 0 },
	{ "Client-Cert-Chain", 0 },
	{ "X-Forwarded-Client-Cert", 0 },
	{ "X-ARR-ClientCert", 0 },
	{ "X-SSL-Client-", 1 },
	{ "X-Client-Identity", 0 },
	{ "X-Client-Cert-Days-Left", 0 },
	{ "X-Certspoa-", 1 },
};

#define CERT_HEADERS (int)(sizeof(cert_headers) / sizeof(cert_headers[0]))

static int header_deleted(const struct hacfg *c, const struct fe *fe, const char *name, int prefix)
{
	size_t nl = strlen(name);

	for (int k = 0; k < fe->sec->count; k++) {
		const struct hacfg_line *ln = sline(c, fe->sec, k);
		const char *d, *mode = "str";
		size_t dl;

		if (ln->argc >= 2 && eq(ln->argv[0], "http-request") && http_action(ln->argv[1]) == ACT_FORWARD)
			return 0;         /* rules after it may be skipped */
		if (ln->argc < 3 || !eq(ln->argv[0], "http-request") || !eq(ln->argv[1], "del-header") ||
		    cond_at(ln, 3) >= 0)
			continue;
		d = ln->argv[2];
		dl = strlen(d);
		if (ln->argc >= 5 && eq(ln->argv[3], "-m"))
			mode = ln->argv[4];
		if (eq(mode, "str") && !prefix && strcasecmp(d, name) == 0)
			return 1;
		if (eq(mode, "beg") && dl <= nl && strncasecmp(name, d, dl) == 0)
			return 1;
		if (eq(mode, "sub") && strcasestr(name, d))
			return 1;
		if (eq(mode, "end") && !prefix && dl <= nl && strcasecmp(name + nl - dl, d) == 0)
			return 1;
	}
	return 0;
}

static int restricts_names(const struct hacfg *c, const struct hacfg_section *s)
{
	for (int k = 0; s && k < s->count; k++) {
		const struct hacfg_line *ln = sline(c, s, k);

		if (ln->argc >= 3 && eq(ln->argv[0], "option") &&
		    eq(ln->argv[1], "http-restrict-req-hdr-names"))
			return eq(ln->argv[2], "delete") || eq(ln->argv[2], "reject");
	}
	return -1;
}

static void check_headers(struct lint *l, const struct fe *fe)
{
	const struct hacfg *c = &l->ha;
	char missing[512] = "";
	size_t mn = 0;
	int d, r;

	for (int i = 0; i < CERT_HEADERS; i++) {
		if (header_deleted(c, fe, cert_headers[i].name, cert_headers[i].prefix))
			continue;
		mn += (size_t)snprintf(missing + mn, sizeof(missing) - mn, "%s%s%s", mn ? ", " : "",
		                       cert_headers[i].name, cert_headers[i].prefix ? "*" : "");
		if (mn >= sizeof(missing))
			mn = sizeof(missing) - 1;
	}
	/* headers this frontend sets only sometimes (or adds) from the certificate */
	for (int k = 0; k < fe->sec->count; k++) {
		const struct hacfg_line *ln = sline(c, fe->sec, k);
		int known = 0;

		if (ln->argc < 4 || !eq(ln->argv[0], "http-request") ||
		    !(eq(ln->argv[1], "add-header") ||
		      (eq(ln->argv[1], "set-header") && cond_at(ln, 4) >= 0)))
			continue;
		if (!strstr(ln->argv[3], "ssl_c_") && !strstr(ln->argv[3], "var("))
			continue;
		for (int i = 0; i < CERT_HEADERS; i++)
			if (cert_headers[i].prefix ?
			    strncasecmp(ln->argv[2], cert_headers[i].name, strlen(cert_headers[i].name)) == 0 :
			    strcasecmp(ln->argv[2], cert_headers[i].name) == 0)
				known = 1;
		if (known || header_deleted(c, fe, ln->argv[2], 0) || strstr(missing, ln->argv[2]))
			continue;
		mn += (size_t)snprintf(missing + mn, sizeof(missing) - mn, "%s%s", mn ? ", " : "",
		                       ln->argv[2]);
		if (mn >= sizeof(missing))
			mn = sizeof(missing) - 1;
	}
	if (mn)
		report(l, c->file, fe->sec->line, LINT_ERROR, "headers",
		       "%s %s does not delete %s: a client can forge them and the application "
		       "believes them; add 'http-request del-header NAME' (-m beg for a family) "
		       "before any rule that forwards", fe->sec->kind, fe->sec->name, missing);
	r = restricts_names(c, fe->sec);
	if (r < 0 && (d = defaults_for(c, fe->si)) >= 0)
		r = restricts_names(c, &c->sections[d]);
	if (r <= 0)
		report(l, c->file, fe->sec->line, LINT_ERROR, "headers",
		       "%s %s: no 'option http-restrict-req-hdr-names delete': a forged "
		       "Client_Cert (underscore) passes del-header and reaches applications that read "
		       "it as Client-Cert (CGI, PHP, WSGI)", fe->sec->kind, fe->sec->name);
}

/* Does some policy need a certificate? Without --agent-config: yes (the
 * default, require_cert = yes). */
static int policies_need_cert(const struct lint *l)
{
	if (!l->agent)
		return 1;
	for (const struct policy *p = l->agent->policies; p; p = p->next)
		if (p->require_cert)
			return 1;
	return 0;
}

/* Rule "bind-verify". */
static void check_binds(struct lint *l, const struct fe *fe)
{
	const struct hacfg *c = &l->ha;
	int forwarded = msg_has_arg(fe->sp, "fwd_cert", NULL);

	for (int k = 0; k < fe->sec->count; k++) {
		const struct hacfg_line *ln = sline(c, fe->sec, k);
		const char *verify = NULL, *crt_ign = NULL, *ca_ign = NULL;
		int ssl = 0;

		if (!eq(ln->argv[0], "bind"))
			continue;
		for (int i = 2; i < ln->argc; i++) {
			if (eq(ln->argv[i], "ssl"))
				ssl = 1;
			else if (eq(ln->argv[i], "verify") && i + 1 < ln->argc)
				verify = ln->argv[++i];
			else if (eq(ln->argv[i], "crt-ignore-err") && i + 1 < ln->argc)
				crt_ign = ln->argv[++i];
			else if (eq(ln->argv[i], "ca-ignore-err") && i + 1 < ln->argc)
				ca_ign = ln->argv[++i];
		}
		if (forwarded && (!ssl || !verify || eq(verify, "none")))
			continue;             /* the certificate comes in a header ([forwarded]) */
		if (!ssl) {
			if (policies_need_cert(l) && !redirects_to_https(c, fe))
				report(l, c->file, ln->line, LINT_ERROR, "bind-verify",
				       "%s %s: bind without ssl: no client certificate ever arrives and "
				       "the policy needs one (every request is refused)", fe->sec->kind, fe->sec->name);
			continue;
		}
		if (!verify || eq(verify, "none")) {
			if (policies_need_cert(l))
				report(l, c->file, ln->line, LINT_ERROR, "bind-verify",
				       "%s %s: bind %s: HAProxy never asks for a client certificate and "
				       "the policy needs one (every request is refused); use 'verify optional "
				       "crt-ignore-err all ca-ignore-err all ca-file FILE'", fe->sec->kind, fe->sec->name,
				       verify ? "verify none" : "without verify");
			continue;
		}
		if (eq(verify, "optional") &&
		    (!crt_ign || !eq(crt_ign, "all") || !ca_ign || !eq(ca_ign, "all")))
			report(l, c->file, ln->line, LINT_ERROR, "bind-verify",
			       "%s %s: 'verify optional' without 'crt-ignore-err all ca-ignore-err "
			       "all': a bad certificate aborts the TLS handshake, the client gets a TLS "
			       "alert instead of certspoa's 403 with the reason", fe->sec->kind, fe->sec->name);
		else if (eq(verify, "required"))
			report(l, c->file, ln->line, LINT_WARNING, "bind-verify",
			       "%s %s: 'verify required': clients without a good certificate get a "
			       "TLS alert, never certspoa's 403 with the reason; use 'verify optional "
			       "crt-ignore-err all ca-ignore-err all'", fe->sec->kind, fe->sec->name);
	}
}

static int collect_reads(const struct hacfg *c, const struct fe *fe, struct var_read *out, int max)
{
	int n = 0;

	for (int k = 0; k < fe->sec->count; k++) {
		const struct hacfg_line *ln = sline(c, fe->sec, k);

		for (int i = 0; i < ln->argc; i++) {
			const char *w = ln->argv[i], *p = w;

			if (strncmp(w, "set-var", 7) == 0 || strncmp(w, "unset-var", 9) == 0)
				continue;
			while ((p = strstr(p, "txn.")) != NULL) {
				struct var_read v = { .line = ln->line };
				size_t a = 0, b = 0;
				int dup = 0;

				if (p > w && (p[-1] == '_' || p[-1] == '.' || (p[-1] >= 'a' && p[-1] <= 'z'))) {
					p += 4;
					continue;
				}
				p += 4;
				while ((*p == '_' || *p == '-' || (*p >= 'a' && *p <= 'z') ||
				        (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) &&
				       a + 1 < sizeof(v.prefix))
					v.prefix[a++] = *p++;
				if (*p != '.')
					continue;
				p++;
				while ((*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				        (*p >= '0' && *p <= '9')) && b + 1 < sizeof(v.name))
					v.name[b++] = *p++;
				if (!a || !b)
					continue;
				for (int j = 0; j < n; j++)
					if (eq(out[j].prefix, v.prefix) && eq(out[j].name, v.name))
						dup = 1;
				if (!dup && n < max)
					out[n++] = v;
			}
		}
	}
	return n;
}

/* Rule "spoe" as seen from the frontend: var-prefix, register-var-names. */
static void check_vars(struct lint *l, const struct fe *fe)
{
	const struct hacfg *c = &l->ha;
	struct var_read r[VAR_READS_MAX];
	const struct spoe *sp = fe->sp;
	const struct hacfg_section *ag;
	char missing[512] = "";
	size_t mn = 0;
	int n = collect_reads(c, fe, r, VAR_READS_MAX), first = 0, force;

	if (sp->agent < 0)
		return;
	ag = &sp->cfg.sections[sp->agent];
	for (int i = 0; i < n; i++)
		if (eq(r[i].name, "verdict") && !eq(r[i].prefix, sp->prefix))
			report(l, c->file, r[i].line, LINT_ERROR, "spoe",
			       "%s %s reads txn.%s.verdict but spoe-agent %s sets txn.%s.* "
			       "(option var-prefix): the verdict is never there", fe->sec->kind, fe->sec->name,
			       r[i].prefix, ag->name, sp->prefix);
	force = agent_line(sp, "option", "force-set-var") != NULL;
	for (int i = 0; i < n && !force; i++) {
		const struct hacfg_section *s = ag;
		int reg = 0;

		if (!eq(r[i].prefix, sp->prefix))
			continue;
		for (int k = 0; k < s->count && !reg; k++) {
			const struct hacfg_line *ln = sline(&sp->cfg, s, k);

			if (eq(ln->argv[0], "register-var-names") && words_have(ln, 1, r[i].name))
				reg = 1;
			if (ln->argc == 3 && eq(ln->argv[0], "option") &&
			    (eq(ln->argv[1], "set-on-error") || eq(ln->argv[1], "set-process-time") ||
			     eq(ln->argv[1], "set-total-time")) && eq(ln->argv[2], r[i].name))
				reg = 1;
		}
		if (reg)
			continue;
		if (!first)
			first = r[i].line;
		mn += (size_t)snprintf(missing + mn, sizeof(missing) - mn, "%s%s", mn ? " " : "", r[i].name);
		if (mn >= sizeof(missing))
			mn = sizeof(missing) - 1;
	}
	if (mn)
		report(l, c->file, first, LINT_WARNING, "spoe",
		       "%s %s reads txn.%s.{%s}, not in spoe-agent %s's register-var-names: "
		       "HAProxy sets a variable from the agent only if it knows the name; this file "
		       "naming it is enough (2.6 to 3.2), but a Lua script or another config reading "
		       "it gets nothing", fe->sec->kind, fe->sec->name, sp->prefix, missing, ag->name);
}

/* Rule "agent-health": the backend the SPOE agent uses. */
static void check_agent_backend(struct lint *l, const struct fe *fe)
{
	const struct hacfg *c = &l->ha;
	const struct spoe *sp = fe->sp;
	const struct hacfg_line *ub = agent_line(sp, "use-backend", NULL);
	const struct hacfg_section *b = NULL, *defs;
	int bi = -1, d, spop_check = 0, dflt_check = 0;

	if (!ub || ub->argc < 2) {
		if (sp->agent >= 0)
			report(l, sp->path, sp->cfg.sections[sp->agent].line, LINT_ERROR, "spoe",
			       "spoe-agent %s has no use-backend", sp->cfg.sections[sp->agent].name);
		return;
	}
	for (int i = 0; i < c->nsections; i++)
		if (is_proxy_section(&c->sections[i], 0) && eq(c->sections[i].name, ub->argv[1]))
			bi = i;
	if (bi < 0) {
		report(l, sp->path, ub->line, LINT_ERROR, "spoe",
		       "use-backend %s: no such backend in %s", ub->argv[1], c->file);
		return;
	}
	b = &c->sections[bi];
	d = defaults_for(c, bi);
	defs = d >= 0 ? &c->sections[d] : NULL;
	for (int pass = 0; pass < 2; pass++) {
		const struct hacfg_section *s = pass ? b : defs;

		for (int k = 0; s && k < s->count; k++) {
			const struct hacfg_line *ln = sline(c, s, k);

			if (ln->argc >= 2 && eq(ln->argv[0], "mode") && eq(ln->argv[1], "spop") &&
			    may_be_before(l, 301))
				report(l, c->file, ln->line, LINT_ERROR, "spoe",
				       "'mode spop' is fatal on HAProxy 2.6 and 3.0 (unknown mode); 3.1+ sets "
				       "it by itself: use 'mode tcp'%s",
				       l->version ? "" : " (or pass --haproxy-version 3.1+)");
			if (ln->argc >= 2 && eq(ln->argv[0], "option") && eq(ln->argv[1], "spop-check"))
				spop_check = 1;
			if (eq(ln->argv[0], "default-server")) {
				if (words_have(ln, 1, "check"))
					dflt_check = 1;
				if (words_have(ln, 1, "no-check"))
					dflt_check = 0;
			}
		}
	}
	if (!spop_check)
		report(l, c->file, b->line, LINT_WARNING, "agent-health",
		       "backend %s (the certspoa agents) has no 'option spop-check': a hung or broken "
		       "agent stays in the pool and each request waits for 'timeout processing'",
		       b->name);
	for (int k = 0; k < b->count; k++) {
		const struct hacfg_line *ln = sline(c, b, k);
		int chk = dflt_check;

		if (!eq(ln->argv[0], "server"))
			continue;
		if (words_have(ln, 3, "check"))
			chk = 1;
		if (words_have(ln, 3, "no-check"))
			chk = 0;
		if (!chk)
			report(l, c->file, ln->line, LINT_WARNING, "agent-health",
			       "backend %s: server %s has no 'check': HAProxy never notices the agent "
			       "is down or hung", b->name, ln->argc > 1 ? ln->argv[1] : "?");
	}
}

/* Does the condition of ln from word at on name a word containing what,
 * itself or through a named ACL? */
static int cond_mentions(const struct hacfg *c, const struct fe *fe, const struct hacfg_line *ln,
                         int at, const char *what)
{
	if (at < 0)
		return 0;
	for (int i = at + 1; i < ln->argc; i++) {
		const char *w = ln->argv[i][0] == '!' ? ln->argv[i] + 1 : ln->argv[i];

		if (strstr(w, what))
			return 1;
		for (int k = 0; k < fe->sec->count; k++) {
			const struct hacfg_line *al = sline(c, fe->sec, k);

			if (al->argc < 3 || !eq(al->argv[0], "acl") || !eq(al->argv[1], w))
				continue;
			for (int j = 2; j < al->argc; j++)
				if (strstr(al->argv[j], what))
					return 1;
		}
	}
	return 0;
}

/* The rule that stores the verdict in sess.* does so only when the agent
 * said the verdict may be reused (txn.<prefix>.reuse, haproxy-examples/
 * mtls-api): the agent answers "request" for route-dependent decisions and
 * bounds the age itself (max_age). */
static int perconn_agent_directed(const struct hacfg *c, const struct fe *fe)
{
	char reuse[LINT_NAME_MAX + 16];

	if (snprintf(reuse, sizeof(reuse), "txn.%.100s.reuse", fe->sp->prefix) < 0)
		return 0;
	for (int k = 0; k < fe->sec->count; k++) {
		const struct hacfg_line *ln = sline(c, fe->sec, k);

		if (ln->line == fe->sess_line)
			return cond_mentions(c, fe, ln, cond_at(ln, 3), reuse);
	}
	return 0;
}

/* Rule "per-connection": verdicts kept in sess.* variables. */
static void check_perconn(struct lint *l, const struct fe *fe)
{
	const struct hacfg *c = &l->ha;
	int aged = 0, line = 0, directed;

	if (!fe->sess_line)
		return;
	directed = perconn_agent_directed(c, fe);
	for (int k = 0; k < fe->sec->count; k++) {
		const struct hacfg_line *ln = sline(c, fe->sec, k);
		char v[LINT_NAME_MAX];
		struct condinfo ci;

		if (ln->argc < 2 || !eq(ln->argv[0], "http-request"))
			continue;
		if (action_var(ln->argv[1], "unset-var", v, sizeof(v)) == 0 && eq(v, fe->sess_var)) {
			analyze_cond(c, fe, ln, cond_at(ln, 2), &ci);
			if (ci.mentions_date)
				aged = 1;
		}
		/* agent-directed: the rule that reuses the session's verdict
		 * checks its date (sess.*_until, from max_age) */
		if (directed) {
			int at = cond_at(ln, 2);

			analyze_cond(c, fe, ln, at, &ci);
			if (ci.mentions_date && cond_mentions(c, fe, ln, at, fe->sess_var))
				aged = 1;
		}
	}
	if (directed && aged)
		return;      /* the agent says per request what may be reused */
	if (!aged)
		report(l, c->file, fe->sess_line, LINT_ERROR, "per-connection",
		       "%s %s keeps the verdict in %s with no maximum age: a revoked or "
		       "unlisted certificate keeps working on an open connection for as long as the "
		       "client keeps it busy; forget it after N seconds ('http-request unset-var(%s) "
		       "if { date,sub(sess.cert_expires) -m int ge 0 }')",
		       fe->sec->kind, fe->sec->name, fe->sess_var, fe->sess_var);
	if (msg_has_arg(fe->sp, "host", &line) || msg_has_arg(fe->sp, "path", &line))
		report(l, fe->sp->path, line, LINT_WARNING, "per-connection",
		       "message %s sends host or path, but %s %s reuses the verdict for every "
		       "request of a connection (%s): a route-dependent policy decides on the first "
		       "request only", HANDLER_MESSAGE, fe->sec->kind, fe->sec->name, fe->sess_var);
	if (l->agent)
		for (const struct route *r = l->agent->routes; r; r = r->next)
			if (r->host.src || r->path_prefix.src)
				report(l, l->agent->file, r->line, LINT_ERROR, "per-connection",
				       "route %s depends on the request (%s), but %s %s in %s decides "
				       "once per connection (%s)", r->name, r->host.src ? "host" : "path",
				       fe->sec->kind, fe->sec->name, c->file, fe->sess_var);
}

/* Rule "agent-config": what the agent's policies and routes need. */
static void check_agent_config(struct lint *l, const struct fe *fe)
{
	const struct config *a = l->agent;
	const struct spoe *sp = fe->sp;
	static const struct {
		const char *arg;
		size_t off;
	} route_args[] = {
		{ "sni", offsetof(struct route, sni) },
		{ "host", offsetof(struct route, host) },
		{ "path", offsetof(struct route, path_prefix) },
		{ "frontend", offsetof(struct route, frontend) },
	};

	if (!a || sp->msg < 0)
		return;
	for (const struct policy *p = a->policies; p; p = p->next) {
		if (p->verify != VERIFY_HAPROXY && !msg_has_arg(sp, "chain", NULL))
			report(l, a->file, p->line, LINT_ERROR, "agent-config",
			       "[policy %s] verifies in the agent (verify = %s) but %s sends no "
			       "chain=ssl_c_chain_der: certificates from an intermediate CA fail",
			       p->name, p->verify == VERIFY_AGENT ? "agent" : "both", sp->path);
		if (p->verify != VERIFY_AGENT && !msg_has_arg(sp, "verify", NULL))
			report(l, a->file, p->line, LINT_ERROR, "agent-config",
			       "[policy %s] trusts HAProxy's verification (verify = %s) but %s sends no "
			       "verify=ssl_c_verify: every certificate is denied", p->name,
			       p->verify == VERIFY_HAPROXY ? "haproxy" : "both", sp->path);
		if (p->sni_host_match && !(msg_has_arg(sp, "sni", NULL) && msg_has_arg(sp, "host", NULL)))
			report(l, a->file, p->line, LINT_ERROR, "agent-config",
			       "[policy %s] sni_host_match needs sni and host in %s", p->name, sp->path);
	}
	for (const struct route *r = a->routes; r; r = r->next)
		for (size_t i = 0; i < sizeof(route_args) / sizeof(route_args[0]); i++) {
			const struct cfg_list *li = (const struct cfg_list *)
			                            ((const char *)r + route_args[i].off);

			if (li->src && !msg_has_arg(sp, route_args[i].arg, NULL))
				report(l, a->file, li->line ? li->line : r->line, LINT_ERROR, "agent-config",
				       "[route %s] matches on %s, which %s does not send: the route never "
				       "matches", r->name, route_args[i].arg, sp->path);
		}
	/* host_count (req.hdr_cnt counts comma-separated values too) has the
	 * agent refuse a Host with two names; without it, req.hdr sends the
	 * last name only: a way around a route */
	for (const struct route *r = a->routes; r; r = r->next) {
		if (!r->host.src || !msg_has_arg(sp, "host", NULL) || msg_has_arg(sp, "host_count", NULL))
			continue;
		if (host_split(sp))
			report(l, a->file, r->host.line ? r->host.line : r->line, LINT_ERROR,
			       "agent-config", "[route %s] matches on host, and %s sends it with "
			       "req.hdr and no host_count: \"Host: %s, other\" is routed as "
			       "\"other\", around this route; send host=req.fhdr(host) "
			       "host_count=req.hdr_cnt(host)", r->name, sp->path, r->host.src);
		else
			report(l, a->file, r->host.line ? r->host.line : r->line, LINT_WARNING,
			       "agent-config", "[route %s] matches on host, but %s sends no "
			       "host_count=req.hdr_cnt(host): a request with two Host headers is "
			       "routed on one of them instead of refused", r->name, sp->path);
	}
	if (a->fwd.enabled && !msg_has_arg(sp, "fwd_cert", NULL))
		report(l, a->file, a->fwd.line, LINT_ERROR, "agent-config",
		       "[forwarded] is set but %s sends no fwd_cert=req.fhdr(client-cert): the "
		       "forwarded certificate never reaches the agent", sp->path);
	if (a->fwd.enabled && !msg_has_arg(sp, "src", NULL))
		report(l, a->file, a->fwd.line, LINT_ERROR, "agent-config",
		       "[forwarded] trusts proxies by address but %s sends no src: no forwarded "
		       "certificate is ever believed", sp->path);
	if (a->trace_secret && !msg_has_arg(sp, "trace", NULL))
		report(l, a->file, 1, LINT_WARNING, "agent-config",
		       "trace_secret is set but %s sends no trace=req.hdr(x-certspoa-trace)", sp->path);
}

/* A frontend with a spoe filter: is it certspoa's? */
static int load_frontend(struct lint *l, int si, struct fe *fe)
{
	const struct hacfg *c = &l->ha;
	const struct hacfg_section *s = &c->sections[si];

	memset(fe, 0, sizeof(*fe));
	fe->sec = s;
	fe->si = si;
	for (int k = 0; k < s->count; k++) {
		const struct hacfg_line *ln = sline(c, s, k);
		const char *engine = NULL, *conf = NULL;

		if (ln->argc < 2 || !eq(ln->argv[0], "filter") || !eq(ln->argv[1], "spoe"))
			continue;
		for (int i = 2; i + 1 < ln->argc; i += 2) {
			if (eq(ln->argv[i], "engine"))
				engine = ln->argv[i + 1];
			else if (eq(ln->argv[i], "config"))
				conf = ln->argv[i + 1];
		}
		if (!conf) {
			report(l, c->file, ln->line, LINT_ERROR, "spoe",
			       "filter spoe without 'config FILE': HAProxy refuses to start");
			continue;
		}
		if (l->spoe_override)
			conf = l->spoe_override;
		fe->sp = spoe_load(l, conf, engine);
		if (!fe->sp)
			return -1;
		if ((fe->sp->read_ok && fe->sp->msg >= 0) || strstr(conf, "certspoa") ||
		    (engine && strstr(engine, "certspoa"))) {
			fe->filter_line = ln->line;
			check_spoe_file(l, fe->sp, ln);
			return 1;
		}
	}
	return 0;
}

static void lint_frontends(struct lint *l)
{
	const struct hacfg *c = &l->ha;
	int found = 0;

	for (int si = 0; si < c->nsections; si++) {
		struct fe fe;
		int rc;

		/* a backend may carry the filter too (on-backend-http-request) */
		if (!is_proxy_section(&c->sections[si], 1) && !is_proxy_section(&c->sections[si], 0))
			continue;
		rc = load_frontend(l, si, &fe);
		if (rc < 0) {
			l->oom = 1;
			return;
		}
		if (rc == 0)
			continue;
		found = 1;
		if (!fe.sp->read_ok || fe.sp->agent < 0) {
			snprintf(fe.vv[0], sizeof(fe.vv[0]), "txn.certspoa.verdict");
			fe.nvv = 1;
		} else {
			find_verdict_vars(c, &fe);
		}
		check_gate(l, &fe);
		check_headers(l, &fe);
		check_binds(l, &fe);
		if (!fe.sp->read_ok || fe.sp->agent < 0)
			continue;
		check_vars(l, &fe);
		check_agent_backend(l, &fe);
		check_perconn(l, &fe);
		check_agent_config(l, &fe);
	}
	if (!found)
		report(l, c->file, 1, LINT_WARNING, "spoe",
		       "no frontend has a certspoa SPOE filter ('filter spoe engine certspoa config "
		       "FILE'): nothing to check");
}

/* ------------------------------------------------------------ version */

/* "HAProxy version 2.6.12-1+deb12u1 2023/12/16 ..." from `haproxy -v`. */
static int detect_version(void)
{
	char buf[256], *v;
	FILE *p = popen("haproxy -v 2>/dev/null", "r");
	int ver = 0;

	if (!p)
		return 0;
	while (fgets(buf, sizeof(buf), p))
		if (!ver && (v = strstr(buf, "version ")) != NULL && hacfg_version(v + 8) > 0)
			ver = hacfg_version(v + 8);
	pclose(p);
	return ver;
}

static void lint_usage(FILE *out)
{
	fprintf(out,
	        "usage: certspoa lint HAPROXY.CFG [--spoe FILE] [--agent-config CERTSPOA.INI]\n"
	        "                     [--haproxy-version X.Y|any]\n"
	        "  Static checks of an HAProxy configuration that uses certspoa: one\n"
	        "  \"file:line: severity: message [rule]\" line per finding (docs/LINT.md).\n"
	        "  --spoe FILE            read this SPOE file instead of the filter's config path\n"
	        "  --agent-config FILE    cross-check with certspoa's own configuration\n"
	        "  --haproxy-version X.Y  the version-specific checks for this version (default:\n"
	        "                         'haproxy -v' if found, else every version: 'any')\n"
	        "  Exit: 0 no error (warnings allowed), 1 errors, 64 usage, 66 unreadable file,\n"
	        "  78 bad agent configuration.\n");
}

int lint_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "spoe",            required_argument, NULL, 's' },
		{ "agent-config",    required_argument, NULL, 'a' },
		{ "haproxy-version", required_argument, NULL, 'v' },
		{ "help",            no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct hacfg_opts o = { HACFG_HAPROXY, 0, env_lookup, NULL };
	struct lint l = { 0 };
	const char *agent_file = NULL, *version = NULL;
	char err[1024], *text;
	size_t len;
	int opt, errors = 0, warnings = 0, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			l.spoe_override = optarg;
			break;
		case 'a':
			agent_file = optarg;
			break;
		case 'v':
			version = optarg;
			break;
		case 'h':
			lint_usage(stdout);
			return EX_OK;
		default:
			lint_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind + 1 != argc) {
		lint_usage(stderr);
		return EX_USAGE;
	}
	if (version && !eq(version, "any") && hacfg_version(version) <= 0) {
		fprintf(stderr, "certspoa lint: --haproxy-version %s: want X.Y (2.6, 3.2) or any\n", version);
		return EX_USAGE;
	}
	l.version = version ? (eq(version, "any") ? 0 : hacfg_version(version)) : detect_version();
	if (agent_file && !(l.agent = cfg_load(agent_file, err, sizeof(err)))) {
		fprintf(stderr, "%s\n", err);
		return EX_CONFIG;
	}
	if (!(text = read_file(argv[optind], &len, err, sizeof(err)))) {
		fprintf(stderr, "certspoa lint: %s: %s\n", argv[optind], err);
		cfg_free(l.agent);
		return EX_NOINPUT;
	}
	o.version = l.version;
	if (hacfg_parse(&l.ha, argv[optind], text, len, &o) < 0) {
		free(text);
		cfg_free(l.agent);
		fprintf(stderr, "certspoa lint: out of memory\n");
		return EX_OSERR;
	}
	free(text);
	for (int i = 0; i < l.ha.ndiags; i++)
		report(&l, l.ha.file, l.ha.diags[i].line, LINT_ERROR, "syntax", "%s", l.ha.diags[i].msg);
	lint_frontends(&l);

	if (l.nf > 0)
		qsort(l.f, (size_t)l.nf, sizeof(*l.f), finding_cmp);
	for (int i = 0; i < l.nf; i++) {
		printf("%s:%d: %s: %s\n", l.f[i].file, l.f[i].line, sev_names[l.f[i].sev], l.f[i].msg);
		if (l.f[i].sev == LINT_ERROR)
			errors++;
		else
			warnings++;
		free(l.f[i].file);
		free(l.f[i].msg);
	}
	fprintf(stderr, "certspoa lint: %s: %d error%s, %d warning%s (HAProxy %s)\n", l.ha.file,
	        errors, errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s",
	        l.version ? (snprintf(err, sizeof(err), "%d.%d", l.version / 100, l.version % 100), err) :
	        "any version");
	if (l.oom) {
		fprintf(stderr, "certspoa lint: out of memory: findings may be missing\n");
		errors++;
	}
	rc = errors ? 1 : EX_OK;
	free(l.f);
	while (l.spoes) {
		struct spoe *n = l.spoes->next;

		hacfg_free(&l.spoes->cfg);
		free(l.spoes->path);
		free(l.spoes->engine);
		free(l.spoes);
		l.spoes = n;
	}
	hacfg_free(&l.ha);
	cfg_free(l.agent);
	return rc;
}
