/* check_fixture_flow.c: build-or-restore protocol and its event guarantees. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/fixture_testdir.h"
#include "fixtures/cache.h"
#include "fixtures/flow.h"
#include "fixtures/util.h"

static char dir[256];
static const char key[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct rec {
	char ev[512];
	int build_fails, restore_fails, builds, restores, lab;
	unsigned build_sleep_ms;
};

static void
ev(struct rec *r, const char *s)
{
	strncat(r->ev, s, sizeof(r->ev) - strlen(r->ev) - 1);
}

static void
on_started(void *c, const char *name)
{
	(void)name;
	ev(c, "started;");
}

static void
on_waiting(void *c, const char *name, const char *held)
{
	char b[128];

	snprintf(b, sizeof(b), "waiting:%s;", held);
	ev(c, b);
}

static void
on_done(void *c, const char *name, uint64_t ns, uint64_t bytes)
{
	char b[64];

	snprintf(b, sizeof(b), "done:%llu;", (unsigned long long)bytes);
	ev(c, b);
}

static void
on_hit(void *c, const char *name)
{
	ev(c, "hit;");
}

static int
do_build(void *c, const char *name, const char *tmp, char **meta, char **err)
{
	struct rec *r = c;
	char p[600];
	FILE *f;

	r->builds++;
	usleep(r->build_sleep_ms * 1000);
	if (r->build_fails) {
		*err = strdup("boom");
		return -1;
	}
	if (r->lab) {
		ck_assert_int_eq(mkdir(tmp, 0755), 0);
		snprintf(p, sizeof(p), "%s/lab.json", tmp);
		f = fopen(p, "w");
		fputs("{\"vms\":[\"a\"]}", f);     /* 13 bytes */
		fclose(f);
		snprintf(p, sizeof(p), "%s/a.snap", tmp);
		tmp = p;
	}
	f = fopen(tmp, "w");
	fputs("QEVM-built-snapshot", f);   /* 19 bytes */
	fclose(f);
	if (!r->lab)
		*meta = strdup("{\"memory_bytes\":268435456}");
	return 0;
}

static int
do_restore(void *c, const char *name, const char *snap, const char *meta,
    char **err)
{
	struct rec *r = c;

	r->restores++;
	if (r->restore_fails > 0) {
		r->restore_fails--;
		*err = strdup("migration stream rejected");
		return -1;
	}
	/* The metadata the build stored comes back with every restore. */
	if (r->lab ? meta != NULL :
	    (meta == NULL || strcmp(meta, "{\"memory_bytes\":268435456}") != 0)) {
		*err = strdup("wrong metadata");
		return -1;
	}
	return 0;
}

static struct fixture_flow_ops ops = { NULL, on_started, on_waiting, on_done,
	on_hit, do_build, do_restore };

static int
get(struct rec *r, const char *test_file, FILE *log, char **err)
{
	struct fixture_flow_ops o = ops;
	struct fixture_flow_req rq = { dir, key, "net/base", test_file, log,
	    r->lab };

	o.ctx = r;
	*err = NULL;
	return fixture_flow_get(&o, &rq, err);
}

static char *
snap_path(void)
{
	static char p[400];

	snprintf(p, sizeof(p), "%s/%s.snap", dir, key);
	return p;
}

static void
setup(void)
{
	testdir_make(dir, sizeof(dir), "check_fixture_flow");
}

static void
teardown(void)
{
	testdir_remove(dir);
}

START_TEST(miss_then_hit)
{
	struct rec r, r2;

	memset(&r, 0, sizeof(r));
	memset(&r2, 0, sizeof(r2));
	char *err;

	ck_assert_int_eq(get(&r, "a.test.lua", NULL, &err), FIXTURE_FLOW_BUILT);
	ck_assert_str_eq(r.ev, "started;done:19;");
	ck_assert_int_eq(r.restores, 1);
	ck_assert_int_eq(get(&r2, "a.test.lua", NULL, &err), FIXTURE_FLOW_HIT);
	ck_assert_str_eq(r2.ev, "hit;");
	ck_assert_int_eq(r2.builds, 0);
}
END_TEST

START_TEST(corrupt_entry_rebuilt_never_hit)
{
	struct rec r = { .ev = "" };
	char *err, *buf = NULL, want[300];
	size_t blen;
	FILE *log = open_memstream(&buf, &blen);
	FILE *f = fopen(snap_path(), "w");

	fputs("QEV", f);
	fclose(f);
	ck_assert_int_eq(get(&r, "a.test.lua", log, &err), FIXTURE_FLOW_BUILT);
	fclose(log);
	ck_assert_str_eq(r.ev, "started;done:19;");
	snprintf(want, sizeof(want), "provium: fixture cache entry `%s` corrupt "
	    "(shorter than a snapshot header); evicting and rebuilding\n", key);
	ck_assert_str_eq(buf, want);
	free(buf);
}
END_TEST

START_TEST(failed_restore_is_corrupt)
{
	struct rec r = { .ev = "" };
	char *err, *buf = NULL, want[300];
	size_t blen;
	FILE *log = open_memstream(&buf, &blen);
	FILE *f = fopen(snap_path(), "w");

	fputs("QEVM-old-snapshot-from-another-qemu", f);
	fclose(f);
	r.restore_fails = 1;
	ck_assert_int_eq(get(&r, "a.test.lua", log, &err), FIXTURE_FLOW_BUILT);
	fclose(log);
	ck_assert_str_eq(r.ev, "started;done:19;");
	ck_assert_int_eq(r.restores, 2);
	snprintf(want, sizeof(want), "provium: fixture cache entry `%s` corrupt "
	    "(migration stream rejected); evicting and rebuilding\n", key);
	ck_assert_str_eq(buf, want);
	free(buf);
}
END_TEST

