/* history.c: SQLite rows of a run. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "events/crypto_lazy.h"
#include <sqlite3.h>
#include "events/sqlite_lazy.h"

#include "events/history.h"

static const char schema[] =
"PRAGMA foreign_keys = ON;\n"
"CREATE TABLE IF NOT EXISTS runs (\n"
"  id INTEGER PRIMARY KEY,\n"
"  run_key TEXT NOT NULL UNIQUE,   -- sha256 of the first frame\n"
"  source TEXT,                    -- the imported file\n"
"  started_at TEXT,                -- UTC, ISO 8601, first event\n"
"  started_ns INTEGER, ended_ns INTEGER, wall_ns INTEGER,\n"
"  frames INTEGER, files INTEGER, tests INTEGER,\n"
"  passed INTEGER, failed INTEGER, skipped INTEGER,\n"
"  complete INTEGER,               -- 1 if every discovered file completed\n"
"  imported_at TEXT);\n"
"CREATE TABLE IF NOT EXISTS files (\n"
"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
"  path TEXT NOT NULL,\n"
"  status TEXT,                    -- NULL: never completed\n"
"  duration_ns INTEGER, discovered_ns INTEGER, dispatched_ns INTEGER,\n"
"  completed_ns INTEGER, blocked_ns INTEGER, block_reasons TEXT,\n"
"  reserved_memory_bytes INTEGER, reserved_cpus INTEGER,\n"
"  fixture_refs TEXT,              -- comma-separated\n"
"  PRIMARY KEY (run_id, path));\n"
"CREATE TABLE IF NOT EXISTS tests (\n"
"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
"  path TEXT NOT NULL, name TEXT NOT NULL,\n"
"  result TEXT NOT NULL,           -- passed failed skipped running\n"
"  duration_ns INTEGER, started_ns INTEGER, ended_ns INTEGER,\n"
"  reason TEXT, meta TEXT);        -- meta as JSON: json_extract(meta,'$.spec')\n"
"CREATE TABLE IF NOT EXISTS vms (\n"
"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
"  file TEXT, vm_name TEXT, profile TEXT, memory_bytes INTEGER, cid INTEGER,\n"
"  spawned_ns INTEGER, shutdown_ns INTEGER, uptime_ns INTEGER);\n"
"CREATE TABLE IF NOT EXISTS fixture_builds (\n"
"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
"  path TEXT NOT NULL,\n"
"  kind TEXT NOT NULL,             -- built cache_hit waited\n"
"  ts_ns INTEGER, done_ns INTEGER, duration_ns INTEGER,\n"
"  snapshot_bytes INTEGER, held_by TEXT);\n"
"CREATE INDEX IF NOT EXISTS files_path ON files(path);\n"
"CREATE INDEX IF NOT EXISTS tests_run ON tests(run_id, path);\n"
"CREATE INDEX IF NOT EXISTS vms_run ON vms(run_id);\n"
"CREATE INDEX IF NOT EXISTS fixture_builds_run ON fixture_builds(run_id);\n";

void
history_run_key(const uint8_t *body, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	EVP_Digest(body, len, md, &n, EVP_sha256(), NULL);
	for (i = 0; i < n && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

static void
iso(int64_t ns, char *b, size_t n)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(b, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Binds ? parameters from a format: s=text (NULL ok), i=int64, u=uint64. */
static int
run_stmt(sqlite3 *db, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int i, rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	va_start(ap, fmt);
	for (i = 0; fmt[i]; i++) {
		if (fmt[i] == 's') {
			const char *s = va_arg(ap, const char *);
			rc = s ? sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT)
			    : sqlite3_bind_null(st, i + 1);
		} else if (fmt[i] == 'i') {
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		} else {
			/* u64 beyond i64 cannot happen for ns/bytes in practice */
			rc = sqlite3_bind_int64(st, i + 1, (int64_t)va_arg(ap, uint64_t));
		}
		if (rc != SQLITE_OK) {
			va_end(ap);
			sqlite3_finalize(st);
			return -1;
		}
	}
	va_end(ap);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static const char *
