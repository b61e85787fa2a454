/*
 * prep.h: what a run settles before its first file starts.
 *
 * The config is loaded once here so that a broken provium.toml stops the
 * run with exit 2 (instead of crashing every runner), profile build hooks
 * run once, and, when the files use VMs under QEMU, preflight checks the
 * prerequisites and the accelerator is decided once and said once on
 * stderr; runners inherit the decision through PROVIUM_ACCEL.
 */
#ifndef PROVIUM_PREP_H
#define PROVIUM_PREP_H

#include <stdbool.h>

#include "supervisor/cli.h"
#include "supervisor/discover.h"

/*
 * True when some discovered file mentions the VM API (scan.h's
 * uses_vms, found while discovery scanned it), so pure-Lua suites pay
 * for no preflight and need no QEMU on the machine.
 */
bool prep_files_use_vms(const struct discover_list *files);

/* Returns 0, or 2 after printing why on stderr (exit code). */
int prep_run(const struct cli_opts *o, const struct discover_list *files);

/* `provium prepare [PROFILE]`: run build hooks only.  Exit code. */
int prep_prepare_main(const char *config, const char *profile);

#endif
