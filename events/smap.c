/* smap.c: open addressing over an insertion-ordered entry array. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/smap.h"

static uint64_t
hash(const char *k, size_t n)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */

	while (n-- > 0)
		h = (h ^ (uint8_t)*k++) * 1099511628211ull;
	/* FNV's low bits are weak for keys sharing long prefixes: mix them. */
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

static size_t *
find(const struct smap *m, const char *key, size_t klen, uint64_t h)
{
	size_t i, *s;
	const struct smap_ent *e;

	if (m->nslots == 0)
		return NULL;
	i = h & (m->nslots - 1);
	for (;;) {
		s = &m->slots[i];
		if (*s == 0)
			return s;
		e = &m->ents[*s - 1];
		if (e->hash == h && e->klen == klen &&
		    memcmp(e->key, key, klen) == 0)
			return s;
		i = (i + 1) & (m->nslots - 1);
	}
}

void *
smap_get(const struct smap *m, const char *key, size_t klen)
{
	size_t *s = find(m, key, klen, hash(key, klen));

	return s && *s ? m->ents[*s - 1].val : NULL;
}

static int
rehash(struct smap *m)
{
	size_t ns = m->nslots ? m->nslots * 2 : 64, i, j;
	size_t *slots = calloc(ns, sizeof(*slots));

	if (!slots)
		return -1;
	for (i = 0; i < m->n; i++) {
		j = m->ents[i].hash & (ns - 1);
		while (slots[j])
			j = (j + 1) & (ns - 1);
		slots[j] = i + 1;
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = ns;
	return 0;
}

struct smap_ent *
smap_put(struct smap *m, const char *key, size_t klen, int *created)
{
	size_t *s;
	struct smap_ent *e;
	uint64_t h = hash(key, klen);

	if (created)
		*created = 0;
	if ((m->n + 1) * 2 > m->nslots && rehash(m) < 0)
		return NULL;
	s = find(m, key, klen, h);
	if (*s)
		return &m->ents[*s - 1];
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 32;
		void *p = realloc(m->ents, nc * sizeof(*m->ents));
		if (!p)
			return NULL;
		m->ents = p;
		m->cap = nc;
	}
	e = &m->ents[m->n];
	if (!(e->key = malloc(klen + 1))) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	e->klen = klen;
	e->hash = h;
	e->val = NULL;
	*s = ++m->n;
	if (created)
		*created = 1;
	return e;
}

void
smap_clear(struct smap *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->ents[i].key);
	free(m->ents);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}
