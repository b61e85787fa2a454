/* cat.c: msgpack object -> JSON text, fast enough for million-frame files. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/cat.h"
#include "events/utf8.h"

static const char hexd[] = "0123456789abcdef";
static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
str(FILE *out, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + n, *run;
	size_t l;

	fputc_unlocked('"', out);
	while (p < end) {
		run = p;
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			fwrite_unlocked(run, 1, (size_t)(p - run), out);
		if (p == end)
			break;
		if (*p == '"' || *p == '\\') {
			fputc_unlocked('\\', out);
			fputc_unlocked(*p++, out);
		} else if (*p == '\n') {
			fputs_unlocked("\\n", out), p++;
		} else if (*p == '\t') {
			fputs_unlocked("\\t", out), p++;
		} else if (*p == '\r') {
			fputs_unlocked("\\r", out), p++;
		} else if (*p < 0x20) {
			fputs_unlocked("\\u00", out);
			fputc_unlocked(hexd[*p >> 4], out);
			fputc_unlocked(hexd[*p & 15], out);
			p++;
		} else if ((l = utf8_seq_len(p, (size_t)(end - p))) > 0) {
			fwrite_unlocked(p, 1, l, out);
			p += l;
		} else {
			fputs_unlocked("\\ufffd", out);
			p++;
		}
	}
	fputc_unlocked('"', out);
}

static void
base64(FILE *out, const uint8_t *p, size_t n)
{
	char q[4];
	uint32_t v;

	fputc_unlocked('"', out);
	for (; n >= 3; p += 3, n -= 3) {
		v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		q[0] = b64[v >> 18];
		q[1] = b64[(v >> 12) & 63];
		q[2] = b64[(v >> 6) & 63];
		q[3] = b64[v & 63];
		fwrite_unlocked(q, 1, 4, out);
	}
	if (n > 0) {
		v = (uint32_t)p[0] << 16 | (n > 1 ? (uint32_t)p[1] << 8 : 0);
		q[0] = b64[v >> 18];
		q[1] = b64[(v >> 12) & 63];
		q[2] = n > 1 ? b64[(v >> 6) & 63] : '=';
		q[3] = '=';
		fwrite_unlocked(q, 1, 4, out);
	}
	fputc_unlocked('"', out);
}

static void
u64(FILE *out, uint64_t v)
{
	char b[24];
	int i = sizeof(b);

	do
		b[--i] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	fwrite_unlocked(b + i, 1, sizeof(b) - (size_t)i, out);
}

static void value(FILE *out, const msgpack_object *o);

static void
key(FILE *out, const msgpack_object *k)
{
	char *buf;
	size_t len;
	FILE *m;

	if (k->type == MSGPACK_OBJECT_STR) {
		str(out, k->via.str.ptr, k->via.str.size);
		return;
	}
	if (!(m = open_memstream(&buf, &len))) {
		fputs_unlocked("\"?\"", out);
		return;
	}
	value(m, k);
	fclose(m);
	str(out, buf, len);
	free(buf);
}

static void
value(FILE *out, const msgpack_object *o)
{
	uint32_t i;
	char b[32];

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		fputs_unlocked("null", out);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs_unlocked(o->via.boolean ? "true" : "false", out);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		u64(out, o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		fputc_unlocked('-', out);
		u64(out, (uint64_t)0 - (uint64_t)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (isfinite(o->via.f64)) {
			snprintf(b, sizeof(b), "%.17g", o->via.f64);
			fputs_unlocked(b, out);
		} else {
			fputs_unlocked("null", out);
		}
		break;
	case MSGPACK_OBJECT_STR:
		str(out, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		base64(out, (const uint8_t *)o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_EXT:
		fprintf(out, "{\"ext\":%d,\"data\":", o->via.ext.type);
		base64(out, (const uint8_t *)o->via.ext.ptr, o->via.ext.size);
		fputc_unlocked('}', out);
		break;
	case MSGPACK_OBJECT_ARRAY:
		fputc_unlocked('[', out);
		for (i = 0; i < o->via.array.size; i++) {
			if (i)
				fputc_unlocked(',', out);
			value(out, &o->via.array.ptr[i]);
		}
		fputc_unlocked(']', out);
		break;
	case MSGPACK_OBJECT_MAP:
		fputc_unlocked('{', out);
		for (i = 0; i < o->via.map.size; i++) {
			if (i)
				fputc_unlocked(',', out);
			key(out, &o->via.map.ptr[i].key);
			fputc_unlocked(':', out);
			value(out, &o->via.map.ptr[i].val);
		}
		fputc_unlocked('}', out);
		break;
	}
}

int
cat_json_line(FILE *out, const msgpack_object *o)
{
	value(out, o);
	fputc_unlocked('\n', out);
	return ferror(out) ? -1 : 0;
}
