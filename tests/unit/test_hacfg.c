/* hacfg: HAProxy's configuration syntax (agent/hacfg.c), the reader under
 * `certspoa lint`. */
#include <stdlib.h>
#include <string.h>

#include "hacfg.h"
#include "testhelp.h"

static const char *fake_env(const char *name, void *arg)
{
	(void)arg;
	if (strcmp(name, "PORT") == 0)
		return "8443";
	if (strcmp(name, "EMPTY") == 0)
		return "";
	return NULL;
}

static const struct hacfg_opts env_opts = { HACFG_HAPROXY, 206, fake_env, NULL };

/* Split s; the words joined with '|' into out. */
static int split_join(const char *s, char *out, size_t n)
{
	char **argv, err[160];
	int argc = hacfg_split(s, strlen(s), &env_opts, &argv, err, sizeof(err));

	out[0] = '\0';
	if (argc < 0) {
		snprintf(out, n, "ERR %s", err);
		return argc;
	}
	for (int i = 0; i < argc; i++) {
		strncat(out, argv[i], n - strlen(out) - 1);
		if (i + 1 < argc)
			strncat(out, "|", n - strlen(out) - 1);
	}
	hacfg_free_words(argv, argc);
	return argc;
}

TEST(hacfg_split_words_and_comments)
{
	char out[256];

	CHECK_EQ_INT(split_join("  bind  :443\tssl   # a comment", out, sizeof(out)), 3);
	CHECK_EQ_STR(out, "bind|:443|ssl");
	CHECK_EQ_INT(split_join("# only a comment", out, sizeof(out)), 0);
	CHECK_EQ_INT(split_join("   \t  ", out, sizeof(out)), 0);
	CHECK_EQ_INT(split_join("a\\#b c\r\n", out, sizeof(out)), 2);
	CHECK_EQ_STR(out, "a#b|c");
}

TEST(hacfg_split_quotes)
{
	char out[256];

	/* double quotes group and keep '#'; single quotes keep everything */
	split_join("log-format \"%ci # not a comment\" x", out, sizeof(out));
	CHECK_EQ_STR(out, "log-format|%ci # not a comment|x");
	split_join("x '${PORT} \\n \"q\"' y", out, sizeof(out));
	CHECK_EQ_STR(out, "x|${PORT} \\n \"q\"|y");
	/* a word made of quoted and bare parts, an empty quoted word */
	split_join("pre\"mid dle\"'post' \"\"", out, sizeof(out));
	CHECK_EQ_STR(out, "premid dlepost|");
	split_join("\"it's\" 'say \"hi\"'", out, sizeof(out));
	CHECK_EQ_STR(out, "it's|say \"hi\"");
	CHECK(split_join("bind \"127.0.0.1:1 ssl", out, sizeof(out)) < 0);
	CHECK_EQ_STR(out, "ERR unterminated double quote");
	CHECK(split_join("x 'abc", out, sizeof(out)) < 0);
}

TEST(hacfg_split_escapes)
{
	char out[256];

	split_join("a\\ b c\\\\d \\\"e\\' \\$X", out, sizeof(out));
	CHECK_EQ_STR(out, "a b|c\\d|\"e'|$X");
	split_join("\"\\x41\\t\"", out, sizeof(out));
	CHECK_EQ_STR(out, "A\t");
	/* an unknown escape keeps its backslash (regexes: \d, \.) */
	split_join("acl x path_reg ^/a\\.b\\d$", out, sizeof(out));
	CHECK_EQ_STR(out, "acl|x|path_reg|^/a\\.b\\d$");
}

TEST(hacfg_split_environment)
{
	char out[256];

	/* expanded in double quotes only */
	split_join("bind \"127.0.0.1:${PORT}\" $PORT '${PORT}'", out, sizeof(out));
	CHECK_EQ_STR(out, "bind|127.0.0.1:8443|$PORT|${PORT}");
	split_join("\"$PORT/x\"", out, sizeof(out));
	CHECK_EQ_STR(out, "8443/x");
	split_join("\"${UNSET-def ault}\" \"${PORT-9}\" \"${EMPTY-x}\" \"${UNSET}\"", out, sizeof(out));
	CHECK_EQ_STR(out, "def ault|8443||");
	split_join("\"cost $ 5\"", out, sizeof(out));
	CHECK_EQ_STR(out, "cost $ 5");
	CHECK(split_join("\"${PORT\"", out, sizeof(out)) < 0);
	CHECK(split_join("\"${}\"", out, sizeof(out)) < 0);
}

