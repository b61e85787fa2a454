/*
 * vm_call.c: agent requests from Lua (boxed so raising is always safe),
 * error mapping, argument packing for exec / open_file / syscall, and the
 * msgpack -> Lua conversions including RunResult.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "events/mp.h"
#include "runner/runner_int.h"
#include "runner/vm_api.h"

struct reqbox {
	struct ac_req q;
	bool live;
};

struct replybox {
	struct ac_reply r;
};

static const msgpack_object nil_obj = { .type = MSGPACK_OBJECT_NIL };

int64_t
vmapi_deadline(lua_State *L, int64_t ms)
{
	int64_t left = runner_deadline_ms(runner_from_lua(L));
	int64_t now = ac_now_ms();
	int64_t test = left < 0 ? -1 : now + left;

	if (ms < 0)
		return test;
	if (test < 0 || now + ms < test)
		return now + ms;
	return test;
}

static int
req_gc(lua_State *L)
{
	struct reqbox *b = luaL_checkudata(L, 1, VMAPI_REQ_MT);

	if (b->live)
		ac_req_done(&b->q);
	b->live = false;
	return 0;
}

static int
reply_gc(lua_State *L)
{
	ac_reply_free(&((struct replybox *)luaL_checkudata(L, 1,
	    VMAPI_REPLY_MT))->r);
	return 0;
}

/*
 * Our waits end on a millisecond deadline derived from the runner's
 * nanosecond one, so a wait cut by the test's timeout can return a hair
 * before the runner agrees it has passed.  Waits out such a remainder.
 */
bool
vmapi_test_expired(lua_State *L)
{
	int64_t left = runner_deadline_ms(runner_from_lua(L));
	struct timespec ts;

	if (left < 0 || left > 2)
		return false;
	ts.tv_sec = 0;
	ts.tv_nsec = (left + 1) * 1000000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return true;
}

struct ac_req *
vmapi_req_new(lua_State *L, struct vmapi_vm *vm, const char *kind)
{
	struct reqbox *b = lua_newuserdatauv(L, sizeof(*b), 0);

	b->live = false;
	luaL_setmetatable(L, VMAPI_REQ_MT);
	ac_req_begin(vm->ac, &b->q, kind);
	b->live = true;
	return &b->q;
}

void
vmapi_vm_died(struct vmapi_vm *vm)
{
	vm->state = VMAPI_DEAD;
}

/* "VM died" message naming how the agent went away. */
static char *
died_msg(struct vmapi_vm *vm, const char *kind, const char *err)
{
	char *why = NULL, *full, *msg = NULL;

	for (int i = 0; i < 40 && vm->vmm && !vmm_exited(vm->vmm); i++)
		usleep(5000);
	if (asprintf(&why, "%s", err) < 0)
		return NULL;
	full = vm->vmm ? vmm_boot_failed(vm->vmm, why) : why;
	if (full != why)
		free(why);
	if (asprintf(&msg, "vm `%s`: VM died during `%s` (%s); create a new "
	    "one", vm->name, kind, full ? full : "?") < 0)
		msg = NULL;
	free(full);
	return msg;
}

static int
do_call(lua_State *L, struct vmapi_vm *vm, int64_t deadline,
    struct replybox **rbp, char **err, char kind[48])
{
	struct reqbox *b = luaL_checkudata(L, -1, VMAPI_REQ_MT);
	struct replybox *rb;
	int rc;

	rb = lua_newuserdatauv(L, sizeof(*rb), 0);
	memset(rb, 0, sizeof(*rb));
	luaL_setmetatable(L, VMAPI_REPLY_MT);
	memcpy(kind, b->q.kind, 48);
	rc = ac_call(vm->ac, &b->q, deadline, &rb->r, err);
	ac_req_done(&b->q);
	b->live = false;
	lua_remove(L, -2);
	*rbp = rb;
	if (rc == AC_DEAD)
		vmapi_vm_died(vm);
	return rc;
}

int
vmapi_call_quiet(lua_State *L, struct vmapi_vm *vm, int64_t deadline_ms,
    char **err)
{
	struct replybox *rb;
	char kind[48];
	int rc = do_call(L, vm, deadline_ms, &rb, err, kind);

	lua_pop(L, 1);
	return rc;
}

