// SPDX-License-Identifier: GPL-2.0
/*
 * Egress qdisc trees over rtnetlink with libnl: listing with statistics,
 * mq replacement and its revert by replaying the dumped messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <linux/gen_stats.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>

#include "dataplane/error.h"
#include "dataplane/nl.h"
#include "dataplane/lock.h"
#include "dataplane/qdisc.h"

#define STATE_MAGIC "SCQDST1"

/* ---- parsing -------------------------------------------------------------- */

struct tc_obj {
	const struct tcmsg *tcm;
	char kind[SC_QDISC_KIND_LEN];
	struct nlattr *tb[TCA_MAX + 1];
};

static int tc_parse(struct nlmsghdr *nlh, struct tc_obj *o)
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

static void parse_stats(const struct tc_obj *o, struct sc_qdisc_info *q)
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

struct msgs {
	struct nlmsghdr **v;
	int n, cap;
};

static int msgs_add(struct msgs *m, const struct nlmsghdr *nlh)
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

static void msgs_free(struct msgs *m)
{
	for (int i = 0; i < m->n; i++)
		free(m->v[i]);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

struct collect_arg {
	int ifindex;
	struct msgs *out;
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
	return msgs_add(c->out, nlh);
}

static int dump_into(struct sc_nl *nl, int type, int ifindex, uint32_t parent, struct msgs *out)
{
	struct collect_arg c = { .ifindex = ifindex, .out = out };

	struct tcmsg tcm = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = parent };

	return sc_nl_dump(nl, type, &tcm, sizeof(tcm), collect_one, &c);
}

/* The tree: qdiscs root first, classes, and the filters of every qdisc and class. */
struct tree {
	struct msgs qdiscs, classes, filters;
};

static void tree_free(struct tree *t)
{
	msgs_free(&t->qdiscs);
	msgs_free(&t->classes);
	msgs_free(&t->filters);
}

static void put_root_first(struct msgs *m)
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

static int tree_dump(struct sc_nl *nl, int ifindex, struct tree *t)
{
	int err, i;

	memset(t, 0, sizeof(*t));
	err = dump_into(nl, RTM_GETQDISC, ifindex, 0, &t->qdiscs);
	if (!err)
		err = dump_into(nl, RTM_GETTCLASS, ifindex, 0, &t->classes);
	for (i = 0; !err && i < t->qdiscs.n; i++) {
		const struct tcmsg *tcm = nlmsg_data(t->qdiscs.v[i]);

		if (tcm->tcm_handle)
			err = dump_into(nl, RTM_GETTFILTER, ifindex, tcm->tcm_handle, &t->filters);
	}
	for (i = 0; !err && i < t->classes.n; i++) {
		const struct tcmsg *tcm = nlmsg_data(t->classes.v[i]);

		err = dump_into(nl, RTM_GETTFILTER, ifindex, tcm->tcm_handle, &t->filters);
	}
	if (err) {
		tree_free(t);
		return err;
	}
	put_root_first(&t->qdiscs);
	return 0;
}

/* ---- listing ------------------------------------------------------------------ */

static void info_from(const struct tc_obj *o, struct sc_qdisc_info *q)
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
	struct msgs m = { 0 };
	struct sc_qdisc_info *v = NULL;
	struct sc_link link;
	int err, i;

	*out = NULL;
	*n = 0;
	err = sc_nl_link_by_index(nl, ifindex, &link);
	if (err)
		return err;
	err = dump_into(nl, RTM_GETQDISC, ifindex, 0, &m);
	if (err) {
		err = sc_errf(err, "ifindex %d: qdisc dump: %s", ifindex, strerror(-err));
		goto out;
	}
	put_root_first(&m);
	v = calloc(m.n ? m.n : 1, sizeof(*v));
	if (!v) {
		err = sc_errf(ENOMEM, "ifindex %d: out of memory", ifindex);
		goto out;
	}
	for (i = 0; i < m.n; i++) {
		struct tc_obj o;

		if (tc_parse(m.v[i], &o)) {
			err = sc_errf(EPROTO, "ifindex %d: malformed qdisc message", ifindex);
			free(v);
			goto out;
		}
		info_from(&o, &v[i]);
	}
	*out = v;
	*n = m.n;
out:
	msgs_free(&m);
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

static int rate_of(const struct tc_obj *o, struct sc_qdisc_rate *r)
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

