// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl/contention_view.h"
#include "ctl/ctl.h"
#include "ctl/json_parts.h"

#define MAX_FRAMES_SHOWN 16

static bool progress_shown;

bool cv_wait(void *priv, double elapsed_s, double total_s)
{
	double left = total_s - elapsed_s;

	if (isatty(STDERR_FILENO)) {
		fprintf(stderr, "\rmeasuring %s: %4.1f / %.1f s ", (const char *)priv,
			left > 0 ? elapsed_s : total_s, total_s);
		fflush(stderr);
		progress_shown = true;
	}
	if (left <= 0 || ctl_stop)
		return false;
	ctl_nap(left < 0.25 ? left : 0.25);
	return true;
}

void cv_progress_done(void)
{
	if (progress_shown)
		fprintf(stderr, "\r\033[K");
	progress_shown = false;
}

/* The figures compared before/after; per second where a count depends on duration. */
enum fig {
	FIG_HANDED_PS,
	FIG_TX_PPS,
	FIG_TX_MBPS,
	FIG_TX_DROP_PS,
	FIG_QDISC_LOCK,
	FIG_QDISC_LOCK_BUSY,
	FIG_SPIN,
	FIG_CLASSIFY,
	FIG_BUSY,
	FIG_LOCK_WAIT_MS,
	FIG_QDISC_PPS,
	FIG_QDISC_DROP_PS,
	FIG_QDISC_REQUEUE_PS,
	FIG_QDISC_OVERLIMIT_PS,
	FIG_SOFTNET_PROC_PS,
	FIG_SOFTNET_DROP_PS,
	FIG_SOFTNET_SQUEEZE_PS,
	NR_FIGS,
};

static const struct {
	const char *key;	/* JSON */
	const char *label;	/* human */
	const char *fmt;
	bool needs_samples;
} figs[NR_FIGS] = {
	[FIG_HANDED_PS] = { "handed_to_driver_per_s", "handed to the driver/s", "%.0f" },
	[FIG_TX_PPS] = { "tx_pps", "  driver sent/s (tx_packets)", "%.0f" },
	[FIG_TX_MBPS] = { "tx_mbit_per_s", "  driver sent Mbit/s", "%.1f" },
	[FIG_TX_DROP_PS] = { "tx_dropped_per_s", "  driver dropped/s (tx_dropped)", "%.0f" },
	[FIG_QDISC_LOCK] = { "qdisc_lock_pct", "qdisc lock spin, % CPU", "%.2f", true },
	[FIG_QDISC_LOCK_BUSY] = { "qdisc_lock_busy_pct", "qdisc lock spin, % busy", "%.2f", true },
	[FIG_SPIN] = { "spin_pct", "any spinlock spin, % CPU", "%.2f", true },
	[FIG_CLASSIFY] = { "classify_pct", "tc classify, % CPU", "%.2f", true },
	[FIG_BUSY] = { "busy_pct", "busy, % CPU", "%.2f", true },
	[FIG_LOCK_WAIT_MS] = { "lock_wait_ms", "queued lock wait, ms", "%.3f", true },
	[FIG_QDISC_PPS] = { "qdisc_pps", "root qdisc packets/s", "%.0f" },
	[FIG_QDISC_DROP_PS] = { "qdisc_drops_per_s", "root qdisc drops/s", "%.0f" },
	[FIG_QDISC_REQUEUE_PS] = { "qdisc_requeues_per_s", "root qdisc requeues/s", "%.0f" },
	[FIG_QDISC_OVERLIMIT_PS] = { "qdisc_overlimits_per_s", "root qdisc overlimits/s", "%.0f" },
	[FIG_SOFTNET_PROC_PS] = { "softnet_processed_per_s", "softnet processed/s", "%.0f" },
	[FIG_SOFTNET_DROP_PS] = { "softnet_dropped_per_s", "softnet dropped/s", "%.0f" },
	[FIG_SOFTNET_SQUEEZE_PS] = { "softnet_squeeze_per_s", "softnet time_squeeze/s", "%.0f" },
};

