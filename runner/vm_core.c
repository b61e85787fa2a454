/*
 * vm_core.c: the VM API extension: lab:vm(), `lab.<name>`, per-scope
 * tracking and auto-close, VM lifecycle (boot / shutdown / close) and the
 * reports that go with it (reserve / release, vm_spawned / vm_shutdown).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/mp.h"
#include "runner/runner_int.h"
#include "runner/vm_api.h"
#include "supervisor/size.h"
#include "vm/profile.h"

#define SCOPES_KEY "provium.vmapi.scopes"   /* {file list, test list} */
#define CTX_KEY    "provium.vmapi.ctx"

enum { SCOPE_FILE = 1, SCOPE_TEST = 2 };

struct vmapi_ctx {
	unsigned nvms;              /* VMs booted so far (cid sequence) */
	struct profile_config *cfg; /* loaded on first use (qemu only) */
	char *excerpt;              /* console tails taken at scope end */
};

static struct vmapi_ctx *
get_ctx(lua_State *L)
{
	struct vmapi_ctx *ctx;

	lua_getfield(L, LUA_REGISTRYINDEX, CTX_KEY);
	ctx = lua_touserdata(L, -1);
	lua_pop(L, 1);   /* anchored by the registry */
	return ctx;
}

static int
ctx_gc(lua_State *L)
{
	struct vmapi_ctx *ctx = lua_touserdata(L, 1);

	profile_config_free(ctx->cfg);
	ctx->cfg = NULL;
	free(ctx->excerpt);
	ctx->excerpt = NULL;
	return 0;
}

static bool
is_local(struct runner *r)
{
	const char *v = runner_opts(r)->vmm;

	return v != NULL && strcmp(v, "local") == 0;
}

/*
 * The profile a VM boots with: none for --vmm local (any name is
 * accepted), else resolved in provium.toml (default `linux`).  Raises.
 */
static const struct profile *
resolve_profile(lua_State *L, const char *vm_name, const char *name)
{
	struct runner *r = runner_from_lua(L);
	struct vmapi_ctx *ctx = get_ctx(L);
	const struct profile *p;
	char *err = NULL, *msg;

	if (is_local(r))
		return NULL;
	if (ctx->cfg == NULL &&
	    profile_config_load(runner_opts(r)->config, &ctx->cfg, &err) != 0) {
		if (asprintf(&msg, "vm `%s`: %s", vm_name, err ? err : "?") < 0)
			msg = NULL;
		free(err);
		vmapi_raise(L, msg);
	}
	if ((p = profile_find(ctx->cfg, name ? name : "linux")) == NULL)
		vmapi_raisef(L, "profile `%s` not in provium.toml",
		    name ? name : "linux");
	return p;
}

/*
 * The console_excerpt hook gets no Lua state, and a runner process has
 * exactly one; this is the only mutable file-scope variable of the API.
 */
static lua_State *excerpt_L;

static const char *const state_names[] = { "created", "booted", "paused",
	"shutdown", "dead" };
static const char *const reserved[] = { "vm_fixture", "lab_fixture", "pack",
	"unpack", NULL };

int
vmapi_raise(lua_State *L, char *msg)
{
	luaL_where(L, 1);
	lua_pushstring(L, msg ? msg : "out of memory");
	free(msg);
	lua_concat(L, 2);
	lua_error(L);
	abort();  /* not reached */
}

int
vmapi_raisef(lua_State *L, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	vmapi_raise(L, s);
}

struct vmapi_vm *
vmapi_check_vm(lua_State *L, int idx)
{
	return luaL_checkudata(L, idx, VMAPI_VM_MT);
}

void
vmapi_need_booted(lua_State *L, struct vmapi_vm *vm, const char *op)
{
	switch (vm->state) {
	case VMAPI_BOOTED:
		return;
	case VMAPI_CREATED:
		vmapi_raisef(L, "vm `%s`: VM not booted (cannot %s)", vm->name,
		    op);
	case VMAPI_PAUSED:
		vmapi_raisef(L, "vm `%s`: VM is paused; use resume()",
		    vm->name);
	case VMAPI_SHUTDOWN:
		vmapi_raisef(L, "vm `%s`: VM is shutdown; create a new one",
		    vm->name);
	case VMAPI_DEAD:
		vmapi_raisef(L, "vm `%s`: VM died; create a new one", vm->name);
	}
}

