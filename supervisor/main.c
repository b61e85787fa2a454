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

#include "events/covrun.h"
#include "events/events_cli.h"
#include "events/evsock.h"
#include "events/proto.h"
#include "runner/repl.h"
#include "runner/runner.h"
#include "supervisor/cli.h"
#include "supervisor/console.h"
#include "supervisor/fixture_cmd.h"
#include "supervisor/iter.h"
#include "supervisor/lsp.h"
#include "supervisor/pool.h"
#include "supervisor/prep.h"
#include "supervisor/psi.h"
#include "supervisor/watch.h"

/* --coverage's scratch file: removed at exit, also from atexit when a
 * path we did not foresee exits (covrun_cleanup only removes a file its
 * marker proves we own, and is idempotent). */
static struct covrun g_cov;

static void
cleanup_coverage(void)
{
	covrun_cleanup(&g_cov);
}

/* provium-coverage next to this binary, else on PATH. */
static void
coverage_bin(char *buf, size_t len)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			snprintf(buf, len, "%s/provium-coverage", self);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, len, "provium-coverage");
}

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

/* provium prepare [--config PATH] [PROFILE] */
static int
prepare_main(int argc, char **argv)
{
	const char *config = NULL, *profile = NULL;
	int i;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (argv[i][0] == '-' || profile != NULL) {
			fprintf(stderr, "provium: usage: provium prepare "
			    "[--config PATH] [PROFILE]\n");
			return 2;
		} else {
			profile = argv[i];
		}
	}
	return prep_prepare_main(config, profile);
}

/* --watch: a run now, then one per change, until a signal. */
static int
watch_main(struct iter_env *e)
{
	uint64_t sig = watch_signature(e->o);
	int rc, signo;

	for (;;) {
		rc = iter_run(e);
		e->rerun = false;       /* upstream: only the first run narrows */
		if (rc >= 128)
			return rc;
		fflush(stdout);
		if (rc == 2)
			fprintf(stderr, "provium --watch: iteration failed (see above); "
			    "watching for changes\n");
		else
			fprintf(stderr, "provium --watch: waiting for changes "
			    "(Ctrl-C quits)\n");
		if ((signo = watch_wait(e->o, e->sigfd, e->es, &sig)) != 0)
			return 0;
	}
}

int
main(int argc, char **argv)
{
	struct cli_opts o;
	struct render_opts ro;
	struct iter_env env;
	struct evsock *es = NULL;
	char err[1024], bin[4200];
	struct resource_amount total;
	double psi;
	int sigfd, rc;

	if (argc > 1 && strcmp(argv[1], "--runner") == 0)
		return runner_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], "prepare") == 0)
		return prepare_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], "events") == 0)
		return events_cli_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "lsp-setup") == 0)
		return lsp_setup_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "console") == 0)
		return console_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "repl") == 0)
		return repl_main(argc - 1, argv + 1);
	if (argc > 1 && (strcmp(argv[1], "fixture") == 0 ||
	    strcmp(argv[1], "list") == 0))
		return fixture_cmd_main(argc - 1, argv + 1);

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
	/* Runners inherit it; runner/bridge_lua.c seeds its switches with it. */
	if (o.seed && setenv("PROVIUM_SEED", o.seed, 1) != 0) {
		fprintf(stderr, "provium: --seed: %s\n", strerror(errno));
		cli_opts_free(&o);
		return 2;
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
	/* The listener outlives --watch's runs: clients stay connected. */
	if (o.events_socket &&
	    (es = evsock_open(o.events_socket, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "provium: --events-socket: %s\n", err);
		cli_opts_free(&o);
		close(sigfd);
		return 2;
	}
	if (o.coverage)
		atexit(cleanup_coverage);
	coverage_bin(bin, sizeof(bin));
	env = (struct iter_env){ .o = &o, .ro = &ro, .sigfd = sigfd,
	    .pool_total = total, .psi_threshold = psi, .es = es, .cov = &g_cov,
	    .coverage_bin = bin, .rerun = o.rerun_failed };
	rc = o.watch ? watch_main(&env) : iter_run(&env);
	if (es) {
		/* Let connected clients read the end of the run, briefly. */
		evsock_drain(es, 2000);
		evsock_close(es);
	}
	cli_opts_free(&o);
	close(sigfd);
	fflush(stdout);
	return rc;
}
