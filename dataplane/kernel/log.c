// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>

#include "dataplane/kernel/log.h"

static int verbosity;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (verbosity < 1 || (level == LIBBPF_DEBUG && verbosity < 2))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void sc_log_set_verbosity(int level)
{
	verbosity = level;
	libbpf_set_print(libbpf_print);
}
