/* check_toml.c: the TOML subset parser, valid input and exact errors. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/toml.h"

static struct toml_value *parse(const char *s, char **err)
{
	return toml_parse(s, strlen(s), "t.toml", err);
}

/* Parsing s must fail with exactly msg. */
static void expect_err(const char *s, const char *msg)
{
	char *err = NULL;
	struct toml_value *v = parse(s, &err);
	ck_assert_msg(v == NULL, "parsed: %s", s);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err, msg);
	free(err);
}

START_TEST(scalars)
{
	char *err = NULL;
	struct toml_value *r = parse(
	    "# comment\n"
	    "a = \"x\\ty\\u00e9\\\"\" # trailing\n"
	    "b = 'C:\\raw\\n'\n"
	    "c = -1_000\n"
	    "d = 2.5e3\n"
	    "e = true\n"
	    "f = false\n"
	    "\"quoted key\" = 1\n"
	    "g = +7\r\n"
	    "h = 0\n"
	    "i = 0.5\n", &err);
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_str_eq(toml_get(r, "a")->u.s, "x\ty\xc3\xa9\"");
	ck_assert_str_eq(toml_get(r, "b")->u.s, "C:\\raw\\n");
	ck_assert_int_eq(toml_get(r, "c")->u.i, -1000);
	ck_assert_int_eq(toml_get(r, "d")->type, TOML_FLOAT);
	ck_assert(toml_get(r, "d")->u.f == 2500.0);
	ck_assert(toml_get(r, "e")->u.b);
	ck_assert_int_eq(toml_get(r, "f")->type, TOML_BOOL);
	ck_assert(!toml_get(r, "f")->u.b);
	ck_assert_int_eq(toml_get(r, "quoted key")->u.i, 1);
	ck_assert_int_eq(toml_get(r, "g")->u.i, 7);
	ck_assert_int_eq(toml_get(r, "h")->u.i, 0);
	ck_assert(toml_get(r, "i")->u.f == 0.5);
	ck_assert_int_eq(toml_get(r, "d")->line, 5);
	ck_assert_ptr_null(toml_get(r, "zz"));
	toml_free(r);
}
END_TEST

START_TEST(tables_and_arrays)
{
	char *err = NULL;
	struct toml_value *r = parse(
	    "[provium]\n"
	    "roots = [ \"a\", 'b', # c\n"
	    "  \"d\",\n"
	    "]\n"
	    "[profiles.one]\n"
	    "kernel = \"k\"\n"
	    "x.y = 3\n"
	    "disks = [{ path = \"p\", readonly = true }, {}]\n"
	    "[ profiles . \"two\" ]\n"
	    "n = [[1, 2], []]\n", &err);
	ck_assert_msg(r != NULL, "%s", err);
	const struct toml_value *roots = toml_get(toml_get(r, "provium"), "roots");
	ck_assert_int_eq(roots->type, TOML_ARRAY);
	ck_assert_uint_eq(roots->n, 3);
	ck_assert_str_eq(roots->items[2]->u.s, "d");
	const struct toml_value *one = toml_get(toml_get(r, "profiles"), "one");
	ck_assert_int_eq(one->line, 5);
	ck_assert_str_eq(toml_get(one, "kernel")->u.s, "k");
	ck_assert_int_eq(toml_get(toml_get(one, "x"), "y")->u.i, 3);
	const struct toml_value *disks = toml_get(one, "disks");
	ck_assert_uint_eq(disks->n, 2);
	ck_assert(toml_get(disks->items[0], "readonly")->u.b);
	const struct toml_value *two = toml_get(toml_get(r, "profiles"), "two");
	ck_assert_uint_eq(toml_get(two, "n")->items[0]->n, 2);
	ck_assert_uint_eq(toml_get(two, "n")->items[1]->n, 0);
	toml_free(r);
}
END_TEST

START_TEST(empty)
{
	char *err = NULL;
	struct toml_value *r = parse("", &err);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->n, 0);
	toml_free(r);
}
END_TEST

START_TEST(errors)
{
	expect_err("a = \n", "t.toml:1: key `a`: expected a value");
	expect_err("\n\n[p]\nk = bare\n",
	    "t.toml:4: key `p.k`: bad value `bare` (strings need quotes)");
	expect_err("[profiles.x]\nkernel = \"a\"\nkernel = \"b\"\n",
	    "t.toml:3: key `profiles.x.kernel`: duplicate key (first defined on line 2)");
	expect_err("a = \"open\n", "t.toml:1: key `a`: unterminated string");
	expect_err("a = \"\\q\"\n", "t.toml:1: key `a`: unknown escape `\\q`");
	expect_err("a = 1 2\n", "t.toml:1: key `a`: unexpected `2` after the value");
	expect_err("[a]\n[a]\n", "t.toml:2: key `a`: table defined twice (first on line 1)");
	expect_err("a = 1\n[a.b]\n",
	    "t.toml:2: key `a.b`: `a` is already defined as an integer on line 1");
	expect_err("[[x]]\n", "t.toml:1: arrays of tables ([[...]]) are not supported");
	expect_err("[a\n", "t.toml:1: bad table header: expected `]`");
	expect_err("x = [1,\n2\n", "t.toml:3: key `x`: unterminated array");
	expect_err("a = \"\"\"x\"\"\"\n", "t.toml:1: key `a`: multi-line strings are not supported");
	expect_err("a = 0x10\n", "t.toml:1: key `a`: only decimal integers are supported");
	expect_err("a = 012\n", "t.toml:1: key `a`: leading zeros are not allowed in `012`");
	expect_err("a = 1__0\n", "t.toml:1: key `a`: bad value `1__0` (strings need quotes)");
	expect_err("a = 99999999999999999999\n",
	    "t.toml:1: key `a`: integer `99999999999999999999` out of range");
	expect_err("key\n", "t.toml:1: key `key`: expected `=` after the key");
	expect_err("= 1\n", "t.toml:1: unexpected `=` where a key should be");
	expect_err("a = \"\\u12\"\n", "t.toml:1: key `a`: bad \\u escape: needs 4 hex digits");
	expect_err("t = {a = 1}\n[t.b]\n",
	    "t.toml:2: key `t.b`: `t` is already defined as an inline table on line 1");
	expect_err("a = 1.\n", "t.toml:1: key `a`: bad value `1.` (strings need quotes)");
	expect_err("x = [1 2]\n", "t.toml:1: key `x`: expected `,` or `]` in an array, got `2`");
}
END_TEST

START_TEST(nesting_cap)
{
	char buf[200];
	memset(buf, '[', 100);
	strcpy(buf + 100, "\n");
	char *s = NULL;
	(void)asprintf(&s, "a = %s", buf);
	expect_err(s, "t.toml:1: key `a`: values nested too deeply");
	free(s);
}
END_TEST

START_TEST(missing_file)
{
	char *err = NULL;
	ck_assert_ptr_null(toml_parse_file("/nonexistent/p.toml", &err));
	ck_assert_str_eq(err, "/nonexistent/p.toml: No such file or directory");
	free(err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("toml");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, scalars);
	tcase_add_test(tc, tables_and_arrays);
	tcase_add_test(tc, empty);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, nesting_cap);
	tcase_add_test(tc, missing_file);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
