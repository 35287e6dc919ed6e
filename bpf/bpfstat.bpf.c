// SPDX-License-Identifier: GPL-2.0
/*
 * bpf(2) latency per command, from the raw syscall tracepoints (kprobes
 * and fentry are not available on every host; tp_btf on
 * raw_syscalls:sys_enter/sys_exit needs neither tracefs nor kprobes).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "bpf/bpfstat.h"

char LICENSE[] SEC("license") = "GPL";

/* arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/unistd.h */
#if defined(__TARGET_ARCH_x86)
#define NR_bpf 321
#elif defined(__TARGET_ARCH_arm64) || defined(__TARGET_ARCH_riscv)
#define NR_bpf 280
#else
#error "bpfstat: add this architecture's bpf syscall number"
#endif

/* Set before load: the pid namespace PIDs are given in, and who to watch. */
const volatile __u64 pidns_dev;
const volatile __u64 pidns_ino;
const volatile __u32 target_tgid;	/* 0: every process ... */
const volatile __u32 self_tgid;		/* ... but this one (our own reads) */
/* Also descendants of target_tgid (global pids: only set in the initial pid namespace). */
const volatile bool tree;

#define TREE_DEPTH 16

struct start {
	__u64 ts;
	__u32 cmd;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFSTAT_MAX_THREADS);
	__type(key, __u64);		/* pid_tgid: the thread */
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BPFSTAT_MAX_CMD);
	__type(key, __u32);
	__type(value, struct bpfstat_hist);
} hists SEC(".maps");

/* Calls not timed because starts was full. */
__u64 missed;

static __always_inline bool watched(void)
{
	struct bpf_pidns_info ns = {};

	if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
		return false;	/* a task outside our pid namespace: not ours to show */
	if (!target_tgid)
		return ns.tgid != self_tgid;
	if (ns.tgid == target_tgid)
		return true;
	if (tree) {
		struct task_struct *t = bpf_get_current_task_btf();

		for (int i = 0; i < TREE_DEPTH && t; i++) {
			t = t->real_parent;
			if (t && t->tgid == (int)target_tgid)
				return true;
			if (t && t->pid <= 1)
				break;
		}
	}
	return false;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(bpfstat_enter, struct pt_regs *regs, long id)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct start s;

	if (id != NR_bpf || !watched())
		return 0;
	/* raw_syscalls:sys_enter gets the user registers, not a wrapper's. */
	s.cmd = (__u32)PT_REGS_PARM1_CORE(regs);
	s.ts = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&starts, &tid, &s, BPF_ANY))
		__sync_fetch_and_add(&missed, 1);
	return 0;
}

static __always_inline __u32 log2_slot(__u64 us)
{
	__u32 slot = 0;

	/* floor(log2(us)), 0 for 0 and 1 (bcc's log2l) */
	for (int i = 0; i < 40 && us > 1; i++) {
		us >>= 1;
		slot++;
	}
	return slot < BPFSTAT_SLOTS ? slot : BPFSTAT_SLOTS - 1;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(bpfstat_exit, struct pt_regs *regs, long ret)
{
	__u64 tid = bpf_get_current_pid_tgid(), ns;
	struct bpfstat_hist *h;
	struct start *s;
	__u32 cmd;

	s = bpf_map_lookup_elem(&starts, &tid);
	if (!s)
		return 0;
	ns = bpf_ktime_get_ns() - s->ts;
	cmd = s->cmd < BPFSTAT_MAX_CMD ? s->cmd : BPFSTAT_MAX_CMD - 1;
	bpf_map_delete_elem(&starts, &tid);
	h = bpf_map_lookup_elem(&hists, &cmd);
	if (!h)
		return 0;
	h->slots[log2_slot(ns / 1000)]++;
	h->count++;
	h->total_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	if (ret < 0)
		h->errors++;
	return 0;
}
