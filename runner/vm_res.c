/*
 * vm_res.c: Process, File, Stream and Worker userdata.  Each keeps its VM
 * in user value 1; every method checks that VM is still booted first, so
 * a shut-down or dead VM gives the same wording everywhere.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/mp.h"
#include "runner/runner_int.h"
#include "runner/vm_api.h"

#define CHUNK (64u * 1024)

static const char *const mt_of[VMAPI_K_COUNT] = {
	[VMAPI_K_STREAM] = VMAPI_STREAM_MT, [VMAPI_K_PROC] = VMAPI_PROC_MT,
	[VMAPI_K_FILE] = VMAPI_FILE_MT, [VMAPI_K_WORKER] = VMAPI_WORKER_MT,
	[VMAPI_K_VM] = VMAPI_VM_MT,
};

static const size_t size_of[VMAPI_K_COUNT] = {
	[VMAPI_K_STREAM] = sizeof(struct vmapi_stream),
	[VMAPI_K_PROC] = sizeof(struct vmapi_proc),
	[VMAPI_K_FILE] = sizeof(struct vmapi_res),
	[VMAPI_K_WORKER] = sizeof(struct vmapi_worker),
};

void *
vmapi_res_new(lua_State *L, int vm_idx, enum vmapi_kind kind, uint64_t handle)
{
	struct vmapi_res *h;

	vm_idx = lua_absindex(L, vm_idx);
	h = lua_newuserdatauv(L, size_of[kind], 1);
	memset(h, 0, size_of[kind]);
	h->kind = kind;
	h->handle = handle;
	luaL_setmetatable(L, mt_of[kind]);
	lua_pushvalue(L, vm_idx);
	lua_setiuservalue(L, -2, 1);
	vmapi_track(L, -1);
	if (kind == VMAPI_K_FILE)
		vmapi_check_vm(L, vm_idx)->nfiles++;
	if (kind == VMAPI_K_STREAM)
		vmapi_check_vm(L, vm_idx)->nstreams++;
	return h;
}

struct vmapi_vm *
vmapi_res_vm(lua_State *L, int idx)
{
	struct vmapi_vm *vm;

	lua_getiuservalue(L, idx, 1);
	vm = luaL_checkudata(L, -1, VMAPI_VM_MT);
	lua_pop(L, 1);   /* anchored by the resource */
	return vm;
}

/* Checks type and state; pushes nothing.  Returns the resource. */
static void *
check(lua_State *L, enum vmapi_kind kind, const char *what,
    struct vmapi_vm **vmp)
{
	struct vmapi_res *h = luaL_checkudata(L, 1, mt_of[kind]);

	if (h->closed)
		vmapi_raisef(L, "%s: %s is closed", what,
		    kind == VMAPI_K_FILE ? "file" : kind == VMAPI_K_STREAM ?
		    "stream" : kind == VMAPI_K_WORKER ? "worker" : "process");
	*vmp = vmapi_res_vm(L, 1);
	vmapi_need_booted(L, *vmp, what);
	return h;
}

/* A quiet request for close paths: {<key>: handle, [extra ints]}. */
static int
quiet(struct vmapi_vm *vm, const char *kind, const char *key,
    uint64_t handle, const char *k2, int64_t v2, int64_t deadline)
{
	struct ac_req q;
	struct ac_reply r;
	char *err = NULL;
	int rc;

	if (vm->ac == NULL || vm->state != VMAPI_BOOTED)
		return AC_DEAD;
	ac_req_begin(vm->ac, &q, kind);
	msgpack_pack_map(&q.pk, k2 ? 2 : 1);
	mp_kv_u64(&q.pk, key, handle);
	if (k2)
		mp_kv_i64(&q.pk, k2, v2);
	rc = ac_call(vm->ac, &q, deadline, &r, &err);
	ac_req_done(&q);
	ac_reply_free(&r);
	free(err);
	if (rc == AC_DEAD)
		vmapi_vm_died(vm);
	return rc;
}

