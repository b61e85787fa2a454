/*
 * pool.h: the resource pool that admits files and answers the runners'
 * claim / reserve / release requests.
 *
 * A pure state machine for the supervisor's single poll loop: no thread,
 * no clock, no I/O, nothing blocks.  A request either gets its answer at
 * once (granted or failed) or is queued; queued requests are granted
 * later, when some release makes room, and the caller collects those
 * grants with pool_next_grant().  Every allocated message (char **err) is
 * the caller's to free(); messages carry no "provium:" prefix.
 *
 * Model (upstream §5.1).  The pool has a total {memory_bytes, cpus}.
 * Holders are *owners*: one per test file, an opaque non-zero u64 the
 * caller picks (a file index, a runner id).  Owner POOL_ANON (0) holds
 * anonymously; while it holds anything the deadlock verdict is off,
 * because the pool cannot know whether such a holder will release.
 *
 * Per owner there are three kinds of request:
 *   admit    the dispatch reservation: runner overhead (+ the statically
 *            declared claim, reserved whole).  Once per file.
 *   claim    provium:claim{memory=, cpus=}: reserves the file's peak.
 *            One-shot.  If admit pre-reserved a declared claim, the claim
 *            is answered from it at once (a smaller claim gives the
 *            surplus back; a larger one queues only for the difference).
 *   reserve  a VM boot (memory + VMM overhead, vCPUs).  With an active
 *            claim it draws from the claim and never touches the pool: it
 *            fits or fails at once ("raise provium:claim").  Without one
 *            it takes from the pool and may queue.
 * and release (give back a reserve; claim slices first) and
 * release_all (the file is over, or its runner died).
 *
 * Failing at once instead of queueing:
 *   - larger than the pool total on either axis ("... exceeds pool total");
 *   - a boot beyond the active claim;
 *   - a second claim;
 *   - the deadlock verdict: the request would park an owner that holds
 *     resources while every other holder is parked too and no parked
 *     request fits in what is free.  Nothing can ever be released, so the
 *     request that closes the cycle fails with upstream's message telling
 *     the author to declare provium:claim.  A file whose claim was granted
 *     never parks mid-file, so claimed files never deadlock.  The same
 *     state can also arise without a new request, when a holder that was
 *     not waiting leaves; then the youngest parked request of a holder
 *     fails (through pool_next_grant), so the run never hangs.
 *
 * Queue order: FIFO with backfill.  Each time room appears, queued
 * requests are granted oldest first, those of files already holding VMs
 * or a claim before all others (finishing them frees the most; a first
 * boot would only park one more holder); one that does not fit is skipped
 * and younger ones that fit go ahead of it (so one large request does not
 * block everything behind it).  To keep that large request from starving,
 * once it has been overtaken POOL_OVERTAKE_LIMIT times, no *new file*
 * (an owner holding nothing, i.e. an admit) is granted ahead of it any
 * more; running files' mid-file requests still backfill, since holding
 * those back could deadlock files that are already running, and as
 * running files finish the old request fits.
 *
 * How the supervisor drives it
 *   startup     pool_total_from_options() (print its notice, exit 2 on
 *               error), pool_new(total).
 *   dispatch    (after psi_gate_holds() lets the file through)
 *               pool_admit(p, owner, {POOL_RUNNER_OVERHEAD_BYTES, 0},
 *               declared_claim or NULL, "file `<path>`", &err):
 *                 POOL_GRANTED -> file_dispatched{reservation = overhead
 *                                 (+ declared claim)}, start the runner;
 *                 POOL_QUEUED  -> file_blocked{reason: "pool_full",
 *                                 waiting_for: the same amount}; the
 *                                 grant arrives via pool_next_grant;
 *                 POOL_FAILED  -> the file cannot ever run: complete it
 *                                 (crashed, chunk_error = err).
 *               pool_would_block() answers the same question without
 *               queueing anything.
 *   runner `claim`{id, memory_bytes, cpus}
 *               pool_claim(p, owner, amount, id, &err): GRANTED ->
 *               claim_ok + claim_acquired{amount}; QUEUED -> answer later;
 *               FAILED -> claim_err{message = err}.
 *   runner `reserve`{id, memory_bytes, cpus, what}
 *               pool_reserve(p, owner, amount, id, what, &err): GRANTED ->
 *               reserve_ok; QUEUED -> later; FAILED -> reserve_err{err}.
 *   runner `release`{memory_bytes, cpus}
 *               pool_release(p, owner, amount, &err); -1 means the runner
 *               gave back more than it holds: a protocol error.
 *   after every call (releases, release_all and a claim that gave back
 *   surplus are what produce them) drain pool_next_grant() and answer
 *   each grant by kind:
 *               ADMIT -> file_dispatched + start runner; CLAIM -> claim_ok
 *               + claim_acquired; RESERVE -> reserve_ok.  A grant with
 *               status POOL_FAILED is the deadlock verdict reached on the
 *               standing queue (a holder left and every remaining holder
 *               is parked): answer claim_err / reserve_err{message}.
 *   file end / runner death (exit, crash, timeout, protocol error)
 *               pool_release_all(p, owner, &end): gives everything back,
 *               cancels the owner's queued requests and any grant not yet
 *               taken, and forgets the owner.  end.had_claim -> emit
 *               claim_released{amount = end.claim} (pairs claim_acquired
 *               even when the runner crashed; a declared claim that the
 *               runner never called provium:claim for was only
 *               pre-reserved, had_claim is false, nothing to pair).
 *               Then drain grants.
 *   every 1 s while files run, at start and at the end
 *               pool_snapshot() -> pool_state{used, available}.
 *   watchdog    pool_owner_waiting() is true while an owner has a queued
 *               request: don't count that time against --timeout.
 */
