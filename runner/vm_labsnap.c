/*
 * vm_labsnap.c: lab snapshots (upstream §4.3-4.4).
 *
 *   lab:snapshot([dir])  every booted VM of the lab (not its parents' or
 *                        sub-labs') is stopped, migrated to <dir>/<i>-<vm>.snap
 *                        and let run on; <dir>/lab.json lists them with the
 *                        profile, memory and CPUs a restore needs.  Refused
 *                        with open streams or files (each stream named with
 *                        its creation site).  No dir: a temp dir, removed
 *                        when the returned LabSnapshot is collected; inside
 *                        a lab fixture's build: the cache's temp entry.
 *                        With a dir the dir is returned (upstream).
 *   lab:restore(s|dir)   additive: creates each VM of the snapshot in this
 *                        lab and restores it (vm:restore); refused before
 *                        anything starts if a name is already taken.
 *   lab:lab([name])      a sub-lab (`__lab_N` if unnamed); its name is
 *                        "<parent>/<name>", so a sub-lab of a test's lab is
 *                        closed with the test like the test's own VMs.
 *   reset_between_tests  vmapi_reset_begin takes the root lab's baseline
 *                        before the first test and, before each later
 *                        test, restores every baseline VM in place (the
 *                        file's VM objects stay valid; a failed restore
 *                        fails that test and names the VM on stderr).
 *                        vmapi_reset_end only marks the lab dirty, so
 *                        nothing is restored after the last test.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "runner/runner_int.h"
#include "runner/vm_api.h"

#define LABSNAP_MT        VMAPI_LABSNAP_MT
#define RESET_KEY         "provium.vmapi.reset"   /* LabSnapshot | message */
#define RESET_DIRTY_KEY   "provium.vmapi.reset.dirty" /* true: a test ran */

struct labsnap {
	char *dir;
	bool temp;        /* ours: removed when collected */
	bool deleted;
};

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p) < 0 && errno != ENOENT ? -1 : 0;
}

static void
rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct labsnap *
check_labsnap(lua_State *L, int idx)
{
	return luaL_checkudata(L, idx, LABSNAP_MT);
}

static int
ls_path(lua_State *L)
{
	lua_pushstring(L, check_labsnap(L, 1)->dir);
	return 1;
}

static int
ls_delete(lua_State *L)
{
	struct labsnap *s = check_labsnap(L, 1);

	if (!s->deleted && s->dir != NULL)
		rm_tree(s->dir);
	s->deleted = true;
	return 0;
}

static int
ls_tostring(lua_State *L)
{
	lua_pushfstring(L, "lab_snapshot(%s)", check_labsnap(L, 1)->dir);
	return 1;
}

static int
ls_gc(lua_State *L)
{
	struct labsnap *s = check_labsnap(L, 1);

	if (s->temp && !s->deleted && s->dir != NULL)
		rm_tree(s->dir);
	free(s->dir);
	s->dir = NULL;
	return 0;
}

/* Snapshot file name of the i-th VM: no '/' and no leading dot. */
static void
snap_file(char *buf, size_t n, int i, const char *name)
{
	char *p;

	snprintf(buf, n, "%d-%s.snap", i, name);
	for (p = buf; *p; p++)
		if (*p == '/')
			*p = '_';
}

