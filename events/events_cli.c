/* events_cli.c: the `provium events` subcommands. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/cat.h"
#include "events/check.h"
#include "events/events_cli.h"
#include "events/evconn.h"
#include "events/evread.h"
#include "events/evrun.h"
#include "events/frame.h"
#include "events/history.h"
#include "events/junit.h"
#include "events/merge.h"
#include "events/proto.h"
#include "events/summary.h"

static const char usage[] =
"usage: provium events cat FILE              one JSON object per frame\n"
"       provium events check FILE            verify the seed-001 guarantees\n"
"       provium events summary FILE          slowest files/tests, blocking,\n"
"                                            fixtures, VMs, completeness\n"
"       provium events import FILE --db DB   append the run to SQLite history\n"
"       provium events junit FILE OUT.xml    JUnit XML from a saved stream\n"
"       provium events merge A B... -o ALL   one stream from the shards' streams\n"
"                                            (--shard K/N runs); ALL may be -\n"
"FILE may be - for stdin.\n";

static const char *
label(const char *path)
{
	return strcmp(path, "-") ? path : "<stdin>";
}

static int
open_src(const char *path, struct evread *r)
{
	char err[512];
	int fd = evconn_open_file(path, err, sizeof(err));

	if (fd < 0) {
		fprintf(stderr, "provium events: %s\n", err);
		return -1;
	}
	if (evread_init(r, fd, FRAME_MAX_EVENT) < 0) {
		fprintf(stderr, "provium events: out of memory\n");
		close(fd);
		return -1;
	}
	return 0;
}

static void
close_src(struct evread *r)
{
	close(r->fd);
	evread_release(r);
}

static int
cmd_cat(const char *path)
{
	static char obuf[1 << 20];
	const msgpack_object *o;
	struct evread r;
	struct cat c = CAT_INIT;
	int rc, status = 0;

	if (open_src(path, &r) < 0)
		return 1;
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	while ((rc = evread_next_obj(&r, &o)) == 1) {
		if (cat_json_line(&c, stdout, o) < 0)
			break;
	}
	cat_release(&c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "provium events cat: stdout: %s\n", strerror(errno));
		status = 1;
	}
	if (rc < 0) {
		fprintf(stderr, "provium events cat: %s: %s\n", label(path), r.err);
		status = 1;
	}
	close_src(&r);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return status;
}

static int
cmd_check(const char *path)
{
	struct evread r;
	struct check c;
	struct event ev;
	size_t i, nfiles;
	int rc, status = 0;
	const char **inc;

	if (open_src(path, &r) < 0)
		return 1;
	check_init(&c);
	for (;;) {
		rc = evread_next_event(&r, &ev);
		if (rc == 0 || rc == -1)
			break;
		if (rc == -2) {
			/* r.err starts "byte offset N: frame M: "; keep the why */
			const char *why = strstr(r.err, ": frame ");
			why = why ? strchr(why + 8, ':') : NULL;
			why = why ? why + 2 : r.err;
			if (!strncmp(why, "frame: ", 7))
				why += 7;
			rc = check_bad_frame(&c, r.index, why);
		} else {
			rc = check_feed(&c, r.index, &ev);
			event_clear(&ev);
		}
		if (rc < 0) {
			fprintf(stderr, "provium events check: out of memory\n");
			rc = -1;
			break;
		}
	}
	if (rc == 0)
		check_finish(&c);
	for (i = 0; i < c.nv; i++) {
		if (c.v[i].frame == UINT64_MAX)
			printf("end of stream: %s\n", c.v[i].msg);
		else
			printf("frame %llu: %s\n", (unsigned long long)c.v[i].frame,
			    c.v[i].msg);
	}
	if (c.dropped)
		printf("... %llu more violations not shown\n",
		    (unsigned long long)c.dropped);
	nfiles = check_incomplete(&c, &inc);
	if (rc == -1) {
		printf("events check: %s: %s\n", label(path), r.err);
		status = 1;
	} else if (c.nv > 0) {
		printf("events check: %llu violations in %llu frames%s\n",
		    (unsigned long long)(c.nv + c.dropped),
		    (unsigned long long)r.nframes,
		    nfiles ? " (incomplete run)" : "");
		status = 1;
	} else {
		printf("events check: ok: %llu frames, %zu files, complete run\n",
		    (unsigned long long)r.nframes, smap_len(&c.files));
	}
	check_release(&c);
	close_src(&r);
	return status;
}

