/*
 * fuzz_scan.c: libFuzzer target for the supervisor's static scanner of
 * test sources (supervisor/scan.c, a small Lua lexer).  Arbitrary bytes
 * must not crash, leak or read past len (the input is not NUL-
 * terminated); reported fixture refs are unique (".fixture.lua" is
 * stripped once: "x.fixture.lua.fixture.lua" is ref "x.fixture.lua");
 * scanning is deterministic.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_result a, b;
	char *copy = malloc(size ? size : 1);   /* exact size: ASan sees overreads */

	memcpy(copy, data, size);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (scan_source(copy, size, &a) != 0 || scan_source(copy, size, &b) != 0)
		abort();
	if (a.nfixture_refs != b.nfixture_refs || a.has_claim != b.has_claim ||
	    (a.has_claim && memcmp(&a.claim, &b.claim, sizeof(a.claim)) != 0))
		abort();
	for (size_t i = 0; i < a.nfixture_refs; i++) {
		const char *r = a.fixture_refs[i];

		if (strcmp(r, b.fixture_refs[i]) != 0)
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(a.fixture_refs[j], r) == 0)
				abort();
	}
	scan_result_clear(&a);
	scan_result_clear(&b);
	free(copy);
	return 0;
}
