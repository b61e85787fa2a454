/* guest.c: what the agent does as PID 1 in a guest before it serves. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/agent.h"

#define MODDIR "/lib/modules/provium/"

static void
mount_one(const char *src, const char *dst, const char *type)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, 0, NULL) != 0 && errno != EBUSY)
		agent_log("mount %s on %s: %s", type, dst, strerror(errno));
}

static void
load_module(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), MODDIR "%s.ko", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;         /* built in, or not shipped: fine */
	if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
		agent_log("finit_module %s: %s", path, strerror(errno));
	close(fd);
}

void
guest_setup(void)
{
	static const char *const pci[] = { "virtio_pci_legacy_dev",
	    "virtio_pci_modern_dev", "virtio_pci" };
	struct stat st;
	size_t i;

	mount_one("devtmpfs", "/dev", "devtmpfs");
	mount_one("proc", "/proc", "proc");
	mount_one("sysfs", "/sys", "sysfs");
	mount_one("tmpfs", "/tmp", "tmpfs");
	load_module("virtio_ring");
	load_module("virtio");
	if (stat("/sys/bus/pci/devices/0000:00:00.0", &st) == 0) {
		for (i = 0; i < sizeof(pci) / sizeof(pci[0]); i++)
			load_module(pci[i]);
	} else {
		load_module("virtio_mmio");
	}
	load_module("virtio_console");
}

/* One scan of /sys/class/virtio-ports for the port named "agent". */
static int
find_port(void)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *de;
	int fd = -1;

	if (d == NULL)
		return -1;
	while (fd < 0 && (de = readdir(d)) != NULL) {
		char path[300], name[64] = "";
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name",
		    de->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(name, sizeof(name), f) == NULL)
			name[0] = '\0';
		fclose(f);
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, "agent") != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/%s", de->d_name);
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	}
	closedir(d);
	return fd;
}

int
guest_init(void)
{
	int i, fd;

	/* devtmpfs creates the node asynchronously after the module probes. */
	for (i = 0; i < 1000; i++) {
		fd = find_port();
		if (fd >= 0)
			return fd;
		usleep(10000);
	}
	agent_log("no virtio port named `agent` under /sys/class/virtio-ports "
	    "after 10 s (is virtio_console loaded and the port named agent?)");
	return -1;
}
