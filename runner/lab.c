/*
 * lab.c: the `provium` lab object (upstream §4.4, minus VMs).
 *
 * A lab is a full userdata with three user values: its name, its parent
 * lab (or nil) and a private table for extensions.  The VM API that lands
 * later hangs its methods on the shared method table and its `lab.<name>`
 * resolution on the lookup hook; see runner.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/runner_int.h"
#include "supervisor/size.h"

#define LAB_METHODS "provium.lab.methods"
#define LAB_LOOKUP  "provium.lab.lookup"
#define LAB_TIMEOUT "provium.timeout"  /* as assigned, read back */

enum { UV_NAME = 1, UV_PARENT = 2, UV_DATA = 3 };

bool
runner_lab_test(lua_State *L, int idx)
{
	return luaL_testudata(L, idx, RUNNER_LAB_MT) != NULL;
}

const char *
runner_lab_name(lua_State *L, int idx)
{
	const char *s;

	luaL_checkudata(L, idx, RUNNER_LAB_MT);
	lua_getiuservalue(L, idx, UV_NAME);
	s = lua_tostring(L, -1);  /* anchored by the lab */
	lua_pop(L, 1);
	return s;
}

void
runner_lab_push_parent(lua_State *L, int idx)
{
	luaL_checkudata(L, idx, RUNNER_LAB_MT);
	lua_getiuservalue(L, idx, UV_PARENT);
}

void
runner_lab_push_data(lua_State *L, int idx)
{
	luaL_checkudata(L, idx, RUNNER_LAB_MT);
	lua_getiuservalue(L, idx, UV_DATA);
}

void
runner_lab_find(lua_State *L, int idx, const char *table, const char *name,
    int *depth)
{
	int d = 0;

	idx = lua_absindex(L, idx);
	lua_pushvalue(L, idx);                          /* lab */
	while (!lua_isnil(L, -1)) {
		runner_lab_push_data(L, -1);            /* lab data */
		if (lua_getfield(L, -1, table) == LUA_TTABLE) {
			if (lua_getfield(L, -1, name) != LUA_TNIL) {
				lua_replace(L, -4);
				lua_pop(L, 2);
				*depth = d;
				return;
			}
			lua_pop(L, 1);
		}
		lua_pop(L, 2);                          /* lab */
		runner_lab_push_parent(L, -1);
		lua_remove(L, -2);
		d++;
	}
}

void
runner_lab_new(lua_State *L, const char *name, int parent_idx)
{
	if (parent_idx != 0)
		parent_idx = lua_absindex(L, parent_idx);
	lua_newuserdatauv(L, 1, 3);
	luaL_setmetatable(L, RUNNER_LAB_MT);
	lua_pushstring(L, name);
	lua_setiuservalue(L, -2, UV_NAME);
	if (parent_idx != 0)
		lua_pushvalue(L, parent_idx);
	else
		lua_pushnil(L);
	lua_setiuservalue(L, -2, UV_PARENT);
	lua_newtable(L);
	lua_setiuservalue(L, -2, UV_DATA);
}

void
runner_push_root_lab(lua_State *L, struct runner *r)
{
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->root_lab_ref);
}

void
runner_push_current_lab(lua_State *L, struct runner *r)
{
	if (r->scope_lab_ref != LUA_NOREF)
		lua_rawgeti(L, LUA_REGISTRYINDEX, r->scope_lab_ref);
	else
		runner_push_root_lab(L, r);
}

void
runner_lab_add_methods(lua_State *L, const luaL_Reg *fns)
{
	lua_getfield(L, LUA_REGISTRYINDEX, LAB_METHODS);
	luaL_setfuncs(L, fns, 0);
	lua_pop(L, 1);
}

void
runner_lab_set_lookup(lua_State *L, lua_CFunction f)
{
	lua_pushcfunction(L, f);
	lua_setfield(L, LUA_REGISTRYINDEX, LAB_LOOKUP);
}

static int
lab_index(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	const char *k;

	luaL_checkudata(L, 1, RUNNER_LAB_MT);
	lua_getfield(L, LUA_REGISTRYINDEX, LAB_METHODS);
	lua_pushvalue(L, 2);
	if (lua_rawget(L, -2) != LUA_TNIL)
		return 1;
	lua_pop(L, 2);
	k = lua_tostring(L, 2);
	if (lua_type(L, 2) == LUA_TSTRING && strcmp(k, "timeout") == 0) {
		lua_getfield(L, LUA_REGISTRYINDEX, LAB_TIMEOUT);
		return 1;
	}
	if (lua_type(L, 2) == LUA_TSTRING &&
	    strcmp(k, "reset_between_tests") == 0) {
		lua_pushboolean(L, r->reset_between_tests);
		return 1;
	}
	if (lua_getfield(L, LUA_REGISTRYINDEX, LAB_LOOKUP) == LUA_TNIL)
		return 1;
	lua_pushvalue(L, 1);
	lua_pushvalue(L, 2);
	lua_call(L, 2, 1);
	return 1;
}

