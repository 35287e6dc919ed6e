/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attaching tc programs: tcx links (pinned, since a tcx link dies with its
 * last fd) or clsact + cls_bpf (persists by itself), and reading back what
 * is attached at a device's ingress, ours or not.
 */
#ifndef SC_ATTACH_H
#define SC_ATTACH_H

#include <stdbool.h>
#include <stdint.h>

struct sc_nl;

/* Bookworm's uapi predates tcx (Linux 6.6); the values are ABI. */
#define SC_BPF_TCX_INGRESS 46
#define SC_BPF_TCX_EGRESS 47

/* cls_bpf filters shardctl adds: fixed handle/priority, found again by program name. */
#define SC_TC_HANDLE 0x5c
#define SC_TC_PRIORITY 0x5c

/*
 * How a program sits at a hook. The one enum for the attach mode: setup's
 * request (AUTO until resolved against the kernel), the meta record in
 * bpffs (TCX or TC; the values are stored, so they are ABI) and what
 * sc_hook_list() finds.
 */
enum sc_attach {
	SC_ATTACH_AUTO = 0,	/* tcx where the kernel has it (6.6), else tc */
	SC_ATTACH_TCX = 1,	/* bpf_link on BPF_TCX_INGRESS, pinned in bpffs */
	SC_ATTACH_TC = 2,	/* clsact + cls_bpf direct-action filter */
};

struct sc_hook_prog {
	enum sc_attach kind;	/* TCX or TC */
	uint32_t prog_id;
	char name[16];		/* the program's name (BPF_OBJ_NAME_LEN) */
	char tag[17];		/* hex */
	/* tc only: where the filter sits, to delete exactly it */
	uint32_t tc_handle, tc_priority;
	char tc_kind[16];	/* "bpf", "u32", ... (non-BPF filters have prog_id 0) */
};

/* tcx: create a link on @ifindex's ingress (or egress) and pin it at @pin. */
int sc_tcx_attach(int prog_fd, int ifindex, bool egress, const char *pin);
/* Replace the program behind a pinned tcx link atomically (BPF_LINK_UPDATE). */
int sc_tcx_update(const char *pin, int new_prog_fd);
/* Detach the pinned link and remove the pin; absent pin is success. */
int sc_tcx_detach_pinned(const char *pin);

/*
 * tc: clsact (created when missing; *created says so) + a direct-action
 * cls_bpf filter at SC_TC_HANDLE/SC_TC_PRIORITY. With @replace the filter is
 * swapped in place (NLM_F_REPLACE), so no frame sees a missing program.
 */
int sc_tc_attach(int prog_fd, int ifindex, bool egress, bool replace, bool *created);
int sc_tc_detach(int ifindex, bool egress, uint32_t handle, uint32_t priority);
int sc_clsact_destroy(int ifindex);

/*
 * Everything attached at @ifindex's ingress (or egress): tcx programs and
 * tc filters in clsact. Returns the count (up to @max filled) or -errno.
 */
int sc_hook_list(struct sc_nl *nl, int ifindex, bool egress, struct sc_hook_prog *out, int max);

#endif