static void
res_close(lua_State *L, int idx, struct vmapi_res *h)
{
	struct vmapi_vm *vm = vmapi_res_vm(L, idx);
	int64_t dl = ac_now_ms() + 5000;

	if (h->closed)
		return;
	h->closed = true;
	switch (h->kind) {
	case VMAPI_K_STREAM: {
		struct vmapi_stream *s = (struct vmapi_stream *)h;
		char *err = NULL;
		if (vm->ac != NULL && vm->state == VMAPI_BOOTED &&
		    ac_stream_cancel(vm->ac, h->handle, dl, &err) == AC_DEAD)
			vmapi_vm_died(vm);
		free(err);
		free(s->pend);
		s->pend = NULL;
		s->npend = 0;
		vm->nstreams--;
		break;
	}
	case VMAPI_K_PROC: {
		struct vmapi_proc *p = (struct vmapi_proc *)h;
		if (!p->waited) {
			quiet(vm, "kill", "handle", h->handle, "signal",
			    SIGTERM, dl);
			quiet(vm, "wait", "handle", h->handle, "timeout_ms",
			    2000, dl);
			p->waited = true;
		}
		break;
	}
	case VMAPI_K_FILE:
		quiet(vm, "close", "handle", h->handle, NULL, 0, dl);
		vm->nfiles--;
		break;
	case VMAPI_K_WORKER:
		quiet(vm, "worker_close", "worker", h->handle, NULL, 0,
		    dl + 5000);
		break;
	default:
		break;
	}
}

void
vmapi_res_close(lua_State *L, int idx)
{
	struct vmapi_res *h = lua_touserdata(L, idx);

	if (h != NULL && h->kind != VMAPI_K_VM)
		res_close(L, lua_absindex(L, idx), h);
}

static int
res_close_method(lua_State *L)
{
	struct vmapi_res *h = lua_touserdata(L, 1);

	luaL_argcheck(L, h != NULL, 1, "resource expected");
	res_close(L, 1, h);
	return 0;
}

static int
stream_gc(lua_State *L)
{
	struct vmapi_stream *s = luaL_checkudata(L, 1, VMAPI_STREAM_MT);

	free(s->pend);
	s->pend = NULL;
	return 0;
}

static int
res_handle(lua_State *L)
{
	struct vmapi_res *h = lua_touserdata(L, 1);

	luaL_argcheck(L, h != NULL, 1, "resource expected");
	lua_pushinteger(L, (lua_Integer)h->handle);
	return 1;
}

/* Starts a request {<key>: handle, …} with nfields more fields to pack. */
static struct ac_req *
req(lua_State *L, struct vmapi_vm *vm, const char *kind, const char *key,
    uint64_t handle, unsigned nfields)
{
	struct ac_req *q = vmapi_req_new(L, vm, kind);

	msgpack_pack_map(&q->pk, 1 + nfields);
	mp_kv_u64(&q->pk, key, handle);
	return q;
}

/* Pushes value[key] (the op's one result field). */
static void
push_field(lua_State *L, const msgpack_object *v, const char *key)
{
	const msgpack_object *f = mp_get(v, key);

	if (f != NULL)
		vmapi_push_obj(L, f);
	else
		lua_pushnil(L);
}

/* ---- Process ---------------------------------------------------------- */

static int
proc_wait(lua_State *L)
{
	struct vmapi_vm *vm;
	struct vmapi_proc *p = luaL_checkudata(L, 1, VMAPI_PROC_MT);
	int64_t ms = -1;
	struct ac_req *q;
	const msgpack_object *v;
	char e[160];
	int64_t ns;

	if (p->waited)
		vmapi_raisef(L, "proc:wait: process %d was already waited "
		    "(wait is one-shot)", p->pid);
	check(L, VMAPI_K_PROC, "proc:wait", &vm);
	if (!lua_isnoneornil(L, 2)) {
		if (runner_dur_from_lua(L, 2, &ns, e, sizeof(e)) != 0)
			vmapi_raisef(L, "proc:wait: %s", e);
		if (ns <= 0)
			vmapi_raisef(L, "proc:wait: timeout must be positive "
			    "(omit it to wait forever)");
		ms = (ns + 999999) / 1000000;
	}
	q = req(L, vm, "wait", "handle", p->h.handle, ms >= 0);
	if (ms >= 0)
		mp_kv_u64(&q->pk, "timeout_ms", (uint64_t)ms);
	v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	/* Only now: a wait cut short by the test's timeout leaves the
	 * process for the scope's close to kill. */
	p->waited = true;
	vmapi_push_result(L, v);
	return 1;
}

