/*
 * fixture_lua.c: vm:snapshot(), the Snapshot userdata and
 * provium:vm_fixture(path) (colon and dot forms), on top of fixtures/flow.h.
 *
 * vm_fixture computes the key from provium.toml (fixtures/env.h), then
 * fixture_flow_get() does hit / wait / build / corrupt-rebuild and the
 * event pairing; this file only supplies the two VM pieces:
 *   build   - runs the fixture file with `provium` bound to a fresh lab
 *             ("fixture:<path>") and vm:snapshot() writing straight into
 *             the cache's temp path; the fixture must return that Snapshot.
 *             Its VM's profile, memory and cpus become the entry's meta.
 *   restore - creates VM "fixture:<path with / as _>" ("#N" if taken) in
 *             the file's root lab with that profile/memory/cpus and boots it
 *             with vmm_boot_opts.restore_from (through vmapi_vm_boot, so it
 *             reserves from the pool and reports vm_spawned like any boot).
 * lab_fixture is the same flow with a <key>.lab/ directory: the build
 * points lab:snapshot() at it (VMAPI_LABSNAP_PENDING), the restore is
 * lab:restore() into a fresh sub-lab "fixture:<path>" of the root lab.
 * vm:restore(snap|path) reboots a VM from a snapshot (vm_boot.c resets
 * the clock and reseeds the RNG after every restore).
 * Lua runs only inside lua_pcall from the flow callbacks, so an error
 * cannot longjmp past the build lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "events/mp.h"
#include "fixtures/cache.h"
#include "fixtures/env.h"
#include "fixtures/flow.h"
#include "fixtures/key.h"
#include "runner/runner.h"
#include "runner/vm_api.h"
#include "vm/profile.h"

#define SNAP_MT      "provium.snapshot"
#define PENDING_KEY  "provium.fixture.pending"   /* build's temp path */
#define NAMES_KEY    "provium.fixture.names"     /* restored VM names used */

struct snap {
	char *path;
	uint64_t size;
	char *profile;
	uint64_t memory;
	unsigned cpus;
	bool temp;        /* a temp file of ours: removed when collected */
};

/* ---- Snapshot ---- */

static struct snap *
check_snap(lua_State *L, int idx)
{
	return luaL_checkudata(L, idx, SNAP_MT);
}

static int
snap_path(lua_State *L)
{
	lua_pushstring(L, check_snap(L, 1)->path);
	return 1;
}

static int
snap_size(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)check_snap(L, 1)->size);
	return 1;
}

/* Idempotent; size() is 0 afterwards. */
static int
snap_delete(lua_State *L)
{
	struct snap *s = check_snap(L, 1);

	if (s->size > 0 && s->path != NULL)
		unlink(s->path);
	s->size = 0;
	return 0;
}

static int
snap_tostring(lua_State *L)
{
	lua_pushfstring(L, "snapshot(%s)", check_snap(L, 1)->path);
	return 1;
}

static int
snap_gc(lua_State *L)
{
	struct snap *s = check_snap(L, 1);

	if (s->temp && s->size > 0 && s->path != NULL)
		unlink(s->path);
	free(s->path);
	free(s->profile);
	s->path = s->profile = NULL;
	return 0;
}

/* vm:snapshot([path]): stops the guest, writes it to path, shuts the VM
 * down (restore it with vm_fixture), returns a Snapshot. */
