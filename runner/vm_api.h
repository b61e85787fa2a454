/*
 * vm_api.h: the Lua VM API (lab:vm, VM, Process, File, Stream, Worker,
 * RunResult), prefix vmapi_.  Private to runner/vm_*.c; the runner sees
 * only the extension `vmapi_ext` (runner/exts.c).
 *
 * Every Lua-visible object is a userdata created "closed" and then filled,
 * so a Lua error at any point frees what was acquired (__gc).  Requests
 * and replies live in userdata too (vmapi_req_new / vmapi_call), which is
 * what makes raising mid-way through building one safe.
 *
 * Resources (process, file, stream, worker) keep their VM in user value 1
 * and are tracked per scope: created while a test runs => closed at its
 * end, else at file end.  Close order: stream, proc, file, worker, vm.
 */
#ifndef PROVIUM_VM_API_H
#define PROVIUM_VM_API_H

#include <stdbool.h>
#include <stdint.h>

#include <lua.h>
#include <lauxlib.h>

#include "runner/runner.h"
#include "vm/agent_client.h"
#include "vm/vmm.h"

#define VMAPI_VM_MT      "provium.vm"
#define VMAPI_PROC_MT    "provium.process"
#define VMAPI_FILE_MT    "provium.file"
#define VMAPI_STREAM_MT  "provium.stream"
#define VMAPI_WORKER_MT  "provium.worker"
#define VMAPI_RESULT_MT  "provium.runresult"
#define VMAPI_REQ_MT     "provium.agent_request"
#define VMAPI_REPLY_MT   "provium.agent_reply"
#define VMAPI_BATCH_MT   "provium.batch"

/* A VM's cid comes from the supervisor with its reservation (unique in the
 * run, increasing from 100).  Without one (a stand-in supervisor), the
 * runner's n-th VM gets 100 + pid * 1000 + n (n < 1000). */
#define VMAPI_MAX_VMS_PER_RUNNER 1000u

enum vmapi_state { VMAPI_CREATED, VMAPI_BOOTED, VMAPI_PAUSED,
	VMAPI_SHUTDOWN, VMAPI_DEAD };

/* Values double as the close order at scope end. */
enum vmapi_kind { VMAPI_K_STREAM, VMAPI_K_PROC, VMAPI_K_FILE,
	VMAPI_K_WORKER, VMAPI_K_VM, VMAPI_K_COUNT };

struct vmapi_vm {
	enum vmapi_kind kind;         /* VMAPI_K_VM; first, like vmapi_res */
	char *name, *profile, *lab;
	uint64_t memory;              /* declared, 0 if not */
	unsigned cpus;                /* declared, 0 if not */
	enum vmapi_state state;
	struct vmm_vm *vmm;
	struct ac *ac;
	uint32_t cid;
	int64_t boot_ns;
	uint64_t res_memory;          /* held reservation (0 = none) */
	unsigned res_cpus;
	bool spawned;                 /* vm_spawned sent, vm_shutdown owed */
	uint32_t cid_hint;            /* cid from lab:boot()'s joint reserve, or 0 */
	bool prereserved;             /* lab:boot() holds res_* for it */
	unsigned nfiles, nstreams;
	const char *restore_from;     /* set around boot by vm_fixture */
};

/* Common head of every resource userdata. */
struct vmapi_res {
	enum vmapi_kind kind;
	bool closed;
	uint64_t handle;              /* agent handle, or stream request id */
};

struct vmapi_proc {
	struct vmapi_res h;
	int pid;
	bool waited;
	struct vmapi_res *worker;     /* not owned; NULL for VM processes */
};

struct vmapi_stream {
	struct vmapi_res h;
	char *pend;                   /* bytes past a read_until match */
	size_t npend;
	bool ended;
	char what[160];               /* creation description */
	char site[256];               /* "f.test.lua:42 (test \"foo\")" */
};

struct vmapi_worker {
	struct vmapi_res h;
	int pid;
};

/* Per-runner state (a registry userdata). */
struct profile;
struct vmapi_ctx {
	unsigned nvms;              /* VMs booted so far (cid sequence) */
	struct profile_config *cfg; /* loaded on first use (qemu only) */
	char *excerpt;              /* console tails taken at scope end */
};

/* vm_core.c */
struct vmapi_ctx *vmapi_ctx(lua_State *L);
bool vmapi_is_local(struct runner *r);
/* The profile a VM boots with: NULL under --vmm local (any name goes),
 * else looked up in provium.toml (default `linux`).  Raises. */
const struct profile *vmapi_resolve_profile(lua_State *L, const char *vm_name,
    const char *name);
extern const struct runner_ext vmapi_ext;
int vmapi_open(lua_State *L, struct runner *r);
void vmapi_scope_end(lua_State *L, struct runner *r, const char *test);
void vmapi_file_end(lua_State *L, struct runner *r);
char *vmapi_console_excerpt(struct runner *r);
struct vmapi_vm *vmapi_check_vm(lua_State *L, int idx);
/* Raises upstream's wrong-state error unless the VM is booted. */
void vmapi_need_booted(lua_State *L, struct vmapi_vm *vm, const char *op);
/* Tracks the userdata at idx in the current scope (for auto-close). */
void vmapi_track(lua_State *L, int idx);
void vmapi_vm_methods(lua_State *L);

