// SPDX-License-Identifier: GPL-2.0
/*
 * The shard dataplane.
 *
 * sc_in_*: tc ingress of the NIC. Reads the rx queue the driver recorded,
 *   looks up the shard veth for it and redirects to that veth's EGRESS, so
 *   the frame passes the shard's own qdisc (its own root lock). Three
 *   lookup variants differ only in where the table lives (background.md).
 * sc_return: tc ingress of every veth peer. Sends the frame back out of the
 *   NIC.
 *
 * Frames without a recorded rx queue, or whose rx queue has no shard, are
 * counted and passed to the stack untouched: guessing a shard would hide a
 * driver that does not record rx queues.
 */
/*
 * uapi headers, not vmlinux.h: every __sk_buff field is then a fixed uapi
 * offset, not a CO-RE relocation, so loading needs no kernel BTF (libbpf
 * parsing it was 11.8 of setup's 15.1 MiB peak RSS at 64 shards).
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "bpf/shard.h"

#define TC_ACT_OK 0

/* Set by the loader before load. */
const volatile __u32 nic_ifindex = 0;
/* lookup benchmark floor: sc_in_bare always redirects here. */
const volatile __u32 bare_ifindex = 0;
/* lookup=const: the table is part of the program; the verifier sees it. */
const volatile __u32 const_shard[SC_MAX_RXQ] = {};

/* lookup=global: a plain global array, updated in place through the mmaped .bss. */
__u32 global_shard[SC_MAX_RXQ] = {};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SC_MAX_RXQ);
	__type(key, __u32);
	__type(value, __u32);
} rxq_shard SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SC_NR_STATS);
	__type(key, __u32);
	__type(value, struct sc_counter);
} stats SEC(".maps");

/* Never touched by the programs: setup's record, read by status/teardown. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sc_meta);
} meta SEC(".maps");

static __always_inline void count(__u32 slot, const struct __sk_buff *skb)
{
	struct sc_counter *c = bpf_map_lookup_elem(&stats, &slot);

	if (c) {
		c->packets++;
		c->bytes += skb->len;
	}
}

#define NO_RXQ 0xffffffffu

/*
 * skb->queue_mapping on ingress is rx queue + 1 when the driver recorded it
 * (skb_record_rx_queue), 0 otherwise. Returns the rx queue, or NO_RXQ after
 * counting why there is none.
 */
static __always_inline __u32 recorded_rxq(const struct __sk_buff *skb)
{
	__u32 qm = skb->queue_mapping;

	if (qm == 0) {
		count(SC_STAT_UNRECORDED, skb);
		return NO_RXQ;
	}
	if (qm > SC_MAX_RXQ) {
		count(SC_STAT_NO_SHARD, skb);
		return NO_RXQ;
	}
	/*
	 * The mask is a no-op after the check above, but it is what lets the
	 * verifier bound an index into a global array: clang may test one
	 * register and index with a copy of it.
	 */
	return (qm - 1) & (SC_MAX_RXQ - 1);
}

static __always_inline int redirect_to_shard(struct __sk_buff *skb, __u32 rxq, __u32 ifindex)
{
	if (!ifindex) {
		count(SC_STAT_NO_SHARD, skb);
		return TC_ACT_OK;
	}
	count(rxq, skb);
	/*
	 * Clear the recorded rx queue before the redirect. Left in place,
	 * skb_tx_hash() (net/core/dev.c) picks veth tx queue rxq % N for every
	 * frame of the shard, whatever its flow; cleared, the veth's tx queue
	 * follows the flow hash, so a multi-queue shard qdisc (mq) is used
	 * whole. (Cilium hit the same: cilium#18311, #18388.)
	 */
	skb->queue_mapping = 0;
	return bpf_redirect(ifindex, 0);
}

SEC("tc")
int sc_in_map(struct __sk_buff *skb)
{
	__u32 rxq = recorded_rxq(skb), *ifindex;

	if (rxq == NO_RXQ)
		return TC_ACT_OK;
	ifindex = bpf_map_lookup_elem(&rxq_shard, &rxq);
	return redirect_to_shard(skb, rxq, ifindex ? *ifindex : 0);
}

SEC("tc")
int sc_in_global(struct __sk_buff *skb)
{
	__u32 rxq = recorded_rxq(skb);

	if (rxq == NO_RXQ)
		return TC_ACT_OK;
	return redirect_to_shard(skb, rxq, global_shard[rxq & (SC_MAX_RXQ - 1)]);
}

SEC("tc")
int sc_in_const(struct __sk_buff *skb)
{
	__u32 rxq = recorded_rxq(skb);

	if (rxq == NO_RXQ)
		return TC_ACT_OK;
	return redirect_to_shard(skb, rxq, const_shard[rxq & (SC_MAX_RXQ - 1)]);
}

/* The floor for the lookup benchmark: no lookup, no stats, one redirect. */
SEC("tc")
int sc_in_bare(struct __sk_buff *skb)
{
	skb->queue_mapping = 0;
	return bpf_redirect(bare_ifindex, 0);
}

SEC("tc")
int sc_return(struct __sk_buff *skb)
{
	count(SC_STAT_RETURN, skb);
	/*
	 * veth_xmit() leaves the veth tx queue index (0-based) in
	 * queue_mapping; skb_tx_hash() on the NIC would read it as a recorded
	 * rx queue (index - 1) and pin each shard to one NIC tx queue, shifted
	 * by one. Cleared, the NIC picks its tx queue by XPS or flow hash, as
	 * for locally generated traffic.
	 */
	skb->queue_mapping = 0;
	return bpf_redirect(nic_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