static int
vm_snapshot(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);
	const char *path = luaL_optstring(L, 2, NULL);
	struct snap *s;
	struct stat st;
	char *err = NULL, tmp[4096];
	bool temp;

	vmapi_need_booted(L, vm, "snapshot");
	if (!(vmm_caps(vm->vmm) & VMM_CAP_SNAPSHOT))
		return luaL_error(L, "vm `%s`: snapshot needs the qemu backend "
		    "(this VM runs under --vmm local)", vm->name);
	if (vm->nfiles > 0 || vm->nstreams > 0) {
		int n;
		char *list = vmapi_open_streams(L, vm, &n);

		lua_pushfstring(L, "vm `%s`: cannot snapshot with %d open "
		    "stream(s) and %d open file(s); Close streams and files "
		    "first%s", vm->name, (int)vm->nstreams, (int)vm->nfiles,
		    list ? list : "");
		free(list);
		return lua_error(L);
	}
	if (path == NULL && lua_getfield(L, LUA_REGISTRYINDEX, PENDING_KEY) ==
	    LUA_TSTRING)
		path = lua_tostring(L, -1);       /* anchored in the registry */
	if (path == NULL) {
		const char *t = getenv("TMPDIR");

		snprintf(tmp, sizeof(tmp), "%s/provium-snapshot-%ld-%u.snap",
		    t && *t ? t : "/tmp", (long)getpid(), vm->cid);
		path = tmp;
	}
	temp = path == tmp;
	s = lua_newuserdatauv(L, sizeof(*s), 0);
	memset(s, 0, sizeof(*s));
	luaL_setmetatable(L, SNAP_MT);
	if ((s->path = strdup(path)) == NULL ||
	    (s->profile = strdup(vm->profile ? vm->profile : "")) == NULL)
		return luaL_error(L, "out of memory");
	s->memory = vm->memory;
	s->cpus = vm->cpus;
	s->temp = temp;
	if (vmm_snapshot(vm->vmm, path, &err) < 0) {
		lua_pushfstring(L, "vm `%s`: %s", vm->name, err ? err : "snapshot failed");
		free(err);
		return lua_error(L);
	}
	s->size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
	/* The migrated guest is stopped for good: no poweroff, no grace. */
	vmm_destroy(vm->vmm, 0);
	vm->vmm = NULL;
	vm->state = VMAPI_PAUSED;
	vmapi_vm_stop(L, vm);
	return 1;
}

/* Pcall'd boot of the VM at 1 from the snapshot file at 2. */
static int
restore_boot(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);

	vm->restore_from = lua_tostring(L, 2);   /* anchored by arg 2 */
	lua_pushcfunction(L, vmapi_vm_boot);
	lua_pushvalue(L, 1);
	lua_call(L, 1, 0);
	return 0;
}

/*
 * vm:restore(snap | path): the VM (whatever its state: a booted one is
 * shut down first, with its vm_shutdown) comes back booted from the
 * snapshot in a fresh QEMU, with a new cid and its own vm_spawned.  A
 * Snapshot brings the profile, memory and CPUs it was taken with (QEMU
 * only restores into the same machine); a bare path uses the VM's own.
 */
static int
vm_restore(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);
	struct snap *s = luaL_testudata(L, 2, SNAP_MT);
	const char *path;
	struct stat st;
	int rc;

	if (s != NULL) {
		if (s->size == 0)
			return luaL_error(L, "vm `%s`: restore: %s was deleted",
			    vm->name, s->path);
		lua_pushstring(L, s->path);
	} else if (lua_type(L, 2) == LUA_TSTRING) {
		lua_pushvalue(L, 2);
	} else {
		return luaL_error(L, "vm:restore(snapshot | path): expected a "
		    "Snapshot (from vm:snapshot()) or a path, got %s",
		    luaL_typename(L, 2));
	}
	path = lua_tostring(L, -1);                      /* 3 */
	if (vmapi_is_local(runner_from_lua(L)))
		return luaL_error(L, "vm `%s`: restore needs the qemu backend "
		    "(snapshots are not supported under --vmm local)", vm->name);
	if (stat(path, &st) != 0)
		return luaL_error(L, "vm `%s`: restore: %s: %s", vm->name, path,
		    strerror(errno));
	if (vm->nfiles > 0 || vm->nstreams > 0)
		return luaL_error(L, "vm `%s`: cannot restore with %d open "
		    "stream(s) and %d open file(s); Close streams and files "
		    "first", vm->name, (int)vm->nstreams, (int)vm->nfiles);
	vmapi_vm_stop(L, vm);
	if (s != NULL) {
		char *p = NULL;

		if (s->profile != NULL && *s->profile &&
		    (p = strdup(s->profile)) == NULL)
			return luaL_error(L, "out of memory");
		if (p != NULL) {
			free(vm->profile);
			vm->profile = p;
		}
		vm->memory = s->memory;
		vm->cpus = s->cpus;
	}
	vm->state = VMAPI_CREATED;
	lua_pushcfunction(L, restore_boot);
	lua_pushvalue(L, 1);
	lua_pushvalue(L, 3);
	rc = lua_pcall(L, 2, 0, 0);
	vm->restore_from = NULL;
	if (rc != LUA_OK) {
		if (vm->state == VMAPI_CREATED)
			vm->state = VMAPI_SHUTDOWN;
		return lua_error(L);
	}
	lua_settop(L, 1);
	return 1;
}

