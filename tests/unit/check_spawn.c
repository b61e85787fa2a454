/* check_spawn.c: the spawn helper's contract (vm/spawn.h). */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vm/spawn.h"

/* Nothing left to reap: every failed child was reaped by spawn_start. */
static void
assert_no_children(void)
{
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
}

START_TEST(exec_failure_is_reported)
{
	char *argv[] = { (char *)"x", NULL };
	struct spawn_opts o = { .exe = "/nonexistent/prog" };
	char *err = NULL;
	pid_t pid = 0;

	ck_assert_int_eq(spawn_start(argv, &o, &pid, &err), -1);
	ck_assert_str_eq(err, "exec /nonexistent/prog: No such file or directory");
	free(err);
	ck_assert_int_eq(pid, 0);
	assert_no_children();
}
END_TEST

START_TEST(path_lookup_failure_is_reported)
{
	char *argv[] = { (char *)"provium-no-such-program", NULL };
	char *err = NULL;
	pid_t pid;

	ck_assert_int_eq(spawn_start(argv, NULL, &pid, &err), -1);
	ck_assert_str_eq(err, "exec provium-no-such-program: No such file or "
	    "directory");
	free(err);
	assert_no_children();
}
END_TEST

START_TEST(chdir_failure_names_the_dir)
{
	char *argv[] = { (char *)"true", NULL };
	struct spawn_opts o = { .cwd = "/nonexistent/dir" };
	char *err = NULL;
	pid_t pid;

	ck_assert_int_eq(spawn_start(argv, &o, &pid, &err), -1);
	ck_assert_str_eq(err, "chdir /nonexistent/dir: No such file or directory");
	free(err);
	assert_no_children();
}
END_TEST

START_TEST(bad_fd_map_is_refused)
{
	char *argv[] = { (char *)"true", NULL };
	struct spawn_opts o = { .fds = { { 1, SPAWN_PARK_FD } }, .nfds = 1 };
	char *err = NULL;
	pid_t pid;

	ck_assert_int_eq(spawn_start(argv, &o, &pid, &err), -1);
	ck_assert_str_eq(err, "spawn true: cannot map fd 1 to 64 (targets are "
	    "0..63)");
	free(err);
	err = NULL;
	o.nfds = SPAWN_MAX_FDS + 1;
	ck_assert_int_eq(spawn_start(argv, &o, &pid, &err), -1);
	ck_assert_str_eq(err, "spawn true: 9 fds mapped (at most 8)");
	free(err);
	assert_no_children();
}
END_TEST

/* All of fd's contents (the writers are closed). */
static char *
slurp(int fd)
{
	static char buf[4096];
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return buf;
}

