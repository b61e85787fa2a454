/* proc.c: exec, run_async and the process handle ops. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "events/mp.h"

extern char **environ;

static const char *const chan_name[2] = { "stdout", "stderr" };

/* What the child reports through the CLOEXEC pipe when it cannot exec. */
struct child_err {
	int stage;              /* 1 chdir, 2 exec */
	int err;
};

static char **
build_env(struct args *g, bool clear)
{
	const msgpack_object *env = arg_get(g, "env");
	size_t n = 0, cap, i, j;
	char **out;

	if (env != NULL && env->type != MSGPACK_OBJECT_MAP) {
		args_bad(g, "field `env` must be a map of strings");
		return NULL;
	}
	if (!clear)
		while (environ[n] != NULL)
			n++;
	cap = n + (env ? env->via.map.size : 0) + 1;
	out = calloc(cap, sizeof(*out));
	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		out[i] = strdup(environ[i]);
	for (j = 0; env != NULL && j < env->via.map.size; j++) {
		const msgpack_object *k = &env->via.map.ptr[j].key;
		const msgpack_object *v = &env->via.map.ptr[j].val;
		char *ks = mp_obj_strdup(k), *vs = mp_obj_strdup(v), *kv;
		size_t kl, m;

		if (ks == NULL || vs == NULL || ks[0] == '\0' ||
		    strchr(ks, '=') != NULL) {
			args_bad(g, "field `env` must map names to strings");
			free(ks);
			free(vs);
			break;
		}
		kl = strlen(ks);
		for (m = 0; m < n; m++) {
			if (out[m] != NULL && strncmp(out[m], ks, kl) == 0 &&
			    out[m][kl] == '=') {
				free(out[m]);
				out[m] = out[--n];
				out[n] = NULL;
				break;
			}
		}
		kv = malloc(kl + strlen(vs) + 2);
		if (kv != NULL)
			sprintf(kv, "%s=%s", ks, vs);
		out[n++] = kv;
		free(ks);
		free(vs);
	}
	out[n] = NULL;
	return out;
}

