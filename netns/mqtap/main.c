// SPDX-License-Identifier: GPL-2.0
/* mqtap: the multi-queue TAP testbed's tool (mqtap.h, README.md). */
#include <string.h>

#include "netns/mqtap/mqtap.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: mqtap hold --ns NS --dev DEV --queues R [--active A] [--mtu M]\n"
		   "       mqtap traffic --ns NS [OPTIONS]\n"
		   "       mqtap queues --ns NS --active N [-j]\n"
		   "       mqtap COMMAND --help\n\n"
		   "A multi-queue TAP testbed: `hold` creates the TAP and keeps its queues\n"
		   "open, `traffic` writes frames into its rx queues and checks what comes back,\n"
		   "`queues` changes how many of its queues are active.\n");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "hold"))
		return mq_cmd_hold(argc - 1, argv + 1);
	if (!strcmp(cmd, "traffic"))
		return mq_cmd_traffic(argc - 1, argv + 1);
	if (!strcmp(cmd, "queues"))
		return mq_cmd_queues(argc - 1, argv + 1);
	usage(stderr);
	return mq_errf(EXIT_USAGE, "unknown command '%s'", cmd);
}
