/* check_lualex.c: the Lua lexer shared by the static scans. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures/lualex.h"

/* The tokens of src[0..len): "N:name D:number P:op S:string E:escaped $:" */
static char *
tokens(const char *src, size_t len)
{
	static const char kinds[] = "$NSDP";
	struct lualex lx;
	struct lualex_tok t;
	char *out = calloc(1, 4 * len + 16), *p = out, buf[256];
	size_t n;

	lualex_init(&lx, src, len);
	do {
		lualex_next(&lx, &t);
		ck_assert_uint_lt(t.n, sizeof(buf));
		if (t.kind == LUALEX_STRING) {
			*p++ = t.escaped ? 'E' : 'S';
			*p++ = ':';
			n = lualex_unescape(&t, buf);
			memcpy(p, buf, n);
			p += n;
		} else {
			*p++ = kinds[t.kind];
			*p++ = ':';
			memcpy(p, t.p, t.n);
			p += t.n;
		}
		*p++ = ' ';
	} while (t.kind != LUALEX_EOF);
	p[-1] = '\0';
	return out;
}

static void
expect(const char *src, const char *want)
{
	char *got = tokens(src, strlen(src));

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(names_numbers_ops)
{
	expect("#!/usr/bin/env provium x\n"
	    "local a_1=0x1F+1.5e3 if a==b~=c<=d then",
	    "N:local N:a_1 P:= D:0x1F P:+ D:1.5e3 N:if N:a P:= P:= N:b P:~ "
	    "P:= N:c P:< P:= N:d N:then $:");
	expect("a.b:c(d)[e]{f}", "N:a P:. N:b P:: N:c P:( N:d P:) P:[ N:e "
	    "P:] P:{ N:f P:} $:");
}
END_TEST

START_TEST(comments)
{
	expect("-- vm_fixture('x')\na --[==[ b ]] c ]==] d --[[\ne\n]] f -",
	    "N:a N:d N:f P:- $:");
	expect("x --[[ unterminated", "N:x $:");
	expect("-", "P:- $:");
}
END_TEST

START_TEST(strings)
{
	expect("'a' \"b'c\" [[\nlong]] [==[x]]y]==] [=[", "S:a S:b'c S:long "
	    "S:x]]y S: $:");
	expect("\"t\\tq\\\"z\\zx\" 'a\\\nb'", "E:t\tq\"zzx E:a\nb $:");
	expect("'open\nx \"\\", "S:open N:x E:\\ $:");
	expect("[[\r\nline]]", "S:line $:");
}
END_TEST

/* Bytes past len are never read: the lexer stops at len, not at a NUL. */
START_TEST(length_bounded)
{
	char *got = tokens("'ab' cd", 6);

	ck_assert_str_eq(got, "S:ab N:c $:");
	free(got);
	got = tokens("a\0b", 3);
	ck_assert_uint_eq(strlen(got), 6);    /* "N:a P:" then the NUL */
	ck_assert_str_eq(got + 7, " N:b $:");
	free(got);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lualex");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, names_numbers_ops);
	tcase_add_test(tc, comments);
	tcase_add_test(tc, strings);
	tcase_add_test(tc, length_bounded);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
