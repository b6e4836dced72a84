/* certspoa: command line, startup, signals, the stats routes. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/opensslv.h>

#include "agent.h"
#include "cache.h"
#include "cfg.h"
#include "ctl-client.h"
#include "explain.h"
#include "fetch.h"
#include "inspect.h"
#include "lint.h"
#include "log.h"
#include "pidfile.h"
#include "ocsp-fetch.h"
#include "probe.h"
#include "revoc.h"
#include "stats.h"
#include "worker.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: certspoa -f FILE [-d]       run the agent (in the foreground)\n"
	        "       certspoa -c -f FILE         check the configuration and exit\n"
	        "       certspoa reload -f FILE     check FILE, then make the running agent\n"
	        "                                   (its pid_file) reload it\n"
	        "       certspoa stop -f FILE       make the running agent (its pid_file) stop\n"
	        "       certspoa explain -f FILE --cert CERT [--chain F] [--host H] [--path P] [--sni S]\n"
	        "                                   run the policies offline and show every check\n"
	        "       certspoa inspect FILE...       what a policy can match on (PEM, DER, PKCS#12)\n"
	        "       certspoa probe URL --cert C [--key K] [--ca F] [--trace-secret S] [--json]\n"
	        "                                   diagnose a client-certificate path (docs/PROBE.md)\n"
	        "       certspoa lint HAPROXY.CFG [--spoe F] [--agent-config INI] [--haproxy-version X.Y]\n"
	        "                                   find the traps in an HAProxy configuration\n"
	        "       certspoa ctl [-f FILE | -S SOCKET] COMMAND...\n"
	        "                                   the running agent's admin_socket: show info,\n"
	        "                                   add deny... ('certspoa ctl -S SOCKET help')\n"
	        "       certspoa --help-config      list every configuration key\n"
	        "       certspoa --example-config   print a configuration with every default\n"
	        "       certspoa --version\n"
	        "\n"
	        "  -f FILE   configuration file (INI)\n"
	        "  -c        only check the configuration: exit 0, or 78 with file:line: key: error\n"
	        "  -d        debug logs (one line per decision)\n"
	        "  -h        this help\n"
	        "\n"
	        "Signals: SIGHUP reloads the configuration and the files it names;\n"
	        "SIGTERM/SIGINT answer what was received, disconnect and exit 0.\n");
}

/* Write text to path atomically (tmp + rename). */
static int write_file_atomic(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if (!(f = fopen(tmp, "w")))
		return -1;
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void on_stop_signal(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct agent *a = s->data;

	(void)revents;
	LOG(LOG_INFO, 0, "signal %d: stopping (finishing in-flight frames)", s->signum);
	worker_request_stop_all();
	for (int i = 0; i < a->nworkers; i++)
		worker_stop(&a->workers[i]);
	ev_break(loop, EVBREAK_ALL);
}

static void on_hup(struct ev_loop *loop, ev_signal *s, int revents)
{
	(void)loop;
	(void)revents;
	agent_reload(s->data, "SIGHUP");
}

/* ---- stats routes ---- */

static void stats_route(void *arg, const struct httpd_request *rq, struct httpd_response *r)
{
	struct agent *a = arg;
	struct stats_snapshot *snap;
	const char *path = rq->path;

	/* on a non-loopback listener, only /metrics /healthz /readyz without
	 * the [stats] token_file's bearer token (statsauth.h) */
	if (!httpd_authorize(rq, a->cfg->stats_token, a->cfg->stats_token_len, r))
		return;
	if (strcmp(path, "/healthz") == 0) {
		sbuf_puts(&r->body, "ok\n");
		return;
	}
	if (strcmp(path, "/readyz") == 0) {
		if (!a->stats.ready || worker_stop_is_requested()) {
			r->status = 503;
			sbuf_puts(&r->body, "not ready\n");
		} else {
			sbuf_printf(&r->body, "ready: generation %u, %d listeners\n",
			            a->cfg->generation, a->nls);
		}
		return;
	}
	if (strcmp(path, "/config") == 0) {
		/* same rule as / (statsauth.h: not a public path) */
		r->content_type = "text/html; charset=utf-8";
		stats_render_config_html(a->cfg, a->stats.cfg_files, a->stats.ncfg_files,
		                         a->stats.config_sha256, &r->body);
		return;
	}
	if (strcmp(path, "/metrics") && strcmp(path, "/stats.json") && strcmp(path, "/")) {
		r->status = 404;
		sbuf_puts(&r->body, "not found: try /, /config, /metrics, /stats.json, /healthz, /readyz\n");
		return;
	}
	if (!(snap = malloc(sizeof(*snap)))) {
		r->status = 503;
		sbuf_puts(&r->body, "out of memory\n");
		return;
	}
	stats_collect(&a->stats, snap, 250);
	if (strcmp(path, "/metrics") == 0) {
		r->content_type = "text/plain; version=0.0.4; charset=utf-8";
		stats_render_prometheus(snap, &r->body);
	} else if (strcmp(path, "/stats.json") == 0) {
		r->content_type = "application/json";
		stats_render_json(snap, &r->body);
	} else {
		r->content_type = "text/html; charset=utf-8";
		stats_render_html(snap, &r->body);
	}
	stats_snapshot_done(snap);
	free(snap);
}

/* ---- running ---- */

static int ctl_reload(void *arg, const char *why)
{
	return agent_reload(arg, why);
}
/* the pid file this process locked, and whether it wrote ready_file: at
 * exit it removes only what it owns (a second instance that fails to
 * start leaves the first one's files alone) */
static struct pidfile pid_lock = { .fd = -1 };
static int wrote_ready_file;

static int start_listeners(struct agent *a)
{
	char err[512], ready[CFG_MAX_LISTEN * (LISTENER_ADDR_MAX + 1) + 1] = "";
	size_t rlen = 0;

	for (int i = 0; i < a->cfg->nlisten; i++) {
		if (listener_open(&a->ls[i], a->cfg->listen[i], err, sizeof(err)) < 0) {
			LOG(LOG_ERR, 0, "listen %s", err);
			return -1;
		}
		a->nls++;
		if (a->cfg->socket_mode >= 0 &&
		    listener_chmod(&a->ls[i], (unsigned int)a->cfg->socket_mode, err, sizeof(err)) < 0) {
			LOG(LOG_ERR, 0, "socket_mode: %s", err);
			return -1;
		}
		LOG(LOG_INFO, 0, "listening on %s", a->ls[i].bound);
		rlen += (size_t)snprintf(ready + rlen, sizeof(ready) - rlen, "%s\n", a->ls[i].bound);
	}
	if (a->cfg->stats_listen) {
		if (httpd_open(&a->stats_httpd, EV_DEFAULT, a->cfg->stats_listen, stats_route, a,
		               err, sizeof(err)) < 0) {
			LOG(LOG_ERR, 0, "[stats] listen %s", err);
			return -1;
		}
		a->stats_on = 1;
		LOG(LOG_INFO, 0, "stats on http://%s/", a->stats_httpd.l.bound);
		if (!a->stats_httpd.local)
			LOG(LOG_INFO, 0, "stats: %s is not a loopback address: /metrics, /healthz and /readyz "
			    "are public, every other page %s", a->stats_httpd.l.bound,
			    a->cfg->stats_token ? "needs the token_file's bearer token" :
			    "answers 403 (no token_file)");
		if (a->cfg->stats_token_world_readable)
			LOG(LOG_WARN, 0, "[stats] token_file %s is readable by every user: chmod o-r it",
			    a->cfg->stats_token_file);
	}
	if (a->cfg->ready_file && write_file_atomic(a->cfg->ready_file, ready) < 0)
		LOG(LOG_WARN, 0, "cannot write ready_file %s: %s", a->cfg->ready_file, strerror(errno));
	else if (a->cfg->ready_file)
		wrote_ready_file = 1;
	/* written once bound: the file names an agent that serves */
	if (pid_lock.fd != -1 && pidfile_write(&pid_lock, (long)getpid(), err, sizeof(err)) < 0)
		LOG(LOG_WARN, 0, "cannot write pid_file %s", err);
	return 0;
}

static int run(struct agent *a, int debug)
{
	struct ev_loop *loop = EV_DEFAULT;
	ev_signal sig_term, sig_int, sig_hup;
	struct timespec now;
	sigset_t set;
	char ctl_err[512];
	char err[512];
	int rc = EX_OK;
	long ncpu;

	a->debug = debug;
	log_min_level = debug ? LOG_DEBUG : (enum log_level)a->cfg->log_level;
	log_set_format((enum log_format)a->cfg->log_format);
	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_REALTIME, &now);
	a->stats.start_time = (double)now.tv_sec + now.tv_nsec / 1e9;
	/* the verdict generation starts above any a previous run of this
	 * agent handed out (under 65536 changes a second) */
	cache_verdict_gen_start((uint64_t)now.tv_sec << 16);
	a->stats.cfg = a->cfg;

	a->nworkers = a->cfg->threads;
	if (a->nworkers == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		a->nworkers = ncpu > 0 ? (int)(ncpu > CFG_MAX_THREADS ? CFG_MAX_THREADS : ncpu) : 1;
	}
	if (a->nworkers > CFG_MAX_THREADS) {     /* cfg.c refuses it already */
		LOG(LOG_ERR, 0, "threads = %d: at most %d", a->nworkers, CFG_MAX_THREADS);
		rc = EX_CONFIG;
		goto out;
	}
	a->workers = calloc((size_t)a->nworkers, sizeof(*a->workers));
	if (!a->workers) {
		rc = EX_OSERR;
		goto out;
	}
	a->stats.workers = a->workers;
	if (a->cfg->pid_file) {
		long holder;

		/* locked before binding: a second instance stops here */
		switch (pidfile_lock(&pid_lock, a->cfg->pid_file, &holder, err, sizeof(err))) {
		case PIDFILE_OK:
			break;
		case PIDFILE_HELD:
			if (holder)
				LOG(LOG_ERR, 0, "certspoa already running (pid %ld): %s is locked", holder, a->cfg->pid_file);
			else
				LOG(LOG_ERR, 0, "certspoa already running: %s is locked", a->cfg->pid_file);
			rc = EX_UNAVAILABLE;
			goto out;
		case PIDFILE_ERROR:
		case PIDFILE_RCS:
			LOG(LOG_WARN, 0, "cannot lock pid_file %s", err);
			break;
		}
	}
	/* before the workers (they never decide without the saved runtime
	 * denies) and the ready_file (the admin socket is up when it says so) */
	if (ctl_start(&a->ctl, loop, a->cfg, &a->stats, &(struct ctl_hooks){ ctl_reload, a },
	              ctl_err, sizeof(ctl_err)) < 0) {
		LOG(LOG_ERR, 0, "%s", ctl_err);
		rc = EX_CONFIG;
		goto out;
	}
	if (a->cfg->haproxy_socket) {
		a->hapush = hapush_start(loop, a->cfg->haproxy_socket, err, sizeof(err));
		if (!a->hapush && err[0]) {
			LOG(LOG_ERR, 0, "%s", err);
			rc = EX_CONFIG;
			goto out;
		}
	}
	if (start_listeners(a) < 0) {
		rc = EX_UNAVAILABLE;
		goto out;
	}

	/* OCSP: the answers, and the fetcher that brings them (its thread is
	 * idle without an OCSP policy; a reload may add one) */
	if (ocsp_cache_init(&a->ocsp_cache, (size_t)a->cfg->ocsp_cache_size) < 0) {
		rc = EX_OSERR;
		goto out;
	}
	a->ocsp_cache_on = 1;
	/* (revoc.c runs a fetcher of its own for CRLs and lists) */
	a->fetcher = fetcher_start(err, sizeof(err));
	if (!a->fetcher)
		LOG(LOG_WARN, 0, "background fetcher: %s (OCSP checks are unavailable)", err);
	a->stats.ocsp = &a->ocsp_cache;
	a->ocsp = ocsp_fetch_new(&a->ocsp_cache, a->fetcher);
	if (!a->ocsp) {
		rc = EX_OSERR;
		goto out;
	}

	/* the revocation sources: the disk cache is published before any
	 * worker decides, the fetches start on the fetcher thread */
	if (revoc_is_needed(a->cfg)) {
		a->revoc = revoc_start(a->cfg, loop, err, sizeof(err));
		if (!a->revoc) {
			LOG(LOG_ERR, 0, "revocation: %s", err);
			rc = EX_OSERR;
			goto out;
		}
		revoc_set_reload(a->revoc, agent_on_list_changed, a);
		a->stats.revoc = a->revoc;
	}
	/* workers inherit a mask without these signals: only this thread
	 * handles them */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < a->nworkers; i++) {
		if (worker_init(&a->workers[i], i, a->cfg, a->ls, a->nls) == 0)
			worker_set_ocsp(&a->workers[i], &a->ocsp_cache,
			                a->fetcher ? ocsp_fetch_submit : NULL, a->ocsp);
		if (!a->workers[i].own.loop || worker_start(&a->workers[i]) < 0) {
			LOG(LOG_ERR, 0, "cannot start worker %d", i);
			worker_request_stop_all();
			for (int j = 0; j < i; j++) {
				worker_stop(&a->workers[j]);
				worker_join(&a->workers[j]);
			}
			a->nworkers = i + 1;    /* destroy the half-made one too */
			rc = EX_OSERR;
			goto out;
		}
		a->stats.nworkers = i + 1;
		ocsp_fetch_set_workers(a->ocsp, a->workers, i + 1);
	}

	ev_signal_init(&sig_term, on_stop_signal, SIGTERM);
	ev_signal_init(&sig_int, on_stop_signal, SIGINT);
	ev_signal_init(&sig_hup, on_hup, SIGHUP);
	sig_term.data = sig_int.data = sig_hup.data = a;
	ev_signal_start(loop, &sig_term);
	ev_signal_start(loop, &sig_int);
	ev_signal_start(loop, &sig_hup);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	agent_reload_init(a);
	stats_rate_start(&a->stats, loop);
	a->stats.ready = 1;
	LOG(LOG_INFO, 0, "certspoa %s ready: %d worker threads, max-frame-size %d, generation %u",
	    CERTSPOA_VERSION, a->nworkers, a->cfg->max_frame_size, a->cfg->generation);

	ev_run(loop, 0);

	a->stats.ready = 0;
	for (int i = 0; i < a->nworkers; i++)
		worker_join(&a->workers[i]);
	LOG(LOG_INFO, 0, "stopped");
