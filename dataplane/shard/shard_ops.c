// SPDX-License-Identifier: GPL-2.0
/*
 * The changes: setup (with rollback), teardown, remap. Order matters and is
 * chosen so that the NIC's ingress never redirects to a device that is not
 * there: setup enables the ingress redirect last, teardown removes it first.
 */
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/kernel/error.h"
#include "dataplane/kernel/kernel.h"
#include "dataplane/kernel/fault.h"
#include "dataplane/kernel/qdisc.h"
#include "dataplane/shard/qspec.h"
#include "dataplane/shard/shard_int.h"
#include "shard.skel.h"

struct setup {
	const struct sc_setup_opts *o;
	struct sc_nl *nl;
	struct sc_link nic;
	uint64_t cookie;
	char dir[PATH_MAX];
	unsigned int nr_rxq, nr_txq, tx_queues, nr_shards;
	unsigned int was_rxq, was_shards;	/* a re-run: what the recorded setup covers */
	int attach;		/* the NIC's ingress: SC_ATTACH_AUTO until resolved */
	/*
	 * The shard devices: cls_bpf unless tcx was asked for. A tcx attach is
	 * one synchronize_rcu() under rtnl per device (tcx_entry_sync() in
	 * kernel/bpf/tcx.c), and so is the device's deletion: at 64 shards
	 * 848 ms setup and 829 ms teardown against 76 and 69 ms with cls_bpf
	 * (bench/run).
	 */
	int shard_attach;
	struct shard_bpf *skel;
	struct sc_shard *shards;
	struct sc_qspec qspec;
	char qspec_text[128];
	struct bpf_object *user_obj;	/* --shard-prog, loaded and verified before any change */
	struct bpf_program *user_prog;
	/* what this run created, for rollback */
	bool made_dir, ingress_attached, clsact_created, table_written;
	bool switched;		/* a re-run's ingress runs the new table: rollback keeps it */
	int replaced;		/* the ifindex of a replaced NIC whose setup was removed */
	bool *made_pair, *made_return;
};

/* ---- checks before anything changes ---- */

static int check_nic(struct setup *s)
{
	const struct sc_setup_opts *o = s->o;
	unsigned int shard;
	bool ret;
	int owner, err, addrs;

	err = sc_nl_link_by_name(s->nl, o->dev, &s->nic);
	if (err)
		return err;
	if (s->nic.flags & IFF_LOOPBACK)
		return sc_errf(EINVAL, "%s: loopback device: it has no rx queues to shard", o->dev);
	if (sc_alias_parse(s->nic.alias, &owner, &shard, &ret))
		return sc_errf(EINVAL, "%s: is itself a shardctl shard device (of ifindex %d)",
			       o->dev, owner);
	if (!strcmp(s->nic.kind, "veth"))
		return sc_errf(EINVAL, "%s: is a veth: veth records no rx queue on receive, so its "
				       "frames cannot be sharded by rx queue", o->dev);
	if (!(s->nic.flags & IFF_UP))
		return sc_errf(ENETDOWN, "%s: is down: the kernel lists no active queues for a "
					 "down device; bring it up first", o->dev);
	err = sc_nl_active_queues(s->nl, s->nic.ifindex, &s->nr_rxq, &s->nr_txq);
	if (err)
		return sc_err_wrap(err, "%s", o->dev);
	if (s->nr_rxq < 2)
		return sc_errf(EINVAL, "%s: has %u active rx queue%s: nothing to shard", o->dev,
			       s->nr_rxq, s->nr_rxq == 1 ? "" : "s");
	if (s->nr_rxq > SC_MAX_RXQ)
		return sc_errf(E2BIG, "%s: has %u rx queues, more than the %d shardctl supports",
			       o->dev, s->nr_rxq, SC_MAX_RXQ);
	s->nr_shards = o->nr_shards ? o->nr_shards : s->nr_rxq;
	if (s->nr_shards > s->nr_rxq)
		return sc_errf(EINVAL, "%s: %u shards for %u rx queues: at most one shard per "
				       "rx queue", o->dev, s->nr_shards, s->nr_rxq);
	s->tx_queues = o->tx_queues ? o->tx_queues : (s->nr_txq ? s->nr_txq : 1);
	if (o->force)
		return 0;
	err = sc_nl_addr_count(s->nl, s->nic.ifindex, &addrs);
	if (err)
		return err;
	if (addrs)
		return sc_errf(EBUSY, "%s: has %d address%s: setup redirects ALL of its received "
				      "traffic into the shards, the host would stop receiving on "
				      "it (use --force if that is intended)",
			       o->dev, addrs, addrs == 1 ? "" : "es");
	err = sc_nl_default_route_via(s->nl, s->nic.ifindex, &ret);
	if (err)
		return err;
	if (ret)
		return sc_errf(EBUSY, "%s: carries the default route: setup redirects ALL of its "
				      "received traffic (use --force if that is intended)", o->dev);
	return 0;
}

static int check_foreign_ingress(struct setup *s)
{
	struct sc_hook_prog progs[32];
	int n = sc_hook_list(s->nl, s->nic.ifindex, false, progs, 32);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		const struct sc_hook_prog *p = &progs[i];

		if (sc_is_ingress_prog(p))
			continue;
		if (p->prog_id)
			return sc_errf(EBUSY, "%s: ingress already runs a foreign %s program '%s' "
					      "(id %u): shardctl would take its frames; detach it "
					      "first", s->o->dev, p->kind == SC_ATTACH_TCX ? "tcx" : "tc",
				       p->name, p->prog_id);
		return sc_errf(EBUSY, "%s: ingress already has a tc '%s' filter (pref %u): "
				      "shardctl would take its frames; remove it first",
			       s->o->dev, p->tc_kind, p->tc_priority);
	}
	return 0;
}

/*
 * A device of ours: our alias, or (killed between create and alias) our
 * name and our group on it or on its veth peer. The group is set by the
 * create request on the first end only: libnl does not put IFLA_GROUP in
 * VETH_INFO_PEER, so the peer gets it with its alias.
 */
