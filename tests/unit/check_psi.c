/* check_psi.c: pressure parsing, the hysteresis gate, disabled hosts. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor/psi.h"

START_TEST(parse_some_avg10)
{
	double v = -1;

	ck_assert_int_eq(psi_parse_some_avg10("some avg10=12.34", &v), 0);
	ck_assert_double_eq_tol(v, 12.34, 1e-9);
	ck_assert_int_eq(psi_parse_some_avg10(
	    "some avg10=0.00 avg60=1.50 avg300=0.20 total=12345\n"
	    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", &v), 0);
	ck_assert_double_eq(v, 0.0);
	/* The `full` line must not be mistaken for `some`. */
	ck_assert_int_eq(psi_parse_some_avg10(
	    "full avg10=99.00 avg60=0 avg300=0 total=0\n"
	    "some avg10=3.25 avg60=0 avg300=0 total=0\n", &v), 0);
	ck_assert_double_eq_tol(v, 3.25, 1e-9);
}
END_TEST

START_TEST(parse_garbled)
{
	static const char *const bad[] = {
		"", "garbage", "some", "some avg10=", "some avg10=abc",
		"some avg10=12.3x", "some avg10=-1.0", "some avg10=nan",
		"some avg10=inf", "full avg10=1.00 avg60=0 avg300=0 total=0",
		"some avg60=1.00\navg10=5.00", "avg10=5.00",
	};
	double v = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(psi_parse_some_avg10(bad[i], &v) == -1,
		    "parsed `%s`", bad[i]);
		ck_assert_int_eq(errno, EBADMSG);
	}
	ck_assert_double_eq(v, 42);
}
END_TEST

START_TEST(threshold_option)
{
	char err[160];
	double t = 0;

	ck_assert_int_eq(psi_parse_threshold("12.5", &t, err, sizeof(err)), 0);
	ck_assert_double_eq(t, 12.5);
	ck_assert_int_eq(psi_parse_threshold("100", &t, err, sizeof(err)), 0);
	ck_assert_int_eq(psi_parse_threshold("0", &t, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "cannot parse --psi-threshold `0` (expected a "
	    "percentage above 0 and at most 100)");
	ck_assert_int_eq(psi_parse_threshold("101", &t, err, sizeof(err)), -1);
	ck_assert_int_eq(psi_parse_threshold("ten", &t, err, sizeof(err)), -1);
	ck_assert_int_eq(psi_parse_threshold("", &t, err, sizeof(err)), -1);
	ck_assert_double_eq(t, 100);
}
END_TEST

static struct psi_gate
live_gate(double threshold)
{
	struct psi_gate g;

	memset(&g, 0, sizeof(g));
	g.threshold = threshold;
	g.resume_below = threshold / 2;
	g.enabled = true;
	return g;
}

static enum psi_change
feed(struct psi_gate *g, double mem, double cpu, double io)
{
	const bool have[PSI_COUNT] = { mem >= 0, cpu >= 0, io >= 0 };
	const double v[PSI_COUNT] = { mem, cpu, io };

	return psi_gate_update(g, have, v);
}

START_TEST(hysteresis)
{
	struct psi_gate g = live_gate(10.0);
	char why[128];

	ck_assert(!psi_gate_held(&g));
	ck_assert_int_eq(feed(&g, 10.0, 0, 0), PSI_GATE_UNCHANGED); /* not > */
	ck_assert(!psi_gate_holds(&g, 3));
	ck_assert_int_eq(feed(&g, 0, 10.01, 0), PSI_GATE_HELD);
	ck_assert(psi_gate_held(&g));
	ck_assert(psi_gate_holds(&g, 1));
	ck_assert(!psi_gate_holds(&g, 0));      /* nothing running: go */
	psi_gate_describe(&g, why, sizeof(why));
	ck_assert_str_eq(why, "cpu some avg10=10.01 %, over the 10.00 % "
	    "threshold");
	/* In the band: stays held, whatever the direction. */
	ck_assert_int_eq(feed(&g, 0, 9.0, 0), PSI_GATE_UNCHANGED);
	ck_assert_int_eq(feed(&g, 0, 5.0, 0), PSI_GATE_UNCHANGED); /* not < */
	ck_assert(psi_gate_held(&g));
	psi_gate_describe(&g, why, sizeof(why));
	ck_assert_str_eq(why, "cpu some avg10=5.00 %, not yet below 5.00 %");
	/* One resource still in the band keeps it held. */
	ck_assert_int_eq(feed(&g, 1.0, 4.9, 7.0), PSI_GATE_UNCHANGED);
	ck_assert_int_eq(feed(&g, 1.0, 4.9, 4.9), PSI_GATE_RELEASED);
	ck_assert(!psi_gate_held(&g));
	psi_gate_describe(&g, why, sizeof(why));
	ck_assert_str_eq(why, "");
	/* Rising back into the band does not close it again. */
	ck_assert_int_eq(feed(&g, 9.9, 9.9, 9.9), PSI_GATE_UNCHANGED);
	ck_assert_int_eq(feed(&g, 0, 0, 30.0), PSI_GATE_HELD);
	ck_assert_int_eq(feed(&g, 0, 0, 31.0), PSI_GATE_UNCHANGED);
	/* Readings vanish: a gate with nothing to go on opens. */
	ck_assert_int_eq(feed(&g, -1, -1, -1), PSI_GATE_RELEASED);
	/* Missing resources are ignored, the others still count. */
	ck_assert_int_eq(feed(&g, 11, -1, -1), PSI_GATE_HELD);
	ck_assert_int_eq(feed(&g, -1, 4, -1), PSI_GATE_RELEASED);
}
END_TEST

static char dir[256];

static void
write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void
remove_dir(void)
{
	char path[512];

	for (int i = 0; i < PSI_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir,
		    psi_resource_name((enum psi_resource)i));
		unlink(path);
	}
	rmdir(dir);
}

