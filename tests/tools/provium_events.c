/* provium_events.c: `provium events ...` until supervisor/main.c routes
 * argv[1] == "events" to events_cli_main (test and bench driver). */
#include "events/events_cli.h"

int
main(int argc, char **argv)
{
	return events_cli_main(argc, argv);
}
