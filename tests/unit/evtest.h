/* evtest.h: builds events for the consumer unit tests (header-only). */
#ifndef PROVIUM_EVTEST_H
#define PROVIUM_EVTEST_H

#include <stdlib.h>
#include <string.h>

#include "events/event.h"

static int64_t evtest_ts __attribute__((unused)) = 1700000000000000000LL;

/* kind, path, name (or NULL); meta: a META_MAP with spec=str if spec. */
static inline struct event
ev_mk(enum event_kind k, const char *path, const char *name)
{
	struct event e;

	memset(&e, 0, sizeof(e));
	e.kind = k;
	e.ts = (evtest_ts += 1000000);
	e.path = strdup(path);
	if (name)
		e.name = strdup(name);
	e.meta.type = META_MAP;
	e.status = strdup(EVENT_STATUS_PASSED);
	e.reason = strdup("");
	e.console_excerpt = strdup("");
	e.profile = strdup("linux");
	e.held_by_file = strdup("x");
	return e;
}

static inline void
ev_spec(struct event *e, const char *spec)
{
	e->meta.u.map.e = calloc(1, sizeof(struct meta_entry));
	e->meta.u.map.n = 1;
	e->meta.u.map.e[0].key = strdup("spec");
	e->meta.u.map.e[0].key_len = 4;
	e->meta.u.map.e[0].val.type = META_STR;
	e->meta.u.map.e[0].val.u.s.p = strdup(spec);
	e->meta.u.map.e[0].val.u.s.n = strlen(spec);
}

#endif
