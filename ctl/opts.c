// SPDX-License-Identifier: GPL-2.0
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <time.h>

#include "ctl/ctl.h"
#include "dataplane/kernel/error.h"
#include "dataplane/kernel/log.h"

#define MAX_OPTS 48

static const struct ctl_opt common_opts[] = {
	{ "json", 'j', NULL, "print JSON" },
	{ "pretty", 'p', NULL, "print indented JSON (implies -j)" },
	{ "verbose", 'v', NULL, "show libbpf's warnings; -vv adds its debug output and verifier logs" },
	{ "help", 'h', NULL, "show this help" },
	{ 0 },
};

static void usage_opts(FILE *f, const struct ctl_opt *o)
{
	for (; o && o->name; o++) {
		char left[64];

		if (o->key > 0 && o->key < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->key, o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		fprintf(f, "  %-28s %s\n", left, o->help);
	}
}

void ctl_usage(FILE *f, const struct ctl_cmd *cmd)
{
	fprintf(f, "Usage: shardctl %s [OPTIONS]%s%s\n\n%s\n", cmd->name,
		cmd->usage_args && *cmd->usage_args ? " " : "",
		cmd->usage_args ? cmd->usage_args : "", cmd->summary);
	if (cmd->description)
		fprintf(f, "%s\n", cmd->description);
	fprintf(f, "\nOptions:\n");
	usage_opts(f, cmd->opts);
	usage_opts(f, cmd->shared_opts);
	usage_opts(f, common_opts);
	fprintf(f, "\nExit status: 0 success, 1 failure, 2 usage error.\n");
}

static int add_opts(struct option *lo, int n, char *shorts, size_t *sn, const struct ctl_opt *o)
{
	for (; o && o->name && n < MAX_OPTS; o++, n++) {
		lo[n] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL,
					 o->key };
		if (o->key > 0 && o->key < 256) {
			shorts[(*sn)++] = (char)o->key;
			if (o->arg)
				shorts[(*sn)++] = ':';
		}
	}
	return n;
}

/*
 * With -j a script reads stdout, so a failure is JSON there too
 * ({"error": "...", "exit": N}, as bpftool does), besides the sentence on
 * stderr. Set before getopt runs, so a usage error anywhere on the command
 * line is JSON as well; only the first error of a run is printed.
 */
static bool json_errors;

static void scan_json(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json") || !strcmp(argv[i], "-p") ||
		    !strcmp(argv[i], "--pretty"))
			json_errors = true;
}

int ctl_parse(const struct ctl_cmd *cmd, int argc, char **argv, struct ctl_common *common,
	      int (*on_opt)(int key, const char *arg, void *priv), void *priv)
{
	struct option lo[MAX_OPTS + 1] = { 0 };
	char shorts[2 * MAX_OPTS + 2];
	size_t sn = 0;
	int n, c;

	/* GNU getopt permutes, so options may follow positionals (`setup eth0 -j`). */
	n = add_opts(lo, 0, shorts, &sn, cmd->opts);
	n = add_opts(lo, n, shorts, &sn, cmd->shared_opts);
	add_opts(lo, n, shorts, &sn, common_opts);
	shorts[sn] = '\0';
	memset(common, 0, sizeof(*common));
	scan_json(argc, argv);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			common->json = true;
			break;
		case 'p':
			common->json = common->pretty = true;
			break;
		case 'v':
			sc_log_set_verbosity(++common->verbose);
			break;
		case 'h':
			common->help = true;
			ctl_usage(stdout, cmd);
			return argc;
		case '?':
			if (optopt && optopt < 256)
				ctl_err(EXIT_USAGE, cmd->name, "unknown option '-%c' or missing argument",
					optopt);
			else
				ctl_err(EXIT_USAGE, cmd->name,
					"unknown option or missing argument: '%s'", argv[optind - 1]);
			fprintf(stderr, "Try 'shardctl %s --help'.\n", cmd->name);
			return -1;
		default:
			if (!on_opt || on_opt(c, optarg, priv)) {
				fprintf(stderr, "Try 'shardctl %s --help'.\n", cmd->name);
				return -1;
			}
		}
	}
	return optind;
}

int ctl_err(int code, const char *cmd, const char *fmt, ...)
{
	static bool printed;
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "shardctl %s: %s\n", cmd, msg);
	if (json_errors && !printed) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(msg));
		json_object_object_add(o, "exit", json_object_new_int(code));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							JSON_C_TO_STRING_NOSLASHESCAPE));
		fflush(stdout);
		json_object_put(o);
		printed = true;
	}
	return code;
}

int ctl_fail(const char *cmd)
{
	return ctl_err(EXIT_FAIL, cmd, "%s", sc_last_error());
}

int ctl_parse_uint(const char *cmd, const char *what, const char *s, unsigned long min,
		   unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		goto bad;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	ctl_err(EXIT_USAGE, cmd, "invalid %s '%s': expected a whole number from %lu to %lu", what,
		s ? s : "", min, max);
	return EXIT_USAGE;
}

int ctl_parse_double(const char *cmd, const char *what, const char *s, double min, double max,
		     double *out)
{
	char *end;
	double v;

	errno = 0;
	if (!s || !*s)
		goto bad;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	ctl_err(EXIT_USAGE, cmd, "invalid %s '%s': expected a number from %g to %g", what,
		s ? s : "", min, max);
	return EXIT_USAGE;
}

json_object *ctl_json_fixed(double v, const char *fmt)
{
	char buf[64];

	snprintf(buf, sizeof(buf), fmt, v);
	return json_object_new_double_s(v, buf);
}

void ctl_print_json(const struct ctl_common *common, json_object *obj)
{
	int flags = common->pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
				   : JSON_C_TO_STRING_PLAIN;

	puts(json_object_to_json_string_ext(obj, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

volatile sig_atomic_t ctl_stop;

static void on_stop(int sig)
{
	(void)sig;
	ctl_stop = 1;
}

void ctl_catch_stop(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void ctl_nap(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	while (!ctl_stop && nanosleep(&ts, &ts) && errno == EINTR)
		;
}
