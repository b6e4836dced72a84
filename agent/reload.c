/* Configuration reloads: SIGHUP, 'certspoa reload' and the file watcher
 * come here. The new configuration is loaded and validated in the main
 * thread, off the SPOP path, then handed to every worker, which switches at
 * its next loop turn; the old one is freed when all have switched. A broken
 * file keeps the running configuration. Listeners and threads stay as they
 * were started (changing them needs a restart). */
#include <dirent.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "agent.h"
#include "cert.h"
#include "cfg.h"
#include "log.h"
#include "sbuf.h"
#include "stats.h"
#include "revoc.h"
#include "worker.h"

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long long mix(unsigned long long h, unsigned long long v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

static unsigned long long sig_of(const char *path, unsigned long long h)
{
	struct stat st;

	if (!path)
		return h;
	if (stat(path, &st) == -1)    /* follows symlinks: ConfigMap swaps show */
		return mix(h, 0xdeadULL);
	h = mix(h, (unsigned long long)st.st_dev);
	h = mix(h, (unsigned long long)st.st_ino);
	h = mix(h, (unsigned long long)st.st_size);
	h = mix(h, (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL + (unsigned long long)st.st_mtim.tv_nsec);
	return mix(h, (unsigned long long)st.st_ctim.tv_sec * 1000000000ULL + (unsigned long long)st.st_ctim.tv_nsec);
}

/* Every file the configuration names, with the key that names it. The
 * stats token file comes last, marked secret: it is watched, never shown
 * or digested. */
typedef void (*named_file_fn)(void *arg, const char *key, const char *path, int secret);

static void each_named_file(const struct config *cfg, named_file_fn fn, void *arg)
{
	for (const struct policy *p = cfg ? cfg->policies : NULL; p; p = p->next) {
		fn(arg, "ca_file", p->ca_file, 0);
		fn(arg, "ca_dir", p->ca_dir, 0);      /* a file added or removed changes the dir */
		fn(arg, "intermediates", p->intermediates, 0);
		fn(arg, "crl_file", p->crl_file, 0);
		for (int i = 0; p->tds && i < p->ntds; i++)
			fn(arg, "spiffe_bundles", p->tds[i].file, 0);   /* a rotated trust bundle */
		fn(arg, "jwks_file", p->jwks_file, 0);   /* rotated token signing keys */
		for (int k = 0; k < ID_KINDS; k++) {
			fn(arg, p->allow[k].key ? p->allow[k].key : "allow list", p->allow[k].file, 0);
			fn(arg, p->deny[k].key ? p->deny[k].key : "deny list", p->deny[k].file, 0);
		}
		fn(arg, "allowed_curves", p->allowed_curves.file, 0);
		fn(arg, "forbid_signature", p->forbid_signature.file, 0);
		fn(arg, "require_policies", p->require_policies.file, 0);
	}
	for (const struct route *r = cfg ? cfg->routes : NULL; r; r = r->next) {
		fn(arg, "sni", r->sni.file, 0);
		fn(arg, "host", r->host.file, 0);
		fn(arg, "path_prefix", r->path_prefix.file, 0);
		fn(arg, "frontend", r->frontend.file, 0);
	}
	if (cfg) {
		fn(arg, "trusted_proxies", cfg->fwd.trusted_proxies.file, 0);
		fn(arg, "token_file", cfg->stats_token_file, 1);   /* a rotated stats token */
	}
}

static void sig_cb(void *arg, const char *key, const char *path, int secret)
{
	unsigned long long *h = arg;

	(void)key;
	(void)secret;
	*h = sig_of(path, *h);
}

/* A signature of the config file and every file it names. */
static unsigned long long agent_files_signature(const char *file, const struct config *cfg)
{
	unsigned long long h = sig_of(file, 1469598103934665603ULL);

	each_named_file(cfg, sig_cb, &h);
	return h;
}

/* SHA-256 of a regular file as hex into out[65]; its size, or -1. */
static long long file_sha256(const char *path, char *out)
{
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	long long size = 0;
	EVP_MD_CTX *ctx = NULL;
	struct stat st;
	FILE *f = NULL;
	size_t n;

	out[0] = 0;
	if (!(f = fopen(path, "rb")) || fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode))
		goto fail;
	if (!(ctx = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto fail;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (!EVP_DigestUpdate(ctx, buf, n))
			goto fail;
		size += (long long)n;
	}
	if (ferror(f) || !EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32)
		goto fail;
	EVP_MD_CTX_free(ctx);
	fclose(f);
	cert_hex(md, 32, out);
	return size;
fail:
	EVP_MD_CTX_free(ctx);
	if (f)
		fclose(f);
	out[0] = 0;
	return -1;
}

static int ca_dir_entry(const struct dirent *de)
{
	return cert_store_dir_name_ok(de->d_name);
}

/* A ca_dir: SHA-256 over each file cert_store_add_dir() reads, in name
 * order ("name NUL sha256-hex NUL"), into out[65]; their total size, or
 * -1. A certificate added, removed or changed changes it. */
static long long dir_sha256(const char *dir, char *out)
{
	struct dirent **names = NULL;
	char path[4096], one[65];
	unsigned char md[32];
	long long total = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen = 0;
	int n = scandir(dir, &names, ca_dir_entry, alphasort);

	out[0] = 0;
	if (n < 0 || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		total = -1;
	for (int i = 0; i < (n > 0 ? n : 0); i++) {
		long long size;

		if (total >= 0 && snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < (int)sizeof(path) &&
		    (size = file_sha256(path, one)) >= 0) {
			if (!EVP_DigestUpdate(ctx, names[i]->d_name, strlen(names[i]->d_name) + 1) ||
			    !EVP_DigestUpdate(ctx, one, sizeof(one)))
				total = -1;
			else
				total += size;
		}
		free(names[i]);
	}
	free(names);
	if (total >= 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 32)
		cert_hex(md, 32, out);
	else
		total = -1;
	EVP_MD_CTX_free(ctx);
	return total;
}

static void digest_cb(void *arg, const char *key, const char *path, int secret)
{
	struct stats_agent *st = arg;
	struct stats_cfg_file *f;

	if (!path || secret || st->ncfg_files == STATS_CFG_FILES_MAX)
		return;
	for (int i = 0; i < st->ncfg_files; i++)
		if (strcmp(st->cfg_files[i].path, path) == 0)
			return;
	f = &st->cfg_files[st->ncfg_files++];
	f->path = path;
	f->what = key;
	f->size = strcmp(key, "ca_dir") == 0 ? dir_sha256(path, f->sha256) : file_sha256(path, f->sha256);
}

/* The files of the live config with their SHA-256, and the SHA-256 of
 * the /config text (certspoa_config_info): identical configurations give
 * identical digests, whatever the generation or the start time. */
static void agent_config_digest(struct agent *a)
{
	struct stats_agent *st = &a->stats;
	struct sbuf b = { 0 };
	unsigned char md[32];

	st->ncfg_files = 0;
	each_named_file(a->cfg, digest_cb, st);
	stats_render_config_text(a->cfg, st->cfg_files, st->ncfg_files, &b);
	if (b.failed || !b.p || !SHA256((const unsigned char *)b.p, b.len, md))
		st->config_sha256[0] = 0;
	else
		cert_hex(md, 32, st->config_sha256);
	sbuf_free(&b);
}

/* The text of a refused reload, for the status page and stats.json: all
 * of it (a list file's errors come one per line), cut to the buffer. */
static void record_reload_error(struct agent *a, double when, const char *err)
{
	snprintf(a->stats.last_reload_error, sizeof(a->stats.last_reload_error), "%s", err);
	a->stats.last_reload_error_time = when;
}

static int listeners_match(const struct config *a, const struct config *b)
{
	if (a->nlisten != b->nlisten)
		return 0;
	for (int i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i], b->listen[i]) != 0)
			return 0;
	return 1;
}

static int str_match(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

void agent_on_list_changed(void *arg)
{
	agent_reload(arg, "a list given as a URL changed");
}

int agent_reload(struct agent *a, const char *why)
{
	char err[1024];
	struct config *next;
	unsigned int gen;

	a->stats.last_reload = wall_now();
	next = cfg_load(a->file, err, sizeof(err));
	if (!next) {
		a->stats.reload_failures++;
		a->stats.last_reload_ok = 0;
		record_reload_error(a, a->stats.last_reload, err);
		LOG(LOG_ERR, 0, "reload (%s) failed, keeping generation %u: %s", why,
		    a->cfg->generation, err);
		/* do not retry the same broken files on every watch tick */
		a->watch_sig = agent_files_signature(a->file, a->cfg);
		return -1;
	}
	if (a->nretired == AGENT_RETIRED_MAX) {
		a->stats.reload_failures++;
		a->stats.last_reload_ok = 0;
		snprintf(err, sizeof(err), "refused: %d older configurations still in use",
		         AGENT_RETIRED_MAX);
		record_reload_error(a, a->stats.last_reload, err);
		LOG(LOG_ERR, 0, "reload (%s) %s", why, err);
		cfg_free(next);
		return -1;
	}
	if (!listeners_match(a->cfg, next))
		LOG(LOG_WARN, 0, "reload: listen addresses changed; they apply at the next restart");
	if (a->cfg->threads != next->threads)
		LOG(LOG_WARN, 0, "reload: threads changed; it applies at the next restart");
	if (!str_match(a->cfg->stats_listen, next->stats_listen))
		LOG(LOG_WARN, 0, "reload: [stats] listen changed; it applies at the next restart");
	if (!str_match(a->cfg->admin_socket, next->admin_socket) ||
	    !str_match(a->cfg->state_dir, next->state_dir) ||
	    !str_match(a->cfg->haproxy_socket, next->haproxy_socket))
		LOG(LOG_WARN, 0, "reload: admin_socket, state_dir or haproxy_socket changed; it applies at the next restart");

	gen = a->cfg->generation + 1;
	next->generation = gen;
	a->retired[a->nretired].cfg = a->cfg;
	a->retired[a->nretired].until_gen = gen;
	a->nretired++;
	a->cfg = next;
	/* the revocation sources follow (started when a reload turns
	 * fetching on; kept, idle, when it turns it off) */
	if (a->revoc) {
		revoc_set_config(a->revoc, next);
	} else if (revoc_is_needed(next)) {
		char rerr[256];

		if (!(a->revoc = revoc_start(next, EV_DEFAULT, rerr, sizeof(rerr))))
			LOG(LOG_ERR, 0, "revocation: %s", rerr);
		revoc_set_reload(a->revoc, agent_on_list_changed, a);
		a->stats.revoc = a->revoc;
	}
	a->stats.cfg = next;
	if (!a->debug)
		__atomic_store_n(&log_min_level, (enum log_level)next->log_level, __ATOMIC_RELAXED);
	log_set_format((enum log_format)next->log_format);
	for (int i = 0; i < a->nworkers; i++)
		worker_post_config(&a->workers[i], next);
	a->stats.reloads++;
	a->stats.last_reload_ok = 1;
	a->watch_sig = agent_files_signature(a->file, next);
	agent_config_digest(a);
	LOG(LOG_INFO, 0, "reload (%s): configuration generation %u loaded", why, gen);
	return 0;
}

/* Free the configurations no worker uses any more. */
static void retire_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct agent *a = t->data;
	unsigned int oldest = ~0U;
	int freed = 0;

	(void)loop;
	(void)revents;
	for (int i = 0; i < a->nworkers; i++) {
		unsigned int g = worker_config_generation(&a->workers[i]);

		if (g < oldest)
			oldest = g;
	}
	for (int i = 0; i < a->nretired; ) {
		if (a->retired[i].until_gen <= oldest) {
			cfg_free(a->retired[i].cfg);
			a->retired[i] = a->retired[--a->nretired];
			freed = 1;
		} else {
			i++;
		}
	}
	/* a big list just freed sits in the allocator's arenas otherwise:
	 * RSS climbed by ~11 MB over the first reloads of a 100k list */
	if (freed)
		malloc_trim(0);
}

static void watch_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct agent *a = t->data;
	unsigned long long sig;

	(void)loop;
	(void)revents;
	sig = agent_files_signature(a->file, a->cfg);
	if (sig != a->watch_sig) {
		a->watch_sig = sig;
		agent_reload(a, "files changed");
	}
}

void agent_reload_init(struct agent *a)
{
	struct ev_loop *loop = EV_DEFAULT;

	a->stats.last_reload_ok = 1;
	a->watch_sig = agent_files_signature(a->file, a->cfg);
	agent_config_digest(a);
	ev_timer_init(&a->retire_timer, retire_cb, 0.1, 0.1);
	a->retire_timer.data = a;
	ev_timer_start(loop, &a->retire_timer);
	if (a->cfg->reload_watch_ms > 0) {
		double every = a->cfg->reload_watch_ms / 1000.0;

		ev_timer_init(&a->watch_timer, watch_cb, every, every);
		a->watch_timer.data = a;
		ev_timer_start(loop, &a->watch_timer);
	}
}
