/* check_pool.c: the pool's arithmetic, queueing, claims and verdicts. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor/pool.h"

#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)

static struct resource_amount
ra(uint64_t mem, uint32_t cpus)
{
	return (struct resource_amount){ mem, cpus };
}

#define ck_assert_amount(a, mem, c) do { \
	struct resource_amount a_ = (a); \
	ck_assert_uint_eq(a_.memory_bytes, (mem)); \
	ck_assert_uint_eq(a_.cpus, (c)); \
} while (0)

static const struct resource_amount overhead = {
	POOL_RUNNER_OVERHEAD_BYTES, 0
};

static struct resource_amount
available(const struct pool *p)
{
	struct resource_amount a;

	pool_snapshot(p, NULL, &a);
	return a;
}

/* Asserts the next grant and its fields. */
static void
expect_grant(struct pool *p, enum pool_req_kind kind, uint64_t owner,
    uint64_t cookie)
{
	struct pool_grant g;

	ck_assert_int_eq(pool_next_grant(p, &g), 1);
	ck_assert_int_eq(g.status, POOL_GRANTED);
	ck_assert_ptr_null(g.message);
	ck_assert_str_eq(pool_req_kind_name(g.kind), pool_req_kind_name(kind));
	ck_assert_uint_eq(g.owner, owner);
	ck_assert_uint_eq(g.cookie, cookie);
}

static void
expect_no_grant(struct pool *p)
{
	struct pool_grant g;

	ck_assert_int_eq(pool_next_grant(p, &g), 0);
}

/* Expects a failure and checks its message.  errp, not *errp: the
 * call that sets it is an argument evaluated in unspecified order. */
static void
expect_fail(enum pool_status st, char **errp, const char *want)
{
	ck_assert_int_eq(st, POOL_FAILED);
	ck_assert_ptr_nonnull(*errp);
	ck_assert_str_eq(*errp, want);
	free(*errp);
	*errp = NULL;
}

START_TEST(amount_arithmetic)
{
	struct resource_amount big = ra(UINT64_MAX - 1, UINT32_MAX - 1);
	char b[64];

	ck_assert_amount(pool_amount_add(big, ra(5, 5)), UINT64_MAX,
	    UINT32_MAX);
	ck_assert_amount(pool_amount_add(ra(1, 2), ra(3, 4)), 4, 6);
	ck_assert_amount(pool_amount_sub(ra(1, 2), ra(3, 1)), 0, 1);
	ck_assert_amount(pool_amount_sub(ra(10, 0), ra(3, 1)), 7, 0);
	/* fits is <= on both axes: exact fit fits, one over does not. */
	ck_assert(pool_amount_fits(ra(512 * MIB, 2), ra(512 * MIB, 2)));
	ck_assert(!pool_amount_fits(ra(512 * MIB + 1, 2), ra(512 * MIB, 2)));
	ck_assert(!pool_amount_fits(ra(512 * MIB, 3), ra(512 * MIB, 2)));
	ck_assert(pool_amount_fits(ra(0, 0), ra(0, 0)));
	ck_assert(pool_amount_is_zero(ra(0, 0)));
	ck_assert(!pool_amount_is_zero(ra(0, 1)));
	pool_amount_format(ra(612 * MIB, 1), b, sizeof(b));
	ck_assert_str_eq(b, "612 MiB/1 cpu");
	pool_amount_format(ra(2 * GIB, 4), b, sizeof(b));
	ck_assert_str_eq(b, "2 GiB/4 cpus");
	pool_amount_format(ra(50 * MIB, 0), b, sizeof(b));
	ck_assert_str_eq(b, "50 MiB/0 cpus");
}
END_TEST

START_TEST(acquire_release_queue)
{
	struct pool *p = pool_new(ra(1 * GIB, 2));
	struct resource_amount used, avail;
	char *err = NULL;

	ck_assert_int_eq(pool_reserve(p, 1, ra(600 * MIB, 1), 11, "a", &err),
	    POOL_GRANTED);
	ck_assert(pool_would_block(p, 2, ra(600 * MIB, 1)));
	ck_assert(!pool_would_block(p, 2, ra(424 * MIB, 1)));
	ck_assert_int_eq(pool_reserve(p, 2, ra(600 * MIB, 1), 21, "b", &err),
	    POOL_QUEUED);
	ck_assert(pool_owner_waiting(p, 2));
	ck_assert_uint_eq(pool_pending_count(p), 1);
	/* A smaller younger request backfills past the waiting one. */
	ck_assert_int_eq(pool_reserve(p, 3, ra(300 * MIB, 1), 31, "c", &err),
	    POOL_GRANTED);
	pool_snapshot(p, &used, &avail);
	ck_assert_amount(used, 900 * MIB, 2);
	ck_assert_amount(avail, 124 * MIB, 0);
	expect_no_grant(p);

	/* Releasing c frees a cpu but too little memory: b still waits. */
	ck_assert_int_eq(pool_release(p, 3, ra(300 * MIB, 1), &err), 0);
	expect_no_grant(p);
	ck_assert_int_eq(pool_release(p, 1, ra(600 * MIB, 1), &err), 0);
	expect_grant(p, POOL_REQ_RESERVE, 2, 21);
	expect_no_grant(p);
	ck_assert(!pool_owner_waiting(p, 2));
	ck_assert_uint_eq(pool_pending_count(p), 0);
	ck_assert_amount(pool_owner_held(p, 2), 600 * MIB, 1);
	ck_assert_amount(available(p), 424 * MIB, 1);
	ck_assert_int_eq(pool_release(p, 2, ra(600 * MIB, 1), &err), 0);
	ck_assert_amount(available(p), 1 * GIB, 2);
	ck_assert_amount(pool_total(p), 1 * GIB, 2);
	pool_free(p);
}
END_TEST

