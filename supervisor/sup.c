/* sup.c: the poll loop, runner lifecycle and reaping, the ordered event stream. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events/evsock.h"
#include "vm/vmm.h"
#include "events/frame.h"
#include "events/mp.h"
#include "events/proto.h"
#include "supervisor/chanmsg.h"
#include "vm/spawn.h"
#include "sup_int.h"

int64_t
sup_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the event stream ---- */

void
sup_emit(void *ctx, struct event *ev)
{
	struct sup *s = ctx;
	msgpack_sbuffer sb;

	ev->ts = event_now_ns();
	if (event_encode(ev, &sb) != 0) {
		fprintf(stderr, "provium: internal error: cannot encode a %s event\n",
		    event_kind_name(ev->kind));
		s->internal_error = 1;
		return;
	}
	sink_set_write(s->p->sinks, sb.data, sb.size, ev);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- runner lifecycle ---- */

static void
set_cause(struct sup_file *f, enum rf_end end, const char *cause)
{
	if (f->cause != NULL)   /* the first cause wins */
		return;
	f->cause = strdup(cause);
	f->end = end;
}

static void
kill_group(struct sup_file *f)
{
	if (f->pid > 0)
		(void)kill(-f->pid, SIGKILL);
}

static void
close_chan(struct sup_file *f)
{
	if (f->chan >= 0)
		close(f->chan);
	f->chan = -1;
	frame_reader_clear(&f->rd);
}

static void
protocol_error(struct sup_file *f, const char *msg)
{
	char buf[1200];

	snprintf(buf, sizeof(buf), "runner protocol error: %s", msg);
	set_cause(f, RF_END_CRASHED, buf);
	kill_group(f);
	close_chan(f);
}

struct sup_file *
sup_file_get(struct sup *s, size_t idx)
{
	struct sup_file *f = s->fp[idx];

	if (f != NULL)
		return f;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->d = &s->p->files->v[idx];
	f->idx = idx;
	f->chan = -1;
	runfile_init(&f->rf, f->d->display);
	return s->fp[idx] = f;
}

static void
file_free(struct sup *s, size_t idx)
{
	struct sup_file *f = s->fp[idx];

	if (f == NULL)
		return;
	runfile_clear(&f->rf);
	free(f->cause);
	frame_reader_clear(&f->rd);
	free(f);
	s->fp[idx] = NULL;
}

/* Grows a pointer vector to hold one more. */
static int
vec_room(struct sup_file ***v, size_t used, size_t *cap)
{
	struct sup_file **n;
	size_t ncap;

	if (used < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	if ((n = reallocarray(*v, ncap, sizeof(**v))) == NULL)
		return -1;
	*v = n;
	*cap = ncap;
	return 0;
}

int
sup_ready_push(struct sup *s, struct sup_file *f)
{
	if (s->ready_head == s->ready_tail)
		s->ready_head = s->ready_tail = 0;
	if (vec_room(&s->ready, s->ready_tail, &s->ready_cap) != 0)
		return -1;
	s->ready[s->ready_tail++] = f;
	return 0;
}

void
sup_finish(struct sup *s, struct sup_file *f, enum rf_end end, const char *cause)
{
	size_t idx = f->idx;
	struct event ev;

	/*
	 * A file that never started (Ctrl-C, --fail-fast, a claim that can
	 * never fit) is still dispatched, reserving nothing, right before it
	 * completes: consumers count in-flight files as dispatched minus
	 * completed, and "file_completed after its file_dispatched" holds.
	 */
	if (end == RF_END_NOT_RUN && f->rf.state == RF_PENDING) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = EVENT_FILE_DISPATCHED;
		ev.path = f->d->display;
		sup_emit(s, &ev);
		runfile_dispatched(&f->rf, sup_mono_ns());
	}
	close_chan(f);
	runfile_finish(&f->rf, end, cause, sup_mono_ns(), &s->out);
	if (f->queued) {
		f->queued = false;
		s->waiting--;
	}
	/* after file_completed, so the next file's dispatch follows it */
	pool_release_all(s->pool, sup_owner_of(f), NULL);
	s->completed++;
	if (strcmp(f->rf.status, EVENT_STATUS_PASSED) != 0) {
		s->any_failed = true;
		if (s->p->failed)
			s->p->failed[idx] = 1;
		if (s->p->opts->fail_fast && s->fail_fast == NULL &&
		    asprintf(&s->fail_fast, "skipped: --fail-fast (`%s` %s)",
		    f->d->display, f->rf.status) < 0)
			s->fail_fast = NULL;
	}
	render_file(s->render, idx, &f->rf);
	/* printed files (this one, or earlier ones it let through in input
	 * order) are done with */
	if (render_emitted(s->render, idx))
		file_free(s, idx);
	while (s->dropped < s->n && render_emitted(s->render, s->dropped))
		file_free(s, s->dropped++);
}

/*
 * A file --fail-fast keeps from starting: dispatched (reserving nothing)
 * and completed at once, as upstream's runner threads short-circuit it,
 * so "exactly one file_completed, after the file_dispatched" holds.
 */
static void
skip_file(struct sup *s, struct sup_file *f)
{
	sup_finish(s, f, RF_END_NOT_RUN, s->fail_fast);
}

/* Every file not started yet (queued in the pool, admitted, or never
 * offered) completes, not run, in input order. */
static void
finish_pending(struct sup *s, const char *cause)
{
	struct sup_file *f;
	size_t i;

	for (i = 0; i < s->n; i++) {
		f = s->fp[i];
		if (f == NULL && i < s->next)
			continue;       /* completed and printed */
		if (f != NULL && f->rf.state != RF_PENDING)
			continue;
		if (f == NULL && (f = sup_file_get(s, i)) == NULL) {
			fprintf(stderr, "provium: out of memory: `%s` has no "
			    "file_completed\n", s->p->files->v[i].display);
			s->internal_error = 1;
			continue;
		}
		sup_finish(s, f, RF_END_NOT_RUN, cause);
	}
	s->next = s->n;
	s->ready_head = s->ready_tail = 0;
}

/* --fail-fast tripped: every file not started yet completes, not run. */
static void
skip_rest(struct sup *s)
{
	finish_pending(s, s->fail_fast);
}

static void
timeout_text(uint64_t ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "file timeout exceeded (%llus)",
		    (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "file timeout exceeded (%llums)",
		    (unsigned long long)ms);
}

void
sup_dispatch(struct sup *s, struct sup_file *f)
{
	const struct resource_amount *claim =
	    f->d->scan && f->d->scan->has_claim ? &f->d->scan->claim : NULL;
	char *argv[] = { (char *)"provium", (char *)"--runner", NULL };
	struct spawn_opts so = { .exe = s->p->self_exe, .new_pgrp = true };
	struct event ev;
	char *err, cause[600];
	int sv[2];
	int64_t now = sup_mono_ns();

	if (s->fail_fast) {     /* tripped while this start was being decided */
		skip_file(s, f);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = EVENT_FILE_DISPATCHED;
	ev.path = f->d->display;
	ev.amount = sup_reservation(claim);
	sup_emit(s, &ev);
	runfile_dispatched(&f->rf, now);
	if (s->p->opts->timeout_ms)
		f->deadline = now + (int64_t)s->p->opts->timeout_ms * NS_PER_MS;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(cause, sizeof(cause), "could not start runner: "
		    "socketpair: %s", strerror(errno));
		sup_finish(s, f, RF_END_CRASHED, cause);
		return;
	}
	so.fds[0] = (struct spawn_fd){ s->devnull, 0 };
	so.fds[1] = (struct spawn_fd){ 2, 1 };
	so.fds[2] = (struct spawn_fd){ 2, 2 };
	so.fds[3] = (struct spawn_fd){ sv[1], RUNNER_CHANNEL_FD };
	so.nfds = 4;
	if (spawn_start(argv, &so, &f->pid, &err) != 0) {
		close(sv[0]);
		close(sv[1]);
		f->pid = 0;
		snprintf(cause, sizeof(cause), "could not start runner: %s",
		    err ? err : "out of memory");
		free(err);
		sup_finish(s, f, RF_END_CRASHED, cause);
		return;
	}
	close(sv[1]);
	f->chan = sv[0];
	(void)fcntl(f->chan, F_SETFL, O_NONBLOCK);
	f->rd = (struct frame_reader)FRAME_READER_INIT(FRAME_MAX_RUNNER);
	if (vec_room(&s->live, s->running, &s->live_cap) != 0) {
		set_cause(f, RF_END_CRASHED, "could not start runner: out of memory");
		kill_group(f);
		(void)waitpid(f->pid, NULL, 0);
		f->pid = 0;
		sup_finish(s, f, f->end, f->cause);
		return;
	}
	s->live[s->running++] = f;
	if (chanmsg_start(f->chan, s->p->opts, f->d->display, f->d->display) != 0)
		close_chan(f);      /* already dead: its wait status tells why */
}

static void
handle_frame(struct sup *s, struct sup_file *f)
{
	char err[1024];
	uint8_t *body;
	size_t len;
	msgpack_unpacked u;
	const msgpack_object *msg;

	body = frame_reader_take(&f->rd, &len);
	msgpack_unpacked_init(&u);
	if (frame_decode(body, len, &u, &msg) != FRAME_OK)
		protocol_error(f, "malformed msgpack frame");
	else if (runfile_handle(&f->rf, msg, sup_mono_ns(), &s->out, err,
	    sizeof(err)) != 0)
		protocol_error(f, err);
	msgpack_unpacked_destroy(&u);
	free(body);
}

/*
 * Reads and applies the frames waiting on f's channel.  Reads are big and
 * fed to the frame reader from memory: one read() for many small reports
 * instead of two per frame.  A live runner gets DRAIN_READS reads per
 * turn so one chatty runner cannot starve the others (poll comes back);
 * a dead one (all) is read to the end.
 */
#define DRAIN_READS 16

static void
drain(struct sup *s, struct sup_file *f, bool all)
{
	char err[128];
	size_t off, used;
	ssize_t n;
	int rc, reads = 0;

	while (f->chan >= 0 && (all || reads++ < DRAIN_READS)) {
		n = read(f->chan, s->rbuf, sizeof(s->rbuf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* EOF, or the runner died (ECONNRESET): a dying runner may
			 * stop mid-frame; its wait status tells why */
			close_chan(f);
			if (f->pid > 0)
				f->eof_deadline = sup_mono_ns() + EOF_GRACE_NS;
			return;
		}
		for (off = 0; off < (size_t)n && f->chan >= 0; off += used) {
			rc = frame_reader_feed(&f->rd, s->rbuf + off, (size_t)n - off,
			    &used);
			if (rc == FRAME_OK) {
				handle_frame(s, f);
			} else if (rc != FRAME_AGAIN) {
				snprintf(err, sizeof(err), "channel: %s",
				    frame_strerror(rc));
				protocol_error(f, err);
			}
		}
	}
}

static void
runner_exited(struct sup *s, struct sup_file *f, int wstatus)
{
	char cause[256];
	bool done;
	size_t i;

	f->wstatus = wstatus;
	drain(s, f, true);          /* reports written before the exit come first */
	kill_group(f);              /* whatever it left behind in its group */
	f->pid = 0;
	for (i = 0; i < s->running; i++)
		if (s->live[i] == f) {
			s->live[i] = s->live[--s->running];
			break;
		}
	done = f->rf.state == RF_DONE;
	if (f->cause)
		sup_finish(s, f, f->end, f->cause);
	else if (f->rf.chunk_error && WIFEXITED(wstatus))
		sup_finish(s, f, RF_END_CRASHED, f->rf.chunk_error);
	else if (done && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
		sup_finish(s, f, RF_END_EXITED, NULL);
	else {
		runfile_describe_wait(wstatus, done, cause, sizeof(cause));
		sup_finish(s, f, RF_END_CRASHED, cause);
	}
	/* A runner that did not end cleanly left its VMs' scratch dirs. */
	if (!(done && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0))
		vmm_sweep_stale();
}

static void
reap(struct sup *s)
{
	int st;
	pid_t pid;
	size_t i;

	for (;;) {
		pid = waitpid(-1, &st, WNOHANG);
		if (pid == 0 || (pid < 0 && errno == ECHILD))
			return;
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (i = 0; i < s->running; i++)
			if (s->live[i]->pid == pid) {
				runner_exited(s, s->live[i], st);
				break;
			}
		/* other pids: orphans we adopted as subreaper; just reaped */
	}
}

static void
interrupt(struct sup *s, int sig)
{
	char cause[64];
	size_t i;

	if (s->interrupted)
		return;
	s->interrupted = sig;
	snprintf(cause, sizeof(cause), "interrupted (SIG%s)", sigabbrev_np(sig));
	for (i = 0; i < s->running; i++) {
		set_cause(s->live[i], RF_END_CRASHED, cause);
		kill_group(s->live[i]);
	}
}

static void
read_signals(struct sup *s)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(s->p->sigfd, &si, sizeof(si))) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			break;  /* reaped below in any case */
		case SIGINT:
		case SIGTERM:
		case SIGHUP:
			interrupt(s, (int)si.ssi_signo);
			break;
		}
	}
	reap(s);
}

