// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/doctor/check.h"
#include "dataplane/kernel/error.h"
#include "dataplane/kernel/kernel.h"
#include "dataplane/kernel/nl.h"
#include "dataplane/observe/contention.h"
#include "dataplane/observe/top.h"
#include "dataplane/shard/shard.h"
#include "bpf/devprobe.h"
#include "devprobe.skel.h"

const char *sc_check_level_name(enum sc_check_level level)
{
	switch (level) {
	case SC_CHECK_OK:
		return "ok";
	case SC_CHECK_INFO:
		return "info";
	case SC_CHECK_ACTION:
		return "action";
	}
	return "?";
}

const char *sc_check_fit_name(enum sc_check_fit fit)
{
	switch (fit) {
	case SC_FIT_NONE:
		return "none";
	case SC_FIT_MQ:
		return "mq";
	case SC_FIT_SHARDS:
		return "shards";
	case SC_FIT_NEITHER:
		return "neither";
	}
	return "?";
}

/* ---- device facts through BPF_PROG_TEST_RUN ------------------------------------ */

static int probe_run(struct devprobe_bpf *skel, int ifindex, int *lltx, int *txq, int *rxq)
{
	/* An Ethernet header's worth of zeros: test_run wants at least ETH_HLEN. */
	unsigned char frame[64] = { 0 };
	struct __sk_buff ctx = { .ifindex = (uint32_t)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .data_size_in = sizeof(frame),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
	int err;

	memset(&skel->bss->out, 0, sizeof(skel->bss->out));
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.devprobe), &run);
	if (err)
		return sc_errf(errno, "ifindex %d: device probe run: %s", ifindex, strerror(errno));
	/* ifindex 1 is what test_run uses when none is given: lo either way. */
	if ((int)skel->bss->out.ifindex != ifindex)
		return sc_errf(ENODEV, "ifindex %d: the probe ran on ifindex %u", ifindex,
			       skel->bss->out.ifindex);
	*lltx = skel->bss->out.lltx_known ? (int)skel->bss->out.lltx : -1;
	if (txq)
		*txq = (int)skel->bss->out.real_num_tx_queues;
	if (rxq)
		*rxq = (int)skel->bss->out.real_num_rx_queues;
	return 0;
}

static int probe_open(struct devprobe_bpf **out)
{
	*out = devprobe_bpf__open_and_load();
	if (!*out)
		return sc_errf(errno, "device probe: load (needs bpf_cast_to_kern_ctx, 6.2+): %s",
			       strerror(errno));
	return 0;
}

/* ---- facts ---------------------------------------------------------------------- */

/*
 * Without the probe (kernels before bpf_cast_to_kern_ctx, 6.2): ethtool's
 * "tx-lockless" string, which every such kernel still has (it left in 6.12),
 * and the active tx queues from netlink/ethtool, or the allocated count
 * when that is 1 (a device with one tx queue can activate no more).
 */
static void dev_facts_fallback(struct sc_nl *nl, const struct sc_link *l, struct sc_check_dev *d)
{
	unsigned int rx, tx;
	bool on;

	if (!sc_ethtool_feature(d->ifindex, "tx-lockless", &on)) {
		d->lltx = on;
		d->lltx_from = "ethtool";
	}
	if (l->num_tx_queues == 1)
		d->tx_queues = 1;
	else if (!sc_nl_active_queues(nl, d->ifindex, &rx, &tx))
		d->tx_queues = (int)tx;
	sc_clear_error();
}

