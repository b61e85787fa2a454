/*
 * coverage_main.c: provium-coverage, a spec-coverage report from an event
 * stream (seed 000 "Coverage post-run", upstream §8.3).
 *
 * Exit: 0 report written; 1 bad usage of the input (unreadable, truncated
 * or corrupt stream, write error) or an incomplete run (the report is
 * still printed, with an "incomplete run" line); 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/coverage.h"
#include "events/evconn.h"
#include "events/evread.h"
#include "events/proto.h"

static const char usage[] =
"usage: provium-coverage [--from PATH|-] [--from-socket PATH] [--by KEY]\n"
"                        [--json] [--html FILE]\n"
"  --from PATH         read a saved event stream (- or no source: stdin)\n"
"  --from-socket PATH  follow a live run on provium's --events-socket until\n"
"                      every discovered file completed or the server closes\n"
"  --by KEY            meta key to bucket tests by (default: spec)\n"
"  --json              JSON instead of text on stdout\n"
"  --html FILE         also write a self-contained HTML report to FILE\n";

static int
write_html(const struct coverage *c, const char *path)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (!(f = fopen(tmp, "w"))) {
		fprintf(stderr, "provium-coverage: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	if (coverage_html(c, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "provium-coverage: %s: write failed: %s\n", tmp,
		    strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		fprintf(stderr, "provium-coverage: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "from-socket", required_argument, NULL, 's' },
		{ "by", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "html", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *from = "-", *sock = NULL, *by = "spec", *html = NULL;
	int json = 0, o, fd, rc, status = 0;
	char err[1024];
	struct coverage cov;
	struct evread r;
	struct event ev;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'f': from = optarg; break;
		case 's': sock = optarg; break;
		case 'b': by = optarg; break;
		case 'j': json = 1; break;
		case 'H': html = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc || *by == '\0') {
		fputs(usage, stderr);
		return 2;
	}
	fd = sock ? evconn_open_socket(sock, err, sizeof(err))
	    : evconn_open_file(from, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "provium-coverage: %s\n", err);
		return 1;
	}
	if (coverage_init(&cov, by) < 0 || evread_init(&r, fd, FRAME_MAX_EVENT) < 0) {
		fprintf(stderr, "provium-coverage: out of memory\n");
		return 1;
	}
	for (;;) {
		rc = evread_next_event(&r, &ev);
		if (rc == 0)
			break;
		if (rc < 0) {
			fprintf(stderr, "provium-coverage: %s: %s\n",
			    sock ? sock : strcmp(from, "-") ? from : "<stdin>", r.err);
			status = 1;
			break;
		}
		rc = coverage_feed(&cov, &ev);
		event_clear(&ev);
		if (rc < 0) {
			fprintf(stderr, "provium-coverage: out of memory\n");
			status = 1;
			break;
		}
		/* A live run is over once every discovered file completed. */
		if (sock && smap_len(&cov.chk.files) > 0 && coverage_complete(&cov))
			break;
	}
	close(fd);
	evread_release(&r);
	if (status == 0) {
		rc = json ? coverage_json(&cov, stdout) : coverage_text(&cov, stdout);
		if (rc < 0) {
			fprintf(stderr, "provium-coverage: stdout: %s\n", strerror(errno));
			status = 1;
		}
		if (html && write_html(&cov, html) < 0)
			status = 1;
		if (!coverage_complete(&cov)) {
			fprintf(stderr, "provium-coverage: incomplete run: some "
			    "discovered files never completed\n");
			status = 1;
		}
	}
	coverage_release(&cov);
	return status;
}
