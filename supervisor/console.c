/* console.c: `provium console` (console.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor/console.h"
#include "supervisor/size.h"
#include "vm/profile.h"
#include "vm/spawn.h"
#include "vm/vmm.h"

static const char usage[] =
"usage: provium console PROFILE [--config PATH] [--mem SIZE] [--cpus N]\n"
"                       [--cmdline TEXT] [--agent] [--qemu PATH]\n"
"                       [--print-command] [-- QEMU_ARG...]\n"
"An interactive serial console of a fresh VM (Ctrl-A X quits QEMU,\n"
"Ctrl-A C switches to its monitor).  --cmdline replaces the profile's kernel\n"
"command line (console=ttyS0 is always ensured); --agent also injects the\n"
"agent and its channel (socket ./agent.sock); --print-command prints the\n"
"QEMU command line and exits.\n";

struct console_opts {
	const char *profile, *config, *mem, *cpus, *cmdline, *qemu;
	int agent, print;
	char **extra;
	int nextra;
};

static int
parse(int argc, char **argv, struct console_opts *c)
{
	int i;

	memset(c, 0, sizeof(*c));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **val = !strcmp(a, "--config") ? &c->config :
		    !strcmp(a, "--mem") ? &c->mem : !strcmp(a, "--cpus") ? &c->cpus :
		    !strcmp(a, "--cmdline") ? &c->cmdline :
		    !strcmp(a, "--qemu") ? &c->qemu : NULL;

		if (val) {
			if (i + 1 >= argc) {
				fprintf(stderr, "provium console: option `%s` needs "
				    "a value\n", a);
				return -1;
			}
			*val = argv[++i];
		} else if (!strcmp(a, "--agent")) {
			c->agent = 1;
		} else if (!strcmp(a, "--print-command")) {
			c->print = 1;
		} else if (!strcmp(a, "--")) {
			c->extra = argv + i + 1;
			c->nextra = argc - i - 1;
			break;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			exit(0);
		} else if (a[0] == '-' || c->profile) {
			fprintf(stderr, "provium console: unexpected argument `%s`\n%s",
			    a, usage);
			return -1;
		} else {
			c->profile = a;
		}
	}
	if (c->profile == NULL) {
		fprintf(stderr, "provium console: which profile?\n%s", usage);
		return -1;
	}
	return 0;
}

/* A word as a shell would need it to read it back. */
static void
print_word(const char *w)
{
	const char *p;

	if (*w && strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-+=./,:@%") == strlen(w)) {
		fputs(w, stdout);
		return;
	}
	putchar('\'');
	for (p = w; *p; p++)
		if (*p == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*p);
	putchar('\'');
}

/* QEMU in the foreground; its exit status decides ours. */
static int
run_qemu(char **argv)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	/* QEMU reads the terminal: fd 0 is ours, not /dev/null. */
	struct spawn_opts so = { .fds = { { 0, 0 } }, .nfds = 1 };
	char *err;
	pid_t pid;
	int st = -1;

	/*
	 * The terminal is raw under mon:stdio; a stray SIGINT is QEMU's
	 * (spawn_start gives QEMU default dispositions back).
	 */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	if (spawn_start(argv, &so, &pid, &err) != 0) {
		fprintf(stderr, "provium console: %s (is qemu-system-x86 "
		    "installed? `make deps`)\n", err ? err : "out of memory");
		free(err);
	} else
		st = spawn_wait(pid);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

int
console_main(int argc, char **argv)
{
	struct console_opts c;
	struct profile_config *cfg = NULL;
	const struct profile *p;
	struct vmm_boot_opts bo;
	char **qargv = NULL, **full = NULL, *err = NULL, buf[256];
	uint64_t mem = 0;
	unsigned long cpus = 0;
	size_t n, i;
	int rc = 2;

	if (parse(argc, argv, &c) != 0)
		return 2;
	if (c.mem && size_parse(c.mem, &mem, buf, sizeof(buf)) != 0) {
		fprintf(stderr, "provium console: --mem: %s\n", buf);
		return 2;
	}
	if (c.cpus && ((cpus = strtoul(c.cpus, &err, 10)) < 1 || cpus > 1024 ||
	    *err || *c.cpus < '0' || *c.cpus > '9')) {
		fprintf(stderr, "provium console: --cpus must be an integer from 1 "
		    "to 1024, got `%s`\n", c.cpus);
		return 2;
	}
	err = NULL;
	if (profile_config_load(c.config, &cfg, &err) != 0) {
		fprintf(stderr, "provium: %s\n", err ? err : "cannot load the config");
		goto out;
	}
	if ((p = profile_find(cfg, c.profile)) == NULL) {
		fprintf(stderr, "provium console: profile `%s` not found in "
		    "provium.toml\n", c.profile);
		goto out;
	}
	/* Printing needs no image; running does. */
	if (!c.print && profile_check_paths(p, &err) != 0) {
		fprintf(stderr, "provium console: %s\n", err);
		goto out;
	}
	memset(&bo, 0, sizeof(bo));
	bo.vm_name = "console";
	bo.profile = p;
	bo.memory_bytes = mem;
	bo.cpus = (unsigned)cpus;
	bo.kernel_cmdline = c.cmdline;
	if (vmm_qemu_console_argv(&bo, c.agent, c.qemu, &qargv, &err) != 0) {
		fprintf(stderr, "provium console: %s\n", err ? err : "out of memory");
		goto out;
	}
	for (n = 0; qargv[n]; n++)
		;
	if ((full = calloc(n + (size_t)c.nextra + 1, sizeof(*full))) == NULL) {
		fprintf(stderr, "provium console: out of memory\n");
		goto out;
	}
	memcpy(full, qargv, n * sizeof(*full));
	for (i = 0; i < (size_t)c.nextra; i++)
		full[n + i] = c.extra[i];
	if (c.print) {
		for (i = 0; full[i]; i++) {
			if (i)
				putchar(' ');
			print_word(full[i]);
		}
		putchar('\n');
		rc = 0;
	} else {
		fflush(stdout);
		rc = run_qemu(full);
	}
out:
	free(full);
	vmm_qemu_argv_free(qargv);
	free(err);
	profile_config_free(cfg);
	return rc;
}
