/*
 * vm_ops.c: the VM's operations (run, files, syscall, batch, workers) and
 * the worker's mirror of them.  One table of ops packs each request and
 * converts each reply, so `vm:x`, `worker:x` and `b:x` inside vm:batch
 * agree by construction.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events/mp.h"
#include "runner/runner_int.h"
#include "runner/vm_api.h"

enum op_conv { CONV_NONE, CONV_RESULT, CONV_DATA, CONV_STAT, CONV_LIST,
	CONV_SYSCALL };

struct op {
	const char *name;       /* Lua method name */
	const char *kind;       /* wire kind */
	const char *wkind;      /* wire kind on a worker, or NULL */
	enum op_conv conv;
	bool batchable;
};

static const struct op ops[] = {
	{ "run", "exec", "worker_exec", CONV_RESULT, true },
	{ "read_file", "read_file", NULL, CONV_DATA, true },
	{ "write_file", "write_file", NULL, CONV_NONE, true },
	{ "stat", "stat", NULL, CONV_STAT, true },
	{ "listdir", "listdir", NULL, CONV_LIST, true },
	{ "mkdir", "mkdir", NULL, CONV_NONE, true },
	{ "unlink", "unlink", NULL, CONV_NONE, true },
	{ "rename", "rename", NULL, CONV_NONE, true },
	{ "syscall", "syscall", "worker_syscall", CONV_SYSCALL, true },
	{ NULL, NULL, NULL, CONV_NONE, false },
};

static void
pack_path(lua_State *L, msgpack_packer *pk, const char *key, int idx)
{
	size_t n;
	const char *s = luaL_checklstring(L, idx, &n);

	mp_kv_strn(pk, key, s, n);
}

/* Packs the data map of op `o` from Lua args starting at base. */
static void
pack_op(lua_State *L, struct ac_req *q, const struct op *o, int base,
    int last, uint64_t worker)
{
	msgpack_packer *pk = &q->pk;
	size_t n;
	const char *d;
	lua_Integer perm = 0755;
	bool parents = false;

	if (strcmp(o->name, "run") == 0) {
		vmapi_pack_exec(L, q, base, false, "run", worker);
	} else if (strcmp(o->name, "syscall") == 0) {
		vmapi_pack_syscall(L, q, base, last, worker);
	} else if (strcmp(o->name, "write_file") == 0) {
		d = luaL_checklstring(L, base + 1, &n);
		ac_req_reserve(q, n + 4096);
		msgpack_pack_map(pk, 2);
		pack_path(L, pk, "path", base);
		mp_kv_bin(pk, "data", d, n);
	} else if (strcmp(o->name, "rename") == 0) {
		msgpack_pack_map(pk, 2);
		pack_path(L, pk, "from", base);
		pack_path(L, pk, "to", base + 1);
	} else if (strcmp(o->name, "mkdir") == 0) {
		if (!lua_isnoneornil(L, base + 1)) {
			luaL_checktype(L, base + 1, LUA_TTABLE);
			lua_getfield(L, base + 1, "parents");
			parents = lua_toboolean(L, -1);
			if (lua_getfield(L, base + 1, "perm") != LUA_TNIL) {
				if (!lua_isinteger(L, -1) ||
				    lua_tointeger(L, -1) < 0 ||
				    lua_tointeger(L, -1) > 07777)
					luaL_error(L, "mkdir: perm must be an "
					    "integer from 0 to 0o7777");
				perm = lua_tointeger(L, -1);
			}
			lua_pop(L, 2);
		}
		msgpack_pack_map(pk, 3);
		pack_path(L, pk, "path", base);
		mp_kv_bool(pk, "parents", parents);
		mp_kv_u64(pk, "create_perm", (uint64_t)perm);
	} else {
		msgpack_pack_map(pk, 1);
		pack_path(L, pk, "path", base);
	}
}

static void
push_conv(lua_State *L, enum op_conv c, const msgpack_object *v)
{
	const msgpack_object *d;

	switch (c) {
	case CONV_RESULT:
		vmapi_push_result(L, v);
		break;
	case CONV_DATA:
		d = mp_get(v, "data");
		if (d != NULL)
			vmapi_push_obj(L, d);
		else
			lua_pushliteral(L, "");
		break;
	case CONV_STAT:
		vmapi_push_stat(L, v);
		break;
	case CONV_LIST:
		vmapi_push_obj(L, v);
		break;
	case CONV_SYSCALL:
		vmapi_push_syscall(L, v);
		break;
	default:
		lua_pushboolean(L, 1);
	}
}

