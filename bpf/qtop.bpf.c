// SPDX-License-Identifier: GPL-2.0
/*
 * Per-queue rx/tx counters for `shardctl top` and `shardctl check`.
 *
 * tp_btf programs: the tracepoint arguments are typed BTF pointers, so the
 * skb and device fields are read with plain loads (no probe_read per field).
 * Attached only while the command runs; nothing is pinned.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "bpf/qtop.h"

char LICENSE[] SEC("license") = "GPL";

#define E2BIG 7	/* uapi errno; vmlinux.h carries no macros */

/* The caller's network namespace: one top traces devices of one namespace. */
const volatile __u32 netns_ino;

/* Nonzero at [ifindex]: traced. The common case, and the cheap one. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, QTOP_DIRECT_IFINDEX);
	__type(key, __u32);
	__type(value, __u8);
} qtop_direct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, QTOP_MAX_DEVS);
	__type(key, struct qtop_dev);
	__type(value, __u8);
} qtop_devs SEC(".maps");

/* Per-CPU: the hot path never bounces a cache line between CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, QTOP_MAX_SLOTS);
	__type(key, struct qtop_key);
	__type(value, struct qtop_val);
} qtop_counts SEC(".maps");

/* Slots that did not fit in qtop_counts: user space reports them. */
__u64 qtop_lost;

/*
 * Runs for every frame of every device on the host: the ifindex test
 * comes first and is an inlined array load; the namespace (three dependent
 * loads) is read only for devices that pass it.
 */
static __always_inline bool wanted(const struct net_device *dev)
{
	__u32 ifindex;
	__u8 *hit;

	if (!dev)
		return false;
	ifindex = dev->ifindex;
	if (ifindex < QTOP_DIRECT_IFINDEX) {
		hit = bpf_map_lookup_elem(&qtop_direct, &ifindex);
		if (!hit || !*hit)
			return false;
		return dev->nd_net.net->ns.inum == netns_ino;
	} else {
		struct qtop_dev k = { .netns_ino = netns_ino, .ifindex = ifindex };

		return bpf_map_lookup_elem(&qtop_devs, &k) &&
		       dev->nd_net.net->ns.inum == netns_ino;
	}
}

/*
 * GSO (tx) and GRO (rx) skbs stand for gso_segs wire frames; the shared info
 * sits at skb->head + skb->end (skb_shinfo(), 64-bit builds keep end as an
 * offset: NET_SKBUFF_DATA_USES_OFFSET).
 */
static __always_inline __u64 wire_frames(const struct sk_buff *skb)
{
	struct skb_shared_info *shinfo = (void *)(skb->head + skb->end);
	__u16 segs = 0;

	bpf_probe_read_kernel(&segs, sizeof(segs), &shinfo->gso_segs);
	return segs > 1 ? segs : 1;
}

static __always_inline void count(const struct net_device *dev, __u8 dir, __u16 queue,
				  __u64 bytes, __u64 frames)
{
	struct qtop_key k = { .ifindex = dev->ifindex, .queue = queue, .dir = dir };
	struct qtop_val *v, zero = {};

	v = bpf_map_lookup_elem(&qtop_counts, &k);
	if (!v) {
		if (bpf_map_update_elem(&qtop_counts, &k, &zero, BPF_NOEXIST) == -E2BIG) {
			__sync_fetch_and_add(&qtop_lost, 1);
			return;
		}
		v = bpf_map_lookup_elem(&qtop_counts, &k);
		if (!v)
			return;
	}
	v->packets += frames;
	v->bytes += bytes;
	v->skbs++;
}

/*
 * __netif_receive_skb_core() fires this once per skb after eth_type_trans()
 * pulled the Ethernet header (net/core/dev.c): add it back so rx and tx byte
 * counts start at the same place.
 */
SEC("tp_btf/netif_receive_skb")
int BPF_PROG(qtop_rx, struct sk_buff *skb)
{
	const struct net_device *dev = skb->dev;
	__u64 bytes = skb->len;

	if (!wanted(dev))
		return 0;
	if (skb->mac_header != (__u16)~0U)
		bytes += (long)(skb->data - skb->head) - skb->mac_header;
	count(dev, QTOP_DIR_RX, skb->queue_mapping, bytes, wire_frames(skb));
	return 0;
}

/* dev_hard_start_xmit() -> xmit_one(): once per skb handed to the driver. */
SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(qtop_tx, const struct sk_buff *skb, const struct net_device *dev)
{
	if (!wanted(dev))
		return 0;
	count(dev, QTOP_DIR_TX, skb->queue_mapping, skb->len, wire_frames(skb));
	return 0;
}
