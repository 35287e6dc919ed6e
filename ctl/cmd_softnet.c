// SPDX-License-Identifier: GPL-2.0
/*
 * shardctl softnet: per-CPU receive softirq health from
 * /proc/net/softnet_stat deltas, with the net.core knobs and advice.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "dataplane/kernel/error.h"
#include "dataplane/observe/prom.h"
#include "dataplane/observe/softnet_watch.h"
#include "dataplane/kernel/sysctl.h"

#define MAX_ADVICE 4

struct softnet_args {
	double interval;
	unsigned long count;	/* 0: not given (the bound starts at 1) */
	bool prometheus;
};

static const struct ctl_opt softnet_opts[] = {
	{ "interval", 'i', "S", "seconds per sample (default 1)",
	  CTL_DOUBLE, CTL_FIELD(struct softnet_args, interval), .min = 0.01, .max = 3600 },
	{ "count", 'c', "N", "samples to print (default: until ^C; 1 with -j/--prometheus)",
	  CTL_UINT, CTL_FIELD(struct softnet_args, count), .min = 1, .max = 1000000000 },
	{ "prometheus", 0, NULL, "print the last sample in Prometheus text format",
	  CTL_FLAG, CTL_FIELD(struct softnet_args, prometheus) },
	{ 0 },
};

static const struct softnet_args softnet_defaults = { .interval = 1.0 };

static void print_table(const struct sc_softnet_report *r, const struct sc_netcore *nc,
			const struct sc_softnet_advice *adv, int nadv)
{
	printf("%-5s %12s %10s %10s %10s %10s %8s   interval %.2f s\n", "CPU", "PROCESSED/s",
	       "DROPPED/s", "SQUEEZE/s", "RPS/s", "FLOWLIM/s", "BACKLOG", r->interval_s);
	for (unsigned int i = 0; i < r->nr_cpus; i++) {
		const struct sc_softnet_rate *c = &r->cpus[i];

		printf("%-5u %12.0f %10.0f %10.0f %10.0f %10.0f %8llu%s\n", c->cpu, c->processed,
		       c->dropped, c->time_squeeze, c->received_rps, c->flow_limit,
		       (unsigned long long)c->delta.backlog_len,
		       c->squeeze_rising ? "   RISING" : "");
	}
	if (r->interval_s > 0)
		printf("%-5s %12.0f %10.0f %10.0f %10.0f %10.0f %8llu\n", "all",
		       r->sum.processed / r->interval_s, r->sum.dropped / r->interval_s,
		       r->sum.time_squeeze / r->interval_s, r->sum.received_rps / r->interval_s,
		       r->sum.flow_limit / r->interval_s, (unsigned long long)r->sum.backlog_len);
	if (nc->known)
		printf("net.core: netdev_budget=%lld netdev_budget_usecs=%lld "
		       "netdev_max_backlog=%lld dev_weight=%lld\n",
		       nc->netdev_budget, nc->netdev_budget_usecs, nc->netdev_max_backlog,
		       nc->dev_weight);
	else
		printf("net.core: not readable from this network namespace\n");
	for (int i = 0; i < nadv; i++)
		printf("%s: %s\n", adv[i].act ? "ACTION" : "note", adv[i].text);
	putchar('\n');
	fflush(stdout);
}

static json_object *json_cpu(const struct sc_softnet_rate *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "cpu", json_object_new_int((int)c->cpu));
	json_object_object_add(o, "processed", json_object_new_uint64(c->delta.processed));
	json_object_object_add(o, "dropped", json_object_new_uint64(c->delta.dropped));
	json_object_object_add(o, "time_squeeze", json_object_new_uint64(c->delta.time_squeeze));
	json_object_object_add(o, "received_rps", json_object_new_uint64(c->delta.received_rps));
	json_object_object_add(o, "flow_limit", json_object_new_uint64(c->delta.flow_limit));
	json_object_object_add(o, "backlog_len", json_object_new_uint64(c->delta.backlog_len));
	json_object_object_add(o, "processed_per_s", ctl_json_fixed(c->processed, "%.3f"));
	json_object_object_add(o, "dropped_per_s", ctl_json_fixed(c->dropped, "%.3f"));
	json_object_object_add(o, "time_squeeze_per_s", ctl_json_fixed(c->time_squeeze, "%.3f"));
	json_object_object_add(o, "received_rps_per_s", ctl_json_fixed(c->received_rps, "%.3f"));
	json_object_object_add(o, "flow_limit_per_s", ctl_json_fixed(c->flow_limit, "%.3f"));
	json_object_object_add(o, "squeeze_streak", json_object_new_int((int)c->squeeze_streak));
	json_object_object_add(o, "squeeze_rising", json_object_new_boolean(c->squeeze_rising));
	return o;
}

