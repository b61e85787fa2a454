/*
 * vm_boot.c: a VM's boot and shutdown with the reports around them:
 * reserve / release to the supervisor, vm_spawned / vm_shutdown.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "events/mp.h"
#include "runner/runner_int.h"
#include "runner/vm_api.h"
#include "runner/bridge.h"

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
		/* what the guest got, not just what was declared */
		mp_kv_u64(&pk, "memory_bytes", vm->memory ? vm->memory :
		    VMM_DEFAULT_MEMORY);
	}
	mp_kv_u64(&pk, "cid", vm->cid);
	if (!spawned)
		mp_kv_i64(&pk, "duration_ns", duration_ns);
	rc = runner_send(r, &sb);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

void
vmapi_release(struct runner *r, struct vmapi_vm *vm)
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
	vmapi_release(r, vm);
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
	    !vmapi_is_local(runner_from_lua(L)))
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

/*
 * A VM restored from a snapshot still holds the agent session it had when
 * the snapshot was taken (the guest never saw the host go away), so a
 * ping answers and no hello is due; the snapshot's cache key pins the
 * protocol version.  An agent that reset its session asks for hello: then
 * do the hello.
 */
static int
restored_hello(struct vmapi_vm *vm, int64_t deadline, char **err)
{
	struct ac_req q;
	struct ac_reply rep;
	int rc, wants_hello;

	memset(&rep, 0, sizeof(rep));
	ac_req_begin(vm->ac, &q, "ping");
	msgpack_pack_map(&q.pk, 0);
	rc = ac_call(vm->ac, &q, deadline, &rep, err);
	ac_req_done(&q);
	wants_hello = rc == AC_AGENT_ERROR &&
	    strcmp(rep.agent_kind, "protocol") == 0;
	ac_reply_free(&rep);
	if (!wants_hello)
		return rc;
	free(*err);
	*err = NULL;
	return ac_hello(vm->ac, deadline, boot_check, vm->vmm, err);
}

/* One op with a small data map built by pack; AC status, *err on failure. */
static int
refresh_op(struct vmapi_vm *vm, const char *kind, int64_t ns,
    const uint8_t *seed, size_t nseed, int64_t deadline, char **err)
{
	struct ac_req q;
	struct ac_reply rep;
	int rc;

	memset(&rep, 0, sizeof(rep));
	ac_req_begin(vm->ac, &q, kind);
	msgpack_pack_map(&q.pk, 1);
	if (seed != NULL) {
		mp_str(&q.pk, "seed");
		mp_bin(&q.pk, seed, nseed);
	} else {
		mp_kv_i64(&q.pk, "realtime_ns", ns);
	}
	rc = ac_call(vm->ac, &q, deadline, &rep, err);
	ac_req_done(&q);
	ac_reply_free(&rep);
	return rc;
}

/*
 * Every clone of a snapshot wakes with the clock and the RNG state the
 * snapshot froze: set the guest clock to the host's and mix fresh host
 * randomness into its RNG, so clones share neither time nor randomness.
 */
static int
restored_refresh(struct vmapi_vm *vm, int64_t deadline, char **err)
{
	uint8_t seed[64];
	struct timespec ts;
	size_t got = 0;
	ssize_t n;
	int rc;

	while (got < sizeof(seed)) {
		if ((n = getrandom(seed + got, sizeof(seed) - got, 0)) < 0) {
			if (errno == EINTR)
				continue;
			if (asprintf(err, "getrandom: %s", strerror(errno)) < 0)
				*err = NULL;
			return AC_OS_ERROR;
		}
		got += (size_t)n;
	}
	if ((rc = refresh_op(vm, "reseed", 0, seed, sizeof(seed), deadline,
	    err)) != AC_OK)
		return rc;
	clock_gettime(CLOCK_REALTIME, &ts);
	return refresh_op(vm, "set_time", (int64_t)ts.tv_sec * 1000000000 +
	    ts.tv_nsec, NULL, 0, deadline, err);
}

