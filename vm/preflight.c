/*
 * preflight.c: prerequisites of the qemu backend, all reported at once.
 */
#include "vm/preflight.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm/overlay.h"
#include "vm/profile.h"

char *preflight_which(const char *prog)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	char *copy = strdup(path), *save = NULL;
	for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d;
	    d = strtok_r(NULL, ":", &save)) {
		char *p = NULL;
		if (asprintf(&p, "%s/%s", *d ? d : ".", prog) < 0)
			break;
		if (access(p, X_OK) == 0) {
			free(copy);
			return p;
		}
		free(p);
	}
	free(copy);
	return NULL;
}

/* Appends "line\n" to *acc. */
static void add(char **acc, const char *line)
{
	char *n = NULL;
	if (asprintf(&n, "%s%s\n", *acc ? *acc : "", line) < 0)
		return;
	free(*acc);
	*acc = n;
}

static void need_prog(char **acc, const char *prog, const char *pkg,
    const char *what)
{
	char *p = preflight_which(prog);
	if (p) {
		free(p);
		return;
	}
	char *line = NULL;
	if (asprintf(&line, "%s not found on PATH (%s): install the Debian "
	    "package %s (`make deps`)", prog, what, pkg) >= 0)
		add(acc, line);
	free(line);
}

static void check_profile(char **acc, const struct profile *p)
{
	char *e = NULL;
	if (profile_check_paths(p, &e) < 0) {
		add(acc, e);
		free(e);
	}
}

int preflight_check(const struct profile_config *c, const char *profile,
    enum accel_mode mode, enum accel_mode *accel, char **accel_why,
    char **problems)
{
	char *acc = NULL;
	*accel_why = NULL;
	need_prog(&acc, "qemu-system-x86_64", "qemu-system-x86",
	    "runs the VMs");
	need_prog(&acc, "zstd", "zstd", "compresses VM snapshots");
	char *why = NULL;
	if (accel_decide(mode, accel, &why) < 0) {
		add(&acc, why);
		free(why);
	} else {
		*accel_why = why;
	}
	bool agent_needed = false;
	for (size_t i = 0; c && i < c->nprofiles; i++) {
		const struct profile *p = &c->profiles[i];
		/* Other profiles may be made by their build hook: checked at boot. */
		if (profile ? strcmp(profile, p->name) != 0 : !p->builtin)
			continue;
		check_profile(&acc, p);
		if (p->inject_agent && !p->agent_overlay_path)
			agent_needed = true;
	}
	if (profile && !profile_find(c, profile)) {
		char *line = NULL;
		if (asprintf(&line, "no profile `%s` (define [profiles.%s] in "
		    "provium.toml)", profile, profile) >= 0)
			add(&acc, line);
		free(line);
	}
	if (agent_needed) {
		char *e = NULL, *a = overlay_find_agent(&e);
		if (!a) {
			add(&acc, e);
			free(e);
		}
		free(a);
	}
	*problems = acc;
	return acc ? -1 : 0;
}