START_TEST(build_failure_pairs_done_and_leaves_nothing)
{
	struct rec r = { .ev = "" };
	char *err, tmp[420];
	struct stat st;

	r.build_fails = 1;
	ck_assert_int_eq(get(&r, "a.test.lua", NULL, &err), -1);
	ck_assert_str_eq(err, "fixture `net/base`: build failed: boom");
	free(err);
	ck_assert_str_eq(r.ev, "started;done:0;");
	ck_assert_int_ne(stat(snap_path(), &st), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", snap_path());
	ck_assert_int_ne(stat(tmp, &st), 0);
}
END_TEST

START_TEST(restore_of_fresh_build_fails)
{
	struct rec r = { .ev = "" };
	char *err;

	r.restore_fails = 5;
	ck_assert_int_eq(get(&r, "a.test.lua", NULL, &err), -1);
	ck_assert_str_eq(err, "fixture `net/base`: restoring the snapshot just "
	    "built failed: migration stream rejected");
	free(err);
	ck_assert_str_eq(r.ev, "started;done:19;");
}
END_TEST

/*
 * Two files need the fixture at once: A builds (slowly), B waits on A's
 * lock, then restores A's entry.  B's events: waiting (naming A's file),
 * done paired with the wait, then hit; never started.
 */
START_TEST(concurrent_one_builds_one_waits)
{
	int p[2], st;
	pid_t a;
	char *err, buf[512] = "";
	struct rec rb = { .ev = "" };
	ssize_t n;

	ck_assert_int_eq(pipe(p), 0);
	if ((a = fork()) == 0) {
		struct rec ra = { .ev = "" };
		int rc;

		close(p[0]);
		ra.build_sleep_ms = 400;
		rc = get(&ra, "suite/a.test.lua", NULL, &err);
		write(p[1], ra.ev, strlen(ra.ev));
		_exit(rc == FIXTURE_FLOW_BUILT ? 0 : 1);
	}
	close(p[1]);
	usleep(150000);    /* A holds the lock and is building */
	ck_assert_int_eq(get(&rb, "suite/b.test.lua", NULL, &err),
	    FIXTURE_FLOW_HIT);
	ck_assert_str_eq(rb.ev, "waiting:suite/a.test.lua;done:19;hit;");
	ck_assert_int_eq(rb.builds, 0);
	n = read(p[0], buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "started;done:19;");
	ck_assert_int_eq(waitpid(a, &st, 0), a);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	close(p[0]);
}
END_TEST

START_TEST(lab_fixture_entries)
{
	struct rec r = { .lab = 1 }, r2 = { .lab = 1 }, r3 = { .lab = 1 };
	char *err, *buf = NULL, p[400], want[300];
	size_t blen;
	FILE *log;
	struct stat st;

	ck_assert_int_eq(get(&r, "a.test.lua", NULL, &err), FIXTURE_FLOW_BUILT);
	ck_assert_str_eq(r.ev, "started;done:32;");
	snprintf(p, sizeof(p), "%s/%s.lab/lab.json", dir, key);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(get(&r2, "a.test.lua", NULL, &err), FIXTURE_FLOW_HIT);
	ck_assert_str_eq(r2.ev, "hit;");
	/* A truncated per-VM snapshot makes the lab corrupt: rebuilt. */
	snprintf(p, sizeof(p), "%s/%s.lab/a.snap", dir, key);
	ck_assert_int_eq(truncate(p, 2), 0);
	log = open_memstream(&buf, &blen);
	ck_assert_int_eq(get(&r3, "a.test.lua", log, &err), FIXTURE_FLOW_BUILT);
	fclose(log);
	ck_assert_str_eq(r3.ev, "started;done:32;");
	snprintf(want, sizeof(want), "provium: fixture cache entry `%s` corrupt "
	    "(a.snap: shorter than a snapshot header); evicting and rebuilding\n",
	    key);
	ck_assert_str_eq(buf, want);
	free(buf);
	snprintf(p, sizeof(p), "%s/%s.lab.tmp", dir, key);
	ck_assert_int_ne(stat(p, &st), 0);
}
END_TEST

/* The peer's build fails: B closes its wait, then builds itself. */
START_TEST(waiter_builds_when_peer_fails)
{
	pid_t a;
	int st;
	char *err;
	struct rec rb = { .ev = "" };

	if ((a = fork()) == 0) {
		struct rec ra = { .build_fails = 1, .build_sleep_ms = 400 };

		_exit(get(&ra, "suite/a.test.lua", NULL, &err) == -1 &&
		    strcmp(ra.ev, "started;done:0;") == 0 ? 0 : 1);
	}
	usleep(150000);
	ck_assert_int_eq(get(&rb, "suite/b.test.lua", NULL, &err),
	    FIXTURE_FLOW_BUILT);
	ck_assert_str_eq(rb.ev,
	    "waiting:suite/a.test.lua;done:0;started;done:19;");
	ck_assert_int_eq(waitpid(a, &st, 0), a);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("fixture_flow");
	TCase *tc = tcase_create("flow");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, miss_then_hit);
	tcase_add_test(tc, corrupt_entry_rebuilt_never_hit);
	tcase_add_test(tc, failed_restore_is_corrupt);
	tcase_add_test(tc, build_failure_pairs_done_and_leaves_nothing);
	tcase_add_test(tc, restore_of_fresh_build_fails);
	tcase_add_test(tc, concurrent_one_builds_one_waits);
	tcase_add_test(tc, lab_fixture_entries);
	tcase_add_test(tc, waiter_builds_when_peer_fails);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
