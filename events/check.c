/* check.c: the seed-001 guarantee checker. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/check.h"
#include "events/xfmt.h"

enum { F_DISCOVERED = 1, F_DISPATCHED = 2, F_COMPLETED = 4, F_UNDISCOVERED = 8 };
enum { T_STARTED = 1, T_DONE = 2 };

/* State lives in the smap value pointer itself (small integers), so no
 * per-entry allocation is needed. */
#define ST(e) ((uintptr_t)(e)->val)
#define SET(e, s) ((e)->val = (void *)(uintptr_t)(s))
#define ST_GET(m, k) ((uintptr_t)smap_get((m), (k), strlen(k)))

void
check_init(struct check *c)
{
	memset(c, 0, sizeof(*c));
	c->max_violations = 1000;
}

void
check_release(struct check *c)
{
	size_t i;

	for (i = 0; i < c->nv; i++)
		free(c->v[i].msg);
	free(c->v);
	smap_clear(&c->files);
	smap_clear(&c->tests);
	smap_clear(&c->claims);
	smap_clear(&c->builds);
	smap_clear(&c->vms);
	smap_clear(&c->hits);
	free(c->incomplete);
	memset(c, 0, sizeof(*c));
}

__attribute__((format(printf, 3, 4)))
static int
violate(struct check *c, uint64_t frame, const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (c->max_violations && c->nv >= c->max_violations) {
		c->dropped++;
		return 0;
	}
	if (c->nv == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 16;
		void *p = realloc(c->v, nc * sizeof(*c->v));
		if (!p)
			return -1;
		c->v = p;
		c->cap = nc;
	}
	va_start(ap, fmt);
	m = xfmt_v(fmt, ap);
	va_end(ap);
	if (!m)
		return -1;
	c->v[c->nv].frame = frame;
	c->v[c->nv++].msg = m;
	return 0;
}

int
check_bad_frame(struct check *c, uint64_t frame, const char *why)
{
	c->nframes = frame + 1;
	return violate(c, frame, "undecodable event: %s", why);
}

/* key "a\0b" for two-part identities (test, vm). */
static struct smap_ent *
put2(struct smap *m, const char *a, const char *b, int *created)
{
	size_t la = strlen(a), lb = strlen(b);
	char *k = malloc(la + lb + 1);
	struct smap_ent *e;

	if (!k)
		return NULL;
	memcpy(k, a, la);
	k[la] = '\0';
	memcpy(k + la + 1, b, lb);
	e = smap_put(m, k, la + 1 + lb, created);
	free(k);
	return e;
}

static int
file_event(struct check *c, uint64_t f, const struct event *ev)
{
	const char *k = event_kind_name(ev->kind), *p = ev->path;
	struct smap_ent *e = smap_put(&c->files, p, strlen(p), NULL);
	uintptr_t s;

	if (!e)
		return -1;
	s = ST(e);
	if (ev->kind == EVENT_FILE_DISCOVERED) {
		if (s & F_DISCOVERED)
			return violate(c, f, "file_discovered: `%s` discovered twice", p);
		SET(e, s | F_DISCOVERED);
		c->ndiscovered++;
		if (c->dispatching)
			return violate(c, f, "file_discovered: `%s` discovered after "
			    "dispatching began", p);
		return 0;
	}
	if (!(s & F_DISCOVERED)) {
		/* Remember the file so one missing discovery is reported once. */
		SET(e, s | F_DISCOVERED | F_UNDISCOVERED);
		if (violate(c, f, "%s: `%s` was never discovered", k, p) < 0)
			return -1;
		s = ST(e);
	}
	switch (ev->kind) {
	case EVENT_FILE_BLOCKED:
		if (s & (F_DISPATCHED | F_COMPLETED))
			return violate(c, f, "file_blocked: `%s` blocked after it was %s",
			    p, s & F_COMPLETED ? "completed" : "dispatched");
		return 0;
	case EVENT_FILE_DISPATCHED:
		c->dispatching = true;
		if (s & F_DISPATCHED)
			return violate(c, f, "file_dispatched: `%s` dispatched twice", p);
		SET(e, s | F_DISPATCHED);
		if (s & F_COMPLETED)
			return violate(c, f, "file_dispatched: `%s` dispatched after "
			    "it completed", p);
		return 0;
	case EVENT_FILE_COMPLETED:
		if (s & F_COMPLETED)
			return violate(c, f, "file_completed: `%s` completed twice", p);
		SET(e, s | F_COMPLETED);
		c->ncompleted++;
		if (!(s & F_DISPATCHED))
			return violate(c, f, "file_completed: `%s` completed without "
			    "file_dispatched", p);
		return 0;
	default:
		return 0;
	}
}

