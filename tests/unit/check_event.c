/* check_event.c: every seed-001 kind round-trips; the decoder is strict. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "events/event.h"
#include "events/frame.h"
#include "events/mp.h"

static struct event
sample(enum event_kind k)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = k;
	ev.ts = 1700000000123456789LL;
	ev.path = strdup("dir/a.test.lua");
	ev.name = strdup("does a thing");
	ev.reason = strdup("why");
	ev.status = strdup("timed_out");
	ev.console_excerpt = strdup("---- vm a (last 3 bytes) ----\nok\n");
	ev.profile = strdup("linux");
	ev.held_by_file = strdup("pid=1 host=h");
	ev.duration_ns = 18446744073709551615ull;
	ev.memory_bytes = 512ull << 20;
	ev.snapshot_bytes = 12345;
	ev.cid = 4294967295u;
	ev.amount.memory_bytes = 1;
	ev.amount.cpus = 2;
	ev.amount2.memory_bytes = 3;
	ev.amount2.cpus = 4;
	if (k == EVENT_FILE_DISCOVERED) {
		ev.nfixture_refs = 2;
		ev.fixture_refs = calloc(2, sizeof(char *));
		ev.fixture_refs[0] = strdup("fx/base");
		ev.fixture_refs[1] = strdup("fx/other");
		ev.has_declared_claim = true;
		ev.declared_claim.memory_bytes = 1ull << 30;
		ev.declared_claim.cpus = 2;
	}
	return ev;
}

/* A meta map with all eight MetaValue variants. */
static void
fill_meta(struct event *ev)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	size_t off = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 8);
	mp_kv_nil(&pk, "null");
	mp_kv_bool(&pk, "bool", true);
	mp_kv_i64(&pk, "int", -42);
	mp_str(&pk, "float"); msgpack_pack_double(&pk, 1.5);
	mp_kv_str(&pk, "spec", "4.2.1");
	mp_kv_bin(&pk, "bytes", "ok", 2);  /* valid UTF-8, still bytes */
	mp_str(&pk, "tags"); msgpack_pack_array(&pk, 2); mp_str(&pk, "a"); mp_str(&pk, "b");
	mp_str(&pk, "map"); msgpack_pack_map(&pk, 1); mp_kv_u64(&pk, "x", 1);
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
	ck_assert_int_eq(meta_from_msgpack(&u.data, &ev->meta), 0);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

