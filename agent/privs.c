/*
 * privs.c: the host-side agent (--fd) drops every capability before
 * serving (docs/privileges.md).  Same policy as runner/privs.c, in raw
 * syscalls: the agent is static musl and libcap is not in its link.
 * PID 1 in a guest keeps root: the guest is the test's own machine.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/agent.h"

#define CAP_V3        0x20080522u       /* _LINUX_CAPABILITY_VERSION_3 */
#define CAP_SETPCAP_BIT 8
#define SECBITS_NOROOT_LOCKED 3u        /* SECBIT_NOROOT | its lock */

struct cap_hdr { uint32_t version; int pid; };
struct cap_data { uint32_t effective, permitted, inheritable; };

static int
fail(char *err, size_t n, const char *what)
{
	snprintf(err, n, "cannot drop capabilities: %s: %s", what,
	    strerror(errno));
	return -1;
}

int
agent_drop_privs(char *err, size_t n)
{
	struct cap_hdr h = { CAP_V3, 0 };
	struct cap_data d[2];

	if (syscall(SYS_capget, &h, d) != 0)
		return fail(err, n, "capget");
	/* Only CAP_SETPCAP may shrink the bounding set and set securebits. */
	if (d[0].effective & (1u << CAP_SETPCAP_BIT)) {
		for (unsigned long c = 0; c < 64; c++) {
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
				continue;
			if (errno == EINVAL)
				break;          /* past the kernel's last cap */
			return fail(err, n, "PR_CAPBSET_DROP");
		}
		/* uid 0 would get a full permitted set back at execve. */
		if (prctl(PR_SET_SECUREBITS, SECBITS_NOROOT_LOCKED, 0, 0, 0))
			return fail(err, n, "PR_SET_SECUREBITS");
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 &&
	    errno != EINVAL)
		return fail(err, n, "PR_CAP_AMBIENT");
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) != 0)
		return fail(err, n, "capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return fail(err, n, "PR_SET_NO_NEW_PRIVS");
	return 0;
}
