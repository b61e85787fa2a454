/*
 * cat.h: one event frame as one line of JSON, for `provium events cat`.
 * The frame map is printed as it is on the wire (key order kept, unknown
 * kinds and keys too): this is a dump, not a validator -- `events check`
 * is the validator.  bin becomes a base64 string; invalid UTF-8 in str
 * becomes U+FFFD; NaN/inf floats become null; non-string map keys are
 * printed as their JSON text inside a string.
 */
#ifndef PROVIUM_CAT_H
#define PROVIUM_CAT_H

#include <stdio.h>

#include <msgpack.h>

/* Line buffer, reused across frames so a frame costs one fwrite. */
struct cat {
	char *p;
	size_t n, cap;
	int oom;
};
#define CAT_INIT { 0 }

/* Writes the object and a newline.  0, or -1 (ENOMEM or write error). */
int cat_json_line(struct cat *c, FILE *out, const msgpack_object *o);
void cat_release(struct cat *c);

#endif
