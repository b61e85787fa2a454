/* lazylib.c: see lazylib.h. */
#include <dlfcn.h>
#include <stdio.h>

#include "events/lazylib.h"

static int
load(struct lazylib *l)
{
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	const char *e;

	if (h == NULL) {
		e = dlerror();
		snprintf(l->why, sizeof(l->why), "%s", e ? e : l->soname);
		return -1;
	}
	for (size_t i = 0; i < l->n; i++)
		if ((l->fn[i] = dlsym(h, l->names[i])) == NULL) {
			snprintf(l->why, sizeof(l->why), "%s: no symbol `%s`",
			    l->soname, l->names[i]);
			return -1;
		}
	return 1;
}

bool
lazylib_ready(struct lazylib *l)
{
	int st;

	(void)pthread_mutex_lock(&l->mu);
	if (l->state == 0)
		l->state = load(l);
	st = l->state;
	(void)pthread_mutex_unlock(&l->mu);
	return st == 1;
}

const char *
lazylib_error(const struct lazylib *l)
{
	return l->why;
}
