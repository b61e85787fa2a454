/* sup.c: dispatch, the poll loop, reaping, and the ordered event stream. */
#include <dirent.h>
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

#include "events/frame.h"
#include "events/mp.h"
#include "events/proto.h"
#include "supervisor/chanmsg.h"
#include "supervisor/pool.h"
#include "supervisor/psi.h"
#include "supervisor/runfile.h"
#include "supervisor/spawn.h"
#include "sup.h"

/* After a channel closes, a runner that has not exited gets this long. */
#define EOF_GRACE_NS (5ll * 1000000000)
#define NS_PER_MS 1000000ll

struct sup_file {
	struct runfile rf;
	struct discovered *d;
	pid_t pid;                      /* 0 = not running */
	int chan;                       /* -1 = closed */
	struct frame_reader rd;
	int wstatus;
	char *cause;                    /* why we ended it (protocol, timeout, signal) */
	enum rf_end end;                /* with cause */
	int64_t deadline;               /* file timeout, monotonic ns; 0 = none */
	int64_t eof_deadline;           /* channel closed, runner still alive */
	int64_t pool_wait_since;        /* parked in the pool: timeout paused */
	bool admitted;                  /* pool said yes; not started yet */
	bool psi_noted;                 /* file_blocked{psi_pressure} emitted */
};

struct sup {
	const struct sup_params *p;
	struct sup_file *f;
	size_t n, next, running, admitted, completed;
	size_t max_running;             /* fd budget, not a policy: the pool decides */
	struct pool *pool;
	struct psi_gate psi;
	int tfd;                        /* 1 Hz: PSI poll, pool_state, progress */
	struct render *render;
	struct rf_out out;
	int devnull;
	int interrupted;                /* signal number */
	int internal_error;
	int64_t t0;
};

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the event stream ---- */

static void
emit(void *ctx, struct event *ev)
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

static uint64_t
owner_of(const struct sup *s, const struct sup_file *f)
{
	return (uint64_t)(f - s->f) + 1;       /* 0 is POOL_ANON */
}

/* Answers a claim/reserve the pool decided (now or from a grant). */
static void
answer(struct sup *s, struct sup_file *f, enum pool_req_kind k,
    enum pool_status st, uint64_t id, struct resource_amount amount,
    const char *message)
{
	bool claim = k == POOL_REQ_CLAIM;

	if (st == POOL_GRANTED && claim)
		runfile_claim_granted(&f->rf, amount, &s->out);
	(void)chanmsg_answer(f->chan, st == POOL_GRANTED ?
	    (claim ? "claim_ok" : "reserve_ok") : (claim ? "claim_err" : "reserve_err"),
	    id, st == POOL_GRANTED ? NULL : message ? message : "out of memory");
}

static int
request(void *ctx, struct runfile *rf, enum rf_request req, uint64_t id,
    struct resource_amount amount, const char *what, char *err, size_t errlen)
{
	struct sup *s = ctx;
	struct sup_file *f = (struct sup_file *)rf;   /* rf is f's first member */
	uint64_t owner = owner_of(s, f);
	enum pool_status st;
	char *perr = NULL;