static int
lab_newindex(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) :
	    NULL;
	char err[256];
	int64_t ns;

	if (k != NULL && strcmp(k, "timeout") == 0) {
		if (lua_isnil(L, 3)) {
			ns = 0;
		} else if (runner_dur_from_lua(L, 3, &ns, err, sizeof err) != 0) {
			return luaL_error(L, "provium.timeout: %s", err);
		}
		r->file_timeout_ns = ns;
		lua_pushvalue(L, 3);
		lua_setfield(L, LUA_REGISTRYINDEX, LAB_TIMEOUT);
		return 0;
	}
	if (k != NULL && strcmp(k, "reset_between_tests") == 0) {
		if (!lua_isnil(L, 3) && !lua_isboolean(L, 3))
			return luaL_error(L, "provium.reset_between_tests must "
			    "be a boolean, got %s", luaL_typename(L, 3));
		r->reset_between_tests = lua_toboolean(L, 3);
		return 0;
	}
	luaL_tolstring(L, 2, NULL);
	return luaL_error(L, "cannot set `provium.%s`: not a recognised "
	    "file-scope config key. Known keys: reset_between_tests, timeout",
	    lua_tostring(L, -1));
}

static int
lab_tostring(lua_State *L)
{
	lua_pushfstring(L, "lab: %s", runner_lab_name(L, 1));
	return 1;
}

/* memory = integer bytes or "512M"; cpus = integer; both optional. */
static uint64_t
claim_field(lua_State *L, const char *key, bool size_ok)
{
	uint64_t v = 0;
	char err[160];

	lua_getfield(L, 2, key);
	if (lua_isnil(L, -1)) {
		v = 0;
	} else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0) {
		v = (uint64_t)lua_tointeger(L, -1);
	} else if (size_ok && lua_type(L, -1) == LUA_TSTRING) {
		if (size_parse(lua_tostring(L, -1), &v, err, sizeof err) != 0)
			luaL_error(L, "claim: memory: %s", err);
	} else if (size_ok) {
		luaL_error(L, "claim: memory must be integer bytes or a size "
		    "like \"512M\" or \"2G\", got %s", luaL_tolstring(L, -1,
		    NULL));
	} else {
		luaL_error(L, "claim: %s must be a non-negative integer, got "
		    "%s", key, luaL_tolstring(L, -1, NULL));
	}
	lua_pop(L, 1);
	return v;
}

static int
lab_claim(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	uint64_t mem, cpus;
	char *err = NULL;

	luaL_checkudata(L, 1, RUNNER_LAB_MT);
	if (lua_isnoneornil(L, 2))
		lua_newtable(L);
	luaL_checktype(L, 2, LUA_TTABLE);
	mem = claim_field(L, "memory", true);
	cpus = claim_field(L, "cpus", false);
	if (cpus > UINT32_MAX)
		return luaL_error(L, "claim: cpus out of range");
	if (r->claim_held)
		return luaL_error(L, "lab claim already held; one-shot per lab");
	if (runner_request(r, "claim", mem, (unsigned)cpus, NULL, &err) != 0) {
		lua_pushstring(L, err);
		free(err);
		luaL_where(L, 1);
		lua_insert(L, -2);
		lua_concat(L, 2);
		return lua_error(L);
	}
	r->claim_held = true;
	return 0;
}

/* provium:pack(fmt, ...) and provium.pack(fmt, ...): string.pack/unpack
 * (upvalue 1) with the lab dropped if it came first. */
static int
lab_strfn(lua_State *L)
{
	if (runner_lab_test(L, 1))
		lua_remove(L, 1);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

void
runner_lab_open(lua_State *L, struct runner *r)
{
	static const luaL_Reg meta[] = {
		{ "__index", lab_index },
		{ "__newindex", lab_newindex },
		{ "__tostring", lab_tostring },
		{ NULL, NULL },
	};
	static const char *const strfns[] = { "pack", "unpack" };

	luaL_newmetatable(L, RUNNER_LAB_MT);
	luaL_setfuncs(L, meta, 0);
	lua_pushliteral(L, "provium.lab");
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);

	lua_newtable(L);
	lua_pushcfunction(L, lab_claim);
	lua_setfield(L, -2, "claim");
	lua_getglobal(L, "string");
	for (size_t i = 0; i < sizeof strfns / sizeof *strfns; i++) {
		lua_getfield(L, -1, strfns[i]);
		lua_pushcclosure(L, lab_strfn, 1);
		lua_setfield(L, -3, strfns[i]);
	}
	lua_pop(L, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, LAB_METHODS);

	runner_lab_new(L, "provium", 0);
	lua_pushvalue(L, -1);
	r->root_lab_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_setglobal(L, "provium");
}