TEST(hacfg_conditions)
{
	struct hacfg_opts v26 = { HACFG_HAPROXY, 206, fake_env, NULL };
	struct hacfg_opts any = { HACFG_HAPROXY, 0, fake_env, NULL };

	CHECK_EQ_INT(hacfg_eval_cond("version_atleast(3.1)", &v26), HACFG_FALSE);
	CHECK_EQ_INT(hacfg_eval_cond("version_atleast(2.4)", &v26), HACFG_TRUE);
	CHECK_EQ_INT(hacfg_eval_cond("version_before(3.0)", &v26), HACFG_TRUE);
	CHECK_EQ_INT(hacfg_eval_cond("version_atleast(2.6.9)", &v26), HACFG_UNKNOWN);
	CHECK_EQ_INT(hacfg_eval_cond("version_atleast(3.1)", &any), HACFG_UNKNOWN);
	CHECK_EQ_INT(hacfg_eval_cond("defined(PORT)", &v26), HACFG_TRUE);
	CHECK_EQ_INT(hacfg_eval_cond("defined(NOPE)", &v26), HACFG_UNKNOWN);
	CHECK_EQ_INT(hacfg_eval_cond("!defined(PORT) || 1", &v26), HACFG_TRUE);
	CHECK_EQ_INT(hacfg_eval_cond("feature(OPENSSL) && 0", &v26), HACFG_FALSE);
	CHECK_EQ_INT(hacfg_eval_cond("feature(OPENSSL) && 1", &v26), HACFG_UNKNOWN);
	CHECK_EQ_INT(hacfg_eval_cond("(streq(a,a) && strneq(a,b)) && !strstr(abc,x)", &v26), HACFG_TRUE);
	CHECK_EQ_INT(hacfg_eval_cond("0", &v26), HACFG_FALSE);
	CHECK_EQ_INT(hacfg_eval_cond("1 )", &v26), HACFG_UNKNOWN);
	CHECK_EQ_INT(hacfg_version("2.6.12-1+deb12u1"), 206);
	CHECK_EQ_INT(hacfg_version("3.2"), 302);
	CHECK_EQ_INT(hacfg_version("x"), -1);
}

static int parse(struct hacfg *c, const char *text, const struct hacfg_opts *o)
{
	return hacfg_parse(c, "t.cfg", text, strlen(text), o);
}

TEST(hacfg_sections_and_lines)
{
	struct hacfg c;
	const char *text =
		"# comment\n"
		"global\n"
		"    log stdout local0\n"
		"\n"
		"frontend fe\n"
		"    bind \"127.0.0.1:${PORT}\"\n"
		"backend be\n"
		"    server s1 127.0.0.1:1 check";     /* no final newline */

	CHECK_EQ_INT(parse(&c, text, &env_opts), 0);
	CHECK_EQ_INT(c.nsections, 3);
	CHECK_EQ_INT(c.ndiags, 0);
	CHECK_EQ_STR(c.sections[1].kind, "frontend");
	CHECK_EQ_STR(c.sections[1].name, "fe");
	CHECK_EQ_INT(c.sections[1].line, 5);
	CHECK_EQ_INT(c.sections[1].count, 1);
	CHECK_EQ_STR(c.lines[c.sections[1].first].argv[1], "127.0.0.1:8443");
	CHECK_EQ_INT(c.lines[c.sections[1].first].line, 6);
	CHECK_EQ_INT(c.lines[c.sections[2].first].line, 8);
	CHECK_EQ_INT(hacfg_find_section(&c, "backend", "be", 0), 2);
	CHECK_EQ_INT(hacfg_find_section(&c, "backend", "nope", 0), -1);
	hacfg_free(&c);
}

