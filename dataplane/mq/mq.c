// SPDX-License-Identifier: GPL-2.0
/*
 * mq install and revert: save the tree, swap the root for mq with a child
 * per tx queue, and put the saved tree back on request (or on failure).
 */
#include <unistd.h>
#include <sys/stat.h>
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
#include "dataplane/mq/mq.h"
#include "dataplane/kernel/qdisc.h"
#include "dataplane/kernel/qtree.h"

/* ---- state ---- */

int sc_mq_state_path(int ifindex, char *buf, size_t len)
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

/*
 * Resolve @dev, name its state file and take its lock: what install and
 * revert both start with. mq, setup and teardown of one NIC take the same
 * lock (dataplane/kernel/lock.h). Returns the lock's fd.
 */
static int lock_device(struct sc_nl *nl, const char *dev, struct sc_link *link, char *path,
		       size_t len)
{
	uint64_t cookie;
	int err;

	err = sc_nl_link_by_name(nl, dev, link);
	if (err)
		return err;
	err = sc_mq_state_path(link->ifindex, path, len);
	if (err)
		return err;
	err = sc_netns_cookie(&cookie);
	if (err)
		return err;
	return sc_lock_nic(cookie, link->ifindex);
}

/* ---- mq ------------------------------------------------------------------------------- */

