/* Configs from INI text for the unit tests (see testcfg.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testcfg.h"

/* Write all of text to fd: 0 or -1 (errno set). */
static int write_all(int fd, const char *text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, text, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

struct config *test_cfg_text(const char *text, char *err, size_t errlen)
{
	char path[] = TEST_CFG_TEMPLATE, local[512];
	struct config *cfg = NULL;
	int fd;

	if (!err || errlen == 0) {
		err = local;
		errlen = sizeof(local);
	}
	err[0] = 0;
	fd = mkstemp(path);
	if (fd == -1) {
		snprintf(err, errlen, "%s: mkstemp: %s", path, strerror(errno));
		return NULL;
	}
	if (write_all(fd, text, strlen(text)) == -1) {
		snprintf(err, errlen, "%s: write: %s", path, strerror(errno));
		close(fd);
	} else if (close(fd) == -1) {
		snprintf(err, errlen, "%s: close: %s", path, strerror(errno));
	} else {
		cfg = cfg_load(path, err, errlen);
	}
	unlink(path);
	return cfg;
}

struct config *test_cfg_textf(char *err, size_t errlen, const char *fmt, ...)
{
	struct config *cfg;
	va_list ap;
	char *text;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(text = malloc((size_t)n + 1))) {
		if (err && errlen)
			snprintf(err, errlen, "test_cfg_textf: cannot format the config");
		return NULL;
	}
	va_start(ap, fmt);
	vsnprintf(text, (size_t)n + 1, fmt, ap);
	va_end(ap);
	cfg = test_cfg_text(text, err, errlen);
	free(text);
	return cfg;
}
