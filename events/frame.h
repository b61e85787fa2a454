/*
 * frame.h: the one framing codec of provium.
 *
 * A frame is a u32 big-endian body length followed by exactly one msgpack
 * map.  Every byte stream in the project (events, runner channel, agent
 * wire) is a sequence of frames, and every process uses this module.
 *
 * Errors are negative enum values, never exits; frame_strerror() names
 * them.  The length is checked against the caller's cap before anything
 * is allocated.
 */
#ifndef PROVIUM_FRAME_H
#define PROVIUM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

enum frame_status {
	FRAME_OK = 0,
	FRAME_EOF = 1,          /* clean end of stream at a frame boundary */
	FRAME_AGAIN = 2,        /* non-blocking fd has nothing more for now */
	FRAME_TRUNCATED = -1,   /* stream ended inside a header or body */
	FRAME_OVERSIZE = -2,    /* announced length exceeds the cap */
	FRAME_MALFORMED = -3,   /* body is not exactly one msgpack map */
	FRAME_IO = -4,          /* read/write failed; errno is set */
	FRAME_NOMEM = -5,
};

const char *frame_strerror(int status);

/*
 * Incremental reader.  Feed it from a blocking or non-blocking fd; partial
 * headers and bodies are kept across calls (EINTR and EAGAIN resume).
 * Caller storage: struct frame_reader r = FRAME_READER_INIT(cap);
 */
struct frame_reader {
	size_t max;
	uint8_t hdr[4];
	size_t hdr_got;
	uint8_t *body;      /* owned; handed out by frame_reader_take() */
	size_t body_len;
	size_t body_got;
	size_t body_cap;    /* allocated; grows as bytes arrive */
	int have_frame;
};
#define FRAME_READER_INIT(cap) { .max = (cap) }

/*
 * Reads from fd until one whole frame is buffered.  Returns FRAME_OK (take
 * it with frame_reader_take), FRAME_AGAIN (EAGAIN on a non-blocking fd),
 * FRAME_EOF, FRAME_TRUNCATED, FRAME_OVERSIZE, FRAME_IO or FRAME_NOMEM.
 */
int frame_reader_read(struct frame_reader *r, int fd);
/* Same, but from memory: consumes up to len bytes, reports *used. */
int frame_reader_feed(struct frame_reader *r, const void *buf, size_t len,
    size_t *used);
/* Hands the buffered body to the caller, who must free() it. */
uint8_t *frame_reader_take(struct frame_reader *r, size_t *len);
/* Frees any partial body.  The reader may be reused after this. */
void frame_reader_clear(struct frame_reader *r);

/* Blocking convenience: one frame from fd into a malloc'd *body. */
int frame_read(int fd, size_t max, uint8_t **body, size_t *len);

/*
 * Writes header + body with one writev loop, resuming partial writes and
 * EINTR.  On a non-blocking fd it polls until done.  FRAME_OVERSIZE if
 * len > max, FRAME_IO with errno (EPIPE: peer gone) otherwise.
 */
int frame_write(int fd, const void *body, size_t len, size_t max);
/* Writes the contents of a msgpack sbuffer as one frame. */
int frame_write_sbuf(int fd, const msgpack_sbuffer *sb, size_t max);

/* Builds header+body into out[4 + len]; for buffered writers. */
void frame_header(uint8_t hdr[4], uint32_t len);

/*
 * Decodes a body that must hold exactly one msgpack map and nothing else.
 * On FRAME_OK, *out points into u's zone: valid until
 * msgpack_unpacked_destroy(u).  FRAME_MALFORMED otherwise.
 */
int frame_decode(const uint8_t *body, size_t len, msgpack_unpacked *u,
    const msgpack_object **out);
/*
 * The check frame_decode runs before msgpack-c sees a body: every
 * announced container element has a byte behind it (msgpack-c allocates
 * from the announced counts) and nesting stays within 32.  0 or -1.  For
 * decoders that unpack themselves (events/evread.c reuses one zone).
 */
int frame_check_bounds(const uint8_t *body, size_t len);

#endif
