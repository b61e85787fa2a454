/*
 * fuzz_coverage.c: libFuzzer target for provium-coverage's reader: the
 * input is an event file (or socket stream) read through evread, fed to
 * the coverage model (which runs events/check for completeness) and
 * rendered as text, JSON and HTML.  Truncated, oversized or corrupt
 * streams must end in an error naming a byte offset, never a crash,
 * leak or out-of-bounds read; whatever renders must render fully.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "events/coverage.h"
#include "events/evread.h"
#include "events/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coverage c;
	struct evread r;
	struct event ev;
	int fd, rc;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	fd = memfd_create("fuzz-events", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size ||
	    lseek(fd, 0, SEEK_SET) != 0)
		abort();
	/* The first byte picks the bucket key, as --by does. */
	if (coverage_init(&c, size > 0 && (data[0] & 1) ? "area" : "tags") != 0 ||
	    evread_init(&r, fd, FRAME_MAX_EVENT) != 0)
		abort();
	while ((rc = evread_next_event(&r, &ev)) != 0) {
		if (rc == -1) {
			if (strncmp(r.err, "byte offset ", 12) != 0)
				abort();
			break;
		}
		if (rc == 1) {
			if (coverage_feed(&c, &ev) != 0)
				abort();
			event_clear(&ev);
		}
	}
	(void)coverage_complete(&c);
	if (coverage_text(&c, devnull) != 0 || coverage_json(&c, devnull) != 0 ||
	    coverage_html(&c, devnull) != 0)
		abort();
	evread_release(&r);
	coverage_release(&c);
	close(fd);
	return 0;
}
