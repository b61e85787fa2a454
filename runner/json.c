/*
 * json.c: the `json` global (upstream §4.1).
 *
 * encode: nil -> null; a table whose keys are all positive integers is an
 * array (holes become null), any other non-empty table an object (keys
 * sorted, so output is stable; integer keys written as strings); the
 * empty table is {}.  Integers keep 64 bits; floats use the shortest text
 * that reads back to the same double.  Non-UTF-8 strings, NaN/inf and
 * functions/userdata are errors naming the problem.
 * decode (jansson): null -> nil, so object null keys are dropped and array
 * nulls become holes; integers stay integers.
 *
 * Output is built in a userdata so a Lua error half-way frees it via __gc.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "runner/runner_int.h"

#define JSON_MAX_DEPTH 128
#define JBUF_MT "provium.jsonbuf"
#define JVAL_MT "provium.jsonval"

struct jbuf { char *p; size_t n, cap; };

static int
jbuf_gc(lua_State *L)
{
	struct jbuf *b = lua_touserdata(L, 1);

	free(b->p);
	b->p = NULL;
	return 0;
}

static void
put(lua_State *L, struct jbuf *b, const char *s, size_t n)
{
	if (b->cap - b->n < n) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap - b->n < n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL)
			luaL_error(L, "json.encode: out of memory");
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void
put_str(lua_State *L, struct jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	if (!runner_utf8_valid(s, n))
		luaL_error(L, "json.encode: string is not valid UTF-8");
	put(L, b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', 0 };
		size_t elen = 2;

		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			if (c >= 0x20) {
				run++;
				continue;
			}
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		put(L, b, s + i - run, run);
		run = 0;
		put(L, b, esc, elen);
	}
	put(L, b, s + n - run, run);
	put(L, b, "\"", 1);
}

static void
put_number(lua_State *L, struct jbuf *b, int idx)
{
	char num[40];
	double d;

	if (lua_isinteger(L, idx)) {
		snprintf(num, sizeof num, "%" PRId64,
		    (int64_t)lua_tointeger(L, idx));
	} else {
		d = lua_tonumber(L, idx);
		if (!isfinite(d))
			luaL_error(L, "json.encode: cannot encode NaN or "
			    "infinity");
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(num, sizeof num, "%.*g", prec, d);
			if (strtod(num, NULL) == d)
				break;
		}
		if (strpbrk(num, ".e") == NULL)
			strcat(num, ".0");
	}
	put(L, b, num, strlen(num));
}

static void encode(lua_State *L, struct jbuf *b, int idx, int depth);

/* 0: not an array; else the largest key. */
static lua_Integer
array_len(lua_State *L, int idx)
{
	lua_Integer max = 0;

	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
			lua_pop(L, 1);
			return 0;
		}
		if (lua_tointeger(L, -1) > max)
			max = lua_tointeger(L, -1);
	}
	return max;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
