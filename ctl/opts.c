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
#include "dataplane/shard/qspec.h"

#define MAX_OPTS 48
/* getopt values of long-only rows: above every short letter. */
#define LONG_KEY 256

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

		if (o->key)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->key, o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		fprintf(f, "  %-28s %s\n", left, o->help);
	}
}

/* The synopsis from the positional table: DEV, [DEV], DEV..., DEV RXQ SHARD. */
static void synopsis(char *buf, size_t len, const struct ctl_opt *a)
{
	size_t n = 0;

	buf[0] = '\0';
	for (; a && a->arg && n < len; a++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s%s%s%s", n ? " " : "",
				      a->min_count ? "" : "[", a->arg,
				      a->max_count > 1 ? "..." : "", a->min_count ? "" : "]");
}

void ctl_usage(FILE *f, const struct ctl_cmd *cmd)
{
	char args[128];

	synopsis(args, sizeof(args), cmd->args);
	fprintf(f, "Usage: shardctl %s [OPTIONS]%s%s\n\n%s\n", cmd->name, *args ? " " : "", args,
		cmd->summary);
	if (cmd->description)
		fprintf(f, "%s\n", cmd->description);
	fprintf(f, "\nOptions:\n");
	for (const struct ctl_opt *const *t = cmd->opts; t && *t; t++)
		usage_opts(f, *t);
	usage_opts(f, common_opts);
	fprintf(f, "\nExit status: 0 success, 1 failure, 2 usage error.\n");
}

