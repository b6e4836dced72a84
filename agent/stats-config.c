/* The /config view: the effective configuration as the agent runs it, as
 * text (its SHA-256 is certspoa_config_info's) and as an HTML page. Only
 * the keys written here are shown, so a key added later is absent until
 * someone decides how to show it: secrets cannot leak by default. The
 * values of trace_secret and of the stats token are never read here, only
 * whether they are set. See stats.h. */
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "fwd.h"
#include "log.h"
#include "sbuf.h"
#include "stats.h"
#include "strset.h"
#include "tplist.h"

static const char *const mode_words[POLICY_MODES + 1] = { POLICY_MODE_LIST(CFG_ENUM_NAME) };
static const char *const log_decisions_words[LOG_DECISIONS_MODES + 1] = {
	LOG_DECISIONS_LIST(CFG_ENUM_NAME)
};
static const char *const crl_check_words[CRL_CHECKS + 1] = { CRL_CHECK_LIST(CFG_ENUM_NAME) };
static const char *const crl_missing_words[CRL_MISSINGS + 1] = { CRL_MISSING_LIST(CFG_ENUM_NAME) };
static const char *const verify_words[VERIFY_MODES + 1] = { VERIFY_MODE_LIST(CFG_ENUM_NAME) };

static const char *word(const char *const *names, int count, int v)
{
	return v >= 0 && v < count && names[v] ? names[v] : "?";
}

/* Entries a list compiled to. */
static size_t list_size(const struct cfg_list *l)
{
	if (l->tp)
		return tplist_count(l->tp);
	if (l->set)
		return strset_count(l->set);
	if (l->cidrs)
		return l->cidrs->n;
	return 0;
}

static const struct stats_cfg_file *find_file(const struct stats_cfg_file *files, int n,
                                              const char *path)
{
	for (int i = 0; path && i < n; i++)
		if (strcmp(files[i].path, path) == 0)
			return &files[i];
	return NULL;
}

static void kv_str(struct sbuf *b, const char *key, const char *v)
{
	sbuf_printf(b, "%s = %s\n", key, v ? v : "(unset)");
}

static void kv_list(struct sbuf *b, const char *key, const struct cfg_list *l,
                    const struct stats_cfg_file *files, int nfiles)
{
	const struct stats_cfg_file *f;

	if (!l->src)
		return;
	sbuf_printf(b, "%s = %s (%zu entries", key, l->src, list_size(l));
	if ((f = find_file(files, nfiles, l->file)) && f->size >= 0)
		sbuf_printf(b, "; file sha256 %s", f->sha256);
	sbuf_puts(b, ")\n");
}

static void kv_file(struct sbuf *b, const char *key, const char *path,
                    const struct stats_cfg_file *files, int nfiles)
{
	const struct stats_cfg_file *f;

	if (!path)
		return;
	sbuf_printf(b, "%s = %s", key, path);
	if ((f = find_file(files, nfiles, path)) && f->size >= 0)
		sbuf_printf(b, " (sha256 %s)", f->sha256);
	sbuf_puts(b, "\n");
}

static void text_agent(const struct config *cfg, struct sbuf *b)
{
	sbuf_puts(b, "[agent]\n");
	for (int i = 0; i < cfg->nlisten; i++)
		kv_str(b, "listen", cfg->listen[i]);
	sbuf_printf(b, "threads = %d\nmax_frame_size = %d\nfragmentation = %s\n"
	            "max_message_size = %d\nmax_connections = %d\nhello_timeout = %dms\n"
	            "idle_timeout = %dms\nshutdown_timeout = %dms\ncache_size = %d\n",
	            cfg->threads, cfg->max_frame_size, cfg->fragmentation ? "yes" : "no",
	            cfg->max_message_size, cfg->max_connections, cfg->hello_timeout_ms,
	            cfg->idle_timeout_ms, cfg->shutdown_timeout_ms, cfg->cache_size);
	sbuf_printf(b, "log_level = %s\nlog_format = %s\nlog_decisions = %s\n",
	            word(log_level_names, LOG_LEVELS, cfg->log_level),
	            word(log_format_names, LOG_FORMATS, cfg->log_format),
	            word(log_decisions_words, LOG_DECISIONS_MODES, cfg->log_decisions));
	kv_str(b, "ready_file", cfg->ready_file);
	kv_str(b, "pid_file", cfg->pid_file);
	sbuf_printf(b, "reload_watch = %dms\n", cfg->reload_watch_ms);
	if (cfg->socket_mode >= 0)
		sbuf_printf(b, "socket_mode = %04o\n", (unsigned int)cfg->socket_mode);
	else
		sbuf_puts(b, "socket_mode = (umask)\n");
	/* whether it is set, never the value */
	sbuf_printf(b, "trace_secret = %s\n", cfg->trace_secret ? "(set, redacted)" : "(unset)");
	sbuf_puts(b, "\n[stats]\n");
	kv_str(b, "listen", cfg->stats_listen);
	if (cfg->stats_token_file)
		sbuf_printf(b, "token_file = %s (token %s)\n", cfg->stats_token_file,
		            cfg->stats_token ? "loaded, redacted" : "not loaded");
	else
		sbuf_puts(b, "token_file = (unset)\n");
}

