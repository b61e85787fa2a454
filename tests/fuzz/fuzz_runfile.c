/*
 * fuzz_runfile.c: libFuzzer target for the supervisor's decoder of runner
 * reports (supervisor/runfile.c): the input is the byte stream a runner
 * (possibly hostile or crashed mid-frame) writes on its channel.  Every
 * frame goes through runfile_handle() until the first protocol error, as
 * in the supervisor loop; then runfile_finish() closes the file.
 * Oracles: every emitted event encodes and decodes strictly
 * (event_decode) to the same kind, the file ends RF_COMPLETED, and the
 * last event is file_completed; no crash, leak or out-of-bounds read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/event.h"
#include "events/frame.h"
#include "events/proto.h"
#include "supervisor/runfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum event_kind last_kind;

static void
on_emit(void *ctx, struct event *ev)
{
	msgpack_sbuffer sb;
	msgpack_unpacked u;
	const msgpack_object *m;
	struct event again;
	char err[256];

	(void)ctx;
	ev->ts = 1;
	if (event_encode(ev, &sb) != 0)
		abort();
	msgpack_unpacked_init(&u);
	if (frame_decode((uint8_t *)sb.data, sb.size, &u, &m) != FRAME_OK ||
	    event_decode(m, &again, err, sizeof(err)) != 0 ||
	    again.kind != ev->kind)
		abort();
	last_kind = ev->kind;
	event_clear(&again);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

/* Grants odd claim ids at once; refuses over-release like the pool. */
static int
on_request(void *ctx, struct runfile *rf, enum rf_request req, uint64_t id,
    struct resource_amount amount, const char *what, char *err,
    size_t errlen)
{
	const struct rf_out *out = ctx;

	(void)what;
	if (req == RF_REQ_CLAIM && (id & 1))
		runfile_claim_granted(rf, amount, out);
	if (req == RF_REQ_RELEASE && amount.memory_bytes > (1ull << 40)) {
		snprintf(err, errlen, "release of more than was reserved");
		return -1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_reader rd = FRAME_READER_INIT(FRAME_MAX_RUNNER);
	struct rf_out out = { on_emit, on_request, NULL };
	struct runfile rf;
	char err[512] = "";
	bool broken = false;
	size_t used, len;
	int64_t now = 1000;

	out.ctx = &out;
	runfile_init(&rf, "fuzz.test.lua");
	runfile_dispatched(&rf, now);
	while (size > 0 && !broken) {
		int rc = frame_reader_feed(&rd, data, size, &used);
		uint8_t *body;
		msgpack_unpacked u;
		const msgpack_object *m;

		data += used;
		size -= used;
		if (rc != FRAME_OK) {
			broken = rc != FRAME_AGAIN;
			break;
		}
		body = frame_reader_take(&rd, &len);
		msgpack_unpacked_init(&u);
		if (frame_decode(body, len, &u, &m) != FRAME_OK ||
		    runfile_handle(&rf, m, now += 1000, &out, err,
		    sizeof(err)) != 0)
			broken = true;
		msgpack_unpacked_destroy(&u);
		free(body);
	}
	frame_reader_clear(&rd);
	if (rf.state == RF_DONE && !broken)
		runfile_finish(&rf, RF_END_EXITED, NULL, now + 1, &out);
	else
		runfile_finish(&rf, RF_END_CRASHED,
		    err[0] ? err : "runner crashed: killed by SIGSEGV",
		    now + 1, &out);
	if (rf.state != RF_COMPLETED || last_kind != EVENT_FILE_COMPLETED)
		abort();
	runfile_clear(&rf);
	return 0;
}
