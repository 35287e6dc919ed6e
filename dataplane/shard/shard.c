// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/kernel/attach.h"
#include "dataplane/kernel/error.h"
#include "dataplane/kernel/fault.h"
#include "dataplane/kernel/nl.h"
#include "dataplane/shard/shard.h"
#include "dataplane/kernel/lock.h"
#include "dataplane/kernel/qdisc.h"
#include "dataplane/shard/shard_int.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static const char *const lookup_names[] = { "map", "global", "const", "bare" };
static const char *const attach_names[] = { "auto", "tcx", "tc" };

const char *sc_lookup_name(enum sc_lookup l)
{
	return (unsigned int)l < 4 ? lookup_names[l] : "unknown";
}

int sc_lookup_parse(const char *s, enum sc_lookup *out)
{
	for (unsigned int i = 0; i < 4; i++)
		if (!strcmp(s, lookup_names[i])) {
			*out = i;
			return 0;
		}
	return sc_errf(EINVAL, "unknown lookup method '%s' (map, global, const; bare for benchmarks)",
		       s);
}

const char *sc_attach_name(int a)
{
	return (unsigned int)a < 3 ? attach_names[a] : "unknown";
}

int sc_attach_parse(const char *s, int *out)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, attach_names[i])) {
			*out = i;
			return 0;
		}
	return sc_errf(EINVAL, "unknown attach mode '%s' (auto, tcx or tc)", s);
}

/* FNV-1a: a stable, dependency-free hash for shortening long device names. */
static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

void sc_shard_names(const char *dev, unsigned int index, char *name, char *peer)
{
	char base[IF_NAMESIZE];

	/* "<dev>-s<i>" / "<dev>-r<i>"; i < 256 needs 5 characters, leaving 10 for dev. */
	if (strlen(dev) <= 10)
		snprintf(base, sizeof(base), "%s", dev);
	else
		snprintf(base, sizeof(base), "%.6s%04x", dev, fnv1a(dev) & 0xffff);
	snprintf(name, IF_NAMESIZE, "%s-s%u", base, index);
	snprintf(peer, IF_NAMESIZE, "%s-r%u", base, index);
}

void sc_alias_make(char *buf, size_t len, int nic, unsigned int shard, bool ret)
{
	snprintf(buf, len, SC_ALIAS_PREFIX "nic=%d shard=%u role=%s", nic, shard,
		 ret ? "return" : "egress");
}

bool sc_state_followed(const struct sc_state *st, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!st->was_shards || (st->was_shards == st->nr_shards && st->was_rxq == st->nr_rxq))
		return false;
	snprintf(buf, len, "followed the NIC: %u rx queues / %u shards -> %u rx queues / %u shards",
		 st->was_rxq, st->was_shards, st->nr_rxq, st->nr_shards);
	return true;
}

uint32_t sc_shard_group(int nic)
{
	return SC_GROUP_BASE | ((uint32_t)nic & 0xffffff);
}

/* Parse our ifalias; false for anything else (a foreign device). */

bool sc_alias_parse(const char *alias, int *nic, unsigned int *shard, bool *ret)
{
	char role[16];

	if (strncmp(alias, SC_ALIAS_PREFIX, strlen(SC_ALIAS_PREFIX)))
		return false;
	if (sscanf(alias, SC_ALIAS_PREFIX "nic=%d shard=%u role=%15s", nic, shard, role) != 3)
		return false;
	if (!strcmp(role, "return"))
		*ret = true;
	else if (!strcmp(role, "egress"))
		*ret = false;
	else
		return false;
	return *shard < SC_MAX_RXQ;
}

bool sc_is_ingress_prog(const struct sc_hook_prog *p)
{
	return p->prog_id && !strncmp(p->name, "sc_in_", 6);
}

void sc_state_free(struct sc_state *s)
{
	if (!s)
		return;
	free(s->shards);
	free(s->rxqs);
	s->shards = NULL;
	s->rxqs = NULL;
}

void sc_states_free(struct sc_state *s, int n)
{
	for (int i = 0; i < n; i++)
		sc_state_free(&s[i]);
	free(s);
}

void sc_pin_dir_of(char *buf, size_t len, uint64_t cookie, int ifindex)
{
	snprintf(buf, len, SC_PIN_ROOT "/%llx/%d", (unsigned long long)cookie, ifindex);
}

bool sc_shard_pinned(uint64_t cookie, int nic)
{
	char dir[PATH_MAX], path[PATH_MAX];

	sc_pin_dir_of(dir, sizeof(dir), cookie, nic);
	sc_pin_path(path, sizeof(path), dir, "meta");
	return !access(path, F_OK);
}

