/* loop.c: the one poll loop: connection, signals, pipes, streams, workers. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "events/proto.h"

enum tag { T_SIG, T_CONN, T_OUT0, T_OUT1, T_IN, T_STREAM, T_WORKER };

#define MAXPOLL 4096

static void
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void
agent_reset_session(struct agent *a)
{
	struct stream *s;

	for (s = a->streams; s != NULL; s = s->next)
		s->dead = true;
	outq_clear(&a->out);
	frame_reader_clear(&a->rd);
	a->rd.hdr_got = 0;
	a->rd.have_frame = 0;
	a->hello_done = false;
	a->desync = false;
}

static void
reap(struct agent *a)
{
	struct signalfd_siginfo si;
	int st;
	pid_t pid;

	while (read(a->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM && a->mode != AGENT_GUEST) {
			a->quit = true;
			a->exit_code = 0;
		}
	}
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		proc_reaped(a, pid, st);
		worker_reaped(a, pid);
	}
}

/* Connection gone.  Guest: wait for the host to come back; else: quit. */
static void
conn_lost(struct agent *a, int status)
{
	if (a->mode == AGENT_GUEST) {
		agent_reset_session(a);
		a->retry_ms = agent_now_ms() + 10;
		return;
	}
	a->quit = true;
	a->exit_code = status;
}

static void
conn_read(struct agent *a)
{
	int n;

	for (n = 0; n < 64 && !a->quit && a->retry_ms == 0; n++) {
		uint8_t *body;
		size_t len;
		int rc;

		if (a->desync) {
			uint8_t junk[4096];
			ssize_t k = read(a->fd, junk, sizeof(junk));

			if (k == 0)
				conn_lost(a, 1);
			if (k <= 0)
				return;
			continue;
		}
		rc = frame_reader_read(&a->rd, a->fd);
		if (rc == FRAME_AGAIN)
			return;
		if (rc == FRAME_OK) {
			body = frame_reader_take(&a->rd, &len);
			agent_handle_frame(a, body, len);
			continue;
		}
		if (rc == FRAME_OVERSIZE) {
			uint32_t want = ((uint32_t)a->rd.hdr[0] << 24) |
			    ((uint32_t)a->rd.hdr[1] << 16) |
			    ((uint32_t)a->rd.hdr[2] << 8) | a->rd.hdr[3];

			agent_send_error(a, 0, "frame_too_large",
			    "frame of %u bytes exceeds the %u-byte cap", want,
			    FRAME_MAX_AGENT);
			if (a->mode == AGENT_GUEST) {
				a->desync = true;
			} else {
				a->quit = true;
				a->exit_code = 1;
			}
			return;
		}
		if (rc == FRAME_NOMEM) {
			agent_log("out of memory reading a frame");
			conn_lost(a, 1);
			return;
		}
		/* EOF, truncated, I/O error. */
		if (rc != FRAME_EOF && a->mode != AGENT_GUEST)
			agent_log("connection: %s", frame_strerror(rc));
		conn_lost(a, rc == FRAME_EOF ? 0 : 1);
		return;
	}
}

static void
sweep(struct agent *a)
{
	struct proc **pp = &a->procs;
	struct stream **sp = &a->streams;
	struct worker **wp = &a->workers;

	while (*pp != NULL) {
		struct proc *p = *pp;

		if (p->dead) {
			*pp = p->next;
			proc_free(a, p);
		} else {
			pp = &p->next;
		}
	}
	while (*sp != NULL) {
		struct stream *s = *sp;

		if (s->dead) {
			*sp = s->next;
			if (s->fd >= 0)
				close(s->fd);
			if (s->proc != NULL && s->proc->stream[s->chan] == s)
				s->proc->stream[s->chan] = NULL;
			free(s);
		} else {
			sp = &s->next;
		}
	}
	while (*wp != NULL) {
		struct worker *w = *wp;

		if (w->dead && w->pid <= 0) {
			*wp = w->next;
			worker_free(a, w);
		} else {
			wp = &w->next;
		}
	}
}

static void
shutdown_all(struct agent *a)
{
	struct proc *p;
	struct stream *s;

	proc_kill_all_now(a);
	worker_close_all(a);
	file_close_all(a);
	for (p = a->procs; p != NULL; p = p->next)
		p->dead = true;
	for (s = a->streams; s != NULL; s = s->next)
		s->dead = true;
	sweep(a);
	while (a->handles != NULL)
		handle_del(a, a->handles);
}

static void
flush_blocking(struct agent *a)
{
	int fl = fcntl(a->fd, F_GETFL);
	int64_t end = agent_now_ms() + 2000;

	if (fl >= 0)
		fcntl(a->fd, F_SETFL, fl | O_NONBLOCK);
	while (a->out.bytes > 0 && agent_now_ms() < end) {
		struct pollfd pf = { .fd = a->fd, .events = POLLOUT };

		if (outq_flush(&a->out, a->fd) != 0)
			break;
		if (a->out.bytes > 0)
			poll(&pf, 1, 50);
	}
}