/* ---- vm_fixture ---- */

struct fctx {
	lua_State *L;
	struct runner *r;
	const char *file;      /* the fixture's .fixture.lua */
	int vm_ref;            /* the restored VM, or lab */
	bool lab;              /* lab_fixture */
};

static void
report(struct fctx *c, const char *t, const char *path, const char *held,
    int with_done, uint64_t ns, uint64_t bytes)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	runner_pack_begin(&sb, &pk, t, 1 + (held != NULL) + 2 * with_done);
	mp_kv_str(&pk, "path", path);
	if (held != NULL)
		mp_kv_str(&pk, "held_by_file", held);
	if (with_done) {
		mp_kv_u64(&pk, "duration_ns", ns);
		mp_kv_u64(&pk, "snapshot_bytes", bytes);
	}
	runner_send(c->r, &sb);
	msgpack_sbuffer_destroy(&sb);
}

static void
on_started(void *c, const char *n)
{
	report(c, "fixture_build_started", n, NULL, 0, 0, 0);
}

static void
on_waiting(void *c, const char *n, const char *held)
{
	report(c, "fixture_build_waiting", n, held, 0, 0, 0);
}

static void
on_done(void *c, const char *n, uint64_t ns, uint64_t bytes)
{
	report(c, "fixture_build_done", n, NULL, 1, ns, bytes);
}

static void
on_hit(void *c, const char *n)
{
	report(c, "fixture_cache_hit", n, NULL, 0, 0, 0);
}

/* Runs under pcall: (name, file, tmp, is_lab) -> meta json string (VM)
 * or nothing (lab). */
