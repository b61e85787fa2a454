/*
 * spawn.h: the one way host code starts a process (runners, QEMU, the
 * local agent, build hooks, zstd, provium-coverage); after git's
 * run-command.  vm/ is where it started; supervisor/ and events/ use it too.
 *
 * The child is clone(CLONE_VM | CLONE_VFORK) on a private stack, as
 * glibc's posix_spawn does: no page tables are copied, which is most of
 * what a plain fork of the supervisor costs per test file.  It reports a
 * failure between clone and exec (setpgid, dup2, chdir, exec itself) on a
 * CLOEXEC notify pipe as {stage, errno}, so spawn_start fails with a
 * message naming the stage instead of leaving a child that exits 127.
 * Signals are blocked around the clone; the child resets every handler
 * to SIG_DFL and execs with an empty mask, so neither a signalfd user's
 * mask nor a SIG_IGN leaks into the program.
 */
#ifndef PROVIUM_SPAWN_H
#define PROVIUM_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SPAWN_MAX_FDS 8
/* Every dst must be below this: the child parks sources from here up. */
#define SPAWN_PARK_FD 64

struct spawn_fd {
	int src;        /* fd in the parent (stays open there; caller closes) */
	int dst;        /* its number in the child */
};

struct spawn_opts {
	const char *exe;          /* NULL: argv[0] looked up in PATH */
	const char *cwd;          /* NULL: inherit */
	/*
	 * fd map, applied as if all at once (a src may be another's dst).
	 * Unmapped: fd 0 is /dev/null, fds 1 and 2 are inherited.
	 */
	struct spawn_fd fds[SPAWN_MAX_FDS];
	size_t nfds;
	bool pdeathsig;           /* SIGKILL the child when the parent dies */
	bool new_pgrp;            /* setpgid(0, 0) */
	bool keep_fds;            /* inherit fds >= 3 not marked CLOEXEC (else none) */
	char *const *envp;        /* NULL: inherit environ */
};
#define SPAWN_OPTS_INIT { .exe = NULL }

/*
 * Starts argv.  0 and *pid, or -1 with *err (allocated) naming the stage
 * and the program or directory: "exec /nonexistent/prog: No such file or
 * directory", "chdir /gone: No such file or directory"; a child that
 * failed has already been reaped.  o may be NULL (all defaults).
 */
int spawn_start(char *const argv[], const struct spawn_opts *o, pid_t *pid,
    char **err);

/*
 * Waits for pid (EINTR-safe).  Returns its wait status, or -1 with errno.
 * spawn_describe() renders a status: "exited with status 2",
 * "killed by signal 9 (Killed)".
 */
int spawn_wait(pid_t pid);
char *spawn_describe(int status);

/*
 * Runs fn(arg) in a forked child that exits with its return value; for
 * probes that must not hang or crash the caller (so a real fork, not the
 * suspended-parent clone).  fn may only make syscalls (no malloc, no
 * stdio).  The caller waits with spawn_wait.
 */
int spawn_call(int (*fn)(void *), void *arg, pid_t *pid, char **err);

/* Runs argv to completion; 0 only if it exited 0, else -1 with *err. */
int spawn_run(char *const argv[], const struct spawn_opts *o, char **err);

#endif
