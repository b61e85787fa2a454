/*
 * agent_client.h: the runner's side of the agent wire protocol
 * (docs/agent-protocol.md), prefix ac_.
 *
 * One client per VM connection.  Single-threaded: every wait reads the
 * connection and files whatever arrives under its request id, so many
 * requests can be in flight and replies may come in any order.  Stream
 * frames go to the subscription's pending buffer until the caller takes
 * them.  The client borrows the fd (the vmm owns and closes it) and
 * switches it to non-blocking mode.
 *
 * Errors: functions return an enum ac_status (0 = AC_OK) and, when
 * non-zero, set *err to a malloc'd message the caller frees.  Once the
 * connection is lost (EOF, I/O error, framing error) every later call fails
 * at once with AC_DEAD and the same reason.
 */
#ifndef PROVIUM_AGENT_CLIENT_H
#define PROVIUM_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

enum ac_status {
	AC_OK = 0,
	AC_OS_ERROR,     /* outcome "err": the op failed; errno + message */
	AC_AGENT_ERROR,  /* agent_error envelope (bad_request, unknown_handle…) */
	AC_TIMEOUT,      /* deadline passed; the request stays in flight */
	AC_DEAD,         /* connection lost; nothing more will work */
	AC_PROTOCOL,     /* the agent sent something we did not expect */
	AC_VERSION,      /* hello_err: PROTOCOL_VERSION mismatch */
	AC_NOMEM,
};

struct ac;

/* Deadlines are absolute CLOCK_MONOTONIC milliseconds; -1 = none. */
int64_t ac_now_ms(void);

struct ac *ac_new(int fd);
void ac_free(struct ac *c);

/*
 * hello / hello_ok.  Fills the agent's os/version/kernel on success.
 * check (optional) is called about every 100 ms while waiting; returning
 * non-zero (with a malloc'd *why, or NULL) ends the wait with AC_DEAD and
 * that message: a backend uses it to fail fast when the VM itself died.
 */
typedef int (*ac_check_fn)(void *arg, char **why);
int ac_hello(struct ac *c, int64_t deadline_ms, ac_check_fn check, void *arg,
    char **err);
const char *ac_agent_version(const struct ac *c);
const char *ac_agent_kernel(const struct ac *c);
const char *ac_agent_os(const struct ac *c);

/* Non-NULL once the connection is lost: why. */
const char *ac_dead_reason(const struct ac *c);
/* Marks the connection lost (e.g. the backing process was seen to exit). */
void ac_kill(struct ac *c, const char *why);

/*
 * Building a request: ac_req_begin packs {id, kind, data: …}; the caller
 * then packs exactly one value (the data map, usually) with req.pk, and
 * ac_req_send writes the frame.  ac_req_done frees the buffer (always call
 * it, after send or instead of it).
 */
struct ac_req {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint64_t id;
	char kind[48];
};
void ac_req_begin(struct ac *c, struct ac_req *r, const char *kind);
int ac_req_send(struct ac *c, struct ac_req *r, char **err);
void ac_req_done(struct ac_req *r);
/* Makes room for n more bytes up front (big payloads: no regrowth). */
void ac_req_reserve(struct ac_req *r, size_t n);

/*
 * A reply.  value points into the reply's own zone; valid until
 * ac_reply_free.  For AC_OS_ERROR: os_errno and message are set; for
 * AC_AGENT_ERROR: agent_kind and message.
 */
struct ac_reply {
	uint8_t *body;
	msgpack_unpacked u;
	int unpacked;
	const msgpack_object *value;   /* data.value on ok (may be nil) */
	int os_errno;
	char *message;
	char agent_kind[32];
};
void ac_reply_free(struct ac_reply *r);

/*
 * Waits for the reply to request id.  Returns AC_OK (reply->value set),
 * AC_OS_ERROR / AC_AGENT_ERROR (reply filled, *err = message), AC_TIMEOUT,
 * AC_DEAD, AC_PROTOCOL (reply kind is not `<kind>_result`).
 */
int ac_wait(struct ac *c, uint64_t id, const char *kind, int64_t deadline_ms,
    struct ac_reply *reply, char **err);
/* Send + wait. */
int ac_call(struct ac *c, struct ac_req *r, int64_t deadline_ms,
    struct ac_reply *reply, char **err);
/* The caller gave up on id: a late reply is dropped when it comes. */
void ac_abandon(struct ac *c, uint64_t id);

/*
 * Streams.  After a stream op's ack (ac_call returned AC_OK), call
 * ac_stream_add(id) so its frames are kept (frames that arrive before
 * that are kept too: any stream_frame for an unknown in-flight id is).
 * ac_stream_read returns up to max buffered bytes in *out (malloc'd,
 * *len may be 0 with *eof set), waiting until the deadline if none.
 * Returns AC_OK, AC_TIMEOUT (nothing yet), AC_DEAD, or AC_OS_ERROR if the
 * stream ended with an error and no bytes remain ("stream source …").
 */
int ac_stream_add(struct ac *c, uint64_t id);
int ac_stream_read(struct ac *c, uint64_t id, size_t max, int64_t deadline_ms,
    char **out, size_t *len, bool *eof, char **err);
/* Bytes buffered and not yet read; whether the end has been seen. */
size_t ac_stream_pending(struct ac *c, uint64_t id, bool *ended);
/* Sends cancel (if not ended), waits for its answer, forgets the stream. */
int ac_stream_cancel(struct ac *c, uint64_t id, int64_t deadline_ms,
    char **err);

/* Processes whatever is readable now without blocking (keeps streams
 * moving while the caller is busy elsewhere). */
void ac_pump(struct ac *c);

/* Helpers for building data maps and reading values. */
int ac_pack_strs(msgpack_packer *pk, const char *key, const char *const *v,
    size_t n);
const char *ac_status_name(int st);

#endif
