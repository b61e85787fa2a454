/*
 * evrun.h: the rows of a run derived from its event stream -- files,
 * tests, VMs, fixture builds -- the quire-ci / Litmus idea that the
 * stream is the record and everything else is a view of it.  Feeding is
 * incremental, so a view can be rendered at any point (JUnit on Ctrl-C).
 * Used by `events summary`, `events import` (SQLite) and junit.
 */
#ifndef PROVIUM_EVRUN_H
#define PROVIUM_EVRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/check.h"
#include "events/event.h"
#include "events/smap.h"

enum evrun_result { EVRUN_RUNNING, EVRUN_PASSED, EVRUN_FAILED, EVRUN_SKIPPED };

struct evrun_test {
	const char *path;       /* the file's path (owned by the file) */
	char *name;
	enum evrun_result result;
	int64_t started_ts, ended_ts;
	uint64_t duration_ns;
	char *reason;           /* failed / skipped */
	char *excerpt;          /* failed; tail capped at EVRUN_MAX_EXCERPT */
	char *meta_json;        /* meta as compact JSON */
};

struct evrun_file {
	char *path;
	int64_t discovered_ts, dispatched_ts, completed_ts;  /* 0 = not seen */
	int64_t first_blocked_ts;
	uint64_t blocked_ns;    /* first file_blocked .. dispatch (or end) */
	char *block_reasons;    /* distinct reasons, comma-separated */
	char *status;           /* NULL until completed */
	uint64_t duration_ns;
	struct resource_amount reservation;
	char **fixture_refs;
	size_t nfixture_refs;
	size_t *tests;          /* indices into evrun.tests, in start order */
	size_t ntests, tests_cap;
};

struct evrun_vm {
	char *file, *name, *profile;
	uint64_t memory_bytes;
	uint32_t cid;
	int64_t spawned_ts, shutdown_ts;    /* shutdown_ts 0: still up */
	uint64_t uptime_ns;     /* vm_shutdown.duration_ns, or ts difference */
};

enum evrun_fixture_kind { EVRUN_BUILT, EVRUN_CACHE_HIT, EVRUN_WAITED };

struct evrun_fixture {
	char *path;
	enum evrun_fixture_kind kind;
	int64_t ts;             /* started / hit / waiting */
	int64_t done_ts;        /* built: done; waited: the next done; 0: open */
	uint64_t duration_ns;
	uint64_t snapshot_bytes;
	char *held_by;          /* waited */
};

#define EVRUN_MAX_EXCERPT (16u * 1024)

struct evrun {
	struct smap files;      /* path -> struct evrun_file * */
	struct evrun_test *tests;
	size_t ntests, tests_cap;
	struct smap test_idx;   /* "path\0name" -> index + 1 of the open test */
	struct evrun_vm *vms;
	size_t nvms, vms_cap;
	struct evrun_fixture *fix;
	size_t nfix, fix_cap;
	struct check chk;
	uint64_t frames;
	int64_t first_ts, last_ts;
	uint64_t passed, failed, skipped;
	char *first_frame_sha256;   /* run identity, set by evrun_set_id */
};

void evrun_init(struct evrun *r);
void evrun_release(struct evrun *r);
/* 0, or -1 on ENOMEM. */
int evrun_feed(struct evrun *r, const struct event *ev);
bool evrun_complete(const struct evrun *r);
/* File records in discovery (first-seen) order. */
#define evrun_nfiles(r) smap_len(&(r)->files)
#define evrun_file(r, i) ((struct evrun_file *)smap_at(&(r)->files, (i))->val)
struct evrun_file *evrun_find_file(const struct evrun *r, const char *path);
/* Blocked time of f as of now (open blocks run to the last event). */
uint64_t evrun_blocked_ns(const struct evrun *r, const struct evrun_file *f);

/* Compact JSON of a MetaValue (bytes as base64 string); malloc'd. */
char *evrun_meta_json(const struct meta_value *m);

#endif