/* ---- scopes ---------------------------------------------------------- */

static void
push_scope_list(lua_State *L, int which)
{
	lua_getfield(L, LUA_REGISTRYINDEX, SCOPES_KEY);
	lua_rawgeti(L, -1, which);
	lua_remove(L, -2);
}

void
vmapi_track(lua_State *L, int idx)
{
	struct runner *r = runner_from_lua(L);
	int which = runner_current_test(r) != NULL ? SCOPE_TEST : SCOPE_FILE;
	struct vmapi_vm *vm;

	idx = lua_absindex(L, idx);
	if ((vm = luaL_testudata(L, idx, VMAPI_VM_MT)) != NULL)
		which = strncmp(vm->lab, "test:", 5) == 0 ? SCOPE_TEST
		    : SCOPE_FILE;
	push_scope_list(L, which);
	lua_pushvalue(L, idx);
	lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
	lua_pop(L, 1);
}

static void
close_one(lua_State *L, int idx)
{
	struct vmapi_vm *vm = luaL_testudata(L, idx, VMAPI_VM_MT);

	if (vm != NULL)
		vmapi_vm_stop(L, vm);
	else
		vmapi_res_close(L, idx);
}

/* Closes everything in a scope list, kind by kind, then empties it. */
static void
close_scope(lua_State *L, int which)
{
	int n, i, k;
	const enum vmapi_kind *kind;

	push_scope_list(L, which);
	n = (int)luaL_len(L, -1);
	for (k = 0; k < VMAPI_K_COUNT; k++) {
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, i);
			kind = lua_touserdata(L, -1);
			if (kind != NULL && (int)*kind == k)
				close_one(L, lua_gettop(L));
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	lua_getfield(L, LUA_REGISTRYINDEX, SCOPES_KEY);
	lua_newtable(L);
	lua_rawseti(L, -2, which);
	lua_pop(L, 1);
}

/* Stops every VM in a scope list without touching the rest. */
static void
stop_vms(lua_State *L, int which)
{
	int n, i;
	struct vmapi_vm *vm;

	push_scope_list(L, which);
	n = (int)luaL_len(L, -1);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, i);
		if ((vm = luaL_testudata(L, -1, VMAPI_VM_MT)) != NULL)
			vmapi_vm_stop(L, vm);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

static void take_excerpt(lua_State *L);

void
vmapi_scope_end(lua_State *L, struct runner *r, const char *test)
{
	(void)test;
	/* Before the test's VMs go: console_excerpt() runs after this. */
	take_excerpt(L);
	close_scope(L, SCOPE_TEST);
	/* Upstream: a per-test timeout shuts the whole file lab down. */
	if (runner_test_timed_out(r))
		stop_vms(L, SCOPE_FILE);
}

void
vmapi_file_end(lua_State *L, struct runner *r)
{
	(void)r;
	close_scope(L, SCOPE_TEST);
	close_scope(L, SCOPE_FILE);
}

/* ---- console excerpt -------------------------------------------------- */

static void
excerpt_list(lua_State *L, int which, char **acc, size_t *len)
{
	int n, i;
	struct vmapi_vm *vm;
	char *tail, *s;
	size_t tl;

	push_scope_list(L, which);
	n = (int)luaL_len(L, -1);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, i);
		vm = luaL_testudata(L, -1, VMAPI_VM_MT);
		lua_pop(L, 1);
		if (vm == NULL || vm->vmm == NULL ||
		    !(vmm_caps(vm->vmm) & VMM_CAP_CONSOLE) ||
		    vmm_console_tail(vm->vmm, VMM_CONSOLE_EXCERPT, &tail,
		    &tl) != 0)
			continue;
		if (asprintf(&s, "%s%s---- vm %s (last %zu bytes) ----\n%.*s",
		    *acc ? *acc : "", *acc ? "\n" : "", vm->name, tl, (int)tl,
		    tail) >= 0) {
			free(*acc);
			*acc = s;
			*len = strlen(s);
		}
		free(tail);
	}
	lua_pop(L, 1);
}

static void
take_excerpt(lua_State *L)
{
	struct vmapi_ctx *ctx = get_ctx(L);
	size_t len = 0;

	free(ctx->excerpt);
	ctx->excerpt = NULL;
	excerpt_list(L, SCOPE_FILE, &ctx->excerpt, &len);
	excerpt_list(L, SCOPE_TEST, &ctx->excerpt, &len);
}

