/*
 * runner.c: `provium --runner`: one test file, one Lua state, reports on
 * fd 3.  The sequence and the extension hooks are described in runner.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lualib.h>

#include "events/frame.h"
#include "events/mp.h"
#include "events/proto.h"
#include "runner/privs.h"
#include "runner/runner_int.h"

#define TRACEBACK_KEY "provium.traceback"

struct runner *
runner_from_lua(lua_State *L)
{
	return *(struct runner **)lua_getextraspace(L);
}

const struct runner_opts *runner_opts(const struct runner *r) { return &r->opts; }
const char *runner_path(const struct runner *r) { return r->path; }
const char *runner_display(const struct runner *r) { return r->display; }
const char *runner_dir(const struct runner *r) { return r->dir; }
const char *runner_scope_name(const struct runner *r) { return r->scope_name; }
bool runner_test_timed_out(const struct runner *r) { return r->timed_out; }
bool runner_reset_between_tests(const struct runner *r) { return r->reset_between_tests; }

const char *
runner_current_test(const struct runner *r)
{
	return r->cur != NULL ? r->cur->name : NULL;
}

void
runner_raise_timeout(lua_State *L, struct runner *r)
{
	char d[64];

	r->timed_out = true;
	runner_dur_format(r->timeout_ns, d, sizeof d);
	lua_pushfstring(L, "test timeout exceeded (%s)", d);
	lua_error(L);
}

/*
 * Count hook, set only while a test with a deadline runs (any hook
 * doubles the VM's cost per instruction; see coro.c for coroutines).
 * Once the deadline has passed it fires on every instruction of that
 * thread, so a user pcall around the loop only delays the error by one
 * instruction.
 */
static void
timeout_hook(lua_State *L, lua_Debug *ar)
{
	struct runner *r = runner_from_lua(L);

	(void)ar;
	if (r->deadline_ns == 0) {
		lua_sethook(L, NULL, 0, 0);   /* a coroutine outlived its test */
		return;
	}
	if (r->timed_out || runner_now_ns() >= r->deadline_ns) {
		lua_sethook(L, timeout_hook, LUA_MASKCOUNT, 1);
		runner_raise_timeout(L, r);
	}
}

void
runner_sync_hook(lua_State *co, struct runner *r)
{
	if (r->deadline_ns != 0)
		lua_sethook(co, timeout_hook, LUA_MASKCOUNT, RUNNER_HOOK_COUNT);
	else if (lua_gethook(co) != NULL)
		lua_sethook(co, NULL, 0, 0);
}

/*
 * Message handler (lua.c's msghandler): turns the error into a string
 * and keeps the traceback aside, so reasons stay one message and the
 * traceback is added only with --verbose.
 */
static int
msghandler(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	if (msg == NULL) {
		if (luaL_callmeta(L, 1, "__tostring") &&
		    lua_type(L, -1) == LUA_TSTRING)
			msg = lua_tostring(L, -1);
		else
			msg = lua_pushfstring(L, "(error object is a %s value)",
			    luaL_typename(L, 1));
	}
	luaL_traceback(L, L, NULL, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);
	lua_pushstring(L, msg);
	return 1;
}

/* Calls the function below narg args with the handler; on error leaves
 * the message string on the stack (plus the traceback when verbose). */
static int
docall(lua_State *L, struct runner *r, int narg)
{
	int base = lua_gettop(L) - narg, status;

	lua_pushcfunction(L, msghandler);
	lua_insert(L, base);
	status = lua_pcall(L, narg, 0, base);
	lua_remove(L, base);
	if (status != LUA_OK) {
		if (lua_type(L, -1) != LUA_TSTRING) {
			lua_pop(L, 1);
			lua_pushliteral(L, "(error with no message)");
		}
		if (r->opts.verbose) {
			if (lua_getfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY) ==
			    LUA_TSTRING) {
				lua_pushliteral(L, "\n");
				lua_insert(L, -2);
				lua_concat(L, 3);
			} else {
				lua_pop(L, 1);
			}
		}
	}
	return status;
}

/* ---- extension hooks ------------------------------------------------- */