#ifndef PROVIUM_POOL_H
#define PROVIUM_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/event.h"      /* struct resource_amount */

#define POOL_ANON                  ((uint64_t)0)
#define POOL_RUNNER_OVERHEAD_BYTES ((uint64_t)50 << 20)   /* per file, 0 CPU */
#define POOL_VMM_OVERHEAD_BYTES    ((uint64_t)100 << 20)  /* per VM boot */
#define POOL_DEFAULT_VM_MEMORY     ((uint64_t)512 << 20)
#define POOL_DEFAULT_VM_CPUS       1u
#define POOL_FALLBACK_MEMORY       ((uint64_t)8 << 30)    /* no /proc/meminfo */
#define POOL_FALLBACK_CPUS         8u
#define POOL_OVERCOMMIT_MIN        0.5
#define POOL_OVERCOMMIT_MAX        8.0
#define POOL_OVERTAKE_LIMIT        8

/* Saturating arithmetic on both axes; fits = <= on both axes. */
struct resource_amount pool_amount_add(struct resource_amount a,
    struct resource_amount b);
struct resource_amount pool_amount_sub(struct resource_amount a,
    struct resource_amount b);
bool pool_amount_fits(struct resource_amount a, struct resource_amount within);
bool pool_amount_is_zero(struct resource_amount a);
/* "612 MiB/1 cpu", "2 GiB/4 cpus" (size_format for the memory). */
void pool_amount_format(struct resource_amount a, char *buf, size_t len);

/*
 * The pool total from the command line.  Every text member may be NULL
 * for its default:
 *   mem             --mem (size_parse); default 80 % of MemTotal read from
 *                   meminfo_path (NULL: /proc/meminfo), 8 GiB if that is
 *                   unreadable or 0.  Must leave room for one runner.
 *   cpus            --cpus, a positive integer; default the online CPUs
 *                   (online_cpus if > 0, for tests; else sysconf; 8 if that
 *                   fails).
 *   cpu_overcommit  --cpu-overcommit, a number; default 1.0; clamped to
 *                   [0.5, 8.0].  total cpus = round(cpus * overcommit), >= 1.
 * Returns 0 and fills *total; *notice is NULL or an allocated line to print
 * (the clamp: "--cpu-overcommit 12 clamped to 8.0 (sane range 0.5–8.0)").
 * -1 with *err allocated (exit 2), naming the option and the value.
 */
struct pool_options {
	const char *mem;
	const char *cpus;
	const char *cpu_overcommit;
	const char *meminfo_path;
	long online_cpus;
};
int pool_total_from_options(const struct pool_options *o,
    struct resource_amount *total, char **notice, char **err);

struct pool;

/* NULL (ENOMEM) on allocation failure. */
struct pool *pool_new(struct resource_amount total);
/* Frees everything, queued requests and untaken grants included. */
void pool_free(struct pool *p);

