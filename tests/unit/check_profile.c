/* check_profile.c: provium.toml -> profiles, built-in linux, builds. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm/profile.h"

static struct profile_config *load(const char *s, char **err)
{
	struct profile_config *c = NULL;
	*err = NULL;
	if (profile_config_parse(s, strlen(s), "p.toml", "/cfg", &c, err) < 0)
		return NULL;
	return c;
}

static void expect_err(const char *s, const char *msg)
{
	char *err = NULL;
	struct profile_config *c = load(s, &err);
	ck_assert_msg(c == NULL, "loaded: %s", s);
	ck_assert_str_eq(err, msg);
	free(err);
}

START_TEST(full_profile)
{
	char *err;
	struct profile_config *c = load(
	    "[provium]\n"
	    "roots = [\"fx\", \"/abs\"]\n"
	    "cache_dir = \"cache\"\n"
	    "cache_max_size = \"2G\"\n"
	    "future_key = 1\n"
	    "[unknown_section]\n"
	    "x = 1\n"
	    "[profiles.mine]\n"
	    "kernel = \"{out}/bzImage\"\n"
	    "initrd = \"img/initrd.gz\"\n"
	    "cmdline = \"console=ttyS0 root={out}\"\n"
	    "inject_agent = false\n"
	    "agent_boot_timeout = 90\n"
	    "build = \"./build.sh {out}\"\n"
	    "build_out = \"out\"\n"
	    "whatever = [1]\n", &err);
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_uint_eq(c->nroots, 2);
	ck_assert_str_eq(c->roots[0], "/cfg/fx");
	ck_assert_str_eq(c->roots[1], "/abs");
	ck_assert_str_eq(c->cache_dir, "/cfg/cache");
	ck_assert_uint_eq(c->cache_max_size, 2ull << 30);
	const struct profile *p = profile_find(c, "mine");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->kernel, "/cfg/out/bzImage");
	ck_assert_str_eq(p->initrd, "/cfg/img/initrd.gz");
	ck_assert_str_eq(p->cmdline, "console=ttyS0 root=/cfg/out");
	ck_assert_str_eq(p->build, "./build.sh /cfg/out");
	ck_assert_str_eq(p->build_out, "/cfg/out");
	ck_assert_str_eq(p->dir, "/cfg");
	ck_assert(!p->inject_agent);
	ck_assert(p->agent_boot_timeout == 90.0);
	ck_assert_int_eq(p->line, 8);
	ck_assert(!p->builtin);
	/* The built-in profile is still there. */
	p = profile_find(c, "linux");
	ck_assert_ptr_nonnull(p);
	ck_assert(p->builtin);
	ck_assert(p->inject_agent);
	ck_assert(p->agent_boot_timeout == 30.0);
	ck_assert_ptr_null(profile_find(c, "nope"));
	profile_config_free(c);
}
END_TEST

START_TEST(defaults_and_override)
{
	char *err;
	setenv("PROVIUM_GUEST", "/g", 1);
	struct profile_config *c = load("", &err);
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_uint_eq(c->nprofiles, 1);
	const struct profile *p = profile_find(c, "linux");
	ck_assert_str_eq(p->kernel, "/g/vmlinux");
	ck_assert_str_eq(p->initrd, "/g/initrd.cpio");
	ck_assert_str_eq(p->modules, "/g/modules");
	ck_assert_ptr_nonnull(strstr(p->cmdline, "console=ttyS0"));
	ck_assert_uint_eq(c->cache_max_size, 20ull << 30);
	ck_assert_ptr_null(c->cache_dir);
	profile_config_free(c);

	c = load("[profiles.linux]\nkernel = \"/k\"\ninitrd = \"\"\n"
	    "cmdline = \"console=ttyS0\"\n", &err);
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_uint_eq(c->nprofiles, 1);
	p = profile_find(c, "linux");
	ck_assert(!p->builtin);
	ck_assert_str_eq(p->kernel, "/k");
	ck_assert_str_eq(p->initrd, "");
	ck_assert_str_eq(p->build_out, "/cfg/.provium/build/linux");
	profile_config_free(c);
	unsetenv("PROVIUM_GUEST");
}
END_TEST

