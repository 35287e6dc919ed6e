/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A device's egress qdisc tree over rtnetlink, read with statistics: what
 * status, contention and check show, and the rate limits mq would lose.
 * (mq.h swaps the root; qtree.h is the saved tree behind it.)
 *
 * Only the egress tree counts: ingress and clsact (parent ffff:fff1) are
 * left alone everywhere here, shardctl's own programs live there.
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

#endif