static double fig_value(const struct sc_contention_report *r, enum fig f)
{
	switch (f) {
	case FIG_HANDED_PS: return r->handed_pps;
	case FIG_TX_PPS: return r->tx_pps;
	case FIG_TX_MBPS: return r->tx_bps / 1e6;
	case FIG_TX_DROP_PS: return r->tx_dropped_pps;
	case FIG_QDISC_LOCK: return 100 * r->qdisc_lock_share;
	case FIG_QDISC_LOCK_BUSY: return 100 * r->qdisc_lock_busy_share;
	case FIG_SPIN: return 100 * r->spin_share;
	case FIG_CLASSIFY: return 100 * r->classify_share;
	case FIG_BUSY: return 100 * r->busy_share;
	case FIG_LOCK_WAIT_MS: return r->lock_wait_ns / 1e6;
	case FIG_QDISC_PPS: return r->qdisc_pps;
	case FIG_QDISC_DROP_PS: return r->qdisc_drops_ps;
	case FIG_QDISC_REQUEUE_PS: return r->qdisc_requeues_ps;
	case FIG_QDISC_OVERLIMIT_PS: return r->qdisc_overlimits_ps;
	case FIG_SOFTNET_PROC_PS: return r->softnet_processed_ps;
	case FIG_SOFTNET_DROP_PS: return r->softnet_dropped_ps;
	case FIG_SOFTNET_SQUEEZE_PS: return r->softnet_squeeze_ps;
	case NR_FIGS: break;
	}
	return 0;
}

static bool fig_known(const struct sc_contention_report *r, enum fig f)
{
	if (!figs[f].needs_samples)
		return true;
	if (f == FIG_LOCK_WAIT_MS)
		return r->lock_events;
	return r->sampled && r->total.samples;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * part / whole : 0;
}

static void print_classes(unsigned int m)
{
	static const char *const names[SC_NR_CLASSES] = {
		[SC_CLASS_SPIN] = "spin", [SC_CLASS_QDISC_LOCK] = "qdisc-lock",
		[SC_CLASS_XMIT] = "xmit", [SC_CLASS_CLASSIFY] = "classify",
		[SC_CLASS_IDLE] = "idle",
	};
	const char *sep = " [";

	for (int c = 0; c < SC_NR_CLASSES; c++) {
		if (m & 1u << c) {
			printf("%s%s", sep, names[c]);
			sep = ",";
		}
	}
	if (m)
		putchar(']');
}

static void print_sampler(const struct sc_contention_report *r)
{
	const struct sc_cont_counts *t = &r->total;
	double per_cpu = r->frequency * r->duration_s;

	if (!r->sampled) {
		printf("sampler: off (--frequency 0)\n");
		return;
	}
	printf("sampler: %llu samples at %u Hz on %u CPUs (%.0f expected; %llu in user mode, "
	       "%llu without a stack id)\n", (unsigned long long)t->samples, r->frequency,
	       r->online_cpus, r->expected_samples, (unsigned long long)t->user,
	       (unsigned long long)r->stack_lost);
	printf("  qdisc lock spin      %6.2f%% of CPU time, %6.2f%% of busy time\n",
	       100 * r->qdisc_lock_share, 100 * r->qdisc_lock_busy_share);
	printf("  any spinlock spin    %6.2f%%\n", 100 * r->spin_share);
	printf("  tc classify          %6.2f%%\n", 100 * r->classify_share);
	printf("  busy                 %6.2f%%\n", 100 * r->busy_share);
	if (r->hold_ns_per_frame > 0)
		printf("  qdisc root lock held %.0f ns per frame (+-%.0f%%), %.0f%% busy: one lock "
		       "carries at most ~%.0f frames/s on any number of cores\n",
		       r->hold_ns_per_frame, 100 * r->hold_rel_err, 100 * r->lock_busy,
		       r->ceiling_pps);
	else
		printf("  qdisc root lock held %.2f%% of the window (no frames through %s's root)\n",
		       100 * r->lock_busy, r->dev);
	printf("  %-5s %9s %11s %8s %10s %8s\n", "CPU", "samples", "qdisc-lock%", "spin%",
	       "classify%", "busy%");
	for (unsigned int i = 0; i < r->nr_cpus; i++) {
		const struct sc_cont_counts *c = &r->cpus[i].c;
		uint64_t whole = per_cpu > c->samples ? (uint64_t)per_cpu : c->samples;

		if (!c->samples)
			continue;
		printf("  %-5u %9llu %11.2f %8.2f %10.2f %8.2f\n", r->cpus[i].cpu,
		       (unsigned long long)c->samples, pct(c->qdisc_lock, whole),
		       pct(c->spin, whole), pct(c->classify, whole),
		       pct(c->samples - c->idle, whole));
	}
	if (r->lock_events)
		printf("lock:contention_begin/end: %llu spinning waits, %.3f ms in total "
		       "(queued waiters only: 3+ CPUs on one lock with native spinlocks, "
		       "2+ with paravirt ones)\n",
		       (unsigned long long)r->lock_waits, r->lock_wait_ns / 1e6);
	else
		printf("lock:contention_begin/end: not available on this kernel\n");
	for (unsigned int i = 0; i < r->nr_locks; i++)
		printf("  lock 0x%llx: %llu waits, %.3f ms, max %.1f us\n",
		       (unsigned long long)r->locks[i].addr, (unsigned long long)r->locks[i].waits,
		       r->locks[i].wait_ns / 1e6, r->locks[i].max_ns / 1e3);
}

