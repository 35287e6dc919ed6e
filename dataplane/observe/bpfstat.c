// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/observe/bpfstat.h"
#include "dataplane/kernel/error.h"
#include "bpfstat.skel.h"

struct sc_bpfstat {
	struct bpfstat_bpf *skel;
	int ncpus;
	struct bpfstat_hist *percpu;
	struct timespec start;
};

/* Numbers are ABI (include/uapi/linux/bpf.h, enum bpf_cmd); 36 and 37 are newer than bookworm's header. */
static const char *const cmd_names[] = {
	"BPF_MAP_CREATE", "BPF_MAP_LOOKUP_ELEM", "BPF_MAP_UPDATE_ELEM", "BPF_MAP_DELETE_ELEM",
	"BPF_MAP_GET_NEXT_KEY", "BPF_PROG_LOAD", "BPF_OBJ_PIN", "BPF_OBJ_GET",
	"BPF_PROG_ATTACH", "BPF_PROG_DETACH", "BPF_PROG_TEST_RUN", "BPF_PROG_GET_NEXT_ID",
	"BPF_MAP_GET_NEXT_ID", "BPF_PROG_GET_FD_BY_ID", "BPF_MAP_GET_FD_BY_ID",
	"BPF_OBJ_GET_INFO_BY_FD", "BPF_PROG_QUERY", "BPF_RAW_TRACEPOINT_OPEN", "BPF_BTF_LOAD",
	"BPF_BTF_GET_FD_BY_ID", "BPF_TASK_FD_QUERY", "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
	"BPF_MAP_FREEZE", "BPF_BTF_GET_NEXT_ID", "BPF_MAP_LOOKUP_BATCH",
	"BPF_MAP_LOOKUP_AND_DELETE_BATCH", "BPF_MAP_UPDATE_BATCH", "BPF_MAP_DELETE_BATCH",
	"BPF_LINK_CREATE", "BPF_LINK_UPDATE", "BPF_LINK_GET_FD_BY_ID", "BPF_LINK_GET_NEXT_ID",
	"BPF_ENABLE_STATS", "BPF_ITER_CREATE", "BPF_LINK_DETACH", "BPF_PROG_BIND_MAP",
	"BPF_TOKEN_CREATE", "BPF_PROG_STREAM_READ_BY_FD",
};

const char *sc_bpf_cmd_name(unsigned int cmd)
{
	return cmd < sizeof(cmd_names) / sizeof(cmd_names[0]) ? cmd_names[cmd] : NULL;
}

void sc_bpfstat_slot_range(unsigned int slot, uint64_t *lo, uint64_t *hi)
{
	*lo = slot ? 1ULL << slot : 0;
	*hi = (1ULL << (slot + 1)) - 1;
}

uint64_t sc_bpfstat_percentile_us(const struct sc_bpfstat_cmd *c, double pct)
{
	uint64_t seen = 0, lo, hi, want;

	if (!c->count)
		return 0;
	want = (uint64_t)((pct / 100.0) * c->count + 0.999999);
	for (unsigned int i = 0; i < SC_BPFSTAT_SLOTS; i++) {
		seen += c->slots[i];
		if (seen >= want) {
			sc_bpfstat_slot_range(i, &lo, &hi);
			return hi;
		}
	}
	sc_bpfstat_slot_range(SC_BPFSTAT_SLOTS - 1, &lo, &hi);
	return hi;
}

static int pid_namespace(uint64_t *dev, uint64_t *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st))
		return sc_errf(errno, "/proc/self/ns/pid: %s", strerror(errno));
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

