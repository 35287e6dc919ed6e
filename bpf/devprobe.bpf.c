// SPDX-License-Identifier: GPL-2.0
/*
 * Whether a device transmits without the per-queue _xmit_lock (LLTX).
 * ethtool showed it as "tx-lockless" until 6.12 turned NETIF_F_LLTX into
 * the private flag dev->lltx (include/linux/netdevice.h), which nothing
 * reports to user space. BPF_PROG_TEST_RUN of a tc program with
 * ctx->ifindex set builds an skb on that device (net/bpf/test_run.c), and
 * bpf_cast_to_kern_ctx() (6.2+) gives the typed sk_buff to read it from.
 * Older kernels do without this probe: they still have ethtool's
 * "tx-lockless" string (dataplane/doctor/check.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "bpf/devprobe.h"

char LICENSE[] SEC("license") = "GPL";

extern void *bpf_cast_to_kern_ctx(void *ctx) __ksym;

/* Kernels before 6.12: the feature bit, looked up by name at load time. */
enum netdev_features___old {
	NETIF_F_LLTX_BIT___old = 12,
};

struct devprobe_out out;

SEC("tc")
int devprobe(struct __sk_buff *ctx)
{
	struct sk_buff *skb = bpf_cast_to_kern_ctx(ctx);
	struct net_device *dev = skb->dev;

	if (!dev)
		return 0;
	out.ifindex = dev->ifindex;
	out.real_num_tx_queues = dev->real_num_tx_queues;
	out.real_num_rx_queues = dev->real_num_rx_queues;
	if (bpf_core_field_exists(dev->lltx)) {
		out.lltx = BPF_CORE_READ_BITFIELD(dev, lltx);
		out.lltx_known = 1;
	} else if (bpf_core_enum_value_exists(enum netdev_features___old,
					      NETIF_F_LLTX_BIT___old)) {
		int bit = bpf_core_enum_value(enum netdev_features___old, NETIF_F_LLTX_BIT___old);

		out.lltx = (dev->features >> (bit & 63)) & 1;
		out.lltx_known = 1;
	}
	return 0;
}
