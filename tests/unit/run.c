/* Unit test runner: runs every registered TEST, prints one summary line. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testhelp.h"

struct unit_test *unit_tests;
int unit_failed_checks;
const char *test_dir = "tests";

void unit_register(struct unit_test *t)
{
	t->next = unit_tests;
	unit_tests = t;
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	unit_failed_checks++;
}

long unit_read_hex(const char *path, unsigned char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	long n = 0;
	int c, hi = -1;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF) {
		if (c == '#') {
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		if (isspace(c))
			continue;
		if (!isxdigit(c) || (size_t)n >= cap) {
			n = -1;
			break;
		}
		c = isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10);
		if (hi < 0) {
			hi = c;
		} else {
			buf[n++] = (unsigned char)(hi << 4 | c);
			hi = -1;
		}
	}
	fclose(f);
	return hi >= 0 ? -1 : n;
}

int main(int argc, char **argv)
{
	struct unit_test *t, *rev = NULL;
	int passed = 0, failed = 0;

	if (argc > 1)
		test_dir = argv[1];
	/* constructors ran in reverse order of registration: restore file order */
	while ((t = unit_tests)) {
		unit_tests = t->next;
		t->next = rev;
		rev = t;
	}
	for (t = rev; t; t = t->next) {
		int before = unit_failed_checks;

		if (argc > 2 && !strstr(t->name, argv[2]))
			continue;
		t->fn();
		if (unit_failed_checks == before) {
			passed++;
		} else {
			failed++;
			fprintf(stderr, "FAIL %s (%s)\n", t->name, t->file);
		}
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
