/* size.c: see size.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "supervisor/size.h"

/* Reads the leading digits of s; *end points past them.  -1 (ERANGE) on
 * overflow, -1 (EINVAL) when there is no digit at all. */
static int
parse_digits(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return errno = EINVAL, -1;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10) {
			*end = p;
			return errno = ERANGE, -1;
		}
		v = v * 10 + d;
	}
	*out = v;
	*end = p;
	return 0;
}

static int
scaled(uint64_t v, uint64_t unit, uint64_t *out)
{
	if (unit != 0 && v > UINT64_MAX / unit)
		return errno = ERANGE, -1;
	*out = v * unit;
	return 0;
}

int
size_parse(const char *s, uint64_t *out, char *err, size_t errlen)
{
	uint64_t v, unit = 1;
	const char *end;
	int rc;

	if (s == NULL)
		s = "";
	rc = parse_digits(s, &v, &end);
	if (rc == -1 && errno == EINVAL)
		goto bad;
	/* Judge the suffix before the magnitude, so that
	 * "99999999999999999999X" reads as unparseable, not as big. */
	while (isdigit((unsigned char)*end))
		end++;
	if (*end != '\0') {
		switch (toupper((unsigned char)*end)) {
		case 'K': unit = SIZE_KIB; break;
		case 'M': unit = SIZE_MIB; break;
		case 'G': unit = SIZE_GIB; break;
		case 'T': unit = SIZE_TIB; break;
		default: goto bad;
		}
		if (end[1] != '\0')
			goto bad;
	}
	if (rc == -1 || scaled(v, unit, out) == -1) {
		snprintf(err, errlen, "size `%s` overflows u64", s);
		return errno = ERANGE, -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "cannot parse size `%s` (expected bytes or a "
	    "number followed by K, M, G or T)", s);
	return errno = EINVAL, -1;
}

void
size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char *const names[] = { "B", "KiB", "MiB", "GiB",
	    "TiB", "PiB", "EiB" };
	unsigned i = 0;
	uint64_t unit = 1;

	if (len == 0)
		return;
	while (i + 1 < sizeof(names) / sizeof(names[0]) &&
	    bytes / unit >= 1024) {
		unit <<= 10;
		i++;
	}
	if (bytes % unit == 0)
		snprintf(buf, len, "%llu %s",
		    (unsigned long long)(bytes / unit), names[i]);
	else
		snprintf(buf, len, "%.1f %s", (double)bytes / (double)unit,
		    names[i]);
}
