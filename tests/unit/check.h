/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one reporter of the unit tests (the .c files of tests/unit), in tests/lib.sh's
 * format, so tests/run and the shell tests count them the same way:
 *
 *   - each assertion is one line "PASS SUITE: name" or "FAIL SUITE: name: why"
 *     appended to $RESULTS (when set), and shown on stdout as "  ok   name" /
 *     "  FAIL name: why" like lib.sh's pass/fail; without $RESULTS the
 *     PASS/FAIL lines themselves go to stdout;
 *   - check_end() prints "N passed, N failed" last on stdout and gives the
 *     exit status (0 only when nothing failed).
 *
 *	int main(void)
 *	{
 *		if (check_begin("kallsyms"))
 *			return 1;
 *		check(x == 1, "x is one", "x is %d", x);
 *		return check_end();
 *	}
 *
 * Include it once, from the test's own .c file (everything here is static).
 */
#ifndef SC_TESTS_UNIT_CHECK_H
#define SC_TESTS_UNIT_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static FILE *check_results;	/* $RESULTS, or NULL: the PASS/FAIL lines go to stdout */
static const char *check_suite;
static int check_passed, check_failed;

/* check_begin SUITE: open $RESULTS for appending; -1 when it is set but cannot be opened. */
static __attribute__((unused)) int check_begin(const char *suite)
{
	const char *path = getenv("RESULTS");

	check_suite = suite;
	check_results = NULL;
	if (path && *path) {
		check_results = fopen(path, "a");
		if (!check_results) {
			perror(path);
			return -1;
		}
	}
	return 0;
}

/* check_report OK NAME WHY: record one outcome; WHY is printed only for a failure. */
static __attribute__((unused)) void check_report(int ok, const char *name, const char *why)
{
	const char *sep = ok ? "" : ": ";

	why = ok || !why ? "" : why;
	if (check_results) {
		fprintf(check_results, "%s %s: %s%s%s\n", ok ? "PASS" : "FAIL", check_suite, name, sep, why);
		fflush(check_results);
		printf("  %s %s%s%s\n", ok ? "ok  " : "FAIL", name, sep, why);
	} else {
		printf("%s %s: %s%s%s\n", ok ? "PASS" : "FAIL", check_suite, name, sep, why);
	}
	if (ok)
		check_passed++;
	else
		check_failed++;
}

/* check OK NAME FMT...: check_report with a printf-style WHY. */
static __attribute__((unused, format(printf, 3, 4))) void check(int ok, const char *name,
								const char *fmt, ...)
{
	char why[512] = "";
	va_list ap;

	if (!ok) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	check_report(ok, name, why);
}

/* check_end: "N passed, N failed" last on stdout; the exit status for main. */
static __attribute__((unused)) int check_end(void)
{
	if (check_results)
		fclose(check_results);
	check_results = NULL;
	printf("%d passed, %d failed\n", check_passed, check_failed);
	fflush(stdout);
	return check_failed ? 1 : 0;
}

#endif
