/*
 * watch.h: --watch's waiting between runs.
 *
 * Every WATCH_POLL_MS the test files are discovered again and summed up
 * (paths, mtimes, sizes, or the discovery error); any difference means
 * run again.  Meanwhile the --events-socket listener keeps accepting and
 * serving clients, so they stay connected across runs, and children left
 * over are reaped.
 */
#ifndef PROVIUM_WATCH_H
#define PROVIUM_WATCH_H

#include <stdint.h>

#include "supervisor/cli.h"

#define WATCH_POLL_MS 500

struct evsock;

/* The current state of the files o selects (never fails: an error is a state). */
uint64_t watch_signature(const struct cli_opts *o);

/*
 * Waits until watch_signature() differs from *sig (updated; returns 0)
 * or SIGINT/SIGTERM/SIGHUP arrives on sigfd (returns the signal).
 */
int watch_wait(const struct cli_opts *o, int sigfd, struct evsock *es,
    uint64_t *sig);

#endif