START_TEST(wake_up_order)
{
	struct pool *p = pool_new(ra(4 * GIB, 3));
	char *err = NULL;

	ck_assert_int_eq(pool_reserve(p, 1, ra(1 * GIB, 3), 1, "a", &err),
	    POOL_GRANTED);
	/* Three waiters, oldest first; all fit once 1 is gone. */
	ck_assert_int_eq(pool_reserve(p, 4, ra(1 * GIB, 1), 40, "d", &err),
	    POOL_QUEUED);
	ck_assert_int_eq(pool_reserve(p, 2, ra(1 * GIB, 1), 20, "b", &err),
	    POOL_QUEUED);
	ck_assert_int_eq(pool_reserve(p, 3, ra(1 * GIB, 1), 30, "c", &err),
	    POOL_QUEUED);
	ck_assert_uint_eq(pool_pending_count(p), 3);
	ck_assert_int_eq(pool_release(p, 1, ra(1 * GIB, 2), &err), 0);
	/* Two cpus free: the two oldest go, in order. */
	expect_grant(p, POOL_REQ_RESERVE, 4, 40);
	expect_grant(p, POOL_REQ_RESERVE, 2, 20);
	expect_no_grant(p);
	ck_assert_int_eq(pool_release(p, 1, ra(0, 1), &err), 0);
	expect_grant(p, POOL_REQ_RESERVE, 3, 30);
	expect_no_grant(p);
	pool_free(p);
}
END_TEST

START_TEST(exceeds_total)
{
	struct pool *p = pool_new(ra(512 * MIB, 2));
	struct resource_amount claim = ra(1 * GIB, 1);
	char *err = NULL;

	expect_fail(pool_reserve(p, 1, ra(612 * MIB, 1), 1, "vm `x`: boot",
	    &err), &err, "vm `x`: boot requested 612 MiB/1 cpu which exceeds "
	    "pool total 512 MiB/2 cpus");
	ck_assert_int_eq(errno, E2BIG);
	expect_fail(pool_reserve(p, 1, ra(100 * MIB, 3), 1, "vm `y`: boot",
	    &err), &err, "vm `y`: boot requested 100 MiB/3 cpus which exceeds "
	    "pool total 512 MiB/2 cpus");
	/* Exactly the total is not "larger". */
	ck_assert_int_eq(pool_reserve(p, 1, ra(512 * MIB, 2), 1, "z", &err),
	    POOL_GRANTED);
	ck_assert_amount(available(p), 0, 0);
	ck_assert_int_eq(pool_reserve(p, 2, ra(1, 0), 2, "w", &err),
	    POOL_QUEUED);
	expect_fail(pool_claim(p, 3, ra(4 * GIB, 1), 1, &err), &err,
	    "provium:claim requested 4 GiB/1 cpu which exceeds pool total "
	    "512 MiB/2 cpus");
	expect_fail(pool_admit(p, 4, overhead, &claim, "file `big.test.lua`",
	    &err), &err, "file `big.test.lua`: runner overhead and "
	    "provium:claim 1 GiB/1 cpu requested 1.0 GiB/1 cpu which exceeds "
	    "pool total 512 MiB/2 cpus");
	ck_assert_uint_eq(pool_pending_count(p), 1);
	pool_free(p);
}
END_TEST

