// SPDX-License-Identifier: GPL-2.0
/*
 * Egress qdisc trees over rtnetlink: the tc message parser and dump lists
 * the saved-tree and mq code share, listing with statistics and deltas,
 * and the device-wide rate limits of a tree.
 */
#include <linux/gen_stats.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>

#include "dataplane/kernel/error.h"
#include "dataplane/kernel/nl.h"
#include "dataplane/kernel/qdisc.h"
#include "dataplane/kernel/qtree.h"

/* ---- parsing -------------------------------------------------------------- */


int sc_tc_parse(struct nlmsghdr *nlh, struct sc_tc_obj *o)
{
	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct tcmsg)))
		return -EINVAL;
	o->tcm = nlmsg_data(nlh);
	if (nlmsg_parse(nlh, sizeof(struct tcmsg), o->tb, TCA_MAX, NULL) < 0)
		return -EINVAL;
	o->kind[0] = '\0';
	if (o->tb[TCA_KIND])
		snprintf(o->kind, sizeof(o->kind), "%s", nla_get_string(o->tb[TCA_KIND]));
	return 0;
}

/* The egress tree only: ingress/clsact hang off TC_H_INGRESS (ffff:fff1). */
static bool egress(const struct tcmsg *tcm)
{
	return tcm->tcm_parent != TC_H_INGRESS && TC_H_MAJ(tcm->tcm_handle) != TC_H_MAJ(TC_H_INGRESS);
}

static void copy_attr(void *dst, size_t dst_len, const struct nlattr *a)
{
	size_t n = (size_t)nla_len(a) < dst_len ? (size_t)nla_len(a) : dst_len;

	memset(dst, 0, dst_len);
	memcpy(dst, nla_data(a), n);
}

static void parse_stats(const struct sc_tc_obj *o, struct sc_qdisc_info *q)
{
	struct nlattr *st[TCA_STATS_MAX + 1];

	if (o->tb[TCA_STATS2] && nla_parse_nested(st, TCA_STATS_MAX, o->tb[TCA_STATS2], NULL) == 0) {
		struct gnet_stats_basic b;
		struct gnet_stats_queue qs;

		if (st[TCA_STATS_BASIC]) {
			copy_attr(&b, sizeof(b), st[TCA_STATS_BASIC]);
			q->bytes = b.bytes;
			q->packets = b.packets;
		}
		/* Present only once packets overflowed the 32-bit field (net/core/gen_stats.c). */
		if (st[TCA_STATS_PKT64])
			q->packets = nla_get_u64(st[TCA_STATS_PKT64]);
		if (st[TCA_STATS_QUEUE]) {
			copy_attr(&qs, sizeof(qs), st[TCA_STATS_QUEUE]);
			q->qlen = qs.qlen;
			q->backlog = qs.backlog;
			q->drops = qs.drops;
			q->requeues = qs.requeues;
			q->overlimits = qs.overlimits;
		}
	} else if (o->tb[TCA_STATS]) {
		struct tc_stats s;

		copy_attr(&s, sizeof(s), o->tb[TCA_STATS]);
		q->bytes = s.bytes;
		q->packets = s.packets;
		q->drops = s.drops;
		q->overlimits = s.overlimits;
		q->qlen = s.qlen;
		q->backlog = s.backlog;
	}
}

/* ---- raw message lists ----------------------------------------------------- */


int sc_msgs_add(struct sc_msgs *m, const struct nlmsghdr *nlh)
{
	struct nlmsghdr *copy;

	if (m->n == m->cap) {
		int cap = m->cap ? 2 * m->cap : 32;
		void *p = realloc(m->v, cap * sizeof(*m->v));

		if (!p)
			return -ENOMEM;
		m->v = p;
		m->cap = cap;
	}
	copy = malloc(nlh->nlmsg_len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, nlh, nlh->nlmsg_len);
	m->v[m->n++] = copy;
	return 0;
}

