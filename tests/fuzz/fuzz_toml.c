/*
 * fuzz_toml.c: libFuzzer target for the provium.toml parser and the
 * profile loader on top of it.  Arbitrary bytes must never crash, leak or
 * read out of bounds; every failure must come with an error message that
 * names the file (the "FILE:LINE: ..." contract of toml.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/profile.h"
#include "vm/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_err(char *err)
{
	if (err == NULL || strncmp(err, "fuzz.toml", 9) != 0)
		abort();
	free(err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile_config *c = NULL;
	struct toml_value *v;
	char *err = NULL;

	v = toml_parse((const char *)data, size, "fuzz.toml", &err);
	if (v == NULL)
		check_err(err);
	else if (v->type != TOML_TABLE || err != NULL)
		abort();
	toml_free(v);
	err = NULL;
	if (profile_config_parse((const char *)data, size, "fuzz.toml",
	    "/cfg", &c, &err) < 0) {
		check_err(err);
	} else {
		/* Every profile resolves to absolute paths. */
		for (size_t i = 0; i < c->nprofiles; i++)
			if (c->profiles[i].kernel == NULL ||
			    c->profiles[i].kernel[0] != '/')
				abort();
		profile_config_free(c);
	}
	return 0;
}
