/*
 * spawn.h: how the supervisor starts its runners (prefix sup_spawn_:
 * vm/spawn.h, the VM side's helper, owns spawn_).
 *
 * fork+exec with a CLOEXEC notify pipe: if anything between fork and exec
 * fails (setpgid, dup2, exec itself), the child writes {stage, errno} to
 * the pipe and _exits, and sup_spawn_start() returns -1 with a message naming
 * the stage, so "could not start" is never confused with a process that
 * ran and failed.  All signals are blocked around fork; the child only
 * makes async-signal-safe calls, then execs with an empty signal mask
 * (handlers reset to default by exec; SIG_IGN is never used by provium).
 */
#ifndef PROVIUM_SUP_SPAWN_H
#define PROVIUM_SUP_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SUP_SPAWN_MAX_FDS 8

struct sup_spawn_fd {
	int src;        /* fd in the parent (not closed by sup_spawn_start) */
	int dst;        /* fd number in the child */
};

struct sup_spawn_req {
	const char *path;               /* execv path */
	char *const *argv;
	struct sup_spawn_fd fds[SUP_SPAWN_MAX_FDS];  /* every other fd must be CLOEXEC */
	size_t nfds;
	bool new_pgroup;                /* setpgid(0, 0): its own process group */
};

/*
 * Starts req.  0 with *pid set, or -1 with a message in err ("exec
 * /proc/self/exe: No such file or directory"); in the failure case the
 * child has already been reaped.
 */
int sup_spawn_start(const struct sup_spawn_req *req, pid_t *pid, char *err,
    size_t errlen);

#endif
