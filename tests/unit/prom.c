// SPDX-License-Identifier: GPL-2.0
/*
 * The Prometheus writer (dataplane/observe/prom.c), and a checker for the rules of
 * the node_exporter textfile collector that `promtool check metrics` does
 * not check (the tests run promtool for the grammar and the lint: names,
 * escapes, values, _total on counters, HELP):
 *
 *   prom            unit tests; PASS/FAIL lines into $RESULTS (tests/unit/check.h)
 *   prom --check F  check file F ("-" = stdin); exit 0 valid, 1 invalid
 *
 * What promtool 2.42 lets pass and this rejects: timestamps (the textfile
 * collector rejects them), a family whose samples are split by another's,
 * duplicate series, blank lines, negative or NaN counters, samples before
 * their # TYPE. Its parser reads only as much of a line as it needs to
 * find the series and the value.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "dataplane/observe/prom.h"
#include "tests/unit/check.h"

#define MAX_FAMILIES 256
#define MAX_SERIES 8192

struct checker {
	char families[MAX_FAMILIES][128];
	char types[MAX_FAMILIES][16];
	int helped[MAX_FAMILIES];
	int nr_families;
	int current;		/* family whose samples are being read, -1 none */
	char *series[MAX_SERIES];
	int nr_series;
	int samples;
	char why[256];
};

