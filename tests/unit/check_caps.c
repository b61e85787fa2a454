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
#include "vm/vmm.h"

/* A 4 GiB announcement over a 3 GiB cap fails from the header alone:
 * with the address space limited to 1 GiB, allocating it first would
 * give FRAME_NOMEM, not FRAME_OVERSIZE. */
START_TEST(oversize_before_allocation)
{
	struct frame_reader r = FRAME_READER_INIT(3ull << 30);
	uint8_t hdr[4] = { 0xff, 0xff, 0xff, 0xf0 };
	struct rlimit rl = { 1ull << 30, 1ull << 30 };
	size_t used;

#ifndef __SANITIZE_ADDRESS__                    /* ASan maps terabytes */
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
#else
	(void)rl;
#endif
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

/* A console log of 1 MiB yields the last VMM_CONSOLE_EXCERPT (4 KiB)
 * bytes, the cap every backend's console tail and the boot-failure
 * message use. */
START_TEST(console_excerpt_4k)
{
	const char *t = getenv("TMPDIR");
	char dir[200], path[256], *out = NULL;
	size_t len = 0;
	FILE *f;
	int dfd;

	snprintf(dir, sizeof(dir), "%s/check-caps.XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/console.log", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	for (int i = 0; i < (1 << 20) / 16; i++)
		fprintf(f, "line %010d\n", i);
	fclose(f);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	ck_assert_uint_eq(VMM_CONSOLE_EXCERPT, 4096);
	ck_assert_int_eq(vmm_file_tail(dfd, "console.log", VMM_CONSOLE_EXCERPT,
	    &out, &len), 0);
	ck_assert_uint_eq(len, 4096);
	ck_assert_uint_eq(strlen(out), 4096);
	ck_assert_str_eq(out + 4096 - 16, "line 0000065535\n");
	ck_assert(strncmp(out, "line 0000065280\n", 16) == 0);
	free(out);
	/* A cap above the size: all of it; a missing file: -1. */
	ck_assert_int_eq(vmm_file_tail(dfd, "console.log", 1u << 30, &out,
	    &len), 0);
	ck_assert_uint_eq(len, 1u << 20);
	free(out);
	ck_assert_int_eq(vmm_file_tail(dfd, "nope.log", 4096, &out, &len), -1);
	close(dfd);
	unlink(path);
	rmdir(dir);
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
	tcase_add_test(tc, console_excerpt_4k);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
