/* evconn.c: event sources for the offline tools. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "events/evconn.h"

int
evconn_open_file(const char *path, char *err, size_t errlen)
{
	int fd;

	if (strcmp(path, "-") == 0)
		return dup(0);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return fd;
}

int
evconn_open_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: socket path longer than %zu bytes",
		    path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "%s: connect: %s (is provium running with "
		    "--events-socket %s?)", path, strerror(errno), path);
		close(fd);
		return -1;
	}
	return fd;
}
