/* event.c: table-driven encoder and strict decoder for seed-001 events. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "mp.h"

/* Field types on the wire. */
enum ftype { T_STR, T_STRS, T_U64, T_U32, T_RES, T_OPT_RES, T_META };

/* Which struct member a wire field lives in. */
enum fslot {
	S_PATH, S_NAME, S_REASON, S_STATUS, S_CONSOLE, S_PROFILE, S_HELD_BY,
	S_REFS, S_DECLARED, S_AMOUNT, S_AMOUNT2, S_DURATION, S_MEMORY,
	S_SNAPSHOT, S_CID, S_META
};

struct field {
	const char *wire;
	uint32_t wlen;      /* strlen(wire): key matching without strlen */
	enum ftype type;
	enum fslot slot;
};

#define MAXF 6
struct kind_desc {
	const char *name;
	size_t nlen;
	struct field f[MAXF];
	int nf;
};

#define F(w, t, s) { w, sizeof(w) - 1, t, s }
#define K(n) n, sizeof(n) - 1

static const struct kind_desc kinds[EVENT_KIND_COUNT] = {
	[EVENT_FILE_DISCOVERED] = { K("file_discovered"), {
		F("path", T_STR, S_PATH),
		F("fixture_refs", T_STRS, S_REFS),
		F("declared_claim", T_OPT_RES, S_DECLARED) }, 3 },
	[EVENT_FILE_DISPATCHED] = { K("file_dispatched"), {
		F("path", T_STR, S_PATH),
		F("reservation", T_RES, S_AMOUNT) }, 2 },
	[EVENT_FILE_BLOCKED] = { K("file_blocked"), {
		F("path", T_STR, S_PATH),
		F("waiting_for", T_RES, S_AMOUNT),
		F("reason", T_STR, S_REASON) }, 3 },
	[EVENT_FILE_COMPLETED] = { K("file_completed"), {
		F("path", T_STR, S_PATH),
		F("status", T_STR, S_STATUS),
		F("duration_ns", T_U64, S_DURATION) }, 3 },
	[EVENT_TEST_STARTED] = { K("test_started"), {
		F("path", T_STR, S_PATH),
		F("name", T_STR, S_NAME),
		F("meta", T_META, S_META) }, 3 },
	[EVENT_TEST_PASSED] = { K("test_passed"), {
		F("path", T_STR, S_PATH),
		F("name", T_STR, S_NAME),
		F("duration_ns", T_U64, S_DURATION),
		F("meta", T_META, S_META) }, 4 },
	[EVENT_TEST_FAILED] = { K("test_failed"), {
		F("path", T_STR, S_PATH),
		F("name", T_STR, S_NAME),
		F("duration_ns", T_U64, S_DURATION),
		F("reason", T_STR, S_REASON),
		F("console_excerpt", T_STR, S_CONSOLE),
		F("meta", T_META, S_META) }, 6 },
	[EVENT_TEST_SKIPPED] = { K("test_skipped"), {
		F("path", T_STR, S_PATH),
		F("name", T_STR, S_NAME),
		F("reason", T_STR, S_REASON),
		F("meta", T_META, S_META) }, 4 },
	[EVENT_VM_SPAWNED] = { K("vm_spawned"), {
		F("file", T_STR, S_PATH),
		F("vm_name", T_STR, S_NAME),
		F("profile", T_STR, S_PROFILE),
		F("memory_bytes", T_U64, S_MEMORY),
		F("cid", T_U32, S_CID) }, 5 },
	[EVENT_VM_SHUTDOWN] = { K("vm_shutdown"), {
		F("file", T_STR, S_PATH),
		F("vm_name", T_STR, S_NAME),
		F("duration_ns", T_U64, S_DURATION) }, 3 },
	[EVENT_POOL_STATE] = { K("pool_state"), {
		F("used", T_RES, S_AMOUNT),
		F("available", T_RES, S_AMOUNT2) }, 2 },
	[EVENT_CLAIM_ACQUIRED] = { K("claim_acquired"), {
		F("path", T_STR, S_PATH),
		F("amount", T_RES, S_AMOUNT) }, 2 },
	[EVENT_CLAIM_RELEASED] = { K("claim_released"), {
		F("path", T_STR, S_PATH),
		F("amount", T_RES, S_AMOUNT) }, 2 },
	[EVENT_FIXTURE_BUILD_STARTED] = { K("fixture_build_started"), {
		F("path", T_STR, S_PATH) }, 1 },
	[EVENT_FIXTURE_BUILD_DONE] = { K("fixture_build_done"), {
		F("path", T_STR, S_PATH),
		F("duration_ns", T_U64, S_DURATION),
		F("snapshot_bytes", T_U64, S_SNAPSHOT) }, 3 },
	[EVENT_FIXTURE_BUILD_WAITING] = { K("fixture_build_waiting"), {
		F("path", T_STR, S_PATH),
		F("held_by_file", T_STR, S_HELD_BY) }, 2 },
	[EVENT_FIXTURE_CACHE_HIT] = { K("fixture_cache_hit"), {
		F("path", T_STR, S_PATH) }, 1 },
};

