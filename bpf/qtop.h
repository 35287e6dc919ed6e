/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Contract between bpf/qtop.bpf.c and dataplane/observe/top.c: per-queue packet and
 * byte counters taken at the net:netif_receive_skb (rx) and
 * net:net_dev_start_xmit (tx) tracepoints, for the devices user space lists
 * in the filter map. Counters only grow; user space takes deltas.
 */
#ifndef SC_QTOP_H
#define SC_QTOP_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define QTOP_DIR_RX 0
#define QTOP_DIR_TX 1

/* Devices traced at once (DEV plus its shard veths, both ends). */
#define QTOP_MAX_DEVS 1024
/*
 * ifindexes below this are looked up in a plain array (the verifier inlines
 * the lookup: no helper call, no hashing), larger ones in the hash.
 */
#define QTOP_DIRECT_IFINDEX 65536
/* (device, direction, queue) slots: 2 * 256 queues for 64 devices fit. */
#define QTOP_MAX_SLOTS 32768

/*
 * Filter key for ifindexes >= QTOP_DIRECT_IFINDEX. ifindex alone is
 * ambiguous: every network namespace numbers its devices from 1 and the
 * tracepoints fire for all of them, so the namespace's inode number (what
 * stat(/proc/self/ns/net) shows) is checked too.
 */
struct qtop_dev {
	__u32 netns_ino;
	__u32 ifindex;
};

/*
 * queue is skb->queue_mapping as the tracepoint saw it, untranslated: on tx
 * the tx queue; on rx the recorded rx queue + 1, 0 meaning "not recorded"
 * (skb_record_rx_queue(), include/linux/skbuff.h).
 */
struct qtop_key {
	__u32 ifindex;
	__u16 queue;
	__u8 dir;
	__u8 pad;
};

struct qtop_val {
	__u64 packets;	/* wire frames: gso_segs of a GSO/GRO skb, else 1 */
	__u64 bytes;	/* frame length from the Ethernet header on */
	__u64 skbs;	/* tracepoint hits */
};

#endif