static int count_bpf_filters(const struct sc_qtree *t)
{
	int n = 0;

	for (int i = 0; i < t->filters.n; i++) {
		struct sc_tc_obj o;

		n += !sc_tc_parse(t->filters.v[i], &o) && !strcmp(o.kind, "bpf");
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
	struct sc_msgs now = { 0 };
	char why[256];
	int err;

	err = mq_add(nl, ifindex, TC_H_ROOT, "mq", NLM_F_CREATE | NLM_F_REPLACE, why, sizeof(why));
	if (err)
		return sc_errf(err, "%s: replacing the root qdisc with mq: %s", dev, why);
	err = sc_tc_dump(nl, RTM_GETQDISC, ifindex, 0, &now);
	if (err)
		return sc_errf(err, "%s: qdisc dump: %s", dev, strerror(-err));
	sc_msgs_root_first(&now);
	if (!now.n || ((const struct tcmsg *)nlmsg_data(now.v[0]))->tcm_parent != TC_H_ROOT) {
		sc_msgs_free(&now);
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
	sc_msgs_free(&now);
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
	struct sc_qtree t = { 0 };
	struct sc_link link;
	struct sc_tc_obj root;
	struct stat st;
	int ifindex, err, nbpf, lock;

	memset(res, 0, sizeof(*res));
	if (child)
		snprintf(res->child_kind, sizeof(res->child_kind), "%s", child);
	lock = lock_device(nl, dev, &link, res->state_path, sizeof(res->state_path));
	if (lock < 0)
		return lock;
	ifindex = link.ifindex;
	if (!stat(res->state_path, &st)) {
		err = sc_errf(EEXIST, "%s: already switched to mq by shardctl (state in %s); "
			      "run 'shardctl mq %s --revert' first", dev, res->state_path, dev);
		goto out;
	}
	err = check_queues(nl, &link, dev);
	if (err)
		goto out;
	err = sc_qtree_dump(nl, ifindex, &t);
	if (err) {
		err = sc_errf(err, "%s: qdisc dump: %s", dev, strerror(-err));
		goto out;
	}
	if (!t.qdiscs.n || sc_tc_parse(t.qdiscs.v[0], &root)) {
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
	err = sc_qtree_rates(&t, &res->rates, &res->nr_rates);
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
	err = sc_qtree_save(res->state_path, dev, ifindex, &t, 0);
	if (err)
		goto out;
	err = mq_swap(nl, ifindex, dev, child, res);
	if (err) {
		struct sc_qtree_count rv = { 0 };
		char first[1024];

		snprintf(first, sizeof(first), "%s", sc_last_error());
		if (sc_qtree_replay(nl, &t, ifindex, dev, &rv))
			err = sc_errf(err, "%s; putting the old root back failed too: %s (state kept in %s)",
				      first, sc_last_error(), res->state_path);
		else {
			unlink(res->state_path);
			err = sc_errf(err, "%s (the old root qdisc is back)", first);
		}
		goto out;
	}
	err = sc_qtree_save(res->state_path, dev, ifindex, &t, res->mq_handle);
out:
	if (err) {
		free(res->rates);
		res->rates = NULL;
		res->nr_rates = 0;
	}
	sc_qtree_free(&t);
	sc_unlock(lock);
	return err;
}

static int check_current_root(struct sc_nl *nl, int ifindex, const char *dev, uint32_t mq_handle)
{
	struct sc_msgs now = { 0 };
	struct sc_tc_obj o;
	char h[32];
	int err = sc_tc_dump(nl, RTM_GETQDISC, ifindex, 0, &now);

	if (err)
		return sc_errf(err, "%s: qdisc dump: %s", dev, strerror(-err));
	sc_msgs_root_first(&now);
	if (!now.n || sc_tc_parse(now.v[0], &o)) {
		sc_msgs_free(&now);
		return sc_errf(EBUSY, "%s: has no root qdisc now", dev);
	}
	if (strcmp(o.kind, "mq") || (mq_handle && o.tcm->tcm_handle != mq_handle)) {
		sc_qdisc_handle_str(o.tcm->tcm_handle, h, sizeof(h));
		err = sc_errf(EBUSY, "%s: the root qdisc is now %s %s, not the mq shardctl installed; "
			      "use --force to restore the saved tree over it", dev, o.kind, h);
	}
	sc_msgs_free(&now);
	return err;
}

static int mq_revert(struct sc_nl *nl, const char *dev, unsigned int flags,
		     struct sc_mq_revert *res)
{
	struct sc_qtree_hdr h;
	struct sc_qtree t = { 0 };
	struct sc_qtree_count done = { 0 };
	struct sc_link link;
	struct sc_tc_obj root;
	int ifindex, err, lock;
	uint64_t cookie;

	memset(res, 0, sizeof(*res));
	lock = lock_device(nl, dev, &link, res->state_path, sizeof(res->state_path));
	if (lock < 0)
		return lock;
	ifindex = link.ifindex;
	err = sc_qtree_load(res->state_path, &h, &t);
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
	if (err)
		goto out;
	if (h.netns_cookie != cookie || (int)h.ifindex != ifindex) {
		err = sc_errf(ESTALE, "%s: %s belongs to another device", dev, res->state_path);
		goto out;
	}
	if (strncmp(h.ifname, dev, sizeof(h.ifname)) && !(flags & SC_MQ_FORCE)) {
		err = sc_errf(ESTALE, "%s: %s was saved for %.*s (ifindex reused?); use --force", dev,
			      res->state_path, (int)sizeof(h.ifname), h.ifname);
		goto out;
	}
	if (!(flags & SC_MQ_FORCE)) {
		err = check_current_root(nl, ifindex, dev, h.mq_handle);
		if (err)
			goto out;
	}
	err = sc_qtree_replay(nl, &t, ifindex, dev, &done);
	res->qdiscs = done.qdiscs;
	res->classes = done.classes;
	res->filters = done.filters;
	if (err)
		goto out;
	if (((const struct tcmsg *)nlmsg_data(t.qdiscs.v[0]))->tcm_handle) {
		err = sc_qtree_verify(nl, &t, ifindex, dev);
		if (err)
			goto out;
	}
	if (!sc_tc_parse(t.qdiscs.v[0], &root)) {
		snprintf(res->kind, sizeof(res->kind), "%s", root.kind);
		res->handle = root.tcm->tcm_handle;
	}
	if (unlink(res->state_path))
		err = sc_errf(errno, "%s: %s", res->state_path, strerror(errno));
out:
	sc_qtree_free(&t);
	sc_unlock(lock);
	return err;
}

int sc_qdisc_mq_install(const char *dev, const char *child, unsigned int flags,
			struct sc_mq_result *res)
{
	struct sc_nl *nl = NULL;
	int err = sc_nl_open(&nl);

	if (err)
		return err;
	err = mq_install(nl, dev, child, flags, res);
	sc_nl_close(nl);
	return err;
}

int sc_qdisc_mq_revert(const char *dev, unsigned int flags, struct sc_mq_revert *res)
{
	struct sc_nl *nl = NULL;
	int err = sc_nl_open(&nl);

	if (err)
		return err;
	err = mq_revert(nl, dev, flags, res);
	sc_nl_close(nl);
	return err;
}
