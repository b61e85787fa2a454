/*
 * evconn.h: opens an event source for the offline tools: a file path,
 * "-" for stdin, or a Unix socket served by evsock.
 */
#ifndef PROVIUM_EVCONN_H
#define PROVIUM_EVCONN_H

#include <stddef.h>

/* fd (caller closes), or -1 with a message in err. */
int evconn_open_file(const char *path, char *err, size_t errlen);
int evconn_open_socket(const char *path, char *err, size_t errlen);

#endif