result_name(enum evrun_result r)
{
	static const char *n[] = { "running", "passed", "failed", "skipped" };

	return n[r];
}

static int
insert_rows(sqlite3 *db, int64_t id, const struct evrun *r)
{
	static const char *kinds[] = { "built", "cache_hit", "waited" };
	size_t i, k;
	char refs[4096];

	for (i = 0; i < evrun_nfiles(r); i++) {
		const struct evrun_file *f = evrun_file(r, i);
		refs[0] = '\0';
		for (k = 0; k < f->nfixture_refs; k++) {
			if (k)
				strncat(refs, ",", sizeof(refs) - strlen(refs) - 1);
			strncat(refs, f->fixture_refs[k], sizeof(refs) - strlen(refs) - 1);
		}
		if (run_stmt(db, "INSERT INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
		    "issuiiiusuus", id, f->path, f->status, f->duration_ns,
		    f->discovered_ts, f->dispatched_ts, f->completed_ts,
		    evrun_blocked_ns(r, f), f->block_reasons,
		    f->reservation.memory_bytes, (uint64_t)f->reservation.cpus,
		    refs) < 0)
			return -1;
	}
	for (i = 0; i < r->ntests; i++) {
		const struct evrun_test *t = &r->tests[i];
		if (run_stmt(db, "INSERT INTO tests VALUES (?,?,?,?,?,?,?,?,?)",
		    "isssuiiss", id, t->path, t->name, result_name(t->result),
		    t->duration_ns, t->started_ts, t->ended_ts, t->reason,
		    t->meta_json) < 0)
			return -1;
	}
	for (i = 0; i < r->nvms; i++) {
		const struct evrun_vm *v = &r->vms[i];
		if (run_stmt(db, "INSERT INTO vms VALUES (?,?,?,?,?,?,?,?,?)",
		    "isssuuiiu", id, v->file, v->name, v->profile, v->memory_bytes,
		    (uint64_t)v->cid, v->spawned_ts, v->shutdown_ts,
		    v->uptime_ns) < 0)
			return -1;
	}
	for (i = 0; i < r->nfix; i++) {
		const struct evrun_fixture *x = &r->fix[i];
		if (run_stmt(db, "INSERT INTO fixture_builds VALUES (?,?,?,?,?,?,?,?)",
		    "issiiuus", id, x->path, kinds[x->kind], x->ts, x->done_ts,
		    x->duration_ns, x->snapshot_bytes, x->held_by) < 0)
			return -1;
	}
	return 0;
}

int64_t
history_import(const char *db_path, const struct evrun *r, const char *run_key,
    const char *source, int *replaced, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	char started[32], now[32];
	int64_t id = -1;

	*replaced = 0;
	iso(r->first_ts, started, sizeof(started));
	iso((int64_t)time(NULL) * 1000000000, now, sizeof(now));
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (run_stmt(db, "DELETE FROM runs WHERE run_key = ?", "s", run_key) < 0)
		goto rollback;
	*replaced = sqlite3_changes(db) > 0;
	if (run_stmt(db, "INSERT INTO runs (run_key, source, started_at, "
	    "started_ns, ended_ns, wall_ns, frames, files, tests, passed, failed, "
	    "skipped, complete, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	    "sssiiiuuuuuuis", run_key, source, started, r->first_ts, r->last_ts,
	    r->last_ts - r->first_ts, r->frames, (uint64_t)evrun_nfiles(r),
	    (uint64_t)r->ntests, r->passed, r->failed, r->skipped,
	    (int64_t)evrun_complete(r), now) < 0)
		goto rollback;
	id = sqlite3_last_insert_rowid(db);
	if (insert_rows(db, id, r) < 0)
		goto rollback;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto rollback;
	sqlite3_close(db);
	return id;
rollback:
	snprintf(err, errlen, "%s: %s", db_path, sqlite3_errmsg(db));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	return -1;
fail:
	snprintf(err, errlen, "%s: %s", db_path,
	    db ? sqlite3_errmsg(db) : *sqlite_lazy_error() ?
	    sqlite_lazy_error() : "cannot open");
	sqlite3_close(db);
	return -1;
}
