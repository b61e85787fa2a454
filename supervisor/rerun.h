/*
 * rerun.h: --rerun-failed's state, the files the last failing run failed.
 *
 * A JSON array of canonical (realpath) file paths.  Written atomically
 * (temporary file in the same directory, then rename) and only when a run
 * had failures, so a run that passes does not forget what last failed.
 * Where: $PROVIUM_RERUN_STATE, else $XDG_CACHE_HOME/provium/rerun.json,
 * else ~/.cache/provium/rerun.json, else /tmp/provium-rerun.json.
 */
#ifndef PROVIUM_RERUN_H
#define PROVIUM_RERUN_H

#include <stddef.h>

#include "supervisor/discover.h"

/* The state path (malloc'd), and its parent directory created (0700)
 * when create is set.  NULL on ENOMEM. */
char *rerun_state_path(int create);

/*
 * Keeps the files of *l listed in the state at path.  1 done, 0 no state
 * (missing or an empty list: the caller says so and exits 0), -1 with a
 * malloc'd message in *err (unreadable or malformed state).
 */
int rerun_filter(const char *path, struct discover_list *l, char **err);

/* Writes the paths of l->v[i] with failed[i] set.  0, or -1 with err. */
int rerun_save(const char *path, const struct discover_list *l,
    const unsigned char *failed, char *err, size_t errlen);

#endif