static void
check_deadlines(struct sup *s, int64_t now)
{
	char cause[128];
	size_t i;

	for (i = 0; i < s->running; i++) {
		struct sup_file *f = s->live[i];

		if (f->eof_deadline && now >= f->eof_deadline) {
			set_cause(f, RF_END_CRASHED, "runner crashed: closed its "
			    "channel but did not exit");
			kill_group(f);
			f->eof_deadline = 0;
		}
		/* time parked in the pool is not the file's (upstream §5.3) */
		if (pool_owner_waiting(s->pool, sup_owner_of(f))) {
			if (f->pool_wait_since == 0)
				f->pool_wait_since = now;
			continue;
		}
		if (f->pool_wait_since) {
			if (f->deadline)
				f->deadline += now - f->pool_wait_since;
			f->pool_wait_since = 0;
		}
		if (f->deadline && now >= f->deadline) {
			timeout_text(s->p->opts->timeout_ms, cause, sizeof(cause));
			set_cause(f, RF_END_TIMED_OUT, cause);
			kill_group(f);
			f->deadline = 0;
		}
	}
}

static int
poll_timeout(struct sup *s, int64_t now)
{
	int64_t next = 0;
	size_t i;

	for (i = 0; i < s->running; i++) {
		struct sup_file *f = s->live[i];
		if (f->pool_wait_since)
			continue;
		if (f->deadline && (next == 0 || f->deadline < next))
			next = f->deadline;
		if (f->eof_deadline && (next == 0 || f->eof_deadline < next))
			next = f->eof_deadline;
	}
	if (next == 0)
		return -1;
	if (next <= now)
		return 0;
	return (int)((next - now + NS_PER_MS - 1) / NS_PER_MS);
}

