/*
 * spawn.c: fork+exec with an exec-error pipe (git's start_command, s6's
 * cspawn).  Only async-signal-safe calls between fork and exec.
 */
#include "vm/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/close_range.h>

enum { STAGE_CHDIR = 1, STAGE_DUP = 2, STAGE_EXEC = 3, STAGE_SETUP = 4 };

struct child_err {
	int stage;
	int err;
};

static void child_die(int fd, int stage)
{
	struct child_err ce = { stage, errno };
	ssize_t r = write(fd, &ce, sizeof(ce));
	(void)r;
	_exit(127);
}

/* In a fresh child: default dispositions, nothing blocked. */
static void child_reset_signals(void)
{
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* dup2 that also works when from == to (clears CLOEXEC). */
static int move_fd(int from, int to)
{
	if (from == to)
		return fcntl(from, F_SETFD, 0);
	return dup2(from, to) < 0 ? -1 : 0;
}

int spawn_start(char *const argv[], const struct spawn_opts *o, pid_t *pid,
    char **err)
{
	struct spawn_opts def = SPAWN_OPTS_INIT;
	if (!o)
		o = &def;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		(void)asprintf(err, "could not start %s: pipe: %s", argv[0],
		    strerror(errno));
		return -1;
	}
	int devnull = -1;
	if (o->stdin_fd < 0) {
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull < 0) {
			(void)asprintf(err, "could not start %s: /dev/null: %s",
			    argv[0], strerror(errno));
			close(p[0]);
			close(p[1]);
			return -1;
		}
	}
	pid_t parent = getpid();
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid_t c = fork();
	if (c == 0) {
		child_reset_signals();
		if (o->pdeathsig) {
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
				child_die(p[1], STAGE_SETUP);
			/* The parent may have died before the prctl. */
			if (getppid() != parent)
				_exit(127);
		}
		if (o->new_pgrp && setpgid(0, 0) < 0)
			child_die(p[1], STAGE_SETUP);
		int in = o->stdin_fd >= 0 ? o->stdin_fd : devnull;
		if (move_fd(in, 0) < 0)
			child_die(p[1], STAGE_DUP);
		if (o->stdout_fd >= 0 && move_fd(o->stdout_fd, 1) < 0)
			child_die(p[1], STAGE_DUP);
		if (o->stderr_fd >= 0 && move_fd(o->stderr_fd, 2) < 0)
			child_die(p[1], STAGE_DUP);
		if (o->cwd && chdir(o->cwd) < 0)
			child_die(p[1], STAGE_CHDIR);
		/*
		 * No inherited fd may reach the child (a runner's channel held
		 * open by QEMU would hide the runner's death): mark them all
		 * close-on-exec, which also keeps the notify pipe until exec.
		 */
		if (!o->keep_fds)
			close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
		if (o->envp)
			execvpe(argv[0], argv, o->envp);
		else
			execvp(argv[0], argv);
		child_die(p[1], STAGE_EXEC);
	}
	int fork_errno = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (devnull >= 0)
		close(devnull);
	if (c < 0) {
		close(p[0]);
		(void)asprintf(err, "could not start %s: fork: %s", argv[0],
		    strerror(fork_errno));
		return -1;
	}
	struct child_err ce;
	ssize_t n;
	do
		n = read(p[0], &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof(ce)) {
		spawn_wait(c);
		const char *what = ce.stage == STAGE_CHDIR ? "chdir" :
		    ce.stage == STAGE_DUP ? "dup2" :
		    ce.stage == STAGE_SETUP ? "setup" : "exec";
		if (ce.stage == STAGE_CHDIR)
			(void)asprintf(err, "could not start %s: chdir %s: %s",
			    argv[0], o->cwd, strerror(ce.err));
		else
			(void)asprintf(err, "could not start %s: %s: %s",
			    argv[0], what, strerror(ce.err));
		return -1;
	}
	*pid = c;
	return 0;
}

int spawn_call(int (*fn)(void *), void *arg, pid_t *pid, char **err)
{
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid_t c = fork();
	if (c == 0) {
		child_reset_signals();
		_exit(fn(arg));
	}
	int e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (c < 0) {
		(void)asprintf(err, "fork: %s", strerror(e));
		return -1;
	}
	*pid = c;
	return 0;
}

int spawn_wait(pid_t pid)
{
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, 0);
		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

char *spawn_describe(int st)
{
	char *s = NULL;
	if (WIFEXITED(st))
		(void)asprintf(&s, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		(void)asprintf(&s, "killed by signal %d (%s)", WTERMSIG(st),
		    strsignal(WTERMSIG(st)));
	else
		(void)asprintf(&s, "stopped (status 0x%x)", (unsigned)st);
	return s;
}

int spawn_run(char *const argv[], const struct spawn_opts *o, char **err)
{
	pid_t pid;
	if (spawn_start(argv, o, &pid, err) < 0)
		return -1;
	int st = spawn_wait(pid);
	if (st < 0) {
		(void)asprintf(err, "%s: waitpid: %s", argv[0], strerror(errno));
		return -1;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	char *d = spawn_describe(st);
	(void)asprintf(err, "%s %s", argv[0], d ? d : "failed");
	free(d);
	return -1;
}
