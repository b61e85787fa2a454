/* iter.c: one run of the suite (iter.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events/evsock.h"
#include "events/junit.h"
#include "supervisor/discover.h"
#include "supervisor/iter.h"
#include "supervisor/prep.h"
#include "supervisor/rerun.h"
#include "supervisor/shard.h"
#include "supervisor/sink.h"
#include "supervisor/sup.h"

/* --since PATH: keep files modified after PATH.  Unreadable: a notice. */
static void
since_filter(const char *since, struct discover_list *l)
{
	struct stat ref, st;
	unsigned char *keep;
	size_t i;

	if (stat(since, &ref) != 0) {
		fprintf(stderr, "provium: --since %s: %s; not filtering by it\n",
		    since, strerror(errno));
		return;
	}
	if ((keep = calloc(l->n + 1, 1)) == NULL)
		return;
	for (i = 0; i < l->n; i++)
		keep[i] = stat(l->v[i].display, &st) == 0 &&
		    (st.st_mtim.tv_sec > ref.st_mtim.tv_sec ||
		    (st.st_mtim.tv_sec == ref.st_mtim.tv_sec &&
		    st.st_mtim.tv_nsec > ref.st_mtim.tv_nsec));
	discover_list_keep(l, keep);
	free(keep);
}

/* Discovery and the selection flags.  0, 2 (printed), or -1: nothing to
 * re-run (printed; exit 0). */
static int
select_files(const struct iter_env *e, struct discover_list *files)
{
	const struct cli_opts *o = e->o;
	char *err = NULL, *state;
	int rc;

	if (discover_run(o->paths, o->npaths, o->filter, files, &err) != 0) {
		fprintf(stderr, "provium: %s\n", err ? err : "discovery failed");
		free(err);
		return 2;
	}
	if (o->shard_n && shard_filter(files, o->shard_k, o->shard_n,
	    o->shard_durations, &err) != 0) {
		fprintf(stderr, "provium: %s\n", err ? err : "out of memory");
		free(err);
		return 2;
	}
	if (e->rerun) {
		if ((state = rerun_state_path(0)) == NULL) {
			fprintf(stderr, "provium: out of memory\n");
			return 2;
		}
		rc = rerun_filter(state, files, &err);
		if (rc == 0)
			fprintf(stderr, "provium --rerun-failed: no prior failure state "
			    "at `%s` — nothing to re-run\n", state);
		else if (rc < 0)
			fprintf(stderr, "provium: %s\n", err ? err : "out of memory");
		free(state);
		free(err);
		if (rc <= 0)
			return rc == 0 ? -1 : 2;
	}
	if (o->since)
		since_filter(o->since, files);
	return 0;
}

static void
save_rerun_state(const struct discover_list *files, const unsigned char *failed)
{
	char *state, err[1024];
	size_t i;

	for (i = 0; i < files->n && !failed[i]; i++)
		;
	if (i == files->n)
		return;         /* a passing run keeps what last failed */
	state = rerun_state_path(1);
	if (state && rerun_save(state, files, failed, err, sizeof(err)) != 0)
		fprintf(stderr, "provium: --rerun-failed state: %s\n", err);
	free(state);
}

