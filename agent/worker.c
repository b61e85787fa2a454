/*
 * worker.c: workers are agent processes of their own (re-exec'd with
 * --worker-fd); the main agent speaks the same protocol to them and
 * forwards requests, replies and stream frames, mapping ids and handles.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "events/mp.h"
#include "events/proto.h"

enum xlate { X_NONE, X_PROC, X_FILE };

struct fwd {
	struct fwd *next;
	uint64_t wid;                   /* id on the worker connection */
	struct req *req;                /* NULL: reply is dropped */
	uint64_t host_id;               /* stream id seen by the host */
	bool stream;
	enum xlate xlate;
	struct handle *consume;         /* remote handle ended by an ok */
	bool close_worker;              /* worker_close: close after reply */
};

static struct worker *
find_worker(struct agent *a, struct req *r, const msgpack_object *d)
{
	uint64_t id = 0;
	struct handle *h;

	mp_get_u64(d, "worker", &id);
	h = handle_find(a, id);
	if (h == NULL || h->type != H_WORKER || h->worker->closing) {
		req_fail(a, r, "unknown_handle", "worker#%llu: no such handle",
		    (unsigned long long)id);
		return NULL;
	}
	return h->worker;
}

/* Queues {id: wid, kind, data} with data copied and `handle` replaced. */
static struct fwd *
send_to(struct worker *w, struct req *r, const char *kind,
    const msgpack_object *d, uint64_t handle)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct fwd *f = calloc(1, sizeof(*f));
	uint32_t i, n = 0;

	if (f == NULL)
		abort();
	f->wid = ++w->next_wid;
	f->req = r;
	f->host_id = r != NULL ? r->id : 0;
	f->next = w->fwds;
	w->fwds = f;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	mp_kv_u64(&pk, "id", f->wid);
	mp_kv_str(&pk, "kind", kind);
	mp_str(&pk, "data");
	if (d != NULL && d->type == MSGPACK_OBJECT_MAP)
		n = d->via.map.size;
	msgpack_pack_map(&pk, n);
	for (i = 0; i < n; i++) {
		const msgpack_object_kv *kv = &d->via.map.ptr[i];

		agent_pack_object(&pk, &kv->key);
		if (handle != 0 && mp_obj_is_str(&kv->key, "handle"))
			msgpack_pack_uint64(&pk, handle);
		else
			agent_pack_object(&pk, &kv->val);
	}
	if (outq_push_sbuf(&w->out, &sb) != 0)
		agent_log("out of memory queueing to a worker");
	msgpack_sbuffer_destroy(&sb);
	return f;
}

static void
drop_remote_handles(struct agent *a, struct worker *w)
{
	struct handle *h = a->handles, *next;

	for (; h != NULL; h = next) {
		next = h->next;
		if ((h->type == H_REMOTE || h->type == H_WORKER) &&
		    h->worker == w)
			handle_del(a, h);
	}
}

