/*
 * sink.h: where encoded event frames go.
 *
 * The supervisor encodes each event once and hands the msgpack body to
 * every sink of a sink_set.  A sink is a small vtable so further
 * destinations (the events socket, --coverage's scratch file) plug in
 * without touching the loop: implement sink_ops, sink_set_add() it.
 * A sink whose write fails is reported once on stderr and dropped; the
 * run goes on (a consumer that went away must not kill the tests).
 */
#ifndef PROVIUM_SINK_H
#define PROVIUM_SINK_H

#include <stddef.h>
#include <stdint.h>

struct event;
struct sink;

struct sink_ops {
	/* body: one msgpack map (no length prefix); ev: the decoded form. */
	int (*write)(struct sink *s, const void *body, size_t len,
	    const struct event *ev);
	void (*close)(struct sink *s);      /* frees s */
};

struct sink {
	const struct sink_ops *ops;
	const char *name;   /* for messages: "--save-events FILE" */
	int durable;        /* a record (a file): losing it makes the run exit 2 */
};

/* Appends frames to path (created 0644 if missing); flushed per frame. */
struct sink *sink_file_open(const char *path, char *err, size_t errlen);
/* Frames to an fd the caller owns (stdout); not closed by close(). */
struct sink *sink_fd_new(int fd, const char *name);

struct evsock;
struct junit;
/* Forwarders to objects the caller keeps and closes (sink_ext.c). */
struct sink *sink_evsock_new(struct evsock *es, const char *name);
struct sink *sink_junit_new(struct junit *j, const char *name);

#define SINK_SET_MAX 8

struct sink_set {
	struct sink *v[SINK_SET_MAX];
	size_t n;
	uint64_t frames;    /* frames written so far (the next one's index) */
	int lost;           /* a durable sink failed: the record is incomplete */
};

int sink_set_add(struct sink_set *set, struct sink *s);
/* Writes to every sink; a failing sink is closed and removed. */
void sink_set_write(struct sink_set *set, const void *body, size_t len,
    const struct event *ev);
void sink_set_close(struct sink_set *set);

#endif
