/* SPDX-License-Identifier: GPL-2.0 */
/* Internals shared by shard.c (naming, state read-back) and shard_ops.c (changes). */
#ifndef SC_SHARD_INT_H
#define SC_SHARD_INT_H

#include <stddef.h>
#include <sys/types.h>

#include "dataplane/kernel/attach.h"
#include "dataplane/kernel/lock.h"
#include "dataplane/kernel/nl.h"
#include "dataplane/shard/shard.h"

void sc_pin_dir_of(char *buf, size_t len, uint64_t cookie, int ifindex);
void sc_pin_path(char *buf, size_t len, const char *dir, const char *name);
int sc_mkdir_p(const char *path, mode_t mode);
int sc_ensure_bpffs(void);
int sc_meta_read(const char *dir, struct sc_meta *meta);
int sc_meta_write(const char *dir, const struct sc_meta *meta);
void sc_alias_make(char *buf, size_t len, int nic, unsigned int shard, bool ret);
bool sc_alias_parse(const char *alias, int *nic, unsigned int *shard, bool *ret);
bool sc_is_ingress_prog(const struct sc_hook_prog *p);
bool sc_is_return_prog(const struct sc_hook_prog *p);
int sc_state_read(struct sc_nl *nl, uint64_t cookie, int nic, const struct sc_link *links,
	       int nlinks, struct sc_state *st);
/* NIC ifindexes that have anything of a setup: a pin directory or our devices. */
int sc_list_nics(uint64_t cookie, const struct sc_link *links, int nlinks, int *out, int max);
int sc_target_resolve(struct sc_nl *nl, const char *dev, uint64_t cookie,
		   const struct sc_link *links, int nlinks, int *nics, int max);

#endif