static void add_dev(struct sc_check_facts *f, struct devprobe_bpf *probe, struct sc_nl *nl,
		    const struct sc_link *l, const char *role)
{
	struct sc_check_dev *d;
	int ifindex = l->ifindex, txq = -1;

	if (f->nr_path == SC_CHECK_MAX_PATH)
		return;
	for (unsigned int i = 0; i < f->nr_path; i++)
		if (f->path[i].ifindex == ifindex)
			return;
	d = &f->path[f->nr_path++];
	snprintf(d->name, sizeof(d->name), "%s", l->name);
	snprintf(d->kind, sizeof(d->kind), "%s", l->kind);
	d->ifindex = ifindex;
	d->role = role;
	d->lltx = -1;
	d->tx_queues = -1;
	if (probe && !probe_run(probe, ifindex, &d->lltx, &txq, NULL)) {
		d->tx_queues = txq;
		d->lltx_from = d->lltx >= 0 ? "net_device" : NULL;
		return;
	}
	dev_facts_fallback(nl, l, d);
}

/* IFLA_LINK names a lower device, except for veth (the peer) and links into another namespace. */
static int lower_of(const struct sc_link *l)
{
	if (!strcmp(l->kind, "veth") || !strcmp(l->kind, "netkit") || l->link_netnsid)
		return 0;
	return l->link_ifindex != l->ifindex ? l->link_ifindex : 0;
}

static const struct sc_link *find_link(const struct sc_link *v, int n, int ifindex)
{
	for (int i = 0; ifindex && i < n; i++)
		if (v[i].ifindex == ifindex)
			return &v[i];
	return NULL;
}

/*
 * DEV, the devices it sends through (lowers, ports), and the ones that send
 * through it (uppers, master): a single-queue device without LLTX anywhere
 * there serialises the CPUs that transmit through it.
 */
static int gather_path(struct sc_check_facts *f, struct devprobe_bpf *probe, struct sc_nl *nl)
{
	const struct sc_link *dev, *l;
	struct sc_link *links = NULL;
	int err, n = 0, depth;

	err = sc_nl_links(nl, &links, &n);
	if (err)
		return sc_err_wrap(err, "%s", f->dev);
	dev = find_link(links, n, f->ifindex);
	if (!dev) {
		free(links);
		return sc_errf(ENODEV, "%s: no such device", f->dev);
	}
	add_dev(f, probe, nl, dev, "device");
	for (l = find_link(links, n, lower_of(dev)), depth = 0; l && depth < 4; depth++) {
		add_dev(f, probe, nl, l, "lower");
		l = find_link(links, n, lower_of(l));
	}
	l = find_link(links, n, dev->master_ifindex);
	if (l)
		add_dev(f, probe, nl, l, "master");
	for (int i = 0; i < n; i++) {
		if (lower_of(&links[i]) == f->ifindex)
			add_dev(f, probe, nl, &links[i], "upper");
		else if (links[i].master_ifindex == f->ifindex)
			add_dev(f, probe, nl, &links[i], "port");
	}
	free(links);
	return 0;
}

static int gather_qdisc(struct sc_nl *nl, struct sc_check_facts *f)
{
	struct sc_qdisc_info *q = NULL;
	struct sc_qdisc_rate *rates = NULL;
	int n = 0, nr = 0, err;

	err = sc_qdisc_list(nl, f->ifindex, &q, &n);
	if (err)
		return err;
	for (int i = 0; i < n; i++) {
		if (!q[i].root)
			continue;
		f->has_root = true;
		snprintf(f->root_kind, sizeof(f->root_kind), "%s", q[i].kind);
		f->root_handle = q[i].handle;
		break;
	}
	free(q);
	err = sc_qdisc_rate_limits(nl, f->ifindex, &rates, &nr);
	if (err)
		return err;
	f->nr_rates = nr;
	for (int i = 0; i < nr && i < SC_CHECK_MAX_RATES; i++)
		f->rates[i] = rates[i];
	free(rates);
	return 0;
}

static void gather_queues(struct sc_nl *nl, struct sc_check_facts *f)
{
	unsigned int rx = 0, tx = 0;

	/* A down device lists no queues: unknown, not zero. */
	if (sc_nl_active_queues(nl, f->ifindex, &rx, &tx) || (!rx && !tx)) {
		f->rx_queues = f->tx_queues = -1;
	} else {
		f->rx_queues = (int)rx;
		f->tx_queues = (int)tx;
	}
	sc_clear_error();
}

