/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Integer sysctls, and the net.core knobs that decide softirq receive
 * processing (net/core/sysctl_net_core.c):
 *   netdev_budget        packets one net_rx_action() run may process
 *   netdev_budget_usecs  ... and for how long; running out of either with
 *                        work left counts a time_squeeze
 *   netdev_max_backlog   per-CPU backlog queue length (netif_rx, RPS, veth
 *                        without NAPI); frames beyond it count as dropped
 *   dev_weight           quota of one backlog poll (process_backlog)
 * These are global and registered for the initial network namespace only:
 * from another namespace /proc/sys/net/core shows only per-namespace knobs.
 * sc_netcore_read() then reads them from PID 1's network namespace.
 */
#ifndef SC_SYSCTL_H
#define SC_SYSCTL_H

#include <stdbool.h>

/* "net.core.netdev_budget" -> /proc/sys/net/core/netdev_budget, one integer. */
int sc_sysctl_read_int(const char *name, long long *out);

struct sc_netcore {
	bool known;		/* false: not readable from here (values are 0) */
	bool from_init_netns;	/* read through PID 1's network namespace */
	long long netdev_budget;
	long long netdev_budget_usecs;
	long long netdev_max_backlog;
	long long dev_weight;
};

int sc_netcore_read(struct sc_netcore *out);

#endif
