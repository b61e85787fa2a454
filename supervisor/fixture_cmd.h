/* fixture_cmd.h: `provium fixture list|build|rebuild|clean|stale`, `provium list`. */
#ifndef PROVIUM_FIXTURE_CMD_H
#define PROVIUM_FIXTURE_CMD_H

/* argv[0] is "fixture" or "list".  Returns the exit code. */
int fixture_cmd_main(int argc, char **argv);

#endif
