// SPDX-License-Identifier: GPL-2.0
/*
 * The contention measurement: BPF stack sampler + lock tracepoints + qdisc,
 * softnet and link counters over one window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "dataplane/observe/contention.h"
#include "dataplane/kernel/error.h"
#include "dataplane/kernel/kernel.h"
#include "dataplane/kernel/kallsyms.h"
#include "dataplane/kernel/nl.h"
#include "contention.skel.h"

#define DEFAULT_STACK_ENTRIES 16384

/* The kernel functions behind each range, in enum sc_cont_range order. */
static const char *const range_syms[SC_NR_RANGES] = {
	[SC_RANGE_SLOW_NATIVE] = "native_queued_spin_lock_slowpath",
	[SC_RANGE_SLOW_PV] = "__pv_queued_spin_lock_slowpath",
	[SC_RANGE_DEV_QUEUE_XMIT] = "__dev_queue_xmit",
	[SC_RANGE_DEV_XMIT_SKB] = "__dev_xmit_skb",
	[SC_RANGE_SCH_DIRECT_XMIT] = "sch_direct_xmit",
	[SC_RANGE_TCF_CLASSIFY] = "tcf_classify",
	[SC_RANGE_IDLE] = "do_idle",
};

struct sampler {
	struct contention_bpf *skel;
	struct sc_ksyms ksyms;
	uint64_t lo[SC_NR_RANGES], hi[SC_NR_RANGES];
	int nr_cpus;		/* possible CPUs */
	int online;		/* CPUs with a perf event */
	int *pfds;
	struct bpf_link **links;
};

static bool in(uint64_t ip, const uint64_t *lo, const uint64_t *hi, int r)
{
	return ip >= lo[r] && ip < hi[r];
}

/* Same rules as classify() in bpf/contention.bpf.c. */
unsigned int sc_contention_classify(const uint64_t *ips, unsigned int nr, const uint64_t *lo,
				    const uint64_t *hi)
{
	bool spin = false, xmit = false, classify = false, idle = false;

	for (unsigned int i = 0; i < nr && i < SC_CONT_STACK_DEPTH; i++) {
		uint64_t ip = ips[i];

		if (i < SC_CONT_LEAF_FRAMES &&
		    (in(ip, lo, hi, SC_RANGE_SLOW_NATIVE) || in(ip, lo, hi, SC_RANGE_SLOW_PV)))
			spin = true;
		if (in(ip, lo, hi, SC_RANGE_DEV_QUEUE_XMIT) || in(ip, lo, hi, SC_RANGE_DEV_XMIT_SKB) ||
		    in(ip, lo, hi, SC_RANGE_SCH_DIRECT_XMIT))
			xmit = true;
		if (in(ip, lo, hi, SC_RANGE_TCF_CLASSIFY))
			classify = true;
		if (in(ip, lo, hi, SC_RANGE_IDLE))
			idle = true;
	}
	return spin << SC_CLASS_SPIN | (spin && xmit) << SC_CLASS_QDISC_LOCK |
	       xmit << SC_CLASS_XMIT | classify << SC_CLASS_CLASSIFY | idle << SC_CLASS_IDLE;
}

static void add_classes(struct sc_cont_counts *c, unsigned int mask, uint64_t n)
{
	if (mask & 1u << SC_CLASS_SPIN)
		c->spin += n;
	if (mask & 1u << SC_CLASS_QDISC_LOCK)
		c->qdisc_lock += n;
	if (mask & 1u << SC_CLASS_XMIT)
		c->xmit += n;
	if (mask & 1u << SC_CLASS_CLASSIFY)
		c->classify += n;
	if (mask & 1u << SC_CLASS_IDLE)
		c->idle += n;
}

static int resolve_ranges(struct sampler *s)
{
	int err = sc_ksyms_load(NULL, &s->ksyms);

	if (err)
		return err;
	for (int r = 0; r < SC_NR_RANGES; r++) {
		/* Absent (inlined, or the other spinlock flavour): an empty range never matches. */
		if (sc_ksyms_range(&s->ksyms, range_syms[r], &s->lo[r], &s->hi[r]))
			s->lo[r] = s->hi[r] = 0;
	}
	if (!s->hi[SC_RANGE_SLOW_NATIVE] && !s->hi[SC_RANGE_SLOW_PV])
		return sc_errf(ENOENT, "/proc/kallsyms: neither %s nor %s: cannot recognise "
			       "spinlock slow-path samples on this kernel",
			       range_syms[SC_RANGE_SLOW_NATIVE], range_syms[SC_RANGE_SLOW_PV]);
	if (!s->hi[SC_RANGE_DEV_QUEUE_XMIT])
		return sc_errf(ENOENT, "/proc/kallsyms: no %s", range_syms[SC_RANGE_DEV_QUEUE_XMIT]);
	return 0;
}

