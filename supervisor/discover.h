/*
 * discover.h: find the *.test.lua files a run covers.
 *
 * Directories are walked recursively without following symlinks; a file
 * argument must end in ".test.lua".  The result is sorted by display path
 * and deduplicated.  Each file is scanned (scan.h) for fixture refs and a
 * declared claim.
 *
 * Memory per file is kept small because a run may cover many thousands of
 * files: paths live in one arena owned by the list, and a scan result is
 * only allocated for files that have fixture refs or a declared claim.
 */
#ifndef PROVIUM_DISCOVER_H
#define PROVIUM_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "supervisor/scan.h"

struct discovered {
	char *display;   /* event `path`: relative to the cwd, no leading "./";
	                  * in the list's arena */
	/* fixture refs and declared claim; NULL when the file has neither */
	struct scan_result *scan;
	bool uses_vms;   /* scan_result.uses_vms */
};

struct discover_chunk;

struct discover_list {
	struct discovered *v;
	size_t n;
	struct discover_chunk *arena;   /* the paths */
};

/*
 * Discovers under paths[0..npaths) (none = "."), keeping files whose rel
 * path contains filter (NULL = all).  -1 with a malloc'd message in *err
 * (caller frees) on a bad argument or an I/O error.
 */
int discover_run(const char *const *paths, size_t npaths, const char *filter,
    struct discover_list *out, char **err);
void discover_list_clear(struct discover_list *l);
/* Drops l->v[i] where keep[i] is 0 (freeing them), keeping the order. */
void discover_list_keep(struct discover_list *l, const unsigned char *keep);

/* "./a//b" -> "a/b"; absolute paths under cwd become relative. malloc'd. */
char *discover_display_path(const char *path, const char *cwd);

#endif
