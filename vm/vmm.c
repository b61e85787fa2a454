/*
 * vmm.c: the public vmm_* calls, dispatched to the VM's backend.
 */
#include "vm/vmm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vmm_backend.h"

int vmm_boot(enum vmm_backend be, const struct vmm_boot_opts *o,
    struct vmm_vm **out, char **err)
{
	const struct vmm_backend_ops *ops = be == VMM_BACKEND_QEMU ?
	    &vmm_qemu_ops : &vmm_local_ops;
	*out = NULL;
	if (!ops) {
		*err = strdup("the local VM backend is not part of this build");
		return -1;
	}
	return ops->boot(o, out, err);
}

int vmm_agent_fd(const struct vmm_vm *vm)
{
	return vm->ops->agent_fd(vm);
}

unsigned vmm_caps(const struct vmm_vm *vm)
{
	return vm->ops->caps(vm);
}

uint32_t vmm_cid(const struct vmm_vm *vm)
{
	return vm->ops->cid(vm);
}

pid_t vmm_pid(const struct vmm_vm *vm)
{
	return vm->ops->pid(vm);
}

int vmm_exited(struct vmm_vm *vm)
{
	return vm->ops->exited(vm);
}

int vmm_boot_check(struct vmm_vm *vm, char **why)
{
	return vm->ops->boot_check ? vm->ops->boot_check(vm, why) : 0;
}

char *vmm_boot_failed(struct vmm_vm *vm, const char *why)
{
	return vm->ops->boot_failed(vm, why);
}

int vmm_console_tail(struct vmm_vm *vm, size_t max, char **out, size_t *len)
{
	if (!vm->ops->console_tail)
		return -1;
	return vm->ops->console_tail(vm, max, out, len);
}

static int unsupported(const struct vmm_vm *vm, const char *what, char **err)
{
	(void)asprintf(err, "%s is not supported by the %s backend", what,
	    vm->ops->name);
	errno = ENOTSUP;
	return -1;
}

int vmm_pause(struct vmm_vm *vm, char **err)
{
	if (!vm->ops->pause)
		return unsupported(vm, "pause", err);
	return vm->ops->pause(vm, err);
}

int vmm_resume(struct vmm_vm *vm, char **err)
{
	if (!vm->ops->resume)
		return unsupported(vm, "resume", err);
	return vm->ops->resume(vm, err);
}

int vmm_snapshot(struct vmm_vm *vm, const char *path, char **err)
{
	return vm->ops->snapshot(vm, path, err);
}

void vmm_destroy(struct vmm_vm *vm, unsigned grace_ms)
{
	if (vm)
		vm->ops->destroy(vm, grace_ms);
}

void
vmm_sweep_stale(void)
{
	qemu_sweep_stale();
	local_sweep_stale();
}
