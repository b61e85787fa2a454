/*
 * privs.h: least privilege for host processes (docs/privileges.md).
 *
 * Nothing provium runs on the host needs a capability: QEMU under TCG
 * needs none, under KVM only read/write access to /dev/kvm (a file mode
 * matter, not a capability), and the network switch is a userspace
 * process (no TAP, no bridge, no CAP_NET_ADMIN).  So a runner drops them
 * all at startup, and what it spawns (QEMU, build hooks, a host agent)
 * cannot get them back: the bounding set is emptied, root's exec-time
 * regain is locked off (SECBIT_NOROOT) and no_new_privs is set, which
 * also neuters setuid binaries and file capabilities below us.
 */
#ifndef PROVIUM_PRIVS_H
#define PROVIUM_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sys/capability.h>

/*
 * Drops every capability not in keep[] from the effective, permitted,
 * inheritable and ambient sets and (when CAP_SETPCAP allows it, i.e. when
 * there was anything to drop) from the bounding set; sets no_new_privs.
 * 0, or -1 with *err malloc'd ("cannot drop capabilities: ...").
 */
int privs_drop(const cap_value_t *keep, size_t nkeep, char **err);

/* The capability lines of /proc/<pid>/status (0 = self). */
struct privs_state {
	uint64_t inh, prm, eff, bnd, amb;
	bool no_new_privs;
};
int privs_read(pid_t pid, struct privs_state *st);

#endif
