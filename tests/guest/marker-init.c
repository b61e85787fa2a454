/*
 * marker-init.c: the baseline of bench/boot.  The smallest useful PID 1:
 * print a marker on the console and power off.
 */
#include <fcntl.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	static const char m[] = "PROVIUM-BENCH-MARKER\n";
	int fd = open("/dev/console", O_WRONLY);
	if (fd < 0)
		fd = 1;
	if (write(fd, m, sizeof(m) - 1) < 0)
		return 1;
	fsync(fd);
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}
