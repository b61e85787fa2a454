/* evread.c: buffered frame reader with byte offsets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/evread.h"
#include "events/frame.h"

#define EVREAD_CHUNK (1u << 20)

int
evread_init(struct evread *r, int fd, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->max = max;
	r->cap = EVREAD_CHUNK;
	if (!(r->buf = malloc(r->cap)))
		return -1;
	if (!msgpack_zone_init(&r->zone, 64 * 1024)) {
		free(r->buf);
		return -1;
	}
	return 0;
}

void
evread_release(struct evread *r)
{
	free(r->buf);
	r->buf = NULL;
	msgpack_zone_destroy(&r->zone);
}

/* Makes at least need bytes available at buf+pos; 1, 0 (EOF first), -1. */
static int
fill(struct evread *r, size_t need)
{
	ssize_t n;

	while (r->len - r->pos < need) {
		if (r->eof)
			return 0;
		if (r->pos > 0) {
			memmove(r->buf, r->buf + r->pos, r->len - r->pos);
			r->base += r->pos;
			r->len -= r->pos;
			r->pos = 0;
		}
		if (need > r->cap) {
			size_t nc = need + EVREAD_CHUNK;
			uint8_t *p = realloc(r->buf, nc);
			if (!p) {
				snprintf(r->err, sizeof(r->err),
				    "byte offset %llu: out of memory for a %zu-byte frame",
				    (unsigned long long)(r->base + r->pos), need);
				return -1;
			}
			r->buf = p;
			r->cap = nc;
		}
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(r->err, sizeof(r->err), "byte offset %llu: read: %s",
			    (unsigned long long)(r->base + r->len), strerror(errno));
			return -1;
		}
		if (n == 0)
			r->eof = 1;
		r->len += (size_t)n;
	}
	return 1;
}

int
evread_next(struct evread *r, const uint8_t **body, size_t *len)
{
	uint64_t off;
	uint32_t n;
	const uint8_t *h;
	int rc;

	rc = fill(r, 4);
	off = r->base + r->pos;
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (r->len == r->pos)
			return 0;
		snprintf(r->err, sizeof(r->err),
		    "byte offset %llu: stream truncated inside a frame header "
		    "(%zu of 4 bytes) after %llu frames",
		    (unsigned long long)off, r->len - r->pos,
		    (unsigned long long)r->nframes);
		return -1;
	}
	h = r->buf + r->pos;
	n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	if (n > r->max) {
		snprintf(r->err, sizeof(r->err),
		    "byte offset %llu: frame %llu announces %u bytes, over the %zu-byte cap "
		    "(corrupt stream?)", (unsigned long long)off,
		    (unsigned long long)r->nframes, n, r->max);
		return -1;
	}
	if ((rc = fill(r, 4 + (size_t)n)) <= 0) {
		if (rc == 0)
			snprintf(r->err, sizeof(r->err),
			    "byte offset %llu: stream truncated inside frame %llu "
			    "(%zu of %u body bytes)", (unsigned long long)off,
			    (unsigned long long)r->nframes, r->len - r->pos - 4, n);
		return -1;
	}
	*body = r->body = r->buf + r->pos + 4;
	*len = r->body_len = n;
	r->pos += 4 + (size_t)n;
	r->frame_off = off;
	r->index = r->nframes++;
	return 1;
}

int
evread_next_obj(struct evread *r, const msgpack_object **obj)
{
	const uint8_t *body;
	size_t len;
	int rc;

	size_t off = 0;

	if ((rc = evread_next(r, &body, &len)) != 1)
		return rc;
	/* frame_decode's rule (exactly one map), but reusing one zone
	 * instead of a fresh one per frame: a third of the decode time. */
	msgpack_zone_clear(&r->zone);
	/* ... and its bounds check: a 20-byte frame announcing a map of
	 * 2^32 entries made msgpack-c ask for 256 GiB (fuzz_coverage). */
	if (frame_check_bounds(body, len) != 0 ||
	    msgpack_unpack((const char *)body, len, &off, &r->zone, &r->obj) !=
	    MSGPACK_UNPACK_SUCCESS || off != len ||
	    r->obj.type != MSGPACK_OBJECT_MAP) {
		snprintf(r->err, sizeof(r->err),
		    "byte offset %llu: frame %llu is not one msgpack map",
		    (unsigned long long)r->frame_off, (unsigned long long)r->index);
		return -2;
	}
	*obj = &r->obj;
	return 1;
}

int
evread_next_event(struct evread *r, struct event *ev)
{
	const msgpack_object *obj;
	char why[256];
	int rc;

	memset(ev, 0, sizeof(*ev));
	if ((rc = evread_next_obj(r, &obj)) != 1)
		return rc;
	if (event_decode(obj, ev, why, sizeof(why)) < 0) {
		snprintf(r->err, sizeof(r->err), "byte offset %llu: frame %llu: %s",
		    (unsigned long long)r->frame_off, (unsigned long long)r->index,
		    why);
		return -2;
	}
	return 1;
}
