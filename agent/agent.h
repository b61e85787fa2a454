/*
 * agent.h: internals of provium-agent (docs/agent-protocol.md is the
 * contract).  One process serves one session over one fd from a single
 * poll loop; every object below hangs off struct agent, and objects that
 * a callback may end are flagged dead and freed between poll rounds so
 * that no callback frees something a later pollfd entry still points at.
 */
#ifndef PROVIUM_AGENT_H
#define PROVIUM_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <msgpack.h>

#include "events/frame.h"

#define AGENT_CHUNK        65536u               /* stream frame / read size */
#define AGENT_STREAM_HIWAT (1u << 20)           /* streams pause above this */
#define AGENT_READ_HIWAT   (256u << 20)         /* stop reading requests */
#define AGENT_OUTPUT_DEF   (16u << 20)
#define AGENT_OUTPUT_MAX   (48u << 20)
#define AGENT_READFILE_MAX (96u << 20)
#define AGENT_READ_MAX     (64u << 20)
#define AGENT_PIPE_GRACE_MS 200
#define AGENT_TAIL_POLL_MS  20

enum agent_mode { AGENT_FD, AGENT_GUEST, AGENT_WORKER };

/* A queue of whole frames waiting for a non-blocking fd.  Bodies are
 * owned, not copied: a 64 MiB reply is packed once and written from there. */
struct outchunk {
	struct outchunk *next;
	uint8_t hdr[4];
	uint8_t *body;
	size_t len, off;                /* len = 4 + body length */
};
struct outq {
	struct outchunk *head, *tail;
	size_t bytes;
};
/* Takes sb's buffer (sb is left empty and reusable). */
int outq_push_sbuf(struct outq *q, msgpack_sbuffer *sb);
/* 0 when empty or EAGAIN, -1 on a write error (errno set). */
int outq_flush(struct outq *q, int fd);
void outq_clear(struct outq *q);

/* Growable byte capture with a cap: bytes past max are only counted. */
struct cap {
	uint8_t *buf;
	size_t len, size, max;
	uint64_t dropped;
};
void cap_add(struct cap *c, const uint8_t *p, size_t n);
void cap_free(struct cap *c);

struct agent;
struct batch;

