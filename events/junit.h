/*
 * junit.h: JUnit XML for --junit PATH, in the shape GitLab, Jenkins and
 * GitHub test reporters accept: one <testsuite> per file, one <testcase>
 * per test with time from duration_ns; a failure carries the reason (as
 * message and text) and the console excerpt in <system-out>; a skip
 * carries its reason; a crashed or timed-out file adds an <error>
 * testcase named "(file <status>)", and its unfinished tests are errors.
 *
 * Feed it every event; call junit_write whenever a snapshot should be on
 * disk -- at the end of the run, and on SIGINT/SIGTERM with
 * interrupted=true (files that never completed then become errors or, if
 * never dispatched, skips).  Each write to a regular PATH (or one not there
 * yet) is atomic: PATH.tmp.<pid>, fsync, rename, so a reader never sees a
 * half file and a failed write (full disk) leaves the previous file as it
 * was.  A PATH that is a device, pipe or symlink (/dev/stdout, /dev/fd/N)
 * is written in place: a temporary file next to it would be wrong there.
 * Every fwrite/fflush/fsync/fclose/rename error is reported.
 */
#ifndef PROVIUM_JUNIT_H
#define PROVIUM_JUNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "events/event.h"
#include "events/evrun.h"

struct junit;

/* Whether path can take the XML, checked before the run: not a directory,
 * and its directory exists and takes a new file (a read-only one does not),
 * or it is a writable device/pipe/symlink.  0, or -1 with err ("PATH: why"). */
int junit_check_path(const char *path, char *err, size_t errlen);
/* junit_check_path, then a writer for path; NULL with err otherwise. */
struct junit *junit_open(const char *path, char *err, size_t errlen);
/* 0, or -1 on ENOMEM. */
int junit_feed(struct junit *j, const struct event *ev);
/* junit_save of what was fed. */
int junit_write(struct junit *j, bool interrupted, char *err, size_t errlen);
/* The XML of r to path (see above).  0, or -1 with err ("PATH: what failed
 * (why); PATH is unchanged"). */
int junit_save(const struct evrun *r, const char *path, bool interrupted,
    char *err, size_t errlen);
/* Frees j; writes nothing. */
void junit_close(struct junit *j);

/* The XML of a run, to any stream (used by junit_write and the tests). */
int junit_render(const struct evrun *r, bool interrupted, FILE *out);

#endif
