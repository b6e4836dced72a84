/* The runtime API. See ctl.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/evp.h>

#include "cache.h"
#include "cert.h"
#include "cfg.h"
#include "cidr.h"
#include "counter.h"
#include "ctl-cmd.h"
#include "ctl.h"
#include "errbuf.h"
#include "log.h"
#include "rules.h"
#include "sbuf.h"
#include "strset.h"
#include "tplist.h"
#include "worker.h"

/* a switch on an enum names every value: a new one is a compile error here */
#pragma GCC diagnostic warning "-Wswitch-enum"

struct ctl_client {
	struct ctl *ctl;
	int fd;
	ev_io rio, wio;
	ev_timer idle;
	char in[CTL_LINE_MAX + 2];       /* a line and its '\n' (and '\r') */
	size_t inlen;
	struct sbuf out;
	size_t outoff;
	int prompt;                      /* interactive mode */
	int closing;                     /* close once out is written */
	int draining;                    /* written and shut down: reading to EOF */
	char origin[RTDENY_ORIGIN_MAX];  /* "uid=0/socat" */
	struct ctl_client *next;
};

static int64_t wall(void)
{
	return (int64_t)time(NULL);
}

static void iso_time(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%s", t ? "?" : "never");
}

/* ---- runtime denies: publish, retire, persist ---- */

/* Free the old sets every worker has moved past (its snapshot ticket
 * answered: it is between two callbacks, and its next decision reads the
 * new set). */
static void reap(struct ctl *c)
{
	for (int i = 0; i < c->nretired; ) {
		struct ctl_retired *r = &c->retired[i];
		int done = 1;

		for (int w = 0; w < r->nw && done; w++)
			done = worker_snapshot_is_ready(&c->st->workers[w], r->tickets[w]);
		if (done) {
			free(r->set);
			*r = c->retired[--c->nretired];
		} else {
			i++;
		}
	}
}

static void retire(struct ctl *c, struct rtdeny_set *old)
{
	struct ctl_retired *r;
	int nw = c->st->nworkers < CFG_MAX_THREADS ? c->st->nworkers : CFG_MAX_THREADS;

	if (!old)
		return;
	if (nw == 0) {
		free(old);
		return;
	}
	reap(c);
	for (int i = 0; i < 1000 && c->nretired == CTL_RETIRED_MAX; i++) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
		reap(c);
	}
	if (c->nretired == CTL_RETIRED_MAX) {
		/* a worker stuck for a second: never free what it may read */
		LOG(LOG_ERR, 0, "admin: a worker does not answer; an old runtime deny set is kept");
		return;
	}
	r = &c->retired[c->nretired++];
	r->set = old;
	r->nw = nw;
	for (int w = 0; w < nw; w++)
		r->tickets[w] = worker_request_snapshot(&c->st->workers[w]);
}

static void swap_set(struct ctl *c, struct rtdeny_set *next)
{
	struct rtdeny_set *old = rtdeny_publish(next);

	c->set = next;
	retire(c, old);
}

