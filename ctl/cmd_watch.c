// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>

#include "ctl/ctl.h"
#include "ctl/shard_view.h"
#include "dataplane/kernel/error.h"
#include "dataplane/watch/watch.h"

/* setup's rows write into .setup, which is why it comes first. */
struct watch_args {
	struct sc_setup_opts setup;
	struct sc_watch_opts w;
	struct ctl_strv devs;
	bool teardown;
};

static const struct ctl_opt watch_opts[] = {
	{ "interval", 0, "S", "probe what no notice announces every S seconds (default 5)",
	  CTL_DOUBLE, CTL_FIELD(struct watch_args, w.interval_s), .min = 0.1, .max = 3600 },
	{ "full-interval", 0, "S", "full status check every S seconds (default 60)",
	  CTL_DOUBLE, CTL_FIELD(struct watch_args, w.full_s), .min = 0.1, .max = 86400 },
	{ "teardown-on-exit", 0, NULL, "remove the setups when stopped (SIGTERM, SIGINT)",
	  CTL_FLAG, CTL_FIELD(struct watch_args, teardown) },
	{ 0 },
};

static const struct ctl_opt watch_pos[] = {
	{ "device", .arg = "DEV", .type = CTL_STRV, CTL_FIELD(struct watch_args, devs),
	  .min_count = 1, .max_count = SC_WATCH_MAX_DEVS },
	{ 0 },
};

static const struct watch_args watch_defaults = { .setup.lookup = SC_LOOKUP_MAP };

/* One line per action: a sentence on stderr, or one JSON object per line on stdout with -j. */
static void report(const struct ctl_common *c, const struct sc_watch_action *a)
{
	if (c->json) {
		json_object *o = json_object_new_object();
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		json_object_object_add(o, "time", json_object_new_double((double)ts.tv_sec +
									 (double)(ts.tv_nsec / 1000000) / 1e3));
		json_object_object_add(o, "dev", json_object_new_string(a->dev));
		json_object_object_add(o, "action", json_object_new_string(sc_watch_what_name(a->what)));
		json_object_object_add(o, "ifindex", json_object_new_int(a->ifindex));
		json_object_object_add(o, "rx_queues", json_object_new_int((int)a->rx_queues));
		json_object_object_add(o, "shards", json_object_new_int((int)a->shards));
		json_object_object_add(o, "was_rx_queues", json_object_new_int((int)a->was_rx_queues));
		json_object_object_add(o, "was_shards", json_object_new_int((int)a->was_shards));
		json_object_object_add(o, "replaced_ifindex", a->replaced_ifindex ?
				       json_object_new_int(a->replaced_ifindex) : NULL);
		json_object_object_add(o, "took_ms", json_object_new_double(a->took_ms));
		json_object_object_add(o, "since_change_ms", a->since_change_ms >= 0 ?
				       json_object_new_double(a->since_change_ms) : NULL);
		json_object_object_add(o, "message", json_object_new_string(a->message));
		ctl_print_json(c, o);
		fflush(stdout);
	} else if (a->what == SC_WATCH_SETUP || a->what == SC_WATCH_FOLLOWED ||
		   a->what == SC_WATCH_REPAIRED) {
		fprintf(stderr, "shardctl watch: %s (%.0f ms)\n", a->message, a->took_ms);
	} else {
		fprintf(stderr, "shardctl watch: %s\n", a->message);
	}
	/* systemctl status shows the last action. */
	sd_notifyf(0, "STATUS=%s", a->message);
}

static int stop_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int loop(const struct ctl_common *c, struct sc_watch *w, int sfd)
{
	struct sc_watch_action acts[2 * SC_WATCH_MAX_DEVS];
	struct pollfd pfd[3] = { { .fd = sfd, .events = POLLIN } };
	bool ready = false;
	int nfd, fds[2], timeout = 0;

	nfd = sc_watch_fds(w, fds);
	for (int i = 0; i < nfd; i++)
		pfd[1 + i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	for (;;) {
		int n = sc_watch_run(w, acts, (int)ARRAY_SIZE(acts), &timeout);

		for (int i = 0; i < n; i++)
			report(c, &acts[i]);
		/*
		 * Ready once every NIC had its first convergence: frames are
		 * sharded where they can be, and each NIC's first action (set
		 * up, waiting, failed) is already the unit's status.
		 */
		if (!ready && sc_watch_settled(w)) {
			ready = true;
			sd_notify(0, "READY=1");
		}
		if (poll(pfd, 1 + nfd, timeout) < 0 && errno != EINTR)
			return ctl_err(EXIT_FAIL, "watch", "poll: %s", strerror(errno));
		if (pfd[0].revents & POLLIN)
			return EXIT_OK;
	}
}

static int run_watch(const struct ctl_common *c, void *args)
{
	struct watch_args *a = args;
	struct sc_watch_action acts[SC_WATCH_MAX_DEVS];
	struct sc_watch *w = NULL;
	int rc, sfd;

	a->w.setup = a->setup;
	a->w.devs = (const char *const *)a->devs.v;
	a->w.nr_devs = a->devs.n;
	sfd = stop_fd();
	if (sfd < 0)
		return ctl_err(EXIT_FAIL, "watch", "signalfd: %s", strerror(errno));
	if (sc_watch_open(&a->w, &w)) {
		close(sfd);
		return ctl_fail("watch");
	}
	rc = loop(c, w, sfd);
	sd_notify(0, "STOPPING=1");
	if (a->teardown) {
		int n = sc_watch_teardown(w, acts, SC_WATCH_MAX_DEVS);

		for (int k = 0; k < (n < 0 ? 0 : n); k++)
			report(c, &acts[k]);
		if (n < 0 && rc == EXIT_OK)
			rc = EXIT_FAIL;
	}
	sc_watch_close(w);
	close(sfd);
	return rc;
}

const struct ctl_cmd cmd_watch = {
	.name = "watch",
	.summary = "Keep each DEV set up as setup would, following it as it changes.",
	.description = "Keep each DEV set up as 'shardctl setup [OPTIONS] DEV' would leave it, and\n"
		   "re-converge within about 2 s of a change the kernel announces: its active rx\n"
		   "queue count (ethtool -L), a shard device deleted or downed, the NIC replaced\n"
		   "by a new one of the same name. What nothing announces (a TAP's queue count,\n"
		   "the ingress program's pins removed) is seen by a probe every --interval.\n"
		   "A DEV that is absent or down is waited for, not refused: its driver may load,\n"
		   "or the network configuration bring it up, later. Each action is one line on\n"
		   "stderr (one JSON object per line on stdout with -j); a NIC that keeps\n"
		   "changing is checked less often for a while, and a refused setup is retried\n"
		   "with backoff (up to 30 s). The NIC's lock is held only while something\n"
		   "changes, so status and remap work beside a watch; teardown refuses a watched\n"
		   "DEV unless --force (the watch would set it up again). A second watch of the\n"
		   "same DEV is refused. SIGTERM or SIGINT stops it; with --teardown-on-exit the\n"
		   "setups go too. Under systemd (Type=notify) it reports READY once every DEV\n"
		   "had its first convergence, and its last action as the unit's status.",
	.opts = CTL_TABLES(watch_opts, ctl_setup_opts),
	.args = watch_pos,
	.args_size = sizeof(struct watch_args),
	.defaults = &watch_defaults,
	.run = run_watch,
};
