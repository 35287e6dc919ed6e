/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mq: swap a device's root qdisc for mq (one child qdisc and lock per tx
 * queue), and put the original back.
 *
 * Saved state is root-only, under /run/shardctl/, named after the network
 * namespace cookie and the ifindex: /run and bpffs are shared by every
 * network namespace, so two namespaces' "nic0" must not share a file, and a
 * cookie, unlike the namespace's inode number, is never reused. It
 * holds the RTM_NEWQDISC/NEWTCLASS/NEWTFILTER messages exactly as the
 * kernel dumped them; --revert replays them.
 */
#ifndef SC_MQ_H
#define SC_MQ_H

#include "dataplane/kernel/qdisc.h"

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
int sc_mq_state_path(int ifindex, char *buf, size_t len);

#endif