const msgpack_object *
vmapi_call(lua_State *L, struct vmapi_vm *vm, int64_t deadline_ms,
    int *os_errno)
{
	struct replybox *rb;
	struct runner *r = runner_from_lua(L);
	char *err = NULL, *msg = NULL, kind[48];
	int rc = do_call(L, vm, deadline_ms, &rb, &err, kind);

	switch (rc) {
	case AC_OK:
		free(err);
		return rb->r.value ? rb->r.value : &nil_obj;
	case AC_OS_ERROR:
		if (os_errno != NULL) {
			*os_errno = rb->r.os_errno;
			lua_pop(L, 1);
			lua_pushstring(L, err);
			free(err);
			return NULL;
		}
		if (asprintf(&msg, "vm `%s`: %s", vm->name, err) < 0)
			msg = NULL;
		break;
	case AC_DEAD:
		msg = died_msg(vm, kind, err);
		break;
	case AC_TIMEOUT:
		if (vmapi_test_expired(L)) {
			free(err);
			runner_raise_timeout(L, r);
		}
		/* fall through */
	default:
		if (asprintf(&msg, "vm `%s`: %s", vm->name, err) < 0)
			msg = NULL;
		break;
	}
	free(err);
	vmapi_raise(L, msg);
}

/* ---- conversions ------------------------------------------------------ */