	switch (req) {
	case RF_REQ_CLAIM:
		st = pool_claim(s->pool, owner, amount, id, &perr);
		if (st != POOL_QUEUED)
			answer(s, f, POOL_REQ_CLAIM, st, id, amount, perr);
		break;
	case RF_REQ_RESERVE:
		st = pool_reserve(s->pool, owner, amount, id, what, &perr);
		if (st != POOL_QUEUED)
			answer(s, f, POOL_REQ_RESERVE, st, id, amount, perr);
		break;
	case RF_REQ_RELEASE:
		if (pool_release(s->pool, owner, amount, &perr) != 0) {
			snprintf(err, errlen, "`release`: %s",
			    perr ? perr : "out of memory");
			free(perr);
			return -1;
		}
		break;
	}
	free(perr);
	return 0;
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

static void
finish(struct sup *s, struct sup_file *f, enum rf_end end, const char *cause)
{
	size_t idx = (size_t)(f - s->f);

	close_chan(f);
	runfile_finish(&f->rf, end, cause, mono_ns(), &s->out);
	/* after file_completed, so the next file's dispatch follows it */
	pool_release_all(s->pool, owner_of(s, f), NULL);
	s->completed++;
	render_file(s->render, idx, &f->rf);
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

/* What a file reserves to start: runner overhead + its declared claim. */
static struct resource_amount
reservation(const struct resource_amount *claim)
{
	struct resource_amount r = { POOL_RUNNER_OVERHEAD_BYTES, 0 };

	return claim ? pool_amount_add(r, *claim) : r;
}

static void
blocked(struct sup *s, struct sup_file *f, const char *reason,
    struct resource_amount waiting_for)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EVENT_FILE_BLOCKED;
	ev.path = f->d->display;
	ev.reason = (char *)(uintptr_t)reason;
	ev.amount = waiting_for;
	emit(s, &ev);
}

static void
dispatch(struct sup *s, struct sup_file *f)
{
	const struct resource_amount *claim =
	    f->d->scan.has_claim ? &f->d->scan.claim : NULL;
	char *argv[] = { (char *)"provium", (char *)"--runner", NULL };
	struct spawn_req req = { .path = s->p->self_exe, .argv = argv,
	    .new_pgroup = true };
	struct event ev;
	char err[512], cause[600];
	int sv[2];
	int64_t now = mono_ns();

	memset(&ev, 0, sizeof(ev));
	ev.kind = EVENT_FILE_DISPATCHED;
	ev.path = f->d->display;
	ev.amount = reservation(claim);
	emit(s, &ev);
	runfile_dispatched(&f->rf, now);
	if (s->p->opts->timeout_ms)
		f->deadline = now + (int64_t)s->p->opts->timeout_ms * NS_PER_MS;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(cause, sizeof(cause), "could not start runner: "
		    "socketpair: %s", strerror(errno));
		finish(s, f, RF_END_CRASHED, cause);
		return;
	}
	req.fds[0] = (struct spawn_fd){ s->devnull, 0 };
	req.fds[1] = (struct spawn_fd){ 2, 1 };
	req.fds[2] = (struct spawn_fd){ 2, 2 };
	req.fds[3] = (struct spawn_fd){ sv[1], RUNNER_CHANNEL_FD };
	req.nfds = 4;
	if (spawn_start(&req, &f->pid, err, sizeof(err)) != 0) {
		close(sv[0]);
		close(sv[1]);
		f->pid = 0;
		snprintf(cause, sizeof(cause), "could not start runner: %s", err);
		finish(s, f, RF_END_CRASHED, cause);
		return;
	}
	close(sv[1]);
	f->chan = sv[0];
	(void)fcntl(f->chan, F_SETFL, O_NONBLOCK);
	f->rd = (struct frame_reader)FRAME_READER_INIT(FRAME_MAX_RUNNER);
	s->running++;
	if (chanmsg_start(f->chan, s->p->opts, f->d->display, f->d->display) != 0)
		close_chan(f);      /* already dead: its wait status tells why */
}

/*
 * Offers files to the pool in input order.  The pool queues what does not
 * fit (file_blocked{pool_full}) and hands grants back later; the PSI gate
 * holds the next file while the host is under pressure.
 */
