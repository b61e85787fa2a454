/* check_preflight.c: one line per missing prerequisite. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/preflight.h"
#include "vm/profile.h"

START_TEST(all_missing)
{
	setenv("PATH", "/nonexistent", 1);
	setenv("PROVIUM_GUEST", "/nonexistent/guest", 1);
	setenv("PROVIUM_AGENT", "/nonexistent/agent", 1);
	struct profile_config *c = NULL;
	char *err = NULL;
	ck_assert_int_eq(profile_config_parse(NULL, 0, "(built-in)", NULL, &c,
	    &err), 0);
	enum accel_mode m;
	char *why = NULL, *problems = NULL;
	ck_assert_int_eq(preflight_check(c, NULL, ACCEL_TCG, &m, &why,
	    &problems), -1);
	ck_assert_int_eq(m, ACCEL_TCG);
	ck_assert_str_eq(why, "tcg (--accel tcg)");
	ck_assert_str_eq(problems,
	    "qemu-system-x86_64 not found on PATH (runs the VMs): install the "
	    "Debian package qemu-system-x86 (`make deps`)\n"
	    "zstd not found on PATH (compresses VM snapshots): install the "
	    "Debian package zstd (`make deps`)\n"
	    "missing path `/nonexistent/guest/vmlinux` (profile `linux` field "
	    "`kernel`); build the guest image with `make guest`\n"
	    "PROVIUM_AGENT=/nonexistent/agent is not an executable file\n");
	free(why);
	free(problems);
	ck_assert_int_eq(preflight_check(c, "nope", ACCEL_TCG, &m, &why,
	    &problems), -1);
	ck_assert_ptr_nonnull(strstr(problems,
	    "no profile `nope` (define [profiles.nope] in provium.toml)\n"));
	free(why);
	free(problems);
	profile_config_free(c);
}
END_TEST

START_TEST(which)
{
	setenv("PATH", "/nonexistent:/bin:/usr/bin", 1);
	char *p = preflight_which("sh");
	ck_assert_ptr_nonnull(p);
	ck_assert(strcmp(p, "/bin/sh") == 0 || strcmp(p, "/usr/bin/sh") == 0);
	free(p);
	ck_assert_ptr_null(preflight_which("no-such-program-here"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("preflight");
	TCase *tc = tcase_create("preflight");
	tcase_add_test(tc, all_missing);
	tcase_add_test(tc, which);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