const char *
event_kind_name(enum event_kind k)
{
	if ((unsigned)k >= EVENT_KIND_COUNT)
		return "?";
	return kinds[k].name;
}

int
event_kind_from_name(const char *name, size_t len)
{
	for (int k = 0; k < EVENT_KIND_COUNT; k++) {
		if (kinds[k].nlen == len &&
		    memcmp(kinds[k].name, name, len) == 0)
			return k;
	}
	return -1;
}

int64_t
event_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- MetaValue ---- */

void
meta_clear(struct meta_value *v)
{
	size_t i;

	switch (v->type) {
	case META_STR:
	case META_BYTES:
		free(v->u.s.p);
		break;
	case META_ARRAY:
		for (i = 0; i < v->u.arr.n; i++)
			meta_clear(&v->u.arr.v[i]);
		free(v->u.arr.v);
		break;
	case META_MAP:
		for (i = 0; i < v->u.map.n; i++) {
			free(v->u.map.e[i].key);
			meta_clear(&v->u.map.e[i].val);
		}
		free(v->u.map.e);
		break;
	default:
		break;
	}
	memset(v, 0, sizeof(*v));
}

static char *
dupn(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

int
meta_pack(msgpack_packer *pk, const struct meta_value *v)
{
	size_t i;

	switch (v->type) {
	case META_NULL:
		return msgpack_pack_nil(pk);
	case META_BOOL:
		return v->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	case META_INT:
		return msgpack_pack_int64(pk, v->u.i);
	case META_FLOAT:
		return msgpack_pack_double(pk, v->u.f);
	case META_STR:
		return mp_strn(pk, v->u.s.p, v->u.s.n);
	case META_BYTES:
		return mp_bin(pk, v->u.s.p, v->u.s.n);
	case META_ARRAY:
		if (msgpack_pack_array(pk, v->u.arr.n))
			return -1;
		for (i = 0; i < v->u.arr.n; i++)
			if (meta_pack(pk, &v->u.arr.v[i]))
				return -1;
		return 0;
	case META_MAP:
		if (msgpack_pack_map(pk, v->u.map.n))
			return -1;
		for (i = 0; i < v->u.map.n; i++) {
			if (mp_strn(pk, v->u.map.e[i].key, v->u.map.e[i].key_len) ||
			    meta_pack(pk, &v->u.map.e[i].val))
				return -1;
		}
		return 0;
	}
	return -1;
}

int
meta_copy(struct meta_value *dst, const struct meta_value *src)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	size_t off = 0;
	int rc = -1;

	/* Through msgpack: one code path to trust instead of two. */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_unpacked_init(&u);
	if (meta_pack(&pk, src) == 0 &&
	    msgpack_unpack_next(&u, sb.data, sb.size, &off) ==
	    MSGPACK_UNPACK_SUCCESS)
		rc = meta_from_msgpack(&u.data, dst);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

const struct meta_value *
meta_get(const struct meta_value *map, const char *key)
{
	size_t i, n = strlen(key);

	if (map == NULL || map->type != META_MAP)
		return NULL;
	for (i = 0; i < map->u.map.n; i++) {
		if (map->u.map.e[i].key_len == n &&
		    memcmp(map->u.map.e[i].key, key, n) == 0)
			return &map->u.map.e[i].val;
	}
	return NULL;
}

/* ---- events ---- */

static char **
str_slot(struct event *ev, enum fslot s)
{
	switch (s) {
	case S_PATH: return &ev->path;
	case S_NAME: return &ev->name;
	case S_REASON: return &ev->reason;
	case S_STATUS: return &ev->status;
	case S_CONSOLE: return &ev->console_excerpt;
	case S_PROFILE: return &ev->profile;
	case S_HELD_BY: return &ev->held_by_file;
	default: return NULL;
	}
}

static uint64_t *
u64_slot(struct event *ev, enum fslot s)
{
	switch (s) {
	case S_DURATION: return &ev->duration_ns;
	case S_MEMORY: return &ev->memory_bytes;
	case S_SNAPSHOT: return &ev->snapshot_bytes;
	default: return NULL;
	}
}

static struct resource_amount *
res_slot(struct event *ev, enum fslot s)
{
	switch (s) {
	case S_AMOUNT: return &ev->amount;
	case S_AMOUNT2: return &ev->amount2;
	case S_DECLARED: return &ev->declared_claim;
	default: return NULL;
	}
}

static int
pack_res(msgpack_packer *pk, const struct resource_amount *r)
{
	return msgpack_pack_map(pk, 2) ||
	    mp_kv_u64(pk, "memory_bytes", r->memory_bytes) ||
	    mp_kv_u64(pk, "cpus", r->cpus) ? -1 : 0;
}

int
event_pack(msgpack_packer *pk, const struct event *cev)
{
	struct event *ev = (struct event *)(uintptr_t)cev; /* slots are read-only here */
	const struct kind_desc *d;
	const struct field *f;
	static const struct meta_value empty = { .type = META_MAP };
	int i;

	if ((unsigned)ev->kind >= EVENT_KIND_COUNT)
		return (errno = EINVAL), -1;
	d = &kinds[ev->kind];
	if (msgpack_pack_map(pk, 3) || mp_kv_i64(pk, "ts", ev->ts) ||
	    mp_kv_str(pk, "kind", d->name) || mp_str(pk, "payload") ||
	    msgpack_pack_map(pk, (size_t)d->nf))
		return -1;
	for (i = 0; i < d->nf; i++) {
		f = &d->f[i];
		if (mp_str(pk, f->wire))
			return -1;
		switch (f->type) {
		case T_STR: {
			const char *s = *str_slot(ev, f->slot);
			if (mp_str(pk, s ? s : ""))
				return -1;
			break;
		}
		case T_STRS:
			if (msgpack_pack_array(pk, ev->nfixture_refs))
				return -1;
			for (size_t j = 0; j < ev->nfixture_refs; j++)
				if (mp_str(pk, ev->fixture_refs[j]))
					return -1;
			break;
		case T_U64:
			if (msgpack_pack_uint64(pk, *u64_slot(ev, f->slot)))
				return -1;
			break;
		case T_U32:
			if (msgpack_pack_uint32(pk, ev->cid))
				return -1;
			break;
		case T_RES:
			if (pack_res(pk, res_slot(ev, f->slot)))
				return -1;
			break;
		case T_OPT_RES:
			if (!ev->has_declared_claim) {
				if (msgpack_pack_nil(pk))
					return -1;
			} else if (pack_res(pk, &ev->declared_claim)) {
				return -1;
			}
			break;
		case T_META:
			/* meta is always a map, never nil (upstream rejects nil) */
			if (meta_pack(pk, ev->meta.type == META_MAP ? &ev->meta : &empty))
				return -1;
			break;
		}
	}
	return 0;
}

int
event_encode(const struct event *ev, msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if (event_pack(&pk, ev) != 0) {
		msgpack_sbuffer_destroy(sb);
		return -1;
	}
	return 0;
}

void
event_clear(struct event *ev)
{
	size_t i;

	if (ev->arena) {        /* decoded: every string and meta node is in it */
		free(ev->arena);
		memset(ev, 0, sizeof(*ev));
		return;
	}
	free(ev->path);
	free(ev->name);
	free(ev->reason);
	free(ev->status);
	free(ev->console_excerpt);
	free(ev->profile);
	free(ev->held_by_file);
	for (i = 0; i < ev->nfixture_refs; i++)
		free(ev->fixture_refs[i]);
	free(ev->fixture_refs);
	meta_clear(&ev->meta);
	memset(ev, 0, sizeof(*ev));
}

/*
 * A decoded event keeps its strings, fixture_refs and meta tree in one
 * block (ev->arena): one malloc per event instead of one per string was
 * the largest cost of decoding after msgpack-c itself (bench/events).
 * ar_size() measures exactly what ar_take() later hands out.
 */
struct arena {
	char *p;
	size_t used, cap;
};

#define AR_ALIGN(n) (((n) + 7) & ~(size_t)7)

static void *
ar_take(struct arena *a, size_t n)
{
	void *r = a->p + a->used;

	a->used += AR_ALIGN(n);
	return r;
}

static char *
ar_str(struct arena *a, const char *p, size_t n)
{
	char *s = ar_take(a, n + 1);

	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* Bytes meta_build() takes from the arena for o (whatever its validity). */
static size_t
meta_size(const msgpack_object *o)
{
	size_t n = 0;
	uint32_t i;

	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		return AR_ALIGN((size_t)o->via.str.size + 1);
	case MSGPACK_OBJECT_BIN:
		return AR_ALIGN((size_t)o->via.bin.size + 1);
	case MSGPACK_OBJECT_ARRAY:
		n = AR_ALIGN(o->via.array.size * sizeof(struct meta_value));
		for (i = 0; i < o->via.array.size; i++)
			n += meta_size(&o->via.array.ptr[i]);
		return n;
	case MSGPACK_OBJECT_MAP:
		n = AR_ALIGN(o->via.map.size * sizeof(struct meta_entry));
		for (i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];
			if (kv->key.type == MSGPACK_OBJECT_STR)
				n += AR_ALIGN((size_t)kv->key.via.str.size + 1);
			n += meta_size(&kv->val);
		}
		return n;
	default:
		return 0;
	}
}

