/*
 * fuzz_fixture_scan.c: libFuzzer target for the fixture-key Lua scanner.
 * Arbitrary source (unterminated strings and long brackets, stray
 * escapes, NULs) must never crash, leak or read out of bounds, and every
 * extracted argument must be a NUL-terminated copy no longer than the
 * input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures/scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct fixture_strv *sv, size_t size)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		if (strlen(sv->v[i]) > size)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fixture_scan sc;

	if (fixture_scan((const char *)data, size, &sc) == 0) {
		check(&sc.fixtures, size);
		check(&sc.requires, size);
		check(&sc.externals, size);
	}
	fixture_scan_release(&sc);
	return 0;
}