void sc_pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

int sc_mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return sc_errf(errno, "%s: %s", tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return sc_errf(errno, "%s: %s", tmp, strerror(errno));
	return 0;
}

/* bpffs is not mounted at boot on every distribution (platform.md). */
int sc_ensure_bpffs(void)
{
	struct statfs st;
	int lock, err = 0;

	if (!statfs(SC_BPFFS, &st) && st.f_type == BPF_FS_MAGIC)
		return 0;
	/*
	 * Setups of two NICs hold different locks and may both find bpffs
	 * missing: a second mount would stack on the first and hide its pins.
	 * Look again under a lock of no NIC (ifindex 0).
	 */
	lock = sc_lock_nic(0, 0);
	if (lock < 0)
		return lock;
	if (!statfs(SC_BPFFS, &st) && st.f_type == BPF_FS_MAGIC)
		goto out;
	if (sc_mkdir_p(SC_BPFFS, 0700)) {
		err = -errno;
		goto out;
	}
	err = sc_fault("setup:bpffs");
	if (err)
		goto out;
	if (mount("bpf", SC_BPFFS, "bpf", 0, "mode=0700"))
		err = sc_errf(errno, "mounting bpffs on " SC_BPFFS ": %s", strerror(errno));
out:
	sc_unlock(lock);
	return err;
}

/* ---- reading state back from the kernel ---- */

int sc_meta_read(const char *dir, struct sc_meta *meta)
{
	char path[PATH_MAX];
	__u32 key = 0;
	int fd, err = 0;

	sc_pin_path(path, sizeof(path), dir, "meta");
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &key, meta))
		err = -errno;
	close(fd);
	if (err)
		return err;
	if (meta->magic != SC_META_MAGIC)
		return -ENOENT;
	return 0;
}

int sc_meta_write(const char *dir, const struct sc_meta *meta)
{
	char path[PATH_MAX];
	__u32 key = 0;
	int fd, err = 0;

	sc_pin_path(path, sizeof(path), dir, "meta");
	fd = bpf_obj_get(path);
	if (fd < 0)
		return sc_errf(errno, "%s: %s", path, strerror(errno));
	if (bpf_map_update_elem(fd, &key, meta, BPF_ANY))
		err = sc_errf(errno, "%s: update: %s", path, strerror(errno));
	close(fd);
	return err;
}

/*
 * Sum per-CPU counter slots over all possible CPUs: the rx queues in use
 * and the extra slots after SC_MAX_RXQ (a full sweep would cost 259
 * lookups per status, and remap calls status).
 */
static void read_counters(int stats_fd, struct sc_counter *sum, unsigned int nr_rxq)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sc_counter *v;

	memset(sum, 0, SC_NR_STATS * sizeof(*sum));
	if (stats_fd < 0 || ncpu <= 0)
		return;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return;
	for (__u32 k = 0; k < SC_NR_STATS; k++) {
		if (k == nr_rxq && k < SC_MAX_RXQ)
			k = SC_MAX_RXQ;
		if (bpf_map_lookup_elem(stats_fd, &k, v))
			continue;
		for (int c = 0; c < ncpu; c++) {
			sum[k].packets += v[c].packets;
			sum[k].bytes += v[c].bytes;
		}
	}
	free(v);
}

/* The id of our program at @ifindex's ingress, 0 when none. */
static uint32_t hook_find_ours(struct sc_nl *nl, int ifindex, bool (*ours)(const struct sc_hook_prog *))
{
	struct sc_hook_prog progs[32];
	int n = sc_hook_list(nl, ifindex, false, progs, 32);

	for (int i = 0; i < n; i++)
		if (ours(&progs[i]))
			return progs[i].prog_id;
	return 0;
}

bool sc_shard_ingress_attached(struct sc_nl *nl, int nic)
{
	bool on = hook_find_ours(nl, nic, sc_is_ingress_prog) != 0;

	sc_clear_error();
	return on;
}

/* run_time_ns/run_cnt: kept by the kernel only while BPF stats are enabled. */
static void prog_runtime(uint32_t id, uint64_t *ns, uint64_t *cnt)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		*ns = info.run_time_ns;
		*cnt = info.run_cnt;
	}
	close(fd);
}

bool sc_is_return_prog(const struct sc_hook_prog *p)
{
	return p->prog_id && !strcmp(p->name, "sc_return");
}

