/* Unit test runner: runs every registered TEST, each in its own process,
 * prints one summary line. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>

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

/* Seconds a test may run before it is killed; UNIT_TIMEOUT overrides. */
#define UNIT_TIMEOUT_DEFAULT 60

static unsigned int unit_timeout(void)
{
	const char *s = getenv("UNIT_TIMEOUT");
	char *end;
	long v;

	if (!s || !*s)
		return UNIT_TIMEOUT_DEFAULT;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 3600) {
		fprintf(stderr, "run-unit: UNIT_TIMEOUT=%s is not 1..3600, using %d\n", s, UNIT_TIMEOUT_DEFAULT);
		return UNIT_TIMEOUT_DEFAULT;
	}
	return (unsigned int)v;
}

/* Runs one test in a child process, so that a crash, an abort, a hang or a
 * broken pipe ends that test only. Returns 0 if it passed, else writes why
 * into why and returns -1. */
static int run_forked(const struct unit_test *t, unsigned int timeout, char *why, size_t whylen)
{
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == -1) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* the default action of SIGALRM ends the child: that is the timeout */
		signal(SIGALRM, SIG_DFL);
		alarm(timeout);
		t->fn();
		/* exit(), not _exit(): the atexit() handlers of the test's
		 * fixtures remove their temporary files */
		exit(unit_failed_checks ? 1 : 0);
	}
	while (waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR) {
			snprintf(why, whylen, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 1)
		snprintf(why, whylen, "checks failed");
	else if (WIFEXITED(st))     /* 99: valgrind's errors, 23: LeakSanitizer's */
		snprintf(why, whylen, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
		snprintf(why, whylen, "timed out after %us", timeout);
	else if (WIFSIGNALED(st))
		snprintf(why, whylen, "killed by signal %d, %s", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(why, whylen, "ended abnormally");
	return -1;
}

/* run-unit [TESTS-DIR [FILTER...]]
 * A test runs if its name matches any FILTER: a substring of the name, or
 * "=name" for that name exactly (make mutate runs a mutant's known killer
 * first that way). No FILTER: every test.
 * Every test runs in its own process (fork) with a timeout; UNIT_NOFORK=1
 * runs them in this process instead, for a debugger. UNIT_FAILFAST=1 stops
 * at the first failure (make mutate: one failing test kills a mutant). */
/* UNIT_SKIP=prefix,prefix: tests whose name starts with one are not run
 * (make mutate leaves out the fetcher's socket-timeout tests, 11 s of a
 * run, when no mutant is in the fetcher). */
static int skipped(const char *name)
{
	const char *s = getenv("UNIT_SKIP");

	while (s && *s) {
		size_t n = strcspn(s, ",");

		if (n && strncmp(name, s, n) == 0)
			return 1;
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}

static int selected(const char *name, int nfilter, char **filter)
{
	int i;

	if (nfilter == 0)
		return 1;
	for (i = 0; i < nfilter; i++) {
		if (filter[i][0] == '=' ? strcmp(name, filter[i] + 1) == 0 : strstr(name, filter[i]) != NULL)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct unit_test *t, *rev = NULL;
	int passed = 0, failed = 0;
	int nofork = getenv("UNIT_NOFORK") && strcmp(getenv("UNIT_NOFORK"), "1") == 0;
	int failfast = getenv("UNIT_FAILFAST") && strcmp(getenv("UNIT_FAILFAST"), "1") == 0;
	unsigned int timeout = unit_timeout();
	char why[160];

	/* a test writing to a peer that went away must fail, not kill the run */
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		test_dir = argv[1];
	/* constructors ran in reverse order of registration: restore file order */
	while ((t = unit_tests)) {
		unit_tests = t->next;
		t->next = rev;
		rev = t;
	}
	for (t = rev; t; t = t->next) {
		int ok;

		if (!selected(t->name, argc > 2 ? argc - 2 : 0, argv + 2))
			continue;
		if (skipped(t->name))
			continue;
		if (nofork) {
			int before = unit_failed_checks;

			t->fn();
			ok = unit_failed_checks == before;
			snprintf(why, sizeof(why), "checks failed");
		} else {
			ok = run_forked(t, timeout, why, sizeof(why)) == 0;
		}
		if (ok) {
			passed++;
		} else {
			failed++;
			fprintf(stderr, "FAIL %s (%s): %s\n", t->name, t->file, why);
			if (failfast) {
				fprintf(stderr, "run-unit: UNIT_FAILFAST=1: stopped at the first failure\n");
				break;
			}
		}
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
