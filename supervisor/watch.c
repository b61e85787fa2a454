/* watch.c: --watch's change detection and idle loop. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events/evsock.h"
#include "supervisor/discover.h"
#include "supervisor/watch.h"

static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--) {
		h ^= *b++;
		h *= 1099511628211ull;
	}
	return h;
}

uint64_t
watch_signature(const struct cli_opts *o)
{
	struct discover_list l;
	struct stat st;
	char *err = NULL;
	uint64_t h = 14695981039346656037ull;
	size_t i;

	if (discover_run(o->paths, o->npaths, o->filter, &l, &err) != 0) {
		h = mix(h, "E", 1);
		if (err)
			h = mix(h, err, strlen(err));
		free(err);
		return h;
	}
	for (i = 0; i < l.n; i++) {
		h = mix(h, l.v[i].display, strlen(l.v[i].display) + 1);
		if (stat(l.v[i].display, &st) == 0) {
			h = mix(h, &st.st_mtim, sizeof(st.st_mtim));
			h = mix(h, &st.st_size, sizeof(st.st_size));
			h = mix(h, &st.st_ino, sizeof(st.st_ino));
		}
	}
	discover_list_clear(&l);
	return h;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
watch_wait(const struct cli_opts *o, int sigfd, struct evsock *es,
    uint64_t *sig)
{
	struct pollfd *pfd = NULL;
	struct signalfd_siginfo si;
	size_t cap = 0, np;
	int64_t next = now_ms() + WATCH_POLL_MS, t;
	uint64_t cur;
	int signo = 0;

	for (;;) {
		size_t need = 1 + (es ? evsock_nfds(es) : 0);

		if (need > cap) {
			struct pollfd *n = realloc(pfd, need * sizeof(*pfd));

			if (n == NULL) {
				usleep(WATCH_POLL_MS * 1000);   /* no memory: poll the files only */
				need = 1;
			} else {
				pfd = n;
				cap = need;
			}
		}
		np = 0;
		if (pfd) {
			pfd[np++] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
			if (es)
				np += evsock_pollfds(es, pfd + 1, cap - 1);
		}
		t = next - now_ms();
		if (np && poll(pfd, np, t > 0 ? (int)t : 0) < 0 && errno != EINTR)
			usleep(10000);
		if (np && pfd[0].revents)
			while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				if (si.ssi_signo != SIGCHLD)
					signo = (int)si.ssi_signo;
		if (np > 1)
			evsock_handle(es, pfd + 1, np - 1);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (signo)
			break;
		if (now_ms() >= next) {
			cur = watch_signature(o);
			if (cur != *sig) {
				*sig = cur;
				break;
			}
			next = now_ms() + WATCH_POLL_MS;
		}
	}
	free(pfd);
	return signo;
}
