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

/*
 * Called once the header is complete: check the cap, then allocate.  The
 * body buffer grows with the bytes that actually arrive (doubling from
 * 64 KiB), so a peer announcing a capped-size frame and sending nothing
 * more costs 64 KiB, not the cap.
 */
#define FRAME_GROW_MIN 65536u

static int
start_body(struct frame_reader *r)
{
	uint32_t len = hdr_len(r->hdr);

	if (len > r->max)
		return FRAME_OVERSIZE;
	r->body_len = len;
	r->body_got = 0;
	r->body_cap = len < FRAME_GROW_MIN ? len : FRAME_GROW_MIN;
	r->body = malloc(r->body_cap ? r->body_cap : 1);
	if (r->body == NULL)
		return FRAME_NOMEM;
	if (len == 0)
		r->have_frame = 1;
	return FRAME_OK;
}

/* Room for more body bytes: how many may be stored now, 0 on ENOMEM. */
static size_t
body_room(struct frame_reader *r)
{
	if (r->body_got == r->body_cap) {
		size_t ncap = r->body_cap * 2;
		uint8_t *nb;

		if (ncap > r->body_len)
			ncap = r->body_len;
		if ((nb = realloc(r->body, ncap)) == NULL)
			return 0;
		r->body = nb;
		r->body_cap = ncap;
	}
	return r->body_cap - r->body_got;
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
		if ((n = body_room(r)) == 0)
			return FRAME_NOMEM;
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
			size_t room = body_room(r);

			if (room == 0)
				return FRAME_NOMEM;
			n = read(fd, r->body + r->body_got, room);
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
	r->body_len = r->body_got = r->body_cap = r->hdr_got = 0;
	r->have_frame = 0;
	return b;
}

void
frame_reader_clear(struct frame_reader *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = r->body_got = r->body_cap = r->hdr_got = 0;
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

/*
 * What follows each first byte: below FB_SPECIAL, how many payload bytes
 * to skip (scalars, fixstr); otherwise how to read a length or a count.
 * One table load instead of a chain of tests per item.
 */
enum {
	FB_SPECIAL = 64,
	FB_BAD = FB_SPECIAL, FB_FIXARR, FB_FIXMAP,
	FB_RAW1, FB_RAW2, FB_RAW4,      /* str8/bin8 .. str32/bin32 */
	FB_EXT1, FB_EXT2, FB_EXT4,
	FB_ARR16, FB_ARR32, FB_MAP16, FB_MAP32
};

static const uint8_t fb[256] = {
	[0x00 ... 0x7f] = 0,            /* positive fixint */
	[0x80 ... 0x8f] = FB_FIXMAP,
	[0x90 ... 0x9f] = FB_FIXARR,
	[0xa0 ... 0xbf] = 0,            /* fixstr: set below from the byte */
	[0xc0] = 0, [0xc1] = FB_BAD, [0xc2] = 0, [0xc3] = 0,
	[0xc4] = FB_RAW1, [0xc5] = FB_RAW2, [0xc6] = FB_RAW4,
	[0xc7] = FB_EXT1, [0xc8] = FB_EXT2, [0xc9] = FB_EXT4,
	[0xca] = 4, [0xcb] = 8,
	[0xcc] = 1, [0xcd] = 2, [0xce] = 4, [0xcf] = 8,
	[0xd0] = 1, [0xd1] = 2, [0xd2] = 4, [0xd3] = 8,
	[0xd4] = 2, [0xd5] = 3, [0xd6] = 5, [0xd7] = 9, [0xd8] = 17,
	[0xd9] = FB_RAW1, [0xda] = FB_RAW2, [0xdb] = FB_RAW4,
	[0xdc] = FB_ARR16, [0xdd] = FB_ARR32, [0xde] = FB_MAP16, [0xdf] = FB_MAP32,
	[0xe0 ... 0xff] = 0,            /* negative fixint */
};

int
frame_check_bounds(const uint8_t *p, size_t len)
{
	uint64_t pending[FRAME_MAX_DEPTH + 1];
	int depth = 0;
	size_t i = 0, rem;
	uint64_t n, skip;
	uint8_t b, c;

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
		c = (b & 0xe0) == 0xa0 ? (b & 0x1f) : fb[b];
		if (c < FB_SPECIAL) {
			if (c > rem)
				return -1;
			i += c;
			continue;
		}
		switch (c) {
		case FB_FIXMAP:
		case FB_FIXARR:
			n = (uint64_t)(b & 0x0f) << (c == FB_FIXMAP);
			break;
		case FB_RAW1: case FB_RAW2: case FB_RAW4:
		case FB_EXT1: case FB_EXT2: case FB_EXT4: {
			int w = (c == FB_RAW1 || c == FB_EXT1) ? 1 :
			    (c == FB_RAW2 || c == FB_EXT2) ? 2 : 4;
			if (rem < (size_t)w)
				return -1;
			skip = w + be(p + i, w) + (c >= FB_EXT1);
			if (skip > rem)
				return -1;
			i += skip;
			continue;
		}
		case FB_ARR16: case FB_MAP16:
			if (rem < 2)
				return -1;
			n = be(p + i, 2) << (c == FB_MAP16);
			i += 2, rem -= 2;
			break;
		case FB_ARR32: case FB_MAP32:
			if (rem < 4)
				return -1;
			n = be(p + i, 4) << (c == FB_MAP32);
			i += 4, rem -= 4;
			break;
		default:        /* 0xc1: never used */
			return -1;
		}
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

	if (frame_check_bounds(body, len) != 0)
		return FRAME_MALFORMED;
	ret = msgpack_unpack_next(u, (const char *)body, len, &off);
	if (ret != MSGPACK_UNPACK_SUCCESS || off != len)
		return FRAME_MALFORMED;
	if (u->data.type != MSGPACK_OBJECT_MAP)
		return FRAME_MALFORMED;
	*out = &u->data;
	return FRAME_OK;
}
