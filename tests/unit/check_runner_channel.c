/*
 * check_runner_channel.c: the runner's decoding of `start` (regressions
 * found by tests/fuzz/fuzz_runner_channel.c) and the report caps.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "events/mp.h"
#include "runner/runner_int.h"

/* Parses a start frame {t,v,path?} whose path is n bytes of p (NULL: none). */
static int
start_with_path(const char *p, size_t n, struct runner *r, char **err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, p != NULL ? 3 : 2);
	mp_kv_str(&pk, "t", "start");
	mp_kv_u64(&pk, "v", 1);
	if (p != NULL) {
		mp_str(&pk, "path");
		mp_strn(&pk, p, n);
	}
	msgpack_unpacked_init(&u);
	ck_assert(msgpack_unpack_next(&u, sb.data, sb.size, NULL) ==
	    MSGPACK_UNPACK_SUCCESS);
	memset(r, 0, sizeof(*r));
	*err = NULL;
	rc = runner_parse_start(r, &u.data, err);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void
expect_refused(const char *p, size_t n, const char *msg)
{
	struct runner r;
	char *err;

	ck_assert_int_eq(start_with_path(p, n, &r, &err), -1);
	ck_assert_str_eq(err, msg);
	free(err);
	runner_free(&r);
}

static void
expect_dir(const char *p, const char *dir)
{
	struct runner r;
	char *err;

	ck_assert_int_eq(start_with_path(p, strlen(p), &r, &err), 0);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(r.dir, dir);
	ck_assert_str_eq(r.display, p);
	runner_free(&r);
}

START_TEST(start_path)
{
	/* An empty path overflowed the 1-byte dir copy (heap write). */
	expect_refused("", 0, "`start.path` is empty or contains a NUL byte");
	expect_refused("a\0/b", 4, "`start.path` is empty or contains a NUL byte");
	/* A missing path dereferenced NULL. */
	expect_refused(NULL, 0, "`start.path` missing or not a string");
	expect_dir("a.lua", ".");
	expect_dir("/a.lua", "/");
	expect_dir("/x/y/a.lua", "/x/y");
}
END_TEST

/* Length of the str runner_pack_text makes of n bytes of c under max. */
static size_t
packed_len(int c, size_t n, size_t max, char *last3)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	char *s = malloc(n);
	size_t len;

	memset(s, c, n);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ck_assert_int_eq(runner_pack_text(&pk, s, n, max), 0);
	msgpack_unpacked_init(&u);
	ck_assert(msgpack_unpack_next(&u, sb.data, sb.size, NULL) ==
	    MSGPACK_UNPACK_SUCCESS);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_STR);
	len = u.data.via.str.size;
	memcpy(last3, u.data.via.str.ptr + len - 3, 3);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	free(s);
	return len;
}

/* The caps of runner_int.h, at their real values: a 4 MiB reason, log
 * line or console excerpt is cut on a character boundary once fewer than
 * 3 bytes are left, then "…" is appended: max + 1 bytes for ASCII, never
 * more than max + 3. */
START_TEST(report_caps)
{
	char tail[3];

	ck_assert_uint_eq(RUNNER_REASON_MAX, 64u << 10);
	ck_assert_uint_eq(RUNNER_LOG_MAX, 1u << 20);
	ck_assert_uint_eq(RUNNER_EXCERPT_MAX, 256u << 10);
	ck_assert_uint_eq(packed_len('x', 4u << 20, RUNNER_REASON_MAX, tail),
	    RUNNER_REASON_MAX + 1);
	ck_assert(memcmp(tail, "\xe2\x80\xa6", 3) == 0);
	ck_assert_uint_eq(packed_len('y', 4u << 20, RUNNER_EXCERPT_MAX, tail),
	    RUNNER_EXCERPT_MAX + 1);
	ck_assert_uint_eq(packed_len('z', 4u << 20, RUNNER_LOG_MAX, tail),
	    RUNNER_LOG_MAX + 1);
	/* Invalid bytes are replaced 1 -> 3 but the cap still holds. */
	ck_assert_uint_le(packed_len(0xff, 1u << 20, RUNNER_REASON_MAX, tail),
	    RUNNER_REASON_MAX + 3);
	ck_assert(memcmp(tail, "\xe2\x80\xa6", 3) == 0);
	/* At the cap exactly: kept whole, no marker. */
	ck_assert_uint_eq(packed_len('x', RUNNER_REASON_MAX, RUNNER_REASON_MAX,
	    tail), RUNNER_REASON_MAX);
	ck_assert(memcmp(tail, "xxx", 3) == 0);
	ck_assert(runner_utf8_valid(NULL, 0));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("runner_channel");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, start_path);
	tcase_add_test(tc, report_caps);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
