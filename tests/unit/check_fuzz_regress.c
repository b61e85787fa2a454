/*
 * check_fuzz_regress.c: unit regressions for crashes tests/fuzz found in
 * modules whose own check_*.c belongs to another slice (the inputs are
 * also kept in tests/fuzz/corpus/<target>/regress-*).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/scan.h"

/* A literal with a NUL byte was cut by strndup into a name that then
 * duplicated another ref: refs with a NUL are not reported at all. */
START_TEST(scan_nul_in_ref)
{
	static const char src[] =
	    "local a = provium:lab_fixture 'net/two-hosts'\n"
	    "local b = provium:lab_fixture 'net/two-hosts\0\0\0\xf1'\n"
	    "local c = provium:vm_fixture(\"x\0.fixture.lua\")\n";
	struct scan_result r;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(scan_source(src, sizeof(src) - 1, &r), 0);
	ck_assert_uint_eq(r.nfixture_refs, 1);
	ck_assert_str_eq(r.fixture_refs[0], "net/two-hosts");
	scan_result_clear(&r);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("fuzz_regress");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, scan_nul_in_ref);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
