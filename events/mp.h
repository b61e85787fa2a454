/*
 * mp.h: small msgpack helpers shared by every module.
 *
 * Packing: thin wrappers so that building a named map reads like the
 * schema.  Reading: typed lookups on a decoded map that check the type and
 * return -1 (errno EBADMSG) instead of making callers test types by hand.
 * Returned string views point into the msgpack zone: valid until the
 * msgpack_unpacked they came from is destroyed.
 */
#ifndef PROVIUM_MP_H
#define PROVIUM_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/* Packing.  All return msgpack's 0/-1. */
int mp_str(msgpack_packer *pk, const char *s);
int mp_strn(msgpack_packer *pk, const char *s, size_t n);
int mp_bin(msgpack_packer *pk, const void *p, size_t n);
int mp_kv_str(msgpack_packer *pk, const char *key, const char *val);
int mp_kv_strn(msgpack_packer *pk, const char *key, const char *val, size_t n);
int mp_kv_u64(msgpack_packer *pk, const char *key, uint64_t val);
int mp_kv_i64(msgpack_packer *pk, const char *key, int64_t val);
int mp_kv_bool(msgpack_packer *pk, const char *key, bool val);
int mp_kv_nil(msgpack_packer *pk, const char *key);
int mp_kv_bin(msgpack_packer *pk, const char *key, const void *p, size_t n);

/* Lookup: the value for key in a map, or NULL (also if obj is no map). */
const msgpack_object *mp_get(const msgpack_object *map, const char *key);

/* Typed getters: 0 on success, -1 with errno = ENOENT (missing) or
 * EBADMSG (wrong type / out of range). */
int mp_get_str(const msgpack_object *map, const char *key, const char **s,
    size_t *n);
int mp_get_bin(const msgpack_object *map, const char *key, const char **p,
    size_t *n); /* accepts bin or str */
int mp_get_u64(const msgpack_object *map, const char *key, uint64_t *v);
int mp_get_i64(const msgpack_object *map, const char *key, int64_t *v);
int mp_get_bool(const msgpack_object *map, const char *key, bool *v);

/* Object conversions (same conventions). */
int mp_obj_u64(const msgpack_object *o, uint64_t *v);
int mp_obj_i64(const msgpack_object *o, int64_t *v);
bool mp_obj_is_str(const msgpack_object *o, const char *s);
/* malloc'd NUL-terminated copy of a str/bin object; NULL on type error. */
char *mp_obj_strdup(const msgpack_object *o);

#endif
