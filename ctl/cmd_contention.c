// SPDX-License-Identifier: GPL-2.0
/*
 * shardctl contention DEV: how much CPU time goes to spinning on qdisc
 * locks over one window, with DEV's qdisc, softnet and tx counters.
 */
#include <stdlib.h>

#include "ctl/contention_view.h"
#include "ctl/ctl.h"
#include "dataplane/observe/contention.h"

enum { OPT_NO_LOCK_EVENTS = 256 };

static const struct ctl_opt contention_opts[] = {
	{ "duration", 'd', "S", "window length in seconds (default 5)" },
	{ "frequency", 'F', "HZ", "samples per second per CPU (default 499; 0: counters only)" },
	{ "top", 't', "N", "stacks and locks to list (default 5)" },
	{ "no-lock-events", OPT_NO_LOCK_EVENTS, NULL, "skip the lock:contention_begin/end wait totals" },
	{ 0 },
};

struct contention_args {
	double duration;
	unsigned long frequency, top;
	bool no_lock_events;
};

static int contention_opt(int key, const char *arg, void *priv)
{
	struct contention_args *a = priv;

	switch (key) {
	case 'd':
		return ctl_parse_double("contention", "duration", arg, 0.1, 3600, &a->duration);
	case 'F':
		return ctl_parse_uint("contention", "frequency", arg, 0, 10000, &a->frequency);
	case 't':
		return ctl_parse_uint("contention", "top", arg, 0, 100, &a->top);
	case OPT_NO_LOCK_EVENTS:
		a->no_lock_events = true;
		return 0;
	}
	return EXIT_USAGE;
}

static int contention_run(int argc, char **argv)
{
	struct contention_args a = { .duration = SC_CONT_DEFAULT_SECONDS,
				     .frequency = SC_CONT_DEFAULT_HZ, .top = SC_CONT_DEFAULT_TOP };
	struct sc_contention_opts o = { 0 };
	struct sc_contention_report r;
	struct ctl_common c;
	int i, err;

	i = ctl_parse(&cmd_contention, argc, argv, &c, contention_opt, &a);
	if (i < 0)
		return EXIT_USAGE;
	if (c.help)
		return EXIT_OK;
	if (argc - i != 1)
		return ctl_err(EXIT_USAGE, "contention", "expected one device, got %d arguments",
			       argc - i);
	o.dev = argv[i];
	o.duration_s = a.duration;
	o.frequency = a.frequency;
	o.top = a.top;
	o.no_lock_events = a.no_lock_events;
	o.progress = cv_progress;
	o.priv = (void *)o.dev;
	err = sc_contention_measure(&o, &r);
	cv_progress_done();
	if (err)
		return ctl_fail("contention");
	if (c.json)
		ctl_print_json(&c, cv_report_json(&r));
	else
		cv_print_report(&r);
	sc_contention_report_free(&r);
	return EXIT_OK;
}

const struct ctl_cmd cmd_contention = {
	.name = "contention",
	.usage_args = "DEV",
	.summary = "CPU time spent spinning on qdisc locks, with qdisc, softnet and tx counters.",
	.description =
		"Samples kernel stacks on every CPU (cpu-clock perf events, BPF, counted in\n"
		"the kernel) and counts those in the queued-spinlock slow path under\n"
		"__dev_queue_xmit/sch_direct_xmit: the share of CPU time spinning on qdisc\n"
		"locks. lock:contention_begin/end add wait totals where the kernel has\n"
		"them; they see queued waiters only (3+ CPUs on one lock with native\n"
		"spinlocks, 2+ with paravirt ones). DEV's qdisc counters,\n"
		"/proc/net/softnet_stat and DEV's tx counters are deltas over the window.",
	.opts = contention_opts,
	.run = contention_run,
};
