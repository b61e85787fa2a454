/* agent_client.c: multiplexed request/reply and stream client for the agent. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "events/frame.h"
#include "events/mp.h"
#include "events/proto.h"
#include "events/xfmt.h"
#include "agent_client.h"

/* A stream's undelivered bytes; past this the stream ends in error. */
#define AC_STREAM_CAP (256u * 1024 * 1024)

struct ac_msg {            /* a reply nobody has collected yet */
	uint64_t id;
	uint8_t *body;
	size_t len;
	struct ac_msg *next;
};

struct ac_stream {
	uint64_t id;
	char *buf;
	size_t off, len, cap;
	bool ended;
	int end_errno;
	char *end_msg;
	struct ac_stream *next;
};

struct ac {
	int fd;
	uint64_t next_id;
	struct frame_reader rd;
	struct ac_msg *parked;
	struct ac_stream *streams;
	uint64_t *abandoned;
	size_t nab, capab;
	char *dead;
	char *os, *version, *kernel;
};

int64_t
ac_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
ac_status_name(int st)
{
	static const char *const n[] = { "ok", "os error", "agent error",
	    "timeout", "dead", "protocol", "version", "nomem" };

	return st >= 0 && st <= AC_NOMEM ? n[st] : "?";
}

struct ac *
ac_new(int fd)
{
	struct ac *c = calloc(1, sizeof(*c));
	int fl;

	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->next_id = 1;
	c->rd = (struct frame_reader)FRAME_READER_INIT(FRAME_MAX_AGENT);
	if ((fl = fcntl(fd, F_GETFL)) >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	return c;
}

static void
stream_free(struct ac_stream *s)
{
	free(s->buf);
	free(s->end_msg);
	free(s);
}

void
ac_free(struct ac *c)
{
	struct ac_msg *m;
	struct ac_stream *s;

	if (c == NULL)
		return;
	while ((m = c->parked) != NULL) {
		c->parked = m->next;
		free(m->body);
		free(m);
	}
	while ((s = c->streams) != NULL) {
		c->streams = s->next;
		stream_free(s);
	}
	frame_reader_clear(&c->rd);
	free(c->abandoned);
	free(c->dead);
	free(c->os);
	free(c->version);
	free(c->kernel);
	free(c);
}

const char *ac_dead_reason(const struct ac *c) { return c->dead; }
const char *ac_agent_version(const struct ac *c) { return c->version; }
const char *ac_agent_kernel(const struct ac *c) { return c->kernel; }
const char *ac_agent_os(const struct ac *c) { return c->os; }

void
ac_kill(struct ac *c, const char *why)
{
	if (c->dead == NULL)
		c->dead = strdup(why);
}

static int
dead_err(struct ac *c, char **err)
{
	*err = xfmt("agent connection lost: %s", c->dead ? c->dead : "?");
	return AC_DEAD;
}

void
ac_req_begin(struct ac *c, struct ac_req *r, const char *kind)
{
	msgpack_sbuffer_init(&r->sb);
	msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
	r->id = c->next_id++;
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	msgpack_pack_map(&r->pk, 3);
	mp_kv_u64(&r->pk, "id", r->id);
	mp_kv_str(&r->pk, "kind", kind);
	mp_str(&r->pk, "data");
}

void
ac_req_reserve(struct ac_req *r, size_t n)
{
	char *d;

	if (r->sb.alloc - r->sb.size >= n)
		return;
	/* On failure msgpack's own growth (and its error) still applies. */
	if ((d = realloc(r->sb.data, r->sb.size + n)) != NULL) {
		r->sb.data = d;
		r->sb.alloc = r->sb.size + n;
	}
}

void
ac_req_done(struct ac_req *r)
{
	msgpack_sbuffer_destroy(&r->sb);
}

/* frame_write's framing, but MSG_NOSIGNAL: a dead agent is EPIPE, not SIGPIPE. */
static int
send_frame(struct ac *c, const void *body, size_t len)
{
	uint8_t hdr[4];
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t done = 0, total = len + 4;
	ssize_t n;

	if (len > FRAME_MAX_AGENT)
		return FRAME_OVERSIZE;
	frame_header(hdr, (uint32_t)len);
	while (done < total) {
		if (done < 4) {
			iov[0] = (struct iovec){ hdr + done, 4 - done };
			iov[1] = (struct iovec){ (void *)(uintptr_t)body, len };
			mh.msg_iov = iov;
			mh.msg_iovlen = 2;
		} else {
			iov[0] = (struct iovec){
			    (uint8_t *)(uintptr_t)body + (done - 4),
			    total - done };
			mh.msg_iov = iov;
			mh.msg_iovlen = 1;
		}
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/* Keep draining replies: the agent may be
				 * blocked writing to us. */
				struct pollfd p = { c->fd, POLLOUT, 0 };
				poll(&p, 1, 100);
				ac_pump(c);
				if (c->dead != NULL)
					return FRAME_IO;
				continue;
			}
			return FRAME_IO;
		}
		done += (size_t)n;
	}
	return FRAME_OK;
}