enum pool_status {
	POOL_FAILED = -1,       /* *err says why (NULL only on ENOMEM) */
	POOL_GRANTED = 0,       /* held now */
	POOL_QUEUED = 1         /* will come out of pool_next_grant */
};

enum pool_req_kind { POOL_REQ_ADMIT, POOL_REQ_CLAIM, POOL_REQ_RESERVE };

/*
 * admit: overhead plus, when declared_claim is non-NULL, that claim; both
 * are taken together or not at all.  `what` names the file in messages
 * ("file `a.test.lua`").  Over total: "<what>: runner overhead and
 * provium:claim 4 GiB/4 cpus requested 4.0 GiB/4 cpus which exceeds pool
 * total 2 GiB/2 cpus".  Admitting an owner twice fails (EINVAL).  The
 * grant's cookie is 0.  Call pool_release_all at the file's end whatever
 * admit answered.
 */
enum pool_status pool_admit(struct pool *p, uint64_t owner,
    struct resource_amount overhead,
    const struct resource_amount *declared_claim, const char *what,
    char **err);

/*
 * claim: cookie is the runner's message id, returned in the grant.  Second
 * call: "lab claim already held; one-shot per lab" (upstream's wording; a
 * claim that failed does not count).  Zero and partial claims are valid.
 * Over total: "provium:claim requested X which exceeds pool total T".
 */
enum pool_status pool_claim(struct pool *p, uint64_t owner,
    struct resource_amount amount, uint64_t cookie, char **err);

/*
 * reserve: `what` is the runner's label ("vm `web`: boot"); messages:
 *   "<what> requested 612 MiB/1 cpu which exceeds pool total 512 MiB/2 cpus"
 *   "<what> needs X but the file's claim is C with U already in use;
 *    raise provium:claim to the file's peak"
 *   "the pool is deadlocked: ..." (see the top of this file).
 */
enum pool_status pool_reserve(struct pool *p, uint64_t owner,
    struct resource_amount amount, uint64_t cookie, const char *what,
    char **err);

/*
 * Gives back a granted reserve.  It refills the active claim first (per
 * axis), the rest goes back to the pool: the runner's `release` names no
 * reservation, so a boot from before the claim and one drawn from it look
 * the same.  -1 (EINVAL) with *err when the owner's reserves (claim slices
 * plus pool) are smaller than amount.
 */
int pool_release(struct pool *p, uint64_t owner,
    struct resource_amount amount, char **err);

struct pool_owner_end {
	bool had_claim;                 /* a claim was active: claim_released */
	struct resource_amount claim;   /* its amount */
	struct resource_amount held;    /* everything given back (claim incl.) */
	unsigned cancelled;             /* queued requests dropped */
	unsigned untaken;               /* granted but not yet taken: dropped */
};
/* end may be NULL.  Unknown owners are a no-op (end zeroed). */
void pool_release_all(struct pool *p, uint64_t owner,
    struct pool_owner_end *end);

struct pool_grant {
	enum pool_req_kind kind;
	uint64_t owner;
	uint64_t cookie;
	struct resource_amount amount;  /* as requested (admit: overhead + claim) */
	enum pool_status status;        /* POOL_GRANTED or POOL_FAILED */
	char *message;                  /* FAILED: the verdict, caller frees;
	                                 * NULL when granted (or on ENOMEM) */
};
/*
 * 1 and *g filled with the oldest untaken answer to a queued request; 0
 * when there is none.  Answers come out in the order they were decided.
 */
int pool_next_grant(struct pool *p, struct pool_grant *g);

/* Would a reserve of amount by owner queue right now?  (No side effect.) */
bool pool_would_block(const struct pool *p, uint64_t owner,
    struct resource_amount amount);

void pool_snapshot(const struct pool *p, struct resource_amount *used,
    struct resource_amount *available);
struct resource_amount pool_total(const struct pool *p);
size_t pool_pending_count(const struct pool *p);
bool pool_owner_waiting(const struct pool *p, uint64_t owner);
/* What the owner holds from the pool (claim included); zero if unknown. */
struct resource_amount pool_owner_held(const struct pool *p, uint64_t owner);

const char *pool_req_kind_name(enum pool_req_kind k);

#endif
