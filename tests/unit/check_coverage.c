/* check_coverage.c: bucketing rules (upstream §8.3), text/JSON output,
 * completeness, and the HTML rollup of spec sections. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/coverage.h"
#include "evtest.h"

static void
feed(struct coverage *c, struct event *e)
{
	ck_assert_int_eq(coverage_feed(c, e), 0);
	event_clear(e);
}

static void
result(struct coverage *c, enum event_kind k, const char *name,
    const char *spec)
{
	struct event e = ev_mk(k, "a.test.lua", name);

	if (spec)
		ev_spec(&e, spec);
	if (k == EVENT_TEST_FAILED) {
		free(e.reason);
		e.reason = strdup("boom <b>");
		free(e.console_excerpt);
		e.console_excerpt = strdup("kernel: oops & panic");
	}
	feed(c, &e);
}

/* meta.spec as an array of n strings, or with a trailing int if bad. */
static void
result_arr(struct coverage *c, const char *a, const char *b, int bad)
{
	struct event e = ev_mk(EVENT_TEST_PASSED, "a.test.lua", "arr");
	struct meta_value *v;
	size_t n = (a != NULL) + (b != NULL) + (bad != 0), i = 0;

	e.meta.u.map.e = calloc(1, sizeof(struct meta_entry));
	e.meta.u.map.n = 1;
	e.meta.u.map.e[0].key = strdup("spec");
	e.meta.u.map.e[0].key_len = 4;
	v = &e.meta.u.map.e[0].val;
	v->type = META_ARRAY;
	v->u.arr.v = calloc(n + 1, sizeof(*v));
	v->u.arr.n = n;
	if (a) {
		v->u.arr.v[i].type = META_STR;
		v->u.arr.v[i].u.s.p = strdup(a);
		v->u.arr.v[i++].u.s.n = strlen(a);
	}
	if (b) {
		v->u.arr.v[i].type = META_STR;
		v->u.arr.v[i].u.s.p = strdup(b);
		v->u.arr.v[i++].u.s.n = strlen(b);
	}
	if (bad)
		v->u.arr.v[i].type = META_INT;
	feed(c, &e);
}

static char *
render(struct coverage *c, int (*fn)(const struct coverage *, FILE *))
{
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_int_eq(fn(c, f), 0);
	fclose(f);
	return buf;
}

static void
build(struct coverage *c)
{
	struct event e;

	ck_assert_int_eq(coverage_init(c, "spec"), 0);
	e = ev_mk(EVENT_FILE_DISCOVERED, "a.test.lua", NULL);
	feed(c, &e);
	e = ev_mk(EVENT_FILE_DISCOVERED, "b.test.lua", NULL);
	feed(c, &e);
	result(c, EVENT_TEST_PASSED, "p1", "4.2.1");
	result(c, EVENT_TEST_FAILED, "f1", "4.10");
	result(c, EVENT_TEST_SKIPPED, "s1", "4.2.1");
	result(c, EVENT_TEST_PASSED, "none", NULL);
	result_arr(c, "4.9", "§5.1", 0);
	result_arr(c, NULL, NULL, 0);       /* empty array -> <unset> */
	result_arr(c, "4.9", NULL, 1);      /* not all strings -> <unset> */
	e = ev_mk(EVENT_FILE_COMPLETED, "a.test.lua", NULL);
	feed(c, &e);
}

