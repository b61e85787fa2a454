/*
 * overlay.h: the initramfs pieces provium adds to a profile's initrd.
 *
 * The kernel unpacks concatenated initramfs archives in order, later
 * entries replacing earlier ones, so provium never edits a profile's
 * initrd: it boots initrd ‖ agent overlay [‖ boot files], each a newc
 * cpio.  The merged initrd+overlay is cached by content hash; boot files
 * differ per boot and go in the VM's scratch directory.
 */
#ifndef PROVIUM_OVERLAY_H
#define PROVIUM_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

#include "vm/vmm.h"

#define OVERLAY_AGENT_PATH "/sbin/provium-agent"
#define OVERLAY_MODULE_DIR "/lib/modules/provium"

/* In-memory newc cpio writer.  Caller storage: struct cpio c = CPIO_INIT; */
struct cpio {
	uint8_t *buf;
	size_t len, cap;
	uint32_t ino;
	char **dirs;       /* directories already emitted */
	size_t ndirs;
	int failed;        /* ENOMEM seen; the archive is unusable */
};
#define CPIO_INIT { 0 }

/* Adds path (absolute or relative; stored without the leading '/') and any
 * parent directories not yet in this archive.  mode: permission bits. */
int cpio_add_file(struct cpio *c, const char *path, unsigned mode,
    const void *data, size_t len);
int cpio_add_dir(struct cpio *c, const char *path, unsigned mode);
int cpio_add_symlink(struct cpio *c, const char *path, const char *target);
int cpio_add_chardev(struct cpio *c, const char *path, unsigned mode,
    unsigned major, unsigned minor);
/* Appends the TRAILER!!! entry; 0, or -1 if any add failed. */
int cpio_finish(struct cpio *c);
void cpio_release(struct cpio *c);

/*
 * Finds the static agent: $PROVIUM_AGENT, provium-agent next to the
 * running binary, build/bin/provium-agent relative to it, or
 * <prefix>/libexec/provium/provium-agent.  malloc'd path or NULL + *err.
 */
char *overlay_find_agent(char **err);

/*
 * The agent overlay for a profile: agent_overlay_path's bytes if set,
 * else a cpio of the agent binary and the .ko files in p->modules (as
 * /lib/modules/provium/).  Result in *c (finished).
 */
int overlay_build(const struct profile *p, struct cpio *c, char **err);

/*
 * Returns (malloc'd) the path of a file holding the profile's initrd
 * followed by the agent overlay, from the cache
 * $TMPDIR/provium-qemu/overlay-cache/<sha256>.cpio (written with temp +
 * rename if missing).  With inject_agent false: the profile's initrd
 * itself (or NULL in *path when there is none).
 */
int overlay_initrd(const struct profile *p, char **path, char **err);

/*
 * Writes base's bytes (if any) followed by a cpio of files to out.
 */
int overlay_with_files(const char *base, const struct vmm_file *files,
    size_t nfiles, const char *out, char **err);

/*
 * Adds rdinit=/sbin/provium-agent to cmdline, or fails when cmdline names
 * another rdinit=.  malloc'd result.
 */
char *overlay_cmdline(const char *cmdline, char **err);

/* $TMPDIR/provium-qemu (malloc'd), created if missing. */
char *overlay_scratch_root(char **err);
/* path must be a directory owned by us; group/other bits are cleared.
 * -1 with *err "PATH: owned by another user; refusing ..." otherwise. */
int overlay_private_dir(const char *path, char **err);

/* The same path, not created: for sweeps, which must not leave an empty
 * provium-qemu behind in runs that boot no QEMU.  NULL when out of memory. */
char *overlay_scratch_path(void);

#endif