static void
worker_lost(struct agent *a, struct worker *w)
{
	struct fwd *f;

	if (w->fd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
	while ((f = w->fwds) != NULL) {
		w->fwds = f->next;
		if (f->req != NULL)
			req_err(a, f->req, EPIPE, "worker#%llu: worker process "
			    "exited", (unsigned long long)w->handle);
		else if (f->stream)
			agent_send_stream_end(a, f->host_id, EPIPE,
			    "worker process exited");
		free(f);
	}
	drop_remote_handles(a, w);
	w->dead = true;
	w->closing = true;
}

void
worker_op_spawn(struct agent *a, struct req *r, const msgpack_object *d)
{
	struct args g;
	int sv[2];
	pid_t pid;
	struct worker *w;
	struct handle *h;
	msgpack_packer *pk;
	msgpack_sbuffer sb;
	msgpack_packer hp;
	uint8_t *body = NULL;
	size_t len;
	int rc;

	args_init(&g, d, r->kind);
	if (arg_bool(&g, "thread", false))
		args_bad(&g, "threaded workers are not supported; use a "
		    "process worker");
	if (args_reject(a, r, &g))
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		req_oserr(a, r, errno, "socketpair");
		return;
	}
	pid = fork();
	if (pid < 0) {
		req_oserr(a, r, errno, "fork");
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (pid == 0) {
		char fdarg[16];
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fcntl(sv[1], F_SETFD, 0);
		snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
		execl(a->self_exe, "provium-agent", "--worker-fd", fdarg,
		    (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	/* The hello is synchronous: a worker is up in a few ms. */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&hp, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&hp, 3);
	mp_kv_u64(&hp, "id", 1);
	mp_kv_str(&hp, "kind", "hello");
	mp_str(&hp, "data");
	msgpack_pack_map(&hp, 1);
	mp_kv_u64(&hp, "protocol_version", PROTOCOL_VERSION);
	rc = frame_write(sv[0], sb.data, sb.size, FRAME_MAX_AGENT);
	msgpack_sbuffer_destroy(&sb);
	if (rc == FRAME_OK)
		rc = frame_read(sv[0], FRAME_MAX_AGENT, &body, &len);
	if (rc == FRAME_OK) {
		msgpack_unpacked u;
		const msgpack_object *m;

		msgpack_unpacked_init(&u);
		if (frame_decode(body, len, &u, &m) != FRAME_OK ||
		    !mp_obj_is_str(mp_get(m, "kind"), "hello_ok"))
			rc = FRAME_MALFORMED;
		msgpack_unpacked_destroy(&u);
	}
	free(body);
	if (rc != FRAME_OK) {
		req_err(a, r, ECHILD, "spawn_worker: worker did not answer "
		    "hello (%s)", frame_strerror(rc));
		close(sv[0]);
		kill(pid, SIGKILL);
		return;
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	w = calloc(1, sizeof(*w));
	w->pid = pid;
	w->fd = sv[0];
	w->rd.max = FRAME_MAX_AGENT;
	w->next = a->workers;
	a->workers = w;
	h = handle_new(a, H_WORKER);
	h->worker = w;
	w->handle = h->id;
	pk = req_ok_begin(a, r);
	msgpack_pack_map(pk, 2);
	mp_kv_u64(pk, "handle", h->id);
	mp_kv_i64(pk, "pid", pid);
	req_finish(a, r);
}

void
worker_op(struct agent *a, struct req *r, const msgpack_object *d)
{
	struct worker *w = find_worker(a, r, d);
	const char *op = r->kind + strlen("worker_");
	struct fwd *f;

	if (w == NULL)
		return;
	if (strcmp(op, "kill") == 0) {
		send_to(w, r, "kill_all", d, 0);
	} else if (strcmp(op, "join") == 0) {
		send_to(w, r, "join_all", d, 0);
	} else if (strcmp(op, "close") == 0) {
		msgpack_object_kv ka[1];
		msgpack_object m = { .type = MSGPACK_OBJECT_MAP };

		send_to(w, NULL, "kill_all", NULL, 0);
		ka[0].key.type = MSGPACK_OBJECT_STR;
		ka[0].key.via.str.ptr = "kill_after_ms";
		ka[0].key.via.str.size = 13;
		ka[0].val.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		ka[0].val.via.u64 = 2000;
		m.via.map.size = 1;
		m.via.map.ptr = ka;
		f = send_to(w, r, "join_all", &m, 0);
		f->close_worker = true;
		w->closing = true;
	} else {
		f = send_to(w, r, op, d, 0);
		if (strcmp(op, "run_async") == 0)
			f->xlate = X_PROC;
		else if (strcmp(op, "open_file") == 0)
			f->xlate = X_FILE;
	}
}

void
worker_forward_handle(struct agent *a, struct req *r,
    const msgpack_object *d, struct handle *h)
{
	struct fwd *f;

	if (h->worker->fd < 0 || h->worker->closing) {
		req_fail(a, r, "unknown_handle", "%s#%llu: no such handle",
		    handle_prefix(h->type, h->remote_proc),
		    (unsigned long long)h->id);
		return;
	}
	f = send_to(h->worker, r, r->kind, d, h->remote);
	if (strcmp(r->kind, "proc_stream") == 0 ||
	    strcmp(r->kind, "fd_stream") == 0)
		f->stream = true;
	if (strcmp(r->kind, "wait") == 0 || strcmp(r->kind, "close") == 0)
		f->consume = h;
}

bool
worker_forward_cancel(struct agent *a, struct req *r, uint64_t stream)
{
	struct worker *w;
	struct fwd *f;

	(void)a;
	for (w = a->workers; w != NULL; w = w->next) {
		for (f = w->fwds; f != NULL && w->fd >= 0; f = f->next) {
			msgpack_object_kv kv[1];
			msgpack_object m = { .type = MSGPACK_OBJECT_MAP };

			if (!f->stream || f->host_id != stream)
				continue;
			kv[0].key.type = MSGPACK_OBJECT_STR;
			kv[0].key.via.str.ptr = "stream";
			kv[0].key.via.str.size = 6;
			kv[0].val.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
			kv[0].val.via.u64 = f->wid;
			m.via.map.size = 1;
			m.via.map.ptr = kv;
			send_to(w, r, "cancel", &m, 0);
			return true;
		}
	}
	return false;
}

static void
fwd_unlink(struct worker *w, struct fwd *f)
{
	struct fwd **pp;

	for (pp = &w->fwds; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			free(f);
			return;
		}
	}
}

static void
pack_translated(struct agent *a, msgpack_packer *pk, struct worker *w,
    struct fwd *f, const msgpack_object *v)
{
	uint32_t i;

	if (f->xlate == X_NONE || v == NULL || v->type != MSGPACK_OBJECT_MAP) {
		if (v == NULL)
			msgpack_pack_nil(pk);
		else
			agent_pack_object(pk, v);
		return;
	}
	msgpack_pack_map(pk, v->via.map.size);
	for (i = 0; i < v->via.map.size; i++) {
		const msgpack_object_kv *kv = &v->via.map.ptr[i];
		uint64_t remote;

		agent_pack_object(pk, &kv->key);
		if (mp_obj_is_str(&kv->key, "handle") &&
		    mp_obj_u64(&kv->val, &remote) == 0) {
			struct handle *h = handle_new(a, H_REMOTE);

			h->worker = w;
			h->remote = remote;
			h->remote_proc = f->xlate == X_PROC;
			msgpack_pack_uint64(pk, h->id);
		} else {
			agent_pack_object(pk, &kv->val);
		}
	}
}

static char *
dup_str(const msgpack_object *o)
{
	return o == NULL ? NULL : mp_obj_strdup(o);
}

static void
from_worker(struct agent *a, struct worker *w, const msgpack_object *m)
{
	const msgpack_object *k = mp_get(m, "kind"), *d = mp_get(m, "data");
	uint64_t wid = 0;
	struct fwd *f;
	char *kind;

	if (mp_get_u64(m, "id", &wid) != 0 || k == NULL)
		return;
	for (f = w->fwds; f != NULL && f->wid != wid; f = f->next)
		;
	if (f == NULL)
		return;
	kind = mp_obj_strdup(k);
	if (kind == NULL)
		return;
	if (strcmp(kind, "stream_frame") == 0) {
		const char *p;
		size_t n;

		if (mp_get_bin(d, "data", &p, &n) == 0)
			agent_send_stream_frame(a, f->host_id, p, n);
	} else if (strcmp(kind, "stream_end") == 0) {
		const msgpack_object *v = mp_get(d, "value");
		int64_t e = 0;
		char *msg = dup_str(mp_get(v, "message"));

		mp_get_i64(v, "errno", &e);
		agent_send_stream_end(a, f->host_id,
		    mp_obj_is_str(mp_get(d, "outcome"), "ok") ? 0 : (int)e,
		    msg ? msg : "");
		free(msg);
		fwd_unlink(w, f);
	} else if (strcmp(kind, "agent_error") == 0) {
		char *ek = dup_str(mp_get(d, "kind"));
		char *msg = dup_str(mp_get(d, "message"));

		if (f->req != NULL)
			req_fail(a, f->req, ek ? ek : "bad_request", "%s",
			    msg ? msg : "");
		free(ek);
		free(msg);
		fwd_unlink(w, f);
	} else {
		bool ok = mp_obj_is_str(mp_get(d, "outcome"), "ok");
		const msgpack_object *v = mp_get(d, "value");
		bool close_it = f->close_worker;

		if (f->req != NULL && ok) {
			msgpack_packer *pk = req_ok_begin(a, f->req);

			pack_translated(a, pk, w, f, v);
			req_finish(a, f->req);
		} else if (f->req != NULL) {
			int64_t e = 0;
			char *msg = dup_str(mp_get(v, "message"));

			mp_get_i64(v, "errno", &e);
			req_err(a, f->req, (int)e, "%s", msg ? msg : "");
			free(msg);
		}
		f->req = NULL;
		if (ok && f->consume != NULL)
			handle_del(a, f->consume);
		if (!(ok && f->stream))
			fwd_unlink(w, f);
		if (close_it)
			worker_lost(a, w);      /* EOF makes the worker exit */
	}
	free(kind);
}

void
worker_io(struct agent *a, struct worker *w, short rev)
{
	int n;

	if (w->fd < 0)
		return;
	if ((rev & POLLOUT) && outq_flush(&w->out, w->fd) != 0) {
		worker_lost(a, w);
		return;
	}
	if (!(rev & (POLLIN | POLLHUP | POLLERR)))
		return;
	for (n = 0; n < 64 && w->fd >= 0; n++) {
		uint8_t *body;
		size_t len;
		msgpack_unpacked u;
		const msgpack_object *m;
		int rc = frame_reader_read(&w->rd, w->fd);

		if (rc == FRAME_AGAIN)
			return;
		if (rc != FRAME_OK) {
			worker_lost(a, w);
			return;
		}
		body = frame_reader_take(&w->rd, &len);
		msgpack_unpacked_init(&u);
		if (frame_decode(body, len, &u, &m) == FRAME_OK)
			from_worker(a, w, m);
		msgpack_unpacked_destroy(&u);
		free(body);
	}
}

void
worker_reaped(struct agent *a, pid_t pid)
{
	struct worker *w;

	for (w = a->workers; w != NULL; w = w->next) {
		if (w->pid == pid) {
			w->pid = 0;
			if (w->fd >= 0)
				worker_lost(a, w);
			return;
		}
	}
}

void
worker_free(struct agent *a, struct worker *w)
{
	struct fwd *f;

	(void)a;
	while ((f = w->fwds) != NULL) {
		w->fwds = f->next;
		free(f);
	}
	if (w->fd >= 0)
		close(w->fd);
	outq_clear(&w->out);
	frame_reader_clear(&w->rd);
	free(w);
}

void
worker_close_all(struct agent *a)
{
	struct worker *w;
	int64_t end = agent_now_ms() + 1000;

	for (w = a->workers; w != NULL; w = w->next) {
		if (w->fd >= 0) {
			close(w->fd);
			w->fd = -1;
		}
	}
	for (w = a->workers; w != NULL; w = w->next) {
		while (w->pid > 0) {
			if (waitpid(w->pid, NULL, WNOHANG) != 0) {
				w->pid = 0;
				break;
			}
			if (agent_now_ms() >= end) {
				kill(w->pid, SIGKILL);
				waitpid(w->pid, NULL, 0);
				w->pid = 0;
				break;
			}
			usleep(5000);
		}
	}
}