/* ---- the sample ----------------------------------------------------------------- */

/* Adds @b's per-CPU deltas into @a (same CPUs, both from one watch). */
static void merge_softnet(struct sc_softnet_report *a, const struct sc_softnet_report *b)
{
	for (unsigned int i = 0; i < a->nr_cpus; i++) {
		for (unsigned int j = 0; j < b->nr_cpus; j++) {
			struct sc_softnet_cpu *d = &a->cpus[i].delta;
			const struct sc_softnet_cpu *e = &b->cpus[j].delta;

			if (b->cpus[j].cpu != a->cpus[i].cpu)
				continue;
			d->processed += e->processed;
			d->dropped += e->dropped;
			d->time_squeeze += e->time_squeeze;
			d->received_rps += e->received_rps;
			d->flow_limit += e->flow_limit;
		}
	}
	a->sum.processed += b->sum.processed;
	a->sum.dropped += b->sum.dropped;
	a->sum.time_squeeze += b->sum.time_squeeze;
	a->sum.received_rps += b->sum.received_rps;
	a->sum.flow_limit += b->sum.flow_limit;
	a->interval_s += b->interval_s;
}

static void rx_balance(struct sc_check_facts *f, const struct sc_top_report *r)
{
	double rates[1024];
	unsigned int n = 0;
	uint64_t best = 0;

	f->rx_busiest = -1;
	for (unsigned int i = 0; i < r->nr_queues; i++) {
		const struct sc_top_queue *q = &r->queues[i];

		if (q->ifindex != (uint32_t)f->ifindex || q->dir != SC_TOP_RX)
			continue;
		if (q->queue == SC_TOP_QUEUE_UNRECORDED) {
			f->rx_unrecorded += q->delta_packets;
			continue;
		}
		f->rx_frames += q->delta_packets;
		if (q->delta_packets > best) {
			best = q->delta_packets;
			f->rx_busiest = q->queue;
		}
		if (n < sizeof(rates) / sizeof(rates[0]))
			rates[n++] = (double)q->delta_packets;
	}
	f->rx_balance_queues = n;
	f->rx_busiest_share = f->rx_frames ? (double)best / f->rx_frames : 0;
	sc_top_imbalance(rates, n, &f->rx_max_mean, &f->rx_cv);
}

/* Roots that give every tx queue its own qdisc (mq) or have none (noqueue). */
static bool per_queue_root(const char *kind)
{
	return !strcmp(kind, "mq") || !strcmp(kind, "mqprio") || !strcmp(kind, "noqueue") ||
	       !strcmp(kind, "taprio");
}

/*
 * Whether every CPU that transmits on DEV takes one root lock: what
 * judge_root() flags, and what the sample then measures. pfifo_fast is
 * TCQ_F_NOLOCK (no root spinlock); unknown tx queues (down) say nothing.
 */
static bool root_lock_shared(const struct sc_check_facts *f)
{
	return f->has_root && !per_queue_root(f->root_kind) && f->tx_queues >= 0 &&
	       strcmp(f->root_kind, "pfifo_fast");
}

/*
 * One window for everything the sample measures. With a shared root,
 * sc_contention_measure() runs it: its sampler is loaded and attached
 * before the window, and its wait callback, window_wait(), is where
 * check's own parts happen: the rx and softnet baselines at the first
 * call, the first half's softnet sample at half time, the second at the
 * end, each wait being the caller's. So the lock's figures, both softnet
 * halves and the rx counts cover the same seconds (to within the
 * milliseconds the counter reads take), and the caller's wait ending early
 * (^C) ends all of them together. Otherwise, or when the sampler cannot
 * start, a plain loop drives the same callback.
 */
struct window {
	const struct sc_check_opts *o;
	struct sc_top *top;
	struct sc_softnet_watch *watch;
	struct sc_softnet_report first, second;
	bool opened;
	int halves;		/* softnet samples taken: 0, 1, 2 */
	bool more;		/* the first half ran to its end */
	int err;		/* of check's own parts: the window's owner cannot see it */
};