static bool have_lock_tracepoints(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool ok;

	if (!vmlinux)
		return false;
	ok = btf__find_by_name_kind(vmlinux, "btf_trace_contention_begin", BTF_KIND_TYPEDEF) > 0 &&
	     btf__find_by_name_kind(vmlinux, "btf_trace_contention_end", BTF_KIND_TYPEDEF) > 0;
	btf__free(vmlinux);
	return ok;
}

static void sampler_close(struct sampler *s)
{
	for (int i = 0; s->links && i < s->nr_cpus; i++)
		bpf_link__destroy(s->links[i]);
	for (int i = 0; s->pfds && i < s->nr_cpus; i++)
		if (s->pfds[i] >= 0)
			close(s->pfds[i]);
	free(s->links);
	free(s->pfds);
	contention_bpf__destroy(s->skel);
	sc_ksyms_free(&s->ksyms);
	memset(s, 0, sizeof(*s));
}

static int open_perf_events(struct sampler *s, unsigned int hz)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		/* cpu-clock's period is in ns: a fixed rate, no frequency auto-tuning. */
		.sample_period = 1000000000ull / hz,
	};
	int opened = 0;

	s->pfds = malloc(s->nr_cpus * sizeof(*s->pfds));
	s->links = calloc(s->nr_cpus, sizeof(*s->links));
	if (!s->pfds || !s->links)
		return sc_errf(ENOMEM, "contention: out of memory");
	for (int cpu = 0; cpu < s->nr_cpus; cpu++)
		s->pfds[cpu] = -1;
	for (int cpu = 0; cpu < s->nr_cpus; cpu++) {
		int fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0) {
			if (errno == ENODEV)	/* possible but offline */
				continue;
			return sc_errf(errno, "perf_event_open(cpu-clock, cpu %d): %s", cpu,
				       strerror(errno));
		}
		s->pfds[cpu] = fd;
		s->links[cpu] = bpf_program__attach_perf_event(s->skel->progs.sc_cont_sample, fd);
		if (!s->links[cpu]) {
			int err = -errno;

			s->links[cpu] = NULL;
			return sc_errf(err, "attaching the sampler to cpu %d: %s", cpu, strerror(-err));
		}
		opened++;
	}
	if (!opened)
		return sc_errf(ENODEV, "perf_event_open: no online CPU");
	s->online = opened;
	return 0;
}

static int sampler_open(struct sampler *s, const struct sc_contention_opts *o, bool *lock_events)
{
	unsigned int entries = o->stack_entries ? o->stack_entries : DEFAULT_STACK_ENTRIES;
	int err;

	memset(s, 0, sizeof(*s));
	err = resolve_ranges(s);
	if (err)
		return err;
	s->nr_cpus = libbpf_num_possible_cpus();
	if (s->nr_cpus <= 0)
		return sc_errf(EIO, "cannot count possible CPUs");
	s->skel = contention_bpf__open();
	if (!s->skel)
		return sc_errf(errno, "contention: opening the BPF object: %s", strerror(errno));
	memcpy(s->skel->rodata->range_lo, s->lo, sizeof(s->lo));
	memcpy(s->skel->rodata->range_hi, s->hi, sizeof(s->hi));
	bpf_map__set_max_entries(s->skel->maps.stacks, entries);
	bpf_map__set_max_entries(s->skel->maps.stack_counts, entries);
	*lock_events = !o->no_lock_events && have_lock_tracepoints();
	if (!*lock_events) {
		bpf_program__set_autoload(s->skel->progs.sc_cont_begin, false);
		bpf_program__set_autoload(s->skel->progs.sc_cont_end, false);
	}
	err = contention_bpf__load(s->skel);
	if (err)
		return sc_errf(err, "contention: loading the BPF programs: %s", strerror(-err));
	if (*lock_events) {
		err = contention_bpf__attach(s->skel);
		if (err)
			return sc_errf(err, "contention: attaching to lock:contention_begin/end: %s",
				       strerror(-err));
	}
	return open_perf_events(s, o->frequency);
}