static bool device_is_ours(struct sc_nl *nl, const struct sc_link *l, int nic,
			   unsigned int index, bool want_ret, uint32_t group)
{
	struct sc_link peer;
	unsigned int shard;
	bool ret;
	int owner;

	if (sc_alias_parse(l->alias, &owner, &shard, &ret))
		return owner == nic && shard == index && ret == want_ret;
	if (l->alias[0] || strcmp(l->kind, "veth"))
		return false;
	if (l->group == group)
		return true;
	if (!l->peer_ifindex || sc_nl_link_by_index(nl, l->peer_ifindex, &peer)) {
		sc_clear_error();
		return false;
	}
	return peer.group == group && !peer.alias[0];
}

static int check_names(struct setup *s, uint32_t group)
{
	for (unsigned int i = 0; i < s->nr_shards; i++) {
		struct sc_shard *sh = &s->shards[i];
		const char *names[2] = { sh->name, sh->peer };

		for (int r = 0; r < 2; r++) {
			struct sc_link l;

			if (sc_nl_link_by_name(s->nl, names[r], &l)) {
				sc_clear_error();
				continue;
			}
			if (!device_is_ours(s->nl, &l, s->nic.ifindex, i, r, group))
				return sc_errf(EEXIST, "%s: shard device name %s is taken by a "
						       "device shardctl did not create",
					       s->o->dev, names[r]);
			if (r)
				sh->peer_ifindex = l.ifindex;
			else
				sh->ifindex = l.ifindex;
		}
	}
	return 0;
}

/* --shard-prog FILE.o[:SECTION]: open, pick the program, load it (the verifier runs now). */
static int load_user_prog(struct setup *s)
{
	char file[PATH_MAX], *section;
	struct bpf_program *p, *pick = NULL;
	int err;

	snprintf(file, sizeof(file), "%s", s->o->shard_prog);
	section = strrchr(file, ':');
	if (section)
		*section++ = '\0';
	if (access(file, R_OK))
		return sc_errf(errno, "--shard-prog %s: %s", file, strerror(errno));
	s->user_obj = bpf_object__open_file(file, NULL);
	if (!s->user_obj) {
		err = -errno;
		return sc_errf(err, "--shard-prog %s: not a BPF object file: %s", file, strerror(-err));
	}
	bpf_object__for_each_program(p, s->user_obj) {
		if (!pick && (!section || !strcmp(bpf_program__section_name(p), section) ||
			      !strcmp(bpf_program__name(p), section)))
			pick = p;
		else
			bpf_program__set_autoload(p, false);
	}
	if (!pick)
		return sc_errf(ENOENT, "--shard-prog %s: no program in section '%s'", file,
			       section ? section : "(any)");
	/* A plain SEC("...") name may not tell libbpf the type: shards run tc programs. */
	bpf_program__set_type(pick, BPF_PROG_TYPE_SCHED_CLS);
	err = bpf_object__load(s->user_obj);
	if (err)
		return sc_errf(err, "--shard-prog %s: load failed (see libbpf's messages above): %s",
			       file, strerror(-err));
	s->user_prog = pick;
	return 0;
}

/*
 * A re-run finds the shard root already of the requested kind at 1: (the
 * spec is the recorded one, same_request()). Leave it: htb has no change
 * operation (qdisc_change() answers EINVAL without ops->change, sch_htb.c).
 */
static bool root_done(struct sc_nl *nl, int ifindex, const char *spec)
{
	struct sc_qdisc_info *q = NULL;
	bool done = false;
	int n = 0;

	if (sc_qdisc_list(nl, ifindex, &q, &n)) {
		sc_clear_error();
		return false;
	}
	for (int i = 0; i < n; i++) {
		size_t len = strlen(q[i].kind);

		done |= q[i].root && q[i].handle == 0x10000u && !strncmp(spec, q[i].kind, len) &&
			(spec[len] == ' ' || !spec[len]);
	}
	free(q);
	return done;
}

static int attach_shard_egress(struct setup *s, unsigned int i)
{
	struct sc_shard *sh = &s->shards[i];
	char path[PATH_MAX], name[32];
	int err;

	if (s->qspec.kind && !root_done(s->nl, sh->ifindex, s->qspec_text)) {
		err = sc_qspec_apply(s->nl, sh->ifindex, &s->qspec);
		if (err)
			return sc_err_wrap(err, "%s", sh->name);
	}
	if (!s->user_prog)
		return 0;
	snprintf(name, sizeof(name), "egress_%u", i);
	sc_pin_path(path, sizeof(path), s->dir, name);
	sc_tcx_detach_pinned(path);
	if (s->shard_attach == SC_ATTACH_TC) {
		err = sc_tc_attach(bpf_program__fd(s->user_prog), sh->ifindex, true, true, NULL);
	} else {
		err = sc_tcx_attach(bpf_program__fd(s->user_prog), sh->ifindex, true, path);
	}
	return err ? sc_err_wrap(err, "%s: --shard-prog", sh->name) : 0;
}

/* ---- the changes ---- */

static int make_pair(struct setup *s, unsigned int i, uint32_t group)
{
	struct sc_shard *sh = &s->shards[i];
	char alias[128];
	struct sc_link l;
	int err;

	if (!sh->ifindex && !sh->peer_ifindex) {
		err = sc_nl_veth_create(s->nl, sh->name, sh->peer, s->tx_queues, group);
		if (err)
			return err;
		s->made_pair[i] = true;
	} else if (!sh->ifindex || !sh->peer_ifindex) {
		return sc_errf(EEXIST, "shard %u: only one end of %s/%s exists", i, sh->name,
			       sh->peer);
	}
	err = sc_nl_link_by_name(s->nl, sh->name, &l);
	if (err)
		return err;
	sh->ifindex = l.ifindex;
	err = sc_fault("setup:created:%u", i);
	if (err)
		return err;
	sc_alias_make(alias, sizeof(alias), s->nic.ifindex, i, false);
	/*
	 * The shard must take every frame the NIC can receive: the veth drops
	 * frames over its peer's MTU (is_skb_forwardable() in veth_xmit()).
	 */
	if (strcmp(l.alias, alias) || l.mtu != s->nic.mtu) {
		err = sc_nl_link_prepare(s->nl, l.ifindex, alias, group, s->nic.mtu);
		if (err)
			return err;
	}
	err = sc_nl_link_by_name(s->nl, sh->peer, &l);
	if (err)
		return err;
	sh->peer_ifindex = l.ifindex;
	sc_alias_make(alias, sizeof(alias), s->nic.ifindex, i, true);
	if (strcmp(l.alias, alias) || l.group != group || l.mtu != s->nic.mtu) {
		err = sc_nl_link_prepare(s->nl, l.ifindex, alias, group, s->nic.mtu);
		if (err)
			return err;
	}
	err = sc_fault("setup:prepared:%u", i);
	if (err)
		return err;
	err = sc_nl_link_set_up(s->nl, sh->ifindex);
	if (err)
		return err;
	return sc_nl_link_set_up(s->nl, sh->peer_ifindex);
}

