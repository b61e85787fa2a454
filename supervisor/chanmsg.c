/* chanmsg.c: packing the supervisor's runner-channel messages. */
#include "events/frame.h"
#include "events/mp.h"
#include "events/proto.h"
#include "chanmsg.h"

int
chanmsg_answer(int fd, const char *t, uint64_t id, const char *message)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	if (fd < 0)
		return -1;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, message ? 3 : 2);
	mp_kv_str(&pk, "t", t);
	mp_kv_u64(&pk, "id", id);
	if (message)
		mp_kv_str(&pk, "message", message);
	rc = frame_write_sbuf(fd, &sb, FRAME_MAX_RUNNER);
	msgpack_sbuffer_destroy(&sb);
	return rc == FRAME_OK ? 0 : -1;
}

static void
pack_strs(msgpack_packer *pk, const char *key, const char *const *v, size_t n)
{
	size_t i;

	mp_str(pk, key);
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		mp_str(pk, v[i]);
}

static void
pack_kvs(msgpack_packer *pk, const char *key, const struct cli_kv *v, size_t n)
{
	size_t i;

	mp_str(pk, key);
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++) {
		msgpack_pack_map(pk, 2);
		mp_kv_str(pk, "key", v[i].key);
		mp_kv_str(pk, "value", v[i].value);
	}
}

int
chanmsg_start(int fd, const struct cli_opts *o, const char *path,
    const char *display)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 5);
	mp_kv_str(&pk, "t", "start");
	mp_kv_u64(&pk, "v", 1);
	mp_kv_str(&pk, "path", path);
	mp_kv_str(&pk, "display", display);
	mp_str(&pk, "opts");
	msgpack_pack_map(&pk, 9);
	mp_kv_bool(&pk, "include_slow", o->include_slow);
	pack_strs(&pk, "tag", o->tag, o->ntag);
	pack_strs(&pk, "no_tag", o->no_tag, o->nno_tag);
	pack_kvs(&pk, "tag_meta", o->tag_meta, o->ntag_meta);
	pack_kvs(&pk, "no_tag_meta", o->no_tag_meta, o->nno_tag_meta);
	mp_kv_str(&pk, "vmm", o->vmm);
	mp_kv_bool(&pk, "verbose", o->verbose);
	if (o->config)
		mp_kv_str(&pk, "config", o->config);
	else
		mp_kv_nil(&pk, "config");
	mp_kv_str(&pk, "accel", o->accel);
	rc = frame_write_sbuf(fd, &sb, FRAME_MAX_RUNNER);
	msgpack_sbuffer_destroy(&sb);
	return rc == FRAME_OK ? 0 : -1;
}
