/* coverage.c: bucket counting and the text/JSON renderings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "events/coverage.h"

int
coverage_init(struct coverage *c, const char *by)
{
	memset(c, 0, sizeof(*c));
	check_init(&c->chk);
	c->chk.max_violations = 1;  /* only completeness matters here */
	c->chk.files_only = true;
	return (c->by = strdup(by)) ? 0 : -1;
}

void
coverage_release(struct coverage *c)
{
	size_t i;
	char **b;

	for (i = 0; i < smap_len(&c->buckets); i++)
		free(smap_at(&c->buckets, i)->val);
	smap_clear(&c->buckets);
	for (i = 0; i < c->nfails; i++) {
		free(c->fails[i].path);
		free(c->fails[i].name);
		free(c->fails[i].reason);
		free(c->fails[i].excerpt);
		for (b = c->fails[i].buckets; b && *b; b++)
			free(*b);
		free(c->fails[i].buckets);
	}
	free(c->fails);
	check_release(&c->chk);
	free(c->by);
	memset(c, 0, sizeof(*c));
}

static void
bump(struct coverage_counts *n, enum event_kind k)
{
	if (k == EVENT_TEST_PASSED)
		n->passed++;
	else if (k == EVENT_TEST_FAILED)
		n->failed++;
	else
		n->skipped++;
}

/* The bucket values of a test: strings, or none (<unset>). */
static size_t
keys_of(const struct coverage *c, const struct event *ev,
    const struct meta_value **out)
{
	const struct meta_value *v = meta_get(&ev->meta, c->by);
	size_t i;

	if (!v)
		return 0;
	if (v->type == META_STR) {
		out[0] = v;
		return 1;
	}
	if (v->type != META_ARRAY || v->u.arr.n == 0)
		return 0;
	for (i = 0; i < v->u.arr.n; i++)
		if (v->u.arr.v[i].type != META_STR)
			return 0;
	*out = v->u.arr.v;
	return v->u.arr.n;
}

static int
keep_fail(struct coverage *c, const struct event *ev,
    const struct meta_value *keys, size_t nkeys)
{
	struct coverage_fail *f;
	const char *ex = ev->console_excerpt ? ev->console_excerpt : "";
	size_t i, exlen = strlen(ex);

	if (c->nfails >= COVERAGE_MAX_FAILS) {
		c->fails_dropped++;
		return 0;
	}
	if (c->nfails == c->fails_cap) {
		size_t nc = c->fails_cap ? c->fails_cap * 2 : 16;
		void *p = realloc(c->fails, nc * sizeof(*c->fails));
		if (!p)
			return -1;
		c->fails = p;
		c->fails_cap = nc;
	}
	f = &c->fails[c->nfails];
	memset(f, 0, sizeof(*f));
	if (exlen > COVERAGE_MAX_EXCERPT)
		ex += exlen - COVERAGE_MAX_EXCERPT;  /* the tail is what matters */
	f->path = strdup(ev->path);
	f->name = strdup(ev->name);
	f->reason = strdup(ev->reason ? ev->reason : "");
	f->excerpt = strdup(ex);
	f->buckets = calloc(nkeys + 1, sizeof(char *));
	f->duration_ns = ev->duration_ns;
	c->nfails++;    /* counted now so release frees partial copies */
	if (!f->path || !f->name || !f->reason || !f->excerpt || !f->buckets)
		return -1;
	for (i = 0; i < nkeys; i++)
		if (!(f->buckets[i] = strdup(keys == NULL ? "" : keys[i].u.s.p)))
			return -1;
	return 0;
}