int sc_bpfstat_open(pid_t pid, unsigned int flags, struct sc_bpfstat **out)
{
	struct sc_bpfstat *s;
	uint64_t dev = 0, ino = 0;
	int err;

	if (pid < 0)
		return sc_errf(EINVAL, "bpfstat: invalid pid %d", (int)pid);
	if (pid && kill(pid, 0) && errno == ESRCH)
		return sc_errf(ESRCH, "bpfstat: pid %d: no such process", (int)pid);
	err = pid_namespace(&dev, &ino);
	if (err)
		return err;
	/* PROC_PID_INIT_INO (include/linux/proc_ns.h): task->tgid is that namespace's pid. */
	if ((flags & SC_BPFSTAT_TREE) && (!pid || ino != 0xEFFFFFFCU))
		return sc_errf(EOPNOTSUPP, "bpfstat: following a process tree needs a pid and the "
					   "initial pid namespace");
	s = calloc(1, sizeof(*s));
	if (!s)
		return sc_errf(ENOMEM, "bpfstat: out of memory");
	s->ncpus = libbpf_num_possible_cpus();
	s->percpu = s->ncpus > 0 ? calloc(s->ncpus, sizeof(*s->percpu)) : NULL;
	if (!s->percpu) {
		err = sc_errf(ENOMEM, "bpfstat: out of memory");
		goto fail;
	}
	s->skel = bpfstat_bpf__open();
	if (!s->skel) {
		err = sc_errf(errno, "bpfstat: open the BPF object: %s", strerror(errno));
		goto fail;
	}
	s->skel->rodata->pidns_dev = dev;
	s->skel->rodata->pidns_ino = ino;
	s->skel->rodata->target_tgid = (uint32_t)pid;
	s->skel->rodata->self_tgid = (uint32_t)getpid();
	s->skel->rodata->tree = flags & SC_BPFSTAT_TREE;
	err = bpfstat_bpf__load(s->skel);
	if (err) {
		err = sc_errf(-err, "bpfstat: load the raw_syscalls tracepoint programs: %s",
			      strerror(-err));
		goto fail;
	}
	err = bpfstat_bpf__attach(s->skel);
	if (err) {
		err = sc_errf(-err, "bpfstat: attach to raw_syscalls:sys_enter/sys_exit: %s",
			      strerror(-err));
		goto fail;
	}
	clock_gettime(CLOCK_MONOTONIC, &s->start);
	*out = s;
	return 0;
fail:
	sc_bpfstat_close(s);
	return err;
}

static void sum_cpus(const struct sc_bpfstat *s, unsigned int cmd, struct sc_bpfstat_cmd *c)
{
	const char *name = sc_bpf_cmd_name(cmd);

	memset(c, 0, sizeof(*c));
	c->cmd = cmd;
	if (name)
		snprintf(c->name, sizeof(c->name), "%s", name);
	else if (cmd == BPFSTAT_MAX_CMD - 1)
		snprintf(c->name, sizeof(c->name), "BPF_CMD_%u_OR_ABOVE", cmd);
	else
		snprintf(c->name, sizeof(c->name), "BPF_CMD_%u", cmd);
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		const struct bpfstat_hist *h = &s->percpu[cpu];

		c->count += h->count;
		c->errors += h->errors;
		c->total_ns += h->total_ns;
		if (h->max_ns > c->max_ns)
			c->max_ns = h->max_ns;
		for (unsigned int i = 0; i < SC_BPFSTAT_SLOTS; i++)
			c->slots[i] += h->slots[i];
	}
}

int sc_bpfstat_read(struct sc_bpfstat *s, struct sc_bpfstat_report *r)
{
	int fd = bpf_map__fd(s->skel->maps.hists);
	struct timespec now;

	memset(r, 0, sizeof(*r));
	r->cmds = calloc(BPFSTAT_MAX_CMD, sizeof(*r->cmds));
	if (!r->cmds)
		return sc_errf(ENOMEM, "bpfstat: out of memory");
	for (uint32_t cmd = 0; cmd < BPFSTAT_MAX_CMD; cmd++) {
		if (bpf_map_lookup_elem(fd, &cmd, s->percpu)) {
			int err = sc_errf(errno, "bpfstat: read histogram %u: %s", cmd,
					  strerror(errno));

			sc_bpfstat_report_free(r);
			return err;
		}
		sum_cpus(s, cmd, &r->cmds[r->nr_cmds]);
		if (r->cmds[r->nr_cmds].count)
			r->nr_cmds++;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	r->duration_s = (now.tv_sec - s->start.tv_sec) + (now.tv_nsec - s->start.tv_nsec) / 1e9;
	r->missed = s->skel->bss->missed;
	return 0;
}

void sc_bpfstat_report_free(struct sc_bpfstat_report *r)
{
	free(r->cmds);
	memset(r, 0, sizeof(*r));
}

void sc_bpfstat_close(struct sc_bpfstat *s)
{
	if (!s)
		return;
	bpfstat_bpf__destroy(s->skel);
	free(s->percpu);
	free(s);
}