/* The VM (and worker handle) behind self at index 1. */
static struct vmapi_vm *
target(lua_State *L, const char *method, uint64_t *worker, int *vm_idx)
{
	struct vmapi_vm *vm;
	struct vmapi_res *w;
	char what[64];

	if ((w = luaL_testudata(L, 1, VMAPI_WORKER_MT)) != NULL) {
		snprintf(what, sizeof(what), "worker:%s", method);
		if (w->closed)
			vmapi_raisef(L, "%s: worker is closed", what);
		lua_getiuservalue(L, 1, 1);
		*vm_idx = lua_gettop(L);
		vm = vmapi_check_vm(L, -1);
		*worker = w->handle;
	} else {
		vm = vmapi_check_vm(L, 1);
		*vm_idx = 1;
		*worker = 0;
	}
	vmapi_need_booted(L, vm, method);
	return vm;
}

/* Generic method: upvalue 1 = index into ops. */
static int
op_method(lua_State *L)
{
	const struct op *o = &ops[lua_tointeger(L, lua_upvalueindex(1))];
	uint64_t worker;
	int vm_idx, top = lua_gettop(L);
	struct vmapi_vm *vm;
	struct ac_req *q;
	const msgpack_object *v;

	/* Absent optional args read as nil, not as what we push later. */
	if (top < 4)
		lua_settop(L, 4);
	vm = target(L, o->name, &worker, &vm_idx);
	if (worker != 0 && o->wkind == NULL)
		return luaL_error(L, "worker:%s is not supported", o->name);
	q = vmapi_req_new(L, vm, worker ? o->wkind : o->kind);
	/* Args are 2..top; the pack helpers read them in place. */
	pack_op(L, q, o, 2, top, worker);
	v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	push_conv(L, o->conv, v);
	return 1;
}

static int
do_run_async(lua_State *L)
{
	uint64_t worker;
	int vm_idx;
	struct vmapi_vm *vm;
	struct ac_req *q;
	const msgpack_object *v;
	struct vmapi_proc *p;
	uint64_t h = 0;
	int64_t pid = 0;
	const char *what;

	lua_settop(L, 3);
	vm = target(L, "run_async", &worker, &vm_idx);
	what = worker ? "worker:run_async" : "vm:run_async";
	q = vmapi_req_new(L, vm, worker ? "worker_run_async" : "run_async");
	/* Lua args sit below the request: pack from 2, 3. */
	vmapi_pack_exec(L, q, 2, true, what, worker);
	v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	mp_get_u64(v, "handle", &h);
	mp_get_i64(v, "pid", &pid);
	p = vmapi_res_new(L, vm_idx, VMAPI_K_PROC, h);
	p->pid = (int)pid;
	if (worker)
		p->worker = luaL_testudata(L, 1, VMAPI_WORKER_MT);
	return 1;
}

int vmapi_worker_run_async(lua_State *L) { return do_run_async(L); }

static int
do_open_file(lua_State *L)
{
	uint64_t worker, h = 0;
	int vm_idx;
	struct vmapi_vm *vm;
	const char *path;
	struct ac_req *q;
	const msgpack_object *v;

	lua_settop(L, 3);
	vm = target(L, "open_file", &worker, &vm_idx);
	path = luaL_checkstring(L, 2);

	q = vmapi_req_new(L, vm, worker ? "worker_open_file" : "open_file");
	vmapi_pack_open_mode(L, q, 3, path, worker);
	v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	mp_get_u64(v, "handle", &h);
	vmapi_res_new(L, vm_idx, VMAPI_K_FILE, h);
	return 1;
}

int vmapi_worker_open_file(lua_State *L) { return do_open_file(L); }

/* Worker methods that mirror the VM's (the table is at the top). */
void
vmapi_ops_worker_methods(lua_State *L)
{
	for (const struct op *o = ops; o->name; o++) {
		if (o->wkind == NULL)
			continue;
		lua_pushinteger(L, o - ops);
		lua_pushcclosure(L, op_method, 1);
		lua_setfield(L, -2, o->name);
	}
}

/* vm:push_file(host, guest, opts?): host paths are relative to the
 * calling test file's directory. */