static void print_qdiscs(const struct sc_contention_report *r)
{
	printf("%-10s %-7s %-7s %12s %10s %9s %9s %9s %8s %6s\n", "QDISC", "HANDLE", "PARENT",
	       "packets/s", "Mbit/s", "drops", "overlim", "requeues", "backlog", "qlen");
	for (int i = 0; i < r->nr_qdiscs; i++) {
		const struct sc_qdisc_info *q = &r->qdiscs[i];
		char h[16], p[16];

		sc_qdisc_handle_str(q->handle, h, sizeof(h));
		sc_qdisc_handle_str(q->parent, p, sizeof(p));
		printf("%-10s %-7s %-7s %12.0f %10.1f %9llu %9llu %9llu %8llu %6llu\n", q->kind, h, p,
		       sc_contention_per_s(r, q->packets), 8 * sc_contention_per_s(r, q->bytes) / 1e6,
		       (unsigned long long)q->drops,
		       (unsigned long long)q->overlimits, (unsigned long long)q->requeues,
		       (unsigned long long)q->backlog, (unsigned long long)q->qlen);
	}
}

static void print_softnet(const struct sc_contention_report *r)
{
	printf("%-8s %12s %10s %12s\n", "SOFTNET", "processed", "dropped", "time_squeeze");
	for (unsigned int i = 0; i < r->softnet.nr_cpus; i++) {
		const struct sc_softnet_cpu *c = &r->softnet.cpus[i];

		printf("cpu%-5u %12llu %10llu %12llu\n", c->cpu, (unsigned long long)c->processed,
		       (unsigned long long)c->dropped, (unsigned long long)c->time_squeeze);
	}
}

static void print_stacks(const struct sc_contention_report *r)
{
	if (!r->nr_stacks)
		return;
	printf("top stacks (of %u distinct):\n", r->distinct_stacks);
	for (unsigned int i = 0; i < r->nr_stacks; i++) {
		const struct sc_cont_stack *s = &r->stacks[i];
		unsigned int shown = s->nr_frames < MAX_FRAMES_SHOWN ? s->nr_frames : MAX_FRAMES_SHOWN;

		printf("#%u %llu samples, %.2f%%", i + 1, (unsigned long long)s->samples,
		       pct(s->samples, r->total.samples));
		print_classes(s->classes);
		putchar('\n');
		for (unsigned int f = 0; f < shown; f++)
			printf("    %s\n", s->frames[f]);
		if (shown < s->nr_frames)
			printf("    ... %u more\n", s->nr_frames - shown);
	}
}

void cv_print_report(const struct sc_contention_report *r)
{
	printf("%s: %.2f s window, %.0f packets/s handed to the driver: it sent %.0f/s "
	       "(%.1f Mbit/s) and dropped %.0f/s (%s's tx_packets and tx_dropped)\n",
	       r->dev, r->duration_s, r->handed_pps, r->tx_pps, r->tx_bps / 1e6, r->tx_dropped_pps,
	       r->dev);
	print_sampler(r);
	print_qdiscs(r);
	print_softnet(r);
	print_stacks(r);
}

static json_object *counts_json(const struct sc_cont_counts *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "samples", json_object_new_uint64(c->samples));
	json_object_object_add(o, "user", json_object_new_uint64(c->user));
	json_object_object_add(o, "idle", json_object_new_uint64(c->idle));
	json_object_object_add(o, "spin", json_object_new_uint64(c->spin));
	json_object_object_add(o, "qdisc_lock", json_object_new_uint64(c->qdisc_lock));
	json_object_object_add(o, "xmit", json_object_new_uint64(c->xmit));
	json_object_object_add(o, "classify", json_object_new_uint64(c->classify));
	return o;
}