/* Reads the whole stream into run rows; *key gets the run key. */
static int
load_run(const char *path, struct evrun *run, char key[65], const char *who)
{
	struct evread r;
	struct event ev;
	int rc;

	if (open_src(path, &r) < 0)
		return -1;
	evrun_init(run);
	strcpy(key, "");
	while ((rc = evread_next_event(&r, &ev)) == 1) {
		if (r.index == 0)
			history_run_key(r.body, r.body_len, key);
		rc = evrun_feed(run, &ev);
		event_clear(&ev);
		if (rc < 0) {
			snprintf(r.err, sizeof(r.err), "out of memory");
			rc = -1;
			break;
		}
	}
	if (rc != 0)
		fprintf(stderr, "provium events %s: %s: %s\n", who, label(path), r.err);
	close_src(&r);
	return rc == 0 ? 0 : -1;
}

static int
cmd_summary(const char *path)
{
	struct evrun run;
	char key[65];
	int status;

	if (load_run(path, &run, key, "summary") < 0) {
		evrun_release(&run);
		return 1;
	}
	status = summary_print(&run, stdout) < 0;
	evrun_release(&run);
	return status;
}

static int
cmd_import(const char *path, const char *db)
{
	struct evrun run;
	char key[65], err[1024];
	int replaced;
	int64_t id;

	if (load_run(path, &run, key, "import") < 0) {
		evrun_release(&run);
		return 1;
	}
	if (run.frames == 0) {
		fprintf(stderr, "provium events import: %s: no events\n", label(path));
		evrun_release(&run);
		return 1;
	}
	id = history_import(db, &run, key, path, &replaced, err, sizeof(err));
	if (id < 0)
		fprintf(stderr, "provium events import: %s\n", err);
	else
		printf("run %lld (%.12s): %s %zu files, %zu tests, %zu vms, %zu "
		    "fixture events%s\n", (long long)id, key,
		    replaced ? "replaced;" : "imported", evrun_nfiles(&run),
		    run.ntests, run.nvms, run.nfix,
		    evrun_complete(&run) ? "" : "; incomplete run");
	evrun_release(&run);
	return id < 0;
}

static int
cmd_junit(const char *path, const char *out)
{
	struct evrun run;
	char key[65], err[1024];
	int rc;

	if (junit_check_path(out, err, sizeof(err)) < 0) {
		fprintf(stderr, "provium events junit: %s\n", err);
		return 1;
	}
	if (load_run(path, &run, key, "junit") < 0) {
		evrun_release(&run);
		return 1;
	}
	if ((rc = junit_save(&run, out, false, err, sizeof(err))) < 0)
		fprintf(stderr, "provium events junit: %s\n", err);
	evrun_release(&run);
	return rc < 0;
}

/* merge A B ... -o OUT (-o anywhere after merge) */
static int
cmd_merge(int argc, char **argv)
{
	const char **in = calloc((size_t)argc, sizeof(*in));
	const char *out = NULL;
	struct merge_stats st;
	char err[1024];
	size_t n = 0;
	int i, rc;

	if (in == NULL) {
		fprintf(stderr, "provium events merge: out of memory\n");
		return 1;
	}
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc && out == NULL)
			out = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			break;
		else
			in[n++] = argv[i];
	}
	if (i < argc || out == NULL || n == 0) {
		free(in);
		fputs(usage, stderr);
		return 2;
	}
	rc = merge_streams(in, n, out, &st, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "provium events merge: %s\n", err);
	else if (strcmp(out, "-") != 0)
		printf("events merge: %llu frames, %llu files from %zu streams "
		    "into %s\n", (unsigned long long)st.frames,
		    (unsigned long long)st.files, n, out);
	free(in);
	return rc != 0;
}

int
events_cli_main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc == 3 && !strcmp(cmd, "cat"))
		return cmd_cat(argv[2]);
	if (argc == 3 && !strcmp(cmd, "check"))
		return cmd_check(argv[2]);
	if (argc == 3 && !strcmp(cmd, "summary"))
		return cmd_summary(argv[2]);
	if (argc == 5 && !strcmp(cmd, "import") && !strcmp(argv[3], "--db"))
		return cmd_import(argv[2], argv[4]);
	if (argc == 5 && !strcmp(cmd, "import") && !strcmp(argv[2], "--db"))
		return cmd_import(argv[4], argv[3]);
	if (argc == 4 && !strcmp(cmd, "junit"))
		return cmd_junit(argv[2], argv[3]);
	if (!strcmp(cmd, "merge"))
		return cmd_merge(argc, argv);
	fputs(usage, stderr);
	return 2;
}