/* Strict: the whole string, in [min, max]; no sign, space or base prefix. */
static int parse_uint(const char *cmd, const char *what, const char *s, unsigned long min,
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

static int parse_double(const char *cmd, const char *what, const char *s, double min,
			double max, double *out)
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

static void store_uint(void *p, size_t size, unsigned long v)
{
	unsigned int u = (unsigned int)v;

	/* The bounds keep v within the field: the table asks for no more. */
	if (size == sizeof(u))
		memcpy(p, &u, size);
	else
		memcpy(p, &v, sizeof(v));
}

/*
 * One value (@s, NULL for a flag) of row @o into @args, by its type; @what
 * names it in the error ("--tx-queues", "rx queue"). 0 or EXIT_USAGE.
 */
static int ctl_parse_value(const char *cmd, const struct ctl_opt *o, const char *what, const char *s,
		    void *args)
{
	char *field = (char *)args + o->off;
	struct sc_qspec q;
	unsigned long u;
	double d;
	int e;

	switch (o->type) {
	case CTL_FLAG:
		*(bool *)field = true;
		break;
	case CTL_UINT:
		if (parse_uint(cmd, what, s, (unsigned long)o->min, (unsigned long)o->max, &u))
			return EXIT_USAGE;
		store_uint(field, o->size, u);
		break;
	case CTL_DOUBLE:
		if (parse_double(cmd, what, s, o->min, o->max, &d))
			return EXIT_USAGE;
		*(double *)field = d;
		break;
	case CTL_ENUM:
		if (o->parse(s, &e))
			return ctl_err(EXIT_USAGE, cmd, "%s", sc_last_error());
		memcpy(field, &e, sizeof(e));
		break;
	case CTL_QSPEC:
	case CTL_STRING:
		/* Parsed now too, so that a bad spec is a usage error before anything changes. */
		if (o->type == CTL_QSPEC && sc_qspec_parse(s, &q))
			return ctl_err(EXIT_USAGE, cmd, "%s", sc_last_error());
		*(const char **)field = s;
		break;
	case CTL_STRV:
		break;
	}
	return o->validate ? o->validate(cmd, s) : 0;
}

/*
 * One wording for a wrong count of positionals: what is missing or extra,
 * then what the command takes ("one device", "DEV RXQ SHARD").
 */
static int check_count(const struct ctl_cmd *cmd, int n, char **argv)
{
	const struct ctl_opt *a = cmd->args, *missing = NULL;
	unsigned int min = 0, max = 0;
	char want[128];

	for (; a && a->arg; a++) {
		if (!missing && (unsigned int)n < min + a->min_count)
			missing = a;
		min += a->min_count;
		max += a->max_count;
	}
	if ((unsigned int)n >= min && (unsigned int)n <= max)
		return 0;
	a = cmd->args;
	if (!max)
		snprintf(want, sizeof(want), "no arguments");
	else if (a[1].arg)
		synopsis(want, sizeof(want), a);
	else if (max == 1)
		snprintf(want, sizeof(want), "%s %s", min ? "one" : "at most one", a->name);
	else
		snprintf(want, sizeof(want), "%u to %u %ss", min, max, a->name);
	if (missing)
		return ctl_err(EXIT_USAGE, cmd->name, "missing %s (expected %s, got %d argument%s)",
			       missing->name, want, n, n == 1 ? "" : "s");
	return ctl_err(EXIT_USAGE, cmd->name,
		       "unexpected argument '%s' (expected %s, got %d argument%s)", argv[max], want,
		       n, n == 1 ? "" : "s");
}

/* Positionals in order; an optional or repeated one takes what is left. */
static int parse_positionals(const struct ctl_cmd *cmd, int n, char **argv, void *args)
{
	const struct ctl_opt *a = cmd->args;
	int i = 0;

	if (check_count(cmd, n, argv))
		return EXIT_USAGE;
	for (; a && a->arg && i < n; a++) {
		if (a->type == CTL_STRV) {
			struct ctl_strv *v = (struct ctl_strv *)((char *)args + a->off);

			v->v = argv + i;
			v->n = (unsigned int)(n - i);
			i = n;
		} else if (ctl_parse_value(cmd->name, a, a->name, argv[i++], args)) {
			return EXIT_USAGE;
		}
	}
	return 0;
}

static int add_opts(struct option *lo, int n, char *shorts, size_t *sn,
		    const struct ctl_opt **rows, const struct ctl_opt *o)
{
	for (; o && o->name && n < MAX_OPTS; o++, n++) {
		int key = o->key ? o->key : LONG_KEY + n;

		rows[n] = o;
		lo[n] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL, key };
		if (o->key) {
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
	      void *args)
{
	struct option lo[MAX_OPTS + 1] = { 0 };
	const struct ctl_opt *rows[MAX_OPTS] = { 0 };
	char shorts[2 * MAX_OPTS + 2], what[64];
	size_t sn = 0;
	int n = 0, c;

	/* GNU getopt permutes, so options may follow positionals (`setup eth0 -j`). */
	for (const struct ctl_opt *const *t = cmd->opts; t && *t; t++)
		n = add_opts(lo, n, shorts, &sn, rows, *t);
	add_opts(lo, n, shorts, &sn, rows, common_opts);
	shorts[sn] = '\0';
	memset(common, 0, sizeof(*common));
	scan_json(argc, argv);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		const struct ctl_opt *o = NULL;

		switch (c) {
		case 'j':
			common->json = true;
			continue;
		case 'p':
			common->json = common->pretty = true;
			continue;
		case 'v':
			sc_log_set_verbosity(++common->verbose);
			continue;
		case 'h':
			common->help = true;
			return argc;
		case '?':
			if (optopt && optopt < LONG_KEY)
				ctl_err(EXIT_USAGE, cmd->name, "unknown option '-%c' or missing argument",
					optopt);
			else
				ctl_err(EXIT_USAGE, cmd->name,
					"unknown option or missing argument: '%s'", argv[optind - 1]);
			fprintf(stderr, "Try 'shardctl %s --help'.\n", cmd->name);
			return -1;
		}
		if (c >= LONG_KEY)
			o = rows[c - LONG_KEY];
		for (int k = 0; !o && k < n; k++)
			if (rows[k]->key == c)
				o = rows[k];
		snprintf(what, sizeof(what), "--%s", o->name);
		if (ctl_parse_value(cmd->name, o, what, optarg, args)) {
			fprintf(stderr, "Try 'shardctl %s --help'.\n", cmd->name);
			return -1;
		}
	}
	if (parse_positionals(cmd, argc - optind, argv + optind, args))
		return -1;
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

int ctl_sample_loop(double interval, unsigned long count, int (*sample)(void *priv, bool last),
		    void *priv)
{
	int rc = EXIT_OK;

	for (unsigned long i = 0; rc == EXIT_OK && !ctl_stop && (!count || i < count); i++) {
		ctl_nap(interval);
		rc = sample(priv, ctl_stop || i + 1 == count);
	}
	return rc;
}
