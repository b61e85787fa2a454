/*
 * provium-agent: serves the agent protocol (docs/agent-protocol.md) on an
 * inherited fd (--fd, --worker-fd) or, as PID 1 in a guest, on the
 * virtio-serial port named "agent".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "agent/agent.h"
#include "events/proto.h"

static const char usage[] =
    "usage: provium-agent --fd N\n"
    "       provium-agent --worker-fd N   (internal)\n"
    "       provium-agent                 (as PID 1 in a guest)\n"
    "Serves the provium agent protocol " "v%u on fd N until it closes.\n";

static int
parse_fd(const char *opt, const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = s != NULL ? strtol(s, &end, 10) : -1;
	if (s == NULL || errno != 0 || *end != '\0' || v < 0 || v > 65535) {
		fprintf(stderr, "provium-agent: %s needs a file descriptor "
		    "number, got `%s`\n", opt, s ? s : "");
		exit(2);
	}
	if (fcntl((int)v, F_GETFD) < 0) {
		fprintf(stderr, "provium-agent: %s %ld: %s\n", opt, v,
		    strerror(errno));
		exit(2);
	}
	return (int)v;
}

static int
run_guest(struct agent *a, const char *argv0)
{
	guest_setup();
	/* argv0 == /init: we are the image's init ourselves; don't loop. */
	if (strcmp(argv0, "/init") != 0 && access("/init", X_OK) == 0) {
		pid_t pid = fork();

		if (pid > 0) {
			execl("/init", "/init", (char *)NULL);
			agent_log("exec /init: %s", strerror(errno));
			for (;;)
				pause();
		}
		if (pid < 0)
			agent_log("fork: %s (staying PID 1)", strerror(errno));
	}
	for (;;) {
		a->fd = guest_init();
		if (a->fd >= 0) {
			agent_serve(a);
			if (a->poweroff)
				break;
			close(a->fd);
		}
		sleep(1);
		memset(&a->rd, 0, sizeof(a->rd));
		a->quit = false;
	}
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}

int
main(int argc, char **argv)
{
	struct agent a;
	int i, fd = -1;

	memset(&a, 0, sizeof(a));
	a.self_exe = "/proc/self/exe";
	a.mode = AGENT_FD;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			printf(usage, PROTOCOL_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--fd") == 0) {
			fd = parse_fd(argv[i], argv[i + 1]);
			i++;
		} else if (strcmp(argv[i], "--worker-fd") == 0) {
			fd = parse_fd(argv[i], argv[i + 1]);
			a.mode = AGENT_WORKER;
			i++;
		} else if (getpid() != 1) {
			fprintf(stderr, "provium-agent: unknown argument `%s`\n"
			    "Try `provium-agent --help`.\n", argv[i]);
			return 2;
		}
	}
	if (fd < 0 && getpid() == 1) {
		a.mode = AGENT_GUEST;
		return run_guest(&a, argv[0]);
	}
	if (fd < 0) {
		fprintf(stderr, "provium-agent: missing --fd N (the agent "
		    "serves an inherited fd unless it runs as PID 1)\n"
		    "Try `provium-agent --help`.\n");
		return 2;
	}
	a.fd = fd;
	return agent_serve(&a);
}