/* lab:snapshot([dir]) */
static int
lab_snapshot(lua_State *L)
{
	struct runner *r = runner_from_lua(L);
	const char *lname, *dir = luaL_optstring(L, 2, NULL);
	struct vmapi_vm *vms[256];
	struct labsnap *s = NULL;
	char tmpl[4096], file[600], *path, *listing, *err = NULL, *text;
	int n, i, nvm = 0, nstreams = 0, nfiles = 0;
	json_t *arr, *j;
	FILE *f;

	luaL_argcheck(L, runner_lab_test(L, 1), 1, "lab expected");
	lname = runner_lab_name(L, 1);
	if (vmapi_is_local(r))
		vmapi_raisef(L, "lab `%s`: snapshot needs the qemu backend "
		    "(snapshots are not supported under --vmm local)", lname);
	lua_settop(L, 2);
	n = vmapi_lab_members(L, 1);                      /* 3, by name */
	for (i = 1; i <= n; i++) {
		struct vmapi_vm *vm;

		lua_rawgeti(L, 3, i);
		vm = vmapi_check_vm(L, -1);
		lua_pop(L, 1);
		if (vm->state != VMAPI_BOOTED && vm->state != VMAPI_PAUSED)
			continue;
		if (nvm == (int)(sizeof(vms) / sizeof(vms[0])))
			vmapi_raisef(L, "lab `%s`: snapshot: more than %d VMs",
			    lname, nvm);
		vms[nvm++] = vm;
		nfiles += (int)vm->nfiles;
	}
	listing = NULL;
	for (i = 0; i < nvm; i++) {
		int k;
		char *one = vmapi_open_streams(L, vms[i], &k), *t;

		nstreams += k;
		if (asprintf(&t, "%s%s", listing ? listing : "",
		    one ? one : "") < 0)
			t = NULL;
		free(one);
		free(listing);
		listing = t;
	}
	if (nstreams > 0 || nfiles > 0) {
		lua_pushfstring(L, "lab `%s`: snapshot refused: %d open file "
		    "handle(s), %d open stream(s)%s\n  Close streams and files "
		    "before snapshotting.", lname, nfiles, nstreams,
		    listing ? listing : "");
		free(listing);
		return lua_error(L);
	}
	free(listing);

	if (dir == NULL && lua_getfield(L, LUA_REGISTRYINDEX,
	    VMAPI_LABSNAP_PENDING) == LUA_TSTRING)
		dir = lua_tostring(L, -1);            /* a lab fixture's build */
	if (dir == NULL) {
		const char *t = getenv("TMPDIR");

		snprintf(tmpl, sizeof(tmpl), "%s/provium-labsnap-XXXXXX",
		    t && *t ? t : "/tmp");
		if (mkdtemp(tmpl) == NULL)
			vmapi_raisef(L, "lab `%s`: snapshot: mkdtemp %s: %s",
			    lname, tmpl, strerror(errno));
		dir = tmpl;
	} else if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		vmapi_raisef(L, "lab `%s`: snapshot: mkdir %s: %s", lname, dir,
		    strerror(errno));
	}
	s = lua_newuserdatauv(L, sizeof(*s), 0);          /* owns the dir */
	memset(s, 0, sizeof(*s));
	luaL_setmetatable(L, LABSNAP_MT);
	if ((s->dir = strdup(dir)) == NULL)
		return luaL_error(L, "out of memory");
	s->temp = dir == tmpl;

	if ((arr = json_array()) == NULL)
		return luaL_error(L, "out of memory");
	for (i = 0; i < nvm; i++) {
		struct vmapi_vm *vm = vms[i];

		snap_file(file, sizeof(file), i, vm->name);
		if (asprintf(&path, "%s/%s", dir, file) < 0)
			path = NULL;
		if (path == NULL || vmm_snapshot(vm->vmm, path, &err) < 0 ||
		    (vm->state == VMAPI_BOOTED && vmm_resume(vm->vmm, &err) < 0)) {
			free(path);
			json_decref(arr);
			vmapi_raisef(L, "lab `%s`: snapshot of vm `%s`: %s", lname,
			    vm->name, err ? err : "out of memory");
		}
		free(path);
		j = json_pack("{s:s, s:s, s:I, s:i, s:s}", "name", vm->name,
		    "profile", vm->profile ? vm->profile : "", "memory_bytes",
		    (json_int_t)vm->memory, "cpus", (int)vm->cpus, "file", file);
		if (j == NULL || json_array_append_new(arr, j) < 0) {
			json_decref(arr);
			return luaL_error(L, "out of memory");
		}
	}
	j = json_pack("{s:s, s:o}", "lab", lname, "vms", arr);
	text = j ? json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (text == NULL)
		return luaL_error(L, "out of memory");
	if (asprintf(&path, "%s/lab.json", dir) < 0 ||
	    (f = fopen(path, "w")) == NULL) {
		free(text);
		vmapi_raisef(L, "lab `%s`: snapshot: write %s/lab.json: %s",
		    lname, dir, strerror(errno));
	}
	fputs(text, f);
	free(text);
	if (fclose(f) != 0) {
		free(path);
		vmapi_raisef(L, "lab `%s`: snapshot: write %s/lab.json: %s",
		    lname, dir, strerror(errno));
	}
	free(path);
	if (lua_isstring(L, 2))
		lua_pushvalue(L, 2);
	return 1;
}

/* Reads <dir>/lab.json; raises naming the file. */
static json_t *
load_lab_json(lua_State *L, const char *lname, const char *dir)
{
	char *path;
	json_error_t je;
	json_t *j, *vms;

	if (asprintf(&path, "%s/lab.json", dir) < 0)
		luaL_error(L, "out of memory");
	j = json_load_file(path, 0, &je);
	free(path);
	if (j == NULL || !json_is_array(vms = json_object_get(j, "vms"))) {
		json_decref(j);
		vmapi_raisef(L, "lab `%s`: restore: %s/lab.json: %s", lname, dir,
		    j == NULL ? je.text : "no `vms` array");
	}
	return j;
}

