/* check_accel.c: accelerator choice; on a host without usable KVM, TCG. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "vm/accel.h"

START_TEST(parse)
{
	enum accel_mode m;
	ck_assert_int_eq(accel_parse("auto", &m), 0);
	ck_assert_int_eq(m, ACCEL_AUTO);
	ck_assert_int_eq(accel_parse("kvm", &m), 0);
	ck_assert_int_eq(m, ACCEL_KVM);
	ck_assert_int_eq(accel_parse("tcg", &m), 0);
	ck_assert_int_eq(m, ACCEL_TCG);
	ck_assert_int_eq(accel_parse("hvf", &m), -1);
	ck_assert_str_eq(accel_name(ACCEL_TCG), "tcg");
}
END_TEST

START_TEST(forced_tcg)
{
	enum accel_mode m = ACCEL_AUTO;
	char *why = NULL;
	ck_assert_int_eq(accel_decide(ACCEL_TCG, &m, &why), 0);
	ck_assert_int_eq(m, ACCEL_TCG);
	ck_assert_str_eq(why, "tcg (--accel tcg)");
	free(why);
}
END_TEST

/* auto agrees with the two checks it is made of. */
START_TEST(auto_consistent)
{
	char *cw = NULL, *pw = NULL, *why = NULL;
	double ms = 0;
	int capable = accel_kvm_capable(&cw) == 0;
	int fast = capable && accel_kvm_probe(&ms, &pw) == 0;
	enum accel_mode m;
	ck_assert_int_eq(accel_decide(ACCEL_AUTO, &m, &why), 0);
	if (fast) {
		ck_assert_int_eq(m, ACCEL_KVM);
		ck_assert_int_eq(strncmp(why, "kvm (micro-guest ran in ", 24), 0);
	} else {
		ck_assert_int_eq(m, ACCEL_TCG);
		ck_assert_int_eq(strncmp(why, "tcg (KVM not used: ", 19), 0);
		ck_assert_ptr_nonnull(strstr(why, capable ? pw : cw));
	}
	free(cw);
	free(pw);
	free(why);
}
END_TEST

START_TEST(probe_reports_time)
{
	char *why = NULL;
	double ms = -2;
	int rc = accel_kvm_probe(&ms, &why);
	if (rc == 0)
		ck_assert(ms >= 0 && ms <= 10.0);
	else if (ms >= 0)   /* it ran, but too slowly */
		ck_assert_ptr_nonnull(strstr(why, "KVM micro-guest took "));
	else
		ck_assert_ptr_nonnull(why);
	free(why);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("accel");
	TCase *tc = tcase_create("accel");
	tcase_add_test(tc, parse);
	tcase_add_test(tc, forced_tcg);
	tcase_add_test(tc, auto_consistent);
	tcase_add_test(tc, probe_reports_time);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
