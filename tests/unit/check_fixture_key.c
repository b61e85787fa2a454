/* check_fixture_key.c: the static scan and the fixture cache key. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/unit/fixture_testdir.h"
#include "fixtures/key.h"
#include "fixtures/scan.h"

static char dir[256];
static const char *roots_v[1];
static const char *kernels[1];
static struct fixture_key_env env;

static void
put(const char *rel, const char *content)
{
	char p[512], *sl;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	for (sl = strchr(p + strlen(dir) + 1, '/'); sl; sl = strchr(sl + 1, '/')) {
		*sl = '\0';
		mkdir(p, 0755);
		*sl = '/';
	}
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs(content, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void
key_of(const char *name, char out[FIXTURE_KEY_HEX + 1])
{
	char *err = NULL;

	if (fixture_key(&env, name, out, &err) != 0)
		ck_abort_msg("fixture_key(%s): %s", name, err ? err : "?");
	ck_assert_uint_eq(strlen(out), FIXTURE_KEY_HEX);
	ck_assert_uint_eq(strspn(out, "0123456789abcdef"), FIXTURE_KEY_HEX);
}

static void
setup(void)
{
	static char kernel[300];

	testdir_make(dir, sizeof(dir), "check_fixture_key");
	roots_v[0] = dir;
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", dir);
	kernels[0] = kernel;
	put("vmlinux", "kernel-v1");
	memset(&env, 0, sizeof(env));
	env.roots.v = roots_v;
	env.roots.n = 1;
	env.kernels = kernels;
	env.nkernels = 1;
	put("base.fixture.lua", "local vm = provium:vm('b', 'linux')\n"
	    "vm:boot()\nreturn vm:snapshot()\n");
	put("lib/helper.lua", "return { x = 1 }\n");
	put("web.fixture.lua", "local h = require('lib.helper')\n"
	    "local vm = provium:vm_fixture('base')\nreturn vm:snapshot()\n");
}

static void
teardown(void)
{
	testdir_remove(dir);
}

START_TEST(deterministic)
{
	char a[65], b[65];

	key_of("web", a);
	key_of("web", b);
	ck_assert_str_eq(a, b);
	key_of("base", b);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(changes_with_source)
{
	char a[65], b[65];

	key_of("web", a);
	put("web.fixture.lua", "local h = require('lib.helper')\n"
	    "local vm = provium:vm_fixture('base')\nvm:run('true')\n"
	    "return vm:snapshot()\n");
	key_of("web", b);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(changes_with_helper)
{
	char a[65], b[65], c[65];

	key_of("web", a);
	put("lib/helper.lua", "return { x = 2 }\n");
	key_of("web", b);
	ck_assert_str_ne(a, b);
	put("lib/helper.lua", "return { x = 1 }\n");
	key_of("web", c);
	ck_assert_str_eq(a, c);
}
END_TEST

START_TEST(changes_with_dependency_fixture)
{
	char a[65], b[65];

	key_of("web", a);
	put("base.fixture.lua", "local vm = provium:vm('b', 'linux')\n"
	    "vm:boot()\nvm:run('touch /x')\nreturn vm:snapshot()\n");
	key_of("web", b);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(changes_with_kernel)
{
	char a[65], b[65], c[65];
	struct timeval tv[2] = { { 1000, 0 }, { 1000, 0 } };

	ck_assert_int_eq(utimes(kernels[0], tv), 0);
	key_of("web", a);
	tv[1].tv_sec = 2000;    /* same size, new mtime: a rebuilt kernel */
	ck_assert_int_eq(utimes(kernels[0], tv), 0);
	key_of("web", b);
	ck_assert_str_ne(a, b);
	put("vmlinux", "kernel-v22");
	tv[1].tv_sec = 2000;
	ck_assert_int_eq(utimes(kernels[0], tv), 0);
	key_of("web", c);
	ck_assert_str_ne(b, c);
}
END_TEST

START_TEST(changes_with_qemu_and_machine)
{
	char a[65], b[65], c[65];

	key_of("base", a);
	env.qemu_binary = kernels[0];
	key_of("base", b);
	ck_assert_str_ne(a, b);
	env.machine_opts = "-M microvm";
	key_of("base", c);
	ck_assert_str_ne(b, c);
}
END_TEST

/*
 * Same bytes in the parent, dependency contents swapped: a key that sorted
 * or XORed its dependency keys would not change.
 */
