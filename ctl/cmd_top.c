// SPDX-License-Identifier: GPL-2.0
/*
 * shardctl top DEV: per-queue packet and byte rates from tracepoints, for
 * DEV and its shards. The BPF programs live only while this runs.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if.h>

#include "ctl/ctl.h"
#include "dataplane/kernel/error.h"
#include "dataplane/observe/prom.h"
#include "dataplane/observe/top.h"
#include "dataplane/shard/shard.h"

struct top_args {
	const char *dev;
	double interval;
	unsigned long count;	/* 0: not given (the bound starts at 1) */
	bool prometheus, no_shards;
	const char *also;
};

static const struct ctl_opt top_opts[] = {
	{ "interval", 'i', "S", "seconds per sample (default 1)",
	  CTL_DOUBLE, CTL_FIELD(struct top_args, interval), .min = 0.01, .max = 3600 },
	{ "count", 'c', "N", "samples to print (default: until ^C; 1 with -j/--prometheus)",
	  CTL_UINT, CTL_FIELD(struct top_args, count), .min = 1, .max = 1000000000 },
	{ "also", 0, "DEV[,DEV...]", "trace these devices too",
	  CTL_STRING, CTL_FIELD(struct top_args, also) },
	{ "no-shards", 0, NULL, "leave out DEV's shard veths",
	  CTL_FLAG, CTL_FIELD(struct top_args, no_shards) },
	{ "prometheus", 0, NULL, "print the last sample in Prometheus text format",
	  CTL_FLAG, CTL_FIELD(struct top_args, prometheus) },
	{ 0 },
};

static const struct ctl_opt top_pos[] = {
	{ "device", .arg = "DEV", .type = CTL_STRING, CTL_FIELD(struct top_args, dev),
	  .min_count = 1, .max_count = 1 },
	{ 0 },
};

static const struct top_args top_defaults = { .interval = 1.0 };

static int add_ifindex(uint32_t **v, unsigned int *n, uint32_t ifindex)
{
	uint32_t *p = realloc(*v, (*n + 1) * sizeof(**v));

	if (!p)
		return -ENOMEM;
	p[(*n)++] = ifindex;
	*v = p;
	return 0;
}

