/* check_runner_meta.c: meta -> MetaMap, selection reasons, UTF-8, json. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "runner/runner_int.h"

/* Compact text of a msgpack object: str "x", bin b"..", float f1.5. */
static void
render(const msgpack_object *o, char *buf, size_t n, size_t *off)
{
#define OUT(...) (*off += (size_t)snprintf(buf + *off, *off < n ? n - *off : 0, __VA_ARGS__))
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: OUT("nil"); break;
	case MSGPACK_OBJECT_BOOLEAN: OUT(o->via.boolean ? "true" : "false"); break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: OUT("%llu", (unsigned long long)o->via.u64); break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: OUT("%lld", (long long)o->via.i64); break;
	case MSGPACK_OBJECT_FLOAT64: OUT("f%g", o->via.f64); break;
	case MSGPACK_OBJECT_STR: OUT("\"%.*s\"", (int)o->via.str.size, o->via.str.ptr); break;
	case MSGPACK_OBJECT_BIN:
		OUT("b\"");
		for (uint32_t i = 0; i < o->via.bin.size; i++)
			OUT("%02x", (unsigned char)o->via.bin.ptr[i]);
		OUT("\"");
		break;
	case MSGPACK_OBJECT_ARRAY:
		OUT("[");
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i) OUT(",");
			render(&o->via.array.ptr[i], buf, n, off);
		}
		OUT("]");
		break;
	case MSGPACK_OBJECT_MAP:
		OUT("{");
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			if (i) OUT(",");
			render(&o->via.map.ptr[i].key, buf, n, off);
			OUT(":");
			render(&o->via.map.ptr[i].val, buf, n, off);
		}
		OUT("}");
		break;
	default: OUT("?");
	}
#undef OUT
}

/* Evaluates `return <expr>` and renders its MetaMap. */
static void
meta_of(const char *expr, char *out, size_t n)
{
	lua_State *L = luaL_newstate();
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	size_t off = 0;
	char code[1024];

	luaL_openlibs(L);
	snprintf(code, sizeof code, "return %s", expr);
	ck_assert_int_eq(luaL_dostring(L, code), 0);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ck_assert_int_eq(runner_meta_pack(L, -1, &pk), 0);
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(msgpack_unpack_next(&u, sb.data, sb.size, NULL),
	    MSGPACK_UNPACK_SUCCESS);
	render(&u.data, out, n, &off);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	lua_close(L);
}

START_TEST(meta_shapes)
{
	static const struct { const char *lua, *want; } c[] = {
		{ "nil", "{}" },
		{ "{}", "{}" },
		{ "{b = 1, a = 2, [1] = 'x', [true] = 1}", "{\"a\":2,\"b\":1}" },
		{ "{f = 1.5, w = 2.0, i = -3, t = true, n = false}",
		    "{\"f\":f1.5,\"i\":-3,\"n\":false,\"t\":true,\"w\":f2}" },
		{ "{s = 'h\\xc3\\xa9', b = '\\xff\\x00'}", "{\"b\":b\"ff00\",\"s\":\"h\xc3\xa9\"}" },
		{ "{l = {'a', {x = {1}}}, e = {}, m = {k = 'v', [5] = 1}}",
		    "{\"e\":{},\"l\":[\"a\",{\"x\":[1]}],\"m\":{\"k\":\"v\"}}" },
		{ "{fn = print, co = coroutine.create(print)}", "{\"co\":nil,\"fn\":nil}" },
		{ "{long = {1, 2, nil, 4}}", "{\"long\":[1,2,nil,4]}" },
		{ "{ba = 1, b = 2, a = 3, [''] = 4}", "{\"\":4,\"a\":3,\"b\":2,\"ba\":1}" },
	};
	char buf[512];

	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		meta_of(c[i].lua, buf, sizeof buf);
		ck_assert_str_eq(buf, c[i].want);
	}
}
END_TEST

START_TEST(meta_cycle)
{
	char buf[4096];

	meta_of("(function() local t = {} t.t = t return {t = t} end)()", buf,
	    sizeof buf);
	/* Cut at RUNNER_META_DEPTH levels, so msgpack-c can decode it. */
	ck_assert_ptr_nonnull(strstr(buf, "\"t\":nil"));
	ck_assert_int_eq((int)(strlen(buf) - strlen("{}")) / (int)strlen("\"t\":{}"),
	    RUNNER_META_DEPTH);
}
END_TEST

