/* sqlite_lazy.c: dlopen("libsqlite3.so.0") on the first history call. */
#include <stddef.h>

#include <sqlite3.h>

#include "events/lazylib.h"
#include "events/sqlite_lazy.h"

enum { F_OPEN, F_CLOSE, F_ERRMSG, F_BUSY, F_EXEC, F_CHANGES, F_ROWID,
	F_PREPARE, F_TEXT, F_NULL, F_INT64, F_STEP, F_FINALIZE };
static const char *const names[] = { "sqlite3_open_v2", "sqlite3_close",
	"sqlite3_errmsg", "sqlite3_busy_timeout", "sqlite3_exec",
	"sqlite3_changes", "sqlite3_last_insert_rowid", "sqlite3_prepare_v2",
	"sqlite3_bind_text", "sqlite3_bind_null", "sqlite3_bind_int64",
	"sqlite3_step", "sqlite3_finalize" };
static void *fn[sizeof(names) / sizeof(names[0])];
static struct lazylib lib = LAZYLIB_INIT("libsqlite3.so.0", names, fn);

/* The real functions' types: the #defines above rename only the calls. */
#undef sqlite3_open_v2
#undef sqlite3_close
#undef sqlite3_errmsg
#undef sqlite3_busy_timeout
#undef sqlite3_exec
#undef sqlite3_changes
#undef sqlite3_last_insert_rowid
#undef sqlite3_prepare_v2
#undef sqlite3_bind_text
#undef sqlite3_bind_null
#undef sqlite3_bind_int64
#undef sqlite3_step
#undef sqlite3_finalize
#define CALL(f, i) ((__typeof__(&f))fn[i])

const char *
sqlite_lazy_error(void)
{
	return lazylib_ready(&lib) ? "" : lazylib_error(&lib);
}

int
lazy_sqlite3_open_v2(const char *path, sqlite3 **db, int flags,
    const char *vfs)
{
	if (!lazylib_ready(&lib)) {
		*db = NULL;
		return SQLITE_CANTOPEN;
	}
	return CALL(sqlite3_open_v2, F_OPEN)(path, db, flags, vfs);
}

/* A handle exists only if the library loaded: no ready() check needed
 * below when db or st is non-NULL. */
int
lazy_sqlite3_close(sqlite3 *db)
{
	return db ? CALL(sqlite3_close, F_CLOSE)(db) : SQLITE_OK;
}

const char *
lazy_sqlite3_errmsg(sqlite3 *db)
{
	return db ? CALL(sqlite3_errmsg, F_ERRMSG)(db) : sqlite_lazy_error();
}

int
lazy_sqlite3_busy_timeout(sqlite3 *db, int ms)
{
	return db ? CALL(sqlite3_busy_timeout, F_BUSY)(db, ms) : SQLITE_MISUSE;
}

int
lazy_sqlite3_exec(sqlite3 *db, const char *sql,
    int (*cb)(void *, int, char **, char **), void *arg, char **errmsg)
{
	return db ? CALL(sqlite3_exec, F_EXEC)(db, sql, cb, arg, errmsg) :
	    SQLITE_MISUSE;
}

int
lazy_sqlite3_changes(sqlite3 *db)
{
	return db ? CALL(sqlite3_changes, F_CHANGES)(db) : 0;
}

sqlite3_int64
lazy_sqlite3_last_insert_rowid(sqlite3 *db)
{
	return db ? CALL(sqlite3_last_insert_rowid, F_ROWID)(db) : 0;
}

int
lazy_sqlite3_prepare_v2(sqlite3 *db, const char *sql, int n,
    sqlite3_stmt **st, const char **tail)
{
	if (db == NULL) {
		*st = NULL;
		return SQLITE_MISUSE;
	}
	return CALL(sqlite3_prepare_v2, F_PREPARE)(db, sql, n, st, tail);
}

int
lazy_sqlite3_bind_text(sqlite3_stmt *st, int i, const char *s, int n,
    void (*dtor)(void *))
{
	return st ? CALL(sqlite3_bind_text, F_TEXT)(st, i, s, n, dtor) :
	    SQLITE_MISUSE;
}

int
lazy_sqlite3_bind_null(sqlite3_stmt *st, int i)
{
	return st ? CALL(sqlite3_bind_null, F_NULL)(st, i) : SQLITE_MISUSE;
}

int
lazy_sqlite3_bind_int64(sqlite3_stmt *st, int i, sqlite3_int64 v)
{
	return st ? CALL(sqlite3_bind_int64, F_INT64)(st, i, v) : SQLITE_MISUSE;
}

int
lazy_sqlite3_step(sqlite3_stmt *st)
{
	return st ? CALL(sqlite3_step, F_STEP)(st) : SQLITE_MISUSE;
}

int
lazy_sqlite3_finalize(sqlite3_stmt *st)
{
	return st ? CALL(sqlite3_finalize, F_FINALIZE)(st) : SQLITE_OK;
}
