/* util.c: output queues, capped captures, handles, clock, logging. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent/agent.h"

int
outq_push_sbuf(struct outq *q, msgpack_sbuffer *sb)
{
	struct outchunk *c = malloc(sizeof(*c));
	size_t len = sb->size;

	if (c == NULL)
		return -1;
	frame_header(c->hdr, (uint32_t)len);
	c->body = (uint8_t *)msgpack_sbuffer_release(sb);
	c->len = 4 + len;
	c->off = 0;
	c->next = NULL;
	if (q->tail != NULL)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->bytes += c->len;
	return 0;
}

static void
chunk_free(struct outchunk *c)
{
	free(c->body);
	free(c);
}

int
outq_flush(struct outq *q, int fd)
{
	while (q->head != NULL) {
		struct outchunk *c = q->head;
		struct iovec iov[2];
		int n = 0;
		ssize_t k;

		if (c->off < 4) {
			iov[n].iov_base = c->hdr + c->off;
			iov[n++].iov_len = 4 - c->off;
		}
		iov[n].iov_base = c->body + (c->off < 4 ? 0 : c->off - 4);
		iov[n].iov_len = c->len - (c->off < 4 ? 4 : c->off);
		if (iov[n].iov_len > 0)
			n++;
		k = writev(fd, iov, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		c->off += (size_t)k;
		q->bytes -= (size_t)k;
		if (c->off == c->len) {
			q->head = c->next;
			if (q->head == NULL)
				q->tail = NULL;
			chunk_free(c);
		}
	}
	return 0;
}

void
outq_clear(struct outq *q)
{
	while (q->head != NULL) {
		struct outchunk *c = q->head;

		q->head = c->next;
		chunk_free(c);
	}
	q->tail = NULL;
	q->bytes = 0;
}

void
cap_add(struct cap *c, const uint8_t *p, size_t n)
{
	size_t keep = c->len < c->max ? c->max - c->len : 0;

	if (keep > n)
		keep = n;
	if (keep > 0 && c->len + keep > c->size) {
		size_t ns = c->size ? c->size : 4096;
		uint8_t *nb;

		while (ns < c->len + keep)
			ns *= 2;
		if (ns > c->max)
			ns = c->max;
		nb = realloc(c->buf, ns);
		if (nb == NULL) {
			keep = 0;
		} else {
			c->buf = nb;
			c->size = ns;
		}
	}
	if (keep > 0) {
		memcpy(c->buf + c->len, p, keep);
		c->len += keep;
	}
	c->dropped += n - keep;
}

void
cap_free(struct cap *c)
{
	free(c->buf);
	c->buf = NULL;
	c->len = c->size = 0;
}

struct handle *
handle_new(struct agent *a, enum handle_type t)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->id = ++a->next_handle;
	h->type = t;
	h->fd = -1;
	h->next = a->handles;
	a->handles = h;
	return h;
}

struct handle *
handle_find(struct agent *a, uint64_t id)
{
	struct handle *h;

	for (h = a->handles; h != NULL; h = h->next)
		if (h->id == id)
			return h;
	return NULL;
}

void
handle_del(struct agent *a, struct handle *h)
{
	struct handle **pp;

	for (pp = &a->handles; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			free(h);
			return;
		}
	}
}

const char *
handle_prefix(enum handle_type t, bool remote_proc)
{
	switch (t) {
	case H_FILE:
		return "file";
	case H_PROC:
		return "proc";
	case H_WORKER:
		return "worker";
	case H_REMOTE:
		return remote_proc ? "proc" : "file";
	}
	return "handle";
}

int64_t
agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
agent_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "provium-agent[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(buf);
	buf[n++] = '\n';
	if (write(2, buf, (size_t)n) < 0)
		return;
}

/* msgpack_pack_object lives in libmsgpackc's objectc.o, which also drags
 * in glibc-fortified printers that musl cannot link; this is enough. */
int
agent_pack_object(msgpack_packer *pk, const msgpack_object *o)
{
	uint32_t i;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return msgpack_pack_nil(pk);
	case MSGPACK_OBJECT_BOOLEAN:
		return o->via.boolean ? msgpack_pack_true(pk) :
		    msgpack_pack_false(pk);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return msgpack_pack_uint64(pk, o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return msgpack_pack_int64(pk, o->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return msgpack_pack_double(pk, o->via.f64);
	case MSGPACK_OBJECT_STR:
		return msgpack_pack_str_with_body(pk, o->via.str.ptr,
		    o->via.str.size);
	case MSGPACK_OBJECT_BIN:
		return msgpack_pack_bin_with_body(pk, o->via.bin.ptr,
		    o->via.bin.size);
	case MSGPACK_OBJECT_ARRAY:
		if (msgpack_pack_array(pk, o->via.array.size) != 0)
			return -1;
		for (i = 0; i < o->via.array.size; i++)
			if (agent_pack_object(pk, &o->via.array.ptr[i]) != 0)
				return -1;
		return 0;
	case MSGPACK_OBJECT_MAP:
		if (msgpack_pack_map(pk, o->via.map.size) != 0)
			return -1;
		for (i = 0; i < o->via.map.size; i++)
			if (agent_pack_object(pk, &o->via.map.ptr[i].key) ||
			    agent_pack_object(pk, &o->via.map.ptr[i].val))
				return -1;
		return 0;
	default:
		return msgpack_pack_nil(pk);
	}
}
