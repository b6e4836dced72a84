/* An HAProxy configuration file (haproxy.cfg, or a SPOE file) read into
 * words: sections, lines, quoting, escapes, ${ENV} expansion and .if
 * blocks applied, line numbers kept. */
#ifndef CERTSPOA_HACFG_T_H
#define CERTSPOA_HACFG_T_H

enum hacfg_kind {
	HACFG_HAPROXY = 0,        /* haproxy.cfg: global, defaults, frontend... */
	HACFG_SPOE,               /* SPOE file: [engine], spoe-agent, spoe-message, spoe-group */
	HACFG_KINDS
};

/* Three-valued result of an .if condition. */
enum hacfg_tri {
	HACFG_FALSE = 0,
	HACFG_TRUE,
	HACFG_UNKNOWN,            /* cannot tell here: both branches are read */
	HACFG_TRIS
};

/* Environment lookup: the value of NAME, or NULL if it is not set. */
typedef const char *(*hacfg_getenv_fn)(const char *name, void *arg);

struct hacfg_opts {
	enum hacfg_kind kind;
	int version;              /* HAProxy major * 100 + minor (206, 302), 0 = unknown */
	hacfg_getenv_fn getenv;   /* NULL: no variable is set */
	void *env_arg;
};

struct hacfg_line {
	int line;                 /* 1-based line number in the file */
	int argc;
	char **argv;              /* words after quoting, escapes and expansion */
	int section;              /* index in sections[], -1 before the first one */
	int cond;                 /* inside an .if branch that could not be decided */
};

struct hacfg_section {
	char *kind;               /* "frontend", "backend", "spoe-agent"... */
	char *name;               /* "" when the section has none */
	char *scope;              /* SPOE: the [engine] scope it is in, NULL if none */
	int line;
	int first;                /* its body: lines[first .. first + count) */
	int count;
};

/* A problem with the file itself (unterminated quote, .else without .if). */
struct hacfg_diag {
	int line;
	char msg[160];
};

struct hacfg {
	char *file;
	struct hacfg_line *lines;
	int nlines;
	struct hacfg_section *sections;
	int nsections;
	struct hacfg_diag *diags;
	int ndiags;
};

#endif /* CERTSPOA_HACFG_T_H */
