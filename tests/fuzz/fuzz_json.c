/*
 * fuzz_json.c: libFuzzer target for the runner's `json` global
 * (runner/json.c): tests decode whatever their commands print, so
 * json.decode gets arbitrary bytes.  It must return a value or raise a
 * Lua error, never crash or leak; what decodes must encode, and that
 * encoding must decode and encode to the same text (stable output).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "runner/runner_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;

static const char roundtrip[] =
    "local s = ...\n"
    "local ok, v = pcall(json.decode, s)\n"
    "if not ok then return end\n"
    "local ok2, e1 = pcall(json.encode, v)\n"
    "if not ok2 then return end\n"
    "local ok3, d = pcall(json.decode, e1)\n"
    "if not ok3 then error('own output does not decode: ' .. d) end\n"
    "local ok4, e2 = pcall(json.encode, d)\n"
    "if not ok4 then error('re-encode failed: ' .. e2) end\n"
    "if e1 ~= e2 then error('unstable: ' .. e1 .. ' vs ' .. e2) end\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (L == NULL) {
		L = luaL_newstate();
		luaL_openlibs(L);
		runner_json_open(L);
		if (luaL_loadbuffer(L, roundtrip, sizeof(roundtrip) - 1, "rt") != 0)
			abort();
		lua_setglobal(L, "roundtrip");
	}
	lua_getglobal(L, "roundtrip");
	lua_pushlstring(L, (const char *)data, size);
	if (lua_pcall(L, 1, 0, 0) != 0) {
		const char *msg = lua_tostring(L, -1);

		if (msg != NULL && strncmp(msg, "rt:", 3) == 0)
			abort();        /* the round trip itself failed */
		lua_pop(L, 1);
	}
	lua_gc(L, LUA_GCCOLLECT, 0);
	return 0;
}
