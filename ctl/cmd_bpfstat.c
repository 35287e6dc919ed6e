// SPDX-License-Identifier: GPL-2.0
/*
 * shardctl bpfstat: bpf(2) latency histograms per command, the way
 * bpfsyscalldist shows them, from raw syscall tracepoints.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/syscall.h>

#include "ctl/ctl.h"
#include "dataplane/observe/bpfstat.h"
#include "dataplane/kernel/error.h"

struct bpfstat_args {
	unsigned long pid;
	bool tree;
	double duration;
};

static const struct ctl_opt bpfstat_opts[] = {
	{ "pid", 'P', "PID", "only this process (default: every process but shardctl)",
	  CTL_UINT, CTL_FIELD(struct bpfstat_args, pid), .min = 1, .max = 4194304 },
	{ "tree", 't', NULL, "with --pid: its descendants too (e.g. a script's commands)",
	  CTL_FLAG, CTL_FIELD(struct bpfstat_args, tree) },
	{ "duration", 'd', "S", "seconds to trace (default: until ^C, or until PID exits)",
	  CTL_DOUBLE, CTL_FIELD(struct bpfstat_args, duration), .min = 0.01, .max = 86400 },
	{ 0 },
};

static unsigned int last_slot(const struct sc_bpfstat_cmd *c)
{
	unsigned int last = 0;

	for (unsigned int i = 0; i < SC_BPFSTAT_SLOTS; i++)
		if (c->slots[i])
			last = i;
	return last;
}

static void print_hist(const struct sc_bpfstat_cmd *c)
{
	uint64_t max = 0, lo, hi;
	unsigned int last = last_slot(c);

	for (unsigned int i = 0; i <= last; i++)
		if (c->slots[i] > max)
			max = c->slots[i];
	printf("%s: %llu calls, %llu failed, avg %.1f us, p50 <= %llu us, p99 <= %llu us, "
	       "max %.1f us\n",
	       c->name, (unsigned long long)c->count, (unsigned long long)c->errors,
	       c->total_ns / 1e3 / c->count,
	       (unsigned long long)sc_bpfstat_percentile_us(c, 50),
	       (unsigned long long)sc_bpfstat_percentile_us(c, 99), c->max_ns / 1e3);
	printf("%24s : %-10s distribution\n", "usecs", "count");
	for (unsigned int i = 0; i <= last; i++) {
		int stars = max ? (int)(c->slots[i] * 40 / max) : 0;

		sc_bpfstat_slot_range(i, &lo, &hi);
		printf("%10llu -> %-10llu : %-10llu |%-40.*s|\n", (unsigned long long)lo,
		       (unsigned long long)hi, (unsigned long long)c->slots[i], stars,
		       "****************************************");
	}
	putchar('\n');
}

static void print_table(const struct sc_bpfstat_report *r, unsigned long pid)
{
	if (pid)
		printf("bpf() calls of pid %lu in %.2f s\n\n", pid, r->duration_s);
	else
		printf("bpf() calls of every process in %.2f s\n\n", r->duration_s);
	if (!r->nr_cmds)
		printf("none\n");
	for (unsigned int i = 0; i < r->nr_cmds; i++)
		print_hist(&r->cmds[i]);
	if (r->missed)
		printf("%llu calls not timed: more threads inside bpf() at once than the table holds\n",
		       (unsigned long long)r->missed);
}

static json_object *json_cmd(const struct sc_bpfstat_cmd *c)
{
	json_object *o = json_object_new_object(), *h = json_object_new_array();
	unsigned int last = last_slot(c);
	uint64_t lo, hi;

	json_object_object_add(o, "cmd", json_object_new_int((int)c->cmd));
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "count", json_object_new_uint64(c->count));
	json_object_object_add(o, "errors", json_object_new_uint64(c->errors));
	json_object_object_add(o, "avg_us", ctl_json_fixed(c->total_ns / 1e3 / c->count, "%.3f"));
	json_object_object_add(o, "max_us", ctl_json_fixed(c->max_ns / 1e3, "%.3f"));
	json_object_object_add(o, "p50_us_le",
			       json_object_new_uint64(sc_bpfstat_percentile_us(c, 50)));
	json_object_object_add(o, "p99_us_le",
			       json_object_new_uint64(sc_bpfstat_percentile_us(c, 99)));
	for (unsigned int i = 0; i <= last; i++) {
		json_object *s = json_object_new_object();

		sc_bpfstat_slot_range(i, &lo, &hi);
		json_object_object_add(s, "lo_us", json_object_new_uint64(lo));
		json_object_object_add(s, "hi_us", json_object_new_uint64(hi));
		json_object_object_add(s, "count", json_object_new_uint64(c->slots[i]));
		json_object_array_add(h, s);
	}
	json_object_object_add(o, "histogram", h);
	return o;
}

static void print_json(const struct ctl_common *common, const struct sc_bpfstat_report *r,
		       unsigned long pid)
{
	json_object *o = json_object_new_object(), *cmds = json_object_new_array();

	json_object_object_add(o, "duration_s", ctl_json_fixed(r->duration_s, "%.3f"));
	json_object_object_add(o, "pid", pid ? json_object_new_int64((int64_t)pid) : NULL);
	json_object_object_add(o, "missed", json_object_new_uint64(r->missed));
	for (unsigned int i = 0; i < r->nr_cmds; i++)
		json_object_array_add(cmds, json_cmd(&r->cmds[i]));
	json_object_object_add(o, "commands", cmds);
	ctl_print_json(common, o);
}

/*
 * A pidfd turns readable when the process exits, zombie or not (kill(pid, 0)
 * would still succeed on a zombie its parent has not reaped).
 */
