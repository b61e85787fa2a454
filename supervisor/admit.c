/* admit.c: CPU-count admission until the resource pool lands. */
#include <unistd.h>

#include "admit.h"

void
admit_init(struct admit *a)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	a->max_running = n > 0 ? (size_t)n : 1;
}

bool
admit_may_dispatch(const struct admit *a, size_t running,
    const struct resource_amount *claim)
{
	(void)claim;
	return running < a->max_running;
}

struct resource_amount
admit_reservation(const struct resource_amount *claim)
{
	struct resource_amount r = { ADMIT_RUNNER_OVERHEAD, 0 };

	if (claim) {
		r.memory_bytes += claim->memory_bytes;
		r.cpus += claim->cpus;
	}
	return r;
}
