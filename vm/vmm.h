/*
 * vmm.h: the interface between the runner's Lua VM API and a VM backend.
 *
 * Two backends implement it: "qemu" (vm/qemu*.c: a real Linux guest under
 * QEMU, agent on a virtio-serial port) and "local" (vm/local.c: the same
 * provium-agent binary run as a host process over a socketpair).  The Lua
 * layer never knows which one it talks to, except through vmm_caps().
 *
 * Errors: functions return 0 / -1 and, on -1, set *err to a malloc'd,
 * human-readable message (caller frees).  Nothing here exits.
 */
#ifndef PROVIUM_VMM_H
#define PROVIUM_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VMM_DEFAULT_MEMORY   (512ull * 1024 * 1024)
#define VMM_DEFAULT_CPUS     1u
#define VMM_OVERHEAD_BYTES   (100ull * 1024 * 1024)
#define VMM_CONSOLE_EXCERPT  4096u

enum vmm_backend { VMM_BACKEND_QEMU, VMM_BACKEND_LOCAL };

enum vmm_caps_flags {
	VMM_CAP_CONSOLE  = (1 << 0),  /* vmm_console_tail works */
	VMM_CAP_PAUSE    = (1 << 1),
	VMM_CAP_SNAPSHOT = (1 << 2),
};

struct profile;  /* vm/profile.h; NULL for the local backend */

struct vmm_file {        /* boot-time file, placed in a cpio by qemu */
	const char *path;
	const void *content;
	size_t len;
	unsigned mode;       /* default 0644 */
};

/* A virtio-net NIC whose backend is a switch port (vm/switch.h):
 * `-netdev stream,server=off` on a unix socket.  Added by the net slice. */
struct vmm_nic {
	const char *id;                  /* netdev id, [A-Za-z0-9_]+, unique per VM */
	const char *socket;              /* absolute path, no ',' */
	uint8_t mac[6];
};

struct vmm_boot_opts {
	const char *vm_name;
	const struct profile *profile;   /* required for qemu */
	uint64_t memory_bytes;           /* 0 = VMM_DEFAULT_MEMORY */
	unsigned cpus;                   /* 0 = VMM_DEFAULT_CPUS */
	const char *kernel_cmdline;      /* override, or NULL */
	const char *kernel_cmdline_append;
	const struct vmm_file *files;
	size_t nfiles;
	bool has_rng_seed;
	uint64_t rng_seed;
	bool has_initial_time;
	int64_t initial_time;            /* seconds since the epoch */
	double agent_timeout_s;          /* 0 = profile default (30 s) */
	const char *restore_from;        /* snapshot file to restore, or NULL */
	uint32_t cid;                    /* assigned by the caller (monotonic from 100) */
	int verbose;
	const struct vmm_nic *nics;      /* in guest order (eth0, eth1, ...) */
	size_t nnics;
};

struct vmm_vm;   /* opaque, one per booted VM */

/*
 * Launches the VM and returns once its agent channel is connected (not yet
 * handshaken: the caller does hello/hello_ok over vmm_agent_fd() and calls
 * vmm_boot_failed() to get a useful error if that times out).
 */
int vmm_boot(enum vmm_backend be, const struct vmm_boot_opts *o,
    struct vmm_vm **out, char **err);

/* The connected agent byte stream.  Owned by the vm; do not close. */
int vmm_agent_fd(const struct vmm_vm *vm);
unsigned vmm_caps(const struct vmm_vm *vm);
uint32_t vmm_cid(const struct vmm_vm *vm);
pid_t vmm_pid(const struct vmm_vm *vm);          /* qemu or agent process */
/* Non-zero once the backing process has exited (reaped). */
int vmm_exited(struct vmm_vm *vm);

/*
 * Builds an error for a boot whose agent never answered: QEMU's exit status
 * or a kernel panic, plus the console tail between
 * "--- guest console (last bytes) ---" markers.  Returns a malloc'd string.
 */
char *vmm_boot_failed(struct vmm_vm *vm, const char *why);

/*
 * Added for the qemu backend: call it while waiting for hello_ok (every
 * ~100 ms).  Returns 1 with *why (malloc'd: "QEMU exited with status 1",
 * "guest kernel panic") once the boot has visibly failed, so the caller
 * can fail fast with vmm_boot_failed(vm, why); else 0.
 */
int vmm_boot_check(struct vmm_vm *vm, char **why);

/* Last max bytes of the console log (malloc'd in *out), or -1 if none. */
int vmm_console_tail(struct vmm_vm *vm, size_t max, char **out, size_t *len);
/* For backends: the last max bytes of dirfd/name, NUL-terminated in a
 * malloc'd *out of at most max + 1 bytes whatever the file's size. */
int vmm_file_tail(int dirfd, const char *name, size_t max, char **out,
    size_t *len);

int vmm_pause(struct vmm_vm *vm, char **err);
int vmm_resume(struct vmm_vm *vm, char **err);
/* Stops the guest and writes a restorable snapshot to path. */
int vmm_snapshot(struct vmm_vm *vm, const char *path, char **err);

/*
 * Stops the VM: the caller has already asked the agent to power off when
 * it could; this waits up to grace_ms, then QMP quit, then SIGKILL, reaps,
 * and removes the scratch directory.  Always succeeds in freeing vm.
 */
void vmm_destroy(struct vmm_vm *vm, unsigned grace_ms);

/*
 * Removes the scratch directories of VMs whose runner is gone (a SIGKILLed
 * runner never reaches vmm_destroy).  Safe while other runners run: each
 * directory names its owner's pid.  The supervisor calls it after a runner
 * dies and at the end of the run.
 */
void vmm_sweep_stale(void);

/*
 * `provium console`: the QEMU argv of an interactive VM for o (profile
 * required), the same machine a test boots but with the serial console on
 * stdio (-serial mon:stdio) and no QMP; the agent overlay and channel only
 * when agent.  qemu replaces the binary when non-NULL.  argv is
 * NULL-terminated: vmm_qemu_argv_free().
 */
int vmm_qemu_console_argv(const struct vmm_boot_opts *o, bool agent,
    const char *qemu, char ***argv, char **err);
void vmm_qemu_argv_free(char **argv);

#endif
