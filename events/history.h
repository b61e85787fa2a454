/*
 * history.h: run history in SQLite (`provium events import FILE --db DB`).
 * Rows are derived from the stream (evrun): tables runs, files, tests,
 * vms, fixture_builds; every child row carries run_id.  A run is
 * identified by the SHA-256 of its first frame (which holds the ns
 * timestamp of the first event), so importing the same run again -- or a
 * longer copy of a run that was still going -- replaces its rows instead
 * of adding new ones.  The schema is in history.c and docs/events.md.
 */
#ifndef PROVIUM_HISTORY_H
#define PROVIUM_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "events/evrun.h"

/* Hex SHA-256 of the first frame's body: out must hold 65 bytes. */
void history_run_key(const uint8_t *body, size_t len, char out[65]);

/*
 * Creates the schema if needed and writes the run in one transaction.
 * *replaced is set to 1 if the run was already there.  Returns the run's
 * rowid (> 0), or -1 with a message in err.
 */
int64_t history_import(const char *db_path, const struct evrun *r,
    const char *run_key, const char *source, int *replaced, char *err,
    size_t errlen);

#endif