START_TEST(admit_blocks_then_dispatches)
{
	struct pool *p = pool_new(ra(100 * MIB, 1));
	struct pool_owner_end end;
	struct pool_grant g;
	char *err = NULL;

	ck_assert(!pool_would_block(p, 1, overhead));
	ck_assert_int_eq(pool_admit(p, 1, overhead, NULL, "file `a`", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_admit(p, 2, overhead, NULL, "file `b`", &err),
	    POOL_GRANTED);
	/* Third file: 100 MiB is two runners' worth; it must wait. */
	ck_assert(pool_would_block(p, 3, overhead));
	ck_assert_int_eq(pool_admit(p, 3, overhead, NULL, "file `c`", &err),
	    POOL_QUEUED);
	expect_fail(pool_admit(p, 1, overhead, NULL, "file `a`", &err), &err,
	    "file `a`: admitted twice (pool owner 1)");
	expect_fail(pool_admit(p, POOL_ANON, overhead, NULL, "file `z`",
	    &err), &err, "file `z`: pool owner 0 is reserved for anonymous "
	    "holdings");
	expect_fail(pool_claim(p, POOL_ANON, ra(0, 0), 1, &err), &err,
	    "provium:claim: pool owner 0 is reserved for anonymous holdings");
	ck_assert_int_eq(errno, EINVAL);
	pool_release_all(p, 2, &end);
	ck_assert(!end.had_claim);
	ck_assert_amount(end.held, 50 * MIB, 0);
	ck_assert_int_eq(pool_next_grant(p, &g), 1);
	ck_assert_int_eq(g.kind, POOL_REQ_ADMIT);
	ck_assert_uint_eq(g.owner, 3);
	ck_assert_uint_eq(g.cookie, 0);
	ck_assert_amount(g.amount, 50 * MIB, 0);
	expect_no_grant(p);
	pool_free(p);
}
END_TEST

START_TEST(claim_one_shot_and_cap)
{
	struct pool *p = pool_new(ra(4 * GIB, 4));
	struct pool_owner_end end;
	char *err = NULL;

	ck_assert_int_eq(pool_admit(p, 1, overhead, NULL, "file `a`", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_claim(p, 1, ra(1 * GIB, 2), 5, &err),
	    POOL_GRANTED);
	expect_no_grant(p);     /* answered at once, not via a grant */
	ck_assert_amount(available(p), 4 * GIB - 1 * GIB - 50 * MIB, 2);
	expect_fail(pool_claim(p, 1, ra(1 * GIB, 2), 6, &err), &err,
	    "lab claim already held; one-shot per lab");
	ck_assert_int_eq(errno, EALREADY);

	/* Boots draw from the claim, never from the pool. */
	ck_assert_int_eq(pool_reserve(p, 1, ra(612 * MIB, 1), 7,
	    "vm `a`: boot", &err), POOL_GRANTED);
	ck_assert_amount(available(p), 4 * GIB - 1 * GIB - 50 * MIB, 2);
	ck_assert(!pool_would_block(p, 1, ra(3 * GIB, 2)));
	expect_fail(pool_reserve(p, 1, ra(612 * MIB, 1), 8, "vm `b`: boot",
	    &err), &err, "vm `b`: boot needs 612 MiB/1 cpu but the file's "
	    "claim is 1 GiB/2 cpus with 612 MiB/1 cpu already in use; raise "
	    "provium:claim to the file's peak");
	ck_assert_int_eq(pool_reserve(p, 1, ra(412 * MIB, 1), 9,
	    "vm `c`: boot", &err), POOL_GRANTED);
	/* The claim is now exactly full; releasing gives back to it. */
	ck_assert_int_eq(pool_release(p, 1, ra(612 * MIB, 1), &err), 0);
	ck_assert_int_eq(pool_reserve(p, 1, ra(612 * MIB, 1), 10,
	    "vm `b`: boot", &err), POOL_GRANTED);
	expect_fail(pool_release(p, 1, ra(2 * GIB, 1), &err) == -1 ?
	    POOL_FAILED : POOL_GRANTED, &err, "release of 2 GiB/1 cpu is more "
	    "than the file reserved (0 B/0 cpus from the pool, 1 GiB/2 cpus "
	    "from its claim)");

	pool_release_all(p, 1, &end);
	ck_assert(end.had_claim);
	ck_assert_amount(end.claim, 1 * GIB, 2);
	ck_assert_amount(end.held, 1 * GIB + 50 * MIB, 2);
	ck_assert_amount(available(p), 4 * GIB, 4);
	ck_assert_amount(pool_owner_held(p, 1), 0, 0);

	/* A failed claim does not spend the one shot; zero claims are valid. */
	expect_fail(pool_claim(p, 2, ra(8 * GIB, 1), 1, &err), &err,
	    "provium:claim requested 8 GiB/1 cpu which exceeds pool total "
	    "4 GiB/4 cpus");
	ck_assert_int_eq(pool_claim(p, 2, ra(0, 0), 2, &err), POOL_GRANTED);
	expect_fail(pool_reserve(p, 2, ra(1, 0), 3, "vm `z`: boot", &err),
	    &err, "vm `z`: boot needs 1 B/0 cpus but the file's claim is "
	    "0 B/0 cpus with 0 B/0 cpus already in use; raise provium:claim "
	    "to the file's peak");
	pool_release_all(p, 2, &end);
	ck_assert(end.had_claim);
	ck_assert_amount(end.claim, 0, 0);
	pool_free(p);
}
END_TEST

START_TEST(declared_claim_prereserved)
{
	struct pool *p = pool_new(ra(4 * GIB, 4));
	struct resource_amount decl = ra(2 * GIB, 2);
	struct pool_owner_end end;
	struct pool_grant g;
	char *err = NULL;

	ck_assert_int_eq(pool_admit(p, 1, overhead, &decl, "file `a`", &err),
	    POOL_GRANTED);
	ck_assert_amount(available(p), 2 * GIB - 50 * MIB, 2);
	/* The same claim at run time is answered from the reservation. */
	ck_assert_int_eq(pool_claim(p, 1, decl, 3, &err), POOL_GRANTED);
	ck_assert_amount(available(p), 2 * GIB - 50 * MIB, 2);

	/* A smaller run-time claim gives the surplus back at once. */
	ck_assert_int_eq(pool_admit(p, 2, overhead, &(struct resource_amount){
	    1 * GIB, 2 }, "file `b`", &err), POOL_GRANTED);
	ck_assert_amount(available(p), 1 * GIB - 100 * MIB, 0);
	ck_assert_int_eq(pool_claim(p, 2, ra(512 * MIB, 1), 4, &err),
	    POOL_GRANTED);
	ck_assert_amount(available(p), 1536 * MIB - 100 * MIB, 1);
	pool_release_all(p, 2, &end);
	ck_assert(end.had_claim);
	ck_assert_amount(end.claim, 512 * MIB, 1);

	/* A larger one waits only for the difference. */
	ck_assert_int_eq(pool_admit(p, 3, overhead, &(struct resource_amount){
	    1 * GIB, 2 }, "file `c`", &err), POOL_GRANTED);
	ck_assert_amount(available(p), 1 * GIB - 100 * MIB, 0);
	ck_assert_int_eq(pool_claim(p, 3, ra(1 * GIB, 3), 9, &err),
	    POOL_QUEUED);
	ck_assert(pool_owner_waiting(p, 3));
	pool_release_all(p, 1, &end);
	ck_assert(end.had_claim);
	ck_assert_amount(end.claim, 2 * GIB, 2);
	ck_assert_int_eq(pool_next_grant(p, &g), 1);
	ck_assert_int_eq(g.kind, POOL_REQ_CLAIM);
	ck_assert_uint_eq(g.owner, 3);
	ck_assert_uint_eq(g.cookie, 9);
	ck_assert_amount(g.amount, 1 * GIB, 3);
	ck_assert_amount(pool_owner_held(p, 3), 1 * GIB + 50 * MIB, 3);
	ck_assert_int_eq(pool_reserve(p, 3, ra(1 * GIB, 3), 10, "vm", &err),
	    POOL_GRANTED);
	pool_release_all(p, 3, NULL);
	ck_assert_amount(available(p), 4 * GIB, 4);
	pool_free(p);
}
END_TEST

static const char deadlock_msg[] = "the pool is deadlocked: 2 files hold "
    "1.3 GiB/2 cpus of its 4 GiB/2 cpus and every one of them is waiting "
    "for more, while the 2.7 GiB/0 cpus still free serves none of the 2 "
    "waiting requests (this one wants 612 MiB/1 cpu); declare this "
    "file's peak with provium:claim so it is scheduled whole and no boot "
    "waits mid-file";

START_TEST(deadlock_verdict)
{
	struct pool *p = pool_new(ra(4 * GIB, 2));
	struct resource_amount boot = ra(612 * MIB, 1);
	struct pool_owner_end end;
	char *err = NULL;

	ck_assert_int_eq(pool_admit(p, 1, overhead, NULL, "file `a`", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_admit(p, 2, overhead, NULL, "file `b`", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 1, boot, 1, "vm `a1`", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 2, boot, 1, "vm `b1`", &err),
	    POOL_GRANTED);
	/* a waits: b still runs, so it may yet release. */
	ck_assert_int_eq(pool_reserve(p, 1, boot, 2, "vm `a2`", &err),
	    POOL_QUEUED);
	/* b asking too closes the cycle: it fails at once. */
	expect_fail(pool_reserve(p, 2, boot, 2, "vm `b2`", &err), &err,
	    deadlock_msg);
	ck_assert_int_eq(errno, EDEADLK);
	ck_assert(!pool_owner_waiting(p, 2));
	ck_assert_uint_eq(pool_pending_count(p), 1);
	/* b's test fails, its file ends: a goes on. */
	pool_release_all(p, 2, &end);
	ck_assert_uint_eq(end.cancelled, 0);
	expect_grant(p, POOL_REQ_RESERVE, 1, 2);
	expect_no_grant(p);
	pool_release_all(p, 1, NULL);
	ck_assert_amount(available(p), 4 * GIB, 2);
	pool_free(p);
}
END_TEST

START_TEST(verdict_when_the_last_free_holder_leaves)
{
	struct pool *p = pool_new(ra(4 * GIB, 2));
	struct resource_amount boot = ra(612 * MIB, 1);
	struct pool_owner_end end;
	struct pool_grant g;
	char *err = NULL;

	/* A third holder that is not waiting may still release. */
	ck_assert_int_eq(pool_reserve(p, 1, boot, 1, "a1", &err), POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 2, boot, 1, "b1", &err), POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 3, ra(1 * MIB, 0), 1, "c1", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 1, boot, 2, "a2", &err), POOL_QUEUED);
	ck_assert_int_eq(pool_reserve(p, 2, boot, 2, "b2", &err), POOL_QUEUED);
	/* A waiter that holds nothing cannot close a cycle either. */
	ck_assert_int_eq(pool_reserve(p, 4, boot, 1, "d1", &err), POOL_QUEUED);
	ck_assert_uint_eq(pool_pending_count(p), 3);
	/* When the third holder leaves, a and b are both parked holding
	 * everything and no new request will come: the youngest parked
	 * holder request (b2) gets the verdict through the grant list. */
	pool_release_all(p, 3, NULL);
	ck_assert_int_eq(pool_next_grant(p, &g), 1);
	ck_assert_int_eq(g.status, POOL_FAILED);
	ck_assert_int_eq(g.kind, POOL_REQ_RESERVE);
	ck_assert_uint_eq(g.owner, 2);
	ck_assert_uint_eq(g.cookie, 2);
	ck_assert_str_eq(g.message, "the pool is deadlocked: 2 files hold "
	    "1.2 GiB/2 cpus of its 4 GiB/2 cpus and every one of them is "
	    "waiting for more, while the 2.8 GiB/0 cpus still free serves "
	    "none of the 3 waiting requests (this one wants 612 MiB/1 cpu); "
	    "declare this file's peak with provium:claim so it is scheduled "
	    "whole and no boot waits mid-file");
	free(g.message);
	expect_no_grant(p);
	ck_assert(pool_owner_waiting(p, 1));
	ck_assert(!pool_owner_waiting(p, 2));
	/* b's file ends: a gets its boot, d still waits for a cpu. */
	pool_release_all(p, 2, NULL);
	ck_assert_int_eq(pool_next_grant(p, &g), 1);
	ck_assert_int_eq(g.status, POOL_GRANTED);
	ck_assert_ptr_null(g.message);
	ck_assert_uint_eq(g.owner, 1);
	ck_assert_uint_eq(g.cookie, 2);
	expect_no_grant(p);
	ck_assert(pool_owner_waiting(p, 4));
	pool_free(p);

	/* A verdict the supervisor has not taken yet dies with its owner
	 * (and an untaken one is freed by pool_free: ASan checks both). */
	p = pool_new(ra(4 * GIB, 2));
	for (uint64_t o = 1; o <= 3; o++)
		ck_assert_int_eq(pool_reserve(p, o, ra(1 * MIB, o == 3 ? 0 : 1),
		    1, "x1", &err), POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 1, boot, 2, "a2", &err), POOL_QUEUED);
	ck_assert_int_eq(pool_reserve(p, 2, boot, 2, "b2", &err), POOL_QUEUED);
	pool_release_all(p, 3, NULL);
	pool_release_all(p, 2, &end);
	ck_assert_uint_eq(end.untaken, 1);
	expect_grant(p, POOL_REQ_RESERVE, 1, 2);
	ck_assert_int_eq(pool_release(p, 1, ra(1 * MIB, 1), &err), 0);
	ck_assert_int_eq(pool_reserve(p, 4, ra(1 * MIB, 1), 1, "d1", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 4, boot, 2, "d2", &err), POOL_QUEUED);
	ck_assert_int_eq(pool_reserve(p, 5, ra(1 * MIB, 0), 1, "e1", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 1, boot, 3, "a3", &err), POOL_QUEUED);
	/* e drops to nothing by a plain release: the verdict follows. */
	ck_assert_int_eq(pool_release(p, 5, ra(1 * MIB, 0), &err), 0);
	ck_assert_uint_eq(pool_pending_count(p), 1);
	pool_free(p);

	/* A claim that the verdict fails does not spend the one shot. */
	p = pool_new(ra(4 * GIB, 2));
	ck_assert_int_eq(pool_reserve(p, 1, boot, 1, "a1", &err), POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 2, boot, 1, "b1", &err), POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 3, ra(1 * MIB, 0), 1, "c1", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 2, boot, 2, "b2", &err), POOL_QUEUED);
	ck_assert_int_eq(pool_claim(p, 1, ra(0, 2), 7, &err), POOL_QUEUED);
	pool_release_all(p, 3, NULL);
	ck_assert_int_eq(pool_next_grant(p, &g), 1);
	ck_assert_int_eq(g.status, POOL_FAILED);
	ck_assert_int_eq(g.kind, POOL_REQ_CLAIM);
	ck_assert_uint_eq(g.cookie, 7);
	free(g.message);
	ck_assert_int_eq(pool_claim(p, 1, ra(0, 2), 8, &err), POOL_FAILED);
	ck_assert_ptr_nonnull(strstr(err, "the pool is deadlocked: 2 files"));
	free(err);
	err = NULL;
	pool_free(p);

	/* Anonymous holdings switch the verdict off. */
	p = pool_new(ra(4 * GIB, 2));
	ck_assert_int_eq(pool_reserve(p, POOL_ANON, ra(0, 1), 0, "anon", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 1, boot, 1, "a1", &err), POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 1, boot, 2, "a2", &err), POOL_QUEUED);
	ck_assert_int_eq(pool_release(p, POOL_ANON, ra(0, 1), &err), 0);
	expect_grant(p, POOL_REQ_RESERVE, 1, 2);
	pool_free(p);
}
END_TEST

