/*
 * runner.h: the per-file test runner (`provium --runner`).
 *
 * One runner process runs one *.test.lua file in one Lua 5.4 state and
 * reports to the supervisor over the runner channel on fd 3
 * (docs/runner-channel.md).  It never writes the event stream itself.
 *
 * Sequence: send `hello`, read `start`, build the Lua state (framework
 * globals, the `provium` lab, every extension's open()), run the chunk,
 * send `registered`, then for each test `test_started` and exactly one
 * result, then every extension's file_end(), lua_close(), `done`, exit 0.
 * A file-scope error (syntax, runtime, unreadable file, failed claim)
 * sends `chunk_error` (message "<display>:<line>: ...") and the runner
 * exits 1 without `registered` or `done`: the file completes `crashed`.
 * A lost channel (EPIPE) stops the runner after the current test: exit 1.
 * A bad `start` frame: one line on stderr, exit 1.  Usage errors: 100.
 *
 * Reasons: an assertion's message with the position of the failing call
 * ("f.test.lua:12: assert_eq failed: 1 ~= 2"), the first failure when
 * several were caught by pcall; a Lua error's message; with `verbose` in
 * the start options, the traceback is appended.  Precedence: timeout,
 * then skip (t:skip, even if caught), then failure, then pass.
 * Chunk name "@<display>", so the supervisor's path shows in messages;
 * package.path starts with "<dir>/?.lua;<dir>/?/init.lua".
 *
 * Every call into Lua is a lua_pcall with a traceback message handler.
 * Per-test timeouts are enforced by a count hook that compares a
 * monotonic clock with the current test's deadline, set only while a test
 * with a timeout runs (any hook halves the speed of the Lua VM) on the
 * main thread and, through coroutine.resume/wrap, on every coroutine it
 * resumes; no Lua is ever called from a signal handler.  debug.sethook in
 * a test replaces it.
 *
 * ------------------------------------------------------------------------
 * Extensions (the VM/lab API, fixtures, ...)
 * ------------------------------------------------------------------------
 * An extension is a `struct runner_ext` listed in runner/exts.c.  Every
 * hook is optional (NULL).  Hooks run inside a lua_pcall with the Lua
 * stack to themselves.  A hook that raises is reported: an error in
 * scope_begin/scope_end fails the current test with "runner: extension
 * `<name>` <hook>: <message>" (unless it already failed), one in
 * file_end is printed on stderr.
 *
 *   open(L, r)            before the chunk runs, after the framework
 *                         globals exist.  Add methods to the lab here with
 *                         runner_lab_add_methods(), a `lab.<name>` lookup
 *                         with runner_lab_set_lookup(), globals, metatables.
 *                         Non-zero return: the runner reports
 *                         chunk_error "runner: extension `<name>` failed to
 *                         open" and exits.  May raise (it runs in a pcall).
 *   scope_begin(L, r, n)  before test `n`'s body runs (after test_started),
 *                         with the test's scope lab already the `provium`
 *                         global (runner_push_current_lab).  The test's
 *                         deadline starts after it.  Not called for tests
 *                         skipped by todo()/meta/filters.
 *   scope_end(L, r, n)    after the body, always: pass, failure, skip and
 *                         timeout (runner_test_timed_out() tells; upstream
 *                         shuts the whole file lab down then).  Runs before
 *                         the result is sent, so vm_shutdown reports of a
 *                         test-scope VM precede the test's result.
 *   file_end(L, r)        after the last test (not after chunk_error),
 *                         before lua_close() and `done`.
 *   console_excerpt(r)    for test_failed: malloc'd text (upstream: last
 *                         4 KiB of each booted VM's console), or NULL.
 *                         Called after scope_end of the failing test.
 *
 * Helpers an extension uses:
 *
 *   runner_from_lua(L)    the struct runner of a Lua state (any thread).
 *   runner_send(r, sb)    send one report (a msgpack map with `t`) built by
 *                         the caller.  0, or -1 if the channel is gone (the
 *                         runner then stops after the current test).
 *   runner_request(...)   `claim` / `reserve` round trip: sends the request
 *                         with a fresh id and blocks until its `_ok`/`_err`.
 *                         0 ok; -1 with *err malloc'd: the supervisor's
 *                         `message` verbatim, or a channel error.  Time
 *                         spent blocked is not charged to the current
 *                         test's timeout (upstream: queueing is excused):
 *                         the deadline moves on.  provium:claim{} is built
 *                         in and uses it.
 *   runner_deadline_ms(r) ms left before the current test's timeout, 0 if
 *                         already past, -1 if there is no deadline (also at
 *                         file scope).  Blocking C code must wait at most
 *                         this long, then call runner_raise_timeout(L, r)
 *                         (raises "test timeout exceeded (<dur>)"; the test
 *                         fails with that reason however the error is
 *                         caught).  Only call it while a test runs.
 *   runner_pack_begin()   starts a report map with its `t`.
 *   runner_release(r,m,c) sends `release` for an earlier reserve.
 *
 * State an extension reads: runner_opts() (vmm, config, accel, verbose),
 * runner_path()/runner_display()/runner_dir() (the test file as opened,
 * as reported, and its directory), runner_current_test()/
 * runner_scope_name() ("test:<name>", NULL at file scope),
 * runner_test_timed_out(), runner_reset_between_tests() (the file asked
 * for a lab snapshot after the chunk and a restore after each test: the
 * VM extension implements it in scope_begin/scope_end).
 *
 * tests/tools/provium_runner_demo.c is a working example of all of this.
 *
 * The lab: `provium` is a full userdata with metatable RUNNER_LAB_MT.  The
 * root lab is named "provium"; inside each test body the global `provium`
 * is replaced by a fresh scope lab named "test:<name>" whose parent is the
 * root (restored after the test).  Each lab carries a private Lua table
 * for extensions (runner_lab_push_data) and its parent (runner_lab_push_
 * parent).  Index order for `lab.<key>`: methods (runner_lab_add_methods;
 * built in: claim, pack, unpack), then the file-scope config keys
 * `timeout` / `reset_between_tests`, then the extension lookup function,
 * else nil.  Assigning anything but the two config keys raises upstream's
 * "cannot set `provium.<key>`: ..." error.  Methods that upstream also
 * documents in dot form (`provium.pack(fmt, ...)`) check whether arg 1 is
 * a lab with runner_lab_test() and shift.
 */
