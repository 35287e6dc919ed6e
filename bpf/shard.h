/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The contract between bpf/shard.bpf.c and dataplane/shard/shard.c: sizes, stats
 * layout and the metadata record. Compiled by both clang -target bpf (with
 * vmlinux.h) and the host compiler (with <linux/types.h>).
 */
#ifndef SC_BPF_SHARD_H
#define SC_BPF_SHARD_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Rx queues a NIC may have and still be sharded; a power of two (the BPF side masks with it). */
#define SC_MAX_RXQ 256

/* Extra slots after the per-rx-queue ones in the stats map. */
enum {
	SC_STAT_UNRECORDED = SC_MAX_RXQ,	/* queue_mapping == 0: driver recorded no rx queue */
	SC_STAT_NO_SHARD,			/* rx queue with no shard (beyond the table, or 0) */
	SC_STAT_RETURN,				/* frames sent back from the veth peers to the NIC */
	SC_NR_STATS,
};

struct sc_counter {
	__u64 packets;
	__u64 bytes;
};

enum sc_lookup {
	SC_LOOKUP_MAP = 0,	/* BPF array map: updatable at run time */
	SC_LOOKUP_GLOBAL = 1,	/* global array in .bss, updated through the mmaped map */
	SC_LOOKUP_CONST = 2,	/* .rodata array frozen at load: remap reloads the program */
	SC_LOOKUP_BARE = 3,	/* no lookup, every frame to shard 0: the benchmark's floor */
};


#define SC_META_MAGIC 0x53484152u	/* "SHAR" */
#define SC_META_VERSION 1u

/* meta.flags */
#define SC_META_CLSACT_OURS (1u << 0)	/* setup created DEV's clsact qdisc: teardown removes it */
#define SC_META_COMPLETE (1u << 1)	/* the ingress redirect was enabled: setup finished */

/*
 * One record in the pinned "meta" map: what setup asked for, kept in the
 * kernel next to the maps so status and teardown need no file of their own.
 * Everything else status shows is read back from links and attachments.
 */
struct sc_meta {
	__u32 magic;
	__u32 version;
	__u32 nic_ifindex;
	__u32 nr_rxq;		/* the NIC's active rx queues at setup */
	__u32 nr_shards;
	__u32 tx_queues;	/* per veth end */
	__u32 attach;		/* enum sc_attach (dataplane/kernel/attach.h): TCX or TC */
	__u32 lookup;		/* enum sc_lookup */
	__u32 group;		/* link group carried by every shard device */
	__u32 flags;
	char nic_name[16];
	char shard_qdisc[128];	/* canonical --shard-qdisc spec, "" for none */
	char shard_prog[128];	/* --shard-prog FILE[:SECTION], "" for none */
};

#endif
