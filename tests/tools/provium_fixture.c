/*
 * provium_fixture: `provium fixture …` / `provium list …` without the rest
 * of provium, for scripts:  provium_fixture fixture list --cache-dir D
 */
#include "fixtures/cli.h"

int
main(int argc, char **argv)
{
	return fixture_cli_main(argc - 1, argv + 1);
}