static void
admit_files(struct sup *s)
{
	while (!s->interrupted && s->next < s->n &&
	    s->running + s->admitted < s->max_running) {
		struct sup_file *f = &s->f[s->next];
		const struct resource_amount *claim =
		    f->d->scan.has_claim ? &f->d->scan.claim : NULL;
		struct resource_amount overhead = { POOL_RUNNER_OVERHEAD_BYTES, 0 };
		char what[600], *err = NULL;

		if (psi_gate_holds(&s->psi, s->running)) {
			if (!f->psi_noted)
				blocked(s, f, "psi_pressure", overhead);
			f->psi_noted = true;
			return;
		}
		snprintf(what, sizeof(what), "file `%s`", f->d->display);
		s->next++;
		switch (pool_admit(s->pool, owner_of(s, f), overhead, claim, what,
		    &err)) {
		case POOL_GRANTED:
			f->admitted = true;
			s->admitted++;
			break;
		case POOL_QUEUED:
			blocked(s, f, "pool_full", reservation(claim));
			break;
		case POOL_FAILED:
			finish(s, f, RF_END_NOT_RUN, err ? err : "out of memory");
			break;
		}
		free(err);
	}
}

/* Everything the pool decided since the last call. */
static void
take_grants(struct sup *s)
{
	struct pool_grant g;

	while (pool_next_grant(s->pool, &g) == 1) {
		struct sup_file *f = &s->f[g.owner - 1];

		if (g.kind == POOL_REQ_ADMIT) {
			if (g.status == POOL_GRANTED) {
				f->admitted = true;
				s->admitted++;
			} else {
				finish(s, f, RF_END_NOT_RUN, g.message ?
				    g.message : "out of memory");
			}
		} else {
			answer(s, f, g.kind, g.status, g.cookie, g.amount,
			    g.message);
		}
		free(g.message);
	}
}

/* Starts admitted files in input order, unless PSI holds new starts. */
static void
start_admitted(struct sup *s)
{
	size_t i;

	for (i = 0; i < s->n && s->admitted > 0 && !s->interrupted; i++) {
		struct sup_file *f = &s->f[i];

		if (!f->admitted)
			continue;
		if (psi_gate_holds(&s->psi, s->running)) {
			if (!f->psi_noted)
				blocked(s, f, "psi_pressure", reservation(
				    f->d->scan.has_claim ? &f->d->scan.claim : NULL));
			f->psi_noted = true;
			return;
		}
		f->admitted = false;
		s->admitted--;
		dispatch(s, f);
	}
}

static void
pool_state(struct sup *s)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EVENT_POOL_STATE;
	pool_snapshot(s->pool, &ev.amount, &ev.amount2);
	emit(s, &ev);
}

/* Reads and applies every frame buffered on f's channel. */
static void
drain(struct sup *s, struct sup_file *f)
{
	char err[1024];
	uint8_t *body;
	size_t len;
	int rc;

	while (f->chan >= 0) {
		rc = frame_reader_read(&f->rd, f->chan);
		if (rc == FRAME_AGAIN)
			return;
		if (rc == FRAME_EOF || rc == FRAME_TRUNCATED ||
		    (rc == FRAME_IO && (errno == ECONNRESET || errno == EPIPE))) {
			/* a dying runner may stop mid-frame: its wait status tells why */
			close_chan(f);
			if (f->pid > 0)
				f->eof_deadline = mono_ns() + EOF_GRACE_NS;
			return;
		}
		if (rc != FRAME_OK) {
			snprintf(err, sizeof(err), "channel: %s", frame_strerror(rc));
			protocol_error(f, err);
			return;
		}
		body = frame_reader_take(&f->rd, &len);
		msgpack_unpacked u;
		const msgpack_object *msg;
		msgpack_unpacked_init(&u);
		if (frame_decode(body, len, &u, &msg) != FRAME_OK) {
			protocol_error(f, "malformed msgpack frame");
		} else if (runfile_handle(&f->rf, msg, mono_ns(), &s->out, err,
		    sizeof(err)) != 0) {
			protocol_error(f, err);
		}
		msgpack_unpacked_destroy(&u);
		free(body);
	}
}

