/*
 * vm_lab.c: the lab side of the VM API: lab:vm() create and lookup,
 * `lab.<name>` (a VM along the parent chain, else a sub-lab of this lab;
 * bridges are looked up after both), lab:boot() under one joint
 * reservation, lab:shutdown().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/mp.h"
#include "runner/runner_int.h"
#include "runner/vm_api.h"
#include "supervisor/size.h"

static const char *const reserved[] = { "vm_fixture", "lab_fixture", "pack",
	"unpack", NULL };

/* Pushes the VM named name in the lab at idx or a parent, or nil.
 * *depth = 0 if found in the lab itself. */
static void
find_vm(lua_State *L, int idx, const char *name, int *depth)
{
	runner_lab_find(L, idx, "vms", name, depth);
}

static int
lab_lookup(lua_State *L)
{
	int depth;

	if (lua_type(L, 2) != LUA_TSTRING) {
		lua_pushnil(L);
		return 1;
	}
	find_vm(L, 1, lua_tostring(L, 2), &depth);
	if (lua_isnil(L, -1)) {       /* then a sub-lab of this lab */
		lua_pop(L, 1);
		runner_lab_push_data(L, 1);
		if (lua_getfield(L, -1, "labs") == LUA_TTABLE)
			lua_getfield(L, -1, lua_tostring(L, 2));
		else
			lua_pushnil(L);
	}
	return 1;
}

static void
parse_vm_opts(lua_State *L, int idx, struct vmapi_vm *vm)
{
	uint64_t mem;
	lua_Integer n;
	char e[160];

	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_getfield(L, idx, "memory");
	if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0)
		vm->memory = (uint64_t)lua_tointeger(L, -1);
	else if (lua_type(L, -1) == LUA_TSTRING &&
	    size_parse(lua_tostring(L, -1), &mem, e, sizeof(e)) == 0 &&
	    mem > 0)
		vm->memory = mem;
	else if (!lua_isnil(L, -1))
		vmapi_raisef(L, "vm `%s`: memory must be a positive integer "
		    "(bytes) or a size like \"512M\" / \"2G\"", vm->name);
	lua_pop(L, 1);
	lua_getfield(L, idx, "cpus");
	if (!lua_isnil(L, -1)) {
		if (!lua_isinteger(L, -1) || (n = lua_tointeger(L, -1)) < 1 ||
		    n > 1024)
			vmapi_raisef(L, "vm `%s`: cpus must be an integer from "
			    "1 to 1024", vm->name);
		vm->cpus = (unsigned)n;
	}
	lua_pop(L, 1);
}

/* lab:vm(name) looks up; lab:vm(name, profile?, opts?) creates. */
static int
lab_vm(lua_State *L)
{
	const char *name, *profile = NULL;
	struct vmapi_vm *vm;
	int depth, opts = 0, top = lua_gettop(L);

	if (!runner_lab_test(L, 1))
		return luaL_error(L, "lab:vm(name, [profile,] [opts]): call it "
		    "with a colon (provium:vm(...))");
	name = luaL_checkstring(L, 2);
	if (top == 2) {
		find_vm(L, 1, name, &depth);
		if (lua_isnil(L, -1))
			vmapi_raisef(L, "no vm named `%s` in this lab", name);
		return 1;
	}
	if (lua_type(L, 3) == LUA_TSTRING) {
		profile = lua_tostring(L, 3);
		opts = 4;
	} else if (lua_istable(L, 3) && top == 3) {
		opts = 3;
	} else if (!lua_isnil(L, 3)) {
		return luaL_error(L, "lab:vm(name, [profile,] [opts]): profile "
		    "must be a string, got %s", luaL_typename(L, 3));
	} else {
		opts = 4;
	}
	for (const char *const *p = reserved; *p; p++)
		if (strcmp(name, *p) == 0)
			vmapi_raisef(L, "vm name `%s` is reserved (it is a lab "
			    "method); choose another name", name);
	if (*name == '\0')
		vmapi_raisef(L, "vm name must not be empty");
	find_vm(L, 1, name, &depth);
	if (!lua_isnil(L, -1)) {
		if (depth == 0)
			vmapi_raisef(L, "vm name `%s` already used in this lab",
			    name);
		vmapi_raisef(L, "vm name `%s` already declared at a parent "
		    "scope", name);
	}
	lua_pop(L, 1);

	lua_settop(L, 4);   /* absent opts are nil, not what we push next */
	vm = lua_newuserdatauv(L, sizeof(*vm), 0);
	memset(vm, 0, sizeof(*vm));
	vm->kind = VMAPI_K_VM;
	luaL_setmetatable(L, VMAPI_VM_MT);
	vm->name = strdup(name);
	vm->profile = profile ? strdup(profile) : NULL;
	vm->lab = strdup(runner_lab_name(L, 1));
	if (vm->name == NULL || vm->lab == NULL || (profile && !vm->profile))
		return luaL_error(L, "out of memory");
	parse_vm_opts(L, opts, vm);
	vmapi_resolve_profile(L, vm->name, vm->profile);
	if (vm->profile == NULL && !vmapi_is_local(runner_from_lua(L)) &&
	    (vm->profile = strdup("linux")) == NULL)
		return luaL_error(L, "out of memory");

	runner_lab_push_data(L, 1);
	if (lua_getfield(L, -1, "vms") != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, -3, "vms");
	}
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, name);
	lua_pop(L, 2);
	vmapi_track(L, -1);
	return 1;
}

