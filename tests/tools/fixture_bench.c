/*
 * fixture_bench: real VMs through the fixture cache (fixtures/flow.h +
 * vm/vmm.h), for bench/fixture.
 *
 *   fixture_bench cold [opts]        boot -> hello_ok -> destroy, N times
 *   fixture_bench restore [opts]     build the fixture once (boot, hello,
 *                                    snapshot into the cache), then N times
 *                                    fixture_flow_get -> restore -> hello_ok,
 *                                    interleaved with N cold boots (so host
 *                                    load hits both alike)
 *   fixture_bench get [opts] --file F
 *                                    one fixture_flow_get as test file F;
 *                                    prints "events: …" and "outcome: hit|built"
 *   fixture_bench files [opts]       F "files" as parallel processes (at most
 *                                    -j at once), each booting one VM to
 *                                    hello_ok: cold, then through one shared
 *                                    fixture (cache emptied first, so one
 *                                    file builds and the others wait or hit)
 *
 * opts: -n N (runs, default 5), -f F (files, default 10), -j J (parallel,
 * default online CPUs), --profile NAME (default linux), --config PATH,
 * --cache DIR (required for restore/files), -v.
 * Prints "key: value" lines (seconds, bytes); exit 0 = every VM answered.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events/frame.h"
#include "events/mp.h"
#include "events/proto.h"
#include "fixtures/cache.h"
#include "fixtures/flow.h"
#include "vm/profile.h"
#include "vm/vmm.h"

struct bench {
	const struct profile *p;
	const char *cache;
	int verbose;
	unsigned nvm;          /* VMs booted by this process, for cids */
	double save_s, ready_s;
	uint64_t snap_bytes;
	char events[256];
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t
next_cid(struct bench *b)
{
	return 100u + (uint32_t)((unsigned)getpid() % 4000000u) * 1000u + b->nvm++;
}

/*
 * A restored agent already did its handshake before the snapshot and says
 * so: it is up and answering, which is what "ready" measures.  (Until the
 * agent accepts a fresh hello after a restore.)
 */
static int
restored_agent(const msgpack_object *m)
{
	const msgpack_object *d = mp_get(m, "data");
	const char *msg;
	size_t n;

	return mp_obj_is_str(mp_get(m, "kind"), "agent_error") && d != NULL &&
	    mp_get_str(d, "message", &msg, &n) == 0 &&
	    n == strlen("hello already done") &&
	    memcmp(msg, "hello already done", n) == 0;
}

/* hello -> hello_ok; frames of other kinds before it are skipped. */
static int
hello(struct bench *b, struct vmm_vm *vm, double timeout, char **err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	double deadline = now_s() + timeout;
	int fd = vmm_agent_fd(vm), rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	mp_kv_u64(&pk, "id", 1);
	mp_kv_str(&pk, "kind", "hello");
	mp_str(&pk, "data");
	msgpack_pack_map(&pk, 1);
	mp_kv_u64(&pk, "protocol_version", PROTOCOL_VERSION);
	rc = frame_write_sbuf(fd, &sb, FRAME_MAX_AGENT);
	msgpack_sbuffer_destroy(&sb);
	if (rc != FRAME_OK) {
		*err = vmm_boot_failed(vm, "could not send hello");
		return -1;
	}
	while (now_s() < deadline) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		msgpack_unpacked u;
		const msgpack_object *m;
		uint8_t *body = NULL;
		size_t len;
		int ok;

		if (poll(&pf, 1, 100) <= 0) {
			char *why = NULL;

			if (vmm_boot_check(vm, &why)) {
				*err = vmm_boot_failed(vm, why);
				free(why);
				return -1;
			}
			continue;
		}
		if (frame_read(fd, FRAME_MAX_AGENT, &body, &len) != FRAME_OK) {
			*err = vmm_boot_failed(vm, "agent channel closed");
			return -1;
		}
		msgpack_unpacked_init(&u);
		ok = frame_decode(body, len, &u, &m) == FRAME_OK &&
		    (mp_obj_is_str(mp_get(m, "kind"), "hello_ok") ||
		    restored_agent(m));
		if (!ok && b->verbose) {
			char *k = mp_obj_strdup(mp_get(m, "kind"));

			fprintf(stderr, "fixture_bench: skipped a `%s` frame: ",
			    k ? k : "?");
			msgpack_object_print(stderr, *m);
			fputc('\n', stderr);
			free(k);
		}
		msgpack_unpacked_destroy(&u);
		free(body);
		if (ok)
			return 0;
	}
	*err = vmm_boot_failed(vm, "agent did not answer hello");
	return -1;
}