START_TEST(mid_file_requests_first)
{
	struct pool *p = pool_new(ra(8 * GIB, 2));
	struct resource_amount boot = ra(612 * MIB, 1);
	struct pool_owner_end end;
	char *err = NULL;

	for (uint64_t o = 1; o <= 4; o++)
		ck_assert_int_eq(pool_admit(p, o, overhead, NULL, "file",
		    &err), POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 1, boot, 1, "a1", &err), POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 2, boot, 1, "b1", &err), POOL_GRANTED);
	/* c and d wait for their first boot, then a for its second ... */
	ck_assert_int_eq(pool_reserve(p, 3, boot, 1, "c1", &err), POOL_QUEUED);
	ck_assert_int_eq(pool_reserve(p, 4, boot, 1, "d1", &err), POOL_QUEUED);
	ck_assert_int_eq(pool_reserve(p, 1, boot, 2, "a2", &err), POOL_QUEUED);
	/* ... and b's second closes the cycle. */
	expect_fail(pool_reserve(p, 2, boot, 2, "b2", &err), &err,
	    "the pool is deadlocked: 4 files hold 1.4 GiB/2 cpus of its "
	    "8 GiB/2 cpus and every one of them is waiting for more, while "
	    "the 6.6 GiB/0 cpus still free serves none of the 4 waiting "
	    "requests (this one wants 612 MiB/1 cpu); declare this file's "
	    "peak with provium:claim so it is scheduled whole and no boot "
	    "waits mid-file");
	/* b ends: its cpu goes to a (mid-file), not to c's first boot,
	 * which would only have parked c behind a second verdict. */
	pool_release_all(p, 2, &end);
	expect_grant(p, POOL_REQ_RESERVE, 1, 2);
	expect_no_grant(p);
	pool_release_all(p, 1, &end);
	expect_grant(p, POOL_REQ_RESERVE, 3, 1);
	expect_grant(p, POOL_REQ_RESERVE, 4, 1);
	expect_no_grant(p);
	pool_free(p);
}
END_TEST

