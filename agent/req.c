/* req.c: request envelopes, replies, dispatch and batches. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "events/mp.h"
#include "events/proto.h"

static struct req *
req_new(uint64_t id, const char *kind, size_t klen, struct batch *b)
{
	struct req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->id = id;
	if (klen >= sizeof(r->kind))
		klen = sizeof(r->kind) - 1;
	memcpy(r->kind, kind, klen);
	r->batch = b;
	msgpack_sbuffer_init(&r->sb);
	msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
	return r;
}

static void
req_free(struct req *r)
{
	msgpack_sbuffer_destroy(&r->sb);
	free(r);
}

void
req_drop(struct req *r)
{
	if (r != NULL)
		req_free(r);
}

/*
 * Frame head: `id` (left out for a batch item: the batch reply carries
 * it), `kind`, then the key `data`, whose value the caller packs next.
 */
static void
pack_head(msgpack_packer *pk, bool with_id, uint64_t id, const char *kind)
{
	msgpack_pack_map(pk, with_id ? 3 : 2);
	if (with_id)
		mp_kv_u64(pk, "id", id);
	mp_kv_str(pk, "kind", kind);
	mp_str(pk, "data");
}

/* A request's own buffer, restarted with its `<kind>_result` head. */
static void
req_head(struct req *r)
{
	char k[64];

	msgpack_sbuffer_clear(&r->sb);
	snprintf(k, sizeof(k), "%s_result", r->kind);
	pack_head(&r->pk, r->batch == NULL, r->id, k);
}

msgpack_packer *
req_ok_begin(struct agent *a, struct req *r)
{
	(void)a;
	req_head(r);
	msgpack_pack_map(&r->pk, 2);
	mp_kv_str(&r->pk, "outcome", "ok");
	mp_str(&r->pk, "value");
	return &r->pk;
}

static void batch_run(struct agent *a, struct batch *b);

void
req_finish(struct agent *a, struct req *r)
{
	struct batch *b = r->batch;

	if (b == NULL) {
		agent_queue(a, &r->sb);
		req_free(r);
		return;
	}
	msgpack_sbuffer_write(&b->out, r->sb.data, r->sb.size);
	req_free(r);
	b->item_done = true;
	if (!b->in_loop)
		batch_run(a, b);
}

void
req_ok_nil(struct agent *a, struct req *r)
{
	msgpack_pack_nil(req_ok_begin(a, r));
	req_finish(a, r);
}

/* The failed outcome of a result or stream: {errno, message}. */
static void
pack_outcome_err(msgpack_packer *pk, int err, const char *msg)
{
	msgpack_pack_map(pk, 2);
	mp_kv_str(pk, "outcome", "err");
	mp_str(pk, "value");
	msgpack_pack_map(pk, 2);
	mp_kv_i64(pk, "errno", err);
	mp_kv_str(pk, "message", msg);
}

void
req_err(struct agent *a, struct req *r, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	req_head(r);
	pack_outcome_err(&r->pk, err, msg);
	req_finish(a, r);
}

void
req_oserr(struct agent *a, struct req *r, int err, const char *subj)
{
	req_err(a, r, err, "%s %s: %s", r->kind, subj, strerror(err));
}

/* The data of an agent_error frame. */
static void __attribute__((format(printf, 3, 0)))
pack_agent_error(msgpack_packer *pk, const char *kind, const char *fmt,
    va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msgpack_pack_map(pk, 2);
	mp_kv_str(pk, "kind", kind);
	mp_kv_str(pk, "message", msg);
}

void
req_fail(struct agent *a, struct req *r, const char *kind, const char *fmt,
    ...)
{
	va_list ap;

	msgpack_sbuffer_clear(&r->sb);
	pack_head(&r->pk, r->batch == NULL, r->id, "agent_error");
	va_start(ap, fmt);
	pack_agent_error(&r->pk, kind, fmt, ap);
	va_end(ap);
	req_finish(a, r);
}

void
agent_queue(struct agent *a, msgpack_sbuffer *sb)
{
	if (sb->size > FRAME_MAX_AGENT) {
		agent_log("dropping a %zu-byte reply over the frame cap",
		    sb->size);
		return;
	}
	if (outq_push_sbuf(&a->out, sb) != 0)
		agent_log("out of memory queueing a reply");
}