int
ac_req_send(struct ac *c, struct ac_req *r, char **err)
{
	int rc;

	if (c->dead != NULL)
		return dead_err(c, err);
	rc = send_frame(c, r->sb.data, r->sb.size);
	if (rc == FRAME_OVERSIZE) {
		*err = xfmt("agent request `%s` of %zu bytes exceeds the "
		    "%u-byte frame cap", r->kind, r->sb.size,
		    (unsigned)FRAME_MAX_AGENT);
		return AC_PROTOCOL;
	}
	if (rc != FRAME_OK) {
		if (c->dead == NULL)
			c->dead = xfmt("write: %s", strerror(errno));
		return dead_err(c, err);
	}
	return AC_OK;
}

static bool
take_abandoned(struct ac *c, uint64_t id)
{
	for (size_t i = 0; i < c->nab; i++) {
		if (c->abandoned[i] == id) {
			c->abandoned[i] = c->abandoned[--c->nab];
			return true;
		}
	}
	return false;
}

void
ac_abandon(struct ac *c, uint64_t id)
{
	struct ac_msg **pp, *m;

	for (pp = &c->parked; (m = *pp) != NULL; pp = &m->next) {
		if (m->id == id) {
			*pp = m->next;
			free(m->body);
			free(m);
			return;
		}
	}
	if (c->nab == c->capab) {
		size_t n = c->capab ? c->capab * 2 : 8;
		uint64_t *a = realloc(c->abandoned, n * sizeof(*a));
		if (a == NULL)
			return;
		c->abandoned = a;
		c->capab = n;
	}
	c->abandoned[c->nab++] = id;
}

