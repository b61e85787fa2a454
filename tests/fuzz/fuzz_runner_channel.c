/*
 * fuzz_runner_channel.c: libFuzzer target for what the runner decodes
 * from the supervisor (runner/channel.c): the input is the byte stream
 * the supervisor would send on fd 3.  The first frame goes through
 * runner_parse_start; the rest answers runner_request() calls over a real
 * socketpair, as in `provium --runner`.  Also checks runner_pack_text's
 * promise on the raw bytes: valid UTF-8, at most max + one sequence + "…".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lua.h>

#include "events/frame.h"
#include "events/proto.h"
#include "runner/runner_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const uint8_t *data, size_t size)
{
	size_t max = size / 2;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	const msgpack_object *o;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (runner_pack_text(&pk, (const char *)data, size, max) != 0)
		abort();
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, sb.data, sb.size, NULL) !=
	    MSGPACK_UNPACK_SUCCESS || u.data.type != MSGPACK_OBJECT_STR)
		abort();
	o = &u.data;
	if (!runner_utf8_valid(o->via.str.ptr, o->via.str.size) ||
	    (o->via.str.size > size && o->via.str.size > max + 3 + 3))
		abort();
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_reader rd = FRAME_READER_INIT(FRAME_MAX_RUNNER);
	struct runner r;
	size_t used = 0, len;
	uint8_t *body;
	msgpack_unpacked u;
	const msgpack_object *m;
	char *err = NULL;
	int sv[2];

	check_text(data, size);
	memset(&r, 0, sizeof(r));
	if (frame_reader_feed(&rd, data, size, &used) != FRAME_OK) {
		frame_reader_clear(&rd);
		return 0;
	}
	body = frame_reader_take(&rd, &len);
	msgpack_unpacked_init(&u);
	if (frame_decode(body, len, &u, &m) == FRAME_OK) {
		if (runner_parse_start(&r, m, &err) != 0) {
			if (err == NULL)
				abort();
		} else if (r.path == NULL || r.display == NULL ||
		    r.dir == NULL || r.vmm == NULL || r.accel == NULL) {
			abort();
		}
		free(err);
		err = NULL;
	}
	msgpack_unpacked_destroy(&u);
	free(body);
	frame_reader_clear(&rd);

	/* The rest of the stream answers requests. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	if (size - used > 0 &&
	    write(sv[1], data + used, size - used) != (ssize_t)(size - used))
		abort();
	shutdown(sv[1], SHUT_WR);
	r.fd = sv[0];
	for (int i = 0; i < 4 && !r.channel_dead; i++) {
		int rc = runner_request(&r, i % 2 ? "config" : "claim",
		    1u << 20, 1, i % 2 ? "fuzz" : NULL, &err);
		if ((rc == 0) != (err == NULL))
			abort();
		free(err);
		err = NULL;
	}
	close(sv[0]);
	close(sv[1]);
	runner_free(&r);
	return 0;
}
