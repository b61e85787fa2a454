/*
 * profile.h: provium.toml and the profiles it defines.
 *
 *   [provium]          roots, cache_dir, cache_max_size
 *   [profiles.NAME]    kernel, initrd, cmdline, cmdline_file, modules,
 *                      inject_agent, agent_overlay_path, agent_boot_timeout,
 *                      build, build_out
 *
 * Unknown tables and keys are ignored (forward compatible); a known key
 * of the wrong type is an error "FILE:LINE: key `profiles.x.kernel`: ...".
 * Relative paths are relative to the directory holding the config file.
 * `{out}` in build, kernel, initrd, cmdline, cmdline_file, modules and
 * agent_overlay_path is replaced by build_out.
 *
 * A built-in profile `linux` (the guest image of scripts/build-guest) is
 * always present unless the config defines its own `linux`.
 */
#ifndef PROVIUM_PROFILE_H
#define PROVIUM_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFILE_DEFAULT_BOOT_TIMEOUT 30.0
#define PROFILE_DEFAULT_CACHE_MAX    (20ull << 30)

struct profile {
	char *name;
	char *kernel;             /* absolute */
	char *initrd;             /* absolute, or "" for none */
	char *cmdline;            /* inline part, "" if none */
	char *cmdline_file;       /* absolute, or NULL */
	char *modules;            /* dir of *.ko put in the overlay, or NULL */
	bool inject_agent;
	char *agent_overlay_path; /* prebuilt overlay cpio, or NULL */
	double agent_boot_timeout;
	char *build;              /* sh -c command, or NULL */
	char *build_out;          /* absolute */
	char *dir;                /* cwd for build */
	bool builtin;
	int line;                 /* of its [profiles.NAME] header, 0 if builtin */
};

struct profile_config {
	char *path;               /* config file, or NULL when none */
	char **roots;
	size_t nroots;
	char *cache_dir;          /* NULL = default */
	uint64_t cache_max_size;
	struct profile *profiles;
	size_t nprofiles;
};

/*
 * Loads path, or when path is NULL ./provium.toml if it exists (else only
 * the built-in profile).  On error returns -1 with *err malloc'd.
 */
int profile_config_load(const char *path, struct profile_config **out,
    char **err);
/* Same from text, for tests; filename names it in errors, dir resolves paths. */
int profile_config_parse(const char *text, size_t len, const char *filename,
    const char *dir, struct profile_config **out, char **err);
void profile_config_free(struct profile_config *c);

const struct profile *profile_find(const struct profile_config *c,
    const char *name);

/*
 * The kernel command line a boot starts from: cmdline_file's contents
 * (whitespace collapsed), then cmdline.  malloc'd, or NULL with *err.
 */
char *profile_cmdline(const struct profile *p, char **err);

/*
 * Checks that the files a boot needs exist:
 * "missing path `X` (profile `linux` field `kernel`)".
 */
int profile_check_paths(const struct profile *p, char **err);

/*
 * Runs each profile's build command once (sh -c, cwd = its dir, with
 * build_out created), every profile when only is NULL.  Output goes to
 * the caller's stderr.  A non-zero exit is an error naming the profile.
 */
int profile_run_builds(const struct profile_config *c, const char *only,
    char **err);

/* Where the built-in `linux` guest image lives (malloc'd). */
char *profile_guest_dir(void);

#endif
