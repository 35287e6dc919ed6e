// SPDX-License-Identifier: GPL-2.0
/*
 * The pure parts of the observability commands, without a kernel: top's
 * balance figures, softnet's rising-squeeze tracking and advice (from
 * synthetic softnet_stat files), bpfstat's histogram layout and names.
 * PASS/FAIL lines go to $RESULTS like tests/lib.sh writes them (tests/unit/check.h).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/observe/bpfstat.h"
#include "dataplane/doctor/check.h"
#include "dataplane/observe/softnet_watch.h"
#include "dataplane/observe/top.h"
#include "tests/unit/check.h"

static int near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static void test_imbalance(void)
{
	const double even[] = { 5, 5, 5, 5 }, ramp[] = { 10, 20, 30, 40 }, one[] = { 0, 0, 9, 0 };
	double mm, cv;

	sc_top_imbalance(even, 4, &mm, &cv);
	check(near(mm, 1) && near(cv, 0), "even queues: max/mean 1, cv 0", "%g %g", mm, cv);
	sc_top_imbalance(ramp, 4, &mm, &cv);
	check(near(mm, 1.6) && near(cv, sqrt(125) / 25), "10:20:30:40: max/mean 1.6, cv 0.447",
	      "%g %g", mm, cv);
	sc_top_imbalance(one, 4, &mm, &cv);
	check(near(mm, 4) && near(cv, sqrt(3)), "one busy queue of 4: max/mean 4, cv sqrt(3)",
	      "%g %g", mm, cv);
	sc_top_imbalance(one, 0, &mm, &cv);
	check(mm == 0 && cv == 0, "no queues: 0, 0", "%g %g", mm, cv);
	sc_top_imbalance((const double[]){ 0, 0 }, 2, &mm, &cv);
	check(mm == 0 && cv == 0, "idle: 0, 0 (not NaN)", "%g %g", mm, cv);
}

/* 13 hex columns, the 13th the CPU id; offline CPUs are skipped. */
static void write_softnet(const char *path, const unsigned int (*rows)[4], int n)
{
	FILE *f = fopen(path, "w");

	for (int i = 0; i < n; i++)
		fprintf(f, "%08x %08x %08x 00000000 00000000 00000000 00000000 00000000 "
			   "00000000 00000000 %08x 00000000 %08x\n",
			rows[i][1], rows[i][2], rows[i][3], 0u, rows[i][0]);
	fclose(f);
}

static const struct sc_softnet_advice *find(const struct sc_softnet_advice *a, int n,
					    enum sc_softnet_advice_kind kind)
{
	for (int i = 0; i < n; i++)
		if (a[i].kind == kind)
			return &a[i];
	return NULL;
}