static int
proc_kill_as(lua_State *L, const char *what)
{
	struct vmapi_vm *vm;
	struct vmapi_proc *p = check(L, VMAPI_K_PROC, what, &vm);
	int sig = vmapi_signal_arg(L, 2, what);
	struct ac_req *q;

	if (p->waited)
		return 0;
	q = req(L, vm, "kill", "handle", p->h.handle, 1);
	mp_kv_i64(&q->pk, "signal", sig);
	vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	return 0;
}

static int proc_kill(lua_State *L) { return proc_kill_as(L, "proc:kill"); }
static int proc_signal(lua_State *L)
{
	if (lua_isnoneornil(L, 2))
		return luaL_error(L, "proc:signal(sig): sig is required");
	return proc_kill_as(L, "proc:signal");
}

static int
proc_pid(lua_State *L)
{
	lua_pushinteger(L, ((struct vmapi_proc *)luaL_checkudata(L, 1,
	    VMAPI_PROC_MT))->pid);
	return 1;
}

static int
proc_status(lua_State *L)
{
	struct vmapi_vm *vm;
	struct vmapi_proc *p = luaL_checkudata(L, 1, VMAPI_PROC_MT);
	const msgpack_object *v;

	if (p->waited) {
		lua_pushstring(L, "exited");
		return 1;
	}
	check(L, VMAPI_K_PROC, "proc:status", &vm);
	req(L, vm, "proc_status", "handle", p->h.handle, 0);
	v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	push_field(L, v, "status");
	return 1;
}

static void
need_unwaited(lua_State *L, struct vmapi_proc *p, const char *what)
{
	if (p->waited)
		vmapi_raisef(L, "%s: process %d was already waited", what,
		    p->pid);
}

static int
proc_stdin_write(lua_State *L)
{
	struct vmapi_vm *vm;
	struct vmapi_proc *p = check(L, VMAPI_K_PROC, "proc:stdin_write", &vm);
	size_t n;
	const char *d = luaL_checklstring(L, 2, &n);
	struct ac_req *q;
	const msgpack_object *v;

	need_unwaited(L, p, "proc:stdin_write");
	q = req(L, vm, "proc_stdin_write", "handle", p->h.handle, 1);
	mp_kv_bin(&q->pk, "data", d, n);
	v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	push_field(L, v, "written");
	return 1;
}

static int
proc_close_stdin(lua_State *L)
{
	struct vmapi_vm *vm;
	struct vmapi_proc *p = check(L, VMAPI_K_PROC, "proc:close_stdin", &vm);

	need_unwaited(L, p, "proc:close_stdin");
	req(L, vm, "proc_stdin_close", "handle", p->h.handle, 0);
	vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	return 0;
}

static int
proc_stream(lua_State *L, const char *channel)
{
	struct vmapi_vm *vm;
	struct vmapi_proc *p = check(L, VMAPI_K_PROC, "proc:stream", &vm);
	struct ac_req *q;
	char what[96];

	need_unwaited(L, p, "proc:stream");
	lua_getiuservalue(L, 1, 1);
	q = req(L, vm, "proc_stream", "handle", p->h.handle, 1);
	mp_kv_str(&q->pk, "channel", channel);
	snprintf(what, sizeof(what), "proc:%s_stream() of pid %d", channel,
	    p->pid);
	vmapi_stream_call(L, -2, what);
	return 1;
}

static int proc_stdout_stream(lua_State *L) { return proc_stream(L, "stdout"); }
static int proc_stderr_stream(lua_State *L) { return proc_stream(L, "stderr"); }

/* ---- File ------------------------------------------------------------- */

static int
file_read(lua_State *L)
{
	struct vmapi_vm *vm;
	struct vmapi_res *f = check(L, VMAPI_K_FILE, "file:read", &vm);
	lua_Integer n = luaL_optinteger(L, 2, CHUNK);
	struct ac_req *q;
	const msgpack_object *v;

	if (n < 0)
		return luaL_error(L, "file:read: n must be >= 0");
	q = req(L, vm, "read", "handle", f->handle, 1);
	mp_kv_u64(&q->pk, "max_bytes", (uint64_t)n);
	v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	if (mp_get(v, "data") != NULL)
		vmapi_push_obj(L, mp_get(v, "data"));
	else
		lua_pushliteral(L, "");
	return 1;
}

