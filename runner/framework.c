/*
 * framework.c: test(), todo(), wait_until() and the `t` context
 * (upstream §4.1, §4.2), with upstream's wording.
 *
 * Outcome state lives in struct runner, not in `t`, so a failure stays
 * recorded however the Lua code catches the error (sticky failures).
 * Assertion messages carry the position of the failing call, as
 * upstream's error(msg, 2) does.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner/runner_int.h"

#define T_MT "provium.t"
#define SKIP_SENTINEL "__PROVIUM_SKIP__"

static char *
xstrdup(lua_State *L, const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		luaL_error(L, "out of memory");
	return p;
}

void
runner_fail(struct runner *r, const char *msg)
{
	if (r->cur == NULL || r->failed)
		return;
	r->failed = true;
	r->fail_reason = strdup(msg);
}

void
runner_test_reset(struct runner *r)
{
	free(r->fail_reason);
	free(r->skip_reason);
	for (size_t i = 0; i < r->nlog; i++)
		free(r->log[i]);
	free(r->log);
	free(r->scope_name);
	r->fail_reason = r->skip_reason = r->scope_name = NULL;
	r->log = NULL;
	r->nlog = r->log_bytes = 0;
	r->log_truncated = false;
	r->failed = r->skipped = r->timed_out = false;
	r->deadline_ns = r->timeout_ns = 0;
	r->cur = NULL;
}

/* ---- test() / todo() ------------------------------------------------ */

static int
fw_test(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	struct runner_test *t;
	const char *name;
	int fn;

	if (r->cur != NULL)
		return luaL_error(L, "test: cannot declare a test inside test "
		    "`%s`; declare tests at file scope", r->cur->name);
	if (lua_type(L, 1) != LUA_TSTRING)
		return luaL_error(L, "test(name, [meta,] fn): bad arguments");
	name = lua_tostring(L, 1);
	for (size_t i = 0; i < r->ntests; i++)
		if (strcmp(r->tests[i].name, name) == 0)
			return luaL_error(L, "test: duplicate name `%s` in this "
			    "file", name);
	if (lua_isfunction(L, 2))
		fn = 2;
	else if (lua_istable(L, 2) && lua_isfunction(L, 3))
		fn = 3;
	else
		return luaL_error(L, "test(name, [meta,] fn): bad arguments");
	if (r->ntests == r->cap_tests) {
		size_t cap = r->cap_tests ? r->cap_tests * 2 : 16;
		struct runner_test *p = realloc(r->tests, cap * sizeof *p);

		if (p == NULL)
			return luaL_error(L, "out of memory");
		r->tests = p;
		r->cap_tests = cap;
	}
	t = &r->tests[r->ntests];
	t->name = xstrdup(L, name);
	lua_pushvalue(L, fn);
	t->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	if (fn == 3)
		lua_pushvalue(L, 2);
	else
		lua_newtable(L);
	t->meta_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	r->ntests++;
	return 0;
}

static int
fw_todo(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	const char *reason = "todo";

	if (r->cur != NULL)
		return luaL_error(L, "todo: only valid at file scope (it skips "
		    "every test of the file)");
	if (!lua_isnoneornil(L, 1))
		reason = luaL_tolstring(L, 1, NULL);
	free(r->todo_reason);
	r->todo_reason = xstrdup(L, reason);
	return 0;
}

/* ---- wait_until ----------------------------------------------------- */

