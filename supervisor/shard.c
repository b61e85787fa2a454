/* shard.c: --shard K/N and --shard-durations. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/evread.h"
#include "events/frame.h"
#include "events/proto.h"
#include "events/smap.h"
#include "supervisor/shard.h"

uint64_t
shard_hash(const char *path)
{
	uint64_t h = 14695981039346656037ull;

	for (; *path; path++) {
		h ^= (unsigned char)*path;
		h *= 1099511628211ull;
	}
	return h;
}

struct item {
	size_t idx;
	uint64_t ns;
	const char *path;
};

static int
cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns > y->ns ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* "--shard-durations FILE: why", malloc'd (NULL on ENOMEM). */
static char *
durations_error(const char *file, const char *why)
{
	char *s;

	return asprintf(&s, "--shard-durations %s: %s", file, why) < 0 ? NULL : s;
}

/* Durations of l's files from an events file: ns[i], 0 = unknown. */
static int
read_durations(const char *file, const struct discover_list *l, uint64_t *ns,
    char **err)
{
	struct evread r;
	struct event ev;
	struct smap idx = SMAP_INIT;
	struct smap_ent *e;
	void *v;
	size_t i;
	int fd, rc;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		*err = durations_error(file, strerror(errno));
		return -1;
	}
	if (evread_init(&r, fd, FRAME_MAX_EVENT) < 0) {
		close(fd);
		*err = strdup("out of memory");
		return -1;
	}
	/* values: index + 1, stored in the pointer */
	for (i = 0; i < l->n; i++)
		if ((e = smap_put(&idx, l->v[i].display, strlen(l->v[i].display),
		    NULL)) != NULL)
			e->val = (void *)(uintptr_t)(i + 1);
	while ((rc = evread_next_event(&r, &ev)) != 0 && rc != -1) {
		if (rc != 1)
			continue;       /* a frame we cannot decode: not ours to judge */
		if (ev.kind == EVENT_FILE_COMPLETED && ev.path &&
		    (v = smap_get(&idx, ev.path, strlen(ev.path))) != NULL)
			ns[(uintptr_t)v - 1] = ev.duration_ns ? ev.duration_ns : 1;
		event_clear(&ev);
	}
	if (rc == -1)
		*err = durations_error(file, r.err);
	smap_clear(&idx);
	evread_release(&r);
	close(fd);
	return rc == -1 ? -1 : 0;
}

int
shard_filter(struct discover_list *l, unsigned k, unsigned n,
    const char *durations, char **err)
{
	unsigned char *keep = calloc(l->n + 1, 1);
	uint64_t *ns = calloc(l->n + 1, sizeof(*ns)), *load = calloc(n, sizeof(*load));
	struct item *it = calloc(l->n + 1, sizeof(*it));
	uint64_t sum = 0, known = 0;
	size_t i;
	unsigned j, best;
	int rc = -1;

	*err = NULL;
	if (keep == NULL || ns == NULL || load == NULL || it == NULL) {
		*err = strdup("out of memory");
		goto out;
	}
	if (durations == NULL) {
		for (i = 0; i < l->n; i++)
			keep[i] = shard_hash(l->v[i].display) % n == k - 1;
	} else {
		if (read_durations(durations, l, ns, err) != 0)
			goto out;
		for (i = 0; i < l->n; i++)
			if (ns[i]) {
				sum += ns[i];
				known++;
			}
		for (i = 0; i < l->n; i++)
			it[i] = (struct item){ i, ns[i] ? ns[i] :
			    known ? sum / known : 1, l->v[i].display };
		qsort(it, l->n, sizeof(*it), cmp_item);
		for (i = 0; i < l->n; i++) {
			for (best = 0, j = 1; j < n; j++)
				if (load[j] < load[best])
					best = j;
			load[best] += it[i].ns;
			keep[it[i].idx] = best == k - 1;
		}
	}
	discover_list_keep(l, keep);
	rc = 0;
out:
	free(keep);
	free(ns);
	free(load);
	free(it);
	return rc;
}
