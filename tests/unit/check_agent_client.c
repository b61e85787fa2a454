/*
 * check_agent_client.c: the runner's agent client against the real
 * provium-agent (started through the local backend, so vm/local.c is
 * exercised too), plus a scripted fake peer for the error paths a real
 * agent never takes (version mismatch, wrong reply kind, garbage).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events/frame.h"
#include "events/mp.h"
#include "events/proto.h"
#include "vm/agent_client.h"
#include "vm/vmm.h"

static struct vmm_vm *vm;
static struct ac *c;

/* build/tests/check_x -> build/bin/provium-agent, unless set. */
static void
find_agent(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 32], *slash;
	ssize_t n;

	if (getenv("PROVIUM_AGENT") != NULL)
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/../bin/provium-agent", exe);
	setenv("PROVIUM_AGENT", path, 1);
}

static void
boot(void)
{
	struct vmm_boot_opts o = { .vm_name = "unit", .cid = 100 };
	char *err = NULL;

	find_agent();
	ck_assert_msg(vmm_boot(VMM_BACKEND_LOCAL, &o, &vm, &err) == 0, "%s",
	    err);
	c = ac_new(vmm_agent_fd(vm));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(ac_hello(c, ac_now_ms() + 5000, NULL, NULL, &err), AC_OK);
}

static void
teardown(void)
{
	ac_free(c);
	c = NULL;
	vmm_destroy(vm, 1000);
	vm = NULL;
}

/* Sends {kind, data: {path: p}} and returns the request id. */
static uint64_t
send_path(const char *kind, const char *path)
{
	struct ac_req q;
	char *err = NULL;
	uint64_t id;

	ac_req_begin(c, &q, kind);
	msgpack_pack_map(&q.pk, 1);
	mp_kv_str(&q.pk, "path", path);
	ck_assert_int_eq(ac_req_send(c, &q, &err), AC_OK);
	id = q.id;
	ac_req_done(&q);
	return id;
}

static uint64_t
send_exec(const char *cmd)
{
	struct ac_req q;
	char *err = NULL;
	uint64_t id;

	ac_req_begin(c, &q, "exec");
	msgpack_pack_map(&q.pk, 2);
	mp_kv_str(&q.pk, "cmd", cmd);
	mp_kv_bool(&q.pk, "shell", true);
	ck_assert_int_eq(ac_req_send(c, &q, &err), AC_OK);
	id = q.id;
	ac_req_done(&q);
	return id;
}

START_TEST(hello_reports_agent)
{
	boot();
	ck_assert_str_eq(ac_agent_os(c), "linux");
	ck_assert_str_eq(ac_agent_version(c), PROVIUM_VERSION);
	ck_assert_int_gt((int)strlen(ac_agent_kernel(c)), 0);
	ck_assert_ptr_null(ac_dead_reason(c));
	teardown();
}
END_TEST

START_TEST(os_error_and_agent_error)
{
	struct ac_reply r;
	struct ac_req q;
	char *err = NULL;
	uint64_t id;

	boot();
	id = send_path("stat", "/nonexistent-provium");
	ck_assert_int_eq(ac_wait(c, id, "stat", ac_now_ms() + 5000, &r, &err),
	    AC_OS_ERROR);
	ck_assert_int_eq(r.os_errno, ENOENT);
	ck_assert_str_eq(err, "stat /nonexistent-provium: No such file or "
	    "directory");
	free(err);
	ac_reply_free(&r);

	ac_req_begin(c, &q, "frobnicate");
	msgpack_pack_map(&q.pk, 0);
	ck_assert_int_eq(ac_call(c, &q, ac_now_ms() + 5000, &r, &err),
	    AC_AGENT_ERROR);
	ac_req_done(&q);
	ck_assert_str_eq(r.agent_kind, "unknown_kind");
	ck_assert_str_eq(err, "agent error (unknown_kind): unknown request "
	    "kind `frobnicate`");
	free(err);
	ac_reply_free(&r);
	teardown();
}
END_TEST

START_TEST(many_in_flight_out_of_order)
{
	struct ac_reply r;
	char *err = NULL;
	const char *p;
	size_t n;
	uint64_t slow, fast;
	int64_t t0;

	boot();
	slow = send_exec("sleep 0.3; echo slow");
	fast = send_path("stat", "/");
	t0 = ac_now_ms();
	ck_assert_int_eq(ac_wait(c, fast, "stat", t0 + 5000, &r, &err), AC_OK);
	ck_assert_int_lt(ac_now_ms() - t0, 250);  /* not behind the exec */
	ck_assert_int_eq(mp_get_str(r.value, "entry_type", &p, &n), 0);
	ck_assert_int_eq((int)n, 9);
	ck_assert(memcmp(p, "directory", 9) == 0);
	ac_reply_free(&r);
	ck_assert_int_eq(ac_wait(c, slow, "exec", ac_now_ms() + 5000, &r, &err),
	    AC_OK);
	ck_assert_int_eq(mp_get_bin(r.value, "stdout", &p, &n), 0);
	ck_assert_int_eq((int)n, 5);
	ck_assert(memcmp(p, "slow\n", 5) == 0);
	ac_reply_free(&r);
	teardown();
}
END_TEST