int
vmapi_vm_boot(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);
	struct runner *r = runner_from_lua(L);
	struct vmapi_ctx *ctx;
	struct vmm_boot_opts o = { 0 };
	enum vmm_backend be;
	char what[300], *err = NULL, *msg;
	uint32_t cid;
	int64_t deadline;
	int rc;
	bool refresh;

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
	bridge_boot_nics(L, 1, &o);   /* NICs of runner/bridge_lua.c */
	be = vmapi_is_local(r) ? VMM_BACKEND_LOCAL : VMM_BACKEND_QEMU;
	ctx = vmapi_ctx(L);
	if (ctx->nvms >= VMAPI_MAX_VMS_PER_RUNNER)
		vmapi_raisef(L, "vm `%s`: boot refused: one test file may boot "
		    "at most %u VMs", vm->name, VMAPI_MAX_VMS_PER_RUNNER);

	o.vm_name = vm->name;
	o.restore_from = vm->restore_from;
	o.memory_bytes = vm->memory ? vm->memory : VMM_DEFAULT_MEMORY;
	o.cpus = vm->cpus ? vm->cpus : VMM_DEFAULT_CPUS;
	o.profile = vmapi_resolve_profile(L, vm->name, vm->profile);
	snprintf(what, sizeof(what), "vm `%s`", vm->name);
	cid = 0;
	if (vm->prereserved) {
		vm->prereserved = false;   /* lab:boot() reserved for it */
		cid = vm->cid_hint;
		vm->cid_hint = 0;
	} else if (runner_request(r, "reserve", o.memory_bytes +
	    VMM_OVERHEAD_BYTES, o.cpus, what, &err) != 0) {
		if (asprintf(&msg, "vm `%s`: boot refused: %s", vm->name,
		    err ? err : "?") < 0)
			msg = NULL;
		free(err);
		vmapi_raise(L, msg);
	} else {
		cid = runner_last_cid(r);
	}
	vm->res_memory = o.memory_bytes + VMM_OVERHEAD_BYTES;
	vm->res_cpus = o.cpus;
	vm->cid = cid ? cid : 100u + (uint32_t)getpid() * 1000u + ctx->nvms;
	ctx->nvms++;
	o.cid = vm->cid;
	o.verbose = runner_opts(r)->verbose;

	if (vmm_boot(be, &o, &vm->vmm, &err) != 0) {
		vmapi_release(r, vm);
		if (asprintf(&msg, "vm `%s`: boot failed: %s", vm->name,
		    err ? err : "?") < 0)
			msg = NULL;
		free(err);
		vmapi_raise(L, msg);
	}
	if ((vm->ac = ac_new(vmm_agent_fd(vm->vmm))) == NULL) {
		vmm_destroy(vm->vmm, 0);
		vm->vmm = NULL;
		vmapi_release(r, vm);
		return luaL_error(L, "out of memory");
	}
	/* The agent's own limit, cut short by the test's timeout. */
	deadline = vmapi_deadline(L, (int64_t)((o.agent_timeout_s > 0 ?
	    o.agent_timeout_s : 30.0) * 1000));
	rc = vm->restore_from != NULL ? restored_hello(vm, deadline, &err) :
	    ac_hello(vm->ac, deadline, boot_check, vm->vmm, &err);
	refresh = rc == AC_OK && vm->restore_from != NULL;
	if (refresh)
		rc = restored_refresh(vm, deadline, &err);
	if (rc == AC_TIMEOUT && vmapi_test_expired(L)) {
		free(err);
		ac_free(vm->ac);
		vm->ac = NULL;
		vmm_destroy(vm->vmm, 0);
		vm->vmm = NULL;
		vmapi_release(r, vm);
		runner_raise_timeout(L, r);
	}
	if (rc != AC_OK) {
		char *why = NULL;
		if (asprintf(&why, refresh ? "vm `%s`: after the restore, "
		    "resetting the guest clock and RNG failed: %s" :
		    "vm `%s`: the agent did not answer hello: %s", vm->name,
		    err ? err : "?") < 0)
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
		vmapi_release(r, vm);
		vmapi_raise(L, msg);
	}
	vm->state = VMAPI_BOOTED;
	vm->boot_ns = runner_now_ns();
	send_report(r, vm, true, 0);
	vm->spawned = true;
	bridge_vm_booted(L, 1);       /* guest addresses of its NICs */
	lua_settop(L, 1);
	return 1;
}

