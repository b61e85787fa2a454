/*
 * qmp.c: line-oriented QMP client (JSON via jansson).
 */
#include "vm/qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define QMP_EVENTS 16

struct qmp {
	int fd;
	char *buf;
	size_t len;
	uint64_t next_id;
	char *events[QMP_EVENTS];   /* names of events not yet asked about */
	size_t nevents;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void note_event(struct qmp *q, const char *name)
{
	if (q->nevents == QMP_EVENTS) {
		free(q->events[0]);
		memmove(q->events, q->events + 1,
		    (QMP_EVENTS - 1) * sizeof(q->events[0]));
		q->nevents--;
	}
	q->events[q->nevents] = strdup(name);
	if (q->events[q->nevents])
		q->nevents++;
}

bool qmp_event_seen(struct qmp *q, const char *name)
{
	for (size_t i = 0; i < q->nevents; i++) {
		if (strcmp(q->events[i], name) == 0) {
			free(q->events[i]);
			memmove(q->events + i, q->events + i + 1,
			    (q->nevents - i - 1) * sizeof(q->events[0]));
			q->nevents--;
			return true;
		}
	}
	return false;
}

/* Next JSON line (not an event) before deadline; events are recorded. */
static json_t *read_msg(struct qmp *q, double deadline, char **err)
{
	for (;;) {
		char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - q->buf) + 1;
			json_error_t je;
			json_t *j = json_loadb(q->buf, n, 0, &je);
			memmove(q->buf, q->buf + n, q->len - n);
			q->len -= n;
			if (!j || !json_is_object(j)) {
				json_decref(j);
				(void)asprintf(err, "QMP: bad JSON from QEMU: %s",
				    j ? "not an object" : je.text);
				return NULL;
			}
			const char *ev = json_string_value(json_object_get(j,
			    "event"));
			if (ev) {
				note_event(q, ev);
				json_decref(j);
				continue;
			}
			return j;
		}
		if (q->len >= QMP_LINE_MAX) {
			*err = strdup("QMP: line from QEMU exceeds 1 MiB");
			return NULL;
		}
		double left = deadline - now_s();
		if (left <= 0) {
			*err = strdup("QMP: QEMU did not answer in time");
			return NULL;
		}
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		int r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			(void)asprintf(err, "QMP: poll: %s", strerror(errno));
			return NULL;
		}
		if (r == 0)
			continue;
		ssize_t n = read(q->fd, q->buf + q->len, QMP_LINE_MAX - q->len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			(void)asprintf(err, "QMP: connection to QEMU %s",
			    n < 0 ? strerror(errno) : "closed (QEMU exited?)");
			return NULL;
		}
		q->len += (size_t)n;
	}
}

static int send_line(struct qmp *q, const char *s, char **err)
{
	size_t n = strlen(s);
	while (n) {
		/* A QEMU that died must not SIGPIPE its runner. */
		ssize_t w = send(q->fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			(void)asprintf(err, "QMP: write: %s", strerror(errno));
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int qmp_execute(struct qmp *q, const char *cmd, json_t *args,
    double timeout_s, json_t **ret, char **err)
{
	double deadline = now_s() + timeout_s;
	uint64_t id = ++q->next_id;
	json_t *req = json_pack("{s:s, s:I}", "execute", cmd, "id",
	    (json_int_t)id);
	if (req && args)
		json_object_set_new(req, "arguments", args);
	else
		json_decref(args);
	char *line = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!line) {
		*err = strdup("out of memory");
		return -1;
	}
	char *full = NULL;
	if (asprintf(&full, "%s\n", line) < 0) {
		free(line);
		*err = strdup("out of memory");
		return -1;
	}
	free(line);
	int rc = send_line(q, full, err);
	free(full);
	if (rc < 0)
		return -1;
	for (;;) {
		json_t *m = read_msg(q, deadline, err);
		if (!m)
			return -1;
		json_t *jid = json_object_get(m, "id");
		if (!json_is_integer(jid) ||
		    (uint64_t)json_integer_value(jid) != id) {
			json_decref(m);
			continue;   /* a late reply to a timed-out command */
		}
		json_t *e = json_object_get(m, "error");
		if (e) {
			const char *d = json_string_value(json_object_get(e,
			    "desc"));
			(void)asprintf(err, "QMP %s: %s", cmd,
			    d ? d : "failed");
			json_decref(m);
			return -1;
		}
		if (ret) {
			*ret = json_incref(json_object_get(m, "return"));
			if (!*ret)
				*ret = json_object();
		}
		json_decref(m);
		return 0;
	}
}

int qmp_open(int fd, double timeout_s, struct qmp **out, char **err)
{
	struct qmp *q = calloc(1, sizeof(*q));
	char *buf = malloc(QMP_LINE_MAX);
	if (!q || !buf) {
		free(q);
		free(buf);
		close(fd);
		*err = strdup("out of memory");
		return -1;
	}
	q->fd = fd;
	q->buf = buf;
	json_t *g = read_msg(q, now_s() + timeout_s, err);
	if (!g || !json_object_get(g, "QMP")) {
		if (g && !*err)
			*err = strdup("QMP: no greeting from QEMU");
		json_decref(g);
		qmp_close(q);
		return -1;
	}
	json_decref(g);
	if (qmp_execute(q, "qmp_capabilities", NULL, timeout_s, NULL, err) < 0) {
		qmp_close(q);
		return -1;
	}
	*out = q;
	return 0;
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	for (size_t i = 0; i < q->nevents; i++)
		free(q->events[i]);
	free(q->buf);
	free(q);
}

char *qmp_status(struct qmp *q, double timeout_s, char **err)
{
	json_t *r = NULL;
	if (qmp_execute(q, "query-status", NULL, timeout_s, &r, err) < 0)
		return NULL;
	const char *s = json_string_value(json_object_get(r, "status"));
	char *out = strdup(s ? s : "unknown");
	json_decref(r);
	return out;
}
