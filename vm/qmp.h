/*
 * qmp.h: a minimal QMP client over QEMU's unix socket.
 *
 * Lines of JSON: the greeting, then {"execute", "arguments", "id"} and
 * the reply with the same id ({"return"} or {"error"}); asynchronous
 * {"event"} lines in between are kept (a few, by name) for qmp_event_seen.
 * Every call takes a deadline; nothing blocks forever.
 */
#ifndef PROVIUM_QMP_H
#define PROVIUM_QMP_H

#include <stdbool.h>

#include <jansson.h>

#define QMP_LINE_MAX (1u << 20)

struct qmp;

/* Connects to fd (already connected unix socket, taken over), reads the
 * greeting and negotiates capabilities. */
int qmp_open(int fd, double timeout_s, struct qmp **out, char **err);
void qmp_close(struct qmp *q);

/*
 * Runs cmd with args (may be NULL; reference stolen).  On success *ret
 * (if not NULL) gets the "return" value (caller json_decref).  A QMP
 * error is -1 with "cmd: <desc>".
 */
int qmp_execute(struct qmp *q, const char *cmd, json_t *args,
    double timeout_s, json_t **ret, char **err);

/* True once an event of that name arrived (and forgets it). */
bool qmp_event_seen(struct qmp *q, const char *name);

/* query-status "status" string (malloc'd), or NULL + *err. */
char *qmp_status(struct qmp *q, double timeout_s, char **err);

#endif