/* DEV, its shards unless --no-shards, then --also. */
static int collect_devices(const char *dev, const struct top_args *a, uint32_t **v,
			   unsigned int *n)
{
	uint32_t ifindex = if_nametoindex(dev), *shards = NULL;
	unsigned int nr_shards = 0;
	char *list, *tok, *save = NULL;
	int err = 0;

	if (!ifindex)
		return ctl_err(EXIT_FAIL, "top", "%s: no such device", dev);
	if (add_ifindex(v, n, ifindex))
		return ctl_err(EXIT_FAIL, "top", "out of memory");
	if (!a->no_shards && sc_shard_devices(NULL, (int)ifindex, &shards, &nr_shards))
		return ctl_fail("top");
	for (unsigned int i = 0; i < nr_shards && !err; i++)
		err = add_ifindex(v, n, shards[i]);
	free(shards);
	if (err)
		return ctl_err(EXIT_FAIL, "top", "out of memory");
	if (!a->also)
		return 0;
	list = strdup(a->also);
	for (tok = strtok_r(list, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		ifindex = if_nametoindex(tok);
		if (!ifindex)
			err = ctl_err(EXIT_USAGE, "top", "--also: %s: no such device", tok);
		else if (add_ifindex(v, n, ifindex))
			err = ctl_err(EXIT_FAIL, "top", "out of memory");
	}
	free(list);
	return err;
}

/* 1234567 -> "1.23M": rates are read at a glance, exact values are in -j. */
static const char *si(double v, char *buf, size_t len)
{
	static const char unit[] = " kMGTP";
	int u = 0;

	while (fabs(v) >= 1000 && u < 5) {
		v /= 1000;
		u++;
	}
	if (u)
		snprintf(buf, len, "%.2f%c", v, unit[u]);
	else
		snprintf(buf, len, "%.0f", v);
	return buf;
}

static const char *queue_str(int queue, char *buf, size_t len)
{
	if (queue == SC_TOP_QUEUE_UNRECORDED)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%d", queue);
	return buf;
}

static void print_table(const struct sc_top_report *r)
{
	char b1[32], b2[32], b3[32];

	printf("%-15s %-3s %5s %10s %10s %6s %14s   interval %.2f s%s\n", "DEVICE", "DIR",
	       "QUEUE", "PPS", "BIT/S", "AVG_B", "PACKETS", r->interval_s,
	       r->lost ? "  (counter map full: some queues missing)" : "");
	for (unsigned int g = 0; g < r->nr_groups; g++) {
		const struct sc_top_group *grp = &r->groups[g];

		for (unsigned int i = 0; i < r->nr_queues; i++) {
			const struct sc_top_queue *q = &r->queues[i];

			if (q->ifindex != grp->ifindex || q->dir != grp->dir)
				continue;
			printf("%-15s %-3s %5s %10s %10s %6.0f %14llu\n", grp->name,
			       sc_top_dir_name(q->dir), queue_str(q->queue, b3, sizeof(b3)),
			       si(q->pps, b1, sizeof(b1)), si(q->bps, b2, sizeof(b2)),
			       q->avg_bytes, (unsigned long long)q->packets);
		}
		printf("%-15s %-3s %5s %10s %10s %6.0f %14llu   imbalance %.2f cv %.2f "
		       "(%u queues)\n",
		       grp->name, sc_top_dir_name(grp->dir), "all", si(grp->pps, b1, sizeof(b1)),
		       si(grp->bps, b2, sizeof(b2)), grp->avg_bytes,
		       (unsigned long long)grp->packets, grp->max_mean, grp->cv, grp->nr_queues);
	}
	putchar('\n');
	fflush(stdout);
}

static json_object *json_queue(const struct sc_top_queue *q)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "queue", q->queue == SC_TOP_QUEUE_UNRECORDED
						   ? NULL : json_object_new_int(q->queue));
	json_object_object_add(o, "pps", ctl_json_fixed(q->pps, "%.3f"));
	json_object_object_add(o, "bps", ctl_json_fixed(q->bps, "%.3f"));
	json_object_object_add(o, "avg_bytes", ctl_json_fixed(q->avg_bytes, "%.3f"));
	json_object_object_add(o, "interval_packets", json_object_new_uint64(q->delta_packets));
	json_object_object_add(o, "interval_bytes", json_object_new_uint64(q->delta_bytes));
	json_object_object_add(o, "packets", json_object_new_uint64(q->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(q->bytes));
	return o;
}