static void text_policy(const struct policy *p, const struct stats_cfg_file *files, int nfiles,
                        struct sbuf *b)
{
	sbuf_printf(b, "\n[policy %s]\nmode = %s\nrequire_cert = %s\nverify = %s\n", p->name,
	            word(mode_words, POLICY_MODES, p->mode), p->require_cert ? "yes" : "no",
	            word(verify_words, VERIFY_MODES, p->verify));
	kv_file(b, "ca_file", p->ca_file, files, nfiles);
	kv_file(b, "ca_dir", p->ca_dir, files, nfiles);
	kv_file(b, "intermediates", p->intermediates, files, nfiles);
	kv_file(b, "crl_file", p->crl_file, files, nfiles);
	if (p->crl_file)
		sbuf_printf(b, "crl_check = %s\ncrl_missing = %s\n",
		            word(crl_check_words, CRL_CHECKS, p->crl_check),
		            word(crl_missing_words, CRL_MISSINGS, p->crl_missing));
	for (int k = 0; k < ID_KINDS; k++)
		kv_list(b, p->allow[k].key ? p->allow[k].key : "allow", &p->allow[k], files, nfiles);
	for (int k = 0; k < ID_KINDS; k++)
		kv_list(b, p->deny[k].key ? p->deny[k].key : "deny", &p->deny[k], files, nfiles);
	kv_list(b, "allowed_curves", &p->allowed_curves, files, nfiles);
	kv_list(b, "allowed_key_types", &p->allowed_key_types, files, nfiles);
	kv_list(b, "forbid_signature", &p->forbid_signature, files, nfiles);
	kv_list(b, "require_policies", &p->require_policies, files, nfiles);
	sbuf_printf(b, "min_rsa_bits = %d\nmax_lifetime_days = %d\nwarn_days = %d\nmax_sans = %d\n"
	            "sni_host_match = %s\nmax_depth = %d\nclock_skew = %dms\ndeny_status = %d\n",
	            p->min_rsa_bits, p->max_lifetime_days, p->warn_days, p->max_sans,
	            p->sni_host_match ? "yes" : "no", p->max_depth, p->clock_skew_ms, p->deny_status);
}

void stats_render_config_text(const struct config *cfg, const struct stats_cfg_file *files,
                              int nfiles, struct sbuf *b)
{
	sbuf_puts(b, "# certspoa: the effective configuration (secrets redacted)\n");
	if (!cfg) {
		sbuf_puts(b, "# none loaded\n");
		return;
	}
	text_agent(cfg, b);
	if (cfg->fwd.enabled) {
		sbuf_printf(b, "\n[forwarded]\nformat = %s\n",
		            word(fwd_format_names, FWD_FORMATS, cfg->fwd.format));
		kv_list(b, "trusted_proxies", &cfg->fwd.trusted_proxies, files, nfiles);
	}
	for (const struct route *r = cfg->routes; r; r = r->next) {
		sbuf_printf(b, "\n[route %s]\n", r->name);
		kv_list(b, "sni", &r->sni, files, nfiles);
		kv_list(b, "host", &r->host, files, nfiles);
		kv_list(b, "path_prefix", &r->path_prefix, files, nfiles);
		kv_list(b, "frontend", &r->frontend, files, nfiles);
		kv_str(b, "policy", r->policy_name);
	}
	for (const struct policy *p = cfg->policies; p; p = p->next)
		text_policy(p, files, nfiles, b);
	if (cfg->default_policy)
		sbuf_printf(b, "\n# requests no route matches: policy %s\n", cfg->default_policy->name);
	sbuf_puts(b, "\n# files read (the stats token file is not listed)\n");
	for (int i = 0; i < nfiles; i++) {
		if (files[i].size >= 0)
			sbuf_printf(b, "# %s %s: %lld bytes, sha256 %s\n", files[i].what, files[i].path,
			            files[i].size, files[i].sha256);
		else
			sbuf_printf(b, "# %s %s: not a readable regular file\n", files[i].what, files[i].path);
	}
}

