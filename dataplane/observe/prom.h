/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus text exposition format (version 0.0.4), for the node_exporter
 * textfile collector: `shardctl top|softnet|status --prometheus > x.prom.$$
 * && mv x.prom.$$ /var/lib/node_exporter/textfile/shardctl.prom`.
 *
 * The writer checks metric and label names against the format's grammar,
 * escapes HELP text and label values, and never writes timestamps (the
 * textfile collector rejects them). Callers write one family at a time:
 * sc_prom_header() then every sample of that family.
 *
 * Metrics written by shardctl (names follow the Prometheus conventions:
 * shardctl_ prefix, base units, _total for counters). Counters count from
 * when the command attached its tracing (top) or from boot (softnet).
 * Where the source is the kernel's own counter (softnet_stat, status's
 * stats slots) only the counter is exported: the rate is what PromQL's
 * rate() computes. top's counters restart with every run of top (the
 * textfile timer starts a fresh one), so top also exports the rates over
 * its own --interval as gauges, in base units (bytes, not bits). Every
 * output passes promtool check metrics (tests/t_operator.sh).
 *
 * | metric                                    | type    | labels                  | source |
 * |-------------------------------------------|---------|-------------------------|--------|
 * | shardctl_queue_packets_total              | counter | device, direction, queue| top    |
 * | shardctl_queue_bytes_total                | counter | device, direction, queue| top    |
 * | shardctl_queue_packets_per_second         | gauge   | device, direction, queue| top    |
 * | shardctl_queue_bytes_per_second           | gauge   | device, direction, queue| top    |
 * | shardctl_device_queue_imbalance_ratio     | gauge   | device, direction       | top    |
 * | shardctl_device_queue_variation_ratio     | gauge   | device, direction       | top    |
 * | shardctl_top_interval_seconds             | gauge   | -                       | top    |
 * | shardctl_softnet_processed_total          | counter | cpu                     | softnet|
 * | shardctl_softnet_dropped_total            | counter | cpu                     | softnet|
 * | shardctl_softnet_time_squeeze_total       | counter | cpu                     | softnet|
 * | shardctl_softnet_received_rps_total       | counter | cpu                     | softnet|
 * | shardctl_softnet_flow_limit_total         | counter | cpu                     | softnet|
 * | shardctl_softnet_backlog_packets          | gauge   | cpu                     | softnet|
 * | shardctl_softnet_squeeze_rising           | gauge   | cpu (1 = rose in every interval) | softnet |
 * | shardctl_netdev_budget_packets            | gauge   | -                       | softnet|
 * | shardctl_netdev_budget_seconds            | gauge   | -                       | softnet|
 * | shardctl_netdev_max_backlog_packets       | gauge   | -                       | softnet|
 * | shardctl_setup_complete                   | gauge   | device                  | status |
 * | shardctl_shards                           | gauge   | device                  | status |
 * | shardctl_unrecorded_packets_total         | counter | device                  | status |
 * | shardctl_no_shard_packets_total           | counter | device                  | status |
 * | shardctl_returned_packets_total           | counter | device                  | status |
 * | shardctl_shard_spread_ratio               | gauge   | device                  | status |
 * | shardctl_shard_packets_total              | counter | device, shard, veth     | status |
 * | shardctl_shard_bytes_total                | counter | device, shard, veth     | status |
 * | shardctl_shard_veth_tx_packets_total      | counter | device, shard, veth     | status |
 * | shardctl_shard_qdisc_drops_total          | counter | device, shard, veth     | status |
 * | shardctl_shard_qdisc_requeues_total       | counter | device, shard, veth     | status |
 * | shardctl_shard_qdisc_backlog_bytes        | gauge   | device, shard, veth     | status |
 *
 * queue="none" marks rx frames whose driver recorded no rx queue. The
 * softnet counters are 32-bit in the kernel and wrap; rate() treats a wrap
 * as a reset, which is what it is to a reader.
 */
#ifndef SC_PROM_H
#define SC_PROM_H

#include <stdint.h>
#include <stdio.h>

struct sc_prom_label {
	const char *name;
	const char *value;
};

/*
 * Label lists as compound literals:
 *   sc_prom_u64(f, "shardctl_queue_packets_total",
 *               SC_PROM_LABELS({ "device", "eth0" }, { "queue", "3" }), n);
 */
#define SC_PROM_LABELS(...)                                                                \
	((const struct sc_prom_label[]){ __VA_ARGS__ }),                                   \
	(sizeof((const struct sc_prom_label[]){ __VA_ARGS__ }) / sizeof(struct sc_prom_label))
#define SC_PROM_NO_LABELS NULL, 0

/* "# HELP name help" and "# TYPE name type"; type is counter, gauge or untyped. */
int sc_prom_header(FILE *f, const char *name, const char *type, const char *help);
/* One sample line. NaN and infinities are written as NaN, +Inf, -Inf. */
int sc_prom_sample(FILE *f, const char *name, const struct sc_prom_label *labels,
		   unsigned int nr_labels, double value);
/* Same, exact for counters past 2^53. */
int sc_prom_u64(FILE *f, const char *name, const struct sc_prom_label *labels,
		unsigned int nr_labels, uint64_t value);

#endif
