// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "dataplane/kernel/error.h"
#include "dataplane/kernel/softnet.h"

#define SOFTNET_MAX_COLS 16

static int cmp_cpu(const void *a, const void *b)
{
	const struct sc_softnet_cpu *x = a, *y = b;

	return x->cpu < y->cpu ? -1 : x->cpu > y->cpu;
}

static int parse_line(const char *line, unsigned int lineno, struct sc_softnet_cpu *c)
{
	unsigned long long col[SOFTNET_MAX_COLS] = { 0 };
	const char *p = line;
	int n = 0;

	while (n < SOFTNET_MAX_COLS) {
		char *end;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n')
			break;
		errno = 0;
		col[n] = strtoull(p, &end, 16);
		if (end == p || errno || (*end && *end != ' ' && *end != '\t' && *end != '\n'))
			return sc_errf(EINVAL, "softnet_stat line %u: column %d is not hex", lineno,
				       n + 1);
		p = end;
		n++;
	}
	if (n < 11)
		return sc_errf(EINVAL, "softnet_stat line %u: %d columns, expected at least 11",
			       lineno, n);
	c->processed = col[0];
	c->dropped = col[1];
	c->time_squeeze = col[2];
	c->cpu_collision = col[8];
	c->received_rps = col[9];
	c->flow_limit = col[10];
	c->backlog_len = n >= 12 ? col[11] : 0;
	c->cpu = n >= 13 ? (uint32_t)col[12] : lineno;
	return 0;
}

int sc_softnet_parse(const char *text, struct sc_softnet *out)
{
	unsigned int cap = 0, lineno = 0;
	const char *line = text;
	int err = 0;

	memset(out, 0, sizeof(*out));
	while (line && *line) {
		const char *nl = strchr(line, '\n');

		if (out->nr_cpus == cap) {
			void *p;

			cap = cap ? 2 * cap : 16;
			p = realloc(out->cpus, cap * sizeof(*out->cpus));
			if (!p) {
				err = sc_errf(ENOMEM, "softnet_stat: out of memory");
				goto fail;
			}
			out->cpus = p;
		}
		if (*line != '\n') {
			err = parse_line(line, lineno, &out->cpus[out->nr_cpus]);
			if (err)
				goto fail;
			out->nr_cpus++;
		}
		lineno++;
		line = nl ? nl + 1 : NULL;
	}
	if (out->nr_cpus)	/* qsort(NULL, 0) is undefined (UBSan aborts on it) */
		qsort(out->cpus, out->nr_cpus, sizeof(*out->cpus), cmp_cpu);
	return 0;
fail:
	sc_softnet_free(out);
	return err;
}

int sc_softnet_read(const char *path, struct sc_softnet *out)
{
	char buf[64 * 1024];
	size_t len;
	FILE *f;

	path = path ? path : "/proc/net/softnet_stat";
	f = fopen(path, "r");
	if (!f)
		return sc_errf(errno, "%s: %s", path, strerror(errno));
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	return sc_softnet_parse(buf, out);
}

static uint64_t wrap32(uint64_t after, uint64_t before)
{
	return (uint32_t)((uint32_t)after - (uint32_t)before);
}

int sc_softnet_delta(const struct sc_softnet *before, const struct sc_softnet *after,
		     struct sc_softnet *out)
{
	unsigned int i, j = 0;

	out->nr_cpus = 0;
	out->cpus = calloc(after->nr_cpus ? after->nr_cpus : 1, sizeof(*out->cpus));
	if (!out->cpus)
		return sc_errf(ENOMEM, "softnet_stat: out of memory");
	for (i = 0; i < after->nr_cpus; i++) {
		const struct sc_softnet_cpu *a = &after->cpus[i], *b = NULL;
		struct sc_softnet_cpu *d = &out->cpus[out->nr_cpus];

		while (j < before->nr_cpus && before->cpus[j].cpu < a->cpu)
			j++;
		if (j < before->nr_cpus && before->cpus[j].cpu == a->cpu)
			b = &before->cpus[j];
		if (!b)
			continue;
		d->cpu = a->cpu;
		d->processed = wrap32(a->processed, b->processed);
		d->dropped = wrap32(a->dropped, b->dropped);
		d->time_squeeze = wrap32(a->time_squeeze, b->time_squeeze);
		d->cpu_collision = wrap32(a->cpu_collision, b->cpu_collision);
		d->received_rps = wrap32(a->received_rps, b->received_rps);
		d->flow_limit = wrap32(a->flow_limit, b->flow_limit);
		d->backlog_len = a->backlog_len;
		out->nr_cpus++;
	}
	return 0;
}

void sc_softnet_free(struct sc_softnet *s)
{
	free(s->cpus);
	s->cpus = NULL;
	s->nr_cpus = 0;
}
