// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the command line. The input is split at NUL bytes into argv;
 * its first byte picks a command. ctl_parse() runs with that command's own
 * tables and args struct, filled from its defaults as dispatch fills it, so
 * every option value and positional argument goes through the typed parser
 * the commands use. Nothing here touches the system: no command's run() is
 * called.
 */
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

static const struct ctl_cmd *const cmds[] = {
	&cmd_setup, &cmd_status, &cmd_teardown, &cmd_remap, &cmd_top,
	&cmd_softnet, &cmd_bpfstat, &cmd_check, &cmd_contention, &cmd_mq,
	&cmd_watch,
};
#define NR_CMDS (sizeof(cmds) / sizeof(cmds[0]))
#define MAX_ARGS 64

/*
 * A row whose type does not match its field would write past it or leave
 * half of it stale; ctl_parse() trusts the tables, so check them here.
 */
static void check_row(const struct ctl_cmd *cmd, const struct ctl_opt *o, bool positional)
{
	bool ok;

	switch (o->type) {
	case CTL_FLAG:
		ok = o->size == sizeof(bool) && !o->arg && !positional;
		break;
	case CTL_UINT:
		ok = (o->size == sizeof(unsigned long) ||
		      (o->size == sizeof(unsigned int) && o->max <= UINT_MAX)) &&
		     o->min >= 0 && o->min <= o->max;
		break;
	case CTL_DOUBLE:
		ok = o->size == sizeof(double) && o->min <= o->max;
		break;
	case CTL_ENUM:
		ok = o->size == sizeof(int) && o->parse;
		break;
	case CTL_STRING:
	case CTL_QSPEC:
		ok = o->size == sizeof(const char *);
		break;
	case CTL_STRV:
		ok = o->size == sizeof(struct ctl_strv) && positional;
		break;
	default:
		ok = false;
	}
	if (o->type != CTL_FLAG && !o->arg)
		ok = false;
	if (positional && (!o->max_count || o->min_count > o->max_count ||
			   (o->max_count > 1 && o->type != CTL_STRV)))
		ok = false;
	if (!ok || o->off + o->size > cmd->args_size)
		abort();
}

static void check_tables(void)
{
	for (size_t i = 0; i < NR_CMDS; i++) {
		for (const struct ctl_opt *const *t = cmds[i]->opts; t && *t; t++)
			for (const struct ctl_opt *o = *t; o->name; o++)
				check_row(cmds[i], o, false);
		for (const struct ctl_opt *o = cmds[i]->args; o && o->arg; o++)
			check_row(cmds[i], o, true);
	}
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
	static bool checked;
	char *buf, *argv[MAX_ARGS + 1];
	const struct ctl_cmd *cmd;
	struct ctl_common c;
	int argc = 0, idx;
	void *args;

	if (!checked) {
		check_tables();
		checked = true;
	}
	if (size < 1)
		return 0;
	cmd = cmds[data[0] % NR_CMDS];
	buf = malloc(size + 1);
	args = calloc(1, cmd->args_size ? cmd->args_size : 1);
	if (!buf || !args) {
		free(buf);
		free(args);
		return 0;
	}
	if (cmd->defaults)
		memcpy(args, cmd->defaults, cmd->args_size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	argv[argc++] = (char *)cmd->name;
	for (char *p = buf; p < buf + size - 1 && argc < MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	poison_stack();
	reset_getopt();
	idx = ctl_parse(cmd, argc, argv, &c, args);
	if (idx > argc)
		abort();
	if (idx >= 0 && c.help)
		ctl_usage(stdout, cmd);
	free(args);
	free(buf);
	return 0;
}
