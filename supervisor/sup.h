/*
 * sup.h: the supervisor's run: dispatch runners, one poll loop, the
 * ordered event stream.
 *
 * One poll loop over a signalfd (SIGCHLD, SIGINT, SIGTERM, SIGHUP), every
 * runner channel, a 1 Hz timerfd (PSI poll, pool_state, progress) and the
 * nearest deadline (file timeouts).  Files start when the resource pool
 * (pool.h) admits them and the PSI gate (psi.h) lets them through; the
 * runners' claim/reserve/release requests are answered from the pool.
 * Each runner is `<self_exe> --runner` from spawn.h, in its own process
 * group, with its channel on fd 3.  Reports are validated by runfile.h;
 * a dead, timed-out or misbehaving runner has its group SIGKILLed and its
 * file closed by runfile_finish(), so the stream keeps every seed-001
 * guarantee.  On SIGINT/SIGTERM/SIGHUP every group is killed, files never
 * dispatched complete `crashed`, and sup_run() returns 128+signal.
 */
#ifndef PROVIUM_SUP_H
#define PROVIUM_SUP_H

#include <stddef.h>
#include <stdint.h>

#include "events/event.h"
#include "supervisor/cli.h"
#include "supervisor/discover.h"
#include "supervisor/render.h"
#include "supervisor/sink.h"

struct sup_params {
	const struct cli_opts *opts;
	struct discover_list *files;    /* borrowed */
	struct sink_set *sinks;         /* borrowed */
	const struct render_opts *render;
	const char *self_exe;           /* what runners are exec'd as */
	struct resource_amount pool_total;  /* pool_total_from_options() */
	double psi_threshold;           /* percent */
	int sigfd;                      /* signalfd; the signals are blocked */
	struct evsock *evsock;          /* --events-socket, polled by the loop, or NULL */
	unsigned char *failed;          /* optional, files->n entries: set to 1
	                                 * for each file that did not pass */
};

/* 0 all passed, 1 some file did not, 2 internal error, 128+sig. */
int sup_run(const struct sup_params *p);

#endif