static int window_open(struct window *w)
{
	struct sc_top_report r = { 0 };
	int err;

	/* The first sample is the baseline. */
	err = sc_top_sample(w->top, &r);
	sc_top_report_free(&r);
	if (!err)
		err = sc_softnet_watch_open(NULL, &w->watch);
	if (err)
		return err;
	w->opened = true;
	if (w->o->on_sampling)
		w->o->on_sampling();
	return 0;
}

/*
 * Two halves, so a time_squeeze that rises in both counts as rising
 * (SC_SOFTNET_RISING). A struct sc_contention_opts wait: false ends the
 * window.
 */
static bool window_wait(void *priv, double elapsed_s, double total_s)
{
	struct window *w = priv;
	double half = total_s / 2 - elapsed_s, left = total_s - elapsed_s;

	if (!w->opened) {
		w->err = window_open(w);
		if (w->err)
			return false;
	}
	if (w->halves == 0) {
		w->more = w->o->wait && w->o->wait(half > 0 ? half : 0);
		w->err = sc_softnet_watch_sample(w->watch, &w->first);
		w->halves = 1;
		return w->more && !w->err;
	}
	if (w->halves == 1) {
		/* more: o->wait is set. Cut short or not, the window ends here. */
		w->o->wait(left > 0 ? left : 0);
		w->err = sc_softnet_watch_sample(w->watch, &w->second);
		w->halves = 2;
	}
	return false;
}

/*
 * One lock has one holder at a time, so it cannot be held for longer than
 * the window: held samples beyond that are sampling error (or another busy
 * root's stacks, which a stack cannot tell from DEV's). The busy share is
 * capped at 1, and the hold time at window / frames with it, so that the
 * ceiling stays 1e9 / hold and never falls below the rate the root did carry.
 */
static void lock_facts(struct sc_check_facts *f, const struct sc_contention_report *r)
{
	f->lock_measured = true;
	f->lock_held_samples = r->held_samples;
	f->lock_rel_err = r->hold_rel_err;
	f->root_pps = r->qdisc_pps;
	f->lock_busy = r->lock_busy < 1 ? r->lock_busy : 1;
	f->lock_hold_ns = r->hold_ns_per_frame;
	if (r->qdisc_pps > 0 && f->lock_hold_ns > 1e9 / r->qdisc_pps)
		f->lock_hold_ns = 1e9 / r->qdisc_pps;
	f->lock_ceiling_pps = f->lock_hold_ns > 0 ? 1e9 / f->lock_hold_ns : 0;
}

/*
 * The shared root's lock over the window, as `shardctl contention` measures
 * it. Lock tracepoints stay off: contention_end's program would run inside
 * the very critical section being timed. A sampler that cannot start (no
 * perf events, no BPF, no kallsyms) leaves the reason and the window to
 * the caller's loop: the rest of check stands without it.
 */
static void measure_lock(struct window *w, struct sc_check_facts *f)
{
	struct sc_contention_opts co = {
		.dev = f->dev,
		.duration_s = w->o->sample_s,
		.frequency = SC_CONT_DEFAULT_HZ,
		.top = 1,
		.no_lock_events = true,
		.wait = window_wait,
		.priv = w,
	};
	struct sc_contention_report r;
	int err;

	f->lock_tried = true;
	err = sc_contention_measure(&co, &r);
	if (err) {
		snprintf(f->lock_why, sizeof(f->lock_why), "%s", sc_last_error());
		sc_clear_error();
		return;
	}
	lock_facts(f, &r);
	sc_contention_report_free(&r);
}

