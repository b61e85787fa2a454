/*
 * accel.c: the KVM capability check and timed micro-guest of qemu-facts §2.
 */
#include "vm/accel.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm/spawn.h"

#define PROBE_ITERATIONS 100000u
#define PROBE_MAX_MS     10.0
#define PROBE_ALARM_S    3u

int accel_parse(const char *s, enum accel_mode *m)
{
	if (strcmp(s, "auto") == 0)
		*m = ACCEL_AUTO;
	else if (strcmp(s, "kvm") == 0)
		*m = ACCEL_KVM;
	else if (strcmp(s, "tcg") == 0)
		*m = ACCEL_TCG;
	else
		return -1;
	return 0;
}

const char *accel_name(enum accel_mode m)
{
	return m == ACCEL_KVM ? "kvm" : m == ACCEL_TCG ? "tcg" : "auto";
}

static int cpu_has_virt(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return 0;
	char line[4096];
	int found = 0;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		found = strstr(line, " vmx") || strstr(line, " svm");
		break;
	}
	fclose(f);
	return found || access("/sys/module/kvm_intel", F_OK) == 0 ||
	    access("/sys/module/kvm_amd", F_OK) == 0;
}

int accel_kvm_capable(char **why)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		(void)asprintf(why, "/dev/kvm: %s", strerror(errno));
		return -1;
	}
	int v = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (v != 12) {
		(void)asprintf(why, "/dev/kvm: KVM_GET_API_VERSION is %d, not 12", v);
		return -1;
	}
	if (!cpu_has_virt()) {
		*why = strdup("/dev/kvm works but the CPU has no vmx/svm and no "
		    "kvm_intel/kvm_amd module is loaded (a paravirtual KVM, "
		    "far slower than TCG for a whole guest)");
		return -1;
	}
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Child side: only syscalls.  Exit 0 and the elapsed ms on fd, or exit
 * 2 + stage on setup failure.  alarm() kills it if KVM_RUN never returns.
 */
static int probe_child(int out)
{
	static const unsigned char code[] = {
		0x66, 0xb9, PROBE_ITERATIONS & 0xff,
		(PROBE_ITERATIONS >> 8) & 0xff,
		(PROBE_ITERATIONS >> 16) & 0xff, 0,   /* mov ecx, N */
		0x66, 0x49,                           /* dec ecx */
		0x75, 0xfc,                           /* jnz -4 */
		0xf4,                                 /* hlt */
	};
	alarm(PROBE_ALARM_S);
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return 10;
	int vmfd = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vmfd < 0)
		return 11;
	size_t memsz = 0x2000;
	unsigned char *mem = mmap(NULL, memsz, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 12;
	memcpy(mem + 0x1000, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = memsz,
		.userspace_addr = (unsigned long)mem,
	};
	if (ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return 13;
	int vcpu = ioctl(vmfd, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return 14;
	int runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (runsz <= 0)
		return 15;
	struct kvm_run *run = mmap(NULL, (size_t)runsz, PROT_READ | PROT_WRITE,
	    MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return 16;
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return 17;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return 18;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return 19;
	double t0 = now_ms();
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return 20;
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		if (run->exit_reason != KVM_EXIT_IO &&
		    run->exit_reason != KVM_EXIT_INTR)
			return 21;
	}
	double ms = now_ms() - t0;
	if (write(out, &ms, sizeof(ms)) != (ssize_t)sizeof(ms))
		return 22;
	return 0;
}

static int probe_fn(void *arg)
{
	return probe_child(*(int *)arg);
}

int accel_kvm_probe(double *ms, char **why)
{
	*ms = -1;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		(void)asprintf(why, "KVM probe: pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid;
	char *err = NULL;
	if (spawn_call(probe_fn, &p[1], &pid, &err) < 0) {
		close(p[0]);
		close(p[1]);
		(void)asprintf(why, "KVM probe: %s", err);
		free(err);
		return -1;
	}
	close(p[1]);
	int st = spawn_wait(pid);
	double v;
	ssize_t n = read(p[0], &v, sizeof(v));
	close(p[0]);
	if (st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) {
		(void)asprintf(why, "KVM micro-guest did not finish in %u s",
		    PROBE_ALARM_S);
		return -1;
	}
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    n != (ssize_t)sizeof(v)) {
		char *d = st >= 0 ? spawn_describe(st) : NULL;
		(void)asprintf(why, "KVM micro-guest failed (probe %s)",
		    d ? d : "lost");
		free(d);
		return -1;
	}
	*ms = v;
	if (v > PROBE_MAX_MS) {
		(void)asprintf(why, "KVM micro-guest took %.1f ms for %u "
		    "iterations (hardware virtualisation needs < %.0f ms)", v,
		    PROBE_ITERATIONS, PROBE_MAX_MS);
		return -1;
	}
	return 0;
}

int accel_decide(enum accel_mode mode, enum accel_mode *out, char **why)
{
	char *r = NULL;
	if (mode == ACCEL_TCG) {
		*out = ACCEL_TCG;
		*why = strdup("tcg (--accel tcg)");
		return 0;
	}
	if (mode == ACCEL_KVM) {
		int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			(void)asprintf(why, "--accel kvm: /dev/kvm: %s",
			    strerror(errno));
			return -1;
		}
		close(fd);
		*out = ACCEL_KVM;
		*why = strdup("kvm (--accel kvm)");
		return 0;
	}
	double ms;
	if (accel_kvm_capable(&r) < 0 || accel_kvm_probe(&ms, &r) < 0) {
		*out = ACCEL_TCG;
		(void)asprintf(why, "tcg (KVM not used: %s)", r);
		free(r);
		return 0;
	}
	*out = ACCEL_KVM;
	(void)asprintf(why, "kvm (micro-guest ran in %.2f ms)", ms);
	return 0;
}