START_TEST(timeout_then_late_reply_dropped)
{
	struct ac_reply r;
	char *err = NULL;
	uint64_t id;

	boot();
	id = send_exec("sleep 0.2");
	ck_assert_int_eq(ac_wait(c, id, "exec", ac_now_ms() + 20, &r, &err),
	    AC_TIMEOUT);
	ck_assert_str_eq(err, "timed out waiting for the agent's answer to "
	    "`exec`");
	free(err);
	ac_abandon(c, id);
	id = send_exec("echo after");
	ck_assert_int_eq(ac_wait(c, id, "exec", ac_now_ms() + 5000, &r, &err),
	    AC_OK);
	ac_reply_free(&r);
	teardown();
}
END_TEST

START_TEST(stream_subscription)
{
	char path[] = "/tmp/provium-check-ac-XXXXXX", *out = NULL, *err = NULL;
	struct ac_req q;
	struct ac_reply r;
	bool eof;
	size_t n;
	int fd;
	uint64_t sid;

	boot();
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "old\n", 4), 4);
	ac_req_begin(c, &q, "tail_file");
	msgpack_pack_map(&q.pk, 2);
	mp_kv_str(&q.pk, "path", path);
	mp_kv_str(&q.pk, "start", "beginning");
	sid = q.id;
	ck_assert_int_eq(ac_call(c, &q, ac_now_ms() + 5000, &r, &err), AC_OK);
	ac_req_done(&q);
	ac_reply_free(&r);
	ck_assert_int_eq(ac_stream_add(c, sid), 0);
	ck_assert_int_eq(ac_stream_read(c, sid, 2, ac_now_ms() + 5000, &out, &n,
	    &eof, &err), AC_OK);
	ck_assert_int_eq((int)n, 2);
	ck_assert(memcmp(out, "ol", 2) == 0);
	free(out);
	ck_assert_int_eq(ac_stream_read(c, sid, 100, ac_now_ms() + 5000, &out,
	    &n, &eof, &err), AC_OK);
	ck_assert_int_eq((int)n, 2);
	free(out);
	ck_assert_int_eq(ac_stream_read(c, sid, 100, ac_now_ms() + 60, &out, &n,
	    &eof, &err), AC_TIMEOUT);
	ck_assert_int_eq(write(fd, "new", 3), 3);
	ck_assert_int_eq(ac_stream_read(c, sid, 100, ac_now_ms() + 5000, &out,
	    &n, &eof, &err), AC_OK);
	ck_assert_int_eq((int)n, 3);
	free(out);
	ck_assert_int_eq(ac_stream_cancel(c, sid, ac_now_ms() + 5000, &err),
	    AC_OK);
	close(fd);
	unlink(path);
	teardown();
}
END_TEST

START_TEST(agent_killed_mid_request)
{
	struct ac_reply r;
	char *err = NULL;
	uint64_t id;

	boot();
	id = send_exec("sleep 5");
	kill(vmm_pid(vm), SIGKILL);
	ck_assert_int_eq(ac_wait(c, id, "exec", ac_now_ms() + 5000, &r, &err),
	    AC_DEAD);
	ck_assert_str_eq(err, "agent connection lost: the agent closed the "
	    "connection");
	free(err);
	err = NULL;
	/* Later calls fail at once with the same reason. */
	ck_assert_int_eq(ac_hello(c, -1, NULL, NULL, &err), AC_DEAD);
	ck_assert_str_eq(err, "agent connection lost: the agent closed the "
	    "connection");
	free(err);
	while (!vmm_exited(vm))
		usleep(1000);
	err = vmm_boot_failed(vm, "why");
	ck_assert_msg(strstr(err, "killed by signal 9") != NULL, "%s", err);
	free(err);
	teardown();
}
END_TEST

/* ---- scripted peer ---------------------------------------------------- */

static int peer_fd;

