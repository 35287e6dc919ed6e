/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the running kernel can do, probed rather than guessed from its
 * version (distributions backport), and the one sentence a command prints
 * when it needs a newer one: "--attach tcx needs Linux 6.6 (this is 6.1.0-57-amd64)".
 */
#ifndef SC_KERNEL_H
#define SC_KERNEL_H

#include <stdbool.h>

/* uname -r, for messages. */
const char *sc_kernel_release(void);

/*
 * tcx (Linux 6.6): a BPF_TCX_INGRESS link request for ifindex 0 fails with
 * ENODEV where the kernel knows the attach type (tcx_link_attach() looks the
 * device up) and EINVAL where it does not; no link is ever made.
 */
bool sc_kernel_has_tcx(void);
/*
 * 0 where tcx works; else the recorded error for @what: "needs Linux 6.6"
 * where the kernel lacks it, the probe's own errno (EPERM, ...) where the
 * probe could not tell.
 */
int sc_kernel_need_tcx(const char *what);

/* A kfunc (or any kernel function) by name in vmlinux BTF. */
bool sc_kernel_has_btf_func(const char *name);

/* CLOCK_MONOTONIC in seconds: windows and timeouts, immune to clock steps. */
double sc_monotonic_s(void);

/* Record "@what needs Linux @version (this is RELEASE)" and return -EOPNOTSUPP. */
int sc_kernel_needs(const char *what, const char *version);

#endif
