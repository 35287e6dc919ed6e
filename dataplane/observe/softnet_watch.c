// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/kernel/error.h"
#include "dataplane/observe/softnet_watch.h"

struct streak {
	uint32_t cpu;
	unsigned int squeeze, drop;
};

struct sc_softnet_watch {
	char *path;
	struct sc_softnet prev;
	struct timespec prev_ts;
	unsigned int intervals;
	unsigned int nr_streaks;
	struct streak *streaks;		/* by CPU id, grown as CPUs appear */
};

int sc_softnet_watch_open(const char *path, struct sc_softnet_watch **out)
{
	struct sc_softnet_watch *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return sc_errf(ENOMEM, "softnet: out of memory");
	if (path) {
		w->path = strdup(path);
		if (!w->path) {
			free(w);
			return sc_errf(ENOMEM, "softnet: out of memory");
		}
	}
	err = sc_softnet_read(w->path, &w->prev);
	if (err) {
		sc_softnet_watch_close(w);
		return err;
	}
	clock_gettime(CLOCK_MONOTONIC, &w->prev_ts);
	*out = w;
	return 0;
}

static struct streak *streak_of(struct sc_softnet_watch *w, uint32_t cpu)
{
	struct streak *p;

	for (unsigned int i = 0; i < w->nr_streaks; i++)
		if (w->streaks[i].cpu == cpu)
			return &w->streaks[i];
	p = realloc(w->streaks, (w->nr_streaks + 1) * sizeof(*p));
	if (!p)
		return NULL;
	w->streaks = p;
	p = &w->streaks[w->nr_streaks++];
	memset(p, 0, sizeof(*p));
	p->cpu = cpu;
	return p;
}

static const struct sc_softnet_cpu *cpu_in(const struct sc_softnet *s, uint32_t cpu)
{
	for (unsigned int i = 0; i < s->nr_cpus; i++)
		if (s->cpus[i].cpu == cpu)
			return &s->cpus[i];
	return NULL;
}

static int fill_rate(struct sc_softnet_watch *w, const struct sc_softnet_cpu *d,
		     const struct sc_softnet *now, double dt, struct sc_softnet_rate *r)
{
	const struct sc_softnet_cpu *n = cpu_in(now, d->cpu);
	struct streak *s = streak_of(w, d->cpu);

	if (!s)
		return sc_errf(ENOMEM, "softnet: out of memory");
	r->cpu = d->cpu;
	r->delta = *d;
	if (n)
		r->now = *n;
	if (dt > 0) {
		r->processed = d->processed / dt;
		r->dropped = d->dropped / dt;
		r->time_squeeze = d->time_squeeze / dt;
		r->received_rps = d->received_rps / dt;
		r->flow_limit = d->flow_limit / dt;
	}
	s->squeeze = d->time_squeeze ? s->squeeze + 1 : 0;
	s->drop = d->dropped ? s->drop + 1 : 0;
	r->squeeze_streak = s->squeeze;
	r->drop_streak = s->drop;
	r->squeeze_rising = s->squeeze >= SC_SOFTNET_RISING;
	return 0;
}

int sc_softnet_watch_sample(struct sc_softnet_watch *w, struct sc_softnet_report *out)
{
	struct sc_softnet now, delta = { 0 };
	struct timespec ts;
	int err;

	memset(out, 0, sizeof(*out));
	err = sc_softnet_read(w->path, &now);
	if (err)
		return err;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	err = sc_softnet_delta(&w->prev, &now, &delta);
	if (err)
		goto out;
	out->interval_s = (ts.tv_sec - w->prev_ts.tv_sec) + (ts.tv_nsec - w->prev_ts.tv_nsec) / 1e9;
	out->intervals = ++w->intervals;
	out->cpus = calloc(delta.nr_cpus ? delta.nr_cpus : 1, sizeof(*out->cpus));
	if (!out->cpus) {
		err = sc_errf(ENOMEM, "softnet: out of memory");
		goto out;
	}
	for (unsigned int i = 0; i < delta.nr_cpus; i++) {
		const struct sc_softnet_cpu *d = &delta.cpus[i];

		err = fill_rate(w, d, &now, out->interval_s, &out->cpus[out->nr_cpus++]);
		if (err)
			goto out;
		out->sum.processed += d->processed;
		out->sum.dropped += d->dropped;
		out->sum.time_squeeze += d->time_squeeze;
		out->sum.received_rps += d->received_rps;
		out->sum.flow_limit += d->flow_limit;
		out->sum.backlog_len += d->backlog_len;
	}
	sc_softnet_free(&w->prev);
	w->prev = now;
	w->prev_ts = ts;
	now.cpus = NULL;
out:
	sc_softnet_free(&now);
	sc_softnet_free(&delta);
	if (err)
		sc_softnet_report_free(out);
	return err;
}

void sc_softnet_report_free(struct sc_softnet_report *r)
{
	free(r->cpus);
	memset(r, 0, sizeof(*r));
}

