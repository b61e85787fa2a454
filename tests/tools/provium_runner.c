/* provium_runner.c: the runner alone, for tests without the supervisor
 * (`provium_runner --runner`, channel on fd 3). */
#include "runner/runner.h"

int
main(int argc, char **argv)
{
	return runner_main(argc, argv);
}
