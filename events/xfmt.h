/*
 * xfmt.h: printf into a malloc'd string, for the library's error messages
 * and paths (one helper instead of a private vasprintf wrapper per file).
 *
 * Both return a NUL-terminated string the caller frees, or NULL with
 * errno = ENOMEM; on success errno is left as it was, so a message can be
 * built on an error path before the caller returns -1 with its errno.
 */
#ifndef PROVIUM_XFMT_H
#define PROVIUM_XFMT_H

#include <stdarg.h>

char *xfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xfmt_v(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
