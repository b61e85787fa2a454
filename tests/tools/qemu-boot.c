/*
 * qemu-boot: boots real VMs through vm/vmm.h, for the smoke test and
 * bench/boot.
 *
 *   qemu-boot hello [opts]      boot, hello -> hello_ok, shut down
 *   qemu-boot marker [opts] --initrd F
 *                               boot F without the agent, wait for the
 *                               console line PROVIUM-BENCH-MARKER
 *   qemu-boot mkinitrd OUT INIT a newc cpio with INIT as /init
 *
 * opts: -n N (runs; prints each time and the median), --profile NAME,
 * --config PATH, --append STR, --cmdline STR, --file PATH=CONTENT,
 * --expect-fail SUBSTR (the boot must fail with an error containing it),
 * --snapshot PATH (after hello: snapshot, restore, hello again),
 * --kill-after SECS (SIGKILL QEMU that long into the hello wait),
 * --initial-time EPOCH (also sets rng_seed 0x1234), --pause (after hello:
 * pause, the agent must stay silent, resume, it must answer),
 * --check-files (read each --file back with the real agent),
 * --read PATH (print a guest file, real agent) [--read-after SECS], -v.
 * Prints "hello_ok: 1.234 s" lines and "median: 1.234 s"; exit 0 = ok.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events/frame.h"
#include "events/mp.h"
#include "events/proto.h"
#include "vm/overlay.h"
#include "vm/profile.h"
#include "vm/vmm.h"

#define MARKER "PROVIUM-BENCH-MARKER"

struct opts {
	const char *mode;
	int runs;
	const char *profile, *config, *append, *cmdline, *expect_fail;
	const char *snapshot, *initrd;
	double kill_after;
	int pause_test;
	int check_files;
	const char *read;
	double read_after;
	long long initial_time;
	int has_time;
	struct vmm_file files[8];
	size_t nfiles;
	int verbose;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int send_hello(int fd)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	mp_kv_u64(&pk, "id", 1);
	mp_kv_str(&pk, "kind", "hello");
	mp_str(&pk, "data");
	msgpack_pack_map(&pk, 1);
	mp_kv_u64(&pk, "protocol_version", PROTOCOL_VERSION);
	int rc = frame_write_sbuf(fd, &sb, FRAME_MAX_AGENT);
	msgpack_sbuffer_destroy(&sb);
	return rc == FRAME_OK ? 0 : -1;
}

/* Waits for hello_ok; on failure *err = the vmm_boot_failed message. */
static int wait_hello(struct vmm_vm *vm, double timeout, double kill_after,
    char **err)
{
	double t0 = now_s();
	int fd = vmm_agent_fd(vm);
	if (send_hello(fd) < 0) {
		*err = vmm_boot_failed(vm, "could not send hello");
		return -1;
	}
	double deadline = now_s() + timeout;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, 100);
		if (r > 0) {
			uint8_t *body = NULL;
			size_t len;
			int st = frame_read(fd, FRAME_MAX_AGENT, &body, &len);
			if (st != FRAME_OK) {
				char *why = NULL;
				char *w2 = NULL;
				vmm_boot_check(vm, &w2);
				(void)asprintf(&why, "agent channel: %s%s%s",
				    frame_strerror(st), w2 ? "; " : "",
				    w2 ? w2 : "");
				*err = vmm_boot_failed(vm, why);
				free(why);
				free(w2);
				return -1;
			}
			msgpack_unpacked u;
			const msgpack_object *m;
			msgpack_unpacked_init(&u);
			int ok = frame_decode(body, len, &u, &m) == FRAME_OK &&
			    mp_obj_is_str(mp_get(m, "kind"), "hello_ok");
			msgpack_unpacked_destroy(&u);
			free(body);
			if (!ok) {
				*err = vmm_boot_failed(vm, "agent answered hello "
				    "with something other than hello_ok");
				return -1;
			}
			return 0;
		}
		if (kill_after > 0 && now_s() - t0 > kill_after) {
			kill(vmm_pid(vm), SIGKILL);
			kill_after = 0;
		}
		char *why = NULL;
		if (vmm_boot_check(vm, &why)) {
			*err = vmm_boot_failed(vm, why);
			free(why);
			return -1;
		}
		if (now_s() > deadline) {
			char *w = NULL;
			(void)asprintf(&w, "agent did not answer hello within %.0f s",
			    timeout);
			*err = vmm_boot_failed(vm, w);
			free(w);
			return -1;
		}
	}
}

