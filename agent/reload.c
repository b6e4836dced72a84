/* Configuration reloads: SIGHUP, 'certspoa reload' and the file watcher
 * come here. The new configuration is loaded and validated in the main
 * thread, off the SPOP path, then handed to every worker, which switches at
 * its next loop turn; the old one is freed when all have switched. A broken
 * file keeps the running configuration. Listeners and threads stay as they
 * were started (changing them needs a restart). */
#include <malloc.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent.h"
#include "cfg.h"
#include "log.h"
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

/* A signature of the config file and every file it names. */
static unsigned long long agent_files_signature(const char *file, const struct config *cfg)
{
	unsigned long long h = sig_of(file, 1469598103934665603ULL);

	for (const struct policy *p = cfg ? cfg->policies : NULL; p; p = p->next) {
		h = sig_of(p->ca_file, h);
		h = sig_of(p->ca_dir, h);      /* a file added or removed changes the dir */
		h = sig_of(p->intermediates, h);
		h = sig_of(p->crl_file, h);
		for (int k = 0; k < ID_KINDS; k++) {
			h = sig_of(p->allow[k].file, h);
			h = sig_of(p->deny[k].file, h);
		}
		h = sig_of(p->allowed_curves.file, h);
		h = sig_of(p->forbid_signature.file, h);
		h = sig_of(p->require_policies.file, h);
	}
	for (const struct route *r = cfg ? cfg->routes : NULL; r; r = r->next) {
		h = sig_of(r->sni.file, h);
		h = sig_of(r->host.file, h);
		h = sig_of(r->path_prefix.file, h);
		h = sig_of(r->frontend.file, h);
	}
	if (cfg)
		h = sig_of(cfg->fwd.trusted_proxies.file, h);
	if (cfg)
		h = sig_of(cfg->stats_token_file, h);   /* a rotated stats token */
	return h;
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
		LOG(LOG_ERR, 0, "reload (%s) failed, keeping generation %u: %s", why,
		    a->cfg->generation, err);
		/* do not retry the same broken files on every watch tick */
		a->watch_sig = agent_files_signature(a->file, a->cfg);
		return -1;
	}
	if (a->nretired == AGENT_RETIRED_MAX) {
		a->stats.reload_failures++;
		a->stats.last_reload_ok = 0;
		LOG(LOG_ERR, 0, "reload (%s) refused: %d older configurations still in use", why,
		    AGENT_RETIRED_MAX);
		cfg_free(next);
		return -1;
	}
	if (!listeners_match(a->cfg, next))
		LOG(LOG_WARN, 0, "reload: listen addresses changed; they apply at the next restart");
	if (a->cfg->threads != next->threads)
		LOG(LOG_WARN, 0, "reload: threads changed; it applies at the next restart");
	if (!str_match(a->cfg->stats_listen, next->stats_listen))
		LOG(LOG_WARN, 0, "reload: [stats] listen changed; it applies at the next restart");

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