static int rates_from_tree(const struct tree *t, struct sc_qdisc_rate **out, int *n)
{
	struct sc_qdisc_rate *v = calloc(t->qdiscs.n + t->classes.n + 1, sizeof(*v));
	const struct msgs *lists[] = { &t->qdiscs, &t->classes };
	int k = 0;

	if (!v)
		return -ENOMEM;
	for (int l = 0; l < 2; l++) {
		for (int i = 0; i < lists[l]->n; i++) {
			struct tc_obj o;

			/* htb qdiscs carry no rate; their classes and tbf qdiscs do. */
			if (tc_parse(lists[l]->v[i], &o) || (l == 0 && strcmp(o.kind, "tbf")))
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
	struct tree t;
	int err;

	*out = NULL;
	*n = 0;
	err = tree_dump(nl, ifindex, &t);
	if (err)
		return sc_errf(err, "ifindex %d: qdisc dump: %s", ifindex, strerror(-err));
	err = rates_from_tree(&t, out, n);
	tree_free(&t);
	return err ? sc_errf(err, "ifindex %d: out of memory", ifindex) : 0;
}

/* ---- state file ------------------------------------------------------------------- */

struct state_hdr {
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

int sc_qdisc_state_path(int ifindex, char *buf, size_t len)
{
	uint64_t cookie;
	int err = sc_netns_cookie(&cookie);

	if (err)
		return err;
	if ((size_t)snprintf(buf, len, "%s/qdisc-%llu-%d", SC_RUN_DIR,
			     (unsigned long long)cookie, ifindex) >= len)
		return sc_errf(ENAMETOOLONG, "state path too long");
	return 0;
}

static int write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t w = write(fd, c, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		c += w;
		len -= w;
	}
	return 0;
}

static int state_write(const char *path, const char *dev, int ifindex, const struct tree *t,
		       uint32_t mq_handle)
{
	const struct msgs *lists[] = { &t->qdiscs, &t->classes, &t->filters };
	struct state_hdr h = { .version = 1, .ifindex = ifindex, .mq_handle = mq_handle };
	char tmp[160];
	int fd, err = 0;

	memcpy(h.magic, STATE_MAGIC, sizeof(h.magic));
	snprintf(h.ifname, sizeof(h.ifname), "%s", dev);
	err = sc_netns_cookie(&h.netns_cookie);
	if (err)
		return err;
	h.nr_qdiscs = t->qdiscs.n;
	h.nr_classes = t->classes.n;
	h.nr_filters = t->filters.n;
	for (int l = 0; l < 3; l++)
		for (int i = 0; i < lists[l]->n; i++)
			h.bytes += NLMSG_ALIGN(lists[l]->v[i]->nlmsg_len);
	if (mkdir(SC_RUN_DIR, 0700) && errno != EEXIST)
		return sc_errf(errno, "%s: %s", SC_RUN_DIR, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return sc_errf(errno, "%s: %s", tmp, strerror(errno));
	err = write_all(fd, &h, sizeof(h));
	for (int l = 0; l < 3 && !err; l++) {
		for (int i = 0; i < lists[l]->n && !err; i++) {
			static const char zero[NLMSG_ALIGNTO];
			const struct nlmsghdr *nlh = lists[l]->v[i];

			err = write_all(fd, nlh, nlh->nlmsg_len);
			if (!err)
				err = write_all(fd, zero, NLMSG_ALIGN(nlh->nlmsg_len) - nlh->nlmsg_len);
		}
	}
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return sc_errf(err, "%s: %s", path, strerror(-err));
	}
	return 0;
}

static int read_msgs(const char **p, const char *end, uint32_t nr, struct msgs *m)
{
	for (uint32_t i = 0; i < nr; i++) {
		const struct nlmsghdr *nlh = (const void *)*p;

		if (end - *p < (long)NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN ||
		    NLMSG_ALIGN(nlh->nlmsg_len) > (size_t)(end - *p))
			return -EINVAL;
		if (msgs_add(m, nlh))
			return -ENOMEM;
		*p += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	return 0;
}

static int state_read(const char *path, struct state_hdr *h, struct tree *t)
{
	char *buf = NULL;
	const char *p;
	struct stat st;
	int fd, err = 0;

	memset(t, 0, sizeof(*t));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size < (off_t)sizeof(*h) || st.st_size > (64 << 20)) {
		close(fd);
		return -EINVAL;
	}
	buf = malloc(st.st_size);
	if (!buf || read(fd, buf, st.st_size) != st.st_size)
		err = -EIO;
	close(fd);
	if (err)
		goto out;
	memcpy(h, buf, sizeof(*h));
	if (memcmp(h->magic, STATE_MAGIC, sizeof(h->magic)) || h->version != 1 ||
	    h->bytes != st.st_size - sizeof(*h)) {
		err = -EINVAL;
		goto out;
	}
	p = buf + sizeof(*h);
	err = read_msgs(&p, buf + st.st_size, h->nr_qdiscs, &t->qdiscs);
	if (!err)
		err = read_msgs(&p, buf + st.st_size, h->nr_classes, &t->classes);
	if (!err)
		err = read_msgs(&p, buf + st.st_size, h->nr_filters, &t->filters);
out:
	free(buf);
	if (err)
		tree_free(t);
	return err;
}

/* mq, setup and teardown of one NIC take the same lock (dataplane/lock.h). */
static int lock_device(int ifindex)
{
	uint64_t cookie;
	int err = sc_netns_cookie(&cookie);

	return err ? err : sc_lock_nic(cookie, ifindex);
}

/* ---- replay ------------------------------------------------------------------------- */

static bool replayable_attr(int type)
{
	switch (type & NLA_TYPE_MASK) {
	case TCA_KIND:
	case TCA_OPTIONS:
	case TCA_RATE:
	case TCA_STAB:
	case TCA_CHAIN:
	case TCA_INGRESS_BLOCK:
	case TCA_EGRESS_BLOCK:
		return true;
	default:	/* statistics, xstats, hw_offload, warnings: the kernel's output only */
		return false;
	}
}

/*
 * Where a dump does not read back as a request, per (message, kind, option):
 * - classifiers report offload state in their flags (TCA_CLS_FLAGS_NOT_IN_HW,
 *   IN_HW) but accept only SKIP_HW/SKIP_SW from user space (tc_flags_valid(),
 *   include/net/pkt_cls.h): mask the rest;
 * - htb dumps its global options with version HTB_VER (0x30011) but
 *   htb_init() wants HTB_VER >> 16 (net/sched/sch_htb.c).
 */
enum fixup { FIX_CLS_FLAGS = 1, FIX_HTB_VERSION };

static const struct {
	int msg_type;
	const char *kind;	/* its TCA_OPTIONS are nested attributes */
	int attr;
	enum fixup fix;
} fixes[] = {
	{ RTM_NEWTFILTER, "u32", TCA_U32_FLAGS, FIX_CLS_FLAGS },
	{ RTM_NEWTFILTER, "flower", TCA_FLOWER_FLAGS, FIX_CLS_FLAGS },
	{ RTM_NEWTFILTER, "matchall", TCA_MATCHALL_FLAGS, FIX_CLS_FLAGS },
	{ RTM_NEWTFILTER, "bpf", TCA_BPF_FLAGS_GEN, FIX_CLS_FLAGS },
	{ RTM_NEWQDISC, "htb", TCA_HTB_INIT, FIX_HTB_VERSION },
};

#define NR_FIXES (sizeof(fixes) / sizeof(fixes[0]))

/* attr < 0: whether @kind has any fixup (then its options are nested). */
static enum fixup option_fixup(int msg_type, const char *kind, int attr)
{
	for (size_t i = 0; i < NR_FIXES; i++)
		if (fixes[i].msg_type == msg_type && (attr < 0 || fixes[i].attr == attr) &&
		    !strcmp(kind, fixes[i].kind))
			return fixes[i].fix;
	return 0;
}

static int put_fixed(struct nl_msg *msg, const struct nlattr *a, enum fixup fix)
{
	if (fix == FIX_CLS_FLAGS && nla_len(a) >= 4) {
		uint32_t v = nla_get_u32((struct nlattr *)a) &
			     (TCA_CLS_FLAGS_SKIP_HW | TCA_CLS_FLAGS_SKIP_SW);

		return v ? nla_put_u32(msg, nla_type(a), v) : 0;
	}
	if (fix == FIX_HTB_VERSION && (size_t)nla_len(a) >= sizeof(struct tc_htb_glob)) {
		struct tc_htb_glob g;

		memcpy(&g, nla_data(a), sizeof(g));
		g.version = TC_HTB_PROTOVER;
		return nla_put(msg, nla_type(a), sizeof(g), &g);
	}
	return nla_put(msg, a->nla_type, nla_len(a), nla_data(a));
}

static int put_options(struct nl_msg *msg, const struct nlattr *opts, int msg_type,
		       const char *kind)
{
	struct nlattr *nest = nla_nest_start(msg, opts->nla_type), *a;
	int rem;

	if (!nest)
		return -ENOMEM;
	nla_for_each_nested(a, (struct nlattr *)opts, rem) {
		if (put_fixed(msg, a, option_fixup(msg_type, kind, nla_type(a))) < 0)
			return -ENOMEM;
	}
	nla_nest_end(msg, nest);
	return 0;
}

/* A NEW* request carrying the configuration part of a dumped message. */
static struct nl_msg *replay_msg(const struct nlmsghdr *saved, int flags, int ifindex)
{
	struct tcmsg tcm = *(const struct tcmsg *)nlmsg_data(saved);
	struct nl_msg *msg = nlmsg_alloc_simple(saved->nlmsg_type, flags);
	struct nlattr *a;
	struct tc_obj o;
	int rem;

	if (!msg || tc_parse((struct nlmsghdr *)saved, &o))
		goto fail;
	tcm.tcm_ifindex = ifindex;
	if (nlmsg_append(msg, &tcm, sizeof(tcm), NLMSG_ALIGNTO) < 0)
		goto fail;
	nlmsg_for_each_attr(a, (struct nlmsghdr *)saved, sizeof(tcm), rem) {
		if (!replayable_attr(a->nla_type))
			continue;
		/* Options are a plain struct for some kinds (pfifo): only walk known nests. */
		if (nla_type(a) == TCA_OPTIONS && option_fixup(saved->nlmsg_type, o.kind, -1)) {
			if (put_options(msg, a, saved->nlmsg_type, o.kind))
				goto fail;
			continue;
		}
		/* Raw nla_type keeps NLA_F_NESTED as the kernel sent it. */
		if (nla_put(msg, a->nla_type, nla_len(a), nla_data(a)) < 0)
			goto fail;
	}
	return msg;
fail:
	nlmsg_free(msg);
	return NULL;
}

static int replay_one(struct sc_nl *nl, const struct nlmsghdr *saved, int flags, int ifindex,
		      const char *what, const char *dev)
{
	struct nl_msg *msg = replay_msg(saved, flags, ifindex);
	const struct tcmsg *tcm = nlmsg_data(saved);
	char why[256], h[32], kind[SC_QDISC_KIND_LEN] = "";
	struct tc_obj o;
	int err;

	if (!msg)
		return sc_errf(ENOMEM, "%s: out of memory", dev);
	err = sc_nl_transact(nl, msg, why, sizeof(why));
	if (!err)
		return 0;
	if (!tc_parse((struct nlmsghdr *)saved, &o))
		snprintf(kind, sizeof(kind), "%s", o.kind);
	sc_qdisc_handle_str(tcm->tcm_handle, h, sizeof(h));
	return sc_errf(err, "%s: restoring %s %s %s: %s", dev, kind, what, h, why);
}

/* Kinds whose classes are created by tc class add; others come with the qdisc. */
static bool explicit_classes(const char *kind)
{
	static const char *const kinds[] = { "htb", "hfsc", "drr", "qfq", "cbq", "atm", NULL };

	for (int i = 0; kinds[i]; i++)
		if (!strcmp(kind, kinds[i]))
			return true;
	return false;
}

static const char *owner_kind(const struct tree *t, uint32_t classid)
{
	static char kind[SC_QDISC_KIND_LEN];

	for (int i = 0; i < t->qdiscs.n; i++) {
		const struct tcmsg *tcm = nlmsg_data(t->qdiscs.v[i]);
		struct tc_obj o;

		if (tcm->tcm_handle == TC_H_MAJ(classid) && !tc_parse(t->qdiscs.v[i], &o)) {
			snprintf(kind, sizeof(kind), "%s", o.kind);
			return kind;
		}
	}
	return "";
}

static bool saved_class(const struct tree *t, uint32_t classid)
{
	for (int i = 0; i < t->classes.n; i++)
		if (((const struct tcmsg *)nlmsg_data(t->classes.v[i]))->tcm_handle == classid)
			return true;
	return false;
}

/*
 * Classes and non-root qdiscs, parents first. The class dump follows each
 * qdisc's walk order (htb: hash order), not the hierarchy, so keep making
 * passes until nothing is left or nothing moves.
 */
static int replay_children(struct sc_nl *nl, const struct tree *t, int ifindex, const char *dev,
			   unsigned int *nq, unsigned int *nc)
{
	int total = t->qdiscs.n - 1 + t->classes.n, left = total, err = 0;
	uint32_t *made = calloc(total + 1, sizeof(*made));	/* created qdisc handles / classids */
	bool *done = calloc(total + 1, sizeof(*done));
	int nmade = 0;

	if (!made || !done) {
		err = sc_errf(ENOMEM, "%s: out of memory", dev);
		goto out;
	}
	made[nmade++] = ((const struct tcmsg *)nlmsg_data(t->qdiscs.v[0]))->tcm_handle;
	while (left && !err) {
		int progress = 0;

		for (int k = 0; k < total && !err; k++) {
			bool is_class = k >= t->qdiscs.n - 1;
			const struct nlmsghdr *nlh =
				is_class ? t->classes.v[k - (t->qdiscs.n - 1)] : t->qdiscs.v[k + 1];
			const struct tcmsg *tcm = nlmsg_data(nlh);
			uint32_t need_qdisc = TC_H_MAJ(is_class ? tcm->tcm_handle : tcm->tcm_parent);
			uint32_t need_class = tcm->tcm_parent;
			bool have_qdisc = false, have_class;

			if (done[k])
				continue;
			for (int i = 0; i < nmade; i++)
				have_qdisc |= made[i] == need_qdisc;
			/* A class the dump does not list exists with its qdisc (mq, prio, tbf). */
			have_class = need_class == TC_H_ROOT || !TC_H_MIN(need_class) ||
				     !saved_class(t, need_class);
			for (int i = 0; i < nmade && !have_class; i++)
				have_class = made[i] == need_class;
			if (!have_qdisc || !have_class)
				continue;
			if (is_class && !explicit_classes(owner_kind(t, tcm->tcm_handle))) {
				/* Implicit class: nothing to send. */
			} else {
				err = replay_one(nl, nlh, NLM_F_CREATE | NLM_F_EXCL, ifindex,
						 is_class ? "class" : "qdisc", dev);
				if (err)
					break;
			}
			if (is_class)
				(*nc)++;
			else
				(*nq)++;
			made[nmade++] = tcm->tcm_handle;
			done[k] = true;
			left--;
			progress++;
		}
		if (!err && !progress)
			err = sc_errf(EINVAL, "%s: saved qdisc tree has %d objects whose parents are missing",
				      dev, left);
	}
out:
	free(made);
	free(done);
	return err;
}

static bool is_u32_table(const struct nlmsghdr *nlh)
{
	const struct tcmsg *tcm = nlmsg_data(nlh);
	struct tc_obj o;

	/* TC_U32_KEY(handle) == 0: a hash table, not a key node (net/sched/cls_u32.c). */
	return !tc_parse((struct nlmsghdr *)nlh, &o) && !strcmp(o.kind, "u32") &&
	       !TC_U32_KEY(tcm->tcm_handle);
}

static bool same_tp(const struct nlmsghdr *a, const struct nlmsghdr *b)
{
	const struct tcmsg *x = nlmsg_data(a), *y = nlmsg_data(b);
	struct tc_obj ox, oy;
	uint32_t cx = 0, cy = 0;

	if (tc_parse((struct nlmsghdr *)a, &ox) || tc_parse((struct nlmsghdr *)b, &oy))
		return false;
	if (ox.tb[TCA_CHAIN])
		cx = nla_get_u32(ox.tb[TCA_CHAIN]);
	if (oy.tb[TCA_CHAIN])
		cy = nla_get_u32(oy.tb[TCA_CHAIN]);
	return x->tcm_parent == y->tcm_parent && x->tcm_info == y->tcm_info && cx == cy;
}

enum skip { SEND = 0, SKIP_IMPLICIT, SKIP_LOST };

/*
 * Whether a dumped filter must not be sent back:
 * - the classifier's own entry (tcf_chain_dump() lists each tcf_proto once
 *   with handle 0 and no options): the first filter sent recreates it;
 * - a u32 classifier's root hash table: u32_init() creates it with the
 *   classifier, and it is the oldest table, so it comes last among its
 *   classifier's tables (u32_walk() lists tables newest first);
 * - bpf: the dump names the program by id; once the filter is gone the
 *   program is freed and nothing can attach it again (lost).
 */
static enum skip skip_filter(const struct msgs *f, int i)
{
	const struct tcmsg *tcm = nlmsg_data(f->v[i]);
	struct tc_obj o;

	if (tc_parse(f->v[i], &o))
		return SKIP_LOST;
	if (!tcm->tcm_handle && !o.tb[TCA_OPTIONS])
		return SKIP_IMPLICIT;
	if (!strcmp(o.kind, "bpf"))
		return SKIP_LOST;
	if (!is_u32_table(f->v[i]))
		return SEND;
	for (int j = i + 1; j < f->n; j++)
		if (same_tp(f->v[i], f->v[j]) && is_u32_table(f->v[j]))
			return SEND;
	return SKIP_IMPLICIT;
}

static int replay_tree(struct sc_nl *nl, const struct tree *t, int ifindex, const char *dev,
		       struct sc_mq_revert *res)
{
	const struct tcmsg *root;
	int err;

	if (!t->qdiscs.n)
		return sc_errf(EINVAL, "%s: saved state holds no root qdisc", dev);
	root = nlmsg_data(t->qdiscs.v[0]);
	if (root->tcm_handle == 0) {
		/* A default root: deleting ours makes the kernel attach the default again. */
		struct tcmsg tcm = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex,
				     .tcm_parent = TC_H_ROOT };
		struct nl_msg *msg = nlmsg_alloc_simple(RTM_DELQDISC, 0);
		char why[256];

		if (!msg || nlmsg_append(msg, &tcm, sizeof(tcm), NLMSG_ALIGNTO) < 0) {
			nlmsg_free(msg);
			return sc_errf(ENOMEM, "%s: out of memory", dev);
		}
		err = sc_nl_transact(nl, msg, why, sizeof(why));
		if (err && err != -ENOENT && err != -EINVAL)
			return sc_errf(err, "%s: deleting the root qdisc: %s", dev, why);
		res->qdiscs = 1;
		return 0;
	}
	err = replay_one(nl, t->qdiscs.v[0], NLM_F_CREATE | NLM_F_REPLACE, ifindex, "root qdisc", dev);
	if (err)
		return err;
	res->qdiscs = 1;
	err = replay_children(nl, t, ifindex, dev, &res->qdiscs, &res->classes);
	for (int i = 0; !err && i < t->filters.n; i++) {
		if (skip_filter(&t->filters, i))
			continue;
		err = replay_one(nl, t->filters.v[i], NLM_F_CREATE | NLM_F_EXCL, ifindex, "filter", dev);
		res->filters += !err;
	}
	return err;
}

/* Identity of a dumped object, without counters: what revert must reproduce. */
static void obj_key(const struct nlmsghdr *nlh, char *buf, size_t len)
{
	const struct tcmsg *tcm = nlmsg_data(nlh);
	struct tc_obj o;
	uint32_t chain = 0;

	if (tc_parse((struct nlmsghdr *)nlh, &o)) {
		snprintf(buf, len, "?");
		return;
	}
	if (o.tb[TCA_CHAIN])
		chain = nla_get_u32(o.tb[TCA_CHAIN]);
	/*
	 * Not the options: they carry kernel state besides configuration (htb's
	 * direct_pkts, u32 hit counters, an action's used_hw_stats), which a
	 * faithful replay does not reproduce.
	 */
	snprintf(buf, len, "%s %x %x %x %x", o.kind, tcm->tcm_handle, tcm->tcm_parent,
		 tcm->tcm_info, chain);
}

static int compare_lists(const struct msgs *want, const struct msgs *got, const char *what,
			 const char *dev, bool skip_lost)
{
	int i = 0, j = 0;

	for (;;) {
		char a[128] = "", b[128] = "";

		while (skip_lost && i < want->n && skip_filter(want, i) == SKIP_LOST)
			i++;
		if (i == want->n && j == got->n)
			return 0;
		if (i < want->n)
			obj_key(want->v[i], a, sizeof(a));
		if (j < got->n)
			obj_key(got->v[j], b, sizeof(b));
		if (strcmp(a, b))
			return sc_errf(EIO, "%s: restored %s differs from the saved one: want '%s', got '%s'",
				       dev, what, a[0] ? a : "(none)", b[0] ? b : "(none)");
		i++;
		j++;
	}
}

static int verify_tree(struct sc_nl *nl, const struct tree *want, int ifindex, const char *dev)
{
	struct tree got;
	int err = tree_dump(nl, ifindex, &got);

	if (err)
		return sc_errf(err, "%s: qdisc dump: %s", dev, strerror(-err));
	err = compare_lists(&want->qdiscs, &got.qdiscs, "qdisc", dev, false);
	if (!err)
		err = compare_lists(&want->classes, &got.classes, "class", dev, false);
	if (!err)
		err = compare_lists(&want->filters, &got.filters, "filter", dev, true);
	tree_free(&got);
	return err;
}

/* ---- mq ------------------------------------------------------------------------------- */

static int count_bpf_filters(const struct tree *t)
{
	int n = 0;

	for (int i = 0; i < t->filters.n; i++) {
		struct tc_obj o;

		n += !tc_parse(t->filters.v[i], &o) && !strcmp(o.kind, "bpf");
	}
	return n;
}

static int refuse_rates(const char *dev, const struct sc_qdisc_rate *r, int n)
{
	const struct sc_qdisc_rate *top = &r[0];
	char h[32];

	/* Name the highest ceiling: for an htb tree that is the class capping the device. */
	for (int i = 1; i < n; i++)
		if (r[i].ceil > top->ceil)
			top = &r[i];
	sc_qdisc_handle_str(top->handle, h, sizeof(h));
	return sc_errf(EPERM,
		       "%s: %s %s %s limits its traffic to %llu bit/s%s; under mq every tx queue "
		       "gets its own qdisc and device-wide limits are lost (use --force to replace anyway)",
		       dev, top->kind, TC_H_MIN(top->handle) ? "class" : "qdisc", h,
		       (unsigned long long)top->ceil * 8,
		       n > 1 ? " (and there are more rate limits)" : "");
}

static int mq_add(struct sc_nl *nl, int ifindex, uint32_t parent, const char *kind,
		  int flags, char *why, size_t why_len)
{
	struct tcmsg tcm = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = parent };
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWQDISC, flags);
	int err = -ENOMEM;

	if (!msg)
		return err;
	if (nlmsg_append(msg, &tcm, sizeof(tcm), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, TCA_KIND, kind) < 0)
		goto fail;
	if (!strcmp(kind, "htb")) {
		/* htb_init() requires TCA_HTB_INIT; these are tc's defaults. */
		struct tc_htb_glob g = { .version = TC_HTB_PROTOVER, .rate2quantum = 10 };
		struct nlattr *opt = nla_nest_start(msg, TCA_OPTIONS);

		if (!opt || nla_put(msg, TCA_HTB_INIT, sizeof(g), &g) < 0)
			goto fail;
		nla_nest_end(msg, opt);
	}
	return sc_nl_transact(nl, msg, why, why_len);
