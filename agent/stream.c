/* stream.c: subscriptions (tail_file, fd_stream, proc_stream) and cancel. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "events/mp.h"

struct stream *
stream_new(struct agent *a, uint64_t id, enum stream_type t)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (s == NULL)
		abort();
	s->id = id;
	s->type = t;
	s->fd = -1;
	s->next = a->streams;
	a->streams = s;
	return s;
}

void
stream_end(struct agent *a, struct stream *s, int err, const char *msg)
{
	if (s->dead)
		return;
	agent_send_stream_end(a, s->id, err, msg);
	s->dead = true;
	if (s->proc != NULL && s->proc->stream[s->chan] == s)
		s->proc->stream[s->chan] = NULL;
	s->proc = NULL;
}

bool
stream_throttled(const struct agent *a)
{
	return a->out.bytes >= AGENT_STREAM_HIWAT;
}

static void
stream_fail(struct agent *a, struct stream *s, int err)
{
	char msg[128];

	strncpy(msg, strerror(err), sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	stream_end(a, s, err, msg);
}

/* Pipes, FIFOs, ttys: read what poll said is there. */
void
stream_io(struct agent *a, struct stream *s)
{
	uint8_t buf[AGENT_CHUNK];
	ssize_t n;

	if (s->dead)
		return;
	n = read(s->fd, buf, sizeof(buf));
	if (n > 0)
		agent_send_stream_frame(a, s->id, buf, (size_t)n);
	else if (n == 0)
		stream_end(a, s, 0, NULL);
	else if (errno != EAGAIN && errno != EINTR)
		stream_fail(a, s, errno);
}

/* Regular files: poll by size every AGENT_TAIL_POLL_MS (no inotify:
 * it works the same on every filesystem, including 9p and overlays). */
static void
tail_poll(struct agent *a, struct stream *s, int64_t now)
{
	uint8_t buf[AGENT_CHUNK];
	struct stat st;
	int k;

	s->next_ms = now + AGENT_TAIL_POLL_MS;
	if (fstat(s->fd, &st) != 0) {
		stream_fail(a, s, errno);
		return;
	}
	if (st.st_size < s->pos)
		s->pos = 0;
	for (k = 0; k < 16 && !stream_throttled(a); k++) {
		ssize_t n = pread(s->fd, buf, sizeof(buf), s->pos);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			stream_fail(a, s, errno);
			return;
		}
		if (n == 0)
			return;
		agent_send_stream_frame(a, s->id, buf, (size_t)n);
		s->pos += n;
		if ((size_t)n < sizeof(buf))
			return;
	}
	s->next_ms = now;       /* more to read: come back at once */
}

void
stream_tick(struct agent *a, int64_t now)
{
	struct stream *s;

	for (s = a->streams; s != NULL; s = s->next) {
		if (s->dead || !s->regular || now < s->next_ms ||
		    stream_throttled(a))
			continue;
		tail_poll(a, s, now);
	}
}

int64_t
stream_next_deadline(struct agent *a)
{
	struct stream *s;
	int64_t next = 0;

	if (stream_throttled(a))
		return 0;       /* POLLOUT on the connection wakes us */
	for (s = a->streams; s != NULL; s = s->next) {
		if (s->dead || !s->regular)
			continue;
		if (next == 0 || s->next_ms < next)
			next = s->next_ms;
	}
	return next == 0 ? 0 : (next < 1 ? 1 : next);
}

void
stream_op_cancel(struct agent *a, struct req *r, const msgpack_object *d)
{
	struct args g;
	uint64_t id;
	struct stream *s;

	args_init(&g, d, r->kind);
	id = arg_u64(&g, "stream", 0, true);
	if (args_reject(a, r, &g))
		return;
	for (s = a->streams; s != NULL; s = s->next) {
		if (s->id == id && !s->dead) {
			stream_end(a, s, 0, NULL);
			break;
		}
	}
	if (s == NULL && worker_forward_cancel(a, r, id))
		return;
	req_ok_nil(a, r);
}