int
coverage_feed(struct coverage *c, const struct event *ev)
{
	const struct meta_value *keys = NULL;
	struct smap_ent *e;
	size_t i, n;

	if (c->frames++ == 0)
		c->first_ts = ev->ts;
	c->last_ts = ev->ts;
	if (check_feed(&c->chk, c->frames - 1, ev) < 0)
		return -1;
	if (ev->kind != EVENT_TEST_PASSED && ev->kind != EVENT_TEST_FAILED &&
	    ev->kind != EVENT_TEST_SKIPPED)
		return 0;
	bump(&c->total, ev->kind);
	n = keys_of(c, ev, &keys);
	if (n == 0)
		bump(&c->unset, ev->kind);
	for (i = 0; i < n; i++) {
		e = smap_put(&c->buckets, keys[i].u.s.p, keys[i].u.s.n, NULL);
		if (!e)
			return -1;
		if (!e->val && !(e->val = calloc(1, sizeof(struct coverage_counts))))
			return -1;
		bump(e->val, ev->kind);
	}
	if (ev->kind == EVENT_TEST_FAILED)
		return keep_fail(c, ev, keys, n);
	return 0;
}

bool
coverage_complete(const struct coverage *c)
{
	return check_complete(&c->chk);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **
coverage_sorted_keys(const struct coverage *c, size_t *n)
{
	const char **k;
	size_t i;

	*n = smap_len(&c->buckets);
	if (!(k = calloc(*n + 1, sizeof(*k))))
		return NULL;
	for (i = 0; i < *n; i++)
		k[i] = smap_at(&c->buckets, i)->key;
	qsort(k, *n, sizeof(*k), cmp_str);
	return k;
}

static void
line(FILE *out, const char *name, const struct coverage_counts *n)
{
	fprintf(out, "  %s: %llu tests (%llu passed, %llu failed, %llu skipped)\n",
	    name, (unsigned long long)(n->passed + n->failed + n->skipped),
	    (unsigned long long)n->passed, (unsigned long long)n->failed,
	    (unsigned long long)n->skipped);
}

int
coverage_text(const struct coverage *c, FILE *out)
{
	const char **keys, **p;
	size_t n, i;

	if (!(keys = coverage_sorted_keys(c, &n)))
		return -1;
	fprintf(out, "coverage by `%s`:\n", c->by);
	for (i = 0; i < n; i++)
		line(out, keys[i], smap_get(&c->buckets, keys[i], strlen(keys[i])));
	free(keys);
	if (c->unset.passed + c->unset.failed + c->unset.skipped > 0)
		line(out, "<unset>", &c->unset);
	fprintf(out, "  ---\n  buckets: %zu; %llu passed, %llu failed, %llu skipped\n",
	    n, (unsigned long long)c->total.passed,
	    (unsigned long long)c->total.failed,
	    (unsigned long long)c->total.skipped);
	if (!coverage_complete(c)) {
		n = check_incomplete(&c->chk, &p);
		fprintf(out, "incomplete run: %zu of %zu discovered files never "
		    "completed:", n, smap_len(&c->chk.files));
		for (i = 0; i < n; i++)
			fprintf(out, " %s", p[i]);
		fputc('\n', out);
	}
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

static json_t *
counts_json(const struct coverage_counts *n)
{
	return json_pack("{s:I,s:I,s:I}", "passed", (json_int_t)n->passed,
	    "failed", (json_int_t)n->failed, "skipped", (json_int_t)n->skipped);
}

int
coverage_json(const struct coverage *c, FILE *out)
{
	json_t *root, *b, *inc;
	const char **keys, **p;
	size_t n, i;
	int rc;

	if (!(keys = coverage_sorted_keys(c, &n)))
		return -1;
	root = json_object();
	b = json_object();
	inc = json_array();
	for (i = 0; i < n; i++)
		json_object_set_new(b, keys[i], counts_json(
		    smap_get(&c->buckets, keys[i], strlen(keys[i]))));
	free(keys);
	json_object_set_new(root, "buckets", b);
	json_object_set_new(root, "uncategorised", counts_json(&c->unset));
	json_object_set_new(root, "complete", json_boolean(coverage_complete(c)));
	n = check_incomplete(&c->chk, &p);
	for (i = 0; i < n; i++)
		json_array_append_new(inc, json_string(p[i]));
	json_object_set_new(root, "incomplete_files", inc);
	rc = json_dumpf(root, out, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(root);
	fputc('\n', out);
	return rc == 0 && fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