/* The tails taken at the failing test's scope end (handed over). */
char *
vmapi_console_excerpt(struct runner *r)
{
	struct vmapi_ctx *ctx;
	char *s;

	(void)r;
	if (excerpt_L == NULL)
		return NULL;
	ctx = get_ctx(excerpt_L);
	s = ctx->excerpt;
	ctx->excerpt = NULL;
	return s;
}

/* ---- lab:vm and lookup ------------------------------------------------ */

/* Pushes the VM named name in the lab at idx or a parent, or nil.
 * *depth = 0 if found in the lab itself. */
static void
find_vm(lua_State *L, int idx, const char *name, int *depth)
{
	int d = 0;

	idx = lua_absindex(L, idx);
	lua_pushvalue(L, idx);                          /* lab */
	while (!lua_isnil(L, -1)) {
		runner_lab_push_data(L, -1);            /* lab data */
		if (lua_getfield(L, -1, "vms") == LUA_TTABLE) {
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

static int
lab_lookup(lua_State *L)
{
	int depth;

	if (lua_type(L, 2) != LUA_TSTRING) {
		lua_pushnil(L);
		return 1;
	}
	find_vm(L, 1, lua_tostring(L, 2), &depth);
	return 1;
}

static void
vm_gc_free(struct vmapi_vm *vm)
{
	if (vm->ac != NULL) {
		ac_free(vm->ac);
		vm->ac = NULL;
	}
	if (vm->vmm != NULL) {
		vmm_destroy(vm->vmm, 0);
		vm->vmm = NULL;
	}
	free(vm->name);
	free(vm->profile);
	free(vm->lab);
	vm->name = vm->profile = vm->lab = NULL;
}

static int
vm_gc(lua_State *L)
{
	vm_gc_free(luaL_checkudata(L, 1, VMAPI_VM_MT));
	return 0;
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
	resolve_profile(L, vm->name, vm->profile);
	if (vm->profile == NULL && !is_local(runner_from_lua(L)) &&
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

/* ---- lifecycle -------------------------------------------------------- */

static int
by_name(lua_State *L)
{
	lua_pushboolean(L, strcmp(vmapi_check_vm(L, 1)->name,
	    vmapi_check_vm(L, 2)->name) < 0);
	return 1;
}

/* vm_spawned (spawned) or vm_shutdown. */
static int
send_report(struct runner *r, struct vmapi_vm *vm, bool spawned,
    int64_t duration_ns)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	runner_pack_begin(&sb, &pk, spawned ? "vm_spawned" : "vm_shutdown",
	    spawned ? 5 : 4);
	mp_kv_str(&pk, "lab", vm->lab);
	mp_kv_str(&pk, "vm_name", vm->name);
	if (spawned) {
		mp_kv_str(&pk, "profile", vm->profile ? vm->profile : "");
		mp_kv_u64(&pk, "memory_bytes", vm->memory);
	}
	mp_kv_u64(&pk, "cid", vm->cid);
	if (!spawned)
		mp_kv_i64(&pk, "duration_ns", duration_ns);
	rc = runner_send(r, &sb);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void
release(struct runner *r, struct vmapi_vm *vm)
{
	if (vm->res_memory == 0 && vm->res_cpus == 0)
		return;
	runner_release(r, vm->res_memory, vm->res_cpus);
	vm->res_memory = 0;
	vm->res_cpus = 0;
}

void
vmapi_vm_stop(lua_State *L, struct vmapi_vm *vm)
{
	struct runner *r = runner_from_lua(L);
	struct ac_req q;

	if (vm->ac != NULL && vm->state == VMAPI_BOOTED) {
		/* Best effort; the destroy below does not depend on it. */
		ac_req_begin(vm->ac, &q, "poweroff");
		msgpack_pack_map(&q.pk, 0);
		char *err = NULL;
		ac_req_send(vm->ac, &q, &err);
		free(err);
		ac_req_done(&q);
	}
	if (vm->vmm != NULL) {
		vmm_destroy(vm->vmm, 2000);
		vm->vmm = NULL;
	}
	if (vm->ac != NULL) {
		ac_free(vm->ac);
		vm->ac = NULL;
	}
	if (vm->spawned) {
		send_report(r, vm, false, runner_now_ns() - vm->boot_ns);
		vm->spawned = false;
	}
	release(r, vm);
	if (vm->state == VMAPI_BOOTED || vm->state == VMAPI_PAUSED)
		vm->state = VMAPI_SHUTDOWN;
}

/* Field k of t, else t[i]; pushes it. */
static int
named_or_pos(lua_State *L, int t, const char *k, int i)
{
	if (lua_getfield(L, t, k) != LUA_TNIL)
		return lua_type(L, -1);
	lua_pop(L, 1);
	return lua_rawgeti(L, t, i);
}

/*
 * files = {{path=, content=, mode=}, …} (or positional).  The array is a
 * userdata left on the stack under the files table (freed by Lua); the
 * strings stay anchored by the opts table for the whole boot.
 */
static void
boot_files(lua_State *L, int t, struct vmapi_vm *vm, struct vmm_boot_opts *o)
{
	size_t i, n;
	struct vmm_file *f;
	lua_Integer mode;

	luaL_checktype(L, t, LUA_TTABLE);
	n = lua_rawlen(L, t);
	f = lua_newuserdatauv(L, (n ? n : 1) * sizeof(*f), 0);
	lua_insert(L, t);   /* below the files table: stays on the stack */
	t++;
	for (i = 0; i < n; i++) {
		lua_rawgeti(L, t, (lua_Integer)i + 1);
		if (!lua_istable(L, -1))
			vmapi_raisef(L, "vm `%s`: boot: files[%zu] must be a "
			    "table {path, content, mode?}", vm->name, i + 1);
		int e = lua_gettop(L);
		if (named_or_pos(L, e, "path", 1) != LUA_TSTRING)
			vmapi_raisef(L, "vm `%s`: boot: files[%zu].path must "
			    "be a string", vm->name, i + 1);
		f[i].path = lua_tostring(L, -1);
		if (named_or_pos(L, e, "content", 2) != LUA_TSTRING)
			vmapi_raisef(L, "vm `%s`: boot: files[%zu].content "
			    "must be a string", vm->name, i + 1);
		f[i].content = lua_tolstring(L, -1, &f[i].len);
		f[i].mode = 0644;
		if (named_or_pos(L, e, "mode", 3) != LUA_TNIL) {
			if (!lua_isinteger(L, -1) ||
			    (mode = lua_tointeger(L, -1)) < 0 || mode > 07777)
				vmapi_raisef(L, "vm `%s`: boot: files[%zu].mode "
				    "must be an integer from 0 to 0o7777",
				    vm->name, i + 1);
			f[i].mode = (unsigned)mode;
		}
		lua_settop(L, e - 1);
	}
	o->files = f;
	o->nfiles = n;
}

static void
boot_opts(lua_State *L, int idx, struct vmapi_vm *vm, struct vmm_boot_opts *o)
{
	static const char *const known[] = { "kernel_cmdline",
		"kernel_cmdline_append", "rng_seed", "initial_time", "files",
		"disks", "agent_timeout", NULL };
	int64_t ns;
	char e[160];

	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ?
		    lua_tostring(L, -2) : NULL;
		const char *const *p;
		for (p = known; k && *p && strcmp(*p, k) != 0; p++)
			;
		if (k == NULL || *p == NULL)
			vmapi_raisef(L, "vm `%s`: boot: unknown option `%s` "
			    "(known: kernel_cmdline, kernel_cmdline_append, "
			    "rng_seed, initial_time, files, disks, "
			    "agent_timeout)", vm->name, k ? k : "?");
		lua_pop(L, 1);
	}
	if (lua_getfield(L, idx, "kernel_cmdline") == LUA_TSTRING)
		o->kernel_cmdline = lua_tostring(L, -1);  /* anchored by opts */
	lua_pop(L, 1);
	if (lua_getfield(L, idx, "kernel_cmdline_append") == LUA_TSTRING)
		o->kernel_cmdline_append = lua_tostring(L, -1);
	lua_pop(L, 1);
	if (lua_getfield(L, idx, "rng_seed") != LUA_TNIL) {
		if (!lua_isinteger(L, -1))
			vmapi_raisef(L, "vm `%s`: boot: rng_seed must be an "
			    "integer", vm->name);
		o->has_rng_seed = true;
		o->rng_seed = (uint64_t)lua_tointeger(L, -1);
	}
	lua_pop(L, 1);
	if (lua_getfield(L, idx, "initial_time") != LUA_TNIL) {
		if (!lua_isinteger(L, -1))
			vmapi_raisef(L, "vm `%s`: boot: initial_time must be "
			    "an integer (seconds since the epoch)", vm->name);
		o->has_initial_time = true;
		o->initial_time = lua_tointeger(L, -1);
	}
	lua_pop(L, 1);
	if (lua_getfield(L, idx, "files") != LUA_TNIL)
		boot_files(L, lua_gettop(L), vm, o);
	lua_pop(L, 1);
	if (lua_getfield(L, idx, "disks") != LUA_TNIL &&
	    !is_local(runner_from_lua(L)))
		vmapi_raisef(L, "vm `%s`: boot: disks are not supported by this "
		    "provium yet", vm->name);
	lua_pop(L, 1);
	if (lua_getfield(L, idx, "agent_timeout") != LUA_TNIL) {
		if (runner_dur_from_lua(L, lua_gettop(L), &ns, e,
		    sizeof(e)) != 0 || ns <= 0)
			vmapi_raisef(L, "vm `%s`: boot: agent_timeout must be "
			    "a positive duration", vm->name);
		o->agent_timeout_s = (double)ns / 1e9;
	}
	lua_pop(L, 1);
}

static int
boot_check(void *arg, char **why)
{
	return vmm_boot_check(arg, why);
}

static int
vm_boot(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);
	struct runner *r = runner_from_lua(L);
	struct vmapi_ctx *ctx;
	struct vmm_boot_opts o = { 0 };
	enum vmm_backend be;
	char what[300], *err = NULL, *msg;
	int64_t deadline;
	int rc;

	switch (vm->state) {
	case VMAPI_CREATED:
		break;
	case VMAPI_BOOTED:
	case VMAPI_PAUSED:
		vmapi_raisef(L, "vm `%s`: VM already booted", vm->name);
	default:
		vmapi_need_booted(L, vm, "boot");
	}
	boot_opts(L, 2, vm, &o);
	be = is_local(r) ? VMM_BACKEND_LOCAL : VMM_BACKEND_QEMU;
	ctx = get_ctx(L);
	if (ctx->nvms >= VMAPI_MAX_VMS_PER_RUNNER)
		vmapi_raisef(L, "vm `%s`: boot refused: one test file may boot "
		    "at most %u VMs", vm->name, VMAPI_MAX_VMS_PER_RUNNER);

	o.vm_name = vm->name;
	o.memory_bytes = vm->memory ? vm->memory : VMM_DEFAULT_MEMORY;
	o.cpus = vm->cpus ? vm->cpus : VMM_DEFAULT_CPUS;
	o.profile = resolve_profile(L, vm->name, vm->profile);
	snprintf(what, sizeof(what), "vm `%s`", vm->name);
	if (vm->prereserved) {
		vm->prereserved = false;   /* lab:boot() reserved for it */
	} else if (runner_request(r, "reserve", o.memory_bytes +
	    VMM_OVERHEAD_BYTES, o.cpus, what, &err) != 0) {
		if (asprintf(&msg, "vm `%s`: boot refused: %s", vm->name,
		    err ? err : "?") < 0)
			msg = NULL;
		free(err);
		vmapi_raise(L, msg);
	}
	vm->res_memory = o.memory_bytes + VMM_OVERHEAD_BYTES;
	vm->res_cpus = o.cpus;
	vm->cid = 100u + (uint32_t)getpid() * 1000u + ctx->nvms++;
	o.cid = vm->cid;
	o.verbose = runner_opts(r)->verbose;

	if (vmm_boot(be, &o, &vm->vmm, &err) != 0) {
		release(r, vm);
		if (asprintf(&msg, "vm `%s`: boot failed: %s", vm->name,
		    err ? err : "?") < 0)
			msg = NULL;
		free(err);
		vmapi_raise(L, msg);
	}
	if ((vm->ac = ac_new(vmm_agent_fd(vm->vmm))) == NULL) {
		vmm_destroy(vm->vmm, 0);
		vm->vmm = NULL;
		release(r, vm);
		return luaL_error(L, "out of memory");
	}
	/* The agent's own limit, cut short by the test's timeout. */
	deadline = vmapi_deadline(L, (int64_t)((o.agent_timeout_s > 0 ?
	    o.agent_timeout_s : 30.0) * 1000));
	rc = ac_hello(vm->ac, deadline, boot_check, vm->vmm, &err);
	if (rc == AC_TIMEOUT && runner_deadline_ms(r) == 0) {
		free(err);
		ac_free(vm->ac);
		vm->ac = NULL;
		vmm_destroy(vm->vmm, 0);
		vm->vmm = NULL;
		release(r, vm);
		runner_raise_timeout(L, r);
	}
	if (rc != AC_OK) {
		char *why = NULL;
		if (asprintf(&why, "vm `%s`: the agent did not answer hello: "
		    "%s", vm->name, err ? err : "?") < 0)
			why = NULL;
		free(err);
		/* Give a dying agent a moment so the error names its status. */
		for (int i = 0; i < 20 && !vmm_exited(vm->vmm); i++)
			usleep(5000);
		msg = vmm_boot_failed(vm->vmm, why ? why : "boot failed");
		free(why);
		ac_free(vm->ac);
		vm->ac = NULL;
		vmm_destroy(vm->vmm, 0);
		vm->vmm = NULL;
		release(r, vm);
		vmapi_raise(L, msg);
	}
	vm->state = VMAPI_BOOTED;
	vm->boot_ns = runner_now_ns();
	send_report(r, vm, true, 0);
	vm->spawned = true;
	lua_settop(L, 1);
	return 1;
}

static int
vm_shutdown(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);

	if (vm->state != VMAPI_DEAD)
		vmapi_need_booted(L, vm, "shutdown");
	vmapi_vm_stop(L, vm);
	return 0;
}

static int
vm_close(lua_State *L)
{
	vmapi_vm_stop(L, vmapi_check_vm(L, 1));
	return 0;
}

static int
vm_pause_resume(lua_State *L, bool pause)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);
	char *err = NULL, *msg;

	if (pause || vm->state != VMAPI_PAUSED)
		vmapi_need_booted(L, vm, pause ? "pause" : "resume");
	if ((pause ? vmm_pause(vm->vmm, &err) : vmm_resume(vm->vmm, &err))
	    != 0) {
		if (asprintf(&msg, "vm `%s`: %s", vm->name, err) < 0)
			msg = NULL;
		free(err);
		vmapi_raise(L, msg);
	}
	vm->state = pause ? VMAPI_PAUSED : VMAPI_BOOTED;
	return 0;
}

