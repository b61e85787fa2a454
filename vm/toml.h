/*
 * toml.h: a small, strict parser for the TOML subset provium.toml uses.
 *
 * Supported: comments, bare/quoted/dotted keys, [tables] and dotted
 * [a.b] headers, basic strings with escapes, literal strings, decimal
 * integers (with _), floats, booleans, arrays (multi-line, trailing comma)
 * and inline tables.  Anything else (multi-line strings, dates, arrays of
 * tables, hex/octal integers) is an error naming the line, not a guess.
 *
 * Errors: "FILE:LINE: key `a.b`: what is wrong" (the key part only when a
 * key is involved), returned malloc'd in *err.
 */
#ifndef PROVIUM_TOML_H
#define PROVIUM_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum toml_type { TOML_STRING, TOML_INT, TOML_FLOAT, TOML_BOOL, TOML_ARRAY,
	TOML_TABLE };

struct toml_value {
	enum toml_type type;
	int line;               /* where it was defined */
	union {
		char *s;        /* TOML_STRING, NUL-terminated */
		int64_t i;
		double f;
		bool b;
	} u;
	/* TOML_ARRAY: items; TOML_TABLE: keys[] and items[] */
	size_t n;
	struct toml_value **items;
	char **keys;
	bool defined;           /* TOML_TABLE: had its own [header] */
	bool inline_tab;        /* TOML_TABLE: {...}, closed to extension */
};

/* Parses text (NUL not required; len bytes).  The root is a TOML_TABLE. */
struct toml_value *toml_parse(const char *text, size_t len,
    const char *filename, char **err);
/* Reads and parses a file; I/O errors name the file. */
struct toml_value *toml_parse_file(const char *path, char **err);

/* Member of a table, or NULL. */
const struct toml_value *toml_get(const struct toml_value *table,
    const char *key);
const char *toml_type_name(enum toml_type t);

void toml_free(struct toml_value *v);

#endif
