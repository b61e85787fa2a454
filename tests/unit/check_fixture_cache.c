/* check_fixture_cache.c: cache dir, build lock, install, corruption, LRU. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zstd.h>

#include "tests/unit/fixture_testdir.h"
#include "fixtures/cache.h"

static char dir[256];

#define K(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
	c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
static const char *const ka = K("a"), *const kb = K("b"), *const kc = K("c");

static char *
path_of(const char *key, const char *suffix)
{
	static char p[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s%s", dir, key, suffix);
	return p[i];
}

static void
write_bytes(const char *path, const void *b, size_t n)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

/* A raw "migration stream" of n bytes. */
static void
put_raw(const char *path, size_t n)
{
	char *b = calloc(1, n);

	memcpy(b, "QEVM", 4);
	write_bytes(path, b, n);
	free(b);
}

static int
exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static void
setup(void)
{
	testdir_make(dir, sizeof(dir), "check_fixture_cache");
}

static void
teardown(void)
{
	testdir_remove(dir);
}

START_TEST(dir_resolution)
{
	char *d = NULL;

	setenv("PROVIUM_FIXTURE_CACHE", "/env/cache", 1);
	setenv("XDG_CACHE_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	ck_assert_int_eq(fixture_cache_dir("/cfg", &d, NULL), 0);
	ck_assert_str_eq(d, "/env/cache");
	free(d);
	setenv("PROVIUM_FIXTURE_CACHE", "", 1);
	ck_assert_int_eq(fixture_cache_dir("/cfg", &d, NULL), 0);
	ck_assert_str_eq(d, "/cfg");
	free(d);
	ck_assert_int_eq(fixture_cache_dir(NULL, &d, NULL), 0);
	ck_assert_str_eq(d, "/xdg/provium/fixtures");
	free(d);
	unsetenv("XDG_CACHE_HOME");
	ck_assert_int_eq(fixture_cache_dir("", &d, NULL), 0);
	ck_assert_str_eq(d, "/home/u/.cache/provium/fixtures");
	free(d);
	unsetenv("HOME");
	ck_assert_int_eq(fixture_cache_dir(NULL, &d, NULL), 0);
	ck_assert_str_eq(d, "/tmp/provium-fixtures");
	free(d);
	unsetenv("PROVIUM_FIXTURE_CACHE");
}
END_TEST

/*
 * Child takes the lock as "a.test.lua", installs the entry once told to,
 * and exits (releasing).  The parent sees BUSY with the child's holder
 * line, waits, and after acquiring finds the entry the child built.
 */
START_TEST(lock_contention_reports_holder)
{
	int ready[2], go[2], st;
	char c, *holder = NULL, *err = NULL, *file, want[64], *why = NULL;
	struct fixture_lock lk = FIXTURE_LOCK_INIT;
	uint64_t size;
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	if ((pid = fork()) == 0) {
		struct fixture_lock cl = FIXTURE_LOCK_INIT;

		if (fixture_lock_try(dir, ka, ".lock", "a.test.lua", &cl, &holder,
		    &err) != FIXTURE_LOCK_HELD)
			_exit(2);
		write(ready[1], "r", 1);
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		put_raw(path_of(ka, ".snap.tmp"), 4096);
		if (fixture_cache_commit(dir, ka, "{\"profile\":\"linux\"}", &size, &err) < 0)
			_exit(4);
		usleep(100000);    /* parent is blocked in fixture_lock_wait */
		fixture_lock_release(&cl);
		_exit(0);
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	ck_assert_int_eq(fixture_lock_try(dir, ka, ".lock", "b.test.lua", &lk,
	    &holder, &err), FIXTURE_LOCK_BUSY);
	ck_assert_int_eq(lk.fd, -1);
	snprintf(want, sizeof(want), "pid=%ld host=", (long)pid);
	ck_assert_msg(strncmp(holder, want, strlen(want)) == 0, "holder %s", holder);
	ck_assert_ptr_nonnull(strstr(holder, " started="));
	file = fixture_lock_holder_file(holder);
	ck_assert_str_eq(file, "a.test.lua");
	free(file);
	free(holder);
	ck_assert_int_eq(fixture_cache_check(dir, ka, &size, &why),
	    FIXTURE_ENTRY_MISSING);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(fixture_lock_wait(dir, ka, ".lock", "b.test.lua", &lk,
	    &err), 0);
	ck_assert_int_ge(lk.fd, 0);
	/* The re-check after acquiring: the peer built it. */
	ck_assert_int_eq(fixture_cache_check(dir, ka, &size, &why),
	    FIXTURE_ENTRY_OK);
	ck_assert_uint_eq(size, 4096);
	ck_assert_int_eq(fixture_cache_meta(dir, ka, &file), 0);
	ck_assert_str_eq(file, "{\"profile\":\"linux\"}");
	free(file);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	fixture_lock_release(&lk);
	fixture_lock_release(&lk);   /* idempotent */
}
END_TEST

START_TEST(lock_survives_unlinked_lockfile)
{
	struct fixture_lock a = FIXTURE_LOCK_INIT, b = FIXTURE_LOCK_INIT;
	char *holder = NULL, *err = NULL;

	ck_assert_int_eq(fixture_lock_try(dir, kb, ".lock", "x", &a, &holder,
	    &err), FIXTURE_LOCK_HELD);
	unlink(path_of(kb, ".lock"));
	/* A new file at the path is a new lock: not blocked by the old fd. */
	ck_assert_int_eq(fixture_lock_try(dir, kb, ".lock", "y", &b, &holder,
	    &err), FIXTURE_LOCK_HELD);
	fixture_lock_release(&a);
	fixture_lock_release(&b);
}
END_TEST

START_TEST(atomic_install)
{
	char src[512], *err = NULL, *why = NULL;
	uint64_t size = 0;
	unsigned char zin[8192], zout[9000];
	size_t zn;

	memset(zin, 7, sizeof(zin));
	memcpy(zin, "QEVM", 4);
	zn = ZSTD_compress(zout, sizeof(zout), zin, sizeof(zin), 3);
	ck_assert(!ZSTD_isError(zn));
	snprintf(src, sizeof(src), "%s/built.zst", dir);
	write_bytes(src, zout, zn);
	ck_assert_int_eq(fixture_cache_install_file(dir, ka, src, NULL, &size, &err), 0);
	ck_assert_uint_eq(size, zn);
	ck_assert(exists(path_of(ka, ".snap")));
	ck_assert(!exists(path_of(ka, ".snap.tmp")));
	ck_assert_int_eq(fixture_cache_check(dir, ka, &size, &why),
	    FIXTURE_ENTRY_OK);

	/* An invalid snapshot is refused at commit and leaves nothing. */
	write_bytes(path_of(kb, ".snap.tmp"), "garbage!", 8);
	ck_assert_int_eq(fixture_cache_commit(dir, kb, "{}", &size, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "snapshot is invalid (not a zstd or "
	    "QEMU migration stream); nothing installed"));
	free(err);
	ck_assert(!exists(path_of(kb, ".snap")));
	ck_assert(!exists(path_of(kb, ".snap.tmp")));
	ck_assert(!exists(path_of(kb, ".json")));
	/* No metadata given: none stored, and reading it says so. */
	char *meta = (char *)"x";
	ck_assert_int_eq(fixture_cache_meta(dir, ka, &meta), 0);
	ck_assert_ptr_null(meta);
}
END_TEST

/* A disk that fills mid-copy (RLIMIT_FSIZE stands in) leaves nothing. */
START_TEST(full_disk_leaves_nothing)
{
	char src[512];
	pid_t pid;
	int st;

	snprintf(src, sizeof(src), "%s/big.snap", dir);
	put_raw(src, 1 << 20);
	if ((pid = fork()) == 0) {
		struct rlimit rl = { 64 * 1024, 64 * 1024 };
		char *err = NULL;
		uint64_t size;

		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		if (fixture_cache_install_file(dir, kc, src, "{}", &size, &err) == 0)
			_exit(2);
		_exit(strstr(err, "(cache disk full); nothing installed") ? 0 : 3);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert(!exists(path_of(kc, ".snap")));
	ck_assert(!exists(path_of(kc, ".snap.tmp")));
	ck_assert(!exists(path_of(kc, ".json")));
	ck_assert(!exists(path_of(kc, ".json.tmp")));
}
END_TEST

START_TEST(corrupt_entries_detected)
{
	unsigned char zin[4096], zout[5000];
	size_t zn;
	char *why = NULL, *buf = NULL;
	size_t blen = 0;
	uint64_t size;
	FILE *log;

	memset(zin, 1, sizeof(zin));
	zn = ZSTD_compress(zout, sizeof(zout), zin, sizeof(zin), 3);
	write_bytes(path_of(ka, ".snap"), zout, zn - 5);   /* truncated */
	ck_assert_int_eq(fixture_cache_check(dir, ka, &size, &why),
	    FIXTURE_ENTRY_CORRUPT);
	ck_assert_str_eq(why, "truncated zstd stream");
	free(why);
	write_bytes(path_of(kb, ".snap"), "", 0);
	ck_assert_int_eq(fixture_cache_check(dir, kb, &size, &why),
	    FIXTURE_ENTRY_CORRUPT);
	ck_assert_str_eq(why, "empty file");
	free(why);
	write_bytes(path_of(kc, ".snap"), "#!/bin/sh\n", 10);
	ck_assert_int_eq(fixture_cache_check(dir, kc, &size, &why),
	    FIXTURE_ENTRY_CORRUPT);
	ck_assert_str_eq(why, "not a zstd or QEMU migration stream");
	free(why);

	ck_assert_ptr_nonnull(log = open_memstream(&buf, &blen));
	ck_assert_int_eq(fixture_cache_evict_corrupt(dir, ka,
	    "truncated zstd stream", log), 0);
	fclose(log);
	ck_assert_str_eq(buf, "provium: fixture cache entry `aaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa` corrupt (truncated "
	    "zstd stream); evicting and rebuilding\n");
	free(buf);
	ck_assert(!exists(path_of(ka, ".snap")));
	ck_assert_int_eq(fixture_cache_check(dir, ka, &size, &why),
	    FIXTURE_ENTRY_MISSING);
}
END_TEST

static void
set_atime(const char *p, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { 0, UTIME_OMIT } };

	ck_assert_int_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
}

START_TEST(touch_bumps_atime_only)
{
	struct stat st;

	put_raw(path_of(ka, ".snap"), 100);
	set_atime(path_of(ka, ".snap"), 1000);
	ck_assert_int_eq(stat(path_of(ka, ".snap"), &st), 0);
	time_t mt = st.st_mtim.tv_sec;
	ck_assert_int_eq(fixture_cache_touch(dir, ka), 0);
	ck_assert_int_eq(stat(path_of(ka, ".snap"), &st), 0);
	ck_assert_int_gt(st.st_atim.tv_sec, 1000);
	ck_assert_int_eq(st.st_mtim.tv_sec, mt);
}
END_TEST

/* Three 1000-byte entries, atimes 3000 (a), 1000 (b), 2000 (c). */
static void
three_entries(void)
{
	put_raw(path_of(ka, ".snap"), 1000);
	put_raw(path_of(kb, ".snap"), 1000);
	put_raw(path_of(kc, ".snap"), 1000);
	write_bytes(path_of(ka, ".lock"), "", 0);
	write_bytes(path_of(kb, ".lock"), "", 0);
	write_bytes(path_of(kc, ".lock"), "", 0);
	write_bytes(path_of(kb, ".json"), "{}", 2);
	set_atime(path_of(ka, ".snap"), 3000);
	set_atime(path_of(kb, ".snap"), 1000);
	set_atime(path_of(kc, ".snap"), 2000);
}

START_TEST(eviction_by_size_oldest_first)
{
	size_t removed = 9;
	uint64_t freed = 9;
	char *err = NULL;

	three_entries();
	ck_assert_int_eq(fixture_cache_evict_lru(dir, 3000, NULL, &removed,
	    &freed, &err), 0);
	ck_assert_uint_eq(removed, 0);
	ck_assert_int_eq(fixture_cache_evict_lru(dir, 1500, NULL, &removed,
	    &freed, &err), 0);
	ck_assert_uint_eq(removed, 2);
	ck_assert_uint_eq(freed, 2000);
	ck_assert(!exists(path_of(kb, ".snap")));
	ck_assert(!exists(path_of(kb, ".lock")));
	ck_assert(!exists(path_of(kb, ".json")));
	ck_assert(!exists(path_of(kc, ".snap")));
	ck_assert(!exists(path_of(kc, ".lock")));
	ck_assert(exists(path_of(ka, ".snap")));
	ck_assert(exists(path_of(ka, ".lock")));
}
END_TEST

START_TEST(eviction_skips_held_lock)
{
	struct fixture_lock lk = FIXTURE_LOCK_INIT;
	char *holder = NULL, *err = NULL, *buf = NULL;
	size_t removed, blen = 0;
	FILE *log;

	three_entries();
	ck_assert_int_eq(fixture_lock_try(dir, kb, ".lock", "busy.test.lua",
	    &lk, &holder, &err), FIXTURE_LOCK_HELD);
	/* The lock must be held by another open file description. */
	if (fork() == 0) {
		ck_assert_ptr_nonnull(log = open_memstream(&buf, &blen));
		fixture_cache_evict_lru(dir, 1500, log, &removed, NULL, &err);
		fclose(log);
		_exit(removed == 2 && strstr(buf, "not evicting bbbb") &&
		    strstr(buf, "file=busy.test.lua)") ? 0 : 1);
	}
	int st;
	ck_assert_int_gt(wait(&st), 0);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	fixture_lock_release(&lk);
	ck_assert(exists(path_of(kb, ".snap")));
	ck_assert(!exists(path_of(kc, ".snap")));
	ck_assert(!exists(path_of(ka, ".snap")));
}
END_TEST

START_TEST(eviction_sweeps_dead_builders_tmp)
{
	struct fixture_lock lk = FIXTURE_LOCK_INIT;
	char *holder = NULL, *err = NULL;
	size_t removed;

	put_raw(path_of(ka, ".snap.tmp"), 10);           /* dead builder */
	put_raw(path_of(kb, ".snap"), 10);
	put_raw(path_of(kb, ".snap.tmp"), 10);           /* dead rebuild */
	write_bytes(path_of(kb, ".lock"), "", 0);
	put_raw(path_of(kc, ".snap.tmp"), 10);           /* live builder */
	ck_assert_int_eq(fixture_lock_try(dir, kc, ".lock", "live.test.lua",
	    &lk, &holder, &err), FIXTURE_LOCK_HELD);
	if (fork() == 0) {
		fixture_cache_evict_lru(dir, 1ull << 30, NULL, &removed, NULL, &err);
		_exit(removed == 0 ? 0 : 1);
	}
	int st;
	ck_assert_int_gt(wait(&st), 0);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	fixture_lock_release(&lk);
	ck_assert(!exists(path_of(ka, ".snap.tmp")));
	ck_assert(!exists(path_of(ka, ".lock")));
	ck_assert(!exists(path_of(kb, ".snap.tmp")));
	ck_assert(exists(path_of(kb, ".snap")));
	ck_assert(exists(path_of(kb, ".lock")));
	ck_assert(exists(path_of(kc, ".snap.tmp")));
}
END_TEST

START_TEST(list_and_clean)
{
	struct fixture_cache_list l;
	char *err = NULL, lab[600];
	size_t removed;

	three_entries();
	snprintf(lab, sizeof(lab), "%s", path_of(kc, ".lab"));
	ck_assert_int_eq(mkdir(lab, 0755), 0);
	strcat(lab, "/lab.json");
	write_bytes(lab, "{}12345", 7);
	write_bytes(path_of(kc, ".lab.lock"), "", 0);
	write_bytes(path_of("", "unrelated.txt"), "x", 1);
	ck_assert_int_eq(fixture_cache_list(dir, &l, &err), 0);
	ck_assert_uint_eq(l.n, 4);
	ck_assert_str_eq(l.v[0].key, ka);
	ck_assert_str_eq(l.v[2].key, kc);
	ck_assert_int_eq(l.v[3].is_lab, 1);
	ck_assert_uint_eq(l.v[3].size, 7);
	fixture_cache_list_release(&l);
	ck_assert_int_eq(fixture_cache_clean(dir, &removed, &err), 0);
	ck_assert_uint_eq(removed, 4);
	ck_assert(!exists(path_of(kc, ".lab")));
	ck_assert(!exists(path_of(kc, ".lab.lock")));
	ck_assert(!exists(path_of(ka, ".lock")));
	ck_assert(exists(path_of("", "unrelated.txt")));
}
END_TEST

START_TEST(human_bytes)
{
	char b[32];

	fixture_human_bytes(512, b, sizeof(b));
	ck_assert_str_eq(b, "512 B");
	fixture_human_bytes(1536, b, sizeof(b));
	ck_assert_str_eq(b, "1.50 KiB");
	fixture_human_bytes(20ull << 30, b, sizeof(b));
	ck_assert_str_eq(b, "20.00 GiB");
	fixture_human_bytes(3ull << 40, b, sizeof(b));
	ck_assert_str_eq(b, "3.00 TiB");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("fixture_cache");
	TCase *tc = tcase_create("cache");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, dir_resolution);
	tcase_add_test(tc, lock_contention_reports_holder);
	tcase_add_test(tc, lock_survives_unlinked_lockfile);
	tcase_add_test(tc, atomic_install);
	tcase_add_test(tc, full_disk_leaves_nothing);
	tcase_add_test(tc, corrupt_entries_detected);
	tcase_add_test(tc, touch_bumps_atime_only);
	tcase_add_test(tc, eviction_by_size_oldest_first);
	tcase_add_test(tc, eviction_skips_held_lock);
	tcase_add_test(tc, eviction_sweeps_dead_builders_tmp);
	tcase_add_test(tc, list_and_clean);
	tcase_add_test(tc, human_bytes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