/* meta_build()'s memory: the event's arena, or malloc when a is NULL. */
static void *
m_alloc(struct arena *a, size_t n)
{
	return a ? ar_take(a, n) : calloc(1, n);
}

static char *
m_str(struct arena *a, const char *p, size_t n)
{
	return a ? ar_str(a, p, n) : dupn(p, n);
}

/*
 * One converter for both owners: into the arena (measured beforehand by
 * meta_size(), nothing to free) or malloc'd piece by piece, cleared here
 * on failure (a NULL).
 */
static int
meta_build(const msgpack_object *o, struct meta_value *out, struct arena *a)
{
	uint32_t i;

	memset(out, 0, sizeof(*out));
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		out->type = META_NULL;
		return 0;
	case MSGPACK_OBJECT_BOOLEAN:
		out->type = META_BOOL;
		out->u.b = o->via.boolean;
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		out->type = META_INT;
		return mp_obj_i64(o, &out->u.i);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		out->type = META_FLOAT;
		out->u.f = o->via.f64;
		return 0;
	case MSGPACK_OBJECT_STR:
		out->type = META_STR;
		out->u.s.n = o->via.str.size;
		out->u.s.p = m_str(a, o->via.str.ptr, o->via.str.size);
		return out->u.s.p ? 0 : -1;
	case MSGPACK_OBJECT_BIN:
		out->type = META_BYTES;
		out->u.s.n = o->via.bin.size;
		out->u.s.p = m_str(a, o->via.bin.ptr, o->via.bin.size);
		return out->u.s.p ? 0 : -1;
	case MSGPACK_OBJECT_ARRAY:
		out->type = META_ARRAY;
		if (o->via.array.size == 0)
			return 0;
		out->u.arr.v = m_alloc(a, o->via.array.size *
		    sizeof(*out->u.arr.v));
		if (out->u.arr.v == NULL)
			return -1;
		for (i = 0; i < o->via.array.size; i++) {
			out->u.arr.n = i + 1;
			if (meta_build(&o->via.array.ptr[i], &out->u.arr.v[i],
			    a) != 0)
				goto bad;
		}
		return 0;
	case MSGPACK_OBJECT_MAP:
		out->type = META_MAP;
		if (o->via.map.size == 0)
			return 0;
		out->u.map.e = m_alloc(a, o->via.map.size * sizeof(*out->u.map.e));
		if (out->u.map.e == NULL)
			return -1;
		for (i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];
			struct meta_entry *e = &out->u.map.e[i];

			out->u.map.n = i + 1;
			e->key = NULL;
			if (kv->key.type != MSGPACK_OBJECT_STR)
				goto bad;
			e->key_len = kv->key.via.str.size;
			e->key = m_str(a, kv->key.via.str.ptr, e->key_len);
			if (e->key == NULL || meta_build(&kv->val, &e->val, a) != 0)
				goto bad;
		}
		return 0;
	default:
		errno = EBADMSG;
		return -1;
	}
