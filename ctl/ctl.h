/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The CLI's shared pieces: exit codes, the option table that drives both
 * getopt_long() and the usage text (so --help cannot drift from behaviour),
 * and JSON output. No netlink or BPF here: commands call dataplane/.
 */
#ifndef SC_CTL_H
#define SC_CTL_H

#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <json-c/json.h>

enum {
	EXIT_OK = 0,	/* success (also: nothing to do) */
	EXIT_FAIL = 1,	/* anything that went wrong at run time */
	EXIT_USAGE = 2,	/* bad command line: nothing was changed */
};

/* Options every command understands; filled by ctl_parse(). */
struct ctl_common {
	bool json;
	bool pretty;
	bool help;
	int verbose;	/* -v count */
};

struct ctl_opt {
	const char *name;	/* long name, without "--" */
	int key;		/* short letter, or a value >= 256 for long-only */
	const char *arg;	/* argument name for the usage text; NULL = flag */
	const char *help;
};

/*
 * A command: run() gets argv with argv[0] = command name.
 * usage_args is the positional synopsis ("DEV"), summary one line for
 * `shardctl help`, opts is terminated by an entry with name == NULL.
 */
struct ctl_cmd {
	const char *name;
	const char *usage_args;
	const char *summary;		/* one line, for `shardctl --help` */
	const char *description;	/* optional paragraph for `shardctl CMD --help` */
	const struct ctl_opt *opts;
	const struct ctl_opt *shared_opts;	/* rows shared with another command, after opts */
	int (*run)(int argc, char **argv);
};

/*
 * getopt_long() driven by @opts plus the common -j/-p/-h. Calls @on_opt for
 * each command-specific option; on_opt returns 0 or EXIT_USAGE after
 * printing why. Returns the index of the first positional argument, or -1
 * after printing an error (caller exits EXIT_USAGE). With -h it prints the
 * usage and sets common->help.
 */
int ctl_parse(const struct ctl_cmd *cmd, int argc, char **argv, struct ctl_common *common,
	      int (*on_opt)(int key, const char *arg, void *priv), void *priv);
void ctl_usage(FILE *f, const struct ctl_cmd *cmd);

/* "shardctl CMD: message" on stderr; returns @code for `return ctl_err(...)`. */
int ctl_err(int code, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Report the dataplane's last error for @cmd and return EXIT_FAIL. */
int ctl_fail(const char *cmd);

/* Strict number parsing for option values: whole string, in [min, max]. */
int ctl_parse_uint(const char *cmd, const char *what, const char *s, unsigned long min,
		   unsigned long max, unsigned long *out);
int ctl_parse_double(const char *cmd, const char *what, const char *s, double min,
		     double max, double *out);

/*
 * Commands that sample until ^C: SIGINT/SIGTERM set ctl_stop (the sample
 * in progress is still printed); ctl_nap() sleeps unless it is set.
 */
extern volatile sig_atomic_t ctl_stop;
void ctl_catch_stop(void);
void ctl_nap(double seconds);

/*
 * A JSON number printed with @fmt ("%.3f"): json-c would print every binary
 * digit of a rate (0.30000000000000004).
 */
json_object *ctl_json_fixed(double v, const char *fmt);

/* Print and release @obj (newline terminated, pretty with -p). */
void ctl_print_json(const struct ctl_common *common, json_object *obj);

/* The command table, defined in main.c; each command lives in its own file. */
extern const struct ctl_cmd cmd_setup, cmd_status, cmd_teardown, cmd_remap, cmd_watch;
extern const struct ctl_cmd cmd_top, cmd_softnet, cmd_bpfstat, cmd_check;
extern const struct ctl_cmd cmd_contention, cmd_mq;
extern const struct ctl_cmd *const ctl_commands[];

#endif
