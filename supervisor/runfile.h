/*
 * runfile.h: one test file's state as the supervisor sees it, and the
 * validation of its runner's reports (docs/runner-channel.md).
 *
 * Every runner message goes through runfile_handle(), which checks it
 * against a table of {message, states that allow it, handler}; anything
 * else is a protocol error (-1 with a message; the caller kills the
 * runner).  Valid reports become public events through rf_out.emit, in
 * the order they arrive.  runfile_finish() closes whatever the runner left
 * open (the running test, tests that never ran, VMs, fixture builds, the
 * claim) and emits file_completed: after it, every seed-001 pairing of
 * this file holds whatever the runner did.
 *
 * No I/O here: the loop owns fds and processes; this module is pure state,
 * so it can be unit-tested with a recorded message sequence.
 */
#ifndef PROVIUM_RUNFILE_H
#define PROVIUM_RUNFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "events/event.h"

enum rf_state {
	RF_PENDING,     /* not dispatched */
	RF_SPAWNED,     /* runner started; waiting for hello */
	RF_HELLO,       /* chunk running; waiting for registered */
	RF_READY,       /* registered, between tests */
	RF_IN_TEST,
	RF_DONE,        /* `done` received; only EOF may follow */
	RF_COMPLETED,   /* file_completed emitted */
	RF_STATE_COUNT
};

enum rf_test_status { RT_PENDING, RT_RUNNING, RT_PASSED, RT_FAILED, RT_SKIPPED };

struct rf_test {
	char *name;
	struct meta_value meta;         /* META_MAP */
	enum rf_test_status status;
	char *message;                  /* failure reason or skip reason */
	char *console;                  /* test_failed.console_excerpt, or NULL */
	char **log;
	size_t nlog;
};

/*
 * t:log lines are kept for the file's report (the JSON renderer prints
 * them); a runner caps each test at 1 MiB, this caps the file, so a file
 * of many chatty tests cannot hold the supervisor's memory.  Past it a
 * test's log is the one line RF_LOG_DROPPED.
 */
#define RF_LOG_KEEP_MAX (16u << 20)
#define RF_LOG_DROPPED  "(log not kept: this file's logs passed 16 MiB)"

struct rf_vm { uint32_t cid; char *vm_name; int64_t started; };
struct rf_build { char *path; int64_t started; };

struct runfile {
	const char *display;            /* borrowed: event `path` */
	enum rf_state state;
	struct rf_test *tests;
	size_t ntests;
	size_t cur;                     /* running test, when RF_IN_TEST */
	int64_t started;                /* monotonic ns at dispatch */
	int64_t test_started;
	char *chunk_error;              /* file-level error, human/JSON */
	const char *status;             /* EVENT_STATUS_*, once completed */
	bool claimed;
	struct resource_amount claim;
	struct rf_vm *vms;
	size_t nvms;
	struct rf_build *builds;
	size_t nbuilds;
	uint32_t npassed, nfailed, nskipped;
	size_t log_kept;                /* bytes of t:log lines held, all tests */
};

enum rf_request { RF_REQ_CLAIM, RF_REQ_RESERVE, RF_REQ_RELEASE };

struct rf_out {
	/* Stamps ts and writes ev to the stream; ev's strings are borrowed. */
	void (*emit)(void *ctx, struct event *ev);
	/*
	 * A claim/reserve/release request.  The callee answers the runner
	 * (claim_ok...) now or later; for a granted claim it calls
	 * runfile_claim_granted().  Returns -1 with err filled only when the
	 * request is a protocol error (releasing more than was reserved).
	 */
	int (*request)(void *ctx, struct runfile *rf, enum rf_request req,
	    uint64_t id, struct resource_amount amount, const char *what,
	    char *err, size_t errlen);
	void *ctx;
};

/* How a file ended, for runfile_finish(). */
enum rf_end {
	RF_END_EXITED,      /* runner exited 0 after `done` */
	RF_END_CRASHED,     /* died, protocol error, could not start */
	RF_END_TIMED_OUT,
	RF_END_NOT_RUN,     /* never dispatched (interrupted run) */
};

void runfile_init(struct runfile *rf, const char *display);
/* Dispatch: RF_PENDING -> RF_SPAWNED. */
void runfile_dispatched(struct runfile *rf, int64_t now_mono);

/*
 * Validates and applies one runner message.  0, or -1 with the protocol
 * error in err ("test_passed for `x` while `y` runs").
 */
int runfile_handle(struct runfile *rf, const msgpack_object *msg,
    int64_t now_mono, const struct rf_out *out, char *err, size_t errlen);

/* Emits claim_acquired and records the open claim. */
void runfile_claim_granted(struct runfile *rf, struct resource_amount amount,
    const struct rf_out *out);

/*
 * Closes everything still open and emits file_completed.  cause names
 * what happened for every end but RF_END_EXITED ("runner crashed: killed
 * by SIGSEGV"); it becomes the running test's failure reason, the
 * poisoned tests' parenthesis and, for a crash, the file's chunk_error
 * if the runner reported none.
 */
void runfile_finish(struct runfile *rf, enum rf_end end, const char *cause,
    int64_t now_mono, const struct rf_out *out);

void runfile_clear(struct runfile *rf);

/* "runner crashed: killed by SIGSEGV" / "...: exited with status 3". */
void runfile_describe_wait(int wstatus, bool got_done, char *buf, size_t len);

#endif