static bool pid_gone(int pidfd, pid_t pid)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (pidfd >= 0)
		return poll(&p, 1, 0) > 0;
	return kill(pid, 0) && errno == ESRCH;
}

/* Until the duration ends, a signal arrives, or the traced process is gone. */
static void wait_done(const struct bpfstat_args *a)
{
	struct timespec start, now, tick = { 0, 20 * 1000 * 1000 };
	int pidfd = a->pid ? (int)syscall(SYS_pidfd_open, (pid_t)a->pid, 0) : -1;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!ctl_stop) {
		nanosleep(&tick, NULL);
		if (a->pid && pid_gone(pidfd, (pid_t)a->pid))
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (a->duration > 0 &&
		    (now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 >= a->duration)
			break;
	}
	if (pidfd >= 0)
		close(pidfd);
}

static int bpfstat_run(const struct ctl_common *c, void *args)
{
	const struct bpfstat_args *a = args;
	struct sc_bpfstat_report r;
	struct sc_bpfstat *s;
	int rc = EXIT_OK;

	ctl_catch_stop();
	if (a->tree && !a->pid)
		return ctl_err(EXIT_USAGE, "bpfstat", "--tree needs --pid");
	if (sc_bpfstat_open((pid_t)a->pid, a->tree ? SC_BPFSTAT_TREE : 0, &s))
		return ctl_fail("bpfstat");
	fprintf(stderr, "shardctl bpfstat: tracing bpf() calls%s; ^C to stop\n",
		a->pid ? " of the given pid" : "");
	wait_done(a);
	if (sc_bpfstat_read(s, &r)) {
		rc = ctl_fail("bpfstat");
	} else {
		if (c->json)
			print_json(c, &r, a->pid);
		else
			print_table(&r, a->pid);
		sc_bpfstat_report_free(&r);
	}
	sc_bpfstat_close(s);
	return rc;
}

const struct ctl_cmd cmd_bpfstat = {
	.name = "bpfstat",
	.summary = "Latency histograms of bpf() syscalls per command (map updates, loads, ...).",
	.description =
		"Times every bpf() call from entry to return (raw_syscalls:sys_enter/sys_exit,\n"
		"aggregated in the kernel) and prints one log2 histogram in microseconds per\n"
		"command. Tracing starts when 'tracing' is printed on stderr and ends at\n"
		"--duration, ^C, or when --pid exits. While it runs, every syscall on the host\n"
		"pays one hash lookup at exit. --tree counts the pid's descendants too: to\n"
		"measure a script, start it waiting (e.g. on a file), trace its pid with\n"
		"--tree, then let it go.",
	.opts = CTL_TABLES(bpfstat_opts),
	.args_size = sizeof(struct bpfstat_args),
	.run = bpfstat_run,
};
