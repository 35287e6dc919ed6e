// SPDX-License-Identifier: GPL-2.0
/*
 * mqtap queues: change the held TAP's active queue count, as
 * `ethtool -L DEV combined N` does on a NIC. A multi-queue TAP has as many
 * active queues as attached queue fds; a detached one stays open in the
 * holder, so it can be attached again and nothing else about the TAP
 * changes (its ifindex, carrier, qdiscs and filters stay). The kernel's
 * real_num_rx/tx_queues, and so /sys/class/net/DEV/queues/, follow.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <json-c/json.h>

#include "netns/mqtap/mqtap.h"

struct queues_opts {
	const char *ns;
	unsigned long active;
	bool json;
};

/* The holder's queues, borrowed, and which of them are attached. */
struct queues_run {
	const struct queues_opts *o;
	int fds[MQ_MAX_QUEUES];
	unsigned int nfds;
	bool detached[MQ_MAX_QUEUES];
	const char *dev;
	pid_t pid;
};

static void queues_usage(FILE *f)
{
	fprintf(f, "Usage: mqtap queues --ns NS --active N [-j]\n\n"
		   "Make queues 0..N-1 of the TAP held for NS its active queues, as ethtool -L\n"
		   "does on a NIC: the holder's other queue fds are detached (kept open, not\n"
		   "closed), so N is 1 to the R queues `mqtap hold --queues R` created. Quiet on\n"
		   "success; -j prints {\"active\": N, \"allocated\": R}.\n\n"
		   "Exit status: 0 done (or nothing to do), 1 run-time error, 2 usage error.\n");
}

static int queues_parse(int argc, char **argv, struct queues_opts *o)
{
	static const struct option lo[] = {
		{ "ns", required_argument, NULL, 'n' },	  { "active", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },	  { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->ns = optarg;
			break;
		case 'a':
			if (mq_parse_ulong("--active", optarg, 1, MQ_MAX_QUEUES, &o->active))
				return EXIT_USAGE;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			queues_usage(stdout);
			return -1;
		default:
			queues_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || !o->ns || !o->active) {
		queues_usage(stderr);
		return EXIT_USAGE;
	}
	if (!mq_valid_name(o->ns, NAME_MAX - 16))
		return mq_errf(EXIT_USAGE, "--ns: bad namespace name '%s'", o->ns);
	return 0;
}

/*
 * One change at a time: two runs interleaving their detaches could leave
 * tun with the queues out of order. The pid file is the lock, so nothing
 * is left behind; it lives as long as the holder.
 */
static int queues_lock(const struct queues_run *q)
{
	char path[PATH_MAX];
	int fd;

	mq_pidfile_path(path, sizeof(path), q->o->ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mq_errf(-1, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX)) {
		mq_errf(-1, "%s: flock: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads every queue's attach state; returns how many are attached, or -1. */
static int queues_read(struct queues_run *q)
{
	int n = 0;

	for (unsigned int i = 0; i < q->nfds; i++) {
		int d = mq_queue_detached(q->fds[i]);

		if (d < 0)
			return mq_errf(-1, "%s in %s: queue %u (holder pid %d, fd %u): TUNGETIFF: %s",
				       q->dev, q->o->ns, i, (int)q->pid, MQ_QFD_BASE + i,
				       strerror(errno));
		q->detached[i] = d;
		n += !d;
	}
	return n;
}

/* True when exactly queues 0..@n-1 are attached. */
static bool queues_prefix(const struct queues_run *q, unsigned int n)
{
	for (unsigned int i = 0; i < q->nfds; i++)
		if (q->detached[i] != (i >= n))
			return false;
	return true;
}

static int queue_set(struct queues_run *q, unsigned int i, bool attach)
{
	if (mq_queue_set(q->fds[i], attach))
		return mq_errf(-1, "%s in %s: %s queue %u (holder pid %d, fd %u): %s", q->dev,
			       q->o->ns, attach ? "attach" : "detach", i, (int)q->pid,
			       MQ_QFD_BASE + i, strerror(errno));
	q->detached[i] = !attach;
	return 0;
}

/*
 * Attached queues that are not 0..A-1 (changed by something other than
 * mqtap) mean fd and rx queue numbers may differ. A lone attached queue is
 * always rx queue 0, so: queue 0 attached, every other one detached, and
 * from there up in order. Returns the attached count, 1, or -1.
 */
static int queues_renumber(struct queues_run *q)
{
	if (q->detached[0] && queue_set(q, 0, true))
		return -1;
	for (unsigned int i = q->nfds; i-- > 1;)
		if (!q->detached[i] && queue_set(q, i, false))
			return -1;
	return 1;
}

/*
 * Detaches from the top, so tun moves no queue (any order of the ones above
 * @want would keep 0..@want-1 in place), and attaches in ascending order,
 * which matters: tun numbers a queue by when it was attached.
 */
static int queues_change(struct queues_run *q, unsigned int have, unsigned int want)
{
	for (unsigned int i = have; i-- > want;)
		if (queue_set(q, i, false))
			return -1;
	for (unsigned int i = have; i < want; i++)
		if (queue_set(q, i, true))
			return -1;
	return 0;
}

static int queues_apply(struct queues_run *q)
{
	const unsigned int want = (unsigned int)q->o->active;
	int have = queues_read(q);

	if (have < 0)
		return -1;
	if (!queues_prefix(q, (unsigned int)have)) {
		have = queues_renumber(q);
		if (have < 0)
			return -1;
	}
	if (queues_change(q, (unsigned int)have, want))
		return -1;
	/* Read back what tun now says, not what we asked for. */
	have = queues_read(q);
	if (have < 0)
		return -1;
	if (!queues_prefix(q, want))
		return mq_errf(-1, "%s in %s: %d queues attached after the change, want 0-%u",
			       q->dev, q->o->ns, have, want - 1);
	return 0;
}

static void queues_print_json(const struct queues_run *q)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "active", json_object_new_int((int)q->o->active));
	json_object_object_add(o, "allocated", json_object_new_int((int)q->nfds));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

int mq_cmd_queues(int argc, char **argv)
{
	struct queues_opts o = { 0 };
	struct queues_run q = { .o = &o };
	int err, lock = -1;

	mq_prog_cmd = "mqtap queues";
	err = queues_parse(argc, argv, &o);
	if (err)
		return err < 0 ? EXIT_OK : err;
	err = EXIT_FAIL;
	if (mq_enter_netns(o.ns) || mq_holder_fds(o.ns, q.fds, &q.nfds, &q.dev, &q.pid))
		goto out;
	if (o.active > q.nfds) {
		err = mq_errf(EXIT_USAGE, "--active: %lu is more than the %u queues of %s in %s",
			      o.active, q.nfds, q.dev, o.ns);
		goto out;
	}
	lock = queues_lock(&q);
	if (lock < 0 || queues_apply(&q))
		goto out;
	if (o.json)
		queues_print_json(&q);
	err = EXIT_OK;
out:
	if (lock >= 0)
		close(lock);
	for (unsigned int i = 0; i < q.nfds; i++)
		close(q.fds[i]);
	return err;
}