#ifndef PROVIUM_RUNNER_H
#define PROVIUM_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include <lua.h>
#include <lauxlib.h>
#include <msgpack.h>

#define RUNNER_LAB_MT "provium.lab"

struct runner;   /* opaque; one per runner process */

/* Entry point for `provium --runner` (argv[1] must be "--runner"). */
int runner_main(int argc, char **argv);

struct runner_ext {
	const char *name;
	int  (*open)(lua_State *L, struct runner *r);
	void (*scope_begin)(lua_State *L, struct runner *r, const char *test_name);
	void (*scope_end)(lua_State *L, struct runner *r, const char *test_name);
	void (*file_end)(lua_State *L, struct runner *r);
	char *(*console_excerpt)(struct runner *r);
};

/* runner/exts.c: NULL-terminated list, in open order. */
extern const struct runner_ext *const runner_exts[];

/* The start frame's options (strings owned by the runner; stable). */
struct runner_opts {
	const char *vmm;        /* "qemu" | "local" (default "qemu") */
	const char *config;     /* path to provium.toml, or NULL */
	const char *accel;      /* "auto" | "kvm" | "tcg" (default "auto") */
	bool verbose;
	bool include_slow;
};

struct runner *runner_from_lua(lua_State *L);
const struct runner_opts *runner_opts(const struct runner *r);
const char *runner_path(const struct runner *r);     /* as opened */
const char *runner_display(const struct runner *r);  /* the event path */
const char *runner_dir(const struct runner *r);      /* dirname of path */
/* Current test's name / scope lab name ("test:<name>"), NULL at file scope. */
const char *runner_current_test(const struct runner *r);
const char *runner_scope_name(const struct runner *r);
bool runner_test_timed_out(const struct runner *r);
bool runner_reset_between_tests(const struct runner *r);

/* Starts a report: sbuffer + packer initialised, a map of nfields + 1
 * entries begun and `t` written.  Pack the nfields key/value pairs, call
 * runner_send(), then msgpack_sbuffer_destroy(sb). */
void runner_pack_begin(msgpack_sbuffer *sb, msgpack_packer *pk,
    const char *t, size_t nfields);
int runner_send(struct runner *r, const msgpack_sbuffer *sb);
/* t: "claim" or "reserve" (what: e.g. "vm `web`"; NULL for claim). */
int runner_request(struct runner *r, const char *t, uint64_t memory_bytes,
    unsigned cpus, const char *what, char **err);
/* `release` of an earlier reserve. */
/*
 * The first of the block of VM cids the supervisor handed out with the
 * last `reserve_ok` (unique in the run, increasing from 100), or 0 when
 * it sent none (e.g. a test harness standing in for the supervisor).
 */
uint32_t runner_last_cid(struct runner *r);

int runner_release(struct runner *r, uint64_t memory_bytes, unsigned cpus);
int64_t runner_deadline_ms(struct runner *r);
void runner_raise_timeout(lua_State *L, struct runner *r);

/* Labs. */
void runner_lab_add_methods(lua_State *L, const luaL_Reg *fns);
/* f(lab, key) -> value or nil, for keys that are not methods/config. */
void runner_lab_set_lookup(lua_State *L, lua_CFunction f);
/* Pushes a new lab named name whose parent is the lab at parent_idx
 * (0 = none). */
void runner_lab_new(lua_State *L, const char *name, int parent_idx);
bool runner_lab_test(lua_State *L, int idx);
const char *runner_lab_name(lua_State *L, int idx);   /* checks the type */
void runner_lab_push_parent(lua_State *L, int idx);   /* lab or nil */
void runner_lab_push_data(lua_State *L, int idx);     /* extension table */
/* Pushes data[table][name] of the lab at idx or of its nearest parent
 * that has it, or nil; *depth = 0 if found in the lab itself. */
void runner_lab_find(lua_State *L, int idx, const char *table,
    const char *name, int *depth);
void runner_push_root_lab(lua_State *L, struct runner *r);
/* The running test's scope lab, or the root lab at file scope. */
void runner_push_current_lab(lua_State *L, struct runner *r);

#endif
