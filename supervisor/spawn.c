/*
 * spawn.c: fork+exec with an exec-error pipe (after git's start_command).
 *
 * The "fork" is clone(CLONE_VM | CLONE_VFORK) on a private stack, as
 * glibc's posix_spawn does: the parent is suspended until the child has
 * exec'd or died, and no page tables are copied, which is most of what a
 * plain fork of the supervisor costs per test file.  The child therefore
 * shares our memory: it writes nothing but its own stack and the notify
 * pipe, and calls only async-signal-safe functions.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

enum spawn_stage { ST_SETPGID = 1, ST_DUP, ST_SIGMASK, ST_EXEC };

struct child_err {
	int stage;
	int err;
};

/* Lowest fd the child parks sources on, above any dst we hand out. */
#define PARK_FD 64
#define CHILD_STACK (64 * 1024)

struct child_arg {
	const struct sup_spawn_req *req;
	int notify;
};

static const char *
stage_name(int stage)
{
	switch (stage) {
	case ST_SETPGID: return "setpgid";
	case ST_DUP: return "dup2";
	case ST_SIGMASK: return "sigprocmask";
	case ST_EXEC: return "exec";
	}
	return "start";
}

static void __attribute__((noreturn))
child_die(int fd, int stage)
{
	struct child_err ce = { stage, errno };
	ssize_t n;

	do
		n = write(fd, &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/* Runs between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
child(const struct sup_spawn_req *req, int notify)
{
	int parked[SUP_SPAWN_MAX_FDS];
	sigset_t none;
	size_t i;

	if (req->new_pgroup && setpgid(0, 0) != 0)
		child_die(notify, ST_SETPGID);
	/* Park every source high first, so no dup2 clobbers a later source. */
	for (i = 0; i < req->nfds; i++)
		if ((parked[i] = fcntl(req->fds[i].src, F_DUPFD_CLOEXEC,
		    PARK_FD)) < 0)
			child_die(notify, ST_DUP);
	for (i = 0; i < req->nfds; i++)
		if (dup2(parked[i], req->fds[i].dst) < 0)
			child_die(notify, ST_DUP);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		child_die(notify, ST_SIGMASK);
	execv(req->path, req->argv);
	child_die(notify, ST_EXEC);
}

static int
child_main(void *arg)
{
	const struct child_arg *a = arg;

	child(a->req, a->notify);
}

int
sup_spawn_start(const struct sup_spawn_req *req, pid_t *pid, char *err, size_t errlen)
{
	int pfd[2], saved;
	sigset_t all, old;
	struct child_arg ca;
	void *stack;
	struct child_err ce;
	ssize_t n;
	pid_t p;

	if (req->nfds > SUP_SPAWN_MAX_FDS) {
		snprintf(err, errlen, "spawn %s: too many fds", req->path);
		return -1;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "spawn %s: pipe: %s", req->path,
		    strerror(errno));
		return -1;
	}
	stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		snprintf(err, errlen, "spawn %s: mmap: %s", req->path,
		    strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	ca = (struct child_arg){ req, pfd[1] };
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	/* returns once the child has exec'd or exited (CLONE_VFORK) */
	p = clone(child_main, (char *)stack + CHILD_STACK,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, &ca);
	saved = errno;
	munmap(stack, CHILD_STACK);
	/* Both sides set the group so a kill(-pid) right after us is safe. */
	if (p > 0 && req->new_pgroup)
		(void)setpgid(p, p);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pfd[1]);
	if (p < 0) {
		close(pfd[0]);
		snprintf(err, errlen, "spawn %s: clone: %s", req->path,
		    strerror(saved));
		return -1;
	}
	do
		n = read(pfd[0], &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n == (ssize_t)sizeof(ce)) {
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		snprintf(err, errlen, "%s %s: %s", stage_name(ce.stage),
		    req->path, strerror(ce.err));
		return -1;
	}
	*pid = p;
	return 0;
}
