/*
 * check.h: verifies the seed-001 event guarantees on a stream, one event
 * at a time, and tracks whether the run is complete (every discovered
 * file completed).  Used by `provium events check`, and by the other
 * consumers (provium-coverage, summary, junit) for completeness.
 *
 * Guarantees checked (message prefixes in parentheses):
 *  - file_discovered once per file, all before the first file_dispatched
 *  - per file: file_blocked only before its file_dispatched, at most one
 *    file_dispatched, exactly one file_completed, after the dispatch;
 *    no event for a file that was never discovered
 *  - per test (path, name): one test_started, then exactly one of
 *    test_passed / test_failed / test_skipped, inside the file's
 *    dispatch..completion window
 *  - claim_acquired / claim_released paired per path
 *  - fixture_build_started / fixture_build_done paired per fixture path;
 *    fixture_cache_hit never during that fixture's build and never
 *    followed by a rebuild of the same fixture (a corrupt entry)
 *  - vm_spawned / vm_shutdown paired per (file, vm_name) (upstream pins it)
 * Violations are collected with the 0-based frame index they were found at.
 */
#ifndef PROVIUM_CHECK_H
#define PROVIUM_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/event.h"
#include "events/smap.h"

struct check_violation {
	uint64_t frame;         /* frame index; UINT64_MAX: end of stream */
	char *msg;
};

struct check {
	struct smap files, tests, claims, builds, vms, hits;
	bool dispatching;       /* a file_dispatched was seen */
	uint64_t ndiscovered, ncompleted;
	uint64_t nframes;
	struct check_violation *v;
	size_t nv, cap;
	size_t max_violations;  /* 0 = unlimited; further ones only counted */
	uint64_t dropped;
	bool files_only;        /* track completeness only (cheap) */
	const char **incomplete;  /* scratch for check_incomplete */
};

void check_init(struct check *c);
void check_release(struct check *c);
/* Feeds event number `frame` (0-based).  -1 only on ENOMEM. */
int check_feed(struct check *c, uint64_t frame, const struct event *ev);
/* Records a frame that could not be decoded as an event. */
int check_bad_frame(struct check *c, uint64_t frame, const char *why);
/* End of stream: unpaired starts, unfinished tests, missing completions. */
int check_finish(struct check *c);

/* Every discovered file has completed (vacuously true with none). */
bool check_complete(const struct check *c);
/* Discovered files without file_completed, in discovery order; the
 * array and strings belong to c (valid until the next feed). */
size_t check_incomplete(const struct check *c, const char ***paths);

#endif
