/* check_supervisor_scan.c: static scan, CLI parsing, display paths. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/cli.h"
#include "supervisor/discover.h"
#include "supervisor/scan.h"

static struct scan_result
scan(const char *src)
{
	struct scan_result r;

	ck_assert_int_eq(scan_source(src, strlen(src), &r), 0);
	return r;
}

START_TEST(refs_literal_only)
{
	struct scan_result r = scan(
	    "-- vm_fixture(\"commented\")\n"
	    "local a = provium:vm_fixture(\"img/base.fixture.lua\")\n"
	    "local b = provium:lab_fixture 'net/pair'\n"
	    "local c = provium:vm_fixture([[long/form]])\n"
	    "local d = provium:vm_fixture(name)\n"
	    "local e = provium:vm_fixture(\"img/base\")\n"
	    "local s = \"vm_fixture('in a string')\"\n"
	    "--[[ vm_fixture(\"block comment\") ]]\n"
	    "local f = provium:vm_fixture(\"esc\\\"aped\")\n");

	ck_assert_int_eq(r.nfixture_refs, 3);
	ck_assert_str_eq(r.fixture_refs[0], "img/base");
	ck_assert_str_eq(r.fixture_refs[1], "net/pair");
	ck_assert_str_eq(r.fixture_refs[2], "long/form");
	ck_assert(!r.has_claim);
	scan_result_clear(&r);
}
END_TEST

START_TEST(claim_file_scope_only)
{
	struct scan_result r = scan(
	    "test('x', function(t)\n"
	    "  provium:claim{memory = \"8G\", cpus = 8}\n"
	    "end)\n"
	    "if cond then provium:claim{memory = 1, cpus = 1} end\n"
	    "provium:claim{ memory = \"512M\"; cpus = 3, }\n");

	ck_assert(r.has_claim);
	ck_assert_uint_eq(r.claim.memory_bytes, 512ull << 20);
	ck_assert_uint_eq(r.claim.cpus, 3);
	scan_result_clear(&r);
}
END_TEST

START_TEST(claim_forms)
{
	struct scan_result r = scan("provium:claim({memory = 1048576})\n");

	ck_assert(r.has_claim);
	ck_assert_uint_eq(r.claim.memory_bytes, 1048576);
	ck_assert_uint_eq(r.claim.cpus, 0);
	scan_result_clear(&r);
	r = scan("provium:claim{memory = size}\n");     /* not a literal */
	ck_assert(!r.has_claim);
	scan_result_clear(&r);
	r = scan("do provium:claim{cpus = 1} end\n");
	ck_assert(!r.has_claim);
	scan_result_clear(&r);
	r = scan("#!/usr/bin/env provium\nprovium:claim{cpus = 4}\n");
	ck_assert(r.has_claim);
	ck_assert_uint_eq(r.claim.cpus, 4);
	scan_result_clear(&r);
}
END_TEST

START_TEST(sizes)
{
	struct scan_result r = scan("provium:claim{memory = \"4g\", cpus = 2}\n");

	ck_assert(r.has_claim);
	ck_assert_uint_eq(r.claim.memory_bytes, 4ull << 30);
	scan_result_clear(&r);
	r = scan("provium:claim{memory = \"16777216T\"}\n");  /* overflow */
	ck_assert(!r.has_claim);
	scan_result_clear(&r);
	r = scan("provium:claim{memory = \"12Q\"}\n");
	ck_assert(!r.has_claim);
	scan_result_clear(&r);
	r = scan("provium:claim{memory = 1.5}\n");
	ck_assert(!r.has_claim);
	scan_result_clear(&r);
}
END_TEST

START_TEST(durations)
{
	uint64_t ms;

	ck_assert_int_eq(cli_parse_duration("300", &ms), 0);
	ck_assert_uint_eq(ms, 300000);
	ck_assert_int_eq(cli_parse_duration("250ms", &ms), 0);
	ck_assert_uint_eq(ms, 250);
	ck_assert_int_eq(cli_parse_duration("2m", &ms), 0);
	ck_assert_uint_eq(ms, 120000);
	ck_assert_int_eq(cli_parse_duration("1h", &ms), 0);
	ck_assert_uint_eq(ms, 3600000);
	ck_assert_int_eq(cli_parse_duration("0", &ms), 0);
	ck_assert_uint_eq(ms, 0);
	ck_assert_int_eq(cli_parse_duration("5x", &ms), -1);
	ck_assert_int_eq(cli_parse_duration("-1", &ms), -1);
	ck_assert_int_eq(cli_parse_duration("99999999999999999999h", &ms), -1);
}
END_TEST

START_TEST(cli_options)
{
	char a0[] = "provium", a1[] = "--tag", a2[] = "net", a3[] = "dir",
	    a4[] = "--tag-meta", a5[] = "team=core=x", a6[] = "--timeout",
	    a7[] = "0", a8[] = "--vmm", a9[] = "local";
	char *argv[] = { a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, NULL };
	struct cli_opts o;
	char err[256];

	ck_assert_int_eq(cli_parse(10, argv, &o, err, sizeof(err)), CLI_RUN);
	ck_assert_uint_eq(o.ntag, 1);
	ck_assert_str_eq(o.tag[0], "net");
	ck_assert_uint_eq(o.npaths, 1);
	ck_assert_str_eq(o.paths[0], "dir");
	ck_assert_uint_eq(o.ntag_meta, 1);
	ck_assert_str_eq(o.tag_meta[0].key, "team");
	ck_assert_str_eq(o.tag_meta[0].value, "core=x");
	ck_assert_uint_eq(o.timeout_ms, 0);
	ck_assert_str_eq(o.vmm, "local");
	ck_assert_str_eq(o.accel, "auto");
	cli_opts_free(&o);
}
END_TEST

START_TEST(cli_missing_value)
{
	char a0[] = "provium", a1[] = "--filter";
	char *argv[] = { a0, a1, NULL };
	struct cli_opts o;
	char err[256];

	ck_assert_int_eq(cli_parse(2, argv, &o, err, sizeof(err)), CLI_USAGE);
	ck_assert_str_eq(err, "option `--filter` needs a value");
	cli_opts_free(&o);
}
END_TEST

START_TEST(display_paths)
{
	char *p;

	p = discover_display_path("./a//b/./c.test.lua", NULL);
	ck_assert_str_eq(p, "a/b/c.test.lua");
	free(p);
	p = discover_display_path("/home/u/proj/t/x.test.lua", "/home/u/proj");
	ck_assert_str_eq(p, "t/x.test.lua");
	free(p);
	p = discover_display_path("/home/u/projX/x.test.lua", "/home/u/proj");
	ck_assert_str_eq(p, "/home/u/projX/x.test.lua");
	free(p);
	p = discover_display_path("../up/x.test.lua", NULL);
	ck_assert_str_eq(p, "../up/x.test.lua");
	free(p);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("supervisor_scan");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, refs_literal_only);
	tcase_add_test(tc, claim_file_scope_only);
	tcase_add_test(tc, claim_forms);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, cli_options);
	tcase_add_test(tc, cli_missing_value);
	tcase_add_test(tc, display_paths);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