START_TEST(test_text_and_incomplete)
{
	struct coverage c;
	char *out;

	build(&c);
	ck_assert(!coverage_complete(&c));
	out = render(&c, coverage_text);
	ck_assert_str_eq(out,
	    "coverage by `spec`:\n"
	    "  4.10: 1 tests (0 passed, 1 failed, 0 skipped)\n"
	    "  4.2.1: 2 tests (1 passed, 0 failed, 1 skipped)\n"
	    "  4.9: 1 tests (1 passed, 0 failed, 0 skipped)\n"
	    "  §5.1: 1 tests (1 passed, 0 failed, 0 skipped)\n"
	    "  <unset>: 3 tests (3 passed, 0 failed, 0 skipped)\n"
	    "  ---\n"
	    "  buckets: 4; 5 passed, 1 failed, 1 skipped\n"
	    "incomplete run: 1 of 2 discovered files never completed: b.test.lua\n");
	free(out);
	out = render(&c, coverage_json);
	ck_assert_str_eq(out, "{\"buckets\":{"
	    "\"4.10\":{\"passed\":0,\"failed\":1,\"skipped\":0},"
	    "\"4.2.1\":{\"passed\":1,\"failed\":0,\"skipped\":1},"
	    "\"4.9\":{\"passed\":1,\"failed\":0,\"skipped\":0},"
	    "\"§5.1\":{\"passed\":1,\"failed\":0,\"skipped\":0}},"
	    "\"uncategorised\":{\"passed\":3,\"failed\":0,\"skipped\":0},"
	    "\"complete\":false,\"incomplete_files\":[\"b.test.lua\"]}\n");
	free(out);
	coverage_release(&c);
}
END_TEST

START_TEST(test_other_key)
{
	struct coverage c;
	char *out;

	ck_assert_int_eq(coverage_init(&c, "owner"), 0);
	result(&c, EVENT_TEST_PASSED, "p1", "4.2.1");
	out = render(&c, coverage_text);
	ck_assert_str_eq(out,
	    "coverage by `owner`:\n"
	    "  <unset>: 1 tests (1 passed, 0 failed, 0 skipped)\n"
	    "  ---\n"
	    "  buckets: 0; 1 passed, 0 failed, 0 skipped\n");
	free(out);
	coverage_release(&c);
}
END_TEST

START_TEST(test_html_rollup)
{
	struct coverage c;
	char *out, *p4, *p42, *p421, *p49, *p410;

	build(&c);
	out = render(&c, coverage_html);
	/* parents appear as rollup rows, in numeric order: 4, 4.2, 4.2.1, 4.9, 4.10 */
	p4 = strstr(out, "padding-left:12px\">4</td>");
	p42 = strstr(out, "padding-left:32px\">4.2</td>");
	p421 = strstr(out, "padding-left:52px\">4.2.1</td>");
	p49 = strstr(out, "padding-left:32px\">4.9</td>");
	p410 = strstr(out, "padding-left:32px\">4.10</td>");
	ck_assert_ptr_nonnull(p4);
	ck_assert_ptr_nonnull(p42);
	ck_assert_ptr_nonnull(p421);
	ck_assert_ptr_nonnull(p49);
	ck_assert_ptr_nonnull(p410);
	ck_assert(p4 < p42 && p42 < p421 && p421 < p49 && p49 < p410);
	ck_assert_ptr_nonnull(strstr(out, "<tr class=\"parent rollup\"><td class=key "
	    "style=\"padding-left:12px\">4</td>"));
	/* 4 = 4.2.1 (2) + 4.10 (1) + 4.9 (1) */
	ck_assert_ptr_nonnull(strstr(p4, "<td class=num>4</td><td class=\"num pc\">2</td>"
	    "<td class=\"num fc\">1</td><td class=\"num sc\">1</td>"));
	ck_assert_ptr_nonnull(strstr(out, "padding-left:12px\">§5</td>"));
	/* failure with escaped reason and excerpt */
	ck_assert_ptr_nonnull(strstr(out, "<pre class=reason>boom &lt;b&gt;</pre>"));
	ck_assert_ptr_nonnull(strstr(out, "kernel: oops &amp; panic"));
	ck_assert_ptr_nonnull(strstr(out, "Incomplete run: 1 of 2 discovered files "
	    "never completed (b.test.lua)"));
	free(out);
	coverage_release(&c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("coverage");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, test_text_and_incomplete);
	tcase_add_test(tc, test_other_key);
	tcase_add_test(tc, test_html_rollup);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
