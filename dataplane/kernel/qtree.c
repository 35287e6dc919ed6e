// SPDX-License-Identifier: GPL-2.0
/*
 * The saved egress tree: dumped as the kernel's own messages, written to and
 * read from the state file, replayed as requests (with the fix-ups where a
 * dump does not read back as a request), and verified after a replay.
 */
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/pkt_cls.h>
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
#include "dataplane/kernel/lock.h"
#include "dataplane/kernel/qdisc.h"
#include "dataplane/kernel/qtree.h"

#define STATE_MAGIC "SCQDST1"

/* ---- the tree ---- */

/* The tree: qdiscs root first, classes, and the filters of every qdisc and class. */

void sc_qtree_free(struct sc_qtree *t)
{
	sc_msgs_free(&t->qdiscs);
	sc_msgs_free(&t->classes);
	sc_msgs_free(&t->filters);
}

int sc_qtree_dump(struct sc_nl *nl, int ifindex, struct sc_qtree *t)
{
	int err, i;

	memset(t, 0, sizeof(*t));
	err = sc_tc_dump(nl, RTM_GETQDISC, ifindex, 0, &t->qdiscs);
	if (err)
		goto fail;
	err = sc_tc_dump(nl, RTM_GETTCLASS, ifindex, 0, &t->classes);
	if (err)
		goto fail;
	for (i = 0; i < t->qdiscs.n; i++) {
		const struct tcmsg *tcm = nlmsg_data(t->qdiscs.v[i]);

		if (!tcm->tcm_handle)
			continue;
		err = sc_tc_dump(nl, RTM_GETTFILTER, ifindex, tcm->tcm_handle, &t->filters);
		if (err)
			goto fail;
	}
	for (i = 0; i < t->classes.n; i++) {
		const struct tcmsg *tcm = nlmsg_data(t->classes.v[i]);

		err = sc_tc_dump(nl, RTM_GETTFILTER, ifindex, tcm->tcm_handle, &t->filters);
		if (err)
			goto fail;
	}
	sc_msgs_root_first(&t->qdiscs);
	return 0;
fail:
	sc_qtree_free(t);
	return err;
}

/* ---- state file ------------------------------------------------------------------- */


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

int sc_qtree_save(const char *path, const char *dev, int ifindex, const struct sc_qtree *t,
		  uint32_t mq_handle)
{
	const struct sc_msgs *lists[] = { &t->qdiscs, &t->classes, &t->filters };
	struct sc_qtree_hdr h = { .version = 1, .ifindex = ifindex, .mq_handle = mq_handle };
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
	if (err)
		goto out_close;
	for (int l = 0; l < 3; l++) {
		for (int i = 0; i < lists[l]->n; i++) {
			static const char zero[NLMSG_ALIGNTO];
			const struct nlmsghdr *nlh = lists[l]->v[i];

			err = write_all(fd, nlh, nlh->nlmsg_len);
			if (err)
				goto out_close;
			err = write_all(fd, zero, NLMSG_ALIGN(nlh->nlmsg_len) - nlh->nlmsg_len);
			if (err)
				goto out_close;
		}
	}
	if (fsync(fd))
		err = -errno;
out_close:
	close(fd);
	if (err)
		goto fail;
	if (rename(tmp, path)) {
		err = -errno;
		goto fail;
	}
	return 0;
fail:
	unlink(tmp);
	return sc_errf(err, "%s: %s", path, strerror(-err));
}

