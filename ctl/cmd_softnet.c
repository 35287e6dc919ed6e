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
#include "ctl/json_parts.h"
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
	ctl_json_softnet_counts(o, &c->delta);
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
static uint64_t c_processed(const struct sc_softnet_rate *c) { return c->now.processed; }
static uint64_t c_dropped(const struct sc_softnet_rate *c) { return c->now.dropped; }
static uint64_t c_squeeze(const struct sc_softnet_rate *c) { return c->now.time_squeeze; }
static uint64_t c_rps(const struct sc_softnet_rate *c) { return c->now.received_rps; }
static uint64_t c_flowlim(const struct sc_softnet_rate *c) { return c->now.flow_limit; }
static uint64_t c_backlog(const struct sc_softnet_rate *c) { return c->now.backlog_len; }
static double c_rising(const struct sc_softnet_rate *c) { return c->squeeze_rising; }

/* Families as tables of getters, as status and top have them. */
static const struct {
	const char *name, *type, *help;
	uint64_t (*count)(const struct sc_softnet_rate *);	/* exact integers */
	double (*value)(const struct sc_softnet_rate *);	/* or a flag */
} cpu_metrics[] = {
	{ "shardctl_softnet_processed_total", "counter",
	  "Frames processed by the receive softirq (softnet_stat col 1, 32-bit, wraps).",
	  .count = c_processed },
	{ "shardctl_softnet_dropped_total", "counter",
	  "Frames dropped because the backlog passed netdev_max_backlog (col 2).", .count = c_dropped },
	{ "shardctl_softnet_time_squeeze_total", "counter",
	  "Times net_rx_action ran out of budget with work left (col 3).", .count = c_squeeze },
	{ "shardctl_softnet_received_rps_total", "counter",
	  "Frames steered to this CPU by RPS (col 10).", .count = c_rps },
	{ "shardctl_softnet_flow_limit_total", "counter",
	  "Frames dropped by the flow limit (col 11).", .count = c_flowlim },
	{ "shardctl_softnet_backlog_packets", "gauge",
	  "Frames in this CPU's backlog queue now (col 12).", .count = c_backlog },
	{ "shardctl_softnet_squeeze_rising", "gauge",
	  "1 when time_squeeze rose in 2 or more intervals in a row.", .value = c_rising },
};


static int prom_cpu_family(const struct sc_softnet_report *r, size_t f)
{
	int err = sc_prom_header(stdout, cpu_metrics[f].name, cpu_metrics[f].type,
				 cpu_metrics[f].help);

	for (unsigned int i = 0; i < r->nr_cpus && !err; i++) {
		const struct sc_softnet_rate *c = &r->cpus[i];
		char cpu[16];

		snprintf(cpu, sizeof(cpu), "%u", c->cpu);
		const struct sc_prom_label l[] = { { "cpu", cpu } };
		err = cpu_metrics[f].count ?
			      sc_prom_u64(stdout, cpu_metrics[f].name, l, 1, cpu_metrics[f].count(c)) :
			      sc_prom_sample(stdout, cpu_metrics[f].name, l, 1, cpu_metrics[f].value(c));
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

	for (size_t f = 0; f < ARRAY_SIZE(cpu_metrics) && !err; f++)
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

struct softnet_loop {
	struct sc_softnet_watch *w;
	struct sc_netcore nc;
	const struct softnet_args *a;
	const struct ctl_common *c;
};

static int softnet_sample(void *priv, bool last)
{
	const struct softnet_loop *l = priv;
	struct sc_softnet_advice adv[MAX_ADVICE];
	struct sc_softnet_report r;
	int rc = EXIT_OK, nadv;

	if (sc_softnet_watch_sample(l->w, &r))
		return ctl_fail("softnet");
	nadv = sc_softnet_advise(&r, &l->nc, adv, MAX_ADVICE);
	if (l->a->prometheus) {
		if (last && print_prom(&r, &l->nc))
			rc = ctl_fail("softnet");
	} else if (l->c->json) {
		print_json(l->c, &r, &l->nc, adv, nadv);
	} else {
		print_table(&r, &l->nc, adv, nadv);
	}
	sc_softnet_report_free(&r);
	return rc;
}

static int run_loop(const struct softnet_args *a, const struct ctl_common *c)
{
	struct softnet_loop l = { .a = a, .c = c };
	int rc;

	if (sc_netcore_read(&l.nc) || sc_softnet_watch_open(NULL, &l.w))
		return ctl_fail("softnet");
	/* Scripts wait for this line: the baseline is taken. */
	fprintf(stderr, "shardctl softnet: sampling every %g s; ^C prints the current sample and stops\n",
		a->interval);
	rc = ctl_sample_loop(a->interval, a->count, softnet_sample, &l);
	sc_softnet_watch_close(l.w);
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
