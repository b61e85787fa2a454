/*
 * channel.c: the runner's side of the runner channel (fd 3), see
 * docs/runner-channel.md.  Reports are one frame each; requests block
 * until the matching answer.  A dead channel is remembered so the runner
 * stops instead of running tests nobody will hear about.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/frame.h"
#include "events/mp.h"
#include "events/proto.h"
#include "runner/runner_int.h"

void
runner_pack_begin(msgpack_sbuffer *sb, msgpack_packer *pk, const char *t,
    size_t nfields)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(pk, nfields + 1);
	mp_kv_str(pk, "t", t);
}

/* A str that is always valid UTF-8 (invalid bytes become U+FFFD, like
 * Rust's from_utf8_lossy) and at most max bytes (then cut with "…"). */
int
runner_pack_text(msgpack_packer *pk, const char *s, size_t n, size_t max)
{
	static const char repl[] = "\xef\xbf\xbd", ell[] = "\xe2\x80\xa6";
	char *out;
	size_t o = 0, i = 0;
	int rc;

	if (n <= max && runner_utf8_valid(s, n))
		return mp_strn(pk, s, n);
	out = malloc((n < max ? n : max) * 3 + 8);
	if (out == NULL)
		return -1;
	while (i < n && o + 3 <= max) {
		size_t len = 1;

		/* Find the longest valid sequence starting here (1..4). */
		if ((unsigned char)s[i] >= 0x80) {
			for (len = 2; len <= 4 && i + len <= n; len++)
				if (runner_utf8_valid(s + i, len))
					break;
			if (len > 4 || i + len > n) {
				memcpy(out + o, repl, 3);
				o += 3;
				i++;
				continue;
			}
		}
		memcpy(out + o, s + i, len);
		o += len;
		i += len;
	}
	if (i < n) {
		memcpy(out + o, ell, 3);
		o += 3;
	}
	rc = mp_strn(pk, out, o);
	free(out);
	return rc;
}

int
runner_send(struct runner *r, const msgpack_sbuffer *sb)
{
	int rc;

	if (r->channel_dead)
		return -1;
	rc = frame_write_sbuf(r->fd, sb, FRAME_MAX_RUNNER);
	if (rc == FRAME_OK)
		return 0;
	if (rc == FRAME_OVERSIZE) {
		errno = EMSGSIZE;
		return -1;
	}
	fprintf(stderr, "provium --runner: runner channel: %s%s%s\n",
	    frame_strerror(rc), rc == FRAME_IO ? ": " : "",
	    rc == FRAME_IO ? strerror(errno) : "");
	r->channel_dead = true;
	return -1;
}

int
runner_send_simple(struct runner *r, const char *t, const char *k,
    const char *v)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	runner_pack_begin(&sb, &pk, t, k != NULL);
	if (k != NULL) {
		mp_str(&pk, k);
		runner_pack_text(&pk, v, strlen(v), RUNNER_REASON_MAX);
	}
	rc = runner_send(r, &sb);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static char *
str2(const char *a, const char *b, const char *c)
{
	char *s = NULL;

	if (asprintf(&s, "%s%s%s", a, b, c) < 0)
		return NULL;
	return s;
}

/* Reads frames until the answer to request `id`; *err on failure. */
static int
await_answer(struct runner *r, const char *t, uint64_t id, char **err)
{
	char ok[32], bad[32];
	uint8_t *body;
	size_t len;
	msgpack_unpacked u;
	const msgpack_object *m;
	uint64_t got;
	int rc;

	snprintf(ok, sizeof ok, "%s_ok", t);
	snprintf(bad, sizeof bad, "%s_err", t);
	rc = frame_read(r->fd, FRAME_MAX_RUNNER, &body, &len);
	if (rc != FRAME_OK) {
		r->channel_dead = true;
		*err = str2("runner channel closed while waiting for `", ok,
		    "`");
		return -1;
	}
	msgpack_unpacked_init(&u);
	rc = -1;
	if (frame_decode(body, len, &u, &m) != FRAME_OK) {
		*err = str2("runner channel: malformed frame while waiting "
		    "for `", ok, "`");
	} else if (mp_get_u64(m, "id", &got) != 0 || got != id ||
	    (!mp_obj_is_str(mp_get(m, "t"), ok) &&
	    !mp_obj_is_str(mp_get(m, "t"), bad))) {
		*err = str2("runner channel: unexpected message while "
		    "waiting for `", ok, "`");
	} else if (mp_obj_is_str(mp_get(m, "t"), ok)) {
		rc = 0;
	} else {
		const msgpack_object *msg = mp_get(m, "message");

		*err = msg != NULL ? mp_obj_strdup(msg) : NULL;
		if (*err == NULL)
			*err = str2(t, " refused by the supervisor", "");
	}
	msgpack_unpacked_destroy(&u);
	free(body);
	if (rc != 0 && *err == NULL)
		*err = strdup("out of memory");
	return rc;
}

