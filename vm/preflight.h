/*
 * preflight.h: what a run with real VMs needs, checked before anything
 * starts, with one clear line (and the fix) per missing prerequisite.
 */
#ifndef PROVIUM_PREFLIGHT_H
#define PROVIUM_PREFLIGHT_H

#include "vm/accel.h"

struct profile_config;

/*
 * Checks qemu-system-x86_64 and zstd on PATH, the agent binary, the files
 * of profile (NULL: the built-in guest image), and decides the accelerator for
 * mode.  *accel and *accel_why (malloc'd, for the caller to print once:
 * "provium: accelerator: tcg (...)") are set whenever the decision could
 * be made.  Returns 0 when all is there, else -1 with *problems: one line
 * per missing prerequisite, each ending in '\n'.
 */
int preflight_check(const struct profile_config *c, const char *profile,
    enum accel_mode mode, enum accel_mode *accel, char **accel_why,
    char **problems);

/* Full path of prog found on PATH (malloc'd), or NULL. */
char *preflight_which(const char *prog);

#endif
