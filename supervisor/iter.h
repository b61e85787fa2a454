/*
 * iter.h: one run of the suite, from discovery to the exit code: what
 * `provium [PATHS]` does once, and `provium --watch` once per change.
 *
 * Discovery, then --shard, --rerun-failed (first iteration only), --since,
 * the run's preparation (prep.h), the event sinks of this run (the
 * --save-events file is truncated first under --watch so it holds exactly
 * the latest run; the --events-socket listener is the caller's and
 * outlives the run), sup_run, the JUnit file, the rerun state and the
 * --coverage report.
 */
#ifndef PROVIUM_ITER_H
#define PROVIUM_ITER_H

#include <stdbool.h>

#include "events/covrun.h"
#include "events/event.h"
#include "supervisor/cli.h"
#include "supervisor/render.h"

struct evsock;

struct iter_env {
	const struct cli_opts *o;
	const struct render_opts *ro;
	int sigfd;
	struct resource_amount pool_total;
	double psi_threshold;
	struct evsock *es;              /* --events-socket, kept across runs */
	struct covrun *cov;             /* the caller's (its atexit cleans it) */
	const char *coverage_bin;
	bool rerun;                     /* apply --rerun-failed this time */
};

/* Exit code: 0, 1, 2 (printed why), 128+signal. */
int iter_run(const struct iter_env *e);

#endif
