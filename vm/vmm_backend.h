/*
 * vmm_backend.h: what a VM backend implements; vm/vmm.c dispatches the
 * public vmm_* calls of vm/vmm.h through it.  Private to vm/.
 *
 * Every backend's VM struct starts with a struct vmm_vm whose ops points
 * at the backend's table, so vmm.c needs to know nothing else.
 */
#ifndef PROVIUM_VMM_BACKEND_H
#define PROVIUM_VMM_BACKEND_H

#include "vm/vmm.h"

struct vmm_backend_ops {
	const char *name;
	int (*boot)(const struct vmm_boot_opts *o, struct vmm_vm **out,
	    char **err);
	int (*agent_fd)(const struct vmm_vm *vm);
	unsigned (*caps)(const struct vmm_vm *vm);
	uint32_t (*cid)(const struct vmm_vm *vm);
	pid_t (*pid)(const struct vmm_vm *vm);
	int (*exited)(struct vmm_vm *vm);
	int (*boot_check)(struct vmm_vm *vm, char **why);   /* may be NULL */
	char *(*boot_failed)(struct vmm_vm *vm, const char *why);
	int (*console_tail)(struct vmm_vm *vm, size_t max, char **out,
	    size_t *len);                                 /* may be NULL */
	int (*pause)(struct vmm_vm *vm, char **err);      /* may be NULL */
	int (*resume)(struct vmm_vm *vm, char **err);     /* may be NULL */
	int (*snapshot)(struct vmm_vm *vm, const char *path, char **err);
	void (*destroy)(struct vmm_vm *vm, unsigned grace_ms);
};

struct vmm_vm {
	const struct vmm_backend_ops *ops;
};

extern const struct vmm_backend_ops vmm_qemu_ops;   /* vm/qemu.c */
void qemu_sweep_stale(void);
void local_sweep_stale(void);
extern const struct vmm_backend_ops vmm_local_ops;   /* vm/local.c */

#endif