static int
by_name(lua_State *L)
{
	lua_pushboolean(L, strcmp(vmapi_check_vm(L, 1)->name,
	    vmapi_check_vm(L, 2)->name) < 0);
	return 1;
}

int
vmapi_lab_members(lua_State *L, int lab)
{
	int n = 0;

	lua_newtable(L);
	runner_lab_push_data(L, lab);
	if (lua_getfield(L, -1, "vms") == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, -2) != 0)
			lua_rawseti(L, -5, ++n);
	}
	lua_pop(L, 2);
	lua_getglobal(L, "table");
	lua_getfield(L, -1, "sort");
	lua_pushvalue(L, -3);
	lua_pushcfunction(L, by_name);
	lua_call(L, 2, 0);
	lua_pop(L, 1);
	return n;
}

/*
 * lab:boot(): every VM of the lab still `created`, under one joint
 * reservation; all or nothing (a failure shuts down the ones that came up
 * and raises every VM's error).  Idempotent; returns the lab.
 */
static int
lab_boot(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	struct vmapi_vm *vm;
	uint64_t mem = 0;
	unsigned cpus = 0;
	int n, i, list, errs, up, failed = 0;
	char what[300], *err = NULL, *msg;
	uint32_t cid;

	luaL_argcheck(L, runner_lab_test(L, 1), 1, "lab expected");
	lua_settop(L, 1);
	n = vmapi_lab_members(L, 1);
	list = lua_gettop(L);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		vm = vmapi_check_vm(L, -1);
		lua_pop(L, 1);
		if (vm->state != VMAPI_CREATED)
			continue;
		mem += (vm->memory ? vm->memory : VMM_DEFAULT_MEMORY) +
		    VMM_OVERHEAD_BYTES;
		cpus += vm->cpus ? vm->cpus : VMM_DEFAULT_CPUS;
	}
	if (cpus == 0) {
		lua_settop(L, 1);
		return 1;
	}
	snprintf(what, sizeof(what), "lab `%s`", runner_lab_name(L, 1));
	if (runner_request(r, "reserve", mem, cpus, what, &err) != 0) {
		if (asprintf(&msg, "lab `%s`: boot refused: %s",
		    runner_lab_name(L, 1), err ? err : "?") < 0)
			msg = NULL;
		free(err);
		vmapi_raise(L, msg);
	}
	cid = runner_last_cid(r);
	lua_newtable(L);                  /* errors */
	errs = lua_gettop(L);
	lua_newtable(L);                  /* booted by this call */
	up = lua_gettop(L);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		vm = vmapi_check_vm(L, -1);
		if (vm->state != VMAPI_CREATED) {
			lua_pop(L, 1);
			continue;
		}
		vm->prereserved = true;
		vm->cid_hint = cid ? cid++ : 0;
		vm->res_memory = (vm->memory ? vm->memory : VMM_DEFAULT_MEMORY) +
		    VMM_OVERHEAD_BYTES;
		vm->res_cpus = vm->cpus ? vm->cpus : VMM_DEFAULT_CPUS;
		lua_pushvalue(L, -1);
		lua_rawseti(L, up, (lua_Integer)lua_rawlen(L, up) + 1);
		lua_pushcfunction(L, vmapi_vm_boot);
		lua_insert(L, -2);
		if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
			lua_rawseti(L, errs, ++failed);
			/* A boot that raised before using its share. */
			vm->prereserved = false;
			vmapi_release(r, vm);
		}
	}
	if (failed == 0) {
		lua_settop(L, 1);
		return 1;
	}
	for (i = 1; i <= (int)lua_rawlen(L, up); i++) {
		lua_rawgeti(L, up, i);
		vmapi_vm_stop(L, vmapi_check_vm(L, -1));
		lua_pop(L, 1);
	}
	lua_getglobal(L, "table");
	lua_getfield(L, -1, "concat");
	lua_pushvalue(L, errs);
	lua_pushliteral(L, "; ");
	lua_call(L, 2, 1);
	return luaL_error(L, "batch `boot` failed: {%s}", lua_tostring(L, -1));
}

/* lab:shutdown(): every booted (or dead) VM of the lab. */
static int
lab_shutdown(lua_State *L)
{
	int n, i, list;

	luaL_argcheck(L, runner_lab_test(L, 1), 1, "lab expected");
	lua_settop(L, 1);
	n = vmapi_lab_members(L, 1);
	list = lua_gettop(L);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		vmapi_vm_stop(L, vmapi_check_vm(L, -1));
		lua_pop(L, 1);
	}
	lua_settop(L, 1);
	return 1;
}

void
vmapi_lab_open(lua_State *L)
{
	static const luaL_Reg lab[] = { { "vm", lab_vm }, { "boot", lab_boot },
		{ "shutdown", lab_shutdown }, { NULL, NULL } };

	runner_lab_add_methods(L, lab);
	runner_lab_set_lookup(L, lab_lookup);
}