fail:
	nlmsg_free(msg);
	return err;
}

/* Replace the root with mq, then each visible per-queue child with @child. */
static int mq_swap(struct sc_nl *nl, int ifindex, const char *dev, const char *child,
		   struct sc_mq_result *res)
{
	struct msgs now = { 0 };
	char why[256];
	int err;

	err = mq_add(nl, ifindex, TC_H_ROOT, "mq", NLM_F_CREATE | NLM_F_REPLACE, why, sizeof(why));
	if (err)
		return sc_errf(err, "%s: replacing the root qdisc with mq: %s", dev, why);
	err = dump_into(nl, RTM_GETQDISC, ifindex, 0, &now);
	if (err)
		return sc_errf(err, "%s: qdisc dump: %s", dev, strerror(-err));
	put_root_first(&now);
	if (!now.n || ((const struct tcmsg *)nlmsg_data(now.v[0]))->tcm_parent != TC_H_ROOT) {
		msgs_free(&now);
		return sc_errf(EIO, "%s: no root qdisc after installing mq", dev);
	}
	res->mq_handle = ((const struct tcmsg *)nlmsg_data(now.v[0]))->tcm_handle;
	res->children = now.n - 1;
	for (int i = 1; child && i < now.n && !err; i++) {
		const struct tcmsg *tcm = nlmsg_data(now.v[i]);
		char p[32];

		if (TC_H_MAJ(tcm->tcm_parent) != res->mq_handle)
			continue;
		err = mq_add(nl, ifindex, tcm->tcm_parent, child, NLM_F_CREATE | NLM_F_REPLACE, why,
			     sizeof(why));
		if (err) {
			sc_qdisc_handle_str(tcm->tcm_parent, p, sizeof(p));
			err = sc_errf(err, "%s: adding %s under mq class %s: %s", dev, child, p, why);
		}
	}
	msgs_free(&now);
	return err;
}

