/*
 * spawn.h: the one way vm/ starts a process (QEMU, build hooks, zstd).
 *
 * fork+exec with a CLOEXEC notify pipe: if chdir/dup2/exec fails in the
 * child, the parent gets the stage and errno back and spawn_start fails
 * with "could not start X: ...", instead of a child that exits 127.
 * Signals are blocked around fork and reset to default in the child, so
 * a signalfd user's mask does not leak into QEMU.
 */
#ifndef PROVIUM_SPAWN_H
#define PROVIUM_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

struct spawn_opts {
	const char *cwd;          /* NULL: inherit */
	int stdin_fd;             /* -1: /dev/null */
	int stdout_fd;            /* -1: inherit */
	int stderr_fd;            /* -1: inherit */
	bool pdeathsig;           /* SIGKILL the child when the parent dies */
	bool new_pgrp;            /* setpgid(0, 0) */
	bool keep_fds;            /* inherit fds >= 3 not marked CLOEXEC (else none) */
	char *const *envp;        /* NULL: inherit environ */
};
#define SPAWN_OPTS_INIT { .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 }

/*
 * Starts argv[0] (looked up in PATH).  The fds in opts stay open in the
 * parent (caller closes them).  Returns 0 and *pid, or -1 with *err.
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
 * probes that must not hang or crash the caller.  fn may only make
 * syscalls (no malloc, no stdio).  The caller waits with spawn_wait.
 */
int spawn_call(int (*fn)(void *), void *arg, pid_t *pid, char **err);

/* Runs argv to completion; 0 only if it exited 0, else -1 with *err. */
int spawn_run(char *const argv[], const struct spawn_opts *o, char **err);

#endif
