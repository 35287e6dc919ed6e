// SPDX-License-Identifier: GPL-2.0
/* Two tiny tc programs for --shard-prog tests: one passes, one drops. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int eg_pass(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("tc")
int eg_drop(struct __sk_buff *skb)
{
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
