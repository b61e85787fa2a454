/*
 * covrun.h: the --coverage plumbing (seed 000 "Coverage post-run") for the
 * supervisor: where the events go, running provium-coverage after the
 * run, and removing the scratch file only when provium owns it.
 *
 *   struct covrun cr;
 *   fd = covrun_open(&cr, save_events_path_or_NULL, err, sizeof err);
 *        fd >= 0: a scratch file $TMPDIR/provium-coverage-<pid>.msgpack
 *                 (plus the marker <file>.owner): tee every frame to it.
 *        fd == COVRUN_USE_SAVED: --save-events already writes the file.
 *   after the run:  rc = covrun_report(&cr, coverage_bin);  nonzero -> exit 1
 *   always (normal exit, SIGINT/SIGTERM via signalfd, atexit): covrun_cleanup(&cr)
 *
 * covrun_cleanup only uses open/read/close/unlink (async-signal-safe), is
 * idempotent, and removes the file only if the marker names this pid.
 */
#ifndef PROVIUM_COVRUN_H
#define PROVIUM_COVRUN_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#define COVRUN_USE_SAVED (-2)

struct covrun {
	char path[PATH_MAX];
	char marker[PATH_MAX + 8];
	pid_t owner;            /* 0 when the file is the user's */
};

int covrun_open(struct covrun *c, const char *save_events, char *err,
    size_t errlen);
/* Runs `coverage_bin --from PATH` with stdout/stderr inherited; returns
 * its exit status (0 ok), or -1 if it could not be started (err set). */
int covrun_report(const struct covrun *c, const char *coverage_bin,
    char *err, size_t errlen);
void covrun_cleanup(struct covrun *c);

#endif
