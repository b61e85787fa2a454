/*
 * vm_clock.c: vm:clock() -> Clock (upstream §4.10): the guest's realtime
 * clock through the agent.  Setting it needs CAP_SYS_TIME where the agent
 * runs (a guest's PID 1 has it; `--vmm local` as a normal user does not,
 * and the agent's EPERM is raised as is).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events/mp.h"
#include "runner/runner_int.h"
#include "runner/vm_api.h"

#define CLOCK_MT "provium.clock"

static struct vmapi_vm *
clock_vm(lua_State *L, const char *what)
{
	struct vmapi_vm *vm;

	luaL_checkudata(L, 1, CLOCK_MT);
	lua_getiuservalue(L, 1, 1);
	vm = vmapi_check_vm(L, -1);
	lua_pop(L, 1);   /* anchored by the clock */
	vmapi_need_booted(L, vm, what);
	return vm;
}

/* A signed duration: number of seconds, or "[-]N(ms|s|m|h)". */
static int64_t
signed_dur(lua_State *L, int idx, const char *what)
{
	char e[160];
	int64_t ns;
	const char *s;

	if (lua_type(L, idx) == LUA_TNUMBER) {
		lua_Number n = lua_tonumber(L, idx);
		if (!isfinite(n) || fabs(n) > 9e9)
			luaL_error(L, "%s: duration must be finite", what);
		return (int64_t)llround(n * 1e9);
	}
	s = luaL_checkstring(L, idx);
	if (*s == '-') {
		lua_pushstring(L, s + 1);
		if (runner_dur_from_lua(L, lua_gettop(L), &ns, e, sizeof(e)) != 0)
			luaL_error(L, "%s: %s", what, e);
		lua_pop(L, 1);
		return -ns;
	}
	if (runner_dur_from_lua(L, idx, &ns, e, sizeof(e)) != 0)
		luaL_error(L, "%s: %s", what, e);
	return ns;
}

static int64_t
get_ns(lua_State *L, struct vmapi_vm *vm)
{
	const msgpack_object *v;
	int64_t ns = 0;

	msgpack_pack_map(&vmapi_req_new(L, vm, "get_time")->pk, 0);
	v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	mp_get_i64(v, "realtime_ns", &ns);
	lua_pop(L, 1);
	return ns;
}

static void
set_ns(lua_State *L, struct vmapi_vm *vm, int64_t ns)
{
	struct ac_req *q = vmapi_req_new(L, vm, "set_time");

	msgpack_pack_map(&q->pk, 1);
	mp_kv_i64(&q->pk, "realtime_ns", ns);
	vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	lua_pop(L, 1);
}

static int
clock_get(lua_State *L)
{
	lua_pushnumber(L, (lua_Number)get_ns(L, clock_vm(L, "clock:get")) / 1e9);
	return 1;
}

static int
clock_get_ns(lua_State *L)
{
	lua_pushinteger(L, get_ns(L, clock_vm(L, "clock:get_ns")));
	return 1;
}

static int
clock_set(lua_State *L)
{
	struct vmapi_vm *vm = clock_vm(L, "clock:set");
	lua_Number t = luaL_checknumber(L, 2);

	if (!isfinite(t))
		return luaL_error(L, "clock:set: time must be finite");
	set_ns(L, vm, (int64_t)llround(t * 1e9));
	return 0;
}

static int
clock_set_ns(lua_State *L)
{
	struct vmapi_vm *vm = clock_vm(L, "clock:set_ns");

	set_ns(L, vm, luaL_checkinteger(L, 2));
	return 0;
}

static int
clock_advance(lua_State *L)
{
	struct vmapi_vm *vm = clock_vm(L, "clock:advance");
	int64_t d = signed_dur(L, 2, "clock:advance");
	struct ac_req *q = vmapi_req_new(L, vm, "advance_clock");

	msgpack_pack_map(&q->pk, 1);
	mp_kv_i64(&q->pk, "delta_ns", d);
	vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	return 0;
}

/* Waits on the host, bounded by the test's timeout. */
static int
clock_sleep(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	int64_t ns = signed_dur(L, 2, "clock:sleep"), left;
	struct timespec ts;

	clock_vm(L, "clock:sleep");
	if (ns < 0)
		return luaL_error(L, "clock:sleep: duration must not be negative");
	left = runner_deadline_ms(r);
	if (left >= 0 && ns / 1000000 > left) {
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		runner_raise_timeout(L, r);
	}
	ts.tv_sec = ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return 0;
}

static int
vm_clock(lua_State *L)
{
	vmapi_check_vm(L, 1);
	lua_newuserdatauv(L, 1, 1);
	luaL_setmetatable(L, CLOCK_MT);
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1);
	return 1;
}

/* Adds vm:clock to the VM method table at the top of the stack. */
void
vmapi_clock_open(lua_State *L)
{
	static const luaL_Reg m[] = {
		{ "get", clock_get }, { "get_ns", clock_get_ns },
		{ "set", clock_set }, { "set_ns", clock_set_ns },
		{ "advance", clock_advance }, { "sleep", clock_sleep },
		{ NULL, NULL },
	};

	lua_pushcfunction(L, vm_clock);
	lua_setfield(L, -2, "clock");
	luaL_newmetatable(L, CLOCK_MT);
	lua_newtable(L);
	luaL_setfuncs(L, m, 0);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}
