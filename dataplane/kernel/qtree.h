/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Library-internal: the tc message parser and message lists that qdisc.c,
 * qtree.c and mq.c share, and the saved egress tree (qdiscs root first,
 * classes, the filters of every qdisc and class) as the kernel dumped it.
 */
#ifndef SC_QTREE_H
#define SC_QTREE_H

#include <stdint.h>
#include <net/if.h>
#include <linux/rtnetlink.h>

#include "dataplane/kernel/qdisc.h"

struct nlattr;
struct nlmsghdr;

struct sc_tc_obj {
	const struct tcmsg *tcm;
	char kind[SC_QDISC_KIND_LEN];
	struct nlattr *tb[TCA_MAX + 1];
};

struct sc_msgs {
	struct nlmsghdr **v;
	int n, cap;
};

struct sc_qtree {
	struct sc_msgs qdiscs, classes, filters;
};

/* The state file's header; the messages follow, NLMSG_ALIGNed. */
struct sc_qtree_hdr {
	char magic[8];
	uint32_t version;
	uint32_t ifindex;
	uint64_t netns_cookie;
	char ifname[IF_NAMESIZE];
	uint32_t mq_handle;	/* 0 while the swap is in progress */
	uint32_t nr_qdiscs, nr_classes, nr_filters;
	uint32_t bytes;		/* messages after the header */
	uint32_t pad;
};

/* A tc message's header, kind and top-level attributes; -EINVAL if malformed. */
int sc_tc_parse(struct nlmsghdr *nlh, struct sc_tc_obj *o);

int sc_msgs_add(struct sc_msgs *m, const struct nlmsghdr *nlh);
void sc_msgs_free(struct sc_msgs *m);
/* Move the root qdisc (parent TC_H_ROOT) to the front. */
void sc_msgs_root_first(struct sc_msgs *m);
/* Append @ifindex's egress objects of dump @type (under @parent) to @out. */
int sc_tc_dump(struct sc_nl *nl, int type, int ifindex, uint32_t parent, struct sc_msgs *out);

int sc_qtree_dump(struct sc_nl *nl, int ifindex, struct sc_qtree *t);
void sc_qtree_free(struct sc_qtree *t);
/* htb classes and tbf qdiscs of @t; *out malloc'ed. */
int sc_qtree_rates(const struct sc_qtree *t, struct sc_qdisc_rate **out, int *n);

int sc_qtree_save(const char *path, const char *dev, int ifindex, const struct sc_qtree *t,
		  uint32_t mq_handle);
int sc_qtree_load(const char *path, struct sc_qtree_hdr *h, struct sc_qtree *t);

struct sc_qtree_count {
	unsigned int qdiscs, classes, filters;
};

/* Put @t back on @ifindex, root first; @done counts what was sent. */
int sc_qtree_replay(struct sc_nl *nl, const struct sc_qtree *t, int ifindex, const char *dev,
		    struct sc_qtree_count *done);
/* Dump @ifindex again and compare with @want, object by object. */
int sc_qtree_verify(struct sc_nl *nl, const struct sc_qtree *want, int ifindex, const char *dev);

#endif