START_TEST(claimed_pair_never_deadlocks)
{
	struct pool *p = pool_new(ra(4 * GIB, 2));
	struct resource_amount claim = ra(1536 * MIB, 2);
	struct resource_amount boot = ra(612 * MIB, 1);
	struct pool_owner_end end;
	struct pool_grant g;
	char *err = NULL;

	ck_assert_int_eq(pool_admit(p, 1, overhead, &claim, "file `a`", &err),
	    POOL_GRANTED);
	/* b's claim needs both cpus too: b waits whole, before it starts. */
	ck_assert_int_eq(pool_admit(p, 2, overhead, &claim, "file `b`", &err),
	    POOL_QUEUED);
	ck_assert_int_eq(pool_claim(p, 1, claim, 1, &err), POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 1, boot, 2, "vm `a1`", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 1, boot, 3, "vm `a2`", &err),
	    POOL_GRANTED);
	expect_fail(pool_reserve(p, 1, boot, 4, "vm `a3`: boot", &err), &err,
	    "vm `a3`: boot needs 612 MiB/1 cpu but the file's claim is "
	    "1.5 GiB/2 cpus with 1.2 GiB/2 cpus already in use; raise "
	    "provium:claim to the file's peak");
	ck_assert_int_eq(pool_release(p, 1, boot, &err), 0);
	ck_assert_int_eq(pool_release(p, 1, boot, &err), 0);
	pool_release_all(p, 1, &end);
	ck_assert(end.had_claim);
	ck_assert_amount(end.claim, 1536 * MIB, 2);
	ck_assert_int_eq(pool_next_grant(p, &g), 1);
	ck_assert_int_eq(g.kind, POOL_REQ_ADMIT);
	ck_assert_uint_eq(g.owner, 2);
	ck_assert_amount(g.amount, 1536 * MIB + 50 * MIB, 2);
	ck_assert_int_eq(pool_claim(p, 2, claim, 1, &err), POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 2, boot, 2, "vm `b1`", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 2, boot, 3, "vm `b2`", &err),
	    POOL_GRANTED);
	pool_release_all(p, 2, &end);
	ck_assert_amount(available(p), 4 * GIB, 2);
	pool_free(p);
}
END_TEST

