/* fixture_testdir.h: a private temp directory per test (fixtures tests). */
#ifndef PROVIUM_FIXTURE_TESTDIR_H
#define PROVIUM_FIXTURE_TESTDIR_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static inline void
testdir_make(char *dir, size_t len, const char *name)
{
	snprintf(dir, len, "%s/%s.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", name);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static inline void
testdir_remove(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

#endif