static struct ac_stream *
stream_find(struct ac *c, uint64_t id)
{
	struct ac_stream *s;

	for (s = c->streams; s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

int
ac_stream_add(struct ac *c, uint64_t id)
{
	struct ac_stream *s;

	if (stream_find(c, id) != NULL)
		return 0;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	s->id = id;
	s->next = c->streams;
	c->streams = s;
	return 0;
}

static void
stream_append(struct ac_stream *s, const char *p, size_t n)
{
	if (s->ended)
		return;
	if (s->off > 0 && s->off == s->len)
		s->off = s->len = 0;
	if (s->len - s->off + n > AC_STREAM_CAP) {
		s->ended = true;
		s->end_errno = ENOBUFS;
		s->end_msg = xfmt("more than %u bytes buffered and unread",
		    AC_STREAM_CAP);
		return;
	}
	if (s->len + n > s->cap) {
		if (s->off > 0) {
			memmove(s->buf, s->buf + s->off, s->len - s->off);
			s->len -= s->off;
			s->off = 0;
		}
		if (s->len + n > s->cap) {
			size_t cap = s->cap ? s->cap : 4096;
			char *b;
			while (cap < s->len + n)
				cap *= 2;
			if ((b = realloc(s->buf, cap)) == NULL) {
				s->ended = true;
				s->end_errno = ENOMEM;
				return;
			}
			s->buf = b;
			s->cap = cap;
		}
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void
stream_frame(struct ac *c, uint64_t id, bool end, const msgpack_object *data)
{
	struct ac_stream *s = stream_find(c, id);
	const char *p;
	size_t n;
	const msgpack_object *v;
	int64_t e;

	if (s == NULL) {
		if (take_abandoned(c, id) || ac_stream_add(c, id) != 0)
			return;
		s = stream_find(c, id);
	}
	if (!end) {
		if (data != NULL && mp_get_bin(data, "data", &p, &n) == 0)
			stream_append(s, p, n);
		return;
	}
	s->ended = true;
	if (data != NULL && mp_obj_is_str(mp_get(data, "outcome"), "err") &&
	    (v = mp_get(data, "value")) != NULL) {
		s->end_errno = mp_get_i64(v, "errno", &e) == 0 ? (int)e : EIO;
		free(s->end_msg);
		s->end_msg = mp_obj_strdup(mp_get(v, "message"));
	}
}

/* Files one frame: stream traffic into its buffer, replies into parked. */
static void
dispatch(struct ac *c, uint8_t *body, size_t len)
{
	msgpack_unpacked u;
	const msgpack_object *m, *k;
	uint64_t id = 0;
	struct ac_msg *pm;

	msgpack_unpacked_init(&u);
	if (frame_decode(body, len, &u, &m) != FRAME_OK ||
	    mp_get_u64(m, "id", &id) != 0 ||
	    (k = mp_get(m, "kind")) == NULL || k->type != MSGPACK_OBJECT_STR) {
		ac_kill(c, "agent sent a malformed frame");
		goto out;
	}
	if (mp_obj_is_str(k, "stream_frame") || mp_obj_is_str(k, "stream_end")) {
		stream_frame(c, id, mp_obj_is_str(k, "stream_end"),
		    mp_get(m, "data"));
		goto out;
	}
	if (id == 0) {
		/* Unroutable: the agent could not parse what we sent. */
		const msgpack_object *d = mp_get(m, "data");
		char *msg = d ? mp_obj_strdup(mp_get(d, "message")) : NULL;
		if (c->dead == NULL)
			c->dead = xfmt("agent error on an unroutable request: "
			    "%s", msg ? msg : "?");
		free(msg);
		goto out;
	}
	if (take_abandoned(c, id))
		goto out;
	if ((pm = calloc(1, sizeof(*pm))) == NULL)
		goto out;
	pm->id = id;
	pm->body = body;
	pm->len = len;
	body = NULL;
	pm->next = c->parked;
	c->parked = pm;
out:
	msgpack_unpacked_destroy(&u);
	free(body);
}

/* Reads everything available; 0 ok, -1 once the connection is dead. */
static int
drain(struct ac *c)
{
	int rc;
	uint8_t *body;
	size_t len;

	for (;;) {
		rc = frame_reader_read(&c->rd, c->fd);
		if (rc == FRAME_AGAIN)
			return 0;
		if (rc != FRAME_OK) {
			if (c->dead != NULL)
				return -1;
			/* A reset is how a killed agent with unread input
			 * goes away: the same event for the user. */
			if (rc == FRAME_EOF || (rc == FRAME_IO &&
			    errno == ECONNRESET))
				c->dead = xfmt("the agent closed the connection");
			else if (rc == FRAME_IO)
				c->dead = xfmt("read: %s", strerror(errno));
			else
				c->dead = xfmt("frame error: %s",
				    frame_strerror(rc));
			return -1;
		}
		body = frame_reader_take(&c->rd, &len);
		dispatch(c, body, len);
	}
}

/* One poll for input up to the deadline (at most slice_ms), then drain.
 * -1 = dead. */
static int
pump_slice(struct ac *c, int64_t deadline_ms, int slice_ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int64_t left = slice_ms;
	int r;

	if (c->dead != NULL)
		return -1;
	if (deadline_ms >= 0) {
		left = deadline_ms - ac_now_ms();
		if (left < 0)
			left = 0;
		if (left > slice_ms)
			left = slice_ms;
	}
	r = poll(&p, 1, (int)left);
	if (r < 0 && errno != EINTR) {
		c->dead = xfmt("poll: %s", strerror(errno));
		return -1;
	}
	if (r > 0)
		return drain(c);
	return 0;
}

static int
pump(struct ac *c, int64_t deadline_ms)
{
	return pump_slice(c, deadline_ms, 1000);
}

void
ac_pump(struct ac *c)
{
	if (c->dead == NULL)
		drain(c);
}

static struct ac_msg *
take_parked(struct ac *c, uint64_t id)
{
	struct ac_msg **pp, *m;

	for (pp = &c->parked; (m = *pp) != NULL; pp = &m->next) {
		if (m->id == id) {
			*pp = m->next;
			return m;
		}
	}
	return NULL;
}

void
ac_reply_free(struct ac_reply *r)
{
	if (r->unpacked)
		msgpack_unpacked_destroy(&r->u);
	free(r->body);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

/* Waits for any reply to id, decoded into r (r->value = the whole map). */
static int
wait_raw(struct ac *c, uint64_t id, const char *kind, int64_t deadline_ms,
    struct ac_reply *r, const msgpack_object **msg, char **err,
    ac_check_fn check, void *arg)
{
	struct ac_msg *m;
	char *why = NULL;

	memset(r, 0, sizeof(*r));
	for (;;) {
		if ((m = take_parked(c, id)) != NULL)
			break;
		if (c->dead != NULL)
			return dead_err(c, err);
		if (deadline_ms >= 0 && ac_now_ms() >= deadline_ms) {
			*err = xfmt("timed out waiting for the agent's answer "
			    "to `%s`", kind);
			return AC_TIMEOUT;
		}
		if (check != NULL && check(arg, &why)) {
			*err = why ? why : xfmt("the VM failed while waiting "
			    "for `%s`", kind);
			return AC_DEAD;
		}
		pump_slice(c, deadline_ms, check != NULL ? 100 : 1000);
	}
	r->body = m->body;
	msgpack_unpacked_init(&r->u);
	r->unpacked = 1;
	/* dispatch() already checked that it decodes. */
	if (frame_decode(r->body, m->len, &r->u, msg) != FRAME_OK) {
		free(m);
		*err = xfmt("agent sent a malformed frame");
		return AC_PROTOCOL;
	}
	free(m);
	return AC_OK;
}

int
ac_wait(struct ac *c, uint64_t id, const char *kind, int64_t deadline_ms,
    struct ac_reply *r, char **err)
{
	const msgpack_object *m = NULL, *d, *v, *k;
	char want[64];
	int rc;
	int64_t e;

	rc = wait_raw(c, id, kind, deadline_ms, r, &m, err, NULL, NULL);
	if (rc != AC_OK)
		return rc;
	k = mp_get(m, "kind");
	d = mp_get(m, "data");
	snprintf(want, sizeof(want), "%s_result", kind);
	if (mp_obj_is_str(k, "agent_error")) {
		const char *ks = "?";
		size_t kn = 1;
		if (d != NULL)
			mp_get_str(d, "kind", &ks, &kn);
		snprintf(r->agent_kind, sizeof(r->agent_kind), "%.*s", (int)kn,
		    ks);
		r->message = d ? mp_obj_strdup(mp_get(d, "message")) : NULL;
		*err = xfmt("agent error (%s): %s", r->agent_kind,
		    r->message ? r->message : "?");
		return AC_AGENT_ERROR;
	}
	if (!mp_obj_is_str(k, want) || d == NULL || d->type != MSGPACK_OBJECT_MAP) {
		char *got = mp_obj_strdup(k);
		*err = xfmt("unexpected agent message: expected `%s`, got `%s`",
		    want, got ? got : "?");
		free(got);
		return AC_PROTOCOL;
	}
	v = mp_get(d, "value");
	if (mp_obj_is_str(mp_get(d, "outcome"), "err")) {
		r->os_errno = v && mp_get_i64(v, "errno", &e) == 0 ? (int)e : EIO;
		r->message = v ? mp_obj_strdup(mp_get(v, "message")) : NULL;
		if (r->message == NULL)
			r->message = xfmt("%s: %s", kind, strerror(r->os_errno));
		*err = strdup(r->message);
		return AC_OS_ERROR;
	}
	if (!mp_obj_is_str(mp_get(d, "outcome"), "ok")) {
		*err = xfmt("unexpected agent message: `%s` without an outcome",
		    want);
		return AC_PROTOCOL;
	}
	r->value = v;
	return AC_OK;
}

int
ac_call(struct ac *c, struct ac_req *r, int64_t deadline_ms,
    struct ac_reply *reply, char **err)
{
	int rc = ac_req_send(c, r, err);

	memset(reply, 0, sizeof(*reply));
	if (rc != AC_OK)
		return rc;
	rc = ac_wait(c, r->id, r->kind, deadline_ms, reply, err);
	if (rc == AC_TIMEOUT)
		ac_abandon(c, r->id);
	return rc;
}

static char *
obj_str_or(const msgpack_object *m, const char *key)
{
	char *s = m ? mp_obj_strdup(mp_get(m, key)) : NULL;

	return s ? s : strdup("?");
}

int
ac_hello(struct ac *c, int64_t deadline_ms, ac_check_fn check, void *arg,
    char **err)
{
	struct ac_req q;
	struct ac_reply r;
	const msgpack_object *m = NULL, *d, *a;
	uint64_t hv = 0, av = 0;
	int rc;

	ac_req_begin(c, &q, "hello");
	msgpack_pack_map(&q.pk, 1);
	mp_kv_u64(&q.pk, "protocol_version", PROTOCOL_VERSION);
	rc = ac_req_send(c, &q, err);
	ac_req_done(&q);
	if (rc != AC_OK)
		return rc;
	rc = wait_raw(c, q.id, "hello", deadline_ms, &r, &m, err, check, arg);
	if (rc != AC_OK) {
		if (rc == AC_TIMEOUT)
			ac_abandon(c, q.id);
		return rc;
	}
	d = mp_get(m, "data");
	if (mp_obj_is_str(mp_get(m, "kind"), "hello_err")) {
		if (d != NULL) {
			mp_get_u64(d, "host_version", &hv);
			mp_get_u64(d, "agent_version", &av);
		}
		*err = xfmt("agent protocol version mismatch (host: %u, "
		    "agent: %llu); rebuild provium-agent (or the guest image) "
		    "from this provium", PROTOCOL_VERSION,
		    (unsigned long long)av);
		rc = AC_VERSION;
	} else if (!mp_obj_is_str(mp_get(m, "kind"), "hello_ok") || d == NULL) {
		char *got = obj_str_or(m, "kind");
		*err = xfmt("unexpected agent message: expected `hello_ok`, "
		    "got `%s`", got);
		free(got);
		rc = AC_PROTOCOL;
	} else {
		a = mp_get(d, "agent");
		free(c->os); free(c->version); free(c->kernel);
		c->os = obj_str_or(a, "os");
		c->version = obj_str_or(a, "agent_version");
		c->kernel = obj_str_or(a, "kernel");
	}
	ac_reply_free(&r);
	return rc;
}

int
ac_stream_read(struct ac *c, uint64_t id, size_t max, int64_t deadline_ms,
    char **out, size_t *len, bool *eof, char **err)
{
	struct ac_stream *s;
	size_t n;

	*out = NULL;
	*len = 0;
	*eof = false;
	for (;;) {
		ac_pump(c);
		if ((s = stream_find(c, id)) == NULL) {
			*eof = true;
			return AC_OK;
		}
		if (s->len > s->off) {
			n = s->len - s->off;
			if (n > max)
				n = max;
			if ((*out = malloc(n ? n : 1)) == NULL)
				return AC_NOMEM;
			memcpy(*out, s->buf + s->off, n);
			s->off += n;
			*len = n;
			return AC_OK;
		}
		if (s->ended) {
			*eof = true;
			if (s->end_msg != NULL || s->end_errno != 0) {
				*err = xfmt("stream source error: %s (%s)",
				    s->end_msg ? s->end_msg : "?",
				    strerror(s->end_errno));
				return AC_OS_ERROR;
			}
			return AC_OK;
		}
		if (c->dead != NULL)
			return dead_err(c, err);
		if (deadline_ms >= 0 && ac_now_ms() >= deadline_ms)
			return AC_TIMEOUT;
		pump(c, deadline_ms);
	}
}

size_t
ac_stream_pending(struct ac *c, uint64_t id, bool *ended)
{
	struct ac_stream *s;

	ac_pump(c);
	s = stream_find(c, id);
	*ended = s == NULL || s->ended;
	return s ? s->len - s->off : 0;
}

static void
stream_forget(struct ac *c, uint64_t id)
{
	struct ac_stream **pp, *s;

	for (pp = &c->streams; (s = *pp) != NULL; pp = &s->next) {
		if (s->id == id) {
			*pp = s->next;
			stream_free(s);
			return;
		}
	}
}

int
ac_stream_cancel(struct ac *c, uint64_t id, int64_t deadline_ms, char **err)
{
	struct ac_stream *s = stream_find(c, id);
	struct ac_req q;
	struct ac_reply r;
	int rc = AC_OK;

	if (s != NULL && !s->ended && c->dead == NULL) {
		ac_req_begin(c, &q, "cancel");
		msgpack_pack_map(&q.pk, 1);
		mp_kv_u64(&q.pk, "stream", id);
		rc = ac_call(c, &q, deadline_ms, &r, err);
		ac_req_done(&q);
		ac_reply_free(&r);
	}
	stream_forget(c, id);
	return rc;
}

int
ac_pack_strs(msgpack_packer *pk, const char *key, const char *const *v,
    size_t n)
{
	if (mp_str(pk, key) || msgpack_pack_array(pk, n))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (mp_str(pk, v[i]))
			return -1;
	return 0;
}
