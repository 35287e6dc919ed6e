// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <inttypes.h>

#include "dataplane/kernel/error.h"
#include "dataplane/kernel/kallsyms.h"

static int cmp_addr(const void *a, const void *b)
{
	const struct sc_ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Aliases share an address: keep file order (names are in pool order). */
	return x->name < y->name ? -1 : x->name > y->name;
}

static int is_text(char type)
{
	return type == 't' || type == 'T' || type == 'w' || type == 'W';
}

/* Parse one line in place: "ffffffff81000000 T name\t[module]". */
static int parse_line(char *line, struct sc_ksym *sym)
{
	char *end, *name, *mod;
	char type;

	sym->addr = strtoull(line, &end, 16);
	if (end == line || *end != ' ')
		return -1;
	type = end[1];
	if (!type || end[2] != ' ' || !is_text(type))
		return 0;
	name = end + 3;
	mod = strpbrk(name, " \t");
	sym->module = NULL;
	if (mod) {
		*mod++ = '\0';
		while (*mod == ' ' || *mod == '\t')
			mod++;
		if (*mod == '[') {
			char *close = strchr(++mod, ']');

			if (close)
				*close = '\0';
			sym->module = mod;
		}
	}
	sym->name = name;
	return 1;
}

/* Takes ownership of @pool (NUL terminated, modified in place). */
static int parse_pool(char *pool, size_t len, struct sc_ksyms *ks)
{
	size_t cap = 0, lineno = 0, nonzero = 0;
	char *line = pool, *nl;

	memset(ks, 0, sizeof(*ks));
	ks->pool = pool;
	ks->pool_len = len;
	for (; line && *line; line = nl) {
		struct sc_ksym sym;
		int ok;

		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		lineno++;
		ok = parse_line(line, &sym);
		if (ok < 0) {
			sc_ksyms_free(ks);
			return sc_errf(EINVAL, "kallsyms line %zu: cannot parse", lineno);
		}
		if (!ok)
			continue;
		if (ks->nr == cap) {
			void *p;

			cap = cap ? 2 * cap : 4096;
			p = realloc(ks->syms, cap * sizeof(*ks->syms));
			if (!p) {
				sc_ksyms_free(ks);
				return sc_errf(ENOMEM, "kallsyms: out of memory");
			}
			ks->syms = p;
		}
		nonzero += sym.addr != 0;
		ks->syms[ks->nr++] = sym;
	}
	if (ks->nr && !nonzero) {
		sc_ksyms_free(ks);
		return sc_errf(EPERM, "kallsyms: addresses are hidden (kptr_restrict); run as root");
	}
	if (ks->nr)	/* qsort(NULL, 0) is undefined (UBSan aborts on it) */
		qsort(ks->syms, ks->nr, sizeof(*ks->syms), cmp_addr);
	return 0;
}

int sc_ksyms_parse(const char *text, struct sc_ksyms *ks)
{
	size_t len = strlen(text);
	char *pool = malloc(len + 1);

	if (!pool)
		return sc_errf(ENOMEM, "kallsyms: out of memory");
	memcpy(pool, text, len + 1);
	return parse_pool(pool, len, ks);
}

int sc_ksyms_load(const char *path, struct sc_ksyms *ks)
{
	size_t len = 0, cap = 8 << 20;
	char *buf = NULL;
	FILE *f;
	int err;

	path = path ? path : "/proc/kallsyms";
	f = fopen(path, "r");
	if (!f)
		return sc_errf(errno, "%s: %s", path, strerror(errno));
	/* procfs reports size 0; grow until EOF. */
	for (;;) {
		size_t got;
		char *p = realloc(buf, cap + 1);

		if (!p) {
			err = sc_errf(ENOMEM, "%s: out of memory", path);
			goto fail;
		}
		buf = p;
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (len < cap)
			break;
		cap *= 2;
	}
	if (ferror(f)) {
		err = sc_errf(EIO, "%s: read error", path);
		goto fail;
	}
	fclose(f);
	buf[len] = '\0';
	return parse_pool(buf, len, ks);
fail:
	fclose(f);
	free(buf);
	return err;
}

void sc_ksyms_free(struct sc_ksyms *ks)
{
	free(ks->syms);
	free(ks->pool);
	memset(ks, 0, sizeof(*ks));
}

const struct sc_ksym *sc_ksyms_find(const struct sc_ksyms *ks, uint64_t addr)
{
	size_t lo = 0, hi = ks->nr;

	/* Last symbol with sym.addr <= addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &ks->syms[lo - 1] : NULL;
}

const struct sc_ksym *sc_ksyms_by_name(const struct sc_ksyms *ks, const char *name)
{
	for (size_t i = 0; i < ks->nr; i++)
		if (!strcmp(ks->syms[i].name, name))
			return &ks->syms[i];
	return NULL;
}

int sc_ksyms_range(const struct sc_ksyms *ks, const char *name, uint64_t *start, uint64_t *end)
{
	const struct sc_ksym *s = sc_ksyms_by_name(ks, name);
	const struct sc_ksym *last = ks->syms + ks->nr;

	if (!s)
		return -ENOENT;
	*start = s->addr;
	*end = UINT64_MAX;
	for (const struct sc_ksym *n = s + 1; n < last; n++) {
		if (n->addr > s->addr) {
			*end = n->addr;
			break;
		}
	}
	return 0;
}

void sc_ksyms_format(const struct sc_ksyms *ks, uint64_t addr, char *buf, size_t len)
{
	const struct sc_ksym *s = sc_ksyms_find(ks, addr);

	if (!s) {
		snprintf(buf, len, "0x%" PRIx64, addr);
		return;
	}
	if (s->module)
		snprintf(buf, len, "%s+0x%" PRIx64 " [%s]", s->name, addr - s->addr, s->module);
	else
		snprintf(buf, len, "%s+0x%" PRIx64, s->name, addr - s->addr);
}