void sc_softnet_watch_close(struct sc_softnet_watch *w)
{
	if (!w)
		return;
	sc_softnet_free(&w->prev);
	free(w->streaks);
	free(w->path);
	free(w);
}

const char *sc_softnet_advice_name(enum sc_softnet_advice_kind kind)
{
	switch (kind) {
	case SC_SOFTNET_FINE:
		return "fine";
	case SC_SOFTNET_RAISE_BUDGET:
		return "raise_budget";
	case SC_SOFTNET_BACKLOG:
		return "backlog";
	case SC_SOFTNET_FLOW_LIMIT:
		return "flow_limit";
	}
	return "?";
}

/* "0,3" for the CPUs whose @field delta is non-zero; returns the sum. */
static uint64_t cpus_with(const struct sc_softnet_report *r, size_t field, char *buf, size_t len)
{
	uint64_t sum = 0;
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < r->nr_cpus; i++) {
		uint64_t v = *(const uint64_t *)((const char *)&r->cpus[i].delta + field);

		if (!v)
			continue;
		sum += v;
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%u", off ? "," : "",
						r->cpus[i].cpu);
	}
	return sum;
}

static bool any_rising(const struct sc_softnet_report *r)
{
	for (unsigned int i = 0; i < r->nr_cpus; i++)
		if (r->cpus[i].squeeze_rising)
			return true;
	return false;
}

static void knob(char *buf, size_t len, const struct sc_netcore *nc, long long v)
{
	if (nc->known)
		snprintf(buf, len, "%lld", v);
	else
		snprintf(buf, len, "?");
}

int sc_softnet_advise(const struct sc_softnet_report *r, const struct sc_netcore *nc,
		      struct sc_softnet_advice *adv, int max)
{
	char budget[24], usecs[24], backlog[24];
	struct sc_softnet_advice *a;
	uint64_t n;
	int k = 0;

	if (max <= 0)
		return 0;
	knob(budget, sizeof(budget), nc, nc->netdev_budget);
	knob(usecs, sizeof(usecs), nc, nc->netdev_budget_usecs);
	knob(backlog, sizeof(backlog), nc, nc->netdev_max_backlog);
	memset(adv, 0, max * sizeof(*adv));
	a = &adv[k];
	n = cpus_with(r, offsetof(struct sc_softnet_cpu, dropped), a->cpus, sizeof(a->cpus));
	if (n) {
		/* enqueue_to_backlog() drops once the per-CPU queue passes netdev_max_backlog. */
		a->kind = SC_SOFTNET_BACKLOG;
		a->act = true;
		snprintf(a->text, sizeof(a->text),
			 "%llu frames dropped on CPU %s: the per-CPU backlog passed "
			 "net.core.netdev_max_backlog=%s. Raise it (e.g. to %lld) and look at what "
			 "feeds the backlog (RPS, veth/tun without NAPI, netif_rx callers).",
			 (unsigned long long)n, a->cpus, backlog,
			 nc->known ? 2 * nc->netdev_max_backlog : 2000LL);
		a = &adv[++k];
	}
	n = k < max ? cpus_with(r, offsetof(struct sc_softnet_cpu, time_squeeze), a->cpus,
				sizeof(a->cpus)) : 0;
	if (n && k < max) {
		/* net_rx_action() stops at netdev_budget packets or netdev_budget_usecs. */
		a->kind = SC_SOFTNET_RAISE_BUDGET;
		a->act = !r->sum.dropped;
		snprintf(a->text, sizeof(a->text),
			 "time_squeeze rose by %llu on CPU %s%s: net_rx_action ran out of "
			 "net.core.netdev_budget=%s packets / netdev_budget_usecs=%s us with work "
			 "left. %s",
			 (unsigned long long)n, a->cpus, any_rising(r) ? " and keeps rising" : "",
			 budget, usecs,
			 r->sum.dropped ? "Frames are also dropped: fix the backlog first."
					: "No drops: raise net.core.netdev_budget (e.g. to twice it) "
					  "and netdev_budget_usecs.");
		a = &adv[++k];
	}
	n = k < max ? cpus_with(r, offsetof(struct sc_softnet_cpu, flow_limit), a->cpus,
				sizeof(a->cpus)) : 0;
	if (n && k < max) {
		a->kind = SC_SOFTNET_FLOW_LIMIT;
		a->act = false;
		snprintf(a->text, sizeof(a->text),
			 "the flow limit (net.core.flow_limit_cpu_bitmap) dropped %llu frames of "
			 "heavy flows on CPU %s: it protects the other flows there; spread heavy "
			 "flows over more rx queues if they matter.",
			 (unsigned long long)n, a->cpus);
		a = &adv[++k];
	}
	if (!k) {
		a->kind = SC_SOFTNET_FINE;
		snprintf(a->text, sizeof(a->text),
			 "no time_squeeze, drops or flow-limit drops in %.1f s: receive softirq "
			 "keeps up (netdev_budget=%s, netdev_budget_usecs=%s, netdev_max_backlog=%s).",
			 r->interval_s, budget, usecs, backlog);
		k = 1;
	}
	return k;
}
