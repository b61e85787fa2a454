/* check_frame.c: the frame codec's contract, including hostile input. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "events/frame.h"
#include "events/mp.h"

static void
pack_sample(msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	mp_kv_str(&pk, "kind", "hello");
	mp_kv_u64(&pk, "n", 42);
}

START_TEST(roundtrip_pipe)
{
	int p[2];
	msgpack_sbuffer sb;
	uint8_t *body;
	size_t len;
	msgpack_unpacked u;
	const msgpack_object *m;
	uint64_t n;
	const char *s;
	size_t sl;

	ck_assert_int_eq(pipe(p), 0);
	pack_sample(&sb);
	ck_assert_int_eq(frame_write_sbuf(p[1], &sb, 1024), FRAME_OK);
	ck_assert_int_eq(frame_write_sbuf(p[1], &sb, 1024), FRAME_OK);
	close(p[1]);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(frame_read(p[0], 1024, &body, &len), FRAME_OK);
		ck_assert_uint_eq(len, sb.size);
		msgpack_unpacked_init(&u);
		ck_assert_int_eq(frame_decode(body, len, &u, &m), FRAME_OK);
		ck_assert_int_eq(mp_get_u64(m, "n", &n), 0);
		ck_assert_uint_eq(n, 42);
		ck_assert_int_eq(mp_get_str(m, "kind", &s, &sl), 0);
		ck_assert_int_eq(mp_get_u64(m, "kind", &n), -1);
		ck_assert_int_eq(errno, EBADMSG);
		ck_assert_int_eq(mp_get_u64(m, "nope", &n), -1);
		ck_assert_int_eq(errno, ENOENT);
		msgpack_unpacked_destroy(&u);
		free(body);
	}
	ck_assert_int_eq(frame_read(p[0], 1024, &body, &len), FRAME_EOF);
	close(p[0]);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(truncated_and_oversize)
{
	int p[2];
	uint8_t hdr[4];
	uint8_t *body;
	size_t len;

	/* truncated inside the header */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "\0\0", 2), 2);
	close(p[1]);
	ck_assert_int_eq(frame_read(p[0], 1024, &body, &len), FRAME_TRUNCATED);
	close(p[0]);

	/* truncated inside the body */
	ck_assert_int_eq(pipe(p), 0);
	frame_header(hdr, 10);
	ck_assert_int_eq(write(p[1], hdr, 4), 4);
	ck_assert_int_eq(write(p[1], "abc", 3), 3);
	close(p[1]);
	ck_assert_int_eq(frame_read(p[0], 1024, &body, &len), FRAME_TRUNCATED);
	close(p[0]);

	/* oversize: rejected from the header alone, nothing allocated */
	ck_assert_int_eq(pipe(p), 0);
	frame_header(hdr, 0xffffffffu);
	ck_assert_int_eq(write(p[1], hdr, 4), 4);
	close(p[1]);
	ck_assert_int_eq(frame_read(p[0], 1024, &body, &len), FRAME_OVERSIZE);
	close(p[0]);

	ck_assert_int_eq(frame_write(1, "x", 2000, 1024), FRAME_OVERSIZE);
}
END_TEST

START_TEST(malformed)
{
	msgpack_unpacked u;
	const msgpack_object *m;
	const uint8_t notmap[] = { 0x01 };
	const uint8_t garbage[] = { 0xc1 };
	const uint8_t trailing[] = { 0x80, 0x01 };
	const uint8_t shortmap[] = { 0x81, 0xa1 };

	msgpack_unpacked_init(&u);
	ck_assert_int_eq(frame_decode(notmap, 1, &u, &m), FRAME_MALFORMED);
	ck_assert_int_eq(frame_decode(garbage, 1, &u, &m), FRAME_MALFORMED);
	ck_assert_int_eq(frame_decode(trailing, 2, &u, &m), FRAME_MALFORMED);
	ck_assert_int_eq(frame_decode(shortmap, 2, &u, &m), FRAME_MALFORMED);
	ck_assert_int_eq(frame_decode(trailing, 1, &u, &m), FRAME_OK);
	msgpack_unpacked_destroy(&u);
}
END_TEST

