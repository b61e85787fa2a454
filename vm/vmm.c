/* vmm.c: dispatch of the vmm.h interface to the selected backend. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_backend.h"

struct vmm_vm {
	const struct vmm_ops *ops;
	void *impl;
	uint32_t cid;
};

char *
vmm_errf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = strdup("out of memory");
	va_end(ap);
	return s;
}

int
vmm_boot(enum vmm_backend be, const struct vmm_boot_opts *o,
    struct vmm_vm **out, char **err)
{
	const struct vmm_ops *ops;
	struct vmm_vm *vm;

	*out = NULL;
	ops = be == VMM_BACKEND_LOCAL ? &vmm_local_ops : &vmm_qemu_ops;
	if (ops == NULL) {
		*err = vmm_errf("vmm: the qemu backend is not built into this "
		    "provium; use --vmm local");
		return -1;
	}
	if ((vm = calloc(1, sizeof(*vm))) == NULL) {
		*err = vmm_errf("vmm: out of memory");
		return -1;
	}
	vm->ops = ops;
	vm->cid = o->cid;
	if (ops->boot(o, &vm->impl, err) != 0) {
		free(vm);
		return -1;
	}
	*out = vm;
	return 0;
}

int
vmm_agent_fd(const struct vmm_vm *vm)
{
	return vm->ops->agent_fd(vm->impl);
}

unsigned
vmm_caps(const struct vmm_vm *vm)
{
	return vm->ops->caps(vm->impl);
}

uint32_t
vmm_cid(const struct vmm_vm *vm)
{
	return vm->cid;
}

pid_t
vmm_pid(const struct vmm_vm *vm)
{
	return vm->ops->pid(vm->impl);
}

int
vmm_exited(struct vmm_vm *vm)
{
	return vm->ops->exited(vm->impl);
}

char *
vmm_boot_failed(struct vmm_vm *vm, const char *why)
{
	return vm->ops->boot_failed(vm->impl, why);
}

int
vmm_console_tail(struct vmm_vm *vm, size_t max, char **out, size_t *len)
{
	if (vm->ops->console_tail == NULL) {
		errno = ENOTSUP;
		return -1;
	}
	return vm->ops->console_tail(vm->impl, max, out, len);
}

/* Upstream's wording for a backend without the feature. */
static int
unsupported(const struct vmm_vm *vm, const char *what, char **err)
{
	*err = vmm_errf("vmm %s: %s is not supported (no real VM; use "
	    "--vmm qemu)", vm->ops->name, what);
	return -1;
}

int
vmm_pause(struct vmm_vm *vm, char **err)
{
	if (vm->ops->pause == NULL)
		return unsupported(vm, "pause", err);
	return vm->ops->pause(vm->impl, err);
}

int
vmm_resume(struct vmm_vm *vm, char **err)
{
	if (vm->ops->resume == NULL)
		return unsupported(vm, "resume", err);
	return vm->ops->resume(vm->impl, err);
}

int
vmm_snapshot(struct vmm_vm *vm, const char *path, char **err)
{
	if (vm->ops->snapshot == NULL)
		return unsupported(vm, "snapshot", err);
	return vm->ops->snapshot(vm->impl, path, err);
}

void
vmm_destroy(struct vmm_vm *vm, unsigned grace_ms)
{
	if (vm == NULL)
		return;
	vm->ops->destroy(vm->impl, grace_ms);
	free(vm);
}
