/* A read-only set of strings (open addressing, FNV-1a), built at config
 * load; lookups take (ptr, len) and do not allocate. */
#ifndef CERTSPOA_STRSET_H
#define CERTSPOA_STRSET_H

#include <stddef.h>

struct strset;

struct strset *strset_new(void);
/* Add a copy of s[0..len). Returns 0, or -1 on allocation failure. */
int strset_add(struct strset *set, const char *s, size_t len);
int strset_has(const struct strset *set, const char *s, size_t len);
size_t strset_count(const struct strset *set);
/* The i-th stored string in insertion order (for wildcard and prefix
 * lists, which are scanned). */
const char *strset_get(const struct strset *set, size_t i);
void strset_free(struct strset *set);

#endif /* CERTSPOA_STRSET_H */
