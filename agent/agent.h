/* The running agent as the main thread sees it: configuration generations,
 * listeners, workers, the stats listener. Only the main thread touches it. */
#ifndef CERTSPOA_AGENT_H
#define CERTSPOA_AGENT_H

#include <ev.h>

#include "cfg-t.h"
#include "ctl.h"
#include "hapush.h"
#include "httpd.h"
#include "listener.h"
#include "ocsp-cache.h"
#include "stats.h"

#define AGENT_RETIRED_MAX 16

/* A config replaced by a reload, freed once every worker has moved on. */
struct retired_cfg {
	struct config *cfg;
	unsigned int until_gen;
};

struct agent {
	const char *file;                 /* config path given with -f */
	int debug;                        /* -d: keep debug logs across reloads */
	struct config *cfg;               /* live generation */
	struct listener ls[CFG_MAX_LISTEN];
	int nls;
	struct worker *workers;
	int nworkers;
	struct httpd stats_httpd;
	int stats_on;
	struct stats_agent stats;
	struct revoc *revoc;              /* background CRL sources, NULL when none */
	struct retired_cfg retired[AGENT_RETIRED_MAX];
	int nretired;
	ev_timer retire_timer;
	ev_timer watch_timer;
	unsigned long long watch_sig;     /* of the files the live config reads */
	struct ctl ctl;                   /* admin socket, runtime denies */
	/* OCSP: answers shared by the workers, fetched in the background */
	struct fetcher *fetcher;
	struct ocsp_cache ocsp_cache;
	int ocsp_cache_on;
	struct ocsp_fetch *ocsp;
	struct hapush *hapush;            /* haproxy_socket: tells HAProxy the verdict generation */
};

/* Load the config file again and hand it to the workers. Returns 0, or -1
 * (the running config stays; the error is logged and counted). */
int agent_reload(struct agent *a, const char *why);

/* revoc.c's hook: a list given as a URL changed in state_dir (arg: the agent). */
void agent_on_list_changed(void *arg);

/* Start the timers of reload.c (retiring old configs, watching files). */
void agent_reload_init(struct agent *a);

#endif /* CERTSPOA_AGENT_H */
