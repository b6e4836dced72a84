/* The admin socket's command language: one line in, one struct ctl_cmd
 * out. Every command is a row of CTL_CMD_LIST (its words, its arguments,
 * its help); `help` prints the table. Pure: no I/O, the line is untrusted
 * (bounded, printable ASCII, every error named). The I/O is in ctl.c. */
#ifndef CERTSPOA_CTL_CMD_H
#define CERTSPOA_CTL_CMD_H

#include <stddef.h>

#include "rtdeny.h"

#define CTL_LINE_MAX 1024           /* a command line, without its '\n' */
#define CTL_TTL_MAX_S (366L * 86400) /* the longest ttl of a runtime deny */

/* X(VERB, words, arguments, help) */
#define CTL_CMD_LIST(X) \
	X(CTL_HELP,           "help",           "",  "this list") \
	X(CTL_PROMPT,         "prompt",         "",  "interactive mode: a '> ' prompt, one command per line, until quit") \
	X(CTL_QUIT,           "quit",           "",  "close the connection") \
	X(CTL_SHOW_INFO,      "show info",      "",  "version, uptime, configuration generation, counters") \
	X(CTL_SHOW_POLICIES,  "show policies",  "",  "the effective policies and routes: settings, list sizes and SHA-256") \
	X(CTL_SHOW_INVENTORY, "show inventory", "",  "the client certificates seen, most recent first") \
	X(CTL_SHOW_DENIALS,   "show denials",   "",  "the recent denials, newest first") \
	X(CTL_SHOW_CACHE,     "show cache",     "",  "the decision caches, per worker thread") \
	X(CTL_SHOW_DENIES,    "show denies",    "",  "the runtime denies in force") \
	X(CTL_CLEAR_CACHE,    "clear cache",    "",  "empty every worker's decision cache") \
	X(CTL_SET_LOG_LEVEL,  "set log-level",  "error|warn|info|debug", "the log level until the next reload") \
	X(CTL_RELOAD,         "reload",         "",  "reload the configuration (as SIGHUP)") \
	X(CTL_EXPLAIN,        "explain",        "<sha256>", "the last decision on a certificate seen, and what would apply now") \
	X(CTL_ADD_DENY,       "add deny",       "thumbprint|serial|spki <value> [ttl <duration>] [comment <text>]", \
	  "deny a certificate from the next request on, in every policy and mode") \
	X(CTL_DEL_DENY,       "del deny",       "thumbprint|serial|spki <value>", "remove a runtime deny")

#define CTL_CMD_ENUM(verb, words, args, help) verb,
enum ctl_verb { CTL_CMD_LIST(CTL_CMD_ENUM) CTL_VERBS };
#undef CTL_CMD_ENUM

struct ctl_cmd_info {
	const char *words;
	const char *args;
	const char *help;
};

extern const struct ctl_cmd_info ctl_cmds[CTL_VERBS];

struct ctl_cmd {
	enum ctl_verb verb;
	int log_level;                       /* CTL_SET_LOG_LEVEL: enum log_level */
	enum rtdeny_kind kind;               /* CTL_ADD_DENY, CTL_DEL_DENY */
	char value[RTDENY_VALUE_MAX];        /* canonical (rtdeny_norm) */
	long ttl_s;                          /* CTL_ADD_DENY: 0 = no expiry */
	char comment[RTDENY_COMMENT_MAX];    /* CTL_ADD_DENY: "" if none */
	unsigned char sha256[32];            /* CTL_EXPLAIN */
};

/* Parse one line (without its '\n'; a trailing '\r' is allowed). Returns
 * 0, or -1 with a message for the operator in err. A blank line is an
 * error too ("empty command"); the caller may choose to ignore it. */
int ctl_cmd_parse(const char *line, size_t len, struct ctl_cmd *c, char *err, size_t errlen);

#endif /* CERTSPOA_CTL_CMD_H */