/* Regression (fuzz_frame): a declared count far beyond the bytes present
 * must be refused before msgpack-c allocates for it; so must nesting
 * deeper than the cap. */
START_TEST(hostile_counts_and_depth)
{
	msgpack_unpacked u;
	const msgpack_object *m;
	const uint8_t huge_map[] = { 0xdf, 0xdf, 0xdf, 0xdf, 0xdf, 0x01 };
	const uint8_t huge_arr[] = { 0x81, 0xa1, 'a', 0xdd, 0xff, 0xff, 0xff, 0xff };
	const uint8_t huge_str[] = { 0x81, 0xa1, 'a', 0xdb, 0x7f, 0xff, 0xff, 0xff };
	uint8_t deep[80];
	size_t i;

	msgpack_unpacked_init(&u);
	ck_assert_int_eq(frame_decode(huge_map, sizeof(huge_map), &u, &m), FRAME_MALFORMED);
	ck_assert_int_eq(frame_decode(huge_arr, sizeof(huge_arr), &u, &m), FRAME_MALFORMED);
	ck_assert_int_eq(frame_decode(huge_str, sizeof(huge_str), &u, &m), FRAME_MALFORMED);
	/* {"a": [[[[...]]]]} nested 70 deep */
	deep[0] = 0x81, deep[1] = 0xa1, deep[2] = 'a';
	for (i = 3; i < 73; i++)
		deep[i] = 0x91;
	deep[73] = 0xc0;
	ck_assert_int_eq(frame_decode(deep, 74, &u, &m), FRAME_MALFORMED);
	/* ... but 20 deep is fine */
	deep[23] = 0xc0;
	ck_assert_int_eq(frame_decode(deep, 24, &u, &m), FRAME_OK);
	msgpack_unpacked_destroy(&u);
}
END_TEST

/* A non-blocking reader fed one byte at a time resumes correctly. */
START_TEST(byte_at_a_time)
{
	int sv[2];
	msgpack_sbuffer sb;
	uint8_t hdr[4];
	struct frame_reader r = FRAME_READER_INIT(1024);
	uint8_t *body;
	size_t len, i;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	pack_sample(&sb);
	frame_header(hdr, (uint32_t)sb.size);
	ck_assert_int_eq(frame_reader_read(&r, sv[0]), FRAME_AGAIN);
	for (i = 0; i < 4 + sb.size; i++) {
		char c = i < 4 ? (char)hdr[i] : sb.data[i - 4];
		ck_assert_int_eq(write(sv[1], &c, 1), 1);
		int rc = frame_reader_read(&r, sv[0]);
		ck_assert_int_eq(rc, i + 1 == 4 + sb.size ? FRAME_OK : FRAME_AGAIN);
	}
	body = frame_reader_take(&r, &len);
	ck_assert_ptr_nonnull(body);
	ck_assert_mem_eq(body, sb.data, len);
	free(body);
	close(sv[1]);
	ck_assert_int_eq(frame_reader_read(&r, sv[0]), FRAME_EOF);
	close(sv[0]);
	msgpack_sbuffer_destroy(&sb);

	/* the in-memory feeder agrees */
	struct frame_reader m = FRAME_READER_INIT(1024);
	size_t used;
	pack_sample(&sb);
	frame_header(hdr, (uint32_t)sb.size);
	ck_assert_int_eq(frame_reader_feed(&m, hdr, 3, &used), FRAME_AGAIN);
	ck_assert_int_eq(frame_reader_feed(&m, hdr + 3, 1, &used), FRAME_AGAIN);
	ck_assert_int_eq(frame_reader_feed(&m, sb.data, sb.size, &used), FRAME_OK);
	ck_assert_uint_eq(used, sb.size);
	body = frame_reader_take(&m, &len);
	ck_assert_uint_eq(len, sb.size);
	free(body);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("codec");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, roundtrip_pipe);
	tcase_add_test(tc, truncated_and_oversize);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, byte_at_a_time);
	tcase_add_test(tc, hostile_counts_and_depth);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