static struct bpf_program *ingress_prog(struct shard_bpf *skel, enum sc_lookup lookup)
{
	switch (lookup) {
	case SC_LOOKUP_GLOBAL:
		return skel->progs.sc_in_global;
	case SC_LOOKUP_CONST:
		return skel->progs.sc_in_const;
	case SC_LOOKUP_BARE:
		return skel->progs.sc_in_bare;
	default:
		return skel->progs.sc_in_map;
	}
}

static unsigned int shard_of_rxq(unsigned int rxq, unsigned int nr_shards)
{
	return rxq % nr_shards;
}

/*
 * Open and load the programs for NIC @nic with rx queue table @table (what
 * lookup=const compiles in). Maps get pin paths in @dir, so libbpf reuses
 * them when a previous run pinned them (counters and the live table survive
 * a re-run or a const reload) and pins them when it creates them.
 */
static int load_object(struct shard_bpf **out, int nic, const __u32 *table, unsigned int nr_rxq,
		       enum sc_lookup lookup, const char *dir)
{
	static const char *const pinned[] = { "rxq_shard", "stats", "meta" };
	struct bpf_map *maps[3];
	struct shard_bpf *skel;
	char path[PATH_MAX];
	int err;

	skel = shard_bpf__open();
	if (!skel)
		return sc_errf(errno, "opening the BPF object: %s", strerror(errno));
	*out = skel;
	skel->rodata->nic_ifindex = (__u32)nic;
	skel->rodata->bare_ifindex = table[0];
	for (unsigned int q = 0; q < nr_rxq && q < SC_MAX_RXQ; q++)
		skel->rodata->const_shard[q] = table[q];
	bpf_program__set_autoload(skel->progs.sc_in_map, false);
	bpf_program__set_autoload(skel->progs.sc_in_global, false);
	bpf_program__set_autoload(skel->progs.sc_in_const, false);
	bpf_program__set_autoload(skel->progs.sc_in_bare, false);
	bpf_program__set_autoload(ingress_prog(skel, lookup), true);
	maps[0] = skel->maps.rxq_shard;
	maps[1] = skel->maps.stats;
	maps[2] = skel->maps.meta;
	for (int i = 0; i < 3; i++) {
		sc_pin_path(path, sizeof(path), dir, pinned[i]);
		bpf_map__set_pin_path(maps[i], path);
	}
	if (lookup == SC_LOOKUP_GLOBAL) {
		sc_pin_path(path, sizeof(path), dir, "bss");
		bpf_map__set_pin_path(skel->maps.bss, path);
	}
	err = shard_bpf__load(skel);
	if (err)
		return sc_errf(err, "loading the BPF programs (see libbpf's messages above): %s",
			       strerror(-err));
	return 0;
}

static int load_programs(struct setup *s)
{
	__u32 table[SC_MAX_RXQ] = { 0 };

	for (unsigned int q = 0; q < s->nr_rxq; q++)
		table[q] = (__u32)s->shards[shard_of_rxq(q, s->nr_shards)].ifindex;
	return load_object(&s->skel, s->nic.ifindex, table, s->nr_rxq, s->o->lookup, s->dir);
}

static int fill_table(struct setup *s)
{
	int fd = bpf_map__fd(s->skel->maps.rxq_shard);

	for (__u32 q = 0; q < SC_MAX_RXQ; q++) {
		__u32 ifindex = 0;

		if (q < s->nr_rxq)
			ifindex = (__u32)s->shards[shard_of_rxq(q, s->nr_shards)].ifindex;
		/* The map is the live table for lookup=map and the record of it for the others. */
		if (bpf_map_update_elem(fd, &q, &ifindex, BPF_ANY))
			return sc_errf(errno, "updating the rx queue table: %s", strerror(errno));
		if (s->o->lookup == SC_LOOKUP_GLOBAL)
			s->skel->bss->global_shard[q] = ifindex;
	}
	return 0;
}

static int store_meta(struct setup *s, uint32_t group, uint32_t flags)
{
	struct sc_meta m = {
		.magic = SC_META_MAGIC,
		.version = SC_META_VERSION,
		.nic_ifindex = (__u32)s->nic.ifindex,
		.nr_rxq = s->nr_rxq,
		.nr_shards = s->nr_shards,
		.tx_queues = s->tx_queues,
		.attach = (__u32)s->attach,
		.lookup = s->o->lookup,
		.group = group,
		.flags = flags,
	};

	snprintf(m.nic_name, sizeof(m.nic_name), "%s", s->nic.name);
	snprintf(m.shard_qdisc, sizeof(m.shard_qdisc), "%s", s->qspec_text);
	snprintf(m.shard_prog, sizeof(m.shard_prog), "%s", s->o->shard_prog ? s->o->shard_prog : "");
	return sc_meta_write(s->dir, &m);
}