int
runner_request(struct runner *r, const char *t, uint64_t memory_bytes,
    unsigned cpus, const char *what, char **err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint64_t id = ++r->next_id;
	int64_t t0 = runner_now_ns();
	int rc;

	*err = NULL;
	runner_pack_begin(&sb, &pk, t, what != NULL ? 4 : 3);
	mp_kv_u64(&pk, "id", id);
	mp_kv_u64(&pk, "memory_bytes", memory_bytes);
	mp_kv_u64(&pk, "cpus", cpus);
	if (what != NULL)
		mp_kv_str(&pk, "what", what);
	rc = runner_send(r, &sb);
	msgpack_sbuffer_destroy(&sb);
	if (rc != 0) {
		*err = str2("cannot send `", t, "` to the supervisor: runner "
		    "channel closed");
		return -1;
	}
	rc = await_answer(r, t, id, err);
	/* Queueing for the pool is not the test's fault (upstream). */
	if (r->deadline_ns != 0)
		r->deadline_ns += runner_now_ns() - t0;
	return rc;
}

int
runner_release(struct runner *r, uint64_t memory_bytes, unsigned cpus)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	runner_pack_begin(&sb, &pk, "release", 2);
	mp_kv_u64(&pk, "memory_bytes", memory_bytes);
	mp_kv_u64(&pk, "cpus", cpus);
	rc = runner_send(r, &sb);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

int64_t
runner_deadline_ms(struct runner *r)
{
	int64_t left;

	if (r->deadline_ns == 0)
		return -1;
	if (r->timed_out)
		return 0;
	left = r->deadline_ns - runner_now_ns();
	return left <= 0 ? 0 : (left + 999999) / 1000000;
}

/* ---- start ----------------------------------------------------------- */

static int
str_item(const msgpack_object *e, void *slot)
{
	char **out = slot;

	if (e->type != MSGPACK_OBJECT_STR)
		return -1;
	*out = mp_obj_strdup(e);
	return *out == NULL ? -1 : 0;
}

static int
kv_item(const msgpack_object *e, void *slot)
{
	struct runner_kv *kv = slot;
	const msgpack_object *k = mp_get(e, "key"), *v = mp_get(e, "value");

	if (k == NULL || v == NULL || k->type != MSGPACK_OBJECT_STR ||
	    v->type != MSGPACK_OBJECT_STR)
		return -1;
	kv->key = mp_obj_strdup(k);
	kv->value = mp_obj_strdup(v);
	return kv->key == NULL || kv->value == NULL ? -1 : 0;
}

/* opts[key]: nil/absent, or an array whose items item() converts into a
 * calloc'd vector with one zeroed sentinel (so a half-parsed list frees). */
