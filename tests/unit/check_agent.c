/*
 * check_agent.c: drives the real provium-agent binary over a socketpair
 * (as --vmm local does) and pins docs/agent-protocol.md: handshake,
 * malformed input, every op family, concurrency, streams, workers, batch.
 * The binary is $PROVIUM_AGENT, else <dir of this test>/../bin/provium-agent.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events/frame.h"
#include "events/mp.h"
#include "events/proto.h"

static char agent_path[PATH_MAX];
static char tmpdir[256];

struct ag {
	int fd;
	pid_t pid;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	uint8_t *body;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
ag_spawn(struct ag *g, const char *arg1, const char *arg2)
{
	int sv[2];

	memset(g, 0, sizeof(*g));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
	g->pid = fork();
	ck_assert_int_ge(g->pid, 0);
	if (g->pid == 0) {
		char fdarg[16];

		fcntl(sv[1], F_SETFD, 0);
		snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
		setpgid(0, 0);
		if (arg1 != NULL) {     /* CLI checks: keep usage text quiet */
			int nul = open("/dev/null", O_WRONLY);

			dup2(nul, 1);
			dup2(nul, 2);
		}
		if (chdir(tmpdir) != 0)
			_exit(126);
		execl(agent_path, "provium-agent", arg1 ? arg1 : "--fd",
		    arg2 ? arg2 : fdarg, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	g->fd = sv[0];
	msgpack_sbuffer_init(&g->sb);
	msgpack_packer_init(&g->pk, &g->sb, msgpack_sbuffer_write);
	msgpack_unpacked_init(&g->u);
}

/* Starts a request {id, kind, data: map(n)}; fill the n pairs, then tx(). */
static msgpack_packer *
rq(struct ag *g, uint64_t id, const char *kind, uint32_t n)
{
	msgpack_sbuffer_clear(&g->sb);
	msgpack_pack_map(&g->pk, 3);
	mp_kv_u64(&g->pk, "id", id);
	mp_kv_str(&g->pk, "kind", kind);
	mp_str(&g->pk, "data");
	msgpack_pack_map(&g->pk, n);
	return &g->pk;
}

static void
tx(struct ag *g)
{
	ck_assert_int_eq(frame_write(g->fd, g->sb.data, g->sb.size,
	    FRAME_MAX_AGENT), FRAME_OK);
}

/* Next frame (5 s limit); valid until the next rx(). */
static const msgpack_object *
rx(struct ag *g)
{
	struct pollfd pf = { .fd = g->fd, .events = POLLIN };
	const msgpack_object *m;
	size_t len;

	free(g->body);
	g->body = NULL;
	msgpack_unpacked_destroy(&g->u);
	msgpack_unpacked_init(&g->u);
	ck_assert_msg(poll(&pf, 1, 5000) == 1, "agent did not answer in 5 s");
	ck_assert_int_eq(frame_read(g->fd, FRAME_MAX_AGENT, &g->body, &len),
	    FRAME_OK);
	ck_assert_int_eq(frame_decode(g->body, len, &g->u, &m), FRAME_OK);
	return m;
}

