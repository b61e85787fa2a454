/*
 * vm_core.c: the VM API extension: registration, per-scope tracking and
 * auto-close, console excerpts, wrong-state errors and the VM's simple
 * methods.  Labs are vm_lab.c, boot and shutdown vm_boot.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/mp.h"
#include "events/xfmt.h"
#include "runner/runner_int.h"
#include "runner/vm_api.h"
#include "supervisor/size.h"
#include "vm/profile.h"

#define SCOPES_KEY "provium.vmapi.scopes"   /* {file list, test list} */
#define CTX_KEY    "provium.vmapi.ctx"

enum { SCOPE_FILE = 1, SCOPE_TEST = 2 };

struct vmapi_ctx *
vmapi_ctx(lua_State *L)
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

bool
vmapi_is_local(struct runner *r)
{
	const char *v = runner_opts(r)->vmm;

	return v != NULL && strcmp(v, "local") == 0;
}

/*
 * The profile a VM boots with: none for --vmm local (any name is
 * accepted), else resolved in provium.toml (default `linux`).  Raises.
 */
const struct profile *
vmapi_resolve_profile(lua_State *L, const char *vm_name, const char *name)
{
	struct runner *r = runner_from_lua(L);
	struct vmapi_ctx *ctx = vmapi_ctx(L);
	const struct profile *p;
	char *err = NULL, *msg;

	if (vmapi_is_local(r))
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
	s = xfmt_v(fmt, ap);
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

char *
vmapi_open_streams(lua_State *L, const struct vmapi_vm *vm, int *n)
{
	struct vmapi_stream *st;
	const struct vmapi_vm *sv;
	int which, i, len;
	char *out = strdup(""), *t;

	*n = 0;
	for (which = SCOPE_FILE; which <= SCOPE_TEST; which++) {
		push_scope_list(L, which);
		len = (int)luaL_len(L, -1);
		for (i = 1; i <= len && out != NULL; i++) {
			lua_rawgeti(L, -1, i);
			st = lua_touserdata(L, -1);
			if (st != NULL && st->h.kind == VMAPI_K_STREAM &&
			    !st->h.closed && ((sv = vmapi_res_vm(L, -1)) == vm ||
			    vm == NULL)) {
				if (asprintf(&t, "%s\n  - vm `%s`: %s created at "
				    "%s", out, sv->name, st->what, st->site) < 0)
					t = NULL;
				free(out);
				out = t;
				++*n;
			}
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	return out;
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
	struct vmapi_ctx *ctx = vmapi_ctx(L);
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
	ctx = vmapi_ctx(excerpt_L);
	s = ctx->excerpt;
	ctx->excerpt = NULL;
	return s;
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

/* ---- methods ---------------------------------------------------------- */

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
		{ "boot", vmapi_vm_boot }, { "shutdown", vm_shutdown },
		{ "close", vm_close }, { "pause", vm_pause },
		{ "resume", vm_resume }, { "name", vm_name },
		{ "profile", vm_profile }, { "state", vm_state },
		{ "cid", vm_cid }, { "open_file_count", vm_open_file_count },
		{ "open_stream_count", vm_open_stream_count },
		{ "is_quiescent", vm_is_quiescent }, { NULL, NULL },
	};

	luaL_setfuncs(L, m, 0);
}

int
vmapi_open(lua_State *L, struct runner *r)
{
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

	vmapi_lab_open(L);
	vmapi_labsnap_open(L);
	excerpt_L = L;
	return 0;
}

/* provium.reset_between_tests: the baseline before the first test. */
static void
ext_scope_begin(lua_State *L, struct runner *r, const char *test)
{
	(void)test;
	vmapi_reset_begin(L, r);
}

static void
ext_scope_end(lua_State *L, struct runner *r, const char *test)
{
	vmapi_scope_end(L, r, test);
	vmapi_reset_end(L, r);
}

const struct runner_ext vmapi_ext = {
	.name = "vm",
	.open = vmapi_open,
	.scope_begin = ext_scope_begin,
	.scope_end = ext_scope_end,
	.file_end = vmapi_file_end,
	.console_excerpt = vmapi_console_excerpt,
};