/* DEV's rx counts, softnet's halves and a shared root's lock over one window. */
static int sample(const struct sc_check_opts *o, struct sc_check_facts *f)
{
	struct window w = { .o = o };
	uint32_t ifindex = (uint32_t)f->ifindex;
	struct sc_top_report r = { 0 };
	struct sc_netcore nc;
	double start;
	int err;

	err = sc_netcore_read(&nc);
	if (err)
		goto out;
	err = sc_top_open(&ifindex, 1, &w.top);
	if (err)
		goto out;
	if (root_lock_shared(f))
		measure_lock(&w, f);
	if (!w.opened && !w.err) {
		start = sc_monotonic_s();
		while (window_wait(&w, sc_monotonic_s() - start, o->sample_s))
			;
	}
	err = w.err;
	if (err)
		goto out;
	if (w.more) {
		/* The second half carries the streaks; add the first half's counts. */
		merge_softnet(&w.second, &w.first);
	} else {
		w.second = w.first;
		w.first = (struct sc_softnet_report){ 0 };
	}
	err = sc_top_sample(w.top, &r);
	if (err)
		goto out;
	f->sampled = true;
	f->sample_s = w.second.interval_s;
	f->softnet = w.second.sum;
	f->nr_softnet_advice = sc_softnet_advise(&w.second, &nc, f->softnet_advice, 4);
	rx_balance(f, &r);
out:
	sc_top_report_free(&r);
	sc_softnet_report_free(&w.first);
	sc_softnet_report_free(&w.second);
	sc_softnet_watch_close(w.watch);
	sc_top_close(w.top);
	return err;
}

int sc_check(const struct sc_check_opts *o, struct sc_check_report *out)
{
	struct sc_check_facts *f = &out->facts;
	struct devprobe_bpf *probe = NULL;
	struct sc_link link;
	struct sc_nl *nl = NULL;
	uint32_t *shards = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	snprintf(f->dev, sizeof(f->dev), "%s", o->dev);
	err = sc_nl_open(&nl);
	if (err)
		return err;
	err = sc_nl_link_by_name(nl, o->dev, &link);
	if (err)
		goto out;
	f->ifindex = link.ifindex;
	gather_queues(nl, f);
	err = gather_qdisc(nl, f);
	if (err) {
		err = sc_err_wrap(err, "check %s", o->dev);
		goto out;
	}
	/* Without the probe, ethtool and netlink tell what they can; the rest still stands. */
	if (!sc_kernel_has_btf_func("bpf_cast_to_kern_ctx") || probe_open(&probe)) {
		probe = NULL;
		sc_clear_error();
	}
	err = gather_path(f, probe, nl);
	devprobe_bpf__destroy(probe);
	if (err)
		goto out;
	err = sc_shard_devices(nl, f->ifindex, &shards, &f->nr_shards);
	free(shards);
out:
	sc_nl_close(nl);
	if (err)
		return err;
	if (o->sample_s > 0) {
		err = sample(o, f);
		if (err)
			return sc_err_wrap(err, "check %s: sample", o->dev);
	}
	sc_check_judge(f, out);
	return 0;
}

/* ---- judgement ------------------------------------------------------------------ */

static struct sc_check_finding *finding(struct sc_check_report *r, const char *id,
					enum sc_check_level level)
{
	struct sc_check_finding *x;

	if (r->nr_findings == SC_CHECK_MAX_FINDINGS)
		return &r->findings[SC_CHECK_MAX_FINDINGS - 1];
	x = &r->findings[r->nr_findings++];
	memset(x, 0, sizeof(*x));
	x->id = id;
	x->level = level;
	if (level == SC_CHECK_ACTION)
		r->action = true;
	return x;
}

static void rates_str(const struct sc_check_facts *f, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < f->nr_rates && i < SC_CHECK_MAX_RATES && off < len; i++) {
		char h[32];

		sc_qdisc_handle_str(f->rates[i].handle, h, sizeof(h));
		off += (size_t)snprintf(buf + off, len - off, "%s%s %s rate %llu bit/s", i ? ", " : "",
					f->rates[i].kind, h,
					(unsigned long long)f->rates[i].rate * 8);
	}
}

