/* The locked pid file (pidfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "pidfile.h"

/* The pid a pid file names: > 0, 0 when empty, -1 when not a pid. */
static long read_pid(int fd)
{
	char buf[32], *end;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid;

	if (n <= 0)
		return n == 0 ? 0 : -1;
	buf[n] = 0;
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno || end == buf || pid <= 1 || (*end && *end != '\n'))
		return -1;
	return pid;
}

/* fd and path name the same file */
static int same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

enum pidfile_rc pidfile_lock(struct pidfile *pf, const char *path, long *holder,
                             char *err, size_t errlen)
{
	pf->fd = -1;
	*holder = 0;
	if (snprintf(pf->path, sizeof(pf->path), "%s", path) >= (int)sizeof(pf->path)) {
		set_err(err, errlen, "%s: path too long", path);
		return PIDFILE_ERROR;
	}
	/* a holder that exits unlinks the file between our open and our
	 * lock: the lock is then on a dead inode, so check and retry */
	for (int tries = 0; tries < 5; tries++) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

		if (fd == -1) {
			set_err(err, errlen, "%s: %s", path, strerror(errno));
			return PIDFILE_ERROR;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
			int e = errno;

			if (e == EWOULDBLOCK) {
				long pid = read_pid(fd);

				*holder = pid > 0 ? pid : 0;
				close(fd);
				return PIDFILE_HELD;
			}
			close(fd);
			set_err(err, errlen, "%s: lock: %s", path, strerror(e));
			return PIDFILE_ERROR;
		}
		if (same_file(fd, path)) {
			pf->fd = fd;
			return PIDFILE_OK;
		}
		close(fd);
	}
	set_err(err, errlen, "%s: replaced while being locked, again and again", path);
	return PIDFILE_ERROR;
}

int pidfile_write(struct pidfile *pf, long pid, char *err, size_t errlen)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", pid);

	if (pf->fd == -1) {
		set_err(err, errlen, "no pid file locked");
		return -1;
	}
	if (n < 0 || (size_t)n >= sizeof(buf) || ftruncate(pf->fd, 0) == -1 ||
	    pwrite(pf->fd, buf, (size_t)n, 0) != n) {
		set_err(err, errlen, "%s: %s", pf->path, strerror(errno));
		return -1;
	}
	return 0;
}

void pidfile_release(struct pidfile *pf)
{
	if (pf->fd == -1)
		return;
	/* still ours: the path names the inode we hold the lock on */
	if (same_file(pf->fd, pf->path))
		unlink(pf->path);
	close(pf->fd);
	pf->fd = -1;
}

long pidfile_read_running(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long pid;

	if (fd == -1) {
		if (errno == ENOENT)
			set_err(err, errlen, "%s: no such file: is certspoa running?", path);
		else
			set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	pid = read_pid(fd);
	/* a lock we can take is one nobody holds: the file is stale */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);
		if (pid > 0)
			set_err(err, errlen, "%s: stale (pid %ld does not hold it): is certspoa running?", path, pid);
		else
			set_err(err, errlen, "%s: stale (no agent holds it): is certspoa running?", path);
		return -1;
	}
	close(fd);
	if (pid == 0) {
		set_err(err, errlen, "%s: empty: certspoa is still starting", path);
		return -1;
	}
	if (pid < 0) {
		set_err(err, errlen, "%s: not a process id", path);
		return -1;
	}
	return pid;
}
