/* evrun.c: run rows from events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "events/evrun.h"

void
evrun_init(struct evrun *r)
{
	memset(r, 0, sizeof(*r));
	check_init(&r->chk);
	r->chk.max_violations = 1;  /* completeness only */
}

static void
free_file(struct evrun_file *f)
{
	size_t i;

	if (!f)
		return;
	free(f->path);
	free(f->block_reasons);
	free(f->status);
	for (i = 0; i < f->nfixture_refs; i++)
		free(f->fixture_refs[i]);
	free(f->fixture_refs);
	free(f->tests);
	free(f);
}

void
evrun_release(struct evrun *r)
{
	size_t i;

	for (i = 0; i < smap_len(&r->files); i++)
		free_file(smap_at(&r->files, i)->val);
	smap_clear(&r->files);
	for (i = 0; i < r->ntests; i++) {
		free(r->tests[i].name);
		free(r->tests[i].reason);
		free(r->tests[i].excerpt);
		free(r->tests[i].meta_json);
	}
	free(r->tests);
	smap_clear(&r->test_idx);
	for (i = 0; i < r->nvms; i++) {
		free(r->vms[i].file);
		free(r->vms[i].name);
		free(r->vms[i].profile);
	}
	free(r->vms);
	for (i = 0; i < r->nfix; i++) {
		free(r->fix[i].path);
		free(r->fix[i].held_by);
	}
	free(r->fix);
	check_release(&r->chk);
	free(r->first_frame_sha256);
	memset(r, 0, sizeof(*r));
}

/* Grows a (ptr, n, cap) array by one zeroed slot; NULL on ENOMEM. */
static void *
grow(void **p, size_t *n, size_t *cap, size_t sz)
{
	void *np;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		if (!(np = realloc(*p, nc * sz)))
			return NULL;
		*p = np;
		*cap = nc;
	}
	np = (char *)*p + (*n)++ * sz;
	memset(np, 0, sz);
	return np;
}

struct evrun_file *
evrun_find_file(const struct evrun *r, const char *path)
{
	return smap_get(&r->files, path, strlen(path));
}

static struct evrun_file *
file_of(struct evrun *r, const char *path)
{
	struct smap_ent *e = smap_put(&r->files, path, strlen(path), NULL);
	struct evrun_file *f;

	if (!e)
		return NULL;
	if (!e->val) {
		if (!(f = calloc(1, sizeof(*f))) || !(f->path = strdup(path))) {
			free(f);
			return NULL;
		}
		e->val = f;
	}
	return e->val;
}

uint64_t
evrun_blocked_ns(const struct evrun *r, const struct evrun_file *f)
{
	int64_t end;

	if (!f->first_blocked_ts)
		return 0;
	end = f->dispatched_ts ? f->dispatched_ts : r->last_ts;
	return end > f->first_blocked_ts ? (uint64_t)(end - f->first_blocked_ts) : 0;
}

static int
add_reason(struct evrun_file *f, const char *reason)
{
	size_t n = f->block_reasons ? strlen(f->block_reasons) : 0, l = strlen(reason);
	const char *p;
	char *nr;

	for (p = f->block_reasons; p && (p = strstr(p, reason)); p += l)
		if ((p == f->block_reasons || p[-1] == ',') &&
		    (p[l] == ',' || p[l] == '\0'))
			return 0;
	if (!(nr = realloc(f->block_reasons, n + l + 2)))
		return -1;
	if (n)
		nr[n++] = ',';
	memcpy(nr + n, reason, l + 1);
	f->block_reasons = nr;
	return 0;
}

static json_t *
meta_to_json(const struct meta_value *m)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	json_t *j;
	size_t i, o;
	char *s;

	switch (m->type) {
	case META_NULL: return json_null();
	case META_BOOL: return json_boolean(m->u.b);
	case META_INT: return json_integer(m->u.i);
	case META_FLOAT: return json_real(m->u.f);
	case META_STR: return json_stringn_nocheck(m->u.s.p, m->u.s.n);
	case META_BYTES:
		if (!(s = malloc(m->u.s.n / 3 * 4 + 5)))
			return NULL;
		for (i = 0, o = 0; i < m->u.s.n; i += 3) {
			uint32_t v = (uint32_t)(uint8_t)m->u.s.p[i] << 16;
			size_t left = m->u.s.n - i;
			if (left > 1) v |= (uint32_t)(uint8_t)m->u.s.p[i + 1] << 8;
			if (left > 2) v |= (uint8_t)m->u.s.p[i + 2];
			s[o++] = b64[v >> 18];
			s[o++] = b64[(v >> 12) & 63];
			s[o++] = left > 1 ? b64[(v >> 6) & 63] : '=';
			s[o++] = left > 2 ? b64[v & 63] : '=';
		}
		j = json_stringn_nocheck(s, o);
		free(s);
		return j;
	case META_ARRAY:
		j = json_array();
		for (i = 0; i < m->u.arr.n; i++)
			json_array_append_new(j, meta_to_json(&m->u.arr.v[i]));
		return j;
	case META_MAP:
		j = json_object();
		for (i = 0; i < m->u.map.n; i++)
			json_object_setn_new_nocheck(j, m->u.map.e[i].key,
			    m->u.map.e[i].key_len, meta_to_json(&m->u.map.e[i].val));
		return j;
	}
	return json_null();
}

