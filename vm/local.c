/*
 * local.c: VMM_BACKEND_LOCAL, provium-agent as a host process.
 *
 * No kernel, no QEMU: "booting" spawns the real agent binary with its
 * protocol on one end of a socketpair (`provium-agent --fd 3`), in its own
 * process group (so destroy can kill whatever it left behind) and its own
 * scratch directory under $TMPDIR as cwd.  PR_SET_PDEATHSIG makes it die
 * with the runner, which is what keeps a crashed runner from leaking it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events/xfmt.h"
#include "vm/spawn.h"
#include "vm/vmm_backend.h"

#define LOCAL_AGENT_FD 3

struct local_vm {
	struct vmm_vm base;   /* first: vmm.c sees only this */
	uint32_t cid;
	pid_t pid;
	int fd;             /* our end of the socketpair */
	int reaped;
	int wstatus;
	char scratch[PATH_MAX];
};

static int
exe_dir(char *buf, size_t n)
{
	ssize_t r = readlink("/proc/self/exe", buf, n - 1);
	char *slash;

	if (r <= 0)
		return -1;
	buf[r] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL) {
		snprintf(buf, n, "<exe>");
		return -1;
	}
	*slash = '\0';
	return 0;
}

/* $PROVIUM_AGENT, else next to our exe, else <exe>/../libexec/provium. */
static int
find_agent(char *out, size_t n, char **err)
{
	const char *env = getenv("PROVIUM_AGENT");
	char dir[PATH_MAX - 64] = "<exe>";

	if (env != NULL && *env != '\0') {
		if (access(env, X_OK) != 0) {
			*err = xfmt("vmm local: $PROVIUM_AGENT=%s is not "
			    "executable: %s", env, strerror(errno));
			return -1;
		}
		snprintf(out, n, "%s", env);
		return 0;
	}
	if (exe_dir(dir, sizeof(dir)) == 0 && n >= PATH_MAX) {
		snprintf(out, n, "%s/provium-agent", dir);
		if (access(out, X_OK) == 0)
			return 0;
		snprintf(out, n, "%s/../libexec/provium/provium-agent", dir);
		if (access(out, X_OK) == 0)
			return 0;
	}
	*err = xfmt("vmm local: provium-agent not found (looked at "
	    "$PROVIUM_AGENT, %s/provium-agent and %s/../libexec/provium/"
	    "provium-agent); build it with `make bins` or set PROVIUM_AGENT",
	    dir, dir);
	return -1;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)f;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void
rm_tree(const char *dir)
{
	if (dir[0] != '\0')
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * A runner that died (SIGKILL, crash) could not remove its VMs' scratch
 * dirs.  Their names carry the runner's pid, so the next boot in the same
 * $TMPDIR removes those whose runner is gone.
 */
static void sweep_stale(const char *tmp);

void
local_sweep_stale(void)
{
	const char *tmp = getenv("TMPDIR");

	sweep_stale(tmp && *tmp ? tmp : "/tmp");
}

static void
sweep_stale(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *e;
	char path[PATH_MAX];
	long pid;
	char *end;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "provium-local-", 14) != 0)
			continue;
		pid = strtol(e->d_name + 14, &end, 10);
		if (*end != '-' || pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", tmp, e->d_name) <
		    (int)sizeof(path))
			rm_tree(path);
	}
	closedir(d);
}

