/*
 * meta.c: a test's meta table as a MetaMap (seed 001), and selection.
 *
 * MetaMap is a BTreeMap upstream, so map keys are packed sorted: the same
 * meta gives the same bytes.  A table with a sequence part (#t > 0) is an
 * array; any other table is a map of its string keys.  Lua strings are
 * str when valid UTF-8, else bin.  Functions, userdata, threads and
 * nesting deeper than RUNNER_META_DEPTH (cycles) become nil.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/mp.h"
#include "runner/runner_int.h"

bool
runner_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	while (p < e) {
		unsigned c = *p;
		size_t len, i;
		unsigned cp;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
		else return false;
		if ((size_t)(e - p) < len)
			return false;
		for (i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* Overlongs, surrogates, > U+10FFFF. */
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		p += len;
	}
	return true;
}

struct key { const char *s; size_t n; };

static int
keycmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);

	if (c != 0)
		return c;
	return (x->n > y->n) - (x->n < y->n);
}

static int pack_value(lua_State *L, int idx, msgpack_packer *pk, int depth);

/* The string-keyed entries of the table at idx, sorted by key. */
static int
pack_map(lua_State *L, int idx, msgpack_packer *pk, int depth)
{
	struct key *keys = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 0;

	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			continue;
		if (n == cap) {
			struct key *k;

			cap = cap ? cap * 2 : 8;
			k = realloc(keys, cap * sizeof *keys);
			if (k == NULL) {
				lua_pop(L, 1);
				free(keys);
				return -1;
			}
			keys = k;
		}
		/* Safe: the table keeps these strings alive. */
		keys[n].s = lua_tolstring(L, -1, &keys[n].n);
		n++;
	}
	if (n > 1)
		qsort(keys, n, sizeof *keys, keycmp);
	rc = msgpack_pack_map(pk, n);
	for (i = 0; rc == 0 && i < n; i++) {
		rc = mp_strn(pk, keys[i].s, keys[i].n);
		lua_pushlstring(L, keys[i].s, keys[i].n);
		lua_rawget(L, idx);
		if (rc == 0)
			rc = pack_value(L, lua_gettop(L), pk, depth + 1);
		lua_pop(L, 1);
	}
	free(keys);
	return rc;
}

static int
pack_value(lua_State *L, int idx, msgpack_packer *pk, int depth)
{
	size_t len;
	const char *s;

	switch (lua_type(L, idx)) {
	case LUA_TBOOLEAN:
		return lua_toboolean(L, idx) ? msgpack_pack_true(pk) :
		    msgpack_pack_false(pk);
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return msgpack_pack_int64(pk, lua_tointeger(L, idx));
		return msgpack_pack_double(pk, lua_tonumber(L, idx));
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		return runner_utf8_valid(s, len) ? mp_strn(pk, s, len) :
		    mp_bin(pk, s, len);
	case LUA_TTABLE:
		if (depth >= RUNNER_META_DEPTH || !lua_checkstack(L, 4))
			break;
		len = lua_rawlen(L, idx);
		if (len > 0) {
			if (msgpack_pack_array(pk, len) != 0)
				return -1;
			for (size_t i = 1; i <= len; i++) {
				int rc;

				lua_rawgeti(L, idx, (lua_Integer)i);
				rc = pack_value(L, lua_gettop(L), pk, depth + 1);
				lua_pop(L, 1);
				if (rc != 0)
					return rc;
			}
			return 0;
		}
		return pack_map(L, idx, pk, depth);
	default:
		break;
	}
	return msgpack_pack_nil(pk);
}

int
runner_meta_pack(lua_State *L, int idx, msgpack_packer *pk)
{
	idx = lua_absindex(L, idx);
	if (!lua_istable(L, idx))
		return msgpack_pack_map(pk, 0);
	return pack_map(L, idx, pk, 0);
}

/* ---- selection (upstream's TestFilter::should_skip, on the Lua table) */

/* meta[key] == true, or a non-zero integer. */
static bool
truthy_flag(lua_State *L, int meta)
{
	bool r = false;

	if (lua_type(L, -1) == LUA_TBOOLEAN)
		r = lua_toboolean(L, -1);
	else if (lua_isinteger(L, -1))
		r = lua_tointeger(L, -1) != 0;
	(void)meta;
	return r;
}

