/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /proc/net/softnet_stat, one row per online CPU, hex columns.
 * Rows are keyed by the CPU-id column (13th, kernels >= 5.10 or so), not by
 * line number: offline CPUs are skipped, so line N is not CPU N. When the
 * column is missing (old kernels) the line number is the best we have.
 */
#ifndef SC_SOFTNET_H
#define SC_SOFTNET_H

#include <stdint.h>

struct sc_softnet_cpu {
	uint32_t cpu;
	uint64_t processed;	/* col 1: frames taken off the backlog/NAPI */
	uint64_t dropped;	/* col 2: backlog over netdev_max_backlog */
	uint64_t time_squeeze;	/* col 3: net_rx_action out of budget with work left */
	uint64_t cpu_collision;	/* col 9: always 0 on modern kernels */
	uint64_t received_rps;	/* col 10 */
	uint64_t flow_limit;	/* col 11 */
	uint64_t backlog_len;	/* col 12 (newer kernels; 0 if absent) */
};

struct sc_softnet {
	unsigned int nr_cpus;
	struct sc_softnet_cpu *cpus;	/* nr_cpus entries, sorted by cpu */
};

/* Parse @path (NULL = /proc/net/softnet_stat). Free with sc_softnet_free(). */
int sc_softnet_read(const char *path, struct sc_softnet *out);
/* Parse text already in memory (for fuzzing and tests). */
int sc_softnet_parse(const char *text, struct sc_softnet *out);
/*
 * out = after - before, matched by CPU id; CPUs present in only one
 * snapshot (hotplug) are left out. Counters are 32-bit in the kernel and
 * wrap: the delta is taken modulo 2^32.
 */
int sc_softnet_delta(const struct sc_softnet *before, const struct sc_softnet *after,
		     struct sc_softnet *out);
void sc_softnet_free(struct sc_softnet *s);

#endif
