/* Fuzz target: path and Host normalization for routes (agent/uri.c).
 *
 * Input: the bytes of a request path (HAProxy's `path`), also read as a
 * Host value.
 *
 * Invariants:
 * - uri_path_norm() never writes past its buffer: the buffer is exactly
 *   the input length (ASan sees one byte more), and one byte less than the
 *   input gives URI_ERR_TOO_LONG;
 * - a normalized path starts with '/', is no longer than the input, holds
 *   only printable ASCII without space, '\', ';' or '#', has no "//", no
 *   "." or ".." segment, every '%' begins an escape of uppercase hex that
 *   is not an unreserved character, '/', '\' or NUL, and normalizes to
 *   itself (a fixed point);
 * - uri_host_name() accepts only values without ',' or white space; the
 *   name it gives lies inside the input, has no port and no trailing dot,
 *   and reads back as itself. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "uri.h"

static int is_hex_upper(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static int hexv(char c)
{
	return c <= '9' ? c - '0' : c - 'A' + 10;
}

static void check_path(const char *p, size_t n, size_t in_len)
{
	FUZZ_ASSERT(n >= 1 && n <= in_len && p[0] == '/');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		FUZZ_ASSERT(c > 0x20 && c < 0x7f && c != '\\' && c != ';' && c != '#');
		if (c == '/') {
			size_t e = i + 1;

			while (e < n && p[e] != '/')
				e++;
			/* a segment: not empty (except a final trailing '/'), not . or .. */
			FUZZ_ASSERT(e > i + 1 || e == n);
			FUZZ_ASSERT(!(e - i - 1 == 1 && p[i + 1] == '.'));
			FUZZ_ASSERT(!(e - i - 1 == 2 && p[i + 1] == '.' && p[i + 2] == '.'));
		}
		if (c == '%') {
			int v;

			FUZZ_ASSERT(i + 2 < n && is_hex_upper(p[i + 1]) && is_hex_upper(p[i + 2]));
			v = hexv(p[i + 1]) * 16 + hexv(p[i + 2]);
			FUZZ_ASSERT(v != '/' && v != '\\' && v != 0);
			FUZZ_ASSERT(!((v >= 'a' && v <= 'z') || (v >= 'A' && v <= 'Z') ||
			              (v >= '0' && v <= '9') || v == '-' || v == '.' || v == '_' || v == '~'));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char *out, *again;
	size_t n = 0, m = 0;
	const char *name;
	size_t nl;
	enum uri_err e;

	out = malloc(size ? size : 1);
	again = malloc(size ? size : 1);
	FUZZ_ASSERT(out && again);
	e = uri_path_norm(in, size, out, size, &n);
	FUZZ_ASSERT(e >= URI_OK && e < URI_ERRS);
	if (e == URI_OK) {
		check_path(out, n, size);
		FUZZ_ASSERT(uri_path_norm(out, n, again, n, &m) == URI_OK);
		FUZZ_ASSERT(m == n && memcmp(out, again, n) == 0);
		if (size > 1)
			FUZZ_ASSERT(uri_path_norm(in, size, out, size - 1, &n) == URI_ERR_TOO_LONG);
	}

	if (uri_host_name(in, size, &name, &nl) == 0) {
		const char *name2;
		size_t nl2;

		FUZZ_ASSERT(name == in && nl >= 1 && nl <= size);
		for (size_t i = 0; i < size; i++)
			FUZZ_ASSERT(in[i] != ',' && in[i] != ' ' && in[i] != '\t');
		FUZZ_ASSERT(name[nl - 1] != '.');
		FUZZ_ASSERT(name[0] == '[' || memchr(name, ':', nl) == NULL);
		FUZZ_ASSERT(uri_host_name(name, nl, &name2, &nl2) == 0 && name2 == name && nl2 == nl);
	}
	free(out);
	free(again);
	return 0;
}
