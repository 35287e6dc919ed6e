// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "dataplane/kernel/attach.h"
#include "dataplane/kernel/error.h"
#include "dataplane/kernel/kernel.h"

const char *sc_kernel_release(void)
{
	static struct utsname u;

	if (!u.release[0] && uname(&u))
		snprintf(u.release, sizeof(u.release), "unknown");
	return u.release;
}

static int tcx_probe_errno;

/* 1 tcx, 0 none; an answer that is neither is kept for sc_kernel_need_tcx(). */
static int probe_tcx(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int prog, link, err;

	prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "sc_probe_tcx", "GPL", insns, 2, NULL);
	if (prog < 0) {
		tcx_probe_errno = errno;
		return 0;
	}
	link = bpf_link_create(prog, 0, SC_BPF_TCX_INGRESS, NULL);
	err = link < 0 ? errno : 0;
	if (link >= 0)
		close(link);
	close(prog);
	if (err && err != ENODEV && err != EINVAL)
		tcx_probe_errno = err;
	return err == ENODEV || !err;
}

bool sc_kernel_has_tcx(void)
{
	static int known = -1;

	if (known < 0)
		known = probe_tcx();
	return known;
}

bool sc_kernel_has_btf_func(const char *name)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool found;

	if (!btf)
		return false;
	found = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
	btf__free(btf);
	return found;
}

int sc_kernel_needs(const char *what, const char *version)
{
	return sc_errf(EOPNOTSUPP, "%s needs Linux %s (this is %s)", what, version,
		       sc_kernel_release());
}

int sc_kernel_need_tcx(const char *what)
{
	if (sc_kernel_has_tcx())
		return 0;
	if (tcx_probe_errno)
		return sc_errf(tcx_probe_errno, "%s: probing for tcx failed: %s", what,
			       strerror(tcx_probe_errno));
	return sc_kernel_needs(what, "6.6");
}

double sc_monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
