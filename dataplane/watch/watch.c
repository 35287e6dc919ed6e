// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/kernel/attach.h"
#include "dataplane/kernel/error.h"
#include "dataplane/kernel/kernel.h"
#include "dataplane/kernel/lock.h"
#include "dataplane/kernel/nl.h"
#include "dataplane/watch/watch.h"

/* A notice starts a check this much later, so a burst of them (ours included) is one check. */
#define SETTLE_S 0.05
#define BACKOFF_MAX_S 30.0
/*
 * FLAP_CHANGES changes within FLAP_WINDOW_S: slow down for FLAP_PAUSE_S.
 * A change costs 5-100 ms of setup, so a NIC that flaps forever costs at
 * most about 1% of a CPU.
 */
#define FLAP_CHANGES 10
#define FLAP_WINDOW_S 10.0
#define FLAP_PAUSE_S 5.0

enum nic_state { NIC_UNKNOWN, NIC_ABSENT, NIC_DOWN, NIC_CONVERGED, NIC_FAILED };

struct nic {
	char name[IF_NAMESIZE];
	int claim;
	enum nic_state state;
	int ifindex;			/* as last seen; 0 when absent */
	unsigned int rxq;		/* active rx queues as last seen */
	bool dirty;
	double dirty_since;		/* the first notice not handled yet */
	double due;			/* not before: settle time, backoff */
	double backoff;
	double changes[FLAP_CHANGES];	/* ring of the last changes' times */
	unsigned int nr_changes;
	char last_error[256];
};

struct sc_watch {
	struct sc_watch_opts o;
	struct sc_nl *nl;
	struct sc_nl_events *ev;
	uint64_t cookie;
	struct nic *nics;
	unsigned int nr;
	double next_probe, next_full;
};

const char *sc_watch_what_name(enum sc_watch_what what)
{
	static const char *const names[] = {
		[SC_WATCH_READY] = "ready",	   [SC_WATCH_SETUP] = "setup",
		[SC_WATCH_FOLLOWED] = "followed",  [SC_WATCH_REPAIRED] = "repaired",
		[SC_WATCH_WAITING] = "waiting",	   [SC_WATCH_FAILED] = "failed",
		[SC_WATCH_BACKOFF] = "backoff",	   [SC_WATCH_TORNDOWN] = "torndown",
	};

	return (unsigned int)what < sizeof(names) / sizeof(names[0]) ? names[what] : "?";
}

static void mark(struct nic *n, double now, double settle)
{
	if (!n->dirty) {
		n->dirty = true;
		n->dirty_since = now;
	}
	if (n->due < now + settle)
		n->due = now + settle;
}

int sc_watch_open(const struct sc_watch_opts *o, struct sc_watch **out)
{
	struct sc_watch *w;
	int err = 0;

	if (!o->nr_devs || o->nr_devs > SC_WATCH_MAX_DEVS)
		return sc_errf(EINVAL, "watch: 1 to %d devices", SC_WATCH_MAX_DEVS);
	w = calloc(1, sizeof(*w));
	if (!w)
		return sc_errf(ENOMEM, "out of memory");
	w->o = *o;
	if (w->o.interval_s <= 0)
		w->o.interval_s = SC_WATCH_PROBE_S;
	if (w->o.full_s <= 0)
		w->o.full_s = SC_WATCH_FULL_S;
	w->nics = calloc(o->nr_devs, sizeof(*w->nics));
	if (!w->nics) {
		free(w);
		return sc_errf(ENOMEM, "out of memory");
	}
	for (unsigned int i = 0; i < o->nr_devs; i++)
		w->nics[i].claim = -1;
	w->nr = o->nr_devs;
	err = sc_netns_cookie(&w->cookie);
	if (err)
		goto fail;
	for (unsigned int i = 0; i < w->nr; i++) {
		struct nic *n = &w->nics[i];
		char name[64];
		pid_t holder;

		if (!o->devs[i][0] || strlen(o->devs[i]) >= IF_NAMESIZE || strchr(o->devs[i], '/')) {
			err = sc_errf(EINVAL, "'%s': not a valid device name (1 to %d characters, no '/')",
				      o->devs[i], IF_NAMESIZE - 1);
			goto fail;
		}
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(w->nics[j].name, o->devs[i]))
				err = sc_errf(EINVAL, "%s: named twice", o->devs[i]);
		if (err)
			goto fail;
		snprintf(n->name, sizeof(n->name), "%s", o->devs[i]);
		sc_watch_claim_name(name, sizeof(name), w->cookie, n->name);
		n->claim = sc_claim(name, &holder);
		if (n->claim == -EWOULDBLOCK)
			err = sc_errf(EWOULDBLOCK, "%s: already watched by another shardctl watch (pid %d)",
				      n->name, (int)holder);
		else if (n->claim < 0)
			err = n->claim;
		mark(n, sc_monotonic_s(), 0);
		if (err)
			goto fail;
	}
	err = sc_nl_open(&w->nl);
	if (err)
		goto fail;
	err = sc_nl_events_open(&w->ev);
	if (err)
		goto fail;
	*out = w;
	return 0;