static int attach_returns(struct setup *s)
{
	int fd = bpf_program__fd(s->skel->progs.sc_return);

	for (unsigned int i = 0; i < s->nr_shards; i++) {
		struct sc_shard *sh = &s->shards[i];
		char path[PATH_MAX], name[32];
		int err;

		struct sc_hook_prog progs[8];
		int n = sc_hook_list(s->nl, sh->peer_ifindex, false, progs, 8);
		bool present = false;

		for (int k = 0; k < n; k++)
			present |= sc_is_return_prog(&progs[k]);
		if (present)
			continue;
		snprintf(name, sizeof(name), "return_%u", i);
		sc_pin_path(path, sizeof(path), s->dir, name);
		if (i) {
			err = sc_fault("setup:return:%u", i);
			if (err)
				return err;
		}
		if (s->shard_attach == SC_ATTACH_TCX) {
			/* A stale pin (peer re-created since) holds a defunct link. */
			sc_tcx_detach_pinned(path);
			err = sc_tcx_attach(fd, sh->peer_ifindex, false, path);
			if (err)
				return sc_err_wrap(err, "%s", sh->peer);
			s->made_return[i] = true;
			continue;
		}
		err = sc_tc_attach(fd, sh->peer_ifindex, false, false, NULL);
		if (err)
			return sc_err_wrap(err, "%s", sh->peer);
		s->made_return[i] = true;
	}
	return 0;
}

/* Whether @ifindex has a clsact qdisc; true when unknown, so we never claim a foreign one. */
static bool has_clsact(struct sc_nl *nl, int ifindex)
{
	struct sc_qdisc_info *q = NULL;
	bool found = false;
	int n = 0;

	if (sc_qdisc_list(nl, ifindex, &q, &n)) {
		sc_clear_error();
		return true;
	}
	for (int i = 0; i < n; i++)
		found |= !strcmp(q[i].kind, "clsact");
	free(q);
	return found;
}

static int attach_ingress(struct setup *s)
{
	int fd = bpf_program__fd(ingress_prog(s->skel, s->o->lookup));
	char path[PATH_MAX];
	int err;

	if (s->attach == SC_ATTACH_TC) {
		err = sc_tc_attach(fd, s->nic.ifindex, false, true, &s->clsact_created);
		if (err)
			return sc_err_wrap(err, "%s", s->o->dev);
		s->ingress_attached = true;
		return 0;
	}
	sc_pin_path(path, sizeof(path), s->dir, "ingress");
	if (!access(path, F_OK) && !sc_tcx_update(path, fd))
		return 0;	/* re-run: swapped in place, the NIC never lacked a program */
	sc_tcx_detach_pinned(path);
	err = sc_tcx_attach(fd, s->nic.ifindex, false, path);
	if (err)
		return sc_err_wrap(err, "%s", s->o->dev);
	s->ingress_attached = true;
	return 0;
}

/*
 * auto: tcx where the kernel has it (Linux >= 6.6), else clsact + cls_bpf.
 * Decided by a probe before anything is made, so --dry-run plans exactly
 * what the real run then does.
 */
static void resolve_attach(struct setup *s)
{
	if (s->attach == SC_ATTACH_AUTO)
		s->attach = sc_kernel_has_tcx() ? SC_ATTACH_TCX : SC_ATTACH_TC;
}

static void remove_pins(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char path[PATH_MAX];

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		sc_pin_path(path, sizeof(path), dir, de->d_name);
		if (!strcmp(de->d_name, "ingress") || !strncmp(de->d_name, "return_", 7))
			sc_tcx_detach_pinned(path);
		else
			unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	/* The per-namespace parent goes with its last NIC, the root with its last namespace. */
	snprintf(path, sizeof(path), "%s", dir);
	*strrchr(path, '/') = '\0';
	if (!rmdir(path))
		rmdir(SC_PIN_ROOT);
}

static void rollback(struct setup *s)
{
	char path[PATH_MAX];

	/*
	 * A re-run that failed after its ingress switch (re-attached in tc
	 * mode, swapped in place with tcx) keeps what it made: those shards are
	 * complete and in use. Undoing would take the NIC's redirect away (tc)
	 * or leave a const table pointing at deleted shards. The meta is not
	 * COMPLETE, so status says so and the next run finishes the job.
	 */
	if (s->switched)
		return;
	/*
	 * A failed re-run that grew the setup: point the queues back at the
	 * shards they had before the new ones (made by this run) go away.
	 */
	if (s->table_written && s->was_shards && s->was_shards <= s->nr_shards) {
		unsigned int rxq = s->nr_rxq, shards = s->nr_shards;

		s->nr_rxq = s->was_rxq < rxq ? s->was_rxq : rxq;
		s->nr_shards = s->was_shards;
		fill_table(s);
		s->nr_rxq = rxq;
		s->nr_shards = shards;
	}

	if (s->ingress_attached) {
		if (s->attach == SC_ATTACH_TC)
			sc_tc_detach(s->nic.ifindex, false, SC_TC_HANDLE, SC_TC_PRIORITY);
		sc_pin_path(path, sizeof(path), s->dir, "ingress");
		sc_tcx_detach_pinned(path);
	}
	if (s->clsact_created)
		sc_clsact_destroy(s->nic.ifindex);
	for (unsigned int i = 0; i < s->nr_shards; i++) {
		if (s->made_return[i] && !s->made_pair[i]) {
			char name[32];

			snprintf(name, sizeof(name), "return_%u", i);
			sc_pin_path(path, sizeof(path), s->dir, name);
			sc_tcx_detach_pinned(path);
			sc_tc_detach(s->shards[i].peer_ifindex, false, SC_TC_HANDLE, SC_TC_PRIORITY);
		}
		if (s->made_pair[i])
			sc_nl_link_delete(s->nl, s->shards[i].ifindex ? s->shards[i].ifindex
								      : s->shards[i].peer_ifindex);
	}
	if (s->made_dir)
		remove_pins(s->dir);
}

static int plan(struct setup *s, struct sc_state *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->dev, sizeof(out->dev), "%s", s->nic.name);
	out->ifindex = s->nic.ifindex;
	out->netns_cookie = s->cookie;
	snprintf(out->pin_dir, sizeof(out->pin_dir), "%s", s->dir);
	out->nr_rxq = s->nr_rxq;
	out->nr_txq = s->nr_txq;
	out->nic_rxq = s->nr_rxq;
	out->was_rxq = s->was_rxq;
	out->was_shards = s->was_shards;
	out->tx_queues = s->tx_queues;
	out->nr_shards = s->nr_shards;
	out->attach = s->attach;
	out->lookup = s->o->lookup;
	out->group = sc_shard_group(s->nic.ifindex);
	out->shards = calloc(s->nr_shards, sizeof(*out->shards));
	out->rxqs = calloc(s->nr_rxq, sizeof(*out->rxqs));
	if (!out->shards || !out->rxqs) {
		sc_state_free(out);
		return sc_errf(ENOMEM, "out of memory");
	}
	memcpy(out->shards, s->shards, s->nr_shards * sizeof(*s->shards));
	for (unsigned int q = 0; q < s->nr_rxq; q++) {
		out->rxqs[q].rxq = q;
		out->rxqs[q].shard = shard_of_rxq(q, s->nr_shards);
		out->rxqs[q].ifindex = s->shards[out->rxqs[q].shard].ifindex;
	}
	return 0;
}