static int
ag_wait(struct ag *g)
{
	int st;

	ck_assert_int_eq(waitpid(g->pid, &st, 0), g->pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
ag_free(struct ag *g)
{
	close(g->fd);
	free(g->body);
	g->body = NULL;
	msgpack_unpacked_destroy(&g->u);
	msgpack_sbuffer_destroy(&g->sb);
}

static void
ag_close(struct ag *g)
{
	close(g->fd);
	ck_assert_int_eq(ag_wait(g), 0);
	ag_free(g);
}

static bool
is_str(const msgpack_object *o, const char *s)
{
	return mp_obj_is_str(o, s);
}

#define ck_str(o, s) ck_assert_msg(is_str((o), (s)), "expected `%s`", (s))

static void
ck_bin(const msgpack_object *o, const char *s, size_t n)
{
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_BIN);
	ck_assert_uint_eq(o->via.bin.size, n);
	ck_assert(memcmp(o->via.bin.ptr, s, n) == 0);
}

static int64_t
geti(const msgpack_object *m, const char *k)
{
	int64_t v = 0;

	ck_assert_msg(mp_get_i64(m, k, &v) == 0, "no int `%s`", k);
	return v;
}

/* Checks {id, kind, data: {outcome: "ok", value}} and returns value. */
static const msgpack_object *
ok_value(const msgpack_object *m, uint64_t id, const char *kind)
{
	const msgpack_object *d = mp_get(m, "data");

	ck_assert_int_eq(geti(m, "id"), (int64_t)id);
	ck_str(mp_get(m, "kind"), kind);
	ck_str(mp_get(d, "outcome"), "ok");
	return mp_get(d, "value");
}

static void
ck_err(const msgpack_object *m, uint64_t id, const char *kind, int err,
    const char *msg)
{
	const msgpack_object *d = mp_get(m, "data");
	const msgpack_object *v = mp_get(d, "value");

	ck_assert_int_eq(geti(m, "id"), (int64_t)id);
	ck_str(mp_get(m, "kind"), kind);
	ck_str(mp_get(d, "outcome"), "err");
	ck_assert_int_eq(geti(v, "errno"), err);
	ck_str(mp_get(v, "message"), msg);
}

static void
ck_agent_error(const msgpack_object *m, uint64_t id, const char *kind,
    const char *msg)
{
	const msgpack_object *d = mp_get(m, "data");

	ck_assert_int_eq(geti(m, "id"), (int64_t)id);
	ck_str(mp_get(m, "kind"), "agent_error");
	ck_str(mp_get(d, "kind"), kind);
	ck_str(mp_get(d, "message"), msg);
}

static void
hello(struct ag *g)
{
	mp_kv_u64(rq(g, 1, "hello", 1), "protocol_version", PROTOCOL_VERSION);
	tx(g);
	ck_str(mp_get(rx(g), "kind"), "hello_ok");
}

static void
ag_start(struct ag *g)
{
	ag_spawn(g, NULL, NULL);
	hello(g);
}

static void
path_in_tmp(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
}

static void
sh_exec(struct ag *g, uint64_t id, const char *cmd)
{
	msgpack_packer *pk = rq(g, id, "exec", 2);

	mp_kv_str(pk, "cmd", cmd);
	mp_kv_bool(pk, "shell", true);
	tx(g);
}

/* ---- handshake and malformed input ---- */

START_TEST(handshake_ok)
{
	struct ag g;
	const msgpack_object *m, *d, *ag;

	ag_spawn(&g, NULL, NULL);
	mp_kv_u64(rq(&g, 7, "hello", 1), "protocol_version", PROTOCOL_VERSION);
	tx(&g);
	m = rx(&g);
	ck_assert_int_eq(geti(m, "id"), 7);
	ck_str(mp_get(m, "kind"), "hello_ok");
	d = mp_get(m, "data");
	ck_assert_int_eq(geti(d, "protocol_version"), PROTOCOL_VERSION);
	ag = mp_get(d, "agent");
	ck_str(mp_get(ag, "os"), "linux");
	ck_str(mp_get(ag, "agent_version"), PROVIUM_VERSION);
	ck_assert_int_eq(mp_get(ag, "kernel")->type, MSGPACK_OBJECT_STR);
	ck_assert_uint_gt(mp_get(ag, "kernel")->via.str.size, 0);
	/* A second hello is refused and the session goes on. */
	mp_kv_u64(rq(&g, 8, "hello", 1), "protocol_version", PROTOCOL_VERSION);
	tx(&g);
	ck_agent_error(rx(&g), 8, "protocol", "hello already done");
	rq(&g, 9, "ping", 0);
	tx(&g);
	ck_assert(geti(ok_value(rx(&g), 9, "ping_result"), "uptime_ns") > 0);
	ag_close(&g);
}
END_TEST

START_TEST(handshake_version_mismatch)
{
	struct ag g;
	const msgpack_object *m, *d;
	uint8_t *body = NULL;
	size_t len;

	ag_spawn(&g, NULL, NULL);
	mp_kv_u64(rq(&g, 1, "hello", 1), "protocol_version", 99);
	tx(&g);
	m = rx(&g);
	ck_str(mp_get(m, "kind"), "hello_err");
	d = mp_get(m, "data");
	ck_assert_int_eq(geti(d, "host_version"), 99);
	ck_assert_int_eq(geti(d, "agent_version"), PROTOCOL_VERSION);
	ck_assert_int_eq(frame_read(g.fd, FRAME_MAX_AGENT, &body, &len),
	    FRAME_EOF);
	free(body);
	ck_assert_int_eq(ag_wait(&g), 1);
	ag_free(&g);
}
END_TEST

START_TEST(op_before_hello)
{
	struct ag g;

	ag_spawn(&g, NULL, NULL);
	mp_kv_str(rq(&g, 3, "stat", 1), "path", "/");
	tx(&g);
	ck_agent_error(rx(&g), 3, "protocol", "expected hello before `stat`");
	hello(&g);
	ag_close(&g);
}
END_TEST

START_TEST(malformed_frames_keep_serving)
{
	struct ag g;
	static const uint8_t junk[] = { 0xc1, 0xc1, 0xc1 };
	msgpack_packer *pk;

	ag_start(&g);
	ck_assert_int_eq(frame_write(g.fd, junk, sizeof(junk), 64), FRAME_OK);
	ck_agent_error(rx(&g), 0, "bad_request",
	    "malformed frame: body is not one msgpack map");
	/* A map without an id. */
	msgpack_sbuffer_clear(&g.sb);
	msgpack_pack_map(&g.pk, 1);
	mp_kv_str(&g.pk, "kind", "stat");
	tx(&g);
	ck_agent_error(rx(&g), 0, "bad_request",
	    "request has no integer `id`");
	rq(&g, 4, "frobnicate", 0);
	tx(&g);
	ck_agent_error(rx(&g), 4, "unknown_kind",
	    "unknown request kind `frobnicate`");
	mp_kv_u64(rq(&g, 5, "stat", 1), "path", 12);
	tx(&g);
	ck_agent_error(rx(&g), 5, "bad_request",
	    "stat: field `path` must be a string");
	rq(&g, 6, "exec", 0);
	tx(&g);
	ck_agent_error(rx(&g), 6, "bad_request", "exec: field `cmd` missing");
	pk = rq(&g, 7, "seek", 3);
	mp_kv_u64(pk, "handle", 1);
	mp_kv_i64(pk, "offset", 0);
	mp_kv_str(pk, "whence", "middle");
	tx(&g);
	ck_agent_error(rx(&g), 7, "bad_request", "whence must be set/cur/end");
	mp_kv_u64(rq(&g, 8, "read", 2), "handle", 4242);
	mp_kv_u64(&g.pk, "max_bytes", 1);
	tx(&g);
	ck_agent_error(rx(&g), 8, "unknown_handle", "file#4242: no such handle");
	mp_kv_str(rq(&g, 9, "stat", 1), "path", "/");
	tx(&g);
	ck_str(mp_get(ok_value(rx(&g), 9, "stat_result"), "entry_type"),
	    "directory");
	ag_close(&g);
}
END_TEST

START_TEST(oversize_header_resets)
{
	struct ag g;
	uint8_t hdr[4] = { 0xff, 0xff, 0xff, 0xf0 };
	uint8_t *body = NULL;
	size_t len;

	ag_start(&g);
	ck_assert_int_eq(write(g.fd, hdr, 4), 4);
	ck_agent_error(rx(&g), 0, "frame_too_large",
	    "frame of 4294967280 bytes exceeds the 134217728-byte cap");
	ck_assert_int_eq(frame_read(g.fd, FRAME_MAX_AGENT, &body, &len),
	    FRAME_EOF);
	free(body);
	ck_assert_int_eq(ag_wait(&g), 1);
	ag_free(&g);
}
END_TEST

START_TEST(cli_args)
{
	struct ag g;

	ag_spawn(&g, "--help", NULL);
	ck_assert_int_eq(ag_wait(&g), 0);
	ag_free(&g);
	ag_spawn(&g, "--bogus", "x");
	ck_assert_int_eq(ag_wait(&g), 2);
	ag_free(&g);
	ag_spawn(&g, "--fd", "nine");
	ck_assert_int_eq(ag_wait(&g), 2);
	ag_free(&g);
	ag_spawn(&g, "--fd", "999");
	ck_assert_int_eq(ag_wait(&g), 2);
	ag_free(&g);
}
END_TEST

/* ---- exec ---- */

START_TEST(exec_forms)
{
	struct ag g;
	const msgpack_object *v;
	msgpack_packer *pk;

	ag_start(&g);
	sh_exec(&g, 2, "echo out; echo err >&2; exit 3");
	v = ok_value(rx(&g), 2, "exec_result");
	ck_str(mp_get(v, "status"), "exited");
	ck_assert_int_eq(geti(v, "code"), 3);
	ck_assert_int_eq(mp_get(v, "signal")->type, MSGPACK_OBJECT_NIL);
	ck_bin(mp_get(v, "stdout"), "out\n", 4);
	ck_bin(mp_get(v, "stderr"), "err\n", 4);

	/* argv form, env, env_clear, cwd, stdin */
	pk = rq(&g, 3, "exec", 6);
	mp_kv_str(pk, "cmd", "/bin/sh");
	mp_str(pk, "args");
	msgpack_pack_array(pk, 2);
	mp_str(pk, "-c");
	mp_str(pk, "pwd; echo \"$FOO:${HOME-unset}\"; cat");
	mp_str(pk, "env");
	msgpack_pack_map(pk, 1);
	mp_kv_str(pk, "FOO", "bar");
	mp_kv_bool(pk, "env_clear", true);
	mp_kv_str(pk, "cwd", "/");
	mp_kv_bin(pk, "stdin", "piped", 5);
	tx(&g);
	v = ok_value(rx(&g), 3, "exec_result");
	ck_bin(mp_get(v, "stdout"), "/\nbar:unset\npiped", 17);

	sh_exec(&g, 4, "kill -9 $$");
	v = ok_value(rx(&g), 4, "exec_result");
	ck_str(mp_get(v, "status"), "signalled");
	ck_assert_int_eq(geti(v, "code"), -1);
	ck_assert_int_eq(geti(v, "signal"), 9);

	pk = rq(&g, 5, "exec", 3);
	mp_kv_str(pk, "cmd", "sleep 5");
	mp_kv_bool(pk, "shell", true);
	mp_kv_u64(pk, "timeout_ms", 100);
	tx(&g);
	v = ok_value(rx(&g), 5, "exec_result");
	ck_str(mp_get(v, "status"), "timed_out");
	ck_assert_int_eq(geti(v, "code"), -2);

	mp_kv_str(rq(&g, 6, "exec", 1), "cmd", "no-such-command-xyz");
	tx(&g);
	ck_err(rx(&g), 6, "exec_result", ENOENT,
	    "exec `no-such-command-xyz`: No such file or directory");

	pk = rq(&g, 7, "exec", 2);
	mp_kv_str(pk, "cmd", "true");
	mp_kv_str(pk, "cwd", "/no/such/dir");
	tx(&g);
	ck_err(rx(&g), 7, "exec_result", ENOENT,
	    "chdir `/no/such/dir`: No such file or directory");

	pk = rq(&g, 8, "exec", 3);
	mp_kv_str(pk, "cmd", "printf 0123456789abcdef");
	mp_kv_bool(pk, "shell", true);
	mp_kv_u64(pk, "max_output", 10);
	tx(&g);
	v = ok_value(rx(&g), 8, "exec_result");
	{
		static const char want[] = "0123456789\n[provium-agent: "
		    "output truncated, 6 bytes dropped]\n";

		ck_bin(mp_get(v, "stdout"), want, sizeof(want) - 1);
	}
	ck_assert(mp_get(v, "stdout_truncated")->via.boolean);
	ck_assert(!mp_get(v, "stderr_truncated")->via.boolean);

	{
		int64_t t0 = now_ms();

		sh_exec(&g, 10, "sleep 2 & echo bg");
		v = ok_value(rx(&g), 10, "exec_result");
		ck_bin(mp_get(v, "stdout"), "bg\n", 3);
		ck_assert_int_lt(now_ms() - t0, 1500);
	}

	pk = rq(&g, 9, "exec", 3);
	mp_kv_str(pk, "cmd", "true");
	mp_kv_bool(pk, "shell", true);
	mp_str(pk, "args");
	msgpack_pack_array(pk, 1);
	mp_str(pk, "x");
	tx(&g);
	ck_agent_error(rx(&g), 9, "bad_request",
	    "exec: `args` must be empty when `shell` is true");
	ag_close(&g);
}
END_TEST

/* The host agent (--fd) holds no capability and its children regain
 * none (docs/privileges.md); CapBnd is emptied only when it was root. */
START_TEST(host_agent_drops_privileges)
{
	struct ag g;
	const msgpack_object *v, *out;
	char *text, *p;
	int n = 0;

	ag_start(&g);
	sh_exec(&g, 2, "grep -E '^(Cap(Inh|Prm|Eff|Amb|Bnd)|NoNewPrivs)' "
	    "/proc/$PPID/status /proc/self/status | sed 's/^[^:]*://'");
	v = ok_value(rx(&g), 2, "exec_result");
	out = mp_get(v, "stdout");
	text = strndup(out->via.bin.ptr, out->via.bin.size);
	for (p = strtok(text, "\n"); p != NULL; p = strtok(NULL, "\n")) {
		if (strncmp(p, "CapBnd:", 7) == 0 && geteuid() != 0)
			continue;
		if (strncmp(p, "NoNewPrivs:", 11) == 0)
			ck_assert_str_eq(p, "NoNewPrivs:\t1");
		else
			ck_assert_msg(strcmp(p + 7, "\t0000000000000000") == 0,
			    "%s", p);
		n++;
	}
	free(text);
	ck_assert_int_eq(n, geteuid() == 0 ? 12 : 10);
	ag_close(&g);
}
END_TEST

/* Captured output is capped at AGENT_OUTPUT_DEF (16 MiB) unless asked
 * otherwise, with a visible marker; asking above 48 MiB is refused. */
START_TEST(output_caps)
{
	static const char marker[] = "\n[provium-agent: output truncated, "
	    "222784 bytes dropped]\n";
	struct ag g;
	const msgpack_object *v, *out;
	msgpack_packer *pk;

	ag_start(&g);
	sh_exec(&g, 2, "head -c 17000000 /dev/zero");
	v = ok_value(rx(&g), 2, "exec_result");
	out = mp_get(v, "stdout");
	ck_assert_uint_eq(out->via.bin.size, (16u << 20) + sizeof(marker) - 1);
	ck_assert(memcmp(out->via.bin.ptr + (16u << 20), marker,
	    sizeof(marker) - 1) == 0);
	ck_assert(mp_get(v, "stdout_truncated")->via.boolean);

	pk = rq(&g, 3, "exec", 2);
	mp_kv_str(pk, "cmd", "true");
	mp_kv_u64(pk, "max_output", (48u << 20) + 1);
	tx(&g);
	ck_agent_error(rx(&g), 3, "bad_request",
	    "exec: max_output 50331649 exceeds the 50331648-byte limit");
	ag_close(&g);
}
END_TEST

START_TEST(exec_large_output)
{
	struct ag g;
	const msgpack_object *v;

	ag_start(&g);
	sh_exec(&g, 2, "head -c 3000000 /dev/zero");
	v = ok_value(rx(&g), 2, "exec_result");
	ck_assert_uint_eq(mp_get(v, "stdout")->via.bin.size, 3000000);
	ag_close(&g);
}
END_TEST

START_TEST(long_op_does_not_block_short)
{
	struct ag g;
	const msgpack_object *m;
	int64_t t0, t;

	ag_start(&g);
	t0 = now_ms();
	sh_exec(&g, 2, "sleep 1");
	mp_kv_str(rq(&g, 3, "stat", 1), "path", "/");
	tx(&g);
	m = rx(&g);
	t = now_ms() - t0;
	ok_value(m, 3, "stat_result");
	ck_assert_msg(t < 500, "stat took %lld ms behind an exec", (long long)t);
	ck_str(mp_get(ok_value(rx(&g), 2, "exec_result"), "status"), "exited");
	ck_assert_int_ge(now_ms() - t0, 900);
	ag_close(&g);
}
END_TEST

/* ---- run_async and process handles ---- */

static uint64_t
run_async_sh(struct ag *g, uint64_t id, const char *cmd, int64_t *pid)
{
	const msgpack_object *v;
	msgpack_packer *pk = rq(g, id, "run_async", 2);

	mp_kv_str(pk, "cmd", cmd);
	mp_kv_bool(pk, "shell", true);
	tx(g);
	v = ok_value(rx(g), id, "run_async_result");
	if (pid != NULL)
		*pid = geti(v, "pid");
	return (uint64_t)geti(v, "handle");
}

static void
handle_op(struct ag *g, uint64_t id, const char *kind, uint64_t h)
{
	mp_kv_u64(rq(g, id, kind, 1), "handle", h);
	tx(g);
}

START_TEST(run_async_ops)
{
	struct ag g;
	const msgpack_object *v;
	msgpack_packer *pk;
	uint64_t h;
	int64_t pid;

	ag_start(&g);
	h = run_async_sh(&g, 2, "cat; echo done >&2", &pid);
	ck_assert_int_gt(pid, 0);
	handle_op(&g, 3, "get_pid", h);
	ck_assert_int_eq(geti(ok_value(rx(&g), 3, "get_pid_result"), "pid"),
	    pid);
	handle_op(&g, 4, "proc_status", h);
	ck_str(mp_get(ok_value(rx(&g), 4, "proc_status_result"), "status"),
	    "running");
	pk = rq(&g, 5, "proc_stdin_write", 2);
	mp_kv_u64(pk, "handle", h);
	mp_kv_bin(pk, "data", "abc", 3);
	tx(&g);
	ck_assert_int_eq(geti(ok_value(rx(&g), 5, "proc_stdin_write_result"),
	    "written"), 3);
	handle_op(&g, 6, "proc_stdin_close", h);
	ok_value(rx(&g), 6, "proc_stdin_close_result");
	pk = rq(&g, 7, "proc_stdin_write", 2);
	mp_kv_u64(pk, "handle", h);
	mp_kv_bin(pk, "data", "x", 1);
	tx(&g);
	ck_err(rx(&g), 7, "proc_stdin_write_result", EBADF,
	    "proc_stdin_write proc#1: stdin is closed");
	handle_op(&g, 8, "wait", h);
	v = ok_value(rx(&g), 8, "wait_result");
	ck_str(mp_get(v, "status"), "exited");
	ck_bin(mp_get(v, "stdout"), "abc", 3);
	ck_bin(mp_get(v, "stderr"), "done\n", 5);
	handle_op(&g, 9, "wait", h);
	ck_agent_error(rx(&g), 9, "unknown_handle", "proc#1: no such handle");

	/* kill, and wait with a timeout that kills */
	h = run_async_sh(&g, 10, "exec sleep 30", NULL);
	pk = rq(&g, 11, "kill", 2);
	mp_kv_u64(pk, "handle", h);
	mp_kv_i64(pk, "signal", 15);
	tx(&g);
	ok_value(rx(&g), 11, "kill_result");
	handle_op(&g, 12, "wait", h);
	v = ok_value(rx(&g), 12, "wait_result");
	ck_str(mp_get(v, "status"), "signalled");
	ck_assert_int_eq(geti(v, "signal"), 15);

	h = run_async_sh(&g, 13, "sleep 30", NULL);
	pk = rq(&g, 14, "wait", 2);
	mp_kv_u64(pk, "handle", h);
	mp_kv_u64(pk, "timeout_ms", 100);
	tx(&g);
	v = ok_value(rx(&g), 14, "wait_result");
	ck_str(mp_get(v, "status"), "timed_out");
	ck_assert_int_eq(geti(v, "code"), -2);

	pk = rq(&g, 15, "run_async", 2);
	mp_kv_str(pk, "cmd", "true");
	mp_kv_u64(pk, "timeout_ms", 5);
	tx(&g);
	ck_agent_error(rx(&g), 15, "bad_request",
	    "run_async: timeout_ms is not supported; pass it to wait");
	ag_close(&g);
}
END_TEST

START_TEST(proc_stream_and_cancel)
{
	struct ag g;
	const msgpack_object *m;
	msgpack_packer *pk;
	uint64_t h;
	char got[64] = "";
	size_t n = 0;

	ag_start(&g);
	h = run_async_sh(&g, 2, "echo a; sleep 0.3; echo b", NULL);
	pk = rq(&g, 3, "proc_stream", 2);
	mp_kv_u64(pk, "handle", h);
	mp_kv_str(pk, "channel", "stdout");
	tx(&g);
	ok_value(rx(&g), 3, "proc_stream_result");
	for (;;) {
		const msgpack_object *d;

		m = rx(&g);
		ck_assert_int_eq(geti(m, "id"), 3);
		d = mp_get(m, "data");
		if (is_str(mp_get(m, "kind"), "stream_end")) {
			ck_str(mp_get(d, "outcome"), "ok");
			break;
		}
		ck_str(mp_get(m, "kind"), "stream_frame");
		memcpy(got + n, mp_get(d, "data")->via.bin.ptr,
		    mp_get(d, "data")->via.bin.size);
		n += mp_get(d, "data")->via.bin.size;
	}
	ck_assert_str_eq(got, "a\nb\n");
	handle_op(&g, 4, "wait", h);
	ck_bin(mp_get(ok_value(rx(&g), 4, "wait_result"), "stdout"), "a\nb\n",
	    4);

	/* Cancel: stream_end comes before cancel_result. */
	h = run_async_sh(&g, 5, "sleep 30", NULL);
	pk = rq(&g, 6, "proc_stream", 2);
	mp_kv_u64(pk, "handle", h);
	mp_kv_str(pk, "channel", "stderr");
	tx(&g);
	ok_value(rx(&g), 6, "proc_stream_result");
	mp_kv_u64(rq(&g, 7, "cancel", 1), "stream", 6);
	tx(&g);
	m = rx(&g);
	ck_assert_int_eq(geti(m, "id"), 6);
	ck_str(mp_get(m, "kind"), "stream_end");
	ok_value(rx(&g), 7, "cancel_result");
	ag_close(&g);
}
END_TEST

/* ---- files ---- */

START_TEST(file_handles)
{
	struct ag g;
	const msgpack_object *v;
	msgpack_packer *pk;
	char p[512];
	uint64_t h;

	ag_start(&g);
	path_in_tmp(p, sizeof(p), "f1");
	pk = rq(&g, 2, "open_file", 3);
	mp_kv_str(pk, "path", p);
	mp_str(pk, "mode");
	msgpack_pack_map(pk, 3);
	mp_kv_bool(pk, "read", true);
	mp_kv_bool(pk, "write", true);
	mp_kv_bool(pk, "create", true);
	mp_kv_u64(pk, "create_perm", 0600);
	tx(&g);
	h = (uint64_t)geti(ok_value(rx(&g), 2, "open_file_result"), "handle");
	pk = rq(&g, 3, "write", 2);
	mp_kv_u64(pk, "handle", h);
	mp_kv_bin(pk, "data", "hello world", 11);
	tx(&g);
	ck_assert_int_eq(geti(ok_value(rx(&g), 3, "write_result"), "written"),
	    11);
	pk = rq(&g, 4, "seek", 3);
	mp_kv_u64(pk, "handle", h);
	mp_kv_i64(pk, "offset", -5);
	mp_kv_str(pk, "whence", "end");
	tx(&g);
	ck_assert_int_eq(geti(ok_value(rx(&g), 4, "seek_result"), "offset"), 6);
	pk = rq(&g, 5, "read", 2);
	mp_kv_u64(pk, "handle", h);
	mp_kv_u64(pk, "max_bytes", 100);
	tx(&g);
	ck_bin(mp_get(ok_value(rx(&g), 5, "read_result"), "data"), "world", 5);
	pk = rq(&g, 6, "read", 2);
	mp_kv_u64(pk, "handle", h);
	mp_kv_u64(pk, "max_bytes", 100);
	tx(&g);
	ck_bin(mp_get(ok_value(rx(&g), 6, "read_result"), "data"), "", 0);
	handle_op(&g, 7, "close", h);
	ok_value(rx(&g), 7, "close_result");
	handle_op(&g, 8, "close", h);
	ck_agent_error(rx(&g), 8, "unknown_handle", "file#1: no such handle");

	pk = rq(&g, 9, "stat", 1);
	mp_kv_str(pk, "path", p);
	tx(&g);
	v = ok_value(rx(&g), 9, "stat_result");
	ck_assert_int_eq(geti(v, "size"), 11);
	ck_assert_int_eq(geti(v, "perm"), 0600);
	ck_str(mp_get(v, "entry_type"), "file");
	ck_assert_int_gt(geti(v, "mtime_ns"), 1000000000LL * 1000000000LL);

	pk = rq(&g, 10, "open_file", 2);
	mp_kv_str(pk, "path", p);
	mp_str(pk, "mode");
	msgpack_pack_map(pk, 1);
	mp_kv_bool(pk, "create", true);
	tx(&g);
	ck_err(rx(&g), 10, "open_file_result", EINVAL,
	    "open_file: mode needs one of read, write, append");
	pk = rq(&g, 11, "open_file", 2);
	mp_kv_str(pk, "path", p);
	mp_str(pk, "mode");
	msgpack_pack_map(pk, 2);
	mp_kv_bool(pk, "write", true);
	mp_kv_bool(pk, "exclusive", true);
	tx(&g);
	{
		char want[1024];

		snprintf(want, sizeof(want), "open_file %s: File exists", p);
		ck_err(rx(&g), 11, "open_file_result", EEXIST, want);
	}
	ag_close(&g);
}
END_TEST

START_TEST(whole_file_and_dir_ops)
{
	struct ag g;
	const msgpack_object *v;
	msgpack_packer *pk;
	char d[400], f[512], f2[512], want[1024];
	int fd;

	ag_start(&g);
	path_in_tmp(d, sizeof(d), "a/b/c");
	pk = rq(&g, 2, "mkdir", 2);
	mp_kv_str(pk, "path", d);
	mp_kv_bool(pk, "parents", true);
	tx(&g);
	ok_value(rx(&g), 2, "mkdir_result");
	pk = rq(&g, 3, "mkdir", 1);
	mp_kv_str(pk, "path", d);
	tx(&g);
	snprintf(want, sizeof(want), "mkdir %s: File exists", d);
	ck_err(rx(&g), 3, "mkdir_result", EEXIST, want);

	snprintf(f, sizeof(f), "%s/z.txt", d);
	pk = rq(&g, 4, "write_file", 2);
	mp_kv_str(pk, "path", f);
	mp_kv_bin(pk, "data", "one", 3);
	tx(&g);
	ok_value(rx(&g), 4, "write_file_result");
	pk = rq(&g, 5, "write_file", 3);
	mp_kv_str(pk, "path", f);
	mp_kv_bin(pk, "data", "two", 3);
	mp_kv_str(pk, "mode", "append");
	tx(&g);
	ok_value(rx(&g), 5, "write_file_result");
	mp_kv_str(rq(&g, 6, "read_file", 1), "path", f);
	tx(&g);
	ck_bin(mp_get(ok_value(rx(&g), 6, "read_file_result"), "data"),
	    "onetwo", 6);
	snprintf(f2, sizeof(f2), "%s/a.txt", d);
	pk = rq(&g, 7, "rename", 2);
	mp_kv_str(pk, "from", f);
	mp_kv_str(pk, "to", f2);
	tx(&g);
	ok_value(rx(&g), 7, "rename_result");
	snprintf(f, sizeof(f), "%s/sub", d);
	mp_kv_str(rq(&g, 8, "mkdir", 1), "path", f);
	tx(&g);
	ok_value(rx(&g), 8, "mkdir_result");
	mp_kv_str(rq(&g, 9, "listdir", 1), "path", d);
	tx(&g);
	v = ok_value(rx(&g), 9, "listdir_result");
	ck_assert_int_eq(v->type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(v->via.array.size, 2);
	ck_str(mp_get(&v->via.array.ptr[0], "name"), "a.txt");
	ck_str(mp_get(&v->via.array.ptr[0], "entry_type"), "file");
	ck_str(mp_get(&v->via.array.ptr[1], "name"), "sub");
	ck_str(mp_get(&v->via.array.ptr[1], "entry_type"), "directory");
	mp_kv_str(rq(&g, 10, "unlink", 1), "path", f2);
	tx(&g);
	ok_value(rx(&g), 10, "unlink_result");
	mp_kv_str(rq(&g, 11, "unlink", 1), "path", f);
	tx(&g);
	ok_value(rx(&g), 11, "unlink_result");
	mp_kv_str(rq(&g, 12, "unlink", 1), "path", f);
	tx(&g);
	snprintf(want, sizeof(want), "unlink %s: No such file or directory", f);
	ck_err(rx(&g), 12, "unlink_result", ENOENT, want);

	/* read_file refuses files over 96 MiB (sparse: costs nothing). */
	path_in_tmp(f, sizeof(f), "big");
	fd = open(f, O_CREAT | O_WRONLY, 0644);
	ck_assert_int_eq(ftruncate(fd, 97 << 20), 0);
	close(fd);
	mp_kv_str(rq(&g, 13, "read_file", 1), "path", f);
	tx(&g);
	snprintf(want, sizeof(want), "read_file %s: file is 101711872 bytes, "
	    "over the 96 MiB limit; use open_file + read or tail_file", f);
	ck_err(rx(&g), 13, "read_file_result", EFBIG, want);
	unlink(f);

	pk = rq(&g, 14, "stat", 2);
	mp_kv_str(pk, "path", "/proc/self/exe");
	mp_kv_bool(pk, "follow_symlinks", false);
	tx(&g);
	ck_str(mp_get(ok_value(rx(&g), 14, "stat_result"), "entry_type"),
	    "symlink");
	ag_close(&g);
}
END_TEST

static void
append_file(const char *p, const char *s)
{
	int fd = open(p, O_WRONLY | O_APPEND | O_CREAT, 0644);

	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

static void
ck_frame(struct ag *g, uint64_t id, const char *s)
{
	const msgpack_object *m = rx(g);

	ck_assert_int_eq(geti(m, "id"), (int64_t)id);
	ck_str(mp_get(m, "kind"), "stream_frame");
	ck_bin(mp_get(mp_get(m, "data"), "data"), s, strlen(s));
}

static int64_t
tail(struct ag *g, uint64_t id, const char *p, const char *start,
    int64_t off)
{
	msgpack_packer *pk = rq(g, id, "tail_file", 2);

	mp_kv_str(pk, "path", p);
	if (start != NULL) {
		mp_kv_str(pk, "start", start);
	} else {
		mp_str(pk, "start");
		msgpack_pack_map(pk, 1);
		mp_kv_i64(pk, "offset", off);
	}
	tx(g);
	return geti(ok_value(rx(g), id, "tail_file_result"), "offset");
}

static void
cancel(struct ag *g, uint64_t id, uint64_t stream)
{
	const msgpack_object *m;

	mp_kv_u64(rq(g, id, "cancel", 1), "stream", stream);
	tx(g);
	m = rx(g);
	ck_assert_int_eq(geti(m, "id"), (int64_t)stream);
	ck_str(mp_get(m, "kind"), "stream_end");
	ok_value(rx(g), id, "cancel_result");
}

START_TEST(tail_file_modes)
{
	struct ag g;
	msgpack_packer *pk;
	char p[512], want[1024];

	ag_start(&g);
	path_in_tmp(p, sizeof(p), "log");
	append_file(p, "hello");
	ck_assert_int_eq(tail(&g, 2, p, "beginning", 0), 0);
	ck_frame(&g, 2, "hello");
	append_file(p, " world");
	ck_frame(&g, 2, " world");
	cancel(&g, 3, 2);

	ck_assert_int_eq(tail(&g, 4, p, "end", 0), 11);
	append_file(p, "!");
	ck_frame(&g, 4, "!");
	cancel(&g, 5, 4);

	ck_assert_int_eq(tail(&g, 6, p, NULL, -3), 9);
	ck_frame(&g, 6, "ld!");
	cancel(&g, 7, 6);
	ck_assert_int_eq(tail(&g, 8, p, NULL, -100), 0);
	ck_frame(&g, 8, "hello world!");
	cancel(&g, 9, 8);
	ck_assert_int_eq(tail(&g, 10, p, NULL, 6), 6);
	ck_frame(&g, 10, "world!");
	cancel(&g, 11, 10);
	ck_assert_int_eq(tail(&g, 12, p, NULL, 500), 12);
	cancel(&g, 13, 12);
	/* a bare integer start */
	pk = rq(&g, 12, "tail_file", 2);
	mp_kv_str(pk, "path", p);
	mp_kv_i64(pk, "start", -1);
	tx(&g);
	ck_assert_int_eq(geti(ok_value(rx(&g), 12, "tail_file_result"),
	    "offset"), 11);
	ck_frame(&g, 12, "!");
	cancel(&g, 13, 12);
	/* cancelling again is a no-op */
	mp_kv_u64(rq(&g, 14, "cancel", 1), "stream", 12);
	tx(&g);
	ok_value(rx(&g), 14, "cancel_result");

	mp_kv_str(rq(&g, 15, "tail_file", 1), "path", "/no/such/log");
	tx(&g);
	snprintf(want, sizeof(want),
	    "tail_file /no/such/log: No such file or directory");
	ck_err(rx(&g), 15, "tail_file_result", ENOENT, want);
	pk = rq(&g, 16, "tail_file", 2);
	mp_kv_str(pk, "path", p);
	mp_kv_str(pk, "start", "middle");
	tx(&g);
	ck_agent_error(rx(&g), 16, "bad_request", "tail_file: start must be "
	    "\"beginning\", \"end\" or {offset = n}");
	ag_close(&g);
}
END_TEST

/* ---- syscall ---- */

START_TEST(syscalls)
{
	struct ag g;
	const msgpack_object *v, *ob;
	msgpack_packer *pk;
	char p[512], iov[16] = { 0 };
	uint64_t len = 5;
	int64_t fd;

	ag_start(&g);
	mp_kv_i64(rq(&g, 2, "syscall", 1), "nr", SYS_getpid);
	tx(&g);
	v = ok_value(rx(&g), 2, "syscall_result");
	ck_assert_int_eq(geti(v, "ret"), g.pid);
	ck_assert_int_eq(geti(v, "errno"), 0);
	ck_assert_uint_eq(mp_get(v, "out_bufs")->via.array.size, 0);

	mp_kv_i64(rq(&g, 3, "syscall", 1), "nr", 99999);
	tx(&g);
	v = ok_value(rx(&g), 3, "syscall_result");
	ck_assert_int_eq(geti(v, "ret"), -1);
	ck_assert_int_eq(geti(v, "errno"), ENOSYS);

	/* uname(buf): a buffer out */
	pk = rq(&g, 4, "syscall", 3);
	mp_kv_i64(pk, "nr", SYS_uname);
	mp_str(pk, "bufs");
	msgpack_pack_array(pk, 1);
	{
		static const char zero[390];

		mp_bin(pk, zero, sizeof(zero));
	}
	mp_str(pk, "ptrs");
	msgpack_pack_array(pk, 1);
	msgpack_pack_uint8(pk, 0);
	tx(&g);
	v = ok_value(rx(&g), 4, "syscall_result");
	ck_assert_int_eq(geti(v, "ret"), 0);
	ob = &mp_get(v, "out_bufs")->via.array.ptr[0];
	ck_assert_uint_eq(ob->via.bin.size, 390);
	ck_assert(memcmp(ob->via.bin.ptr, "Linux", 6) == 0);

	/* openat(AT_FDCWD, path, ...) then writev(fd, iov->data, 1): nested */
	path_in_tmp(p, sizeof(p), "sc");
	pk = rq(&g, 5, "syscall", 4);
	mp_kv_i64(pk, "nr", SYS_openat);
	mp_str(pk, "args");
	msgpack_pack_array(pk, 4);
	msgpack_pack_int64(pk, AT_FDCWD);
	msgpack_pack_int64(pk, 0);
	msgpack_pack_int64(pk, O_WRONLY | O_CREAT | O_TRUNC);
	msgpack_pack_int64(pk, 0644);
	mp_str(pk, "bufs");
	msgpack_pack_array(pk, 1);
	mp_bin(pk, p, strlen(p) + 1);
	mp_str(pk, "ptrs");
	msgpack_pack_array(pk, 1);
	msgpack_pack_uint8(pk, 1);
	tx(&g);
	fd = geti(ok_value(rx(&g), 5, "syscall_result"), "ret");
	ck_assert_int_ge(fd, 3);
	memcpy(iov + 8, &len, 8);
	pk = rq(&g, 6, "syscall", 5);
	mp_kv_i64(pk, "nr", SYS_writev);
	mp_str(pk, "args");
	msgpack_pack_array(pk, 3);
	msgpack_pack_int64(pk, fd);
	msgpack_pack_int64(pk, 0);
	msgpack_pack_int64(pk, 1);
	mp_str(pk, "bufs");
	msgpack_pack_array(pk, 2);
	mp_bin(pk, iov, 16);
	mp_bin(pk, "nest!", 5);
	mp_str(pk, "ptrs");
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, 1);
	msgpack_pack_uint8(pk, 5);      /* unused arg slot */
	mp_str(pk, "nested");
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 3);
	mp_kv_u64(pk, "parent", 0);
	mp_kv_u64(pk, "child", 1);
	mp_kv_u64(pk, "offset", 0);
	tx(&g);
	ck_assert_int_eq(geti(ok_value(rx(&g), 6, "syscall_result"), "ret"), 5);
	pk = rq(&g, 7, "syscall", 2);
	mp_kv_i64(pk, "nr", SYS_close);
	mp_str(pk, "args");
	msgpack_pack_array(pk, 1);
	msgpack_pack_int64(pk, fd);
	tx(&g);
	ck_assert_int_eq(geti(ok_value(rx(&g), 7, "syscall_result"), "ret"), 0);
	mp_kv_str(rq(&g, 8, "read_file", 1), "path", p);
	tx(&g);
	ck_bin(mp_get(ok_value(rx(&g), 8, "read_file_result"), "data"),
	    "nest!", 5);

	pk = rq(&g, 9, "syscall", 3);
	mp_kv_i64(pk, "nr", SYS_getpid);
	mp_str(pk, "bufs");
	msgpack_pack_array(pk, 1);
	mp_bin(pk, "x", 1);
	mp_str(pk, "ptrs");
	msgpack_pack_array(pk, 0);
	tx(&g);
	ck_agent_error(rx(&g), 9, "bad_request",
	    "syscall: `ptrs` must have one arg index per buffer");

	rq(&g, 10, "get_time", 0);
	tx(&g);
	ck_assert_int_gt(geti(ok_value(rx(&g), 10, "get_time_result"),
	    "realtime_ns"), 1600000000LL * 1000000000LL);
	ag_close(&g);
}
END_TEST

/* ---- workers ---- */

static uint64_t
spawn_worker(struct ag *g, uint64_t id, int64_t *pid)
{
	const msgpack_object *v;

	rq(g, id, "spawn_worker", 0);
	tx(g);
	v = ok_value(rx(g), id, "spawn_worker_result");
	if (pid != NULL)
		*pid = geti(v, "pid");
	return (uint64_t)geti(v, "handle");
}

START_TEST(workers)
{
	struct ag g;
	const msgpack_object *v;
	msgpack_packer *pk;
	uint64_t w, h;
	int64_t wpid;

	ag_start(&g);
	w = spawn_worker(&g, 2, &wpid);
	ck_assert_int_ne(wpid, g.pid);
	pk = rq(&g, 3, "worker_syscall", 2);
	mp_kv_u64(pk, "worker", w);
	mp_kv_i64(pk, "nr", SYS_getpid);
	tx(&g);
	ck_assert_int_eq(geti(ok_value(rx(&g), 3, "worker_syscall_result"),
	    "ret"), wpid);

	pk = rq(&g, 4, "worker_exec", 3);
	mp_kv_u64(pk, "worker", w);
	mp_kv_str(pk, "cmd", "echo $PPID");
	mp_kv_bool(pk, "shell", true);
	tx(&g);
	v = ok_value(rx(&g), 4, "worker_exec_result");
	{
		char want[32];

		snprintf(want, sizeof(want), "%lld\n", (long long)wpid);
		ck_bin(mp_get(v, "stdout"), want, strlen(want));
	}

	/* A worker's process handle works with the plain process ops. */
	pk = rq(&g, 5, "worker_run_async", 3);
	mp_kv_u64(pk, "worker", w);
	mp_kv_str(pk, "cmd", "exec sleep 30");
	mp_kv_bool(pk, "shell", true);
	tx(&g);
	h = (uint64_t)geti(ok_value(rx(&g), 5, "worker_run_async_result"),
	    "handle");
	handle_op(&g, 6, "proc_status", h);
	ck_str(mp_get(ok_value(rx(&g), 6, "proc_status_result"), "status"),
	    "running");
	pk = rq(&g, 7, "worker_kill", 2);
	mp_kv_u64(pk, "worker", w);
	mp_kv_i64(pk, "signal", 15);
	tx(&g);
	ck_assert_int_eq(geti(ok_value(rx(&g), 7, "worker_kill_result"),
	    "signalled"), 1);
	mp_kv_u64(rq(&g, 8, "worker_join", 1), "worker", w);
	tx(&g);
	ck_assert_int_eq(geti(ok_value(rx(&g), 8, "worker_join_result"),
	    "code"), 128 + 15);
	handle_op(&g, 9, "wait", h);
	ck_assert_int_eq(geti(ok_value(rx(&g), 9, "wait_result"), "signal"),
	    15);

	/* worker_open_file: a routed file handle */
	{
		char p[512];

		path_in_tmp(p, sizeof(p), "wf");
		pk = rq(&g, 10, "worker_open_file", 3);
		mp_kv_u64(pk, "worker", w);
		mp_kv_str(pk, "path", p);
		mp_str(pk, "mode");
		msgpack_pack_map(pk, 2);
		mp_kv_bool(pk, "write", true);
		mp_kv_bool(pk, "create", true);
		tx(&g);
		h = (uint64_t)geti(ok_value(rx(&g), 10,
		    "worker_open_file_result"), "handle");
		pk = rq(&g, 11, "write", 2);
		mp_kv_u64(pk, "handle", h);
		mp_kv_bin(pk, "data", "via worker", 10);
		tx(&g);
		ck_assert_int_eq(geti(ok_value(rx(&g), 11, "write_result"),
		    "written"), 10);
		handle_op(&g, 12, "close", h);
		ok_value(rx(&g), 12, "close_result");
		handle_op(&g, 13, "close", h);
		ck_agent_error(rx(&g), 13, "unknown_handle",
		    "file#3: no such handle");
		mp_kv_str(rq(&g, 14, "read_file", 1), "path", p);
		tx(&g);
		ck_bin(mp_get(ok_value(rx(&g), 14, "read_file_result"), "data"),
		    "via worker", 10);
	}

	mp_kv_bool(rq(&g, 15, "spawn_worker", 1), "thread", true);
	tx(&g);
	ck_agent_error(rx(&g), 15, "bad_request", "spawn_worker: threaded "
	    "workers are not supported; use a process worker");

	mp_kv_u64(rq(&g, 16, "worker_close", 1), "worker", w);
	tx(&g);
	ck_assert_int_eq(geti(ok_value(rx(&g), 16, "worker_close_result"),
	    "code"), 143);
	mp_kv_u64(rq(&g, 17, "worker_join", 1), "worker", w);
	tx(&g);
	ck_agent_error(rx(&g), 17, "unknown_handle",
	    "worker#1: no such handle");
	ag_close(&g);
}
END_TEST

/* Seed 003: two workers run dd concurrently; both files are complete. */
START_TEST(two_concurrent_writers)
{
	struct ag g;
	msgpack_packer *pk;
	uint64_t w[2], h[2];
	char p[2][512], of[1100];
	int i;

	ag_start(&g);
	for (i = 0; i < 2; i++)
		w[i] = spawn_worker(&g, 2 + (uint64_t)i, NULL);
	for (i = 0; i < 2; i++) {
		path_in_tmp(p[i], sizeof(p[i]), i ? "dd_b" : "dd_a");
		snprintf(of, sizeof(of), "of=%s", p[i]);
		pk = rq(&g, 4 + (uint64_t)i, "worker_run_async", 3);
		mp_kv_u64(pk, "worker", w[i]);
		mp_kv_str(pk, "cmd", "dd");
		mp_str(pk, "args");
		msgpack_pack_array(pk, 4);
		mp_str(pk, "if=/dev/urandom");
		mp_str(pk, of);
		mp_str(pk, "bs=1M");
		mp_str(pk, "count=8");
		tx(&g);
		h[i] = (uint64_t)geti(ok_value(rx(&g), 4 + (uint64_t)i,
		    "worker_run_async_result"), "handle");
	}
	for (i = 0; i < 2; i++) {
		const msgpack_object *v;

		pk = rq(&g, 6 + (uint64_t)i, "wait", 2);
		mp_kv_u64(pk, "handle", h[i]);
		mp_kv_u64(pk, "timeout_ms", 10000);
		tx(&g);
		v = ok_value(rx(&g), 6 + (uint64_t)i, "wait_result");
		ck_str(mp_get(v, "status"), "exited");
		ck_assert_msg(geti(v, "code") == 0, "dd failed: %.*s",
		    (int)mp_get(v, "stderr")->via.bin.size,
		    mp_get(v, "stderr")->via.bin.ptr);
	}
	for (i = 0; i < 2; i++) {
		mp_kv_str(rq(&g, 8 + (uint64_t)i, "stat", 1), "path", p[i]);
		tx(&g);
		ck_assert_int_eq(geti(ok_value(rx(&g), 8 + (uint64_t)i,
		    "stat_result"), "size"), 8 * 1024 * 1024);
	}
	ag_close(&g);
}
END_TEST

/* ---- batch ---- */

START_TEST(batch_ops)
{
	struct ag g;
	const msgpack_object *v, *r;
	msgpack_packer *pk;

	ag_start(&g);
	pk = rq(&g, 2, "batch", 1);
	mp_str(pk, "items");
	msgpack_pack_array(pk, 5);
	msgpack_pack_map(pk, 2);
	mp_kv_str(pk, "kind", "exec");
	mp_str(pk, "data");
	msgpack_pack_map(pk, 2);
	mp_kv_str(pk, "cmd", "echo one");
	mp_kv_bool(pk, "shell", true);
	msgpack_pack_map(pk, 2);
	mp_kv_str(pk, "kind", "stat");
	mp_str(pk, "data");
	msgpack_pack_map(pk, 1);
	mp_kv_str(pk, "path", "/no/such");
	msgpack_pack_map(pk, 2);
	mp_kv_str(pk, "kind", "tail_file");
	mp_str(pk, "data");
	msgpack_pack_map(pk, 1);
	mp_kv_str(pk, "path", "/");
	msgpack_pack_map(pk, 1);
	mp_kv_str(pk, "kind", "nope");
	msgpack_pack_map(pk, 2);
	mp_kv_str(pk, "kind", "syscall");
	mp_str(pk, "data");
	msgpack_pack_map(pk, 1);
	mp_kv_i64(pk, "nr", SYS_getpid);
	tx(&g);
	v = mp_get(ok_value(rx(&g), 2, "batch_result"), "responses");
	ck_assert_uint_eq(v->via.array.size, 5);
	r = &v->via.array.ptr[0];
	ck_assert_ptr_null(mp_get(r, "id"));
	ck_str(mp_get(r, "kind"), "exec_result");
	ck_bin(mp_get(mp_get(mp_get(r, "data"), "value"), "stdout"), "one\n",
	    4);
	r = &v->via.array.ptr[1];
	ck_str(mp_get(r, "kind"), "stat_result");
	ck_str(mp_get(mp_get(r, "data"), "outcome"), "err");
	r = &v->via.array.ptr[2];
	ck_str(mp_get(r, "kind"), "agent_error");
	ck_str(mp_get(mp_get(r, "data"), "message"),
	    "`tail_file` cannot appear inside a batch");
	r = &v->via.array.ptr[3];
	ck_str(mp_get(mp_get(r, "data"), "kind"), "unknown_kind");
	r = &v->via.array.ptr[4];
	ck_assert_int_eq(geti(mp_get(mp_get(r, "data"), "value"), "ret"),
	    g.pid);
	ag_close(&g);
}
END_TEST

/* Kinds match up to a NUL byte; "batch\0x" once reached no handler: no
 * reply and a leaked request (found by diffing req.c rewrites). */
START_TEST(batch_kind_with_nul)
{
	struct ag g;
	const msgpack_object *v;

	ag_start(&g);
	msgpack_sbuffer_clear(&g.sb);
	msgpack_pack_map(&g.pk, 3);
	mp_kv_u64(&g.pk, "id", 3);
	mp_kv_strn(&g.pk, "kind", "batch\0x", 7);
	mp_str(&g.pk, "data");
	msgpack_pack_map(&g.pk, 1);
	mp_str(&g.pk, "items");
	msgpack_pack_array(&g.pk, 0);
	tx(&g);
	v = mp_get(ok_value(rx(&g), 3, "batch_result"), "responses");
	ck_assert_int_eq(v->type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(v->via.array.size, 0);
	ag_close(&g);
}
END_TEST


/* A stream whose host does not read stalls its source instead of
 * dropping bytes or buffering without bound. */
START_TEST(stream_backpressure)
{
	struct ag g;
	const msgpack_object *m;
	msgpack_packer *pk;
	uint64_t h, total = 0;

	ag_start(&g);
	h = run_async_sh(&g, 2, "head -c 50000000 /dev/zero", NULL);
	pk = rq(&g, 3, "proc_stream", 2);
	mp_kv_u64(pk, "handle", h);
	mp_kv_str(pk, "channel", "stdout");
	tx(&g);
	ok_value(rx(&g), 3, "proc_stream_result");
	usleep(300000);
	handle_op(&g, 4, "proc_status", h);
	for (;;) {
		m = rx(&g);
		if (geti(m, "id") == 4)
			break;
		total += mp_get(mp_get(m, "data"), "data")->via.bin.size;
	}
	ck_str(mp_get(ok_value(m, 4, "proc_status_result"), "status"),
	    "running");
	for (;;) {
		m = rx(&g);
		ck_assert_int_eq(geti(m, "id"), 3);
		if (is_str(mp_get(m, "kind"), "stream_end"))
			break;
		total += mp_get(mp_get(m, "data"), "data")->via.bin.size;
	}
	ck_assert_uint_eq(total, 50000000);
	handle_op(&g, 5, "wait", h);
	ck_assert_int_eq(geti(ok_value(rx(&g), 5, "wait_result"), "code"), 0);
	ag_close(&g);
}
END_TEST

START_TEST(fd_stream_and_worker_streams)
{
	struct ag g;
	const msgpack_object *m;
	msgpack_packer *pk;
	char p[512];
	uint64_t h, w;

	ag_start(&g);
	path_in_tmp(p, sizeof(p), "fds");
	append_file(p, "0123456789");
	pk = rq(&g, 2, "open_file", 2);
	mp_kv_str(pk, "path", p);
	mp_str(pk, "mode");
	msgpack_pack_map(pk, 1);
	mp_kv_bool(pk, "read", true);
	tx(&g);
	h = (uint64_t)geti(ok_value(rx(&g), 2, "open_file_result"), "handle");
	pk = rq(&g, 3, "seek", 2);
	mp_kv_u64(pk, "handle", h);
	mp_kv_i64(pk, "offset", 4);
	tx(&g);
	ok_value(rx(&g), 3, "seek_result");
	handle_op(&g, 4, "fd_stream", h);
	ok_value(rx(&g), 4, "fd_stream_result");
	ck_frame(&g, 4, "456789");
	append_file(p, "ab");
	ck_frame(&g, 4, "ab");
	cancel(&g, 5, 4);

	/* A stream of a worker's process, forwarded, then cancelled. */
	w = spawn_worker(&g, 6, NULL);
	pk = rq(&g, 7, "worker_run_async", 3);
	mp_kv_u64(pk, "worker", w);
	mp_kv_str(pk, "cmd", "echo hi; exec sleep 30");
	mp_kv_bool(pk, "shell", true);
	tx(&g);
	h = (uint64_t)geti(ok_value(rx(&g), 7, "worker_run_async_result"),
	    "handle");
	pk = rq(&g, 8, "proc_stream", 2);
	mp_kv_u64(pk, "handle", h);
	mp_kv_str(pk, "channel", "stdout");
	tx(&g);
	ok_value(rx(&g), 8, "proc_stream_result");
	ck_frame(&g, 8, "hi\n");
	cancel(&g, 9, 8);
	mp_kv_u64(rq(&g, 10, "worker_close", 1), "worker", w);
	tx(&g);
	m = rx(&g);
	ck_assert_int_eq(geti(ok_value(m, 10, "worker_close_result"), "code"),
	    128 + 15);
	handle_op(&g, 11, "proc_status", h);
	ck_agent_error(rx(&g), 11, "unknown_handle", "proc#3: no such handle");
	ag_close(&g);
}
END_TEST

START_TEST(clock_and_misc)
{
	struct ag g;
	msgpack_packer *pk;
	char p[512], want[1024];

	ag_start(&g);
	mp_kv_str(rq(&g, 2, "set_time", 1), "realtime_ns", "soon");
	tx(&g);
	ck_agent_error(rx(&g), 2, "bad_request",
	    "set_time: field `realtime_ns` must be an integer");
	mp_kv_bin(rq(&g, 3, "reseed", 1), "seed", "0123456789abcdef", 16);
	tx(&g);
	ok_value(rx(&g), 3, "reseed_result");
	path_in_tmp(p, sizeof(p), "cn");
	append_file(p, "x");
	pk = rq(&g, 4, "write_file", 3);
	mp_kv_str(pk, "path", p);
	mp_kv_bin(pk, "data", "y", 1);
	mp_kv_str(pk, "mode", "create_new");
	tx(&g);
	snprintf(want, sizeof(want), "write_file %s: File exists", p);
	ck_err(rx(&g), 4, "write_file_result", EEXIST, want);
	/* st_size 0 (procfs): read to EOF anyway */
	mp_kv_str(rq(&g, 5, "read_file", 1), "path",
	    "/proc/sys/kernel/ostype");
	tx(&g);
	ck_bin(mp_get(ok_value(rx(&g), 5, "read_file_result"), "data"),
	    "Linux\n", 6);
	ag_close(&g);
}
END_TEST

/* EOF on the fd: the agent kills what it started, then exits 0. */
START_TEST(eof_kills_children)
{
	struct ag g;
	int64_t pid;
	char path[64], st[512] = "";
	int i;

	ag_start(&g);
	run_async_sh(&g, 2, "exec sleep 60", &pid);
	close(g.fd);
	ck_assert_int_eq(ag_wait(&g), 0);
	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	for (i = 0; i < 200; i++) {
		FILE *f = fopen(path, "r");

		if (f == NULL)
			break;
		if (fgets(st, sizeof(st), f) == NULL)
			st[0] = '\0';
		fclose(f);
		if (strstr(st, ") Z ") != NULL)
			break;
		usleep(10000);
	}
	ck_assert_msg(i < 200, "sleep %lld survived its agent: %s",
	    (long long)pid, st);
	ag_free(&g);
}
END_TEST

static void
find_agent(const char *argv0)
{
	const char *env = getenv("PROVIUM_AGENT");
	char buf[PATH_MAX - 32];

	if (env != NULL && env[0] != '\0') {
		snprintf(agent_path, sizeof(agent_path), "%s", env);
		return;
	}
	snprintf(buf, sizeof(buf), "%s", argv0);
	snprintf(agent_path, sizeof(agent_path), "%s/../bin/provium-agent",
	    dirname(buf));
}

/* The agent runs with a scratch cwd, so its path must not be relative. */
static void
absolutize(void)
{
	char abs[PATH_MAX];

	if (realpath(agent_path, abs) != NULL)
		snprintf(agent_path, sizeof(agent_path), "%s", abs);
}

static void
rm_rf(const char *dir)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

int
main(int argc, char **argv)
{
	Suite *s = suite_create("agent");
	TCase *tc = tcase_create("agent");
	SRunner *sr;
	const char *t = getenv("TMPDIR");
	int nf;

	(void)argc;
	find_agent(argv[0]);
	absolutize();
	if (access(agent_path, X_OK) != 0) {
		fprintf(stderr, "check_agent: %s: %s (build it with `make bins`"
		    " or set PROVIUM_AGENT)\n", agent_path, strerror(errno));
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/check_agent.XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("check_agent: mkdtemp");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, handshake_ok);
	tcase_add_test(tc, handshake_version_mismatch);
	tcase_add_test(tc, op_before_hello);
	tcase_add_test(tc, malformed_frames_keep_serving);
	tcase_add_test(tc, oversize_header_resets);
	tcase_add_test(tc, host_agent_drops_privileges);
	tcase_add_test(tc, output_caps);
	tcase_add_test(tc, cli_args);
	tcase_add_test(tc, exec_forms);
	tcase_add_test(tc, exec_large_output);
	tcase_add_test(tc, long_op_does_not_block_short);
	tcase_add_test(tc, run_async_ops);
	tcase_add_test(tc, proc_stream_and_cancel);
	tcase_add_test(tc, file_handles);
	tcase_add_test(tc, whole_file_and_dir_ops);
	tcase_add_test(tc, tail_file_modes);
	tcase_add_test(tc, syscalls);
	tcase_add_test(tc, workers);
	tcase_add_test(tc, two_concurrent_writers);
	tcase_add_test(tc, batch_ops);
	tcase_add_test(tc, eof_kills_children);
	tcase_add_test(tc, batch_kind_with_nul);
	tcase_add_test(tc, stream_backpressure);
	tcase_add_test(tc, fd_stream_and_worker_streams);
	tcase_add_test(tc, clock_and_misc);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	rm_rf(tmpdir);
	return nf == 0 ? 0 : 1;
}
