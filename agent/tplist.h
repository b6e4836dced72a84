/* Thumbprint list: a read-only hash set of SHA-1 and SHA-256 digests
 * loaded from a file, one hex digest per line (any case, ':' separators
 * allowed, '#' starts a comment, blank lines ignored). */
#ifndef CERTSPOA_TPLIST_H
#define CERTSPOA_TPLIST_H

#include <stddef.h>

struct tplist;

/* Load a list. On error returns NULL and err holds "path:line: what". */
struct tplist *tplist_load(const char *path, char *err, size_t errlen);

/* Parse one line into a digest: returns 20 (SHA-1), 32 (SHA-256),
 * 0 for a blank/comment-only line, or -1 for anything else. */
int tplist_parse_line(const char *line, size_t len, unsigned char out[32]);

/* Is either digest in the list? Either may be NULL. Lock-free, no allocation. */
int tplist_has(const struct tplist *l, const unsigned char sha1[20],
               const unsigned char sha256[32]);

size_t tplist_count(const struct tplist *l);   /* distinct digests */
void tplist_free(struct tplist *l);

/* Build a list in memory (tests, or lists assembled from config): an empty
 * list, then tplist_add() a 20- or 32-byte digest (a duplicate is accepted
 * once). Returns 0 or -1 (bad length, out of memory). Adding is not
 * thread-safe: finish building before sharing the list. */
struct tplist *tplist_new(void);
int tplist_add(struct tplist *l, const unsigned char *d, size_t len);

#endif /* CERTSPOA_TPLIST_H */
