/*
 * fuzz_frame.c: libFuzzer target for the frame reader, frame_decode and
 * the strict event decoder: arbitrary bytes must never crash, leak or
 * read out of bounds, and whatever decodes must re-encode and decode to
 * the same kind and re-encode to the same bytes.  Every map also goes
 * through `events cat`'s JSON writer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/cat.h"
#include "events/event.h"
#include "events/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_reader r = FRAME_READER_INIT(1u << 20);
	struct cat cat = CAT_INIT;
	size_t used;
	int rc;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();

	while (size > 0) {
		rc = frame_reader_feed(&r, data, size, &used);
		data += used;
		size -= used;
		if (rc != FRAME_OK)
			break;
		size_t len;
		uint8_t *body = frame_reader_take(&r, &len);
		msgpack_unpacked u;
		const msgpack_object *m;
		msgpack_unpacked_init(&u);
		if (frame_decode(body, len, &u, &m) == FRAME_OK) {
			struct event ev, again;
			char err[256];
			/* `events cat` renders any map, event or not */
			if (cat_json_line(&cat, devnull, m) != 0)
				abort();
			if (event_decode(m, &ev, err, sizeof(err)) == 0) {
				msgpack_sbuffer sb;
				msgpack_unpacked u2;
				const msgpack_object *m2;
				if (event_encode(&ev, &sb) != 0)
					abort();
				msgpack_unpacked_init(&u2);
				if (frame_decode((uint8_t *)sb.data, sb.size, &u2, &m2) != FRAME_OK ||
				    event_decode(m2, &again, err, sizeof(err)) != 0 ||
				    again.kind != ev.kind || again.ts != ev.ts)
					abort();
				/* every string and meta node survived decoding
				 * (they share one arena): same bytes again */
				msgpack_sbuffer sb2;
				if (event_encode(&again, &sb2) != 0 ||
				    sb2.size != sb.size ||
				    memcmp(sb2.data, sb.data, sb.size) != 0)
					abort();
				msgpack_sbuffer_destroy(&sb2);
				event_clear(&again);
				msgpack_unpacked_destroy(&u2);
				msgpack_sbuffer_destroy(&sb);
				event_clear(&ev);
			}
		}
		msgpack_unpacked_destroy(&u);
		free(body);
	}
	frame_reader_clear(&r);
	cat_release(&cat);
	return 0;
}
