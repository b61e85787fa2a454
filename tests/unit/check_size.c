/* check_size.c: --mem sizes and byte formatting. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "supervisor/size.h"

static char err[256];

static uint64_t
ok_size(const char *s)
{
	uint64_t v = 12345;

	err[0] = '\0';
	ck_assert_msg(size_parse(s, &v, err, sizeof(err)) == 0,
	    "size_parse(%s): %s", s, err);
	return v;
}

START_TEST(sizes_with_suffixes)
{
	ck_assert_uint_eq(ok_size("4G"), 4ull << 30);
	ck_assert_uint_eq(ok_size("4g"), 4ull << 30);
	ck_assert_uint_eq(ok_size("512M"), 512ull << 20);
	ck_assert_uint_eq(ok_size("512m"), 512ull << 20);
	ck_assert_uint_eq(ok_size("8k"), 8192);
	ck_assert_uint_eq(ok_size("2T"), 2ull << 40);
	ck_assert_uint_eq(ok_size("1048576"), 1048576);
	ck_assert_uint_eq(ok_size("0"), 0);
	ck_assert_uint_eq(ok_size("18446744073709551615"), UINT64_MAX);
	ck_assert_uint_eq(ok_size("16777215T"), 16777215ull << 40);
}
END_TEST

static void
bad_size(const char *s, int want_errno, const char *want)
{
	uint64_t v = 7;

	ck_assert_int_eq(size_parse(s, &v, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, want_errno);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(v, 7);
}

START_TEST(sizes_rejected)
{
	bad_size("abc", EINVAL, "cannot parse size `abc` (expected bytes or "
	    "a number followed by K, M, G or T)");
	bad_size("", EINVAL, "cannot parse size `` (expected bytes or a "
	    "number followed by K, M, G or T)");
	bad_size("4GB", EINVAL, "cannot parse size `4GB` (expected bytes or "
	    "a number followed by K, M, G or T)");
	bad_size("4 G", EINVAL, "cannot parse size `4 G` (expected bytes or "
	    "a number followed by K, M, G or T)");
	bad_size("-1", EINVAL, "cannot parse size `-1` (expected bytes or a "
	    "number followed by K, M, G or T)");
	bad_size("1.5G", EINVAL, "cannot parse size `1.5G` (expected bytes "
	    "or a number followed by K, M, G or T)");
	bad_size("G", EINVAL, "cannot parse size `G` (expected bytes or a "
	    "number followed by K, M, G or T)");
	bad_size("99999999999999999999X", EINVAL, "cannot parse size "
	    "`99999999999999999999X` (expected bytes or a number followed "
	    "by K, M, G or T)");
	bad_size("16777216T", ERANGE, "size `16777216T` overflows u64");
	bad_size("18446744073709551616", ERANGE,
	    "size `18446744073709551616` overflows u64");
	bad_size("99999999999999999999k", ERANGE,
	    "size `99999999999999999999k` overflows u64");
}
END_TEST

START_TEST(formatting)
{
	char b[32];

	size_format(0, b, sizeof(b));
	ck_assert_str_eq(b, "0 B");
	size_format(1023, b, sizeof(b));
	ck_assert_str_eq(b, "1023 B");
	size_format(612ull << 20, b, sizeof(b));
	ck_assert_str_eq(b, "612 MiB");
	size_format(2ull << 30, b, sizeof(b));
	ck_assert_str_eq(b, "2 GiB");
	size_format(1536ull << 20, b, sizeof(b));
	ck_assert_str_eq(b, "1.5 GiB");
	size_format(UINT64_MAX, b, sizeof(b));
	ck_assert_str_eq(b, "16.0 EiB");
	size_format(512ull << 20, b, 4);
	ck_assert_str_eq(b, "512");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("size");
	TCase *tc = tcase_create("size");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, sizes_with_suffixes);
	tcase_add_test(tc, sizes_rejected);
	tcase_add_test(tc, formatting);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