char *
evrun_meta_json(const struct meta_value *m)
{
	json_t *j = meta_to_json(m);
	char *s;

	if (!j)
		return NULL;
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	json_decref(j);
	return s;
}

static char *
tail_dup(const char *s, size_t cap)
{
	size_t n = s ? strlen(s) : 0;

	return strdup(n > cap ? s + n - cap : s ? s : "");
}

static int
test_event(struct evrun *r, const struct event *ev)
{
	struct evrun_file *f = file_of(r, ev->path);
	struct smap_ent *e;
	struct evrun_test *t;
	size_t pl = strlen(ev->path), nl = strlen(ev->name), *slot;
	char *k;

	if (!f || !(k = malloc(pl + nl + 2)))
		return -1;
	memcpy(k, ev->path, pl + 1);
	memcpy(k + pl + 1, ev->name, nl + 1);
	e = smap_put(&r->test_idx, k, pl + 1 + nl, NULL);
	free(k);
	if (!e)
		return -1;
	/* A result without a start (a broken stream) still gets a row. */
	if (ev->kind == EVENT_TEST_STARTED || !e->val ||
	    r->tests[(uintptr_t)e->val - 1].result != EVRUN_RUNNING) {
		if (!(t = grow((void **)&r->tests, &r->ntests, &r->tests_cap,
		    sizeof(*t))))
			return -1;
		t->path = f->path;
		t->started_ts = ev->ts;
		if (!(t->name = strdup(ev->name)))
			return -1;
		e->val = (void *)(uintptr_t)r->ntests;
		if (!(slot = grow((void **)&f->tests, &f->ntests, &f->tests_cap,
		    sizeof(*slot))))
			return -1;
		*slot = r->ntests - 1;
	}
	t = &r->tests[(uintptr_t)e->val - 1];
	if (!t->meta_json && !(t->meta_json = evrun_meta_json(&ev->meta)))
		return -1;
	if (ev->kind == EVENT_TEST_STARTED)
		return 0;
	t->ended_ts = ev->ts;
	t->duration_ns = ev->duration_ns;
	if (ev->kind == EVENT_TEST_PASSED) {
		t->result = EVRUN_PASSED;
		r->passed++;
		return 0;
	}
	t->result = ev->kind == EVENT_TEST_FAILED ? EVRUN_FAILED : EVRUN_SKIPPED;
	if (ev->kind == EVENT_TEST_FAILED)
		r->failed++;
	else
		r->skipped++;
	free(t->reason);
	t->reason = strdup(ev->reason ? ev->reason : "");
	if (ev->kind == EVENT_TEST_FAILED) {
		free(t->excerpt);
		t->excerpt = tail_dup(ev->console_excerpt, EVRUN_MAX_EXCERPT);
	}
	return t->reason ? 0 : -1;
}

static int
vm_event(struct evrun *r, const struct event *ev)
{
	struct evrun_vm *v;
	size_t i;

	if (ev->kind == EVENT_VM_SPAWNED) {
		if (!(v = grow((void **)&r->vms, &r->nvms, &r->vms_cap, sizeof(*v))))
			return -1;
		v->file = strdup(ev->path);
		v->name = strdup(ev->name);
		v->profile = strdup(ev->profile ? ev->profile : "");
		v->memory_bytes = ev->memory_bytes;
		v->cid = ev->cid;
		v->spawned_ts = ev->ts;
		return v->file && v->name && v->profile ? 0 : -1;
	}
	for (i = r->nvms; i-- > 0;) {
		v = &r->vms[i];
		if (v->shutdown_ts || strcmp(v->file, ev->path) ||
		    strcmp(v->name, ev->name))
			continue;
		v->shutdown_ts = ev->ts;
		/* Teardown reports 0 (upstream §8.2): fall back to the clock. */
		v->uptime_ns = ev->duration_ns ? ev->duration_ns :
		    ev->ts > v->spawned_ts ? (uint64_t)(ev->ts - v->spawned_ts) : 0;
		return 0;
	}
	return 0;
}

