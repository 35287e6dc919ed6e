/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reconciler behind `shardctl watch`: keeps each named NIC set up as
 * `shardctl setup DEV [options]` would leave it, following the NIC as it
 * changes (queue counts, a replaced device, a deleted or downed shard).
 *
 * Changes are noticed three ways: rtnetlink link notifications for the NIC
 * and its shard devices and ethtool channel notifications (5.6), which
 * cover what real NICs change (ethtool -L, resets, a replaced device), and a
 * cheap periodic probe (the NIC's ifindex, up state, active rx queue count,
 * our ingress program) for what no notification announces (a TAP's queue
 * count, removed pins); a full status read every full_s is the backstop.
 * The probe runs every 5 s by default: about 0.5 ms of CPU each, so an
 * idle watch costs about 0.01% of a CPU. A NIC is changed
 * only through sc_setup(), which holds the NIC's lock just while it
 * changes something, so status/remap by hand keep working beside a watch.
 *
 * The caller owns the waiting: poll sc_watch_fds() for POLLIN with the
 * timeout sc_watch_run() returns, and call sc_watch_run() again.
 */
#ifndef SC_WATCH_H
#define SC_WATCH_H

#include <net/if.h>
#include <stdbool.h>

#include "dataplane/shard/shard.h"

#define SC_WATCH_MAX_DEVS 64
#define SC_WATCH_PROBE_S 5.0	/* default interval_s */
#define SC_WATCH_FULL_S 60.0	/* default full_s */

struct sc_watch_opts {
	const char *const *devs;	/* names, as setup takes them */
	unsigned int nr_devs;
	struct sc_setup_opts setup;	/* .dev is set per NIC; .dry_run must be false */
	double interval_s;		/* the cheap probe (0: SC_WATCH_PROBE_S) */
	double full_s;			/* the full status read (0: SC_WATCH_FULL_S) */
};

enum sc_watch_what {
	SC_WATCH_READY,		/* already set up and complete when first seen */
	SC_WATCH_SETUP,		/* set up from nothing */
	SC_WATCH_FOLLOWED,	/* the NIC's rx queue count changed: shards added/removed */
	SC_WATCH_REPAIRED,	/* something was missing (a shard, a program, the NIC replaced) */
	SC_WATCH_WAITING,	/* the NIC is absent or down: nothing to do until it is back */
	SC_WATCH_FAILED,	/* setup refused or failed; retried with backoff */
	SC_WATCH_BACKOFF,	/* changing too often: checks slowed down for a while */
	SC_WATCH_TORNDOWN,	/* sc_watch_teardown() removed the setup */
};

/* One thing watch did or saw; one log line each. */
struct sc_watch_action {
	enum sc_watch_what what;
	char dev[IF_NAMESIZE];
	int ifindex;
	unsigned int rx_queues, shards;	/* after the action */
	unsigned int was_rx_queues, was_shards;
	int replaced_ifindex;		/* REPAIRED: the gone NIC's setup was removed */
	double took_ms;			/* time spent in sc_setup() */
	double since_change_ms;		/* from the first unhandled notice to converged; <0 unknown */
	char message[512];		/* a sentence for people */
};

const char *sc_watch_what_name(enum sc_watch_what what);

struct sc_watch;

/*
 * Claim every NIC (a second watch of one NIC is refused: -EWOULDBLOCK with
 * a message naming the pid that holds it) and open the notification
 * sockets. Nothing is set up yet.
 */
int sc_watch_open(const struct sc_watch_opts *o, struct sc_watch **out);
/* The descriptors to poll for POLLIN; returns how many (at most 2). */
int sc_watch_fds(const struct sc_watch *w, int fds[2]);
/*
 * Read notifications, probe what is due and converge the NICs that need
 * it. Fills up to @max actions and returns their count: it does not fail,
 * a NIC's trouble is one of its actions (failed, waiting, backoff).
 * *timeout_ms is how long the caller may wait before the next call.
 */
int sc_watch_run(struct sc_watch *w, struct sc_watch_action *acts, int max, int *timeout_ms);
/* Every NIC was checked at least once, and each is either complete or waiting/failed. */
bool sc_watch_settled(const struct sc_watch *w);
/* Tear every watched NIC down (--teardown-on-exit); one action per NIC. */
int sc_watch_teardown(struct sc_watch *w, struct sc_watch_action *acts, int max);
/* Release the claims and sockets. */
void sc_watch_close(struct sc_watch *w);

#endif