fail:
	sc_watch_close(w);
	return err;
}

int sc_watch_fds(const struct sc_watch *w, int fds[2])
{
	return sc_nl_events_fds(w->ev, fds);
}

struct notice_ctx {
	struct sc_watch *w;
	double now;
};

/* A link or channel notice: which of our NICs does it concern? */
static void on_notice(const struct sc_nl_event *e, void *arg)
{
	struct notice_ctx *c = arg;

	for (unsigned int i = 0; i < c->w->nr; i++) {
		struct nic *n = &c->w->nics[i];

		/* Shard devices carry the NIC's link group from their create request on. */
		if ((e->name[0] && !strcmp(e->name, n->name)) ||
		    (n->ifindex && (e->ifindex == n->ifindex || e->group == sc_shard_group(n->ifindex))))
			mark(n, c->now, SETTLE_S);
	}
}

/*
 * What a notice may not announce: the NIC's ifindex (replaced), its
 * up/down state and active rx queue count (a TAP's), and whether our
 * ingress program is still attached (its pins removed).
 */
static void probe(struct sc_watch *w, struct nic *n, double now)
{
	unsigned int rx = 0, tx = 0;
	struct sc_link l;

	if (sc_nl_link_by_name(w->nl, n->name, &l)) {
		sc_clear_error();
		if (n->state != NIC_ABSENT)
			mark(n, now, 0);
		return;
	}
	if (l.ifindex != n->ifindex || !(l.flags & IFF_UP) != (n->state == NIC_DOWN)) {
		mark(n, now, 0);
		return;
	}
	if (n->state != NIC_CONVERGED)
		return;
	if (sc_nl_active_queues(w->nl, l.ifindex, &rx, &tx) || rx != n->rxq) {
		sc_clear_error();
		mark(n, now, 0);
		return;
	}
	if (!sc_shard_ingress_attached(w->nl, l.ifindex) || !sc_shard_pinned(w->cookie, l.ifindex))
		mark(n, now, 0);
}