static int vm_pause(lua_State *L) { return vm_pause_resume(L, true); }
static int vm_resume(lua_State *L) { return vm_pause_resume(L, false); }

static int
vm_name(lua_State *L)
{
	lua_pushstring(L, vmapi_check_vm(L, 1)->name);
	return 1;
}

static int
vm_profile(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);

	if (vm->profile != NULL)
		lua_pushstring(L, vm->profile);
	else
		lua_pushnil(L);
	return 1;
}

static int
vm_state(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);

	/* An agent that went away while idle is noticed here too. */
	if (vm->state == VMAPI_BOOTED && vm->ac != NULL) {
		ac_pump(vm->ac);
		if (ac_dead_reason(vm->ac) != NULL)
			vmapi_vm_died(vm);
	}
	lua_pushstring(L, state_names[vm->state]);
	return 1;
}

static int
vm_cid(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);

	if (vm->state == VMAPI_CREATED)
		lua_pushnil(L);
	else
		lua_pushinteger(L, vm->cid);
	return 1;
}

static int
vm_tostring(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);

	if (vm->state == VMAPI_CREATED)
		lua_pushfstring(L, "vm(%s state=%s cid=-)", vm->name,
		    state_names[vm->state]);
	else
		lua_pushfstring(L, "vm(%s state=%s cid=%d)", vm->name,
		    state_names[vm->state], (int)vm->cid);
	return 1;
}

