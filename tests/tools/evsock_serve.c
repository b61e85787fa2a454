/*
 * evsock_serve.c: serves a saved event stream on an events socket the way
 * the supervisor's poll loop will (evsock + signalfd), for the events
 * suite.  usage:
 *   evsock_serve SOCK FILE [--delay-ms N] [--wait-clients N]
 *                [--client-max BYTES] [--drain-ms N]
 * --delay-us N paces in microseconds.
 * Publishes FILE's frames, one every N ms, once N clients are connected;
 * then drains and removes the socket.  SIGINT/SIGTERM: removes the socket
 * and exits 130/143.  Prints "served F frames, C clients left" on stderr.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "events/evread.h"
#include "events/evsock.h"
#include "events/frame.h"
#include "events/proto.h"

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
main(int argc, char **argv)
{
	struct evsock_opts o = { 0 };
	struct pollfd pfd[256];
	struct evsock *s;
	struct evread r;
	const uint8_t *body;
	size_t len, n;
	long delay = 0, wait = 0, drain = 2000;
	int64_t next = 0;
	sigset_t set;
	int sfd, fd, i, rc = 1, frames = 0, done = 0;
	char err[512];

	if (argc < 3) {
		fprintf(stderr, "usage: evsock_serve SOCK FILE [options]\n");
		return 2;
	}
	for (i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--delay-ms"))
			delay = atol(argv[i + 1]) * 1000;
		else if (!strcmp(argv[i], "--delay-us"))
			delay = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--wait-clients"))
			wait = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--client-max"))
			o.client_max = (size_t)atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--drain-ms"))
			drain = atol(argv[i + 1]);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if ((fd = open(argv[2], O_RDONLY)) < 0 || evread_init(&r, fd, FRAME_MAX_EVENT) < 0) {
		perror(argv[2]);
		return 1;
	}
	if (!(s = evsock_open(argv[1], &o, err, sizeof(err)))) {
		fprintf(stderr, "evsock_serve: %s\n", err);
		return 1;
	}
	fprintf(stderr, "listening\n");
	while (!done) {
		int timeout = -1;
		int64_t now = now_us();
		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		n = 1 + evsock_pollfds(s, pfd + 1, 255);
		if ((long)evsock_nclients(s) >= wait)
			timeout = (int)(next > now ? (next - now) / 1000 : 0);
		if (poll(pfd, n, timeout) < 0)
			continue;
		if (pfd[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				evsock_close(s);
				evread_release(&r);
				close(fd);
				return 128 + (int)si.ssi_signo;
			}
		}
		evsock_handle(s, pfd + 1, n - 1);
		if ((long)evsock_nclients(s) < wait || now_us() < next)
			continue;
		wait = 0;   /* once started, never wait again */
		switch (evread_next(&r, &body, &len)) {
		case 1:
			evsock_publish_body(s, body, len);
			frames++;
			next = now_us() + delay;
			break;
		case 0:
			done = 1;
			rc = 0;
			break;
		default:
			fprintf(stderr, "evsock_serve: %s\n", r.err);
			done = 1;
		}
	}
	evsock_drain(s, (int)drain);
	fprintf(stderr, "served %d frames, %zu clients left\n", frames,
	    evsock_nclients(s));
	evsock_close(s);
	evread_release(&r);
	close(fd);
	return rc;
}
