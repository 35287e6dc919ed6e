/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Latency of bpf(2) per command (BPF_MAP_UPDATE_ELEM, BPF_PROG_LOAD, ...),
 * log2 histograms in microseconds, aggregated in the kernel by tp_btf
 * programs on raw_syscalls:sys_enter/sys_exit (bpf/bpfstat.bpf.c). Loaded
 * between sc_bpfstat_open() and sc_bpfstat_close() only.
 *
 * Some commands take kernel locks (a PROG_ARRAY update takes the map's
 * poke mutex, program loads take the verifier, BTF and JIT paths): a
 * control plane that updates maps from several threads should look at the
 * tail, not the mean.
 */
#ifndef SC_BPFSTAT_H
#define SC_BPFSTAT_H

#include <stdint.h>
#include <sys/types.h>

#include "bpf/bpfstat.h"

#define SC_BPFSTAT_SLOTS BPFSTAT_SLOTS

struct sc_bpfstat_cmd {
	unsigned int cmd;		/* enum bpf_cmd */
	char name[40];			/* "BPF_MAP_UPDATE_ELEM", "BPF_CMD_40" if unknown */
	uint64_t count, errors, total_ns, max_ns;
	uint64_t slots[SC_BPFSTAT_SLOTS];
};

struct sc_bpfstat_report {
	double duration_s;		/* since sc_bpfstat_open() */
	uint64_t missed;		/* calls not timed: too many threads in bpf() at once */
	unsigned int nr_cmds;		/* commands seen at least once, by command number */
	struct sc_bpfstat_cmd *cmds;
};

struct sc_bpfstat;

/* With a pid: its descendants too (children, their children, 16 levels). */
#define SC_BPFSTAT_TREE (1u << 0)

/*
 * Start timing bpf() calls of process @pid (in the caller's pid namespace),
 * or of every process but the caller when @pid is 0. SC_BPFSTAT_TREE
 * compares global pids, so it needs the caller in the initial pid
 * namespace (-EOPNOTSUPP otherwise).
 */
int sc_bpfstat_open(pid_t pid, unsigned int flags, struct sc_bpfstat **out);
/* Everything counted since open (cumulative). */
int sc_bpfstat_read(struct sc_bpfstat *s, struct sc_bpfstat_report *out);
void sc_bpfstat_report_free(struct sc_bpfstat_report *r);
void sc_bpfstat_close(struct sc_bpfstat *s);

/* "BPF_MAP_UPDATE_ELEM"; NULL for a number this build does not know. */
const char *sc_bpf_cmd_name(unsigned int cmd);
/* Bounds of histogram slot @slot in microseconds (bcc's log2 layout). */
void sc_bpfstat_slot_range(unsigned int slot, uint64_t *lo_us, uint64_t *hi_us);
/* Upper bound (us) of the slot holding the @pct percentile (0 < pct <= 100). */
uint64_t sc_bpfstat_percentile_us(const struct sc_bpfstat_cmd *c, double pct);

#endif