static int wait_marker(struct vmm_vm *vm, double timeout, char **err)
{
	double deadline = now_s() + timeout;
	for (;;) {
		char *tail = NULL;
		size_t len = 0;
		if (vmm_console_tail(vm, 65536, &tail, &len) == 0) {
			int found = memmem(tail, len, MARKER, strlen(MARKER)) != NULL;
			free(tail);
			if (found)
				return 0;
		}
		char *why = NULL;
		if (vmm_boot_check(vm, &why)) {
			*err = vmm_boot_failed(vm, why);
			free(why);
			return -1;
		}
		if (now_s() > deadline) {
			*err = vmm_boot_failed(vm, "no marker on the console");
			return -1;
		}
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
}

/* read_file through the real agent; malloc'd *data, or -1. */
static int agent_read_file(int fd, uint64_t id, const char *path,
    char **data, size_t *dlen)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	mp_kv_u64(&pk, "id", id);
	mp_kv_str(&pk, "kind", "read_file");
	mp_str(&pk, "data");
	msgpack_pack_map(&pk, 1);
	mp_kv_str(&pk, "path", path);
	int st = frame_write_sbuf(fd, &sb, FRAME_MAX_AGENT);
	msgpack_sbuffer_destroy(&sb);
	uint8_t *body = NULL;
	size_t len;
	if (st != FRAME_OK ||
	    frame_read(fd, FRAME_MAX_AGENT, &body, &len) != FRAME_OK)
		return -1;
	msgpack_unpacked u;
	const msgpack_object *m;
	const char *d = NULL;
	msgpack_unpacked_init(&u);
	int ok = frame_decode(body, len, &u, &m) == FRAME_OK &&
	    mp_obj_is_str(mp_get(mp_get(m, "data"), "outcome"), "ok") &&
	    mp_get_bin(mp_get(mp_get(m, "data"), "value"), "data", &d,
	    dlen) == 0;
	if (ok) {
		*data = malloc(*dlen + 1);
		if (*data) {
			memcpy(*data, d, *dlen);
			(*data)[*dlen] = 0;
		}
		ok = *data != NULL;
	}
	msgpack_unpacked_destroy(&u);
	free(body);
	return ok ? 0 : -1;
}

/* Reads each boot file back through the real agent's read_file. */
static int check_files(struct vmm_vm *vm, const struct opts *o)
{
	for (size_t i = 0; i < o->nfiles; i++) {
		char *data = NULL;
		size_t dlen = 0;
		int ok = agent_read_file(vmm_agent_fd(vm), 100 + i,
		    o->files[i].path, &data, &dlen) == 0 &&
		    dlen == o->files[i].len &&
		    memcmp(data, o->files[i].content, dlen) == 0;
		free(data);
		if (!ok) {
			fprintf(stderr, "qemu-boot: boot file %s: wrong or missing "
			    "in the guest\n", o->files[i].path);
			return -1;
		}
		printf("boot file %s: ok\n", o->files[i].path);
	}
	if (o->read) {
		struct timespec ts = { (time_t)o->read_after,
			(long)((o->read_after - (time_t)o->read_after) * 1e9) };
		nanosleep(&ts, NULL);
		char *data = NULL;
		size_t dlen = 0;
		if (agent_read_file(vmm_agent_fd(vm), 99, o->read, &data,
		    &dlen) < 0) {
			fprintf(stderr, "qemu-boot: read_file %s failed\n", o->read);
			return -1;
		}
		printf("%s: %s%s", o->read, data,
		    dlen && data[dlen - 1] == '\n' ? "" : "\n");
		free(data);
	}
	return 0;
}

/*
 * A paused guest must not answer; once resumed it must.  Needs an agent
 * that answers every frame (tests/guest/fake-agent.c).
 */