START_TEST(utf8)
{
	ck_assert(runner_utf8_valid("", 0));
	ck_assert(runner_utf8_valid("abc", 3));
	ck_assert(runner_utf8_valid("\xc3\xa9", 2));
	ck_assert(runner_utf8_valid("\xf0\x9f\x98\x80", 4));
	ck_assert(!runner_utf8_valid("\xc3", 1));
	ck_assert(!runner_utf8_valid("\xc0\xaf", 2));          /* overlong */
	ck_assert(!runner_utf8_valid("\xed\xa0\x80", 3));      /* surrogate */
	ck_assert(!runner_utf8_valid("\xf4\x90\x80\x80", 4));  /* > U+10FFFF */
	ck_assert(!runner_utf8_valid("\xff", 1));
}
END_TEST

static const char *
select_of(const char *meta, const struct runner_filter *f, char *buf,
    size_t n)
{
	lua_State *L = luaL_newstate();
	char code[512];
	const char *r;
	static char keep[512];

	snprintf(code, sizeof code, "return %s", meta);
	ck_assert_int_eq(luaL_dostring(L, code), 0);
	r = runner_select(L, -1, f, buf, n);
	lua_close(L);
	if (r == NULL)
		return NULL;
	snprintf(keep, sizeof keep, "%s", r);
	return keep;
}

START_TEST(selection)
{
	char *tags[] = { "smoke", "net" }, *no[] = { "flaky" };
	struct runner_kv tm[] = { { "area", "boot" }, { "area", "net" },
	    { "sub", "x" } }, ntm[] = { { "owner", "bob" } };
	struct runner_filter none = { 0 }, slow = { .include_slow = true };
	struct runner_filter tag = { .tag = tags, .ntag = 2, .no_tag = no,
	    .nno_tag = 1 };
	struct runner_filter meta = { .tag_meta = tm, .ntag_meta = 3,
	    .no_tag_meta = ntm, .nno_tag_meta = 1 };
	char buf[256];

	ck_assert_ptr_null(select_of("{}", &none, buf, sizeof buf));
	ck_assert_str_eq(select_of("{skip = true}", &none, buf, sizeof buf),
	    "skipped (meta.skip)");
	ck_assert_str_eq(select_of("{skip = 2}", &none, buf, sizeof buf),
	    "skipped (meta.skip)");
	ck_assert_ptr_null(select_of("{skip = 0}", &none, buf, sizeof buf));
	ck_assert_ptr_null(select_of("{skip = false}", &none, buf, sizeof buf));
	ck_assert_str_eq(select_of("{skip = 'why'}", &none, buf, sizeof buf),
	    "skipped: why");
	ck_assert_str_eq(select_of("{slow = true}", &none, buf, sizeof buf),
	    "filtered: slow tests skipped (pass --include-slow)");
	ck_assert_ptr_null(select_of("{slow = true}", &slow, buf, sizeof buf));
	ck_assert_str_eq(select_of("{slow = 1, skip = true}", &slow, buf,
	    sizeof buf), "skipped (meta.skip)");
	ck_assert_ptr_null(select_of("{tags = 'smoke'}", &tag, buf, sizeof buf));
	ck_assert_ptr_null(select_of("{tags = {'x', 'net'}}", &tag, buf,
	    sizeof buf));
	ck_assert_str_eq(select_of("{tags = {'net', 'flaky'}}", &tag, buf,
	    sizeof buf), "filtered: matched --no-tag ([\"flaky\"])");
	ck_assert_str_eq(select_of("{}", &tag, buf, sizeof buf),
	    "filtered: did not match --tag ([\"smoke\", \"net\"])");
	ck_assert_ptr_null(select_of("{area = 'net', sub = {'y', 'x'}}", &meta,
	    buf, sizeof buf));
	ck_assert_str_eq(select_of("{area = 'net'}", &meta, buf, sizeof buf),
	    "filtered: did not match any --tag-meta sub=\xe2\x80\xa6");
	ck_assert_str_eq(select_of("{}", &meta, buf, sizeof buf),
	    "filtered: did not match any --tag-meta area=\xe2\x80\xa6");
	ck_assert_str_eq(select_of("{area = 'boot', sub = 'x', owner = {'bob'}}",
	    &meta, buf, sizeof buf), "filtered: matched --no-tag-meta (owner=bob)");
}
END_TEST