bad:
	if (a == NULL)
		meta_clear(out);
	errno = EBADMSG;
	return -1;
}

int
meta_from_msgpack(const msgpack_object *o, struct meta_value *out)
{
	return meta_build(o, out, NULL);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = EBADMSG;
	return -1;
}

static int
decode_res(const msgpack_object *o, struct resource_amount *r)
{
	uint64_t cpus;

	if (o->type != MSGPACK_OBJECT_MAP ||
	    mp_get_u64(o, "memory_bytes", &r->memory_bytes) != 0 ||
	    mp_get_u64(o, "cpus", &cpus) != 0 || cpus > UINT32_MAX)
		return -1;
	r->cpus = (uint32_t)cpus;
	return 0;
}

/* Bytes the arena needs for the fields found (wrong types count 0: they
 * fail in the fill pass). */
static size_t
fields_size(const struct kind_desc *d, const msgpack_object *const *v)
{
	size_t n = 0;
	uint32_t j;

	for (int i = 0; i < d->nf; i++) {
		if (v[i] == NULL)
			continue;
		switch (d->f[i].type) {
		case T_STR:
			if (v[i]->type == MSGPACK_OBJECT_STR)
				n += AR_ALIGN((size_t)v[i]->via.str.size + 1);
			break;
		case T_STRS:
			if (v[i]->type != MSGPACK_OBJECT_ARRAY)
				break;
			n += AR_ALIGN(v[i]->via.array.size * sizeof(char *));
			for (j = 0; j < v[i]->via.array.size; j++)
				if (v[i]->via.array.ptr[j].type == MSGPACK_OBJECT_STR)
					n += AR_ALIGN((size_t)
					    v[i]->via.array.ptr[j].via.str.size + 1);
			break;
		case T_META:
			if (v[i]->type == MSGPACK_OBJECT_MAP)
				n += meta_size(v[i]);
			break;
		default:
			break;
		}
	}
	return n;
}

