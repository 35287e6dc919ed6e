// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>

#include "ctl/ctl.h"
#include "ctl/shard_view.h"
#include "dataplane/observe/prom.h"
#include "dataplane/shard/shard.h"

struct status_args {
	const char *dev;	/* NULL: every device */
	bool prometheus;
};

static const struct ctl_opt status_opts[] = {
	{ "prometheus", 0, NULL, "print Prometheus text exposition (node_exporter textfile)",
	  CTL_FLAG, CTL_FIELD(struct status_args, prometheus) },
	{ 0 },
};

static const struct ctl_opt status_pos[] = {
	{ "device", .arg = "DEV", .type = CTL_STRING, CTL_FIELD(struct status_args, dev),
	  .max_count = 1 },
	{ 0 },
};

static double st_complete(const struct sc_state *st) { return st->complete; }
static double st_shards(const struct sc_state *st) { return st->nr_shards; }
static double st_unrecorded(const struct sc_state *st) { return (double)st->unrecorded_packets; }
static double st_no_shard(const struct sc_state *st) { return (double)st->no_shard_packets; }
static double st_returned(const struct sc_state *st) { return (double)st->returned_packets; }
static double st_spread(const struct sc_state *st) { return st->spread_max_mean; }
static uint64_t sh_packets(const struct sc_shard *sh) { return sh->packets; }
static uint64_t sh_bytes(const struct sc_shard *sh) { return sh->bytes; }
static uint64_t sh_veth_tx(const struct sc_shard *sh) { return sh->veth_tx_packets; }
static uint64_t sh_drops(const struct sc_shard *sh) { return sh->q_drops; }
static uint64_t sh_requeues(const struct sc_shard *sh) { return sh->q_requeues; }
static uint64_t sh_backlog(const struct sc_shard *sh) { return sh->q_backlog; }

static const struct {
	const char *name, *type, *help;
	double (*get)(const struct sc_state *);
} device_metrics[] = {
	{ "shardctl_setup_complete", "gauge", "1 when every piece of the setup is in place", st_complete },
	{ "shardctl_shards", "gauge", "Shards (veth pairs) of the device", st_shards },
	{ "shardctl_unrecorded_packets_total", "counter", "Frames without a recorded rx queue, passed to the stack", st_unrecorded },
	{ "shardctl_no_shard_packets_total", "counter", "Frames whose rx queue has no shard, passed to the stack", st_no_shard },
	{ "shardctl_returned_packets_total", "counter", "Frames sent back to the device by the shards", st_returned },
	{ "shardctl_shard_spread_ratio", "gauge", "Busiest shard's packets over the mean (1 = even; 0 = no traffic)", st_spread },
};

static const struct {
	const char *name, *type, *help;
	uint64_t (*get)(const struct sc_shard *);
} shard_metrics[] = {
	{ "shardctl_shard_packets_total", "counter", "Frames redirected to the shard (by the rx queues mapped to it now)", sh_packets },
	{ "shardctl_shard_bytes_total", "counter", "Bytes redirected to the shard", sh_bytes },
	{ "shardctl_shard_veth_tx_packets_total", "counter", "The shard veth's own transmit counter", sh_veth_tx },
	{ "shardctl_shard_qdisc_drops_total", "counter", "Drops in the shard's root qdisc", sh_drops },
	{ "shardctl_shard_qdisc_requeues_total", "counter", "Requeues in the shard's root qdisc", sh_requeues },
	{ "shardctl_shard_qdisc_backlog_bytes", "gauge", "Backlog of the shard's root qdisc", sh_backlog },
};


/* One family at a time, every device's samples under it: the format wants them together. */
static void print_prometheus(FILE *f, const struct sc_state *v, int n)
{
	for (size_t m = 0; m < ARRAY_SIZE(device_metrics); m++) {
		sc_prom_header(f, device_metrics[m].name, device_metrics[m].type, device_metrics[m].help);
		for (int k = 0; k < n; k++)
			sc_prom_sample(f, device_metrics[m].name, SC_PROM_LABELS({ "device", v[k].dev }),
				       device_metrics[m].get(&v[k]));
	}
	for (size_t m = 0; m < ARRAY_SIZE(shard_metrics); m++) {
		sc_prom_header(f, shard_metrics[m].name, shard_metrics[m].type, shard_metrics[m].help);
		for (int k = 0; k < n; k++)
			for (unsigned int i = 0; i < v[k].nr_shards; i++) {
				char idx[16];

				snprintf(idx, sizeof(idx), "%u", i);
				sc_prom_u64(f, shard_metrics[m].name,
					    SC_PROM_LABELS({ "device", v[k].dev }, { "shard", idx },
							   { "veth", v[k].shards[i].name }),
					    shard_metrics[m].get(&v[k].shards[i]));
			}
	}
}

static int run_status(const struct ctl_common *c, void *args)
{
	const struct status_args *a = args;
	struct sc_state *v;
	int n;

	if (a->prometheus && c->json)
		return ctl_err(EXIT_USAGE, "status", "--prometheus and --json exclude each other");
	if (sc_status(a->dev, &v, &n))
		return ctl_fail("status");
	if (a->prometheus) {
		print_prometheus(stdout, v, n);
	} else if (c->json) {
		json_object *list = json_object_new_array();

		for (int k = 0; k < n; k++)
			json_object_array_add(list, shard_state_json(&v[k]));
		ctl_print_json(c, list);
	} else if (!n) {
		printf("nothing set up%s%s\n", a->dev ? " on " : "", a->dev ? a->dev : "");
	}
	for (int k = 0; !c->json && !a->prometheus && k < n; k++)
		shard_state_print(stdout, &v[k]);
	sc_states_free(v, n);
	return EXIT_OK;
}

const struct ctl_cmd cmd_status = {
	.name = "status",
	.summary = "Show what is set up (read back from the kernel) and how traffic spreads.",
	.description = "'packets' are frames the ingress program redirected to each shard (per rx\n"
		       "queue, summed over the queues mapped to the shard now); 'veth tx' is the\n"
		       "shard veth's own counter. Exits 0 also when nothing is set up.\n"
		       "--prometheus metrics: shardctl_setup_complete, shardctl_shards,\n"
		       "shardctl_{unrecorded,no_shard,returned}_packets_total, shardctl_shard_spread_ratio\n"
		       "(label device); shardctl_shard_{packets,bytes,veth_tx_packets}_total,\n"
		       "shardctl_shard_qdisc_{drops,requeues}_total, shardctl_shard_qdisc_backlog_bytes\n"
		       "(labels device, shard, veth).",
	.opts = CTL_TABLES(status_opts),
	.args = status_pos,
	.args_size = sizeof(struct status_args),
	.run = run_status,
};