/* lab:restore(snapshot | dir) */
static int
lab_restore(lua_State *L)
{
	struct labsnap *s;
	const char *lname, *dir;
	json_t *j, *vms, *v;
	size_t i;
	int depth;

	luaL_argcheck(L, runner_lab_test(L, 1), 1, "lab expected");
	lname = runner_lab_name(L, 1);
	if ((s = luaL_testudata(L, 2, LABSNAP_MT)) != NULL) {
		if (s->deleted)
			vmapi_raisef(L, "lab `%s`: restore: %s was deleted",
			    lname, s->dir);
		dir = s->dir;
	} else if (lua_type(L, 2) == LUA_TSTRING) {
		dir = lua_tostring(L, 2);
	} else {
		return luaL_error(L, "lab:restore(snapshot | dir): expected a "
		    "LabSnapshot (from lab:snapshot()) or a directory, got %s",
		    luaL_typename(L, 2));
	}
	lua_settop(L, 2);
	j = load_lab_json(L, lname, dir);
	vms = json_object_get(j, "vms");
	json_array_foreach(vms, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));

		if (name == NULL || !json_is_string(json_object_get(v, "file"))) {
			json_decref(j);
			vmapi_raisef(L, "lab `%s`: restore: %s/lab.json: entry %zu "
			    "has no name or file", lname, dir, i + 1);
		}
		runner_lab_find(L, 1, "vms", name, &depth);
		if (!lua_isnil(L, -1)) {
			lua_pushfstring(L, "lab `%s`: restore: vm name `%s` "
			    "already exists%s", lname, name, depth == 0 ?
			    " in this lab" : " at a parent scope");
			json_decref(j);
			return lua_error(L);
		}
		lua_pop(L, 1);
	}
	json_array_foreach(vms, i, v) {
		const char *profile = json_string_value(json_object_get(v,
		    "profile"));
		json_int_t mem = json_integer_value(json_object_get(v,
		    "memory_bytes"));
		json_int_t cpus = json_integer_value(json_object_get(v, "cpus"));
		int ok;

		lua_getfield(L, 1, "vm");
		lua_pushvalue(L, 1);
		lua_pushstring(L, json_string_value(json_object_get(v, "name")));
		if (profile != NULL && *profile)
			lua_pushstring(L, profile);
		else
			lua_pushnil(L);
		lua_createtable(L, 0, 2);
		if (mem > 0) {
			lua_pushinteger(L, (lua_Integer)mem);
			lua_setfield(L, -2, "memory");
		}
		if (cpus > 0) {
			lua_pushinteger(L, (lua_Integer)cpus);
			lua_setfield(L, -2, "cpus");
		}
		ok = lua_pcall(L, 4, 1, 0) == LUA_OK;
		if (ok) {
			lua_getfield(L, -1, "restore");
			lua_insert(L, -2);
			lua_pushfstring(L, "%s/%s", dir, json_string_value(
			    json_object_get(v, "file")));
			ok = lua_pcall(L, 2, 0, 0) == LUA_OK;
		}
		if (!ok) {
			json_decref(j);
			return lua_error(L);
		}
	}
	json_decref(j);
	lua_settop(L, 1);
	return 1;
}

/* lab:lab([name]): the sub-lab of that name, created on first use. */
static int
lab_sublab(lua_State *L)
{
	char auto_name[32], full[600];
	const char *name;
	int n;

	luaL_argcheck(L, runner_lab_test(L, 1), 1, "lab expected");
	lua_settop(L, 2);
	runner_lab_push_data(L, 1);                       /* 3 */
	if (lua_getfield(L, 3, "labs") != LUA_TTABLE) {   /* 4 */
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, 3, "labs");
	}
	if (lua_isnil(L, 2)) {
		n = (int)lua_rawlen(L, 4) + 1;
		lua_pushnil(L);
		while (lua_next(L, 4) != 0) {     /* count named ones too */
			n++;
			lua_pop(L, 1);
		}
		snprintf(auto_name, sizeof(auto_name), "__lab_%d", n);
		name = auto_name;
	} else {
		name = luaL_checkstring(L, 2);
		if (*name == '\0' || strchr(name, '/') != NULL)
			vmapi_raisef(L, "lab:lab(name): name must be non-empty "
			    "and without '/'");
	}
	if (lua_getfield(L, 4, name) != LUA_TNIL)
		return 1;
	lua_pop(L, 1);
	snprintf(full, sizeof(full), "%s/%s", runner_lab_name(L, 1), name);
	runner_lab_new(L, full, 1);
	lua_pushvalue(L, -1);
	lua_setfield(L, 4, name);
	return 1;
}