static int check_queues(struct sc_nl *nl, const struct sc_link *link, const char *dev)
{
	unsigned int rx = 0, tx = 0;

	/* The netdev family lists no queues of a down device: unknown then, not single. */
	if (sc_nl_active_queues(nl, link->ifindex, &rx, &tx))
		tx = 0;
	if (link->num_tx_queues <= 1 || tx == 1)
		return sc_errf(EOPNOTSUPP,
			       "%s: has a single tx queue; mq gives each tx queue its own qdisc, so "
			       "there is nothing to split (the lock is per queue already)", dev);
	return 0;
}

static int mq_install(struct sc_nl *nl, const char *dev, const char *child, unsigned int flags,
		      struct sc_mq_result *res)
{
	struct tree t = { 0 };
	struct sc_link link;
	struct tc_obj root;
	struct stat st;
	int ifindex, err, nbpf, lock;

	memset(res, 0, sizeof(*res));
	err = sc_nl_link_by_name(nl, dev, &link);
	if (err)
		return err;
	ifindex = link.ifindex;
	if (child)
		snprintf(res->child_kind, sizeof(res->child_kind), "%s", child);
	err = sc_qdisc_state_path(ifindex, res->state_path, sizeof(res->state_path));
	if (err)
		return err;
	lock = lock_device(ifindex);
	if (lock < 0)
		return lock;
	if (!stat(res->state_path, &st)) {
		err = sc_errf(EEXIST, "%s: already switched to mq by shardctl (state in %s); "
			      "run 'shardctl mq %s --revert' first", dev, res->state_path, dev);
		goto out;
	}
	err = check_queues(nl, &link, dev);
	if (err)
		goto out;
	err = tree_dump(nl, ifindex, &t);
	if (err) {
		err = sc_errf(err, "%s: qdisc dump: %s", dev, strerror(-err));
		goto out;
	}
	if (!t.qdiscs.n || tc_parse(t.qdiscs.v[0], &root)) {
		err = sc_errf(ENOENT, "%s: has no root qdisc", dev);
		goto out;
	}
	snprintf(res->old_kind, sizeof(res->old_kind), "%s", root.kind);
	res->old_handle = root.tcm->tcm_handle;
	if (!strcmp(root.kind, "mq")) {
		err = sc_errf(EALREADY, "%s: the root qdisc is already mq: every tx queue has its own lock",
			      dev);
		goto out;
	}
	err = rates_from_tree(&t, &res->rates, &res->nr_rates);
	if (err) {
		err = sc_errf(err, "%s: out of memory", dev);
		goto out;
	}
	if (res->nr_rates && !(flags & SC_MQ_FORCE)) {
		err = refuse_rates(dev, res->rates, res->nr_rates);
		goto out;
	}
	nbpf = count_bpf_filters(&t);
	if (nbpf && !(flags & SC_MQ_FORCE)) {
		err = sc_errf(EPERM, "%s: %d bpf filter(s) on the egress tree cannot be restored by "
			      "--revert (their programs are freed with them); use --force to replace anyway",
			      dev, nbpf);
		goto out;
	}
	res->lost_filters = nbpf;
	res->saved_qdiscs = t.qdiscs.n;
	res->saved_classes = t.classes.n;
	res->saved_filters = t.filters.n;
	if (flags & SC_MQ_CHECK)
		goto out;
	/* State first: whatever happens next, --revert can put the tree back. */
	err = state_write(res->state_path, dev, ifindex, &t, 0);
	if (err)
		goto out;
	err = mq_swap(nl, ifindex, dev, child, res);
	if (err) {
		struct sc_mq_revert rv = { 0 };
		char first[1024];

		snprintf(first, sizeof(first), "%s", sc_last_error());
		if (replay_tree(nl, &t, ifindex, dev, &rv))
			err = sc_errf(err, "%s; putting the old root back failed too: %s (state kept in %s)",
				      first, sc_last_error(), res->state_path);
		else {
			unlink(res->state_path);
			err = sc_errf(err, "%s (the old root qdisc is back)", first);
		}
		goto out;
	}
	err = state_write(res->state_path, dev, ifindex, &t, res->mq_handle);
out:
	if (err) {
		free(res->rates);
		res->rates = NULL;
		res->nr_rates = 0;
	}
	tree_free(&t);
	sc_unlock(lock);
	return err;
}

