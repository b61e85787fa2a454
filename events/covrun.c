/* covrun.c: scratch event file + post-run provium-coverage. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events/covrun.h"
#include "vm/spawn.h"

int
covrun_open(struct covrun *c, const char *save_events, char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	char line[64];
	int fd, mfd, n;

	memset(c, 0, sizeof(*c));
	if (save_events) {
		snprintf(c->path, sizeof(c->path), "%s", save_events);
		return COVRUN_USE_SAVED;
	}
	if (!dir || !*dir)
		dir = "/tmp";
	c->owner = getpid();
	snprintf(c->path, sizeof(c->path), "%s/provium-coverage-%d.msgpack", dir,
	    (int)c->owner);
	snprintf(c->marker, sizeof(c->marker), "%s.owner", c->path);
	/* The marker first: a file without it is never ours to delete. */
	mfd = open(c->marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (mfd < 0) {
		snprintf(err, errlen, "--coverage: %s: %s (set TMPDIR to a writable "
		    "directory)", c->marker, strerror(errno));
		c->owner = 0;
		return -1;
	}
	n = snprintf(line, sizeof(line), "provium %d\n", (int)c->owner);
	if (write(mfd, line, (size_t)n) != n) {
		snprintf(err, errlen, "--coverage: %s: %s", c->marker, strerror(errno));
		close(mfd);
		unlink(c->marker);
		c->owner = 0;
		return -1;
	}
	close(mfd);
	fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "--coverage: %s: %s", c->path, strerror(errno));
		unlink(c->marker);
		c->owner = 0;
	}
	return fd;
}

int
covrun_report(const struct covrun *c, const char *coverage_bin, char *err,
    size_t errlen)
{
	char *argv[] = { (char *)coverage_bin, (char *)"--from",
	    (char *)c->path, NULL };
	char *serr;
	pid_t pid;
	int st;

	if (spawn_start(argv, NULL, &pid, &serr) != 0) {
		snprintf(err, errlen, "--coverage: %s (is provium-coverage "
		    "installed next to provium?)", serr ? serr : "out of memory");
		free(serr);
		return -1;
	}
	if ((st = spawn_wait(pid)) < 0) {
		snprintf(err, errlen, "--coverage: waitpid: %s", strerror(errno));
		return -1;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

void
covrun_cleanup(struct covrun *c)
{
	char want[64], got[64];
	int fd, n, w, i;
	ssize_t r;

	if (c->owner == 0)
		return;
	if ((fd = open(c->marker, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	r = read(fd, got, sizeof(got) - 1);
	close(fd);
	/* snprintf is not async-signal-safe; build "provium <pid>\n" by hand */
	memcpy(want, "provium ", 8);
	n = 8;
	for (w = (int)c->owner; w > 0; w /= 10)
		n++;
	want[n] = '\n';
	for (i = n, w = (int)c->owner; w > 0; w /= 10)
		want[--i] = (char)('0' + w % 10);
	if (r == n + 1 && memcmp(got, want, (size_t)n + 1) == 0) {
		unlink(c->path);
		unlink(c->marker);
	}
	c->owner = 0;
}
