/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How much CPU time goes to spinning on qdisc locks, over one window.
 *
 * - A cpu-clock perf_event on every CPU runs bpf/contention.bpf.c, which
 *   counts kernel stacks in the kernel. A sample is qdisc-lock spin when a
 *   queued-spinlock slow path (native_ or __pv_) is among its leaf frames and
 *   the stack passes through __dev_queue_xmit, __dev_xmit_skb or
 *   sch_direct_xmit. Share = those samples / all samples, which is CPU time
 *   because cpu-clock ticks at a fixed rate on busy and idle CPUs alike.
 * - lock:contention_begin/end, where the kernel has them, add wait-time
 *   totals per lock address (spinlocks and rwlocks; sleeping locks are left
 *   out). They fire only for waiters that queue: with native spinlocks three
 *   or more CPUs on one lock, since a second CPU spinning on the pending bit
 *   is not traced; paravirt spinlocks (KVM guests, the __pv_ slow path)
 *   queue every waiter, so there two CPUs show too.
 * - The device's qdisc counters, /proc/net/softnet_stat and its tx link
 *   counters, as deltas over the same window.
 */
#ifndef SC_CONTENTION_H
#define SC_CONTENTION_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include "bpf/contention.h"
#include "dataplane/kernel/qdisc.h"
#include "dataplane/kernel/softnet.h"

#define SC_CONT_DEFAULT_HZ 499	/* per CPU; prime, so it does not beat with HZ-driven work */
#define SC_CONT_DEFAULT_TOP 5
#define SC_CONT_DEFAULT_SECONDS 5.0

struct sc_contention_opts {
	const char *dev;
	double duration_s;		/* window length; 0 = SC_CONT_DEFAULT_SECONDS */
	unsigned int frequency;		/* samples per second per CPU; 0 = no BPF at all */
	unsigned int top;		/* stacks and locks to report */
	unsigned int stack_entries;	/* stack map size; 0 = 16384 */
	/*
	 * Leave lock:contention_begin/end alone: contention_end fires with the
	 * lock just taken, so its program runs inside the critical section.
	 */
	bool no_lock_events;
	/*
	 * The caller waits out the window: the library never sleeps on its
	 * own. Called with the seconds elapsed and the window's length, again
	 * and again until it returns false: when the window is over, or cut
	 * short (^C); otherwise it sleeps a little (a quarter second) first.
	 */
	bool (*wait)(void *priv, double elapsed_s, double total_s);
	void *priv;
};

/* Sample counts; a sample may be in several classes (bpf/contention.h). */
struct sc_cont_counts {
	uint64_t samples;
	uint64_t user;
	uint64_t idle;
	uint64_t spin;		/* any queued-spinlock slow path */
	uint64_t qdisc_lock;	/* ... on the transmit path: the qdisc lock */
	uint64_t xmit;
	uint64_t classify;
};

struct sc_cont_cpu_counts {
	uint32_t cpu;
	struct sc_cont_counts c;
};

struct sc_cont_stack {
	uint64_t samples;
	unsigned int classes;	/* 1 << SC_CLASS_* */
	unsigned int nr_frames;
	char **frames;		/* "sym+0x1f", leaf first */
};

struct sc_cont_lock_wait {
	uint64_t addr;
	uint64_t waits;
	uint64_t wait_ns;
	uint64_t max_ns;
};

struct sc_contention_report {
	char dev[IF_NAMESIZE];
	int ifindex;
	double duration_s;		/* measured */
	unsigned int frequency;
	bool sampled;			/* frequency > 0 */

	struct sc_cont_counts total;
	uint64_t stack_lost;		/* samples without a stack id (classified in the kernel) */
	unsigned int online_cpus;
	double expected_samples;	/* frequency x window x online CPUs */
	/* Shares of CPU time: count / max(expected, samples). */
	double qdisc_lock_share;
	double spin_share, classify_share;
	double busy_share;		/* non-idle samples: idle vCPUs may not sample at all */
	double qdisc_lock_busy_share;	/* qdisc_lock / (samples - idle) */
	unsigned int nr_cpus;
	struct sc_cont_cpu_counts *cpus;
	unsigned int distinct_stacks;
	unsigned int nr_stacks;		/* the top ones, most samples first */
	struct sc_cont_stack *stacks;

	bool lock_events;		/* lock:contention_* attached */
	uint64_t lock_waits, lock_wait_ns, lock_unmatched;
	unsigned int nr_locks;
	struct sc_cont_lock_wait *locks;	/* most wait first */

	int nr_qdiscs;
	struct sc_qdisc_info *qdiscs;	/* counter deltas, root first */
	struct sc_softnet softnet;	/* per-CPU deltas */
	uint64_t tx_packets, tx_bytes, tx_dropped;
	double tx_pps, tx_bps, tx_dropped_pps;
	/*
	 * What the qdiscs handed the driver, sent or dropped by it: a TAP that
	 * nobody reads drops all, and tx_pps alone then reads as "nothing sent".
	 */
	double handed_pps;
	/*
	 * The qdisc critical section, from the same stacks: samples inside a
	 * qdisc's enqueue or dequeue (tc classification included) or
	 * __qdisc_run, not spinning and not in the driver transmit that
	 * sch_direct_xmit does with the root lock dropped; the leaf-most of
	 * those frames decides, so a nested transmit counts for the inner
	 * qdisc. A stack does not say which device's lock it is: the figures
	 * are DEV's when DEV's root is the only busy one.
	 */
	uint64_t held_samples;
	double held_s;			/* CPU time holding a qdisc root lock: samples / frequency */
	double hold_ns_per_frame;	/* held_s / frames through DEV's root qdisc; 0 unknown */
	double hold_rel_err;		/* 1 / sqrt(held_samples): the sampling error, relative */
	double lock_busy;		/* held_s / window: the lock's utilisation (0..1) */
	double ceiling_pps;		/* 1 / hold time: what one lock can carry on any core count */
	/* Rates over the window, computed here once: the views print, they do not divide. */
	double qdisc_pps, qdisc_drops_ps, qdisc_requeues_ps, qdisc_overlimits_ps;	/* the root */
	double softnet_processed_ps, softnet_dropped_ps, softnet_squeeze_ps;	/* all CPUs */
};

/* Load, attach, measure one window, detach. Needs root. */
int sc_contention_measure(const struct sc_contention_opts *o, struct sc_contention_report *r);
void sc_contention_report_free(struct sc_contention_report *r);
/* @count over the window, per second (0 for an empty window): per-qdisc rows. */
double sc_contention_per_s(const struct sc_contention_report *r, uint64_t count);

/* Class bits of a stack, with the ranges the BPF program got (exposed for tests). */
unsigned int sc_contention_classify(const uint64_t *ips, unsigned int nr, const uint64_t *lo,
				    const uint64_t *hi);

#endif
