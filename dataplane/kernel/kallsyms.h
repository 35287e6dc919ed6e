/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel text symbols from /proc/kallsyms, for turning the addresses in
 * BPF stack traces into names. Only text symbols (t/T/w/W) are kept: stack
 * frames are return addresses, so data symbols would only mislead. A symbol
 * "covers" [addr, next symbol's addr); kallsyms has no sizes.
 *
 * Addresses read as 0 when kptr_restrict hides them (non-root): loading
 * then fails with EPERM rather than resolving everything to one symbol.
 */
#ifndef SC_KALLSYMS_H
#define SC_KALLSYMS_H

#include <stdint.h>
#include <stddef.h>

struct sc_ksym {
	uint64_t addr;
	const char *name;	/* points into sc_ksyms' string pool */
	const char *module;	/* NULL for the core kernel */
};

struct sc_ksyms {
	struct sc_ksym *syms;	/* sorted by addr */
	size_t nr;
	char *pool;
	size_t pool_len;
};

/* Parse @path (NULL = /proc/kallsyms). Free with sc_ksyms_free(). */
int sc_ksyms_load(const char *path, struct sc_ksyms *ks);
/* Same, from text in memory (tests). */
int sc_ksyms_parse(const char *text, struct sc_ksyms *ks);
void sc_ksyms_free(struct sc_ksyms *ks);

/* The symbol covering @addr, or NULL if @addr is below the first symbol. */
const struct sc_ksym *sc_ksyms_find(const struct sc_ksyms *ks, uint64_t addr);
/* The first symbol named @name (exact match), or NULL. Linear: for setup only. */
const struct sc_ksym *sc_ksyms_by_name(const struct sc_ksyms *ks, const char *name);
/* [*start, *end) of the symbol named @name; -ENOENT if absent. */
int sc_ksyms_range(const struct sc_ksyms *ks, const char *name, uint64_t *start, uint64_t *end);
/* "name+0x1f" (or "[module] name+0x1f", or "0x..." if unknown) into @buf. */
void sc_ksyms_format(const struct sc_ksyms *ks, uint64_t addr, char *buf, size_t len);

#endif