START_TEST(dependency_order_significant)
{
	char a[65], b[65];
	const char *one = "return provium:vm('x','linux'):snapshot() -- one\n";
	const char *two = "return provium:vm('x','linux'):snapshot() -- two\n";

	put("one.fixture.lua", one);
	put("two.fixture.lua", two);
	put("pair.fixture.lua", "local a = provium:vm_fixture('one')\n"
	    "local b = provium:vm_fixture('two')\nreturn b:snapshot()\n");
	key_of("pair", a);
	put("one.fixture.lua", two);
	put("two.fixture.lua", one);
	key_of("pair", b);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(external_files)
{
	char a[65], b[65], c[65];

	put("data/blob.bin", "v1");
	put("data/opt.bin", "o1");
	put("ext.fixture.lua", "local vm = provium:vm('e', 'linux')\n"
	    "vm:push_file('data/blob.bin', '/blob')\n"
	    "vm:push_file('data/opt.bin', '/opt', { auto_dep = false })\n"
	    "provium:depends_on_file('data/../data/blob.bin')\n"
	    "return vm:snapshot()\n");
	key_of("ext", a);
	put("data/opt.bin", "o2");     /* opted out: no effect */
	key_of("ext", b);
	ck_assert_str_eq(a, b);
	put("data/blob.bin", "v2");
	key_of("ext", c);
	ck_assert_str_ne(a, c);
}
END_TEST

START_TEST(missing_dependency_error)
{
	char k[65], *err = NULL, want[600];

	put("lost.fixture.lua", "return provium:vm_fixture('nope'):snapshot()\n");
	ck_assert_int_eq(fixture_key(&env, "lost", k, &err), -1);
	snprintf(want, sizeof(want), "fixture `lost`: fixture `nope` not found: "
	    "no nope.fixture.lua under root: %s", dir);
	ck_assert_str_eq(err, want);
	free(err);
	err = NULL;
	put("top.fixture.lua", "return provium:vm_fixture('lost'):snapshot()\n");
	ck_assert_int_eq(fixture_key(&env, "top", k, &err), -1);
	snprintf(want, sizeof(want), "fixture `top` -> `lost`: fixture `nope` not "
	    "found: no nope.fixture.lua under root: %s", dir);
	ck_assert_str_eq(err, want);
	free(err);
	err = NULL;
	ck_assert_int_eq(fixture_key(&env, "absent", k, &err), -1);
	snprintf(want, sizeof(want), "fixture `absent` not found: "
	    "no absent.fixture.lua under root: %s", dir);
	ck_assert_str_eq(err, want);
	free(err);
	err = NULL;
	ck_assert_int_eq(fixture_key(&env, "base.fixture.lua", k, &err), -1);
	ck_assert_str_eq(err, "fixture `base.fixture.lua`: drop the file suffix; "
	    "fixtures are referenced as \"base\"");
	free(err);
}
END_TEST

START_TEST(cycle_error)
{
	char k[65], *err = NULL;

	put("ca.fixture.lua", "return provium:vm_fixture('cb'):snapshot()\n");
	put("cb.fixture.lua", "return provium:vm_fixture('ca'):snapshot()\n");
	ck_assert_int_eq(fixture_key(&env, "ca", k, &err), -1);
	ck_assert_str_eq(err, "fixture `ca`: dependency cycle: ca -> cb -> ca");
	free(err);
	/* A require cycle is cut, not an error. */
	put("lib/r1.lua", "return require('lib.r2')\n");
	put("lib/r2.lua", "return require('lib.r1')\n");
	put("rq.fixture.lua", "require 'lib.r1'\nreturn x:snapshot()\n");
	key_of("rq", k);
}
END_TEST

START_TEST(scan_literals_only)
{
	const char *src =
	    "-- provium:vm_fixture('commented')\n"
	    "--[==[ require('long.comment') ]==]\n"
	    "local s = \"vm_fixture('in_string')\"\n"
	    "local a = provium:vm_fixture(\"net/a\")\n"
	    "local b = provium.lab_fixture 'net/b'\n"
	    "local c = provium:vm_fixture(name)\n"
	    "local h = require [[lib.h]]\n"
	    "require('lib.h')\n"
	    "vm:push_file(\"f1\", \"/f1\")\n"
	    "vm:push_file('f2', '/f2', { mode = 420, auto_dep = false })\n"
	    "vm:push_file('f3', '/f3', { auto_dep == false })\n"
	    "provium:depends_on_file('f4')\n";
	struct fixture_scan sc;

	ck_assert_int_eq(fixture_scan(src, strlen(src), &sc), 0);
	ck_assert_uint_eq(sc.fixtures.n, 2);
	ck_assert_str_eq(sc.fixtures.v[0], "net/a");
	ck_assert_str_eq(sc.fixtures.v[1], "net/b");
	ck_assert_uint_eq(sc.requires.n, 1);
	ck_assert_str_eq(sc.requires.v[0], "lib.h");
	ck_assert_uint_eq(sc.externals.n, 3);
	ck_assert_str_eq(sc.externals.v[0], "f1");
	ck_assert_str_eq(sc.externals.v[1], "f3");
	ck_assert_str_eq(sc.externals.v[2], "f4");
	fixture_scan_release(&sc);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("fixture_key");
	TCase *tc = tcase_create("key");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, deterministic);
	tcase_add_test(tc, changes_with_source);
	tcase_add_test(tc, changes_with_helper);
	tcase_add_test(tc, changes_with_dependency_fixture);
	tcase_add_test(tc, changes_with_kernel);
	tcase_add_test(tc, changes_with_qemu_and_machine);
	tcase_add_test(tc, dependency_order_significant);
	tcase_add_test(tc, external_files);
	tcase_add_test(tc, missing_dependency_error);
	tcase_add_test(tc, cycle_error);
	tcase_add_test(tc, scan_literals_only);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
