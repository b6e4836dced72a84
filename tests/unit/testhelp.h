/* Tiny unit-test runner. Each TEST() registers itself at load time;
 * run.c runs them all (or those whose name contains argv[2]) and prints
 * "unit: N passed, N failed". A test passes when none of its CHECKs fail.
 *
 *   TEST(varint_roundtrip) {
 *       CHECK(x == 1);
 *       CHECK_EQ_INT(a, b);
 *       CHECK_EQ_STR(s, "abc");
 *   }
 *
 * test_dir is the "tests" directory given on the command line, for tests that
 * read files (golden frames). */
#ifndef CERTSPOA_TESTHELP_H
#define CERTSPOA_TESTHELP_H

#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	const char *file;
	void (*fn)(void);
	struct unit_test *next;
};

extern struct unit_test *unit_tests;
extern int unit_failed_checks;
extern const char *test_dir;

void unit_register(struct unit_test *t);
void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define TEST(tname) \
	static void test_##tname(void); \
	static struct unit_test unit_##tname = { #tname, __FILE__, test_##tname, NULL }; \
	__attribute__((constructor)) static void reg_##tname(void) { unit_register(&unit_##tname); } \
	static void test_##tname(void)

#define CHECK(cond) do { \
	if (!(cond)) unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); \
} while (0)

#define CHECK_EQ_INT(a, b) do { \
	long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) unit_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, a_, #b, b_); \
} while (0)

#define CHECK_EQ_STR(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_) != 0) \
		unit_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
} while (0)

#define CHECK_EQ_MEM(a, b, n) do { \
	if (memcmp((a), (b), (n)) != 0) unit_fail(__FILE__, __LINE__, "memcmp(%s, %s, %s) != 0", #a, #b, #n); \
} while (0)

/* Reads a hex file (whitespace and '#' comments ignored) into buf.
 * Returns the byte count, or -1. */
long unit_read_hex(const char *path, unsigned char *buf, size_t cap);

#endif