static void test_softnet(void)
{
	char path[] = "/tmp/sc-observe-softnet.XXXXXX";
	struct sc_netcore nc = { .known = true, .netdev_budget = 300, .netdev_budget_usecs = 8000,
				 .netdev_max_backlog = 1000 };
	struct sc_softnet_advice adv[4];
	struct sc_softnet_report r;
	struct sc_softnet_watch *w = NULL;
	const struct sc_softnet_advice *a;
	int fd = mkstemp(path), n, err;

	if (fd < 0) {
		check(0, "softnet temp file", "mkstemp failed");
		return;
	}
	/* {cpu, processed, dropped, time_squeeze}; CPU 2 offline. */
	write_softnet(path, (const unsigned int[][4]){ { 0, 100, 0, 0 }, { 1, 0xfffffff0, 0, 5 },
						       { 3, 7, 0, 0 } }, 3);
	err = sc_softnet_watch_open(path, &w);
	check(!err, "watch opens a synthetic softnet_stat", "err %d", err);
	if (err)
		goto out;

	/* Interval 1: CPU 1 squeezes (and its processed counter wraps). */
	write_softnet(path, (const unsigned int[][4]){ { 0, 150, 0, 0 }, { 1, 0x10, 0, 9 },
						       { 3, 7, 0, 0 } }, 3);
	err = sc_softnet_watch_sample(w, &r);
	check(!err && r.nr_cpus == 3, "sample keys rows by CPU id (0, 1, 3)", "err %d n %u", err,
	      r.nr_cpus);
	if (err)
		goto out;
	check(r.cpus[1].cpu == 1 && r.cpus[1].delta.processed == 0x20,
	      "a 32-bit counter wrap gives the right delta", "%llu",
	      (unsigned long long)r.cpus[1].delta.processed);
	check(r.sum.processed == 50 + 0x20 && r.sum.time_squeeze == 4, "sums over CPUs",
	      "%llu %llu", (unsigned long long)r.sum.processed,
	      (unsigned long long)r.sum.time_squeeze);
	check(!r.cpus[1].squeeze_rising && r.cpus[1].squeeze_streak == 1,
	      "one squeezing interval is not yet 'keeps rising'", "streak %u",
	      r.cpus[1].squeeze_streak);
	n = sc_softnet_advise(&r, &nc, adv, 4);
	a = find(adv, n, SC_SOFTNET_RAISE_BUDGET);
	check(n == 1 && a && a->act && !strcmp(a->cpus, "1") && strstr(a->text, "netdev_budget=300"),
	      "squeeze without drops: raise the budget, naming CPU 1 and the knob", "%d '%s'", n,
	      a ? a->text : "");
	sc_softnet_report_free(&r);

	/* Interval 2: CPU 1 squeezes again and CPU 3 drops. */
	write_softnet(path, (const unsigned int[][4]){ { 0, 150, 0, 0 }, { 1, 0x20, 0, 12 },
						       { 3, 9, 3, 0 } }, 3);
	err = sc_softnet_watch_sample(w, &r);
	if (err)
		goto out;
	check(r.cpus[1].squeeze_rising && r.cpus[1].squeeze_streak == 2,
	      "two squeezing intervals in a row: rising", "streak %u", r.cpus[1].squeeze_streak);
	n = sc_softnet_advise(&r, &nc, adv, 4);
	a = find(adv, n, SC_SOFTNET_BACKLOG);
	check(a && a->act && !strcmp(a->cpus, "3") && strstr(a->text, "netdev_max_backlog=1000"),
	      "drops point at the backlog and netdev_max_backlog", "'%s'", a ? a->text : "");
	a = find(adv, n, SC_SOFTNET_RAISE_BUDGET);
	check(a && !a->act && strstr(a->text, "keeps rising") && strstr(a->text, "backlog first"),
	      "squeeze with drops: budget is not the first fix", "'%s'", a ? a->text : "");
	sc_softnet_report_free(&r);

	/* Interval 3: quiet. */
	err = sc_softnet_watch_sample(w, &r);
	if (err)
		goto out;
	n = sc_softnet_advise(&r, &nc, adv, 4);
	check(n == 1 && adv[0].kind == SC_SOFTNET_FINE && !adv[0].act && !r.cpus[1].squeeze_rising,
	      "a quiet interval: fine, streak reset", "%d %s", n, adv[0].text);
	nc.known = false;
	n = sc_softnet_advise(&r, &nc, adv, 4);
	check(n == 1 && strstr(adv[0].text, "netdev_budget=?"), "unknown knobs print as '?'",
	      "%s", adv[0].text);
	check(sc_softnet_advise(&r, &nc, adv, 0) == 0, "max 0: no advice written", "%s", "wrote some");
	sc_softnet_report_free(&r);
out:
	if (err)
		check(0, "softnet watch", "err %d", err);
	sc_softnet_watch_close(w);
	unlink(path);
}

