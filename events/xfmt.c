/* xfmt.c: malloc'd printf (see xfmt.h). */
#include <errno.h>
#include <stdio.h>

#include "events/xfmt.h"

char *
xfmt_v(const char *fmt, va_list ap)
{
	int saved = errno;
	char *s;

	if (vasprintf(&s, fmt, ap) < 0) {
		errno = ENOMEM;
		return NULL;    /* glibc leaves s undefined on failure */
	}
	errno = saved;
	return s;
}

char *
xfmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xfmt_v(fmt, ap);
	va_end(ap);
	return s;
}
