/*
 * repl.h: `provium repl [PROFILE]`: one VM and a Lua prompt.
 *
 * The prompt runs in a Lua state built exactly like a test file's (the
 * framework globals, json, the `provium` lab, every runner extension), so
 * everything of docs/lua-api.md works, with the global `vm` bound to a
 * booted VM.  The state's runner channel goes to a small in-process stand-in
 * for the supervisor (a forked child): it grants every claim and reserve
 * (cids from 100) and drops the reports, since nothing else shares the pool.
 *
 * A line is first tried as `return <line>` (so expressions print their
 * values, tostring'd and tab-separated, as lua5.4 does), then as a
 * statement; an incomplete statement continues on the next line (`>> `).
 * Line editing and history (~/.provium_history) are readline's; ^C
 * discards the line being typed (the terminal's ISIG is off at the prompt
 * so that ^C never reaches QEMU, which shares our process group); ^D, exit() or quit() leave, printing
 * `bye`, after the VM is shut down.  A Lua error is printed and the
 * prompt goes on.
 */
#ifndef PROVIUM_REPL_H
#define PROVIUM_REPL_H

struct repl_opts {
	const char *profile;    /* NULL: the default (qemu: `linux`) */
	const char *name;       /* VM name, default "repl" */
	const char *fixture;    /* restore this VM fixture instead, or NULL */
	const char *vmm;        /* "qemu" | "local" */
	const char *config;     /* provium.toml, or NULL */
	const char *accel;      /* "auto" | "kvm" | "tcg" */
	int verbose;
};

/* Exit code: 0 after ^D / exit(), 1 when the VM did not boot, 2 setup. */
int repl_run(const struct repl_opts *o);

/* `provium repl [PROFILE] [--name VM] [--fixture PATH] [--vmm qemu|local]
 * [--config PATH] [--accel auto|kvm|tcg] [--no-build] [-v]`; argv[0] is
 * "repl".  Runs the profile's build hook first (qemu, unless --no-build).
 * --fixture: `vm` is provium:vm_fixture(PATH) (built first if need be);
 * if that fails, a notice and a cold boot. */
int repl_main(int argc, char **argv);

#endif
