/* check_lazylib.c: libraries loaded on first use, and what a failure says. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "events/lazylib.h"
#include "events/sqlite_lazy.h"

static const char *const libc_names[] = { "strlen", "abs" };
static void *libc_fn[2];
static const char *const bad_names[] = { "strlen", "provium_no_such_symbol" };
static void *bad_fn[2];

START_TEST(resolves_every_symbol)
{
	struct lazylib l = LAZYLIB_INIT("libc.so.6", libc_names, libc_fn);

	ck_assert(lazylib_ready(&l));
	ck_assert(lazylib_ready(&l));           /* once, then cached */
	ck_assert_str_eq(lazylib_error(&l), "");
	ck_assert_uint_eq(((size_t (*)(const char *))libc_fn[0])("four"), 4);
	ck_assert_int_eq(((int (*)(int))libc_fn[1])(-3), 3);
}
END_TEST

START_TEST(names_what_is_missing)
{
	struct lazylib l = LAZYLIB_INIT("libc.so.6", bad_names, bad_fn);
	struct lazylib m = LAZYLIB_INIT("libprovium-absent.so.9", libc_names,
	    libc_fn);

	ck_assert(!lazylib_ready(&l));
	ck_assert_str_eq(lazylib_error(&l),
	    "libc.so.6: no symbol `provium_no_such_symbol`");
	ck_assert(!lazylib_ready(&m));
	ck_assert_str_eq(lazylib_error(&m), "libprovium-absent.so.9: cannot "
	    "open shared object file: No such file or directory");
}
END_TEST

/* The SQLite wrappers load libsqlite3 on the first call and work. */
START_TEST(sqlite_on_first_use)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	ck_assert_int_eq(sqlite3_open_v2(":memory:", &db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	ck_assert_str_eq(sqlite_lazy_error(), "");
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t (v INTEGER)", NULL,
	    NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?)", -1,
	    &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_bind_int64(st, 1, 42), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	ck_assert_int_eq(sqlite3_finalize(st), SQLITE_OK);
	ck_assert_int_eq(sqlite3_changes(db), 1);
	ck_assert_int_eq(sqlite3_last_insert_rowid(db), 1);
	ck_assert_int_eq(sqlite3_exec(db, "SELECT nope", NULL, NULL, NULL),
	    SQLITE_ERROR);
	ck_assert_str_eq(sqlite3_errmsg(db), "no such column: nope");
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lazylib");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, resolves_every_symbol);
	tcase_add_test(tc, names_what_is_missing);
	tcase_add_test(tc, sqlite_on_first_use);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