int
agent_serve(struct agent *a)
{
	static struct pollfd pf[MAXPOLL];
	static void *obj[MAXPOLL];
	static enum tag tag[MAXPOLL];
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (a->sigfd <= 0)
		a->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a->sigfd < 0) {
		agent_log("signalfd: %s", strerror(errno));
		return 1;
	}
	a->rd.max = FRAME_MAX_AGENT;
	set_nonblock(a->fd);
	fcntl(a->fd, F_SETFD, FD_CLOEXEC);

	while (!a->quit) {
		struct proc *p;
		struct stream *s;
		struct worker *w;
		int64_t now, next, t;
		int n = 0, i, rc;

		if (a->out.bytes > 0 && a->retry_ms == 0 &&
		    outq_flush(&a->out, a->fd) != 0) {
			if (errno == EPIPE || a->mode != AGENT_GUEST)
				conn_lost(a, errno == EPIPE ? 0 : 1);
		}
		if (a->quit)
			break;
		pf[n] = (struct pollfd){ .fd = a->sigfd, .events = POLLIN };
		tag[n++] = T_SIG;
		if (a->retry_ms == 0) {
			short ev = 0;

			if (a->out.bytes < AGENT_READ_HIWAT)
				ev |= POLLIN;
			if (a->out.bytes > 0)
				ev |= POLLOUT;
			pf[n] = (struct pollfd){ .fd = a->fd, .events = ev };
			tag[n++] = T_CONN;
		}
		for (p = a->procs; p != NULL && n < MAXPOLL - 3; p = p->next) {
			int c;

			if (p->dead)
				continue;
			for (c = 0; c < 2; c++) {
				if (p->out[c] < 0)
					continue;
				if (p->stream[c] != NULL && stream_throttled(a))
					continue;
				pf[n] = (struct pollfd){ .fd = p->out[c],
				    .events = POLLIN };
				obj[n] = p;
				tag[n++] = c == 0 ? T_OUT0 : T_OUT1;
			}
			if (p->in >= 0 && p->inoff < p->inlen) {
				pf[n] = (struct pollfd){ .fd = p->in,
				    .events = POLLOUT };
				obj[n] = p;
				tag[n++] = T_IN;
			}
		}
		for (s = a->streams; s != NULL && n < MAXPOLL - 1; s = s->next) {
			if (s->dead || s->type != S_FD || s->regular ||
			    stream_throttled(a))
				continue;
			pf[n] = (struct pollfd){ .fd = s->fd, .events = POLLIN };
			obj[n] = s;
			tag[n++] = T_STREAM;
		}
		for (w = a->workers; w != NULL && n < MAXPOLL - 1; w = w->next) {
			if (w->fd < 0)
				continue;
			pf[n] = (struct pollfd){ .fd = w->fd, .events =
			    (short)((stream_throttled(a) ? 0 : POLLIN) |
			    (w->out.bytes ? POLLOUT : 0)) };
			obj[n] = w;
			tag[n++] = T_WORKER;
		}

		now = agent_now_ms();
		next = proc_next_deadline(a);
		t = stream_next_deadline(a);
		if (t != 0 && (next == 0 || t < next))
			next = t;
		if (a->retry_ms != 0 && (next == 0 || a->retry_ms < next))
			next = a->retry_ms;
		t = next == 0 ? -1 : (next > now ? next - now : 0);
		rc = poll(pf, (nfds_t)n, (int)t);
		if (rc < 0 && errno != EINTR) {
			agent_log("poll: %s", strerror(errno));
			return 1;
		}
		for (i = 0; rc > 0 && i < n; i++) {
			short rev = pf[i].revents;

			if (rev == 0)
				continue;
			switch (tag[i]) {
			case T_SIG:
				reap(a);
				break;
			case T_CONN:
				if (rev & (POLLIN | POLLHUP | POLLERR))
					conn_read(a);
				break;
			case T_OUT0:
			case T_OUT1:
			case T_IN:
				proc_io(a, obj[i], tag[i] == T_IN ? 2 :
				    tag[i] == T_OUT1, rev);
				break;
			case T_STREAM:
				stream_io(a, obj[i]);
				break;
			case T_WORKER:
				worker_io(a, obj[i], rev);
				break;
			}
		}
		now = agent_now_ms();
		if (a->retry_ms != 0 && now >= a->retry_ms) {
			a->retry_ms = 0;
			conn_read(a);
		}
		proc_tick(a, now);
		stream_tick(a, now);
		sweep(a);
	}
	flush_blocking(a);
	shutdown_all(a);
	if (a->poweroff && a->mode == AGENT_GUEST) {
		sync();
		reboot(RB_POWER_OFF);
	}
	return a->exit_code;
}