/* The shard's egress side: its root qdisc with counters, and any program at its egress hook. */
static void read_shard_egress(struct sc_nl *nl, struct sc_shard *sh)
{
	struct sc_qdisc_info *q = NULL;
	struct sc_hook_prog progs[8];
	int n = 0;

	if (!sh->ifindex)
		return;
	if (!sc_qdisc_list(nl, sh->ifindex, &q, &n)) {
		for (int i = 0; i < n; i++) {
			if (!q[i].root)
				continue;
			snprintf(sh->qdisc, sizeof(sh->qdisc), "%s", q[i].kind);
			sh->q_packets = q[i].packets;
			sh->q_drops = q[i].drops;
			sh->q_overlimits = q[i].overlimits;
			sh->q_requeues = q[i].requeues;
			sh->q_backlog = q[i].backlog;
			sh->q_qlen = q[i].qlen;
		}
		free(q);
	}
	n = sc_hook_list(nl, sh->ifindex, true, progs, 8);
	for (int i = 0; i < n; i++)
		if (progs[i].prog_id) {
			snprintf(sh->egress_prog, sizeof(sh->egress_prog), "%s", progs[i].name);
			break;
		}
	sc_clear_error();
}

static void compute_spread(struct sc_state *st)
{
	double sum = 0, sq = 0, max = 0, mean;

	if (!st->nr_shards)
		return;
	for (unsigned int i = 0; i < st->nr_shards; i++) {
		double p = (double)st->shards[i].packets;

		sum += p;
		sq += p * p;
		if (p > max)
			max = p;
	}
	mean = sum / st->nr_shards;
	if (mean <= 0)
		return;
	st->spread_max_mean = max / mean;
	st->spread_cv = sqrt(fmax(sq / st->nr_shards - mean * mean, 0)) / mean;
}

/* Fill shards[] from the links that carry our alias for @nic. */
static int collect_shards(const struct sc_link *links, int nlinks, int nic, struct sc_state *st)
{
	unsigned int max_index = 0;
	bool any = false;

	for (int i = 0; i < nlinks; i++) {
		unsigned int shard;
		bool ret;
		int owner;

		if (sc_alias_parse(links[i].alias, &owner, &shard, &ret) && owner == nic) {
			any = true;
			if (shard + 1 > max_index)
				max_index = shard + 1;
		}
	}
	if (st->nr_shards < max_index)
		st->nr_shards = max_index;
	if (!st->nr_shards)
		return any;
	st->shards = calloc(st->nr_shards, sizeof(*st->shards));
	if (!st->shards)
		return -ENOMEM;
	for (unsigned int s = 0; s < st->nr_shards; s++) {
		st->shards[s].index = s;
		sc_shard_names(st->dev, s, st->shards[s].name, st->shards[s].peer);
	}
	for (int i = 0; i < nlinks; i++) {
		const struct sc_link *l = &links[i];
		struct sc_shard *sh;
		unsigned int shard;
		bool ret;
		int owner;

		if (!sc_alias_parse(l->alias, &owner, &shard, &ret) || owner != nic)
			continue;
		sh = &st->shards[shard];
		if (ret) {
			snprintf(sh->peer, sizeof(sh->peer), "%s", l->name);
			sh->peer_ifindex = l->ifindex;
			sh->peer_rx_packets = l->rx_packets;
			sh->peer_mtu = l->mtu;
			sh->peer_up = l->flags & IFF_UP;
		} else {
			snprintf(sh->name, sizeof(sh->name), "%s", l->name);
			sh->ifindex = l->ifindex;
			sh->up = l->flags & IFF_UP;
			sh->tx_queues = l->num_tx_queues;
			sh->veth_tx_packets = l->tx_packets;
			sh->mtu = l->mtu;
		}
	}
	return 1;
}

