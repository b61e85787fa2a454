/*
 * shard.h: --shard K/N, one CI job's part of the discovered files.
 *
 * Every job discovers the same files and keeps its part, so the N parts
 * are disjoint and cover everything without the jobs talking to each
 * other.  By default a file goes to shard (FNV-1a-64(display path) mod
 * N) + 1: stable when files are added or removed.  With a previous run's
 * events (--shard-durations), files are spread by their file_completed
 * durations instead, longest first onto the least loaded shard (ties: the
 * lower shard, then the path); a file the events do not know counts as
 * their mean duration.
 */
#ifndef PROVIUM_SHARD_H
#define PROVIUM_SHARD_H

#include <stdint.h>

#include "supervisor/discover.h"

uint64_t shard_hash(const char *path);

/* Keeps shard k (1-based) of n in *l.  0, or -1 with a malloc'd message
 * in *err (the durations file cannot be read). */
int shard_filter(struct discover_list *l, unsigned k, unsigned n,
    const char *durations, char **err);

#endif
