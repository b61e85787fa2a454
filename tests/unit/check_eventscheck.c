/* check_eventscheck.c: the seed-001 guarantee checker, event by event,
 * with exact messages and frame indices. */
#include <check.h>
#include <stdint.h>

#include "events/check.h"
#include "evtest.h"

static struct check c;
static uint64_t frame;

static void
feed(enum event_kind k, const char *path, const char *name)
{
	struct event e = ev_mk(k, path, name);

	ck_assert_int_eq(check_feed(&c, frame++, &e), 0);
	event_clear(&e);
}

static void
setup(void)
{
	check_init(&c);
	frame = 0;
}

static void
teardown(void)
{
	check_release(&c);
}

static void
assert_v(size_t i, uint64_t f, const char *msg)
{
	ck_assert_uint_gt(c.nv, i);
	ck_assert_uint_eq(c.v[i].frame, f);
	ck_assert_str_eq(c.v[i].msg, msg);
}

START_TEST(test_clean_run)
{
	feed(EVENT_FILE_DISCOVERED, "a", NULL);
	feed(EVENT_FILE_BLOCKED, "a", NULL);
	feed(EVENT_FILE_DISPATCHED, "a", NULL);
	ck_assert(!check_complete(&c));
	feed(EVENT_CLAIM_ACQUIRED, "a", NULL);
	feed(EVENT_TEST_STARTED, "a", "t");
	feed(EVENT_TEST_SKIPPED, "a", "t");
	feed(EVENT_FIXTURE_BUILD_WAITING, "fx", NULL);
	feed(EVENT_FIXTURE_BUILD_STARTED, "fx", NULL);
	feed(EVENT_FIXTURE_BUILD_DONE, "fx", NULL);
	feed(EVENT_FIXTURE_CACHE_HIT, "fx", NULL);
	feed(EVENT_VM_SPAWNED, "a", "vm");
	feed(EVENT_VM_SHUTDOWN, "a", "vm");
	feed(EVENT_CLAIM_RELEASED, "a", NULL);
	feed(EVENT_POOL_STATE, "", NULL);
	feed(EVENT_FILE_COMPLETED, "a", NULL);
	ck_assert_int_eq(check_finish(&c), 0);
	ck_assert_uint_eq(c.nv, 0);
	ck_assert(check_complete(&c));
}
END_TEST

START_TEST(test_file_lifecycle)
{
	const char **inc;

	feed(EVENT_FILE_DISCOVERED, "a", NULL);
	feed(EVENT_FILE_DISCOVERED, "a", NULL);
	feed(EVENT_FILE_DISCOVERED, "b", NULL);
	feed(EVENT_FILE_COMPLETED, "b", NULL);
	feed(EVENT_FILE_DISPATCHED, "a", NULL);
	feed(EVENT_FILE_DISCOVERED, "c", NULL);
	feed(EVENT_FILE_BLOCKED, "a", NULL);
	feed(EVENT_FILE_DISPATCHED, "ghost", NULL);
	ck_assert_int_eq(check_finish(&c), 0);
	assert_v(0, 1, "file_discovered: `a` discovered twice");
	assert_v(1, 3, "file_completed: `b` completed without file_dispatched");
	assert_v(2, 5, "file_discovered: `c` discovered after dispatching began");
	assert_v(3, 6, "file_blocked: `a` blocked after it was dispatched");
	assert_v(4, 7, "file_dispatched: `ghost` was never discovered");
	assert_v(5, UINT64_MAX, "incomplete run: `a` was dispatched but never completed");
	assert_v(6, UINT64_MAX, "incomplete run: `c` was discovered but never completed");
	assert_v(7, UINT64_MAX, "incomplete run: `ghost` was dispatched but never completed");
	ck_assert_uint_eq(c.nv, 8);
	ck_assert_uint_eq(check_incomplete(&c, &inc), 3);
	ck_assert_str_eq(inc[0], "a");
	ck_assert_str_eq(inc[2], "ghost");
}
END_TEST

START_TEST(test_tests_and_pairs)
{
	feed(EVENT_FILE_DISCOVERED, "a", NULL);
	feed(EVENT_TEST_STARTED, "a", "early");             /* 1 */
	feed(EVENT_FILE_DISPATCHED, "a", NULL);
	feed(EVENT_TEST_PASSED, "a", "nostart");            /* 3 */
	feed(EVENT_TEST_STARTED, "a", "t");
	feed(EVENT_TEST_FAILED, "a", "t");
	feed(EVENT_TEST_PASSED, "a", "t");                  /* 6 */
	feed(EVENT_CLAIM_RELEASED, "a", NULL);              /* 7 */
	feed(EVENT_CLAIM_ACQUIRED, "a", NULL);
	feed(EVENT_CLAIM_ACQUIRED, "a", NULL);              /* 9 */
	feed(EVENT_FIXTURE_CACHE_HIT, "fx", NULL);
	feed(EVENT_FIXTURE_BUILD_STARTED, "fx", NULL);      /* 11 */
	feed(EVENT_FIXTURE_CACHE_HIT, "fx", NULL);          /* 12 */
	feed(EVENT_VM_SHUTDOWN, "a", "v");                  /* 13 */
	feed(EVENT_FILE_COMPLETED, "a", NULL);
	feed(EVENT_TEST_SKIPPED, "a", "late");              /* 15 */
	ck_assert_int_eq(check_finish(&c), 0);
	assert_v(0, 1, "test_started: `a` test `early` before its file was dispatched");
	assert_v(1, 3, "test_passed: `a` test `nostart` has no test_started");
	assert_v(2, 6, "test_passed: `a` test `t` already has a result");
	assert_v(3, 7, "claim_released: `a` without a matching claim_acquired");
	assert_v(4, 9, "claim_acquired: `a` opened again before it was closed");
	assert_v(5, 11, "fixture_build_started: `fx` rebuilt right after a "
	    "fixture_cache_hit (cache hit on an entry that was not restored)");
	assert_v(6, 12, "fixture_cache_hit: `fx` reported while it is being built");
	assert_v(7, 13, "vm_shutdown: `a vm v` without a matching vm_spawned");
	assert_v(8, 15, "test_skipped: `a` test `late` after its file completed");
	assert_v(9, 15, "test_skipped: `a` test `late` has no test_started");
	assert_v(10, UINT64_MAX, "test_started: `a` test `early` never got a result");
	assert_v(11, UINT64_MAX, "claim_acquired: `a` never released");
	assert_v(12, UINT64_MAX, "fixture_build_started: `fx` never done");
	ck_assert_uint_eq(c.nv, 13);
	ck_assert(check_complete(&c));
}
END_TEST

START_TEST(test_cap_and_bad_frame)
{
	c.max_violations = 2;
	ck_assert_int_eq(check_bad_frame(&c, 0, "unknown kind `x`"), 0);
	feed(EVENT_FILE_DISPATCHED, "g1", NULL);
	feed(EVENT_FILE_DISPATCHED, "g2", NULL);
	assert_v(0, 0, "undecodable event: unknown kind `x`");
	ck_assert_uint_eq(c.nv, 2);
	ck_assert_uint_eq(c.dropped, 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("eventscheck");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int nf;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_clean_run);
	tcase_add_test(tc, test_file_lifecycle);
	tcase_add_test(tc, test_tests_and_pairs);
	tcase_add_test(tc, test_cap_and_bad_frame);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
