/* The pid file, owned through a lock: the running agent holds an
 * exclusive flock() on it for its whole life. A second instance sees the
 * lock and stops before touching anything ("certspoa already running");
 * only the holder writes the file and removes it, and only while the path
 * still names the file it locked. */
#ifndef CERTSPOA_PIDFILE_H
#define CERTSPOA_PIDFILE_H

#include <stddef.h>

struct pidfile {
	int fd;                /* -1: none held */
	char path[4096];
};

enum pidfile_rc {
	PIDFILE_OK = 0,
	PIDFILE_HELD,          /* another process holds the lock */
	PIDFILE_ERROR,         /* cannot open or lock: why in err */
	PIDFILE_RCS
};

/* Open (creating it, empty) and lock path. On PIDFILE_HELD, *holder is the
 * pid the file names (0 while the holder has not written it yet). The file
 * is not written: pidfile_write() does that once the listeners are bound. */
enum pidfile_rc pidfile_lock(struct pidfile *pf, const char *path, long *holder,
                             char *err, size_t errlen);

/* Write pid into the locked file. 0, or -1 with why in err. */
int pidfile_write(struct pidfile *pf, long pid, char *err, size_t errlen);

/* Remove the file if the path still names the one locked, then unlock.
 * Does nothing when no lock is held. */
void pidfile_release(struct pidfile *pf);

/* For "certspoa reload|stop": the pid of the agent that holds path's
 * lock, or -1 with a sentence for the operator in err (a missing file
 * says "no such file: is certspoa running?"). */
long pidfile_read_running(const char *path, char *err, size_t errlen);

#endif /* CERTSPOA_PIDFILE_H */
