/*
 * fixture_cmd.c: `provium fixture ...` and `provium list`, with a builder
 * for `fixture build|rebuild` that runs the fixture the way a test file
 * would (a one-test file calling provium:vm_fixture, through this binary),
 * so the CLI and a run build and key fixtures identically.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixtures/cli.h"
#include "supervisor/fixture_cmd.h"
#include "vm/spawn.h"

struct build_ctx {
	const char *config;
};

/* Lua long-bracket quoting cannot be broken out of by a fixture name
 * that contains no "]==]". */
static int
build_one(void *arg, const char *name, const char *key, const char *cache_dir,
    int *lab, char **err)
{
	struct build_ctx *bc = arg;
	char dir[4096], file[4200];
	char *argv[8];
	int n = 0, rc;
	FILE *f;

	(void)key;
	*lab = 0;
	if (strstr(name, "]==]") != NULL) {
		*err = strdup("fixture names cannot contain `]==]`");
		return -1;
	}
	/* In the cwd, like the test files that use the fixture: a runner
	 * keys fixtures relative to where its test file lives. */
	snprintf(dir, sizeof(dir), ".provium-fixture-build-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		(void)asprintf(err, "cannot create %s", dir);
		return -1;
	}
	snprintf(file, sizeof(file), "%s/build.test.lua", dir);
	if ((f = fopen(file, "w")) == NULL) {
		rmdir(dir);
		(void)asprintf(err, "cannot write %s", file);
		return -1;
	}
	fprintf(f, "test(\"build fixture\", function()\n"
	    "  provium:vm_fixture([==[%s]==])\nend)\n", name);
	fclose(f);
	argv[n++] = (char *)"/proc/self/exe";
	argv[n++] = (char *)"-q";
	argv[n++] = (char *)"--no-progress";
	if (bc->config) {
		argv[n++] = (char *)"--config";
		argv[n++] = (char *)bc->config;
	}
	argv[n++] = file;
	argv[n] = NULL;
	if (cache_dir)
		setenv("PROVIUM_FIXTURE_CACHE", cache_dir, 1);
	struct spawn_opts so = SPAWN_OPTS_INIT;
	rc = spawn_run(argv, &so, err);
	unlink(file);
	rmdir(dir);
	if (rc != 0) {
		free(*err);
		(void)asprintf(err, "building fixture `%s` failed (see above)", name);
		return -1;
	}
	return 0;
}

int
fixture_cmd_main(int argc, char **argv)
{
	struct build_ctx bc = { NULL };
	int i;

	for (i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--config") == 0)
			bc.config = argv[i + 1];
	return fixture_cli_main_build(argc, argv, build_one, &bc);
}