/* ---- reading the maps ----------------------------------------------------------- */

struct stack_sum {
	uint32_t id;
	uint64_t samples;
	unsigned int classes;
};

static int cmp_samples(const void *a, const void *b)
{
	const struct stack_sum *x = a, *y = b;

	return x->samples < y->samples ? 1 : x->samples > y->samples ? -1 : 0;
}

static int cmp_id(const void *a, const void *b)
{
	const struct stack_sum *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int read_cpu_stats(struct sampler *s, struct sc_contention_report *r)
{
	struct sc_cont_cpu *pc = calloc(s->nr_cpus, sizeof(*pc));
	uint32_t zero = 0;
	int fd = bpf_map__fd(s->skel->maps.cpu_stats);

	r->cpus = calloc(s->nr_cpus, sizeof(*r->cpus));
	if (!pc || !r->cpus) {
		free(pc);
		return sc_errf(ENOMEM, "contention: out of memory");
	}
	if (bpf_map_lookup_elem(fd, &zero, pc)) {
		free(pc);
		return sc_errf(errno, "contention: reading per-CPU counters: %s", strerror(errno));
	}
	for (int cpu = 0; cpu < s->nr_cpus; cpu++) {
		struct sc_cont_cpu_counts *c = &r->cpus[cpu];

		c->cpu = cpu;
		c->c.samples = pc[cpu].samples;
		c->c.user = pc[cpu].user;
		for (int k = 0; k < SC_NR_CLASSES; k++)
			add_classes(&c->c, 1u << k, pc[cpu].lost_class[k]);
		r->stack_lost += pc[cpu].stack_lost;
		r->lock_waits += pc[cpu].lock_waits;
		r->lock_wait_ns += pc[cpu].lock_wait_ns;
		r->lock_unmatched += pc[cpu].lock_unmatched;
	}
	r->nr_cpus = s->nr_cpus;
	free(pc);
	return 0;
}

static int symbolise(struct sampler *s, const uint64_t *ips, unsigned int nr, struct sc_cont_stack *out)
{
	out->frames = calloc(nr ? nr : 1, sizeof(*out->frames));
	if (!out->frames)
		return -ENOMEM;
	for (unsigned int i = 0; i < nr; i++) {
		char buf[160];

		sc_ksyms_format(&s->ksyms, ips[i], buf, sizeof(buf));
		out->frames[i] = strdup(buf);
		if (!out->frames[i])
			return -ENOMEM;
		out->nr_frames = i + 1;
	}
	return 0;
}

static unsigned int stack_depth(const uint64_t *ips)
{
	unsigned int n = 0;

	while (n < SC_CONT_STACK_DEPTH && ips[n])
		n++;
	return n;
}

/*
 * A qdisc's enqueue or dequeue (htb_enqueue, fq_codel_dequeue, their .cold
 * parts), built in or a module: run by the transmit path with the root
 * lock held.
 */
static bool qdisc_op(const char *name)
{
	size_t n = strcspn(name, ".");

	return n > 8 && (!strncmp(name + n - 8, "_enqueue", 8) || !strncmp(name + n - 8, "_dequeue", 8));
}

/* See struct sc_contention_report: inside a qdisc critical section, not spinning for it. */
static bool held(const struct sampler *s, const uint64_t *ips, unsigned int nr, unsigned int mask)
{
	bool op = false, run = false;

	if (mask & 1u << SC_CLASS_SPIN)
		return false;
	for (unsigned int i = 0; i < nr; i++) {
		const struct sc_ksym *k = sc_ksyms_find(&s->ksyms, ips[i]);

		if (!k)
			continue;
		/* The root lock is dropped around the driver transmit. */
		if (!op && !run && (!strcmp(k->name, "dev_hard_start_xmit") ||
				    !strcmp(k->name, "sch_direct_xmit")))
			return false;
		if (!strcmp(k->name, "__qdisc_run"))
			run = true;
		else if (!op && !run && qdisc_op(k->name))
			op = true;
	}
	/* __qdisc_run also runs from net_tx_action, outside __dev_queue_xmit. */
	return run || (op && (mask & 1u << SC_CLASS_XMIT));
}

/*
 * Walk stack_counts (key: stack id, cpu): per-CPU class totals, then
 * per-stack totals (merged across CPUs) for the top list.
 */
static int read_stacks(struct sampler *s, unsigned int top, struct sc_contention_report *r)
{
	int cfd = bpf_map__fd(s->skel->maps.stack_counts), sfd = bpf_map__fd(s->skel->maps.stacks);
	struct sc_cont_key key, next, *prev = NULL;
	struct stack_sum *sums = NULL;
	uint64_t ips[SC_CONT_STACK_DEPTH];
	unsigned int n = 0, cap = 0, merged = 0;
	int err = 0;

	while (!bpf_map_get_next_key(cfd, prev, &next)) {
		uint64_t count;
		unsigned int mask = 0;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(cfd, &key, &count))
			continue;
		memset(ips, 0, sizeof(ips));
		if (!bpf_map_lookup_elem(sfd, &key.stack_id, ips)) {
			mask = sc_contention_classify(ips, stack_depth(ips), s->lo, s->hi);
			if (held(s, ips, stack_depth(ips), mask))
				r->held_samples += count;
		}
		if ((int)key.cpu < s->nr_cpus)
			add_classes(&r->cpus[key.cpu].c, mask, count);
		if (n == cap) {
			void *p = realloc(sums, (cap = cap ? 2 * cap : 256) * sizeof(*sums));

			if (!p) {
				err = sc_errf(ENOMEM, "contention: out of memory");
				goto out;
			}
			sums = p;
		}
		sums[n++] = (struct stack_sum){ .id = key.stack_id, .samples = count, .classes = mask };
	}
	if (sums) {
		qsort(sums, n, sizeof(*sums), cmp_id);
		for (unsigned int i = 0; i < n; i++) {
			if (merged && sums[merged - 1].id == sums[i].id)
				sums[merged - 1].samples += sums[i].samples;
			else
				sums[merged++] = sums[i];
		}
		qsort(sums, merged, sizeof(*sums), cmp_samples);
	}
	r->distinct_stacks = merged;
	top = top < merged ? top : merged;
	r->stacks = calloc(top ? top : 1, sizeof(*r->stacks));
	if (!r->stacks) {
		err = sc_errf(ENOMEM, "contention: out of memory");
		goto out;
	}
	for (unsigned int i = 0; i < top; i++) {
		struct sc_cont_stack *st = &r->stacks[i];

		st->samples = sums[i].samples;
		st->classes = sums[i].classes;
		r->nr_stacks = i + 1;
		memset(ips, 0, sizeof(ips));
		if (bpf_map_lookup_elem(sfd, &sums[i].id, ips))
			continue;
		if (symbolise(s, ips, stack_depth(ips), st)) {
			err = sc_errf(ENOMEM, "contention: out of memory");
			goto out;
		}
	}
out:
	free(sums);
	return err;
}

