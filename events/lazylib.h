/*
 * lazylib.h: a shared library resolved with dlopen on first use.
 *
 * Why: every test file runs in a fresh `provium --runner` process, and
 * each shared object linked into provium costs every one of those execs
 * its mapping, relocations and constructors, while most runners never
 * hash (libcrypto), never record run history (libsqlite3) and never read
 * a line from a terminal (libreadline).  Those are loaded here, by name,
 * the first time a caller needs them; see crypto_lazy.h, sqlite_lazy.h
 * and runner/readline_lazy.h for the wrappers.
 */
#ifndef PROVIUM_LAZYLIB_H
#define PROVIUM_LAZYLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct lazylib {
	const char *soname;             /* "libsqlite3.so.0" */
	const char *const *names;       /* n symbols */
	void **fn;                      /* resolved addresses, same order */
	size_t n;
	pthread_mutex_t mu;
	int state;                      /* 0 not tried, 1 loaded, -1 failed */
	char why[256];                  /* failed: dlerror() or the symbol */
};

#define LAZYLIB_INIT(so, names, fn) { (so), (names), (fn), \
	sizeof(names) / sizeof((names)[0]), PTHREAD_MUTEX_INITIALIZER, 0, "" }

/* Loads l once (thread-safe); true when every symbol resolved. */
bool lazylib_ready(struct lazylib *l);
/* Why lazylib_ready() failed ("" before a failure). */
const char *lazylib_error(const struct lazylib *l);

#endif