/* 780 -> "780", 78000 -> "78k", 1234567 -> "1.23M": rates as a sentence says them. */
static void rate_words(double v, char *buf, size_t len)
{
	if (v < 1e3)
		snprintf(buf, len, "%.0f", v);
	else if (v < 1e4)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else if (v < 1e6)
		snprintf(buf, len, "%.0fk", v / 1e3);
	else if (v < 1e7)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else
		snprintf(buf, len, "%.1fM", v / 1e6);
}

/*
 * What the sample says about a shared root's lock, appended to the
 * root_qdisc evidence: the same model as `shardctl contention` (the lock
 * carries at most 1 / hold time frames per second however many CPUs
 * wait for it).
 */
static void lock_evidence(const struct sc_check_facts *f, char *buf, size_t len)
{
	size_t off = strlen(buf);
	char pps[16], ceiling[16];

	if (!f->lock_tried || off + 1 >= len)
		return;
	buf += off;
	len -= off;
	if (!f->lock_measured) {
		snprintf(buf, len, "; the root lock's hold time could not be measured: %s", f->lock_why);
		return;
	}
	if (f->root_pps <= 0) {
		snprintf(buf, len, "; no frames went through the root in the %.1f s sample: nothing "
			 "to time the root lock by (run check while the load runs)", f->sample_s);
		return;
	}
	rate_words(f->root_pps, pps, sizeof(pps));
	if (f->lock_held_samples < SC_CHECK_MIN_HELD_SAMPLES) {
		snprintf(buf, len, "; root lock %.0f%% busy at %s frames/s, but only %llu samples fell "
			 "inside it (%d needed): too few to say what it can carry",
			 100 * f->lock_busy, pps, (unsigned long long)f->lock_held_samples,
			 SC_CHECK_MIN_HELD_SAMPLES);
		return;
	}
	rate_words(f->lock_ceiling_pps, ceiling, sizeof(ceiling));
	snprintf(buf, len, "; root lock %.0f%% busy at %s frames/s: it cannot carry more than ~%s "
		 "frames/s on any number of cores; %s",
		 100 * f->lock_busy, pps, ceiling,
		 f->tx_queues == 1 && f->rx_queues <= 1
			 ? "with one rx and one tx queue, neither shards nor mq remove that limit"
			 : "shards remove that limit");
}

/* Returns whether DEV's root lock is shared by CPUs that could be kept apart. */
static bool judge_root(const struct sc_check_facts *f, struct sc_check_report *r)
{
	struct sc_check_finding *x;
	char h[32];

	if (!f->has_root || per_queue_root(f->root_kind)) {
		x = finding(r, "root_qdisc", SC_CHECK_OK);
		snprintf(x->evidence, sizeof(x->evidence),
			 "root qdisc %s: %s", f->has_root ? f->root_kind : "none",
			 f->has_root && strcmp(f->root_kind, "noqueue")
				 ? "one child qdisc and lock per tx queue"
				 : "no qdisc, no root lock");
		return false;
	}
	sc_qdisc_handle_str(f->root_handle, h, sizeof(h));
	if (f->tx_queues < 0) {
		x = finding(r, "root_qdisc", SC_CHECK_INFO);
		snprintf(x->evidence, sizeof(x->evidence),
			 "root qdisc %s %s; active tx queues unknown (device down?)", f->root_kind, h);
		return false;
	}
	if (f->tx_queues > 1) {
		/* pfifo_fast is TCQ_F_NOLOCK: no root spinlock, one shared ring still. */
		bool nolock = !strcmp(f->root_kind, "pfifo_fast");

		x = finding(r, "root_qdisc", nolock ? SC_CHECK_INFO : SC_CHECK_ACTION);
		snprintf(x->evidence, sizeof(x->evidence),
			 "root qdisc %s %s is shared by all %d tx queues of %s: qdisc_graft() "
			 "attaches a non-multiqueue root to every tx queue, so every CPU that "
			 "transmits on %s takes its one lock (qdisc_lock() in __dev_xmit_skb())%s",
			 f->root_kind, h, f->tx_queues, f->dev, f->dev,
			 nolock ? "; pfifo_fast enqueues lock-free (TCQ_F_NOLOCK) but shares one ring"
				: "");
		if (!nolock)
			snprintf(x->fix, sizeof(x->fix), "stop sharing the root lock: see 'fit'");
	} else {
		x = finding(r, "root_qdisc", SC_CHECK_INFO);
		snprintf(x->evidence, sizeof(x->evidence),
			 "root qdisc %s %s on %s's single tx queue: every transmitting CPU takes its "
			 "lock", f->root_kind, h, f->dev);
	}
	if (root_lock_shared(f))
		lock_evidence(f, x->evidence, sizeof(x->evidence));
	return root_lock_shared(f);
}