void sc_msgs_free(struct sc_msgs *m)
{
	for (int i = 0; i < m->n; i++)
		free(m->v[i]);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

struct collect_arg {
	int ifindex;
	struct sc_msgs *out;
};

static int collect_one(struct nlmsghdr *nlh, void *arg)
{
	struct collect_arg *c = arg;
	struct tcmsg *tcm;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*tcm)))
		return 0;
	tcm = nlmsg_data(nlh);
	if (tcm->tcm_ifindex != c->ifindex || !egress(tcm))
		return 0;
	return sc_msgs_add(c->out, nlh);
}

int sc_tc_dump(struct sc_nl *nl, int type, int ifindex, uint32_t parent, struct sc_msgs *out)
{
	struct collect_arg c = { .ifindex = ifindex, .out = out };

	struct tcmsg tcm = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = parent };

	return sc_nl_dump(nl, type, &tcm, sizeof(tcm), collect_one, &c);
}

void sc_msgs_root_first(struct sc_msgs *m)
{
	for (int i = 1; i < m->n; i++) {
		const struct tcmsg *tcm = nlmsg_data(m->v[i]);

		if (tcm->tcm_parent == TC_H_ROOT) {
			struct nlmsghdr *root = m->v[i];

			memmove(&m->v[1], &m->v[0], i * sizeof(*m->v));
			m->v[0] = root;
			return;
		}
	}
}

/* ---- listing ------------------------------------------------------------------ */

static void info_from(const struct sc_tc_obj *o, struct sc_qdisc_info *q)
{
	memset(q, 0, sizeof(*q));
	snprintf(q->kind, sizeof(q->kind), "%s", o->kind);
	q->handle = o->tcm->tcm_handle;
	q->parent = o->tcm->tcm_parent;
	q->root = q->parent == TC_H_ROOT;
	parse_stats(o, q);
}

int sc_qdisc_list(struct sc_nl *nl, int ifindex, struct sc_qdisc_info **out, int *n)
{
	struct sc_msgs m = { 0 };
	struct sc_qdisc_info *v = NULL;
	struct sc_link link;
	int err, i;

	*out = NULL;
	*n = 0;
	err = sc_nl_link_by_index(nl, ifindex, &link);
	if (err)
		return err;
	err = sc_tc_dump(nl, RTM_GETQDISC, ifindex, 0, &m);
	if (err) {
		err = sc_errf(err, "ifindex %d: qdisc dump: %s", ifindex, strerror(-err));
		goto out;
	}
	sc_msgs_root_first(&m);
	v = calloc(m.n ? m.n : 1, sizeof(*v));
	if (!v) {
		err = sc_errf(ENOMEM, "ifindex %d: out of memory", ifindex);
		goto out;
	}
	for (i = 0; i < m.n; i++) {
		struct sc_tc_obj o;

		if (sc_tc_parse(m.v[i], &o)) {
			err = sc_errf(EPROTO, "ifindex %d: malformed qdisc message", ifindex);
			free(v);
			goto out;
		}
		info_from(&o, &v[i]);
	}
	*out = v;
	*n = m.n;
out:
	sc_msgs_free(&m);
	return err;
}

int sc_qdisc_delta(const struct sc_qdisc_info *before, int nb, const struct sc_qdisc_info *after,
		   int na, struct sc_qdisc_info **out, int *n)
{
	struct sc_qdisc_info *d = calloc(na ? na : 1, sizeof(*d));

	if (!d)
		return sc_errf(ENOMEM, "qdisc delta: out of memory");
	for (int i = 0; i < na; i++) {
		const struct sc_qdisc_info *a = &after[i], *b = NULL;

		d[i] = *a;
		for (int j = 0; j < nb && !b; j++)
			if (before[j].handle == a->handle && before[j].parent == a->parent &&
			    !strcmp(before[j].kind, a->kind))
				b = &before[j];
		if (!b)
			continue;
		/* packets may be the 32-bit dump field on one side only; never go negative. */
		d[i].packets = a->packets >= b->packets ? a->packets - b->packets : 0;
		d[i].bytes = a->bytes >= b->bytes ? a->bytes - b->bytes : 0;
		d[i].drops = (uint32_t)(a->drops - b->drops);
		d[i].overlimits = (uint32_t)(a->overlimits - b->overlimits);
		d[i].requeues = (uint32_t)(a->requeues - b->requeues);
	}
	*out = d;
	*n = na;
	return 0;
}