static int read_msgs(const char **p, const char *end, uint32_t nr, struct sc_msgs *m)
{
	for (uint32_t i = 0; i < nr; i++) {
		const struct nlmsghdr *nlh = (const void *)*p;

		if (end - *p < (long)NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN ||
		    NLMSG_ALIGN(nlh->nlmsg_len) > (size_t)(end - *p))
			return -EINVAL;
		if (sc_msgs_add(m, nlh))
			return -ENOMEM;
		*p += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	return 0;
}

int sc_qtree_load(const char *path, struct sc_qtree_hdr *h, struct sc_qtree *t)
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
	if (err)
		goto out;
	err = read_msgs(&p, buf + st.st_size, h->nr_classes, &t->classes);
	if (err)
		goto out;
	err = read_msgs(&p, buf + st.st_size, h->nr_filters, &t->filters);
out:
	free(buf);
	if (err)
		sc_qtree_free(t);
	return err;
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
	struct sc_tc_obj o;
	int rem;

	if (!msg || sc_tc_parse((struct nlmsghdr *)saved, &o))
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
	struct sc_tc_obj o;
	int err;

	if (!msg)
		return sc_errf(ENOMEM, "%s: out of memory", dev);
	err = sc_nl_transact(nl, msg, why, sizeof(why));
	if (err) {
		if (!sc_tc_parse((struct nlmsghdr *)saved, &o))
			snprintf(kind, sizeof(kind), "%s", o.kind);
		sc_qdisc_handle_str(tcm->tcm_handle, h, sizeof(h));
		return sc_errf(err, "%s: restoring %s %s %s: %s", dev, kind, what, h, why);
	}
	return 0;
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

static const char *owner_kind(const struct sc_qtree *t, uint32_t classid)
{
	static char kind[SC_QDISC_KIND_LEN];

	for (int i = 0; i < t->qdiscs.n; i++) {
		const struct tcmsg *tcm = nlmsg_data(t->qdiscs.v[i]);
		struct sc_tc_obj o;

		if (tcm->tcm_handle == TC_H_MAJ(classid) && !sc_tc_parse(t->qdiscs.v[i], &o)) {
			snprintf(kind, sizeof(kind), "%s", o.kind);
			return kind;
		}
	}
	return "";
}

static bool saved_class(const struct sc_qtree *t, uint32_t classid)
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
static int replay_children(struct sc_nl *nl, const struct sc_qtree *t, int ifindex, const char *dev,
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
	while (left) {
		int progress = 0;

		for (int k = 0; k < total; k++) {
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
					goto out;
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
		if (!progress) {
			err = sc_errf(EINVAL, "%s: saved qdisc tree has %d objects whose parents are missing",
				      dev, left);
			goto out;
		}
	}
out:
	free(made);
	free(done);
	return err;
}

static bool is_u32_table(const struct nlmsghdr *nlh)
{
	const struct tcmsg *tcm = nlmsg_data(nlh);
	struct sc_tc_obj o;

	/* TC_U32_KEY(handle) == 0: a hash table, not a key node (net/sched/cls_u32.c). */
	return !sc_tc_parse((struct nlmsghdr *)nlh, &o) && !strcmp(o.kind, "u32") &&
	       !TC_U32_KEY(tcm->tcm_handle);
}

static bool same_tp(const struct nlmsghdr *a, const struct nlmsghdr *b)
{
	const struct tcmsg *x = nlmsg_data(a), *y = nlmsg_data(b);
	struct sc_tc_obj ox, oy;
	uint32_t cx = 0, cy = 0;

	if (sc_tc_parse((struct nlmsghdr *)a, &ox) || sc_tc_parse((struct nlmsghdr *)b, &oy))
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
static enum skip skip_filter(const struct sc_msgs *f, int i)
{
	const struct tcmsg *tcm = nlmsg_data(f->v[i]);
	struct sc_tc_obj o;

	if (sc_tc_parse(f->v[i], &o))
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

int sc_qtree_replay(struct sc_nl *nl, const struct sc_qtree *t, int ifindex, const char *dev,
		    struct sc_qtree_count *res)
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
	if (err)
		return err;
	for (int i = 0; i < t->filters.n; i++) {
		if (skip_filter(&t->filters, i))
			continue;
		err = replay_one(nl, t->filters.v[i], NLM_F_CREATE | NLM_F_EXCL, ifindex, "filter", dev);
		if (err)
			return err;
		res->filters++;
	}
	return 0;
}

/* Identity of a dumped object, without counters: what revert must reproduce. */
static void obj_key(const struct nlmsghdr *nlh, char *buf, size_t len)
{
	const struct tcmsg *tcm = nlmsg_data(nlh);
	struct sc_tc_obj o;
	uint32_t chain = 0;

	if (sc_tc_parse((struct nlmsghdr *)nlh, &o)) {
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

static int compare_lists(const struct sc_msgs *want, const struct sc_msgs *got, const char *what,
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

int sc_qtree_verify(struct sc_nl *nl, const struct sc_qtree *want, int ifindex, const char *dev)
{
	struct sc_qtree got;
	int err = sc_qtree_dump(nl, ifindex, &got);

	if (err)
		return sc_errf(err, "%s: qdisc dump: %s", dev, strerror(-err));
	err = compare_lists(&want->qdiscs, &got.qdiscs, "qdisc", dev, false);
	if (err)
		goto out;
	err = compare_lists(&want->classes, &got.classes, "class", dev, false);
	if (err)
		goto out;
	err = compare_lists(&want->filters, &got.filters, "filter", dev, true);
out:
	sc_qtree_free(&got);
	return err;
}