static int pause_check(struct vmm_vm *vm)
{
	char *err = NULL;
	int fd = vmm_agent_fd(vm);
	if (vmm_pause(vm, &err) < 0 || send_hello(fd) < 0) {
		fprintf(stderr, "qemu-boot: pause: %s\n", err ? err : "send");
		free(err);
		return -1;
	}
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 500) != 0) {
		fprintf(stderr, "qemu-boot: a paused guest answered\n");
		return -1;
	}
	double t0 = now_s();
	if (vmm_resume(vm, &err) < 0 || poll(&p, 1, 5000) != 1) {
		fprintf(stderr, "qemu-boot: resume: %s\n", err ? err : "no answer");
		free(err);
		return -1;
	}
	uint8_t *body = NULL;
	size_t len;
	if (frame_read(fd, FRAME_MAX_AGENT, &body, &len) != FRAME_OK) {
		fprintf(stderr, "qemu-boot: resume: bad frame\n");
		return -1;
	}
	free(body);
	printf("pause: silent for 0.5 s; answered %.3f s after resume\n",
	    now_s() - t0);
	return 0;
}

static int one_run(const struct opts *o, const struct profile *p,
    uint32_t cid, double *secs)
{
	struct vmm_boot_opts bo = {
		.vm_name = "smoke", .profile = p, .cid = cid,
		.kernel_cmdline = o->cmdline, .kernel_cmdline_append = o->append,
		.files = o->files, .nfiles = o->nfiles, .verbose = o->verbose,
		.has_initial_time = o->has_time, .initial_time = o->initial_time,
		.has_rng_seed = o->has_time, .rng_seed = 0x1234,
	};
	struct vmm_vm *vm = NULL;
	char *err = NULL;
	double t0 = now_s();
	int marker = strcmp(o->mode, "marker") == 0;
	if (vmm_boot(VMM_BACKEND_QEMU, &bo, &vm, &err) < 0 ||
	    (marker ? wait_marker(vm, p->agent_boot_timeout, &err) :
	    wait_hello(vm, p->agent_boot_timeout, o->kill_after, &err)) < 0) {
		vmm_destroy(vm, 0);
		if (o->expect_fail && err && strstr(err, o->expect_fail)) {
			printf("failed as expected after %.3f s:\n%s\n",
			    now_s() - t0, err);
			free(err);
			return 0;
		}
		fprintf(stderr, "qemu-boot: %s\n", err ? err : "boot failed");
		free(err);
		return -1;
	}
	*secs = now_s() - t0;
	if (o->expect_fail) {
		fprintf(stderr, "qemu-boot: boot succeeded, expected a failure "
		    "containing `%s`\n", o->expect_fail);
		vmm_destroy(vm, 0);
		return -1;
	}
	printf("%s: %.3f s (cid %u, pid %d)\n", marker ? "marker" : "hello_ok",
	    *secs, vmm_cid(vm), (int)vmm_pid(vm));
	if (o->check_files && check_files(vm, o) < 0) {
		vmm_destroy(vm, 0);
		return -1;
	}
	if (o->pause_test && pause_check(vm) < 0) {
		vmm_destroy(vm, 0);
		return -1;
	}
	if (o->snapshot && !marker) {
		double s0 = now_s();
		if (vmm_snapshot(vm, o->snapshot, &err) < 0) {
			fprintf(stderr, "qemu-boot: %s\n", err);
			free(err);
			vmm_destroy(vm, 0);
			return -1;
		}
		printf("snapshot: %.3f s\n", now_s() - s0);
		vmm_destroy(vm, 0);
		bo.restore_from = o->snapshot;
		bo.cid = cid + 1000;
		s0 = now_s();
		if (vmm_boot(VMM_BACKEND_QEMU, &bo, &vm, &err) < 0 ||
		    wait_hello(vm, 30, 0, &err) < 0) {
			fprintf(stderr, "qemu-boot: restore: %s\n", err);
			free(err);
			vmm_destroy(vm, 0);
			return -1;
		}
		printf("restore hello_ok: %.3f s\n", now_s() - s0);
	}
	vmm_destroy(vm, marker ? 2000 : 0);
	return 0;
}