static void fill_rxqs(struct sc_state *st, const char *dir)
{
	struct sc_counter sum[SC_NR_STATS];
	char path[PATH_MAX];
	int table_fd, stats_fd;

	sc_pin_path(path, sizeof(path), dir, "rxq_shard");
	table_fd = bpf_obj_get(path);
	sc_pin_path(path, sizeof(path), dir, "stats");
	stats_fd = bpf_obj_get(path);
	read_counters(stats_fd, sum, st->nr_rxq);
	st->unrecorded_packets = sum[SC_STAT_UNRECORDED].packets;
	st->no_shard_packets = sum[SC_STAT_NO_SHARD].packets;
	st->returned_packets = sum[SC_STAT_RETURN].packets;
	st->rxqs = calloc(st->nr_rxq ? st->nr_rxq : 1, sizeof(*st->rxqs));
	for (unsigned int q = 0; st->rxqs && q < st->nr_rxq; q++) {
		struct sc_rxq *r = &st->rxqs[q];
		__u32 key = q, ifindex = 0;

		r->rxq = q;
		r->shard = UINT_MAX;
		if (table_fd >= 0 && !bpf_map_lookup_elem(table_fd, &key, &ifindex))
			r->ifindex = (int)ifindex;
		r->packets = sum[q].packets;
		r->bytes = sum[q].bytes;
		for (unsigned int s = 0; s < st->nr_shards; s++)
			if (r->ifindex && st->shards[s].ifindex == r->ifindex) {
				r->shard = s;
				st->shards[s].packets += r->packets;
				st->shards[s].bytes += r->bytes;
			}
	}
	if (table_fd >= 0)
		close(table_fd);
	if (stats_fd >= 0)
		close(stats_fd);
}

/* "4", "4-5": a range of queue or shard numbers. */
static void range_str(char *buf, size_t len, unsigned int from, unsigned int to)
{
	if (to == from + 1)
		snprintf(buf, len, "%u", from);
	else
		snprintf(buf, len, "%u-%u", from, to - 1);
}

/*
 * The NIC's active rx queue count changed under the setup (ethtool -L, a
 * driver reset): name what is left out and the command that follows it.
 */
static void describe_mismatch(struct sc_state *st)
{
	unsigned int now = st->nic_rxq, had = st->nr_rxq;
	char r[32], fix[64];

	if (!now || now == had)
		return;
	snprintf(fix, sizeof(fix), "run 'shardctl setup %s' to follow it", st->dev);
	if (now > had) {
		range_str(r, sizeof(r), had, now);
		snprintf(st->problem, sizeof(st->problem),
			 "%s now has %u active rx queues, the setup covers %u: rx queue%s %s %s no "
			 "shard; %s", st->dev, now, had, now - had > 1 ? "s" : "", r,
			 now - had > 1 ? "have" : "has", fix);
	} else if (st->nr_shards > now) {
		range_str(r, sizeof(r), now, st->nr_shards);
		snprintf(st->problem, sizeof(st->problem),
			 "%s now has %u active rx queues, the setup covers %u: shard%s %s %s no rx "
			 "queue; %s", st->dev, now, had, st->nr_shards - now > 1 ? "s" : "", r,
			 st->nr_shards - now > 1 ? "have" : "has", fix);
	} else {
		range_str(r, sizeof(r), now, had);
		snprintf(st->problem, sizeof(st->problem),
			 "%s now has %u active rx queues, the setup covers %u: rx queue%s %s %s gone; "
			 "%s", st->dev, now, had, had - now > 1 ? "s" : "", r,
			 had - now > 1 ? "are" : "is", fix);
	}
}

static void check_consistency(struct sc_state *st, bool have_meta)
{
	st->complete = false;
	if (!have_meta)
		snprintf(st->problem, sizeof(st->problem), "no pinned state in %s", st->pin_dir);
	else if (st->ifindex <= 0 || !st->dev[0])
		snprintf(st->problem, sizeof(st->problem), "the device is gone");
	else if (!st->ingress_attached)
		snprintf(st->problem, sizeof(st->problem), "ingress program not attached");
	for (unsigned int s = 0; !st->problem[0] && s < st->nr_shards; s++) {
		const struct sc_shard *sh = &st->shards[s];

		if (!sh->ifindex || !sh->peer_ifindex)
			snprintf(st->problem, sizeof(st->problem), "shard %u: veth pair missing", s);
		else if (!sh->up || !sh->peer_up)
			snprintf(st->problem, sizeof(st->problem), "shard %u: %s is down", s,
				 sh->up ? sh->peer : sh->name);
		else if (sh->mtu < st->mtu || sh->peer_mtu < st->mtu)
			snprintf(st->problem, sizeof(st->problem),
				 "shard %u: MTU %u below %s's %u: larger frames would be dropped", s,
				 sh->mtu < sh->peer_mtu ? sh->mtu : sh->peer_mtu, st->dev, st->mtu);
		else if (!sh->return_attached)
			snprintf(st->problem, sizeof(st->problem),
				 "shard %u: return program missing on %s", s, sh->peer);
	}
	if (!st->problem[0])
		describe_mismatch(st);
	st->complete = !st->problem[0];
}