/* A frame that belongs to no request object: begin, pack data, send. */
struct frame_out {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static msgpack_packer *
out_begin(struct frame_out *o, uint64_t id, const char *kind)
{
	msgpack_sbuffer_init(&o->sb);
	msgpack_packer_init(&o->pk, &o->sb, msgpack_sbuffer_write);
	pack_head(&o->pk, true, id, kind);
	return &o->pk;
}

static void
out_send(struct agent *a, struct frame_out *o)
{
	agent_queue(a, &o->sb);
	msgpack_sbuffer_destroy(&o->sb);
}

void
agent_send_error(struct agent *a, uint64_t id, const char *kind,
    const char *fmt, ...)
{
	struct frame_out o;
	va_list ap;

	va_start(ap, fmt);
	pack_agent_error(out_begin(&o, id, "agent_error"), kind, fmt, ap);
	va_end(ap);
	out_send(a, &o);
}

void
agent_send_stream_frame(struct agent *a, uint64_t id, const void *p, size_t n)
{
	struct frame_out o;
	msgpack_packer *pk = out_begin(&o, id, "stream_frame");

	msgpack_pack_map(pk, 1);
	mp_kv_bin(pk, "data", p, n);
	out_send(a, &o);
}

void
agent_send_stream_end(struct agent *a, uint64_t id, int err, const char *msg)
{
	struct frame_out o;
	msgpack_packer *pk = out_begin(&o, id, "stream_end");

	if (err == 0) {
		msgpack_pack_map(pk, 1);
		mp_kv_str(pk, "outcome", "ok");
	} else {
		pack_outcome_err(pk, err, msg);
	}
	out_send(a, &o);
}

/* ---- dispatch ---- */

typedef void op_fn(struct agent *, struct req *, const msgpack_object *);

static void
op_exec(struct agent *a, struct req *r, const msgpack_object *d)
{
	proc_op_exec(a, r, d, false);
}

static void
op_run_async(struct agent *a, struct req *r, const msgpack_object *d)
{
	proc_op_exec(a, r, d, true);
}

enum { OP_NOBATCH = 1, OP_HANDLE = 2 };

static const struct op {
	const char *kind;
	op_fn *fn;
	int flags;
} ops[] = {
	{ "exec", op_exec, 0 },
	{ "run_async", op_run_async, 0 },
	{ "wait", proc_op_wait, OP_HANDLE },
	{ "kill", proc_op_simple, OP_HANDLE },
	{ "signal", proc_op_simple, OP_HANDLE },
	{ "get_pid", proc_op_simple, OP_HANDLE },
	{ "proc_status", proc_op_simple, OP_HANDLE },
	{ "proc_stdin_write", proc_op_simple, OP_HANDLE },
	{ "proc_stdin_close", proc_op_simple, OP_HANDLE },
	{ "proc_stream", proc_op_stream, OP_HANDLE | OP_NOBATCH },
	{ "kill_all", proc_op_kill_all, 0 },
	{ "join_all", proc_op_join_all, 0 },
	{ "open_file", file_op, 0 },
	{ "read", file_op, OP_HANDLE },
	{ "write", file_op, OP_HANDLE },
	{ "seek", file_op, OP_HANDLE },
	{ "close", file_op, OP_HANDLE },
	{ "fd_stream", file_op, OP_HANDLE | OP_NOBATCH },
	{ "read_file", file_op, 0 },
	{ "write_file", file_op, 0 },
	{ "stat", file_op, 0 },
	{ "listdir", file_op, 0 },
	{ "mkdir", file_op, 0 },
	{ "unlink", file_op, 0 },
	{ "rename", file_op, 0 },
	{ "tail_file", file_op, OP_NOBATCH },
	{ "syscall", sys_op, 0 },
	{ "get_time", sys_op, 0 },
	{ "set_time", sys_op, 0 },
	{ "advance_clock", sys_op, 0 },
	{ "reseed", sys_op, 0 },
	{ "ping", sys_op, 0 },
	{ "poweroff", sys_op, OP_NOBATCH },
	{ "cancel", stream_op_cancel, OP_NOBATCH },
	{ "spawn_worker", worker_op_spawn, OP_NOBATCH },
	{ "worker_exec", worker_op, 0 },
	{ "worker_run_async", worker_op, 0 },
	{ "worker_open_file", worker_op, 0 },
	{ "worker_syscall", worker_op, 0 },
	{ "worker_kill", worker_op, 0 },
	{ "worker_join", worker_op, 0 },
	{ "worker_close", worker_op, 0 },
	/* No handler: a top-level batch is started by agent_handle_frame
	 * (it owns the frame body) and hello is over by now; both are listed
	 * so that an item of a batch gets the nested-batch error. */
	{ "batch", NULL, OP_NOBATCH },
	{ "hello", NULL, OP_NOBATCH },
};

void
agent_dispatch(struct agent *a, struct req *r, const msgpack_object *d)
{
	static const msgpack_object empty = { .type = MSGPACK_OBJECT_MAP };
	const struct op *op = NULL;
	size_t i;

	if (d == NULL || d->type == MSGPACK_OBJECT_NIL)
		d = &empty;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(ops[i].kind, r->kind) == 0) {
			op = &ops[i];
			break;
		}
	}
	if (op == NULL) {
		req_fail(a, r, "unknown_kind", "unknown request kind `%s`",
		    r->kind);
		return;
	}
	if (r->batch != NULL && (op->flags & OP_NOBATCH)) {
		req_fail(a, r, "bad_request",
		    "`%s` cannot appear inside a batch", r->kind);
		return;
	}
	if (d->type != MSGPACK_OBJECT_MAP) {
		req_fail(a, r, "bad_request", "%s: `data` must be a map",
		    r->kind);
		return;
	}
	if (op->fn == NULL) {
		req_fail(a, r, "protocol", "hello already done");
		return;
	}
	if (op->flags & OP_HANDLE) {
		uint64_t hid;
		struct handle *h;

		if (mp_get_u64(d, "handle", &hid) != 0) {
			req_fail(a, r, "bad_request",
			    "%s: field `handle` missing or not a u64", r->kind);
			return;
		}
		h = handle_find(a, hid);
		if (h != NULL && h->type == H_REMOTE) {
			worker_forward_handle(a, r, d, h);
			return;
		}
	}
	op->fn(a, r, d);
}

