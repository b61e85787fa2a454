/*
 * merge.h: `provium events merge A B ... -o ALL`: the event streams of
 * the shards of one suite (--shard K/N, each from its own CI job) made
 * into one stream a consumer can read as a single run.
 *
 * The output holds every input frame: first every file_discovered of
 * every input (in input order, restamped with the earliest of their ts),
 * then all other frames unchanged, merged by ts, ties in input order,
 * each input's own order kept.  So ts never go backwards, "every file_discovered before the first dispatch" holds, and every
 * per-file, per-test, claim, VM and build pairing holds because each
 * file's frames all come from one input.  A file discovered in two inputs
 * is an error (the shards overlap).  The output is written to a
 * temporary file and renamed, so ALL is never half-written; "-" is stdout.
 */
#ifndef PROVIUM_MERGE_H
#define PROVIUM_MERGE_H

#include <stddef.h>
#include <stdint.h>

struct merge_stats {
	uint64_t frames;
	uint64_t files;
};

/* 0, or -1 with err ("B: byte offset N: ..."). */
int merge_streams(const char *const *inputs, size_t n, const char *out,
    struct merge_stats *st, char *err, size_t errlen);

#endif