/*
 * A setup killed before it marked anything (alias, meta) leaves its pin dir
 * and veths carrying only our group, set by the create request.
 */
static bool unmarked_leftovers(const struct sc_link *links, int nlinks, int nic, const char *dir)
{
	uint32_t group = sc_shard_group(nic);

	for (int i = 0; i < nlinks; i++)
		if (links[i].group == group && !links[i].alias[0] && !strcmp(links[i].kind, "veth"))
			return true;
	return !access(dir, F_OK);
}

/*
 * Everything about the setup for NIC @nic (ifindex) in this namespace, read
 * from bpffs, links and attachments. Returns 1 when anything of a setup
 * exists, 0 when none, <0 on error.
 */
int sc_state_read(struct sc_nl *nl, uint64_t cookie, int nic, const struct sc_link *links,
		      int nlinks, struct sc_state *st)
{
	struct sc_meta meta = { 0 };
	unsigned int meta_shards;
	struct sc_link dev;
	bool have_meta;
	int found;

	memset(st, 0, sizeof(*st));
	st->netns_cookie = cookie;
	st->ifindex = nic;
	sc_pin_dir_of(st->pin_dir, sizeof(st->pin_dir), cookie, nic);
	found = sc_meta_read(st->pin_dir, &meta);
	/* The pins are root's (bpffs 0700): unreadable must not read as "not set up" or "broken". */
	if (found == -EACCES || found == -EPERM)
		return sc_errf(-found, "%s: %s: reading shardctl's state needs root", st->pin_dir,
			       strerror(-found));
	have_meta = !found;
	if (have_meta) {
		st->nr_rxq = meta.nr_rxq;
		st->nr_shards = meta.nr_shards;
		st->tx_queues = meta.tx_queues;
		st->attach = (int)meta.attach;
		st->lookup = meta.lookup;
		st->group = meta.group;
		snprintf(st->dev, sizeof(st->dev), "%.15s", meta.nic_name);
		snprintf(st->shard_qdisc, sizeof(st->shard_qdisc), "%.127s", meta.shard_qdisc);
		snprintf(st->shard_prog, sizeof(st->shard_prog), "%.127s", meta.shard_prog);
	}
	if (!sc_nl_link_by_index(nl, nic, &dev)) {
		snprintf(st->dev, sizeof(st->dev), "%s", dev.name);
		st->mtu = dev.mtu;
		if (!have_meta)
			sc_nl_active_queues(nl, nic, &st->nr_rxq, &st->nr_txq);
		else
			st->nr_txq = 0;
	} else {
		st->ifindex = -nic;	/* remember which, but mark it gone */
	}
	sc_clear_error();
	meta_shards = st->nr_shards;
	found = collect_shards(links, nlinks, nic, st);
	if (found < 0)
		return sc_errf(ENOMEM, "out of memory");
	if (!found && !have_meta && !unmarked_leftovers(links, nlinks, nic, st->pin_dir))
		return 0;
	if (!st->group)
		st->group = sc_shard_group(nic);
	if (st->ifindex > 0) {
		unsigned int rx = 0, tx = 0;

		st->ingress_prog_id = hook_find_ours(nl, nic, sc_is_ingress_prog);
		st->ingress_attached = st->ingress_prog_id != 0;
		if (st->ingress_attached)
			prog_runtime(st->ingress_prog_id, &st->ingress_run_ns, &st->ingress_run_cnt);
		if (!sc_nl_active_queues(nl, nic, &rx, &tx)) {
			st->nr_txq = tx;
			st->nic_rxq = rx;
		}
		sc_clear_error();
	}
	for (unsigned int s = 0; s < st->nr_shards; s++)
		if (st->shards[s].peer_ifindex)
			st->shards[s].return_attached =
				hook_find_ours(nl, st->shards[s].peer_ifindex, sc_is_return_prog) != 0;
	for (unsigned int s = 0; s < st->nr_shards; s++)
		read_shard_egress(nl, &st->shards[s]);
	fill_rxqs(st, st->pin_dir);
	compute_spread(st);
	check_consistency(st, have_meta);
	if (st->complete && have_meta && st->nr_shards > meta_shards) {
		char r[32];

		range_str(r, sizeof(r), meta_shards, st->nr_shards);
		snprintf(st->problem, sizeof(st->problem),
			 "shard%s %s %s left over from a larger setup (a re-run was interrupted); "
			 "run 'shardctl setup %s' to remove %s", st->nr_shards - meta_shards > 1 ? "s" : "",
			 r, st->nr_shards - meta_shards > 1 ? "are" : "is", st->dev,
			 st->nr_shards - meta_shards > 1 ? "them" : "it");
		st->complete = false;
	}
	return 1;
}

