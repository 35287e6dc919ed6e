// SPDX-License-Identifier: GPL-2.0
/*
 * shardctl contention DEV: how much CPU time goes to spinning on qdisc
 * locks over one window, with DEV's qdisc, softnet and tx counters.
 */
#include "ctl/contention_view.h"
#include "ctl/ctl.h"
#include "dataplane/observe/contention.h"

/* Rows mq measures with too: its args struct starts with a struct sc_contention_opts. */
const struct ctl_opt ctl_measure_opts[] = {
	{ "duration", 'd', "S", "length of each window in seconds (default 5)",
	  CTL_DOUBLE, CTL_FIELD(struct sc_contention_opts, duration_s), .min = 0.1, .max = 3600 },
	{ "frequency", 'F', "HZ", "samples per second per CPU (default 499; 0: counters only)",
	  CTL_UINT, CTL_FIELD(struct sc_contention_opts, frequency), .min = 0, .max = 10000 },
	{ "no-lock-events", 0, NULL, "skip the lock:contention_begin/end wait totals",
	  CTL_FLAG, CTL_FIELD(struct sc_contention_opts, no_lock_events) },
	{ 0 },
};

static const struct ctl_opt contention_opts[] = {
	{ "top", 't', "N", "stacks and locks to list (default 5)",
	  CTL_UINT, CTL_FIELD(struct sc_contention_opts, top), .min = 0, .max = 100 },
	{ 0 },
};

static const struct ctl_opt contention_pos[] = {
	{ "device", .arg = "DEV", .type = CTL_STRING, CTL_FIELD(struct sc_contention_opts, dev),
	  .min_count = 1, .max_count = 1 },
	{ 0 },
};

static const struct sc_contention_opts contention_defaults = {
	.duration_s = SC_CONT_DEFAULT_SECONDS,
	.frequency = SC_CONT_DEFAULT_HZ,
	.top = SC_CONT_DEFAULT_TOP,
};

static int contention_run(const struct ctl_common *c, void *args)
{
	struct sc_contention_opts *o = args;
	struct sc_contention_report r;
	int err;

	o->wait = cv_wait;
	o->priv = (void *)o->dev;
	/* ^C ends the window early; what was measured until then is reported. */
	ctl_catch_stop();
	err = sc_contention_measure(o, &r);
	cv_progress_done();
	if (err)
		return ctl_fail("contention");
	if (c->json)
		ctl_print_json(c, cv_report_json(&r));
	else
		cv_print_report(&r);
	sc_contention_report_free(&r);
	return EXIT_OK;
}

const struct ctl_cmd cmd_contention = {
	.name = "contention",
	.summary = "CPU time spent spinning on qdisc locks, with qdisc, softnet and tx counters.",
	.description =
		"Samples kernel stacks on every CPU (cpu-clock perf events, BPF, counted in\n"
		"the kernel) and counts those in the queued-spinlock slow path under\n"
		"__dev_queue_xmit/sch_direct_xmit: the share of CPU time spinning on qdisc\n"
		"locks. lock:contention_begin/end add wait totals where the kernel has\n"
		"them; they see queued waiters only (3+ CPUs on one lock with native\n"
		"spinlocks, 2+ with paravirt ones). DEV's qdisc counters,\n"
		"/proc/net/softnet_stat and DEV's tx counters are deltas over the window.\n"
		"From the same stacks: how long a qdisc root lock is held per frame (in a\n"
		"qdisc's enqueue/dequeue or __qdisc_run, not spinning, not in the driver\n"
		"transmit), its utilisation, and the ceiling 1 / hold time that one lock\n"
		"cannot pass on any number of cores (an upper bound: see README).\n"
		"^C ends the window early; the report covers what was measured.",
	.opts = CTL_TABLES(ctl_measure_opts, contention_opts),
	.args = contention_pos,
	.args_size = sizeof(struct sc_contention_opts),
	.defaults = &contention_defaults,
	.run = contention_run,
};
