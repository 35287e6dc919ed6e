// SPDX-License-Identifier: GPL-2.0
/*
 * Where do CPUs spin on qdisc locks? A cpu-clock perf_event sampler that
 * counts kernel stacks in the kernel (one map update per sample, no ring
 * buffer, nothing for user space to do until the window ends), plus
 * lock:contention_begin/end wait-time totals per lock address.
 *
 * Cheap by construction: the caller picks a low rate (499 Hz per CPU by
 * default), stacks are deduplicated by the STACK_TRACE map, and only when a
 * stack cannot get an id (bucket taken) is it walked a second time and
 * classified here, so shares stay exact even when the top-stacks table is
 * incomplete.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/contention.h"

char LICENSE[] SEC("license") = "GPL";

#define EFAULT 14	/* vmlinux.h carries no errno macros */

/* Set from /proc/kallsyms before load (user space). */
const volatile __u64 range_lo[SC_NR_RANGES] = {};
const volatile __u64 range_hi[SC_NR_RANGES] = {};

/* Flipped through the mmaped .bss: samples count only inside the window. */
volatile __u32 enabled = 0;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);	/* resized by user space */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, SC_CONT_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);	/* resized with stacks */
	__type(key, struct sc_cont_key);
	__type(value, __u64);
} stack_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sc_cont_cpu);
} cpu_stats SEC(".maps");

/*
 * Scratch for the fallback walk (1 KiB is too big for the BPF stack), one
 * slot more than a stack so that a masked index is always in bounds.
 */
#define SCRATCH_MASK 127
_Static_assert(SCRATCH_MASK + 1 > SC_CONT_STACK_DEPTH, "scratch must hold a whole stack");
_Static_assert((SC_CONT_NEST & (SC_CONT_NEST - 1)) == 0, "nest indexes are masked: a power of 2");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[SCRATCH_MASK + 1]);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct sc_cont_lock);
} lock_waits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sc_cont_nest);
} nest SEC(".maps");

static __always_inline bool in_range(__u64 ip, int r)
{
	return ip >= range_lo[r] && ip < range_hi[r];
}

struct classify_ctx {
	__u32 nr;
	__u32 mask;
};

/*
 * One frame per bpf_loop() step: the verifier checks the callback once
 * instead of walking 127 unrolled iterations times every combination of
 * flags, which is over its 1M-instruction budget.
 */
static long classify_frame(__u32 i, void *data)
{
	struct classify_ctx *c = data;
	__u32 zero = 0;
	__u64 *ips, ip;

	if (i >= c->nr)
		return 1;
	ips = bpf_map_lookup_elem(&scratch, &zero);
	if (!ips)
		return 1;
	/* A mask, not a compare: clang 14 bounds-checks one copy of i and indexes with another. */
	ip = ips[i & SCRATCH_MASK];
	if (i < SC_CONT_LEAF_FRAMES &&
	    (in_range(ip, SC_RANGE_SLOW_NATIVE) || in_range(ip, SC_RANGE_SLOW_PV)))
		c->mask |= 1u << SC_CLASS_SPIN;
	if (in_range(ip, SC_RANGE_DEV_QUEUE_XMIT) || in_range(ip, SC_RANGE_DEV_XMIT_SKB) ||
	    in_range(ip, SC_RANGE_SCH_DIRECT_XMIT))
		c->mask |= 1u << SC_CLASS_XMIT;
	if (in_range(ip, SC_RANGE_TCF_CLASSIFY))
		c->mask |= 1u << SC_CLASS_CLASSIFY;
	if (in_range(ip, SC_RANGE_IDLE))
		c->mask |= 1u << SC_CLASS_IDLE;
	return 0;
}

/* Same rules as sc_contention_classify() in dataplane/observe/contention.c; frames in scratch. */
static __always_inline __u32 classify(__u32 nr)
{
	struct classify_ctx c = { .nr = nr };
	__u32 both = 1u << SC_CLASS_SPIN | 1u << SC_CLASS_XMIT;

	bpf_loop(SC_CONT_STACK_DEPTH, classify_frame, &c, 0);
	if ((c.mask & both) == both)
		c.mask |= 1u << SC_CLASS_QDISC_LOCK;
	return c.mask;
}

static __always_inline void count_lost(struct bpf_perf_event_data *ctx, struct sc_cont_cpu *st)
{
	__u32 zero = 0, mask;
	__u64 *ips;
	long len;

	st->stack_lost++;
	ips = bpf_map_lookup_elem(&scratch, &zero);
	if (!ips)
		return;
	len = bpf_get_stack(ctx, ips, SC_CONT_STACK_DEPTH * sizeof(__u64), 0);
	if (len <= 0)
		return;
	mask = classify(len / sizeof(__u64));
	for (int c = 0; c < SC_NR_CLASSES; c++)
		if (mask & (1u << c))
			st->lost_class[c]++;
}

