/* privs.c: drop capabilities with libcap; read them back from /proc. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "runner/privs.h"

#ifndef SECBIT_NOROOT
#define SECBIT_NOROOT        (1 << 0)
#define SECBIT_NOROOT_LOCKED (1 << 1)
#endif

static bool
kept(cap_value_t c, const cap_value_t *keep, size_t nkeep)
{
	for (size_t i = 0; i < nkeep; i++)
		if (keep[i] == c)
			return true;
	return false;
}

static int
fail(char **err, const char *what)
{
	int e = errno;

	if (asprintf(err, "cannot drop capabilities: %s: %s", what,
	    strerror(e)) < 0)
		*err = NULL;
	errno = e;
	return -1;
}

int
privs_drop(const cap_value_t *keep, size_t nkeep, char **err)
{
	cap_value_t last = (cap_value_t)cap_max_bits() - 1;
	cap_flag_value_t setpcap = CAP_CLEAR;
	cap_t caps = cap_get_proc();
	int rc;

	*err = NULL;
	if (caps == NULL)
		return fail(err, "cap_get_proc");
	cap_get_flag(caps, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);
	cap_free(caps);
	/* Only CAP_SETPCAP may shrink the bounding set and set securebits;
	 * without it we never had anything to lose there. */
	if (setpcap == CAP_SET) {
		for (cap_value_t c = 0; c <= last; c++)
			if (!kept(c, keep, nkeep) && CAP_IS_SUPPORTED(c) &&
			    cap_drop_bound(c) != 0)
				return fail(err, "cap_drop_bound");
		/* uid 0 would get a full permitted set back at execve. */
		if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT |
		    SECBIT_NOROOT_LOCKED, 0, 0, 0) != 0)
			return fail(err, "PR_SET_SECUREBITS");
	}
	if (cap_reset_ambient() != 0 && errno != EINVAL)
		return fail(err, "cap_reset_ambient");
	caps = cap_init();
	if (caps == NULL)
		return fail(err, "cap_init");
	rc = 0;
	if (nkeep > 0)
		rc = cap_set_flag(caps, CAP_PERMITTED, (int)nkeep, keep,
		    CAP_SET) | cap_set_flag(caps, CAP_EFFECTIVE, (int)nkeep,
		    keep, CAP_SET);
	if (rc == 0)
		rc = cap_set_proc(caps);
	cap_free(caps);
	if (rc != 0)
		return fail(err, "cap_set_proc");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return fail(err, "PR_SET_NO_NEW_PRIVS");
	return 0;
}

int
privs_read(pid_t pid, struct privs_state *st)
{
	char path[64], line[256];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof path, pid ? "/proc/%d/status" : "/proc/self/status",
	    (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	memset(st, 0, sizeof(*st));
	while (fgets(line, sizeof line, f) != NULL) {
		static const struct { const char *k; size_t off; } f_[] = {
			{ "CapInh:", offsetof(struct privs_state, inh) },
			{ "CapPrm:", offsetof(struct privs_state, prm) },
			{ "CapEff:", offsetof(struct privs_state, eff) },
			{ "CapBnd:", offsetof(struct privs_state, bnd) },
			{ "CapAmb:", offsetof(struct privs_state, amb) },
		};
		unsigned v;

		for (size_t i = 0; i < sizeof f_ / sizeof f_[0]; i++) {
			size_t n = strlen(f_[i].k);

			if (strncmp(line, f_[i].k, n) == 0) {
				*(uint64_t *)((char *)st + f_[i].off) =
				    strtoull(line + n, NULL, 16);
				found++;
			}
		}
		if (sscanf(line, "NoNewPrivs: %u", &v) == 1)
			st->no_new_privs = v != 0;
	}
	fclose(f);
	if (found != 5) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}