static int
vm_push_file(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);
	const char *host = luaL_checkstring(L, 2);
	const char *guest = luaL_checkstring(L, 3);
	struct runner *r = runner_from_lua(L);
	struct ac_req *q;
	char *path = NULL, *buf;
	struct stat st;
	int fd, e;
	ssize_t got;
	size_t off = 0;

	lua_settop(L, 4);
	vmapi_need_booted(L, vm, "push_file");
	if (!lua_isnoneornil(L, 4))
		luaL_checktype(L, 4, LUA_TTABLE);
	if (host[0] == '/' || runner_dir(r) == NULL)
		lua_pushstring(L, host);
	else
		lua_pushfstring(L, "%s/%s", runner_dir(r), host);
	path = (char *)lua_tostring(L, -1);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		vmapi_raisef(L, "vm `%s`: push_file: cannot read host file "
		    "`%s`: %s", vm->name, path, strerror(e));
	}
	/* A Lua-owned buffer, so a raise below cannot leak it. */
	buf = lua_newuserdatauv(L, (size_t)st.st_size + 1, 0);
	while (off < (size_t)st.st_size &&
	    (got = read(fd, buf + off, (size_t)st.st_size - off)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			vmapi_raisef(L, "vm `%s`: push_file: reading `%s`: %s",
			    vm->name, path, strerror(e));
		}
		off += (size_t)got;
	}
	close(fd);
	q = vmapi_req_new(L, vm, "write_file");
	ac_req_reserve(q, off + 4096);
	msgpack_pack_map(&q->pk, 3);
	mp_kv_str(&q->pk, "path", guest);
	mp_kv_bin(&q->pk, "data", buf, off);
	mp_kv_u64(&q->pk, "create_perm", st.st_mode & 07777);
	vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	return 0;
}

static int
vm_tail_file(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);
	const char *path = luaL_checkstring(L, 2);
	struct ac_req *q;
	char what[200];
	int t;

	lua_settop(L, 3);
	vmapi_need_booted(L, vm, "tail_file");
	q = vmapi_req_new(L, vm, "tail_file");
	msgpack_pack_map(&q->pk, 2);
	mp_kv_str(&q->pk, "path", path);
	mp_str(&q->pk, "start");
	if (lua_isnoneornil(L, 3)) {
		mp_str(&q->pk, "end");
	} else {
		luaL_checktype(L, 3, LUA_TTABLE);
		t = lua_getfield(L, 3, "start");
		if (t == LUA_TNIL || (t == LUA_TSTRING &&
		    strcmp(lua_tostring(L, -1), "end") == 0))
			mp_str(&q->pk, "end");
		else if (t == LUA_TSTRING &&
		    strcmp(lua_tostring(L, -1), "beginning") == 0)
			mp_str(&q->pk, "beginning");
		else if (lua_isinteger(L, -1)) {
			msgpack_pack_map(&q->pk, 1);
			mp_kv_i64(&q->pk, "offset", lua_tointeger(L, -1));
		} else
			return luaL_error(L, "tail_file: start must be \"end\", "
			    "\"beginning\" or an integer offset (negative = "
			    "from the end)");
		lua_pop(L, 1);
	}
	snprintf(what, sizeof(what), "tail_file(\"%s\")", path);
	vmapi_stream_call(L, 1, what);
	return 1;
}

/* vm:fd_stream(file | handle): follows an open file like tail -f. */
static int
vm_fd_stream(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);
	struct vmapi_res *f;
	struct ac_req *q;
	uint64_t h;
	char what[64];

	lua_settop(L, 2);
	vmapi_need_booted(L, vm, "fd_stream");
	if ((f = luaL_testudata(L, 2, VMAPI_FILE_MT)) != NULL) {
		if (f->closed)
			vmapi_raisef(L, "vm:fd_stream: file is closed");
		h = f->handle;
	} else if (lua_isinteger(L, 2) && lua_tointeger(L, 2) > 0) {
		h = (uint64_t)lua_tointeger(L, 2);
	} else {
		return luaL_error(L, "vm:fd_stream: expected a File or a handle "
		    "number, got %s", luaL_typename(L, 2));
	}
	q = vmapi_req_new(L, vm, "fd_stream");
	msgpack_pack_map(&q->pk, 1);
	mp_kv_u64(&q->pk, "handle", h);
	snprintf(what, sizeof(what), "fd_stream(file#%llu)",
	    (unsigned long long)h);
	vmapi_stream_call(L, 1, what);
	return 1;
}

static int
vm_spawn_worker(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);
	struct ac_req *q;
	const msgpack_object *v;
	struct vmapi_worker *w;
	uint64_t h = 0;
	int64_t pid = 0;

	lua_settop(L, 2);
	vmapi_need_booted(L, vm, "spawn_worker");
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		lua_getfield(L, 2, "thread");
		if (lua_toboolean(L, -1))
			vmapi_raisef(L, "vm:spawn_worker: {thread = true} is "
			    "not supported (threaded workers are future work); "
			    "use a process worker: vm:spawn_worker()");
		lua_pop(L, 1);
	}
	q = vmapi_req_new(L, vm, "spawn_worker");
	msgpack_pack_map(&q->pk, 1);
	mp_kv_bool(&q->pk, "thread", false);
	v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	mp_get_u64(v, "handle", &h);
	mp_get_i64(v, "pid", &pid);
	w = vmapi_res_new(L, 1, VMAPI_K_WORKER, h);
	w->pid = (int)pid;
	return 1;
}

