/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The CLI's shared pieces: exit codes, the option table that drives both
 * getopt_long() and the usage text (so --help cannot drift from behaviour),
 * and JSON output. No netlink or BPF here: commands call dataplane/.
 */
#ifndef SC_CTL_H
#define SC_CTL_H

#include <stdbool.h>
#include <stddef.h>
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

/*
 * What an option (or positional argument) takes and how its value lands in
 * the command's args struct, so the table alone decides parsing, bounds and
 * the error message (the xdp-tools params.h way).
 */
enum ctl_type {
	CTL_FLAG,	/* bool, set to true; takes no value */
	CTL_UINT,	/* unsigned int or unsigned long, a whole number in [min, max] */
	CTL_DOUBLE,	/* double in [min, max] */
	CTL_ENUM,	/* int-sized, by ->parse (sc_attach_parse() & co) */
	CTL_STRING,	/* const char *, the value as given */
	CTL_QSPEC,	/* const char *, which sc_qspec_parse() must accept */
	CTL_STRV,	/* positional only: struct ctl_strv, up to max_count values */
};

/* The values of a repeatable positional argument (watch's DEV...). */
struct ctl_strv {
	char *const *v;
	unsigned int n;
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CTL_FIELD(type, member) .off = offsetof(type, member), .size = sizeof(((type *)0)->member)

/*
 * An option row, or with a positional table a positional argument: then
 * @arg is its usage name (DEV), @name its noun in errors ("rx queue") and
 * min_count/max_count say how often it may appear ([DEV] is 0/1, DEV... 1/N).
 * Tables end with a row whose name is NULL.
 */
struct ctl_opt {
	const char *name;	/* long name, without "--" */
	int key;		/* short letter, or 0 for long-only */
	const char *arg;	/* argument name for the usage text; NULL = flag */
	const char *help;
	enum ctl_type type;
	size_t off, size;	/* CTL_FIELD(): where the value goes */
	double min, max;	/* CTL_UINT, CTL_DOUBLE (exact for integers below 2^53) */
	int (*parse)(const char *s, int *out);	/* CTL_ENUM; sets sc_last_error() */
	/* Optional check after the type's own; prints why and returns EXIT_USAGE. */
	int (*validate)(const char *cmd, const char *arg);
	unsigned int min_count, max_count;	/* positionals only */
};

/*
 * A command: run() gets the common options and its args struct, filled from
 * @defaults (zeroes when NULL) and then by the tables. Rows shared between
 * commands (setup's with watch, contention's with mq) write into a struct
 * that each of those commands' args structs starts with, so one offset
 * serves both.
 */
struct ctl_cmd {
	const char *name;
	const char *summary;		/* one line, for `shardctl --help` */
	const char *description;	/* optional paragraphs for `shardctl CMD --help` */
	const struct ctl_opt *const *opts;	/* NULL-terminated list of tables, in usage order */
	const struct ctl_opt *args;	/* positional arguments, in order; NULL: none */
	size_t args_size;
	const void *defaults;
	int (*run)(const struct ctl_common *common, void *args);
};

#define CTL_TABLES(...) ((const struct ctl_opt *const[]){ __VA_ARGS__, NULL })

/*
 * getopt_long() driven by @cmd's tables plus the common -j/-p/-v/-h, then
 * the positional arguments against cmd->args; every value is parsed by its
 * row's type into @args. Returns the index of the first positional
 * argument, or -1 after printing an error (caller exits EXIT_USAGE). With
 * -h it stops there, sets common->help and returns argc.
 */
int ctl_parse(const struct ctl_cmd *cmd, int argc, char **argv, struct ctl_common *common,
	      void *args);
void ctl_usage(FILE *f, const struct ctl_cmd *cmd);

/* "shardctl CMD: message" on stderr; returns @code for `return ctl_err(...)`. */
int ctl_err(int code, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Report the dataplane's last error for @cmd and return EXIT_FAIL. */
int ctl_fail(const char *cmd);

/*
 * Commands that sample until ^C: SIGINT/SIGTERM set ctl_stop (the sample
 * in progress is still printed); ctl_nap() sleeps unless it is set.
 */
extern volatile sig_atomic_t ctl_stop;
void ctl_catch_stop(void);
void ctl_nap(double seconds);
/*
 * The one sampling loop (top, softnet): nap @interval, then @sample, @count
 * times (0: until ^C). @last is set for the sample that ends the run (the
 * count reached, or ^C), for outputs printed once (Prometheus). A non-zero
 * return from @sample ends the loop and is returned.
 */
int ctl_sample_loop(double interval, unsigned long count, int (*sample)(void *priv, bool last),
		    void *priv);

/*
 * A JSON number printed with @fmt ("%.3f"): json-c would print every binary
 * digit of a rate (0.30000000000000004).
 */
json_object *ctl_json_fixed(double v, const char *fmt);

/* Print and release @obj (newline terminated, pretty with -p). */
void ctl_print_json(const struct ctl_common *common, json_object *obj);

/* contention's measurement rows, which mq measures with too (into struct sc_contention_opts). */
extern const struct ctl_opt ctl_measure_opts[];

/* The command table, defined in main.c; each command lives in its own file. */
extern const struct ctl_cmd cmd_setup, cmd_status, cmd_teardown, cmd_remap, cmd_watch;
extern const struct ctl_cmd cmd_top, cmd_softnet, cmd_bpfstat, cmd_check;
extern const struct ctl_cmd cmd_contention, cmd_mq;
extern const struct ctl_cmd *const ctl_commands[];

#endif