static int cmp_lock(const void *a, const void *b)
{
	const struct sc_cont_lock_wait *x = a, *y = b;

	return x->wait_ns < y->wait_ns ? 1 : x->wait_ns > y->wait_ns ? -1 : 0;
}

static int read_locks(struct sampler *s, unsigned int top, struct sc_contention_report *r)
{
	int fd = bpf_map__fd(s->skel->maps.lock_waits);
	struct sc_cont_lock_wait *v = NULL;
	uint64_t key, next, *prev = NULL;
	unsigned int n = 0, cap = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct sc_cont_lock l;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &l))
			continue;
		if (n == cap) {
			void *p = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof(*v));

			if (!p) {
				free(v);
				return sc_errf(ENOMEM, "contention: out of memory");
			}
			v = p;
		}
		v[n++] = (struct sc_cont_lock_wait){ .addr = key, .waits = l.waits,
						     .wait_ns = l.wait_ns, .max_ns = l.max_ns };
	}
	if (v)
		qsort(v, n, sizeof(*v), cmp_lock);
	r->locks = v;
	r->nr_locks = n < top ? n : top;
	return 0;
}

/* ---- counters around the window ---------------------------------------------------- */

struct snapshot {
	struct sc_qdisc_info *qdiscs;
	int nr_qdiscs;
	struct sc_softnet softnet;
	struct sc_link link;
	double t;
};

static int snap(struct sc_nl *nl, int ifindex, struct snapshot *sn)
{
	int err;

	memset(sn, 0, sizeof(*sn));
	/* The window is timed at the link read: tx pps/bps come from it. */
	err = sc_nl_link_by_index(nl, ifindex, &sn->link);
	sn->t = sc_monotonic_s();
	if (!err)
		err = sc_qdisc_list(nl, ifindex, &sn->qdiscs, &sn->nr_qdiscs);
	if (!err)
		err = sc_softnet_read(NULL, &sn->softnet);
	return err;
}

