// SPDX-License-Identifier: GPL-2.0
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/kernel/error.h"
#include "dataplane/kernel/fault.h"

int sc_fault(const char *fmt, ...)
{
	const char *fail = getenv("SHARDCTL_FAIL_AT"), *pause = getenv("SHARDCTL_PAUSE_AT");
	char point[64];
	va_list ap;

	if (!fail && !pause)
		return 0;
	va_start(ap, fmt);
	vsnprintf(point, sizeof(point), fmt, ap);
	va_end(ap);
	if (pause && !strcmp(pause, point)) {
		fprintf(stderr, "paused at %s\n", point);
		fflush(stderr);
		raise(SIGSTOP);
	}
	if (fail && !strcmp(fail, point))
		return sc_errf(EIO, "injected failure at %s", point);
	return 0;
}