/*
 * Lines "  - <what> created at <site>" for every open stream of vm (of
 * every VM if NULL) in the current scopes, malloc'd ("" if none); *n gets
 * the count.
 */
char *vmapi_open_streams(lua_State *L, const struct vmapi_vm *vm, int *n);

/* vm_labsnap.c: lab:snapshot / lab:restore / lab:lab, and
 * provium.reset_between_tests (baseline before the first test, restored
 * after every test). */
void vmapi_labsnap_open(lua_State *L);
/* Registry key: a lab fixture's build sets it to the cache's temp dir,
 * where lab:snapshot() without a dir then writes. */
#define VMAPI_LABSNAP_MT "provium.labsnapshot"
#define VMAPI_LABSNAP_PENDING "provium.fixture.labpending"
void vmapi_reset_begin(lua_State *L, struct runner *r);
void vmapi_reset_end(lua_State *L, struct runner *r);

/* vm_boot.c: vm:boot(opts?); stopping (never raises: poweroff, destroy,
 * vm_shutdown, release); the reservation's release. */
int vmapi_vm_boot(lua_State *L);
void vmapi_vm_stop(lua_State *L, struct vmapi_vm *vm);
void vmapi_release(struct runner *r, struct vmapi_vm *vm);

/* vm_lab.c: lab:vm/boot/shutdown and `lab.<name>`. */
void vmapi_lab_open(lua_State *L);
/* Pushes the lab at index lab's own VMs (not its parents') as an array
 * sorted by name; returns how many. */
int vmapi_lab_members(lua_State *L, int lab);
/* Raises msg (malloc'd, freed here).  Never returns. */
int vmapi_raise(lua_State *L, char *msg) __attribute__((noreturn));
int vmapi_raisef(lua_State *L, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

/* vm_call.c: requests, replies, conversions. */
/* Absolute deadline: the test's, or min(test's, now + ms) if ms >= 0. */
int64_t vmapi_deadline(lua_State *L, int64_t ms);
/* After a wait timed out: has the running test's deadline passed?  (Waits
 * out a remainder of a few ms first.)  Then call runner_raise_timeout. */
bool vmapi_test_expired(lua_State *L);
struct ac_req *vmapi_req_new(lua_State *L, struct vmapi_vm *vm,
    const char *kind);
/*
 * Sends the request userdata at the top of the stack and waits.  Replaces
 * it with the reply userdata and returns the value.  Raises on failure:
 * OS errors as "vm `n`: <agent message>", a lost agent makes the VM dead.
 * With *os_errno non-NULL an OS error is returned (NULL value, *os_errno
 * set, message at the top of the stack instead of the reply) instead.
 */
const msgpack_object *vmapi_call(lua_State *L, struct vmapi_vm *vm,
    int64_t deadline_ms, int *os_errno);
/* Like vmapi_call but returns the status (for close paths; no raise). */
int vmapi_call_quiet(lua_State *L, struct vmapi_vm *vm, int64_t deadline_ms,
    char **err);
/* Marks the VM dead after its agent was lost. */
void vmapi_vm_died(struct vmapi_vm *vm);
void vmapi_push_obj(lua_State *L, const msgpack_object *o);
void vmapi_push_result(lua_State *L, const msgpack_object *v);
void vmapi_push_stat(lua_State *L, const msgpack_object *v);
void vmapi_push_syscall(lua_State *L, const msgpack_object *v);
/* Packs exec/run_async fields from Lua args (cmd at idx, opts at idx+1):
 * the three vm:run forms.  async rejects timeout. Returns the number of
 * map entries it wrote after packing the map header itself. */
void vmapi_pack_exec(lua_State *L, struct ac_req *q, int idx, bool async,
    const char *what, uint64_t worker);
void vmapi_pack_open_mode(lua_State *L, struct ac_req *q, int idx,
    const char *path, uint64_t worker);
void vmapi_pack_syscall(lua_State *L, struct ac_req *q, int idx, int last,
    uint64_t worker);
int vmapi_signal_arg(lua_State *L, int idx, const char *what);
void vmapi_result_open(lua_State *L);

/* vm_res.c: Process, File, Stream, Worker. */
void vmapi_res_open(lua_State *L);
/* Pushes a new resource userdata of kind with the VM at vm_idx. */
void *vmapi_res_new(lua_State *L, int vm_idx, enum vmapi_kind kind,
    uint64_t handle);
struct vmapi_vm *vmapi_res_vm(lua_State *L, int idx);
/* Closes the resource at idx quietly (scope end). */
void vmapi_res_close(lua_State *L, int idx);
/* Sends the stream request at the top, waits for its ack and replaces it
 * with the Stream (VM at vm_idx). */
void vmapi_stream_call(lua_State *L, int vm_idx, const char *what);
/* Pushes a Stream for an acked subscription id. */
void vmapi_push_stream(lua_State *L, int vm_idx, uint64_t id,
    const char *what);

/* vm_ops.c: file ops, syscall, batch, workers (VM methods). */
void vmapi_ops_methods(lua_State *L);
void vmapi_ops_worker_methods(lua_State *L);

/* vm_clock.c: vm:clock() (adds it to the VM method table at the top). */
void vmapi_clock_open(lua_State *L);
int vmapi_worker_run_async(lua_State *L);
int vmapi_worker_open_file(lua_State *L);

#endif