static void judge_fit(const struct sc_check_facts *f, bool shared, struct sc_check_report *r)
{
	struct sc_check_finding *x;
	char rates[256];

	if (!shared) {
		r->fit = SC_FIT_NONE;
		return;
	}
	rates_str(f, rates, sizeof(rates));
	if (f->tx_queues == 1 && f->rx_queues <= 1) {
		/* Nothing shardctl can do: say so without asking for action. */
		x = finding(r, "fit", SC_CHECK_INFO);
		r->fit = SC_FIT_NEITHER;
		snprintf(x->evidence, sizeof(x->evidence),
			 "one rx and one tx queue: neither mq nor shards can split the lock");
		snprintf(x->fix, sizeof(x->fix),
			 "make the classification under the lock cheaper (fewer filters), or use a "
			 "device with more queues");
		return;
	}
	x = finding(r, "fit", SC_CHECK_ACTION);
	if (f->nr_rates || f->tx_queues == 1) {
		r->fit = SC_FIT_SHARDS;
		snprintf(x->evidence, sizeof(x->evidence), "%s%s%s",
			 f->tx_queues == 1 ? "mq needs several tx queues" : "",
			 f->tx_queues == 1 && f->nr_rates ? "; " : "",
			 f->nr_rates ? "device-wide rate limits that mq would lose: " : "");
		if (f->nr_rates)
			snprintf(x->evidence + strlen(x->evidence),
				 sizeof(x->evidence) - strlen(x->evidence), "%s", rates);
		snprintf(x->fix, sizeof(x->fix),
			 "shards: `shardctl setup %s` gives each of the %d rx queues a veth with its "
			 "own qdisc and lock; put the egress tree on each shard veth (a device-wide "
			 "limit becomes a per-shard one: divide it by the shard count)%s",
			 f->dev, f->rx_queues,
			 f->nr_shards ? "; shards are set up already: move the tree off the NIC" : "");
		return;
	}
	r->fit = SC_FIT_MQ;
	snprintf(x->evidence, sizeof(x->evidence),
		 "no device-wide rate limit in %s's tree: nothing is lost by per-queue roots",
		 f->dev);
	snprintf(x->fix, sizeof(x->fix),
		 "mq: `shardctl mq %s` replaces the root with sch_mq, one child qdisc and lock per "
		 "tx queue (reversible with --revert); shards (`shardctl setup %s`) work too but "
		 "add a veth hop",
		 f->dev, f->dev);
}

