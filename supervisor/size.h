/*
 * size.h: the command line's sizes (`--mem`) and the one way byte counts
 * are printed in messages.  (`--timeout` durations are cli.c's.)
 *
 * Pure functions, no allocation.  Error messages go into the caller's
 * buffer, name the offending text in backquotes and carry no "provium:"
 * prefix (the caller adds it and exits 2, upstream's usage exit code).
 */
#ifndef PROVIUM_SIZE_H
#define PROVIUM_SIZE_H

#include <stddef.h>
#include <stdint.h>

#define SIZE_KIB ((uint64_t)1 << 10)
#define SIZE_MIB ((uint64_t)1 << 20)
#define SIZE_GIB ((uint64_t)1 << 30)
#define SIZE_TIB ((uint64_t)1 << 40)

/*
 * Parses a byte count: decimal digits, optionally followed by one of
 * K, M, G, T (either case, 1024-based).  Nothing else is accepted: no
 * sign, no blanks, no "B"/"iB", no fraction.  0 on success; -1 with
 * errno EINVAL and err = "cannot parse size `S` (expected bytes or a
 * number followed by K, M, G or T)", or errno ERANGE and
 * err = "size `S` overflows u64".
 */
int size_parse(const char *s, uint64_t *out, char *err, size_t errlen);

/*
 * Formats bytes for people: in the largest binary unit not above the
 * value, whole when exact ("612 MiB", "2 GiB", "0 B") and with one
 * decimal otherwise ("12.8 GiB").  Always NUL-terminates (truncating).
 */
void size_format(uint64_t bytes, char *buf, size_t len);

#endif