static int
build_chunk(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	const char *name = luaL_checkstring(L, 1), *file = luaL_checkstring(L, 2);
	bool is_lab = lua_toboolean(L, 4);
	struct snap *s;
	json_t *j;
	char *meta, lab[600];
	int ok;

	lua_settop(L, 4);
	snprintf(lab, sizeof(lab), "fixture:%s", name);
	runner_push_root_lab(L, r);
	runner_lab_new(L, lab, lua_gettop(L));           /* 6: fixture lab */
	lua_getglobal(L, "provium");                      /* 7: saved */
	/* 8, 9: an outer build's paths (stacked fixtures), put back after. */
	lua_getfield(L, LUA_REGISTRYINDEX, PENDING_KEY);
	lua_getfield(L, LUA_REGISTRYINDEX, VMAPI_LABSNAP_PENDING);
	/* Only the kind being built writes into the cache's temp path. */
	if (is_lab)
		lua_pushnil(L);
	else
		lua_pushvalue(L, 3);
	lua_setfield(L, LUA_REGISTRYINDEX, PENDING_KEY);
	if (is_lab)
		lua_pushvalue(L, 3);
	else
		lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, VMAPI_LABSNAP_PENDING);
	lua_pushvalue(L, 6);
	lua_setglobal(L, "provium");
	if (luaL_loadfile(L, file) != LUA_OK)
		ok = 0;
	else
		ok = lua_pcall(L, 0, 1, 0) == LUA_OK;
	lua_pushvalue(L, 7);                              /* restore provium */
	lua_setglobal(L, "provium");
	lua_pushvalue(L, 8);
	lua_setfield(L, LUA_REGISTRYINDEX, PENDING_KEY);
	lua_pushvalue(L, 9);
	lua_setfield(L, LUA_REGISTRYINDEX, VMAPI_LABSNAP_PENDING);
	if (!ok)
		return lua_error(L);
	if (is_lab) {
		if (luaL_testudata(L, -1, SNAP_MT) != NULL)
			return luaL_error(L, "fixture `%s` returned a VM snapshot; "
			    "use vm_fixture instead", name);
		lua_getfield(L, -1, "path");
		if (luaL_testudata(L, -2, VMAPI_LABSNAP_MT) == NULL)
			return luaL_error(L, "fixture `%s` must end with `return "
			    "provium:snapshot()` (it returned %s)", name,
			    luaL_typename(L, -2));
		lua_pushvalue(L, -2);
		lua_call(L, 1, 1);
		if (strcmp(lua_tostring(L, -1), lua_tostring(L, 3)) != 0)
			return luaL_error(L, "fixture `%s`: call provium:snapshot() "
			    "without a directory in lab fixtures", name);
		return 0;
	}
	if (luaL_testudata(L, -1, VMAPI_LABSNAP_MT) != NULL)
		return luaL_error(L, "fixture `%s` returned a lab snapshot; use "
		    "lab_fixture instead", name);
	if ((s = luaL_testudata(L, -1, SNAP_MT)) == NULL)
		return luaL_error(L, "fixture `%s` must end with `return "
		    "vm:snapshot()` (it returned %s)", name, luaL_typename(L, -1));
	if (strcmp(s->path, lua_tostring(L, 3)) != 0 &&
	    rename(s->path, lua_tostring(L, 3)) < 0)
		return luaL_error(L, "fixture `%s`: move %s into the cache: %s "
		    "(call vm:snapshot() without a path in fixtures)", name,
		    s->path, strerror(errno));
	j = json_pack("{s:s, s:I, s:i}", "profile", s->profile,
	    "memory_bytes", (json_int_t)s->memory, "cpus", (int)s->cpus);
	meta = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (meta == NULL)
		return luaL_error(L, "out of memory");
	lua_pushstring(L, meta);
	free(meta);
	return 1;
}

static int
do_build(void *cv, const char *name, const char *tmp, char **meta, char **err)
{
	struct fctx *c = cv;
	lua_State *L = c->L;

	lua_pushcfunction(L, build_chunk);
	lua_pushstring(L, name);
	lua_pushstring(L, c->file);
	lua_pushstring(L, tmp);
	lua_pushboolean(L, c->lab);
	if (lua_pcall(L, 4, 1, 0) != LUA_OK) {
		*err = strdup(lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
		lua_pop(L, 1);
		return -1;
	}
	if (c->lab) {
		lua_pop(L, 1);
		*meta = NULL;
		return 0;
	}
	*meta = strdup(lua_tostring(L, -1));
	lua_pop(L, 1);
	return *meta ? 0 : -1;
}

/* Runs under pcall: (name, snap, meta) -> booted VM. */
static int
restore_vm(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	const char *name = luaL_checkstring(L, 1), *snap = luaL_checkstring(L, 2);
	const char *meta = luaL_checkstring(L, 3), *profile = NULL;
	json_int_t memory = 0, cpus = 0;
	struct vmapi_vm *vm;
	json_error_t je;
	json_t *j = json_loads(meta, 0, &je);
	char vmname[600], *p;
	lua_Integer n;

	if (j == NULL || json_unpack(j, "{s:s, s:I, s:I}", "profile", &profile,
	    "memory_bytes", &memory, "cpus", &cpus) != 0) {
		json_decref(j);
		return luaL_error(L, "bad cache metadata `%s`", meta);
	}
	lua_pushstring(L, profile);                       /* 4 */
	json_decref(j);
	/* "fixture:<name with / -> _>", "#N" from the second restore on. */
	if (lua_getfield(L, LUA_REGISTRYINDEX, NAMES_KEY) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, NAMES_KEY);
	}                                                 /* 5 */
	n = (lua_getfield(L, 5, name), lua_tointeger(L, -1)) + 1;
	lua_pop(L, 1);
	lua_pushinteger(L, n);
	lua_setfield(L, 5, name);
	snprintf(vmname, sizeof(vmname), n > 1 ? "fixture:%s#%lld" :
	    "fixture:%s", name, (long long)n);
	for (p = vmname; *p; p++)
		if (*p == '/')
			*p = '_';
	runner_push_root_lab(L, r);                       /* 6 */
	lua_getfield(L, 6, "vm");
	lua_pushvalue(L, 6);
	lua_pushstring(L, vmname);
	lua_pushvalue(L, 4);
	lua_createtable(L, 0, 2);
	if (memory > 0) {
		lua_pushinteger(L, (lua_Integer)memory);
		lua_setfield(L, -2, "memory");
	}
	if (cpus > 0) {
		lua_pushinteger(L, (lua_Integer)cpus);
		lua_setfield(L, -2, "cpus");
	}
	lua_call(L, 4, 1);                                /* 7: vm */
	vm = vmapi_check_vm(L, 7);
	vm->restore_from = snap;      /* lives for this call: the flow's path */
	lua_getfield(L, 7, "boot");
	lua_pushvalue(L, 7);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		vm->restore_from = NULL;
		return lua_error(L);
	}
	vm->restore_from = NULL;
	lua_settop(L, 7);
	return 1;
}

