/* mp.c: msgpack packing shorthands and checked map lookups. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"

int
mp_strn(msgpack_packer *pk, const char *s, size_t n)
{
	if (msgpack_pack_str(pk, n) != 0)
		return -1;
	return msgpack_pack_str_body(pk, s, n);
}

int
mp_str(msgpack_packer *pk, const char *s)
{
	return mp_strn(pk, s, strlen(s));
}

int
mp_bin(msgpack_packer *pk, const void *p, size_t n)
{
	if (msgpack_pack_bin(pk, n) != 0)
		return -1;
	return msgpack_pack_bin_body(pk, p, n);
}

int
mp_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
	return mp_str(pk, key) || mp_str(pk, val) ? -1 : 0;
}

int
mp_kv_strn(msgpack_packer *pk, const char *key, const char *val, size_t n)
{
	return mp_str(pk, key) || mp_strn(pk, val, n) ? -1 : 0;
}

int
mp_kv_u64(msgpack_packer *pk, const char *key, uint64_t val)
{
	return mp_str(pk, key) || msgpack_pack_uint64(pk, val) ? -1 : 0;
}

int
mp_kv_i64(msgpack_packer *pk, const char *key, int64_t val)
{
	return mp_str(pk, key) || msgpack_pack_int64(pk, val) ? -1 : 0;
}

int
mp_kv_bool(msgpack_packer *pk, const char *key, bool val)
{
	if (mp_str(pk, key))
		return -1;
	return val ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

int
mp_kv_nil(msgpack_packer *pk, const char *key)
{
	return mp_str(pk, key) || msgpack_pack_nil(pk) ? -1 : 0;
}

int
mp_kv_bin(msgpack_packer *pk, const char *key, const void *p, size_t n)
{
	return mp_str(pk, key) || mp_bin(pk, p, n) ? -1 : 0;
}

bool
mp_obj_is_str(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

const msgpack_object *
mp_get(const msgpack_object *map, const char *key)
{
	uint32_t i;

	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (i = 0; i < map->via.map.size; i++) {
		if (mp_obj_is_str(&map->via.map.ptr[i].key, key))
			return &map->via.map.ptr[i].val;
	}
	return NULL;
}

static const msgpack_object *
need(const msgpack_object *map, const char *key)
{
	const msgpack_object *o = mp_get(map, key);

	if (o == NULL)
		errno = ENOENT;
	return o;
}

int
mp_get_str(const msgpack_object *map, const char *key, const char **s,
    size_t *n)
{
	const msgpack_object *o = need(map, key);

	if (o == NULL)
		return -1;
	if (o->type != MSGPACK_OBJECT_STR)
		return (errno = EBADMSG), -1;
	*s = o->via.str.ptr;
	if (n)
		*n = o->via.str.size;
	return 0;
}

int
mp_get_bin(const msgpack_object *map, const char *key, const char **p,
    size_t *n)
{
	const msgpack_object *o = need(map, key);

	if (o == NULL)
		return -1;
	if (o->type == MSGPACK_OBJECT_BIN) {
		*p = o->via.bin.ptr;
		*n = o->via.bin.size;
	} else if (o->type == MSGPACK_OBJECT_STR) {
		*p = o->via.str.ptr;
		*n = o->via.str.size;
	} else {
		return (errno = EBADMSG), -1;
	}
	return 0;
}

int
mp_obj_u64(const msgpack_object *o, uint64_t *v)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		*v = o->via.u64;
		return 0;
	}
	return (errno = EBADMSG), -1;
}

int
mp_obj_i64(const msgpack_object *o, int64_t *v)
{
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = o->via.i64;
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= (uint64_t)INT64_MAX) {
		*v = (int64_t)o->via.u64;
		return 0;
	}
	return (errno = EBADMSG), -1;
}

int
mp_get_u64(const msgpack_object *map, const char *key, uint64_t *v)
{
	const msgpack_object *o = need(map, key);

	return o == NULL ? -1 : mp_obj_u64(o, v);
}

int
mp_get_i64(const msgpack_object *map, const char *key, int64_t *v)
{
	const msgpack_object *o = need(map, key);

	return o == NULL ? -1 : mp_obj_i64(o, v);
}

int
mp_get_bool(const msgpack_object *map, const char *key, bool *v)
{
	const msgpack_object *o = need(map, key);

	if (o == NULL)
		return -1;
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return (errno = EBADMSG), -1;
	*v = o->via.boolean;
	return 0;
}

char *
mp_obj_strdup(const msgpack_object *o)
{
	const char *p;
	size_t n;
	char *s;

	if (o == NULL) {                /* a mp_get() miss */
		errno = ENOENT;
		return NULL;
	}
	if (o->type == MSGPACK_OBJECT_STR) {
		p = o->via.str.ptr;
		n = o->via.str.size;
	} else if (o->type == MSGPACK_OBJECT_BIN) {
		p = o->via.bin.ptr;
		n = o->via.bin.size;
	} else {
		errno = EBADMSG;
		return NULL;
	}
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}