/* A request being answered; owned by whoever will finish it. */
struct req {
	uint64_t id;
	char kind[40];
	struct batch *batch;            /* item of this batch, or NULL */
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

/* Replies.  Exactly one of ok_begin+finish, err, fail per req; each frees req. */
msgpack_packer *req_ok_begin(struct agent *a, struct req *r);
void req_finish(struct agent *a, struct req *r);
void req_ok_nil(struct agent *a, struct req *r);
/* Frees a request that will never be answered (shutdown). */
void req_drop(struct req *r);
void req_err(struct agent *a, struct req *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void req_fail(struct agent *a, struct req *r, const char *kind,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* An error reply whose message is "<op> <subject>: strerror(err)". */
void req_oserr(struct agent *a, struct req *r, int err, const char *subj);
/* Unsolicited frames: stream_frame / stream_end / agent_error id 0. */
void agent_send_stream_frame(struct agent *a, uint64_t id, const void *p,
    size_t n);
void agent_send_stream_end(struct agent *a, uint64_t id, int err,
    const char *msg);
void agent_send_error(struct agent *a, uint64_t id, const char *kind,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void agent_queue(struct agent *a, msgpack_sbuffer *sb);

/* Argument parsing with one recorded error (-> bad_request). */
struct args {
	const msgpack_object *d;
	const char *op;
	bool bad;
	char msg[200];
	char *allocs[24];
	int nalloc;
};
void args_init(struct args *g, const msgpack_object *data, const char *op);
void args_free(struct args *g);
/* Present and not nil. */
const msgpack_object *arg_get(struct args *g, const char *key);
void args_bad(struct args *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *arg_str(struct args *g, const char *key, const char *def, bool need);
int64_t arg_i64(struct args *g, const char *key, int64_t def, bool need);
uint64_t arg_u64(struct args *g, const char *key, uint64_t def, bool need);
bool arg_bool(struct args *g, const char *key, bool def);
bool arg_bin(struct args *g, const char *key, const char **p, size_t *n,
    bool need);
char *args_strdup(struct args *g, const msgpack_object *o);
/* Replies bad_request and frees g if g is bad; returns g->bad. */
bool args_reject(struct agent *a, struct req *r, struct args *g);

/* Handles: one counter per agent; a handle is a file, process or worker,
 * or a handle living in a worker (remote). */
enum handle_type { H_FILE, H_PROC, H_WORKER, H_REMOTE };
struct proc;
struct worker;
struct handle {
	struct handle *next;
	uint64_t id;
	enum handle_type type;
	int fd;                         /* H_FILE */
	struct proc *proc;              /* H_PROC */
	struct worker *worker;          /* H_WORKER, H_REMOTE */
	uint64_t remote;                /* H_REMOTE: id inside the worker */
	bool remote_proc;               /* H_REMOTE: proc (else file) */
};
struct handle *handle_new(struct agent *a, enum handle_type t);
struct handle *handle_find(struct agent *a, uint64_t id);
void handle_del(struct agent *a, struct handle *h);
const char *handle_prefix(enum handle_type t, bool remote_proc);

/* Processes (proc.c). */
struct stream;
struct proc {
	struct proc *next;
	bool dead;
	uint64_t handle;                /* 0 for exec */
	pid_t pid;
	bool reaped;
	int wstatus;
	bool timed_out;
	int64_t deadline_ms;            /* timeout kill time, 0 = none */
	int64_t reaped_ms;
	int out[2];                     /* stdout, stderr read ends */
	struct cap cap[2];
	struct stream *stream[2];
	int in;                         /* stdin write end, -1 = closed */
	uint8_t *inbuf;
	size_t inlen, inoff;
	bool in_close_after;            /* close stdin once inbuf is out */
	struct req *in_req;             /* pending proc_stdin_write */
	struct req *wait_req;           /* exec or wait */
	bool finished;                  /* reaped and pipes done */
	char *cmd;                      /* for messages */
};
void proc_op_exec(struct agent *a, struct req *r, const msgpack_object *d,
    bool async);
void proc_op_wait(struct agent *a, struct req *r, const msgpack_object *d);
void proc_op_simple(struct agent *a, struct req *r, const msgpack_object *d);
void proc_op_stream(struct agent *a, struct req *r, const msgpack_object *d);
void proc_op_kill_all(struct agent *a, struct req *r, const msgpack_object *d);
void proc_op_join_all(struct agent *a, struct req *r, const msgpack_object *d);
void proc_reaped(struct agent *a, pid_t pid, int status);
void proc_io(struct agent *a, struct proc *p, int which, short rev);
void proc_tick(struct agent *a, int64_t now);
void proc_free(struct agent *a, struct proc *p);
void proc_kill_all_now(struct agent *a);
int64_t proc_next_deadline(struct agent *a);

/* Streams (stream.c). */
enum stream_type { S_TAIL, S_FD, S_PROC };
struct stream {
	struct stream *next;
	bool dead;
	uint64_t id;
	enum stream_type type;
	int fd;                         /* S_TAIL / S_FD: owned */
	bool regular;                   /* pread + poll timer, else POLLIN */
	off_t pos;
	int64_t next_ms;
	struct proc *proc;              /* S_PROC */
	int chan;
};
struct stream *stream_new(struct agent *a, uint64_t id, enum stream_type t);
void stream_end(struct agent *a, struct stream *s, int err, const char *msg);
void stream_io(struct agent *a, struct stream *s);
void stream_tick(struct agent *a, int64_t now);
void stream_op_cancel(struct agent *a, struct req *r, const msgpack_object *d);
int64_t stream_next_deadline(struct agent *a);
bool stream_throttled(const struct agent *a);

/* Files and the filesystem (fileops.c). */
void file_op(struct agent *a, struct req *r, const msgpack_object *d);
void file_close_all(struct agent *a);

/* Syscalls, clock, misc (sysops.c). */
void sys_op(struct agent *a, struct req *r, const msgpack_object *d);

/* Workers (worker.c). */
struct fwd;
struct worker {
	struct worker *next;
	bool dead;
	uint64_t handle;
	pid_t pid;
	int fd;
	struct frame_reader rd;
	struct outq out;
	uint64_t next_wid;
	struct fwd *fwds;
	bool closing;
};
void worker_op_spawn(struct agent *a, struct req *r, const msgpack_object *d);
void worker_op(struct agent *a, struct req *r, const msgpack_object *d);
/* Forwards a handle op on a remote handle. */
void worker_forward_handle(struct agent *a, struct req *r,
    const msgpack_object *d, struct handle *h);
bool worker_forward_cancel(struct agent *a, struct req *r, uint64_t stream);
void worker_io(struct agent *a, struct worker *w, short rev);
void worker_reaped(struct agent *a, pid_t pid);
void worker_free(struct agent *a, struct worker *w);
void worker_close_all(struct agent *a);

/* The batch op (req.c). */
struct batch {
	struct req *req;                /* the batch request itself */
	uint8_t *body;                  /* keeps items alive */
	msgpack_unpacked u;
	const msgpack_object *items;
	uint32_t next, n;
	bool in_loop, item_done;
	msgpack_sbuffer out;
};

/* Dispatch (req.c). */
void agent_dispatch(struct agent *a, struct req *r, const msgpack_object *d);
void agent_handle_frame(struct agent *a, uint8_t *body, size_t len);

struct agent {
	enum agent_mode mode;
	int fd;
	bool hello_done;
	bool quit;
	int exit_code;
	bool poweroff;
	struct frame_reader rd;
	struct outq out;
	uint64_t next_handle;
	struct handle *handles;
	struct proc *procs;
	struct stream *streams;
	struct worker *workers;
	int worst_code;                 /* worst exit status seen (join) */
	struct req *join_reqs[8];       /* pending join_all */
	int njoin;
	int64_t join_kill_ms;           /* join_all: SIGKILL stragglers then */
	const char *self_exe;
	int sigfd;
	bool desync;                    /* discard input until EOF */
	int64_t retry_ms;               /* guest: host gone, retry read then */
};

int agent_pack_object(msgpack_packer *pk, const msgpack_object *o);
int64_t agent_now_ms(void);
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Runs one session on a->fd until EOF/quit; returns the exit status. */
int agent_serve(struct agent *a);
void agent_reset_session(struct agent *a);

/* Guest PID 1 (guest.c): mounts and modules; then the port fd or -1. */
void guest_setup(void);
int guest_init(void);

#endif