/* ---- batch ------------------------------------------------------------ */

/* b:<op>(...) records {op index, n, args...}. upvalue 1 = op index. */
static int
batch_add(lua_State *L)
{
	int i, n = lua_gettop(L) - 1;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_createtable(L, n + 1, 1);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_setfield(L, -2, "op");
	lua_pushinteger(L, n);
	lua_setfield(L, -2, "n");
	for (i = 1; i <= n; i++) {
		lua_pushvalue(L, i + 1);
		lua_rawseti(L, -2, i);
	}
	lua_rawseti(L, 1, (lua_Integer)lua_rawlen(L, 1) + 1);
	return 0;
}

static void
push_batch_conv(lua_State *L, const struct op *o, const msgpack_object *r)
{
	const msgpack_object *k = mp_get(r, "kind"), *d = mp_get(r, "data");
	const msgpack_object *v = d ? mp_get(d, "value") : NULL;
	char *msg;

	lua_createtable(L, 0, 1);
	if (mp_obj_is_str(k, "agent_error") ||
	    !mp_obj_is_str(d ? mp_get(d, "outcome") : NULL, "ok")) {
		msg = mp_obj_strdup(mp_get(mp_obj_is_str(k, "agent_error") ?
		    d : v, "message"));
		lua_pushstring(L, msg ? msg : "error");
		free(msg);
		lua_setfield(L, -2, "err");
		return;
	}
	push_conv(L, o->conv, v ? v : d);
	lua_setfield(L, -2, "ok");
}

static int
vm_batch(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);
	struct ac_req *q;
	const msgpack_object *v, *rs;
	int items, i, j, n, nargs, base;
	const struct op *o;

	vmapi_need_booted(L, vm, "batch");
	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_newtable(L);                          /* the builder b */
	luaL_setmetatable(L, VMAPI_BATCH_MT);
	items = lua_gettop(L);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, items);
	lua_call(L, 1, 0);
	n = (int)lua_rawlen(L, items);
	q = vmapi_req_new(L, vm, "batch");
	msgpack_pack_map(&q->pk, 1);
	mp_str(&q->pk, "items");
	msgpack_pack_array(&q->pk, (size_t)n);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, items, i);
		lua_getfield(L, -1, "op");
		o = &ops[lua_tointeger(L, -1)];
		lua_pop(L, 1);
		lua_getfield(L, -1, "n");
		nargs = (int)lua_tointeger(L, -1);
		lua_pop(L, 1);
		base = lua_gettop(L) + 1;
		luaL_checkstack(L, nargs + 8, "batch");
		for (j = 1; j <= nargs; j++)
			lua_rawgeti(L, base - 1, j);
		for (; j <= 3; j++)
			lua_pushnil(L);
		msgpack_pack_map(&q->pk, 2);
		mp_kv_str(&q->pk, "kind", o->kind);
		mp_str(&q->pk, "data");
		pack_op(L, q, o, base, base + nargs - 1, 0);
		lua_settop(L, base - 2);
	}
	v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	rs = mp_get(v, "responses");
	lua_createtable(L, n, 0);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, items, i);
		lua_getfield(L, -1, "op");
		o = &ops[lua_tointeger(L, -1)];
		lua_pop(L, 2);
		if (rs == NULL || rs->type != MSGPACK_OBJECT_ARRAY ||
		    (uint32_t)(i - 1) >= rs->via.array.size) {
			lua_createtable(L, 0, 1);
			lua_pushliteral(L, "no response from the agent");
			lua_setfield(L, -2, "err");
		} else
			push_batch_conv(L, o, &rs->via.array.ptr[i - 1]);
		lua_rawseti(L, -2, i);
	}
	return 1;
}

void
vmapi_ops_methods(lua_State *L)
{
	static const luaL_Reg m[] = {
		{ "run_async", do_run_async }, { "open_file", do_open_file },
		{ "push_file", vm_push_file }, { "tail_file", vm_tail_file },
		{ "spawn_worker", vm_spawn_worker }, { "batch", vm_batch },
		{ "fd_stream", vm_fd_stream },
		{ NULL, NULL },
	};
	const struct op *o;

	/* The table at the top is the VM's method table. */
	for (o = ops; o->name; o++) {
		lua_pushinteger(L, o - ops);
		lua_pushcclosure(L, op_method, 1);
		lua_setfield(L, -2, o->name);
	}
	luaL_setfuncs(L, m, 0);

	luaL_newmetatable(L, VMAPI_BATCH_MT);
	lua_newtable(L);
	for (o = ops; o->name; o++) {
		if (!o->batchable)
			continue;
		lua_pushinteger(L, o - ops);
		lua_pushcclosure(L, batch_add, 1);
		lua_setfield(L, -2, o->name);
	}
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}