static int
local_boot(const struct vmm_boot_opts *o, struct vmm_vm **impl, char **err)
{
	struct local_vm *l;
	char agent[PATH_MAX], *serr;
	char *argv[] = { (char *)"provium-agent", (char *)"--fd",
	    (char *)"3", NULL };
	struct spawn_opts so = { .exe = agent, .pdeathsig = true,
	    .new_pgrp = true };
	const char *tmp = getenv("TMPDIR");
	int sv[2];
	pid_t parent = getpid();

	*impl = NULL;
	if (find_agent(agent, sizeof(agent), err) != 0)
		return -1;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		*err = xfmt("vmm local: out of memory");
		return -1;
	}
	l->base.ops = &vmm_local_ops;
	l->cid = o->cid;
	l->fd = -1;
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	sweep_stale(tmp);
	snprintf(l->scratch, sizeof(l->scratch),
	    "%s/provium-local-%d-%u-XXXXXX", tmp, (int)parent, o->cid);
	if (mkdtemp(l->scratch) == NULL) {
		*err = xfmt("vmm local: cannot create scratch dir %s: %s "
		    "(check $TMPDIR)", l->scratch, strerror(errno));
		free(l);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		*err = xfmt("vmm local: socketpair: %s", strerror(errno));
		goto fail_dir;
	}
	so.cwd = l->scratch;
	/* The agent's own diagnostics go to our stderr, never our stdout. */
	so.fds[0] = (struct spawn_fd){ 2, 1 };
	so.fds[1] = (struct spawn_fd){ sv[1], LOCAL_AGENT_FD };
	so.nfds = 2;
	if (spawn_start(argv, &so, &l->pid, &serr) != 0) {
		*err = xfmt("vmm local: cannot start the agent: %s",
		    serr ? serr : "out of memory");
		free(serr);
		close(sv[0]); close(sv[1]);
		goto fail_dir;
	}
	close(sv[1]);
	l->fd = sv[0];
	*impl = &l->base;
	return 0;
fail_dir:
	rm_tree(l->scratch);
	free(l);
	return -1;
}

static int
local_agent_fd(const struct vmm_vm *impl)
{
	return ((const struct local_vm *)impl)->fd;
}

static unsigned
local_caps(const struct vmm_vm *impl)
{
	(void)impl;
	return 0;
}

static uint32_t
local_cid(const struct vmm_vm *impl)
{
	return ((const struct local_vm *)impl)->cid;
}

static pid_t
local_pid(const struct vmm_vm *impl)
{
	return ((const struct local_vm *)impl)->pid;
}

static int
local_exited(struct vmm_vm *impl)
{
	struct local_vm *l = (struct local_vm *)impl;

	if (!l->reaped && waitpid(l->pid, &l->wstatus, WNOHANG) == l->pid)
		l->reaped = 1;
	return l->reaped;
}

static char *
local_boot_failed(struct vmm_vm *impl, const char *why)
{
	struct local_vm *l = (struct local_vm *)impl;

	if (!local_exited(impl))
		return xfmt("%s (local agent pid %d still running)", why,
		    (int)l->pid);
	if (WIFSIGNALED(l->wstatus))
		return xfmt("%s (local agent pid %d killed by signal %d)",
		    why, (int)l->pid, WTERMSIG(l->wstatus));
	return xfmt("%s (local agent pid %d exited with status %d)", why,
	    (int)l->pid, WEXITSTATUS(l->wstatus));
}

/* Upstream's LocalAgentVmm wording, pointed at our flag. */
static int
unsupported(const char *what, char **err)
{
	*err = xfmt("vmm local: %s is not supported (no real VM; use "
	    "--vmm qemu)", what);
	errno = ENOTSUP;
	return -1;
}

static int
local_pause(struct vmm_vm *vm, char **err)
{
	(void)vm;
	return unsupported("pause", err);
}

static int
local_resume(struct vmm_vm *vm, char **err)
{
	(void)vm;
	return unsupported("resume", err);
}

static int
local_snapshot(struct vmm_vm *vm, const char *path, char **err)
{
	(void)vm; (void)path;
	return unsupported("snapshot", err);
}

static void
local_destroy(struct vmm_vm *impl, unsigned grace_ms)
{
	struct local_vm *l = (struct local_vm *)impl;
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	unsigned waited = 0;

	if (l == NULL)
		return;
	/* EOF on its channel is the agent's cue to clean up and exit. */
	if (l->fd >= 0)
		close(l->fd);
	while (!local_exited(impl) && waited < grace_ms) {
		nanosleep(&ts, NULL);
		waited += 5;
	}
	kill(-l->pid, SIGKILL);
	if (!l->reaped) {
		while (waitpid(l->pid, &l->wstatus, 0) < 0 && errno == EINTR)
			;
		l->reaped = 1;
	}
	rm_tree(l->scratch);
	free(l);
}

const struct vmm_backend_ops vmm_local_ops = {
	.name = "local",
	.boot = local_boot,
	.agent_fd = local_agent_fd,
	.caps = local_caps,
	.cid = local_cid,
	.pid = local_pid,
	.exited = local_exited,
	.boot_failed = local_boot_failed,
	.pause = local_pause,
	.resume = local_resume,
	.snapshot = local_snapshot,
	.destroy = local_destroy,
};
