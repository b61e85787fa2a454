/* utf8.h: UTF-8 validation for the text writers (JSON, XML), which must
 * never emit invalid UTF-8 even when a console excerpt holds garbage. */
#ifndef PROVIUM_UTF8_H
#define PROVIUM_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (2..4) of a valid multi-byte sequence at p (n bytes left), or 0
 * if p[0] does not start one (ASCII is the caller's fast path). */
size_t utf8_seq_len(const uint8_t *p, size_t n);

#endif
