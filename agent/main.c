/* certspoa: command line, config, listeners, workers, signals. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/opensslv.h>

#include "cfg.h"
#include "listener.h"
#include "log.h"
#include "worker.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: certspoa -f FILE [-d]     run the agent (in the foreground)\n"
	        "       certspoa -c -f FILE       check the configuration and exit\n"
	        "       certspoa --help-config    list every configuration key\n"
	        "       certspoa --example-config print a configuration with every default\n"
	        "       certspoa --version\n"
	        "\n"
	        "  -f FILE   configuration file (INI)\n"
	        "  -c        only check the configuration: exit 0, or 78 with file:line: key: error\n"
	        "  -d        debug logs (one line per decision)\n"
	        "  -h        this help\n");
}

/* Write the bound addresses, one per line, atomically (tmp + rename). */
static int write_ready_file(const char *path, const struct listener *ls, int n)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if (!(f = fopen(tmp, "w")))
		return -1;
	for (int i = 0; i < n; i++)
		fprintf(f, "%s\n", ls[i].bound);
	if (fclose(f) != 0 || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

struct agent {
	struct config *cfg;
	struct listener ls[CFG_MAX_LISTEN];
	int nls;
	struct worker *workers;
	int nworkers;
};

static void on_stop_signal(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct agent *a = s->data;

	(void)revents;
	LOG(LOG_INFO, 0, "signal %d: stopping (finishing in-flight frames)", s->signum);
	worker_stop_requested = 1;
	for (int i = 0; i < a->nworkers; i++)
		worker_stop(&a->workers[i]);
	ev_break(loop, EVBREAK_ALL);
}

static int run(struct agent *a, int debug)
{
	struct ev_loop *loop = EV_DEFAULT;
	ev_signal sig_term, sig_int;
	char err[512];
	sigset_t set;
	int rc = EX_OK;
	long ncpu;

	log_min_level = debug ? LOG_DEBUG : (enum log_level)a->cfg->log_level;
	signal(SIGPIPE, SIG_IGN);

	for (int i = 0; i < a->cfg->nlisten; i++) {
		if (listener_open(&a->ls[i], a->cfg->listen[i], err, sizeof(err)) < 0) {
			LOG(LOG_ERR, 0, "listen %s", err);
			rc = EX_UNAVAILABLE;
			goto out;
		}
		a->nls++;
		LOG(LOG_INFO, 0, "listening on %s", a->ls[i].bound);
	}

	a->nworkers = a->cfg->threads;
	if (a->nworkers == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		a->nworkers = ncpu > 0 ? (int)(ncpu > 64 ? 64 : ncpu) : 1;
	}
	a->workers = calloc((size_t)a->nworkers, sizeof(*a->workers));
	if (!a->workers) {
		rc = EX_OSERR;
		goto out;
	}

	/* workers inherit a mask without the stop signals: only this thread
	 * handles them */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < a->nworkers; i++) {
		if (worker_init(&a->workers[i], i, a->cfg, a->ls, a->nls) < 0 ||
		    worker_start(&a->workers[i]) < 0) {
			LOG(LOG_ERR, 0, "cannot start worker %d", i);
			worker_stop_requested = 1;
			for (int j = 0; j < i; j++) {
				worker_stop(&a->workers[j]);
				worker_join(&a->workers[j]);
			}
			a->nworkers = i + 1;    /* destroy the half-made one too */
			rc = EX_OSERR;
			goto out;
		}
	}

	ev_signal_init(&sig_term, on_stop_signal, SIGTERM);
	ev_signal_init(&sig_int, on_stop_signal, SIGINT);
	sig_term.data = sig_int.data = a;
	ev_signal_start(loop, &sig_term);
	ev_signal_start(loop, &sig_int);
	/* SIGHUP is ignored for now rather than fatal */
	signal(SIGHUP, SIG_IGN);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	if (a->cfg->ready_file &&
	    write_ready_file(a->cfg->ready_file, a->ls, a->nls) < 0)
		LOG(LOG_WARN, 0, "cannot write ready_file %s: %s", a->cfg->ready_file, strerror(errno));
	LOG(LOG_INFO, 0, "certspoa %s ready: %d worker threads, max-frame-size %d",
	    CERTSPOA_VERSION, a->nworkers, a->cfg->max_frame_size);

	ev_run(loop, 0);

	for (int i = 0; i < a->nworkers; i++)
		worker_join(&a->workers[i]);
	LOG(LOG_INFO, 0, "stopped");
out:
	if (a->workers)
		for (int i = 0; i < a->nworkers; i++)
			worker_destroy(&a->workers[i]);
	free(a->workers);
	for (int i = 0; i < a->nls; i++)
		listener_close(&a->ls[i]);
	if (a->cfg->ready_file)
		unlink(a->cfg->ready_file);
	return rc;
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
	const char *file = NULL;
	int check = 0, debug = 0, opt, rc;
	struct agent a = { 0 };
	char err[1024];

	while ((opt = getopt_long(argc, argv, "f:cdhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			file = optarg;
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
	if (optind != argc || !file) {
		usage(stderr);
		return EX_USAGE;
	}
	a.cfg = cfg_load(file, err, sizeof(err));
	if (!a.cfg) {
		fprintf(stderr, "%s\n", err);
		return EX_CONFIG;
	}
	if (check) {
		printf("%s: configuration is valid\n", file);
		cfg_free(a.cfg);
		return EX_OK;
	}
	rc = run(&a, debug);
	cfg_free(a.cfg);
	return rc;
}
