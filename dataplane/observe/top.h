/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-queue packet/byte rates of chosen devices, counted by BPF programs on
 * the net:netif_receive_skb (rx) and net:net_dev_start_xmit (tx) tracepoints
 * (bpf/qtop.bpf.c). The programs exist only between sc_top_open() and
 * sc_top_close(): nothing is pinned, nothing stays behind.
 *
 * Why these differ from driver counters (/proc/net/dev, ip -s link):
 *  - rx is counted where the stack takes the skb (__netif_receive_skb_core),
 *    after the driver: frames the driver or XDP dropped never show, and RPS
 *    moves the count to the CPU that processes it;
 *  - tx is counted when the qdisc layer hands the skb to the driver
 *    (xmit_one): frames dropped by the qdisc never show, frames the driver
 *    returns NETDEV_TX_BUSY for show again when requeued;
 *  - a GSO/GRO skb counts gso_segs packets; bytes are skb bytes from the
 *    Ethernet header on (no FCS, and a GSO skb's headers counted once);
 *  - the counters start when the command starts, per queue, which drivers
 *    of software devices (tun, veth) do not offer at all.
 */
#ifndef SC_TOP_H
#define SC_TOP_H

#include <stdint.h>
#include <net/if.h>

enum sc_top_dir {
	SC_TOP_RX = 0,
	SC_TOP_TX = 1,
};

/* rx only: the driver did not record an rx queue (skb->queue_mapping == 0). */
#define SC_TOP_QUEUE_UNRECORDED (-1)

struct sc_top_queue {
	uint32_t ifindex;
	enum sc_top_dir dir;
	int queue;			/* rx queue or tx queue, 0-based */
	uint64_t packets, bytes;	/* since sc_top_open() */
	uint64_t delta_packets, delta_bytes;	/* since the previous sample */
	double pps, bps, avg_bytes;	/* bps in bits per second */
};

/* One device in one direction: totals and how evenly its queues share it. */
struct sc_top_group {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
	enum sc_top_dir dir;
	unsigned int active_queues;	/* kernel's real_num_*_queues; 0 = unknown */
	unsigned int nr_queues;		/* queues in the balance figures */
	uint64_t packets, bytes, delta_packets, delta_bytes;
	double pps, bps, avg_bytes;
	double max_mean;		/* busiest queue's pps / mean pps; 0 when idle */
	double cv;			/* coefficient of variation of per-queue pps */
};

struct sc_top_report {
	double interval_s;		/* measured, CLOCK_MONOTONIC */
	uint64_t lost;			/* counter slots the map had no room for */
	unsigned int nr_queues;
	struct sc_top_queue *queues;	/* sorted by ifindex, dir, queue */
	unsigned int nr_groups;
	struct sc_top_group *groups;	/* one per (device, dir), every traced device */
};

struct sc_top;

/*
 * Load and attach the counters for @ifindexes (the caller's network
 * namespace; at least one). The first sc_top_sample() is the baseline.
 */
int sc_top_open(const uint32_t *ifindexes, unsigned int n, struct sc_top **out);
/* Counters now, rates since the previous call (zero rates on the first call). */
int sc_top_sample(struct sc_top *t, struct sc_top_report *out);
void sc_top_report_free(struct sc_top_report *r);
void sc_top_close(struct sc_top *t);

/*
 * Balance of @n per-queue rates: busiest / mean, and stddev / mean
 * (population). Both 0 when the sum is 0 or n == 0.
 */
void sc_top_imbalance(const double *rates, unsigned int n, double *max_mean, double *cv);

const char *sc_top_dir_name(enum sc_top_dir dir);

#endif
