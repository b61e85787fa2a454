/*
 * fake-agent.c: a stand-in for provium-agent inside a guest, for testing
 * the qemu backend before (or without) the real agent.  Static musl,
 * PID 1 via rdinit: mounts, loads the virtio modules, opens the "agent"
 * port and answers every frame with hello_ok (id 1).  On the kernel
 * command line, "poweroff" makes it power off after the first answer and
 * "fake-exit" makes it exit at once (so the kernel panics).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void load(const char *m)
{
	char p[128];
	snprintf(p, sizeof(p), "/lib/modules/provium/%s.ko", m);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		syscall(SYS_finit_module, fd, "", 0);
		close(fd);
	}
}

static int find_port(char *dev, size_t n)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *de;
	int ok = 0;
	while (d && (de = readdir(d))) {
		char p[256], name[64] = { 0 };
		snprintf(p, sizeof(p), "/sys/class/virtio-ports/%s/name", de->d_name);
		int fd = open(p, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t r = read(fd, name, sizeof(name) - 1);
		close(fd);
		if (r > 0 && strncmp(name, "agent", 5) == 0) {
			snprintf(dev, n, "/dev/%s", de->d_name);
			ok = 1;
			break;
		}
	}
	if (d)
		closedir(d);
	return ok;
}

static int readn(int fd, unsigned char *b, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);
		if (r < 0)
			return -1;
		if (r == 0) {           /* host not connected yet */
			usleep(10000);
			continue;
		}
		got += (size_t)r;
	}
	return 0;
}

int main(void)
{
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	char cmdline[4096] = { 0 };
	int cfd = open("/proc/cmdline", O_RDONLY);
	if (cfd >= 0) {
		ssize_t r = read(cfd, cmdline, sizeof(cmdline) - 1);
		(void)r;
		close(cfd);
	}
	if (strstr(cmdline, "fake-exit"))
		return 1;   /* PID 1 exits: the kernel panics */
	load("virtio_ring");
	load("virtio");
	struct stat st;
	if (stat("/sys/bus/pci/devices/0000:00:00.0", &st) == 0) {
		load("virtio_pci_legacy_dev");
		load("virtio_pci_modern_dev");
		load("virtio_pci");
	} else {
		load("virtio_mmio");
	}
	load("virtio_console");
	char dev[128];
	int fd = -1;
	for (int i = 0; i < 1000 && fd < 0; i++) {
		if (find_port(dev, sizeof(dev)))
			fd = open(dev, O_RDWR);
		if (fd < 0)
			usleep(10000);
	}
	if (fd < 0) {
		fprintf(stderr, "fake-agent: no agent port\n");
		return 1;
	}
	static const unsigned char reply[] = {
		0x83,
		0xa2, 'i', 'd', 0x01,
		0xa4, 'k', 'i', 'n', 'd',
		0xa8, 'h', 'e', 'l', 'l', 'o', '_', 'o', 'k',
		0xa4, 'd', 'a', 't', 'a',
		0x82,
		0xb0, 'p', 'r', 'o', 't', 'o', 'c', 'o', 'l', '_', 'v', 'e',
		'r', 's', 'i', 'o', 'n', 0x01,
		0xa5, 'a', 'g', 'e', 'n', 't',
		0x81, 0xa2, 'o', 's', 0xa4, 'f', 'a', 'k', 'e',
	};
	for (;;) {
		unsigned char hdr[4], body[65536];
		if (readn(fd, hdr, 4) < 0)
			break;
		unsigned len = (unsigned)hdr[0] << 24 | hdr[1] << 16 |
		    hdr[2] << 8 | hdr[3];
		if (len > sizeof(body) || readn(fd, body, len) < 0)
			break;
		unsigned char out[4 + sizeof(reply)];
		out[0] = 0;
		out[1] = 0;
		out[2] = 0;
		out[3] = sizeof(reply);
		memcpy(out + 4, reply, sizeof(reply));
		if (write(fd, out, sizeof(out)) != (ssize_t)sizeof(out))
			break;
		if (strstr(cmdline, "poweroff")) {
			sync();
			reboot(RB_POWER_OFF);
		}
	}
	for (;;)
		pause();
}