static void snap_free(struct snapshot *sn)
{
	free(sn->qdiscs);
	sc_softnet_free(&sn->softnet);
}

double sc_contention_per_s(const struct sc_contention_report *r, uint64_t count)
{
	return r->duration_s > 0 ? (double)count / r->duration_s : 0;
}

/* DEV's root qdisc among the counted ones (listed root first), or NULL. */
static const struct sc_qdisc_info *root_of(const struct sc_contention_report *r)
{
	for (int i = 0; i < r->nr_qdiscs; i++)
		if (r->qdiscs[i].root)
			return &r->qdiscs[i];
	return NULL;
}

static void rates(struct sc_contention_report *r)
{
	const struct sc_qdisc_info *q = root_of(r);
	uint64_t processed = 0, dropped = 0, squeeze = 0;

	r->tx_pps = sc_contention_per_s(r, r->tx_packets);
	r->tx_bps = 8 * sc_contention_per_s(r, r->tx_bytes);
	r->tx_dropped_pps = sc_contention_per_s(r, r->tx_dropped);
	r->handed_pps = r->tx_pps + r->tx_dropped_pps;
	if (q) {
		r->qdisc_pps = sc_contention_per_s(r, q->packets);
		r->qdisc_drops_ps = sc_contention_per_s(r, q->drops);
		r->qdisc_requeues_ps = sc_contention_per_s(r, q->requeues);
		r->qdisc_overlimits_ps = sc_contention_per_s(r, q->overlimits);
	}
	for (unsigned int i = 0; i < r->softnet.nr_cpus; i++) {
		processed += r->softnet.cpus[i].processed;
		dropped += r->softnet.cpus[i].dropped;
		squeeze += r->softnet.cpus[i].time_squeeze;
	}
	r->softnet_processed_ps = sc_contention_per_s(r, processed);
	r->softnet_dropped_ps = sc_contention_per_s(r, dropped);
	r->softnet_squeeze_ps = sc_contention_per_s(r, squeeze);
}

static int deltas(const struct snapshot *a, const struct snapshot *b, struct sc_contention_report *r)
{
	int err;

	err = sc_qdisc_delta(a->qdiscs, a->nr_qdiscs, b->qdiscs, b->nr_qdiscs, &r->qdiscs,
			     &r->nr_qdiscs);
	if (!err)
		err = sc_softnet_delta(&a->softnet, &b->softnet, &r->softnet);
	if (err)
		return err;
	r->tx_packets = b->link.tx_packets - a->link.tx_packets;
	r->tx_bytes = b->link.tx_bytes - a->link.tx_bytes;
	r->tx_dropped = b->link.tx_dropped - a->link.tx_dropped;
	rates(r);
	return 0;
}

static void set_enabled(struct sampler *s, unsigned int on)
{
	if (s->skel)
		__atomic_store_n(&s->skel->bss->enabled, on, __ATOMIC_SEQ_CST);
}

/* The window is as long as the caller's wait; its measured length is what the rates use. */
static void wait_window(const struct sc_contention_opts *o, double start, double total)
{
	while (o->wait && o->wait(o->priv, sc_monotonic_s() - start, total))
		;
}

/*
 * Shares of CPU time. The denominator is the samples the window should have
 * produced, not the samples taken: an idle vCPU may take no cpu-clock
 * samples at all (seen on these KVM guests: perf record -a gets none from
 * an idle CPU), and dividing by the samples taken would turn "% of CPU
 * time" into "% of busy time" without saying so.
 */
static void shares(struct sc_contention_report *r)
{
	const struct sc_cont_counts *t = &r->total;
	uint64_t busy = t->samples > t->idle ? t->samples - t->idle : 0;
	double whole = r->expected_samples > t->samples ? r->expected_samples : t->samples;

	if (!t->samples)
		return;
	r->qdisc_lock_share = t->qdisc_lock / whole;
	r->qdisc_lock_busy_share = busy ? (double)t->qdisc_lock / busy : 0;
	r->spin_share = t->spin / whole;
	r->classify_share = t->classify / whole;
	r->busy_share = busy / whole;
}

