// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/rtnetlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/kernel/attach.h"
#include "dataplane/kernel/error.h"
#include "dataplane/kernel/nl.h"

int sc_tcx_attach(int prog_fd, int ifindex, bool egress, const char *pin)
{
	int fd, err;

	fd = bpf_link_create(prog_fd, ifindex, egress ? SC_BPF_TCX_EGRESS : SC_BPF_TCX_INGRESS,
			     NULL);
	if (fd < 0)
		return sc_errf(errno, "ifindex %d: tcx attach: %s", ifindex, strerror(errno));
	err = bpf_obj_pin(fd, pin);
	if (err)
		err = sc_errf(errno, "%s: pin tcx link: %s", pin, strerror(errno));
	close(fd);
	return err;
}

int sc_tcx_update(const char *pin, int new_prog_fd)
{
	int fd = bpf_obj_get(pin), err = 0;

	if (fd < 0)
		return sc_errf(errno, "%s: %s", pin, strerror(errno));
	if (bpf_link_update(fd, new_prog_fd, NULL))
		err = sc_errf(errno, "%s: link update: %s", pin, strerror(errno));
	close(fd);
	return err;
}

int sc_tcx_detach_pinned(const char *pin)
{
	int fd = bpf_obj_get(pin);

	if (fd < 0)
		return errno == ENOENT ? 0 : sc_errf(errno, "%s: %s", pin, strerror(errno));
	/* The device may be gone already (link defunct): detach then fails, unpinning frees it. */
	bpf_link_detach(fd);
	close(fd);
	if (unlink(pin) && errno != ENOENT)
		return sc_errf(errno, "%s: unpin: %s", pin, strerror(errno));
	return 0;
}

int sc_tc_attach(int prog_fd, int ifindex, bool egress, bool replace, bool *created)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = SC_TC_HANDLE,
			    .priority = SC_TC_PRIORITY, .flags = replace ? BPF_TC_F_REPLACE : 0);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (created)
		*created = !err;
	if (err && err != -EEXIST)
		return sc_errf(err, "ifindex %d: creating clsact: %s", ifindex, strerror(-err));
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		return sc_errf(err, "ifindex %d: cls_bpf attach: %s", ifindex, strerror(-err));
	return 0;
}

int sc_tc_detach(int ifindex, bool egress, uint32_t handle, uint32_t priority)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);
	int err = bpf_tc_detach(&hook, &opts);

	if (err && err != -ENOENT && err != -EINVAL && err != -ENODEV)
		return sc_errf(err, "ifindex %d: cls_bpf detach: %s", ifindex, strerror(-err));
	return 0;
}

int sc_clsact_destroy(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err = bpf_tc_hook_destroy(&hook);

	if (err && err != -ENOENT && err != -EINVAL && err != -ENODEV)
		return sc_errf(err, "ifindex %d: deleting clsact: %s", ifindex, strerror(-err));
	return 0;
}

static void prog_identity(uint32_t id, struct sc_hook_prog *p)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	int fd;

	p->prog_id = id;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		snprintf(p->name, sizeof(p->name), "%s", info.name);
		for (int i = 0; i < 8; i++)
			snprintf(p->tag + 2 * i, 3, "%02x", info.tag[i]);
	}
	close(fd);
}

static int tcx_list(int ifindex, bool egress, struct sc_hook_prog *out, int max)
{
	__u32 ids[64], cnt = 64, flags = 0;
	int n = 0;

	if (bpf_prog_query(ifindex, egress ? SC_BPF_TCX_EGRESS : SC_BPF_TCX_INGRESS, 0, &flags,
			   ids, &cnt))
		return (errno == EINVAL || errno == EOPNOTSUPP) ? 0 : -errno;
	for (__u32 i = 0; i < cnt && n < max; i++, n++) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].kind = SC_ATTACH_TCX;
		prog_identity(ids[i], &out[n]);
	}
	return n;
}

struct filter_dump {
	struct sc_hook_prog *out;
	int max, n;
};

static int filter_cb(struct nlmsghdr *nlh, void *data)
{
	struct filter_dump *d = data;
	struct sc_hook_prog p = { .kind = SC_ATTACH_TC };
	struct nlattr *tb[TCA_MAX + 1], *opt[TCA_BPF_MAX + 1];
	const struct tcmsg *tcm;

	if (nlmsg_parse(nlh, sizeof(*tcm), tb, TCA_MAX, NULL) < 0)
		return 0;
	tcm = nlmsg_data(nlh);
	/* A dump lists each filter's chain head too, without a handle: skip it. */
	if (!tcm->tcm_handle)
		return 0;
	p.tc_handle = tcm->tcm_handle;
	p.tc_priority = TC_H_MAJ(tcm->tcm_info) >> 16;
	if (tb[TCA_KIND])
		snprintf(p.tc_kind, sizeof(p.tc_kind), "%s", nla_get_string(tb[TCA_KIND]));
	if (!strcmp(p.tc_kind, "bpf") && tb[TCA_OPTIONS] &&
	    !nla_parse_nested(opt, TCA_BPF_MAX, tb[TCA_OPTIONS], NULL) && opt[TCA_BPF_ID] &&
	    nla_len(opt[TCA_BPF_ID]) >= (int)sizeof(uint32_t))
		prog_identity(nla_get_u32(opt[TCA_BPF_ID]), &p);
	if (d->n < d->max)
		d->out[d->n] = p;
	d->n++;
	return 0;
}

static int tc_list(struct sc_nl *nl, int ifindex, bool egress, struct sc_hook_prog *out, int max)
{
	struct filter_dump d = { .out = out, .max = max };
	struct tcmsg tcm = {
		.tcm_family = AF_UNSPEC,
		.tcm_ifindex = ifindex,
		.tcm_parent = TC_H_MAKE(TC_H_CLSACT, egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS),
	};
	int err = sc_nl_dump(nl, RTM_GETTFILTER, &tcm, sizeof(tcm), filter_cb, &d);

	/* No clsact on the device: the kernel answers EINVAL; nothing attached. */
	if (err == -EINVAL || err == -ENOENT)
		return 0;
	if (err)
		return err;
	return d.n < max ? d.n : max;
}

int sc_hook_list(struct sc_nl *nl, int ifindex, bool egress, struct sc_hook_prog *out, int max)
{
	int n, m;

	n = tcx_list(ifindex, egress, out, max);
	if (n < 0)
		return sc_errf(n, "ifindex %d: querying tcx programs: %s", ifindex, strerror(-n));
	m = tc_list(nl, ifindex, egress, out + n, max - n);
	if (m < 0)
		return sc_errf(m, "ifindex %d: listing tc filters: %s", ifindex, strerror(-m));
	return n + m;
}
