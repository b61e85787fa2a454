/*
 * check_privs.c: capability drop (runner/privs.c) and private scratch
 * directories (overlay_private_dir).  Check forks each test, so dropping
 * this process's capabilities stays inside the test.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner/privs.h"
#include "vm/overlay.h"

static bool
have_setpcap(void)
{
	struct privs_state st;

	ck_assert_int_eq(privs_read(0, &st), 0);
	return (st.eff >> CAP_SETPCAP) & 1;
}

START_TEST(drop_all)
{
	struct privs_state st;
	bool root = have_setpcap();
	char *err = NULL;

	ck_assert_int_eq(privs_drop(NULL, 0, &err), 0);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(privs_read(0, &st), 0);
	ck_assert_uint_eq(st.eff, 0);
	ck_assert_uint_eq(st.prm, 0);
	ck_assert_uint_eq(st.inh, 0);
	ck_assert_uint_eq(st.amb, 0);
	ck_assert(st.no_new_privs);
	if (root)
		ck_assert_uint_eq(st.bnd, 0);
	/* What we exec stays at zero, even as uid 0. */
	{
		int p[2], status;
		char buf[4096];
		ssize_t n;

		ck_assert_int_eq(pipe(p), 0);
		pid_t pid = fork();
		if (pid == 0) {
			dup2(p[1], 1);
			execl("/bin/grep", "grep", "^CapPrm", "/proc/self/status",
			    (char *)NULL);
			_exit(127);
		}
		close(p[1]);
		n = read(p[0], buf, sizeof(buf) - 1);
		ck_assert_int_gt(n, 0);
		buf[n] = '\0';
		close(p[0]);
		waitpid(pid, &status, 0);
		ck_assert_str_eq(buf, "CapPrm:\t0000000000000000\n");
	}
}
END_TEST

START_TEST(drop_keeps)
{
	cap_value_t keep[] = { CAP_NET_BIND_SERVICE };
	struct privs_state st;
	char *err = NULL;

	if (!have_setpcap())
		return;                 /* nothing to keep without privileges */
	ck_assert_int_eq(privs_drop(keep, 1, &err), 0);
	ck_assert_int_eq(privs_read(0, &st), 0);
	ck_assert_uint_eq(st.eff, 1ull << CAP_NET_BIND_SERVICE);
	ck_assert_uint_eq(st.prm, 1ull << CAP_NET_BIND_SERVICE);
	ck_assert_uint_eq(st.bnd, 1ull << CAP_NET_BIND_SERVICE);
	ck_assert_int_eq(privs_read(999999999, &st), -1);
}
END_TEST

START_TEST(private_dir)
{
	const char *t = getenv("TMPDIR");
	char tmpl[200], path[256], want[512];
	char *err = NULL;
	struct stat st;

	snprintf(tmpl, sizeof(tmpl), "%s/check-privs.XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	/* Ours but group/world readable: fixed to 0700. */
	snprintf(path, sizeof(path), "%s/open", tmpl);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(chmod(path, 0755), 0);
	ck_assert_int_eq(overlay_private_dir(path, &err), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	rmdir(path);
	/* A symlink planted where the dir should be. */
	ck_assert_int_eq(symlink("/", path), 0);
	ck_assert_int_eq(overlay_private_dir(path, &err), -1);
	snprintf(want, sizeof(want), "%s: not a directory; refusing to use "
	    "it (remove it or point TMPDIR elsewhere)", path);
	ck_assert_str_eq(err, want);
	free(err);
	unlink(path);
	/* Someone else's dir (needs root to make one). */
	if (geteuid() == 0) {
		ck_assert_int_eq(mkdir(path, 0700), 0);
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
		ck_assert_int_eq(overlay_private_dir(path, &err), -1);
		snprintf(want, sizeof(want), "%s: owned by another user; "
		    "refusing to use it (remove it or point TMPDIR elsewhere)",
		    path);
		ck_assert_str_eq(err, want);
		free(err);
		rmdir(path);
	}
	/* The scratch root itself goes through the check. */
	snprintf(path, sizeof(path), "%s/provium-qemu", tmpl);
	ck_assert_int_eq(symlink("/", path), 0);
	setenv("TMPDIR", tmpl, 1);
	ck_assert_ptr_null(overlay_scratch_root(&err));
	snprintf(want, sizeof(want), "%s: not a directory; refusing to use "
	    "it (remove it or point TMPDIR elsewhere)", path);
	ck_assert_str_eq(err, want);
	free(err);
	unlink(path);
	rmdir(tmpl);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("privs");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, drop_all);
	tcase_add_test(tc, drop_keeps);
	tcase_add_test(tc, private_dir);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
