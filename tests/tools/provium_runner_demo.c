/*
 * provium_runner_demo.c: the runner with a demo extension in place of
 * runner/exts.c (this file defines runner_exts, so the library's empty
 * list is not linked).  It exercises the extension interface the way the
 * VM API will: lab methods, `lab.<name>` lookup, reserve/release round
 * trips, reports, scope hooks, a blocking C call that honours the
 * per-test timeout, and console excerpts.
 *
 * Lua: provium:demo_boot(name) reserves 1 MiB + 1 cpu, reports
 * vm_spawned, and records the VM in the current lab; provium.<name>
 * finds it (walking parents); provium:demo_block(secs) sleeps in C.
 * Setting the global DEMO_FAIL_HOOK to a hook's name makes that hook
 * raise once.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/mp.h"
#include "runner/runner.h"

static unsigned next_cid = 100;

static void
maybe_fail(lua_State *L, const char *hook)
{
	lua_getglobal(L, "DEMO_FAIL_HOOK");
	if (lua_type(L, -1) == LUA_TSTRING &&
	    strcmp(lua_tostring(L, -1), hook) == 0) {
		lua_pushnil(L);
		lua_setglobal(L, "DEMO_FAIL_HOOK");
		luaL_error(L, "demo %s failed", hook);
	}
	lua_pop(L, 1);
}

static int
demo_boot(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	const char *name = luaL_checkstring(L, 2);
	char what[128], *err = NULL;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	luaL_checkudata(L, 1, RUNNER_LAB_MT);
	snprintf(what, sizeof what, "vm `%s`", name);
	if (runner_request(r, "reserve", 1 << 20, 1, what, &err) != 0) {
		lua_pushstring(L, err);
		free(err);
		return lua_error(L);
	}
	runner_pack_begin(&sb, &pk, "vm_spawned", 5);
	mp_kv_str(&pk, "lab", runner_lab_name(L, 1));
	mp_kv_str(&pk, "vm_name", name);
	mp_kv_str(&pk, "profile", "demo");
	mp_kv_u64(&pk, "memory_bytes", 1 << 20);
	mp_kv_u64(&pk, "cid", next_cid);
	runner_send(r, &sb);
	msgpack_sbuffer_destroy(&sb);
	runner_lab_push_data(L, 1);
	lua_pushinteger(L, next_cid++);
	lua_setfield(L, -2, name);
	lua_pushvalue(L, 1);
	return 1;
}

static int
demo_block(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	int64_t want = (int64_t)(luaL_checknumber(L, 2) * 1000);
	int64_t left = runner_deadline_ms(r);

	if (left >= 0 && left < want) {
		poll(NULL, 0, (int)left);
		runner_raise_timeout(L, r);
	}
	poll(NULL, 0, (int)want);
	return 0;
}

/* provium.<name>: the cid of a VM booted in this lab or a parent. */
static int
demo_lookup(lua_State *L)
{
	lua_pushvalue(L, 1);
	while (runner_lab_test(L, -1)) {
		runner_lab_push_data(L, -1);
		lua_pushvalue(L, 2);
		if (lua_rawget(L, -2) != LUA_TNIL)
			return 1;
		lua_pop(L, 2);
		runner_lab_push_parent(L, -1);
		lua_remove(L, -2);
	}
	lua_pushnil(L);
	return 1;
}

/* vm_shutdown + release for each VM recorded in the lab on the stack. */
static void
shutdown_lab(lua_State *L, struct runner *r)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	runner_lab_push_data(L, -1);
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		runner_pack_begin(&sb, &pk, "vm_shutdown", 4);
		mp_kv_str(&pk, "lab", runner_lab_name(L, -4));
		mp_kv_str(&pk, "vm_name", lua_tostring(L, -2));
		mp_kv_u64(&pk, "cid", (uint64_t)lua_tointeger(L, -1));
		mp_kv_u64(&pk, "duration_ns", 0);
		runner_send(r, &sb);
		msgpack_sbuffer_destroy(&sb);
		runner_release(r, 1 << 20, 1);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

static int
demo_open(lua_State *L, struct runner *r)
{
	static const luaL_Reg m[] = {
		{ "demo_boot", demo_boot },
		{ "demo_block", demo_block },
		{ NULL, NULL },
	};

	(void)r;
	runner_lab_add_methods(L, m);
	runner_lab_set_lookup(L, demo_lookup);
	return 0;
}

static void
demo_scope_begin(lua_State *L, struct runner *r, const char *name)
{
	maybe_fail(L, "scope_begin");
	lua_getglobal(L, "provium");
	fprintf(stderr, "scope_begin %s: %s scope=%s timeout=%s\n", name,
	    runner_lab_name(L, -1), runner_scope_name(r),
	    runner_deadline_ms(r) < 0 ? "none" : "set");
	lua_pop(L, 1);
}

static void
demo_scope_end(lua_State *L, struct runner *r, const char *name)
{
	fprintf(stderr, "scope_end %s: timed_out=%d\n", name,
	    runner_test_timed_out(r));
	runner_push_current_lab(L, r);
	shutdown_lab(L, r);
	lua_pop(L, 1);
	maybe_fail(L, "scope_end");
}

static void
demo_file_end(lua_State *L, struct runner *r)
{
	fprintf(stderr, "file_end: current=%s\n",
	    runner_current_test(r) ? runner_current_test(r) : "(file)");
	runner_push_root_lab(L, r);
	shutdown_lab(L, r);
	lua_pop(L, 1);
	maybe_fail(L, "file_end");
}

static char *
demo_console(struct runner *r)
{
	char *s = NULL;

	if (asprintf(&s, "---- vm demo (console of %s) ----\n",
	    runner_current_test(r)) < 0)
		return NULL;
	return s;
}

static const struct runner_ext demo = {
	.name = "demo",
	.open = demo_open,
	.scope_begin = demo_scope_begin,
	.scope_end = demo_scope_end,
	.file_end = demo_file_end,
	.console_excerpt = demo_console,
};

const struct runner_ext *const runner_exts[] = { &demo, NULL };

int
main(int argc, char **argv)
{
	return runner_main(argc, argv);
}