/* One row of the policies table: a list's size and where it comes from. */
static void html_list_cell(struct sbuf *b, const char *key, const struct cfg_list *l, int *first)
{
	if (!l->src)
		return;
	sbuf_puts(b, *first ? "" : "<br>");
	*first = 0;
	sbuf_html(b, key);
	sbuf_printf(b, ": <b>%zu</b> <code>", list_size(l));
	sbuf_html(b, l->src);
	sbuf_puts(b, "</code>");
}

void stats_render_config_html(const struct config *cfg, const struct stats_cfg_file *files,
                              int nfiles, const char *sha256, struct sbuf *b)
{
	struct sbuf text = { 0 };

	sbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	          "<title>certspoa configuration</title>\n<style>\n"
	          "body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}\n"
	          "header{background:#1d2733;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}\n"
	          "header span{opacity:.7;margin-left:12px}main{padding:16px 24px}a{color:#0b5cad}\n"
	          "section{background:#fff;border-radius:6px;padding:12px 16px;margin-bottom:16px;box-shadow:0 1px 2px #0002}\n"
	          "h2{font-size:15px;margin:0 0 8px}table{border-collapse:collapse;width:100%}\n"
	          "th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e8ee;font-size:13px;vertical-align:top}\n"
	          "th{color:#5b6b7c;font-weight:600}td.n{text-align:right}code,pre{font-size:12px}\n"
	          "pre{white-space:pre-wrap;word-break:break-all;margin:0}\n"
	          "</style></head><body>\n<header><h1>certspoa configuration</h1>");
	sbuf_printf(b, "<span>generation %u</span><span>sha256 <code id=\"config-sha256\">%s</code></span>"
	            "</header>\n<main>\n", cfg ? cfg->generation : 0, sha256 && *sha256 ? sha256 : "-");
	if (cfg) {
		sbuf_puts(b, "<section><h2>Policies</h2><table><tr><th>policy</th><th>mode</th>"
		          "<th>verify</th><th>trust anchors</th><th>lists (entries, source)</th>"
		          "<th class=\"n\">deny status</th></tr>\n");
		for (const struct policy *p = cfg->policies; p; p = p->next) {
			int first = 1;

			sbuf_puts(b, "<tr><td>");
			sbuf_html(b, p->name);
			sbuf_printf(b, "</td><td>%s</td><td>%s</td><td>", word(mode_words, POLICY_MODES, p->mode),
			            word(verify_words, VERIFY_MODES, p->verify));
			sbuf_html(b, p->ca_file ? p->ca_file : p->ca_dir ? p->ca_dir : "-");
			sbuf_puts(b, "</td><td>");
			for (int k = 0; k < ID_KINDS; k++)
				html_list_cell(b, p->allow[k].key ? p->allow[k].key : "allow", &p->allow[k], &first);
			for (int k = 0; k < ID_KINDS; k++)
				html_list_cell(b, p->deny[k].key ? p->deny[k].key : "deny", &p->deny[k], &first);
			sbuf_printf(b, "%s</td><td class=\"n\">%d</td></tr>\n", first ? "-" : "", p->deny_status);
		}
		sbuf_puts(b, "</table></section>\n");
		sbuf_puts(b, "<section><h2>Files</h2><table><tr><th>key</th><th>path</th>"
		          "<th class=\"n\">bytes</th><th>SHA-256</th></tr>\n");
		for (int i = 0; i < nfiles; i++) {
			sbuf_printf(b, "<tr><td>%s</td><td>", files[i].what);
			sbuf_html(b, files[i].path);
			if (files[i].size >= 0)
				sbuf_printf(b, "</td><td class=\"n\">%lld</td><td><code>%s</code></td></tr>\n",
				            files[i].size, files[i].sha256);
			else
				sbuf_puts(b, "</td><td class=\"n\">-</td><td>not a readable regular file</td></tr>\n");
		}
		if (!nfiles)
			sbuf_puts(b, "<tr><td colspan=\"4\">none</td></tr>\n");
		sbuf_puts(b, "</table></section>\n");
	}
	stats_render_config_text(cfg, files, nfiles, &text);
	sbuf_puts(b, "<section><h2>Effective configuration</h2><pre id=\"config-text\">");
	if (text.failed)
		b->failed = 1;
	else if (text.p)
		sbuf_html(b, text.p);
	sbuf_free(&text);
	sbuf_puts(b, "</pre></section>\n<p style=\"color:#5b6b7c\"><a href=\"/\">status</a> &middot; "
	          "<a href=\"/stats.json\">/stats.json</a> &middot; certspoa_config_info{sha256} is the "
	          "SHA-256 of the text above</p>\n</main></body></html>\n");
}
