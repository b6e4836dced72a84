/* Listening sockets: TCP (IPv4/IPv6) and unix. */
#ifndef CERTSPOA_LISTENER_H
#define CERTSPOA_LISTENER_H

#include <stddef.h>

#define LISTENER_ADDR_MAX 128

struct listener {
	int fd;
	int is_unix;
	char spec[LISTENER_ADDR_MAX];    /* as configured */
	char bound[LISTENER_ADDR_MAX];   /* as bound, e.g. "127.0.0.1:40123" */
	char path[108];                  /* unix socket path, to unlink on exit */
};

/* Bind and listen on spec ("HOST:PORT", "[V6]:PORT", "unix:/path").
 * Returns 0, or -1 with the reason in err. */
int listener_open(struct listener *l, const char *spec, char *err, size_t errlen);

/* Set a unix socket's permission bits (e.g. 0660); no-op for TCP. */
int listener_chmod(struct listener *l, unsigned int mode, char *err, size_t errlen);
void listener_close(struct listener *l);

#endif /* CERTSPOA_LISTENER_H */
