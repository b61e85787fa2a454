/*
 * console.h: `provium console PROFILE`: an interactive serial console of
 * a fresh VM of PROFILE, QEMU in the foreground with the guest's ttyS0
 * and the QEMU monitor multiplexed on the terminal (-serial mon:stdio:
 * Ctrl-A X quits, Ctrl-A C switches to the monitor).  The argv is the one
 * a test boot uses (vm/qemu.c builds both) minus QMP, and minus the agent
 * overlay and channel unless --agent.  --print-command prints it instead.
 */
#ifndef PROVIUM_CONSOLE_H
#define PROVIUM_CONSOLE_H

/* argv[0] is "console".  Exit code: QEMU's success 0, its failure 1,
 * usage / unknown profile / missing image 2. */
int console_main(int argc, char **argv);

#endif
