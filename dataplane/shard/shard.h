/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shards: one veth pair per NIC rx queue, the NIC's ingress redirecting
 * each rx queue to its shard, each shard's peer returning frames to the
 * NIC. setup/status/teardown, all reading the truth back from the kernel:
 *
 *   devices   named from the NIC, ifalias "shardctl nic=IFINDEX shard=I role=R",
 *             link group SC_GROUP_BASE | NIC ifindex
 *   bpffs     /sys/fs/bpf/shardctl/<netns cookie>/<NIC ifindex>/ holds the maps
 *             (rxq_shard, stats, meta, bss) and, with tcx, the links
 *             (ingress, return_<i>). Keyed by the netns cookie because bpffs is
 *             shared between network namespaces and device names are not.
 *   lock      /run/shardctl/<cookie>-<ifindex>.lock serialises changes to one NIC
 */
#ifndef SC_SHARD_H
#define SC_SHARD_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "bpf/shard.h"

#define SC_BPFFS "/sys/fs/bpf"
#define SC_PIN_ROOT SC_BPFFS "/shardctl"
#define SC_GROUP_BASE 0x5c000000u
#define SC_ALIAS_PREFIX "shardctl "
#define SC_MAX_TX_QUEUES 4096

struct sc_setup_opts {
	const char *dev;
	unsigned int tx_queues;		/* per veth end; 0 = the NIC's active tx queues */
	unsigned int nr_shards;		/* 0 = one per rx queue; else rx queue i -> shard i % K */
	int attach;			/* SC_ATTACH_AUTO, SC_ATTACH_TCX, SC_ATTACH_TC */
	enum sc_lookup lookup;
	const char *shard_qdisc;	/* root qdisc spec for every shard veth (qspec.h), or NULL */
	const char *shard_prog;		/* FILE.o[:SECTION] run at every shard's egress, or NULL */
	bool force;			/* take over a device with addresses / the default route */
	bool dry_run;
};

struct sc_shard {
	unsigned int index;
	char name[IF_NAMESIZE];		/* egress end: the redirect target, carries the shard qdisc */
	char peer[IF_NAMESIZE];		/* return end: its ingress sends frames back to the NIC */
	int ifindex, peer_ifindex;	/* 0 when missing */
	bool up, peer_up;
	bool return_attached;
	unsigned int tx_queues;
	uint32_t mtu, peer_mtu;
	char qdisc[16];			/* root qdisc kind of the egress end ("" = noqueue) */
	uint64_t q_packets, q_drops, q_overlimits, q_requeues, q_backlog, q_qlen;
	char egress_prog[16];		/* program at the egress end's egress hook, "" for none */
	/*
	 * Redirected to this shard: the ingress program counts per rx queue,
	 * so this is the sum over the rx queues mapped to the shard NOW (after
	 * a remap, earlier frames move with their queue). veth_tx_packets is
	 * the shard's own history.
	 */
	uint64_t packets, bytes;
	uint64_t veth_tx_packets;	/* the egress end's own counter (an independent observer) */
	uint64_t peer_rx_packets;
};

struct sc_rxq {
	unsigned int rxq;
	unsigned int shard;		/* index into shards[], or UINT_MAX when unmapped */
	int ifindex;			/* what the lookup table holds */
	uint64_t packets, bytes;
};

