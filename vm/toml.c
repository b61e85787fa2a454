/*
 * toml.c: strict recursive-descent parser for the subset in toml.h.
 * Debian ships no C TOML library; this is the part of the spec a
 * provium.toml needs, and everything outside it is refused by line.
 */
#include "vm/toml.h"
#include "events/xfmt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <fcntl.h>

#define TOML_MAX_FILE  (4u * 1024 * 1024)
#define TOML_MAX_DEPTH 32

struct tp {
	const char *p, *end;
	const char *file;
	int line;
	char *err;
	struct toml_value *root, *cur;
	char *curpath;          /* dotted name of cur, "" for the root */
	int depth;
};

__attribute__((format(printf, 3, 4)))
static void *tp_err(struct tp *t, const char *key, const char *fmt, ...)
{
	if (t->err)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	char *msg = xfmt_v(fmt, ap);
	va_end(ap);
	if (key && *key)
		t->err = xfmt("%s:%d: key `%s`: %s", t->file, t->line, key,
		    msg ? msg : "out of memory");
	else
		t->err = xfmt("%s:%d: %s", t->file, t->line,
		    msg ? msg : "out of memory");
	free(msg);
	return NULL;
}

static struct toml_value *newval(enum toml_type type, int line)
{
	struct toml_value *v = calloc(1, sizeof(*v));
	if (v) {
		v->type = type;
		v->line = line;
	}
	return v;
}

void toml_free(struct toml_value *v)
{
	if (!v)
		return;
	if (v->type == TOML_STRING)
		free(v->u.s);
	for (size_t i = 0; i < v->n; i++) {
		toml_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v);
}

const char *toml_type_name(enum toml_type t)
{
	switch (t) {
	case TOML_STRING: return "a string";
	case TOML_INT: return "an integer";
	case TOML_FLOAT: return "a float";
	case TOML_BOOL: return "a boolean";
	case TOML_ARRAY: return "an array";
	case TOML_TABLE: return "a table";
	}
	return "?";
}

const struct toml_value *toml_get(const struct toml_value *table,
    const char *key)
{
	if (!table || table->type != TOML_TABLE)
		return NULL;
	for (size_t i = 0; i < table->n; i++)
		if (strcmp(table->keys[i], key) == 0)
			return table->items[i];
	return NULL;
}

static struct toml_value *tab_get(struct toml_value *table, const char *key)
{
	return (struct toml_value *)toml_get(table, key);
}

static int push(struct toml_value *c, char *key, struct toml_value *v)
{
	struct toml_value **items = realloc(c->items,
	    (c->n + 1) * sizeof(*items));
	if (!items)
		return -1;
	c->items = items;
	if (c->type == TOML_TABLE) {
		char **keys = realloc(c->keys, (c->n + 1) * sizeof(*keys));
		if (!keys)
			return -1;
		c->keys = keys;
		keys[c->n] = key;
	}
	items[c->n++] = v;
	return 0;
}

/* "a.b" + "c" -> "a.b.c"; malloc'd. */
static char *join(const char *a, const char *b)
{
	char *s = NULL;
	if (asprintf(&s, "%s%s%s", a, *a ? "." : "", b) < 0)
		return NULL;
	return s;
}

static void skip_ws(struct tp *t)
{
	while (t->p < t->end && (*t->p == ' ' || *t->p == '\t'))
		t->p++;
}

static void skip_comment(struct tp *t)
{
	if (t->p < t->end && *t->p == '#')
		while (t->p < t->end && *t->p != '\n')
			t->p++;
}

static bool at_eol(const struct tp *t)
{
	return t->p >= t->end || *t->p == '\n' ||
	    (*t->p == '\r' && t->p + 1 < t->end && t->p[1] == '\n');
}

static void eat_eol(struct tp *t)
{
	if (t->p < t->end && *t->p == '\r')
		t->p++;
	if (t->p < t->end && *t->p == '\n') {
		t->p++;
		t->line++;
	}
}