static int check_current_root(struct sc_nl *nl, int ifindex, const char *dev, uint32_t mq_handle)
{
	struct msgs now = { 0 };
	struct tc_obj o;
	char h[32];
	int err = dump_into(nl, RTM_GETQDISC, ifindex, 0, &now);

	if (err)
		return sc_errf(err, "%s: qdisc dump: %s", dev, strerror(-err));
	put_root_first(&now);
	if (!now.n || tc_parse(now.v[0], &o)) {
		msgs_free(&now);
		return sc_errf(EBUSY, "%s: has no root qdisc now", dev);
	}
	if (strcmp(o.kind, "mq") || (mq_handle && o.tcm->tcm_handle != mq_handle)) {
		sc_qdisc_handle_str(o.tcm->tcm_handle, h, sizeof(h));
		err = sc_errf(EBUSY, "%s: the root qdisc is now %s %s, not the mq shardctl installed; "
			      "use --force to restore the saved tree over it", dev, o.kind, h);
	}
	msgs_free(&now);
	return err;
}

static int mq_revert(struct sc_nl *nl, const char *dev, unsigned int flags,
		     struct sc_mq_revert *res)
{
	struct state_hdr h;
	struct tree t = { 0 };
	struct sc_link link;
	struct tc_obj root;
	int ifindex, err, lock;
	uint64_t cookie;