static int
file_read_all(lua_State *L)
{
	struct vmapi_vm *vm;
	struct vmapi_res *f = check(L, VMAPI_K_FILE, "file:read_all", &vm);
	luaL_Buffer b;
	const msgpack_object *v;
	const char *p;
	size_t n;
	struct ac_req *q;

	luaL_buffinit(L, &b);
	for (;;) {
		q = req(L, vm, "read", "handle", f->handle, 1);
		mp_kv_u64(&q->pk, "max_bytes", CHUNK);
		v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
		if (mp_get_bin(v, "data", &p, &n) != 0 || n == 0) {
			lua_pop(L, 1);
			break;
		}
		lua_pushlstring(L, p, n);
		lua_remove(L, -2);  /* the reply */
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	return 1;
}

static int
file_write(lua_State *L)
{
	struct vmapi_vm *vm;
	struct vmapi_res *f = check(L, VMAPI_K_FILE, "file:write", &vm);
	size_t n;
	const char *d = luaL_checklstring(L, 2, &n);
	struct ac_req *q = req(L, vm, "write", "handle", f->handle, 1);
	const msgpack_object *v;

	ac_req_reserve(q, n + 64);
	mp_kv_bin(&q->pk, "data", d, n);
	v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	push_field(L, v, "written");
	return 1;
}

static int
file_seek_to(lua_State *L, lua_Integer off, const char *whence)
{
	struct vmapi_vm *vm;
	struct vmapi_res *f = check(L, VMAPI_K_FILE, "file:seek", &vm);
	struct ac_req *q;
	const msgpack_object *v;

	if (strcmp(whence, "set") && strcmp(whence, "cur") &&
	    strcmp(whence, "end"))
		return luaL_error(L, "file:seek: whence must be set/cur/end");
	q = req(L, vm, "seek", "handle", f->handle, 2);
	mp_kv_i64(&q->pk, "offset", off);
	mp_kv_str(&q->pk, "whence", whence);
	v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	push_field(L, v, "offset");
	return 1;
}

static int
file_seek(lua_State *L)
{
	return file_seek_to(L, luaL_checkinteger(L, 2),
	    luaL_optstring(L, 3, "set"));
}

static int
file_tell(lua_State *L)
{
	return file_seek_to(L, 0, "cur");
}

static int
file_tail_stream(lua_State *L)
{
	struct vmapi_vm *vm;
	struct vmapi_res *f = check(L, VMAPI_K_FILE, "file:tail_stream", &vm);
	char what[64];

	lua_getiuservalue(L, 1, 1);
	req(L, vm, "fd_stream", "handle", f->handle, 0);
	snprintf(what, sizeof(what), "file#%llu:tail_stream()",
	    (unsigned long long)f->handle);
	vmapi_stream_call(L, -2, what);
	return 1;
}

/* ---- Stream ----------------------------------------------------------- */

void
vmapi_push_stream(lua_State *L, int vm_idx, uint64_t id, const char *what)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, vm_idx);
	struct vmapi_stream *s;

	ac_stream_add(vm->ac, id);
	s = vmapi_res_new(L, vm_idx, VMAPI_K_STREAM, id);
	snprintf(s->what, sizeof(s->what), "%s", what);
	luaL_where(L, 1);           /* the Lua line that asked for it */
	{
		const char *w = lua_tostring(L, -1), *t;
		size_t n = strlen(w);

		while (n > 0 && (w[n - 1] == ':' || w[n - 1] == ' '))
			n--;
		t = runner_current_test(runner_from_lua(L));
		if (t != NULL)
			snprintf(s->site, sizeof(s->site), "%.*s (test \"%s\")",
			    (int)n, w, t);
		else
			snprintf(s->site, sizeof(s->site), "%.*s (file scope)",
			    (int)n, w);
	}
	lua_pop(L, 1);
}

void
vmapi_stream_call(lua_State *L, int vm_idx, const char *what)
{
	struct vmapi_vm *vm;
	uint64_t id;

	vm_idx = lua_absindex(L, vm_idx);
	vm = vmapi_check_vm(L, vm_idx);
	/* The box starts with its struct ac_req. */
	id = ((struct ac_req *)luaL_checkudata(L, -1, VMAPI_REQ_MT))->id;
	vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	lua_pop(L, 1);
	vmapi_push_stream(L, vm_idx, id, what);
}

/*
 * Appends up to CHUNK bytes from the agent to s->pend.  1 = got bytes,
 * 0 = timeout, -1 = end of stream.  Raises on a dead VM or source error.
 */
