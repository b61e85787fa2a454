/*
 * check_caps.c: frames are bounded before and while they are read.
 * Each test runs in its own forked process (Check), so the address-space
 * limit set here cannot hurt the others.
 */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "events/frame.h"
#include "events/proto.h"

/* A 4 GiB announcement over a 3 GiB cap fails from the header alone:
 * with the address space limited to 1 GiB, allocating it first would
 * give FRAME_NOMEM, not FRAME_OVERSIZE. */
START_TEST(oversize_before_allocation)
{
	struct frame_reader r = FRAME_READER_INIT(3ull << 30);
	uint8_t hdr[4] = { 0xff, 0xff, 0xff, 0xf0 };
	struct rlimit rl = { 1ull << 30, 1ull << 30 };
	size_t used;

	if (getenv("ASAN_OPTIONS") == NULL)     /* ASan maps terabytes */
		ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
	ck_assert_int_eq(frame_reader_feed(&r, hdr, 4, &used), FRAME_OVERSIZE);
	ck_assert_uint_eq(used, 4);
	ck_assert_ptr_null(r.body);
	frame_reader_clear(&r);
}
END_TEST

/* A frame announced at the agent cap (128 MiB) whose body never comes
 * costs 64 KiB, then grows only with the bytes that arrive. */
START_TEST(body_grows_with_data)
{
	struct frame_reader r = FRAME_READER_INIT(FRAME_MAX_AGENT);
	uint8_t hdr[4];
	static uint8_t chunk[100000];
	size_t used, len;
	int p[2];

	frame_header(hdr, FRAME_MAX_AGENT);
	ck_assert_int_eq(frame_reader_feed(&r, hdr, 4, &used), FRAME_AGAIN);
	ck_assert_uint_eq(r.body_cap, 65536);
	ck_assert_int_eq(frame_reader_feed(&r, chunk, sizeof(chunk), &used),
	    FRAME_AGAIN);
	ck_assert_uint_eq(used, sizeof(chunk));
	ck_assert_uint_eq(r.body_cap, 131072);
	frame_reader_clear(&r);
	ck_assert_uint_eq(r.body_cap, 0);

	/* Same through an fd, and a whole frame still comes out intact. */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ge(fcntl(p[1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
	frame_header(hdr, 70000);
	memset(chunk, 0x90, 70000);             /* not msgpack: just bytes */
	chunk[69999] = 7;
	ck_assert_int_eq(write(p[1], hdr, 4), 4);
	ck_assert_int_eq(write(p[1], chunk, 70000), 70000);
	close(p[1]);
	r = (struct frame_reader)FRAME_READER_INIT(1u << 20);
	ck_assert_int_eq(frame_reader_read(&r, p[0]), FRAME_OK);
	uint8_t *b = frame_reader_take(&r, &len);
	ck_assert_uint_eq(len, 70000);
	ck_assert_int_eq(b[0], 0x90);
	ck_assert_int_eq(b[69999], 7);
	free(b);
	close(p[0]);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("caps");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, oversize_before_allocation);
	tcase_add_test(tc, body_grows_with_data);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
