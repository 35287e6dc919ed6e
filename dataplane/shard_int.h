/* SPDX-License-Identifier: GPL-2.0 */
/* Internals shared by shard.c (naming, state read-back) and shard_ops.c (changes). */
#ifndef SC_SHARD_INT_H
#define SC_SHARD_INT_H

#include <stddef.h>
#include <sys/types.h>

#include "dataplane/attach.h"
#include "dataplane/lock.h"
#include "dataplane/nl.h"
#include "dataplane/shard.h"

void pin_dir_of(char *buf, size_t len, uint64_t cookie, int ifindex);
void pin_path(char *buf, size_t len, const char *dir, const char *name);
int mkdir_p(const char *path, mode_t mode);
int ensure_bpffs(void);
int read_pinned_meta(const char *dir, struct sc_meta *meta);
int write_pinned_meta(const char *dir, const struct sc_meta *meta);
void make_alias(char *buf, size_t len, int nic, unsigned int shard, bool ret);
bool parse_alias(const char *alias, int *nic, unsigned int *shard, bool *ret);
bool is_our_ingress_prog(const struct sc_hook_prog *p);
bool is_return_prog(const struct sc_hook_prog *p);
int read_state(struct sc_nl *nl, uint64_t cookie, int nic, const struct sc_link *links,
	       int nlinks, struct sc_state *st);
int resolve_target(struct sc_nl *nl, const char *dev, uint64_t cookie,
		   const struct sc_link *links, int nlinks, int *nics, int max);

#endif
