/* check_runner_duration.c: duration parsing and formatting. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "runner/runner_int.h"

START_TEST(parse_ok)
{
	static const struct { const char *s; int64_t ns; } ok[] = {
		{ "5", 5000000000 }, { "1.5", 1500000000 }, { "250ms", 250000000 },
		{ "2s", 2000000000 }, { "3m", 180000000000 }, { "1h", 3600000000000 },
		{ "0", 0 }, { "0.1s", 100000000 }, { "1.", 1000000000 },
		{ "0.0005s", 500000 },
	};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		int64_t ns = -1;

		ck_assert_msg(runner_dur_parse(ok[i].s, &ns) == 0, "%s", ok[i].s);
		ck_assert_int_eq(ns, ok[i].ns);
	}
}
END_TEST

START_TEST(parse_bad)
{
	static const char *const bad[] = {
		"", "s", "5x", "5 s", " 5", "-1", "+1", "inf", "nan", "0x10",
		"1e3", "5sec", "5ms ", ".5", "1.2.3", "99999999999999999999h",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int64_t ns = 42;

		ck_assert_msg(runner_dur_parse(bad[i], &ns) == -1, "%s", bad[i]);
		ck_assert_int_eq(ns, 42);
	}
}
END_TEST

START_TEST(format)
{
	static const struct { int64_t ns; const char *s; } f[] = {
		{ 2000000000, "2s" }, { 1500000000, "1.5s" }, { 250000000, "250ms" },
		{ 100000000, "100ms" }, { 1000000001, "1.000000001s" },
		{ 90000000000, "90s" }, { 1500000, "1.5ms" }, { 10000, "10\xc2\xb5s" },
		{ 7, "7ns" }, { 0, "0ns" },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
		runner_dur_format(f[i].ns, buf, sizeof buf);
		ck_assert_str_eq(buf, f[i].s);
	}
}
END_TEST

START_TEST(from_lua)
{
	lua_State *L = luaL_newstate();
	char err[256];
	int64_t ns;

	lua_pushnumber(L, 0.25);
	ck_assert_int_eq(runner_dur_from_lua(L, -1, &ns, err, sizeof err), 0);
	ck_assert_int_eq(ns, 250000000);
	lua_pushinteger(L, 3);
	ck_assert_int_eq(runner_dur_from_lua(L, -1, &ns, err, sizeof err), 0);
	ck_assert_int_eq(ns, 3000000000);
	lua_pushnumber(L, -0.5);
	ck_assert_int_eq(runner_dur_from_lua(L, -1, &ns, err, sizeof err), -1);
	ck_assert_str_eq(err, "bad duration -0.5 (must be a finite number of "
	    "seconds >= 0)");
	lua_pushnumber(L, 1.0 / 0.0);
	ck_assert_int_eq(runner_dur_from_lua(L, -1, &ns, err, sizeof err), -1);
	lua_pushliteral(L, "10 min");
	ck_assert_int_eq(runner_dur_from_lua(L, -1, &ns, err, sizeof err), -1);
	ck_assert_str_eq(err, "bad duration `10 min` (expected seconds or N "
	    "followed by ms, s, m or h, e.g. \"500ms\", \"30s\")");
	lua_pushboolean(L, 1);
	ck_assert_int_eq(runner_dur_from_lua(L, -1, &ns, err, sizeof err), -1);
	ck_assert_str_eq(err, "duration must be a number or string, got boolean");
	lua_close(L);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("runner_duration");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, parse_ok);
	tcase_add_test(tc, parse_bad);
	tcase_add_test(tc, format);
	tcase_add_test(tc, from_lua);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
