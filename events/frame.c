/* frame.c: u32 big-endian length + one msgpack map, with a hard cap. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "frame.h"

const char *
frame_strerror(int status)
{
	switch (status) {
	case FRAME_OK: return "ok";
	case FRAME_EOF: return "end of stream";
	case FRAME_AGAIN: return "would block";
	case FRAME_TRUNCATED: return "truncated frame";
	case FRAME_OVERSIZE: return "frame exceeds maximum size";
	case FRAME_MALFORMED: return "malformed msgpack frame";
	case FRAME_IO: return "i/o error";
	case FRAME_NOMEM: return "out of memory";
	}
	return "unknown frame error";
}

void
frame_header(uint8_t hdr[4], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

static uint32_t
hdr_len(const uint8_t hdr[4])
{
	return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | (uint32_t)hdr[3];
}

/* Called once the header is complete: check the cap, then allocate. */
static int
start_body(struct frame_reader *r)
{
	uint32_t len = hdr_len(r->hdr);

	if (len > r->max)
		return FRAME_OVERSIZE;
	r->body_len = len;
	r->body_got = 0;
	r->body = malloc(len ? len : 1);
	if (r->body == NULL)
		return FRAME_NOMEM;
	if (len == 0)
		r->have_frame = 1;
	return FRAME_OK;
}

int
frame_reader_feed(struct frame_reader *r, const void *buf, size_t len,
    size_t *used)
{
	const uint8_t *p = buf;
	size_t n;
	int rc;

	*used = 0;
	if (r->have_frame)
		return FRAME_OK;
	while (len > 0) {
		if (r->hdr_got < 4) {
			n = 4 - r->hdr_got;
			if (n > len)
				n = len;
			memcpy(r->hdr + r->hdr_got, p, n);
			r->hdr_got += n;
			p += n, len -= n, *used += n;
			if (r->hdr_got < 4)
				return FRAME_AGAIN;
			if ((rc = start_body(r)) != FRAME_OK)
				return rc;
			if (r->have_frame)
				return FRAME_OK;
			continue;
		}
		n = r->body_len - r->body_got;
		if (n > len)
			n = len;
		memcpy(r->body + r->body_got, p, n);
		r->body_got += n;
		p += n, len -= n, *used += n;
		if (r->body_got == r->body_len) {
			r->have_frame = 1;
			return FRAME_OK;
		}
	}
	return FRAME_AGAIN;
}

int
frame_reader_read(struct frame_reader *r, int fd)
{
	ssize_t n;
	int rc;

	while (!r->have_frame) {
		if (r->hdr_got < 4) {
			n = read(fd, r->hdr + r->hdr_got, 4 - r->hdr_got);
		} else {
			n = read(fd, r->body + r->body_got,
			    r->body_len - r->body_got);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return FRAME_AGAIN;
			return FRAME_IO;
		}
		if (n == 0) {
			if (r->hdr_got == 0)
				return FRAME_EOF;
			return FRAME_TRUNCATED;
		}
		if (r->hdr_got < 4) {
			r->hdr_got += (size_t)n;
			if (r->hdr_got == 4 && (rc = start_body(r)) != FRAME_OK)
				return rc;
		} else {
			r->body_got += (size_t)n;
			if (r->body_got == r->body_len)
				r->have_frame = 1;
		}
	}
	return FRAME_OK;
}

uint8_t *
frame_reader_take(struct frame_reader *r, size_t *len)
{
	uint8_t *b = r->body;

	if (!r->have_frame)
		return NULL;
	*len = r->body_len;
	r->body = NULL;
	r->body_len = r->body_got = r->hdr_got = 0;
	r->have_frame = 0;
	return b;
}

void
frame_reader_clear(struct frame_reader *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = r->body_got = r->hdr_got = 0;
	r->have_frame = 0;
}

int
frame_read(int fd, size_t max, uint8_t **body, size_t *len)
{
	struct frame_reader r = FRAME_READER_INIT(max);
	int rc;

	for (;;) {
		rc = frame_reader_read(&r, fd);
		if (rc != FRAME_AGAIN)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
			rc = FRAME_IO;
			break;
		}
	}
	if (rc != FRAME_OK) {
		frame_reader_clear(&r);
		return rc;
	}
	*body = frame_reader_take(&r, len);
	return FRAME_OK;
}

int
frame_write(int fd, const void *body, size_t len, size_t max)
{
	uint8_t hdr[4];
	struct iovec iov[2];
	int iovcnt = 2, i = 0;
	ssize_t n;

	if (len > max || len > UINT32_MAX)
		return FRAME_OVERSIZE;
	frame_header(hdr, (uint32_t)len);
	iov[0].iov_base = hdr;
	iov[0].iov_len = 4;
	iov[1].iov_base = (void *)(uintptr_t)body;
	iov[1].iov_len = len;
	while (i < iovcnt) {
		n = writev(fd, iov + i, iovcnt - i);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };
				(void)poll(&pfd, 1, -1);
				continue;
			}
			return FRAME_IO;
		}
		while (i < iovcnt && (size_t)n >= iov[i].iov_len) {
			n -= (ssize_t)iov[i].iov_len;
			i++;
		}
		if (i < iovcnt) {
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + n;
			iov[i].iov_len -= (size_t)n;
		}
	}
	return FRAME_OK;
}

int
frame_write_sbuf(int fd, const msgpack_sbuffer *sb, size_t max)
{
	return frame_write(fd, sb->data, sb->size, max);
}

int
frame_decode(const uint8_t *body, size_t len, msgpack_unpacked *u,
    const msgpack_object **out)
{
	size_t off = 0;
	msgpack_unpack_return ret;

	ret = msgpack_unpack_next(u, (const char *)body, len, &off);
	if (ret != MSGPACK_UNPACK_SUCCESS || off != len)
		return FRAME_MALFORMED;
	if (u->data.type != MSGPACK_OBJECT_MAP)
		return FRAME_MALFORMED;
	*out = &u->data;
	return FRAME_OK;
}