static void
runner_exited(struct sup *s, struct sup_file *f, int wstatus)
{
	char cause[256];
	bool done;

	f->wstatus = wstatus;
	drain(s, f);                /* reports written before the exit come first */
	kill_group(f);              /* whatever it left behind in its group */
	f->pid = 0;
	s->running--;
	done = f->rf.state == RF_DONE;
	if (f->cause)
		finish(s, f, f->end, f->cause);
	else if (f->rf.chunk_error && WIFEXITED(wstatus))
		finish(s, f, RF_END_CRASHED, f->rf.chunk_error);
	else if (done && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
		finish(s, f, RF_END_EXITED, NULL);
	else {
		runfile_describe_wait(wstatus, done, cause, sizeof(cause));
		finish(s, f, RF_END_CRASHED, cause);
	}
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
		for (i = 0; i < s->n; i++)
			if (s->f[i].pid == pid) {
				runner_exited(s, &s->f[i], st);
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
	for (i = 0; i < s->n; i++)
		if (s->f[i].pid > 0) {
			set_cause(&s->f[i], RF_END_CRASHED, cause);
			kill_group(&s->f[i]);
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

	for (i = 0; i < s->n; i++) {
		struct sup_file *f = &s->f[i];

		if (f->pid <= 0)
			continue;
		if (f->eof_deadline && now >= f->eof_deadline) {
			set_cause(f, RF_END_CRASHED, "runner crashed: closed its "
			    "channel but did not exit");
			kill_group(f);
			f->eof_deadline = 0;
		}
		/* time parked in the pool is not the file's (upstream §5.3) */
		if (pool_owner_waiting(s->pool, owner_of(s, f))) {
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

	for (i = 0; i < s->n; i++) {
		struct sup_file *f = &s->f[i];
		if (f->pid <= 0 || f->pool_wait_since)
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

/* Until nothing changes: a start that fails frees room for the next. */
static void
admit(struct sup *s)
{
	size_t before[4];

	do {
		before[0] = s->next, before[1] = s->completed;
		before[2] = s->running, before[3] = s->admitted;
		admit_files(s);
		take_grants(s);
		start_admitted(s);
	} while (before[0] != s->next || before[1] != s->completed ||
	    before[2] != s->running || before[3] != s->admitted);
}

static void
tick(struct sup *s)
{
	uint64_t n;

	while (read(s->tfd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
	(void)psi_gate_poll(&s->psi);
	if (s->running > 0)
		pool_state(s);
}

/* Files left with nothing running and nothing the pool will ever grant. */
static void
stuck(struct sup *s)
{
	size_t i;

	fprintf(stderr, "provium: internal error: the pool admits no file while "
	    "none runs\n");
	s->internal_error = 1;
	for (i = 0; i < s->n; i++)
		if (s->f[i].rf.state == RF_PENDING)
			finish(s, &s->f[i], RF_END_NOT_RUN,
			    "not run: internal error in admission");
}

static void
loop(struct sup *s)
{
	struct pollfd *pfd = calloc(s->n + 2, sizeof(*pfd));
	struct sup_file **who = calloc(s->n + 2, sizeof(*who));
	size_t i, np;

	if (pfd == NULL || who == NULL) {
		fprintf(stderr, "provium: out of memory\n");
		free(pfd);
		pfd = NULL;
		s->internal_error = 1;
		interrupt(s, SIGTERM);
	}
	read_signals(s);        /* a Ctrl-C during discovery: dispatch nothing */
	for (;;) {
		admit(s);
		if (s->completed == s->n || (s->interrupted && s->running == 0))
			break;
		if (s->running == 0 && !s->interrupted) {
			stuck(s);
			break;
		}
		if (pfd == NULL) {
			/* no memory to poll with: wait for the killed runners */
			int st;
			pid_t pid = waitpid(-1, &st, 0);
			for (i = 0; pid > 0 && i < s->n; i++)
				if (s->f[i].pid == pid)
					runner_exited(s, &s->f[i], st);
			continue;
		}
		render_progress(s->render, s->running,
		    (double)(mono_ns() - s->t0) / 1e9);
		np = 0;
		pfd[np++] = (struct pollfd){ .fd = s->p->sigfd, .events = POLLIN };
		pfd[np++] = (struct pollfd){ .fd = s->tfd, .events = POLLIN };
		for (i = 0; i < s->n; i++)
			if (s->f[i].chan >= 0) {
				who[np] = &s->f[i];
				pfd[np++] = (struct pollfd){ .fd = s->f[i].chan,
				    .events = POLLIN };
			}
		if (poll(pfd, np, poll_timeout(s, mono_ns())) < 0 &&
		    errno != EINTR) {
			fprintf(stderr, "provium: poll: %s\n", strerror(errno));
			s->internal_error = 1;
			interrupt(s, SIGTERM);
		}
		/* Channels first: a runner's last reports precede its exit. */
		for (i = 2; i < np; i++)
			if (pfd[i].revents && who[i]->chan == pfd[i].fd)
				drain(s, who[i]);
		if (pfd[0].revents)
			read_signals(s);
		if (pfd[1].revents)
			tick(s);
		check_deadlines(s, mono_ns());
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
	s.t0 = mono_ns();
	s.out = (struct rf_out){ emit, request, &s };
	s.max_running = fd_budget();
	s.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	s.f = calloc(s.n, sizeof(*s.f));
	s.render = render_new(p->render, s.n);
	s.pool = pool_new(p->pool_total);
	if (s.f == NULL || s.render == NULL || s.devnull < 0 || s.tfd < 0 ||
	    s.pool == NULL || timerfd_settime(s.tfd, 0, &(struct itimerspec){
	    .it_interval = { 1, 0 }, .it_value = { 1, 0 } }, NULL) != 0) {
		fprintf(stderr, "provium: cannot start: %s\n", strerror(errno));
		free(s.f);
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
	for (i = 0; i < s.n; i++) {
		s.f[i].d = &p->files->v[i];
		s.f[i].chan = -1;
		runfile_init(&s.f[i].rf, s.f[i].d->display);
	}
	/* Every file is announced before the first dispatch. */
	for (i = 0; i < s.n; i++) {
		struct discovered *d = s.f[i].d;

		memset(&ev, 0, sizeof(ev));
		ev.kind = EVENT_FILE_DISCOVERED;
		ev.path = d->display;
		ev.fixture_refs = d->scan.fixture_refs;
		ev.nfixture_refs = d->scan.nfixture_refs;
		ev.has_declared_claim = d->scan.has_claim;
		ev.declared_claim = d->scan.claim;
		emit(&s, &ev);
	}
	pool_state(&s);
	loop(&s);
	if (s.interrupted) {
		snprintf(cause, sizeof(cause), "not run: interrupted (SIG%s)",
		    sigabbrev_np(s.interrupted));
		for (i = 0; i < s.n; i++)
			if (s.f[i].rf.state == RF_PENDING)
				finish(&s, &s.f[i], RF_END_NOT_RUN, cause);
	}
	pool_state(&s);
	sweep_children();
	render_finish(s.render, (double)(mono_ns() - s.t0) / 1e9);
	rc = 0;
	for (i = 0; i < s.n; i++)
		if (s.f[i].rf.status == NULL ||
		    strcmp(s.f[i].rf.status, EVENT_STATUS_PASSED) != 0)
			rc = 1;
	if (s.internal_error)
		rc = 2;
	if (s.interrupted)
		rc = 128 + s.interrupted;
	for (i = 0; i < s.n; i++) {
		runfile_clear(&s.f[i].rf);
		free(s.f[i].cause);
		frame_reader_clear(&s.f[i].rd);
	}
	render_free(s.render);
	free(s.f);
	pool_free(s.pool);
	close(s.devnull);
	close(s.tfd);
	return rc;
}