encode_object(lua_State *L, struct jbuf *b, int idx, int depth)
{
	int keys, n = 0;

	/* Collect the keys as strings in a table, then sort in Lua. */
	lua_newtable(L);
	keys = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TSTRING || lua_isinteger(L, -1)) {
			lua_pushvalue(L, -1);
			lua_rawseti(L, keys, ++n);
		} else {
			luaL_error(L, "json.encode: table key must be a string "
			    "or an integer, got %s", luaL_typename(L, -1));
		}
	}
	/* Sort by text; integer keys compare as their decimal form. */
	{
		const char **v = lua_newuserdatauv(L, (size_t)n * sizeof *v + 1, 0);

		for (int i = 1; i <= n; i++) {
			lua_rawgeti(L, keys, i);
			if (lua_isinteger(L, -1)) {
				lua_pushfstring(L, "%I", lua_tointeger(L, -1));
				lua_rawseti(L, keys, i);
				lua_pop(L, 1);
				lua_rawgeti(L, keys, i);
			}
			v[i - 1] = lua_tostring(L, -1);
			lua_pop(L, 1);
		}
		qsort(v, (size_t)n, sizeof *v, cmp_str);
		put(L, b, "{", 1);
		for (int i = 0; i < n; i++) {
			const char *k = v[i];
			lua_Integer ik;
			char *end;

			if (i)
				put(L, b, ",", 1);
			put_str(L, b, k, strlen(k));
			put(L, b, ":", 1);
			lua_pushstring(L, k);
			lua_rawget(L, idx);
			if (lua_isnil(L, -1)) {
				/* It was an integer key. */
				lua_pop(L, 1);
				ik = (lua_Integer)strtoll(k, &end, 10);
				lua_rawgeti(L, idx, ik);
			}
			encode(L, b, lua_gettop(L), depth + 1);
			lua_pop(L, 1);
		}
		put(L, b, "}", 1);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

static void
encode(lua_State *L, struct jbuf *b, int idx, int depth)
{
	size_t len;
	const char *s;
	lua_Integer n;

	if (depth > JSON_MAX_DEPTH)
		luaL_error(L, "json.encode: nesting deeper than %d (cyclic "
		    "table?)", JSON_MAX_DEPTH);
	luaL_checkstack(L, 8, "json.encode");
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		put(L, b, "null", 4);
		break;
	case LUA_TBOOLEAN:
		if (lua_toboolean(L, idx))
			put(L, b, "true", 4);
		else
			put(L, b, "false", 5);
		break;
	case LUA_TNUMBER:
		put_number(L, b, idx);
		break;
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		put_str(L, b, s, len);
		break;
	case LUA_TTABLE:
		n = array_len(L, idx);
		if (n == 0) {
			encode_object(L, b, idx, depth);
			break;
		}
		if (n > (1 << 24))
			luaL_error(L, "json.encode: sparse array index %I too "
			    "large", n);
		put(L, b, "[", 1);
		for (lua_Integer i = 1; i <= n; i++) {
			if (i > 1)
				put(L, b, ",", 1);
			lua_rawgeti(L, idx, i);
			encode(L, b, lua_gettop(L), depth + 1);
			lua_pop(L, 1);
		}
		put(L, b, "]", 1);
		break;
	default:
		luaL_error(L, "json.encode: cannot encode a %s value",
		    luaL_typename(L, idx));
	}
}

static int
json_encode(lua_State *L)
{
	struct jbuf *b;

	lua_settop(L, 1);
	b = lua_newuserdatauv(L, sizeof *b, 0);
	memset(b, 0, sizeof *b);
	luaL_setmetatable(L, JBUF_MT);
	encode(L, b, 1, 0);
	lua_pushlstring(L, b->p, b->n);
	return 1;
}

static void
decode(lua_State *L, json_t *v)
{
	luaL_checkstack(L, 4, "json.decode");
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *e;

		lua_createtable(L, 0, (int)json_object_size(v));
		json_object_foreach(v, k, e) {
			if (json_is_null(e))
				continue;
			lua_pushstring(L, k);
			decode(L, e);
			lua_rawset(L, -3);
		}
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *e;

		lua_createtable(L, (int)json_array_size(v), 0);
		json_array_foreach(v, i, e) {
			if (json_is_null(e))
				continue;
			decode(L, e);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	}
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(v));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(v));
		break;
	case JSON_TRUE:
		lua_pushboolean(L, 1);
		break;
	case JSON_FALSE:
		lua_pushboolean(L, 0);
		break;
	default:
		lua_pushnil(L);
	}
}

static int
jval_gc(lua_State *L)
{
	json_t **v = lua_touserdata(L, 1);

	json_decref(*v);
	*v = NULL;
	return 0;
}

static int
json_decode(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	json_error_t e;
	json_t **v;

	v = lua_newuserdatauv(L, sizeof *v, 0);
	*v = NULL;
	luaL_setmetatable(L, JVAL_MT);
	*v = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (*v == NULL)
		return luaL_error(L, "json.decode: %s (line %d, column %d)",
		    e.text, e.line, e.column);
	decode(L, *v);
	return 1;
}

void
runner_json_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "encode", json_encode },
		{ "decode", json_decode },
		{ NULL, NULL },
	};

	luaL_newmetatable(L, JBUF_MT);
	lua_pushcfunction(L, jbuf_gc);
	lua_setfield(L, -2, "__gc");
	luaL_newmetatable(L, JVAL_MT);
	lua_pushcfunction(L, jval_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 2);
	luaL_newlib(L, fns);
	lua_setglobal(L, "json");
}