static int
stream_fill(lua_State *L, struct vmapi_vm *vm, struct vmapi_stream *s,
    int64_t deadline)
{
	char *data = NULL, *err = NULL, *np, *msg;
	size_t n;
	bool eof;
	int rc;

	if (s->ended)
		return -1;
	rc = ac_stream_read(vm->ac, s->h.handle, CHUNK, deadline, &data, &n,
	    &eof, &err);
	if (rc == AC_TIMEOUT)
		return 0;
	if (rc != AC_OK) {
		if (rc == AC_DEAD)
			vmapi_vm_died(vm);
		s->ended = true;
		if (asprintf(&msg, "vm `%s`: %s: %s", vm->name, s->what,
		    err ? err : "?") < 0)
			msg = NULL;
		free(err);
		vmapi_raise(L, msg);
	}
	if (eof && n == 0) {
		free(data);
		s->ended = true;
		return -1;
	}
	if ((np = realloc(s->pend, s->npend + n + 1)) == NULL) {
		free(data);
		return luaL_error(L, "out of memory");
	}
	memcpy(np + s->npend, data, n);
	s->pend = np;
	s->npend += n;
	free(data);
	return 1;
}

static struct vmapi_stream *
stream_check(lua_State *L, struct vmapi_vm **vm, const char *what)
{
	return check(L, VMAPI_K_STREAM, what, vm);
}

static int64_t
opt_timeout_ms(lua_State *L, int idx, int64_t dflt, const char *what)
{
	int64_t ns;
	char e[160];

	if (lua_isnoneornil(L, idx))
		return dflt;
	if (runner_dur_from_lua(L, idx, &ns, e, sizeof(e)) != 0)
		vmapi_raisef(L, "%s: %s", what, e);
	return ns / 1000000;
}

/* Pushes the first n pending bytes and keeps the rest. */
static void
take_pending(lua_State *L, struct vmapi_stream *s, size_t n)
{
	lua_pushlstring(L, s->pend, n);
	memmove(s->pend, s->pend + n, s->npend - n);
	s->npend -= n;
}

static int
stream_next(lua_State *L)
{
	struct vmapi_stream *s;
	struct vmapi_vm *vm;
	int64_t ms;
	struct vmapi_res *h = luaL_checkudata(L, 1, VMAPI_STREAM_MT);

	if (h->closed) {
		lua_pushnil(L);
		return 1;
	}
	s = stream_check(L, &vm, "stream:next");
	ms = opt_timeout_ms(L, 2, -1, "stream:next");
	if (s->npend == 0 && stream_fill(L, vm, s, vmapi_deadline(L, ms)) <= 0) {
		if (!s->ended && vmapi_test_expired(L))
			runner_raise_timeout(L, runner_from_lua(L));
		lua_pushnil(L);
		return 1;
	}
	take_pending(L, s, s->npend);
	return 1;
}

static const char *
find_bytes(const char *h, size_t hn, const char *n, size_t nn)
{
	return nn == 0 ? h : memmem(h, hn, n, nn);
}

static int
until_common(lua_State *L, const char *what)
{
	struct vmapi_vm *vm;
	struct vmapi_stream *s = stream_check(L, &vm, what);
	size_t pn;
	const char *pat = luaL_checklstring(L, 2, &pn), *at;
	int64_t ms = opt_timeout_ms(L, 3, 10000, what);
	int64_t deadline = vmapi_deadline(L, ms);
	int rc;

	for (;;) {
		if (s->npend > 0 &&
		    (at = find_bytes(s->pend, s->npend, pat, pn)) != NULL) {
			take_pending(L, s, (size_t)(at - s->pend) + pn);
			return 1;
		}
		rc = stream_fill(L, vm, s, deadline);
		if (rc == 0) {
			if (vmapi_test_expired(L))
				runner_raise_timeout(L, runner_from_lua(L));
			vmapi_raisef(L, "%s timed out waiting for `%s`",
			    strcmp(what, "stream:expect") == 0 ? "expect" :
			    "read_until", pat);
		}
		if (rc < 0)
			vmapi_raisef(L, "%s: stream ended before `%s` was seen",
			    what, pat);
	}
}

static int stream_read_until(lua_State *L) { return until_common(L, "stream:read_until"); }
static int stream_expect(lua_State *L) { return until_common(L, "stream:expect"); }

