/*
 * exts.c: the runner extensions, in open order (see runner.h).  The VM /
 * lab API adds its `struct runner_ext` here.
 */
#include <stddef.h>

#include "runner/runner.h"
#include "runner/vm_api.h"
#include "runner/bridge.h"

/* runner/fixture_lua.c: vm:snapshot, provium:vm_fixture (after vmapi). */
extern const struct runner_ext fixture_lua_ext;

const struct runner_ext *const runner_exts[] = {
	&vmapi_ext,
	&fixture_lua_ext,
	&bridge_ext,   /* after vm: VMs stop before their bridges */
	NULL,
};
