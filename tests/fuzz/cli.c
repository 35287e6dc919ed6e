// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the command line. The input is split at NUL bytes into argv;
 * its first byte picks a command. ctl_parse() runs with that command's own
 * option table, and every option value goes to the parser the commands use
 * for that kind of value (the commands' callbacks are static, so values are
 * routed by the table's argument name). Nothing here touches the system:
 * no command's run() is called.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "dataplane/shard/qspec.h"
#include "dataplane/shard/shard.h"

static const struct ctl_cmd *const cmds[] = {
	&cmd_setup, &cmd_status, &cmd_teardown, &cmd_remap, &cmd_top,
	&cmd_softnet, &cmd_bpfstat, &cmd_check, &cmd_contention, &cmd_mq,
	&cmd_watch,
};
#define NR_CMDS (sizeof(cmds) / sizeof(cmds[0]))
#define MAX_ARGS 64

static int route(int key, const char *arg, void *priv)
{
	const struct ctl_cmd *cmd = priv;
	const struct ctl_opt *o = cmd->opts;
	struct sc_qspec q;
	unsigned long u;
	double d;
	int i;

	while (o && o->name && o->key != key)
		o++;
	if (!o || !o->name)
		for (o = cmd->shared_opts; o && o->name && o->key != key; o++)
			;
	if (!o || !o->name)
		abort();	/* getopt returned a key the tables do not have */
	if (!o->arg != !arg)
		abort();	/* getopt gave a flag a value, or an option none */
	if (!arg)
		return 0;
	if (!strcmp(o->arg, "N") || !strcmp(o->arg, "K") || !strcmp(o->arg, "PID") ||
	    !strcmp(o->arg, "HZ"))
		return ctl_parse_uint(cmd->name, o->name, arg, 0, ~0ul, &u);
	if (!strcmp(o->arg, "S"))
		return ctl_parse_double(cmd->name, o->name, arg, 0, 1e9, &d);
	if (!strcmp(o->arg, "MODE"))
		return sc_attach_parse(arg, &i) ? EXIT_USAGE : 0;
	if (!strcmp(o->arg, "METHOD"))
		return sc_lookup_parse(arg, (enum sc_lookup *)&i) ? EXIT_USAGE : 0;
	if (!strcmp(o->arg, "SPEC"))
		return sc_qspec_parse(arg, &q) ? EXIT_USAGE : 0;
	return 0;	/* file names, device lists, kinds: taken as they are */
}

/* glibc keeps a pointer into the last argv between calls unless optind is 0. */
static void reset_getopt(void)
{
	char prog[] = "x", *argv[] = { prog, NULL };

	optind = 0;
	getopt(1, argv, "");
}

/*
 * Fill the stack below us with 0xff (a NaN as a double) so that a variable
 * read before it is written shows up under UBSan (float-cast-overflow)
 * every time, not only when earlier runs happened to leave garbage there.
 */
static __attribute__((noinline)) void poison_stack(void)
{
	volatile char pad[16384];

	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = (char)0xff;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *argv[MAX_ARGS + 1];
	const struct ctl_cmd *cmd;
	struct ctl_common c;
	unsigned long u;
	int argc = 0, idx;

	if (size < 1)
		return 0;
	cmd = cmds[data[0] % NR_CMDS];
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	argv[argc++] = (char *)cmd->name;
	for (char *p = buf; p < buf + size - 1 && argc < MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	poison_stack();
	reset_getopt();
	idx = ctl_parse(cmd, argc, argv, &c, route, (void *)cmd);
	if (idx > argc)
		abort();
	/* remap's positionals go through the same number parser. */
	for (int i = idx + 1; idx >= 0 && cmd == &cmd_remap && i < argc; i++)
		ctl_parse_uint("remap", "rx queue", argv[i], 0, SC_MAX_RXQ - 1, &u);
	free(buf);
	return 0;
}
