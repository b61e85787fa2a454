/*
 * smap.h: a string-keyed hash map for the event consumers (check, coverage,
 * summary, junit, history), which all index files, tests and fixtures by
 * path.  Keys are copied; values are caller pointers.  Insertion order is
 * kept (smap_at) so reports are deterministic without a sort.
 */
#ifndef PROVIUM_SMAP_H
#define PROVIUM_SMAP_H

#include <stddef.h>
#include <stdint.h>

struct smap_ent {
	char *key;
	size_t klen;
	uint64_t hash;
	void *val;
};

struct smap {
	struct smap_ent *ents;  /* insertion order */
	size_t n, cap;
	size_t *slots;          /* index+1 into ents; 0 = empty */
	size_t nslots;
};
#define SMAP_INIT { 0 }

/* The value for key, or NULL. */
void *smap_get(const struct smap *m, const char *key, size_t klen);
/* Entry for key, created with val NULL if absent (*created = 1).
 * NULL on ENOMEM. */
struct smap_ent *smap_put(struct smap *m, const char *key, size_t klen,
    int *created);
/* Frees keys and the table; values are the caller's (free them first). */
void smap_clear(struct smap *m);

#define smap_len(m) ((m)->n)
#define smap_at(m, i) (&(m)->ents[(i)])

#endif