/*
 * A re-run may follow the NIC (or a new --shards): shards are added and
 * removed. What the existing devices and programs embody cannot change
 * without a teardown: their tx queue count, the lookup, the attach mode,
 * the shard qdisc and program.
 */
static int same_request(struct setup *s, const struct sc_meta *m)
{
	const char *what = NULL, *why = "";

	if (s->o->tx_queues && m->tx_queues != s->o->tx_queues) {
		what = "tx queue count";
		why = " (a veth pair keeps the tx queues it was made with)";
	} else if (m->lookup != (__u32)s->o->lookup) {
		what = "lookup method";
	} else if (s->attach != SC_ATTACH_AUTO && m->attach != (__u32)s->attach) {
		what = "attach mode";
	} else if (strncmp(m->shard_qdisc, s->qspec_text, sizeof(m->shard_qdisc))) {
		what = "shard qdisc";
	} else if (strncmp(m->shard_prog, s->o->shard_prog ? s->o->shard_prog : "",
			   sizeof(m->shard_prog))) {
		what = "shard program";
	}
	if (what)
		return sc_errf(EEXIST, "%s: already set up with another %s%s; run 'shardctl "
				       "teardown %s' first", s->o->dev, what, why, s->o->dev);
	s->attach = (int)m->attach;
	/* Without --tx-queues the recorded count stands: new shards match the old ones. */
	s->tx_queues = m->tx_queues;
	for (unsigned int i = 0; i < s->nr_shards; i++)
		s->shards[i].tx_queues = s->tx_queues;
	s->was_rxq = m->nr_rxq;
	s->was_shards = m->nr_shards;
	return 0;
}

/* The devices of shards at or beyond @from (egress ends first), found by their alias. */
static int surplus_devices(struct setup *s, unsigned int from, int *ifindex, unsigned int *index,
			   int max)
{
	struct sc_link *links = NULL;
	int nlinks = 0, n = 0, err;

	err = sc_nl_links(s->nl, &links, &nlinks);
	if (err)
		return err;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < nlinks && n < max; i++) {
			unsigned int shard;
			bool ret;
			int owner;

			if (sc_alias_parse(links[i].alias, &owner, &shard, &ret) &&
			    owner == s->nic.ifindex && shard >= from && ret == (pass == 1)) {
				ifindex[n] = links[i].ifindex;
				index[n++] = shard;
			}
		}
	free(links);
	return n;
}

/* Frames through the surplus shards' veth ends, both ways: still moving while any is in flight. */
static uint64_t surplus_tx(struct setup *s, const int *ifindex, int n)
{
	uint64_t sum = 0;

	for (int i = 0; i < n; i++) {
		struct sc_link l;

		if (!sc_nl_link_by_index(s->nl, ifindex[i], &l))
			sum += l.tx_packets + l.rx_packets;
	}
	sc_clear_error();
	return sum;
}

/*
 * Remove the shards beyond the new count, once nothing points at them any
 * more: the table and the ingress program were switched first. A frame
 * redirected just before the switch may still be in a shard's backlog, so
 * wait until their counters stand still (at most 1 s) before deleting.
 */
static int remove_surplus(struct setup *s)
{
	int ifindex[2 * SC_MAX_RXQ], n, err;
	unsigned int index[2 * SC_MAX_RXQ];
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	uint64_t last, now;

	n = surplus_devices(s, s->nr_shards, ifindex, index, 2 * SC_MAX_RXQ);
	if (n <= 0)
		return n;
	err = sc_fault("setup:surplus");
	if (err)
		return err;
	last = surplus_tx(s, ifindex, n);
	for (int i = 0; i < 50; i++, last = now) {
		nanosleep(&tick, NULL);
		now = surplus_tx(s, ifindex, n);
		if (now == last)
			break;
	}
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX], name[32];

		snprintf(name, sizeof(name), "return_%u", index[i]);
		sc_pin_path(path, sizeof(path), s->dir, name);
		sc_tcx_detach_pinned(path);
		snprintf(name, sizeof(name), "egress_%u", index[i]);
		sc_pin_path(path, sizeof(path), s->dir, name);
		sc_tcx_detach_pinned(path);
		/* Deleting one end deletes the pair; the second entry then finds nothing. */
		err = sc_nl_link_delete(s->nl, ifindex[i]);
		if (err)
			return err;
	}
	return 0;
}

/* The shards, complete, before the table or the ingress point at any of them. */
static int build_shards(struct setup *s, uint32_t group, const struct sc_meta *old)
{
	int err;

	err = sc_ensure_bpffs();
	if (err)
		return err;
	if (access(s->dir, F_OK)) {
		err = sc_mkdir_p(s->dir, 0700);
		if (err)
			return err;
		s->made_dir = true;
	}
	for (unsigned int i = 0; i < s->nr_shards; i++) {
		err = make_pair(s, i, group);
		if (err)
			return err;
	}
	err = sc_fault("setup:devices");
	if (err)
		return err;
	err = load_programs(s);
	if (err)
		return err;
	err = sc_fault("setup:loaded");
	if (err)
		return err;
	err = store_meta(s, group, old ? old->flags & SC_META_CLSACT_OURS : 0);
	if (err)
		return err;
	err = attach_returns(s);
	if (err)
		return err;
	err = sc_fault("setup:returns");
	if (err)
		return err;
	/* The shard's egress processing is in place before any frame is redirected to it. */
	for (unsigned int i = 0; i < s->nr_shards; i++) {
		err = attach_shard_egress(s, i);
		if (err)
			return err;
	}
	return 0;
}