static void
free_vec(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Forks and execs; on failure returns -1 with *ce filled. */
static int
spawn(struct agent *a, struct proc *p, char **argv, char **envp,
    const char *cwd, bool stdin_pipe, struct child_err *ce)
{
	int op[2][2] = { { -1, -1 }, { -1, -1 } }, ip[2] = { -1, -1 };
	int ep[2] = { -1, -1 }, c;
	ssize_t n;
	pid_t pid;

	if (pipe2(op[0], O_CLOEXEC) || pipe2(op[1], O_CLOEXEC) ||
	    pipe2(ep, O_CLOEXEC) || (stdin_pipe && pipe2(ip, O_CLOEXEC))) {
		ce->stage = 2;
		ce->err = errno;
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		ce->stage = 2;
		ce->err = errno;
		goto fail;
	}
	if (pid == 0) {
		sigset_t all;
		struct child_err e;
		int in;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
		if (a->mode != AGENT_GUEST)
			prctl(PR_SET_PDEATHSIG, SIGKILL);
		in = stdin_pipe ? ip[0] : open("/dev/null", O_RDONLY);
		dup2(in, 0);
		dup2(op[0][1], 1);
		dup2(op[1][1], 2);
		if (cwd != NULL && chdir(cwd) != 0) {
			e.stage = 1;
			e.err = errno;
			goto die;
		}
		environ = envp;
		execvp(argv[0], argv);
		e.stage = 2;
		e.err = errno;
die:
		if (write(ep[1], &e, sizeof(e)) < 0)
			_exit(126);
		_exit(127);
	}
	setpgid(pid, pid);
	close(ep[1]);
	ep[1] = -1;
	for (c = 0; c < 2; c++)
		close_fd(&op[c][1]);
	close_fd(&ip[0]);
	do
		n = read(ep[0], ce, sizeof(*ce));
	while (n < 0 && errno == EINTR);
	close_fd(&ep[0]);
	if (n == (ssize_t)sizeof(*ce)) {
		waitpid(pid, NULL, 0);
		goto fail;
	}
	p->pid = pid;
	for (c = 0; c < 2; c++) {
		p->out[c] = op[c][0];
		fcntl(p->out[c], F_SETFL, O_NONBLOCK);
	}
	p->in = ip[1];
	if (p->in >= 0)
		fcntl(p->in, F_SETFL, O_NONBLOCK);
	return 0;
fail:
	for (c = 0; c < 2; c++) {
		close_fd(&op[c][0]);
		close_fd(&op[c][1]);
	}
	close_fd(&ip[0]);
	close_fd(&ip[1]);
	close_fd(&ep[0]);
	close_fd(&ep[1]);
	return -1;
}

void
proc_op_exec(struct agent *a, struct req *r, const msgpack_object *d,
    bool async)
{
	struct args g;
	const msgpack_object *args;
	char *cmd, *cwd, **argv = NULL, **envp = NULL;
	const char *in;
	size_t inlen, i, na = 0;
	bool shell, has_in;
	uint64_t timeout, maxout;
	struct child_err ce;
	struct proc *p;
	struct handle *h = NULL;

	args_init(&g, d, r->kind);
	cmd = arg_str(&g, "cmd", NULL, true);
	cwd = arg_str(&g, "cwd", NULL, false);
	shell = arg_bool(&g, "shell", false);
	has_in = arg_bin(&g, "stdin", &in, &inlen, false);
	timeout = arg_u64(&g, "timeout_ms", 0, false);
	if (async && arg_get(&g, "timeout_ms") != NULL)
		args_bad(&g, "timeout_ms is not supported; pass it to wait");
	maxout = arg_u64(&g, "max_output", AGENT_OUTPUT_DEF, false);
	if (maxout > AGENT_OUTPUT_MAX)
		args_bad(&g, "max_output %llu exceeds the %u-byte limit",
		    (unsigned long long)maxout, AGENT_OUTPUT_MAX);
	args = arg_get(&g, "args");
	if (args != NULL && args->type != MSGPACK_OBJECT_ARRAY)
		args_bad(&g, "field `args` must be an array of strings");
	else if (args != NULL)
		na = args->via.array.size;
	if (shell && na > 0)
		args_bad(&g, "`args` must be empty when `shell` is true");
	if (!g.bad)
		envp = build_env(&g, arg_bool(&g, "env_clear", false));
	if (!g.bad) {
		argv = calloc(na + 4, sizeof(*argv));
		if (shell) {
			argv[0] = strdup("/bin/sh");
			argv[1] = strdup("-c");
			argv[2] = strdup(cmd);
		} else {
			argv[0] = strdup(cmd);
			for (i = 0; i < na; i++) {
				argv[i + 1] = mp_obj_strdup(&args->via.array.ptr[i]);
				if (argv[i + 1] == NULL) {
					args_bad(&g, "field `args` must be an "
					    "array of strings");
					break;
				}
			}
		}
	}
	if (args_reject(a, r, &g)) {
		free_vec(argv);
		free_vec(envp);
		return;
	}
	p = calloc(1, sizeof(*p));
	p->out[0] = p->out[1] = p->in = -1;
	p->cap[0].max = p->cap[1].max = maxout;
	p->cmd = strdup(cmd);
	if (spawn(a, p, argv, envp, cwd, async || has_in, &ce) != 0) {
		if (ce.stage == 1)
			req_err(a, r, ce.err, "chdir `%s`: %s", cwd,
			    strerror(ce.err));
		else
			req_err(a, r, ce.err, "exec `%s`: %s", cmd,
			    strerror(ce.err));
		free(p->cmd);
		free(p);
		goto out;
	}
	if (has_in && inlen > 0) {
		p->inbuf = malloc(inlen);
		memcpy(p->inbuf, in, inlen);
		p->inlen = inlen;
	}
	if (!async) {
		p->in_close_after = true;
		if (p->inlen == 0)
			close_fd(&p->in);
	}
	p->next = a->procs;
	a->procs = p;
	if (async) {
		msgpack_packer *pk;

		h = handle_new(a, H_PROC);
		h->proc = p;
		p->handle = h->id;
		pk = req_ok_begin(a, r);
		msgpack_pack_map(pk, 2);
		mp_kv_u64(pk, "handle", h->id);
		mp_kv_i64(pk, "pid", p->pid);
		req_finish(a, r);
	} else {
		p->wait_req = r;
		if (timeout > 0)
			p->deadline_ms = agent_now_ms() + (int64_t)timeout;
	}
out:
	free_vec(argv);
	free_vec(envp);
	args_free(&g);
}

static void
pack_output(msgpack_packer *pk, const char *key, struct cap *c)
{
	char marker[96];
	int m = 0;

	if (c->dropped > 0)
		m = snprintf(marker, sizeof(marker),
		    "\n[provium-agent: output truncated, %llu bytes dropped]\n",
		    (unsigned long long)c->dropped);
	mp_str(pk, key);
	msgpack_pack_bin(pk, c->len + (size_t)m);
	msgpack_pack_bin_body(pk, c->buf, c->len);
	msgpack_pack_bin_body(pk, marker, (size_t)m);
}

static void
reply_result(struct agent *a, struct proc *p, struct req *r)
{
	msgpack_packer *pk = req_ok_begin(a, r);
	int st = p->wstatus;

	msgpack_pack_map(pk, 7);
	if (p->timed_out) {
		mp_kv_str(pk, "status", "timed_out");
		mp_kv_i64(pk, "code", -2);
		mp_kv_i64(pk, "signal", SIGKILL);
	} else if (WIFEXITED(st)) {
		mp_kv_str(pk, "status", "exited");
		mp_kv_i64(pk, "code", WEXITSTATUS(st));
		mp_kv_nil(pk, "signal");
	} else {
		mp_kv_str(pk, "status", "signalled");
		mp_kv_i64(pk, "code", -1);
		mp_kv_i64(pk, "signal", WTERMSIG(st));
	}
	pack_output(pk, "stdout", &p->cap[0]);
	pack_output(pk, "stderr", &p->cap[1]);
	mp_kv_bool(pk, "stdout_truncated", p->cap[0].dropped > 0);
	mp_kv_bool(pk, "stderr_truncated", p->cap[1].dropped > 0);
	req_finish(a, r);
}

static void
end_chan(struct agent *a, struct proc *p, int c)
{
	close_fd(&p->out[c]);
	if (p->stream[c] != NULL)
		stream_end(a, p->stream[c], 0, NULL);   /* unlinks both ways */
}

/* Reads once from a pipe; returns bytes read, 0 at EOF, -1 nothing now. */
static ssize_t
read_chan(struct agent *a, struct proc *p, int c)
{
	uint8_t buf[AGENT_CHUNK];
	ssize_t n = read(p->out[c], buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	if (n <= 0) {
		end_chan(a, p, c);
		return 0;
	}
	cap_add(&p->cap[c], buf, (size_t)n);
	if (p->stream[c] != NULL)
		agent_send_stream_frame(a, p->stream[c]->id, buf, (size_t)n);
	return n;
}

static void
check_done(struct agent *a, struct proc *p, int64_t now)
{
	struct handle *h;
	int c;

	if (!p->reaped || p->dead)
		return;
	if (!p->finished) {
		if ((p->out[0] >= 0 || p->out[1] >= 0) &&
		    now < p->reaped_ms + AGENT_PIPE_GRACE_MS)
			return;
		for (c = 0; c < 2; c++) {
			int k = 0;

			while (p->out[c] >= 0 && k++ < 64 &&
			    read_chan(a, p, c) > 0)
				;
			end_chan(a, p, c);
		}
		p->finished = true;
	}
	if (p->wait_req == NULL)
		return;
	reply_result(a, p, p->wait_req);
	p->wait_req = NULL;
	if (p->handle != 0 && (h = handle_find(a, p->handle)) != NULL)
		handle_del(a, h);
	p->dead = true;
}

static int
worst_of(int st, bool timed_out)
{
	if (timed_out)
		return 128 + SIGKILL;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool
any_running(struct agent *a)
{
	struct proc *p;

	for (p = a->procs; p != NULL; p = p->next)
		if (!p->reaped)
			return true;
	return false;
}

static void
finish_joins(struct agent *a)
{
	int i;

	if (a->njoin == 0 || any_running(a))
		return;
	for (i = 0; i < a->njoin; i++) {
		msgpack_packer *pk = req_ok_begin(a, a->join_reqs[i]);

		msgpack_pack_map(pk, 1);
		mp_kv_i64(pk, "code", a->worst_code);
		req_finish(a, a->join_reqs[i]);
	}
	a->njoin = 0;
	a->join_kill_ms = 0;
}

void
proc_reaped(struct agent *a, pid_t pid, int status)
{
	struct proc *p;
	int w;

	for (p = a->procs; p != NULL; p = p->next) {
		if (p->pid != pid || p->reaped)
			continue;
		p->reaped = true;
		p->wstatus = status;
		p->reaped_ms = agent_now_ms();
		w = worst_of(status, p->timed_out);
		if (w > a->worst_code)
			a->worst_code = w;
		check_done(a, p, p->reaped_ms);
		finish_joins(a);
		return;
	}
}

static void
stdin_done(struct agent *a, struct proc *p, int err)
{
	struct req *r = p->in_req;

	p->in_req = NULL;
	if (r != NULL) {
		if (err != 0) {
			req_err(a, r, err, "proc_stdin_write proc#%llu: %s",
			    (unsigned long long)p->handle, strerror(err));
		} else {
			msgpack_packer *pk = req_ok_begin(a, r);

			msgpack_pack_map(pk, 1);
			mp_kv_u64(pk, "written", p->inlen);
			req_finish(a, r);
		}
	}
	free(p->inbuf);
	p->inbuf = NULL;
	p->inlen = p->inoff = 0;
	if (err != 0 || p->in_close_after)
		close_fd(&p->in);
}

void
proc_io(struct agent *a, struct proc *p, int which, short rev)
{
	if (p->dead)
		return;
	if (which < 2) {
		if (p->out[which] >= 0)
			read_chan(a, p, which);
	} else if (p->in >= 0 && p->inoff < p->inlen) {
		ssize_t n = write(p->in, p->inbuf + p->inoff,
		    p->inlen - p->inoff);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			stdin_done(a, p, errno);
		else if (n > 0 && (p->inoff += (size_t)n) == p->inlen)
			stdin_done(a, p, 0);
		else if (n < 0 && (rev & POLLERR))
			stdin_done(a, p, EPIPE);
	}
	if (p->reaped)
		check_done(a, p, agent_now_ms());
}

void
proc_tick(struct agent *a, int64_t now)
{
	struct proc *p;

	for (p = a->procs; p != NULL; p = p->next) {
		if (p->dead)
			continue;
		if (p->deadline_ms != 0 && now >= p->deadline_ms) {
			p->deadline_ms = 0;
			if (!p->reaped) {
				p->timed_out = true;
				kill(-p->pid, SIGKILL);
			}
		}
		if (p->reaped)
			check_done(a, p, now);
	}
	if (a->join_kill_ms != 0 && now >= a->join_kill_ms) {
		a->join_kill_ms = 0;
		for (p = a->procs; p != NULL; p = p->next)
			if (!p->reaped)
				kill(-p->pid, SIGKILL);
	}
}

int64_t
proc_next_deadline(struct agent *a)
{
	struct proc *p;
	int64_t next = a->join_kill_ms;

	for (p = a->procs; p != NULL; p = p->next) {
		int64_t t = 0;

		if (p->dead)
			continue;
		if (p->deadline_ms != 0 && !p->reaped)
			t = p->deadline_ms;
		else if (p->reaped && !p->finished)
			t = p->reaped_ms + AGENT_PIPE_GRACE_MS;
		if (t != 0 && (next == 0 || t < next))
			next = t;
	}
	return next;
}

void
proc_free(struct agent *a, struct proc *p)
{
	int c;

	(void)a;
	for (c = 0; c < 2; c++) {
		close_fd(&p->out[c]);
		if (p->stream[c] != NULL) {
			p->stream[c]->proc = NULL;
			p->stream[c]->dead = true;
		}
		cap_free(&p->cap[c]);
	}
	close_fd(&p->in);
	free(p->inbuf);
	free(p->cmd);
	req_drop(p->wait_req);
	req_drop(p->in_req);
	free(p);
}

void
proc_kill_all_now(struct agent *a)
{
	struct proc *p;

	for (p = a->procs; p != NULL; p = p->next)
		if (!p->reaped)
			kill(-p->pid, SIGKILL);
}

/* Looks up a live H_PROC handle or answers unknown_handle. */
static struct proc *
find_proc(struct agent *a, struct req *r, const msgpack_object *d)
{
	uint64_t id = 0;
	struct handle *h;

	mp_get_u64(d, "handle", &id);
	h = handle_find(a, id);
	if (h == NULL || h->type != H_PROC) {
		req_fail(a, r, "unknown_handle", "proc#%llu: no such handle",
		    (unsigned long long)id);
		return NULL;
	}
	return h->proc;
}

void
proc_op_wait(struct agent *a, struct req *r, const msgpack_object *d)
{
	struct args g;
	uint64_t t;
	struct proc *p;

	args_init(&g, d, r->kind);
	t = arg_u64(&g, "timeout_ms", 0, false);
	if (args_reject(a, r, &g))
		return;
	if ((p = find_proc(a, r, d)) == NULL)
		return;
	if (p->wait_req != NULL) {
		req_fail(a, r, "busy", "proc#%llu: a wait is already pending",
		    (unsigned long long)p->handle);
		return;
	}
	p->wait_req = r;
	if (t > 0 && !p->reaped)
		p->deadline_ms = agent_now_ms() + (int64_t)t;
	check_done(a, p, agent_now_ms());
}

void
proc_op_simple(struct agent *a, struct req *r, const msgpack_object *d)
{
	struct args g;
	struct proc *p;
	msgpack_packer *pk;

	if ((p = find_proc(a, r, d)) == NULL)
		return;
	args_init(&g, d, r->kind);
	if (strcmp(r->kind, "kill") == 0 || strcmp(r->kind, "signal") == 0) {
		int64_t sig = arg_i64(&g, "signal", SIGTERM, false);

		if (args_reject(a, r, &g))
			return;
		if (sig < 0 || sig > 64) {
			req_err(a, r, EINVAL, "%s proc#%llu: invalid signal %lld",
			    r->kind, (unsigned long long)p->handle,
			    (long long)sig);
			return;
		}
		if (!p->reaped)
			kill(-p->pid, (int)sig);
		req_ok_nil(a, r);
	} else if (strcmp(r->kind, "get_pid") == 0) {
		pk = req_ok_begin(a, r);
		msgpack_pack_map(pk, 1);
		mp_kv_i64(pk, "pid", p->pid);
		req_finish(a, r);
	} else if (strcmp(r->kind, "proc_status") == 0) {
		pk = req_ok_begin(a, r);
		msgpack_pack_map(pk, 1);
		mp_kv_str(pk, "status", p->reaped ? "exited" : "running");
		req_finish(a, r);
	} else if (strcmp(r->kind, "proc_stdin_write") == 0) {
		const char *data;
		size_t n;

		arg_bin(&g, "data", &data, &n, true);
		if (args_reject(a, r, &g))
			return;
		if (p->in < 0) {
			req_err(a, r, EBADF, "proc_stdin_write proc#%llu: "
			    "stdin is closed", (unsigned long long)p->handle);
			return;
		}
		if (p->in_req != NULL || p->inoff < p->inlen) {
			req_fail(a, r, "busy", "proc#%llu: a stdin write is "
			    "already pending", (unsigned long long)p->handle);
			return;
		}
		free(p->inbuf);
		p->inbuf = malloc(n ? n : 1);
		memcpy(p->inbuf, data, n);
		p->inlen = n;
		p->inoff = 0;
		p->in_req = r;
		if (n == 0)
			stdin_done(a, p, 0);
	} else {                /* proc_stdin_close */
		if (p->inoff < p->inlen)
			p->in_close_after = true;
		else
			close_fd(&p->in);
		req_ok_nil(a, r);
	}
	args_free(&g);
}

void
proc_op_stream(struct agent *a, struct req *r, const msgpack_object *d)
{
	struct args g;
	const char *ch;
	struct proc *p;
	struct stream *s;
	int c;
	size_t off;

	args_init(&g, d, r->kind);
	ch = arg_str(&g, "channel", NULL, true);
	c = ch == NULL ? -1 : strcmp(ch, "stdout") == 0 ? 0 :
	    strcmp(ch, "stderr") == 0 ? 1 : -1;
	if (!g.bad && c < 0)
		args_bad(&g, "channel must be stdout or stderr");
	if (args_reject(a, r, &g))
		return;
	args_free(&g);
	if ((p = find_proc(a, r, d)) == NULL)
		return;
	if (p->stream[c] != NULL) {
		req_fail(a, r, "bad_request", "proc#%llu: a %s stream is "
		    "already open", (unsigned long long)p->handle,
		    chan_name[c]);
		return;
	}
	s = stream_new(a, r->id, S_PROC);
	s->proc = p;
	s->chan = c;
	req_ok_nil(a, r);
	for (off = 0; off < p->cap[c].len; off += AGENT_CHUNK) {
		size_t n = p->cap[c].len - off;

		agent_send_stream_frame(a, s->id, p->cap[c].buf + off,
		    n > AGENT_CHUNK ? AGENT_CHUNK : n);
	}
	if (p->out[c] < 0) {
		stream_end(a, s, 0, NULL);
		return;
	}
	p->stream[c] = s;
}

void
proc_op_kill_all(struct agent *a, struct req *r, const msgpack_object *d)
{
	struct args g;
	struct proc *p;
	int64_t sig;
	unsigned n = 0;
	msgpack_packer *pk;

	args_init(&g, d, r->kind);
	sig = arg_i64(&g, "signal", SIGTERM, false);
	if (!g.bad && (sig < 0 || sig > 64))
		args_bad(&g, "invalid signal %lld", (long long)sig);
	if (args_reject(a, r, &g))
		return;
	for (p = a->procs; p != NULL; p = p->next) {
		if (!p->reaped && kill(-p->pid, (int)sig) == 0)
			n++;
	}
	pk = req_ok_begin(a, r);
	msgpack_pack_map(pk, 1);
	mp_kv_u64(pk, "signalled", n);
	req_finish(a, r);
}

void
proc_op_join_all(struct agent *a, struct req *r, const msgpack_object *d)
{
	struct args g;
	uint64_t kill_after;

	args_init(&g, d, r->kind);
	kill_after = arg_u64(&g, "kill_after_ms", 0, false);
	if (args_reject(a, r, &g))
		return;
	if (a->njoin == (int)(sizeof(a->join_reqs) / sizeof(a->join_reqs[0]))) {
		req_fail(a, r, "busy", "too many pending joins");
		return;
	}
	a->join_reqs[a->njoin++] = r;
	if (kill_after > 0)
		a->join_kill_ms = agent_now_ms() + (int64_t)kill_after;
	finish_joins(a);
}
