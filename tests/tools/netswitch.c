/*
 * netswitch: a vm/switch.h switch as a process, for scripts (bench/network).
 *
 *   netswitch DIR BRIDGE PORT...
 *
 * Prints "PORT SOCKET MAC" per port, then runs until stdin reaches EOF and
 * prints each port's counters ("PORT tx P/B rx P/B dropped N") on exit.
 */
#include <stdio.h>
#include <stdlib.h>

#include "vm/switch.h"

int
main(int argc, char **argv)
{
	struct sw *sw = NULL;
	char *err = NULL, path[SW_PATH_MAX], buf[256];
	uint8_t m[6];

	if (argc < 4) {
		fprintf(stderr, "usage: netswitch DIR BRIDGE PORT...\n");
		return 100;
	}
	if (sw_start(argv[2], argv[1], 1, &sw, &err) != 0) {
		fprintf(stderr, "netswitch: %s\n", err);
		return 1;
	}
	for (int i = 3; i < argc; i++) {
		if (sw_add_port(sw, argv[i], path, m, &err) != 0) {
			fprintf(stderr, "netswitch: %s\n", err);
			sw_stop(sw);
			return 1;
		}
		printf("%s %s %02x:%02x:%02x:%02x:%02x:%02x\n", argv[i], path,
		    m[0], m[1], m[2], m[3], m[4], m[5]);
	}
	fflush(stdout);
	while (fgets(buf, sizeof(buf), stdin))
		;
	for (int i = 3; i < argc; i++) {
		struct sw_counters c;

		if (sw_counters(sw, argv[i], &c, &err) == 0)
			printf("%s tx %llu/%llu rx %llu/%llu dropped %llu\n",
			    argv[i], (unsigned long long)c.tx_packets,
			    (unsigned long long)c.tx_bytes,
			    (unsigned long long)c.rx_packets,
			    (unsigned long long)c.rx_bytes,
			    (unsigned long long)c.dropped);
	}
	sw_stop(sw);
	return 0;
}
