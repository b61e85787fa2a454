/*
 * sqlite_lazy.h: the SQLite calls run history makes (history.c), resolved
 * with dlopen on first use (lazylib.h says why).  Include after
 * <sqlite3.h>: the names below then call the lazy versions.  If
 * libsqlite3.so.0 cannot be loaded, sqlite3_open_v2 fails with
 * SQLITE_CANTOPEN and a NULL handle, and sqlite_lazy_error() says why.
 */
#ifndef PROVIUM_SQLITE_LAZY_H
#define PROVIUM_SQLITE_LAZY_H

#include <sqlite3.h>

/* "" while loadable, else the reason (dlerror). */
const char *sqlite_lazy_error(void);

int lazy_sqlite3_open_v2(const char *path, sqlite3 **db, int flags,
    const char *vfs);
int lazy_sqlite3_close(sqlite3 *db);
const char *lazy_sqlite3_errmsg(sqlite3 *db);
int lazy_sqlite3_busy_timeout(sqlite3 *db, int ms);
int lazy_sqlite3_exec(sqlite3 *db, const char *sql,
    int (*cb)(void *, int, char **, char **), void *arg, char **errmsg);
int lazy_sqlite3_changes(sqlite3 *db);
sqlite3_int64 lazy_sqlite3_last_insert_rowid(sqlite3 *db);
int lazy_sqlite3_prepare_v2(sqlite3 *db, const char *sql, int n,
    sqlite3_stmt **st, const char **tail);
int lazy_sqlite3_bind_text(sqlite3_stmt *st, int i, const char *s, int n,
    void (*dtor)(void *));
int lazy_sqlite3_bind_null(sqlite3_stmt *st, int i);
int lazy_sqlite3_bind_int64(sqlite3_stmt *st, int i, sqlite3_int64 v);
int lazy_sqlite3_step(sqlite3_stmt *st);
int lazy_sqlite3_finalize(sqlite3_stmt *st);

#define sqlite3_open_v2           lazy_sqlite3_open_v2
#define sqlite3_close             lazy_sqlite3_close
#define sqlite3_errmsg            lazy_sqlite3_errmsg
#define sqlite3_busy_timeout      lazy_sqlite3_busy_timeout
#define sqlite3_exec              lazy_sqlite3_exec
#define sqlite3_changes           lazy_sqlite3_changes
#define sqlite3_last_insert_rowid lazy_sqlite3_last_insert_rowid
#define sqlite3_prepare_v2        lazy_sqlite3_prepare_v2
#define sqlite3_bind_text         lazy_sqlite3_bind_text
#define sqlite3_bind_null         lazy_sqlite3_bind_null
#define sqlite3_bind_int64        lazy_sqlite3_bind_int64
#define sqlite3_step              lazy_sqlite3_step
#define sqlite3_finalize          lazy_sqlite3_finalize

#endif
