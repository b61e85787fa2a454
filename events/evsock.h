/*
 * evsock.h: the --events-socket server (seed 000).  Listens on a Unix
 * socket and fans every event frame out to any number of clients, driven
 * by the caller's poll loop: no threads, nothing blocks except
 * evsock_drain() (bounded by its timeout).
 *
 * Late clients: every frame published since the current run started
 * (evsock_run_start) is kept in an unlinked temporary file under
 * $TMPDIR (O_TMPFILE: on disk, not in memory, gone with the process), and
 * a client that connects mid-run is first sent all of it, then the live
 * frames.  Each client is just a cursor into that log, so a client's
 * backlog costs no memory.
 *
 * Slow clients: a client may lag at most client_max bytes behind the
 * frames published since it connected (its catch-up on older frames does
 * not count).  Past that it is disconnected and one line goes to the log
 * callback (stderr by default); the run never waits for a client.
 *
 * History cap: history_max bytes per run (default 4 GiB).  Past it, all
 * clients are disconnected with one line and new ones are refused until
 * the next evsock_run_start: a consistent prefix can no longer be given.
 *
 * Usage from the supervisor's loop:
 *   s = evsock_open(path, NULL, err, sizeof err);
 *   each iteration: n = evsock_pollfds(s, pfd + k, room);  poll(...);
 *                   evsock_handle(s, pfd + k, n);
 *   per frame:      evsock_publish(s, hdr_and_body, len);
 *   per --watch run: evsock_run_start(s);
 *   at exit / SIGINT / SIGTERM: evsock_drain(s, 2000); evsock_close(s);
 */
#ifndef PROVIUM_EVSOCK_H
#define PROVIUM_EVSOCK_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

struct evsock;

struct evsock_opts {
	size_t client_max;      /* default 8 MiB */
	uint64_t history_max;   /* default 4 GiB */
	const char *history_dir;        /* default $TMPDIR, else /tmp */
	/* One line (no newline) per dropped client; default: stderr with a
	 * "provium: " prefix. */
	void (*log)(void *arg, const char *line);
	void *log_arg;
};

/*
 * Creates parent directories (0700), replaces a stale socket at path (a
 * non-socket file there is an error), listens with mode 0600.  NULL with
 * a message in err on failure.
 */
struct evsock *evsock_open(const char *path, const struct evsock_opts *o,
    char *err, size_t errlen);

/* Upper bound on the pollfds evsock_pollfds fills (listener + clients). */
size_t evsock_nfds(const struct evsock *s);
/* Fills up to room entries; returns how many.  Pass the same slice to
 * evsock_handle after poll(). */
size_t evsock_pollfds(struct evsock *s, struct pollfd *pfd, size_t room);
/* Accepts, writes, reaps hung-up clients.  Never blocks. */
void evsock_handle(struct evsock *s, const struct pollfd *pfd, size_t n);

/* One whole frame (4-byte header + body).  Writes what each client can
 * take right now without blocking.  0, or -1 if the history log failed
 * (errno set; clients were dropped, the run can go on). */
int evsock_publish(struct evsock *s, const void *frame, size_t len);
/* Same, from a body: the header is added here. */
int evsock_publish_body(struct evsock *s, const void *body, size_t len);

/* A new run (--watch iteration): late clients start from here. */
void evsock_run_start(struct evsock *s);

/* Blocks up to timeout_ms while connected clients still have frames to
 * receive; a client still behind at the deadline just misses the rest. */
void evsock_drain(struct evsock *s, int timeout_ms);

size_t evsock_nclients(const struct evsock *s);
const char *evsock_path(const struct evsock *s);

/* Disconnects everyone, removes the socket file (if it is still ours) and
 * frees s.  NULL is a no-op. */
void evsock_close(struct evsock *s);

#endif
