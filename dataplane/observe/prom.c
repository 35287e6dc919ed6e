// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "dataplane/kernel/error.h"
#include "dataplane/observe/prom.h"

static int is_alpha_(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
static int sc_prom_valid_metric_name(const char *name)
{
	if (!name || !(is_alpha_(*name) || *name == ':'))
		return 0;
	for (name++; *name; name++)
		if (!is_alpha_(*name) && !is_digit(*name) && *name != ':')
			return 0;
	return 1;
}

/* [a-zA-Z_][a-zA-Z0-9_]*, and names starting with "__" are reserved. */
static int sc_prom_valid_label_name(const char *name)
{
	if (!name || !is_alpha_(*name) || !strncmp(name, "__", 2))
		return 0;
	for (name++; *name; name++)
		if (!is_alpha_(*name) && !is_digit(*name))
			return 0;
	return 1;
}

/* HELP escapes backslash and newline; label values also the double quote. */
static void put_escaped(FILE *f, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (quote && *s == '"')
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

int sc_prom_header(FILE *f, const char *name, const char *type, const char *help)
{
	if (!sc_prom_valid_metric_name(name))
		return sc_errf(EINVAL, "prometheus: invalid metric name '%s'", name ? name : "");
	if (!type || (strcmp(type, "counter") && strcmp(type, "gauge") && strcmp(type, "untyped")))
		return sc_errf(EINVAL, "prometheus: %s: unsupported type '%s'", name,
			       type ? type : "");
	fprintf(f, "# HELP %s ", name);
	put_escaped(f, help ? help : "", 0);
	fprintf(f, "\n# TYPE %s %s\n", name, type);
	return ferror(f) ? sc_errf(EIO, "prometheus: %s: write failed", name) : 0;
}

static int put_name_labels(FILE *f, const char *name, const struct sc_prom_label *labels,
			   unsigned int n)
{
	unsigned int i;

	if (!sc_prom_valid_metric_name(name))
		return sc_errf(EINVAL, "prometheus: invalid metric name '%s'", name ? name : "");
	for (i = 0; i < n; i++)
		if (!sc_prom_valid_label_name(labels[i].name) || !labels[i].value)
			return sc_errf(EINVAL, "prometheus: %s: invalid label '%s'", name,
				       labels[i].name ? labels[i].name : "");
	fputs(name, f);
	if (!n)
		return 0;
	fputc('{', f);
	for (i = 0; i < n; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "", labels[i].name);
		put_escaped(f, labels[i].value, 1);
		fputc('"', f);
	}
	fputc('}', f);
	return 0;
}

int sc_prom_sample(FILE *f, const char *name, const struct sc_prom_label *labels,
		   unsigned int nr_labels, double value)
{
	int err = put_name_labels(f, name, labels, nr_labels);

	if (err)
		return err;
	if (isnan(value))
		fputs(" NaN\n", f);
	else if (isinf(value))
		fputs(value > 0 ? " +Inf\n" : " -Inf\n", f);
	else if (value == floor(value) && fabs(value) < 9007199254740992.0)
		fprintf(f, " %.0f\n", value);
	else
		fprintf(f, " %.15g\n", value);
	return ferror(f) ? sc_errf(EIO, "prometheus: %s: write failed", name) : 0;
}

int sc_prom_u64(FILE *f, const char *name, const struct sc_prom_label *labels,
		unsigned int nr_labels, uint64_t value)
{
	int err = put_name_labels(f, name, labels, nr_labels);

	if (err)
		return err;
	fprintf(f, " %" PRIu64 "\n", value);
	return ferror(f) ? sc_errf(EIO, "prometheus: %s: write failed", name) : 0;
}