/* NIC ifindexes that have anything of a setup: a pin directory or our devices. */
int sc_list_nics(uint64_t cookie, const struct sc_link *links, int nlinks, int *out, int max)
{
	char dir[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), SC_PIN_ROOT "/%llx", (unsigned long long)cookie);
	d = opendir(dir);
	while (d && (de = readdir(d)) && n < max) {
		char *end;
		long v = strtol(de->d_name, &end, 10);

		if (de->d_name[0] != '.' && !*end && v > 0)
			out[n++] = (int)v;
	}
	if (d)
		closedir(d);
	for (int i = 0; i < nlinks && n < max; i++) {
		unsigned int shard;
		bool ret, seen = false;
		int nic;

		if (!sc_alias_parse(links[i].alias, &nic, &shard, &ret))
			continue;
		for (int j = 0; j < n; j++)
			seen |= out[j] == nic;
		if (!seen)
			out[n++] = nic;
	}
	return n;
}

int sc_target_resolve(struct sc_nl *nl, const char *dev, uint64_t cookie,
			  const struct sc_link *links, int nlinks, int *nics, int max)
{
	struct sc_link l;
	int all[SC_MAX_RXQ], n;

	if (!dev)
		return sc_list_nics(cookie, links, nlinks, nics, max);
	if (!sc_nl_link_by_name(nl, dev, &l)) {
		nics[0] = l.ifindex;
		return 1;
	}
	/* The NIC may be gone while our state remains: match the name setup recorded. */
	n = sc_list_nics(cookie, links, nlinks, all, SC_MAX_RXQ);
	for (int i = 0; i < n; i++) {
		char dir[PATH_MAX];
		struct sc_meta meta;

		sc_pin_dir_of(dir, sizeof(dir), cookie, all[i]);
		if (!sc_meta_read(dir, &meta) && !strncmp(meta.nic_name, dev, IF_NAMESIZE)) {
			nics[0] = all[i];
			return 1;
		}
	}
	return sc_errf(ENODEV, "%s: no such network device", dev);
}

int sc_status(const char *dev, struct sc_state **out, int *n)
{
	struct sc_link *links = NULL;
	struct sc_nl *nl = NULL;
	struct sc_state *v = NULL;
	int nics[SC_MAX_RXQ], nnics, nlinks = 0, err;
	uint64_t cookie;

	*out = NULL;
	*n = 0;
	err = sc_netns_cookie(&cookie);
	if (err)
		return err;
	err = sc_nl_open(&nl);
	if (err)
		return err;
	err = sc_nl_links(nl, &links, &nlinks);
	if (err)
		goto out;
	nnics = sc_target_resolve(nl, dev, cookie, links, nlinks, nics, SC_MAX_RXQ);
	if (nnics < 0) {
		err = nnics;
		goto out;
	}
	v = calloc(nnics ? nnics : 1, sizeof(*v));
	if (!v) {
		err = sc_errf(ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < nnics; i++) {
		err = sc_state_read(nl, cookie, nics[i], links, nlinks, &v[*n]);
		if (err < 0)
			goto out;
		if (err > 0)
			(*n)++;
		err = 0;
	}
	*out = v;
	v = NULL;
out:
	if (v)
		sc_states_free(v, *n);
	free(links);
	sc_nl_close(nl);
	return err;
}

int sc_shard_devices(struct sc_nl *nl, int nic, uint32_t **out, unsigned int *n)
{
	struct sc_nl *own = NULL;
	struct sc_link *links = NULL;
	uint32_t *v = NULL;
	int err, nr = 0;

	*out = NULL;
	*n = 0;
	if (!nl) {
		err = sc_nl_open(&own);
		if (err)
			return err;
		nl = own;
	}
	err = sc_nl_links(nl, &links, &nr);
	if (err)
		goto out;
	v = calloc(nr ? nr : 1, sizeof(*v));
	if (!v) {
		err = sc_errf(ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < nr; i++) {
		unsigned int shard;
		bool ret;
		int owner;

		if (links[i].group == sc_shard_group(nic) &&
		    sc_alias_parse(links[i].alias, &owner, &shard, &ret) && owner == nic)
			v[(*n)++] = (uint32_t)links[i].ifindex;
	}
	*out = v;
	v = NULL;
out:
	free(v);
	free(links);
	sc_nl_close(own);
	return err;
}
