/*
 * check_faults.c: a corrupt provium.toml gives one clear error naming
 * the file (and line), whatever is wrong with it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm/profile.h"

static char dir[200];

static const char *
put(const char *name, const char *data, size_t len)
{
	static char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

/* Loads path; the error must be "<path>" followed by want. */
static void
expect(const char *path, const char *want)
{
	struct profile_config *c = NULL;
	char *err = NULL, full[600];

	ck_assert_int_eq(profile_config_load(path, &c, &err), -1);
	snprintf(full, sizeof(full), "%s%s", path, want);
	ck_assert_str_eq(err, full);
	free(err);
}

START_TEST(corrupt_config)
{
	const char *t = getenv("TMPDIR");
	char p[300];

	snprintf(dir, sizeof(dir), "%s/check-faults.XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));

	expect(put("bin.toml", "\x89PNG\r\n\x1a\n\0\0", 10),
	    ":1: invalid UTF-8 (byte 0x89); is this a text file?");
	expect(put("nul.toml", "a = 1\n\nb = \"x\0\"\n", 15),
	    ":3: NUL byte in the file");
	expect(put("utf.toml", "a = 1\nc = \"\xed\xa0\x80\"\n", 14),
	    ":2: invalid UTF-8 (byte 0xED); is this a text file?");
	expect(put("trunc.toml", "[provium]\nroots = [\"a\"\n", 23),
	    ":3: key `provium.roots`: unterminated array");
	expect(put("half.toml", "[profiles.", 10),
	    ":1: key `profiles`: expected a key");

	/* Not a file we can read. */
	snprintf(p, sizeof(p), "%s/dir.toml", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	expect(p, ": is a directory, not a TOML file (check --config)");
	rmdir(p);
	snprintf(p, sizeof(p), "%s/fifo.toml", dir);
	ck_assert_int_eq(mkfifo(p, 0600), 0);
	expect(p, ": not a regular file (check --config)");
	unlink(p);
	snprintf(p, sizeof(p), "%s/big.toml", dir);
	ck_assert_int_eq(truncate(put("big.toml", "", 0), 5 << 20), 0);
	expect(p, ": file larger than 4 MiB (check --config)");
	unlink(p);
	snprintf(p, sizeof(p), "%s", put("unread.toml", "a = 1\n", 6));
	ck_assert_int_eq(chmod(p, 0), 0);
	if (access(p, R_OK) != 0)        /* root with DAC_OVERRIDE reads it */
		expect(p, ": Permission denied (check --config)");
	unlink(p);
	unlink(put("bin.toml", "", 0));
	unlink(put("nul.toml", "", 0));
	unlink(put("utf.toml", "", 0));
	unlink(put("trunc.toml", "", 0));
	unlink(put("half.toml", "", 0));
	rmdir(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, corrupt_config);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