START_TEST(fds_and_group)
{
	/* sh reports its process group and writes to fd 3 */
	char *argv[] = { (char *)"sh", (char *)"-c",
	    (char *)"cut -d\" \" -f5 /proc/$$/stat >&3; echo out", NULL };
	struct spawn_opts o = { .exe = "/bin/sh", .new_pgrp = true };
	int p3[2], p1[2], st;
	char *err = NULL;
	pid_t pid;

	ck_assert_int_eq(pipe2(p3, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(p1, O_CLOEXEC), 0);
	/* sources deliberately on the targets' numbers' neighbours */
	o.fds[0] = (struct spawn_fd){ p3[1], 3 };
	o.fds[1] = (struct spawn_fd){ p1[1], 1 };
	o.nfds = 2;
	ck_assert_int_eq(spawn_start(argv, &o, &pid, &err), 0);
	close(p3[1]);
	close(p1[1]);
	st = spawn_wait(pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(atoi(slurp(p3[0])), pid);      /* its own group */
	ck_assert_str_eq(slurp(p1[0]), "out\n");
	close(p3[0]);
	close(p1[0]);
}
END_TEST

/* Two sources that are each other's targets: the map applies at once. */
START_TEST(fd_map_swaps)
{
	char *argv[] = { (char *)"sh", (char *)"-c",
	    (char *)"echo A >&8; echo B >&9", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	int a[2], b[2], st;
	char *err = NULL;
	pid_t pid;

	ck_assert_int_eq(pipe2(a, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(b, O_CLOEXEC), 0);
	/* sh redirects fds 0..9 only: the writers go on 8 and 9 */
	ck_assert_int_eq(dup3(a[0], 40, O_CLOEXEC), 40);
	ck_assert_int_eq(dup3(b[0], 41, O_CLOEXEC), 41);
	ck_assert_int_eq(dup3(a[1], 42, O_CLOEXEC), 42);
	ck_assert_int_eq(dup3(b[1], 43, O_CLOEXEC), 43);
	close(a[0]); close(b[0]); close(a[1]); close(b[1]);
	a[0] = 40;
	b[0] = 41;
	ck_assert_int_eq(dup3(42, 8, O_CLOEXEC), 8);
	ck_assert_int_eq(dup3(43, 9, O_CLOEXEC), 9);
	close(42);
	close(43);
	/* a's writer becomes 9 and b's 8: "A" must land in b, "B" in a */
	o.fds[0] = (struct spawn_fd){ 8, 9 };
	o.fds[1] = (struct spawn_fd){ 9, 8 };
	o.nfds = 2;
	ck_assert_int_eq(spawn_start(argv, &o, &pid, &err), 0);
	close(8);
	close(9);
	st = spawn_wait(pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_str_eq(slurp(a[0]), "B\n");
	ck_assert_str_eq(slurp(b[0]), "A\n");
	close(a[0]);
	close(b[0]);
}
END_TEST

/*
 * The child's open fds, listed from outside while it blocks reading its
 * stdin (cat opens nothing before that read), as "0 1 2 ...".
 */
static void
child_fds(const struct spawn_opts *base, int extra_dst, char *out,
    size_t len)
{
	char *argv[] = { (char *)"cat", NULL };
	struct spawn_opts o = *base;
	char path[64], *err = NULL;
	int in[2], fds[SPAWN_PARK_FD * 2] = { 0 }, n;
	struct dirent *e;
	size_t off = 0;
	DIR *d;
	pid_t pid;

	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	o.fds[o.nfds++] = (struct spawn_fd){ in[0], 0 };
	if (extra_dst >= 0)
		o.fds[o.nfds++] = (struct spawn_fd){ in[0], extra_dst };
	ck_assert_int_eq(spawn_start(argv, &o, &pid, &err), 0);
	close(in[0]);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	ck_assert_ptr_nonnull(d = opendir(path));
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' &&
		    (n = atoi(e->d_name)) < (int)(sizeof(fds) / sizeof(fds[0])))
			fds[n] = 1;
	closedir(d);
	close(in[1]);
	ck_assert_int_eq(spawn_wait(pid), 0);
	out[0] = '\0';
	for (n = 0; n < (int)(sizeof(fds) / sizeof(fds[0])); n++)
		if (fds[n])
			off += (size_t)snprintf(out + off, len - off, "%s%d",
			    off ? " " : "", n);
}

START_TEST(no_fd_leaks)
{
	struct spawn_opts o = SPAWN_OPTS_INIT;
	char got[256], want[32];
	/* not CLOEXEC: only keep_fds lets it through */
	int leak = open("/dev/null", O_RDONLY);

	ck_assert_int_ge(leak, 3);
	o.fds[0] = (struct spawn_fd){ 2, 1 };
	o.nfds = 1;
	child_fds(&o, 7, got, sizeof(got));
	ck_assert_str_eq(got, "0 1 2 7");
	/* (whatever else our own parent leaked to us comes along too) */
	o.keep_fds = true;
	child_fds(&o, -1, got, sizeof(got));
	snprintf(want, sizeof(want), " %d ", leak);
	strcat(got, " ");
	ck_assert_ptr_nonnull(strstr(got, want));
	close(leak);
}
END_TEST

/* SigBlk and SigIgn of the exec'd program, from /proc/self/status. */
START_TEST(signal_mask_and_handlers_reset)
{
	char *argv[] = { (char *)"grep", (char *)"-E",
	    (char *)"^Sig(Blk|Ign)", (char *)"/proc/self/status", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
	unsigned long long blk, ignd;
	sigset_t set, old;
	int p[2], st;
	char *err = NULL;
	pid_t pid;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	sigaction(SIGPIPE, &ign, &old_pipe);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	o.fds[0] = (struct spawn_fd){ p[1], 1 };
	o.nfds = 1;
	ck_assert_int_eq(spawn_start(argv, &o, &pid, &err), 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	close(p[1]);
	st = spawn_wait(pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(sscanf(slurp(p[0]), "SigBlk: %llx SigIgn: %llx", &blk,
	    &ignd), 2);
	ck_assert_uint_eq(blk, 0);
	/*
	 * glibc's own 32 and 33 cannot be set from C and may be SIG_IGN all
	 * along (posix_spawn, e.g. Python's subprocess, ignores them).
	 */
	ck_assert_uint_eq(ignd & ~0x180000000ull, 0);
	close(p[0]);
}
END_TEST

START_TEST(cwd_and_env)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)"pwd; echo $X",
	    NULL };
	char *envp[] = { (char *)"X=from-envp", (char *)"PATH=/usr/bin:/bin",
	    NULL };
	struct spawn_opts o = { .cwd = "/proc", .envp = envp };
	int p[2];
	char *err = NULL;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	o.fds[0] = (struct spawn_fd){ p[1], 1 };
	o.nfds = 1;
	ck_assert_int_eq(spawn_run(argv, &o, &err), 0);
	close(p[1]);
	ck_assert_str_eq(slurp(p[0]), "/proc\nfrom-envp\n");
	close(p[0]);
}
END_TEST

START_TEST(run_describes_the_status)
{
	char *exit3[] = { (char *)"sh", (char *)"-c", (char *)"exit 3", NULL };
	char *killed[] = { (char *)"sh", (char *)"-c", (char *)"kill -9 $$",
	    NULL };
	char *err = NULL;

	ck_assert_int_eq(spawn_run(exit3, NULL, &err), -1);
	ck_assert_str_eq(err, "sh exited with status 3");
	free(err);
	err = NULL;
	ck_assert_int_eq(spawn_run(killed, NULL, &err), -1);
	ck_assert_str_eq(err, "sh killed by signal 9 (Killed)");
	free(err);
	assert_no_children();
}
END_TEST

static int
exit_with(void *arg)
{
	return *(int *)arg;
}

START_TEST(call_runs_fn_in_a_child)
{
	int code = 7;
	char *err = NULL;
	pid_t pid;
	int st;

	ck_assert_int_eq(spawn_call(exit_with, &code, &pid, &err), 0);
	st = spawn_wait(pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("spawn");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, exec_failure_is_reported);
	tcase_add_test(tc, path_lookup_failure_is_reported);
	tcase_add_test(tc, chdir_failure_names_the_dir);
	tcase_add_test(tc, bad_fd_map_is_refused);
	tcase_add_test(tc, fds_and_group);
	tcase_add_test(tc, fd_map_swaps);
	tcase_add_test(tc, no_fd_leaks);
	tcase_add_test(tc, signal_mask_and_handlers_reset);
	tcase_add_test(tc, cwd_and_env);
	tcase_add_test(tc, run_describes_the_status);
	tcase_add_test(tc, call_runs_fn_in_a_child);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