enum hook { HOOK_SCOPE_BEGIN, HOOK_SCOPE_END, HOOK_FILE_END };
static const char *const hook_names[] = { "scope_begin", "scope_end",
    "file_end" };

static int
hook_tramp(lua_State *L)
{
	const struct runner_ext *e = lua_touserdata(L, 1);
	enum hook h = (enum hook)lua_tointeger(L, 2);
	struct runner *r = runner_from_lua(L);

	lua_settop(L, 0);
	if (h == HOOK_SCOPE_BEGIN)
		e->scope_begin(L, r, r->cur->name);
	else if (h == HOOK_SCOPE_END)
		e->scope_end(L, r, r->cur->name);
	else
		e->file_end(L, r);
	return 0;
}

/* Runs hook h of every extension that has it, each in a pcall. */
static void
run_hooks(lua_State *L, struct runner *r, enum hook h)
{
	char msg[512];

	for (size_t i = 0; runner_exts[i] != NULL; i++) {
		const struct runner_ext *e = runner_exts[i];

		if ((h == HOOK_SCOPE_BEGIN && e->scope_begin == NULL) ||
		    (h == HOOK_SCOPE_END && e->scope_end == NULL) ||
		    (h == HOOK_FILE_END && e->file_end == NULL))
			continue;
		lua_pushcfunction(L, hook_tramp);
		lua_pushlightuserdata(L, (void *)e);
		lua_pushinteger(L, h);
		if (docall(L, r, 2) == LUA_OK)
			continue;
		snprintf(msg, sizeof msg, "runner: extension `%s` %s: %s",
		    e->name, hook_names[h], lua_tostring(L, -1));
		lua_pop(L, 1);
		if (h == HOOK_FILE_END)
			fprintf(stderr, "provium --runner: %s\n", msg);
		else
			runner_fail(r, msg);
	}
}

/* ---- setup ------------------------------------------------------------ */

int
runner_setup(lua_State *L)
{
	struct runner *r = lua_touserdata(L, 1);

	luaL_openlibs(L);
	runner_coro_open(L);
	runner_framework_open(L, r);
	runner_json_open(L);
	runner_lab_open(L, r);
	/* require() finds helper modules next to the test file. */
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "path");
	lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", r->dir, r->dir,
	    lua_tostring(L, -1));
	lua_setfield(L, -3, "path");
	lua_pop(L, 2);
	/* Upstream's absolute path of the file, for path-relative helpers. */
	{
		char *abs = realpath(r->path, NULL);

		lua_pushstring(L, abs != NULL ? abs : r->path);
		free(abs);
		lua_setglobal(L, "_PROVIUM_SOURCE_PATH");
	}
	for (size_t i = 0; runner_exts[i] != NULL; i++) {
		const struct runner_ext *e = runner_exts[i];

		if (e->open != NULL && e->open(L, r) != 0)
			return luaL_error(L, "runner: extension `%s` failed to "
			    "open", e->name);
	}
	return 0;
}

/* Loads the file as a chunk named "@<display>" so messages read
 * "<display>:<line>: ...".  Pushes the chunk or an error message. */