static bool
key_is(const msgpack_object *k, const char *s, size_t n)
{
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
	    memcmp(k->via.str.ptr, s, n) == 0;
}

int
event_decode(const msgpack_object *frame, struct event *ev, char *err,
    size_t errlen)
{
	const msgpack_object *ts = NULL, *kind = NULL, *payload = NULL, *v;
	const msgpack_object *fv[MAXF] = { NULL };
	const struct kind_desc *d;
	const struct field *f;
	struct arena a = { NULL, 0, 0 };
	uint32_t j;
	int k, i;

	memset(ev, 0, sizeof(*ev));
	if (frame->type != MSGPACK_OBJECT_MAP)
		return fail(err, errlen, "frame is not a map");
	/* One pass over each map; the first of duplicate keys wins (mp_get). */
	for (j = 0; j < frame->via.map.size; j++) {
		const msgpack_object_kv *kv = &frame->via.map.ptr[j];

		if (!ts && key_is(&kv->key, "ts", 2))
			ts = &kv->val;
		else if (!kind && key_is(&kv->key, "kind", 4))
			kind = &kv->val;
		else if (!payload && key_is(&kv->key, "payload", 7))
			payload = &kv->val;
	}
	if (ts == NULL || mp_obj_i64(ts, &ev->ts) != 0)
		return fail(err, errlen, "frame: missing or non-integer `ts`");
	if (kind == NULL || kind->type != MSGPACK_OBJECT_STR)
		return fail(err, errlen, "frame: missing or non-string `kind`");
	k = event_kind_from_name(kind->via.str.ptr, kind->via.str.size);
	if (k < 0)
		return fail(err, errlen, "frame: unknown kind `%.*s`",
		    (int)kind->via.str.size, kind->via.str.ptr);
	ev->kind = (enum event_kind)k;
	d = &kinds[k];
	if (payload == NULL || payload->type != MSGPACK_OBJECT_MAP)
		return fail(err, errlen, "%s: missing or non-map `payload`",
		    d->name);
	for (j = 0; j < payload->via.map.size; j++) {
		const msgpack_object_kv *kv = &payload->via.map.ptr[j];

		if (kv->key.type != MSGPACK_OBJECT_STR)
			continue;
		for (i = 0; i < d->nf; i++) {
			if (key_is(&kv->key, d->f[i].wire, d->f[i].wlen)) {
				if (fv[i] == NULL)
					fv[i] = &kv->val;
				break;
			}
		}
	}
	if ((a.cap = fields_size(d, fv)) > 0) {
		if ((a.p = malloc(a.cap)) == NULL) {
			fail(err, errlen, "%s: out of memory", d->name);
			return (errno = ENOMEM), -1;
		}
		ev->arena = a.p;
	}
	for (i = 0; i < d->nf; i++) {
		f = &d->f[i];
		v = fv[i];
		if (v == NULL) {
			event_clear(ev);
			return fail(err, errlen, "%s: missing field `%s`",
			    d->name, f->wire);
		}
		switch (f->type) {
		case T_STR:
			if (v->type != MSGPACK_OBJECT_STR)
				goto bad;
			*str_slot(ev, f->slot) = ar_str(&a, v->via.str.ptr,
			    v->via.str.size);
			break;
		case T_STRS:
			if (v->type != MSGPACK_OBJECT_ARRAY)
				goto bad;
			if (v->via.array.size)
				ev->fixture_refs = ar_take(&a,
				    v->via.array.size * sizeof(char *));
			for (j = 0; j < v->via.array.size; j++) {
				const msgpack_object *s = &v->via.array.ptr[j];
				if (s->type != MSGPACK_OBJECT_STR)
					goto bad;
				ev->fixture_refs[j] = ar_str(&a, s->via.str.ptr,
				    s->via.str.size);
				ev->nfixture_refs = j + 1;
			}
			break;
		case T_U64:
			if (mp_obj_u64(v, u64_slot(ev, f->slot)) != 0)
				goto bad;
			break;
		case T_U32: {
			uint64_t c;
			if (mp_obj_u64(v, &c) != 0 || c > UINT32_MAX)
				goto bad;
			ev->cid = (uint32_t)c;
			break;
		}
		case T_RES:
			if (decode_res(v, res_slot(ev, f->slot)) != 0)
				goto bad;
			break;
		case T_OPT_RES:
			if (v->type == MSGPACK_OBJECT_NIL)
				break;
			if (decode_res(v, &ev->declared_claim) != 0)
				goto bad;
			ev->has_declared_claim = true;
			break;
		case T_META:
			if (v->type != MSGPACK_OBJECT_MAP ||
			    meta_build(v, &ev->meta, &a) != 0)
				goto bad;
			break;
		}
		continue;
bad:
		event_clear(ev);
		return fail(err, errlen, "%s: field `%s` has the wrong type",
		    d->name, f->wire);
	}
	if (ev->kind == EVENT_FILE_COMPLETED &&
	    strcmp(ev->status, EVENT_STATUS_PASSED) != 0 &&
	    strcmp(ev->status, EVENT_STATUS_FAILED) != 0 &&
	    strcmp(ev->status, EVENT_STATUS_TIMED_OUT) != 0 &&
	    strcmp(ev->status, EVENT_STATUS_CRASHED) != 0) {
		char s[64];
		snprintf(s, sizeof(s), "%s", ev->status);
		event_clear(ev);
		return fail(err, errlen, "file_completed: unknown status `%s`", s);
	}
	return 0;
}
