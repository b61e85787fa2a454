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

static uint64_t
be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

/*
 * msgpack-c allocates a container's elements from its declared count
 * before it knows whether the bytes are there, so a 10-byte frame that
 * announces a map of 4 billion entries asks for hundreds of GiB (found by
 * tests/fuzz/fuzz_frame).  Walk the encoding once first: every pending
 * item needs at least one byte, and nesting is capped below msgpack-c's
 * own stack.  Linear in len, no allocation.
 */
#define FRAME_MAX_DEPTH 32

static int
check_bounds(const uint8_t *p, size_t len)
{
	uint64_t pending[FRAME_MAX_DEPTH + 1];
	int depth = 0;
	size_t i = 0, rem;
	uint64_t n, skip;
	uint8_t b;

	pending[0] = 1;
	while (depth >= 0) {
		if (pending[depth] == 0) {
			depth--;
			continue;
		}
		pending[depth]--;
		if (i >= len)
			return -1;
		b = p[i++];
		rem = len - i;
		n = 0, skip = 0;
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
			continue;
		} else if ((b & 0xf0) == 0x80 || (b & 0xf0) == 0x90) {
			n = (uint64_t)(b & 0x0f) << ((b & 0xf0) == 0x80);
			goto container;
		} else if ((b & 0xe0) == 0xa0) {
			skip = b & 0x1f;
		} else {
			switch (b) {
			case 0xc4: case 0xd9: case 0xc5: case 0xda: case 0xc6: case 0xdb: {
				int w = (b == 0xc4 || b == 0xd9) ? 1 :
				    (b == 0xc5 || b == 0xda) ? 2 : 4;
				if (rem < (size_t)w)
					return -1;
				skip = w + be(p + i, w);
				break;
			}
			case 0xc7: case 0xc8: case 0xc9: {
				int w = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
				if (rem < (size_t)w)
					return -1;
				skip = w + 1 + be(p + i, w);
				break;
			}
			case 0xca: skip = 4; break;
			case 0xcb: skip = 8; break;
			case 0xcc: case 0xd0: skip = 1; break;
			case 0xcd: case 0xd1: skip = 2; break;
			case 0xce: case 0xd2: skip = 4; break;
			case 0xcf: case 0xd3: skip = 8; break;
			case 0xd4: skip = 2; break;
			case 0xd5: skip = 3; break;
			case 0xd6: skip = 5; break;
			case 0xd7: skip = 9; break;
			case 0xd8: skip = 17; break;
			case 0xdc: case 0xde:
				if (rem < 2)
					return -1;
				n = be(p + i, 2) << (b == 0xde);
				i += 2, rem -= 2;
				goto container;
			case 0xdd: case 0xdf:
				if (rem < 4)
					return -1;
				n = be(p + i, 4) << (b == 0xdf);
				i += 4, rem -= 4;
				goto container;
			default:        /* 0xc1: never used */
				return -1;
			}
		}
		if (skip > rem)
			return -1;
		i += skip;
		continue;
container:
		if (n > rem)
			return -1;
		if (n > 0) {
			if (depth == FRAME_MAX_DEPTH)
				return -1;
			pending[++depth] = n;
		}
	}
	return i == len ? 0 : -1;
}

int
frame_decode(const uint8_t *body, size_t len, msgpack_unpacked *u,
    const msgpack_object **out)
{
	size_t off = 0;
	msgpack_unpack_return ret;

	if (check_bounds(body, len) != 0)
		return FRAME_MALFORMED;
	ret = msgpack_unpack_next(u, (const char *)body, len, &off);
	if (ret != MSGPACK_UNPACK_SUCCESS || off != len)
		return FRAME_MALFORMED;
	if (u->data.type != MSGPACK_OBJECT_MAP)
		return FRAME_MALFORMED;
	*out = &u->data;
	return FRAME_OK;
}