START_TEST(errors)
{
	expect_err("[profiles.a]\nkernel = 1\n",
	    "p.toml:2: key `profiles.a.kernel`: expected a string, got an integer");
	expect_err("[profiles.a]\nkernel = \"k\"\ninitrd = \"\"\ncmdline = \"c\"\n"
	    "inject_agent = \"no\"\n",
	    "p.toml:5: key `profiles.a.inject_agent`: expected a boolean, got a string");
	expect_err("[profiles.a]\nkernel = \"k\"\ninitrd = \"\"\ncmdline = \"c\"\n"
	    "agent_boot_timeout = \"x\"\n",
	    "p.toml:5: key `profiles.a.agent_boot_timeout`: expected a number of seconds, got a string");
	expect_err("[profiles.a]\nkernel = \"k\"\ninitrd = \"\"\ncmdline = \"c\"\n"
	    "agent_boot_timeout = -1\n",
	    "p.toml:5: key `profiles.a.agent_boot_timeout`: must be a positive number of seconds");
	expect_err("\n[profiles.a]\ninitrd = \"\"\n",
	    "p.toml:2: key `profiles.a.kernel`: missing (every profile needs a kernel)");
	expect_err("[profiles.a]\nkernel = \"k\"\n",
	    "p.toml:1: key `profiles.a.initrd`: missing (use \"\" for no initrd)");
	expect_err("[profiles.a]\nkernel = \"k\"\ninitrd = \"\"\ncmdline = \"\"\n",
	    "p.toml:1: profile `a` has empty cmdline and no `cmdline_file`; set at least one");
	expect_err("[provium]\nroots = \"x\"\n",
	    "p.toml:2: key `provium.roots`: expected an array of strings, got a string");
	expect_err("[provium]\nroots = [\"a\", 2]\n",
	    "p.toml:2: key `provium.roots`: expected an array of strings, got an integer");
	expect_err("[provium]\ncache_max_size = \"lots\"\n",
	    "p.toml:2: key `provium.cache_max_size`: cannot parse size `lots` "
	    "(expected bytes or a number followed by K, M, G or T)");
	expect_err("profiles = 3\n",
	    "p.toml:1: key `profiles`: expected a table, got an integer");
	expect_err("[profiles]\nx = 3\n",
	    "p.toml:2: key `profiles.x`: expected a table, got an integer");
	/* Syntax errors come through with file and line. */
	expect_err("[profiles.a]\nkernel = k\n",
	    "p.toml:2: key `profiles.a.kernel`: bad value `k` (strings need quotes)");
}
END_TEST

static char tmpdir[] = "/tmp/check_profile.XXXXXX";

static char *write_cfg(const char *body)
{
	char *path = NULL;
	(void)asprintf(&path, "%s/provium.toml", tmpdir);
	FILE *f = fopen(path, "w");
	fputs(body, f);
	fclose(f);
	return path;
}

START_TEST(cmdline_file_and_paths)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	char *cf = NULL;
	(void)asprintf(&cf, "%s/cmdline", tmpdir);
	FILE *f = fopen(cf, "w");
	fputs("  console=ttyS0\n\n  quiet\t", f);
	fclose(f);
	char *path = write_cfg("[profiles.a]\nkernel = \"vmlinux\"\ninitrd = \"\"\n"
	    "cmdline_file = \"cmdline\"\ncmdline = \"x=1\"\n");
	struct profile_config *c = NULL;
	char *err = NULL;
	ck_assert_msg(profile_config_load(path, &c, &err) == 0, "%s", err);
	const struct profile *p = profile_find(c, "a");
	char *cl = profile_cmdline(p, &err);
	ck_assert_str_eq(cl, "console=ttyS0 quiet x=1");
	free(cl);
	char *want = NULL;
	(void)asprintf(&want, "missing path `%s/vmlinux` (profile `a` field `kernel`)",
	    tmpdir);
	ck_assert_int_eq(profile_check_paths(p, &err), -1);
	ck_assert_str_eq(err, want);
	free(err);
	free(want);
	profile_config_free(c);
	unlink(cf);
	unlink(path);
	free(cf);
	free(path);

	ck_assert_int_eq(profile_config_load("/nonexistent.toml", &c, &err), -1);
	ck_assert_str_eq(err, "/nonexistent.toml: No such file or directory (check --config)");
	free(err);
}
END_TEST

START_TEST(builds)
{
	char *path = write_cfg(
	    "[profiles.ok]\nkernel = \"k\"\ninitrd = \"\"\ncmdline = \"c\"\n"
	    "build = \"echo built > {out}/marker\"\n"
	    "[profiles.bad]\nkernel = \"k\"\ninitrd = \"\"\ncmdline = \"c\"\n"
	    "build = \"exit 3\"\n");
	struct profile_config *c = NULL;
	char *err = NULL;
	ck_assert_msg(profile_config_load(path, &c, &err) == 0, "%s", err);
	ck_assert_int_eq(profile_run_builds(c, "ok", &err), 0);
	char *marker = NULL;
	(void)asprintf(&marker, "%s/.provium/build/ok/marker", tmpdir);
	ck_assert_int_eq(access(marker, F_OK), 0);
	ck_assert_int_eq(profile_run_builds(c, NULL, &err), -1);
	ck_assert_str_eq(err, "profile `bad`: build command `exit 3` failed: sh exited with status 3");
	free(err);
	profile_config_free(c);
	unlink(marker);
	free(marker);
	char *cmd = NULL;
	(void)asprintf(&cmd, "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("profile");
	TCase *tc = tcase_create("profile");
	tcase_add_test(tc, full_profile);
	tcase_add_test(tc, defaults_and_override);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, cmdline_file_and_paths);
	tcase_add_test(tc, builds);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	/* cmdline_file_and_paths creates the dir builds uses. */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
