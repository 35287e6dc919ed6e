// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/kernel/error.h"
#include "dataplane/kernel/nl.h"
#include "dataplane/observe/top.h"
#include "bpf/qtop.h"
#include "qtop.skel.h"

struct top_dev {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
	unsigned int active[2];		/* indexed by enum sc_top_dir */
};

struct sc_top {
	struct qtop_bpf *skel;
	struct sc_nl *nl;
	unsigned int nr_devs;
	struct top_dev *devs;
	int ncpus;
	struct qtop_val *percpu;	/* ncpus values, one lookup's worth */
	struct sc_top_queue *prev;	/* the previous sample, sorted */
	unsigned int nr_prev;
	struct timespec prev_ts;
	bool have_prev;
};

const char *sc_top_dir_name(enum sc_top_dir dir)
{
	return dir == SC_TOP_RX ? "rx" : "tx";
}

void sc_top_imbalance(const double *rates, unsigned int n, double *max_mean, double *cv)
{
	double sum = 0, max = 0, mean, var = 0;
	unsigned int i;

	*max_mean = *cv = 0;
	for (i = 0; i < n; i++) {
		sum += rates[i];
		if (rates[i] > max)
			max = rates[i];
	}
	if (!n || sum <= 0)
		return;
	mean = sum / n;
	for (i = 0; i < n; i++)
		var += (rates[i] - mean) * (rates[i] - mean);
	*max_mean = max / mean;
	*cv = sqrt(var / n) / mean;
}

static int netns_ino(uint32_t *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return sc_errf(errno, "/proc/self/ns/net: %s", strerror(errno));
	*ino = (uint32_t)st.st_ino;
	return 0;
}

static int add_dev(struct sc_top *t, uint32_t netns, uint32_t ifindex)
{
	struct qtop_dev key = { .netns_ino = netns, .ifindex = ifindex };
	struct top_dev *d = &t->devs[t->nr_devs];
	uint8_t one = 1;
	unsigned int i;
	int err;

	for (i = 0; i < t->nr_devs; i++)
		if (t->devs[i].ifindex == ifindex)
			return 0;
	if (!if_indextoname(ifindex, d->name))
		return sc_errf(ENODEV, "ifindex %u: no such device", ifindex);
	d->ifindex = ifindex;
	/* Unknown (old kernel, device down) leaves 0: only seen queues count. */
	if (sc_nl_active_queues(t->nl, (int)ifindex, &d->active[SC_TOP_RX],
				&d->active[SC_TOP_TX]))
		d->active[SC_TOP_RX] = d->active[SC_TOP_TX] = 0;
	if (ifindex < QTOP_DIRECT_IFINDEX)
		err = bpf_map_update_elem(bpf_map__fd(t->skel->maps.qtop_direct), &ifindex, &one,
					  BPF_ANY);
	else
		err = bpf_map_update_elem(bpf_map__fd(t->skel->maps.qtop_devs), &key, &one,
					  BPF_ANY);
	if (err)
		return sc_errf(errno, "%s: add to the qtop filter map: %s", d->name,
			       strerror(errno));
	t->nr_devs++;
	return 0;
}