static json_object *hold_json(const struct sc_contention_report *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "held_samples", json_object_new_uint64(r->held_samples));
	json_object_object_add(o, "held_s", ctl_json_fixed(r->held_s, "%.6f"));
	json_object_object_add(o, "lock_busy", ctl_json_fixed(r->lock_busy, "%.4f"));
	json_object_object_add(o, "ns_per_frame", r->hold_ns_per_frame > 0 ?
			       ctl_json_fixed(r->hold_ns_per_frame, "%.1f") : NULL);
	json_object_object_add(o, "rel_err", ctl_json_fixed(r->hold_rel_err, "%.4f"));
	json_object_object_add(o, "ceiling_pps", r->ceiling_pps > 0 ?
			       ctl_json_fixed(r->ceiling_pps, "%.0f") : NULL);
	return o;
}

static json_object *sampler_json(const struct sc_contention_report *r)
{
	json_object *o = json_object_new_object(), *cpus = json_object_new_array();
	json_object *stacks = json_object_new_array();

	json_object_object_add(o, "frequency_hz", json_object_new_int((int)r->frequency));
	json_object_object_add(o, "online_cpus", json_object_new_int((int)r->online_cpus));
	json_object_object_add(o, "expected_samples", ctl_json_fixed(r->expected_samples, "%.0f"));
	json_object_object_add(o, "counts", counts_json(&r->total));
	json_object_object_add(o, "stack_lost", json_object_new_uint64(r->stack_lost));
	json_object_object_add(o, "distinct_stacks", json_object_new_int((int)r->distinct_stacks));
	for (unsigned int i = 0; i < r->nr_cpus; i++) {
		json_object *c;

		if (!r->cpus[i].c.samples)
			continue;
		c = counts_json(&r->cpus[i].c);
		json_object_object_add(c, "cpu", json_object_new_int((int)r->cpus[i].cpu));
		json_object_array_add(cpus, c);
	}
	json_object_object_add(o, "cpus", cpus);
	for (unsigned int i = 0; i < r->nr_stacks; i++) {
		json_object *s = json_object_new_object(), *fr = json_object_new_array();

		json_object_object_add(s, "samples", json_object_new_uint64(r->stacks[i].samples));
		json_object_object_add(s, "qdisc_lock", json_object_new_boolean(
				       r->stacks[i].classes & 1u << SC_CLASS_QDISC_LOCK));
		for (unsigned int f = 0; f < r->stacks[i].nr_frames; f++)
			json_object_array_add(fr, json_object_new_string(r->stacks[i].frames[f]));
		json_object_object_add(s, "frames", fr);
		json_object_array_add(stacks, s);
	}
	json_object_object_add(o, "top_stacks", stacks);
	return o;
}

static json_object *lock_events_json(const struct sc_contention_report *r)
{
	json_object *o = json_object_new_object(), *locks = json_object_new_array();

	json_object_object_add(o, "available", json_object_new_boolean(r->lock_events));
	json_object_object_add(o, "note", json_object_new_string(
		"lock:contention_begin/end see queued waiters only: 3+ CPUs on one lock with "
		"native spinlocks, 2+ with paravirt (__pv_) ones; spinlocks and rwlocks only"));
	json_object_object_add(o, "waits", json_object_new_uint64(r->lock_waits));
	json_object_object_add(o, "wait_ns", json_object_new_uint64(r->lock_wait_ns));
	json_object_object_add(o, "unmatched", json_object_new_uint64(r->lock_unmatched));
	for (unsigned int i = 0; i < r->nr_locks; i++) {
		json_object *l = json_object_new_object();
		char addr[32];

		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)r->locks[i].addr);
		json_object_object_add(l, "addr", json_object_new_string(addr));
		json_object_object_add(l, "waits", json_object_new_uint64(r->locks[i].waits));
		json_object_object_add(l, "wait_ns", json_object_new_uint64(r->locks[i].wait_ns));
		json_object_object_add(l, "max_ns", json_object_new_uint64(r->locks[i].max_ns));
		json_object_array_add(locks, l);
	}
	json_object_object_add(o, "locks", locks);
	return o;
}