TEST(hacfg_if_blocks)
{
	struct hacfg_opts v26 = { HACFG_HAPROXY, 206, NULL, NULL };
	struct hacfg_opts v32 = { HACFG_HAPROXY, 302, NULL, NULL };
	struct hacfg_opts any = { HACFG_HAPROXY, 0, NULL, NULL };
	const char *text =
		"backend b\n"
		".if version_atleast(3.1)\n"
		"    mode spop\n"                 /* line 3 */
		".elif version_atleast(2.8)\n"
		"    mode tcp28\n"                /* line 5 */
		".else\n"
		"    mode tcp\n"                  /* line 7 */
		".endif\n"
		".if 0\n"
		"  .if 1\n"
		"    never\n"
		"  .endif\n"
		".endif\n"
		"    always\n";                   /* line 14 */
	struct hacfg c;

	CHECK_EQ_INT(parse(&c, text, &v26), 0);
	CHECK_EQ_INT(c.nlines, 2);
	CHECK_EQ_INT(c.lines[0].line, 7);
	CHECK_EQ_INT(c.lines[0].cond, 0);
	CHECK_EQ_INT(c.lines[1].line, 14);
	hacfg_free(&c);

	CHECK_EQ_INT(parse(&c, text, &v32), 0);
	CHECK_EQ_INT(c.nlines, 2);
	CHECK_EQ_STR(c.lines[0].argv[1], "spop");
	hacfg_free(&c);

	/* unknown version: every branch that may be taken, marked cond */
	CHECK_EQ_INT(parse(&c, text, &any), 0);
	CHECK_EQ_INT(c.nlines, 4);
	CHECK_EQ_INT(c.lines[0].line, 3);
	CHECK_EQ_INT(c.lines[1].line, 5);
	CHECK_EQ_INT(c.lines[2].line, 7);
	CHECK_EQ_INT(c.lines[0].cond && c.lines[1].cond && c.lines[2].cond, 1);
	CHECK_EQ_INT(c.lines[3].cond, 0);
	CHECK_EQ_INT(c.ndiags, 0);
	hacfg_free(&c);
}

TEST(hacfg_diagnostics)
{
	struct hacfg c;

	CHECK_EQ_INT(parse(&c, "frontend f\n  x \"open\n.else\n.if 1\n", &env_opts), 0);
	CHECK_EQ_INT(c.ndiags, 3);
	CHECK_EQ_INT(c.diags[0].line, 2);
	CHECK_EQ_STR(c.diags[0].msg, "unterminated double quote");
	CHECK_EQ_STR(c.diags[1].msg, ".else without .if");
	CHECK_EQ_INT(c.diags[2].line, 4);
	CHECK_EQ_STR(c.diags[2].msg, ".if without .endif");
	hacfg_free(&c);
	CHECK_EQ_INT(parse(&c, "stray\nfrontend f\n", &env_opts), 0);
	CHECK_EQ_INT(c.ndiags, 1);
	CHECK_EQ_STR(c.diags[0].msg, "'stray' outside any section");
	hacfg_free(&c);
}

TEST(hacfg_spoe_scopes)
{
	struct hacfg_opts so = { HACFG_SPOE, 0, NULL, NULL };
	struct hacfg c;
	const char *text =
		"[one]\n"
		"spoe-agent a1\n"
		"    use-backend b\n"
		"[two]\n"
		"spoe-agent a2\n"
		"spoe-message m\n"
		"    args x=src\n"
		"[bad scope\n";

	CHECK_EQ_INT(parse(&c, text, &so), 0);
	CHECK_EQ_INT(c.nsections, 3);
	CHECK_EQ_STR(c.sections[0].scope, "one");
	CHECK_EQ_STR(c.sections[1].scope, "two");
	CHECK_EQ_STR(c.sections[2].kind, "spoe-message");
	CHECK_EQ_INT(c.sections[2].count, 1);
	CHECK_EQ_INT(c.ndiags, 1);        /* "[bad scope": not one [NAME] word */
	CHECK_EQ_INT(c.diags[0].line, 8);
	hacfg_free(&c);
}
