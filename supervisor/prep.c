/* prep.c: config, build hooks, preflight and the accelerator, once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/prep.h"
#include "vm/accel.h"
#include "vm/preflight.h"
#include "vm/profile.h"

static bool
text_uses_vms(const char *path)
{
	static const char *const needles[] = {
		":vm(", ".vm(", "vm_fixture", "lab_fixture", ":boot(",
	};
	char *buf;
	long n;
	FILE *f;
	bool hit = false;
	size_t i;

	if ((f = fopen(path, "r")) == NULL)
		return false;          /* the runner reports it properly */
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return false;
	}
	n = (long)fread(buf, 1, (size_t)n, f);
	buf[n] = '\0';
	fclose(f);
	for (i = 0; i < sizeof(needles) / sizeof(*needles) && !hit; i++)
		hit = memmem(buf, (size_t)n, needles[i], strlen(needles[i])) != NULL;
	free(buf);
	return hit;
}

bool
prep_files_use_vms(const struct discover_list *files)
{
	size_t i;

	for (i = 0; i < files->n; i++)
		if (text_uses_vms(files->v[i].display))
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

int
prep_run(const struct cli_opts *o, const struct discover_list *files)
{
	struct profile_config *cfg;
	enum accel_mode mode = ACCEL_AUTO, accel = ACCEL_TCG;
	char *err = NULL, *why = NULL, *problems = NULL;
	int rc = 0;

	if ((cfg = load(o->config)) == NULL)
		return 2;
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