static int
list_opt(const msgpack_object *opts, const char *key, size_t size,
    int (*item)(const msgpack_object *, void *), void *outp, size_t *n)
{
	const msgpack_object *a = mp_get(opts, key);
	char *v;

	if (a == NULL || a->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (a->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	v = calloc(a->via.array.size + 1, size);
	if (v == NULL)
		return -1;
	memcpy(outp, &v, sizeof v);
	for (uint32_t i = 0; i < a->via.array.size; i++) {
		if (item(&a->via.array.ptr[i], v + i * size) != 0)
			return -1;
		(*n)++;
	}
	return 0;
}

static int
opt_str(const msgpack_object *opts, const char *key, const char *dflt,
    char **out)
{
	const msgpack_object *o = mp_get(opts, key);

	if (o == NULL || o->type == MSGPACK_OBJECT_NIL) {
		*out = dflt != NULL ? strdup(dflt) : NULL;
		return dflt != NULL && *out == NULL ? -1 : 0;
	}
	if (o->type != MSGPACK_OBJECT_STR)
		return -1;
	*out = mp_obj_strdup(o);
	return *out == NULL ? -1 : 0;
}

static int
opt_bool(const msgpack_object *opts, const char *key, bool *out)
{
	const msgpack_object *o = mp_get(opts, key);

	if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return -1;
	*out = o->via.boolean;
	return 0;
}

int
runner_parse_start(struct runner *r, const msgpack_object *m, char **err)
{
	const msgpack_object *opts;
	const char *bad = NULL;
	uint64_t v;
	char *slash;

	if (!mp_obj_is_str(mp_get(m, "t"), "start"))
		bad = "first frame is not `start`";
	else if (mp_get_u64(m, "v", &v) != 0 || v != 1)
		bad = "`start.v` is not 1 (runner channel version mismatch)";
	else if ((r->path = mp_obj_strdup(mp_get(m, "path"))) == NULL ||
	    mp_get(m, "path")->type != MSGPACK_OBJECT_STR)
		bad = "`start.path` missing or not a string";
	if (bad == NULL) {
		const msgpack_object *d = mp_get(m, "display");

		r->display = d != NULL && d->type == MSGPACK_OBJECT_STR ?
		    mp_obj_strdup(d) : strdup(r->path);
		opts = mp_get(m, "opts");
		if (r->display == NULL)
			bad = "out of memory";
		else if (opts != NULL && opts->type != MSGPACK_OBJECT_MAP)
			bad = "`start.opts` is not a map";
		else if (opt_str(opts, "vmm", "qemu", &r->vmm) ||
		    opt_str(opts, "accel", "auto", &r->accel) ||
		    opt_str(opts, "config", NULL, &r->config) ||
		    opt_bool(opts, "verbose", &r->opts.verbose) ||
		    opt_bool(opts, "include_slow", &r->filter.include_slow) ||
		    list_opt(opts, "tag", sizeof(char *), str_item,
		    &r->filter.tag, &r->filter.ntag) ||
		    list_opt(opts, "no_tag", sizeof(char *), str_item,
		    &r->filter.no_tag, &r->filter.nno_tag) ||
		    list_opt(opts, "tag_meta", sizeof(struct runner_kv),
		    kv_item, &r->filter.tag_meta, &r->filter.ntag_meta) ||
		    list_opt(opts, "no_tag_meta", sizeof(struct runner_kv),
		    kv_item, &r->filter.no_tag_meta, &r->filter.nno_tag_meta))
			bad = "`start.opts` has a field of the wrong type";
	}
	if (bad != NULL) {
		*err = strdup(bad);
		return -1;
	}
	r->opts.vmm = r->vmm;
	r->opts.accel = r->accel;
	r->opts.config = r->config;
	r->opts.include_slow = r->filter.include_slow;
	r->dir = strdup(r->path);
	if (r->dir == NULL) {
		*err = strdup("out of memory");
		return -1;
	}
	slash = strrchr(r->dir, '/');
	if (slash == NULL)
		strcpy(r->dir, ".");
	else if (slash == r->dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return 0;
}

/* Lists are calloc'd with a zeroed sentinel, also when half parsed. */
static void
free_strs(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
free_kvs(struct runner_kv *v)
{
	for (size_t i = 0; v != NULL && (v[i].key || v[i].value); i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

void
runner_free(struct runner *r)
{
	runner_test_reset(r);
	for (size_t i = 0; i < r->ntests; i++)
		free(r->tests[i].name);
	free(r->tests);
	free(r->todo_reason);
	free(r->path);
	free(r->display);
	free(r->dir);
	free(r->vmm);
	free(r->config);
	free(r->accel);
	free_strs(r->filter.tag);
	free_strs(r->filter.no_tag);
	free_kvs(r->filter.tag_meta);
	free_kvs(r->filter.no_tag_meta);
}