int sc_top_open(const uint32_t *ifindexes, unsigned int n, struct sc_top **out)
{
	struct sc_top *t;
	uint32_t netns = 0;
	unsigned int i;
	int err;

	if (!n || n > QTOP_MAX_DEVS)
		return sc_errf(EINVAL, "top: %u devices, expected 1 to %u", n, QTOP_MAX_DEVS);
	err = netns_ino(&netns);
	if (err)
		return err;
	t = calloc(1, sizeof(*t));
	if (!t)
		return sc_errf(ENOMEM, "top: out of memory");
	t->ncpus = libbpf_num_possible_cpus();
	t->devs = calloc(n, sizeof(*t->devs));
	t->percpu = t->ncpus > 0 ? calloc(t->ncpus, sizeof(*t->percpu)) : NULL;
	if (!t->devs || !t->percpu) {
		err = sc_errf(t->ncpus < 0 ? -t->ncpus : ENOMEM, "top: out of memory");
		goto fail;
	}
	err = sc_nl_open(&t->nl);
	if (err)
		goto fail;
	t->skel = qtop_bpf__open();
	if (!t->skel) {
		err = sc_errf(errno, "qtop: open the tracepoint programs: %s", strerror(errno));
		goto fail;
	}
	t->skel->rodata->netns_ino = netns;
	err = qtop_bpf__load(t->skel);
	if (err) {
		err = sc_errf(-err, "qtop: load the tracepoint programs: %s", strerror(-err));
		goto fail;
	}
	for (i = 0; i < n; i++) {
		err = add_dev(t, netns, ifindexes[i]);
		if (err)
			goto fail;
	}
	err = qtop_bpf__attach(t->skel);
	if (err) {
		err = sc_errf(-err, "qtop: attach to net:netif_receive_skb/net:net_dev_start_xmit: %s",
			      strerror(-err));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	sc_top_close(t);
	return err;
}

static int cmp_queue(const void *a, const void *b)
{
	const struct sc_top_queue *x = a, *y = b;

	if (x->ifindex != y->ifindex)
		return x->ifindex < y->ifindex ? -1 : 1;
	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	return x->queue < y->queue ? -1 : x->queue > y->queue;
}

/* qsort()/bsearch() want a non-NULL base even for zero elements. */
static void sort_queues(struct sc_top_queue *v, unsigned int n)
{
	if (n)
		qsort(v, n, sizeof(*v), cmp_queue);
}

static struct sc_top_queue *find_queue(const struct sc_top_queue *key, struct sc_top_queue *v,
				       unsigned int n)
{
	return n ? bsearch(key, v, n, sizeof(*v), cmp_queue) : NULL;
}

static int push_queue(struct sc_top_report *r, unsigned int *cap, const struct sc_top_queue *q)
{
	if (r->nr_queues == *cap) {
		unsigned int ncap = *cap ? 2 * *cap : 64;
		void *p = realloc(r->queues, ncap * sizeof(*r->queues));

		if (!p)
			return sc_errf(ENOMEM, "top: out of memory");
		r->queues = p;
		*cap = ncap;
	}
	r->queues[r->nr_queues++] = *q;
	return 0;
}

/* Sum the per-CPU counters of every slot the programs created. */
static int read_counts(struct sc_top *t, struct sc_top_report *r, unsigned int *cap)
{
	int fd = bpf_map__fd(t->skel->maps.qtop_counts);
	struct qtop_key key, next;
	void *prev_key = NULL;

	while (!bpf_map_get_next_key(fd, prev_key, &next)) {
		struct sc_top_queue q = { .ifindex = next.ifindex, .dir = next.dir };
		int cpu, err;

		key = next;
		prev_key = &key;
		if (bpf_map_lookup_elem(fd, &key, t->percpu))
			continue;	/* slots are never deleted; tolerate it anyway */
		for (cpu = 0; cpu < t->ncpus; cpu++) {
			q.packets += t->percpu[cpu].packets;
			q.bytes += t->percpu[cpu].bytes;
		}
		if (key.dir == QTOP_DIR_RX)
			q.queue = key.queue ? key.queue - 1 : SC_TOP_QUEUE_UNRECORDED;
		else
			q.queue = key.queue;
		err = push_queue(r, cap, &q);
		if (err)
			return err;
	}
	if (errno != ENOENT)
		return sc_errf(errno, "qtop: walk the counter map: %s", strerror(errno));
	return 0;
}

/* Active queues that saw nothing yet still belong in the balance figures. */
static int add_idle_queues(struct sc_top *t, struct sc_top_report *r, unsigned int *cap)
{
	unsigned int i, nr_seen = r->nr_queues;

	sort_queues(r->queues, r->nr_queues);
	for (i = 0; i < t->nr_devs; i++) {
		for (int dir = SC_TOP_RX; dir <= SC_TOP_TX; dir++) {
			for (unsigned int q = 0; q < t->devs[i].active[dir]; q++) {
				struct sc_top_queue z = { .ifindex = t->devs[i].ifindex,
							  .dir = dir, .queue = (int)q };
				int err;

				if (find_queue(&z, r->queues, nr_seen))
					continue;
				err = push_queue(r, cap, &z);
				if (err)
					return err;
			}
		}
	}
	sort_queues(r->queues, r->nr_queues);
	return 0;
}

static void rates(struct sc_top *t, struct sc_top_report *r)
{
	if (!t->have_prev)
		return;		/* the first sample is the baseline */
	for (unsigned int i = 0; i < r->nr_queues; i++) {
		struct sc_top_queue *q = &r->queues[i], *p;

		p = find_queue(q, t->prev, t->nr_prev);
		q->delta_packets = q->packets - (p ? p->packets : 0);
		q->delta_bytes = q->bytes - (p ? p->bytes : 0);
		if (r->interval_s > 0) {
			q->pps = q->delta_packets / r->interval_s;
			q->bps = 8.0 * q->delta_bytes / r->interval_s;
		}
		q->avg_bytes = q->delta_packets ? (double)q->delta_bytes / q->delta_packets : 0;
	}
}

static void fill_group(const struct top_dev *d, enum sc_top_dir dir,
		       const struct sc_top_report *r, double *scratch, struct sc_top_group *g)
{
	unsigned int n = 0;

	memset(g, 0, sizeof(*g));
	g->ifindex = d->ifindex;
	memcpy(g->name, d->name, sizeof(g->name));
	g->dir = dir;
	g->active_queues = d->active[dir];
	for (unsigned int i = 0; i < r->nr_queues; i++) {
		const struct sc_top_queue *q = &r->queues[i];

		if (q->ifindex != d->ifindex || q->dir != dir)
			continue;
		g->packets += q->packets;
		g->bytes += q->bytes;
		g->delta_packets += q->delta_packets;
		g->delta_bytes += q->delta_bytes;
		g->pps += q->pps;
		g->bps += q->bps;
		/* An unrecorded rx queue is not a queue: keep it out of the balance. */
		if (q->queue != SC_TOP_QUEUE_UNRECORDED)
			scratch[n++] = q->pps;
	}
	g->avg_bytes = g->delta_packets ? (double)g->delta_bytes / g->delta_packets : 0;
	g->nr_queues = n;
	sc_top_imbalance(scratch, n, &g->max_mean, &g->cv);
}

static int groups(struct sc_top *t, struct sc_top_report *r)
{
	double *scratch = calloc(r->nr_queues ? r->nr_queues : 1, sizeof(*scratch));

	r->groups = calloc(2 * t->nr_devs, sizeof(*r->groups));
	if (!scratch || !r->groups) {
		free(scratch);
		return sc_errf(ENOMEM, "top: out of memory");
	}
	for (unsigned int i = 0; i < t->nr_devs; i++)
		for (int dir = SC_TOP_RX; dir <= SC_TOP_TX; dir++)
			fill_group(&t->devs[i], dir, r, scratch, &r->groups[r->nr_groups++]);
	free(scratch);
	return 0;
}

static int keep_prev(struct sc_top *t, const struct sc_top_report *r, const struct timespec *now)
{
	void *p = malloc((r->nr_queues ? r->nr_queues : 1) * sizeof(*r->queues));

	if (!p)
		return sc_errf(ENOMEM, "top: out of memory");
	if (r->nr_queues)
		memcpy(p, r->queues, r->nr_queues * sizeof(*r->queues));
	free(t->prev);
	t->prev = p;
	t->nr_prev = r->nr_queues;
	t->prev_ts = *now;
	t->have_prev = true;
	return 0;
}

int sc_top_sample(struct sc_top *t, struct sc_top_report *r)
{
	unsigned int cap = 0;
	struct timespec now;
	int err;

	memset(r, 0, sizeof(*r));
	clock_gettime(CLOCK_MONOTONIC, &now);
	err = read_counts(t, r, &cap);
	if (err)
		goto fail;
	err = add_idle_queues(t, r, &cap);
	if (err)
		goto fail;
	if (t->have_prev)
		r->interval_s = (now.tv_sec - t->prev_ts.tv_sec) +
				(now.tv_nsec - t->prev_ts.tv_nsec) / 1e9;
	r->lost = t->skel->bss->qtop_lost;
	rates(t, r);
	err = groups(t, r);
	if (err)
		goto fail;
	err = keep_prev(t, r, &now);
	if (err)
		goto fail;
	return 0;
fail:
	sc_top_report_free(r);
	return err;
}

void sc_top_report_free(struct sc_top_report *r)
{
	free(r->queues);
	free(r->groups);
	memset(r, 0, sizeof(*r));
}

void sc_top_close(struct sc_top *t)
{
	if (!t)
		return;
	qtop_bpf__destroy(t->skel);
	sc_nl_close(t->nl);
	free(t->devs);
	free(t->percpu);
	free(t->prev);
	free(t);
}
