/*
 * cli.h: the `provium` command line, parsed into plain data.
 *
 * Parsing never exits: cli_parse() returns CLI_USAGE with a message the
 * caller prints (exit 2), CLI_HELP / CLI_VERSION for the informational
 * flags, CLI_RUN otherwise.  Strings in struct cli_opts point into argv.
 */
#ifndef PROVIUM_CLI_H
#define PROVIUM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cli_result { CLI_RUN, CLI_HELP, CLI_VERSION, CLI_USAGE };

struct cli_kv {
	const char *key;    /* points into argv; '=' replaced by NUL */
	const char *value;
};

struct cli_opts {
	const char **paths;         /* positional; none = "." */
	size_t npaths;
	const char *filter;
	const char *config;         /* NULL = runner default */
	const char *save_events;
	const char *events_socket;
	const char *junit;
	bool coverage;
	bool events_stdout;
	bool json;
	bool verbose;
	bool quiet;
	bool no_progress;
	bool include_slow;
	bool no_preflight;
	bool no_build;
	bool fail_fast;             /* files not started after a failure: not run */
	bool rerun_failed;          /* only the files the last failing run failed */
	bool watch;                 /* re-run on every change, until Ctrl-C */
	const char *since;          /* only files newer than this path */
	unsigned shard_k, shard_n;  /* --shard K/N (1-based); n == 0: no sharding */
	const char *shard_durations;    /* events file balancing the shards */
	const char *seed;           /* --seed: exported as PROVIUM_SEED */
	const char **tag, **no_tag;
	size_t ntag, nno_tag;
	struct cli_kv *tag_meta, *no_tag_meta;
	size_t ntag_meta, nno_tag_meta;
	const char *vmm;            /* "qemu" | "local" */
	const char *accel;          /* "auto" | "kvm" | "tcg" */
	uint64_t timeout_ms;        /* per file; 0 = none */
	/* Admission (pool.h, psi.h parse and check these). */
	const char *mem, *cpus, *cpu_overcommit, *psi_threshold;
};

/* Fills *o (arrays malloc'd: cli_opts_free).  err gets the usage message. */
enum cli_result cli_parse(int argc, char **argv, struct cli_opts *o,
    char *err, size_t errlen);
void cli_opts_free(struct cli_opts *o);

/* "300", "500ms", "30s", "5m", "1h" -> ms.  -1 on a malformed value. */
int cli_parse_duration(const char *s, uint64_t *ms);

/* "K/N" with 1 <= K <= N <= 100000.  -1 on a malformed value. */
int cli_parse_shard(const char *s, unsigned *k, unsigned *n);

/* The text of `provium --help`. */
const char *cli_help_text(void);

#endif