/* ---- batch ---- */

static void
batch_done(struct agent *a, struct batch *b)
{
	struct req *r = b->req;
	msgpack_packer *pk;

	if (b->out.size > FRAME_MAX_AGENT - 4096) {
		req_fail(a, r, "bad_request",
		    "batch: reply of %zu bytes exceeds the frame cap",
		    b->out.size);
	} else {
		pk = req_ok_begin(a, r);
		msgpack_pack_map(pk, 1);
		mp_str(pk, "responses");
		msgpack_pack_array(pk, b->n);
		msgpack_sbuffer_write(&r->sb, b->out.data, b->out.size);
		req_finish(a, r);
	}
	msgpack_sbuffer_destroy(&b->out);
	msgpack_unpacked_destroy(&b->u);
	free(b->body);
	free(b);
}

static void
batch_run(struct agent *a, struct batch *b)
{
	while (b->next < b->n) {
		const msgpack_object *it = &b->items->via.array.ptr[b->next];
		const msgpack_object *k = mp_get(it, "kind");
		struct req *sub;

		b->next++;
		b->item_done = false;
		b->in_loop = true;
		if (k == NULL || k->type != MSGPACK_OBJECT_STR) {
			sub = req_new(0, "batch", 5, b);
			if (sub == NULL)
				abort();
			req_fail(a, sub, "bad_request",
			    "batch: item %u has no string `kind`", b->next);
		} else {
			sub = req_new(0, k->via.str.ptr, k->via.str.size, b);
			if (sub == NULL)
				abort();
			agent_dispatch(a, sub, mp_get(it, "data"));
		}
		b->in_loop = false;
		if (!b->item_done)
			return;         /* async item: req_finish resumes us */
	}
	batch_done(a, b);
}

