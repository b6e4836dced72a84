/* certspoa ctl: one command to the admin socket. See ctl-client.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <ini.h>

#include "ctl-client.h"
#include "ctl-cmd.h"

#define CTL_CLIENT_TIMEOUT_S 30

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: certspoa ctl [-f CONFIG | -S SOCKET] COMMAND...\n"
	        "  -f, -c CONFIG  read admin_socket from CONFIG's [agent] section\n"
	        "  -S SOCKET      the admin socket's path\n"
	        "  COMMAND        one command; 'help' lists them (docs/OPERATE.md, Runtime API)\n"
	        "exit status: 0, 1 when the agent answers an error, 69 when it cannot be reached\n");
}

struct find_sock {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int found, too_long;
};

static int on_key(void *arg, const char *section, const char *key, const char *value)
{
	struct find_sock *fs = arg;

	if (strcmp(section, "agent") == 0 && strcmp(key, "admin_socket") == 0) {
		fs->too_long = strlen(value) >= sizeof(fs->path);
		snprintf(fs->path, sizeof(fs->path), "%s", value);
		fs->found = 1;
	}
	return 1;
}

int ctl_client_main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { CTL_CLIENT_TIMEOUT_S, 0 };
	struct find_sock fs = { .found = 0 };
	const char *config = NULL, *sock = NULL;
	char line[CTL_LINE_MAX + 2], buf[65536];
	size_t len = 0;
	int i, fd, rc = EX_OK, first = 1;
	ssize_t n;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if ((strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc) {
			config = argv[++i];
		} else if (strcmp(argv[i], "-S") == 0 && i + 1 < argc) {
			sock = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return EX_OK;
		} else {
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (i == argc || (!config && !sock) || (config && sock)) {
		usage(stderr);
		return EX_USAGE;
	}
	if (config) {
		int prc = ini_parse(config, on_key, &fs);

		if (prc < 0) {
			fprintf(stderr, "%s: %s\n", config, strerror(errno));
			return EX_NOINPUT;
		}
		if (!fs.found || !fs.path[0]) {
			fprintf(stderr, "%s: no admin_socket in [agent]\n", config);
			return EX_CONFIG;
		}
		sock = fs.path;
	}
	if (strlen(sock) >= sizeof(sun.sun_path) || fs.too_long) {
		fprintf(stderr, "%s: socket path too long\n", sock);
		return EX_USAGE;
	}
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	for (; i < argc; i++) {
		size_t al = strlen(argv[i]);

		if (len + al + 2 > sizeof(line) - 1) {
			fprintf(stderr, "certspoa ctl: command too long (at most %d bytes)\n", CTL_LINE_MAX);
			return EX_USAGE;
		}
		if (len)
			line[len++] = ' ';
		memcpy(line + len, argv[i], al);
		len += al;
	}
	line[len++] = '\n';

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "%s: %s (is certspoa running with this admin_socket?)\n", sock, strerror(errno));
		if (fd != -1)
			close(fd);
		return EX_UNAVAILABLE;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, line, len) != (ssize_t)len) {
		fprintf(stderr, "%s: %s\n", sock, strerror(errno));
		close(fd);
		return EX_UNAVAILABLE;
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first && n >= 6 && memcmp(buf, "error:", 6) == 0)
			rc = 1;
		first = 0;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	if (n == -1) {
		fprintf(stderr, "%s: %s\n", sock, strerror(errno));
		rc = EX_UNAVAILABLE;
	}
	close(fd);
	return rc;
}