static void
text_of(const char *in, size_t n, size_t max, char *out, size_t outn)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ck_assert_int_eq(runner_pack_text(&pk, in, n, max), 0);
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(msgpack_unpack_next(&u, sb.data, sb.size, NULL),
	    MSGPACK_UNPACK_SUCCESS);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_STR);
	ck_assert(runner_utf8_valid(u.data.via.str.ptr, u.data.via.str.size));
	snprintf(out, outn, "%.*s", (int)u.data.via.str.size,
	    u.data.via.str.ptr);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

START_TEST(lossy_text)
{
	char buf[256];

	text_of("plain", 5, 100, buf, sizeof buf);
	ck_assert_str_eq(buf, "plain");
	text_of("a\xff" "b\xc3", 4, 100, buf, sizeof buf);
	ck_assert_str_eq(buf, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	text_of("h\xc3\xa9llo", 6, 100, buf, sizeof buf);
	ck_assert_str_eq(buf, "h\xc3\xa9llo");
	/* Over the cap: cut on a character boundary, then an ellipsis. */
	text_of("0123456789", 10, 6, buf, sizeof buf);
	ck_assert_str_eq(buf, "0123\xe2\x80\xa6");
	text_of("\xc3\xa9\xc3\xa9\xc3\xa9", 6, 6, buf, sizeof buf);
	ck_assert_str_eq(buf, "\xc3\xa9\xc3\xa9\xc3\xa9");
	text_of("\xc3\xa9\xc3\xa9\xc3\xa9x", 7, 6, buf, sizeof buf);
	ck_assert_str_eq(buf, "\xc3\xa9\xc3\xa9\xe2\x80\xa6");
}
END_TEST

/* json: the Lua-visible behaviour, through a bare state. */
static const char *
lua_eval(lua_State *L, const char *code)
{
	if (luaL_dostring(L, code) != 0)
		return lua_tostring(L, -1);
	return lua_tostring(L, -1);
}

START_TEST(json_roundtrip)
{
	lua_State *L = luaL_newstate();

	luaL_openlibs(L);
	runner_json_open(L);
	ck_assert_str_eq(lua_eval(L, "return json.encode({3, 'a', {x = false}})"),
	    "[3,\"a\",{\"x\":false}]");
	ck_assert_str_eq(lua_eval(L, "return json.encode({z = 1, a = {}, m = 0.5})"),
	    "{\"a\":{},\"m\":0.5,\"z\":1}");
	ck_assert_str_eq(lua_eval(L, "return json.encode({[2] = 2})"), "[null,2]");
	ck_assert_str_eq(lua_eval(L, "return json.encode(1e300)"), "1e+300");
	ck_assert_str_eq(lua_eval(L, "return json.encode(3.0)"), "3.0");
	ck_assert_str_eq(lua_eval(L, "return json.encode('\\0\\31\\127')"),
	    "\"\\u0000\\u001f\x7f\"");
	ck_assert_str_eq(lua_eval(L, "return json.encode(json.decode("
	    "'{\"a\":[null,{\"b\":null}],\"n\":-9223372036854775808}'))"),
	    "{\"a\":[null,{}],\"n\":-9223372036854775808}");
	ck_assert_str_eq(lua_eval(L, "return math.type(json.decode('12'))"),
	    "integer");
	ck_assert_str_eq(lua_eval(L, "return math.type(json.decode('12.0'))"),
	    "float");
	ck_assert_str_eq(lua_eval(L, "return select(2, pcall(json.decode, ''))"),
	    "json.decode: unexpected token near end of file (line 1, column 0)");
	ck_assert_str_eq(lua_eval(L, "return select(2, pcall(json.encode, "
	    "{[1.5] = 1}))"), "json.encode: table key must be a string or an "
	    "integer, got number");
	ck_assert_str_eq(lua_eval(L, "return select(2, pcall(json.encode, "
	    "{[2^40] = 1}))"), "json.encode: sparse array index "
	    "1099511627776 too large");
	lua_close(L);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("runner_meta");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, meta_shapes);
	tcase_add_test(tc, meta_cycle);
	tcase_add_test(tc, utf8);
	tcase_add_test(tc, selection);
	tcase_add_test(tc, json_roundtrip);
	tcase_add_test(tc, lossy_text);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
