/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The doctor behind `shardctl check DEV`: gathers facts about DEV (root
 * qdisc and the tx queues it covers, device-wide rate limits, the devices
 * on its transmit path and whether they transmit lock-free, shards),
 * samples softnet_stat and DEV's per-rx-queue counts for a moment, and
 * judges them. sc_check_judge() is a pure function of the facts.
 */
#ifndef SC_CHECK_H
#define SC_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include "dataplane/kernel/qdisc.h"
#include "dataplane/observe/softnet_watch.h"

#define SC_CHECK_MAX_PATH 16
#define SC_CHECK_MAX_RATES 8
#define SC_CHECK_MAX_FINDINGS 8
#define SC_CHECK_WHY_LEN 256
/* Fewer rx frames than this in the sample: too few to call queues unbalanced. */
#define SC_CHECK_MIN_RX_FRAMES 1000
/* Busiest rx queue over the mean above this: unbalanced. */
#define SC_CHECK_MAX_MEAN 1.5
/*
 * Fewer samples inside the root lock's critical section than this: too few
 * for a ceiling. The hold time's relative error is 1/sqrt(samples), 18% at
 * 30, and below that a few stray stacks (another device's qdisc, a timer)
 * weigh as much as the load itself; at the sampler's 499 Hz, 30 samples
 * are 60 ms of lock hold, which check's default 2 s sample of a lock that
 * matters (3% busy or more) reaches.
 */
#define SC_CHECK_MIN_HELD_SAMPLES 30

struct sc_check_opts {
	const char *dev;
	double sample_s;		/* 0: static checks only */
	/*
	 * The caller's wait (the library never sleeps on its own): sleeps up to
	 * @seconds, returns false when the sample is to end early (^C).
	 */
	bool (*wait)(double seconds);
	void (*on_sampling)(void);	/* called once the sample window is open */
};

enum sc_check_level {
	SC_CHECK_OK,
	SC_CHECK_INFO,
	SC_CHECK_ACTION,		/* something should change: exit status 3 */
};

/* A device on DEV's transmit path. */
struct sc_check_dev {
	char name[IF_NAMESIZE];
	int ifindex;
	char kind[16];			/* "vlan", "macvlan", "" (physical, tun's "tun") */
	const char *role;		/* "device", "lower", "upper", "port", "master" */
	int tx_queues;			/* active; -1 unknown */
	int lltx;			/* tx-lockless: 1, 0, or -1 unknown */
	const char *lltx_from;		/* "net_device" (BPF probe), "ethtool", NULL */
};

enum sc_check_fit {
	SC_FIT_NONE,			/* nothing to fix */
	SC_FIT_MQ,			/* replace the root with mq: nothing is lost */
	SC_FIT_SHARDS,			/* keep the tree per shard (rate limits, one tx queue) */
	SC_FIT_NEITHER,			/* a shared lock neither removes (one rx and tx queue) */
};

struct sc_check_facts {
	char dev[IF_NAMESIZE];
	int ifindex;
	int rx_queues, tx_queues;	/* active; -1 unknown (device down) */
	bool has_root;
	char root_kind[SC_QDISC_KIND_LEN];
	uint32_t root_handle;
	int nr_rates;			/* device-wide rate limits in the tree */
	struct sc_qdisc_rate rates[SC_CHECK_MAX_RATES];
	unsigned int nr_path;
	struct sc_check_dev path[SC_CHECK_MAX_PATH];
	unsigned int nr_shards;		/* shard veths set up for DEV (both ends) */
	/* The sample (all zero when sample_s == 0). */
	double sample_s;
	bool sampled;
	struct sc_softnet_cpu softnet;	/* deltas summed over CPUs */
	int nr_softnet_advice;
	struct sc_softnet_advice softnet_advice[4];
	uint64_t rx_frames;		/* DEV's rx frames with a recorded queue */
	uint64_t rx_unrecorded;
	unsigned int rx_balance_queues;
	int rx_busiest;			/* queue index, -1 none */
	double rx_busiest_share;	/* of rx_frames */
	double rx_max_mean, rx_cv;
	/*
	 * DEV's root lock over the same window, when the root is shared
	 * (sc_contention_measure()'s hold figures). lock_tried: the sample
	 * ran with a shared root; lock_measured: the stack sampler ran, else
	 * lock_why says why not.
	 */
	bool lock_tried, lock_measured;
	char lock_why[SC_CHECK_WHY_LEN];
	uint64_t lock_held_samples;
	double lock_busy;		/* 0..1: the share of the window the lock was held */
	double lock_hold_ns;		/* per frame through the root; 0 without frames */
	double lock_rel_err;		/* 1 / sqrt(held samples) */
	double lock_ceiling_pps;	/* 1e9 / lock_hold_ns; 0 without frames */
	double root_pps;		/* frames through the root qdisc per second */
};

struct sc_check_finding {
	const char *id;			/* "root_qdisc", "tx_lock", "softnet", "rx_balance", "fit" */
	enum sc_check_level level;
	char evidence[768];
	char fix[512];
};

struct sc_check_report {
	struct sc_check_facts facts;
	enum sc_check_fit fit;
	bool action;			/* any finding at SC_CHECK_ACTION */
	int nr_findings;
	struct sc_check_finding findings[SC_CHECK_MAX_FINDINGS];
};

int sc_check(const struct sc_check_opts *opts, struct sc_check_report *out);
/* Findings and fit from facts alone (for tests). */
void sc_check_judge(const struct sc_check_facts *f, struct sc_check_report *out);

const char *sc_check_level_name(enum sc_check_level level);
const char *sc_check_fit_name(enum sc_check_fit fit);

#endif
