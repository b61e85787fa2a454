/* duration.c: durations for the Lua API (pure helpers). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner/runner_int.h"

int64_t
runner_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Seconds as a double -> ns, refusing what no timer can mean. */
static int
secs_to_ns(double secs, int64_t *ns)
{
	if (!isfinite(secs) || secs < 0 || secs > 9.2e9)
		return -1;
	*ns = (int64_t)llround(secs * 1e9);
	return 0;
}

int
runner_dur_parse(const char *s, int64_t *ns)
{
	const char *p = s;
	char *end;
	double v, mul;

	/* strtod alone would take "inf", "0x10", " 5" and "-1". */
	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p))
			p++;
	}
	errno = 0;
	v = strtod(s, &end);
	if (end != p || errno != 0)
		return -1;
	if (strcmp(p, "ms") == 0)
		mul = 1e-3;
	else if (*p == '\0' || strcmp(p, "s") == 0)
		mul = 1;
	else if (strcmp(p, "m") == 0)
		mul = 60;
	else if (strcmp(p, "h") == 0)
		mul = 3600;
	else
		return -1;
	return secs_to_ns(v * mul, ns);
}

int
runner_dur_from_lua(lua_State *L, int idx, int64_t *ns, char *err,
    size_t errlen)
{
	switch (lua_type(L, idx)) {
	case LUA_TNUMBER:
		if (secs_to_ns(lua_tonumber(L, idx), ns) == 0)
			return 0;
		snprintf(err, errlen, "bad duration %s (must be a finite "
		    "number of seconds >= 0)", lua_tostring(L, idx));
		return -1;
	case LUA_TSTRING:
		if (runner_dur_parse(lua_tostring(L, idx), ns) == 0)
			return 0;
		snprintf(err, errlen, "bad duration `%s` (expected seconds or "
		    "N followed by ms, s, m or h, e.g. \"500ms\", \"30s\")",
		    lua_tostring(L, idx));
		return -1;
	default:
		snprintf(err, errlen, "duration must be a number or string, "
		    "got %s", luaL_typename(L, idx));
		return -1;
	}
}

/* Fraction digits of frac/scale without trailing zeros, as ".123". */
static void
fraction(char *buf, size_t n, int64_t frac, int digits)
{
	char d[16];
	int len;

	if (frac == 0) {
		buf[0] = '\0';
		return;
	}
	snprintf(d, sizeof d, "%0*" PRId64, digits, frac);
	len = digits;
	while (len > 0 && d[len - 1] == '0')
		len--;
	snprintf(buf, n, ".%.*s", len, d);
}

void
runner_dur_format(int64_t ns, char *buf, size_t n)
{
	char f[16];

	if (ns < 0)
		ns = 0;
	if (ns >= 1000000000) {
		fraction(f, sizeof f, ns % 1000000000, 9);
		snprintf(buf, n, "%" PRId64 "%ss", ns / 1000000000, f);
	} else if (ns >= 1000000) {
		fraction(f, sizeof f, ns % 1000000, 6);
		snprintf(buf, n, "%" PRId64 "%sms", ns / 1000000, f);
	} else if (ns >= 1000) {
		fraction(f, sizeof f, ns % 1000, 3);
		snprintf(buf, n, "%" PRId64 "%s\xc2\xb5s", ns / 1000, f);
	} else {
		snprintf(buf, n, "%" PRId64 "ns", ns);
	}
}