/* Write the set to the state file: tmp, fsync, rename. */
static int save_state(struct ctl *c, char *err, size_t errlen)
{
	char tmp[sizeof(c->state_file) + 8], line[RTDENY_LINE_MAX + 2];
	static const char head[] =
		"# certspoa runtime denies (admin socket): KIND VALUE EXPIRES ADDED ORIGIN COMMENT\n"
		"# written by the agent; edit it only while the agent is stopped\n";
	int fd, ok = 1;

	if (!c->state_file[0])
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", c->state_file) >= sizeof(tmp)) {
		set_err(err, errlen, "state file path too long");
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	errno = 0;
	ok = write(fd, head, sizeof(head) - 1) == (ssize_t)(sizeof(head) - 1);
	for (size_t i = 0; ok && c->set && i < c->set->n; i++) {
		int n = rtdeny_format_line(&c->set->e[i], line, sizeof(line));

		ok = n > 0 && write(fd, line, (size_t)n) == n;
	}
	if (!ok || fsync(fd) == -1) {
		set_err(err, errlen, "%s: %s", tmp, errno ? strerror(errno) : "short write");
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, c->state_file) == -1) {
		set_err(err, errlen, "%s: %s", c->state_file, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int load_state(struct ctl *c, const struct config *cfg, char *err, size_t errlen)
{
	struct stat st;
	struct rtdeny_set *s;
	char why[256], *text = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	if (!cfg->state_dir) {
		s = rtdeny_set_new();
		goto publish;
	}
	if (stat(cfg->state_dir, &st) == -1) {
		set_err(err, errlen, "state_dir %s: %s", cfg->state_dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		set_err(err, errlen, "state_dir %s: not a directory", cfg->state_dir);
		return -1;
	}
	if ((size_t)snprintf(c->state_file, sizeof(c->state_file), "%s/%s", cfg->state_dir,
	                     CTL_STATE_NAME) >= sizeof(c->state_file)) {
		set_err(err, errlen, "state_dir %s: path too long", cfg->state_dir);
		return -1;
	}
	fd = open(c->state_file, O_RDONLY | O_CLOEXEC);
	if (fd == -1 && errno != ENOENT) {
		set_err(err, errlen, "%s: %s", c->state_file, strerror(errno));
		return -1;
	}
	if (fd != -1) {
		if (!(text = malloc(CTL_STATE_MAX + 1))) {
			close(fd);
			set_err(err, errlen, "out of memory");
			return -1;
		}
		while ((n = read(fd, text + len, CTL_STATE_MAX + 1 - len)) > 0 && len < CTL_STATE_MAX + 1)
			len += (size_t)n;
		close(fd);
		if (n == -1 || len > CTL_STATE_MAX) {
			set_err(err, errlen, "%s: %s", c->state_file, n == -1 ? strerror(errno) : "too big");
			free(text);
			return -1;
		}
	}
	s = rtdeny_parse_text(text ? text : "", len, wall(), why, sizeof(why));
	free(text);
	if (!s) {
		set_err(err, errlen, "%s: %s (fix or remove it: the agent does not start with half its denies)",
		         c->state_file, why);
		return -1;
	}
	if (s->n)
		LOG(LOG_INFO, 0, "admin: %zu runtime denies loaded from %s", s->n, c->state_file);
publish:
	if (!s) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	swap_set(c, s);
	return 0;
}

/* Drop what expired: every second, from the main loop. */
static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct ctl *c = t->data;
	int64_t now = wall();
	struct rtdeny_set *next;
	char err[256];
	int found;

	(void)loop;
	(void)revents;
	reap(c);
	if (!rtdeny_expired(c->set, now))
		return;
	for (size_t i = 0; i < c->set->n; i++) {
		const struct rtdeny_entry *e = &c->set->e[i];

		if (e->expires && now >= e->expires)
			LOG(LOG_INFO, 0, "admin: runtime deny expired: %s %s (added by %s)",
			    rtdeny_kind_name(e->kind), e->value, e->origin);
	}
	/* without (kind "" ) matches nothing: it only drops the expired */
	if (!(next = rtdeny_without(c->set, RTDENY_KINDS, "", now, &found)))
		return;
	swap_set(c, next);
	if (save_state(c, err, sizeof(err)) < 0)
		LOG(LOG_ERR, 0, "admin: cannot save the runtime denies: %s", err);
}

/* ---- commands ---- */

static void cmd_help(struct sbuf *o)
{
	for (int v = 0; v < CTL_VERBS; v++)
		sbuf_printf(o, "  %-16s %-24s %s\n", ctl_cmds[v].words, ctl_cmds[v].args, ctl_cmds[v].help);
}

static struct stats_snapshot *collect(struct ctl *c, struct sbuf *o)
{
	struct stats_snapshot *s = malloc(sizeof(*s));

	if (!s) {
		sbuf_puts(o, "error: out of memory\n");
		return NULL;
	}
	stats_collect(c->st, s, 250);
	if (s->partial)
		sbuf_puts(o, "# partial: a worker did not answer in time\n");
	return s;
}

static void cmd_show_info(struct ctl *c, struct sbuf *o)
{
	struct stats_snapshot *s = collect(c, o);
	const struct config *cfg = c->st->cfg;

	if (!s)
		return;
	sbuf_printf(o, "name: certspoa\nversion: %s\npid: %ld\n", CERTSPOA_VERSION, (long)getpid());
	sbuf_printf(o, "uptime_seconds: %.0f\n", s->now - c->st->start_time);
	sbuf_printf(o, "config_file: %s\nconfig_generation: %u\n", cfg->file, cfg->generation);
	sbuf_printf(o, "reloads: %llu\nreload_failures: %llu\nlast_reload_ok: %d\n",
	            (unsigned long long)c->st->reloads, (unsigned long long)c->st->reload_failures,
	            c->st->last_reload_ok);
	sbuf_printf(o, "log_level: %s\n",
	            log_level_names[__atomic_load_n(&log_min_level, __ATOMIC_RELAXED)]);
	sbuf_printf(o, "workers: %d\nconnections: %.0f\ndecisions: %.0f\ndecisions_per_second: %.3f\n",
	            c->st->nworkers, s->v[ST_CONNS], s->v[ST_MESSAGES], s->rate);
	sbuf_printf(o, "allowed: %llu\ndenied: %llu\n", (unsigned long long)s->by_code[DEC_ALLOW],
	            (unsigned long long)(s->v[ST_MESSAGES] - (double)s->by_code[DEC_ALLOW]));
	sbuf_printf(o, "cache_hits: %.0f\ncache_misses: %.0f\nclient_certificates: %.0f\n",
	            s->v[ST_CACHE_HITS], s->v[ST_CACHE_MISSES], s->v[ST_CERTS]);
	sbuf_printf(o, "admin_socket: %s\nstate_file: %s\nruntime_denies: %zu\n",
	            c->on ? c->l.path : "-", c->state_file[0] ? c->state_file : "-",
	            c->set ? c->set->n : 0);
	free(s);
}

/* The SHA-256 of a file's bytes (hex), or "-" when it cannot be read. */
static void file_sha256(const char *path, char hex[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[65536], d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	ssize_t n = -1;
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

	snprintf(hex, 65, "-");
	if (fd != -1 && ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
				break;
		if (n == 0 && EVP_DigestFinal_ex(ctx, d, &dlen) == 1 && dlen == 32)
			cert_hex(d, 32, hex);
	}
	EVP_MD_CTX_free(ctx);
	if (fd != -1)
		close(fd);
}

/* A list of a policy: the key it was given with, its size and SHA-256. */
static void show_list(struct sbuf *o, const struct cfg_list *l, const char *side)
{
	const char *key = l->key ? l->key : side;
	unsigned char d[32];
	char hex[65];
	long n = -1;

	if (!l->src)
		return;
	if (l->tp)
		n = (long)tplist_count(l->tp);
	else if (l->set)
		n = (long)strset_count(l->set);
	else if (l->cidrs)
		n = (long)l->cidrs->n;
	if (l->file) {
		file_sha256(l->file, hex);
	} else {
		cert_sha256((const unsigned char *)l->src, strlen(l->src), d);
		cert_hex(d, 32, hex);
	}
	sbuf_printf(o, "  %s: %ld entries, %s %s, sha256 %s\n", key, n,
	            l->file ? "file" : "inline", l->file ? l->file : "", hex);
}

static void cmd_show_policies(struct ctl *c, struct sbuf *o)
{
	const struct config *cfg = c->st->cfg;
	char hex[65];

	file_sha256(cfg->file, hex);
	sbuf_printf(o, "config %s generation %u sha256 %s\n", cfg->file, cfg->generation, hex);
	for (const struct policy *p = cfg->policies; p; p = p->next) {
		sbuf_printf(o, "policy %s%s: mode %s, verify %s, require_cert %s, deny_status %d\n",
		            p->name, p == cfg->default_policy ? " (default)" : "",
		            p->mode == POLICY_SHADOW ? "shadow" : "enforce", cfg_verify_name(p->verify),
		            p->require_cert ? "yes" : "no", p->deny_status);
		if (p->ca_file) {
			file_sha256(p->ca_file, hex);
			sbuf_printf(o, "  ca_file: %s, sha256 %s\n", p->ca_file, hex);
		}
		if (p->crl_file) {
			file_sha256(p->crl_file, hex);
			sbuf_printf(o, "  crl_file: %s, %d CRLs, sha256 %s\n", p->crl_file, p->crl_count, hex);
		}
		for (int k = 0; k < ID_KINDS; k++) {
			show_list(o, &p->deny[k], "deny");
			show_list(o, &p->allow[k], "allow");
		}
	}
	for (const struct route *r = cfg->routes; r; r = r->next)
		sbuf_printf(o, "route %s -> policy %s\n", r->name, r->policy ? r->policy->name : "?");
	sbuf_printf(o, "runtime denies: %zu in force (show denies), in every policy\n",
	            c->set ? c->set->n : 0);
}

static void cmd_show_inventory(struct ctl *c, struct sbuf *o)
{
	struct stats_snapshot *s = collect(c, o);
	char hex[65], seen[32], na[32];

	if (!s)
		return;
	sbuf_printf(o, "# %.0f certificates, the %d most recent: sha256 last_seen requests verdict code rule not_after subject\n",
	            s->v[ST_CERTS], s->ncerts);
	for (int i = 0; i < s->ncerts; i++) {
		const struct stats_cert *sc = &s->certs[i];
		int code = sc->last_code >= 0 && sc->last_code < DEC_CODES ? sc->last_code : DEC_INTERNAL;

		cert_hex(sc->sha256, 32, hex);
		iso_time(sc->last_seen, seen, sizeof(seen));
		iso_time(sc->not_after, na, sizeof(na));
		sbuf_printf(o, "%s %s %llu %s %s %s %s %s\n", hex, seen, (unsigned long long)sc->requests,
		            code == DEC_ALLOW ? "allow" : "deny", dec_table[code].code,
		            sc->last_rule[0] ? sc->last_rule : "-", na, sc->subject);
	}
	free(s);
}

static void cmd_show_denials(struct ctl *c, struct sbuf *o)
{
	struct stats_snapshot *s = collect(c, o);
	char t[32];

	if (!s)
		return;
	sbuf_printf(o, "# %d recent denials, newest first: time code policy src sha256 subject | detail\n",
	            s->ndenials);
	for (int i = 0; i < s->ndenials; i++) {
		const struct stats_denial *d = &s->denials[i];

		iso_time(d->time, t, sizeof(t));
		sbuf_printf(o, "%s %s %s %s %s %s | %s\n", t,
		            d->code >= 0 && d->code < DEC_CODES ? dec_table[d->code].code : "?",
		            d->policy[0] ? d->policy : "-", d->src[0] ? d->src : "-",
		            d->sha256[0] ? d->sha256 : "-", d->subject[0] ? d->subject : "-", d->detail);
	}
	free(s);
}

static void cmd_show_cache(struct ctl *c, struct sbuf *o)
{
	struct stats_snapshot *s = collect(c, o);

	if (!s)
		return;
	sbuf_puts(o, "# worker slots certificates hits misses\n");
	for (int i = 0; i < c->st->nworkers; i++) {
		const struct worker *w = &c->st->workers[i];
		const struct cache *ca = worker_counters(w, SB_CACHE);
		char held[24] = "?";

		/* a worker that did not answer may still be writing its snapshot */
		if (!s->partial)
			snprintf(held, sizeof(held), "%zu", worker_snapshot(w)->ncerts);
		sbuf_printf(o, "%d %zu %s %llu %llu\n", i,
		            w->hc.dc.cache_enabled ? (ca->mask + 1) * 2 : 0, held,
		            (unsigned long long)CTR_GET(ca->hits), (unsigned long long)CTR_GET(ca->misses));
	}
	sbuf_printf(o, "total: %.0f distinct certificates, %.0f hits, %.0f misses\n",
	            s->v[ST_CERTS], s->v[ST_CACHE_HITS], s->v[ST_CACHE_MISSES]);
	free(s);
}

static void show_entry(struct sbuf *o, const struct rtdeny_entry *e)
{
	char added[32], exp[32];

	iso_time(e->added, added, sizeof(added));
	iso_time(e->expires, exp, sizeof(exp));
	sbuf_printf(o, "%s %s expires %s added %s by %s%s%s\n", rtdeny_kind_name(e->kind), e->value,
	            exp, added, e->origin, e->comment[0] ? " comment " : "", e->comment);
}

static void cmd_show_denies(struct ctl *c, struct sbuf *o)
{
	int64_t now = wall();
	size_t n = c->set ? c->set->n - rtdeny_expired(c->set, now) : 0;

	sbuf_printf(o, "# %zu runtime denies%s\n", n,
	            c->state_file[0] ? "" : " (no state_dir: lost at restart)");
	for (size_t i = 0; c->set && i < c->set->n; i++)
		if (rtdeny_find(c->set, c->set->e[i].kind, c->set->e[i].value, now))
			show_entry(o, &c->set->e[i]);
}

static void cmd_explain(struct ctl *c, const struct ctl_cmd *cmd, struct sbuf *o)
{
	struct stats_snapshot *s = collect(c, o);
	struct stats_cert found = { .last_seen = -1 };
	const struct rtdeny_entry *e;
	char hex[65], t[32];
	int seen = 0;

	if (!s)
		return;
	if (s->partial) {
		/* a worker that did not answer may still be writing its snapshot */
		sbuf_puts(o, "error: a worker did not answer in time; try again\n");
		free(s);
		return;
	}
	cert_hex(cmd->sha256, 32, hex);
	/* every worker's inventory (stats_collect() just refreshed them) */
	for (int i = 0; i < c->st->nworkers; i++) {
		const struct worker_snap *ws = worker_snapshot(&c->st->workers[i]);

		for (size_t k = 0; k < ws->ncerts; k++) {
			const struct stats_cert *sc = &ws->certs[k];

			if (memcmp(sc->sha256, cmd->sha256, 32) != 0)
				continue;
			if (!seen || sc->last_seen > found.last_seen) {
				uint64_t req = seen ? found.requests : 0;

				found = *sc;
				found.requests += req;
			} else {
				found.requests += sc->requests;
			}
			seen = 1;
		}
	}
	if (!seen) {
		sbuf_printf(o, "error: %s was not seen (it is in no worker's decision cache)\n", hex);
		free(s);
		return;
	}
	sbuf_printf(o, "sha256: %s\nsubject: %s\n", hex, found.subject);
	iso_time(found.not_after, t, sizeof(t));
	sbuf_printf(o, "not_after: %s\nrequests: %llu\n", t, (unsigned long long)found.requests);
	iso_time(found.last_seen, t, sizeof(t));
	if (found.last_code < 0 || found.last_code >= DEC_CODES)
		found.last_code = DEC_INTERNAL;
	sbuf_printf(o, "last_decision: %s %s rule %s at %s\n", found.last_code == DEC_ALLOW ? "allow" : "deny",
	            dec_table[found.last_code].code, found.last_rule[0] ? found.last_rule : "-", t);
	for (int i = 0; i < s->ndenials; i++) {
		const struct stats_denial *d = &s->denials[i];

		if (strcmp(d->sha256, hex) != 0)
			continue;
		iso_time(d->time, t, sizeof(t));
		sbuf_printf(o, "last_denial: %s %s policy %s src %s: %s\n", t,
		            d->code >= 0 && d->code < DEC_CODES ? dec_table[d->code].code : "?",
		            d->policy[0] ? d->policy : "-", d->src[0] ? d->src : "-", d->detail);
		break;
	}
	e = rtdeny_find(c->set, RTD_THUMBPRINT, hex, wall());
	if (e) {
		sbuf_puts(o, "runtime_deny: ");
		show_entry(o, e);
		sbuf_puts(o, "now: deny (runtime_deny), whatever the policy says\n");
	} else {
		sbuf_puts(o, "runtime_deny: none by thumbprint (show denies lists serial and spki ones)\n");
	}
	sbuf_puts(o, "to re-run every check: certspoa explain -f CONFIG --cert FILE\n");
	free(s);
}

static void cmd_add_deny(struct ctl *c, struct ctl_client *cl, const struct ctl_cmd *cmd, struct sbuf *o)
{
	struct rtdeny_entry e = { .kind = cmd->kind };
	struct rtdeny_set *next;
	char err[256], exp[32];
	int64_t now = wall();
	int replaced;

	memcpy(e.value, cmd->value, sizeof(e.value));
	memcpy(e.comment, cmd->comment, sizeof(e.comment));
	memcpy(e.origin, cl->origin, sizeof(e.origin));
	e.added = now;
	e.expires = cmd->ttl_s ? now + cmd->ttl_s : 0;
	if (!(next = rtdeny_with(c->set, &e, now, &replaced, err, sizeof(err)))) {
		sbuf_printf(o, "error: %s\n", err);
		return;
	}
	swap_set(c, next);
	iso_time(e.expires, exp, sizeof(exp));
	LOG(LOG_WARN, 0, "admin: runtime deny %s: %s %s expires %s origin %s comment \"%s\"",
	    replaced ? "updated" : "added", rtdeny_kind_name(e.kind), e.value, exp, e.origin, e.comment);
	sbuf_printf(o, "ok: deny %s %s %s, expires %s\n", rtdeny_kind_name(e.kind), e.value,
	            replaced ? "updated" : "added", exp);
	if (save_state(c, err, sizeof(err)) < 0) {
		LOG(LOG_ERR, 0, "admin: cannot save the runtime denies: %s", err);
		sbuf_printf(o, "warning: in force, but not saved (lost at restart): %s\n", err);
	} else if (!c->state_file[0]) {
		sbuf_puts(o, "warning: no state_dir: this deny is lost at restart\n");
	}
}

static void cmd_del_deny(struct ctl *c, struct ctl_client *cl, const struct ctl_cmd *cmd, struct sbuf *o)
{
	struct rtdeny_set *next;
	char err[256];
	int found;

	if (!(next = rtdeny_without(c->set, cmd->kind, cmd->value, wall(), &found))) {
		sbuf_puts(o, "error: out of memory\n");
		return;
	}
	if (!found) {
		free(next);
		sbuf_printf(o, "error: no runtime deny %s %s\n", rtdeny_kind_name(cmd->kind), cmd->value);
		return;
	}
	swap_set(c, next);
	LOG(LOG_WARN, 0, "admin: runtime deny deleted: %s %s origin %s", rtdeny_kind_name(cmd->kind),
	    cmd->value, cl->origin);
	sbuf_printf(o, "ok: deny %s %s deleted\n", rtdeny_kind_name(cmd->kind), cmd->value);
	if (save_state(c, err, sizeof(err)) < 0) {
		LOG(LOG_ERR, 0, "admin: cannot save the runtime denies: %s", err);
		sbuf_printf(o, "warning: not saved (back at restart): %s\n", err);
	}
}

/* Run one line; returns 1 when the connection is to close after it. */
static int run_line(struct ctl_client *cl, const char *line, size_t len)
{
	struct ctl *c = cl->ctl;
	struct sbuf *o = &cl->out;
	struct ctl_cmd cmd;
	char err[256];

	if (ctl_cmd_parse(line, len, &cmd, err, sizeof(err)) < 0) {
		/* an empty line in prompt mode is just a new prompt */
		if (!(cl->prompt && strncmp(err, "empty command", 13) == 0))
			sbuf_printf(o, "error: %s\n", err);
		LOG(LOG_DEBUG, 0, "admin: %s: %s", cl->origin, err);
		return !cl->prompt;
	}
	LOG(LOG_DEBUG, 0, "admin: %s: %s", cl->origin, ctl_cmds[cmd.verb].words);
	switch (cmd.verb) {
	case CTL_HELP:
		cmd_help(o);
		break;
	case CTL_PROMPT:
		cl->prompt = 1;
		return 0;
	case CTL_QUIT:
		return 1;
	case CTL_SHOW_INFO:
		cmd_show_info(c, o);
		break;
	case CTL_SHOW_POLICIES:
		cmd_show_policies(c, o);
		break;
	case CTL_SHOW_INVENTORY:
		cmd_show_inventory(c, o);
		break;
	case CTL_SHOW_DENIALS:
		cmd_show_denials(c, o);
		break;
	case CTL_SHOW_CACHE:
		cmd_show_cache(c, o);
		break;
	case CTL_SHOW_DENIES:
		cmd_show_denies(c, o);
		break;
	case CTL_CLEAR_CACHE:
		cache_request_clear_all();
		for (int i = 0; i < c->st->nworkers; i++)
			worker_request_snapshot(&c->st->workers[i]);    /* wakes it: it clears now */
		LOG(LOG_INFO, 0, "admin: decision caches cleared, origin %s", cl->origin);
		sbuf_puts(o, "ok: every worker empties its decision cache before its next decision\n");
		break;
	case CTL_SET_LOG_LEVEL:
		__atomic_store_n(&log_min_level, (enum log_level)cmd.log_level, __ATOMIC_RELAXED);
		LOG(LOG_WARN, 0, "admin: log level set to %s, origin %s", log_level_names[cmd.log_level],
		    cl->origin);
		sbuf_printf(o, "ok: log level %s (until the next reload)\n", log_level_names[cmd.log_level]);
		break;
	case CTL_RELOAD:
		LOG(LOG_INFO, 0, "admin: reload requested, origin %s", cl->origin);
		if (!c->hooks.reload || c->hooks.reload(c->hooks.arg, "admin socket") < 0)
			sbuf_printf(o, "error: reload failed; generation %u stays (the log says why)\n",
			            c->st->cfg->generation);
		else
			sbuf_printf(o, "ok: configuration generation %u loaded\n", c->st->cfg->generation);
		break;
	case CTL_EXPLAIN:
		cmd_explain(c, &cmd, o);
		break;
	case CTL_ADD_DENY:
		cmd_add_deny(c, cl, &cmd, o);
		break;
	case CTL_DEL_DENY:
		cmd_del_deny(c, cl, &cmd, o);
		break;
	case CTL_VERBS:
		break;
	}
	return !cl->prompt;
}

/* ---- connections ---- */

static void client_free(struct ctl_client *cl)
{
	struct ctl *c = cl->ctl;

	for (struct ctl_client **pp = &c->clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	c->nclients--;
	ev_io_stop(c->loop, &cl->rio);
	ev_io_stop(c->loop, &cl->wio);
	ev_timer_stop(c->loop, &cl->idle);
	close(cl->fd);
	sbuf_free(&cl->out);
	free(cl);
}

static void flush(struct ctl_client *cl)
{
	struct ctl *c = cl->ctl;

	if (cl->out.failed) {
		/* more than SBUF_MAX: say so rather than cut silently */
		sbuf_free(&cl->out);
		cl->outoff = 0;
		sbuf_puts(&cl->out, "error: answer too big\n");
	}
	while (cl->outoff < cl->out.len) {
		ssize_t n = write(cl->fd, cl->out.p + cl->outoff, cl->out.len - cl->outoff);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_stop(c->loop, &cl->rio);       /* back-pressure: read after writing */
			ev_io_start(c->loop, &cl->wio);
			return;
		}
		if (n <= 0) {
			client_free(cl);
			return;
		}
		cl->outoff += (size_t)n;
	}
	ev_io_stop(c->loop, &cl->wio);
	cl->out.len = 0;
	cl->outoff = 0;
	if (cl->closing) {
		/* a lingering close: closing with unread bytes would reset the
		 * connection and the peer could lose the answer; read to its
		 * EOF (at most CTL_DRAIN_S) instead */
		shutdown(cl->fd, SHUT_WR);
		cl->draining = 1;
		cl->idle.repeat = CTL_DRAIN_S;
		ev_timer_again(c->loop, &cl->idle);
	}
	ev_io_start(c->loop, &cl->rio);
}

static void prompt(struct ctl_client *cl)
{
	if (cl->prompt && !cl->closing)
		sbuf_puts(&cl->out, "\n> ");
}

/* Run every whole line in cl->in. */
static void run_lines(struct ctl_client *cl, int eof)
{
	size_t start = 0;

	while (!cl->closing) {
		char *nl = memchr(cl->in + start, '\n', cl->inlen - start);
		size_t n;

		if (!nl) {
			if (!eof || start == cl->inlen)
				break;
			n = cl->inlen - start;     /* a last line without '\n' */
		} else {
			n = (size_t)(nl - (cl->in + start));
		}
		cl->closing = run_line(cl, cl->in + start, n);
		start += n + (nl != NULL);
		if (cl->prompt)
			prompt(cl);
		if (!nl)
			break;
	}
	memmove(cl->in, cl->in + start, cl->inlen - start);
	cl->inlen -= start;
	if (eof)
		cl->closing = 1;
	if (!cl->closing && cl->inlen == sizeof(cl->in)) {
		sbuf_printf(&cl->out, "error: line too long (at most %d bytes)\n", CTL_LINE_MAX);
		cl->closing = 1;
	}
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *cl = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	if (cl->draining) {
		char sink[4096];

		n = read(cl->fd, sink, sizeof(sink));
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			client_free(cl);
		return;
	}
	n = read(cl->fd, cl->in + cl->inlen, sizeof(cl->in) - cl->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n == -1) {
		client_free(cl);
		return;
	}
	ev_timer_again(cl->ctl->loop, &cl->idle);
	cl->inlen += (size_t)n;
	run_lines(cl, n == 0);
	flush(cl);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	flush(w->data);
}

static void idle_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	client_free(t->data);
}

/* "uid=N/name": the peer's uid (SO_PEERCRED) and its program name. */
static void peer_origin(int fd, char *out, size_t cap)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	char path[64], comm[32] = "?";
	const char *name = comm;
	ssize_t n;
	int f;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1) {
		snprintf(out, cap, "uid=?");
		return;
	}
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)cr.pid);
	if ((f = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(f, comm, sizeof(comm) - 1);
		close(f);
		if (n > 0) {
			comm[n] = 0;
			comm[strcspn(comm, "\n")] = 0;
			rtdeny_clean(comm, sizeof(comm), comm, strlen(comm), 1);
		}
	}
	if (strcmp(comm, "certspoa") == 0 || strcmp(comm, "certspoa-san") == 0)
		name = "ctl";
	snprintf(out, cap, "uid=%u/%s", (unsigned int)cr.uid, name);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl *c = w->data;
	struct ctl_client *cl;
	int fd, busy;

	(void)revents;
	fd = accept4(c->l.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return;
	/* over the limit: told so (with the lingering close of any answer, so
	 * that the peer reads it), up to as many again; beyond, just closed */
	busy = c->nclients >= CTL_CLIENTS_MAX;
	if (c->nclients >= 2 * CTL_CLIENTS_MAX || !(cl = calloc(1, sizeof(*cl)))) {
		close(fd);
		LOG(LOG_WARN, 0, "admin: connection refused (%d open)", c->nclients);
		return;
	}
	cl->ctl = c;
	cl->fd = fd;
	peer_origin(fd, cl->origin, sizeof(cl->origin));
	ev_io_init(&cl->rio, read_cb, fd, EV_READ);
	ev_io_init(&cl->wio, write_cb, fd, EV_WRITE);
	ev_init(&cl->idle, idle_cb);
	cl->idle.repeat = CTL_IDLE_S;
	cl->rio.data = cl->wio.data = cl->idle.data = cl;
	cl->next = c->clients;
	c->clients = cl;
	c->nclients++;
	ev_timer_again(loop, &cl->idle);
	if (busy) {
		LOG(LOG_WARN, 0, "admin: %s refused: %d connections open", cl->origin, c->nclients - 1);
		sbuf_puts(&cl->out, "error: too many admin connections\n");
		cl->closing = 1;
		flush(cl);
		return;
	}
	ev_io_start(loop, &cl->rio);
}

int ctl_start(struct ctl *c, struct ev_loop *loop, const struct config *cfg,
              struct stats_agent *st, const struct ctl_hooks *h, char *err, size_t errlen)
{
	char why[256];

	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->st = st;
	c->hooks = *h;
	c->l.fd = -1;
	if (load_state(c, cfg, err, errlen) < 0)
		return -1;
	ev_timer_init(&c->tick, tick_cb, 1.0, 1.0);
	c->tick.data = c;
	ev_timer_start(loop, &c->tick);
	if (!cfg->admin_socket)
		return 0;
	if (cfg->admin_socket[0] != '/' || listener_open(&c->l, cfg->admin_socket, why, sizeof(why)) < 0) {
		set_err(err, errlen, "admin_socket %s: %s", cfg->admin_socket,
		         cfg->admin_socket[0] != '/' ? "needs an absolute path" : why);
		return -1;
	}
	c->on = 1;
	if (cfg->admin_socket_group) {
		struct group *g = getgrnam(cfg->admin_socket_group);

		if (!g || chown(cfg->admin_socket, (uid_t)-1, g->gr_gid) == -1) {
			set_err(err, errlen, "admin_socket_group %s: %s", cfg->admin_socket_group,
			        g ? strerror(errno) : "no such group");
			return -1;
		}
	}
	if (listener_chmod(&c->l, (unsigned int)cfg->admin_socket_mode, why, sizeof(why)) < 0) {
		set_err(err, errlen, "admin_socket_mode: %s", why);
		return -1;
	}
	ev_io_init(&c->accept_w, accept_cb, c->l.fd, EV_READ);
	c->accept_w.data = c;
	ev_io_start(loop, &c->accept_w);
	LOG(LOG_INFO, 0, "admin socket on %s (mode %04o)", cfg->admin_socket,
	    (unsigned int)cfg->admin_socket_mode);
	return 0;
}

void ctl_stop(struct ctl *c)
{
	while (c->clients)
		client_free(c->clients);
	if (c->loop) {
		ev_timer_stop(c->loop, &c->tick);
		if (c->on)
			ev_io_stop(c->loop, &c->accept_w);
	}
	if (c->on)
		listener_close(&c->l);
	c->on = 0;
	/* the workers have stopped: nothing reads the sets any more */
	free(rtdeny_publish(NULL));
	c->set = NULL;
	for (int i = 0; i < c->nretired; i++)
		free(c->retired[i].set);
	c->nretired = 0;
}
