/* The admin socket's command parser. See ctl-cmd.h. */
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "ctl-cmd.h"
#include "errbuf.h"
#include "log.h"
#include "strutil.h"

#define CTL_CMD_INFO(verb, w, a, h) [verb] = { w, a, h },
const struct ctl_cmd_info ctl_cmds[CTL_VERBS] = { CTL_CMD_LIST(CTL_CMD_INFO) };
#undef CTL_CMD_INFO

#define CTL_MAX_WORDS 8

struct word {
	const char *p;
	size_t n;
};

/* Split at spaces and tabs into at most max words; *more is set when
 * there are more (a comment may have any number of words). Returns the
 * count. */
static int split(const char *s, size_t len, struct word *w, int max, int *more)
{
	size_t i = 0;
	int n = 0;

	*more = 0;
	for (;;) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len)
			return n;
		if (n == max) {
			*more = 1;
			return n;
		}
		w[n].p = s + i;
		while (i < len && s[i] != ' ' && s[i] != '\t')
			i++;
		w[n].n = (size_t)(s + i - w[n].p);
		n++;
	}
}

static int word_is(const struct word *w, const char *s, size_t n)
{
	return w->n == n && memcmp(w->p, s, n) == 0;
}

/* How many words of w the command's words take (0 if they do not match). */
static int match_words(const char *words, const struct word *w, int nw)
{
	const char *p = words;
	int i = 0;

	while (*p) {
		const char *sp = strchr(p, ' ');
		size_t n = sp ? (size_t)(sp - p) : strlen(p);

		if (i == nw || !word_is(&w[i], p, n))
			return 0;
		i++;
		p += n + (sp != NULL);
	}
	return i;
}

static int parse_ttl(const struct word *w, long *ttl_s, char *err, size_t errlen)
{
	char buf[32];
	long ms;

	if (w->n == 0 || w->n >= sizeof(buf)) {
		set_err(err, errlen, "ttl: a duration such as 30m, 12h or 7d");
		return -1;
	}
	memcpy(buf, w->p, w->n);
	buf[w->n] = 0;
	if (cfg_parse_duration(buf, &ms) < 0 || ms < 1000 || ms / 1000 > CTL_TTL_MAX_S) {
		set_err(err, errlen, "ttl: '%s' is not a duration from 1s to %ldd (e.g. 30m, 12h, 7d)",
		        buf, CTL_TTL_MAX_S / 86400);
		return -1;
	}
	*ttl_s = ms / 1000;
	return 0;
}

/* add deny / del deny: KIND VALUE [ttl D] [comment TEXT...] */
static int parse_deny(const char *line, size_t len, const struct word *w, int nw, int more,
                      int at, struct ctl_cmd *c, char *err, size_t errlen)
{
	int add = c->verb == CTL_ADD_DENY;
	char why[160];

	if (nw - at < 2) {
		set_err(err, errlen, "usage: %s %s", ctl_cmds[c->verb].words, ctl_cmds[c->verb].args);
		return -1;
	}
	if (rtdeny_kind_parse(w[at].p, w[at].n, &c->kind) < 0) {
		set_err(err, errlen, "'%.*s': the kind is thumbprint, serial or spki",
		        (int)(w[at].n > 40 ? 40 : w[at].n), w[at].p);
		return -1;
	}
	if (rtdeny_norm(c->kind, w[at + 1].p, w[at + 1].n, c->value, why, sizeof(why)) < 0) {
		set_err(err, errlen, "%s: %s", rtdeny_kind_name(c->kind), why);
		return -1;
	}
	for (int i = at + 2; i < nw; i++) {
		if (add && word_is(&w[i], "ttl", 3) && i + 1 < nw && !c->ttl_s) {
			if (parse_ttl(&w[i + 1], &c->ttl_s, err, errlen) < 0)
				return -1;
			i++;
			continue;
		}
		if (add && word_is(&w[i], "comment", 7)) {
			const char *from = w[i].p + w[i].n;

			while (from < line + len && (*from == ' ' || *from == '\t'))
				from++;
			rtdeny_clean(c->comment, sizeof(c->comment), from, (size_t)(line + len - from), 0);
			return 0;
		}
		set_err(err, errlen, "'%.*s': expected %s", (int)(w[i].n > 40 ? 40 : w[i].n), w[i].p,
		        add ? (c->ttl_s ? "comment" : "ttl or comment") : "nothing more");
		return -1;
	}
	if (more) {
		set_err(err, errlen, "too many words (a comment goes last, after 'comment')");
		return -1;
	}
	return 0;
}