static json_object *json_sysctl(const struct sc_netcore *nc)
{
	json_object *o;

	if (!nc->known)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "netdev_budget", json_object_new_int64(nc->netdev_budget));
	json_object_object_add(o, "netdev_budget_usecs",
			       json_object_new_int64(nc->netdev_budget_usecs));
	json_object_object_add(o, "netdev_max_backlog",
			       json_object_new_int64(nc->netdev_max_backlog));
	json_object_object_add(o, "dev_weight", json_object_new_int64(nc->dev_weight));
	return o;
}

static void print_json(const struct ctl_common *common, const struct sc_softnet_report *r,
		       const struct sc_netcore *nc, const struct sc_softnet_advice *adv, int nadv)
{
	json_object *o = json_object_new_object(), *cpus = json_object_new_array();
	json_object *sum = json_object_new_object(), *advice = json_object_new_array();

	json_object_object_add(o, "interval_s", ctl_json_fixed(r->interval_s, "%.3f"));
	for (unsigned int i = 0; i < r->nr_cpus; i++)
		json_object_array_add(cpus, json_cpu(&r->cpus[i]));
	json_object_object_add(o, "cpus", cpus);
	json_object_object_add(sum, "processed", json_object_new_uint64(r->sum.processed));
	json_object_object_add(sum, "dropped", json_object_new_uint64(r->sum.dropped));
	json_object_object_add(sum, "time_squeeze", json_object_new_uint64(r->sum.time_squeeze));
	json_object_object_add(sum, "received_rps", json_object_new_uint64(r->sum.received_rps));
	json_object_object_add(sum, "flow_limit", json_object_new_uint64(r->sum.flow_limit));
	json_object_object_add(o, "total", sum);
	json_object_object_add(o, "sysctl", json_sysctl(nc));
	for (int i = 0; i < nadv; i++) {
		json_object *a = json_object_new_object();

		json_object_object_add(a, "kind",
				       json_object_new_string(sc_softnet_advice_name(adv[i].kind)));
		json_object_object_add(a, "act", json_object_new_boolean(adv[i].act));
		json_object_object_add(a, "cpus", json_object_new_string(adv[i].cpus));
		json_object_object_add(a, "text", json_object_new_string(adv[i].text));
		json_object_array_add(advice, a);
	}
	json_object_object_add(o, "advice", advice);
	ctl_print_json(common, o);
	fflush(stdout);
}

/*
 * softnet_stat is a counter since boot, so only counters are exported: the
 * rates are what PromQL's rate() computes from them, over any window.
 */
enum prom_field { P_PROCESSED, P_DROPPED, P_SQUEEZE, P_RPS, P_FLOWLIM, P_BACKLOG, P_RISING };

static const struct {
	const char *name, *type, *help;
} prom_families[] = {
	[P_PROCESSED] = { "shardctl_softnet_processed_total", "counter",
			  "Frames processed by the receive softirq (softnet_stat col 1, 32-bit, wraps)." },
	[P_DROPPED] = { "shardctl_softnet_dropped_total", "counter",
			"Frames dropped because the backlog passed netdev_max_backlog (col 2)." },
	[P_SQUEEZE] = { "shardctl_softnet_time_squeeze_total", "counter",
			"Times net_rx_action ran out of budget with work left (col 3)." },
	[P_RPS] = { "shardctl_softnet_received_rps_total", "counter",
		    "Frames steered to this CPU by RPS (col 10)." },
	[P_FLOWLIM] = { "shardctl_softnet_flow_limit_total", "counter",
			"Frames dropped by the flow limit (col 11)." },
	[P_BACKLOG] = { "shardctl_softnet_backlog_packets", "gauge",
			"Frames in this CPU's backlog queue now (col 12)." },
	[P_RISING] = { "shardctl_softnet_squeeze_rising", "gauge",
		       "1 when time_squeeze rose in 2 or more intervals in a row." },
};

static int prom_cpu_family(const struct sc_softnet_report *r, enum prom_field f)
{
	int err = sc_prom_header(stdout, prom_families[f].name, prom_families[f].type,
				 prom_families[f].help);

	for (unsigned int i = 0; i < r->nr_cpus && !err; i++) {
		const struct sc_softnet_rate *c = &r->cpus[i];
		const char *n = prom_families[f].name;
		char cpu[16];

		snprintf(cpu, sizeof(cpu), "%u", c->cpu);
		const struct sc_prom_label l[] = { { "cpu", cpu } };
		switch (f) {
		case P_PROCESSED:
			err = sc_prom_u64(stdout, n, l, 1, c->now.processed);
			break;
		case P_DROPPED:
			err = sc_prom_u64(stdout, n, l, 1, c->now.dropped);
			break;
		case P_SQUEEZE:
			err = sc_prom_u64(stdout, n, l, 1, c->now.time_squeeze);
			break;
		case P_RPS:
			err = sc_prom_u64(stdout, n, l, 1, c->now.received_rps);
			break;
		case P_FLOWLIM:
			err = sc_prom_u64(stdout, n, l, 1, c->now.flow_limit);
			break;
		case P_BACKLOG:
			err = sc_prom_u64(stdout, n, l, 1, c->now.backlog_len);
			break;
		case P_RISING:
			err = sc_prom_sample(stdout, n, l, 1, c->squeeze_rising);
			break;
		}
	}
	return err;
}

