// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "dataplane/kernel/error.h"

static _Thread_local char errbuf[1024];

int sc_errf(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return err > 0 ? -err : (err ? err : -EINVAL);
}

int sc_err_wrap(int err, const char *fmt, ...)
{
	char prefix[512], old[sizeof(errbuf)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, errbuf, sizeof(old));
	if (old[0])
		snprintf(errbuf, sizeof(errbuf), "%s: %s", prefix, old);
	else
		snprintf(errbuf, sizeof(errbuf), "%s: %s", prefix, strerror(abs(err)));
	return err > 0 ? -err : (err ? err : -EINVAL);
}

const char *sc_last_error(void)
{
	return errbuf[0] ? errbuf : "unknown error";
}

void sc_clear_error(void)
{
	errbuf[0] = '\0';
}