static void
roundtrip(struct event *in, struct event *out)
{
	msgpack_sbuffer sb;
	msgpack_unpacked u;
	const msgpack_object *m;
	char err[256] = "";

	ck_assert_int_eq(event_encode(in, &sb), 0);
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(frame_decode((uint8_t *)sb.data, sb.size, &u, &m), FRAME_OK);
	ck_assert_msg(event_decode(m, out, err, sizeof(err)) == 0, "%s", err);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

START_TEST(every_kind_roundtrips)
{
	int k = _i;
	struct event in = sample((enum event_kind)k), out;
	const struct meta_value *v;

	if (k >= EVENT_TEST_STARTED && k <= EVENT_TEST_SKIPPED)
		fill_meta(&in);
	roundtrip(&in, &out);
	ck_assert_int_eq(out.kind, k);
	ck_assert_int_eq(out.ts, in.ts);
	ck_assert_str_eq(event_kind_name(out.kind), event_kind_name(in.kind));
	switch (k) {
	case EVENT_FILE_DISCOVERED:
		ck_assert_str_eq(out.path, "dir/a.test.lua");
		ck_assert_uint_eq(out.nfixture_refs, 2);
		ck_assert_str_eq(out.fixture_refs[1], "fx/other");
		ck_assert(out.has_declared_claim);
		ck_assert_uint_eq(out.declared_claim.memory_bytes, 1ull << 30);
		break;
	case EVENT_FILE_COMPLETED:
		ck_assert_str_eq(out.status, "timed_out");
		ck_assert_uint_eq(out.duration_ns, in.duration_ns);
		break;
	case EVENT_TEST_FAILED:
		ck_assert_str_eq(out.reason, "why");
		ck_assert_str_eq(out.console_excerpt, in.console_excerpt);
		/* fallthrough */
	case EVENT_TEST_STARTED:
	case EVENT_TEST_PASSED:
	case EVENT_TEST_SKIPPED:
		ck_assert_str_eq(out.name, "does a thing");
		ck_assert_int_eq(out.meta.type, META_MAP);
		ck_assert_uint_eq(out.meta.u.map.n, 8);
		v = meta_get(&out.meta, "bytes");
		ck_assert_int_eq(v->type, META_BYTES);
		v = meta_get(&out.meta, "spec");
		ck_assert_int_eq(v->type, META_STR);
		ck_assert_str_eq(v->u.s.p, "4.2.1");
		ck_assert_int_eq(meta_get(&out.meta, "int")->u.i, -42);
		ck_assert_int_eq(meta_get(&out.meta, "null")->type, META_NULL);
		ck_assert_int_eq(meta_get(&out.meta, "tags")->u.arr.n, 2);
		break;
	case EVENT_VM_SPAWNED:
		ck_assert_str_eq(out.path, "dir/a.test.lua");
		ck_assert_str_eq(out.profile, "linux");
		ck_assert_uint_eq(out.cid, 4294967295u);
		ck_assert_uint_eq(out.memory_bytes, 512ull << 20);
		break;
	case EVENT_POOL_STATE:
		ck_assert_uint_eq(out.amount.cpus, 2);
		ck_assert_uint_eq(out.amount2.memory_bytes, 3);
		break;
	case EVENT_FIXTURE_BUILD_WAITING:
		ck_assert_str_eq(out.held_by_file, "pid=1 host=h");
		break;
	case EVENT_FIXTURE_BUILD_DONE:
		ck_assert_uint_eq(out.snapshot_bytes, 12345);
		break;
	default:
		ck_assert_str_eq(out.path, "dir/a.test.lua");
	}
	event_clear(&in);
	event_clear(&out);
}
END_TEST

START_TEST(absent_claim_is_nil_and_meta_never_nil)
{
	struct event in, out;
	msgpack_sbuffer sb;
	msgpack_unpacked u;
	const msgpack_object *m, *p;

	memset(&in, 0, sizeof(in));
	in.kind = EVENT_FILE_DISCOVERED;
	in.path = strdup("x.test.lua");
	ck_assert_int_eq(event_encode(&in, &sb), 0);
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(frame_decode((uint8_t *)sb.data, sb.size, &u, &m), FRAME_OK);
	p = mp_get(m, "payload");
	ck_assert_int_eq(mp_get(p, "declared_claim")->type, MSGPACK_OBJECT_NIL);
	ck_assert_int_eq(mp_get(p, "fixture_refs")->type, MSGPACK_OBJECT_ARRAY);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	event_clear(&in);

	memset(&in, 0, sizeof(in));
	in.kind = EVENT_TEST_STARTED;    /* meta left unset */
	roundtrip(&in, &out);
	ck_assert_int_eq(out.meta.type, META_MAP);
	ck_assert(out.path != NULL && out.path[0] == '\0');
	event_clear(&out);
}
END_TEST

static int
decode_raw(void (*build)(msgpack_packer *), char *err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	const msgpack_object *m;
	struct event ev;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	build(&pk);
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(frame_decode((uint8_t *)sb.data, sb.size, &u, &m), FRAME_OK);
	rc = event_decode(m, &ev, err, 256);
	if (rc == 0)
		event_clear(&ev);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void
unknown_kind(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 3);
	mp_kv_i64(pk, "ts", 1);
	mp_kv_str(pk, "kind", "test_exploded");
	mp_str(pk, "payload"); msgpack_pack_map(pk, 0);
}

static void
missing_field(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 3);
	mp_kv_i64(pk, "ts", 1);
	mp_kv_str(pk, "kind", "test_passed");
	mp_str(pk, "payload"); msgpack_pack_map(pk, 3);
	mp_kv_str(pk, "path", "p"); mp_kv_str(pk, "name", "n");
	mp_str(pk, "meta"); msgpack_pack_map(pk, 0);
}

static void
nil_meta(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 3);
	mp_kv_i64(pk, "ts", 1);
	mp_kv_str(pk, "kind", "test_started");
	mp_str(pk, "payload"); msgpack_pack_map(pk, 3);
	mp_kv_str(pk, "path", "p"); mp_kv_str(pk, "name", "n");
	mp_kv_nil(pk, "meta");
}

static void
extra_field_ok(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 4);
	mp_kv_i64(pk, "ts", 1);
	mp_kv_str(pk, "kind", "fixture_cache_hit");
	mp_str(pk, "payload"); msgpack_pack_map(pk, 2);
	mp_kv_str(pk, "path", "fx"); mp_kv_u64(pk, "future", 7);
	mp_kv_u64(pk, "extra", 1);
}

static void
memory_not_memory_bytes(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 3);
	mp_kv_i64(pk, "ts", 1);
	mp_kv_str(pk, "kind", "claim_acquired");
	mp_str(pk, "payload"); msgpack_pack_map(pk, 2);
	mp_kv_str(pk, "path", "p");
	mp_str(pk, "amount"); msgpack_pack_map(pk, 2);
	mp_kv_u64(pk, "memory", 1); mp_kv_u64(pk, "cpus", 1);
}

START_TEST(strict_decoder)
{
	char err[256];

	ck_assert_int_eq(decode_raw(unknown_kind, err), -1);
	ck_assert_str_eq(err, "frame: unknown kind `test_exploded`");
	ck_assert_int_eq(decode_raw(missing_field, err), -1);
	ck_assert_str_eq(err, "test_passed: missing field `duration_ns`");
	ck_assert_int_eq(decode_raw(nil_meta, err), -1);
	ck_assert_str_eq(err, "test_started: field `meta` has the wrong type");
	ck_assert_int_eq(decode_raw(memory_not_memory_bytes, err), -1);
	ck_assert_str_eq(err, "claim_acquired: field `amount` has the wrong type");
	ck_assert_int_eq(decode_raw(extra_field_ok, err), 0);
}
END_TEST

