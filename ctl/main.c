// SPDX-License-Identifier: GPL-2.0
/*
 * shardctl: one command per file, dispatched through this table (the
 * bpftool way). Dispatch parses each command's option table into its args
 * struct and answers -h, so a command's run() starts with its values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "ctl/ctl.h"
#include "dataplane/kernel/log.h"

const struct ctl_cmd *const ctl_commands[] = {
	&cmd_setup,
	&cmd_status,
	&cmd_teardown,
	&cmd_remap,
	&cmd_watch,
	&cmd_top,
	&cmd_softnet,
	&cmd_bpfstat,
	&cmd_check,
	&cmd_contention,
	&cmd_mq,
	NULL,
};

static void print_version(void)
{
	printf("shardctl %s (libbpf %u.%u)\n", SHARDCTL_VERSION, libbpf_major_version(),
	       libbpf_minor_version());
}

static void print_help(FILE *f)
{
	fprintf(f, "Usage: shardctl COMMAND [OPTIONS] [ARGS]\n"
		   "       shardctl COMMAND --help\n"
		   "       shardctl --version\n\n"
		   "Shard a multi-queue NIC's egress across per-rx-queue veth pairs so that no\n"
		   "qdisc root lock is shared between CPUs.\n\nCommands:\n");
	for (const struct ctl_cmd *const *c = ctl_commands; *c; c++)
		fprintf(f, "  %-11s %s\n", (*c)->name, (*c)->summary);
	fprintf(f, "\nCommon options: -j/--json, -p/--pretty, -v/--verbose, -h/--help.\n"
		   "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

static int dispatch(const struct ctl_cmd *cmd, int argc, char **argv)
{
	void *args = calloc(1, cmd->args_size ? cmd->args_size : 1);
	struct ctl_common c;
	int rc;

	if (!args)
		return ctl_err(EXIT_FAIL, cmd->name, "out of memory");
	if (cmd->defaults)
		memcpy(args, cmd->defaults, cmd->args_size);
	if (ctl_parse(cmd, argc, argv, &c, args) < 0) {
		rc = EXIT_USAGE;
	} else if (c.help) {
		ctl_usage(stdout, cmd);
		rc = EXIT_OK;
	} else {
		rc = cmd->run(&c, args);
	}
	free(args);
	return rc;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;

	if (!name) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
		print_help(stdout);
		return EXIT_OK;
	}
	if (!strcmp(name, "-V") || !strcmp(name, "--version") || !strcmp(name, "version")) {
		print_version();
		return EXIT_OK;
	}
	/* libbpf stays silent unless -v: every failure already has our own sentence. */
	sc_log_set_verbosity(0);
	for (const struct ctl_cmd *const *c = ctl_commands; *c; c++)
		if (!strcmp((*c)->name, name))
			return dispatch(*c, argc - 1, argv + 1);
	fprintf(stderr, "shardctl: unknown command '%s'\nTry 'shardctl --help'.\n", name);
	return EXIT_USAGE;
}
