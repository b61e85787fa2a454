/* prep.c: config, build hooks, preflight and the accelerator, once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures/cache.h"
#include "supervisor/prep.h"
#include "vm/accel.h"
#include "vm/preflight.h"
#include "vm/profile.h"

bool
prep_files_use_vms(const struct discover_list *files)
{
	size_t i;

	for (i = 0; i < files->n; i++)
		if (files->v[i].uses_vms)
			return true;
	return false;
}

static struct profile_config *
load(const char *config)
{
	struct profile_config *cfg = NULL;
	char *err = NULL;

	if (profile_config_load(config, &cfg, &err) != 0) {
		fprintf(stderr, "provium: %s\n", err ? err : "cannot load the config");
		free(err);
		return NULL;
	}
	return cfg;
}

/* Startup LRU eviction of the fixture cache down to cache_max_size. */
static void
evict(const struct profile_config *cfg)
{
	char *dir = NULL, *err = NULL;
	size_t removed = 0;
	uint64_t freed = 0;

	if (fixture_cache_dir(cfg->cache_dir, &dir, &err) != 0) {
		free(err);
		return;
	}
	if (fixture_cache_evict_lru(dir, cfg->cache_max_size, stderr, &removed,
	    &freed, &err) != 0) {
		fprintf(stderr, "provium: fixture cache %s: %s\n", dir,
		    err ? err : "eviction failed");
		free(err);
	} else if (removed > 0) {
		fprintf(stderr, "provium: fixture cache %s: evicted %zu "
		    "least recently used entr%s (%llu bytes) to stay under "
		    "cache_max_size\n", dir, removed, removed == 1 ? "y" : "ies",
		    (unsigned long long)freed);
	}
	free(dir);
}

int
prep_run(const struct cli_opts *o, const struct discover_list *files)
{
	struct profile_config *cfg;
	enum accel_mode mode = ACCEL_AUTO, accel = ACCEL_TCG;
	char *err = NULL, *why = NULL, *problems = NULL;
	int rc = 0;

	if ((cfg = load(o->config)) == NULL)
		return 2;
	evict(cfg);
	if (!o->no_build && profile_run_builds(cfg, NULL, &err) != 0) {
		fprintf(stderr, "provium: %s\n(pass --no-build to skip build "
		    "hooks)\n", err ? err : "a profile build failed");
		free(err);
		profile_config_free(cfg);
		return 2;
	}
	if (strcmp(o->vmm, "qemu") != 0 || !prep_files_use_vms(files)) {
		profile_config_free(cfg);
		return 0;
	}
	(void)accel_parse(o->accel, &mode);
	if (o->no_preflight) {
		/* The backend decides per runner; keep the user's choice. */
		setenv("PROVIUM_ACCEL", o->accel, 1);
		profile_config_free(cfg);
		return 0;
	}
	if (preflight_check(cfg, NULL, mode, &accel, &why, &problems) != 0) {
		fprintf(stderr, "provium: preflight failed:\n%s(fix the above, "
		    "or pass --no-preflight to skip these checks, or --vmm "
		    "local to run the agent on the host)\n",
		    problems ? problems : "unknown problem\n");
		rc = 2;
	} else {
		/* why already reads "tcg (KVM not used: ...)" */
		fprintf(stderr, "provium: accelerator: %s\n",
		    why ? why : accel_name(accel));
		setenv("PROVIUM_ACCEL", accel_name(accel), 1);
	}
	free(why);
	free(problems);
	profile_config_free(cfg);
	return rc;
}

int
prep_prepare_main(const char *config, const char *profile)
{
	struct profile_config *cfg;
	char *err = NULL;

	if ((cfg = load(config)) == NULL)
		return 2;
	if (profile && profile_find(cfg, profile) == NULL) {
		fprintf(stderr, "provium: prepare: profile `%s` not found in %s\n",
		    profile, cfg->path ? cfg->path : "the built-in profiles");
		profile_config_free(cfg);
		return 2;
	}
	if (profile_run_builds(cfg, profile, &err) != 0) {
		fprintf(stderr, "provium: %s\n", err ? err : "build failed");
		free(err);
		profile_config_free(cfg);
		return 1;
	}
	profile_config_free(cfg);
	return 0;
}
