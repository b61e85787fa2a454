/*
 * fuzz_agent.c: libFuzzer target for provium-agent's request decoding:
 * the envelope checks, hello, dispatch, batches (including items that
 * finish later, as a real exec does) and the arg_* field decoders, i.e.
 * agent/req.c and agent/util.c compiled in as they are (the agent itself
 * is a musl binary outside libprovium, hence the #include of its .c files).
 *
 * The operation handlers (exec, files, syscalls, workers) have real side
 * effects, so they are replaced by stubs that decode their documented
 * fields with the same arg_* helpers and then answer ok or bad_request.
 * Oracle: every frame the agent queues is a valid frame holding one map
 * with an integer `id` and a string `kind`, and nothing leaks.
 *
 * Input: byte 0 bit 0 = session already past hello; the rest is the
 * frame stream from the host.  Byte 0 also sizes a capped capture that
 * the whole input is fed through (cap_add, the exec output cap).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/req.c"
#include "agent/util.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Requests a stub left open, finished after the frame (async ops). */
static struct req *pending[64];
static int npending;

static void
stub(struct agent *a, struct req *r, const msgpack_object *d)
{
	static const char *const strs[] = { "cmd", "cwd", "path", "to",
	    "mode", "whence", "channel" };
	static const char *const u64s[] = { "timeout_ms", "max_output",
	    "max_bytes", "kill_after_ms", "stream", "create_perm" };
	static const char *const i64s[] = { "signal", "offset", "nr",
	    "delta_ns", "realtime_ns" };
	static const char *const bools[] = { "shell", "env_clear", "parents",
	    "follow_symlinks", "thread", "read", "write", "create" };
	static const char *const bins[] = { "stdin", "data", "seed" };
	struct args g;
	const char *p;
	size_t n, i;

	args_init(&g, d, r->kind);
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		(void)arg_str(&g, strs[i], NULL, false);
	for (i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++)
		(void)arg_u64(&g, u64s[i], 0, false);
	for (i = 0; i < sizeof(i64s) / sizeof(i64s[0]); i++)
		(void)arg_i64(&g, i64s[i], 0, false);
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		(void)arg_bool(&g, bools[i], false);
	for (i = 0; i < sizeof(bins) / sizeof(bins[0]); i++)
		(void)arg_bin(&g, bins[i], &p, &n, false);
	if (args_reject(a, r, &g))
		return;
	args_free(&g);
	if (strcmp(r->kind, "wait") == 0 && npending < 64) {
		pending[npending++] = r;        /* answered after the frame */
		return;
	}
	agent_pack_object(req_ok_begin(a, r), d);
	req_finish(a, r);
}

void proc_op_exec(struct agent *a, struct req *r, const msgpack_object *d,
    bool async) { (void)async; stub(a, r, d); }
void proc_op_wait(struct agent *a, struct req *r, const msgpack_object *d) { stub(a, r, d); }
void proc_op_simple(struct agent *a, struct req *r, const msgpack_object *d) { stub(a, r, d); }
void proc_op_stream(struct agent *a, struct req *r, const msgpack_object *d) { stub(a, r, d); }
void proc_op_kill_all(struct agent *a, struct req *r, const msgpack_object *d) { stub(a, r, d); }
void proc_op_join_all(struct agent *a, struct req *r, const msgpack_object *d) { stub(a, r, d); }
void file_op(struct agent *a, struct req *r, const msgpack_object *d) { stub(a, r, d); }
void sys_op(struct agent *a, struct req *r, const msgpack_object *d) { stub(a, r, d); }
void stream_op_cancel(struct agent *a, struct req *r, const msgpack_object *d) { stub(a, r, d); }
void worker_op_spawn(struct agent *a, struct req *r, const msgpack_object *d) { stub(a, r, d); }
void worker_op(struct agent *a, struct req *r, const msgpack_object *d) { stub(a, r, d); }
void
worker_forward_handle(struct agent *a, struct req *r, const msgpack_object *d,
    struct handle *h)
{
	(void)h;
	stub(a, r, d);
}

/* Every queued reply is one decodable map with `id` and string `kind`. */
static void
check_out(struct outq *q)
{
	for (struct outchunk *c = q->head; c != NULL; c = c->next) {
		msgpack_unpacked u;
		const msgpack_object *m;
		uint64_t id;
		uint32_t len = (uint32_t)c->hdr[0] << 24 |
		    (uint32_t)c->hdr[1] << 16 | (uint32_t)c->hdr[2] << 8 |
		    c->hdr[3];

		if (len != c->len - 4)
			abort();
		msgpack_unpacked_init(&u);
		if (frame_decode(c->body, len, &u, &m) != FRAME_OK ||
		    mp_get_u64(m, "id", &id) != 0 ||
		    mp_get(m, "kind") == NULL ||
		    mp_get(m, "kind")->type != MSGPACK_OBJECT_STR)
			abort();
		msgpack_unpacked_destroy(&u);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent a;
	struct frame_reader rd = FRAME_READER_INIT(1u << 20);
	struct cap cp = { .max = 0 };
	struct handle *h;
	uint8_t *body;
	size_t used, len;

	if (size == 0)
		return 0;
	memset(&a, 0, sizeof(a));
	a.mode = AGENT_FD;
	a.fd = -1;
	a.hello_done = data[0] & 1;
	/* Handles 1 (file) and 2 (in a worker) exist. */
	(void)handle_new(&a, H_FILE);
	h = handle_new(&a, H_REMOTE);
	h->remote = 7;

	cp.max = data[0] * 16u;
	cap_add(&cp, data, size);
	cap_add(&cp, data, size);
	if (cp.len > cp.max || cp.len + cp.dropped != 2 * size ||
	    (cp.len > 0 && memcmp(cp.buf, data, cp.len < size ? cp.len : size)))
		abort();
	cap_free(&cp);

	data++;
	size--;
	while (size > 0 && !a.quit) {
		int rc = frame_reader_feed(&rd, data, size, &used);

		data += used;
		size -= used;
		if (rc != FRAME_OK)
			break;
		body = frame_reader_take(&rd, &len);       /* sets len first */
		agent_handle_frame(&a, body, len);
		while (npending > 0)
			req_ok_nil(&a, pending[--npending]);
	}
	frame_reader_clear(&rd);
	check_out(&a.out);
	outq_clear(&a.out);
	while (a.handles != NULL)
		handle_del(&a, a.handles);
	return 0;
}
