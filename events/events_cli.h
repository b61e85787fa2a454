/*
 * events_cli.h: `provium events cat|check|summary|import|junit ...`.
 * supervisor/main.c calls events_cli_main(argc - 1, argv + 1) when
 * argv[1] is "events" (so argv[0] here is "events").  Exit codes: 0 ok,
 * 1 violations / bad input / incomplete run (check), 2 usage.
 */
#ifndef PROVIUM_EVENTS_CLI_H
#define PROVIUM_EVENTS_CLI_H

int events_cli_main(int argc, char **argv);

#endif
