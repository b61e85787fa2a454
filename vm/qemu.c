/*
 * qemu.c: the QEMU backend of vm/vmm.h.
 *
 * One qemu-system-x86_64 per VM, started with PR_SET_PDEATHSIG so it dies
 * with its runner.  Its sockets and logs live in a private scratch dir
 * $TMPDIR/provium-qemu/vm-<cid>; QEMU runs with that dir as cwd and
 * relative paths, and we reach the sockets through /proc/self/fd/<dirfd>/,
 * so a long TMPDIR never hits the 108-byte sun_path limit.
 *
 * Launch (qemu-facts §1): microvm + PVH vmlinux + tsc_early_khz when the
 * host TSC frequency is known (microvm has no HPET/PM timer to calibrate
 * against), q35 otherwise; agent on a virtio-serial port named "agent"
 * backed by a unix socket; serial console to console.log.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events/xfmt.h"
#include "vm/accel.h"
#include "vm/overlay.h"
#include "vm/profile.h"
#include "vm/qmp.h"
#include "vm/spawn.h"
#include "vm/vmm_backend.h"

#define QEMU_BIN          "qemu-system-x86_64"
/* QMP answers in milliseconds on an idle host; the limits are for a hung
 * QEMU and are generous because a CI box running ASan builds and TCG
 * guests side by side can starve QEMU for seconds (seen at load 36). */
#define QEMU_START_S      30.0    /* exec -> QMP socket answering */
#define QEMU_QMP_S        30.0    /* one QMP command */
#define QEMU_INCOMING_S   60.0    /* restore: inmigrate -> paused */
#define QEMU_MIGRATE_S    120.0   /* snapshot: migrate -> completed */
#define QEMU_QUIT_MS      2000u
#define PANIC_NEEDLE      "Kernel panic"

struct qemu_vm {
	struct vmm_vm base;
	uint32_t cid;
	pid_t pid;
	int reaped;
	int status;
	char *name;
	char *scratch;
	int dirfd;
	int agent_fd;
	struct qmp *qmp;
	off_t panic_scanned;     /* console bytes already searched */
	int panicked;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static struct qemu_vm *qvm(struct vmm_vm *vm)
{
	return (struct qemu_vm *)vm;
}

static const struct qemu_vm *cqvm(const struct vmm_vm *vm)
{
	return (const struct qemu_vm *)vm;
}

/* ---- argv builder ---- */

struct args {
	char **v;
	size_t n, cap;
	int failed;
};

static void arg(struct args *a, const char *s)
{
	if (a->failed)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		char **v = realloc(a->v, cap * sizeof(*v));
		if (!v) {
			a->failed = 1;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n] = strdup(s);
	if (!a->v[a->n]) {
		a->failed = 1;
		return;
	}
	a->v[++a->n] = NULL;
}

__attribute__((format(printf, 2, 3)))
static void argf(struct args *a, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	s = xfmt_v(fmt, ap);
	va_end(ap);
	if (!s) {
		a->failed = 1;
		return;
	}
	arg(a, s);
	free(s);
}

static void args_free(struct args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* ---- host facts ---- */

/*
 * The host TSC in kHz when it is constant and its frequency is known
 * (under TCG the guest's rdtsc reads the host TSC), else 0.
 */
static unsigned long host_tsc_khz(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return 0;
	char line[4096];
	double mhz = 0;
	int constant = 0, known = 0, got_flags = 0;
	while (fgets(line, sizeof(line), f) && !(mhz > 0 && got_flags)) {
		if (strncmp(line, "cpu MHz", 7) == 0 && !(mhz > 0)) {
			char *c = strchr(line, ':');
			if (c)
				mhz = strtod(c + 1, NULL);
		} else if (strncmp(line, "flags", 5) == 0 && !got_flags) {
			got_flags = 1;
			constant = strstr(line, " constant_tsc") != NULL;
			known = strstr(line, " tsc_known_freq") != NULL;
		}
	}
	fclose(f);
	if (!constant || !known || !(mhz > 0))
		return 0;
	return (unsigned long)llround(mhz * 1000);
}

/* PROVIUM_ACCEL (kvm|tcg|auto, set by the supervisor); auto decides here. */
static int pick_accel(enum accel_mode *m, char **err)
{
	const char *e = getenv("PROVIUM_ACCEL");
	enum accel_mode mode = ACCEL_AUTO;
	if (e && *e && accel_parse(e, &mode) < 0) {
		(void)asprintf(err, "PROVIUM_ACCEL=%s: expected auto, kvm or tcg",
		    e);
		return -1;
	}
	char *why = NULL;
	int rc = accel_decide(mode, m, &why);
	if (rc < 0)
		*err = why;
	else
		free(why);
	return rc;
}

/* ---- scratch dir ---- */

static void rm_flat_dir(int parent, const char *name);
static void sweep_stale(const char *root);

static void rm_scratch(struct qemu_vm *v)
{
	if (v->dirfd >= 0) {
		close(v->dirfd);
		v->dirfd = -1;
	}
	if (v->scratch)
		rm_flat_dir(AT_FDCWD, v->scratch);
}

/* Removes a flat directory and its files (best effort). */
static void rm_flat_dir(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(fd, de->d_name, 0);
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	unlinkat(parent, name, AT_REMOVEDIR);
}

/* Gone, or a zombie its parent has not reaped yet. */
static int pid_dead(pid_t pid)
{
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* "pid (comm) S ...": comm may hold spaces and parens. */
	char *rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && rp[2] == 'Z';
}

/*
 * Scratch dirs of runners that were killed (SIGKILL skips vmm_destroy;
 * QEMU itself died with them) are removed by the next boot: each dir's
 * "owner" file holds the pid of the process that made it.
 */
void qemu_sweep_stale(void)
{
	char *root = overlay_scratch_path();

	if (root != NULL)
		sweep_stale(root);
	free(root);
}

static void sweep_stale(const char *root)
{
	int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = rfd >= 0 ? fdopendir(rfd) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "vm-", 3) != 0)
			continue;
		char path[300], buf[32] = { 0 };
		snprintf(path, sizeof(path), "%s/owner", de->d_name);
		int fd = openat(rfd, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
		if (pid > 0 && pid_dead((pid_t)pid))
			rm_flat_dir(rfd, de->d_name);
	}
	if (d)
		closedir(d);
	else if (rfd >= 0)
		close(rfd);
}