/* Whitespace, comments and newlines (inside arrays). */
static void skip_space_nl(struct tp *t)
{
	for (;;) {
		skip_ws(t);
		skip_comment(t);
		if (t->p < t->end && at_eol(t))
			eat_eol(t);
		else
			return;
	}
}

static int expect_eol(struct tp *t, const char *key)
{
	skip_ws(t);
	skip_comment(t);
	if (!at_eol(t)) {
		tp_err(t, key, "unexpected `%c` after the value", *t->p);
		return -1;
	}
	eat_eol(t);
	return 0;
}

static bool is_bare(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Appends the UTF-8 encoding of cp. */
static int put_utf8(char *o, size_t *n, unsigned long cp)
{
	if (cp < 0x80) {
		o[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		o[(*n)++] = (char)(0xc0 | (cp >> 6));
		o[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			return -1;
		o[(*n)++] = (char)(0xe0 | (cp >> 12));
		o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp <= 0x10ffff) {
		o[(*n)++] = (char)(0xf0 | (cp >> 18));
		o[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		return -1;
	}
	return 0;
}

/* A "basic" or 'literal' single-line string at t->p; malloc'd result. */
static char *parse_string(struct tp *t, const char *key)
{
	char q = *t->p;
	if (t->end - t->p >= 3 && t->p[1] == q && t->p[2] == q)
		return tp_err(t, key, "multi-line strings are not supported");
	t->p++;
	const char *start = t->p;
	/* Escapes only shrink the text (except \U, at most 4 bytes out for 10 in). */
	char *o = malloc((size_t)(t->end - start) + 1);
	if (!o)
		return tp_err(t, key, "out of memory");
	size_t n = 0;
	while (t->p < t->end && *t->p != q) {
		char c = *t->p;
		if (c == '\n' || c == '\r') {
			free(o);
			return tp_err(t, key, "unterminated string");
		}
		if ((unsigned char)c < 0x20 && c != '\t') {
			free(o);
			return tp_err(t, key, "control character in a string");
		}
		if (q == '\'' || c != '\\') {
			o[n++] = c;
			t->p++;
			continue;
		}
		t->p++;
		if (t->p >= t->end)
			break;
		char e = *t->p++;
		switch (e) {
		case 'b': o[n++] = '\b'; break;
		case 't': o[n++] = '\t'; break;
		case 'n': o[n++] = '\n'; break;
		case 'f': o[n++] = '\f'; break;
		case 'r': o[n++] = '\r'; break;
		case '"': o[n++] = '"'; break;
		case '\\': o[n++] = '\\'; break;
		case 'e': o[n++] = '\033'; break;
		case 'u':
		case 'U': {
			int digits = e == 'u' ? 4 : 8;
			unsigned long cp = 0;
			for (int i = 0; i < digits; i++) {
				char h = t->p < t->end ? *t->p : 0;
				int d = h >= '0' && h <= '9' ? h - '0' :
				    h >= 'a' && h <= 'f' ? h - 'a' + 10 :
				    h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
				if (d < 0) {
					free(o);
					return tp_err(t, key,
					    "bad \\%c escape: needs %d hex digits",
					    e, digits);
				}
				cp = cp * 16 + (unsigned long)d;
				t->p++;
			}
			if (put_utf8(o, &n, cp) < 0) {
				free(o);
				return tp_err(t, key,
				    "\\%c escape is not a Unicode scalar value", e);
			}
			break;
		}
		default:
			free(o);
			return tp_err(t, key, "unknown escape `\\%c`", e);
		}
	}
	if (t->p >= t->end) {
		free(o);
		return tp_err(t, key, "unterminated string");
	}
	t->p++;
	o[n] = 0;
	if (strlen(o) != n) {
		free(o);
		return tp_err(t, key, "NUL in a string");
	}
	return o;
}

/* One key part: bare, "basic" or 'literal'. */
static char *parse_key_part(struct tp *t, const char *ctx)
{
	if (t->p < t->end && (*t->p == '"' || *t->p == '\''))
		return parse_string(t, ctx);
	const char *s = t->p;
	while (t->p < t->end && is_bare(*t->p))
		t->p++;
	if (t->p == s) {
		if (at_eol(t))
			return tp_err(t, ctx, "expected a key");
		return tp_err(t, ctx, "unexpected `%c` where a key should be",
		    *t->p);
	}
	return strndup(s, (size_t)(t->p - s));
}

struct keyparts {
	char **v;
	size_t n;
};

static void keyparts_free(struct keyparts *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	k->v = NULL;
	k->n = 0;
}

/* Dotted key; *full is the dotted name relative to base for messages. */
static int parse_key(struct tp *t, const char *base, struct keyparts *k,
    char **full)
{
	*full = strdup(base);
	for (;;) {
		skip_ws(t);
		char *part = parse_key_part(t, *full);
		if (!part)
			return -1;
		char **v = realloc(k->v, (k->n + 1) * sizeof(*v));
		if (v)
			k->v = v;
		char *f = join(*full, part);
		if (!v || !f) {
			free(part);
			free(f);
			tp_err(t, *full, "out of memory");
			return -1;
		}
		v[k->n++] = part;
		free(*full);
		*full = f;
		skip_ws(t);
		if (t->p < t->end && *t->p == '.') {
			t->p++;
			continue;
		}
		return 0;
	}
}

static struct toml_value *parse_value(struct tp *t, const char *key);

static struct toml_value *parse_array(struct tp *t, const char *key)
{
	struct toml_value *a = newval(TOML_ARRAY, t->line);
	if (!a)
		return tp_err(t, key, "out of memory");
	t->p++;
	for (;;) {
		skip_space_nl(t);
		if (t->p >= t->end) {
			toml_free(a);
			return tp_err(t, key, "unterminated array");
		}
		if (*t->p == ']') {
			t->p++;
			return a;
		}
		struct toml_value *v = parse_value(t, key);
		if (!v || push(a, NULL, v) < 0) {
			toml_free(v);
			toml_free(a);
			return tp_err(t, key, "out of memory");
		}
		skip_space_nl(t);
		if (t->p < t->end && *t->p == ',') {
			t->p++;
			continue;
		}
		if (t->p < t->end && *t->p == ']')
			continue;
		toml_free(a);
		if (t->p >= t->end)
			return tp_err(t, key, "unterminated array");
		return tp_err(t, key, "expected `,` or `]` in an array, got `%c`",
		    *t->p);
	}
}

/*
 * Places value v at the dotted key k under table base, creating implicit
 * tables for the intermediate parts.  Consumes v (freed on error).
 */
static int insert(struct tp *t, struct toml_value *base, struct keyparts *k,
    const char *full, struct toml_value *v)
{
	struct toml_value *c = base;
	for (size_t i = 0; i + 1 < k->n; i++) {
		struct toml_value *n = tab_get(c, k->v[i]);
		if (!n) {
			char *kk = strdup(k->v[i]);
			n = newval(TOML_TABLE, t->line);
			if (!kk || !n || push(c, kk, n) < 0) {
				free(kk);
				toml_free(n);
				toml_free(v);
				tp_err(t, full, "out of memory");
				return -1;
			}
		} else if (n->type != TOML_TABLE || n->inline_tab) {
			toml_free(v);
			tp_err(t, full, "`%s` is already defined as %s on line %d",
			    k->v[i], n->inline_tab ? "an inline table" :
			    toml_type_name(n->type), n->line);
			return -1;
		}
		c = n;
	}
	const char *last = k->v[k->n - 1];
	const struct toml_value *old = tab_get(c, last);
	if (old) {
		toml_free(v);
		tp_err(t, full, "duplicate key (first defined on line %d)",
		    old->line);
		return -1;
	}
	char *kk = strdup(last);
	if (!kk || push(c, kk, v) < 0) {
		free(kk);
		toml_free(v);
		tp_err(t, full, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * key = value into tab (keys named relative to base).  *full gets the
 * dotted name (caller frees, also on error).
 */
static int parse_assign(struct tp *t, struct toml_value *tab,
    const char *base, char **full)
{
	struct keyparts k = { 0 };
	int rc = -1;
	*full = NULL;
	if (parse_key(t, base, &k, full) < 0)
		goto out;
	if (t->p >= t->end || *t->p != '=') {
		tp_err(t, *full, "expected `=` after the key");
		goto out;
	}
	t->p++;
	skip_ws(t);
	int line = t->line;
	struct toml_value *v = parse_value(t, *full);
	if (!v)
		goto out;
	/* A multi-line array ends on a later line; report duplicates where the key is. */
	int end_line = t->line;
	t->line = line;
	if (insert(t, tab, &k, *full, v) < 0)
		goto out;
	t->line = end_line;
	rc = 0;
out:
	keyparts_free(&k);
	return rc;
}

static struct toml_value *parse_inline_table(struct tp *t, const char *key)
{
	struct toml_value *tab = newval(TOML_TABLE, t->line);
	if (!tab)
		return tp_err(t, key, "out of memory");
	tab->inline_tab = true;
	t->p++;
	skip_ws(t);
	if (t->p < t->end && *t->p == '}') {
		t->p++;
		return tab;
	}
	for (;;) {
		char *full = NULL;
		int rc = parse_assign(t, tab, key, &full);
		free(full);
		if (rc < 0)
			break;
		skip_ws(t);
		if (t->p < t->end && *t->p == ',') {
			t->p++;
			continue;
		}
		if (t->p < t->end && *t->p == '}') {
			t->p++;
			return tab;
		}
		tp_err(t, key, "expected `,` or `}` in an inline table");
		break;
	}
	toml_free(tab);
	return NULL;
}

static struct toml_value *parse_number(struct tp *t, const char *key)
{
	const char *s = t->p;
	while (t->p < t->end && (is_bare(*t->p) || *t->p == '.' ||
	    *t->p == '+' || *t->p == ':'))
		t->p++;
	size_t len = (size_t)(t->p - s);
	char buf[64];
	size_t n = 0;
	bool isfloat = false;
	if (len == 0)
		return tp_err(t, key, "expected a value");
	if (len >= sizeof(buf))
		return tp_err(t, key, "number too long");
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '_') {
			/* Underscores only between digits. */
			if (i == 0 || i + 1 == len ||
			    !(s[i - 1] >= '0' && s[i - 1] <= '9') ||
			    !(s[i + 1] >= '0' && s[i + 1] <= '9'))
				goto bad;
			continue;
		}
		if (c == '.' || c == 'e' || c == 'E')
			isfloat = true;
		buf[n++] = c;
	}
	buf[n] = 0;
	if (strcmp(buf, "inf") == 0 || strcmp(buf, "+inf") == 0 ||
	    strcmp(buf, "-inf") == 0 || strcmp(buf, "nan") == 0 ||
	    strcmp(buf, "+nan") == 0 || strcmp(buf, "-nan") == 0) {
		struct toml_value *v = newval(TOML_FLOAT, t->line);
		if (!v)
			return tp_err(t, key, "out of memory");
		v->u.f = buf[strlen(buf) - 1] == 'n' ? NAN :
		    buf[0] == '-' ? -INFINITY : INFINITY;
		return v;
	}
	const char *d = buf + (buf[0] == '+' || buf[0] == '-');
	if (!(*d >= '0' && *d <= '9'))
		goto bad;
	if (d[0] == '0' && d[1] >= '0' && d[1] <= '9')
		return tp_err(t, key, "leading zeros are not allowed in `%s`",
		    buf);
	if (d[0] == '0' && (d[1] == 'x' || d[1] == 'o' || d[1] == 'b'))
		return tp_err(t, key, "only decimal integers are supported");
	char *e;
	errno = 0;
	if (isfloat) {
		/* TOML wants a digit on both sides of the point. */
		const char *dot = strchr(buf, '.');
		if (dot && !(dot[1] >= '0' && dot[1] <= '9'))
			goto bad;
		double f = strtod(buf, &e);
		if (*e || errno)
			goto bad;
		struct toml_value *v = newval(TOML_FLOAT, t->line);
		if (!v)
			return tp_err(t, key, "out of memory");
		v->u.f = f;
		return v;
	}
	long long i = strtoll(buf, &e, 10);
	if (*e)
		goto bad;
	if (errno == ERANGE)
		return tp_err(t, key, "integer `%s` out of range", buf);
	struct toml_value *v = newval(TOML_INT, t->line);
	if (!v)
		return tp_err(t, key, "out of memory");
	v->u.i = i;
	return v;
bad:
	return tp_err(t, key, "bad value `%.*s` (strings need quotes)",
	    (int)len, s);
}

static struct toml_value *parse_value(struct tp *t, const char *key)
{
	if (++t->depth > TOML_MAX_DEPTH) {
		t->depth--;
		return tp_err(t, key, "values nested too deeply");
	}
	struct toml_value *v = NULL;
	if (t->p >= t->end || at_eol(t) || *t->p == '#') {
		v = tp_err(t, key, "expected a value");
	} else if (*t->p == '"' || *t->p == '\'') {
		int line = t->line;
		char *s = parse_string(t, key);
		if (s) {
			v = newval(TOML_STRING, line);
			if (v)
				v->u.s = s;
			else
				free(s), tp_err(t, key, "out of memory");
		}
	} else if (*t->p == '[') {
		v = parse_array(t, key);
	} else if (*t->p == '{') {
		v = parse_inline_table(t, key);
	} else if (t->end - t->p >= 4 && memcmp(t->p, "true", 4) == 0 &&
	    (t->end - t->p == 4 || !is_bare(t->p[4]))) {
		v = newval(TOML_BOOL, t->line);
		if (v)
			v->u.b = true;
		t->p += 4;
	} else if (t->end - t->p >= 5 && memcmp(t->p, "false", 5) == 0 &&
	    (t->end - t->p == 5 || !is_bare(t->p[5]))) {
		v = newval(TOML_BOOL, t->line);
		t->p += 5;
	} else {
		v = parse_number(t, key);
	}
	t->depth--;
	return v;
}

/* [a.b.c] */
static int parse_header(struct tp *t)
{
	t->p++;
	if (t->p < t->end && *t->p == '[')
		return tp_err(t, NULL, "arrays of tables ([[...]]) are not supported"),
		    -1;
	struct keyparts k = { 0 };
	char *full = NULL;
	if (parse_key(t, "", &k, &full) < 0)
		goto fail;
	if (t->p >= t->end || *t->p != ']') {
		tp_err(t, NULL, "bad table header: expected `]`");
		goto fail;
	}
	t->p++;
	if (expect_eol(t, NULL) < 0)
		goto fail;
	/* The header itself is on the previous line now. */
	struct toml_value *c = t->root;
	for (size_t i = 0; i < k.n; i++) {
		struct toml_value *n = tab_get(c, k.v[i]);
		if (!n) {
			char *kk = strdup(k.v[i]);
			n = newval(TOML_TABLE, t->line - 1);
			if (!kk || !n || push(c, kk, n) < 0) {
				free(kk);
				toml_free(n);
				t->line--;
				tp_err(t, full, "out of memory");
				goto fail;
			}
		} else if (n->type != TOML_TABLE || n->inline_tab) {
			t->line--;
			tp_err(t, full, "`%s` is already defined as %s on line %d",
			    k.v[i], n->inline_tab ? "an inline table" :
			    toml_type_name(n->type), n->line);
			goto fail;
		} else if (i + 1 == k.n && n->defined) {
			t->line--;
			tp_err(t, full, "table defined twice (first on line %d)",
			    n->line);
			goto fail;
		}
		c = n;
	}
	c->defined = true;
	c->line = t->line - 1;
	t->cur = c;
	free(t->curpath);
	t->curpath = full;
	keyparts_free(&k);
	return 0;
fail:
	keyparts_free(&k);
	free(full);
	return -1;
}

static int parse_keyval(struct tp *t)
{
	char *full = NULL;
	int rc = parse_assign(t, t->cur, t->curpath, &full);
	if (rc == 0)
		rc = expect_eol(t, full);
	free(full);
	return rc;
}

/* Length of the UTF-8 sequence at p (overlongs, surrogates and values
 * over U+10FFFF refused), or 0 if it is not valid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *e)
{
	size_t n = *p < 0x80 ? 1 : *p >= 0xc2 && *p <= 0xdf ? 2 :
	    *p >= 0xe0 && *p <= 0xef ? 3 : *p >= 0xf0 && *p <= 0xf4 ? 4 : 0;
	if (n == 0 || (size_t)(e - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((n == 3 && *p == 0xe0 && p[1] < 0xa0) ||
	    (n == 3 && *p == 0xed && p[1] >= 0xa0) ||
	    (n == 4 && *p == 0xf0 && p[1] < 0x90) ||
	    (n == 4 && *p == 0xf4 && p[1] >= 0x90))
		return 0;
	return n;
}

/* A TOML file is UTF-8 without NUL: say where it is not (a corrupt or
 * binary file), before any message quotes its bytes. */
static void check_bytes(struct tp *t)
{
	const unsigned char *p = (const unsigned char *)t->p;
	const unsigned char *e = (const unsigned char *)t->end;
	int line = 1;
	while (p < e) {
		size_t n = *p ? utf8_len(p, e) : 0;
		if (n == 0) {
			t->line = line;
			if (*p == 0)
				tp_err(t, NULL, "NUL byte in the file");
			else
				tp_err(t, NULL, "invalid UTF-8 (byte 0x%02X); "
				    "is this a text file?", *p);
			t->line = 1;
			return;
		}
		line += *p == '\n';
		p += n;
	}
}

struct toml_value *toml_parse(const char *text, size_t len,
    const char *filename, char **err)
{
	struct tp t = { .p = text, .end = text + len, .file = filename,
		.line = 1 };
	*err = NULL;
	t.root = newval(TOML_TABLE, 1);
	t.curpath = strdup("");
	if (!t.root || !t.curpath) {
		toml_free(t.root);
		free(t.curpath);
		*err = strdup("out of memory");
		return NULL;
	}
	t.root->defined = true;
	t.cur = t.root;
	check_bytes(&t);
	while (!t.err && t.p < t.end) {
		skip_ws(&t);
		skip_comment(&t);
		if (at_eol(&t)) {
			eat_eol(&t);
			continue;
		}
		if (*t.p == '[')
			parse_header(&t);
		else
			parse_keyval(&t);
	}
	free(t.curpath);
	if (t.err) {
		toml_free(t.root);
		*err = t.err;
		return NULL;
	}
	return t.root;
}

char *toml_read_file(const char *path, size_t *len, char **err)
{
	/* O_NONBLOCK: a FIFO must not hang us; it is refused below. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	*err = NULL;
	if (fd < 0 || fstat(fd, &st) < 0) {
		(void)asprintf(err, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)TOML_MAX_FILE) {
		(void)asprintf(err, "%s: %s", path, S_ISDIR(st.st_mode) ?
		    "is a directory, not a TOML file" : !S_ISREG(st.st_mode) ?
		    "not a regular file" : "file larger than 4 MiB");
		close(fd);
		return NULL;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t n = 0;
	ssize_t r = 1;
	while (buf && n < (size_t)st.st_size &&
	    (r = read(fd, buf + n, (size_t)st.st_size - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	int e = errno;
	close(fd);
	if (!buf || r < 0) {
		(void)asprintf(err, "%s: %s", path, !buf ? "out of memory" :
		    strerror(e));
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

struct toml_value *toml_parse_file(const char *path, char **err)
{
	size_t n;
	char *buf = toml_read_file(path, &n, err);
	if (!buf)
		return NULL;
	struct toml_value *v = toml_parse(buf, n, path, err);
	free(buf);
	return v;
}