START_TEST(files_and_env)
{
	struct psi_gate g;
	char note[1024], want[1024];

	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/check_psi.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));

	/* No memory file: disabled, one notice, never held. */
	ck_assert_int_eq(setenv(PSI_DIR_ENV, dir, 1), 0);
	ck_assert_int_eq(psi_gate_init(&g, NULL, 10.0, note, sizeof(note)), 1);
	snprintf(want, sizeof(want), "no pressure-stall information at "
	    "`%s/memory` (No such file or directory); new files are not "
	    "held back on host pressure", dir);
	ck_assert_str_eq(note, want);
	ck_assert(!g.enabled);
	write_file("cpu", "some avg10=99.00 avg60=0 avg300=0 total=0\n");
	ck_assert_int_eq(psi_gate_poll(&g), PSI_GATE_UNCHANGED);
	ck_assert(!psi_gate_held(&g));
	ck_assert(!psi_gate_holds(&g, 5));

	/* Garbled memory file: disabled too. */
	write_file("memory", "bogus\n");
	ck_assert_int_eq(psi_gate_init(&g, NULL, 10.0, note, sizeof(note)), 1);
	snprintf(want, sizeof(want), "no pressure-stall information at "
	    "`%s/memory` (no `some avg10=` line); new files are not held "
	    "back on host pressure", dir);
	ck_assert_str_eq(note, want);

	/* A simulated spike on cpu holds, calm releases; io missing. */
	write_file("memory", "some avg10=0.50 avg60=0 avg300=0 total=1\n"
	    "full avg10=0.00 avg60=0 avg300=0 total=0\n");
	ck_assert_int_eq(psi_gate_init(&g, NULL, 10.0, note, sizeof(note)), 0);
	ck_assert_str_eq(note, "");
	ck_assert_str_eq(g.dir, dir);
	ck_assert_int_eq(psi_gate_poll(&g), PSI_GATE_HELD);
	ck_assert(g.have[PSI_MEMORY] && g.have[PSI_CPU] && !g.have[PSI_IO]);
	ck_assert_double_eq(g.value[PSI_CPU], 99.0);
	write_file("cpu", "some avg10=6.00 avg60=0 avg300=0 total=0\n");
	ck_assert_int_eq(psi_gate_poll(&g), PSI_GATE_UNCHANGED);
	write_file("cpu", "some avg10=4.00 avg60=0 avg300=0 total=0\n");
	ck_assert_int_eq(psi_gate_poll(&g), PSI_GATE_RELEASED);
	write_file("io", "some avg10=10.50 avg60=0 avg300=0 total=0\n");
	ck_assert_int_eq(psi_gate_poll(&g), PSI_GATE_HELD);

	/* An explicit dir wins over the environment; bad thresholds fail. */
	ck_assert_int_eq(psi_gate_init(&g, "/nonexistent-psi", 10.0, note,
	    sizeof(note)), 1);
	ck_assert_str_eq(g.dir, "/nonexistent-psi");
	ck_assert_int_eq(psi_gate_init(&g, dir, 0.0, note, sizeof(note)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_eq(note, "PSI threshold 0 is not a percentage above 0 "
	    "and at most 100");
	/* A custom threshold sets the release point at half of it. */
	ck_assert_int_eq(psi_gate_init(&g, dir, 50.0, note, sizeof(note)), 0);
	ck_assert_double_eq(g.resume_below, 25.0);
	ck_assert_int_eq(psi_gate_poll(&g), PSI_GATE_UNCHANGED);
	unsetenv(PSI_DIR_ENV);
	remove_dir();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("psi");
	TCase *tc = tcase_create("psi");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, parse_some_avg10);
	tcase_add_test(tc, parse_garbled);
	tcase_add_test(tc, threshold_option);
	tcase_add_test(tc, hysteresis);
	tcase_add_test(tc, files_and_env);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