static void action(struct sc_watch_action *a, enum sc_watch_what what, const struct nic *n,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void action(struct sc_watch_action *a, enum sc_watch_what what, const struct nic *n,
		   const char *fmt, ...)
{
	va_list ap;

	memset(a, 0, sizeof(*a));
	a->what = what;
	a->since_change_ms = -1;
	snprintf(a->dev, sizeof(a->dev), "%s", n->name);
	a->ifindex = n->ifindex;
	va_start(ap, fmt);
	vsnprintf(a->message, sizeof(a->message), fmt, ap);
	va_end(ap);
}

/* A change made: remember it, and pause the NIC if it keeps changing. */
static bool flapping(struct nic *n, double now)
{
	double oldest;

	n->changes[n->nr_changes++ % FLAP_CHANGES] = now;
	if (n->nr_changes < FLAP_CHANGES)
		return false;
	oldest = n->changes[n->nr_changes % FLAP_CHANGES];
	return now - oldest < FLAP_WINDOW_S;
}

static void fail(struct nic *n, double now)
{
	n->state = NIC_FAILED;
	n->backoff = n->backoff ? n->backoff * 2 : 1;
	if (n->backoff > BACKOFF_MAX_S)
		n->backoff = BACKOFF_MAX_S;
	n->due = now + n->backoff;
	n->dirty = true;
}

/* Bring one NIC to what setup would make of it; returns the actions written (0-2). */
static int converge(struct sc_watch *w, struct nic *n, double now, struct sc_watch_action *a,
		    int max)
{
	struct sc_setup_opts so = w->o.setup;
	struct sc_state *v = NULL, st;
	char problem[256] = "", followed[128];
	bool complete = false;
	struct sc_link l;
	unsigned int rx = 0;
	double t0, since = n->dirty ? n->dirty_since : now;
	int nv = 0, err, k = 0;

	n->dirty = false;
	if (sc_nl_link_by_name(w->nl, n->name, &l)) {
		sc_clear_error();
		if (n->state != NIC_ABSENT && k < max)
			action(&a[k++], SC_WATCH_WAITING, n, "%s: no such device; waiting for it",
			       n->name);
		n->state = NIC_ABSENT;
		n->ifindex = 0;
		return k;
	}
	n->ifindex = l.ifindex;
	if (!(l.flags & IFF_UP)) {
		if (n->state != NIC_DOWN && k < max)
			action(&a[k++], SC_WATCH_WAITING, n,
			       "%s is down: it has no active queues to shard; waiting for it to come up",
			       n->name);
		n->state = NIC_DOWN;
		return k;
	}
	if (!sc_status(n->name, &v, &nv) && nv == 1 && v[0].ifindex == l.ifindex) {
		complete = v[0].complete;
		rx = v[0].nic_rxq;	/* status read the active queues just now */
		snprintf(problem, sizeof(problem), "%s", v[0].problem);
	}
	sc_clear_error();
	sc_states_free(v, nv);
	if (complete) {
		if (n->state == NIC_UNKNOWN && k < max) {
			action(&a[k], SC_WATCH_READY, n, "%s: already set up and complete", n->name);
			a[k++].rx_queues = rx;
		}
		if (rx)
			n->rxq = rx;
		n->state = NIC_CONVERGED;
		n->backoff = 0;
		return k;
	}
	so.dev = n->name;
	so.dry_run = false;
	t0 = sc_monotonic_s();
	err = sc_setup(&so, &st);
	if (err) {
		bool same = !strcmp(n->last_error, sc_last_error());

		snprintf(n->last_error, sizeof(n->last_error), "%s", sc_last_error());
		fail(n, now);
		if (k < max && (!same || n->backoff >= BACKOFF_MAX_S))
			action(&a[k++], SC_WATCH_FAILED, n, "%s (next try in %.0f s)", n->last_error,
			       n->backoff);
		return k;
	}
	n->last_error[0] = '\0';
	n->backoff = 0;
	n->state = NIC_CONVERGED;
	n->rxq = st.nic_rxq ? st.nic_rxq : st.nr_rxq;
	if (k < max) {
		struct sc_watch_action *x = &a[k++];

		if (st.replaced)
			action(x, SC_WATCH_REPAIRED, n,
			       "%s: the NIC was replaced (ifindex %d -> %d): removed the old setup, set "
			       "up %u shards", n->name, st.replaced, st.ifindex, st.nr_shards);
		else if (sc_state_followed(&st, followed, sizeof(followed)))
			action(x, SC_WATCH_FOLLOWED, n, "%s: %s", n->name, followed);
		else if (problem[0])
			action(x, SC_WATCH_REPAIRED, n, "%s: repaired: %s", n->name, problem);
		else
			action(x, SC_WATCH_SETUP, n, "%s: set up %u shards for %u rx queues", n->name,
			       st.nr_shards, st.nr_rxq);
		x->ifindex = st.ifindex;
		x->rx_queues = st.nr_rxq;
		x->shards = st.nr_shards;
		x->was_rx_queues = st.was_rxq;
		x->was_shards = st.was_shards;
		x->replaced_ifindex = st.replaced;
		x->took_ms = (sc_monotonic_s() - t0) * 1e3;
		x->since_change_ms = (sc_monotonic_s() - since) * 1e3;
	}
	sc_state_free(&st);
	if (flapping(n, now)) {
		n->due = now + FLAP_PAUSE_S;
		if (k < max)
			action(&a[k++], SC_WATCH_BACKOFF, n,
			       "%s: changed %d times within %.0f s; next check in %.0f s", n->name,
			       FLAP_CHANGES, FLAP_WINDOW_S, FLAP_PAUSE_S);
	}
	return k;
}

int sc_watch_run(struct sc_watch *w, struct sc_watch_action *acts, int max, int *timeout_ms)
{
	struct notice_ctx c = { .w = w, .now = sc_monotonic_s() };
	double next;
	int k = 0, err;

	err = sc_nl_events_read(w->ev, on_notice, &c);
	if (err == -ENOBUFS)	/* notices were lost: look at everything */
		for (unsigned int i = 0; i < w->nr; i++)
			mark(&w->nics[i], c.now, SETTLE_S);
	if (c.now >= w->next_full) {
		for (unsigned int i = 0; i < w->nr; i++)
			mark(&w->nics[i], c.now, 0);
		w->next_full = c.now + w->o.full_s;
	}
	if (c.now >= w->next_probe) {
		for (unsigned int i = 0; i < w->nr; i++)
			probe(w, &w->nics[i], c.now);
		w->next_probe = c.now + w->o.interval_s;
	}
	for (unsigned int i = 0; i < w->nr && k < max; i++) {
		struct nic *n = &w->nics[i];

		if (n->dirty && c.now >= n->due)
			k += converge(w, n, c.now, acts + k, max - k);
	}
	c.now = sc_monotonic_s();
	next = w->next_probe < w->next_full ? w->next_probe : w->next_full;
	for (unsigned int i = 0; i < w->nr; i++)
		if (w->nics[i].dirty && w->nics[i].due < next)
			next = w->nics[i].due;
	*timeout_ms = next > c.now ? (int)((next - c.now) * 1e3) + 1 : 0;
	return k;
}

bool sc_watch_settled(const struct sc_watch *w)
{
	for (unsigned int i = 0; i < w->nr; i++)
		if (w->nics[i].state == NIC_UNKNOWN)
			return false;
	return true;
}

int sc_watch_teardown(struct sc_watch *w, struct sc_watch_action *acts, int max)
{
	int k = 0, err = 0;

	for (unsigned int i = 0; i < w->nr && k < max; i++) {
		struct sc_state *v = NULL;
		int nv = 0, e;

		/* This process holds the claim, so the watched-device refusal does not apply. */
		e = sc_teardown(w->nics[i].name, 0, &v, &nv);
		if (e) {
			action(&acts[k++], SC_WATCH_FAILED, &w->nics[i], "%s", sc_last_error());
			err = err ? err : e;
		} else if (nv) {
			action(&acts[k], SC_WATCH_TORNDOWN, &w->nics[i], "%s: torn down (%u shards)",
			       w->nics[i].name, v[0].nr_shards);
			acts[k++].shards = v[0].nr_shards;
		}
		sc_clear_error();
		sc_states_free(v, nv);
	}
	return err ? err : k;
}

void sc_watch_close(struct sc_watch *w)
{
	char name[64];

	if (!w)
		return;
	for (unsigned int i = 0; i < w->nr; i++) {
		sc_watch_claim_name(name, sizeof(name), w->cookie, w->nics[i].name);
		sc_unclaim(w->nics[i].claim, name);
	}
	sc_nl_events_close(w->ev);
	sc_nl_close(w->nl);
	free(w->nics);
	free(w);
}