static int bad(struct checker *c, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(c->why, sizeof(c->why), "line %d: ", line);

	va_start(ap, fmt);
	vsnprintf(c->why + n, sizeof(c->why) - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int family_of(struct checker *c, const char *name)
{
	for (int i = 0; i < c->nr_families; i++)
		if (!strcmp(c->families[i], name))
			return i;
	return -1;
}

static const char *take_name(const char *p, char *out, size_t len, int metric)
{
	size_t n = 0;

	if (!(isalpha((unsigned char)*p) || *p == '_' || (metric && *p == ':')))
		return NULL;
	while (isalnum((unsigned char)*p) || *p == '_' || (metric && *p == ':')) {
		if (n + 1 >= len)
			return NULL;
		out[n++] = *p++;
	}
	out[n] = '\0';
	return p;
}

/* Go's ParseFloat accepts more, but these are what a writer should emit. */
static int valid_value(const char *s)
{
	char *end;

	if (!strcmp(s, "NaN") || !strcmp(s, "+Inf") || !strcmp(s, "-Inf"))
		return 1;
	if (!*s || isspace((unsigned char)*s))
		return 0;
	strtod(s, &end);
	return *end == '\0' && !strchr(s, 'x') && !strchr(s, 'X') && !strpbrk(s, "iInN");
}

static int check_comment(struct checker *c, int ln, const char *line)
{
	char name[128], kind[16];
	const char *p;
	int f;

	if (strncmp(line, "# HELP ", 7) && strncmp(line, "# TYPE ", 7))
		return 0;	/* plain comment */
	p = take_name(line + 7, name, sizeof(name), 1);
	if (!p || (*p != ' ' && *p != '\0'))
		return bad(c, ln, "bad metric name in '%s'", line);
	f = family_of(c, name);
	if (f < 0) {
		if (c->nr_families == MAX_FAMILIES)
			return bad(c, ln, "too many families");
		f = c->nr_families++;
		snprintf(c->families[f], sizeof(c->families[f]), "%s", name);
	} else if (c->current != f && (c->types[f][0] || c->helped[f])) {
		return bad(c, ln, "%s announced twice", name);
	}
	if (!strncmp(line, "# HELP ", 7)) {
		c->helped[f] = 1;
	} else {
		if (c->types[f][0])
			return bad(c, ln, "second TYPE for %s", name);
		if (*p != ' ' || sscanf(p + 1, "%15s", kind) != 1 ||
		    (strcmp(kind, "counter") && strcmp(kind, "gauge") && strcmp(kind, "untyped") &&
		     strcmp(kind, "histogram") && strcmp(kind, "summary")) ||
		    strlen(p + 1) != strlen(kind))
			return bad(c, ln, "bad TYPE line '%s'", line);
		snprintf(c->types[f], sizeof(c->types[f]), "%s", kind);
	}
	c->current = f;
	return 0;
}

/* {a="x",b="y"}: returns the character after '}', or NULL. */
static const char *check_labels(struct checker *c, int ln, const char *p)
{
	char names[32][128];
	int n = 0;

	p++;
	while (*p != '}') {
		char label[128];

		p = take_name(p, label, sizeof(label), 0);
		if (!p || !strncmp(label, "__", 2))
			return bad(c, ln, "bad label name"), NULL;
		for (int i = 0; i < n; i++)
			if (!strcmp(names[i], label))
				return bad(c, ln, "label %s twice", label), NULL;
		if (n < 32)
			snprintf(names[n++], sizeof(names[0]), "%s", label);
		if (p[0] != '=' || p[1] != '"')
			return bad(c, ln, "label %s: expected =\"", label), NULL;
		for (p += 2; *p != '"'; p++) {
			if (!*p || *p == '\n')
				return bad(c, ln, "unterminated label value"), NULL;
			if (*p == '\\') {
				if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
					return bad(c, ln, "bad escape in label %s", label), NULL;
				p++;
			}
		}
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return bad(c, ln, "expected , or } after label %s", label), NULL;
	}
	return p + 1;
}

static int check_sample(struct checker *c, int ln, const char *line)
{
	char name[128];
	const char *p = take_name(line, name, sizeof(name), 1), *value;
	int f;

	if (!p)
		return bad(c, ln, "bad metric name in '%s'", line);
	f = family_of(c, name);
	if (f < 0 || !c->types[f][0])
		return bad(c, ln, "sample of %s before its TYPE", name);
	if (f != c->current)
		return bad(c, ln, "samples of %s are not contiguous", name);
	if (*p == '{' && !(p = check_labels(c, ln, p)))
		return -1;
	if (*p != ' ')
		return bad(c, ln, "expected one space before the value");
	value = p + 1;
	if (strchr(value, ' '))
		return bad(c, ln, "timestamp or trailing field in '%s'", line);
	if (!valid_value(value))
		return bad(c, ln, "bad value '%s'", value);
	if (!strcmp(c->types[f], "counter") && (value[0] == '-' || !strcmp(value, "NaN")))
		return bad(c, ln, "counter %s has value %s", name, value);
	for (int i = 0; i < c->nr_series; i++)
		if (!strncmp(c->series[i], line, (size_t)(p - line)) &&
		    c->series[i][p - line] == '\0')
			return bad(c, ln, "duplicate series %.*s", (int)(p - line), line);
	if (c->nr_series < MAX_SERIES)
		c->series[c->nr_series++] = strndup(line, (size_t)(p - line));
	c->samples++;
	return 0;
}

/* 0 valid (c->samples counted), -1 invalid (c->why says where). */
static int check_text(struct checker *c, const char *text)
{
	char *copy = strdup(text), *line, *save = NULL;
	int ln = 0, err = 0;
	size_t len = strlen(text);

	memset(c, 0, sizeof(*c));
	c->current = -1;
	if (len && text[len - 1] != '\n')
		err = bad(c, 0, "no newline at the end");
	for (line = strtok_r(copy, "\n", &save); line && !err; line = strtok_r(NULL, "\n", &save)) {
		ln++;
		if (line[0] == '#')
			err = check_comment(c, ln, line);
		else
			err = check_sample(c, ln, line);
	}
	if (!err && strstr(text, "\n\n"))
		err = bad(c, 0, "blank line");
	for (int i = 0; i < c->nr_series; i++)
		free(c->series[i]);
	free(copy);
	return err;
}

static char *slurp(FILE *f)
{
	size_t cap = 4096, n = 0, r;
	char *buf = malloc(cap);

	while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n < 2) {
			char *p = realloc(buf, cap *= 2);

			if (!p) {
				free(buf);
				return NULL;
			}
			buf = p;
		}
	}
	if (buf)
		buf[n] = '\0';
	return buf;
}

static int check_file(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	struct checker *c = calloc(1, sizeof(*c));
	char *text;
	int err;

	if (!f || !c) {
		fprintf(stderr, "prom --check: %s: %s\n", path, strerror(errno));
		return 2;
	}
	text = slurp(f);
	if (f != stdin)
		fclose(f);
	err = text ? check_text(c, text) : -1;
	if (err)
		fprintf(stderr, "prom --check: %s: %s\n", path, text ? c->why : "out of memory");
	else if (!c->samples)
		fprintf(stderr, "prom --check: %s: no samples\n", path);
	else
		printf("%d families, %d samples\n", c->nr_families, c->samples);
	err = err || !c->samples;
	free(text);
	free(c);
	return err ? 1 : 0;
}

/* ---- unit tests ---------------------------------------------------------- */

static void report(int ok, const char *name, const char *why)
{
	check_report(ok, name, why);
}

/* Run @fn writing into memory, return what it wrote. */
static char *capture(int (*fn)(FILE *), int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	*rc = fn(f);
	fclose(f);
	return buf;
}