out:
	/* no answer may wake a worker from here on; the fetcher ends its
	 * jobs (they are only stored) before the cache goes */
	ocsp_fetch_detach(a->ocsp);
	fetcher_stop(a->fetcher);
	ocsp_fetch_free(a->ocsp);
	a->stats.ocsp = NULL;
	if (a->ocsp_cache_on)
		ocsp_cache_destroy(&a->ocsp_cache);
	if (a->workers)
		for (int i = 0; i < a->nworkers; i++)
			worker_destroy(&a->workers[i]);
	free(a->workers);
	ctl_stop(&a->ctl);
	hapush_stop(a->hapush);
	a->hapush = NULL;
	revoc_stop(a->revoc);
	a->revoc = NULL;
	a->stats.revoc = NULL;
	for (int i = 0; i < a->nls; i++)
		listener_close(&a->ls[i]);
	if (a->stats_on)
		httpd_close(&a->stats_httpd);
	for (int i = 0; i < a->nretired; i++)
		cfg_free(a->retired[i].cfg);
	if (wrote_ready_file)
		unlink(a->cfg->ready_file);
	pidfile_release(&pid_lock);
	return rc;
}

/* certspoa -c: the shipped SPOE file (CERTSPOA_SPOE_FILE, else where
 * `make install` and the package put it) must leave OCSP its time. */