static void test_bpfstat(void)
{
	struct sc_bpfstat_cmd c = { .count = 100 };
	uint64_t lo, hi;

	sc_bpfstat_slot_range(0, &lo, &hi);
	check(lo == 0 && hi == 1, "slot 0 is 0-1 us", "%llu-%llu", (unsigned long long)lo,
	      (unsigned long long)hi);
	sc_bpfstat_slot_range(4, &lo, &hi);
	check(lo == 16 && hi == 31, "slot 4 is 16-31 us", "%llu-%llu", (unsigned long long)lo,
	      (unsigned long long)hi);
	c.slots[0] = 90;
	c.slots[3] = 9;
	c.slots[10] = 1;
	check(sc_bpfstat_percentile_us(&c, 50) == 1 && sc_bpfstat_percentile_us(&c, 99) == 15 &&
		      sc_bpfstat_percentile_us(&c, 100) == 2047,
	      "percentiles: p50 <= 1, p99 <= 15, p100 <= 2047 us", "%llu %llu %llu",
	      (unsigned long long)sc_bpfstat_percentile_us(&c, 50),
	      (unsigned long long)sc_bpfstat_percentile_us(&c, 99),
	      (unsigned long long)sc_bpfstat_percentile_us(&c, 100));
	check(!strcmp(sc_bpf_cmd_name(2), "BPF_MAP_UPDATE_ELEM") &&
		      !strcmp(sc_bpf_cmd_name(5), "BPF_PROG_LOAD") &&
		      !strcmp(sc_bpf_cmd_name(37), "BPF_PROG_STREAM_READ_BY_FD") && !sc_bpf_cmd_name(38),
	      "bpf command names follow the uapi numbers", "%s", "mismatch");
}

static const struct sc_check_finding *finding(const struct sc_check_report *r, const char *id)
{
	for (int i = 0; i < r->nr_findings; i++)
		if (!strcmp(r->findings[i].id, id))
			return &r->findings[i];
	return NULL;
}

static void test_check_judge(void)
{
	static struct sc_check_facts f;
	static struct sc_check_report r;
	const struct sc_check_finding *x;

	memset(&f, 0, sizeof(f));
	snprintf(f.dev, sizeof(f.dev), "eth0");
	f.rx_queues = f.tx_queues = 8;
	f.nr_path = 2;
	f.path[0] = (struct sc_check_dev){ .name = "eth0", .role = "device", .tx_queues = 8, .lltx = 0 };
	f.path[1] = (struct sc_check_dev){ .name = "eth0.5", .kind = "vlan", .role = "upper",
					   .tx_queues = 1, .lltx = 0 };
	sc_check_judge(&f, &r);
	x = finding(&r, "tx_lock");
	check(x && x->level == SC_CHECK_ACTION && strstr(x->evidence, "eth0.5") && r.action,
	      "single-queue upper without LLTX: tx_lock action", "%s", x ? x->evidence : "none");
	check(r.fit == SC_FIT_NONE && finding(&r, "root_qdisc")->level == SC_CHECK_OK,
	      "no root qdisc: nothing to fit", "fit %d", r.fit);

	f.path[1].lltx = 1;
	f.has_root = true;
	snprintf(f.root_kind, sizeof(f.root_kind), "pfifo_fast");
	sc_check_judge(&f, &r);
	check(!r.action && finding(&r, "root_qdisc")->level == SC_CHECK_INFO,
	      "a shared pfifo_fast root (TCQ_F_NOLOCK) is info, not action", "action %d", r.action);

	f.tx_queues = 1;
	snprintf(f.root_kind, sizeof(f.root_kind), "htb");
	sc_check_judge(&f, &r);
	check(r.action && r.fit == SC_FIT_SHARDS, "htb on one tx queue, 8 rx queues: shards fit",
	      "fit %d", r.fit);
	f.rx_queues = 1;
	sc_check_judge(&f, &r);
	check(r.fit == SC_FIT_NEITHER && !r.action,
	      "one rx and one tx queue: neither fits, nothing to act on", "fit %d", r.fit);

	f.rx_queues = f.tx_queues = 4;
	f.sampled = true;
	f.rx_frames = 999;
	f.rx_balance_queues = 4;
	f.rx_max_mean = 4;
	snprintf(f.root_kind, sizeof(f.root_kind), "mq");
	sc_check_judge(&f, &r);
	check(!r.action && finding(&r, "rx_balance")->level == SC_CHECK_INFO,
	      "below 1000 frames the balance is not judged", "action %d", r.action);
	f.rx_frames = 5000;
	sc_check_judge(&f, &r);
	check(r.action && finding(&r, "rx_balance")->level == SC_CHECK_ACTION,
	      "5000 frames, max/mean 4: imbalance action", "action %d", r.action);
}