START_TEST(release_all_cleans_up)
{
	struct pool *p = pool_new(ra(1 * GIB, 2));
	struct pool_owner_end end;
	char *err = NULL;

	ck_assert_int_eq(pool_admit(p, 1, overhead, NULL, "file `a`", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 1, ra(512 * MIB, 2), 1, "a1", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_admit(p, 2, overhead, NULL, "file `b`", &err),
	    POOL_GRANTED);
	ck_assert_int_eq(pool_reserve(p, 2, ra(512 * MIB, 1), 1, "b1", &err),
	    POOL_QUEUED);
	ck_assert_int_eq(pool_reserve(p, 2, ra(500 * MIB, 1), 2, "b2", &err),
	    POOL_QUEUED);
	ck_assert_int_eq(pool_reserve(p, 3, ra(10 * MIB, 1), 1, "c1", &err),
	    POOL_QUEUED);
	/* a dies: b1 and c1 are granted but not yet taken, b2 waits ... */
	pool_release_all(p, 1, &end);
	ck_assert_amount(end.held, 562 * MIB, 2);
	ck_assert_uint_eq(end.cancelled, 0);
	/* ... and b dies too before the supervisor took them. */
	pool_release_all(p, 2, &end);
	ck_assert_uint_eq(end.untaken, 1);
	ck_assert_uint_eq(end.cancelled, 1);
	ck_assert_amount(end.held, 562 * MIB, 1);
	/* Only c1's grant is left to take. */
	expect_grant(p, POOL_REQ_RESERVE, 3, 1);
	expect_no_grant(p);
	ck_assert_uint_eq(pool_pending_count(p), 0);
	pool_release_all(p, 3, &end);
	ck_assert_amount(available(p), 1 * GIB, 2);
	/* Unknown owners: nothing happens. */
	pool_release_all(p, 99, &end);
	ck_assert_amount(end.held, 0, 0);
	ck_assert(!end.had_claim);
	expect_fail(pool_release(p, 99, ra(1, 0), &err) == -1 ? POOL_FAILED :
	    POOL_GRANTED, &err, "release of 1 B/0 cpus is more than the file "
	    "reserved (0 B/0 cpus from the pool, 0 B/0 cpus from its claim)");
	pool_free(p);
}
END_TEST

START_TEST(no_starvation_of_large_admit)
{
	struct pool *p = pool_new(ra(4 * GIB, 4));
	char *err = NULL;
	uint64_t owner = 1000;

	ck_assert_int_eq(pool_reserve(p, 1, ra(0, 3), 1, "running", &err),
	    POOL_GRANTED);
	/* A big new file waits for 2 cpus ... */
	ck_assert_int_eq(pool_admit(p, 2, ra(50 * MIB, 2), NULL, "file `big`",
	    &err), POOL_QUEUED);
	/* ... while small new files overtake it, up to the limit. */
	for (int i = 0; i < POOL_OVERTAKE_LIMIT; i++, owner++) {
		ck_assert_int_eq(pool_admit(p, owner, ra(50 * MIB, 1), NULL,
		    "file `small`", &err), POOL_GRANTED);
		pool_release_all(p, owner, NULL);
	}
	ck_assert(pool_would_block(p, owner, ra(50 * MIB, 1)));
	ck_assert_int_eq(pool_admit(p, owner, ra(50 * MIB, 1), NULL,
	    "file `small`", &err), POOL_QUEUED);
	/* A running file still gets its boot: holding it back could
	 * deadlock the files already running. */
	ck_assert(!pool_would_block(p, 1, ra(0, 1)));
	ck_assert_int_eq(pool_reserve(p, 1, ra(0, 1), 2, "boot", &err),
	    POOL_GRANTED);
	pool_release_all(p, 1, NULL);
	expect_grant(p, POOL_REQ_ADMIT, 2, 0);
	expect_grant(p, POOL_REQ_ADMIT, owner, 0);
	expect_no_grant(p);
	pool_free(p);
}
END_TEST

START_TEST(no_starvation_across_sweeps)
{
	struct pool *p = pool_new(ra(4 * GIB, 4));
	struct resource_amount small = ra(50 * MIB, 1);
	char *err = NULL;

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pool_reserve(p, 1, ra(0, 1), 1, "vm", &err),
		    POOL_GRANTED);
	ck_assert_int_eq(pool_admit(p, 2, ra(50 * MIB, 2), NULL, "file `big`",
	    &err), POOL_QUEUED);
	for (uint64_t o = 100; o < 110; o++)
		ck_assert_int_eq(pool_admit(p, o, small, NULL, "file", &err),
		    POOL_QUEUED);
	/* One cpu comes free: the small files pass the big one in turn. */
	ck_assert_int_eq(pool_release(p, 1, ra(0, 1), &err), 0);
	for (uint64_t o = 100; o < 100 + POOL_OVERTAKE_LIMIT; o++) {
		expect_grant(p, POOL_REQ_ADMIT, o, 0);
		expect_no_grant(p);
		pool_release_all(p, o, NULL);
	}
	/* Overtaken 8 times: the next small file waits although it fits. */
	expect_no_grant(p);
	ck_assert_uint_eq(pool_pending_count(p), 3);
	ck_assert_int_eq(pool_release(p, 1, ra(0, 1), &err), 0);
	expect_grant(p, POOL_REQ_ADMIT, 2, 0);
	expect_no_grant(p);
	pool_release_all(p, 2, NULL);
	expect_grant(p, POOL_REQ_ADMIT, 100 + POOL_OVERTAKE_LIMIT, 0);
	expect_grant(p, POOL_REQ_ADMIT, 101 + POOL_OVERTAKE_LIMIT, 0);
	expect_no_grant(p);
	pool_free(p);
}
END_TEST

