/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Contract between bpf/bpfstat.bpf.c and dataplane/observe/bpfstat.c: bpf(2)
 * latency per command, log2 histogram in microseconds (slot 0: 0-1 us,
 * slot k: 2^k .. 2^(k+1)-1 us), aggregated in the kernel.
 */
#ifndef SC_BPFSTAT_BPF_H
#define SC_BPFSTAT_BPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define BPFSTAT_MAX_CMD 64	/* enum bpf_cmd has 38 values in 6.18 */
#define BPFSTAT_SLOTS 27	/* up to 2^27 us, about 2 minutes */
#define BPFSTAT_MAX_THREADS 16384	/* bpf() calls in flight at once */

struct bpfstat_hist {
	__u64 slots[BPFSTAT_SLOTS];
	__u64 count;
	__u64 errors;		/* returned < 0 */
	__u64 total_ns;
	__u64 max_ns;
};

#endif
