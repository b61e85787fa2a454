/* check_xfmt.c: the library's malloc'd printf. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "events/xfmt.h"

START_TEST(formats_into_a_fresh_string)
{
	char *s = xfmt("%s:%d: key `%s`: %s", "a.toml", 7, "x.y", "bad");

	ck_assert_str_eq(s, "a.toml:7: key `x.y`: bad");
	free(s);
	s = xfmt("%s", "");
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

/* A message built on an error path must not clobber the caller's errno. */
START_TEST(leaves_errno_alone)
{
	char *s;

	errno = EXDEV;
	s = xfmt("%s: %s", "/p", strerror(errno));
	ck_assert_int_eq(errno, EXDEV);
	ck_assert_str_eq(s, "/p: Invalid cross-device link");
	free(s);
}
END_TEST

/* Longer than any stack buffer a formatter might start with. */
START_TEST(long_output)
{
	char *big, *s;

	ck_assert_ptr_nonnull(big = malloc(70000));
	memset(big, 'z', 69999);
	big[69999] = '\0';
	s = xfmt("<%s>%zu", big, (size_t)42);
	ck_assert_uint_eq(strlen(s), 70003);
	ck_assert_int_eq(s[0], '<');
	ck_assert_str_eq(s + 70000, ">42");
	free(s);
	free(big);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("xfmt");
	TCase *tc = tcase_create("xfmt");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, formats_into_a_fresh_string);
	tcase_add_test(tc, leaves_errno_alone);
	tcase_add_test(tc, long_output);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