static json_object *json_group(const struct sc_top_report *r, const struct sc_top_group *g)
{
	json_object *o = json_object_new_object(), *qs = json_object_new_array();

	json_object_object_add(o, "device", json_object_new_string(g->name));
	json_object_object_add(o, "ifindex", json_object_new_int((int)g->ifindex));
	json_object_object_add(o, "direction", json_object_new_string(sc_top_dir_name(g->dir)));
	json_object_object_add(o, "active_queues", json_object_new_int((int)g->active_queues));
	json_object_object_add(o, "pps", ctl_json_fixed(g->pps, "%.3f"));
	json_object_object_add(o, "bps", ctl_json_fixed(g->bps, "%.3f"));
	json_object_object_add(o, "avg_bytes", ctl_json_fixed(g->avg_bytes, "%.3f"));
	json_object_object_add(o, "interval_packets", json_object_new_uint64(g->delta_packets));
	json_object_object_add(o, "interval_bytes", json_object_new_uint64(g->delta_bytes));
	json_object_object_add(o, "packets", json_object_new_uint64(g->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(g->bytes));
	json_object_object_add(o, "balance_queues", json_object_new_int((int)g->nr_queues));
	json_object_object_add(o, "imbalance_max_mean", ctl_json_fixed(g->max_mean, "%.3f"));
	json_object_object_add(o, "imbalance_cv", ctl_json_fixed(g->cv, "%.3f"));
	for (unsigned int i = 0; i < r->nr_queues; i++)
		if (r->queues[i].ifindex == g->ifindex && r->queues[i].dir == g->dir)
			json_object_array_add(qs, json_queue(&r->queues[i]));
	json_object_object_add(o, "queues", qs);
	return o;
}

static void print_json(const struct ctl_common *c, const struct sc_top_report *r)
{
	json_object *o = json_object_new_object(), *devs = json_object_new_array();

	json_object_object_add(o, "interval_s", ctl_json_fixed(r->interval_s, "%.3f"));
	json_object_object_add(o, "lost_slots", json_object_new_uint64(r->lost));
	for (unsigned int g = 0; g < r->nr_groups; g++)
		json_object_array_add(devs, json_group(r, &r->groups[g]));
	json_object_object_add(o, "devices", devs);
	ctl_print_json(c, o);
	fflush(stdout);
}

static const char *group_name(const struct sc_top_report *r, uint32_t ifindex)
{
	for (unsigned int g = 0; g < r->nr_groups; g++)
		if (r->groups[g].ifindex == ifindex)
			return r->groups[g].name;
	return "?";
}

/*
 * Prometheus families as tables of getters, as status has them: one family
 * at a time, every queue (or device) of the report under it.
 */
static uint64_t q_packets(const struct sc_top_queue *q) { return q->packets; }
static uint64_t q_bytes(const struct sc_top_queue *q) { return q->bytes; }
static double q_pps(const struct sc_top_queue *q) { return q->pps; }
/* Prometheus' base unit is the byte: bits are for display. */
static double q_bytes_ps(const struct sc_top_queue *q) { return q->bps / 8; }
static double g_max_mean(const struct sc_top_group *g) { return g->max_mean; }
static double g_cv(const struct sc_top_group *g) { return g->cv; }

static const struct {
	const char *name, *type, *help;
	uint64_t (*count)(const struct sc_top_queue *);	/* counters: exact integers */
	double (*rate)(const struct sc_top_queue *);	/* or gauges */
} queue_metrics[] = {
	{ "shardctl_queue_packets_total", "counter",
	  "Packets per queue since shardctl top attached (tracepoints).", .count = q_packets },
	{ "shardctl_queue_bytes_total", "counter",
	  "Bytes per queue from the Ethernet header on, since shardctl top attached.",
	  .count = q_bytes },
	{ "shardctl_queue_packets_per_second", "gauge",
	  "Packets per second per queue over the last interval.", .rate = q_pps },
	{ "shardctl_queue_bytes_per_second", "gauge",
	  "Bytes per second per queue over the last interval.", .rate = q_bytes_ps },
};

static const struct {
	const char *name, *help;
	double (*get)(const struct sc_top_group *);
} group_metrics[] = {
	{ "shardctl_device_queue_imbalance_ratio",
	  "Busiest queue's packet rate over the mean of the device's queues (1 = even).", g_max_mean },
	{ "shardctl_device_queue_variation_ratio",
	  "Coefficient of variation of the per-queue packet rates (0 = even).", g_cv },
};


static int print_prom(const struct sc_top_report *r)
{
	int err = 0;

	for (size_t m = 0; m < ARRAY_SIZE(queue_metrics) && !err; m++) {
		err = sc_prom_header(stdout, queue_metrics[m].name, queue_metrics[m].type,
				     queue_metrics[m].help);
		for (unsigned int i = 0; i < r->nr_queues && !err; i++) {
			const struct sc_top_queue *q = &r->queues[i];
			char qb[16];

			if (q->queue == SC_TOP_QUEUE_UNRECORDED)
				snprintf(qb, sizeof(qb), "none");
			else
				snprintf(qb, sizeof(qb), "%d", q->queue);
			const struct sc_prom_label l[] = { { "device", group_name(r, q->ifindex) },
							   { "direction", sc_top_dir_name(q->dir) },
							   { "queue", qb } };
			err = queue_metrics[m].count ?
				      sc_prom_u64(stdout, queue_metrics[m].name, l, 3,
						  queue_metrics[m].count(q)) :
				      sc_prom_sample(stdout, queue_metrics[m].name, l, 3,
						     queue_metrics[m].rate(q));
		}
	}
	for (size_t m = 0; m < ARRAY_SIZE(group_metrics) && !err; m++) {
		err = sc_prom_header(stdout, group_metrics[m].name, "gauge", group_metrics[m].help);
		for (unsigned int g = 0; g < r->nr_groups && !err; g++) {
			const struct sc_top_group *grp = &r->groups[g];

			err = sc_prom_sample(stdout, group_metrics[m].name,
					     SC_PROM_LABELS({ "device", grp->name },
							    { "direction", sc_top_dir_name(grp->dir) }),
					     group_metrics[m].get(grp));
		}
	}
	if (!err)
		err = sc_prom_header(stdout, "shardctl_top_interval_seconds", "gauge",
				     "Length of the interval the rates cover.");
	if (!err)
		err = sc_prom_sample(stdout, "shardctl_top_interval_seconds", SC_PROM_NO_LABELS,
				     r->interval_s);
	fflush(stdout);
	return err;
}

struct top_loop {
	struct sc_top *t;
	const struct top_args *a;
	const struct ctl_common *c;
};

static int top_sample(void *priv, bool last)
{
	const struct top_loop *l = priv;
	struct sc_top_report r;
	int rc = EXIT_OK;

	if (sc_top_sample(l->t, &r))
		return ctl_fail("top");
	if (l->a->prometheus) {
		/* One exposition per file: only the last sample, or the one ^C cut short. */
		if (last && print_prom(&r))
			rc = ctl_fail("top");
	} else if (l->c->json) {
		print_json(l->c, &r);
	} else {
		print_table(&r);
	}
	sc_top_report_free(&r);
	return rc;
}

static int run_loop(const uint32_t *ifindexes, unsigned int n, const struct top_args *a,
		    const struct ctl_common *c)
{
	struct sc_top_report r;
	struct sc_top *t;
	int rc = EXIT_OK;

	if (sc_top_open(ifindexes, n, &t))
		return ctl_fail("top");
	if (sc_top_sample(t, &r)) {
		rc = ctl_fail("top");
		goto out;
	}
	sc_top_report_free(&r);
	/* Scripts wait for this line before sending: the window is open now. */
	fprintf(stderr, "shardctl top: tracing %u device%s; ^C prints the current sample and stops\n",
		n, n == 1 ? "" : "s");
	rc = ctl_sample_loop(a->interval, a->count, top_sample, &(struct top_loop){ t, a, c });
out:
	sc_top_close(t);
	return rc;
}

static int top_run(const struct ctl_common *c, void *args)
{
	struct top_args *a = args;
	uint32_t *ifindexes = NULL;
	unsigned int n = 0;
	int rc;

	if (a->prometheus && c->json)
		return ctl_err(EXIT_USAGE, "top", "--prometheus and -j exclude each other");
	if (!a->count && (c->json || a->prometheus))
		a->count = 1;
	rc = collect_devices(a->dev, a, &ifindexes, &n);
	if (rc)
		goto out;
	ctl_catch_stop();
	rc = run_loop(ifindexes, n, a, c);
out:
	free(ifindexes);
	return rc;
}

const struct ctl_cmd cmd_top = {
	.name = "top",
	.summary = "Per-queue packet and bit rates of DEV and its shards, from tracepoints.",
	.description =
		"Counted by BPF programs on net:netif_receive_skb (rx, keyed by the rx queue\n"
		"the driver recorded) and net:net_dev_start_xmit (tx, keyed by tx queue),\n"
		"loaded only while this command runs. They differ from the driver counters\n"
		"in /proc/net/dev and `ip -s link`: rx is counted after the driver (its and\n"
		"XDP's drops never show), tx when the qdisc hands a frame to the driver\n"
		"(qdisc drops never show, driver requeues show twice), a GSO/GRO packet\n"
		"counts as its segments, bytes start at the Ethernet header (no FCS).\n"
		"Rx queue '-' means the driver recorded none (veth, loopback).\n"
		"imbalance: busiest queue's pps / mean over the active queues (1.00 = even)\n"
		"and cv, the coefficient of variation (stddev / mean, 0 = even).\n"
		"-j prints one JSON object per sample, one per line. ^C (SIGINT/SIGTERM) ends\n"
		"the current interval early and prints it.",
	.opts = CTL_TABLES(top_opts),
	.args = top_pos,
	.args_size = sizeof(struct top_args),
	.defaults = &top_defaults,
	.run = top_run,
};