/* This run's sinks.  0, or 2 (printed). */
static int
open_sinks(const struct iter_env *e, struct sink_set *sinks, struct junit **ju)
{
	const struct cli_opts *o = e->o;
	struct sink *sk;
	char err[1024];
	int fd;

	/* First: a --junit PATH that cannot be written is refused before
	 * anything else is created. */
	if (o->junit) {
		if ((*ju = junit_open(o->junit, err, sizeof(err))) == NULL ||
		    (sk = sink_junit_new(*ju, "--junit")) == NULL) {
			if (*ju)
				snprintf(err, sizeof(err), "%s: out of memory",
				    o->junit);
			fprintf(stderr, "provium: --junit %s\n", err);
			return 2;
		}
		sink_set_add(sinks, sk);
	}
	if (o->save_events) {
		/* --watch: the file holds exactly the latest run */
		if (o->watch && (fd = open(o->save_events, O_WRONLY | O_CREAT |
		    O_TRUNC | O_CLOEXEC, 0644)) >= 0)
			close(fd);
		if ((sk = sink_file_open(o->save_events, err, sizeof(err))) == NULL) {
			fprintf(stderr, "provium: %s\n", err);
			return 2;
		}
		sink_set_add(sinks, sk);
	}
	if (o->coverage) {
		fd = covrun_open(e->cov, o->save_events, err, sizeof(err));
		if (fd == -1) {
			fprintf(stderr, "provium: --coverage: %s\n", err);
			return 2;
		}
		if (fd >= 0) {
			close(fd);
			if ((sk = sink_file_open(e->cov->path, err, sizeof(err))) == NULL) {
				fprintf(stderr, "provium: --coverage: %s\n", err);
				return 2;
			}
			sink_set_add(sinks, sk);
		}
	}
	if (e->es) {
		if ((sk = sink_evsock_new(e->es, "--events-socket")) == NULL) {
			fprintf(stderr, "provium: --events-socket: out of memory\n");
			return 2;
		}
		evsock_run_start(e->es);
		sink_set_add(sinks, sk);
	}
	if (o->events_stdout) {
		if ((sk = sink_fd_new(STDOUT_FILENO, "--events-stdout")) == NULL) {
			fprintf(stderr, "provium: out of memory\n");
			return 2;
		}
		sink_set_add(sinks, sk);
	}
	return 0;
}

int
iter_run(const struct iter_env *e)
{
	const struct cli_opts *o = e->o;
	struct discover_list files;
	struct sink_set sinks = { .n = 0 };
	struct sup_params sp;
	struct junit *ju = NULL;
	unsigned char *failed = NULL;
	const char *runner;
	char err[1024];
	int rc, run_rc;

	memset(&files, 0, sizeof(files));
	if ((rc = select_files(e, &files)) != 0) {
		discover_list_clear(&files);
		return rc < 0 ? 0 : rc;
	}
	if ((rc = prep_run(o, &files)) != 0 ||
	    (rc = open_sinks(e, &sinks, &ju)) != 0)
		goto out;
	if (files.n == 0) {
		render_no_files(e->ro);
		goto out;
	}
	if ((failed = calloc(files.n, 1)) == NULL) {
		fprintf(stderr, "provium: out of memory\n");
		rc = 2;
		goto out;
	}
	/* PROVIUM_RUNNER: run another runner binary (tests, debugging). */
	runner = getenv("PROVIUM_RUNNER");
	sp = (struct sup_params){ .opts = o, .files = &files, .sinks = &sinks,
	    .render = e->ro, .self_exe = runner && *runner ? runner :
	    "/proc/self/exe", .sigfd = e->sigfd, .pool_total = e->pool_total,
	    .psi_threshold = e->psi_threshold, .evsock = e->es,
	    .failed = failed };
	rc = run_rc = sup_run(&sp);
	/* A lost record (JUnit or saved events) makes a run that passed or
	 * failed exit 2: CI must not take a missing report for a good one.
	 * The results are printed as usual; 128+signal stays. */
	if (ju && junit_write(ju, rc >= 128, err, sizeof(err)) != 0) {
		fprintf(stderr, "provium: --junit %s%s\n", err,
		    rc < 2 ? "; exit status 2" : "");
		if (rc < 2)
			rc = 2;
	}
	if (sinks.lost && rc < 2) {
		fprintf(stderr, "provium: the saved record is incomplete (see "
		    "above); exit status 2\n");
		rc = 2;
	}
	if (run_rc != 2)    /* the tests ran: --rerun-failed knows which failed */
		save_rerun_state(&files, failed);
out:
	sink_set_close(&sinks);
	if (ju)
		junit_close(ju);
	if (o->coverage && rc < 2 && files.n > 0) {
		int crc;

		fflush(stdout);
		crc = covrun_report(e->cov, e->coverage_bin, err, sizeof(err));
		if (crc < 0)
			fprintf(stderr, "provium: --coverage: %s\n", err);
		if (crc != 0 && rc == 0)
			rc = 1;
	}
	if (o->coverage)
		covrun_cleanup(e->cov);
	free(failed);
	discover_list_clear(&files);
	return rc;
}
