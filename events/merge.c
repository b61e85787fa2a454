/* merge.c: merging shard event streams (merge.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/evconn.h"
#include "events/event.h"
#include "events/evread.h"
#include "events/frame.h"
#include "events/merge.h"
#include "events/proto.h"
#include "events/smap.h"

struct input {
	const char *name;
	struct evread r;
	int open;
	int has;                /* head holds a frame */
	int64_t ts;
	const uint8_t *body;
	size_t len;
};

static int
in_open(struct input *in, const char *name, char *err, size_t errlen)
{
	int fd;

	memset(in, 0, sizeof(*in));
	in->name = name;
	if ((fd = evconn_open_file(name, err, errlen)) < 0)
		return -1;
	if (evread_init(&in->r, fd, FRAME_MAX_EVENT) < 0) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	in->open = 1;
	return 0;
}

static void
in_close(struct input *in)
{
	if (!in->open)
		return;
	close(in->r.fd);
	evread_release(&in->r);
	in->open = 0;
}

/* Next frame of in, with its decoded event: 1, 0 at the end, -1 (err). */
static int
in_next(struct input *in, struct event *ev, char *err, size_t errlen)
{
	int rc = evread_next_event(&in->r, ev);

	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", in->name, in->r.err);
		return -1;
	}
	if (rc == 1) {
		in->body = in->r.body;
		in->len = in->r.body_len;
	}
	return rc;
}

/*
 * Every file_discovered.  fd < 0: only checks that no file is in two
 * inputs and finds the earliest discovery ts (*ts).  fd >= 0: writes them
 * restamped with *ts, so the merged stream's ts never go backwards.
 */
static int
write_discovered(const char *const *inputs, size_t n, int fd, int64_t *ts,
    struct merge_stats *st, char *err, size_t errlen)
{
	msgpack_sbuffer sb;
	struct smap seen = SMAP_INIT;
	struct smap_ent *e;
	struct input in;
	struct event ev;
	size_t i;
	int rc = 0, created;

	for (i = 0; i < n && rc == 0; i++) {
		if (in_open(&in, inputs[i], err, errlen) != 0) {
			rc = -1;
			break;
		}
		while (rc == 0 && (rc = in_next(&in, &ev, err, errlen)) == 1) {
			rc = 0;
			if (ev.kind == EVENT_FILE_DISCOVERED) {
				if ((e = smap_put(&seen, ev.path, strlen(ev.path),
				    &created)) == NULL) {
					snprintf(err, errlen, "out of memory");
					rc = -1;
				} else if (!created) {
					snprintf(err, errlen, "`%s` is discovered in both "
					    "%s and %s: the inputs overlap (shards of "
					    "different splits?)", ev.path,
					    (const char *)e->val, inputs[i]);
					rc = -1;
				} else if (fd < 0) {
					e->val = (void *)(uintptr_t)inputs[i];
					if (*ts == 0 || ev.ts < *ts)
						*ts = ev.ts;
				} else {
					e->val = (void *)(uintptr_t)inputs[i];
					st->files++;
					st->frames++;
					ev.ts = *ts;
					if (event_encode(&ev, &sb) != 0) {
						snprintf(err, errlen, "out of memory");
						rc = -1;
						break;
					}
					if (frame_write(fd, sb.data, sb.size,
					    FRAME_MAX_EVENT) != FRAME_OK) {
						snprintf(err, errlen, "write: %s",
						    strerror(errno));
						rc = -1;
					}
					msgpack_sbuffer_destroy(&sb);
				}
			}
			event_clear(&ev);
		}
		in_close(&in);
	}
	smap_clear(&seen);
	return rc < 0 ? -1 : 0;
}

/* Advances in to its next frame that is not file_discovered. */
static int
in_advance(struct input *in, char *err, size_t errlen)
{
	struct event ev;
	int rc;

	in->has = 0;
	while ((rc = in_next(in, &ev, err, errlen)) == 1) {
		int skip = ev.kind == EVENT_FILE_DISCOVERED;

		in->ts = ev.ts;
		event_clear(&ev);
		if (!skip) {
			in->has = 1;
			return 0;
		}
	}
	return rc;
}

/* Pass 2: everything else, by ts. */
static int
write_rest(const char *const *inputs, size_t n, int fd, struct merge_stats *st,
    char *err, size_t errlen)
{
	struct input *in = calloc(n, sizeof(*in));
	size_t i, best;
	int rc = 0;

	if (in == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n && rc == 0; i++)
		if ((rc = in_open(&in[i], inputs[i], err, errlen)) == 0)
			rc = in_advance(&in[i], err, errlen);
	while (rc == 0) {
		for (best = n, i = 0; i < n; i++)
			if (in[i].has && (best == n || in[i].ts < in[best].ts))
				best = i;
		if (best == n)
			break;
		if (frame_write(fd, in[best].body, in[best].len, FRAME_MAX_EVENT) !=
		    FRAME_OK) {
			snprintf(err, errlen, "write: %s", strerror(errno));
			rc = -1;
			break;
		}
		st->frames++;
		rc = in_advance(&in[best], err, errlen);
	}
	for (i = 0; i < n; i++)
		in_close(&in[i]);
	free(in);
	return rc;
}

int
merge_streams(const char *const *inputs, size_t n, const char *out,
    struct merge_stats *st, char *err, size_t errlen)
{
	char *tmp = NULL;
	int64_t ts = 0;
	int fd, rc;

	memset(st, 0, sizeof(*st));
	if (write_discovered(inputs, n, -1, &ts, st, err, errlen) != 0)
		return -1;
	if (strcmp(out, "-") == 0) {
		fd = STDOUT_FILENO;
	} else {
		if (asprintf(&tmp, "%s.tmp.%d", out, (int)getpid()) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644)) < 0) {
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
			free(tmp);
			return -1;
		}
	}
	rc = write_discovered(inputs, n, fd, &ts, st, err, errlen);
	if (rc == 0)
		rc = write_rest(inputs, n, fd, st, err, errlen);
	if (tmp) {
		if (close(fd) != 0 && rc == 0) {
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
			rc = -1;
		}
		if (rc == 0 && rename(tmp, out) != 0) {
			snprintf(err, errlen, "rename %s to %s: %s", tmp, out,
			    strerror(errno));
			rc = -1;
		}
		if (rc != 0)
			(void)unlink(tmp);
		free(tmp);
	}
	return rc;
}