static int
load_file(lua_State *L, struct runner *r)
{
	/* O_NONBLOCK: a FIFO named like a test must not hang the runner. */
	int fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	FILE *f = NULL;
	char *buf = NULL, *start;
	size_t len = 0, cap = 0, n;
	struct stat st;
	int status;

	if (fd < 0 || fstat(fd, &st) != 0) {
		lua_pushfstring(L, "cannot open %s: %s", r->path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return LUA_ERRFILE;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > RUNNER_FILE_MAX) {
		if (S_ISREG(st.st_mode))
			lua_pushfstring(L, "cannot load %s: %d MiB is over the "
			    "%d MiB limit for a test file", r->path,
			    (int)(st.st_size >> 20), (int)(RUNNER_FILE_MAX >> 20));
		else
			lua_pushfstring(L, "cannot load %s: %s", r->path,
			    S_ISDIR(st.st_mode) ? "is a directory, not a test "
			    "file" : "not a regular file");
		close(fd);
		return LUA_ERRFILE;
	}
	if ((f = fdopen(fd, "rb")) == NULL) {
		lua_pushfstring(L, "cannot open %s: %s", r->path,
		    strerror(errno));
		close(fd);
		return LUA_ERRFILE;
	}
	do {
		if (cap - len < 65536) {
			char *p = realloc(buf, cap + 65536);

			if (p == NULL) {
				free(buf);
				fclose(f);
				lua_pushliteral(L, "out of memory");
				return LUA_ERRMEM;
			}
			buf = p;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0 && len <= RUNNER_FILE_MAX);   /* it may still grow */
	if (ferror(f)) {
		free(buf);
		fclose(f);
		lua_pushfstring(L, "cannot read %s: %s", r->path,
		    strerror(errno));
		return LUA_ERRFILE;
	}
	fclose(f);
	if (len > RUNNER_FILE_MAX) {
		free(buf);
		lua_pushfstring(L, "cannot load %s: it grew over the %d MiB "
		    "limit for a test file while being read", r->path,
		    (int)(RUNNER_FILE_MAX >> 20));
		return LUA_ERRFILE;
	}
	start = buf;
	/* A "#!" first line is skipped, keeping its newline for numbering. */
	if (len > 0 && buf[0] == '#') {
		while (start < buf + len && *start != '\n')
			start++;
	}
	lua_pushfstring(L, "@%s", r->display);
	status = luaL_loadbufferx(L, start, len - (size_t)(start - buf),
	    lua_tostring(L, -1), "t");
	lua_remove(L, -2);
	free(buf);
	return status;
}

/* ---- reports ---------------------------------------------------------- */

static int
send_registered(lua_State *L, struct runner *r)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	runner_pack_begin(&sb, &pk, "registered", 1);
	mp_str(&pk, "tests");
	msgpack_pack_array(&pk, r->ntests);
	for (size_t i = 0; i < r->ntests; i++) {
		msgpack_pack_map(&pk, 2);
		mp_str(&pk, "name");
		runner_pack_text(&pk, r->tests[i].name,
		    strlen(r->tests[i].name), RUNNER_REASON_MAX);
		mp_str(&pk, "meta");
		lua_rawgeti(L, LUA_REGISTRYINDEX, r->tests[i].meta_ref);
		runner_meta_pack(L, -1, &pk);
		lua_pop(L, 1);
	}
	rc = runner_send(r, &sb);
	if (rc != 0 && errno == EMSGSIZE && !r->channel_dead) {
		char msg[256];

		snprintf(msg, sizeof msg, "runner: the list of %zu tests and "
		    "their meta is %zu bytes, over the runner channel's cap of "
		    "%u bytes", r->ntests, sb.size, FRAME_MAX_RUNNER);
		runner_send_simple(r, "chunk_error", "message", msg);
	}
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void
pack_log(msgpack_packer *pk, struct runner *r)
{
	mp_str(pk, "log");
	msgpack_pack_array(pk, r->nlog);
	for (size_t i = 0; i < r->nlog; i++)
		runner_pack_text(pk, r->log[i], strlen(r->log[i]),
		    RUNNER_LOG_MAX);
}

static char *
console_excerpt(struct runner *r)
{
	char *all = NULL;
	size_t len = 0;

	for (size_t i = 0; runner_exts[i] != NULL; i++) {
		char *s, *p;
		size_t n;

		if (runner_exts[i]->console_excerpt == NULL ||
		    (s = runner_exts[i]->console_excerpt(r)) == NULL)
			continue;
		n = strlen(s);
		p = realloc(all, len + n + 1);
		if (p != NULL) {
			all = p;
			memcpy(all + len, s, n + 1);
			len += n;
		}
		free(s);
	}
	return all;
}

enum result { RES_PASS, RES_FAIL, RES_SKIP };

static void
send_result(struct runner *r, enum result res, const char *reason,
    int64_t duration_ns)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	const char *name = r->cur->name;
	char *excerpt;

	switch (res) {
	case RES_PASS:
		runner_pack_begin(&sb, &pk, "test_passed", 3);
		break;
	case RES_FAIL:
		runner_pack_begin(&sb, &pk, "test_failed", 5);
		break;
	default:
		runner_pack_begin(&sb, &pk, "test_skipped", 3);
		break;
	}
	mp_str(&pk, "name");
	runner_pack_text(&pk, name, strlen(name), RUNNER_REASON_MAX);
	if (res != RES_SKIP)
		mp_kv_u64(&pk, "duration_ns", (uint64_t)duration_ns);
	if (res != RES_PASS) {
		mp_str(&pk, "reason");
		runner_pack_text(&pk, reason, strlen(reason), RUNNER_REASON_MAX);
	}
	if (res == RES_FAIL) {
		excerpt = console_excerpt(r);
		mp_str(&pk, "console_excerpt");
		runner_pack_text(&pk, excerpt ? excerpt : "",
		    excerpt ? strlen(excerpt) : 0, RUNNER_EXCERPT_MAX);
		free(excerpt);
	}
	pack_log(&pk, r);
	runner_send(r, &sb);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- one test --------------------------------------------------------- */

static void
run_test(lua_State *L, struct runner *r, const struct runner_test *t)
{
	char buf[1024], err[256];
	const char *skip;
	int top = lua_gettop(L), status, meta;
	int64_t start, ns = 0;
	enum result res;
	const char *reason = NULL;

	r->cur = t;
	runner_send_simple(r, "test_started", "name", t->name);
	if (r->todo_reason != NULL) {
		send_result(r, RES_SKIP, r->todo_reason, 0);
		return;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, t->meta_ref);
	meta = lua_gettop(L);
	skip = runner_select(L, meta, &r->filter, buf, sizeof buf);
	if (skip != NULL) {
		send_result(r, RES_SKIP, skip, 0);
		lua_settop(L, top);
		return;
	}
	r->timeout_ns = r->file_timeout_ns;
	if (lua_getfield(L, meta, "timeout") != LUA_TNIL &&
	    runner_dur_from_lua(L, -1, &r->timeout_ns, err, sizeof err) != 0) {
		snprintf(buf, sizeof buf, "meta.timeout: %s", err);
		send_result(r, RES_FAIL, buf, 0);
		lua_settop(L, top);
		return;
	}
	lua_pop(L, 1);

	/* The test's scope lab stands in for `provium` during the body. */
	if (asprintf(&r->scope_name, "test:%s", t->name) < 0)
		r->scope_name = NULL;
	lua_getglobal(L, "provium");
	runner_push_root_lab(L, r);
	runner_lab_new(L, r->scope_name ? r->scope_name : "test", -1);
	lua_remove(L, -2);
	lua_pushvalue(L, -1);
	r->scope_lab_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_setglobal(L, "provium");
	run_hooks(L, r, HOOK_SCOPE_BEGIN);

	start = runner_now_ns();
	if (r->timeout_ns > 0)
		r->deadline_ns = start + r->timeout_ns;
	runner_sync_hook(L, r);
	if (r->failed) {
		status = LUA_OK;   /* scope_begin failed: the body never runs */
	} else {
		lua_rawgeti(L, LUA_REGISTRYINDEX, t->fn_ref);
		runner_push_t(L, r, meta);
		status = docall(L, r, 1);
	}
	ns = runner_now_ns() - start;
	if (r->deadline_ns != 0 && runner_now_ns() >= r->deadline_ns)
		r->timed_out = true;   /* returned late from blocking C code */
	r->deadline_ns = 0;
	runner_sync_hook(L, r);

	run_hooks(L, r, HOOK_SCOPE_END);

	if (r->timed_out) {
		char d[64];

		runner_dur_format(r->timeout_ns, d, sizeof d);
		snprintf(buf, sizeof buf, "test timeout exceeded (%s)", d);
		res = RES_FAIL;
		reason = buf;
	} else if (r->skipped) {
		res = RES_SKIP;
		reason = r->skip_reason ? r->skip_reason : "skipped (t:skip)";
	} else if (r->failed) {
		res = RES_FAIL;
		reason = r->fail_reason ? r->fail_reason : "assertion failed";
	} else if (status != LUA_OK) {
		res = RES_FAIL;
		reason = lua_tostring(L, -1);
	} else {
		res = RES_PASS;
	}
	send_result(r, res, reason, ns);
	/* Restore the file's `provium` (saved under the body's values). */
	lua_pushvalue(L, top + 2);
	lua_setglobal(L, "provium");
	luaL_unref(L, LUA_REGISTRYINDEX, r->scope_lab_ref);
	r->scope_lab_ref = LUA_NOREF;
	lua_settop(L, top);
}

/* Runs the chunk and every test.  0 ok, 1 chunk error / channel lost. */
static int
run_file(lua_State *L, struct runner *r)
{
	int status;

	lua_pushcfunction(L, runner_setup);
	lua_pushlightuserdata(L, r);
	status = docall(L, r, 1);
	if (status == LUA_OK) {
		status = load_file(L, r);
		if (status == LUA_OK)
			status = docall(L, r, 0);
	}
	if (status != LUA_OK) {
		runner_send_simple(r, "chunk_error", "message",
		    lua_tostring(L, -1));
		return 1;
	}
	if (send_registered(L, r) != 0)
		return 1;
	for (size_t i = 0; i < r->ntests && !r->channel_dead; i++) {
		run_test(L, r, &r->tests[i]);
		runner_test_reset(r);
	}
	run_hooks(L, r, HOOK_FILE_END);
	return r->channel_dead ? 1 : 0;
}

static void
on_sigpipe(int sig)
{
	(void)sig;  /* EPIPE from write() is the useful signal */
}

int
runner_main(int argc, char **argv)
{
	struct runner r = { .fd = RUNNER_CHANNEL_FD,
	    .scope_lab_ref = LUA_NOREF };
	struct sigaction sa = { .sa_handler = on_sigpipe };
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	const msgpack_object *m;
	uint8_t *body = NULL;
	size_t len;
	char *err = NULL;
	lua_State *L;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--runner") != 0) {
		fprintf(stderr, "usage: provium --runner (started by the "
		    "supervisor with the runner channel on fd 3)\n");
		return 100;
	}
	/* Children of test code must not hold the channel open. */
	if (fcntl(r.fd, F_SETFD, FD_CLOEXEC) != 0) {
		fprintf(stderr, "provium --runner: fd %d is not open: this mode "
		    "is started by the supervisor\n", r.fd);
		return 100;
	}
	if (privs_drop(NULL, 0, &err) != 0) {    /* docs/privileges.md */
		fprintf(stderr, "provium --runner: %s\n", err);
		return free(err), 100;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	runner_pack_begin(&sb, &pk, "hello", 2);
	mp_kv_u64(&pk, "v", 1);
	mp_kv_i64(&pk, "pid", getpid());
	rc = runner_send(&r, &sb);
	msgpack_sbuffer_destroy(&sb);
	if (rc != 0)
		return 1;
	rc = frame_read(r.fd, FRAME_MAX_RUNNER, &body, &len);
	if (rc != FRAME_OK) {
		fprintf(stderr, "provium --runner: no `start` frame: %s\n",
		    frame_strerror(rc));
		return 1;
	}
	msgpack_unpacked_init(&u);
	if (frame_decode(body, len, &u, &m) != FRAME_OK)
		err = strdup("`start` frame is not a msgpack map");
	else
		runner_parse_start(&r, m, &err);
	msgpack_unpacked_destroy(&u);
	free(body);
	if (err != NULL) {
		fprintf(stderr, "provium --runner: %s\n", err);
		free(err);
		runner_free(&r);
		return 1;
	}

	L = luaL_newstate();
	if (L == NULL) {
		runner_send_simple(&r, "chunk_error", "message",
		    "runner: cannot create a Lua state (out of memory)");
		runner_free(&r);
		return 1;
	}
	*(struct runner **)lua_getextraspace(L) = &r;
	rc = run_file(L, &r);
	lua_close(L);
	if (rc == 0)
		rc = runner_send_simple(&r, "done", NULL, NULL) != 0;
	runner_free(&r);
	fflush(stdout);
	return rc;
}
