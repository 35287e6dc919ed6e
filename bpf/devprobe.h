/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Contract between bpf/devprobe.bpf.c and dataplane/doctor/check.c: device facts
 * that no netlink message carries, read from struct net_device by a tc
 * program run once through BPF_PROG_TEST_RUN on the device.
 */
#ifndef SC_DEVPROBE_H
#define SC_DEVPROBE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct devprobe_out {
	__u32 ifindex;			/* the device the kernel gave the skb (0: none) */
	__u32 real_num_tx_queues;
	__u32 real_num_rx_queues;
	__u32 lltx_known;		/* 0 when this kernel has neither form of the flag */
	__u32 lltx;			/* tx-lockless: no _xmit_lock in HARD_TX_LOCK */
};

#endif