void sc_qdisc_handle_str(uint32_t handle, char *buf, size_t len)
{
	if (handle == TC_H_ROOT)
		snprintf(buf, len, "root");
	else if (handle == TC_H_UNSPEC)
		snprintf(buf, len, "0:");
	else if (TC_H_MIN(handle))
		snprintf(buf, len, "%x:%x", TC_H_MAJ(handle) >> 16, TC_H_MIN(handle));
	else
		snprintf(buf, len, "%x:", TC_H_MAJ(handle) >> 16);
}

/* ---- rate limits ------------------------------------------------------------- */

static int rate_of(const struct sc_tc_obj *o, struct sc_qdisc_rate *r)
{
	struct nlattr *opt[TCA_HTB_MAX + 1 > TCA_TBF_MAX + 1 ? TCA_HTB_MAX + 1 : TCA_TBF_MAX + 1];

	if (!o->tb[TCA_OPTIONS])
		return 0;
	memset(r, 0, sizeof(*r));
	snprintf(r->kind, sizeof(r->kind), "%s", o->kind);
	r->handle = o->tcm->tcm_handle;
	if (!strcmp(o->kind, "htb")) {
		struct tc_htb_opt h;

		if (nla_parse_nested(opt, TCA_HTB_MAX, o->tb[TCA_OPTIONS], NULL) ||
		    !opt[TCA_HTB_PARMS])
			return 0;
		copy_attr(&h, sizeof(h), opt[TCA_HTB_PARMS]);
		r->rate = opt[TCA_HTB_RATE64] ? nla_get_u64(opt[TCA_HTB_RATE64]) : h.rate.rate;
		r->ceil = opt[TCA_HTB_CEIL64] ? nla_get_u64(opt[TCA_HTB_CEIL64]) : h.ceil.rate;
		return 1;
	}
	if (!strcmp(o->kind, "tbf")) {
		struct tc_tbf_qopt t;

		if (nla_parse_nested(opt, TCA_TBF_MAX, o->tb[TCA_OPTIONS], NULL) ||
		    !opt[TCA_TBF_PARMS])
			return 0;
		copy_attr(&t, sizeof(t), opt[TCA_TBF_PARMS]);
		r->rate = opt[TCA_TBF_RATE64] ? nla_get_u64(opt[TCA_TBF_RATE64]) : t.rate.rate;
		r->ceil = r->rate;
		return 1;
	}
	return 0;
}

int sc_qtree_rates(const struct sc_qtree *t, struct sc_qdisc_rate **out, int *n)
{
	struct sc_qdisc_rate *v = calloc(t->qdiscs.n + t->classes.n + 1, sizeof(*v));
	const struct sc_msgs *lists[] = { &t->qdiscs, &t->classes };
	int k = 0;

	if (!v)
		return -ENOMEM;
	for (int l = 0; l < 2; l++) {
		for (int i = 0; i < lists[l]->n; i++) {
			struct sc_tc_obj o;

			/* htb qdiscs carry no rate; their classes and tbf qdiscs do. */
			if (sc_tc_parse(lists[l]->v[i], &o) || (l == 0 && strcmp(o.kind, "tbf")))
				continue;
			k += rate_of(&o, &v[k]);
		}
	}
	*out = v;
	*n = k;
	return 0;
}

int sc_qdisc_rate_limits(struct sc_nl *nl, int ifindex, struct sc_qdisc_rate **out, int *n)
{
	struct sc_qtree t;
	int err;

	*out = NULL;
	*n = 0;
	err = sc_qtree_dump(nl, ifindex, &t);
	if (err)
		return sc_errf(err, "ifindex %d: qdisc dump: %s", ifindex, strerror(-err));
	err = sc_qtree_rates(&t, out, n);
	sc_qtree_free(&t);
	return err ? sc_errf(err, "ifindex %d: out of memory", ifindex) : 0;
}

