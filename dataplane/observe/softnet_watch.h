/* SPDX-License-Identifier: GPL-2.0 */
/*
 * softnet_stat followed over intervals: per-CPU rates, which CPUs keep
 * squeezing, and advice grounded in those counters and the net.core knobs
 * (dataplane/sysctl.h). Built on sc_softnet_read()/sc_softnet_delta().
 */
#ifndef SC_SOFTNET_WATCH_H
#define SC_SOFTNET_WATCH_H

#include <stdbool.h>

#include "dataplane/kernel/softnet.h"
#include "dataplane/kernel/sysctl.h"

/* time_squeeze "keeps rising" once it rose in this many intervals in a row. */
#define SC_SOFTNET_RISING 2

struct sc_softnet_rate {
	uint32_t cpu;
	struct sc_softnet_cpu delta;	/* counts in the interval; backlog_len is now */
	struct sc_softnet_cpu now;	/* the kernel's counters at the end of it */
	double processed, dropped, time_squeeze, received_rps, flow_limit;	/* per second */
	unsigned int squeeze_streak;	/* intervals in a row, this one included, it rose */
	unsigned int drop_streak;
	bool squeeze_rising;		/* squeeze_streak >= SC_SOFTNET_RISING */
};

struct sc_softnet_report {
	double interval_s;
	unsigned int intervals;		/* samples taken so far, this one included */
	unsigned int nr_cpus;
	struct sc_softnet_rate *cpus;
	struct sc_softnet_cpu sum;	/* deltas over all CPUs (cpu field unused) */
};

enum sc_softnet_advice_kind {
	SC_SOFTNET_FINE,		/* nothing rose */
	SC_SOFTNET_RAISE_BUDGET,	/* time_squeeze rose, no drops */
	SC_SOFTNET_BACKLOG,		/* dropped rose: backlog over netdev_max_backlog */
	SC_SOFTNET_FLOW_LIMIT,		/* the flow limit dropped frames of heavy flows */
};

struct sc_softnet_advice {
	enum sc_softnet_advice_kind kind;
	bool act;			/* the operator should change something */
	char cpus[128];			/* "0,3" the CPUs concerned; "" for none */
	char text[512];
};

struct sc_softnet_watch;

/* Takes the baseline snapshot (@path NULL = /proc/net/softnet_stat). */
int sc_softnet_watch_open(const char *path, struct sc_softnet_watch **out);
/* Rates since the previous call. */
int sc_softnet_watch_sample(struct sc_softnet_watch *w, struct sc_softnet_report *out);
void sc_softnet_report_free(struct sc_softnet_report *r);
void sc_softnet_watch_close(struct sc_softnet_watch *w);

/*
 * Advice for @r (a pure function, for tests): fills up to @max entries and
 * returns how many; at least one (SC_SOFTNET_FINE when nothing rose).
 */
int sc_softnet_advise(const struct sc_softnet_report *r, const struct sc_netcore *nc,
		      struct sc_softnet_advice *adv, int max);
const char *sc_softnet_advice_name(enum sc_softnet_advice_kind kind);

#endif