/*
 * Random runs against a model of synchronous runners: whatever happens,
 * the pool never hands out more than it has, accounts for every byte,
 * always leaves a way forward (some holder not parked) and ends full.
 */
#define SIM_OWNERS 6
#define SIM_HELD 8

struct sim_owner {
	bool admitted, waiting, claimed;
	struct resource_amount held[SIM_HELD];
	int nheld;
};

static uint64_t sim_state;

static uint32_t
sim_rand(uint32_t n)
{
	sim_state ^= sim_state << 13;
	sim_state ^= sim_state >> 7;
	sim_state ^= sim_state << 17;
	return (uint32_t)(sim_state % n);
}

static void
sim_check(struct pool *p)
{
	struct resource_amount sum = ra(0, 0), used, avail;
	bool someone_free = false;

	for (uint64_t o = 1; o <= SIM_OWNERS; o++) {
		struct resource_amount h = pool_owner_held(p, o);

		sum = pool_amount_add(sum, h);
		if (!pool_amount_is_zero(h) && !pool_owner_waiting(p, o))
			someone_free = true;
	}
	pool_snapshot(p, &used, &avail);
	ck_assert_amount(used, sum.memory_bytes, sum.cpus);
	ck_assert_amount(pool_amount_add(used, avail),
	    pool_total(p).memory_bytes, pool_total(p).cpus);
	ck_assert(pool_amount_fits(used, pool_total(p)));
	ck_assert_msg(pool_pending_count(p) == 0 || someone_free,
	    "%zu requests parked and no holder can release",
	    pool_pending_count(p));
}

static void
sim_drain(struct pool *p, struct sim_owner *so)
{
	struct pool_grant g;

	while (pool_next_grant(p, &g) == 1) {
		struct sim_owner *w = &so[g.owner];

		ck_assert(w->waiting || g.kind == POOL_REQ_ADMIT);
		w->waiting = false;
		if (g.status == POOL_FAILED) {
			ck_assert_ptr_nonnull(strstr(g.message,
			    "the pool is deadlocked"));
			free(g.message);
			continue;
		}
		if (g.kind == POOL_REQ_ADMIT)
			w->admitted = true;
		else if (g.kind == POOL_REQ_RESERVE && w->nheld < SIM_HELD)
			w->held[w->nheld++] = g.amount;
	}
}

static void
sim_run(uint64_t seed, int steps)
{
	struct pool *p = pool_new(ra(4 * GIB, 4));
	struct sim_owner so[SIM_OWNERS + 1];
	unsigned granted = 0, queued = 0, failed = 0;
	char *err;

	memset(so, 0, sizeof(so));
	sim_state = seed;
	for (int i = 0; i < steps; i++) {
		uint64_t id = 1 + sim_rand(SIM_OWNERS);
		struct sim_owner *w = &so[id];
		struct resource_amount a = ra((1 + sim_rand(6)) * 256 * MIB,
		    sim_rand(3));
		enum pool_status st = POOL_FAILED;
		int k;

		err = NULL;
		if (w->waiting)
			continue;       /* a parked runner sends nothing */
		switch (sim_rand(10)) {
		case 0:
			if (w->admitted)
				continue;
			st = pool_admit(p, id, overhead, sim_rand(3) ? NULL :
			    &a, "file", &err);
			if (st == POOL_GRANTED)
				w->admitted = true;
			break;
		case 1:
			if (!w->admitted || w->claimed)
				continue;
			st = pool_claim(p, id, a, (uint64_t)i, &err);
			w->claimed = st != POOL_FAILED;
			break;
		case 2:
			pool_release_all(p, id, NULL);
			memset(w, 0, sizeof(*w));
			break;
		case 3: case 4: case 5:
			if (w->nheld == 0)
				continue;
			k = (int)sim_rand((uint32_t)w->nheld);
			ck_assert_int_eq(pool_release(p, id, w->held[k], &err),
			    0);
			w->held[k] = w->held[--w->nheld];
			break;
		default:
			if (!w->admitted || w->nheld == SIM_HELD)
				continue;
			st = pool_reserve(p, id, a, (uint64_t)i, "vm", &err);
			if (st == POOL_GRANTED)
				w->held[w->nheld++] = a;
			break;
		}
		if (st == POOL_QUEUED)
			w->waiting = true;
		granted += st == POOL_GRANTED;
		queued += st == POOL_QUEUED;
		failed += st == POOL_FAILED && err != NULL;
		free(err);
		sim_drain(p, so);
		sim_check(p);
	}
	for (uint64_t o = 1; o <= SIM_OWNERS; o++)
		pool_release_all(p, o, NULL);
	sim_drain(p, so);
	ck_assert_uint_eq(pool_pending_count(p), 0);
	ck_assert_amount(available(p), 4 * GIB, 4);
	/* The run must have exercised all three answers. */
	ck_assert_uint_gt(granted, 100);
	ck_assert_uint_gt(queued, 10);
	ck_assert_uint_gt(failed, 0);
	pool_free(p);
}

