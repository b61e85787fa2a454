/*
 * check_fuzz_regress.c: unit regressions for crashes tests/fuzz found in
 * modules whose own check_*.c belongs to another slice (the inputs are
 * also kept in tests/fuzz/corpus/<target>/regress-*).
 */
#include <check.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/coverage.h"
#include "events/evread.h"
#include "events/proto.h"
#include "supervisor/scan.h"
#include "evtest.h"

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

/* Output of a coverage renderer as a malloc'd string. */
static char *
render(const struct coverage *c, int (*fn)(const struct coverage *, FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_int_eq(fn(c, f), 0);
	fclose(f);
	return buf;
}

/* A meta value with a NUL byte made a bucket the renderers could not
 * look up again: provium-coverage crashed on a valid stream.  Now it is
 * the bucket `a\0b`. */
START_TEST(coverage_nul_in_bucket)
{
	struct coverage c;
	struct event e = ev_mk(EVENT_TEST_FAILED, "a.test.lua", "t1");
	char *text;

	ev_spec(&e, "x");
	free(e.meta.u.map.e[0].val.u.s.p);
	e.meta.u.map.e[0].val.u.s.p = malloc(3);
	memcpy(e.meta.u.map.e[0].val.u.s.p, "a\0b", 3);
	e.meta.u.map.e[0].val.u.s.n = 3;
	ck_assert_int_eq(coverage_init(&c, "spec"), 0);
	ck_assert_int_eq(coverage_feed(&c, &e), 0);
	text = render(&c, coverage_text);
	ck_assert_ptr_nonnull(strstr(text, "  a\\0b: 1 tests (0 passed, 1 failed, 0 skipped)\n"));
	free(text);
	free(render(&c, coverage_json));
	free(render(&c, coverage_html));
	coverage_release(&c);
	event_clear(&e);
}
END_TEST

/* No bucket at all: the HTML report is an empty report, not an error
 * (qsort got NULL). */
START_TEST(coverage_html_no_buckets)
{
	struct coverage c;
	char *html;

	ck_assert_int_eq(coverage_init(&c, "spec"), 0);
	html = render(&c, coverage_html);
	ck_assert_ptr_nonnull(strstr(html, "</html>"));
	free(html);
	coverage_release(&c);
}
END_TEST

/* Peak virtual size of this process, KiB (/proc/self/status VmPeak). */
static long
vm_peak_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmPeak: %ld kB", &kib) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return kib;
}

/* evread unpacked bodies itself, without frame_decode's bounds check: a
 * frame announcing a map of 2^24 entries made msgpack-c allocate 512 MiB
 * (2^32: 128 GiB) before finding the bytes missing.  Now it is just "not
 * a map", and the process's peak virtual size does not move. */
START_TEST(evread_huge_map)
{
	static const uint8_t frame[] = { 0, 0, 0, 6,
	    0xdf, 0x01, 0x00, 0x00, 0x00, 0xc0 };
	struct evread r;
	struct event ev;
	long before;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], frame, sizeof(frame)), sizeof(frame));
	close(p[1]);
	ck_assert_int_eq(evread_init(&r, p[0], FRAME_MAX_EVENT), 0);
	before = vm_peak_kib();
	ck_assert_int_gt(before, 0);
	ck_assert_int_eq(evread_next_event(&r, &ev), -2);
	ck_assert_int_lt(vm_peak_kib() - before, 64 * 1024);
	ck_assert_str_eq(r.err, "byte offset 0: frame 0 is not one msgpack map");
	ck_assert_int_eq(evread_next_event(&r, &ev), 0);
	evread_release(&r);
	close(p[0]);
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
	tcase_add_test(tc, coverage_nul_in_bucket);
	tcase_add_test(tc, coverage_html_no_buckets);
	tcase_add_test(tc, evread_huge_map);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