static int apply(struct setup *s, uint32_t group, const struct sc_meta *old)
{
	int err;

	err = build_shards(s, group, old);
	if (err)
		return err;
	/*
	 * Only complete shards go into the table: on a re-run the ingress is
	 * live, and a new rx queue starts redirecting the moment its entry is
	 * written (lookup map and global).
	 */
	err = fill_table(s);
	if (err)
		return err;
	s->table_written = true;
	err = sc_fault("setup:table");
	if (err)
		return err;
	/*
	 * Record that the NIC's clsact is ours before creating it: once it
	 * exists, a re-run cannot tell it from a foreign one, so a kill between
	 * the two would leave a clsact no teardown removes.
	 */
	err = sc_fault("setup:egress");
	if (err)
		return err;
	if (s->attach == SC_ATTACH_TC && !has_clsact(s->nl, s->nic.ifindex)) {
		err = store_meta(s, group, SC_META_CLSACT_OURS);
		if (err)
			return err;
	}
	err = attach_ingress(s);
	if (err)
		return err;
	s->switched = s->was_shards != 0;
	err = sc_fault("setup:ingress");
	if (err)
		return err;
	/* Nothing points at the shards beyond the count now (lookup const: since the swap above). */
	err = remove_surplus(s);
	if (err)
		return err;
	return store_meta(s, group,
			  SC_META_COMPLETE | (s->clsact_created ? SC_META_CLSACT_OURS : 0) |
				  (old ? old->flags & SC_META_CLSACT_OURS : 0));
}

static int teardown_one(struct sc_nl *nl, const struct sc_state *st);

/*
 * Whether gone NIC @nic's setup was this NIC's: its record names it, or,
 * with the pins gone too, its devices carry this NIC's shard names.
 */
static bool was_this_nic(struct setup *s, int nic, const struct sc_link *links, int nlinks)
{
	char dir[PATH_MAX], name[IF_NAMESIZE], peer[IF_NAMESIZE];
	struct sc_meta meta;

	sc_pin_dir_of(dir, sizeof(dir), s->cookie, nic);
	if (!sc_meta_read(dir, &meta))
		return !strncmp(meta.nic_name, s->nic.name, IF_NAMESIZE);
	for (int i = 0; i < nlinks; i++) {
		unsigned int shard;
		bool ret;
		int owner;

		if (!sc_alias_parse(links[i].alias, &owner, &shard, &ret) || owner != nic)
			continue;
		sc_shard_names(s->nic.name, shard, name, peer);
		if (!strcmp(links[i].name, ret ? peer : name))
			return true;
	}
	return false;
}

/*
 * The NIC was replaced (a driver reload, a re-created device): a setup
 * recorded under the same name for an ifindex that no longer exists holds
 * our shard names. Remove it before building for the new NIC.
 */
static int remove_replaced(struct setup *s)
{
	struct sc_link *links = NULL, l;
	int nics[SC_MAX_RXQ], n, nlinks = 0, err;

	err = sc_nl_links(s->nl, &links, &nlinks);
	if (err)
		return err;
	n = sc_list_nics(s->cookie, links, nlinks, nics, SC_MAX_RXQ);
	for (int i = 0; i < n && !err; i++) {
		struct sc_state st;

		if (nics[i] == s->nic.ifindex || !sc_nl_link_by_index(s->nl, nics[i], &l))
			continue;
		sc_clear_error();
		if (!was_this_nic(s, nics[i], links, nlinks))
			continue;
		if (sc_state_read(s->nl, s->cookie, nics[i], links, nlinks, &st) > 0) {
			err = teardown_one(s->nl, &st);
			s->replaced = nics[i];
		}
		sc_state_free(&st);
	}
	free(links);
	return err;
}

