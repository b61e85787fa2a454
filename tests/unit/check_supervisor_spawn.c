/* check_supervisor_spawn.c: the spawn helper's contract. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor/spawn.h"

START_TEST(exec_failure_is_reported)
{
	char *argv[] = { (char *)"x", NULL };
	struct sup_spawn_req req = { .path = "/nonexistent/prog", .argv = argv };
	char err[256];
	pid_t pid = 0;

	ck_assert_int_eq(sup_spawn_start(&req, &pid, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "exec /nonexistent/prog: No such file or directory");
	/* the failed child was reaped by sup_spawn_start */
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
}
END_TEST

START_TEST(fds_and_group)
{
	/* sh reports its process group and writes to fd 3 */
	char *argv[] = { (char *)"sh", (char *)"-c",
	    (char *)"cut -d\" \" -f5 /proc/$$/stat >&3; echo out", NULL };
	struct sup_spawn_req req = { .path = "/bin/sh", .argv = argv,
	    .new_pgroup = true };
	int p3[2], p1[2], st;
	char buf[64];
	ssize_t n;
	pid_t pid;
	char err[256];

	ck_assert_int_eq(pipe2(p3, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(p1, O_CLOEXEC), 0);
	/* sources deliberately on the targets' numbers' neighbours */
	req.fds[0] = (struct sup_spawn_fd){ p3[1], 3 };
	req.fds[1] = (struct sup_spawn_fd){ p1[1], 1 };
	req.nfds = 2;
	ck_assert_int_eq(sup_spawn_start(&req, &pid, err, sizeof(err)), 0);
	close(p3[1]);
	close(p1[1]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	n = read(p3[0], buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_int_eq(atoi(buf), pid);       /* its own group */
	n = read(p1[0], buf, sizeof(buf) - 1);
	ck_assert_int_eq(n, 4);
	ck_assert(memcmp(buf, "out\n", 4) == 0);
	close(p3[0]);
	close(p1[0]);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("supervisor_spawn");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, exec_failure_is_reported);
	tcase_add_test(tc, fds_and_group);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
