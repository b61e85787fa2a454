/* sink.c: event frame destinations (file, fd) and the fan-out set. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "events/frame.h"
#include "events/proto.h"
#include "sink.h"

struct fd_sink {
	struct sink base;
	int fd;
	int owned;          /* close fd on close */
	int lock;           /* flock per frame: concurrent writers to one file */
	char *name_buf;
};

static int
fd_sink_write(struct sink *s, const void *body, size_t len,
    const struct event *ev)
{
	struct fd_sink *f = (struct fd_sink *)s;
	int rc;

	(void)ev;
	if (f->lock)
		while (flock(f->fd, LOCK_EX) != 0 && errno == EINTR)
			;
	rc = frame_write(f->fd, body, len, FRAME_MAX_EVENT);
	if (f->lock)
		(void)flock(f->fd, LOCK_UN);
	return rc == FRAME_OK ? 0 : -1;
}

static void
fd_sink_close(struct sink *s)
{
	struct fd_sink *f = (struct fd_sink *)s;

	if (f->owned)
		close(f->fd);
	free(f->name_buf);
	free(f);
}

static const struct sink_ops fd_sink_ops = { fd_sink_write, fd_sink_close };

struct sink *
sink_file_open(const char *path, char *err, size_t errlen)
{
	struct fd_sink *f;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "--save-events %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    asprintf(&f->name_buf, "--save-events %s", path) < 0) {
		free(f);
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->base.ops = &fd_sink_ops;
	f->base.name = f->name_buf;
	f->base.durable = 1;
	f->fd = fd;
	f->owned = 1;
	f->lock = 1;
	return &f->base;
}

struct sink *
sink_fd_new(int fd, const char *name)
{
	struct fd_sink *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->base.ops = &fd_sink_ops;
	f->base.name = name;
	f->fd = fd;
	return &f->base;
}

int
sink_set_add(struct sink_set *set, struct sink *s)
{
	if (set->n == SINK_SET_MAX) {
		errno = ENOSPC;
		return -1;
	}
	set->v[set->n++] = s;
	return 0;
}

void
sink_set_write(struct sink_set *set, const void *body, size_t len,
    const struct event *ev)
{
	size_t i = 0;

	while (i < set->n) {
		struct sink *s = set->v[i];

		if (s->ops->write(s, body, len, ev) == 0) {
			i++;
			continue;
		}
		fprintf(stderr, "provium: %s: write failed at frame %llu (%s); "
		    "events from frame %llu on are lost there\n", s->name,
		    (unsigned long long)set->frames, strerror(errno),
		    (unsigned long long)set->frames);
		if (s->durable)
			set->lost = 1;
		s->ops->close(s);
		memmove(&set->v[i], &set->v[i + 1],
		    (set->n - i - 1) * sizeof(set->v[0]));
		set->n--;
	}
	set->frames++;
}

void
sink_set_close(struct sink_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		set->v[i]->ops->close(set->v[i]);
	set->n = 0;
}
