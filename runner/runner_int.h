/*
 * runner_int.h: what the runner's own files share.  Not for extensions
 * (they use runner.h); unit tests include it for the pure helpers.
 */
#ifndef PROVIUM_RUNNER_INT_H
#define PROVIUM_RUNNER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "runner/runner.h"

/* Caps, so no report outgrows FRAME_MAX_RUNNER (8 MiB). */
#define RUNNER_LOG_MAX      (1u << 20)  /* bytes of t:log text per test */
#define RUNNER_LOG_ENTRY_COST 16        /* ... counting each entry as 16 more */
#define RUNNER_REASON_MAX   (64u << 10)
#define RUNNER_EXCERPT_MAX  (256u << 10)
#define RUNNER_FILE_MAX     (64 << 20)  /* bytes of one test file */
#define RUNNER_META_DEPTH   16          /* msgpack-c decodes <= 32 levels */
#define RUNNER_HOOK_COUNT   1000        /* VM instructions between checks */

struct runner_kv { char *key, *value; };

struct runner_filter {
	bool include_slow;
	char **tag, **no_tag;
	size_t ntag, nno_tag;
	struct runner_kv *tag_meta, *no_tag_meta;
	size_t ntag_meta, nno_tag_meta;
};

struct runner_test {
	char *name;
	int fn_ref, meta_ref;   /* registry refs */
};

struct runner {
	int fd;
	struct runner_opts opts;
	struct runner_filter filter;
	char *path, *display, *dir, *vmm, *config, *accel;
	uint64_t next_id;
	uint32_t last_cid;             /* from the last reserve_ok, 0 if none */
	bool channel_dead;

	struct runner_test *tests;
	size_t ntests, cap_tests;
	char *todo_reason;           /* todo() was called */

	int64_t file_timeout_ns;     /* provium.timeout; 0 = none */
	bool reset_between_tests;
	bool claim_held;

	/* The running test (cur == NULL at file scope). */
	const struct runner_test *cur;
	char *scope_name;
	/* Sticky across user pcalls; a skip wins over a failure, a
	 * timeout over both (upstream's classification). */
	bool failed, skipped;
	char *fail_reason;           /* the first failure */
	char *skip_reason;           /* the last t:skip() */
	char **log;
	size_t nlog, log_bytes;
	bool log_truncated;
	int64_t deadline_ns;         /* CLOCK_MONOTONIC; 0 = none */
	int64_t timeout_ns;
	bool timed_out;
	int root_lab_ref;
	int scope_lab_ref;           /* LUA_NOREF at file scope */
};

/* runner/duration.c: durations (pure).  Sizes: supervisor/size.h. */
int64_t runner_now_ns(void);
/* "1.5", "250ms", "2s", "3m", "1h" -> ns; -1 on bad input. */
int runner_dur_parse(const char *s, int64_t *ns);
/* Lua number (seconds) or string at idx.  On error, a message in err. */
int runner_dur_from_lua(lua_State *L, int idx, int64_t *ns, char *err,
    size_t errlen);
/* Rust Duration Debug style: "2s", "1.5s", "250ms", "10µs", "7ns". */
void runner_dur_format(int64_t ns, char *buf, size_t n);

/* runner/meta.c: Lua meta table -> MetaMap, and test selection. */
int runner_meta_pack(lua_State *L, int idx, msgpack_packer *pk);
/* NULL: run it.  Otherwise the skip reason, written into buf. */
const char *runner_select(lua_State *L, int meta_idx,
    const struct runner_filter *f, char *buf, size_t n);
bool runner_utf8_valid(const char *s, size_t n);

/* runner/coro.c: coroutine.resume/wrap that keep the timeout hook. */
void runner_coro_open(lua_State *L);
/* runner/runner.c: set co's timeout hook iff a deadline is running. */
void runner_sync_hook(lua_State *co, struct runner *r);

/* runner/json.c: the `json` global. */
void runner_json_open(lua_State *L);

/* runner/framework.c: test(), todo(), wait_until(), the `t` object. */
void runner_framework_open(lua_State *L, struct runner *r);
/* Pushes a fresh `t` for the current test. */
void runner_push_t(lua_State *L, struct runner *r, int meta_idx);
void runner_fail(struct runner *r, const char *msg);
void runner_test_reset(struct runner *r);

/* runner/lab.c: the `provium` lab. */
void runner_lab_open(lua_State *L, struct runner *r);

/* runner/channel.c */
/* A str that is valid UTF-8 (lossy) and at most ~max bytes. */
int runner_pack_text(msgpack_packer *pk, const char *s, size_t n,
    size_t max);
int runner_send_simple(struct runner *r, const char *t, const char *k,
    const char *v);
int runner_parse_start(struct runner *r, const msgpack_object *m,
    char **err);
void runner_free(struct runner *r);
/* runner/runner.c: a lua_CFunction (arg 1: the runner, light userdata)
 * building the state a test file runs in: libraries, framework, json,
 * the lab, every extension's open().  Also used by `provium repl`. */
int runner_setup(lua_State *L);

#endif
