/* cli.c: option parsing for `provium [OPTIONS] [PATHS]...`. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	O_FILTER = 256, O_CONFIG, O_SAVE_EVENTS, O_EVENTS_STDOUT, O_JSON,
	O_NO_PROGRESS, O_INCLUDE_SLOW, O_TAG, O_NO_TAG, O_TAG_META,
	O_NO_TAG_META, O_VMM, O_ACCEL, O_TIMEOUT, O_MEM, O_CPUS,
	O_CPU_OVERCOMMIT, O_PSI_THRESHOLD, O_NO_PREFLIGHT, O_NO_BUILD, O_EVENTS_SOCKET, O_COVERAGE, O_JUNIT,
	O_FAIL_FAST, O_RERUN_FAILED, O_WATCH, O_SINCE, O_SHARD, O_SHARD_DURATIONS,
	O_SEED
};

static const struct option longopts[] = {
	{ "filter", required_argument, NULL, O_FILTER },
	{ "config", required_argument, NULL, O_CONFIG },
	{ "save-events", required_argument, NULL, O_SAVE_EVENTS },
	{ "events-stdout", no_argument, NULL, O_EVENTS_STDOUT },
	{ "json", no_argument, NULL, O_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "no-progress", no_argument, NULL, O_NO_PROGRESS },
	{ "include-slow", no_argument, NULL, O_INCLUDE_SLOW },
	{ "tag", required_argument, NULL, O_TAG },
	{ "no-tag", required_argument, NULL, O_NO_TAG },
	{ "tag-meta", required_argument, NULL, O_TAG_META },
	{ "no-tag-meta", required_argument, NULL, O_NO_TAG_META },
	{ "vmm", required_argument, NULL, O_VMM },
	{ "accel", required_argument, NULL, O_ACCEL },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "mem", required_argument, NULL, O_MEM },
	{ "cpus", required_argument, NULL, O_CPUS },
	{ "cpu-overcommit", required_argument, NULL, O_CPU_OVERCOMMIT },
	{ "psi-threshold", required_argument, NULL, O_PSI_THRESHOLD },
	{ "events-socket", required_argument, NULL, O_EVENTS_SOCKET },
	{ "coverage", no_argument, NULL, O_COVERAGE },
	{ "junit", required_argument, NULL, O_JUNIT },
	{ "no-preflight", no_argument, NULL, O_NO_PREFLIGHT },
	{ "no-build", no_argument, NULL, O_NO_BUILD },
	{ "fail-fast", no_argument, NULL, O_FAIL_FAST },
	{ "rerun-failed", no_argument, NULL, O_RERUN_FAILED },
	{ "watch", no_argument, NULL, O_WATCH },
	{ "since", required_argument, NULL, O_SINCE },
	{ "shard", required_argument, NULL, O_SHARD },
	{ "shard-durations", required_argument, NULL, O_SHARD_DURATIONS },
	{ "seed", required_argument, NULL, O_SEED },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static const char help_text[] =
"Usage: provium [OPTIONS] [PATHS]...\n"
"       provium prepare [PROFILE]    run profile build hooks only\n"
"       provium events cat|check|summary|import|junit|merge ...\n"
"                                    read, check and merge event files\n"
"                                    (provium events --help)\n"
"       provium console PROFILE [--print-command] ...\n"
"                                    interactive serial console of a VM\n"
"       provium repl [PROFILE] [--vmm local] ...\n"
"                                    a VM and a Lua prompt with `vm` bound\n"
"       provium lsp-setup [DIR] [--force]\n"
"                                    LuaLS stubs + .luarc.json for editors\n"
"       provium fixture list|build PATH|rebuild PATH|clean|stale\n"
"       provium list [--fixtures]    list test (or fixture) files\n"
"\n"
"Runs every *.test.lua under PATHS (default: the current directory), one\n"
"runner process per file, as many files at once as the resource pool admits.\n"
"\n"
"Selection:\n"
"  --filter SUBSTR        keep files whose path (relative to its scan root)\n"
"                         contains SUBSTR\n"
"  --rerun-failed         run only the files that failed in the last run that\n"
"                         had failures (state: $PROVIUM_RERUN_STATE, default\n"
"                         ~/.cache/provium/rerun.json); none recorded: exit 0\n"
"  --since PATH           keep files modified after PATH was\n"
"  --shard K/N            run only shard K of N (1-based): a stable split of\n"
"                         the discovered files by path hash\n"
"  --shard-durations FILE balance the shards by the file durations in a\n"
"                         previous run's events FILE instead\n"
"  --include-slow         also run tests with meta.slow\n"
"  --tag TAG              run only tests tagged TAG (repeatable; any matches)\n"
"  --no-tag TAG           skip tests tagged TAG (repeatable; wins over --tag)\n"
"  --tag-meta KEY=VALUE   run only tests whose meta[KEY] contains VALUE\n"
"                         (repeatable; same KEY = or, different KEYs = and)\n"
"  --no-tag-meta KEY=VALUE  skip tests whose meta[KEY] contains VALUE\n"
"\n"
"Execution:\n"
"  --fail-fast            after the first failed file, start no more files\n"
"                         (they complete \"skipped: --fail-fast\"); running\n"
"                         ones finish\n"
"  --watch                re-run whenever a test file is added, removed or\n"
"                         modified (polled every 500 ms), until Ctrl-C\n"
"  --timeout DUR          per-file wall-clock limit: N (seconds), Nms, Ns, Nm,\n"
"                         Nh; 0 disables (default 300)\n"
"  --vmm qemu|local       VM backend (default qemu)\n"
"  --accel auto|kvm|tcg   QEMU accelerator (default auto)\n"
"  --config PATH          provium.toml to read (default ./provium.toml if it\n"
"                         exists; the built-in `linux` profile needs none)\n"
"  --no-build             skip the profiles' build hooks\n"
"  --seed N               seed of the bridges' random impairments (sets\n"
"                         PROVIUM_SEED for every runner; a run prints the\n"
"                         seed it used, replay it with this)\n"
"  --no-preflight         skip the checks (QEMU, guest image, accelerator)\n"
"                         made before files that use VMs start\n"
"\n"
"Admission (files start when the resource pool has room):\n"
"  --mem SIZE             pool memory: bytes or N[KMGT] (default 80% of\n"
"                         MemTotal)\n"
"  --cpus N               pool CPUs (default the online CPUs)\n"
"  --cpu-overcommit F     multiply the pool CPUs by F (0.5-8, default 1)\n"
"  --psi-threshold PCT    hold new files while memory/cpu/io pressure\n"
"                         (some avg10) exceeds PCT (default 10)\n"
"\n"
"Output:\n"
"  --json                 one JSON object per file, in input order\n"
"  --save-events PATH     append the msgpack event stream to PATH\n"
"  --events-stdout        write the event stream to stdout (human output goes\n"
"                         to stderr; conflicts with --json)\n"
"  --events-socket PATH   serve the event stream on a unix socket (mode 0600);\n"
"                         a client that connects late first gets the run so\n"
"                         far; a stalled client is dropped, never waited for\n"
"  --coverage             after the run, print provium-coverage's report of\n"
"                         it (a coverage failure makes the exit status 1)\n"
"  --junit PATH           write JUnit XML (written atomically, also when the\n"
"                         run is interrupted)\n"
"  -v, --verbose          also list passed and skipped tests\n"
"  -q, --quiet            print only failed or timed-out files\n"
"  --no-progress          no live progress line on a terminal\n"
"  -h, --help             this text\n"
"  -V, --version          print the version\n"
"\n"
"Exit status: 0 every file passed (or no files), 1 a file failed, timed\n"
"out or crashed, 2 usage or internal error or a --junit/--save-events\n"
"file that could not be written (the results are still printed),\n"
"130/143 interrupted.\n";

const char *
cli_help_text(void)
{
	return help_text;
}

int
cli_parse_duration(const char *s, uint64_t *ms)
{
	char *end;
	unsigned long long n;
	uint64_t mul;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mul = 3600 * 1000;
	else
		return -1;
	if (n > UINT64_MAX / mul)
		return -1;
	*ms = (uint64_t)n * mul;
	return 0;
}

int
cli_parse_shard(const char *s, unsigned *k, unsigned *n)
{
	unsigned long a, b;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	a = strtoul(s, &end, 10);
	if (*end != '/' || end[1] < '0' || end[1] > '9')
		return -1;
	b = strtoul(end + 1, &end, 10);
	if (*end != '\0' || a < 1 || b < 1 || a > b || b > 100000)
		return -1;
	*k = (unsigned)a;
	*n = (unsigned)b;
	return 0;
}

static int
push_str(const char ***arr, size_t *n, const char *s)
{
	const char **p = realloc(*arr, (*n + 1) * sizeof(*p));

	if (p == NULL)
		return -1;
	p[(*n)++] = s;
	*arr = p;
	return 0;
}

static int
push_kv(struct cli_kv **arr, size_t *n, char *s, const char *flag,
    char *err, size_t errlen)
{
	char *eq = strchr(s, '=');
	struct cli_kv *p;

	if (eq == NULL || eq == s) {
		snprintf(err, errlen, "%s expects KEY=VALUE with a non-empty KEY, "
		    "got `%s`", flag, s);
		return -1;
	}
	p = realloc(*arr, (*n + 1) * sizeof(*p));
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*eq = '\0';
	p[*n].key = s;
	p[*n].value = eq + 1;
	(*n)++;
	*arr = p;
	return 0;
}

enum cli_result
cli_parse(int argc, char **argv, struct cli_opts *o, char *err, size_t errlen)
{
	int c, oom = 0;

	memset(o, 0, sizeof(*o));
	o->vmm = "qemu";
	o->accel = "auto";
	o->timeout_ms = 300 * 1000;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case O_FILTER: o->filter = optarg; break;
		case O_CONFIG: o->config = optarg; break;
		case O_SAVE_EVENTS: o->save_events = optarg; break;
		case O_EVENTS_STDOUT: o->events_stdout = true; break;
		case O_JSON: o->json = true; break;
		case 'v': o->verbose = true; break;
		case 'q': o->quiet = true; break;
		case O_NO_PROGRESS: o->no_progress = true; break;
		case O_INCLUDE_SLOW: o->include_slow = true; break;
		case O_NO_PREFLIGHT: o->no_preflight = true; break;
		case O_EVENTS_SOCKET: o->events_socket = optarg; break;
		case O_COVERAGE: o->coverage = true; break;
		case O_JUNIT: o->junit = optarg; break;
		case O_NO_BUILD: o->no_build = true; break;
		case O_FAIL_FAST: o->fail_fast = true; break;
		case O_RERUN_FAILED: o->rerun_failed = true; break;
		case O_WATCH: o->watch = true; break;
		case O_SINCE: o->since = optarg; break;
		case O_SHARD_DURATIONS: o->shard_durations = optarg; break;
		case O_SHARD:
			if (cli_parse_shard(optarg, &o->shard_k, &o->shard_n)) {
				snprintf(err, errlen, "--shard expects K/N with "
				    "1 <= K <= N, got `%s`", optarg);
				return CLI_USAGE;
			}
			break;
		case O_SEED:
			if (!*optarg || optarg[strspn(optarg, "0123456789")]) {
				snprintf(err, errlen, "--seed must be a decimal "
				    "integer, got `%s`", optarg);
				return CLI_USAGE;
			}
			o->seed = optarg;
			break;
		case O_TAG: oom |= push_str(&o->tag, &o->ntag, optarg); break;
		case O_NO_TAG: oom |= push_str(&o->no_tag, &o->nno_tag, optarg); break;
		case O_TAG_META:
			if (push_kv(&o->tag_meta, &o->ntag_meta, optarg,
			    "--tag-meta", err, errlen))
				return CLI_USAGE;
			break;
		case O_NO_TAG_META:
			if (push_kv(&o->no_tag_meta, &o->nno_tag_meta, optarg,
			    "--no-tag-meta", err, errlen))
				return CLI_USAGE;
			break;
		case O_VMM:
			if (strcmp(optarg, "qemu") && strcmp(optarg, "local")) {
				snprintf(err, errlen, "--vmm must be qemu or local, "
				    "got `%s`", optarg);
				return CLI_USAGE;
			}
			o->vmm = optarg;
			break;
		case O_ACCEL:
			if (strcmp(optarg, "auto") && strcmp(optarg, "kvm") &&
			    strcmp(optarg, "tcg")) {
				snprintf(err, errlen, "--accel must be auto, kvm or "
				    "tcg, got `%s`", optarg);
				return CLI_USAGE;
			}
			o->accel = optarg;
			break;
		case O_TIMEOUT:
			if (cli_parse_duration(optarg, &o->timeout_ms)) {
				snprintf(err, errlen, "--timeout: cannot parse `%s` "
				    "(use N, Nms, Ns, Nm or Nh; 0 disables)", optarg);
				return CLI_USAGE;
			}
			break;
		case O_MEM: o->mem = optarg; break;
		case O_CPUS: o->cpus = optarg; break;
		case O_CPU_OVERCOMMIT: o->cpu_overcommit = optarg; break;
		case O_PSI_THRESHOLD: o->psi_threshold = optarg; break;
		case 'h': return CLI_HELP;
		case 'V': return CLI_VERSION;
		case ':':
			snprintf(err, errlen, "option `%s` needs a value",
			    argv[optind - 1]);
			return CLI_USAGE;
		default:
			if (optopt && optopt < 256)
				snprintf(err, errlen, "unknown option `-%c`", optopt);
			else
				snprintf(err, errlen, "unknown option `%s`",
				    argv[optind - 1]);
			return CLI_USAGE;
		}
	}
	if (o->verbose && o->quiet) {
		snprintf(err, errlen, "-v/--verbose and -q/--quiet conflict");
		return CLI_USAGE;
	}
	if (o->json && o->events_stdout) {
		snprintf(err, errlen, "--json and --events-stdout conflict: both "
		    "write to stdout");
		return CLI_USAGE;
	}
	if (o->shard_durations && o->shard_n == 0) {
		snprintf(err, errlen, "--shard-durations needs --shard K/N");
		return CLI_USAGE;
	}
	for (; optind < argc; optind++)
		oom |= push_str(&o->paths, &o->npaths, argv[optind]);
	if (oom) {
		snprintf(err, errlen, "out of memory");
		return CLI_USAGE;
	}
	return CLI_RUN;
}

void
cli_opts_free(struct cli_opts *o)
{
	free(o->paths);
	free(o->tag);
	free(o->no_tag);
	free(o->tag_meta);
	free(o->no_tag_meta);
	memset(o, 0, sizeof(*o));
}