/* Boots (or restores from snap) to hello_ok; *vm on success. */
static int
boot_ready(struct bench *b, const char *name, const char *snap,
    struct vmm_vm **vm, char **err)
{
	struct vmm_boot_opts bo = {
		.vm_name = name, .profile = b->p, .cid = next_cid(b),
		.restore_from = snap, .verbose = b->verbose,
	};

	*vm = NULL;
	if (vmm_boot(VMM_BACKEND_QEMU, &bo, vm, err) < 0 ||
	    hello(b, *vm, b->p->agent_boot_timeout, err) < 0) {
		vmm_destroy(*vm, 0);
		*vm = NULL;
		return -1;
	}
	return 0;
}

/* ---- flow callbacks ---- */

static void
ev(void *c, const char *s)
{
	struct bench *b = c;

	strncat(b->events, s, sizeof(b->events) - strlen(b->events) - 1);
}

static void
on_started(void *c, const char *n)
{
	(void)n;
	ev(c, "started ");
}

static void
on_waiting(void *c, const char *n, const char *held)
{
	(void)n;
	(void)held;
	ev(c, "waiting ");
}

static void
on_done(void *c, const char *n, uint64_t ns, uint64_t bytes)
{
	(void)n;
	(void)ns;
	((struct bench *)c)->snap_bytes = bytes;
	ev(c, "done ");
}

static void
on_hit(void *c, const char *n)
{
	(void)n;
	ev(c, "hit ");
}

static int
do_build(void *c, const char *name, const char *tmp, char **meta, char **err)
{
	struct bench *b = c;
	struct vmm_vm *vm;
	double t0;

	if (boot_ready(b, "fixture-build", NULL, &vm, err) < 0)
		return -1;
	t0 = now_s();
	if (vmm_snapshot(vm, tmp, err) < 0) {
		vmm_destroy(vm, 0);
		return -1;
	}
	b->save_s = now_s() - t0;
	vmm_destroy(vm, 0);
	if (asprintf(meta, "{\"profile\":\"%s\"}", b->p->name) < 0)
		*meta = NULL;
	return 0;
}

static int
do_restore(void *c, const char *name, const char *snap, const char *meta,
    char **err)
{
	struct bench *b = c;
	struct vmm_vm *vm;
	double t0 = now_s();

	if (boot_ready(b, "fixture:bench", snap, &vm, err) < 0)
		return -1;
	b->ready_s = now_s() - t0;
	vmm_destroy(vm, 0);
	return 0;
}

static const struct fixture_flow_ops flow_ops = {
	NULL, on_started, on_waiting, on_done, on_hit, do_build, do_restore,
};

static int
via_fixture(struct bench *b, const char *file, double *secs)
{
	struct fixture_flow_ops ops = flow_ops;
	struct fixture_flow_req rq = { b->cache,
	    "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0",
	    "bench/base", file, stderr, 0 };
	char *err = NULL;
	double t0 = now_s();
	int rc;

	ops.ctx = b;
	b->events[0] = '\0';
	rc = fixture_flow_get(&ops, &rq, &err);
	if (rc < 0) {
		fprintf(stderr, "fixture_bench: %s\n", err);
		free(err);
		return -1;
	}
	*secs = now_s() - t0;
	if (b->verbose)
		fprintf(stderr, "fixture_bench: %s: %s\n", file, b->events);
	return rc;
}

static int
cold(struct bench *b, double *secs)
{
	struct vmm_vm *vm;
	char *err = NULL;
	double t0 = now_s();

	if (boot_ready(b, "cold", NULL, &vm, &err) < 0) {
		fprintf(stderr, "fixture_bench: %s\n", err);
		free(err);
		return -1;
	}
	*secs = now_s() - t0;
	vmm_destroy(vm, 0);
	return 0;
}