int sc_setup(const struct sc_setup_opts *o, struct sc_state *out)
{
	struct setup s = { .o = o, .attach = o->attach };
	struct sc_meta old;
	bool have_old;
	int err, lock = -1;
	uint32_t group;

	memset(out, 0, sizeof(*out));
	if (!o->dev)
		return sc_errf(EINVAL, "setup: no device given");
	if (o->attach == SC_ATTACH_TCX) {
		err = sc_kernel_need_tcx("--attach tcx");
		if (err)
			return err;
	}
	if (o->tx_queues > SC_MAX_TX_QUEUES)
		return sc_errf(EINVAL, "%u tx queues: at most %d", o->tx_queues, SC_MAX_TX_QUEUES);
	/* Bad specs and programs are refused before anything is looked at or created. */
	if (o->shard_qdisc) {
		err = sc_qspec_parse(o->shard_qdisc, &s.qspec);
		if (err)
			return err;
		sc_qspec_format(&s.qspec, s.qspec_text, sizeof(s.qspec_text));
	}
	if (o->shard_prog && strlen(o->shard_prog) >= sizeof(((struct sc_meta *)0)->shard_prog))
		return sc_errf(ENAMETOOLONG, "--shard-prog: path longer than %zu characters",
			       sizeof(((struct sc_meta *)0)->shard_prog) - 1);
	if (o->shard_prog) {
		err = load_user_prog(&s);
		if (err)
			goto out;
	}
	err = sc_netns_cookie(&s.cookie);
	if (err)
		goto out;
	err = sc_nl_open(&s.nl);
	if (err)
		goto out;
	err = check_nic(&s);
	if (err)
		goto out;
	if (!o->dry_run) {
		err = remove_replaced(&s);
		if (err)
			goto out;
	}
	group = sc_shard_group(s.nic.ifindex);
	sc_pin_dir_of(s.dir, sizeof(s.dir), s.cookie, s.nic.ifindex);
	s.shards = calloc(s.nr_shards, sizeof(*s.shards));
	s.made_pair = calloc(s.nr_shards, sizeof(bool));
	s.made_return = calloc(s.nr_shards, sizeof(bool));
	if (!s.shards || !s.made_pair || !s.made_return) {
		err = sc_errf(ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned int i = 0; i < s.nr_shards; i++) {
		s.shards[i].index = i;
		s.shards[i].tx_queues = s.tx_queues;
		sc_shard_names(s.nic.name, i, s.shards[i].name, s.shards[i].peer);
	}
	if (!o->dry_run) {
		lock = sc_lock_nic(s.cookie, s.nic.ifindex);
		if (lock < 0) {
			err = lock;
			goto out;
		}
	}
	/* Checks run under the lock, so a concurrent setup cannot slip in between. */
	have_old = !sc_meta_read(s.dir, &old);
	if (have_old) {
		err = same_request(&s, &old);
		if (err)
			goto out;
	}
	resolve_attach(&s);	/* after same_request(): a re-run keeps the recorded mode */
	s.shard_attach = o->attach == SC_ATTACH_TCX ? SC_ATTACH_TCX : SC_ATTACH_TC;
	err = check_foreign_ingress(&s);
	if (err)
		goto out;
	err = check_names(&s, group);
	if (err)
		goto out;
	if (o->dry_run) {
		err = plan(&s, out);
		goto out;
	}
	if (have_old && (old.flags & SC_META_COMPLETE)) {
		struct sc_link *links = NULL;
		int nlinks = 0;
		bool done;

		/* Already done? Status must agree, else complete what is missing. */
		done = !sc_nl_links(s.nl, &links, &nlinks) &&
		       sc_state_read(s.nl, s.cookie, s.nic.ifindex, links, nlinks, out) >= 0 &&
		       out->complete && s.was_shards == s.nr_shards && s.was_rxq == s.nr_rxq;
		free(links);
		if (done)
			goto out;
		sc_state_free(out);
		memset(out, 0, sizeof(*out));
	}
	err = apply(&s, group, have_old ? &old : NULL);
	if (err) {
		int saved = err;
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", sc_last_error());
		rollback(&s);
		err = sc_errf(saved, s.switched ? "%s (the new shards are in use: run setup again "
						  "to complete)"
						: "%s (rolled back)", msg);
		goto out;
	}
	{
		struct sc_link *links = NULL;
		int nlinks = 0;

		err = sc_nl_links(s.nl, &links, &nlinks);
		if (!err && sc_state_read(s.nl, s.cookie, s.nic.ifindex, links, nlinks, out) < 0)
			err = -EIO;
		free(links);
		out->changed = true;
		out->replaced = s.replaced;
		out->was_rxq = s.was_rxq;
		out->was_shards = s.was_shards;
	}
out:
	if (s.skel)
		shard_bpf__destroy(s.skel);
	bpf_object__close(s.user_obj);
	sc_unlock(lock);
	free(s.shards);
	free(s.made_pair);
	free(s.made_return);
	sc_nl_close(s.nl);
	return err;
}

/* ---- teardown ---- */

static int detach_ingress(struct sc_nl *nl, const struct sc_state *st, uint32_t flags)
{
	struct sc_hook_prog progs[32];
	char path[PATH_MAX];
	int n, err;

	sc_pin_path(path, sizeof(path), st->pin_dir, "ingress");
	err = sc_tcx_detach_pinned(path);
	if (err)
		return err;
	if (st->ifindex <= 0)
		return 0;
	/* Stale cls_bpf filters are found by program name, not by priority alone. */
	n = sc_hook_list(nl, st->ifindex, false, progs, 32);
	for (int i = 0; i < n; i++) {
		if (progs[i].kind != SC_ATTACH_TC || !sc_is_ingress_prog(&progs[i]))
			continue;
		err = sc_tc_detach(st->ifindex, false, progs[i].tc_handle, progs[i].tc_priority);
		if (err)
			return err;
	}
	if (flags & SC_META_CLSACT_OURS) {
		/* Only a clsact we created, and only when nobody else's filters sit in it. */
		if (sc_hook_list(nl, st->ifindex, false, progs, 32) == 0 &&
		    sc_hook_list(nl, st->ifindex, true, progs, 32) == 0)
			return sc_clsact_destroy(st->ifindex);
	}
	return 0;
}

static int delete_shard_links(struct sc_nl *nl, const struct sc_state *st)
{
	struct sc_link *links = NULL;
	bool group_is_ours = true, group_used = false;
	int nlinks = 0, err;

	err = sc_nl_links(nl, &links, &nlinks);
	if (err)
		return err;
	for (int i = 0; i < nlinks; i++) {
		unsigned int shard;
		bool ret;
		int nic;

		group_used |= links[i].group == st->group;
		/* An unaliased veth in our group: a setup killed before it set the alias (device_is_ours()). */
		if (links[i].group == st->group &&
		    !(sc_alias_parse(links[i].alias, &nic, &shard, &ret) &&
		      nic == (st->ifindex > 0 ? st->ifindex : -st->ifindex)) &&
		    (links[i].alias[0] || strcmp(links[i].kind, "veth")))
			group_is_ours = false;
	}
	free(links);
	/* The kernel answers ENODEV for an empty group (rtnl_group_dellink()): nothing left to delete. */
	if (!group_used)
		return 0;
	/* One request for all (platform.md: 9x faster than one by one), if the group is ours alone. */
	if (group_is_ours)
		return sc_nl_group_delete(nl, st->group);
	for (unsigned int i = 0; i < st->nr_shards; i++) {
		if (st->shards[i].ifindex) {
			err = sc_nl_link_delete(nl, st->shards[i].ifindex);
			if (err)
				return err;
		}
		if (st->shards[i].peer_ifindex) {
			err = sc_nl_link_delete(nl, st->shards[i].peer_ifindex);
			if (err)
				return err;
		}
	}
	return 0;
}

static int teardown_one(struct sc_nl *nl, const struct sc_state *st)
{
	int nic = st->ifindex > 0 ? st->ifindex : -st->ifindex;
	struct sc_meta meta = { 0 };
	int err, lock;

	lock = sc_lock_nic(st->netns_cookie, nic);
	if (lock < 0)
		return lock;
	sc_meta_read(st->pin_dir, &meta);
	err = sc_fault("teardown:start");
	if (err)
		goto out;
	err = detach_ingress(nl, st, meta.flags);
	if (err)
		goto out;
	err = sc_fault("teardown:detached");
	if (err)
		goto out;
	err = delete_shard_links(nl, st);
	if (err)
		goto out;
	err = sc_fault("teardown:deleted");
	if (err)
		goto out;
	remove_pins(st->pin_dir);
out:
	sc_unlock(lock);
	return err ? sc_err_wrap(err, "teardown %s", st->dev) : 0;
}

void sc_watch_claim_name(char *buf, size_t len, uint64_t cookie, const char *dev)
{
	snprintf(buf, len, "watch-%llx-%s", (unsigned long long)cookie, dev);
}

/* A running `shardctl watch` would set DEV up again at once: say so rather than fight it. */
static int refuse_watched(const struct sc_state *v, int n)
{
	for (int i = 0; i < n; i++) {
		char name[64];
		pid_t pid;

		sc_watch_claim_name(name, sizeof(name), v[i].netns_cookie, v[i].dev);
		pid = sc_claim_holder(name);
		if (pid && pid != getpid())
			return sc_errf(EBUSY, "%s: kept by shardctl watch (pid %d), which would set it "
					      "up again; stop the watch first (--teardown-on-exit removes "
					      "the setup when it stops), or use --force",
				       v[i].dev, (int)pid);
	}
	return 0;
}

int sc_teardown(const char *dev, unsigned int flags, struct sc_state **out, int *n)
{
	struct sc_nl *nl = NULL;
	int err;

	err = sc_status(dev, out, n);
	if (err || !*n)
		return err;
	if (!(flags & SC_TEARDOWN_FORCE)) {
		err = refuse_watched(*out, *n);
		if (err) {
			sc_states_free(*out, *n);
			*out = NULL;
			*n = 0;
			return err;
		}
	}
	if (flags & SC_TEARDOWN_DRY_RUN)
		return 0;
	err = sc_nl_open(&nl);
	if (err)
		return err;
	for (int i = 0; i < *n && !err; i++) {
		err = teardown_one(nl, &(*out)[i]);
		(*out)[i].changed = !err;
	}
	sc_nl_close(nl);
	return err;
}

/* ---- remap ---- */

/* lookup=global: write the table entry through the mmaped .bss, where the program reads it. */
static int remap_global(const char *dir, __u32 rxq, __u32 ifindex)
{
	const size_t off = offsetof(struct shard_bpf__bss, global_shard) + rxq * sizeof(__u32);
	const size_t len = sizeof(struct shard_bpf__bss);
	char path[PATH_MAX];
	void *mem;
	int fd;

	sc_pin_path(path, sizeof(path), dir, "bss");
	fd = bpf_obj_get(path);
	if (fd < 0)
		return sc_errf(errno, "%s: %s", path, strerror(errno));
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (mem == MAP_FAILED)
		return sc_errf(errno, "%s: mmap: %s", path, strerror(errno));
	/* One aligned 32-bit store: the program sees the old or the new ifindex, never a mix. */
	__atomic_store_n((__u32 *)((char *)mem + off), ifindex, __ATOMIC_RELEASE);
	munmap(mem, len);
	return 0;
}

/*
 * lookup=const: the table is part of the program, so load a new one with
 * the new table and swap it in with one operation (tcx link update or
 * cls_bpf replace): every frame sees either the old or the new program.
 */
static int remap_const(const struct sc_state *st, const __u32 *table)
{
	struct shard_bpf *skel = NULL;
	char path[PATH_MAX];
	int err, fd;

	err = load_object(&skel, st->ifindex, table, st->nr_rxq, SC_LOOKUP_CONST, st->pin_dir);
	if (err)
		goto out;
	fd = bpf_program__fd(skel->progs.sc_in_const);
	if (st->attach == SC_ATTACH_TC) {
		err = sc_tc_attach(fd, st->ifindex, false, true, NULL);
	} else {
		sc_pin_path(path, sizeof(path), st->pin_dir, "ingress");
		err = sc_tcx_update(path, fd);
	}
out:
	shard_bpf__destroy(skel);
	return err;
}

int sc_remap(const char *dev, unsigned int rxq, unsigned int shard)
{
	__u32 table[SC_MAX_RXQ] = { 0 }, key, ifindex;
	struct sc_state *v = NULL, *st;
	char path[PATH_MAX];
	int n = 0, err, lock = -1, fd = -1;

	err = sc_status(dev, &v, &n);
	if (err)
		return err;
	if (!n) {
		err = sc_errf(ENOENT, "%s: not set up", dev);
		goto out;
	}
	st = &v[0];
	if (!st->complete) {
		err = sc_errf(EAGAIN, "%s: setup is incomplete (%s); run setup again first", dev,
			      st->problem);
		goto out;
	}
	if (rxq >= st->nr_rxq) {
		err = sc_errf(ERANGE, "%s: rx queue %u out of range (it has %u: 0-%u)", dev, rxq,
			      st->nr_rxq, st->nr_rxq - 1);
		goto out;
	}
	if (shard >= st->nr_shards) {
		err = sc_errf(ERANGE, "%s: shard %u out of range (it has %u: 0-%u)", dev, shard,
			      st->nr_shards, st->nr_shards - 1);
		goto out;
	}
	lock = sc_lock_nic(st->netns_cookie, st->ifindex);
	if (lock < 0) {
		err = lock;
		goto out;
	}
	ifindex = (__u32)st->shards[shard].ifindex;
	for (unsigned int q = 0; q < st->nr_rxq; q++)
		table[q] = (__u32)st->rxqs[q].ifindex;
	table[rxq] = ifindex;
	if (st->lookup == SC_LOOKUP_BARE)
		err = sc_errf(EINVAL, "%s: lookup bare has no table to remap", dev);
	else if (st->lookup == SC_LOOKUP_GLOBAL)
		err = remap_global(st->pin_dir, rxq, ifindex);
	else if (st->lookup == SC_LOOKUP_CONST)
		err = remap_const(st, table);
	if (err)
		goto out;
	/* The live table for lookup=map, the record of the table for the others. */
	sc_pin_path(path, sizeof(path), st->pin_dir, "rxq_shard");
	fd = bpf_obj_get(path);
	key = rxq;
	if (fd < 0 || bpf_map_update_elem(fd, &key, &ifindex, BPF_ANY))
		err = sc_errf(errno, "%s: %s", path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	sc_unlock(lock);
	sc_states_free(v, n);
	return err;
}