static void
sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000,
	    .tv_nsec = ns % 1000000000 };

	while (ns > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int64_t
opt_duration(lua_State *L, const char *field, double dflt, double *secs)
{
	char err[256];
	int64_t ns;

	if (lua_getfield(L, 2, field) == LUA_TNIL) {
		lua_pop(L, 1);
		*secs = dflt;
		return (int64_t)(dflt * 1e9);
	}
	if (runner_dur_from_lua(L, -1, &ns, err, sizeof err) != 0)
		luaL_error(L, "wait_until: %s: %s", field, err);
	lua_pop(L, 1);
	*secs = (double)ns / 1e9;
	return ns;
}

static int
fw_wait_until(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	int64_t timeout, interval, deadline, now, left;
	double secs, isecs;
	const char *desc = "condition";
	char shown[64];

	luaL_checktype(L, 1, LUA_TFUNCTION);
	if (lua_isnoneornil(L, 2)) {
		lua_settop(L, 1);
		lua_newtable(L);
	}
	luaL_checktype(L, 2, LUA_TTABLE);
	timeout = opt_duration(L, "timeout", 10, &secs);
	interval = opt_duration(L, "interval", 0.1, &isecs);
	if (lua_getfield(L, 2, "desc") != LUA_TNIL)
		desc = luaL_tolstring(L, -1, NULL);   /* stays on the stack */
	if (secs == floor(secs) && secs < 1e15)
		snprintf(shown, sizeof shown, "%.0f", secs);
	else
		snprintf(shown, sizeof shown, "%.14g", secs);
	deadline = runner_now_ns() + timeout;
	for (;;) {
		lua_pushvalue(L, 1);
		lua_call(L, 0, 1);
		if (lua_toboolean(L, -1))
			return 1;
		lua_pop(L, 1);
		now = runner_now_ns();
		if (now >= deadline)
			return luaL_error(L, "wait_until: %s not met within %ss",
			    desc, shown);
		left = runner_deadline_ms(r);
		if (left == 0)
			runner_raise_timeout(L, r);
		if (left > 0 && left * 1000000 < interval)
			sleep_ns(left * 1000000);
		else
			sleep_ns(interval < deadline - now ? interval :
			    deadline - now);
	}
}

/* ---- the t object ---------------------------------------------------- */

/* Records msg (prefixed with the caller's position) and raises it. */
static int
t_raise(lua_State *L, const char *msg)
{
	struct runner *r = runner_from_lua(L);

	luaL_where(L, 1);
	lua_pushstring(L, msg);
	lua_concat(L, 2);
	runner_fail(r, lua_tostring(L, -1));
	return lua_error(L);
}

/* The message argument at idx, or dflt. */
static const char *
t_msg(lua_State *L, int idx, const char *dflt)
{
	return lua_isnoneornil(L, idx) ? dflt : luaL_tolstring(L, idx, NULL);
}

static int
t_assert(lua_State *L)
{
	if (lua_toboolean(L, 2))
		return 0;
	return t_raise(L, t_msg(L, 3, "assertion failed"));
}

static int
t_compare(lua_State *L, bool want_equal)
{
	const char *prefix;
	int eq;

	lua_settop(L, 4);
	eq = lua_compare(L, 2, 3, LUA_OPEQ);
	if ((eq != 0) == want_equal)
		return 0;
	prefix = t_msg(L, 4, want_equal ? "assert_eq failed" :
	    "assert_neq failed");
	luaL_tolstring(L, 2, NULL);
	luaL_tolstring(L, 3, NULL);
	lua_pushfstring(L, "%s: %s %s %s", prefix, lua_tostring(L, -2),
	    want_equal ? "~=" : "==", lua_tostring(L, -1));
	return t_raise(L, lua_tostring(L, -1));
}

static int
t_assert_eq(lua_State *L)
{
	return t_compare(L, true);
}

static int
t_assert_neq(lua_State *L)
{
	return t_compare(L, false);
}

static int
t_assert_contains(lua_State *L)
{
	size_t hl, nl;
	const char *h, *n;

	lua_settop(L, 4);
	if (lua_type(L, 2) != LUA_TSTRING || lua_type(L, 3) != LUA_TSTRING)
		return t_raise(L, "assert_contains: both arguments must be "
		    "strings");
	h = lua_tolstring(L, 2, &hl);
	n = lua_tolstring(L, 3, &nl);
	if (memmem(h, hl, n, nl) != NULL)
		return 0;
	lua_pushfstring(L, "%s: %s not found in: %s",
	    t_msg(L, 4, "assert_contains failed"), n, h);
	return t_raise(L, lua_tostring(L, -1));
}

static int
t_assert_raises(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	bool was_failed = r->failed;

	lua_settop(L, 3);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 2);
	if (lua_pcall(L, 0, 0, 0) == LUA_OK) {
		lua_pushfstring(L, "%s: expected to raise",
		    t_msg(L, 3, "assert_raises"));
		return t_raise(L, lua_tostring(L, -1));
	}
	/* It raised as expected: assertions used to make it raise must
	 * not fail the test. */
	if (!was_failed && r->failed) {
		r->failed = false;
		free(r->fail_reason);
		r->fail_reason = NULL;
	}
	return 1;
}

static int
t_fail(lua_State *L)
{
	return t_raise(L, t_msg(L, 2, "explicit failure (t:fail)"));
}

static int
t_skip(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	const char *reason = t_msg(L, 2, "skipped (t:skip)");

	if (r->cur != NULL) {
		free(r->skip_reason);
		r->skip_reason = strdup(reason);
		r->skipped = true;
	}
	return luaL_error(L, SKIP_SENTINEL);
}

static int
t_log(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	size_t len;
	const char *s = luaL_tolstring(L, 2, &len);
	char **p;

	if (r->cur == NULL || r->log_truncated)
		return 0;
	if (r->log_bytes + len > RUNNER_LOG_MAX) {
		s = "(t:log output truncated: over 1 MiB in this test)";
		len = strlen(s);
		r->log_truncated = true;
	}
	p = realloc(r->log, (r->nlog + 1) * sizeof *p);
	if (p == NULL)
		return luaL_error(L, "out of memory");
	r->log = p;
	r->log[r->nlog] = malloc(len + 1);
	if (r->log[r->nlog] == NULL)
		return luaL_error(L, "out of memory");
	memcpy(r->log[r->nlog], s, len + 1);
	r->nlog++;
	r->log_bytes += len;
	return 0;
}

void
runner_push_t(lua_State *L, struct runner *r, int meta_idx)
{
	meta_idx = lua_absindex(L, meta_idx);
	lua_createtable(L, 0, 2);
	lua_pushstring(L, r->cur->name);
	lua_setfield(L, -2, "name");
	lua_pushvalue(L, meta_idx);
	lua_setfield(L, -2, "meta");
	luaL_setmetatable(L, T_MT);
}

void
runner_framework_open(lua_State *L, struct runner *r)
{
	static const luaL_Reg methods[] = {
		{ "assert", t_assert },
		{ "assert_eq", t_assert_eq },
		{ "assert_neq", t_assert_neq },
		{ "assert_contains", t_assert_contains },
		{ "assert_raises", t_assert_raises },
		{ "fail", t_fail },
		{ "skip", t_skip },
		{ "log", t_log },
		{ NULL, NULL },
	};

	(void)r;
	luaL_newmetatable(L, T_MT);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	lua_register(L, "test", fw_test);
	lua_register(L, "todo", fw_todo);
	lua_register(L, "wait_until", fw_wait_until);
}