int ctl_cmd_parse(const char *line, size_t len, struct ctl_cmd *c, char *err, size_t errlen)
{
	struct word w[CTL_MAX_WORDS];
	int nw, more, at = 0;

	memset(c, 0, sizeof(*c));
	if (len && line[len - 1] == '\r')
		len--;
	if (len > CTL_LINE_MAX) {
		set_err(err, errlen, "line too long (at most %d bytes)", CTL_LINE_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char b = (unsigned char)line[i];

		if ((b < 0x20 && b != '\t') || b > 0x7e) {
			set_err(err, errlen, "byte %zu is not printable ASCII", i + 1);
			return -1;
		}
	}
	nw = split(line, len, w, CTL_MAX_WORDS, &more);
	if (nw == 0) {
		set_err(err, errlen, "empty command; 'help' lists the commands");
		return -1;
	}
	for (int v = 0; v < CTL_VERBS; v++) {
		if ((at = match_words(ctl_cmds[v].words, w, nw)) == 0)
			continue;
		c->verb = (enum ctl_verb)v;
		break;
	}
	if (!at) {
		set_err(err, errlen, "unknown command '%.*s'; 'help' lists the commands",
		        (int)(w[0].n > 40 ? 40 : w[0].n), w[0].p);
		return -1;
	}
	switch (c->verb) {
	case CTL_SET_LOG_LEVEL:
		if (nw - at == 1 && !more)
			for (int l = 0; l < LOG_LEVELS; l++)
				if (word_is(&w[at], log_level_names[l], strlen(log_level_names[l]))) {
					c->log_level = l;
					return 0;
				}
		set_err(err, errlen, "usage: set log-level error|warn|info|debug");
		return -1;
	case CTL_EXPLAIN:
		if (nw - at == 1 && !more && w[at].n == 64) {
			for (int i = 0; i < 32; i++) {
				int hi = str_hexval((unsigned char)w[at].p[2 * i]);
				int lo = str_hexval((unsigned char)w[at].p[2 * i + 1]);

				if (hi < 0 || lo < 0)
					goto bad_sha;
				c->sha256[i] = (unsigned char)(hi << 4 | lo);
			}
			return 0;
		}
bad_sha:
		set_err(err, errlen, "usage: explain <sha256> (64 hex digits, as the inventory shows)");
		return -1;
	case CTL_ADD_DENY:
	case CTL_DEL_DENY:
		return parse_deny(line, len, w, nw, more, at, c, err, errlen);
	case CTL_HELP:
	case CTL_PROMPT:
	case CTL_QUIT:
	case CTL_SHOW_INFO:
	case CTL_SHOW_POLICIES:
	case CTL_SHOW_INVENTORY:
	case CTL_SHOW_DENIALS:
	case CTL_SHOW_CACHE:
	case CTL_SHOW_DENIES:
	case CTL_CLEAR_CACHE:
	case CTL_RELOAD:
		if (nw != at || more) {
			set_err(err, errlen, "'%s' takes no argument", ctl_cmds[c->verb].words);
			return -1;
		}
		return 0;
	case CTL_VERBS:
		break;
	}
	set_err(err, errlen, "unknown command");
	return -1;
}
