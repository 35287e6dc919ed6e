/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A device's egress qdisc tree over rtnetlink: read it with statistics,
 * swap its root for mq (one child qdisc and lock per tx queue), and put the
 * original back.
 *
 * Only the egress tree counts: ingress and clsact (parent ffff:fff1) are
 * left alone everywhere here, shardctl's own programs live there.
 *
 * Saved state is root-only, under /run/shardctl/, named after the network
 * namespace cookie and the ifindex: /run and bpffs are shared by every
 * network namespace, so two namespaces' "nic0" must not share a file, and a
 * cookie, unlike the namespace's inode number, is never reused. It
 * holds the RTM_NEWQDISC/NEWTCLASS/NEWTFILTER messages exactly as the
 * kernel dumped them; --revert replays them.
 */
#ifndef SC_QDISC_H
#define SC_QDISC_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

struct sc_nl;

#define SC_QDISC_KIND_LEN 16

struct sc_qdisc_info {
	char kind[SC_QDISC_KIND_LEN];
	uint32_t handle;	/* maj:0, 0 for a default (unnamed) qdisc */
	uint32_t parent;	/* TC_H_ROOT for the root */
	bool root;
	/* Counters (deltas after sc_qdisc_delta()). */
	uint64_t packets;
	uint64_t bytes;
	uint64_t drops;
	uint64_t overlimits;
	uint64_t requeues;
	/* Gauges: always the latest value. */
	uint64_t backlog;	/* bytes */
	uint64_t qlen;		/* packets */
};

/*
 * @ifindex's egress qdiscs in the current network namespace: the root first,
 * then its visible children in dump order. *out is malloc'ed (free()); an
 * interface without qdiscs gives *n == 0. -ENODEV if @ifindex is unknown.
 */
int sc_qdisc_list(struct sc_nl *nl, int ifindex, struct sc_qdisc_info **out, int *n);
/*
 * Counters of @after minus @before, matched by (handle, parent, kind);
 * a qdisc absent from @before keeps its absolute counters. Gauges from @after.
 */
int sc_qdisc_delta(const struct sc_qdisc_info *before, int nb, const struct sc_qdisc_info *after,
		   int na, struct sc_qdisc_info **out, int *n);
/* "1:", "1:a", "root", "0:" for TC handles, as tc prints them. */
void sc_qdisc_handle_str(uint32_t handle, char *buf, size_t len);

/* A device-wide rate limit mq would lose. */
struct sc_qdisc_rate {
	char kind[SC_QDISC_KIND_LEN];	/* htb, tbf */
	uint32_t handle;		/* the qdisc (tbf) or class (htb) that limits */
	uint64_t rate;			/* bytes/s */
	uint64_t ceil;			/* bytes/s (htb ceil; tbf: rate) */
};

/* htb classes and tbf qdiscs in @ifindex's egress tree. *out malloc'ed. */
int sc_qdisc_rate_limits(struct sc_nl *nl, int ifindex, struct sc_qdisc_rate **out, int *n);

enum {
	SC_MQ_FORCE = 1 << 0,	/* replace even if rate limits or BPF filters are lost */
	SC_MQ_CHECK = 1 << 1,	/* install: every refusal check, then stop (changes nothing) */
};

struct sc_mq_result {
	char old_kind[SC_QDISC_KIND_LEN];
	uint32_t old_handle;
	uint32_t mq_handle;
	unsigned int children;		/* per-queue children of the new mq */
	char child_kind[SC_QDISC_KIND_LEN];	/* "" = the kernel's default */
	unsigned int saved_qdiscs, saved_classes, saved_filters;
	unsigned int lost_filters;	/* with SC_MQ_FORCE: filters --revert cannot restore */
	int nr_rates;
	struct sc_qdisc_rate *rates;	/* limits lost with SC_MQ_FORCE; free() */
	char state_path[128];
};

/*
 * Replace @dev's root qdisc with mq, each active tx queue getting a @child
 * qdisc (NULL = the kernel default) with the kind's default parameters.
 * Saves the old tree first; any failure after that puts it back. Refuses
 * (-EOPNOTSUPP) a single-queue device, (-EEXIST) a device already switched
 * by a previous call, (-EALREADY) an mq root, and without SC_MQ_FORCE
 * (-EPERM) a tree with device-wide rate limits or filters it cannot replay.
 */
int sc_qdisc_mq_install(const char *dev, const char *child, unsigned int flags,
			struct sc_mq_result *res);

struct sc_mq_revert {
	char kind[SC_QDISC_KIND_LEN];	/* the restored root */
	uint32_t handle;
	unsigned int qdiscs, classes, filters;	/* replayed */
	char state_path[128];
};

/*
 * Put back the tree saved by sc_qdisc_mq_install() and remove the state.
 * -ENOENT when @dev has no saved state; -EBUSY (unless SC_MQ_FORCE) when the
 * root is no longer the mq that install left. The restored tree is dumped
 * again and compared with the saved one; a difference is an error and the
 * state file is kept.
 */
int sc_qdisc_mq_revert(const char *dev, unsigned int flags, struct sc_mq_revert *res);

/* Path of @ifindex's state file in the current network namespace. */
int sc_qdisc_state_path(int ifindex, char *buf, size_t len);

#endif