SEC("perf_event")
int sc_cont_sample(struct bpf_perf_event_data *ctx)
{
	struct sc_cont_key key = { .cpu = bpf_get_smp_processor_id() };
	struct sc_cont_cpu *st;
	__u32 zero = 0;
	__u64 one = 1, *cnt;
	long id;

	if (!enabled)
		return 0;
	st = bpf_map_lookup_elem(&cpu_stats, &zero);
	if (!st)
		return 0;
	st->samples++;
	id = bpf_get_stackid(ctx, &stacks, 0);
	/* -EFAULT: the kernel callchain is empty, the timer interrupted user mode. */
	if (id == -EFAULT) {
		st->user++;
		return 0;
	}
	if (id < 0) {
		count_lost(ctx, st);
		return 0;
	}
	key.stack_id = id;
	cnt = bpf_map_lookup_elem(&stack_counts, &key);
	if (cnt) {
		/* Key includes the CPU and perf_event programs do not nest: no race. */
		(*cnt)++;
		return 0;
	}
	if (bpf_map_update_elem(&stack_counts, &key, &one, BPF_NOEXIST))
		count_lost(ctx, st);
	return 0;
}

/*
 * lock:contention_begin/end (kernel/locking/qspinlock.c): only the MCS queue
 * path traces, so with native spinlocks a waiter that got the lock through
 * the pending bit (the usual case with two CPUs) is never seen; paravirt
 * spinlocks (__pv_queued_spin_lock_slowpath) skip the pending bit and queue
 * every waiter, so in a KVM guest two CPUs show. A pv waiter that spun too
 * long halts its vCPU until kicked (pv_wait()): that wait is timed here
 * whether or not the halted vCPU takes cpu-clock samples.
 * Spinners cannot migrate, so a per-CPU stack of open waits pairs begin
 * with end; sleeping locks (mutex, rwsem, rt) are skipped because their
 * waiter can wake up on another CPU.
 */
SEC("tp_btf/contention_begin")
int BPF_PROG(sc_cont_begin, void *lock, unsigned int flags)
{
	struct sc_cont_nest *n;
	__u32 zero = 0, d;

	if (!enabled || (flags & (SC_LCB_F_SPIN | SC_LCB_F_SLEEPING)) != SC_LCB_F_SPIN)
		return 0;
	n = bpf_map_lookup_elem(&nest, &zero);
	if (!n)
		return 0;
	d = n->depth;
	if (d >= SC_CONT_NEST)
		return 0;
	d &= SC_CONT_NEST - 1;	/* same 6.1 verifier bound as in sc_cont_end */
	n->waits[d].lock = (__u64)lock;
	n->waits[d].flags = flags;
	n->waits[d].start_ns = bpf_ktime_get_ns();
	n->depth = d + 1;
	return 0;
}

SEC("tp_btf/contention_end")
int BPF_PROG(sc_cont_end, void *lock, int ret)
{
	struct sc_cont_lock *l, fresh = {};
	struct sc_cont_cpu *st;
	struct sc_cont_nest *n;
	__u32 zero = 0, d;
	__u64 key = (__u64)lock, wait;

	n = bpf_map_lookup_elem(&nest, &zero);
	st = bpf_map_lookup_elem(&cpu_stats, &zero);
	if (!n || !st)
		return 0;
	d = n->depth;
	if (d == 0 || d > SC_CONT_NEST) {
		/* Sleeping locks end here too; only count spin ends we missed. */
		return 0;
	}
	/*
	 * The mask is no-op arithmetic for the values that reach it, but the
	 * 6.1 verifier loses the bound of d - 1 across clang's 32-bit
	 * zero-extension ("R3 unbounded memory access"); 6.18's does not.
	 */
	d = (d - 1) & (SC_CONT_NEST - 1);
	if (n->waits[d].lock != key) {
		if (enabled)
			st->lock_unmatched++;
		return 0;
	}
	n->depth = d;
	if (!enabled)
		return 0;
	wait = bpf_ktime_get_ns() - n->waits[d].start_ns;
	st->lock_waits++;
	st->lock_wait_ns += wait;
	l = bpf_map_lookup_elem(&lock_waits, &key);
	if (!l) {
		fresh.flags = n->waits[d].flags;
		bpf_map_update_elem(&lock_waits, &key, &fresh, BPF_NOEXIST);
		l = bpf_map_lookup_elem(&lock_waits, &key);
		if (!l)
			return 0;
	}
	__sync_fetch_and_add(&l->wait_ns, wait);
	__sync_fetch_and_add(&l->waits, 1);
	if (wait > l->max_ns)
		l->max_ns = wait;
	return 0;
}
