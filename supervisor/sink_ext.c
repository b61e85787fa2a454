/*
 * sink_ext.c: sinks over the event consumers of events/: the events
 * socket (fan-out to live clients) and the JUnit writer (fed decoded
 * events, written at the end).  The objects stay owned by the caller; the
 * sinks only forward to them.
 */
#include <stdlib.h>

#include "events/evsock.h"
#include "events/junit.h"
#include "supervisor/sink.h"

struct fwd_sink {
	struct sink base;
	void *obj;
};

static int
evsock_write(struct sink *s, const void *body, size_t len,
    const struct event *ev)
{
	(void)ev;
	/* Never blocks: a slow client is dropped by evsock, not the run. */
	return evsock_publish_body(((struct fwd_sink *)s)->obj, body, len);
}

static int
junit_write_ev(struct sink *s, const void *body, size_t len,
    const struct event *ev)
{
	(void)body, (void)len;
	return junit_feed(((struct fwd_sink *)s)->obj, ev);
}

static void
fwd_close(struct sink *s)
{
	free(s);
}

static const struct sink_ops evsock_ops = { evsock_write, fwd_close };
static const struct sink_ops junit_ops = { junit_write_ev, fwd_close };

static struct sink *
fwd_new(const struct sink_ops *ops, const char *name, void *obj)
{
	struct fwd_sink *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->base.ops = ops;
	f->base.name = name;
	f->obj = obj;
	return &f->base;
}

struct sink *
sink_evsock_new(struct evsock *es, const char *name)
{
	return fwd_new(&evsock_ops, name, es);
}

struct sink *
sink_junit_new(struct junit *j, const char *name)
{
	struct sink *s = fwd_new(&junit_ops, name, j);

	/* the JUnit file is a record: one that missed events is not written
	 * as if it were whole without the run exiting 2 */
	if (s)
		s->durable = 1;
	return s;
}