static void
tick(struct sup *s)
{
	uint64_t n;

	while (read(s->tfd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
	(void)psi_gate_poll(&s->psi);
	if (s->running > 0)
		sup_pool_state(s);
}

/* Files left with nothing running and nothing the pool will ever grant. */
static void
stuck(struct sup *s)
{
	fprintf(stderr, "provium: internal error: the pool admits no file while "
	    "none runs\n");
	s->internal_error = 1;
	finish_pending(s, "not run: internal error in admission");
}

/* Room in the poll set for the fds this turn needs. */
static int
poll_room(struct sup *s, struct pollfd **pfd, struct sup_file ***who,
    size_t *cap)
{
	size_t need = 2 + s->running +
	    (s->p->evsock ? evsock_nfds(s->p->evsock) : 0);
	size_t ncap = need + 16;
	struct pollfd *np;
	struct sup_file **nw;

	if (need <= *cap)
		return 0;
	if ((np = reallocarray(*pfd, ncap, sizeof(**pfd))) == NULL)
		return -1;
	*pfd = np;
	if ((nw = reallocarray(*who, ncap, sizeof(**who))) == NULL)
		return -1;
	*who = nw;
	*cap = ncap;
	return 0;
}

static void
loop(struct sup *s)
{
	size_t cap = 0;
	struct pollfd *pfd = NULL;
	struct sup_file **who = NULL;
	bool nomem = false;
	size_t i, np, k;

	read_signals(s);        /* a Ctrl-C during discovery: dispatch nothing */
	for (;;) {
		if (s->fail_fast)
			skip_rest(s);
		sup_admit(s);
		if (s->completed == s->n || (s->interrupted && s->running == 0))
			break;
		if (s->running == 0 && !s->interrupted) {
			stuck(s);
			break;
		}
		if (!nomem && poll_room(s, &pfd, &who, &cap) != 0) {
			fprintf(stderr, "provium: out of memory\n");
			nomem = true;
			s->internal_error = 1;
			interrupt(s, SIGTERM);
		}
		if (nomem) {
			/* no memory to poll with: wait for the killed runners */
			int st;
			pid_t pid = waitpid(-1, &st, 0);
			for (i = 0; pid > 0 && i < s->running; i++)
				if (s->live[i]->pid == pid) {
					runner_exited(s, s->live[i], st);
					break;
				}
			continue;
		}
		render_progress(s->render, s->running,
		    (double)(sup_mono_ns() - s->t0) / 1e9);
		np = 0;
		pfd[np++] = (struct pollfd){ .fd = s->p->sigfd, .events = POLLIN };
		pfd[np++] = (struct pollfd){ .fd = s->tfd, .events = POLLIN };
		for (i = 0; i < s->running; i++)
			if (s->live[i]->chan >= 0) {
				who[np] = s->live[i];
				pfd[np++] = (struct pollfd){ .fd = s->live[i]->chan,
				    .events = POLLIN };
			}
		k = np;
		if (s->p->evsock)
			np += evsock_pollfds(s->p->evsock, pfd + np, cap - np);
		if (poll(pfd, np, poll_timeout(s, sup_mono_ns())) < 0 &&
		    errno != EINTR) {
			fprintf(stderr, "provium: poll: %s\n", strerror(errno));
			s->internal_error = 1;
			interrupt(s, SIGTERM);
		}
		/* Channels first: a runner's last reports precede its exit. */
		for (i = 2; i < k; i++)
			if (pfd[i].revents && who[i]->chan == pfd[i].fd)
				drain(s, who[i], false);
		if (s->p->evsock)
			evsock_handle(s->p->evsock, pfd + k, np - k);
		if (pfd[0].revents)
			read_signals(s);
		if (pfd[1].revents)
			tick(s);
		check_deadlines(s, sup_mono_ns());
	}
	free(pfd);
	free(who);
}

/* Kill and reap any child still around (escaped its group, or adopted). */
static void
sweep_children(void)
{
	char path[64];
	int round;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	for (round = 0; round < 50; round++) {
		FILE *fp = fopen(path, "re");
		int pid, any = 0;

		while (fp && fscanf(fp, "%d", &pid) == 1) {
			(void)kill(pid, SIGKILL);
			any = 1;
		}
		if (fp)
			fclose(fp);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			any = 1;
		if (!any)
			return;
		if (fp == NULL) {       /* no /proc: wait once, blocking */
			while (waitpid(-1, NULL, 0) > 0)
				;
			return;
		}
		usleep(10000);
	}
}

/*
 * How many runners the supervisor can hold open at once (one channel fd
 * each, plus a few for spawning): not a policy, the pool is; only a cap so
 * a huge pool cannot make socketpair fail with EMFILE.  Raises the soft
 * fd limit to the hard one first.
 */
static size_t
fd_budget(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 256;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65536)
		rl.rlim_cur = 65536;
	return rl.rlim_cur > 128 ? (size_t)rl.rlim_cur - 64 : 64;
}

int
sup_run(const struct sup_params *p)
{
	struct sup s;
	struct event ev;
	char cause[64], note[512];
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	s.p = p;
	s.n = p->files->n;
	s.t0 = sup_mono_ns();
	s.out = (struct rf_out){ sup_emit, sup_request, &s };
	s.max_running = fd_budget();
	s.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	s.fp = calloc(s.n, sizeof(*s.fp));
	s.render = render_new(p->render, s.n);
	s.next_cid = SUP_FIRST_CID;
	s.pool = pool_new(p->pool_total);
	if (s.fp == NULL || s.render == NULL || s.devnull < 0 || s.tfd < 0 ||
	    s.pool == NULL || timerfd_settime(s.tfd, 0, &(struct itimerspec){
	    .it_interval = { 1, 0 }, .it_value = { 1, 0 } }, NULL) != 0) {
		fprintf(stderr, "provium: cannot start: %s\n", strerror(errno));
		free(s.fp);
		render_free(s.render);
		pool_free(s.pool);
		if (s.devnull >= 0)
			close(s.devnull);
		if (s.tfd >= 0)
			close(s.tfd);
		return 2;
	}
	if (psi_gate_init(&s.psi, NULL, p->psi_threshold, note, sizeof(note)) != 0)
		fprintf(stderr, "provium: %s\n", note);
	else
		(void)psi_gate_poll(&s.psi);    /* the first files see it too */
	/* Every file is announced before the first dispatch. */
	for (i = 0; i < s.n; i++) {
		struct discovered *d = &p->files->v[i];

		memset(&ev, 0, sizeof(ev));
		ev.kind = EVENT_FILE_DISCOVERED;
		ev.path = d->display;
		if (d->scan) {
			ev.fixture_refs = d->scan->fixture_refs;
			ev.nfixture_refs = d->scan->nfixture_refs;
			ev.has_declared_claim = d->scan->has_claim;
			ev.declared_claim = d->scan->claim;
		}
		sup_emit(&s, &ev);
	}
	sup_pool_state(&s);
	loop(&s);
	if (s.interrupted) {
		snprintf(cause, sizeof(cause), "not run: interrupted (SIG%s)",
		    sigabbrev_np(s.interrupted));
		finish_pending(&s, cause);
	}
	sup_pool_state(&s);
	sweep_children();
	/* SIGKILLed runners never removed their VMs' scratch dirs. */
	vmm_sweep_stale();
	render_finish(s.render, (double)(sup_mono_ns() - s.t0) / 1e9);
	rc = s.any_failed || s.completed < s.n ? 1 : 0;
	if (s.internal_error)
		rc = 2;
	if (s.interrupted)
		rc = 128 + s.interrupted;
	for (i = 0; i < s.n; i++)
		file_free(&s, i);
	render_free(s.render);
	free(s.fail_fast);
	free(s.fp);
	free(s.live);
	free(s.ready);
	pool_free(s.pool);
	close(s.devnull);
	close(s.tfd);
	return rc;
}