static int mkinitrd(const char *out, const char *init)
{
	FILE *f = fopen(init, "rb");
	if (!f) {
		perror(init);
		return 1;
	}
	static char buf[8 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct cpio c = CPIO_INIT;
	char *err = NULL;
	if (cpio_add_file(&c, "/init", 0755, buf, n) < 0 ||
	    cpio_add_chardev(&c, "/dev/console", 0600, 5, 1) < 0 ||
	    cpio_finish(&c) < 0) {
		fprintf(stderr, "mkinitrd: out of memory\n");
		return 1;
	}
	FILE *o = fopen(out, "wb");
	if (!o || fwrite(c.buf, 1, c.len, o) != c.len || fclose(o) != 0) {
		perror(out);
		return 1;
	}
	cpio_release(&c);
	free(err);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .runs = 1, .profile = "linux" };
	if (argc < 2) {
		fprintf(stderr, "usage: qemu-boot hello|marker|mkinitrd ...\n");
		return 100;
	}
	o.mode = argv[1];
	if (strcmp(o.mode, "mkinitrd") == 0)
		return argc == 4 ? mkinitrd(argv[2], argv[3]) : 100;
	if (strcmp(o.mode, "hello") && strcmp(o.mode, "marker")) {
		fprintf(stderr, "qemu-boot: unknown mode %s\n", o.mode);
		return 100;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "-v") == 0) {
			o.verbose = 1;
			continue;
		}
		if (strcmp(a, "--check-files") == 0) {
			o.check_files = 1;
			continue;
		}
		if (strcmp(a, "--pause") == 0) {
			o.pause_test = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "qemu-boot: %s needs a value\n", a);
			return 100;
		}
		i++;
		if (strcmp(a, "-n") == 0)
			o.runs = atoi(v);
		else if (strcmp(a, "--profile") == 0)
			o.profile = v;
		else if (strcmp(a, "--config") == 0)
			o.config = v;
		else if (strcmp(a, "--append") == 0)
			o.append = v;
		else if (strcmp(a, "--cmdline") == 0)
			o.cmdline = v;
		else if (strcmp(a, "--expect-fail") == 0)
			o.expect_fail = v;
		else if (strcmp(a, "--snapshot") == 0)
			o.snapshot = v;
		else if (strcmp(a, "--initial-time") == 0) {
			o.initial_time = atoll(v);
			o.has_time = 1;
		} else if (strcmp(a, "--read-after") == 0) {
			o.read_after = atof(v);
		} else if (strcmp(a, "--read") == 0) {
			o.read = v;
			o.check_files = 1;
		} else if (strcmp(a, "--kill-after") == 0)
			o.kill_after = atof(v);
		else if (strcmp(a, "--initrd") == 0)
			o.initrd = v;
		else if (strcmp(a, "--file") == 0 && o.nfiles < 8) {
			const char *eq = strchr(v, '=');
			if (!eq)
				return 100;
			o.files[o.nfiles].path = strndup(v, (size_t)(eq - v));
			o.files[o.nfiles].content = eq + 1;
			o.files[o.nfiles].len = strlen(eq + 1);
			o.files[o.nfiles].mode = 0644;
			o.nfiles++;
		} else {
			fprintf(stderr, "qemu-boot: unknown option %s\n", a);
			return 100;
		}
	}
	struct profile_config *cfg = NULL;
	char *err = NULL;
	if (profile_config_load(o.config, &cfg, &err) < 0) {
		fprintf(stderr, "qemu-boot: %s\n", err);
		return 1;
	}
	const struct profile *pp = profile_find(cfg, o.profile);
	if (!pp) {
		fprintf(stderr, "qemu-boot: no profile `%s`\n", o.profile);
		return 1;
	}
	struct profile p = *pp;
	if (strcmp(o.mode, "marker") == 0) {
		if (!o.initrd) {
			fprintf(stderr, "qemu-boot: marker needs --initrd\n");
			return 100;
		}
		p.initrd = (char *)o.initrd;
		p.inject_agent = false;
	}
	double *t = calloc((size_t)(o.runs > 0 ? o.runs : 1), sizeof(double));
	int rc = 0, ok = 0;
	for (int i = 0; i < o.runs; i++) {
		if (one_run(&o, &p, 100 + (uint32_t)getpid() % 10000 * 10 +
		    (uint32_t)i, &t[ok]) < 0) {
			rc = 1;
			break;
		}
		if (!o.expect_fail)
			ok++;
	}
	if (ok > 1) {
		qsort(t, (size_t)ok, sizeof(double), cmp_d);
		printf("median: %.3f s (min %.3f, max %.3f, n=%d)\n",
		    ok % 2 ? t[ok / 2] : (t[ok / 2 - 1] + t[ok / 2]) / 2, t[0],
		    t[ok - 1], ok);
	}
	free(t);
	for (size_t i = 0; i < o.nfiles; i++)
		free((char *)o.files[i].path);
	profile_config_free(cfg);
	return rc;
}