void
vmapi_push_obj(lua_State *L, const msgpack_object *o)
{
	uint32_t i;

	luaL_checkstack(L, 4, "nested too deep");
	switch (o->type) {
	case MSGPACK_OBJECT_BOOLEAN:
		lua_pushboolean(L, o->via.boolean);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		lua_pushinteger(L, (lua_Integer)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		lua_pushinteger(L, (lua_Integer)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		lua_pushnumber(L, o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		lua_pushlstring(L, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		lua_pushlstring(L, o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		lua_createtable(L, (int)o->via.array.size, 0);
		for (i = 0; i < o->via.array.size; i++) {
			vmapi_push_obj(L, &o->via.array.ptr[i]);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case MSGPACK_OBJECT_MAP:
		lua_createtable(L, 0, (int)o->via.map.size);
		for (i = 0; i < o->via.map.size; i++) {
			vmapi_push_obj(L, &o->via.map.ptr[i].key);
			vmapi_push_obj(L, &o->via.map.ptr[i].val);
			if (lua_isnil(L, -2))
				lua_pop(L, 2);
			else
				lua_rawset(L, -3);
		}
		break;
	default:
		lua_pushnil(L);
	}
}

static void
field_obj(lua_State *L, const msgpack_object *m, const char *k,
    const char *as)
{
	const msgpack_object *v = mp_get(m, k);

	if (v == NULL)
		return;
	vmapi_push_obj(L, v);
	lua_setfield(L, -2, as);
}

void
vmapi_push_result(lua_State *L, const msgpack_object *v)
{
	const msgpack_object *sig = mp_get(v, "signal");
	const msgpack_object *st = mp_get(v, "status");

	lua_createtable(L, 0, 8);
	field_obj(L, v, "code", "exit_code");
	field_obj(L, v, "stdout", "stdout");
	field_obj(L, v, "stderr", "stderr");
	field_obj(L, v, "status", "status");
	field_obj(L, v, "stdout_truncated", "stdout_truncated");
	field_obj(L, v, "stderr_truncated", "stderr_truncated");
	lua_pushboolean(L, mp_obj_is_str(st, "timed_out"));
	lua_setfield(L, -2, "timed_out");
	/* Upstream: signal only when signalled (not for timed_out). */
	if (sig != NULL && mp_obj_is_str(st, "signalled")) {
		vmapi_push_obj(L, sig);
		lua_setfield(L, -2, "signal");
	}
	luaL_setmetatable(L, VMAPI_RESULT_MT);
}

void
vmapi_push_stat(lua_State *L, const msgpack_object *v)
{
	int64_t ns = 0;

	lua_createtable(L, 0, 5);
	field_obj(L, v, "size", "size");
	field_obj(L, v, "mtime_ns", "mtime_ns");
	field_obj(L, v, "perm", "perm");
	field_obj(L, v, "entry_type", "entry_type");
	mp_get_i64(v, "mtime_ns", &ns);
	lua_pushnumber(L, (double)ns / 1e9);
	lua_setfield(L, -2, "mtime");
}

void
vmapi_push_syscall(lua_State *L, const msgpack_object *v)
{
	lua_createtable(L, 0, 4);
	field_obj(L, v, "ret", "ret");
	field_obj(L, v, "ret", "result");
	field_obj(L, v, "errno", "errno");
	if (mp_get(v, "out_bufs") != NULL)
		field_obj(L, v, "out_bufs", "out_bufs");
	else {
		lua_newtable(L);
		lua_setfield(L, -2, "out_bufs");
	}
}

/* ---- RunResult -------------------------------------------------------- */

/* Rust-Debug-like quoting, so assert_ok messages are unambiguous. */
static void
add_quoted(luaL_Buffer *b, const char *s, size_t n)
{
	char tmp[12];
	size_t i, max = n > 2048 ? 2048 : n;

	luaL_addchar(b, '"');
	for (i = 0; i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': luaL_addstring(b, "\\\""); break;
		case '\\': luaL_addstring(b, "\\\\"); break;
		case '\n': luaL_addstring(b, "\\n"); break;
		case '\r': luaL_addstring(b, "\\r"); break;
		case '\t': luaL_addstring(b, "\\t"); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(tmp, sizeof(tmp), "\\u{%x}", c);
				luaL_addstring(b, tmp);
			} else
				luaL_addchar(b, (char)c);
		}
	}
	luaL_addchar(b, '"');
	if (max < n)
		luaL_addstring(b, "...");
}

static const char *
res_str(lua_State *L, int t, const char *k, size_t *n)
{
	const char *s;

	lua_getfield(L, t, k);
	s = lua_tolstring(L, -1, n);
	lua_pop(L, 1);  /* anchored by the result table */
	if (s == NULL) {
		*n = 0;
		return "";
	}
	return s;
}

static int
result_ok(lua_State *L)
{
	size_t n;
	const char *st;
	lua_Integer code;

	luaL_checktype(L, 1, LUA_TTABLE);
	st = res_str(L, 1, "status", &n);
	lua_getfield(L, 1, "exit_code");
	code = lua_tointeger(L, -1);
	lua_pushboolean(L, strcmp(st, "exited") == 0 && code == 0);
	return 1;
}

static int
result_assert_ok(lua_State *L)
{
	luaL_Buffer b;
	size_t n, on, en;
	const char *st, *out, *err;

	result_ok(L);
	if (lua_toboolean(L, -1)) {
		lua_settop(L, 1);
		return 1;
	}
	st = res_str(L, 1, "status", &n);
	out = res_str(L, 1, "stdout", &on);
	err = res_str(L, 1, "stderr", &en);
	luaL_buffinit(L, &b);
	luaL_addstring(&b, "command failed: status=");
	luaL_addstring(&b, st);
	if (strcmp(st, "exited") == 0) {
		lua_getfield(L, 1, "exit_code");
		luaL_addstring(&b, " code=");
		luaL_addvalue(&b);
	} else if (strcmp(st, "signalled") == 0) {
		lua_getfield(L, 1, "signal");
		luaL_addstring(&b, " signal=");
		luaL_addvalue(&b);
	}
	luaL_addstring(&b, " stdout=");
	add_quoted(&b, out, on);
	luaL_addstring(&b, " stderr=");
	add_quoted(&b, err, en);
	luaL_pushresult(&b);
	return lua_error(L);
}

static int
result_tostring(lua_State *L)
{
	size_t n, on, en;
	const char *st = res_str(L, 1, "status", &n);

	res_str(L, 1, "stdout", &on);
	res_str(L, 1, "stderr", &en);
	lua_pushfstring(L, "RunResult{ status=%s, stdout=<%dB>, stderr=<%dB> }",
	    st, (int)on, (int)en);
	return 1;
}

void
vmapi_result_open(lua_State *L)
{
	static const luaL_Reg m[] = { { "ok", result_ok },
		{ "assert_ok", result_assert_ok }, { NULL, NULL } };

	luaL_newmetatable(L, VMAPI_RESULT_MT);
	lua_newtable(L);
	luaL_setfuncs(L, m, 0);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, result_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);
	luaL_newmetatable(L, VMAPI_REQ_MT);
	lua_pushcfunction(L, req_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	luaL_newmetatable(L, VMAPI_REPLY_MT);
	lua_pushcfunction(L, reply_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
}

/* ---- argument packing ------------------------------------------------- */

static void
pack_str_array(lua_State *L, msgpack_packer *pk, int t, const char *what)
{
	lua_Integer i, n = (lua_Integer)lua_rawlen(L, t);

	msgpack_pack_array(pk, (size_t)n);
	for (i = 1; i <= n; i++) {
		size_t len;
		const char *s;
		lua_rawgeti(L, t, i);
		if (lua_type(L, -1) != LUA_TSTRING && !lua_isnumber(L, -1))
			luaL_error(L, "%s: args[%d] must be a string, got %s",
			    what, (int)i, luaL_typename(L, -1));
		s = lua_tolstring(L, -1, &len);
		mp_strn(pk, s, len);
		lua_pop(L, 1);
	}
}

static int64_t
dur_ms(lua_State *L, int idx, const char *what)
{
	int64_t ns;
	char e[160];

	if (runner_dur_from_lua(L, idx, &ns, e, sizeof(e)) != 0)
		luaL_error(L, "%s: %s", what, e);
	return (ns + 999999) / 1000000;
}

void
vmapi_pack_exec(lua_State *L, struct ac_req *q, int idx, bool async,
    const char *what, uint64_t worker)
{
	static const char *const known[] = { "args", "env", "env_clear", "cwd",
		"stdin", "timeout", "timeout_ms", NULL };
	msgpack_packer *pk = &q->pk;
	int opts = idx + 1, args = 0, env = 0;
	const char *cwd = NULL, *in = NULL;
	size_t inlen = 0, cmdlen;
	bool env_clear = false;
	int64_t tmo = -1;
	const char *cmd = luaL_checklstring(L, idx, &cmdlen);
	unsigned n;
	int top = lua_gettop(L);

	if (lua_istable(L, opts) && lua_rawlen(L, opts) > 0) {
		args = opts;  /* vm:run(cmd, {args…}) */
	} else if (lua_istable(L, opts)) {
		lua_pushnil(L);
		while (lua_next(L, opts) != 0) {
			const char *k = lua_type(L, -2) == LUA_TSTRING ?
			    lua_tostring(L, -2) : NULL;
			const char *const *p;
			for (p = known; k && *p && strcmp(*p, k); p++)
				;
			if (k == NULL || *p == NULL)
				luaL_error(L, "%s: unknown option `%s` (known: "
				    "args, env, env_clear, cwd, stdin, timeout, "
				    "timeout_ms)", what, k ? k : "?");
			lua_pop(L, 1);
		}
		if (lua_getfield(L, opts, "args") != LUA_TNIL) {
			luaL_checktype(L, -1, LUA_TTABLE);
			args = lua_gettop(L);
		} else
			lua_pop(L, 1);
		if (lua_getfield(L, opts, "env") != LUA_TNIL) {
			luaL_checktype(L, -1, LUA_TTABLE);
			env = lua_gettop(L);
		} else
			lua_pop(L, 1);
		lua_getfield(L, opts, "env_clear");
		env_clear = lua_toboolean(L, -1);
		lua_pop(L, 1);
		if (lua_getfield(L, opts, "cwd") != LUA_TNIL)
			cwd = luaL_checkstring(L, -1);   /* anchored by opts */
		lua_pop(L, 1);
		if (lua_getfield(L, opts, "stdin") != LUA_TNIL)
			in = luaL_checklstring(L, -1, &inlen);
		lua_pop(L, 1);
		lua_getfield(L, opts, "timeout");
		lua_getfield(L, opts, "timeout_ms");
		if (!lua_isnil(L, -1) && !lua_isnil(L, -2))
			luaL_error(L, "%s: give timeout or timeout_ms, not "
			    "both", what);
		if (async && (!lua_isnil(L, -1) || !lua_isnil(L, -2)))
			luaL_error(L, "%s: the timeout option is not supported "
			    "here; pass it to proc:wait(timeout)", what);
		if (!lua_isnil(L, -1)) {
			if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0)
				luaL_error(L, "%s: timeout_ms must be a positive "
				    "integer", what);
			tmo = lua_tointeger(L, -1);
		} else if (!lua_isnil(L, -2)) {
			tmo = dur_ms(L, lua_gettop(L) - 1, what);
		}
		lua_pop(L, 2);
	} else if (!lua_isnoneornil(L, opts)) {
		luaL_error(L, "%s(cmd, [args | opts]): expected a table, got %s",
		    what, luaL_typename(L, opts));
	}

	n = 5 + (worker != 0) + (cwd != NULL) + (in != NULL) + (tmo >= 0);
	msgpack_pack_map(pk, n);
	if (worker != 0)
		mp_kv_u64(pk, "worker", worker);
	mp_kv_strn(pk, "cmd", cmd, cmdlen);
	mp_str(pk, "args");
	if (args != 0)
		pack_str_array(L, pk, args, what);
	else
		msgpack_pack_array(pk, 0);
	mp_kv_bool(pk, "shell", args == 0);
	mp_str(pk, "env");
	if (env != 0) {
		unsigned ne = 0;
		lua_pushnil(L);
		while (lua_next(L, env) != 0) {
			if (lua_type(L, -2) != LUA_TSTRING ||
			    (lua_type(L, -1) != LUA_TSTRING &&
			    !lua_isnumber(L, -1)))
				luaL_error(L, "%s: env must map strings to "
				    "strings", what);
			ne++;
			lua_pop(L, 1);
		}
		msgpack_pack_map(pk, ne);
		lua_pushnil(L);
		while (lua_next(L, env) != 0) {
			size_t kl, vl;
			const char *k = lua_tolstring(L, -2, &kl);
			lua_pushvalue(L, -1);
			const char *v = lua_tolstring(L, -1, &vl);
			mp_strn(pk, k, kl);
			mp_strn(pk, v, vl);
			lua_pop(L, 2);
		}
	} else
		msgpack_pack_map(pk, 0);
	mp_kv_bool(pk, "env_clear", env_clear);
	if (cwd != NULL)
		mp_kv_str(pk, "cwd", cwd);
	if (in != NULL)
		mp_kv_bin(pk, "stdin", in, inlen);
	if (tmo >= 0)
		mp_kv_u64(pk, "timeout_ms", (uint64_t)tmo);
	lua_settop(L, top);
}

void
vmapi_pack_open_mode(lua_State *L, struct ac_req *q, int idx,
    const char *path, uint64_t worker)
{
	static const char *const flags[] = { "read", "write", "create",
		"truncate", "append", "exclusive" };
	static const char *const known[] = { "read", "write", "create",
		"truncate", "append", "exclusive", "perm", NULL };
	bool v[6] = { 0 };
	lua_Integer perm = 0644;
	int i;

	if (!lua_isnoneornil(L, idx)) {
		luaL_checktype(L, idx, LUA_TTABLE);
		lua_pushnil(L);
		while (lua_next(L, idx) != 0) {
			const char *k = lua_type(L, -2) == LUA_TSTRING ?
			    lua_tostring(L, -2) : NULL;
			const char *const *p;
			for (p = known; k && *p && strcmp(*p, k); p++)
				;
			if (k == NULL || *p == NULL)
				luaL_error(L, "open_file: unknown mode key `%s` "
				    "(known: read, write, create, truncate, "
				    "append, exclusive, perm)", k ? k : "?");
			lua_pop(L, 1);
		}
		for (i = 0; i < 6; i++) {
			lua_getfield(L, idx, flags[i]);
			v[i] = lua_toboolean(L, -1);
			lua_pop(L, 1);
		}
		if (lua_getfield(L, idx, "perm") != LUA_TNIL) {
			if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0 ||
			    lua_tointeger(L, -1) > 07777)
				luaL_error(L, "open_file: perm must be an "
				    "integer from 0 to 0o7777");
			perm = lua_tointeger(L, -1);
		}
		lua_pop(L, 1);
	}
	if (!v[0] && !v[1] && !v[4])
		luaL_error(L, "open_file: mode needs one of read, write, "
		    "append");
	msgpack_pack_map(&q->pk, 3 + (worker != 0));
	if (worker != 0)
		mp_kv_u64(&q->pk, "worker", worker);
	mp_kv_str(&q->pk, "path", path);
	mp_str(&q->pk, "mode");
	msgpack_pack_map(&q->pk, 6);
	for (i = 0; i < 6; i++)
		mp_kv_bool(&q->pk, flags[i], v[i]);
	mp_kv_u64(&q->pk, "create_perm", (uint64_t)perm);
}

static lua_Integer
int_field(lua_State *L, int t, const char *k, lua_Integer i)
{
	lua_Integer v;

	if (lua_getfield(L, t, k) == LUA_TNIL) {
		lua_pop(L, 1);
		lua_rawgeti(L, t, i);
	}
	if (!lua_isinteger(L, -1))
		luaL_error(L, "syscall: nested entries need integer parent, "
		    "child and offset");
	v = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return v;
}

void
vmapi_pack_syscall(lua_State *L, struct ac_req *q, int idx, int last,
    uint64_t worker)
{
	msgpack_packer *pk = &q->pk;
	lua_Integer nr = luaL_checkinteger(L, idx);
	int t = idx + 1, i, n;

	msgpack_pack_map(pk, 5 + (worker != 0));
	if (worker != 0)
		mp_kv_u64(pk, "worker", worker);
	mp_kv_i64(pk, "nr", nr);
	mp_str(pk, "args");
	if (lua_istable(L, t)) {
		lua_getfield(L, t, "args");
		n = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0;
		if (n > 6)
			n = 6;  /* upstream: extra args dropped */
		msgpack_pack_array(pk, (size_t)n);
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, i);
			if (!lua_isinteger(L, -1))
				luaL_error(L, "syscall: args[%d] must be an "
				    "integer", i);
			msgpack_pack_int64(pk, lua_tointeger(L, -1));
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
		mp_str(pk, "bufs");
		lua_getfield(L, t, "bufs");
		n = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0;
		msgpack_pack_array(pk, (size_t)n);
		for (i = 1; i <= n; i++) {
			size_t bl;
			const char *b;
			lua_rawgeti(L, -1, i);
			if ((b = lua_tolstring(L, -1, &bl)) == NULL)
				luaL_error(L, "syscall: bufs[%d] must be a "
				    "string", i);
			mp_bin(pk, b, bl);
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
		mp_str(pk, "ptrs");
		lua_getfield(L, t, "ptrs");
		n = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0;
		msgpack_pack_array(pk, (size_t)n);
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, i);
			if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0 ||
			    lua_tointeger(L, -1) > 5)
				luaL_error(L, "syscall: ptrs[%d] must be an arg "
				    "index from 0 to 5", i);
			msgpack_pack_uint8(pk, (uint8_t)lua_tointeger(L, -1));
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
		mp_str(pk, "nested");
		lua_getfield(L, t, "nested");
		n = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0;
		msgpack_pack_array(pk, (size_t)n);
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, i);
			luaL_checktype(L, -1, LUA_TTABLE);
			int e = lua_gettop(L);
			msgpack_pack_map(pk, 3);
			mp_kv_u64(pk, "parent", (uint64_t)int_field(L, e,
			    "parent", 1));
			mp_kv_u64(pk, "child", (uint64_t)int_field(L, e,
			    "child", 2));
			mp_kv_u64(pk, "offset", (uint64_t)int_field(L, e,
			    "offset", 3));
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
		return;
	}
	n = last - idx;
	if (n > 6)
		n = 6;
	msgpack_pack_array(pk, (size_t)n);
	for (i = 1; i <= n; i++)
		msgpack_pack_int64(pk, luaL_checkinteger(L, idx + i));
	mp_str(pk, "bufs");
	msgpack_pack_array(pk, 0);
	mp_str(pk, "ptrs");
	msgpack_pack_array(pk, 0);
	mp_str(pk, "nested");
	msgpack_pack_array(pk, 0);
}

