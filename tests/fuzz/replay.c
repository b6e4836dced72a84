/* Corpus replay driver: runs one fuzz target's LLVMFuzzerTestOneInput over
 * every file in the directories (or files) named on the command line,
 * without libFuzzer, so CI can check the corpus with gcc and sanitizers.
 *
 *   replay-spop tests/fuzz/corpus/spop [more dirs or files...]
 *
 * Each input runs in a child process (fork), with a time limit, so that one
 * crash, sanitizer report, leak or hang counts as one failure and the rest
 * still run. Ends with exactly one line:
 *   fuzz-replay <target>: N passed, N failed
 * and exits non-zero if anything failed or no input was found. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET_NAME
#define FUZZ_TARGET_NAME "fuzz"
#endif

#define REPLAY_TIMEOUT_S 20          /* per input; libFuzzer's own default is 1200 */
#define REPLAY_MAX_INPUT (16 << 20)

/* A target without one-time setup has no LLVMFuzzerInitialize(). */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static unsigned int passed, failed;

static int read_file(const char *path, uint8_t **data, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > REPLAY_MAX_INPUT ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto fail;
	/* exactly n bytes (malloc(0) aside): ASan sees any read past the end */
	buf = malloc(n ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		goto fail;
	fclose(f);
	*data = buf;
	*size = (size_t)n;
	return 0;
fail:
	free(buf);
	fclose(f);
	return -1;
}

static void run_one(const char *path)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		fprintf(stderr, "fuzz-replay: fork: %s\n", strerror(errno));
		failed++;
		return;
	}
	if (pid == 0) {
		uint8_t *data;
		size_t size;

		alarm(REPLAY_TIMEOUT_S);
		if (read_file(path, &data, &size) < 0) {
			fprintf(stderr, "fuzz-replay: %s: cannot read\n", path);
			_exit(2);
		}
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		exit(0);           /* exit(), not _exit(): LeakSanitizer runs at exit */
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			status = -1;
			break;
		}
	}
	if (status == 0) {
		passed++;
		return;
	}
	failed++;
	if (status != -1 && WIFSIGNALED(status))
		fprintf(stderr, "fuzz-replay %s: FAILED %s (signal %d%s)\n", FUZZ_TARGET_NAME,
		        path, WTERMSIG(status), WTERMSIG(status) == SIGALRM ? ", timeout" : "");
	else
		fprintf(stderr, "fuzz-replay %s: FAILED %s (exit status %d)\n", FUZZ_TARGET_NAME,
		        path, status == -1 ? -1 : WEXITSTATUS(status));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file directly in dir, in name order (stable output). */
static void run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;

	if (!d) {
		fprintf(stderr, "fuzz-replay: %s: %s\n", dir, strerror(errno));
		failed++;
		return;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat sb;
		int k = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);

		if (e->d_name[0] == '.' || k < 0 || (size_t)k >= sizeof(path) ||
		    stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*nn));

			if (!nn)
				break;
			names = nn;
		}
		if (!(names[n] = strdup(path)))
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		run_one(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	struct stat sb;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			run_dir(argv[i]);
		else
			run_one(argv[i]);
	}
	printf("fuzz-replay %s: %u passed, %u failed\n", FUZZ_TARGET_NAME, passed, failed);
	return failed || passed == 0 ? 1 : 0;
}