struct sc_state {
	char dev[IF_NAMESIZE];
	int ifindex;
	uint64_t netns_cookie;
	char pin_dir[PATH_MAX];
	unsigned int nr_rxq, nr_txq;	/* rx: the queues the setup covers; tx: the NIC's now */
	unsigned int nic_rxq;		/* the NIC's active rx queues now (0: unknown, e.g. down) */
	/* setup: what the setup had before this call (0, 0 for a first setup) */
	unsigned int was_rxq, was_shards;
	int replaced;			/* setup: the gone NIC of this name whose setup it removed */
	uint32_t mtu;			/* the NIC's */
	unsigned int tx_queues;
	unsigned int nr_shards;
	int attach;			/* enum sc_attach */
	enum sc_lookup lookup;
	uint32_t group;
	char shard_qdisc[128];		/* as requested at setup */
	char shard_prog[128];
	bool ingress_attached;		/* a sc_in_* program is at the NIC's ingress */
	uint32_t ingress_prog_id;
	uint64_t ingress_run_ns;	/* kernel.bpf_stats_enabled totals (0 while disabled) */
	uint64_t ingress_run_cnt;
	bool complete;			/* setup finished and everything is in place */
	bool changed;			/* setup/teardown: did this call change anything */
	struct sc_shard *shards;	/* nr_shards */
	struct sc_rxq *rxqs;		/* nr_rxq */
	uint64_t unrecorded_packets;	/* frames without a recorded rx queue, passed to the stack */
	uint64_t no_shard_packets;	/* rx queue without a shard, passed to the stack */
	uint64_t returned_packets;	/* sent back to the NIC by the peers' program */
	double spread_max_mean;		/* busiest shard / mean shard, 1.0 = even; 0 without traffic */
	double spread_cv;		/* coefficient of variation of per-shard packets */
	char problem[256];		/* first inconsistency found by status, "" when none */
};

const char *sc_lookup_name(enum sc_lookup l);
int sc_lookup_parse(const char *s, enum sc_lookup *out);
const char *sc_attach_name(int a);
int sc_attach_parse(const char *s, int *out);

/*
 * Whether NIC @nic's setup record is pinned (one stat): with cls_bpf the
 * ingress program outlives its pins, so only this shows them removed.
 */
bool sc_shard_pinned(uint64_t cookie, int nic);

/* The link group every shard device of NIC @nic (ifindex) carries. */
uint32_t sc_shard_group(int nic);
struct sc_nl;
/* Whether one of shardctl's ingress programs is attached to NIC @nic (tcx or cls_bpf). */
bool sc_shard_ingress_attached(struct sc_nl *nl, int nic);
/*
 * The devices setup made for NIC @nic (both veth ends of every shard),
 * found by their link group and ifalias: *n == 0 when it is not set up.
 * @nl may be NULL (one is opened). free(*out).
 */
int sc_shard_devices(struct sc_nl *nl, int nic, uint32_t **out, unsigned int *n);

/*
 * After a setup that followed the NIC (@st->was_* differ from now): "followed
 * the NIC: 4 rx queues / 4 shards -> 6 rx queues / 6 shards"; false (and
 * @buf empty) when it did not.
 */
bool sc_state_followed(const struct sc_state *st, char *buf, size_t len);

/* Deterministic shard device names for @dev (within IFNAMSIZ). */
void sc_shard_names(const char *dev, unsigned int index, char *name, char *peer);

/*
 * Build the shards for opts->dev, or complete a half-done setup; with
 * dry_run only fill @out with the plan. Rolls back what it created on
 * failure. @out is filled on success (free with sc_state_free()).
 */
int sc_setup(const struct sc_setup_opts *opts, struct sc_state *out);

/* Point rx queue @rxq at shard @shard while traffic flows. */
int sc_remap(const char *dev, unsigned int rxq, unsigned int shard);

/*
 * What is set up in this network namespace: for @dev only, or all NICs
 * (dev == NULL). *n == 0 when nothing is set up. Free with sc_states_free().
 */
int sc_status(const char *dev, struct sc_state **out, int *n);

/*
 * Remove everything setup created for @dev (NULL: every NIC), ingress
 * first. Succeeds when nothing is set up. *out lists what was (or, with
 * dry_run, would be) removed.
 */
enum {
	SC_TEARDOWN_DRY_RUN = 1 << 0,
	SC_TEARDOWN_FORCE = 1 << 1,	/* also while a shardctl watch keeps the device */
};
int sc_teardown(const char *dev, unsigned int flags, struct sc_state **out, int *n);

/* The claim a `shardctl watch` holds on @dev (dataplane/kernel/lock.h, sc_claim()). */
void sc_watch_claim_name(char *buf, size_t len, uint64_t cookie, const char *dev);

void sc_state_free(struct sc_state *s);
void sc_states_free(struct sc_state *s, int n);

#endif