static int write_owner(struct qemu_vm *v)
{
	int fd = openat(v->dirfd, "owner", O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	int rc = write(fd, buf, (size_t)n) == n ? 0 : -1;
	close(fd);
	return rc;
}

static int make_scratch(struct qemu_vm *v, char **err)
{
	char *root = overlay_scratch_root(err);
	if (!root)
		return -1;
	sweep_stale(root);
	/* A stale dir of a killed run may hold our cid: take the next name. */
	for (int i = 0; i < 1000; i++) {
		free(v->scratch);
		v->scratch = NULL;
		int r = i ? asprintf(&v->scratch, "%s/vm-%u.%d", root, v->cid, i) :
		    asprintf(&v->scratch, "%s/vm-%u", root, v->cid);
		if (r < 0)
			break;
		if (mkdir(v->scratch, 0700) == 0) {
			free(root);
			v->dirfd = open(v->scratch, O_RDONLY | O_DIRECTORY |
			    O_CLOEXEC);
			if (v->dirfd < 0 || write_owner(v) < 0) {
				(void)asprintf(err, "%s: %s", v->scratch,
				    strerror(errno));
				return -1;
			}
			return 0;
		}
		if (errno != EEXIST) {
			(void)asprintf(err, "%s: %s", v->scratch, strerror(errno));
			free(root);
			return -1;
		}
	}
	free(root);
	free(v->scratch);
	v->scratch = NULL;
	*err = strdup("could not create a VM scratch directory");
	return -1;
}

static int connect_in_scratch(struct qemu_vm *v, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s",
	    v->dirfd, name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* ---- process state ---- */

static int reap(struct qemu_vm *v, int block)
{
	if (v->reaped || v->pid <= 0)
		return 1;
	int st;
	pid_t r;
	do
		r = waitpid(v->pid, &st, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == v->pid) {
		v->reaped = 1;
		v->status = st;
		return 1;
	}
	if (r < 0 && errno == ECHILD) {
		/* Someone else reaped it (a runner-wide reaper). */
		v->reaped = 1;
		v->status = -1;
		return 1;
	}
	return 0;
}

static int read_tail(struct qemu_vm *v, const char *file, size_t max,
    char **out, size_t *len)
{
	return vmm_file_tail(v->dirfd, file, max, out, len);
}

/* Scans console bytes not yet looked at for a kernel panic. */
static int scan_panic(struct qemu_vm *v)
{
	if (v->panicked)
		return 1;
	int fd = openat(v->dirfd, "console.log", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char buf[65536];
	off_t pos = v->panic_scanned;
	/* Overlap so a needle split across reads is still found. */
	off_t from = pos > (off_t)sizeof(PANIC_NEEDLE) ?
	    pos - (off_t)sizeof(PANIC_NEEDLE) : 0;
	ssize_t n;
	while ((n = pread(fd, buf, sizeof(buf) - 1, from)) > 0) {
		buf[n] = 0;
		if (memmem(buf, (size_t)n, PANIC_NEEDLE,
		    strlen(PANIC_NEEDLE))) {
			v->panicked = 1;
			break;
		}
		pos = from + n;
		if (n < (ssize_t)sizeof(buf) - 1)
			break;      /* short read: end of the file for now */
		from = pos - (off_t)sizeof(PANIC_NEEDLE);
	}
	v->panic_scanned = pos;
	close(fd);
	return v->panicked;
}

static char *exit_text(struct qemu_vm *v)
{
	if (v->status == -1)
		return strdup("QEMU exited");
	char *d = spawn_describe(v->status);
	char *s = NULL;
	(void)asprintf(&s, "QEMU %s", d ? d : "exited");
	free(d);
	return s;
}

static int q_boot_check(struct vmm_vm *vm, char **why)
{
	struct qemu_vm *v = qvm(vm);
	if (reap(v, 0)) {
		/* panic=-1 + -no-reboot: a panic is also why QEMU exited */
		*why = scan_panic(v) ? strdup("guest kernel panic") : exit_text(v);
		return 1;
	}
	if (scan_panic(v)) {
		*why = strdup("guest kernel panic");
		return 1;
	}
	return 0;
}

static int wait_exit(struct qemu_vm *v, unsigned ms);

static char *q_boot_failed(struct vmm_vm *vm, const char *why)
{
	struct qemu_vm *v = qvm(vm);
	char *con = NULL, *qerr = NULL, *state = NULL, *msg = NULL;
	size_t clen = 0, qlen = 0;
	/*
	 * A dying QEMU closes its sockets before it can be reaped: give it a
	 * moment, so "agent channel closed" comes with the real cause.
	 */
	if (scan_panic(v))
		state = strdup("guest kernel panic");
	else if (wait_exit(v, 200))
		state = exit_text(v);
	if (read_tail(v, "console.log", VMM_CONSOLE_EXCERPT, &con, &clen) < 0)
		con = NULL;
	if (v->reaped && read_tail(v, "qemu.stderr", 1024, &qerr, &qlen) < 0)
		qerr = NULL;
	(void)asprintf(&msg, "VM `%s` (cid %u) failed to boot: %s%s%s%s%s%s"
	    "\n--- guest console (last bytes) ---\n%s%s"
	    "--- end of guest console ---",
	    v->name, v->cid, why ? why : "agent did not answer",
	    state && (!why || !strstr(why, state)) ? " (" : "",
	    state && (!why || !strstr(why, state)) ? state : "",
	    state && (!why || !strstr(why, state)) ? ")" : "",
	    qerr && qlen ? "\nQEMU stderr: " : "", qerr && qlen ? qerr : "",
	    con ? con : "(no console output)\n",
	    con && clen && con[clen - 1] != '\n' ? "\n" : "");
	free(con);
	free(qerr);
	free(state);
	return msg;
}

static int q_console_tail(struct vmm_vm *vm, size_t max, char **out,
    size_t *len)
{
	return read_tail(qvm(vm), "console.log", max, out, len);
}

/* ---- QMP ops ---- */

static int need_qmp(struct qemu_vm *v, char **err)
{
	if (v->qmp)
		return 0;
	(void)asprintf(err, "VM `%s`: no QMP connection", v->name);
	return -1;
}

static int q_pause(struct vmm_vm *vm, char **err)
{
	struct qemu_vm *v = qvm(vm);
	if (need_qmp(v, err) < 0)
		return -1;
	return qmp_execute(v->qmp, "stop", NULL, QEMU_QMP_S, NULL, err);
}

static int q_resume(struct vmm_vm *vm, char **err)
{
	struct qemu_vm *v = qvm(vm);
	if (need_qmp(v, err) < 0)
		return -1;
	return qmp_execute(v->qmp, "cont", NULL, QEMU_QMP_S, NULL, err);
}

/* 'path' quoted for the sh -c that QEMU's exec: migration runs. */
static char *shell_quote(const char *s)
{
	size_t n = 2;
	for (const char *p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	char *r = malloc(n + 1), *w = r;
	if (!r)
		return NULL;
	*w++ = '\'';
	for (; *s; s++) {
		if (*s == '\'') {
			memcpy(w, "'\\''", 4);
			w += 4;
		} else {
			*w++ = *s;
		}
	}
	*w++ = '\'';
	*w = 0;
	return r;
}

static char *abs_path(const char *p)
{
	char *r = NULL;
	if (*p == '/')
		return strdup(p);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (asprintf(&r, "%s/%s", cwd, p) < 0)
		return NULL;
	return r;
}

static int q_snapshot(struct vmm_vm *vm, const char *path, char **err)
{
	struct qemu_vm *v = qvm(vm);
	if (need_qmp(v, err) < 0)
		return -1;
	/*
	 * QEMU 7.2 has no file: URI; exec: runs sh -c in QEMU's cwd.  QEMU
	 * says "completed" once it has written into the pipe, while zstd may
	 * still be writing the file: zstd writes <path>.part and renames it
	 * when done, and the snapshot is complete only once <path> exists.
	 */
	char *ap = abs_path(path), *part = NULL, *q = NULL, *qp = NULL, *uri = NULL;
	if (ap && asprintf(&part, "%s.part", ap) >= 0) {
		q = shell_quote(ap);
		qp = shell_quote(part);
	}
	if (!q || !qp || asprintf(&uri, "exec:zstd -q -1 > %s && mv -f %s %s",
	    qp, qp, q) < 0) {
		free(ap), free(part), free(q), free(qp);
		*err = strdup("out of memory");
		return -1;
	}
	free(q), free(qp);
	(void)unlink(ap);
	(void)unlink(part);
	if (qmp_execute(v->qmp, "stop", NULL, QEMU_QMP_S, NULL, err) < 0) {
		free(uri), free(ap), free(part);
		return -1;
	}
	int rc = qmp_execute(v->qmp, "migrate", json_pack("{s:s}", "uri", uri),
	    QEMU_QMP_S, NULL, err);
	free(uri);
	if (rc < 0) {
		free(ap), free(part);
		return -1;
	}
	rc = -1;
	double deadline = now_s() + QEMU_MIGRATE_S;
	while (now_s() < deadline) {
		json_t *r = NULL;
		if (qmp_execute(v->qmp, "query-migrate", NULL, QEMU_QMP_S, &r,
		    err) < 0)
			return -1;
		const char *st = json_string_value(json_object_get(r, "status"));
		if (st && strcmp(st, "completed") == 0) {
			json_decref(r);
			/* and zstd has flushed and renamed its output */
			while (now_s() < deadline && access(ap, F_OK) != 0)
				sleep_ms(5);
			if (access(ap, F_OK) == 0) {
				rc = 0;
			} else {
				(void)unlink(part);
				(void)asprintf(err, "snapshot of VM `%s` to %s: zstd "
				    "did not finish writing it", v->name, path);
			}
			free(ap), free(part);
			return rc;
		}
		if (st && (strcmp(st, "failed") == 0 ||
		    strcmp(st, "cancelled") == 0)) {
			const char *d = json_string_value(json_object_get(r,
			    "error-desc"));
			(void)asprintf(err, "snapshot of VM `%s` to %s failed: %s",
			    v->name, path, d ? d : st);
			json_decref(r);
			(void)unlink(part);
			free(ap), free(part);
			return -1;
		}
		json_decref(r);
		sleep_ms(20);
	}
	(void)asprintf(err, "snapshot of VM `%s` to %s did not complete in %.0f s",
	    v->name, path, QEMU_MIGRATE_S);
	(void)unlink(part);
	free(ap), free(part);
	return -1;
}

/* ---- accessors ---- */

static int q_agent_fd(const struct vmm_vm *vm)
{
	return cqvm(vm)->agent_fd;
}

static unsigned q_caps(const struct vmm_vm *vm)
{
	(void)vm;
	return VMM_CAP_CONSOLE | VMM_CAP_PAUSE | VMM_CAP_SNAPSHOT;
}

static uint32_t q_cid(const struct vmm_vm *vm)
{
	return cqvm(vm)->cid;
}

static pid_t q_pid(const struct vmm_vm *vm)
{
	return cqvm(vm)->pid;
}

static int q_exited(struct vmm_vm *vm)
{
	return reap(qvm(vm), 0);
}

/* ---- destroy ---- */

static int wait_exit(struct qemu_vm *v, unsigned ms)
{
	double deadline = now_s() + ms / 1000.0;
	for (;;) {
		if (reap(v, 0))
			return 1;
		if (now_s() >= deadline)
			return 0;
		sleep_ms(10);
	}
}

static void q_destroy(struct vmm_vm *vm, unsigned grace_ms)
{
	struct qemu_vm *v = qvm(vm);
	if (v->pid > 0 && !wait_exit(v, grace_ms)) {
		char *e = NULL;
		if (v->qmp && qmp_execute(v->qmp, "quit", NULL, 1.0, NULL, &e) == 0)
			wait_exit(v, QEMU_QUIT_MS);
		free(e);
		if (!reap(v, 0)) {
			kill(v->pid, SIGKILL);
			reap(v, 1);
		}
	}
	qmp_close(v->qmp);
	if (v->agent_fd >= 0)
		close(v->agent_fd);
	/* PROVIUM_KEEP_SCRATCH=1 keeps console.log & co. for debugging. */
	const char *keep = getenv("PROVIUM_KEEP_SCRATCH");
	if (keep && strcmp(keep, "1") == 0) {
		if (v->dirfd >= 0)
			close(v->dirfd);
		v->dirfd = -1;
		free(v->scratch);
		v->scratch = NULL;
	}
	rm_scratch(v);
	free(v->scratch);
	free(v->name);
	free(v);
}

/* ---- boot ---- */

static char *build_cmdline(const struct vmm_boot_opts *o, bool microvm,
    unsigned long tsc_khz, char **err)
{
	const struct profile *p = o->profile;
	char *base = o->kernel_cmdline ? strdup(o->kernel_cmdline) :
	    profile_cmdline(p, err);
	if (!base) {
		if (!*err)
			*err = strdup("out of memory");
		return NULL;
	}
	char *c = NULL;
	int r = asprintf(&c, "%s%s%s", base,
	    o->kernel_cmdline_append && *o->kernel_cmdline_append ? " " : "",
	    o->kernel_cmdline_append ? o->kernel_cmdline_append : "");
	free(base);
	if (r < 0) {
		*err = strdup("out of memory");
		return NULL;
	}
	/* The console log is ttyS0: boot messages and panics must reach it. */
	if (!strstr(c, "console=ttyS0")) {
		char *t = NULL;
		r = asprintf(&t, "%s%sconsole=ttyS0", c, *c ? " " : "");
		free(c);
		if (r < 0) {
			*err = strdup("out of memory");
			return NULL;
		}
		c = t;
	}
	/*
	 * Under TCG the guest's TSC is the host's, constant and of known
	 * rate: say so, or the clocksource watchdog, comparing it with
	 * jiffies that a loaded host delivers late, may drop the guest to
	 * the 4 ms refined-jiffies clock in the middle of a test.
	 */
	if (microvm && !strstr(c, "tsc_early_khz=")) {
		char *t = NULL;
		r = asprintf(&t, "%s tsc_early_khz=%lu tsc=reliable", c, tsc_khz);
		free(c);
		if (r < 0) {
			*err = strdup("out of memory");
			return NULL;
		}
		c = t;
	}
	if (p->inject_agent) {
		char *t = overlay_cmdline(c, err);
		free(c);
		c = t;
	}
	return c;
}

/* build_args flags: the interactive console (provium console) wants the
 * serial port on stdio and no QMP; the agent channel only on request. */
#define BA_CONSOLE  1
#define BA_NO_AGENT 2

static int build_args(struct args *a, const struct vmm_boot_opts *o,
    const char *initrd, const char *cmdline,
    enum accel_mode accel, bool microvm, int flags, char **err)
{
	uint64_t mem = o->memory_bytes ? o->memory_bytes : VMM_DEFAULT_MEMORY;
	unsigned cpus = o->cpus ? o->cpus : VMM_DEFAULT_CPUS;
	arg(a, QEMU_BIN);
	arg(a, "-accel");
	arg(a, accel == ACCEL_KVM ? "kvm" : "tcg");
	if (accel == ACCEL_KVM) {
		arg(a, "-cpu");
		arg(a, "host");
	}
	arg(a, "-machine");
	arg(a, microvm ? "microvm" : "q35");
	arg(a, "-m");
	argf(a, "%lluM", (unsigned long long)((mem + (1 << 20) - 1) >> 20));
	arg(a, "-smp");
	argf(a, "%u", cpus);
	arg(a, "-nodefaults");
	arg(a, "-no-user-config");
	arg(a, "-display");
	arg(a, "none");
	arg(a, "-no-reboot");
	if (!o->restore_from) {
		arg(a, "-kernel");
		arg(a, o->profile->kernel);
		if (initrd) {
			arg(a, "-initrd");
			arg(a, initrd);
		}
		arg(a, "-append");
		arg(a, cmdline);
	}
	arg(a, "-serial");
	arg(a, flags & BA_CONSOLE ? "mon:stdio" : "file:console.log");
	if (!(flags & BA_NO_AGENT)) {
		arg(a, "-device");
		arg(a, microvm ? "virtio-serial-device,id=vs0" :
		    "virtio-serial-pci,id=vs0");
		arg(a, "-chardev");
		arg(a, "socket,id=agent,path=agent.sock,server=on,wait=off");
		arg(a, "-device");
		arg(a, "virtserialport,bus=vs0.0,chardev=agent,name=agent");
	}
	if (!(flags & BA_CONSOLE)) {
		arg(a, "-qmp");
		arg(a, "unix:qmp.sock,server=on,wait=off");
	}
	if (o->has_rng_seed) {
		arg(a, "-fw_cfg");
		argf(a, "name=opt/provium/rng-seed,string=%016llx",
		    (unsigned long long)o->rng_seed);
	}
	if (o->has_initial_time) {
		time_t t = (time_t)o->initial_time;
		struct tm tm;
		char buf[64];
		if (!gmtime_r(&t, &tm) ||
		    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm)) {
			(void)asprintf(err, "initial_time %lld is out of range",
			    (long long)o->initial_time);
			return -1;
		}
		arg(a, "-rtc");
		argf(a, "base=%s,clock=vm", buf);
	}
	if (o->restore_from) {
		char *ap = abs_path(o->restore_from);
		char *q = ap ? shell_quote(ap) : NULL;
		free(ap);
		if (!q) {
			*err = strdup("out of memory");
			return -1;
		}
		arg(a, "-incoming");
		argf(a, "exec:zstd -q -dc < %s", q);
		free(q);
	}
	for (size_t i = 0; i < o->nnics; i++) {
		const struct vmm_nic *n = &o->nics[i];
		if (strchr(n->socket, ',') || strchr(n->id, ',')) {
			(void)asprintf(err, "NIC socket path %s contains ','",
			    n->socket);
			return -1;
		}
		arg(a, "-netdev");
		argf(a, "stream,id=%s,server=off,addr.type=unix,addr.path=%s",
		    n->id, n->socket);
		arg(a, "-device");
		/* romfile=: no iPXE option ROM, we boot the kernel directly. */
		argf(a, "%s,netdev=%s,mac=%02x:%02x:%02x:%02x:%02x:%02x%s",
		    microvm ? "virtio-net-device" : "virtio-net-pci", n->id,
		    n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4],
		    n->mac[5], microvm ? "" : ",romfile=");
	}
	if (a->failed) {
		*err = strdup("out of memory");
		return -1;
	}
	return 0;
}

/* Waits for QEMU's QMP socket; fails as soon as QEMU exits. */
static int connect_qmp(struct qemu_vm *v, char **err)
{
	double deadline = now_s() + QEMU_START_S;
	for (;;) {
		int fd = connect_in_scratch(v, "qmp.sock");
		if (fd >= 0) {
			char *qerr = NULL;
			if (qmp_open(fd, QEMU_QMP_S, &v->qmp, &qerr) == 0)
				return 0;
			*err = q_boot_failed(&v->base, qerr);
			free(qerr);
			return -1;
		}
		if (reap(v, 0)) {
			char *why = exit_text(v);
			*err = q_boot_failed(&v->base, why);
			free(why);
			return -1;
		}
		if (now_s() > deadline) {
			*err = q_boot_failed(&v->base,
			    "QEMU did not open its QMP socket in 10 s");
			return -1;
		}
		sleep_ms(2);
	}
}

static int finish_incoming(struct qemu_vm *v, char **err)
{
	double deadline = now_s() + QEMU_INCOMING_S;
	for (;;) {
		char *st = qmp_status(v->qmp, QEMU_QMP_S, err);
		if (!st)
			return -1;
		int waiting = strcmp(st, "inmigrate") == 0;
		free(st);
		if (!waiting)
			break;
		if (reap(v, 0) || now_s() > deadline) {
			char *why = reap(v, 0) ? exit_text(v) :
			    strdup("restore did not finish in time");
			*err = q_boot_failed(&v->base, why);
			free(why);
			return -1;
		}
		sleep_ms(5);
	}
	return qmp_execute(v->qmp, "cont", NULL, QEMU_QMP_S, NULL, err);
}

static int q_boot(const struct vmm_boot_opts *o, struct vmm_vm **out,
    char **err)
{
	*err = NULL;
	const struct profile *p = o->profile;
	if (!p) {
		*err = strdup("the qemu backend needs a profile");
		return -1;
	}
	if (!o->restore_from && profile_check_paths(p, err) < 0)
		return -1;
	enum accel_mode accel;
	if (pick_accel(&accel, err) < 0)
		return -1;
	struct qemu_vm *v = calloc(1, sizeof(*v));
	if (!v) {
		*err = strdup("out of memory");
		return -1;
	}
	v->base.ops = &vmm_qemu_ops;
	v->cid = o->cid;
	v->dirfd = -1;
	v->agent_fd = -1;
	v->name = strdup(o->vm_name ? o->vm_name : "vm");
	struct args a = { 0 };
	char *initrd = NULL, *cmdline = NULL;
	if (!v->name || make_scratch(v, err) < 0)
		goto fail;

	const char *machine = getenv("PROVIUM_MACHINE");
	unsigned long tsc_khz = host_tsc_khz();
	bool microvm = machine && *machine ? strcmp(machine, "microvm") == 0 :
	    tsc_khz != 0;
	if (!o->restore_from) {
		if (overlay_initrd(p, &initrd, err) < 0)
			goto fail;
		if (o->nfiles) {
			char *with = NULL;
			if (asprintf(&with, "%s/initrd.cpio", v->scratch) < 0) {
				*err = strdup("out of memory");
				goto fail;
			}
			if (overlay_with_files(initrd, o->files, o->nfiles, with,
			    err) < 0) {
				free(with);
				goto fail;
			}
			free(initrd);
			initrd = with;
		}
		cmdline = build_cmdline(o, microvm && tsc_khz, tsc_khz, err);
		if (!cmdline)
			goto fail;
	}
	if (build_args(&a, o, initrd, cmdline, accel, microvm, 0, err) < 0)
		goto fail;
	if (o->verbose) {
		fprintf(stderr, "provium: VM `%s` (cid %u):", v->name, v->cid);
		for (size_t i = 0; i < a.n; i++)
			fprintf(stderr, " %s", a.v[i]);
		fprintf(stderr, "\n");
	}
	int efd = openat(v->dirfd, "qemu.stderr",
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (efd < 0) {
		(void)asprintf(err, "%s/qemu.stderr: %s", v->scratch,
		    strerror(errno));
		goto fail;
	}
	struct spawn_opts so = SPAWN_OPTS_INIT;
	so.cwd = v->scratch;
	so.fds[0] = (struct spawn_fd){ efd, 1 };
	so.fds[1] = (struct spawn_fd){ efd, 2 };
	so.nfds = 2;
	so.pdeathsig = true;
	char *serr = NULL;
	int rc = spawn_start(a.v, &so, &v->pid, &serr);
	close(efd);
	if (rc < 0) {
		(void)asprintf(err, "could not start QEMU: %s (is "
		    "qemu-system-x86 installed? `make deps`)", serr);
		free(serr);
		goto fail;
	}
	if (connect_qmp(v, err) < 0)
		goto fail;
	if (o->restore_from && finish_incoming(v, err) < 0)
		goto fail;
	v->agent_fd = connect_in_scratch(v, "agent.sock");
	if (v->agent_fd < 0) {
		char *why = NULL;
		(void)asprintf(&why, "agent socket: %s", strerror(errno));
		*err = q_boot_failed(&v->base, why);
		free(why);
		goto fail;
	}
	args_free(&a);
	free(initrd);
	free(cmdline);
	*out = &v->base;
	return 0;
fail:
	args_free(&a);
	free(initrd);
	free(cmdline);
	q_destroy(&v->base, 0);
	return -1;
}

/* ---- provium console ---- */

int vmm_qemu_console_argv(const struct vmm_boot_opts *o, bool agent,
    const char *qemu, char ***argv, char **err)
{
	struct profile p = *o->profile;
	struct vmm_boot_opts co = *o;
	struct args a = { 0 };
	enum accel_mode accel;
	char *initrd = NULL, *cmdline = NULL;
	const char *machine = getenv("PROVIUM_MACHINE");
	unsigned long tsc_khz = host_tsc_khz();
	bool microvm = machine && *machine ? strcmp(machine, "microvm") == 0 :
	    tsc_khz != 0;
	int rc = -1;

	*err = NULL;
	*argv = NULL;
	p.inject_agent = agent && o->profile->inject_agent;
	co.profile = &p;
	if (pick_accel(&accel, err) < 0)
		return -1;
	if (p.inject_agent) {
		if (overlay_initrd(&p, &initrd, err) < 0)
			return -1;
	} else if (p.initrd && *p.initrd && (initrd = strdup(p.initrd)) == NULL) {
		*err = strdup("out of memory");
		return -1;
	}
	if ((cmdline = build_cmdline(&co, microvm && tsc_khz, tsc_khz, err)) == NULL)
		goto out;
	if (build_args(&a, &co, initrd, cmdline, accel, microvm,
	    BA_CONSOLE | (agent ? 0 : BA_NO_AGENT), err) < 0)
		goto out;
	if (qemu && *qemu) {
		free(a.v[0]);
		if ((a.v[0] = strdup(qemu)) == NULL) {
			a.v[0] = strdup("");
			*err = strdup("out of memory");
			goto out;
		}
	}
	*argv = a.v;
	a.v = NULL;
	a.n = 0;
	rc = 0;
out:
	args_free(&a);
	free(initrd);
	free(cmdline);
	return rc;
}

void vmm_qemu_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

const struct vmm_backend_ops vmm_qemu_ops = {
	.name = "qemu",
	.boot = q_boot,
	.agent_fd = q_agent_fd,
	.caps = q_caps,
	.cid = q_cid,
	.pid = q_pid,
	.exited = q_exited,
	.boot_check = q_boot_check,
	.boot_failed = q_boot_failed,
	.console_tail = q_console_tail,
	.pause = q_pause,
	.resume = q_resume,
	.snapshot = q_snapshot,
	.destroy = q_destroy,
};