static json_object *qdiscs_json(const struct sc_contention_report *r)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < r->nr_qdiscs; i++)
		json_object_array_add(a, ctl_json_qdisc(&r->qdiscs[i]));
	return a;
}

static json_object *softnet_json(const struct sc_contention_report *r)
{
	json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < r->softnet.nr_cpus; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "cpu", json_object_new_int((int)r->softnet.cpus[i].cpu));
		ctl_json_softnet_counts(o, &r->softnet.cpus[i]);
		json_object_array_add(a, o);
	}
	return a;
}

json_object *cv_report_json(const struct sc_contention_report *r)
{
	json_object *o = json_object_new_object(), *tx = json_object_new_object();
	json_object *figures = json_object_new_object();

	json_object_object_add(o, "dev", json_object_new_string(r->dev));
	json_object_object_add(o, "ifindex", json_object_new_int(r->ifindex));
	json_object_object_add(o, "duration_s", ctl_json_fixed(r->duration_s, "%.3f"));
	json_object_object_add(tx, "packets", json_object_new_uint64(r->tx_packets));
	json_object_object_add(tx, "bytes", json_object_new_uint64(r->tx_bytes));
	json_object_object_add(tx, "dropped", json_object_new_uint64(r->tx_dropped));
	json_object_object_add(tx, "pps", ctl_json_fixed(r->tx_pps, "%.1f"));
	json_object_object_add(tx, "bps", ctl_json_fixed(r->tx_bps, "%.0f"));
	json_object_object_add(o, "tx", tx);
	for (int f = 0; f < NR_FIGS; f++)
		json_object_object_add(figures, figs[f].key,
				       fig_known(r, f) ? ctl_json_fixed(fig_value(r, f), "%.4f") : NULL);
	json_object_object_add(o, "figures", figures);
	json_object_object_add(o, "sampler", r->sampled ? sampler_json(r) : NULL);
	json_object_object_add(o, "hold", r->sampled ? hold_json(r) : NULL);
	json_object_object_add(o, "lock_events", r->sampled ? lock_events_json(r) : NULL);
	json_object_object_add(o, "qdiscs", qdiscs_json(r));
	json_object_object_add(o, "softnet", softnet_json(r));
	return o;
}

static bool ratio_of(const struct sc_contention_report *a, const struct sc_contention_report *b,
		     enum fig f, double *ratio)
{
	double x = fig_value(a, f), y = fig_value(b, f);

	if (!fig_known(a, f) || !fig_known(b, f) || x == 0)
		return false;
	*ratio = y / x;
	return true;
}

void cv_print_compare(const struct sc_contention_report *a, const struct sc_contention_report *b)
{
	printf("%-32s %14s %14s %12s\n", "", "before", "after", "after/before");
	for (int f = 0; f < NR_FIGS; f++) {
		char x[32] = "-", y[32] = "-", q[32] = "-";
		double ratio;

		if (fig_known(a, f))
			snprintf(x, sizeof(x), figs[f].fmt, fig_value(a, f));
		if (fig_known(b, f))
			snprintf(y, sizeof(y), figs[f].fmt, fig_value(b, f));
		if (ratio_of(a, b, f, &ratio))
			snprintf(q, sizeof(q), "%.2f", ratio);
		printf("%-32s %14s %14s %12s\n", figs[f].label, x, y, q);
	}
	printf("(windows: %.2f s and %.2f s; %% CPU = share of cpu-clock samples on all CPUs)\n",
	       a->duration_s, b->duration_s);
}

json_object *cv_compare_json(const struct sc_contention_report *a,
			     const struct sc_contention_report *b)
{
	json_object *o = json_object_new_object();

	for (int f = 0; f < NR_FIGS; f++) {
		json_object *e = json_object_new_object();
		double ratio;

		json_object_object_add(e, "before", fig_known(a, f) ?
				       ctl_json_fixed(fig_value(a, f), "%.4f") : NULL);
		json_object_object_add(e, "after", fig_known(b, f) ?
				       ctl_json_fixed(fig_value(b, f), "%.4f") : NULL);
		json_object_object_add(e, "ratio", ratio_of(a, b, f, &ratio) ?
				       ctl_json_fixed(ratio, "%.4f") : NULL);
		json_object_object_add(o, figs[f].key, e);
	}
	return o;
}
