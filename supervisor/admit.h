/*
 * admit.h: may another file be dispatched now?
 *
 * The seam where the resource pool (issue 5: supervisor/pool.c, psi.c)
 * plugs in.  Until then a file may start while fewer files than online
 * CPUs run, and claims/reservations are granted at once.
 */
#ifndef PROVIUM_ADMIT_H
#define PROVIUM_ADMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "events/event.h"

/* Per-file runner overhead reserved at dispatch (upstream: 50 MiB, 0 CPU). */
#define ADMIT_RUNNER_OVERHEAD (50ull * 1024 * 1024)

struct admit {
	size_t max_running;
};

void admit_init(struct admit *a);
/* true if one more file (with its declared claim, may be NULL) may start. */
bool admit_may_dispatch(const struct admit *a, size_t running,
    const struct resource_amount *claim);
/* What file_dispatched.reservation reports. */
struct resource_amount admit_reservation(const struct resource_amount *claim);

#endif
