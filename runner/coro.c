/*
 * coro.c: coroutine.resume and coroutine.wrap that carry the timeout hook.
 *
 * Any Lua hook sends every VM instruction through luaG_traceexec (about
 * twice the CPU), so the count hook is set only while a test with a
 * deadline runs.  Lua copies a hook into coroutines created while it is
 * set, but not into older ones; resuming through these wrappers sets (or
 * clears) the hook of the resumed coroutine to match, so a coroutine made
 * at file scope cannot spin past a deadline either.
 */
#include "runner/runner_int.h"

static int
co_resume(lua_State *L)
{
	lua_State *co = lua_tothread(L, 1);

	luaL_argexpected(L, co != NULL, 1, "thread");  /* as lcorolib */
	runner_sync_hook(co, runner_from_lua(L));
	lua_pushvalue(L, lua_upvalueindex(1));   /* the original resume */
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* The function coroutine.wrap returns: upvalues co, resume, close. */
static int
co_wrapped(lua_State *L)
{
	int n = lua_gettop(L);

	lua_pushvalue(L, lua_upvalueindex(2));
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_rotate(L, 1, 2);
	lua_call(L, n + 1, LUA_MULTRET);
	if (lua_toboolean(L, 1))
		return lua_gettop(L) - 1;
	/* As lauxlib's auxwrap: close the dead coroutine, add position. */
	lua_settop(L, 2);
	lua_pushvalue(L, lua_upvalueindex(3));
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_call(L, 1, 0);
	if (lua_type(L, 2) == LUA_TSTRING) {
		luaL_where(L, 1);
		lua_insert(L, 2);
		lua_concat(L, 2);
	}
	return lua_error(L);
}

static int
co_wrap(lua_State *L)
{
	lua_State *co;

	luaL_checktype(L, 1, LUA_TFUNCTION);
	co = lua_newthread(L);
	lua_pushvalue(L, 1);
	lua_xmove(L, co, 1);
	lua_pushvalue(L, lua_upvalueindex(1));  /* resume (ours) */
	lua_pushvalue(L, lua_upvalueindex(2));  /* close */
	lua_pushcclosure(L, co_wrapped, 3);
	return 1;
}

void
runner_coro_open(lua_State *L)
{
	lua_getglobal(L, "coroutine");
	lua_getfield(L, -1, "resume");
	lua_pushcclosure(L, co_resume, 1);
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, "resume");
	lua_getfield(L, -2, "close");
	lua_pushcclosure(L, co_wrap, 2);
	lua_setfield(L, -2, "wrap");
	lua_pop(L, 1);
}