/* Runs under pcall: (name, dir) -> a fresh sub-lab "fixture:<name>"
 * ("#N" from the second restore on) of the root lab holding its VMs. */
static int
restore_lab(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	const char *name = luaL_checkstring(L, 1);
	char lname[600], *p;
	lua_Integer n;

	if (lua_getfield(L, LUA_REGISTRYINDEX, NAMES_KEY) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, NAMES_KEY);
	}                                                 /* 3 */
	lua_pushfstring(L, "lab:%s", name);
	n = (lua_pushvalue(L, -1), lua_gettable(L, 3), lua_tointeger(L, -1)) + 1;
	lua_pop(L, 1);
	lua_pushinteger(L, n);
	lua_settable(L, 3);
	snprintf(lname, sizeof(lname), n > 1 ? "fixture:%s#%lld" :
	    "fixture:%s", name, (long long)n);
	for (p = lname; *p; p++)
		if (*p == '/')
			*p = '_';
	runner_push_root_lab(L, r);
	lua_getfield(L, -1, "lab");
	lua_insert(L, -2);
	lua_pushstring(L, lname);
	lua_call(L, 2, 1);                                /* the sub-lab */
	lua_getfield(L, -1, "restore");
	lua_pushvalue(L, -2);
	lua_pushvalue(L, 2);
	lua_call(L, 2, 1);
	return 1;
}

