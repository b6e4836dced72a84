/* The runtime API: a unix socket on the main thread's loop (never on a
 * worker's decision path) that speaks the line protocol of ctl-cmd.h, one
 * command per connection or, after `prompt`, one per line until `quit`, as
 * HAProxy's stats socket does. It reads what the stats collector reads
 * (stats.h snapshots) and owns the runtime denies: it publishes each new
 * set (rtdeny.h), keeps it in state_dir/runtime-denies, and frees an old
 * set once every worker has passed a quiescent point (a worker snapshot
 * ticket). docs/OPERATE.md "Runtime API". */
#ifndef CERTSPOA_CTL_H
#define CERTSPOA_CTL_H

#include <stddef.h>

#include <ev.h>

#include "cfg-t.h"
#include "listener.h"
#include "rtdeny.h"
#include "stats.h"

#define CTL_CLIENTS_MAX   16      /* admin connections at once */
#define CTL_RETIRED_MAX   64      /* old deny sets waiting for the workers */
#define CTL_IDLE_S        60.0    /* an admin connection idle this long is closed */
#define CTL_DRAIN_S       2.0     /* after the last answer, wait this long for the peer's EOF */
#define CTL_STATE_NAME    "runtime-denies"
#define CTL_STATE_MAX     (4U << 20)

/* What the process gives the runtime API (it does not include main). */
struct ctl_hooks {
	int (*reload)(void *arg, const char *why);    /* 0 or -1 (logged) */
	void *arg;
};

struct ctl_retired {
	struct rtdeny_set *set;
	int nw;
	unsigned int tickets[CFG_MAX_THREADS];
};

struct ctl_client;

struct ctl {
	struct ev_loop *loop;
	struct stats_agent *st;          /* workers, live config, reload counters */
	struct ctl_hooks hooks;
	int on;                          /* the socket is open */
	struct listener l;
	ev_io accept_w;
	ev_timer tick;                   /* expiries; freeing old sets */
	char state_file[4096];           /* "" = no state_dir */
	struct rtdeny_set *set;          /* the published set */
	struct ctl_retired retired[CTL_RETIRED_MAX];
	int nretired;
	struct ctl_client *clients;
	int nclients;
};

/* Load state_dir's runtime denies and publish them, then open
 * admin_socket if there is one. Call it before the workers start (they
 * must never decide without the saved denies). Returns 0, or -1 with the
 * reason in err (a state file that cannot be read whole: refuse to start). */
int ctl_start(struct ctl *c, struct ev_loop *loop, const struct config *cfg,
              struct stats_agent *st, const struct ctl_hooks *h, char *err, size_t errlen);

/* Close the socket and the connections; free the sets (the workers must
 * have stopped). */
void ctl_stop(struct ctl *c);

#endif /* CERTSPOA_CTL_H */