static int
test_event(struct check *c, uint64_t f, const struct event *ev)
{
	const char *k = event_kind_name(ev->kind);
	struct smap_ent *e, *fe;
	uintptr_t s, fs;

	fe = smap_put(&c->files, ev->path, strlen(ev->path), NULL);
	if (!fe)
		return -1;
	fs = ST(fe);
	if (!(fs & F_DISCOVERED)) {
		SET(fe, fs | F_DISCOVERED | F_UNDISCOVERED);
		if (violate(c, f, "%s: `%s` test `%s` belongs to a file that was "
		    "never discovered", k, ev->path, ev->name) < 0)
			return -1;
	} else if (!(fs & F_DISPATCHED)) {
		if (violate(c, f, "%s: `%s` test `%s` before its file was "
		    "dispatched", k, ev->path, ev->name) < 0)
			return -1;
	} else if (fs & F_COMPLETED) {
		if (violate(c, f, "%s: `%s` test `%s` after its file completed",
		    k, ev->path, ev->name) < 0)
			return -1;
	}
	if (!(e = put2(&c->tests, ev->path, ev->name, NULL)))
		return -1;
	s = ST(e);
	if (ev->kind == EVENT_TEST_STARTED) {
		if (s & T_STARTED)
			return violate(c, f, "test_started: `%s` test `%s` started twice",
			    ev->path, ev->name);
		SET(e, s | T_STARTED);
		return 0;
	}
	if (!(s & T_STARTED)) {
		SET(e, s | T_DONE);
		return violate(c, f, "%s: `%s` test `%s` has no test_started",
		    k, ev->path, ev->name);
	}
	if (s & T_DONE)
		return violate(c, f, "%s: `%s` test `%s` already has a result",
		    k, ev->path, ev->name);
	SET(e, s | T_DONE);
	return 0;
}

/* Counted pairs (claims, builds, vms): the value is the open count. */
static int
pair_open(struct check *c, uint64_t f, struct smap_ent *e, const char *what,
    const char *id)
{
	if (!e)
		return -1;
	if (ST(e) > 0)
		return violate(c, f, "%s: `%s` opened again before it was closed",
		    what, id);
	SET(e, 1);
	return 0;
}

static int
pair_close(struct check *c, uint64_t f, struct smap_ent *e, const char *what,
    const char *opener, const char *id)
{
	if (!e)
		return -1;
	if (ST(e) == 0)
		return violate(c, f, "%s: `%s` without a matching %s", what, id,
		    opener);
	SET(e, 0);
	return 0;
}

int
check_feed(struct check *c, uint64_t f, const struct event *ev)
{
	struct smap_ent *e;
	char id[512];

	c->nframes = f + 1;
	if (c->files_only && ev->kind > EVENT_FILE_COMPLETED)
		return 0;
	switch (ev->kind) {
	case EVENT_FILE_DISCOVERED:
	case EVENT_FILE_DISPATCHED:
	case EVENT_FILE_BLOCKED:
	case EVENT_FILE_COMPLETED:
		return file_event(c, f, ev);
	case EVENT_TEST_STARTED:
	case EVENT_TEST_PASSED:
	case EVENT_TEST_FAILED:
	case EVENT_TEST_SKIPPED:
		return test_event(c, f, ev);
	case EVENT_CLAIM_ACQUIRED:
		return pair_open(c, f, smap_put(&c->claims, ev->path,
		    strlen(ev->path), NULL), "claim_acquired", ev->path);
	case EVENT_CLAIM_RELEASED:
		return pair_close(c, f, smap_put(&c->claims, ev->path,
		    strlen(ev->path), NULL), "claim_released", "claim_acquired",
		    ev->path);
	case EVENT_FIXTURE_BUILD_STARTED:
		e = smap_put(&c->hits, ev->path, strlen(ev->path), NULL);
		if (!e)
			return -1;
		if (ST(e) == 1 && violate(c, f, "fixture_build_started: `%s` "
		    "rebuilt right after a fixture_cache_hit (cache hit on an "
		    "entry that was not restored)", ev->path) < 0)
			return -1;
		SET(e, 0);
		return pair_open(c, f, smap_put(&c->builds, ev->path,
		    strlen(ev->path), NULL), "fixture_build_started", ev->path);
	case EVENT_FIXTURE_BUILD_DONE:
		return pair_close(c, f, smap_put(&c->builds, ev->path,
		    strlen(ev->path), NULL), "fixture_build_done",
		    "fixture_build_started", ev->path);
	case EVENT_FIXTURE_CACHE_HIT:
		if (ST_GET(&c->builds, ev->path) > 0 && violate(c, f,
		    "fixture_cache_hit: `%s` reported while it is being built",
		    ev->path) < 0)
			return -1;
		if (!(e = smap_put(&c->hits, ev->path, strlen(ev->path), NULL)))
			return -1;
		SET(e, 1);
		return 0;
	case EVENT_VM_SPAWNED:
		snprintf(id, sizeof(id), "%s vm %s", ev->path, ev->name);
		return pair_open(c, f, put2(&c->vms, ev->path, ev->name, NULL),
		    "vm_spawned", id);
	case EVENT_VM_SHUTDOWN:
		snprintf(id, sizeof(id), "%s vm %s", ev->path, ev->name);
		return pair_close(c, f, put2(&c->vms, ev->path, ev->name, NULL),
		    "vm_shutdown", "vm_spawned", id);
	default:
		return 0;
	}
}

