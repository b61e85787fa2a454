/*
 * main.c: the `provium` binary.
 *
 * `provium --runner` is the per-file runner (runner/runner.h), exec'd by
 * the supervisor with its channel on fd 3.  Anything else is the
 * supervisor: parse, discover, run (sup.h), exit 0/1/2 or 128+signal.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "events/proto.h"
#include "runner/runner.h"
#include "supervisor/cli.h"
#include "supervisor/discover.h"
#include "supervisor/pool.h"
#include "supervisor/psi.h"
#include "supervisor/sink.h"
#include "supervisor/sup.h"

/* SIGPIPE must not kill us, but runners must start with the default:
 * a caught signal resets on exec, an ignored one would not. */
static void
on_sigpipe(int sig)
{
	(void)sig;
}

static int
setup_signals(int *sigfd)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigpipe;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	*sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return *sigfd < 0 ? -1 : 0;
}

/* Pool total and PSI threshold from the options; prints and fails on error. */
static int
admission(const struct cli_opts *o, struct resource_amount *total, double *psi)
{
	struct pool_options po = { .mem = o->mem, .cpus = o->cpus,
	    .cpu_overcommit = o->cpu_overcommit };
	char *notice = NULL, *err = NULL, buf[256];

	if (pool_total_from_options(&po, total, &notice, &err) != 0) {
		fprintf(stderr, "provium: %s\n", err ? err : "out of memory");
		free(err);
		return -1;
	}
	if (notice && !o->json)
		fprintf(stderr, "provium: %s\n", notice);
	free(notice);
	*psi = PSI_DEFAULT_THRESHOLD;
	if (o->psi_threshold &&
	    psi_parse_threshold(o->psi_threshold, psi, buf, sizeof(buf)) != 0) {
		fprintf(stderr, "provium: %s\n", buf);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli_opts o;
	struct discover_list files;
	struct sink_set sinks = { .n = 0 };
	struct render_opts ro;
	struct sup_params sp;
	struct sink *sk;
	char err[1024], *derr = NULL;
	const char *runner;
	struct resource_amount total;
	double psi;
	int sigfd, rc;

	if (argc > 1 && strcmp(argv[1], "--runner") == 0)
		return runner_main(argc, argv);

	switch (cli_parse(argc, argv, &o, err, sizeof(err))) {
	case CLI_HELP:
		fputs(cli_help_text(), stdout);
		cli_opts_free(&o);
		return 0;
	case CLI_VERSION:
		printf("provium %s (protocol %u)\n", PROVIUM_VERSION, PROTOCOL_VERSION);
		cli_opts_free(&o);
		return 0;
	case CLI_USAGE:
		fprintf(stderr, "provium: %s\nTry `provium --help`.\n", err);
		cli_opts_free(&o);
		return 2;
	case CLI_RUN:
		break;
	}

	/* Before any child exists: orphans of our runners come back to us. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0 || setup_signals(&sigfd) != 0) {
		fprintf(stderr, "provium: cannot set up the supervisor: %s\n",
		    strerror(errno));
		cli_opts_free(&o);
		return 2;
	}

	memset(&ro, 0, sizeof(ro));
	ro.out = o.events_stdout ? stderr : stdout;
	ro.json = o.json;
	ro.verbose = o.verbose;
	ro.quiet = o.quiet;
	ro.stream = !o.json && isatty(fileno(ro.out));
	ro.progress = ro.stream && !o.events_stdout && !o.verbose && !o.no_progress;

	if (admission(&o, &total, &psi) != 0) {
		cli_opts_free(&o);
		close(sigfd);
		return 2;
	}
	if (discover_run(o.paths, o.npaths, o.filter, &files, &derr) != 0) {
		fprintf(stderr, "provium: %s\n", derr ? derr : "discovery failed");
		free(derr);
		cli_opts_free(&o);
		close(sigfd);
		return 2;
	}
	if (o.save_events) {
		if ((sk = sink_file_open(o.save_events, err, sizeof(err))) == NULL) {
			fprintf(stderr, "provium: %s\n", err);
			rc = 2;
			goto out;
		}
		sink_set_add(&sinks, sk);
	}
	if (o.events_stdout) {
		if ((sk = sink_fd_new(STDOUT_FILENO, "--events-stdout")) == NULL) {
			fprintf(stderr, "provium: out of memory\n");
			rc = 2;
			goto out;
		}
		sink_set_add(&sinks, sk);
	}
	if (files.n == 0) {
		render_no_files(&ro);
		rc = 0;
		goto out;
	}
	/* PROVIUM_RUNNER: run another runner binary (tests, debugging). */
	runner = getenv("PROVIUM_RUNNER");
	sp = (struct sup_params){ .opts = &o, .files = &files, .sinks = &sinks,
	    .render = &ro, .self_exe = runner && *runner ? runner : "/proc/self/exe",
	    .sigfd = sigfd, .pool_total = total, .psi_threshold = psi };
	rc = sup_run(&sp);
out:
	sink_set_close(&sinks);
	discover_list_clear(&files);
	cli_opts_free(&o);
	close(sigfd);
	fflush(stdout);
	return rc;
}