/* The first of duplicate keys wins, non-string keys are skipped. */
static void
dup_keys(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 4);
	mp_kv_i64(pk, "ts", 5);
	mp_kv_str(pk, "kind", "test_skipped");
	mp_str(pk, "payload"); msgpack_pack_map(pk, 6);
	msgpack_pack_int(pk, 1); mp_str(pk, "not a key");
	mp_kv_str(pk, "path", "first"); mp_kv_str(pk, "path", "second");
	mp_kv_str(pk, "name", "n"); mp_kv_str(pk, "reason", "r");
	mp_str(pk, "meta"); msgpack_pack_map(pk, 1);
	mp_str(pk, "k"); msgpack_pack_array(pk, 3);
	msgpack_pack_int(pk, 1); mp_str(pk, "s");
	msgpack_pack_map(pk, 1); mp_kv_bin(pk, "z", "b\0c", 3);
	mp_kv_str(pk, "ts", "late");
}

static void
bad_ref(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 3);
	mp_kv_i64(pk, "ts", 1);
	mp_kv_str(pk, "kind", "file_discovered");
	mp_str(pk, "payload"); msgpack_pack_map(pk, 3);
	mp_kv_str(pk, "path", "p"); mp_kv_nil(pk, "declared_claim");
	mp_str(pk, "fixture_refs"); msgpack_pack_array(pk, 2);
	mp_str(pk, "fx/a"); msgpack_pack_int(pk, 7);
}

static void
bad_meta_key(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 3);
	mp_kv_i64(pk, "ts", 1);
	mp_kv_str(pk, "kind", "test_started");
	mp_str(pk, "payload"); msgpack_pack_map(pk, 3);
	mp_kv_str(pk, "path", "p"); mp_kv_str(pk, "name", "n");
	mp_str(pk, "meta"); msgpack_pack_map(pk, 2);
	mp_kv_str(pk, "a", "x"); msgpack_pack_int(pk, 1); msgpack_pack_int(pk, 2);
}

static void
bad_status(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 3);
	mp_kv_i64(pk, "ts", 1);
	mp_kv_str(pk, "kind", "file_completed");
	mp_str(pk, "payload"); msgpack_pack_map(pk, 3);
	mp_kv_str(pk, "path", "p"); mp_kv_str(pk, "status", "exploded");
	mp_kv_u64(pk, "duration_ns", 1);
}

/* Decoded events own one block: failures after it was allocated must
 * free it (ASan), and the strings in it must be the right ones. */
START_TEST(one_pass_decoder)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	const msgpack_object *m;
	const struct meta_value *k;
	struct event ev;
	char err[256];

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	dup_keys(&pk);
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(frame_decode((uint8_t *)sb.data, sb.size, &u, &m), FRAME_OK);
	ck_assert_int_eq(event_decode(m, &ev, err, sizeof(err)), 0);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);       /* nothing may point into it */
	ck_assert_int_eq(ev.ts, 5);
	ck_assert_str_eq(ev.path, "first");
	ck_assert_str_eq(ev.name, "n");
	ck_assert_str_eq(ev.reason, "r");
	k = meta_get(&ev.meta, "k");
	ck_assert_int_eq(k->type, META_ARRAY);
	ck_assert_uint_eq(k->u.arr.n, 3);
	ck_assert_int_eq(k->u.arr.v[0].u.i, 1);
	ck_assert_str_eq(k->u.arr.v[1].u.s.p, "s");
	k = meta_get(&k->u.arr.v[2], "z");
	ck_assert_int_eq(k->type, META_BYTES);
	ck_assert_uint_eq(k->u.s.n, 3);
	ck_assert_mem_eq(k->u.s.p, "b\0c", 4);
	event_clear(&ev);

	ck_assert_int_eq(decode_raw(bad_ref, err), -1);
	ck_assert_str_eq(err, "file_discovered: field `fixture_refs` has the wrong type");
	ck_assert_int_eq(decode_raw(bad_meta_key, err), -1);
	ck_assert_str_eq(err, "test_started: field `meta` has the wrong type");
	ck_assert_int_eq(decode_raw(bad_status, err), -1);
	ck_assert_str_eq(err, "file_completed: unknown status `exploded`");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("event");
	TCase *tc = tcase_create("model");
	SRunner *sr;
	int nf;

	tcase_add_loop_test(tc, every_kind_roundtrips, 0, EVENT_KIND_COUNT);
	tcase_add_test(tc, absent_claim_is_nil_and_meta_never_nil);
	tcase_add_test(tc, strict_decoder);
	tcase_add_test(tc, one_pass_decoder);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
