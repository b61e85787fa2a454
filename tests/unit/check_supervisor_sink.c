/* check_supervisor_sink.c: event sinks append frames; a failing sink is dropped. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events/frame.h"
#include "events/proto.h"
#include "supervisor/sink.h"

static char dir[] = "/tmp/check_sink.XXXXXX";

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char p[64];

	snprintf(p, sizeof(p), "%s/ev", dir);
	unlink(p);
	rmdir(dir);
	strcpy(dir, "/tmp/check_sink.XXXXXX");
}

START_TEST(file_sink_appends)
{
	char p[64], err[256];
	struct sink_set set = { .n = 0 };
	uint8_t *body;
	size_t len;
	struct stat st;
	int fd, round;

	snprintf(p, sizeof(p), "%s/ev", dir);
	for (round = 0; round < 2; round++) {
		struct sink *s = sink_file_open(p, err, sizeof(err));
		ck_assert_ptr_nonnull(s);
		ck_assert_int_eq(sink_set_add(&set, s), 0);
		sink_set_write(&set, "\x81\xa1k\x01", 4, NULL);    /* {k: 1} */
		sink_set_close(&set);
	}
	ck_assert_int_eq(stat(p, &st), 0);
	{
		mode_t um = umask(0);
		umask(um);
		ck_assert_int_eq(st.st_mode & 0777, 0644 & ~um);
	}
	ck_assert_int_eq(st.st_size, 16);
	fd = open(p, O_RDONLY);
	ck_assert_int_eq(frame_read(fd, FRAME_MAX_EVENT, &body, &len), FRAME_OK);
	ck_assert_uint_eq(len, 4);
	free(body);
	ck_assert_int_eq(frame_read(fd, FRAME_MAX_EVENT, &body, &len), FRAME_OK);
	free(body);
	ck_assert_int_eq(frame_read(fd, FRAME_MAX_EVENT, &body, &len), FRAME_EOF);
	close(fd);
}
END_TEST

START_TEST(unopenable_file)
{
	char err[256];

	ck_assert_ptr_null(sink_file_open("/nonexistent/dir/ev", err, sizeof(err)));
	ck_assert_str_eq(err, "--save-events /nonexistent/dir/ev: No such file "
	    "or directory");
}
END_TEST

START_TEST(failing_sink_dropped)
{
	struct sink_set set = { .n = 0 };
	int p[2];
	struct sink *s;

	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);                    /* writes now fail with EPIPE */
	signal(SIGPIPE, SIG_IGN);
	s = sink_fd_new(p[1], "--events-stdout");
	ck_assert_int_eq(sink_set_add(&set, s), 0);
	sink_set_write(&set, "\x80", 1, NULL);
	ck_assert_uint_eq(set.n, 0);
	close(p[1]);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("supervisor_sink");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, file_sink_appends);
	tcase_add_test(tc, unopenable_file);
	tcase_add_test(tc, failing_sink_dropped);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