static int prom_gauge(const char *name, const char *help, double v)
{
	int err = sc_prom_header(stdout, name, "gauge", help);

	return err ? err : sc_prom_sample(stdout, name, SC_PROM_NO_LABELS, v);
}

static int print_prom(const struct sc_softnet_report *r, const struct sc_netcore *nc)
{
	int err = 0;

	for (int f = P_PROCESSED; f <= P_RISING && !err; f++)
		err = prom_cpu_family(r, f);
	if (!err && nc->known) {
		err = prom_gauge("shardctl_netdev_budget_packets",
				 "net.core.netdev_budget: packets per net_rx_action run.",
				 (double)nc->netdev_budget);
		if (!err)
			err = prom_gauge("shardctl_netdev_budget_seconds",
					 "net.core.netdev_budget_usecs in seconds.",
					 nc->netdev_budget_usecs / 1e6);
		if (!err)
			err = prom_gauge("shardctl_netdev_max_backlog_packets",
					 "net.core.netdev_max_backlog: per-CPU backlog limit.",
					 (double)nc->netdev_max_backlog);
	}
	fflush(stdout);
	return err;
}

static int run_loop(const struct softnet_args *a, const struct ctl_common *c)
{
	struct sc_softnet_advice adv[MAX_ADVICE];
	struct sc_softnet_watch *w;
	struct sc_softnet_report r;
	struct sc_netcore nc;
	int rc = EXIT_OK, nadv;

	if (sc_netcore_read(&nc) || sc_softnet_watch_open(NULL, &w))
		return ctl_fail("softnet");
	/* Scripts wait for this line: the baseline is taken. */
	fprintf(stderr, "shardctl softnet: sampling every %g s; ^C prints the current sample and stops\n",
		a->interval);
	for (unsigned long i = 0; !ctl_stop && (!a->count || i < a->count); i++) {
		ctl_nap(a->interval);
		if (sc_softnet_watch_sample(w, &r)) {
			rc = ctl_fail("softnet");
			break;
		}
		nadv = sc_softnet_advise(&r, &nc, adv, MAX_ADVICE);
		if (a->prometheus) {
			if ((ctl_stop || i + 1 == a->count) && print_prom(&r, &nc))
				rc = ctl_fail("softnet");
		} else if (c->json) {
			print_json(c, &r, &nc, adv, nadv);
		} else {
			print_table(&r, &nc, adv, nadv);
		}
		sc_softnet_report_free(&r);
	}
	sc_softnet_watch_close(w);
	return rc;
}

static int softnet_run(const struct ctl_common *c, void *args)
{
	struct softnet_args *a = args;

	if (a->prometheus && c->json)
		return ctl_err(EXIT_USAGE, "softnet", "--prometheus and -j exclude each other");
	if (!a->count && (c->json || a->prometheus))
		a->count = 1;
	ctl_catch_stop();
	return run_loop(a, c);
}

const struct ctl_cmd cmd_softnet = {
	.name = "softnet",
	.summary = "Per-CPU receive softirq rates, squeezes and drops, with advice.",
	.description =
		"Columns are per-second rates over the interval, from /proc/net/softnet_stat:\n"
		"processed (frames taken off the backlog or NAPI), dropped (backlog longer than\n"
		"net.core.netdev_max_backlog), squeeze (net_rx_action ran out of netdev_budget\n"
		"or netdev_budget_usecs with work left), rps (frames steered here by RPS),\n"
		"flow_limit (frames of heavy flows dropped by the flow limit); backlog is the\n"
		"queue length now. RISING marks a CPU whose time_squeeze rose in the last 2+\n"
		"intervals in a row. The advice raises the budget only for squeezes without\n"
		"drops, and points at the backlog when frames are dropped.\n"
		"-j prints one JSON object per sample, one per line. ^C (SIGINT/SIGTERM) ends\n"
		"the current interval early and prints it.",
	.opts = CTL_TABLES(softnet_opts),
	.args_size = sizeof(struct softnet_args),
	.defaults = &softnet_defaults,
	.run = softnet_run,
};