/* The root lock's figures in root_qdisc's evidence: the ceiling only when the sample can carry it. */
static void test_check_lock(void)
{
	static struct sc_check_facts f;
	static struct sc_check_report r;
	const struct sc_check_finding *x;

	memset(&f, 0, sizeof(f));
	snprintf(f.dev, sizeof(f.dev), "eth0");
	f.rx_queues = f.tx_queues = 4;
	f.has_root = true;
	snprintf(f.root_kind, sizeof(f.root_kind), "htb");
	f.sampled = true;
	f.sample_s = 2;
	sc_check_judge(&f, &r);
	x = finding(&r, "root_qdisc");
	check(x && !strstr(x->evidence, "root lock ") && !strstr(x->evidence, "measured"),
	      "no lock sample (static, or not tried): root_qdisc says nothing of it", "%s",
	      x ? x->evidence : "none");

	f.lock_tried = f.lock_measured = true;
	f.lock_held_samples = 1000;
	f.lock_busy = 0.85;
	f.root_pps = 780000;
	f.lock_hold_ns = 1e9 * 0.85 / 780000;
	f.lock_ceiling_pps = 1e9 / f.lock_hold_ns;
	sc_check_judge(&f, &r);
	x = finding(&r, "root_qdisc");
	check(x && x->level == SC_CHECK_ACTION &&
		      strstr(x->evidence, "root lock 85% busy at 780k frames/s: it cannot carry more "
					  "than ~918k frames/s on any number of cores; shards remove "
					  "that limit"),
	      "85% busy at 780k frames/s: the ceiling sentence", "%s", x ? x->evidence : "none");

	f.lock_held_samples = SC_CHECK_MIN_HELD_SAMPLES - 1;
	sc_check_judge(&f, &r);
	x = finding(&r, "root_qdisc");
	check(x && !strstr(x->evidence, "cannot carry") && strstr(x->evidence, "too few"),
	      "too few held samples: no ceiling", "%s", x ? x->evidence : "none");

	f.lock_held_samples = 0;
	f.lock_busy = f.root_pps = f.lock_hold_ns = f.lock_ceiling_pps = 0;
	sc_check_judge(&f, &r);
	x = finding(&r, "root_qdisc");
	check(x && !strstr(x->evidence, "cannot carry") && strstr(x->evidence, "no frames"),
	      "no frames through the root: says so, no ceiling", "%s", x ? x->evidence : "none");

	f.lock_measured = false;
	snprintf(f.lock_why, sizeof(f.lock_why), "perf_event_open(cpu-clock, cpu 0): No such device");
	sc_check_judge(&f, &r);
	x = finding(&r, "root_qdisc");
	check(x && strstr(x->evidence, "could not be measured: perf_event_open") && r.action,
	      "sampler unavailable: one clause says why, the finding stands", "%s",
	      x ? x->evidence : "none");

	f.lock_measured = true;
	f.lock_held_samples = 1000;
	f.lock_busy = 0.5;
	f.root_pps = 2e6;
	f.lock_hold_ns = 250;
	f.lock_ceiling_pps = 4e6;
	f.tx_queues = f.rx_queues = 1;
	sc_check_judge(&f, &r);
	x = finding(&r, "root_qdisc");
	check(x && strstr(x->evidence, "~4.00M frames/s") && !strstr(x->evidence, "shards remove"),
	      "one rx and one tx queue: the ceiling, but no promise that shards lift it", "%s",
	      x ? x->evidence : "none");

	snprintf(f.root_kind, sizeof(f.root_kind), "mq");
	f.tx_queues = f.rx_queues = 4;
	sc_check_judge(&f, &r);
	x = finding(&r, "root_qdisc");
	check(x && x->level == SC_CHECK_OK && !strstr(x->evidence, "cannot carry"),
	      "mq root: no ceiling sentence", "%s", x ? x->evidence : "none");
}

int main(void)
{
	if (check_begin("t_unit_observe"))
		return 1;
	test_imbalance();
	test_softnet();
	test_bpfstat();
	test_check_judge();
	test_check_lock();
	return check_end();
}