static void
start_batch(struct agent *a, struct req *r, uint8_t *body,
    msgpack_unpacked *u, const msgpack_object *d)
{
	const msgpack_object *items = mp_get(d, "items");
	struct batch *b;

	if (items == NULL || items->type != MSGPACK_OBJECT_ARRAY) {
		req_fail(a, r, "bad_request",
		    "batch: field `items` missing or not an array");
		msgpack_unpacked_destroy(u);
		free(body);
		return;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		abort();
	b->req = r;
	b->body = body;
	b->u = *u;
	b->items = items;
	b->n = items->via.array.size;
	msgpack_sbuffer_init(&b->out);
	batch_run(a, b);
}

/* ---- frames in ---- */

static void
do_hello(struct agent *a, uint64_t id, const msgpack_object *d)
{
	struct frame_out o;
	msgpack_packer *pk;
	uint64_t v;
	char rel[128] = "";
	FILE *f;

	if (mp_get_u64(d, "protocol_version", &v) != 0) {
		agent_send_error(a, id, "bad_request",
		    "hello: field `protocol_version` missing or not a u32");
		return;
	}
	if (v != PROTOCOL_VERSION) {
		pk = out_begin(&o, id, "hello_err");
		msgpack_pack_map(pk, 2);
		mp_kv_u64(pk, "host_version", v);
		mp_kv_u64(pk, "agent_version", PROTOCOL_VERSION);
		out_send(a, &o);
		a->quit = true;
		a->exit_code = 1;
		return;
	}
	f = fopen("/proc/sys/kernel/osrelease", "r");
	if (f != NULL) {
		if (fgets(rel, sizeof(rel), f) == NULL)
			rel[0] = '\0';
		rel[strcspn(rel, "\n")] = '\0';
		fclose(f);
	}
	pk = out_begin(&o, id, "hello_ok");
	msgpack_pack_map(pk, 2);
	mp_kv_u64(pk, "protocol_version", PROTOCOL_VERSION);
	mp_str(pk, "agent");
	msgpack_pack_map(pk, 3);
	mp_kv_str(pk, "os", "linux");
	mp_kv_str(pk, "agent_version", PROVIUM_VERSION);
	mp_kv_str(pk, "kernel", rel);
	out_send(a, &o);
	a->hello_done = true;
}

void
agent_handle_frame(struct agent *a, uint8_t *body, size_t len)
{
	msgpack_unpacked u;
	const msgpack_object *m, *k, *idobj;
	uint64_t id = 0;
	struct req *r;

	msgpack_unpacked_init(&u);
	if (frame_decode(body, len, &u, &m) != FRAME_OK) {
		agent_send_error(a, 0, "bad_request",
		    "malformed frame: body is not one msgpack map");
		msgpack_unpacked_destroy(&u);
		free(body);
		return;
	}
	idobj = mp_get(m, "id");
	if (idobj == NULL || mp_obj_u64(idobj, &id) != 0) {
		agent_send_error(a, 0, "bad_request",
		    "request has no integer `id`");
		goto out;
	}
	k = mp_get(m, "kind");
	if (k == NULL || k->type != MSGPACK_OBJECT_STR) {
		agent_send_error(a, id, "bad_request",
		    "request has no string `kind`");
		goto out;
	}
	if (!a->hello_done) {
		if (mp_obj_is_str(k, "hello"))
			do_hello(a, id, mp_get(m, "data"));
		else
			agent_send_error(a, id, "protocol",
			    "expected hello before `%.*s`",
			    (int)(k->via.str.size > 64 ? 64 : k->via.str.size),
			    k->via.str.ptr);
		goto out;
	}
	r = req_new(id, k->via.str.ptr, k->via.str.size, NULL);
	if (r == NULL)
		abort();
	/* r->kind, not k: a kind is matched up to a NUL byte, so "batch\0x"
	 * is a batch here too (else it reached no handler and leaked). */
	if (strcmp(r->kind, "batch") == 0) {
		const msgpack_object *d = mp_get(m, "data");

		if (d == NULL || d->type != MSGPACK_OBJECT_MAP) {
			req_fail(a, r, "bad_request",
			    "batch: `data` must be a map");
			goto out;
		}
		start_batch(a, r, body, &u, d);
		return;
	}
	agent_dispatch(a, r, mp_get(m, "data"));
out:
	msgpack_unpacked_destroy(&u);
	free(body);
}

/* ---- argument parsing ---- */

void
args_init(struct args *g, const msgpack_object *data, const char *op)
{
	memset(g, 0, sizeof(*g));
	g->d = data;
	g->op = op;
}

void
args_free(struct args *g)
{
	int i;

	for (i = 0; i < g->nalloc; i++)
		free(g->allocs[i]);
	g->nalloc = 0;
}

void
args_bad(struct args *g, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (g->bad)
		return;
	g->bad = true;
	n = snprintf(g->msg, sizeof(g->msg), "%s: ", g->op);
	va_start(ap, fmt);
	vsnprintf(g->msg + n, sizeof(g->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

const msgpack_object *
arg_get(struct args *g, const char *key)
{
	const msgpack_object *o = mp_get(g->d, key);

	return o == NULL || o->type == MSGPACK_OBJECT_NIL ? NULL : o;
}

char *
args_strdup(struct args *g, const msgpack_object *o)
{
	char *s = mp_obj_strdup(o);

	if (s == NULL)
		return NULL;
	if (g->nalloc == (int)(sizeof(g->allocs) / sizeof(g->allocs[0]))) {
		free(s);
		args_bad(g, "too many string fields");
		return NULL;
	}
	g->allocs[g->nalloc++] = s;
	return s;
}

/* What each arg_* getter accepts; the name goes into the type error. */
enum arg_type { ARG_STR, ARG_BIN, ARG_I64, ARG_U64, ARG_BOOL };

static const char *const arg_type_name[] = {
	[ARG_STR] = "a string",
	[ARG_BIN] = "bytes",
	[ARG_I64] = "an integer",
	[ARG_U64] = "a non-negative integer",
	[ARG_BOOL] = "a boolean",
};

/*
 * The field key if present and of type t (for ARG_I64/ARG_U64 its value is
 * stored in *num); else NULL, g marked bad if the field has another type
 * or is missing while need is set.
 */
static const msgpack_object *
arg_typed(struct args *g, const char *key, bool need, enum arg_type t,
    void *num)
{
	const msgpack_object *o = arg_get(g, key);
	bool ok;

	if (o == NULL) {
		if (need)
			args_bad(g, "field `%s` missing", key);
		return NULL;
	}
	switch (t) {
	case ARG_I64:
		ok = mp_obj_i64(o, num) == 0;
		break;
	case ARG_U64:
		ok = mp_obj_u64(o, num) == 0;
		break;
	case ARG_BOOL:
		ok = o->type == MSGPACK_OBJECT_BOOLEAN;
		break;
	default:
		ok = o->type == MSGPACK_OBJECT_STR ||
		    o->type == MSGPACK_OBJECT_BIN;
		break;
	}
	if (!ok) {
		args_bad(g, "field `%s` must be %s", key, arg_type_name[t]);
		return NULL;
	}
	return o;
}

/* The bytes of a str or bin object. */
static void
obj_bytes(const msgpack_object *o, const char **p, size_t *n)
{
	if (o->type == MSGPACK_OBJECT_BIN) {
		*p = o->via.bin.ptr;
		*n = o->via.bin.size;
	} else {
		*p = o->via.str.ptr;
		*n = o->via.str.size;
	}
}

char *
arg_str(struct args *g, const char *key, const char *def, bool need)
{
	const msgpack_object *o = arg_typed(g, key, need, ARG_STR, NULL);
	const char *p;
	size_t n;
	char *s;

	if (o == NULL || (s = args_strdup(g, o)) == NULL)
		return (char *)def;
	obj_bytes(o, &p, &n);
	if (strlen(s) != n) {
		args_bad(g, "field `%s` contains a NUL byte", key);
		return (char *)def;
	}
	return s;
}

int64_t
arg_i64(struct args *g, const char *key, int64_t def, bool need)
{
	int64_t v;

	return arg_typed(g, key, need, ARG_I64, &v) != NULL ? v : def;
}

uint64_t
arg_u64(struct args *g, const char *key, uint64_t def, bool need)
{
	uint64_t v;

	return arg_typed(g, key, need, ARG_U64, &v) != NULL ? v : def;
}

bool
arg_bool(struct args *g, const char *key, bool def)
{
	const msgpack_object *o = arg_typed(g, key, false, ARG_BOOL, NULL);

	return o != NULL ? o->via.boolean : def;
}

bool
arg_bin(struct args *g, const char *key, const char **p, size_t *n, bool need)
{
	const msgpack_object *o = arg_typed(g, key, need, ARG_BIN, NULL);

	*p = "";
	*n = 0;
	if (o == NULL)
		return false;
	obj_bytes(o, p, n);
	return true;
}

bool
args_reject(struct agent *a, struct req *r, struct args *g)
{
	if (!g->bad)
		return false;
	req_fail(a, r, "bad_request", "%s", g->msg);
	args_free(g);
	return true;
}