static int
vm_open_file_count(lua_State *L)
{
	lua_pushinteger(L, vmapi_check_vm(L, 1)->nfiles);
	return 1;
}

static int
vm_open_stream_count(lua_State *L)
{
	lua_pushinteger(L, vmapi_check_vm(L, 1)->nstreams);
	return 1;
}

static int
vm_is_quiescent(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);

	lua_pushboolean(L, vm->nfiles == 0 && vm->nstreams == 0);
	return 1;
}

void
vmapi_vm_methods(lua_State *L)
{
	static const luaL_Reg m[] = {
		{ "boot", vm_boot }, { "shutdown", vm_shutdown },
		{ "close", vm_close }, { "pause", vm_pause },
		{ "resume", vm_resume }, { "name", vm_name },
		{ "profile", vm_profile }, { "state", vm_state },
		{ "cid", vm_cid }, { "open_file_count", vm_open_file_count },
		{ "open_stream_count", vm_open_stream_count },
		{ "is_quiescent", vm_is_quiescent }, { NULL, NULL },
	};

	luaL_setfuncs(L, m, 0);
}

/* Pushes the lab's own VMs (not its parents') as an array sorted by name. */
static int
lab_members(lua_State *L, int lab)
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

	luaL_argcheck(L, runner_lab_test(L, 1), 1, "lab expected");
	lua_settop(L, 1);
	n = lab_members(L, 1);
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
		vm->res_memory = (vm->memory ? vm->memory : VMM_DEFAULT_MEMORY) +
		    VMM_OVERHEAD_BYTES;
		vm->res_cpus = vm->cpus ? vm->cpus : VMM_DEFAULT_CPUS;
		lua_pushvalue(L, -1);
		lua_rawseti(L, up, (lua_Integer)lua_rawlen(L, up) + 1);
		lua_pushcfunction(L, vm_boot);
		lua_insert(L, -2);
		if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
			lua_rawseti(L, errs, ++failed);
			/* A boot that raised before using its share. */
			vm->prereserved = false;
			release(r, vm);
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
	n = lab_members(L, 1);
	list = lua_gettop(L);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		vmapi_vm_stop(L, vmapi_check_vm(L, -1));
		lua_pop(L, 1);
	}
	lua_settop(L, 1);
	return 1;
}

