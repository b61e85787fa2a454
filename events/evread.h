/*
 * evread.h: reads an event stream (file, stdin or socket) frame by frame
 * for the offline consumers, with large buffered reads and the byte
 * offset of every frame, so that a truncated or corrupt stream is reported
 * as "byte offset N" instead of a crash.
 *
 * Blocking only: the supervisor never reads events back; it uses evsock.
 */
#ifndef PROVIUM_EVREAD_H
#define PROVIUM_EVREAD_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "events/event.h"

struct evread {
	int fd;
	size_t max;             /* frame cap */
	uint8_t *buf;
	size_t cap, len, pos;
	uint64_t base;          /* stream offset of buf[0] */
	uint64_t frame_off;     /* offset of the last frame returned */
	uint64_t index;         /* 0-based index of the last frame returned */
	uint64_t nframes;
	const uint8_t *body;    /* last frame body returned (valid until next) */
	size_t body_len;
	int eof;
	msgpack_zone zone;      /* reused: one zone for the whole stream */
	msgpack_object obj;
	char err[512];          /* set when a call returns -1 */
};

/* fd is borrowed.  max is the frame cap (FRAME_MAX_EVENT). 0 / -1. */
int evread_init(struct evread *r, int fd, size_t max);
void evread_release(struct evread *r);

/*
 * Next raw frame body: 1 with *body valid until the next call, 0 at a
 * clean end of stream, -1 with r->err ("byte offset N: ...") for a
 * truncated stream, an oversized length or a read error.
 */
int evread_next(struct evread *r, const uint8_t **body, size_t *len);

/*
 * Next frame as one msgpack map (frame_decode): same returns; *obj valid
 * until the next call.  A body that is not one map is -2: r->err names
 * the frame index and offset, the framing is intact and reading may
 * continue.
 */
int evread_next_obj(struct evread *r, const msgpack_object **obj);

/*
 * Next event (strict event_decode): 1, 0, -1, -2 as above; -2 also when
 * the map is no valid event (r->err says why).  ev must be event_clear()ed after 1.
 */
int evread_next_event(struct evread *r, struct event *ev);

#endif
