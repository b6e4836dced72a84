/* Self-test of the runner's isolation (run.c): with UNIT_RUNNER_SELFTEST=1
 * these tests crash, write to a closed pipe, hang and pass, and the runner
 * must report three failures by name and go on to the pass:
 *
 *   UNIT_RUNNER_SELFTEST=1 UNIT_TIMEOUT=2 build/tests/unit/run-unit tests runner_selftest_
 *   -> "unit: 1 passed, 3 failed"
 *
 * tests/mutation/mutate.py checks exactly that before it measures anything.
 * Without the variable they do nothing and pass. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testhelp.h"

static int selftest(void)
{
	const char *v = getenv("UNIT_RUNNER_SELFTEST");

	return v && strcmp(v, "1") == 0;
}

TEST(runner_selftest_crash)
{
	if (selftest())
		raise(SIGSEGV);
}

TEST(runner_selftest_sigpipe)
{
	int fd[2];

	if (!selftest() || pipe(fd) < 0)
		return;
	close(fd[0]);
	/* SIGPIPE is ignored: the write fails with EPIPE, the test says so */
	CHECK(write(fd[1], "x", 1) == 1);
	close(fd[1]);
}

TEST(runner_selftest_hang)
{
	if (selftest())
		for (;;)
			pause();
}

/* Reached only if the runner went on after the hang. */
TEST(runner_selftest_passes)
{
	CHECK(1 + 1 == 2);
}
