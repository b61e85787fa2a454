/*
 * sup_int.h: what sup.c (loop, runner lifecycle, event stream) and
 * sup_admit.c (the pool and PSI gate glue) share.  Private to the
 * supervisor's run; sup.h is the interface.
 */
#ifndef PROVIUM_SUP_INT_H
#define PROVIUM_SUP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "events/event.h"
#include "events/frame.h"
#include "supervisor/psi.h"
#include "supervisor/pool.h"
#include "supervisor/render.h"
#include "supervisor/runfile.h"
#include "supervisor/sup.h"

/* After a channel closes, a runner that has not exited gets this long. */
#define EOF_GRACE_NS (5ll * 1000000000)
#define NS_PER_MS 1000000ll

/*
 * A file the supervisor is working on: offered to the pool, running, or
 * completed but not yet printed (the human output is in input order).
 * Allocated when the file is offered, freed once printed, so memory
 * follows what runs, not how many files the run has.
 */
struct sup_file {
	struct runfile rf;
	struct discovered *d;
	size_t idx;                     /* input order */
	bool queued;                    /* its admission waits in the pool */
	pid_t pid;                      /* 0 = not running */
	int chan;                       /* -1 = closed */
	struct frame_reader rd;
	int wstatus;
	char *cause;                    /* why we ended it (protocol, timeout, signal) */
	enum rf_end end;                /* with cause */
	int64_t deadline;               /* file timeout, monotonic ns; 0 = none */
	int64_t eof_deadline;           /* channel closed, runner still alive */
	int64_t pool_wait_since;        /* parked in the pool: timeout paused */
	bool psi_noted;                 /* file_blocked{psi_pressure} emitted */
};

struct sup {
	const struct sup_params *p;
	struct sup_file **fp;           /* by input index; NULL: not offered yet,
	                                 * or completed and printed */
	size_t n, next, completed;
	size_t dropped;                 /* files [0, dropped) were printed */
	bool next_psi_noted;            /* file_blocked{psi} emitted for `next` */
	size_t waiting;                 /* files whose admission the pool queued */
	bool any_failed;                /* a file did not pass */
	struct sup_file **live;         /* running runners; [0, running) */
	size_t running, live_cap;
	struct sup_file **ready;        /* admitted, not started: FIFO */
	size_t ready_head, ready_tail, ready_cap;
	uint8_t rbuf[64 * 1024];        /* channel reads */
	size_t max_running;             /* fd budget, not a policy: the pool decides */
	struct pool *pool;
	struct psi_gate psi;
	int tfd;                        /* 1 Hz: PSI poll, pool_state, progress */
	struct render *render;
	struct rf_out out;
	int devnull;
	int interrupted;                /* signal number */
	int internal_error;
	int64_t t0;
	char *fail_fast;                /* --fail-fast tripped: the not-run cause */
	uint32_t next_cid;               /* VM ids: monotonic from 100, never reused */
};

/* VM cids: every reserve_ok hands out a block of SUP_CID_BLOCK (a joint
 * lab:boot() numbers its VMs from the block's first), so cids in the run
 * are unique and increase from 100, as upstream's. */
#define SUP_FIRST_CID 100u
#define SUP_CID_BLOCK 64u

/* Admitted by the pool, not started yet. */
#define ADMITTED(s) ((s)->ready_tail - (s)->ready_head)

/*
 * Files whose admission may wait in the pool at once.  Past that, the
 * next files are not offered yet: the queue (and its memory) stays
 * bounded however many files the run has, and a window wider than the
 * overtake limit still lets small files pass a big one.
 */
#define SUP_ADMIT_WINDOW (4u * POOL_OVERTAKE_LIMIT)

/* sup.c */
int64_t sup_mono_ns(void);
/* Stamps ts, encodes once, writes to every sink (rf_out.emit). */
void sup_emit(void *ctx, struct event *ev);
/* Starts f's runner (file_dispatched first). */
void sup_dispatch(struct sup *s, struct sup_file *f);
/* Closes f (runfile_finish), gives its resources back, renders it; f may
 * be freed on return. */
void sup_finish(struct sup *s, struct sup_file *f, enum rf_end end,
    const char *cause);
/* The sup_file for input index idx, allocated on first use; NULL when out
 * of memory. */
struct sup_file *sup_file_get(struct sup *s, size_t idx);
/* Appends f to the admitted FIFO; -1 when out of memory. */
int sup_ready_push(struct sup *s, struct sup_file *f);

/* sup_admit.c */
uint64_t sup_owner_of(const struct sup_file *f);
/* runner overhead + declared claim: what file_dispatched reserves */
struct resource_amount sup_reservation(const struct resource_amount *claim);
/* rf_out.request: claim/reserve/release through the pool */
int sup_request(void *ctx, struct runfile *rf, enum rf_request req,
    uint64_t id, struct resource_amount amount, const char *what, char *err,
    size_t errlen);
/* Offers waiting files, takes the pool's grants, starts admitted files. */
void sup_admit(struct sup *s);
/* pool_state{used, available} */
void sup_pool_state(struct sup *s);

#endif