static void judge_path(const struct sc_check_facts *f, struct sc_check_report *r)
{
	struct sc_check_finding *x = NULL;
	char seen[384] = "";
	size_t off = 0;
	bool unknown = false;

	for (unsigned int i = 0; i < f->nr_path; i++) {
		const struct sc_check_dev *d = &f->path[i];

		if (off < sizeof(seen))
			off += (size_t)snprintf(seen + off, sizeof(seen) - off, "%s%s (%s%s%s, %d tx, %s)",
						i ? ", " : "", d->name, d->role, *d->kind ? " " : "",
						d->kind, d->tx_queues,
						d->lltx < 0 ? "lltx ?" : d->lltx ? "lltx" : "no lltx");
		unknown |= d->lltx < 0;
		if (d->tx_queues != 1 || d->lltx != 0)
			continue;
		x = finding(r, "tx_lock", SC_CHECK_ACTION);
		snprintf(x->evidence, sizeof(x->evidence),
			 "%s (%s of %s, %s) has one tx queue and no tx-lockless (NETIF_F_LLTX): every "
			 "CPU transmitting through it takes that queue's _xmit_lock (HARD_TX_LOCK in "
			 "__dev_queue_xmit())",
			 d->name, d->role, f->dev, *d->kind ? d->kind : "device");
		snprintf(x->fix, sizeof(x->fix),
			 "give %s several tx queues, use a kernel where its driver is lockless "
			 "(vlan has been for years), or take it out of the hot path",
			 d->name);
	}
	if (x)
		return;
	x = finding(r, "tx_lock", unknown ? SC_CHECK_INFO : SC_CHECK_OK);
	snprintf(x->evidence, sizeof(x->evidence), "transmit path: %s%s", seen,
		 unknown ? "; tx-lockless unknown where marked '?' (neither a BPF probe of "
			   "struct net_device nor ethtool's tx-lockless could tell)" : "");
}

static void judge_softnet(const struct sc_check_facts *f, struct sc_check_report *r)
{
	struct sc_check_finding *x;

	for (int i = 0; i < f->nr_softnet_advice; i++) {
		const struct sc_softnet_advice *a = &f->softnet_advice[i];

		x = finding(r, "softnet", a->act ? SC_CHECK_ACTION
				   : a->kind == SC_SOFTNET_FINE ? SC_CHECK_OK : SC_CHECK_INFO);
		snprintf(x->evidence, sizeof(x->evidence), "%s", a->text);
		if (a->act)
			snprintf(x->fix, sizeof(x->fix), "see `shardctl softnet` while the load runs");
	}
}

static void judge_balance(const struct sc_check_facts *f, struct sc_check_report *r)
{
	struct sc_check_finding *x;

	if (f->rx_frames < SC_CHECK_MIN_RX_FRAMES || f->rx_balance_queues < 2) {
		x = finding(r, "rx_balance", SC_CHECK_INFO);
		snprintf(x->evidence, sizeof(x->evidence),
			 "%llu rx frames on %u queues in %.1f s: too few to judge the balance "
			 "(needs %d on 2+ queues)",
			 (unsigned long long)f->rx_frames, f->rx_balance_queues, f->sample_s,
			 SC_CHECK_MIN_RX_FRAMES);
		return;
	}
	if (f->rx_max_mean <= SC_CHECK_MAX_MEAN) {
		x = finding(r, "rx_balance", SC_CHECK_OK);
		snprintf(x->evidence, sizeof(x->evidence),
			 "%llu rx frames over %u queues: busiest/mean %.2f, cv %.2f",
			 (unsigned long long)f->rx_frames, f->rx_balance_queues, f->rx_max_mean,
			 f->rx_cv);
		return;
	}
	x = finding(r, "rx_balance", SC_CHECK_ACTION);
	snprintf(x->evidence, sizeof(x->evidence),
		 "rx queue %d took %.0f%% of %llu frames over %u queues (busiest/mean %.2f, cv "
		 "%.2f): one CPU does most of the receive work%s",
		 f->rx_busiest, 100 * f->rx_busiest_share, (unsigned long long)f->rx_frames,
		 f->rx_balance_queues, f->rx_max_mean, f->rx_cv,
		 f->nr_shards ? ", and its shard carries most of the egress" : "");
	snprintf(x->fix, sizeof(x->fix),
		 "more flows or a better spread: check the RSS indirection table and hash fields "
		 "(ethtool -x / -n %s), or spread in software with RPS",
		 f->dev);
}

void sc_check_judge(const struct sc_check_facts *f, struct sc_check_report *r)
{
	bool shared;

	if (&r->facts != f)
		r->facts = *f;
	r->nr_findings = 0;
	r->action = false;
	shared = judge_root(f, r);
	judge_path(f, r);
	if (f->sampled) {
		judge_softnet(f, r);
		judge_balance(f, r);
	}
	judge_fit(f, shared, r);
}