static int
fixture_event(struct evrun *r, const struct event *ev)
{
	struct evrun_fixture *x;
	size_t i;

	if (ev->kind == EVENT_FIXTURE_BUILD_DONE) {
		for (i = r->nfix; i-- > 0;) {
			x = &r->fix[i];
			if (x->done_ts || x->kind == EVRUN_CACHE_HIT ||
			    strcmp(x->path, ev->path))
				continue;
			x->done_ts = ev->ts;
			if (x->kind == EVRUN_BUILT) {
				x->duration_ns = ev->duration_ns;
				x->snapshot_bytes = ev->snapshot_bytes;
			} else {
				x->duration_ns = ev->ts > x->ts ? (uint64_t)(ev->ts - x->ts) : 0;
			}
		}
		return 0;
	}
	if (!(x = grow((void **)&r->fix, &r->nfix, &r->fix_cap, sizeof(*x))))
		return -1;
	x->ts = ev->ts;
	x->kind = ev->kind == EVENT_FIXTURE_BUILD_STARTED ? EVRUN_BUILT :
	    ev->kind == EVENT_FIXTURE_CACHE_HIT ? EVRUN_CACHE_HIT : EVRUN_WAITED;
	if (x->kind == EVRUN_CACHE_HIT)
		x->done_ts = ev->ts;
	if (ev->kind == EVENT_FIXTURE_BUILD_WAITING &&
	    !(x->held_by = strdup(ev->held_by_file)))
		return -1;
	return (x->path = strdup(ev->path)) ? 0 : -1;
}

int
evrun_feed(struct evrun *r, const struct event *ev)
{
	struct evrun_file *f;
	size_t i;

	if (r->frames++ == 0)
		r->first_ts = ev->ts;
	if (ev->ts > r->last_ts)
		r->last_ts = ev->ts;
	if (check_feed(&r->chk, r->frames - 1, ev) < 0)
		return -1;
	switch (ev->kind) {
	case EVENT_FILE_DISCOVERED:
		if (!(f = file_of(r, ev->path)))
			return -1;
		f->discovered_ts = ev->ts;
		if (f->fixture_refs || !ev->nfixture_refs)
			return 0;
		if (!(f->fixture_refs = calloc(ev->nfixture_refs, sizeof(char *))))
			return -1;
		for (i = 0; i < ev->nfixture_refs; i++)
			if (!(f->fixture_refs[f->nfixture_refs++] =
			    strdup(ev->fixture_refs[i])))
				return -1;
		return 0;
	case EVENT_FILE_BLOCKED:
		if (!(f = file_of(r, ev->path)))
			return -1;
		if (!f->first_blocked_ts)
			f->first_blocked_ts = ev->ts;
		return add_reason(f, ev->reason ? ev->reason : "?");
	case EVENT_FILE_DISPATCHED:
		if (!(f = file_of(r, ev->path)))
			return -1;
		f->dispatched_ts = ev->ts;
		f->reservation = ev->amount;
		return 0;
	case EVENT_FILE_COMPLETED:
		if (!(f = file_of(r, ev->path)))
			return -1;
		f->completed_ts = ev->ts;
		f->duration_ns = ev->duration_ns;
		free(f->status);
		return (f->status = strdup(ev->status)) ? 0 : -1;
	case EVENT_TEST_STARTED:
	case EVENT_TEST_PASSED:
	case EVENT_TEST_FAILED:
	case EVENT_TEST_SKIPPED:
		return test_event(r, ev);
	case EVENT_VM_SPAWNED:
	case EVENT_VM_SHUTDOWN:
		return vm_event(r, ev);
	case EVENT_FIXTURE_BUILD_STARTED:
	case EVENT_FIXTURE_BUILD_DONE:
	case EVENT_FIXTURE_BUILD_WAITING:
	case EVENT_FIXTURE_CACHE_HIT:
		return fixture_event(r, ev);
	default:
		return 0;
	}
}

bool
evrun_complete(const struct evrun *r)
{
	return check_complete(&r->chk);
}