int
vmapi_open(lua_State *L, struct runner *r)
{
	static const luaL_Reg lab[] = { { "vm", lab_vm }, { "boot", lab_boot },
		{ "shutdown", lab_shutdown }, { NULL, NULL } };
	struct vmapi_ctx *ctx;

	(void)r;
	luaL_newmetatable(L, VMAPI_VM_MT);
	lua_newtable(L);
	vmapi_vm_methods(L);
	vmapi_ops_methods(L);
	vmapi_clock_open(L);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, vm_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushcfunction(L, vm_gc);
	lua_setfield(L, -2, "__gc");
	lua_pushcfunction(L, vm_close);
	lua_setfield(L, -2, "__close");
	lua_pop(L, 1);

	vmapi_result_open(L);
	vmapi_res_open(L);

	lua_createtable(L, 2, 0);
	lua_newtable(L);
	lua_rawseti(L, -2, SCOPE_FILE);
	lua_newtable(L);
	lua_rawseti(L, -2, SCOPE_TEST);
	lua_setfield(L, LUA_REGISTRYINDEX, SCOPES_KEY);
	ctx = lua_newuserdatauv(L, sizeof(*ctx), 0);
	memset(ctx, 0, sizeof(*ctx));
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, ctx_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	lua_setfield(L, LUA_REGISTRYINDEX, CTX_KEY);

	runner_lab_add_methods(L, lab);
	runner_lab_set_lookup(L, lab_lookup);
	excerpt_L = L;
	return 0;
}

/* Lab snapshots need vm:snapshot, which this provium does not have yet:
 * say so instead of silently not resetting. */
static void
ext_scope_begin(lua_State *L, struct runner *r, const char *test)
{
	(void)test;
	if (runner_reset_between_tests(r))
		luaL_error(L, "provium.reset_between_tests: lab snapshots are "
		    "not supported by this provium yet; reset state in the test "
		    "instead");
}

static void
ext_scope_end(lua_State *L, struct runner *r, const char *test)
{
	vmapi_scope_end(L, r, test);
}

const struct runner_ext vmapi_ext = {
	.name = "vm",
	.open = vmapi_open,
	.scope_begin = ext_scope_begin,
	.scope_end = ext_scope_end,
	.file_end = vmapi_file_end,
	.console_excerpt = vmapi_console_excerpt,
};