/* meta[key] is the string want, or an array holding it. */
static bool
field_contains(lua_State *L, int meta, const char *key, const char *want)
{
	bool found = false;

	lua_getfield(L, meta, key);
	if (lua_type(L, -1) == LUA_TSTRING) {
		found = strcmp(lua_tostring(L, -1), want) == 0;
	} else if (lua_istable(L, -1)) {
		size_t n = lua_rawlen(L, -1);

		for (size_t i = 1; i <= n && !found; i++) {
			lua_rawgeti(L, -1, (lua_Integer)i);
			found = lua_type(L, -1) == LUA_TSTRING &&
			    strcmp(lua_tostring(L, -1), want) == 0;
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	return found;
}

static bool
any_tag(lua_State *L, int meta, char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (field_contains(L, meta, "tags", list[i]))
			return true;
	return false;
}

/* Rust's {:?} of a Vec<String>: ["a", "b"]. */
static void
debug_list(char *buf, size_t n, char **list, size_t cnt)
{
	size_t o = 0;

	o += (size_t)snprintf(buf + o, n - o, "[");
	for (size_t i = 0; i < cnt && o < n; i++) {
		o += (size_t)snprintf(buf + o, n - o, "%s\"", i ? ", " : "");
		for (const char *p = list[i]; *p && o + 3 < n; p++) {
			if (*p == '"' || *p == '\\')
				buf[o++] = '\\';
			buf[o++] = *p;
		}
		if (o < n)
			o += (size_t)snprintf(buf + o, n - o, "\"");
	}
	if (o < n)
		snprintf(buf + o, n - o, "]");
}

const char *
runner_select(lua_State *L, int meta, const struct runner_filter *f,
    char *buf, size_t n)
{
	char list[512];
	bool flag;

	meta = lua_absindex(L, meta);
	if (!lua_istable(L, meta))
		return NULL;
	lua_getfield(L, meta, "skip");
	if (lua_type(L, -1) == LUA_TSTRING) {
		snprintf(buf, n, "skipped: %s", lua_tostring(L, -1));
		lua_pop(L, 1);
		return buf;
	}
	flag = truthy_flag(L, meta);
	lua_pop(L, 1);
	if (flag)
		return snprintf(buf, n, "skipped (meta.skip)"), buf;
	if (!f->include_slow) {
		lua_getfield(L, meta, "slow");
		flag = truthy_flag(L, meta);
		lua_pop(L, 1);
		if (flag)
			return snprintf(buf, n, "filtered: slow tests skipped "
			    "(pass --include-slow)"), buf;
	}
	if (f->nno_tag > 0 && any_tag(L, meta, f->no_tag, f->nno_tag)) {
		debug_list(list, sizeof list, f->no_tag, f->nno_tag);
		return snprintf(buf, n, "filtered: matched --no-tag (%s)",
		    list), buf;
	}
	if (f->ntag > 0 && !any_tag(L, meta, f->tag, f->ntag)) {
		debug_list(list, sizeof list, f->tag, f->ntag);
		return snprintf(buf, n, "filtered: did not match --tag (%s)",
		    list), buf;
	}
	for (size_t i = 0; i < f->nno_tag_meta; i++) {
		const struct runner_kv *kv = &f->no_tag_meta[i];

		if (field_contains(L, meta, kv->key, kv->value))
			return snprintf(buf, n, "filtered: matched "
			    "--no-tag-meta (%s=%s)", kv->key, kv->value), buf;
	}
	/* Same key: OR; different keys: AND.  Keys in sorted order, as
	 * upstream walks a BTreeSet, so the reason names the same key. */
	const char *failed = NULL;
	for (size_t i = 0; i < f->ntag_meta; i++) {
		const char *k = f->tag_meta[i].key;
		bool any = false;

		if (failed != NULL && strcmp(k, failed) >= 0)
			continue;
		for (size_t j = 0; j < f->ntag_meta && !any; j++)
			if (strcmp(f->tag_meta[j].key, k) == 0)
				any = field_contains(L, meta, k,
				    f->tag_meta[j].value);
		if (!any)
			failed = k;
	}
	if (failed != NULL)
		return snprintf(buf, n, "filtered: did not match any "
		    "--tag-meta %s=\xe2\x80\xa6", failed), buf;
	return NULL;
}