static int
unclosed(struct check *c, struct smap *m, const char *what, const char *never)
{
	size_t i;
	struct smap_ent *e;
	char id[512];

	for (i = 0; i < smap_len(m); i++) {
		e = smap_at(m, i);
		if (ST(e) == 0)
			continue;
		/* two-part keys print as "a vm b" */
		snprintf(id, sizeof(id), "%s", e->key);
		if (strlen(e->key) < e->klen)
			snprintf(id, sizeof(id), "%s vm %s", e->key,
			    e->key + strlen(e->key) + 1);
		if (violate(c, UINT64_MAX, "%s: `%s` never %s", what, id, never) < 0)
			return -1;
	}
	return 0;
}

int
check_finish(struct check *c)
{
	size_t i;
	struct smap_ent *e;
	const char *name;
	uintptr_t fs;

	for (i = 0; i < smap_len(&c->tests); i++) {
		e = smap_at(&c->tests, i);
		if ((ST(e) & (T_STARTED | T_DONE)) != T_STARTED)
			continue;
		fs = (uintptr_t)smap_get(&c->files, e->key, strlen(e->key));
		if (!(fs & F_COMPLETED))
			continue;   /* reported as part of the incomplete run */
		name = e->key + strlen(e->key) + 1;
		if (violate(c, UINT64_MAX, "test_started: `%s` test `%s` never "
		    "got a result", e->key, name) < 0)
			return -1;
	}
	if (unclosed(c, &c->claims, "claim_acquired", "released") < 0 ||
	    unclosed(c, &c->builds, "fixture_build_started", "done") < 0 ||
	    unclosed(c, &c->vms, "vm_spawned", "shut down") < 0)
		return -1;
	for (i = 0; i < smap_len(&c->files); i++) {
		e = smap_at(&c->files, i);
		if ((ST(e) & (F_DISPATCHED | F_COMPLETED)) == F_DISPATCHED &&
		    violate(c, UINT64_MAX, "incomplete run: `%s` was dispatched "
		    "but never completed", e->key) < 0)
			return -1;
		if ((ST(e) & (F_DISPATCHED | F_COMPLETED)) == 0 &&
		    violate(c, UINT64_MAX, "incomplete run: `%s` was discovered "
		    "but never completed", e->key) < 0)
			return -1;
	}
	return 0;
}

bool
check_complete(const struct check *c)
{
	return c->ncompleted == smap_len(&c->files);
}

size_t
check_incomplete(const struct check *c, const char ***paths)
{
	struct check *m = (struct check *)c;
	size_t i, n = 0;

	free(m->incomplete);
	m->incomplete = calloc(smap_len(&c->files) + 1, sizeof(char *));
	if (!m->incomplete) {
		*paths = NULL;
		return 0;
	}
	for (i = 0; i < smap_len(&c->files); i++)
		if (!(ST(smap_at(&c->files, i)) & F_COMPLETED))
			m->incomplete[n++] = smap_at(&c->files, i)->key;
	*paths = m->incomplete;
	return n;
}
