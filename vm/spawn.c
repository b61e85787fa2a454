/*
 * spawn.c: clone+exec with an exec-error pipe (git's start_command, s6's
 * cspawn, glibc's posix_spawn).
 *
 * The child of clone(CLONE_VM | CLONE_VFORK) shares our memory while we
 * are suspended until it has exec'd or died: it writes nothing but its own
 * stack and the notify pipe, and makes only async-signal-safe calls.  It
 * does share our thread's errno, which we never read after a successful
 * clone.  Nothing else is shared that the options touch: without CLONE_FS
 * and CLONE_FILES, chdir and the fd map change only the child's copies,
 * and PR_SET_PDEATHSIG and setpgid are per process, so every spawn takes
 * this one path (only spawn_call forks).
 */
#include "vm/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/close_range.h>

enum spawn_stage {
	ST_PDEATHSIG = 1, ST_SETPGID, ST_DUP, ST_CHDIR, ST_SIGMASK, ST_EXEC
};

struct child_err {
	int stage;
	int err;
};

/*
 * Our frames plus glibc's execvp, which keeps a PATH_MAX buffer and, for
 * a script without #!, a copy of argv on the stack.
 */
#define CHILD_STACK (128 * 1024)

/* What the child reads; everything was prepared by the parent. */
struct child_arg {
	char *const *argv;
	const struct spawn_opts *o;
	struct spawn_fd fds[SPAWN_MAX_FDS + 1];   /* o->fds + /dev/null on 0 */
	size_t nfds;
	int notify;
	pid_t parent;
};

static const char *
stage_name(int stage)
{
	switch (stage) {
	case ST_PDEATHSIG: return "prctl(PR_SET_PDEATHSIG)";
	case ST_SETPGID: return "setpgid";
	case ST_DUP: return "dup2";
	case ST_CHDIR: return "chdir";
	case ST_SIGMASK: return "sigprocmask";
	case ST_EXEC: return "exec";
	}
	return "start";
}

/*
 * The child runs on a stack ASan never heard of: instrumenting it only
 * makes ASan warn "ignoring requested __asan_handle_no_return" at _exit.
 */
#define CHILD_SIDE __attribute__((no_sanitize_address))

