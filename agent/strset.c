/* String set. See strset.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strset.h"

struct strset {
	char **items;          /* insertion order */
	size_t *lens;
	size_t n, items_cap;
	uint32_t *slots;       /* index + 1 into items; 0 = empty */
	size_t mask;
};

static uint64_t hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

struct strset *strset_new(void)
{
	struct strset *set = calloc(1, sizeof(*set));

	if (!set)
		return NULL;
	set->slots = calloc(16, sizeof(*set->slots));
	if (!set->slots) {
		free(set);
		return NULL;
	}
	set->mask = 15;
	return set;
}

static size_t find(const struct strset *set, const char *s, size_t len, int *found)
{
	size_t i = (size_t)hash(s, len) & set->mask;

	for (;; i = (i + 1) & set->mask) {
		uint32_t k = set->slots[i];

		if (!k) {
			*found = 0;
			return i;
		}
		if (set->lens[k - 1] == len && memcmp(set->items[k - 1], s, len) == 0) {
			*found = 1;
			return i;
		}
	}
}

static int grow(struct strset *set)
{
	size_t cap = (set->mask + 1) * 2;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	free(set->slots);
	set->slots = slots;
	set->mask = cap - 1;
	for (size_t k = 0; k < set->n; k++) {
		int found;
		size_t i = find(set, set->items[k], set->lens[k], &found);

		set->slots[i] = (uint32_t)(k + 1);
	}
	return 0;
}

int strset_add(struct strset *set, const char *s, size_t len)
{
	int found;
	size_t i;
	char *copy;

	find(set, s, len, &found);
	if (found)
		return 0;
	if ((set->n + 1) * 2 > set->mask + 1 && grow(set) < 0)
		return -1;
	if (set->n == set->items_cap) {
		size_t cap = set->items_cap ? set->items_cap * 2 : 16;
		char **items = realloc(set->items, cap * sizeof(*items));
		size_t *lens;

		if (!items)
			return -1;
		set->items = items;
		lens = realloc(set->lens, cap * sizeof(*lens));
		if (!lens)
			return -1;
		set->lens = lens;
		set->items_cap = cap;
	}
	if (set->n >= UINT32_MAX - 1 || !(copy = malloc(len + 1)))
		return -1;
	memcpy(copy, s, len);
	copy[len] = 0;
	i = find(set, s, len, &found);
	set->items[set->n] = copy;
	set->lens[set->n] = len;
	set->n++;
	set->slots[i] = (uint32_t)set->n;
	return 0;
}

int strset_has(const struct strset *set, const char *s, size_t len)
{
	int found = 0;

	if (set)
		find(set, s, len, &found);
	return found;
}

size_t strset_count(const struct strset *set)
{
	return set ? set->n : 0;
}

const char *strset_get(const struct strset *set, size_t i)
{
	return set && i < set->n ? set->items[i] : NULL;
}

void strset_free(struct strset *set)
{
	if (!set)
		return;
	for (size_t k = 0; k < set->n; k++)
		free(set->items[k]);
	free(set->items);
	free(set->lens);
	free(set->slots);
	free(set);
}