static int
cmp_d(const void *x, const void *y)
{
	double a = *(const double *)x, c = *(const double *)y;

	return a < c ? -1 : a > c;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* F children, at most J at once; wall time of the whole batch. */
static int
files(struct bench *b, int nfiles, int par, int fixture, double *wall)
{
	double t0 = now_s();
	int started = 0, running = 0, failed = 0, st;

	while (started < nfiles || running > 0) {
		if (started < nfiles && running < par) {
			pid_t pid = fork();

			if (pid == 0) {
				char file[64];
				double s;

				snprintf(file, sizeof(file), "f%02d.test.lua", started);
				_exit((fixture ? via_fixture(b, file, &s) :
				    cold(b, &s)) < 0 ? 1 : 0);
			}
			if (pid < 0)
				return -1;
			started++;
			running++;
			continue;
		}
		if (wait(&st) > 0) {
			running--;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				failed++;
		}
	}
	*wall = now_s() - t0;
	return failed ? -1 : 0;
}

int
main(int argc, char **argv)
{
	struct bench b = { 0 };
	struct profile_config *cfg = NULL;
	const char *mode, *profile = "linux", *config = NULL, *file = "t.test.lua";
	int i, n = 5, nfiles = 10, par = (int)sysconf(_SC_NPROCESSORS_ONLN);
	char *err = NULL;
	double *t, *t2;

	if (argc < 2) {
		fprintf(stderr, "usage: fixture_bench cold|restore|files [opts]\n");
		return 100;
	}
	mode = argv[1];
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-v") == 0) {
			b.verbose = 1;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "fixture_bench: %s needs a value\n", a);
			return 100;
		}
		i++;
		if (strcmp(a, "-n") == 0)
			n = atoi(v);
		else if (strcmp(a, "-f") == 0)
			nfiles = atoi(v);
		else if (strcmp(a, "-j") == 0)
			par = atoi(v);
		else if (strcmp(a, "--profile") == 0)
			profile = v;
		else if (strcmp(a, "--config") == 0)
			config = v;
		else if (strcmp(a, "--cache") == 0)
			b.cache = v;
		else if (strcmp(a, "--file") == 0)
			file = v;
		else {
			fprintf(stderr, "fixture_bench: unknown option %s\n", a);
			return 100;
		}
	}
	if (n < 1 || nfiles < 1 || par < 1 ||
	    (strcmp(mode, "cold") != 0 && b.cache == NULL)) {
		fprintf(stderr, "fixture_bench: bad -n/-f/-j, or --cache missing\n");
		return 100;
	}
	if (profile_config_load(config, &cfg, &err) < 0 ||
	    (b.p = profile_find(cfg, profile)) == NULL) {
		fprintf(stderr, "fixture_bench: %s\n", err ? err : "no such profile");
		return 1;
	}
	t = calloc((size_t)n, sizeof(*t));
	t2 = calloc((size_t)n, sizeof(*t2));
	if (t == NULL || t2 == NULL)
		return 1;
	if (strcmp(mode, "cold") == 0) {
		for (i = 0; i < n; i++)
			if (cold(&b, &t[i]) < 0)
				return 1;
		printf("cold_ready_median: %.3f\n", median(t, n));
	} else if (strcmp(mode, "restore") == 0) {
		size_t removed;

		fixture_cache_clean(b.cache, &removed, &err);
		if (via_fixture(&b, "build.test.lua", &t[0]) != FIXTURE_FLOW_BUILT)
			return 1;
		printf("build_total: %.3f\nsnapshot_save: %.3f\nsnapshot_bytes: %llu\n",
		    t[0], b.save_s, (unsigned long long)b.snap_bytes);
		for (i = 0; i < n; i++) {
			if (cold(&b, &t2[i]) < 0 ||
			    via_fixture(&b, "hit.test.lua", &t[i]) != FIXTURE_FLOW_HIT)
				return 1;
			t[i] = b.ready_s;
		}
		printf("restore_ready_median: %.3f\n", median(t, n));
		printf("cold_ready_median: %.3f\n", median(t2, n));
	} else if (strcmp(mode, "get") == 0) {
		int rc = via_fixture(&b, file, &t[0]);

		printf("events: %s\noutcome: %s\n", b.events,
		    rc == FIXTURE_FLOW_HIT ? "hit" : rc == FIXTURE_FLOW_BUILT ?
		    "built" : "error");
		if (rc < 0)
			return 1;
	} else if (strcmp(mode, "files") == 0) {
		double wc, wf;
		size_t removed;

		if (files(&b, nfiles, par, 0, &wc) < 0)
			return 1;
		fixture_cache_clean(b.cache, &removed, &err);
		if (files(&b, nfiles, par, 1, &wf) < 0)
			return 1;
		printf("files: %d\nparallel: %d\nfiles_cold_wall: %.3f\n"
		    "files_fixture_wall: %.3f\n", nfiles, par, wc, wf);
	} else {
		fprintf(stderr, "fixture_bench: unknown mode %s\n", mode);
		return 100;
	}
	free(t);
	free(t2);
	profile_config_free(cfg);
	return 0;
}