static int
do_restore(void *cv, const char *name, const char *snap, const char *meta,
    char **err)
{
	struct fctx *c = cv;
	lua_State *L = c->L;

	if (c->lab) {
		lua_pushcfunction(L, restore_lab);
		lua_pushstring(L, name);
		lua_pushstring(L, snap);
		if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
			*err = strdup(lua_tostring(L, -1) ?
			    lua_tostring(L, -1) : "error");
			lua_pop(L, 1);
			return -1;
		}
		luaL_unref(L, LUA_REGISTRYINDEX, c->vm_ref);
		c->vm_ref = luaL_ref(L, LUA_REGISTRYINDEX);
		return 0;
	}
	lua_pushcfunction(L, restore_vm);
	lua_pushstring(L, name);
	lua_pushstring(L, snap);
	lua_pushstring(L, meta ? meta : "");
	if (lua_pcall(L, 3, 1, 0) != LUA_OK) {
		*err = strdup(lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
		lua_pop(L, 1);
		return -1;
	}
	luaL_unref(L, LUA_REGISTRYINDEX, c->vm_ref);
	c->vm_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

static const struct fixture_flow_ops flow_ops = {
	NULL, on_started, on_waiting, on_done, on_hit, do_build, do_restore,
};

/* Everything that can fail before Lua runs again; *msg malloc'd on -1. */
static int
prepare(struct runner *r, const char *name, struct profile_config **cfg,
    struct fixture_env *fe, char **file, char *key, char **dir, char **msg)
{
	if (profile_config_load(runner_opts(r)->config, cfg, msg) < 0)
		return -1;
	if (fixture_env_from_config(*cfg, fe) < 0) {
		*msg = strdup("out of memory");
		return -1;
	}
	if (fixture_resolve(&fe->key.roots, name, file, msg) < 0 ||
	    fixture_key(&fe->key, name, key, msg) < 0 ||
	    fixture_cache_dir(fe->cache_dir, dir, msg) < 0)
		return -1;
	return 0;
}

/* vm_fixture / lab_fixture: the flow, then the restored VM or sub-lab. */
static int
get_fixture(lua_State *L, bool lab)
{
	struct runner *r = runner_from_lua(L);
	int a = runner_lab_test(L, 1) ? 2 : 1;
	const char *name = luaL_checkstring(L, a);
	struct fctx c = { L, r, NULL, LUA_NOREF, lab };
	struct fixture_flow_ops ops = flow_ops;
	struct profile_config *cfg = NULL;
	struct fixture_env fe;
	char key[FIXTURE_KEY_HEX + 1], *file = NULL, *dir = NULL, *msg = NULL;
	int rc;

	memset(&fe, 0, sizeof(fe));
	if (lab && vmapi_is_local(r))
		return luaL_error(L, "provium:lab_fixture(`%s`): lab snapshots "
		    "need the qemu backend (snapshots are not supported under "
		    "--vmm local)", name);
	rc = prepare(r, name, &cfg, &fe, &file, key, &dir, &msg);
	if (rc == 0) {
		struct fixture_flow_req rq = { dir, key, name, runner_display(r),
		    stderr, lab };

		c.file = file;
		ops.ctx = &c;
		rc = fixture_flow_get(&ops, &rq, &msg) < 0 ? -1 : 0;
	}
	fixture_env_release(&fe);
	profile_config_free(cfg);
	free(file);
	free(dir);
	if (rc < 0) {
		lua_pushstring(L, msg ? msg : "fixture failed");
		free(msg);
		return lua_error(L);
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, c.vm_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, c.vm_ref);
	return 1;
}

/* provium:vm_fixture(path) / provium.vm_fixture(path) */
static int
lab_vm_fixture(lua_State *L)
{
	return get_fixture(L, false);
}

/* provium:lab_fixture(path): a sub-lab of the root lab with its VMs. */
static int
lab_lab_fixture(lua_State *L)
{
	return get_fixture(L, true);
}

static int
fixture_open(lua_State *L, struct runner *r)
{
	static const luaL_Reg snap[] = { { "path", snap_path },
		{ "size", snap_size }, { "delete", snap_delete }, { NULL, NULL } };
	static const luaL_Reg lab[] = { { "vm_fixture", lab_vm_fixture },
		{ "lab_fixture", lab_lab_fixture }, { NULL, NULL } };

	(void)r;
	luaL_newmetatable(L, SNAP_MT);
	luaL_newlib(L, snap);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, snap_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushcfunction(L, snap_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	/* vm:snapshot joins the VM methods the vm extension registered. */
	luaL_getmetatable(L, VMAPI_VM_MT);
	if (lua_getfield(L, -1, "__index") != LUA_TTABLE)
		return -1;
	lua_pushcfunction(L, vm_snapshot);
	lua_setfield(L, -2, "snapshot");
	lua_pushcfunction(L, vm_restore);
	lua_setfield(L, -2, "restore");
	lua_pop(L, 2);
	runner_lab_add_methods(L, lab);
	return 0;
}

const struct runner_ext fixture_lua_ext = {
	.name = "fixture",
	.open = fixture_open,
};