static void CHILD_SIDE __attribute__((noreturn))
child_die(int fd, int stage)
{
	struct child_err ce = { stage, errno };
	ssize_t n;

	do
		n = write(fd, &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/*
 * In a child: every disposition to SIG_DFL.  Our handlers would run on
 * shared memory between the unblock and exec, and a SIG_IGN would survive
 * exec.  The table is the child's own copy (no CLONE_SIGHAND); glibc
 * refuses its own 32 and 33.
 */
static void CHILD_SIDE
reset_handlers(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	for (int s = 1; s < NSIG; s++)
		(void)sigaction(s, &dfl, NULL);
}

/* Between clone and exec: async-signal-safe calls only. */
static void CHILD_SIDE __attribute__((noreturn))
child(const struct child_arg *a)
{
	const struct spawn_opts *o = a->o;
	int parked[SPAWN_MAX_FDS + 1], notify = a->notify;
	sigset_t none;
	size_t i;

	reset_handlers();
	if (o->pdeathsig) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
			child_die(notify, ST_PDEATHSIG);
		/* The parent may have died before the prctl. */
		if (getppid() != a->parent)
			_exit(127);
	}
	if (o->new_pgrp && setpgid(0, 0) != 0)
		child_die(notify, ST_SETPGID);
	/*
	 * Park the notify pipe and every source above any dst first, so no
	 * dup2 clobbers a later source or the pipe.
	 */
	if ((notify = fcntl(notify, F_DUPFD_CLOEXEC, SPAWN_PARK_FD)) < 0)
		child_die(a->notify, ST_DUP);
	for (i = 0; i < a->nfds; i++)
		if ((parked[i] = fcntl(a->fds[i].src, F_DUPFD_CLOEXEC,
		    SPAWN_PARK_FD)) < 0)
			child_die(notify, ST_DUP);
	/*
	 * No inherited fd may reach the program (a runner's channel held
	 * open by QEMU would hide the runner's death): close-on-exec for all
	 * of them, then the map's dup2s clear it on exactly the dsts.
	 */
	if (!o->keep_fds)
		(void)close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
	for (i = 0; i < a->nfds; i++)
		if (dup2(parked[i], a->fds[i].dst) < 0)
			child_die(notify, ST_DUP);
	if (o->cwd && chdir(o->cwd) != 0)
		child_die(notify, ST_CHDIR);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		child_die(notify, ST_SIGMASK);
	if (o->exe && o->envp)
		execve(o->exe, a->argv, o->envp);
	else if (o->exe)
		execv(o->exe, a->argv);
	else if (o->envp)
		execvpe(a->argv[0], a->argv, o->envp);
	else
		execvp(a->argv[0], a->argv);
	child_die(notify, ST_EXEC);
}

static int CHILD_SIDE
child_main(void *arg)
{
	child(arg);
}

/* Fills a->fds from o's map, adding /dev/null on fd 0 when unmapped. */
static int
plan_fds(struct child_arg *a, const struct spawn_opts *o, const char *prog,
    int *devnull, char **err)
{
	bool has0 = false;

	*devnull = -1;
	if (o->nfds > SPAWN_MAX_FDS) {
		(void)asprintf(err, "spawn %s: %zu fds mapped (at most %d)",
		    prog, o->nfds, SPAWN_MAX_FDS);
		return -1;
	}
	for (size_t i = 0; i < o->nfds; i++) {
		if (o->fds[i].dst < 0 || o->fds[i].dst >= SPAWN_PARK_FD ||
		    o->fds[i].src < 0) {
			(void)asprintf(err, "spawn %s: cannot map fd %d to %d "
			    "(targets are 0..%d)", prog, o->fds[i].src,
			    o->fds[i].dst, SPAWN_PARK_FD - 1);
			return -1;
		}
		a->fds[i] = o->fds[i];
		has0 |= o->fds[i].dst == 0;
	}
	a->nfds = o->nfds;
	if (!has0) {
		if ((*devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
			(void)asprintf(err, "spawn %s: /dev/null: %s", prog,
			    strerror(errno));
			return -1;
		}
		a->fds[a->nfds++] = (struct spawn_fd){ *devnull, 0 };
	}
	return 0;
}

int
spawn_start(char *const argv[], const struct spawn_opts *o, pid_t *pid,
    char **err)
{
	static const struct spawn_opts def = SPAWN_OPTS_INIT;
	struct child_arg a = { .argv = argv, .o = o ? o : &def };
	const char *prog;
	int pfd[2], devnull, saved;
	size_t argc = 0, stack_len;
	sigset_t all, old;
	struct child_err ce;
	void *stack;
	ssize_t n;
	pid_t c;

	o = a.o;
	prog = o->exe ? o->exe : argv[0];
	*err = NULL;
	if (plan_fds(&a, o, prog, &devnull, err) != 0)
		return -1;
	while (argv[argc])
		argc++;
	stack_len = (CHILD_STACK + (argc + 3) * sizeof(char *) + 4095) &
	    ~(size_t)4095;
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		(void)asprintf(err, "spawn %s: pipe: %s", prog, strerror(errno));
		goto fail_devnull;
	}
	stack = mmap(NULL, stack_len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		(void)asprintf(err, "spawn %s: mmap: %s", prog, strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		goto fail_devnull;
	}
	a.notify = pfd[1];
	a.parent = getpid();
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	/* returns once the child has exec'd or exited (CLONE_VFORK) */
	c = clone(child_main, (char *)stack + stack_len,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	munmap(stack, stack_len);
	close(pfd[1]);
	if (devnull >= 0)
		close(devnull);
	if (c < 0) {
		close(pfd[0]);
		(void)asprintf(err, "spawn %s: clone: %s", prog, strerror(saved));
		return -1;
	}
	do
		n = read(pfd[0], &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n == (ssize_t)sizeof(ce)) {
		spawn_wait(c);
		(void)asprintf(err, "%s %s: %s", stage_name(ce.stage),
		    ce.stage == ST_CHDIR ? o->cwd : prog, strerror(ce.err));
		return -1;
	}
	*pid = c;
	return 0;
fail_devnull:
	if (devnull >= 0)
		close(devnull);
	return -1;
}

int
spawn_call(int (*fn)(void *), void *arg, pid_t *pid, char **err)
{
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid_t c = fork();
	if (c == 0) {
		sigset_t none;

		reset_handlers();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
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

int
spawn_wait(pid_t pid)
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

char *
spawn_describe(int st)
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

int
spawn_run(char *const argv[], const struct spawn_opts *o, char **err)
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
