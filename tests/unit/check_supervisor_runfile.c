/* check_supervisor_runfile.c: the per-file state machine and its synthesis. */
#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "events/mp.h"
#include "supervisor/runfile.h"

/* Emitted events, one line each: "kind name|path reason". */
static char log_buf[8192];
static int nreq;

static void
rec_emit(void *ctx, struct event *ev)
{
	char line[512];

	(void)ctx;
	snprintf(line, sizeof(line), "%s %s%s%s%s\n", event_kind_name(ev->kind),
	    ev->name ? ev->name : ev->path ? ev->path : "",
	    ev->reason ? ": " : "", ev->reason ? ev->reason : "",
	    ev->status ? ev->status : "");
	strncat(log_buf, line, sizeof(log_buf) - strlen(log_buf) - 1);
}

static int
rec_request(void *ctx, struct runfile *rf, enum rf_request req, uint64_t id,
    struct resource_amount a, const char *what, char *err, size_t errlen)
{
	(void)ctx, (void)id, (void)what;
	if (req == RF_REQ_RELEASE && a.cpus > 100) {
		snprintf(err, errlen, "over-release");
		return -1;
	}
	nreq++;
	if (req == RF_REQ_CLAIM)
		runfile_claim_granted(rf, a, &(struct rf_out){ rec_emit, NULL, NULL });
	return 0;
}

static const struct rf_out out = { rec_emit, rec_request, NULL };

/*
 * Builds a message from a tiny spec: "t" then key/value pairs where a
 * value is "s:text", "u:number", "tests:a,b" (registered list) or "log".
 */
