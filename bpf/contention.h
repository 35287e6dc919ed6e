/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The contract between bpf/contention.bpf.c and dataplane/observe/contention.c.
 * Compiled by both clang -target bpf (with vmlinux.h) and the host compiler
 * (with <linux/types.h>).
 */
#ifndef SC_BPF_CONTENTION_H
#define SC_BPF_CONTENTION_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * include/trace/events/lock.h. A mutex's optimistic spin reports SPIN too
 * (LCB_F_MUTEX | LCB_F_SPIN) and may then sleep and end on another CPU:
 * only SPIN without a sleeping-lock bit is a spinlock or rwlock waiter.
 */
#define SC_LCB_F_SPIN (1U << 0)
#define SC_LCB_F_SLEEPING ((1U << 3) | (1U << 4) | (1U << 5))	/* RT, PERCPU, MUTEX */

/* Frames kept per stack: the kernel's PERF_MAX_STACK_DEPTH. */
#define SC_CONT_STACK_DEPTH 127
/* Nested spin waits tracked per CPU (task, softirq, hardirq, NMI). */
#define SC_CONT_NEST 4

/*
 * Kernel text ranges the classifier looks for, [lo, hi) from /proc/kallsyms,
 * set in .rodata before load. A missing symbol has lo == hi == 0.
 */
enum sc_cont_range {
	SC_RANGE_SLOW_NATIVE,	/* native_queued_spin_lock_slowpath */
	SC_RANGE_SLOW_PV,	/* __pv_queued_spin_lock_slowpath (paravirt guests) */
	SC_RANGE_DEV_QUEUE_XMIT,	/* __dev_queue_xmit */
	SC_RANGE_DEV_XMIT_SKB,	/* __dev_xmit_skb (usually inlined: then absent) */
	SC_RANGE_SCH_DIRECT_XMIT,	/* sch_direct_xmit */
	SC_RANGE_TCF_CLASSIFY,	/* tcf_classify: time spent running tc filters */
	SC_RANGE_IDLE,		/* do_idle: the CPU had nothing to run */
	SC_NR_RANGES,
};

/*
 * What a sample's stack shows; a sample may carry several. A spin sample has
 * a slow-path function among its first SC_CONT_LEAF_FRAMES frames (the pv
 * slow path may be halted a few calls deeper, in pv_wait -> kvm_wait).
 */
enum sc_cont_class {
	SC_CLASS_SPIN,		/* in a queued-spinlock slow path */
	SC_CLASS_QDISC_LOCK,	/* ... and the stack passes through device transmit */
	SC_CLASS_XMIT,		/* stack passes through device transmit */
	SC_CLASS_CLASSIFY,	/* stack passes through tcf_classify */
	SC_CLASS_IDLE,		/* idle loop */
	SC_NR_CLASSES,
};
#define SC_CONT_LEAF_FRAMES 4

/* Key of the per-stack sample counts. */
struct sc_cont_key {
	__u32 stack_id;
	__u32 cpu;
};

/* Per-CPU counters, one PERCPU_ARRAY slot; user space sums or lists CPUs. */
struct sc_cont_cpu {
	__u64 samples;		/* cpu-clock samples taken while enabled */
	__u64 user;		/* sample hit user mode: no kernel stack to count */
	__u64 stack_lost;	/* no stack id (bucket taken by another stack) or count map full */
	__u64 lost_class[SC_NR_CLASSES];	/* those lost samples, classified in the kernel */
	__u64 lock_waits;	/* contention_begin/end pairs matched (spinning waits) */
	__u64 lock_wait_ns;	/* their summed wait */
	__u64 lock_unmatched;	/* contention_end with no begin stashed on this CPU */
};

/* Per-lock totals from lock:contention_begin/end, keyed by lock address. */
struct sc_cont_lock {
	__u64 wait_ns;
	__u64 waits;
	__u64 max_ns;
	__u32 flags;		/* LCB_F_* of the last wait */
	__u32 pad;
};

/* One spin wait in progress on a CPU. */
struct sc_cont_wait {
	__u64 lock;
	__u64 start_ns;
	__u32 flags;
	__u32 pad;
};

struct sc_cont_nest {
	__u32 depth;
	__u32 pad;
	struct sc_cont_wait waits[SC_CONT_NEST];
};

#endif