START_TEST(random_runs_keep_the_books)
{
	for (uint64_t seed = 1; seed <= 20; seed++)
		sim_run(seed * 0x9e3779b97f4a7c15ull, 5000);
}
END_TEST

static char meminfo[256];

static void
write_meminfo(const char *text)
{
	FILE *f = fopen(meminfo, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static int
total_of(const char *mem, const char *cpus, const char *oc,
    struct resource_amount *t, char **notice, char **err)
{
	struct pool_options o = {
		.mem = mem, .cpus = cpus, .cpu_overcommit = oc,
		.meminfo_path = meminfo, .online_cpus = 4,
	};

	return pool_total_from_options(&o, t, notice, err);
}

START_TEST(totals_from_options)
{
	struct resource_amount t;
	char *notice, *err;
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(meminfo, sizeof(meminfo), "%s/check_pool.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	fd = mkstemp(meminfo);
	ck_assert_int_ge(fd, 0);
	close(fd);
	write_meminfo("MemTotal:       16384000 kB\nMemFree: 1 kB\n");
	ck_assert_int_eq(total_of(NULL, NULL, NULL, &t, &notice, &err), 0);
	ck_assert_amount(t, 16384000ull * 1024 / 5 * 4, 4);
	ck_assert_ptr_null(notice);
	ck_assert_int_eq(total_of("4G", "2", "1.5", &t, &notice, &err), 0);
	ck_assert_amount(t, 4 * GIB, 3);
	ck_assert_int_eq(total_of("4g", "3", "0.5", &t, &notice, &err), 0);
	ck_assert_amount(t, 4 * GIB, 2);   /* round(1.5) */
	ck_assert_int_eq(total_of(NULL, "1", "0.5", &t, &notice, &err), 0);
	ck_assert_uint_eq(t.cpus, 1);
	ck_assert_ptr_null(notice);

	ck_assert_int_eq(total_of("512M", NULL, "12", &t, &notice, &err), 0);
	ck_assert_amount(t, 512 * MIB, 32);
	ck_assert_str_eq(notice, "--cpu-overcommit 12 clamped to 8.0 (sane "
	    "range 0.5–8.0)");
	free(notice);
	ck_assert_int_eq(total_of(NULL, NULL, "0.1", &t, &notice, &err), 0);
	ck_assert_uint_eq(t.cpus, 2);
	ck_assert_str_eq(notice, "--cpu-overcommit 0.1 clamped to 0.5 (sane "
	    "range 0.5–8.0)");
	free(notice);

	write_meminfo("MemTotal: 40000 kB\n");
	ck_assert_int_eq(total_of(NULL, NULL, NULL, &t, &notice, &err), -1);
	ck_assert_str_eq(err, "80 % of MemTotal is only 31.2 MiB, less than "
	    "the 50 MiB each file's runner needs; pass --mem");
	free(err);

	/* Unreadable or empty meminfo: 8 GiB. */
	write_meminfo("MemFree: 1 kB\n");
	ck_assert_int_eq(total_of(NULL, NULL, NULL, &t, &notice, &err), 0);
	ck_assert_amount(t, 8 * GIB, 4);
	unlink(meminfo);
	ck_assert_int_eq(total_of(NULL, NULL, NULL, &t, &notice, &err), 0);
	ck_assert_amount(t, 8 * GIB, 4);

	ck_assert_int_eq(total_of("lots", NULL, NULL, &t, &notice, &err), -1);
	ck_assert_str_eq(err, "--mem: cannot parse size `lots` (expected "
	    "bytes or a number followed by K, M, G or T)");
	free(err);
	ck_assert_int_eq(total_of("16777216T", NULL, NULL, &t, &notice, &err),
	    -1);
	ck_assert_str_eq(err, "--mem: size `16777216T` overflows u64");
	free(err);
	ck_assert_int_eq(total_of("1M", NULL, NULL, &t, &notice, &err), -1);
	ck_assert_str_eq(err, "--mem `1M` (1 MiB) leaves no room for the "
	    "50 MiB each file's runner needs");
	free(err);
	ck_assert_int_eq(total_of(NULL, "0", NULL, &t, &notice, &err), -1);
	ck_assert_str_eq(err, "--cpus: cannot parse `0` (expected a whole "
	    "number of CPUs, at least 1)");
	free(err);
	ck_assert_int_eq(total_of(NULL, "-2", NULL, &t, &notice, &err), -1);
	free(err);
	ck_assert_int_eq(total_of(NULL, NULL, "fast", &t, &notice, &err), -1);
	ck_assert_str_eq(err, "--cpu-overcommit: cannot parse `fast` "
	    "(expected a number such as 1.5)");
	free(err);
	ck_assert_int_eq(total_of(NULL, NULL, "nan", &t, &notice, &err), -1);
	free(err);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("pool");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, amount_arithmetic);
	tcase_add_test(tc, acquire_release_queue);
	tcase_add_test(tc, wake_up_order);
	tcase_add_test(tc, exceeds_total);
	tcase_add_test(tc, admit_blocks_then_dispatches);
	tcase_add_test(tc, claim_one_shot_and_cap);
	tcase_add_test(tc, declared_claim_prereserved);
	tcase_add_test(tc, deadlock_verdict);
	tcase_add_test(tc, verdict_when_the_last_free_holder_leaves);
	tcase_add_test(tc, mid_file_requests_first);
	tcase_add_test(tc, claimed_pair_never_deadlocks);
	tcase_add_test(tc, release_all_cleans_up);
	tcase_add_test(tc, no_starvation_of_large_admit);
	tcase_add_test(tc, no_starvation_across_sweeps);
	tcase_add_test(tc, random_runs_keep_the_books);
	tcase_add_test(tc, totals_from_options);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
