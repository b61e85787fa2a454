/* check_junit.c: JUnit XML for a small run, interrupted runs, escaping,
 * the atomic write, and writes that fail. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events/junit.h"
#include "evtest.h"

static void
feed(struct junit *j, enum event_kind k, const char *path, const char *name)
{
	struct event e = ev_mk(k, path, name);

	if (k == EVENT_TEST_PASSED || k == EVENT_TEST_FAILED)
		e.duration_ns = 1500000000;
	if (k == EVENT_TEST_FAILED) {
		free(e.reason);
		e.reason = strdup("want 1, got \"2\" & \x01");
		free(e.console_excerpt);
		e.console_excerpt = strdup("<oops>\xff");
	}
	if (k == EVENT_FILE_COMPLETED) {
		free(e.status);
		e.status = strdup(EVENT_STATUS_TIMED_OUT);
		e.duration_ns = 2000000000;
	}
	ck_assert_int_eq(junit_feed(j, &e), 0);
	event_clear(&e);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_gt(fread(buf, 1, (1 << 16) - 1, f), 0);
	fclose(f);
	return buf;
}

START_TEST(test_run_and_interrupt)
{
	char dir[] = "/tmp/junit-XXXXXX", path[64], err[256], *xml;
	struct junit *j;
	DIR *d;
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.xml", dir);
	ck_assert_ptr_null(junit_open("/nonexistent/dir/r.xml", err, sizeof(err)));
	ck_assert_str_eq(err, "/nonexistent/dir/r.xml: directory "
	    "/nonexistent/dir does not exist");
	j = junit_open(path, err, sizeof(err));
	ck_assert_ptr_nonnull(j);
	feed(j, EVENT_FILE_DISCOVERED, "a", NULL);
	feed(j, EVENT_FILE_DISCOVERED, "b", NULL);
	feed(j, EVENT_FILE_DISCOVERED, "c", NULL);
	feed(j, EVENT_FILE_DISPATCHED, "a", NULL);
	feed(j, EVENT_TEST_STARTED, "a", "ok");
	feed(j, EVENT_TEST_PASSED, "a", "ok");
	feed(j, EVENT_TEST_STARTED, "a", "bad");
	feed(j, EVENT_TEST_FAILED, "a", "bad");
	feed(j, EVENT_TEST_STARTED, "a", "hung");
	feed(j, EVENT_FILE_COMPLETED, "a", NULL);
	feed(j, EVENT_FILE_DISPATCHED, "b", NULL);
	/* Ctrl-C now: b in flight, c never dispatched */
	ck_assert_int_eq(junit_write(j, true, err, sizeof(err)), 0);
	xml = slurp(path);
	ck_assert_str_eq(xml,
"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
"<testsuites name=\"provium\" tests=\"6\" failures=\"1\" errors=\"3\" skipped=\"1\" time=\"0.010\">\n"
"  <testsuite name=\"a\" tests=\"4\" failures=\"1\" errors=\"2\" skipped=\"0\" time=\"2.000\" timestamp=\"2023-11-14T22:13:20\">\n"
"    <testcase name=\"ok\" classname=\"a\" time=\"1.500\"/>\n"
"    <testcase name=\"bad\" classname=\"a\" time=\"1.500\">\n"
"      <failure message=\"want 1, got &quot;2&quot; &amp; \xef\xbf\xbd\" type=\"failure\">want 1, got &quot;2&quot; &amp; \xef\xbf\xbd</failure>\n"
"      <system-out>&lt;oops&gt;\xef\xbf\xbd</system-out>\n"
"    </testcase>\n"
"    <testcase name=\"hung\" classname=\"a\" time=\"0.000\">\n"
"      <error message=\"test did not finish (file timed_out)\" type=\"timed_out\"/>\n"
"    </testcase>\n"
"    <testcase name=\"(file timed_out)\" classname=\"a\" time=\"2.000\">\n"
"      <error message=\"file timed_out after 2.000s\" type=\"timed_out\"/>\n"
"    </testcase>\n"
"  </testsuite>\n"
"  <testsuite name=\"b\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0.000\" timestamp=\"2023-11-14T22:13:20\">\n"
"    <testcase name=\"(file interrupted)\" classname=\"b\" time=\"0.000\">\n"
"      <error message=\"file interrupted\" type=\"interrupted\"/>\n"
"    </testcase>\n"
"  </testsuite>\n"
"  <testsuite name=\"c\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\" time=\"0.000\" timestamp=\"2023-11-14T22:13:20\">\n"
"    <testcase name=\"(file not run)\" classname=\"c\" time=\"0.000\">\n"
"      <skipped message=\"not run: the run was interrupted\"/>\n"
"    </testcase>\n"
"  </testsuite>\n"
"</testsuites>\n");
	free(xml);
	/* rewritable; only r.xml in the directory (no temp left) */
	ck_assert_int_eq(junit_write(j, false, err, sizeof(err)), 0);
	d = opendir(dir);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			ck_assert_str_eq(de->d_name, "r.xml");
			n++;
		}
	closedir(d);
	ck_assert_int_eq(n, 1);
	junit_close(j);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* Refused paths name themselves; a write to a full device fails and says
 * so (tests/records: a full tmpfs leaves the previous file as it was). */
START_TEST(test_failing_paths)
{
	char dir[] = "/tmp/junit-XXXXXX", path[64], err[256], *xml;
	struct junit *j;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(junit_check_path(dir, err, sizeof(err)), -1);
	ck_assert_str_eq(strchr(err, ':'), ": is a directory; give a file name");
	ck_assert_ptr_null(junit_open(dir, err, sizeof(err)));
	ck_assert_int_eq(junit_check_path("/dev/full", err, sizeof(err)), 0);
	j = junit_open("/dev/full", err, sizeof(err));
	ck_assert_ptr_nonnull(j);
	feed(j, EVENT_FILE_DISCOVERED, "a", NULL);
	ck_assert_int_eq(junit_write(j, false, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/dev/full: writing failed (No space left on "
	    "device); the XML written there is incomplete");
	junit_close(j);
	/* PATH became a directory during the run: said, then rewritable */
	snprintf(path, sizeof(path), "%s/r.xml", dir);
	j = junit_open(path, err, sizeof(err));
	ck_assert_ptr_nonnull(j);
	feed(j, EVENT_FILE_DISCOVERED, "a", NULL);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(junit_write(j, false, err, sizeof(err)), -1);
	ck_assert_str_eq(strchr(err, ':'), ": Is a directory");
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(junit_write(j, false, err, sizeof(err)), 0);
	xml = slurp(path);
	ck_assert_ptr_nonnull(strstr(xml, "<testsuite name=\"a\""));
	free(xml);
	junit_close(j);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);     /* nothing else was left */
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("junit");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, test_run_and_interrupt);
	tcase_add_test(tc, test_failing_paths);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
