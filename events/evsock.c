/* evsock.c: fan-out of event frames over a Unix socket, with replay. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "events/evsock.h"
#include "events/frame.h"

#define EVSOCK_CHUNK (64u * 1024)

struct client {
	int fd;
	unsigned id;
	uint64_t cursor;        /* next history byte to send */
	uint64_t live_from;     /* history length when it connected */
};

struct evsock {
	char *path;
	dev_t dev;
	ino_t ino;
	int lfd;
	int hfd;                /* history log */
	uint64_t hlen;          /* bytes in the log */
	uint64_t run_start;     /* where the current run's frames begin */
	int refusing;           /* history cap reached this run */
	struct client *c;
	size_t nc, cap;
	unsigned next_id;
	struct evsock_opts o;
	uint8_t *chunk;
};

static void
log_stderr(void *arg, const char *line)
{
	fprintf(stderr, "provium: %s\n", line);
}

__attribute__((format(printf, 2, 3)))
static void
say(struct evsock *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->o.log(s->o.log_arg, line);
}

static int
mkparents(char *path)
{
	char *p;

	for (p = path + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static int
history_open(const char *dir)
{
	char tmpl[PATH_MAX];
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	/* Filesystems without O_TMPFILE: create, then unlink at once. */
	snprintf(tmpl, sizeof(tmpl), "%s/provium-evsock-XXXXXX", dir);
	if ((fd = mkostemp(tmpl, O_CLOEXEC)) >= 0)
		unlink(tmpl);
	return fd;
}

/*
 * Fills sun (len bytes) with a unique sibling of path, or with path itself
 * when the sibling would not fit; returns whether it is the sibling.
 */
static int
tmp_name(const char *path, char *sun, size_t len, const void *owner)
{
	const char *slash = strrchr(path, '/');
	int dl = slash ? (int)(slash - path + 1) : 0;
	int n;

	/* pid + the evsock's address: unique among live evsocks */
	n = snprintf(sun, len, "%.*s.evsock-%ld-%p", dl, path, (long)getpid(),
	    owner);
	if (n > 0 && (size_t)n < len)
		return 1;
	snprintf(sun, len, "%s", path);
	return 0;
}

struct evsock *
evsock_open(const char *path, const struct evsock_opts *o, char *err,
    size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct evsock *s;
	struct stat st;
	const char *dir;
	mode_t old;
	int tmp;

	if (strlen(path) >= sizeof(sa.sun_path) || *path == '\0') {
		snprintf(err, errlen, "--events-socket %s: path must be 1..%zu bytes",
		    path, sizeof(sa.sun_path) - 1);
		return NULL;
	}
	if (!(s = calloc(1, sizeof(*s))) || !(s->path = strdup(path)) ||
	    !(s->chunk = malloc(EVSOCK_CHUNK))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->lfd = s->hfd = -1;
	if (o)
		s->o = *o;
	if (!s->o.client_max)
		s->o.client_max = 8u << 20;
	if (!s->o.history_max)
		s->o.history_max = 4ull << 30;
	if (!s->o.log)
		s->o.log = log_stderr;
	dir = s->o.history_dir ? s->o.history_dir : getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	if ((s->hfd = history_open(dir)) < 0) {
		snprintf(err, errlen, "--events-socket: history file in %s: %s "
		    "(set TMPDIR to a writable directory)", dir, strerror(errno));
		goto fail;
	}
	if (mkparents(s->path) < 0) {
		snprintf(err, errlen, "--events-socket %s: creating parent "
		    "directories: %s", path, strerror(errno));
		goto fail;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "--events-socket %s: exists and is not a "
			    "socket; refusing to replace it", path);
			goto fail;
		}
		if (unlink(path) < 0) {
			snprintf(err, errlen, "--events-socket %s: removing stale "
			    "socket: %s", path, strerror(errno));
			goto fail;
		}
	}
	/*
	 * Bound and listening under a temporary name, then renamed: a client
	 * that waits for the path to appear never meets a socket that refuses
	 * connections (between bind and listen).  Paths too long for the
	 * temporary name are bound in place.
	 */
	tmp = tmp_name(path, sa.sun_path, sizeof(sa.sun_path), s);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	/* The socket inode takes its mode from the umask at bind time. */
	old = umask(077);
	if (bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		snprintf(err, errlen, "--events-socket %s: bind: %s", path,
		    strerror(errno));
		goto fail;
	}
	umask(old);
	if (chmod(sa.sun_path, 0600) < 0 || listen(s->lfd, 64) < 0 ||
	    (tmp && rename(sa.sun_path, path) < 0) || stat(path, &st) < 0) {
		snprintf(err, errlen, "--events-socket %s: %s", path, strerror(errno));
		unlink(sa.sun_path);
		goto fail;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return s;
fail:
	if (s) {
		if (s->lfd >= 0)
			close(s->lfd);
		if (s->hfd >= 0)
			close(s->hfd);
		free(s->chunk);
		free(s->path);
		free(s);
	}
	return NULL;
}

static void
drop(struct evsock *s, size_t i)
{
	close(s->c[i].fd);
	s->c[i] = s->c[--s->nc];
}

/* Sends what the client can take now: -1 if it must be dropped. */
static int
pump(struct evsock *s, struct client *c, const uint8_t *fresh, size_t flen)
{
	ssize_t n, got;
	size_t want;

	while (c->cursor < s->hlen) {
		/* A caught-up client takes the new frame straight from memory. */
		if (fresh && c->cursor == s->hlen - flen) {
			n = send(c->fd, fresh, flen, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else {
			want = s->hlen - c->cursor < EVSOCK_CHUNK ?
			    (size_t)(s->hlen - c->cursor) : EVSOCK_CHUNK;
			got = pread(s->hfd, s->chunk, want, (off_t)c->cursor);
			if (got <= 0)
				return -1;
			n = send(c->fd, s->chunk, (size_t)got,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->cursor += (uint64_t)n;
		fresh = NULL;   /* partial: the rest comes from the log */
	}
	return 0;
}

static uint64_t
lag(const struct evsock *s, const struct client *c)
{
	uint64_t from = c->cursor > c->live_from ? c->cursor : c->live_from;

	return s->hlen - from;
}

static void
drop_all(struct evsock *s, const char *why)
{
	if (s->nc > 0)
		say(s, "events socket %s: %s; disconnecting %zu client(s)",
		    s->path, why, s->nc);
	while (s->nc > 0)
		drop(s, s->nc - 1);
}

static void
accept_all(struct evsock *s)
{
	struct client *c;
	int fd;

	for (;;) {
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;     /* EAGAIN, or EMFILE: retried on next POLLIN */
		}
		if (s->refusing) {
			close(fd);
			continue;
		}
		if (s->nc == s->cap) {
			size_t nc = s->cap ? s->cap * 2 : 8;
			void *p = realloc(s->c, nc * sizeof(*s->c));
			if (!p) {
				close(fd);
				continue;
			}
			s->c = p;
			s->cap = nc;
		}
		c = &s->c[s->nc++];
		c->fd = fd;
		c->id = ++s->next_id;
		c->cursor = s->run_start;
		c->live_from = s->hlen;
		if (pump(s, c, NULL, 0) < 0)
			drop(s, s->nc - 1);
	}
}

size_t
evsock_nfds(const struct evsock *s)
{
	return 1 + s->nc;
}

size_t
evsock_pollfds(struct evsock *s, struct pollfd *pfd, size_t room)
{
	size_t i, n = 0;

	if (room == 0)
		return 0;
	pfd[n++] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
	for (i = 0; i < s->nc && n < room; i++)
		pfd[n++] = (struct pollfd){ .fd = s->c[i].fd,
		    .events = POLLIN | (s->c[i].cursor < s->hlen ? POLLOUT : 0) };
	return n;
}

/* Clients send nothing; POLLIN means data to discard or a hangup. */
static int
client_gone(int fd)
{
	char buf[256];
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n == 0)
			return 1;
		return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
	}
}

void
evsock_handle(struct evsock *s, const struct pollfd *pfd, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == s->lfd) {
			accept_all(s);
			continue;
		}
		for (j = 0; j < s->nc && s->c[j].fd != pfd[i].fd; j++)
			;
		if (j == s->nc)
			continue;   /* dropped earlier in this pass */
		if ((pfd[i].revents & (POLLHUP | POLLERR | POLLNVAL)) ||
		    ((pfd[i].revents & POLLIN) && client_gone(s->c[j].fd)) ||
		    ((pfd[i].revents & POLLOUT) && pump(s, &s->c[j], NULL, 0) < 0))
			drop(s, j);
	}
}

int
evsock_publish(struct evsock *s, const void *frame, size_t len)
{
	const uint8_t *p = frame;
	size_t done = 0, i;
	ssize_t n;

	if (s->refusing)
		return 0;
	if (s->hlen - s->run_start + len > s->o.history_max) {
		s->refusing = 1;
		drop_all(s, "run history over its cap");
		return 0;
	}
	while (done < len) {
		n = pwrite(s->hfd, p + done, len - done, (off_t)(s->hlen + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			s->refusing = 1;
			drop_all(s, strerror(e));
			errno = e;
			return -1;
		}
		done += (size_t)n;
	}
	s->hlen += len;
	for (i = 0; i < s->nc;) {
		struct client *c = &s->c[i];
		if (pump(s, c, p, len) < 0) {
			drop(s, i);
			continue;
		}
		if (lag(s, c) > s->o.client_max) {
			say(s, "events socket %s: client %u is %llu bytes behind "
			    "(cap %zu); disconnected", s->path, c->id,
			    (unsigned long long)lag(s, c), s->o.client_max);
			drop(s, i);
			continue;
		}
		i++;
	}
	return 0;
}

int
evsock_publish_body(struct evsock *s, const void *body, size_t len)
{
	uint8_t *f = malloc(len + 4);
	int rc;

	if (!f)
		return -1;
	frame_header(f, (uint32_t)len);
	memcpy(f + 4, body, len);
	rc = evsock_publish(s, f, len + 4);
	free(f);
	return rc;
}

void
evsock_run_start(struct evsock *s)
{
	size_t i;

	s->refusing = 0;
	for (i = 0; i < s->nc; i++)
		if (s->c[i].cursor < s->hlen)
			break;
	if (i == s->nc && ftruncate(s->hfd, 0) == 0) {
		/* Everyone is caught up: reuse the log from the start. */
		s->hlen = 0;
		for (i = 0; i < s->nc; i++)
			s->c[i].cursor = s->c[i].live_from = 0;
	}
	s->run_start = s->hlen;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
evsock_drain(struct evsock *s, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms, left;
	struct pollfd *pfd;
	size_t i, n;

	while (s->nc > 0 && (left = end - now_ms()) > 0) {
		for (i = 0; i < s->nc && s->c[i].cursor >= s->hlen; i++)
			;
		if (i == s->nc)
			return;
		if (!(pfd = calloc(evsock_nfds(s), sizeof(*pfd))))
			return;
		n = evsock_pollfds(s, pfd, evsock_nfds(s));
		/* Only client fds: no new clients while draining. */
		if (poll(pfd + 1, n - 1, (int)left) > 0)
			evsock_handle(s, pfd + 1, n - 1);
		free(pfd);
	}
}

size_t
evsock_nclients(const struct evsock *s)
{
	return s->nc;
}

const char *
evsock_path(const struct evsock *s)
{
	return s->path;
}

void
evsock_close(struct evsock *s)
{
	struct stat st;

	if (!s)
		return;
	while (s->nc > 0)
		drop(s, s->nc - 1);
	close(s->lfd);
	close(s->hfd);
	/* Only remove the file if nobody replaced it since we bound it. */
	if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	free(s->c);
	free(s->chunk);
	free(s->path);
	free(s);
}
