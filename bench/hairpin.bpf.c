// SPDX-License-Identifier: GPL-2.0
/*
 * The hairpin for the configurations without shards: every frame received
 * on the NIC goes straight back out of the NIC's egress, through its root
 * qdisc, by the same helper the shard programs use, so the shard configs
 * differ from these only by the veth hop and their own programs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tc")
int bench_hairpin(struct __sk_buff *skb)
{
	/* As sc_return does: the NIC picks its tx queue as for local traffic. */
	skb->queue_mapping = 0;
	return bpf_redirect(skb->ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