static void check_spoe_timeout(const struct config *cfg)
{
	static const char *const shipped[] = {
		"/usr/share/certspoa/certspoa.conf", "/usr/local/share/certspoa/certspoa.conf",
	};
	const char *env = getenv("CERTSPOA_SPOE_FILE");

	if (env && *env) {
		lint_ocsp_timeouts(cfg, env, stderr);
		return;
	}
	for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++)
		if (access(shipped[i], R_OK) == 0) {
			lint_ocsp_timeouts(cfg, shipped[i], stderr);
			return;
		}
}

/* certspoa reload|stop -f FILE: validate FILE, then SIGHUP|SIGTERM the
 * agent that holds pid_file's lock. */
static int cmd_signal(struct config *cfg, int sig)
{
	char err[4200];
	long pid;

	if (!cfg->pid_file) {
		fprintf(stderr, "%s: no pid_file in [agent]: send %s yourself\n", cfg->file,
		        sig == SIGHUP ? "SIGHUP" : "SIGTERM");
		return EX_CONFIG;
	}
	if ((pid = pidfile_read_running(cfg->pid_file, err, sizeof(err))) < 0) {
		fprintf(stderr, "%s\n", err);
		return EX_UNAVAILABLE;
	}
	if (kill((pid_t)pid, sig) == -1) {
		fprintf(stderr, "pid %ld: %s\n", pid, strerror(errno));
		return EX_UNAVAILABLE;
	}
	if (sig == SIGHUP)
		printf("%s is valid; reload signalled to pid %ld\n", cfg->file, pid);
	else
		printf("stop signalled to pid %ld\n", pid);
	return EX_OK;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",           no_argument,       NULL, 'h' },
		{ "version",        no_argument,       NULL, 'V' },
		{ "help-config",    no_argument,       NULL, 'H' },
		{ "example-config", no_argument,       NULL, 'E' },
		{ "config",         required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	int check = 0, debug = 0, reload = 0, opt, rc;  /* reload: 0, SIGHUP or SIGTERM */
	struct agent a = { 0 };
	char err[4096];

	if (argc > 1 && strcmp(argv[1], "inspect") == 0)
		return inspect_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "explain") == 0)
		return explain_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "probe") == 0)
		return probe_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "lint") == 0)
		return lint_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return ctl_client_main(argc - 1, argv + 1);
	if (argc > 1 && (strcmp(argv[1], "reload") == 0 || strcmp(argv[1], "stop") == 0)) {
		reload = argv[1][0] == 'r' ? SIGHUP : SIGTERM;
		argv++;
		argc--;
	}
	while ((opt = getopt_long(argc, argv, "f:cdhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			a.file = optarg;
			break;
		case 'c':
			check = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf("certspoa %s (%s, libev %d.%d)\n", CERTSPOA_VERSION,
			       OPENSSL_VERSION_TEXT, ev_version_major(), ev_version_minor());
			return EX_OK;
		case 'H':
			cfg_print_help(stdout);
			return EX_OK;
		case 'E':
			cfg_print_example(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc || !a.file) {
		usage(stderr);
		return EX_USAGE;
	}
	a.cfg = cfg_load(a.file, err, sizeof(err));
	if (!a.cfg) {
		fprintf(stderr, "%s\n", err);
		return EX_CONFIG;
	}
	if (check) {
		cfg_warnings(a.cfg, stderr);
		check_spoe_timeout(a.cfg);
		printf("%s: configuration is valid\n", a.file);
		rc = EX_OK;
	} else if (reload) {
		rc = cmd_signal(a.cfg, reload);
	} else {
		rc = run(&a, debug);
	}
	cfg_free(a.cfg);
	return rc;
}