/* Reads one request and answers with kind/data built by fn. */
static void
peer_reply(const char *kind, int variant)
{
	uint8_t *body;
	size_t len;
	msgpack_unpacked u;
	const msgpack_object *m;
	uint64_t id = 0;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	ck_assert_int_eq(frame_read(peer_fd, FRAME_MAX_AGENT, &body, &len),
	    FRAME_OK);
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(frame_decode(body, len, &u, &m), FRAME_OK);
	mp_get_u64(m, "id", &id);
	msgpack_unpacked_destroy(&u);
	free(body);
	if (variant == 2) {   /* not msgpack at all */
		ck_assert_int_eq(frame_write(peer_fd, "\xc1\xc1", 2, 16),
		    FRAME_OK);
		return;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	mp_kv_u64(&pk, "id", id);
	mp_kv_str(&pk, "kind", kind);
	mp_str(&pk, "data");
	if (variant == 1) {
		msgpack_pack_map(&pk, 2);
		mp_kv_u64(&pk, "host_version", PROTOCOL_VERSION);
		mp_kv_u64(&pk, "agent_version", 99);
	} else {
		msgpack_pack_map(&pk, 2);
		mp_kv_str(&pk, "outcome", "ok");
		mp_kv_nil(&pk, "value");
	}
	ck_assert_int_eq(frame_write_sbuf(peer_fd, &sb, FRAME_MAX_AGENT),
	    FRAME_OK);
	msgpack_sbuffer_destroy(&sb);
}

static void
pair(void)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	peer_fd = sv[1];
	c = ac_new(sv[0]);
}

START_TEST(version_mismatch)
{
	char *err = NULL;
	pid_t pid;

	pair();
	if ((pid = fork()) == 0) {
		peer_reply("hello_err", 1);
		_exit(0);
	}
	ck_assert_int_eq(ac_hello(c, ac_now_ms() + 5000, NULL, NULL, &err), AC_VERSION);
	ck_assert_str_eq(err, "agent protocol version mismatch (host: 1, "
	    "agent: 99); rebuild provium-agent (or the guest image) from this "
	    "provium");
	free(err);
	waitpid(pid, NULL, 0);
	ac_free(c);
}
END_TEST

START_TEST(unexpected_kind_and_garbage)
{
	struct ac_req q;
	struct ac_reply r;
	char *err = NULL;
	pid_t pid;

	pair();
	if ((pid = fork()) == 0) {
		peer_reply("read_result", 0);
		peer_reply("x", 2);
		_exit(0);
	}
	ac_req_begin(c, &q, "stat");
	msgpack_pack_map(&q.pk, 0);
	ck_assert_int_eq(ac_call(c, &q, ac_now_ms() + 5000, &r, &err),
	    AC_PROTOCOL);
	ac_req_done(&q);
	ck_assert_str_eq(err, "unexpected agent message: expected "
	    "`stat_result`, got `read_result`");
	free(err);
	ac_reply_free(&r);
	ac_req_begin(c, &q, "stat");
	msgpack_pack_map(&q.pk, 0);
	ck_assert_int_eq(ac_call(c, &q, ac_now_ms() + 5000, &r, &err), AC_DEAD);
	ac_req_done(&q);
	ck_assert_str_eq(err, "agent connection lost: agent sent a malformed "
	    "frame");
	free(err);
	ac_reply_free(&r);
	waitpid(pid, NULL, 0);
	ac_free(c);
}
END_TEST

START_TEST(local_backend_errors)
{
	struct vmm_boot_opts o = { .vm_name = "x", .cid = 101 };
	struct vmm_vm *v = NULL;
	char *err = NULL;

	setenv("PROVIUM_AGENT", "/nonexistent/provium-agent", 1);
	ck_assert_int_eq(vmm_boot(VMM_BACKEND_LOCAL, &o, &v, &err), -1);
	ck_assert_str_eq(err, "vmm local: $PROVIUM_AGENT=/nonexistent/"
	    "provium-agent is not executable: No such file or directory");
	free(err);
	unsetenv("PROVIUM_AGENT");
	boot();
	ck_assert_int_eq(vmm_pause(vm, &err), -1);
	ck_assert_str_eq(err, "vmm local: pause is not supported (no real VM; "
	    "use --vmm qemu)");
	free(err);
	ck_assert_int_eq(vmm_snapshot(vm, "/tmp/x", &err), -1);
	ck_assert_str_eq(err, "vmm local: snapshot is not supported (no real "
	    "VM; use --vmm qemu)");
	free(err);
	ck_assert_uint_eq(vmm_caps(vm), 0);
	ck_assert_uint_eq(vmm_cid(vm), 100);
	teardown();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("agent_client");
	TCase *tc = tcase_create("real agent");
	TCase *tf = tcase_create("fake peer");
	SRunner *sr;
	int nf;

	signal(SIGPIPE, SIG_IGN);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, hello_reports_agent);
	tcase_add_test(tc, os_error_and_agent_error);
	tcase_add_test(tc, many_in_flight_out_of_order);
	tcase_add_test(tc, timeout_then_late_reply_dropped);
	tcase_add_test(tc, stream_subscription);
	tcase_add_test(tc, agent_killed_mid_request);
	tcase_add_test(tc, local_backend_errors);
	tcase_add_test(tf, version_mismatch);
	tcase_add_test(tf, unexpected_kind_and_garbage);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tf);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
