/* utf8.c: strict UTF-8 sequence check (no overlongs, no surrogates). */
#include "events/utf8.h"

size_t
utf8_seq_len(const uint8_t *p, size_t n)
{
	uint32_t c;
	size_t l, i;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	l = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (l > n)
		return 0;
	c = p[0] & (0x7f >> l);
	for (i = 1; i < l; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((l == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (l == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return l;
}