/* The lock's figures from the held samples and the frames its root qdisc passed. */
static void hold(struct sc_contention_report *r)
{
	const struct sc_qdisc_info *root = root_of(r);
	uint64_t frames = root ? root->packets : 0;

	r->held_s = r->frequency ? (double)r->held_samples / r->frequency : 0;
	r->lock_busy = r->duration_s > 0 ? r->held_s / r->duration_s : 0;
	r->hold_rel_err = r->held_samples ? 1 / sqrt((double)r->held_samples) : 0;
	if (!frames || !r->held_samples)
		return;
	r->hold_ns_per_frame = r->held_s * 1e9 / (double)frames;
	r->ceiling_pps = 1e9 / r->hold_ns_per_frame;
}

static int collect(struct sampler *s, const struct sc_contention_opts *o,
		   struct sc_contention_report *r)
{
	unsigned int top = o->top ? o->top : SC_CONT_DEFAULT_TOP;
	int err;

	r->online_cpus = s->online;
	r->expected_samples = (double)o->frequency * r->duration_s * s->online;
	err = read_cpu_stats(s, r);
	if (!err)
		err = read_stacks(s, top, r);
	if (!err && r->lock_events)
		err = read_locks(s, top, r);
	if (err)
		return err;
	for (unsigned int i = 0; i < r->nr_cpus; i++) {
		const struct sc_cont_counts *c = &r->cpus[i].c;

		r->total.samples += c->samples;
		r->total.user += c->user;
		add_classes(&r->total, 1u << SC_CLASS_SPIN, c->spin);
		add_classes(&r->total, 1u << SC_CLASS_QDISC_LOCK, c->qdisc_lock);
		add_classes(&r->total, 1u << SC_CLASS_XMIT, c->xmit);
		add_classes(&r->total, 1u << SC_CLASS_CLASSIFY, c->classify);
		add_classes(&r->total, 1u << SC_CLASS_IDLE, c->idle);
	}
	shares(r);
	hold(r);
	return 0;
}

int sc_contention_measure(const struct sc_contention_opts *o, struct sc_contention_report *r)
{
	double total = o->duration_s > 0 ? o->duration_s : SC_CONT_DEFAULT_SECONDS;
	struct snapshot before = { 0 }, after = { 0 };
	struct sampler s = { 0 };
	struct sc_nl *nl = NULL;
	int err;

	memset(r, 0, sizeof(*r));
	snprintf(r->dev, sizeof(r->dev), "%s", o->dev);
	r->frequency = o->frequency;
	r->sampled = o->frequency > 0;
	err = sc_nl_open(&nl);
	if (err)
		return err;
	err = sc_nl_link_by_name(nl, o->dev, &before.link);
	if (err) {
		sc_nl_close(nl);
		return err;
	}
	r->ifindex = before.link.ifindex;
	/* Load and attach before the window: verifier and attach cost stay outside it. */
	if (r->sampled) {
		err = sampler_open(&s, o, &r->lock_events);
		if (err)
			goto out;
	}
	err = snap(nl, r->ifindex, &before);
	if (err)
		goto out;
	set_enabled(&s, 1);
	wait_window(o, before.t, total);
	set_enabled(&s, 0);
	err = snap(nl, r->ifindex, &after);
	if (err)
		goto out;
	r->duration_s = after.t - before.t;
	err = deltas(&before, &after, r);
	if (!err && r->sampled)
		err = collect(&s, o, r);
out:
	if (err)
		err = sc_err_wrap(err, "contention %s", o->dev);
	snap_free(&before);
	snap_free(&after);
	sampler_close(&s);
	sc_nl_close(nl);
	if (err)
		sc_contention_report_free(r);
	return err;
}

void sc_contention_report_free(struct sc_contention_report *r)
{
	for (unsigned int i = 0; r->stacks && i < r->nr_stacks; i++) {
		for (unsigned int j = 0; j < r->stacks[i].nr_frames; j++)
			free(r->stacks[i].frames[j]);
		free(r->stacks[i].frames);
	}
	free(r->stacks);
	free(r->cpus);
	free(r->locks);
	free(r->qdiscs);
	sc_softnet_free(&r->softnet);
	r->stacks = NULL;
	r->cpus = NULL;
	r->locks = NULL;
	r->qdiscs = NULL;
	r->nr_stacks = r->nr_cpus = r->nr_locks = 0;
	r->nr_qdiscs = 0;
}
