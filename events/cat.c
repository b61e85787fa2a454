/* cat.c: msgpack object -> JSON text, fast enough for million-frame files. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/cat.h"
#include "events/utf8.h"

/* Room for n more bytes; 0, or -1 with the line marked failed. */
static int
reserve(struct cat *c, size_t n)
{
	if (c->n + n > c->cap) {
		size_t nc = (c->n + n) * 2 + 256;
		char *np = realloc(c->p, nc);
		if (!np) {
			c->oom = 1;
			return -1;
		}
		c->p = np;
		c->cap = nc;
	}
	return 0;
}

/* Appends to the line buffer; on ENOMEM the line is marked failed. */
static void
put(struct cat *c, const void *p, size_t n)
{
	if (reserve(c, n) != 0)
		return;
	memcpy(c->p + c->n, p, n);
	c->n += n;
}

static void
putc1(struct cat *c, char ch)
{
	if (c->n < c->cap)
		c->p[c->n++] = ch;
	else
		put(c, &ch, 1);
}

#define puts0(c, s) put((c), (s), strlen(s))

static const char hexd[] = "0123456789abcdef";
static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Writes straight into the line buffer, sized once for the worst case
 * (6 output bytes per input byte, plus quotes): strings are most of a
 * line, and a bounds check per run was a fifth of `events cat`. */
static void
str(struct cat *out, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + n;
	char *o;
	size_t l;

	if (reserve(out, 6 * n + 2) != 0)
		return;
	o = out->p + out->n;
	*o++ = '"';
	while (p < end) {
		if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
			*o++ = (char)*p++;
		} else if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p++;
		} else if (*p == '\n') {
			*o++ = '\\', *o++ = 'n', p++;
		} else if (*p == '\t') {
			*o++ = '\\', *o++ = 't', p++;
		} else if (*p == '\r') {
			*o++ = '\\', *o++ = 'r', p++;
		} else if (*p < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hexd[*p >> 4];
			o[5] = hexd[*p & 15];
			o += 6, p++;
		} else if ((l = utf8_seq_len(p, (size_t)(end - p))) > 0) {
			memcpy(o, p, l);
			o += l, p += l;
		} else {
			memcpy(o, "\\ufffd", 6);
			o += 6, p++;
		}
	}
	*o++ = '"';
	out->n = (size_t)(o - out->p);
}

static void
base64(struct cat *out, const uint8_t *p, size_t n)
{
	char q[4];
	uint32_t v;

	putc1(out, '"');
	for (; n >= 3; p += 3, n -= 3) {
		v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		q[0] = b64[v >> 18];
		q[1] = b64[(v >> 12) & 63];
		q[2] = b64[(v >> 6) & 63];
		q[3] = b64[v & 63];
		put(out, q, 4);
	}
	if (n > 0) {
		v = (uint32_t)p[0] << 16 | (n > 1 ? (uint32_t)p[1] << 8 : 0);
		q[0] = b64[v >> 18];
		q[1] = b64[(v >> 12) & 63];
		q[2] = n > 1 ? b64[(v >> 6) & 63] : '=';
		q[3] = '=';
		put(out, q, 4);
	}
	putc1(out, '"');
}

static void
u64(struct cat *out, uint64_t v)
{
	char b[24];
	int i = sizeof(b);

	do
		b[--i] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	put(out, b + i, sizeof(b) - (size_t)i);
}

static void value(struct cat *out, const msgpack_object *o);

static void
key(struct cat *out, const msgpack_object *k)
{
	struct cat tmp = CAT_INIT;

	if (k->type == MSGPACK_OBJECT_STR) {
		str(out, k->via.str.ptr, k->via.str.size);
		return;
	}
	value(&tmp, k);
	str(out, tmp.p ? tmp.p : "", tmp.n);
	out->oom |= tmp.oom;
	cat_release(&tmp);
}

static void
value(struct cat *out, const msgpack_object *o)
{
	uint32_t i;
	char b[32];

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		puts0(out, "null");
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		puts0(out, o->via.boolean ? "true" : "false");
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		u64(out, o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		putc1(out, '-');
		u64(out, (uint64_t)0 - (uint64_t)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (isfinite(o->via.f64)) {
			snprintf(b, sizeof(b), "%.17g", o->via.f64);
			puts0(out, b);
		} else {
			puts0(out, "null");
		}
		break;
	case MSGPACK_OBJECT_STR:
		str(out, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		base64(out, (const uint8_t *)o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_EXT:
		snprintf(b, sizeof(b), "{\"ext\":%d,\"data\":", o->via.ext.type);
		puts0(out, b);
		base64(out, (const uint8_t *)o->via.ext.ptr, o->via.ext.size);
		putc1(out, '}');
		break;
	case MSGPACK_OBJECT_ARRAY:
		putc1(out, '[');
		for (i = 0; i < o->via.array.size; i++) {
			if (i)
				putc1(out, ',');
			value(out, &o->via.array.ptr[i]);
		}
		putc1(out, ']');
		break;
	case MSGPACK_OBJECT_MAP:
		putc1(out, '{');
		for (i = 0; i < o->via.map.size; i++) {
			if (i)
				putc1(out, ',');
			key(out, &o->via.map.ptr[i].key);
			putc1(out, ':');
			value(out, &o->via.map.ptr[i].val);
		}
		putc1(out, '}');
		break;
	}
}

int
cat_json_line(struct cat *c, FILE *out, const msgpack_object *o)
{
	c->n = 0;
	value(c, o);
	putc1(c, '\n');
	if (c->oom) {
		c->oom = 0;
		errno = ENOMEM;
		return -1;
	}
	return fwrite_unlocked(c->p, 1, c->n, out) == c->n ? 0 : -1;
}

void
cat_release(struct cat *c)
{
	free(c->p);
	*c = (struct cat)CAT_INIT;
}