int
vmapi_signal_arg(lua_State *L, int idx, const char *what)
{
	static const struct { const char *n; int s; } names[] = {
		{ "term", SIGTERM }, { "kill", SIGKILL }, { "int", SIGINT },
		{ "hup", SIGHUP }, { "quit", SIGQUIT }, { "stop", SIGSTOP },
		{ "cont", SIGCONT }, { "usr1", SIGUSR1 }, { "usr2", SIGUSR2 },
		{ "alrm", SIGALRM }, { "pipe", SIGPIPE }, { "chld", SIGCHLD },
		{ "winch", SIGWINCH },
	};
	const char *s;
	lua_Integer v = 0;

	switch (lua_type(L, idx)) {
	case LUA_TNONE:
	case LUA_TNIL:
		return SIGTERM;
	case LUA_TNUMBER:
		if (!lua_isinteger(L, idx) || (v = lua_tointeger(L, idx)) < 1 ||
		    v > 64)
			luaL_error(L, "%s: signal number must be an integer "
			    "from 1 to 64", what);
		return (int)v;
	case LUA_TSTRING:
		s = lua_tostring(L, idx);
		if (strncasecmp(s, "sig", 3) == 0)
			s += 3;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcasecmp(s, names[i].n) == 0)
				return names[i].s;
		return luaL_error(L, "%s: unknown signal `%s` (use term, kill, "
		    "int, hup, quit, stop, cont, usr1, usr2, alrm, pipe, chld, "
		    "winch, or a number)", what, lua_tostring(L, idx));
	default:
		return luaL_error(L, "%s: signal must be nil, an integer or a "
		    "name, got %s", what, luaL_typename(L, idx));
	}
}