static int
stream_drain(lua_State *L)
{
	struct vmapi_vm *vm;
	struct vmapi_stream *s = stream_check(L, &vm, "stream:drain");
	int64_t ms = opt_timeout_ms(L, 2, 500, "stream:drain");
	int i = 0;

	lua_newtable(L);
	for (;;) {
		if (s->npend == 0 &&
		    stream_fill(L, vm, s, vmapi_deadline(L, ms)) <= 0)
			break;
		take_pending(L, s, s->npend);
		lua_rawseti(L, -2, ++i);
	}
	return 1;
}

static int
stream_eof(lua_State *L)
{
	struct vmapi_stream *s = luaL_checkudata(L, 1, VMAPI_STREAM_MT);
	struct vmapi_vm *vm = vmapi_res_vm(L, 1);
	bool ended = true;
	size_t n = 0;

	if (s->npend > 0) {
		lua_pushboolean(L, 0);
		return 1;
	}
	if (!s->h.closed && !s->ended && vm->ac != NULL &&
	    vm->state == VMAPI_BOOTED)
		n = ac_stream_pending(vm->ac, s->h.handle, &ended);
	lua_pushboolean(L, n == 0 && ended);
	return 1;
}

/* ---- Worker ----------------------------------------------------------- */

static int
worker_kill(lua_State *L)
{
	struct vmapi_vm *vm;
	struct vmapi_res *w = check(L, VMAPI_K_WORKER, "worker:kill", &vm);
	int sig = vmapi_signal_arg(L, 2, "worker:kill");
	struct ac_req *q = req(L, vm, "worker_kill", "worker", w->handle, 1);
	const msgpack_object *v;

	mp_kv_i64(&q->pk, "signal", sig);
	v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	push_field(L, v, "signalled");
	return 1;
}

static int
worker_join(lua_State *L)
{
	struct vmapi_vm *vm;
	struct vmapi_res *w = check(L, VMAPI_K_WORKER, "worker:join", &vm);
	const msgpack_object *v;

	req(L, vm, "worker_join", "worker", w->handle, 0);
	v = vmapi_call(L, vm, vmapi_deadline(L, -1), NULL);
	push_field(L, v, "code");
	return 1;
}

/* ---- registration ----------------------------------------------------- */

static void
newmt(lua_State *L, const char *name, const luaL_Reg *m, lua_CFunction gc)
{
	luaL_newmetatable(L, name);
	lua_newtable(L);
	luaL_setfuncs(L, m, 0);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, res_close_method);
	lua_setfield(L, -2, "__close");
	if (gc != NULL) {
		lua_pushcfunction(L, gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
}

void
vmapi_res_open(lua_State *L)
{
	static const luaL_Reg proc[] = {
		{ "wait", proc_wait }, { "kill", proc_kill },
		{ "signal", proc_signal }, { "pid", proc_pid },
		{ "handle", res_handle }, { "status", proc_status },
		{ "stdin_write", proc_stdin_write },
		{ "close_stdin", proc_close_stdin },
		{ "stdout_stream", proc_stdout_stream },
		{ "stderr_stream", proc_stderr_stream },
		{ "close", res_close_method }, { NULL, NULL },
	};
	static const luaL_Reg file[] = {
		{ "read", file_read }, { "read_all", file_read_all },
		{ "write", file_write }, { "seek", file_seek },
		{ "tell", file_tell }, { "close", res_close_method },
		{ "fd", res_handle }, { "tail_stream", file_tail_stream },
		{ NULL, NULL },
	};
	static const luaL_Reg stream[] = {
		{ "next", stream_next }, { "read_until", stream_read_until },
		{ "expect", stream_expect }, { "drain", stream_drain },
		{ "close", res_close_method }, { "eof", stream_eof },
		{ NULL, NULL },
	};
	static const luaL_Reg worker[] = {
		{ "run_async", vmapi_worker_run_async },
		{ "open_file", vmapi_worker_open_file },
		{ "kill", worker_kill }, { "join", worker_join },
		{ "handle", res_handle }, { "close", res_close_method },
		{ NULL, NULL },
	};

	newmt(L, VMAPI_PROC_MT, proc, NULL);
	newmt(L, VMAPI_FILE_MT, file, NULL);
	newmt(L, VMAPI_STREAM_MT, stream, stream_gc);
	newmt(L, VMAPI_WORKER_MT, worker, NULL);
	luaL_getmetatable(L, VMAPI_WORKER_MT);
	lua_getfield(L, -1, "__index");
	vmapi_ops_worker_methods(L);
	lua_pop(L, 2);
}
