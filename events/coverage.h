/*
 * coverage.h: the provium-coverage model.  Counts test results by one
 * meta key (upstream §8.3: a string value is one bucket, an array of
 * strings one bucket per element, anything else -- missing, empty array,
 * other types -- counts under `<unset>`), keeps failing tests for the
 * HTML report, and tracks run completeness through events/check.
 *
 * Feed it events in stream order, then render: text (upstream format),
 * JSON (upstream shape plus "complete"/"incomplete_files"), or HTML.
 */
#ifndef PROVIUM_COVERAGE_H
#define PROVIUM_COVERAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "events/check.h"
#include "events/event.h"
#include "events/smap.h"

struct coverage_counts {
	uint64_t passed, failed, skipped;
};

struct coverage_fail {
	char *path, *name, *reason, *excerpt;
	char **buckets;         /* NULL-terminated; empty = <unset> */
	uint64_t duration_ns;
};

struct coverage {
	char *by;
	struct smap buckets;            /* key -> struct coverage_counts * */
	struct coverage_counts unset;
	struct coverage_counts total;   /* each test once */
	struct coverage_fail *fails;
	size_t nfails, fails_cap;
	uint64_t fails_dropped;         /* past COVERAGE_MAX_FAILS */
	struct check chk;
	uint64_t frames;
	int64_t first_ts, last_ts;
};

#define COVERAGE_MAX_FAILS 500
#define COVERAGE_MAX_EXCERPT (16u * 1024)

int coverage_init(struct coverage *c, const char *by);
void coverage_release(struct coverage *c);
/* 0, or -1 on ENOMEM. */
int coverage_feed(struct coverage *c, const struct event *ev);
bool coverage_complete(const struct coverage *c);

/* Output; each returns 0 or -1 (write error, errno set). */
int coverage_text(const struct coverage *c, FILE *out);
int coverage_json(const struct coverage *c, FILE *out);
int coverage_html(const struct coverage *c, FILE *out);

/* Bucket keys sorted byte-wise (malloc'd array of borrowed strings). */
const char **coverage_sorted_keys(const struct coverage *c, size_t *n);

#endif