/* ---- reset_between_tests ------------------------------------------- */

static int
take_baseline(lua_State *L)
{
	runner_push_root_lab(L, runner_from_lua(L));
	lua_getfield(L, -1, "snapshot");
	lua_insert(L, -2);
	lua_call(L, 1, 1);
	return 1;
}

/*
 * Restores each baseline VM in place.  Done lazily, before the next test
 * that runs rather than after every test, so the last test of the file
 * costs no restore.  A VM that cannot be restored fails the test about to
 * run: it would not start from the baseline.
 */
static void
restore_baseline(lua_State *L, struct runner *r, struct labsnap *s)
{
	json_t *j, *v;
	size_t i;
	bool any = false;

	j = load_lab_json(L, "provium", s->dir);
	runner_push_root_lab(L, r);
	json_array_foreach(json_object_get(j, "vms"), i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *file = json_string_value(json_object_get(v, "file"));

		if (name == NULL || file == NULL)
			continue;
		lua_getfield(L, -1, "vm");
		lua_pushvalue(L, -2);
		lua_pushstring(L, name);
		if (lua_pcall(L, 2, 1, 0) == LUA_OK) {
			lua_getfield(L, -1, "restore");
			lua_insert(L, -2);
			lua_pushfstring(L, "%s/%s", s->dir, file);
			if (lua_pcall(L, 2, 0, 0) == LUA_OK)
				continue;
		}
		fprintf(stderr, "provium: %s: reset_between_tests: restoring vm "
		    "`%s` failed: %s\n", runner_display(r), name,
		    lua_tostring(L, -1));
		lua_pop(L, 1);
		any = true;
	}
	json_decref(j);
	lua_pop(L, 1);
	if (any)
		luaL_error(L, "reset_between_tests: the baseline could not be "
		    "restored (see stderr)");
}

void
vmapi_reset_begin(lua_State *L, struct runner *r)
{
	char *list;
	int n;

	if (!runner_reset_between_tests(r))
		return;
	if (vmapi_is_local(r))
		luaL_error(L, "provium.reset_between_tests: lab snapshots are "
		    "not supported under --vmm local (there is no VM to "
		    "snapshot); use --vmm qemu, or reset state in the test");
	switch (lua_getfield(L, LUA_REGISTRYINDEX, RESET_KEY)) {
	case LUA_TUSERDATA:
		/* baseline taken: restore it if a test ran since */
		if (lua_getfield(L, LUA_REGISTRYINDEX, RESET_DIRTY_KEY) ==
		    LUA_TBOOLEAN) {
			lua_pushnil(L);
			lua_setfield(L, LUA_REGISTRYINDEX, RESET_DIRTY_KEY);
			restore_baseline(L, r, check_labsnap(L, -2));
		}
		return;
	case LUA_TSTRING:
		lua_error(L);                /* refused before: every test */
		return;
	default:
		lua_pop(L, 1);
	}
	list = vmapi_open_streams(L, NULL, &n);
	if (n > 0) {
		lua_pushfstring(L, "%s: cannot use reset_between_tests with "
		    "file-scope streams (%d open):%s\n  Close them before the "
		    "first test, or open them inside the tests.",
		    runner_display(r), n, list ? list : "");
		free(list);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, RESET_KEY);
		lua_error(L);
	}
	free(list);
	lua_pushcfunction(L, take_baseline);
	if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
		lua_pushfstring(L, "%s: reset_between_tests: taking the "
		    "baseline failed: %s", runner_display(r),
		    lua_tostring(L, -1));
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, RESET_KEY);
		lua_error(L);
	}
	lua_setfield(L, LUA_REGISTRYINDEX, RESET_KEY);
}

void
vmapi_reset_end(lua_State *L, struct runner *r)
{
	(void)r;
	if (lua_getfield(L, LUA_REGISTRYINDEX, RESET_KEY) == LUA_TUSERDATA) {
		lua_pushboolean(L, 1);
		lua_setfield(L, LUA_REGISTRYINDEX, RESET_DIRTY_KEY);
	}
	lua_pop(L, 1);
}

void
vmapi_labsnap_open(lua_State *L)
{
	static const luaL_Reg m[] = { { "path", ls_path },
		{ "delete", ls_delete }, { NULL, NULL } };
	static const luaL_Reg lab[] = { { "snapshot", lab_snapshot },
		{ "restore", lab_restore }, { "lab", lab_sublab },
		{ NULL, NULL } };

	luaL_newmetatable(L, LABSNAP_MT);
	luaL_newlib(L, m);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, ls_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushcfunction(L, ls_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	runner_lab_add_methods(L, lab);
}