static int
msg(struct runfile *rf, char *err, const char *t, ...)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	const char *kv[16];
	size_t n = 0, i;
	va_list ap;
	int rc;

	va_start(ap, t);
	while ((kv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1 + n / 2);
	mp_kv_str(&pk, "t", t);
	for (i = 0; i + 1 < n; i += 2) {
		const char *v = kv[i + 1];
		mp_str(&pk, kv[i]);
		if (strncmp(v, "s:", 2) == 0) {
			mp_str(&pk, v + 2);
		} else if (strncmp(v, "u:", 2) == 0) {
			msgpack_pack_uint64(&pk, strtoull(v + 2, NULL, 10));
		} else if (strncmp(v, "tests:", 6) == 0) {
			char buf[256], *tok, *save;
			size_t cnt = 0;
			snprintf(buf, sizeof(buf), "%s", v + 6);
			for (const char *c = v + 6; *c; c++)
				cnt += *c == ',';
			msgpack_pack_array(&pk, *(v + 6) ? cnt + 1 : 0);
			for (tok = strtok_r(buf, ",", &save); tok;
			    tok = strtok_r(NULL, ",", &save)) {
				msgpack_pack_map(&pk, 2);
				mp_kv_str(&pk, "name", tok);
				mp_str(&pk, "meta");
				msgpack_pack_map(&pk, 0);
			}
		} else if (strcmp(v, "log") == 0) {
			msgpack_pack_array(&pk, 1);
			mp_str(&pk, "a line");
		}
	}
	msgpack_unpacked_init(&u);
	ck_assert(msgpack_unpack_next(&u, sb.data, sb.size, NULL) ==
	    MSGPACK_UNPACK_SUCCESS);
	err[0] = '\0';
	rc = runfile_handle(rf, &u.data, 1000, &out, err, 256);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void
setup(void)
{
	log_buf[0] = '\0';
	nreq = 0;
}

START_TEST(happy_path)
{
	struct runfile rf;
	char err[256];

	runfile_init(&rf, "f.test.lua");
	runfile_dispatched(&rf, 0);
	ck_assert_int_eq(msg(&rf, err, "hello", "v", "u:1", "pid", "u:9", NULL), 0);
	ck_assert_int_eq(msg(&rf, err, "registered", "tests", "tests:a,b,c", NULL), 0);
	ck_assert_int_eq(msg(&rf, err, "test_started", "name", "s:a", NULL), 0);
	ck_assert_int_eq(msg(&rf, err, "test_passed", "name", "s:a",
	    "duration_ns", "u:5", "log", "log", NULL), 0);
	ck_assert_int_eq(msg(&rf, err, "test_started", "name", "s:b", NULL), 0);
	ck_assert_int_eq(msg(&rf, err, "test_failed", "name", "s:b",
	    "duration_ns", "u:5", "reason", "s:nope", "console_excerpt", "s:",
	    "log", "log", NULL), 0);
	ck_assert_int_eq(msg(&rf, err, "test_started", "name", "s:c", NULL), 0);
	ck_assert_int_eq(msg(&rf, err, "test_skipped", "name", "s:c",
	    "reason", "s:later", "log", "log", NULL), 0);
	ck_assert_int_eq(msg(&rf, err, "done", NULL), 0);
	runfile_finish(&rf, RF_END_EXITED, NULL, 2000, &out);
	ck_assert_str_eq(log_buf,
	    "test_started a\ntest_passed a\n"
	    "test_started b\ntest_failed b: nope\n"
	    "test_started c\ntest_skipped c: later\n"
	    "file_completed f.test.luafailed\n");
	ck_assert_str_eq(rf.status, "failed");
	ck_assert_uint_eq(rf.tests[0].nlog, 1);
	ck_assert_str_eq(rf.tests[0].log[0], "a line");
	runfile_clear(&rf);
}
END_TEST

START_TEST(illegal_messages)
{
	struct runfile rf;
	char err[256];

	runfile_init(&rf, "f.test.lua");
	runfile_dispatched(&rf, 0);
	ck_assert_int_eq(msg(&rf, err, "registered", "tests", "tests:a", NULL), -1);
	ck_assert_str_eq(err, "`registered` not allowed before hello");
	ck_assert_int_eq(msg(&rf, err, "hello", "v", "u:2", NULL), -1);
	ck_assert_str_eq(err, "runner speaks channel version 2, supervisor 1");
	ck_assert_int_eq(msg(&rf, err, "hello", "v", "u:1", NULL), 0);
	ck_assert_int_eq(msg(&rf, err, "hello", "v", "u:1", NULL), -1);
	ck_assert_str_eq(err, "`hello` not allowed before registered");
	ck_assert_int_eq(msg(&rf, err, "whatever", NULL), -1);
	ck_assert_str_eq(err, "unknown message `whatever`");
	ck_assert_int_eq(msg(&rf, err, "done", NULL), -1);
	ck_assert_str_eq(err, "`done` before `registered`");
	ck_assert_int_eq(msg(&rf, err, "registered", "tests", "tests:a,a", NULL), -1);
	ck_assert_str_eq(err, "`registered` lists test `a` twice");
	runfile_clear(&rf);

	runfile_init(&rf, "f.test.lua");
	runfile_dispatched(&rf, 0);
	msg(&rf, err, "hello", "v", "u:1", NULL);
	msg(&rf, err, "registered", "tests", "tests:a,b", NULL);
	ck_assert_int_eq(msg(&rf, err, "test_passed", "name", "s:a",
	    "duration_ns", "u:1", "log", "log", NULL), -1);
	ck_assert_str_eq(err, "`test_passed` not allowed between tests");
	ck_assert_int_eq(msg(&rf, err, "test_started", "name", "s:a", NULL), 0);
	ck_assert_int_eq(msg(&rf, err, "test_passed", "name", "s:b",
	    "duration_ns", "u:1", "log", "log", NULL), -1);
	ck_assert_str_eq(err, "`test_passed` for `b` while `a` runs");
	ck_assert_int_eq(msg(&rf, err, "test_passed", "name", "s:a", NULL), -1);
	ck_assert_str_eq(err, "message needs an unsigned integer `duration_ns`");
	ck_assert_int_eq(msg(&rf, err, "done", NULL), -1);
	ck_assert_str_eq(err, "`done` not allowed in a test");
	ck_assert_int_eq(msg(&rf, err, "vm_shutdown", "cid", "u:4",
	    "duration_ns", "u:1", NULL), -1);
	ck_assert_str_eq(err, "`vm_shutdown` for cid 4, which is not running");
	ck_assert_int_eq(msg(&rf, err, "fixture_build_done", "path", "s:x",
	    "duration_ns", "u:1", "snapshot_bytes", "u:1", NULL), -1);
	ck_assert_str_eq(err, "`fixture_build_done` for `x`, which is not building");
	runfile_clear(&rf);
}
END_TEST

START_TEST(crash_synthesis)
{
	struct runfile rf;
	char err[256];

	runfile_init(&rf, "f.test.lua");
	runfile_dispatched(&rf, 0);
	msg(&rf, err, "hello", "v", "u:1", NULL);
	msg(&rf, err, "registered", "tests", "tests:a,b,c", NULL);
	ck_assert_int_eq(msg(&rf, err, "claim", "id", "u:1", "memory_bytes",
	    "u:10", "cpus", "u:1", NULL), 0);
	ck_assert_int_eq(msg(&rf, err, "claim", "id", "u:2", "memory_bytes",
	    "u:10", "cpus", "u:1", NULL), -1);
	ck_assert_str_eq(err, "second `claim` (a file claims once)");
	ck_assert_int_eq(msg(&rf, err, "release", "memory_bytes", "u:1",
	    "cpus", "u:101", NULL), -1);
	ck_assert_str_eq(err, "over-release");
	msg(&rf, err, "vm_spawned", "lab", "s:provium", "vm_name", "s:v",
	    "profile", "s:p", "memory_bytes", "u:1", "cid", "u:100", NULL);
	msg(&rf, err, "fixture_build_started", "path", "s:fx", NULL);
	msg(&rf, err, "test_started", "name", "s:a", NULL);
	msg(&rf, err, "test_passed", "name", "s:a", "duration_ns", "u:1",
	    "log", "log", NULL);
	msg(&rf, err, "test_started", "name", "s:b", NULL);
	log_buf[0] = '\0';
	runfile_finish(&rf, RF_END_CRASHED, "runner crashed: killed by SIGSEGV",
	    5000, &out);
	ck_assert_str_eq(log_buf,
	    "test_failed b: runner crashed: killed by SIGSEGV\n"
	    "test_started c\n"
	    "test_failed c: failed-due-to-poisoned-state (runner crashed: "
	    "killed by SIGSEGV)\n"
	    "vm_shutdown v\n"
	    "fixture_build_done fx\n"
	    "claim_released f.test.lua\n"
	    "file_completed f.test.luacrashed\n");
	ck_assert_ptr_null(rf.chunk_error);      /* carried by the tests */
	ck_assert_uint_eq(rf.nfailed, 2);
	ck_assert_uint_eq(nreq, 1);
	/* finishing twice emits nothing */
	log_buf[0] = '\0';
	runfile_finish(&rf, RF_END_CRASHED, "again", 6000, &out);
	ck_assert_str_eq(log_buf, "");
	runfile_clear(&rf);
}
END_TEST

START_TEST(before_registered)
{
	struct runfile rf;
	char err[256];

	runfile_init(&rf, "f.test.lua");
	runfile_dispatched(&rf, 0);
	msg(&rf, err, "hello", "v", "u:1", NULL);
	runfile_finish(&rf, RF_END_TIMED_OUT, "file timeout exceeded (1s)", 10, &out);
	ck_assert_str_eq(log_buf, "file_completed f.test.luatimed_out\n");
	ck_assert_str_eq(rf.status, "timed_out");
	runfile_clear(&rf);

	setup();
	runfile_init(&rf, "g.test.lua");
	runfile_finish(&rf, RF_END_NOT_RUN, "not run: interrupted (SIGINT)", 10, &out);
	ck_assert_str_eq(log_buf, "file_completed g.test.luacrashed\n");
	ck_assert_str_eq(rf.chunk_error, "not run: interrupted (SIGINT)");
	runfile_clear(&rf);
}
END_TEST

START_TEST(wait_text)
{
	char b[128];

	runfile_describe_wait(SIGSEGV, false, b, sizeof(b));    /* W_TERMSIG */
	ck_assert_str_eq(b, "runner crashed: killed by SIGSEGV");
	runfile_describe_wait(3 << 8, false, b, sizeof(b));
	ck_assert_str_eq(b, "runner crashed: exited with status 3");
	runfile_describe_wait(0, false, b, sizeof(b));
	ck_assert_str_eq(b, "runner crashed: exited with status 0 before `done`");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("supervisor_runfile");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, happy_path);
	tcase_add_test(tc, illegal_messages);
	tcase_add_test(tc, crash_synthesis);
	tcase_add_test(tc, before_registered);
	tcase_add_test(tc, wait_text);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