static int w_escapes(FILE *f)
{
	int err = sc_prom_header(f, "shardctl_x_total", "counter", "a \\ back\nslash");

	return err ? err : sc_prom_u64(f, "shardctl_x_total",
				       SC_PROM_LABELS({ "device", "we\"ird\\dev\nname" },
						      { "queue", "3" }), 18446744073709551615ULL);
}

static int w_values(FILE *f)
{
	int err = sc_prom_header(f, "shardctl_g", "gauge", "values");

	if (!err)
		err = sc_prom_sample(f, "shardctl_g", SC_PROM_LABELS({ "k", "nan" }), NAN);
	if (!err)
		err = sc_prom_sample(f, "shardctl_g", SC_PROM_LABELS({ "k", "inf" }), INFINITY);
	if (!err)
		err = sc_prom_sample(f, "shardctl_g", SC_PROM_LABELS({ "k", "ninf" }), -INFINITY);
	if (!err)
		err = sc_prom_sample(f, "shardctl_g", SC_PROM_LABELS({ "k", "frac" }), 0.25);
	if (!err)
		err = sc_prom_sample(f, "shardctl_g", SC_PROM_LABELS({ "k", "big" }), 1e300);
	return err;
}

static int w_bad_metric(FILE *f)
{
	return sc_prom_header(f, "9shardctl", "gauge", "x");
}

static int w_bad_label(FILE *f)
{
	return sc_prom_sample(f, "shardctl_g", SC_PROM_LABELS({ "__reserved", "x" }), 1);
}

static int w_bad_type(FILE *f)
{
	return sc_prom_header(f, "shardctl_g", "histogram", "x");
}

static void expect_check(const char *name, const char *text, int want_valid)
{
	struct checker *c = calloc(1, sizeof(*c));
	int valid = c && !check_text(c, text);
	char why[300];

	snprintf(why, sizeof(why), "checker said %s (%s)", valid ? "valid" : "invalid",
		 c ? c->why : "oom");
	report(valid == want_valid, name, why);
	free(c);
}

int main(int argc, char **argv)
{
	char *out;
	int rc;

	if (argc == 3 && !strcmp(argv[1], "--check"))
		return check_file(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: prom [--check FILE]\n");
		return 2;
	}
	if (check_begin("t_unit_prom"))
		return 1;

	out = capture(w_escapes, &rc);
	report(rc == 0 && !strcmp(out, "# HELP shardctl_x_total a \\\\ back\\nslash\n"
				       "# TYPE shardctl_x_total counter\n"
				       "shardctl_x_total{device=\"we\\\"ird\\\\dev\\nname\",queue=\"3\"} "
				       "18446744073709551615\n"),
	       "writer escapes HELP and label values, u64 exact", out);
	expect_check("checker accepts the escaped output", out, 1);
	free(out);

	out = capture(w_values, &rc);
	report(rc == 0 && strstr(out, "{k=\"nan\"} NaN\n") && strstr(out, "{k=\"inf\"} +Inf\n") &&
		       strstr(out, "{k=\"ninf\"} -Inf\n") && strstr(out, "{k=\"frac\"} 0.25\n") &&
		       strstr(out, "{k=\"big\"} 1e+300\n"),
	       "writer spells NaN, +Inf, -Inf, fractions, large values", out);
	expect_check("checker accepts them", out, 1);
	free(out);

	out = capture(w_bad_metric, &rc);
	report(rc == -EINVAL && !*out, "writer refuses a metric name starting with a digit", out);
	free(out);
	out = capture(w_bad_label, &rc);
	report(rc == -EINVAL && !*out, "writer refuses a reserved __ label name", out);
	free(out);
	out = capture(w_bad_type, &rc);
	report(rc == -EINVAL && !*out, "writer refuses a type it cannot write", out);
	free(out);

	/* The checker must reject what it is there to catch. */
	expect_check("checker: sample before TYPE", "a 1\n", 0);
	expect_check("checker: timestamp", "# TYPE a gauge\na 1 1700000000\n", 0);
	expect_check("checker: family split",
		     "# TYPE a gauge\na{x=\"1\"} 1\n# TYPE b gauge\nb 1\na{x=\"2\"} 1\n", 0);
	expect_check("checker: duplicate series", "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n", 0);
	expect_check("checker: blank line", "# TYPE a gauge\na 1\n\n", 0);
	expect_check("checker: negative counter", "# TYPE a_total counter\na_total -1\n", 0);
	expect_check("checker: valid file", "# HELP a_total h\n# TYPE a_total counter\n"
					    "a_total{x=\"1\",y=\"\\\"\"} 3\na_total 4\n", 1);
	return check_end();
}
