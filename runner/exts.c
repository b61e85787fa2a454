/*
 * exts.c: the runner extensions, in open order (see runner.h).  The VM /
 * lab API adds its `struct runner_ext` here.
 */
#include <stddef.h>

#include "runner/runner.h"
#include "runner/vm_api.h"

const struct runner_ext *const runner_exts[] = {
	&vmapi_ext,
	NULL,
};
