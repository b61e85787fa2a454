/* check_covrun.c: --coverage scratch file ownership and the post-run call. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/covrun.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/covrun-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	setenv("TMPDIR", dir, 1);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_owned_scratch_file)
{
	struct covrun c;
	char err[256], want[256], buf[64];
	int fd;
	ssize_t n;

	fd = covrun_open(&c, NULL, err, sizeof(err));
	ck_assert_int_ge(fd, 0);
	snprintf(want, sizeof(want), "%s/provium-coverage-%d.msgpack", dir,
	    (int)getpid());
	ck_assert_str_eq(c.path, want);
	close(fd);
	fd = open(c.marker, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "provium %d\n", (int)getpid());
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(covrun_report(&c, "true", err, sizeof(err)), 0);
	ck_assert_int_eq(covrun_report(&c, "false", err, sizeof(err)), 1);
	ck_assert_int_eq(covrun_report(&c, "/nonexistent/provium-coverage", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "--coverage: exec /nonexistent/provium-coverage: "
	    "No such file or directory (is provium-coverage installed next to "
	    "provium?)");
	covrun_cleanup(&c);
	ck_assert_int_eq(access(c.path, F_OK), -1);
	ck_assert_int_eq(access(c.marker, F_OK), -1);
	covrun_cleanup(&c);     /* idempotent */
}
END_TEST

START_TEST(test_never_deletes_what_it_does_not_own)
{
	struct covrun c;
	char err[256];
	int fd;

	/* --save-events: the user's file */
	ck_assert_int_eq(covrun_open(&c, "mine.msgpack", err, sizeof(err)),
	    COVRUN_USE_SAVED);
	ck_assert_str_eq(c.path, "mine.msgpack");
	covrun_cleanup(&c);
	/* a marker naming another pid: left alone */
	fd = covrun_open(&c, NULL, err, sizeof(err));
	close(fd);
	fd = open(c.marker, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, "provium 1\n", 10), 10);
	close(fd);
	covrun_cleanup(&c);
	ck_assert_int_eq(access(c.path, F_OK), 0);
	ck_assert_int_eq(access(c.marker, F_OK), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("covrun");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int nf;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_owned_scratch_file);
	tcase_add_test(tc, test_never_deletes_what_it_does_not_own);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
