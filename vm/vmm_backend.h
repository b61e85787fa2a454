/*
 * vmm_backend.h: what a VM backend provides to vm/vmm.c (private to vm/).
 *
 * vmm.c owns struct vmm_vm (the ops table plus the backend's own state) and
 * dispatches every vmm_* call of vmm.h through these hooks.  A backend that
 * is not linked in (its ops symbol is weak) makes vmm_boot() fail with a
 * clear message instead of a link error.
 */
#ifndef PROVIUM_VMM_BACKEND_H
#define PROVIUM_VMM_BACKEND_H

#include "vmm.h"

struct vmm_ops {
	const char *name;                       /* "qemu", "local" */
	int (*boot)(const struct vmm_boot_opts *o, void **impl, char **err);
	int (*agent_fd)(const void *impl);
	unsigned (*caps)(const void *impl);
	pid_t (*pid)(const void *impl);
	int (*exited)(void *impl);
	char *(*boot_failed)(void *impl, const char *why);
	/* Optional (NULL = unsupported, vmm.c builds the error). */
	int (*console_tail)(void *impl, size_t max, char **out, size_t *len);
	int (*pause)(void *impl, char **err);
	int (*resume)(void *impl, char **err);
	int (*snapshot)(void *impl, const char *path, char **err);
	void (*destroy)(void *impl, unsigned grace_ms);
};

extern const struct vmm_ops vmm_local_ops;
extern const struct vmm_ops vmm_qemu_ops __attribute__((weak));

/* malloc'd printf, never NULL (falls back to a static-free message). */
char *vmm_errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
