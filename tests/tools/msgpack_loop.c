/*
 * msgpack_loop.c: the bench baseline -- the plainest msgpack-c loop over
 * an event file: read it in 1 MiB chunks, split 4-byte-length frames,
 * msgpack_unpack_next each body, count the maps.  No event decoding, no
 * output: what any consumer pays at minimum.  usage: msgpack_loop FILE
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>

int
main(int argc, char **argv)
{
	size_t cap = 1 << 20, len = 0, pos, off;
	char *buf = malloc(cap);
	msgpack_unpacked u;
	uint64_t maps = 0;
	ssize_t n;
	uint32_t l;
	int fd;

	if (argc != 2 || (fd = open(argv[1], O_RDONLY)) < 0 || !buf) {
		fprintf(stderr, "usage: msgpack_loop FILE\n");
		return 2;
	}
	msgpack_unpacked_init(&u);
	for (;;) {
		n = read(fd, buf + len, cap - len);
		if (n < 0)
			return 1;
		len += (size_t)n;
		pos = 0;
		while (len - pos >= 4) {
			const uint8_t *h = (const uint8_t *)buf + pos;
			l = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
			    (uint32_t)h[2] << 8 | h[3];
			if (4 + (size_t)l > cap) {
				cap = 4 + (size_t)l + (1 << 20);
				if (!(buf = realloc(buf, cap)))
					return 1;
			}
			if (len - pos < 4 + (size_t)l)
				break;
			off = 0;
			if (msgpack_unpack_next(&u, buf + pos + 4, l, &off) ==
			    MSGPACK_UNPACK_SUCCESS && u.data.type == MSGPACK_OBJECT_MAP)
				maps++;
			pos += 4 + l;
		}
		memmove(buf, buf + pos, len - pos);
		len -= pos;
		if (n == 0)
			break;
	}
	msgpack_unpacked_destroy(&u);
	printf("%llu maps\n", (unsigned long long)maps);
	free(buf);
	return len == 0 ? 0 : 1;
}
