/* Listening sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listener.h"

#define LISTEN_BACKLOG 1024

/* A unix socket path left by a dead process can be reused; one that a
 * live process still accepts on cannot. */
static int unix_path_is_in_use(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc;

	if (fd == -1)
		return 0;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	return rc == 0;
}

static int open_unix(struct listener *l, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path) || !*path) {
		snprintf(err, errlen, "unix socket path is empty or too long");
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			return -1;
		}
		if (unix_path_is_in_use(&sun)) {
			snprintf(err, errlen, "%s is in use by another process", path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		close(fd);
		goto fail;
	}
	l->fd = fd;
	l->is_unix = 1;
	snprintf(l->path, sizeof(l->path), "%s", path);
	snprintf(l->bound, sizeof(l->bound), "unix:%s", path);
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return -1;
}

static int open_tcp(struct listener *l, const char *spec, char *err, size_t errlen)
{
	char host[LISTENER_ADDR_MAX], *port, *h = host;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char ip[INET6_ADDRSTRLEN];
	int fd = -1, one = 1, rc;

	if (snprintf(host, sizeof(host), "%s", spec) >= (int)sizeof(host)) {
		snprintf(err, errlen, "address too long");
		return -1;
	}
	port = strrchr(host, ':');
	if (!port || port[1] == 0) {
		snprintf(err, errlen, "'%s' needs HOST:PORT or unix:/path", spec);
		return -1;
	}
	*port++ = 0;
	if (*h == '[') {                       /* [v6]:port */
		size_t n = strlen(h);

		if (n < 2 || h[n - 1] != ']') {
			snprintf(err, errlen, "'%s': bad IPv6 address", spec);
			return -1;
		}
		h[n - 1] = 0;
		h++;
	}
	if (*h == 0 || strcmp(h, "*") == 0)
		h = NULL;
	rc = getaddrinfo(h, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "'%s': %s", spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		goto fail;
	freeaddrinfo(res);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(l->bound, sizeof(l->bound), "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(l->bound, sizeof(l->bound), "%s:%u", ip, ntohs(s4->sin_port));
	}
	l->fd = fd;
	return 0;
fail:
	snprintf(err, errlen, "'%s': %s", spec, strerror(errno));
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

int listener_open(struct listener *l, const char *spec, char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	snprintf(l->spec, sizeof(l->spec), "%s", spec);
	if (strncmp(spec, "unix:", 5) == 0)
		return open_unix(l, spec + 5, err, errlen);
	if (spec[0] == '/')
		return open_unix(l, spec, err, errlen);
	return open_tcp(l, spec, err, errlen);
}

int listener_chmod(struct listener *l, unsigned int mode, char *err, size_t errlen)
{
	if (!l->is_unix)
		return 0;
	if (chmod(l->path, (mode_t)mode) == -1) {
		snprintf(err, errlen, "%s: %s", l->path, strerror(errno));
		return -1;
	}
	return 0;
}

void listener_close(struct listener *l)
{
	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
	if (l->is_unix && l->path[0])
		unlink(l->path);
	l->path[0] = 0;
}