	memset(res, 0, sizeof(*res));
	err = sc_nl_link_by_name(nl, dev, &link);
	if (err)
		return err;
	ifindex = link.ifindex;
	err = sc_qdisc_state_path(ifindex, res->state_path, sizeof(res->state_path));
	if (err)
		return err;
	lock = lock_device(ifindex);
	if (lock < 0)
		return lock;
	err = state_read(res->state_path, &h, &t);
	if (err == -ENOENT) {
		err = sc_errf(ENOENT, "%s: no saved qdisc state (%s): 'shardctl mq %s' was not run "
			      "in this network namespace, or was reverted already", dev,
			      res->state_path, dev);
		goto out;
	}
	if (err) {
		err = sc_errf(err, "%s: %s: unreadable state file: %s", dev, res->state_path,
			      strerror(-err));
		goto out;
	}
	err = sc_netns_cookie(&cookie);
	if (!err && (h.netns_cookie != cookie || (int)h.ifindex != ifindex))
		err = sc_errf(ESTALE, "%s: %s belongs to another device", dev, res->state_path);
	if (!err && strncmp(h.ifname, dev, sizeof(h.ifname)) && !(flags & SC_MQ_FORCE))
		err = sc_errf(ESTALE, "%s: %s was saved for %.*s (ifindex reused?); use --force", dev,
			      res->state_path, (int)sizeof(h.ifname), h.ifname);
	if (err)
		goto out;
	if (!(flags & SC_MQ_FORCE)) {
		err = check_current_root(nl, ifindex, dev, h.mq_handle);
		if (err)
			goto out;
	}
	err = replay_tree(nl, &t, ifindex, dev, res);
	if (!err && ((const struct tcmsg *)nlmsg_data(t.qdiscs.v[0]))->tcm_handle)
		err = verify_tree(nl, &t, ifindex, dev);
	if (err)
		goto out;
	if (!tc_parse(t.qdiscs.v[0], &root)) {
		snprintf(res->kind, sizeof(res->kind), "%s", root.kind);
		res->handle = root.tcm->tcm_handle;
	}
	if (unlink(res->state_path))
		err = sc_errf(errno, "%s: %s", res->state_path, strerror(errno));
out:
	tree_free(&t);
	sc_unlock(lock);
	return err;
}

int sc_qdisc_mq_install(const char *dev, const char *child, unsigned int flags,
			struct sc_mq_result *res)
{
	struct sc_nl *nl = NULL;
	int err = sc_nl_open(&nl);

	if (!err)
		err = mq_install(nl, dev, child, flags, res);
	sc_nl_close(nl);
	return err;
}

int sc_qdisc_mq_revert(const char *dev, unsigned int flags, struct sc_mq_revert *res)
{
	struct sc_nl *nl = NULL;
	int err = sc_nl_open(&nl);

	if (!err)
		err = mq_revert(nl, dev, flags, res);
	sc_nl_close(nl);
	return err;
}
