// SPDX-License-Identifier: GPL-2.0
/*
 * shardctl mq DEV: the companion mode. Measure, replace DEV's root qdisc
 * with mq (one child qdisc, hence one lock, per tx queue), measure again
 * the same way, print both side by side. --revert puts the old tree back.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/contention_view.h"
#include "ctl/ctl.h"
#include "dataplane/observe/contention.h"
#include "dataplane/kernel/error.h"
#include "dataplane/mq/mq.h"

/* Let queues built up under the old root drain before the second window. */
#define SETTLE_NS 500000000L

enum { OPT_REVERT = 256, OPT_FORCE, OPT_NO_LOCK_EVENTS };

static const struct ctl_opt mq_opts[] = {
	{ "duration", 'd', "S", "each window's length in seconds (default 5)" },
	{ "frequency", 'F', "HZ", "samples per second per CPU (default 499; 0: counters only)" },
	{ "child", 'c', "KIND", "qdisc kind for every tx queue (default: the kernel's)" },
	{ "no-lock-events", OPT_NO_LOCK_EVENTS, NULL, "skip the lock:contention_begin/end wait totals" },
	{ "force", OPT_FORCE, NULL, "replace even if device-wide rate limits are lost" },
	{ "revert", OPT_REVERT, NULL, "put back the root qdisc tree that mq replaced" },
	{ 0 },
};

struct mq_args {
	double duration;
	unsigned long frequency;
	const char *child;
	bool force, revert, measure_opts, no_lock_events;
};

static int mq_opt(int key, const char *arg, void *priv)
{
	struct mq_args *a = priv;

	switch (key) {
	case 'd':
		a->measure_opts = true;
		return ctl_parse_double("mq", "duration", arg, 0.1, 3600, &a->duration);
	case 'F':
		a->measure_opts = true;
		return ctl_parse_uint("mq", "frequency", arg, 0, 10000, &a->frequency);
	case 'c':
		if (!*arg || strlen(arg) >= SC_QDISC_KIND_LEN)
			return ctl_err(EXIT_USAGE, "mq", "invalid qdisc kind '%s'", arg);
		a->measure_opts = true;
		a->child = arg;
		return 0;
	case OPT_FORCE:
		a->force = true;
		return 0;
	case OPT_NO_LOCK_EVENTS:
		a->measure_opts = true;
		a->no_lock_events = true;
		return 0;
	case OPT_REVERT:
		a->revert = true;
		return 0;
	}
	return EXIT_USAGE;
}

static int do_revert(const struct ctl_common *c, const char *dev, bool force)
{
	struct sc_mq_revert rv;
	char h[16];

	if (sc_qdisc_mq_revert(dev, force ? SC_MQ_FORCE : 0, &rv))
		return ctl_fail("mq");
	sc_qdisc_handle_str(rv.handle, h, sizeof(h));
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "dev", json_object_new_string(dev));
		json_object_object_add(o, "restored_kind", json_object_new_string(rv.kind));
		json_object_object_add(o, "restored_handle", json_object_new_string(h));
		json_object_object_add(o, "qdiscs", json_object_new_int((int)rv.qdiscs));
		json_object_object_add(o, "classes", json_object_new_int((int)rv.classes));
		json_object_object_add(o, "filters", json_object_new_int((int)rv.filters));
		json_object_object_add(o, "state", json_object_new_string(rv.state_path));
		ctl_print_json(c, o);
	} else if (rv.handle) {
		printf("%s: restored root %s %s (%u qdiscs, %u classes, %u filters)\n", dev, rv.kind, h,
		       rv.qdiscs, rv.classes, rv.filters);
	} else {
		printf("%s: restored the kernel's default root qdisc\n", dev);
	}
	return EXIT_OK;
}

static int measure(const struct mq_args *a, const char *dev, const char *label,
		   struct sc_contention_report *r)
{
	struct sc_contention_opts o = { .dev = dev, .duration_s = a->duration,
					.frequency = a->frequency, .top = SC_CONT_DEFAULT_TOP,
					.no_lock_events = a->no_lock_events,
					.progress = cv_progress, .priv = (void *)label };
	int err = sc_contention_measure(&o, r);

	cv_progress_done();
	return err;
}

static json_object *swap_json(const char *dev, const struct sc_mq_result *m)
{
	json_object *o = json_object_new_object(), *rates = json_object_new_array();
	char h[16];

	json_object_object_add(o, "dev", json_object_new_string(dev));
	sc_qdisc_handle_str(m->old_handle, h, sizeof(h));
	json_object_object_add(o, "replaced_kind", json_object_new_string(m->old_kind));
	json_object_object_add(o, "replaced_handle", json_object_new_string(h));
	sc_qdisc_handle_str(m->mq_handle, h, sizeof(h));
	json_object_object_add(o, "mq_handle", json_object_new_string(h));
	json_object_object_add(o, "children", json_object_new_int((int)m->children));
	json_object_object_add(o, "child_kind", m->child_kind[0] ?
			       json_object_new_string(m->child_kind) : NULL);
	json_object_object_add(o, "state", json_object_new_string(m->state_path));
	json_object_object_add(o, "lost_filters", json_object_new_int((int)m->lost_filters));
	for (int i = 0; i < m->nr_rates; i++) {
		json_object *r = json_object_new_object();

		sc_qdisc_handle_str(m->rates[i].handle, h, sizeof(h));
		json_object_object_add(r, "kind", json_object_new_string(m->rates[i].kind));
		json_object_object_add(r, "handle", json_object_new_string(h));
		json_object_object_add(r, "rate_bps", json_object_new_uint64(m->rates[i].rate * 8));
		json_object_object_add(r, "ceil_bps", json_object_new_uint64(m->rates[i].ceil * 8));
		json_object_array_add(rates, r);
	}
	json_object_object_add(o, "lost_rate_limits", rates);
	return o;
}

static void print_swap(const char *dev, const struct sc_mq_result *m)
{
	char oh[16], mh[16];

	sc_qdisc_handle_str(m->old_handle, oh, sizeof(oh));
	sc_qdisc_handle_str(m->mq_handle, mh, sizeof(mh));
	printf("%s: root %s %s replaced by mq %s with %u %s children (old tree saved in %s)\n", dev,
	       m->old_kind, oh, mh, m->children, m->child_kind[0] ? m->child_kind : "default",
	       m->state_path);
	if (m->nr_rates)
		printf("%s: WARNING: %d device-wide rate limit(s) are gone (--force)\n", dev,
		       m->nr_rates);
	if (m->lost_filters)
		printf("%s: WARNING: %u bpf filter(s) are gone and will not come back on --revert\n",
		       dev, m->lost_filters);
}

static int do_swap(const struct ctl_common *c, const struct mq_args *a, const char *dev)
{
	struct sc_contention_report before, after;
	struct timespec settle = { 0, SETTLE_NS };
	struct sc_mq_result m;
	int rc = EXIT_OK;

	/* Refuse before spending a window on the "before" measurement. */
	if (sc_qdisc_mq_install(dev, a->child, SC_MQ_CHECK | (a->force ? SC_MQ_FORCE : 0), &m))
		return ctl_fail("mq");
	free(m.rates);
	if (measure(a, dev, "before", &before))
		return ctl_fail("mq");
	if (sc_qdisc_mq_install(dev, a->child, a->force ? SC_MQ_FORCE : 0, &m)) {
		sc_contention_report_free(&before);
		return ctl_fail("mq");
	}
	nanosleep(&settle, NULL);
	if (measure(a, dev, "after", &after)) {
		ctl_err(EXIT_FAIL, "mq", "%s (mq stays installed; 'shardctl mq %s --revert' undoes it)",
			sc_last_error(), dev);
		free(m.rates);
		sc_contention_report_free(&before);
		return EXIT_FAIL;
	}
	if (c->json) {
		json_object *o = swap_json(dev, &m);

		json_object_object_add(o, "compare", cv_compare_json(&before, &after));
		json_object_object_add(o, "before", cv_report_json(&before));
		json_object_object_add(o, "after", cv_report_json(&after));
		ctl_print_json(c, o);
	} else {
		print_swap(dev, &m);
		cv_print_compare(&before, &after);
		printf("undo with: shardctl mq %s --revert\n", dev);
	}
	free(m.rates);
	sc_contention_report_free(&before);
	sc_contention_report_free(&after);
	return rc;
}

static int mq_run(int argc, char **argv)
{
	struct mq_args a = { .duration = SC_CONT_DEFAULT_SECONDS, .frequency = SC_CONT_DEFAULT_HZ };
	struct ctl_common c;
	int i;

	i = ctl_parse(&cmd_mq, argc, argv, &c, mq_opt, &a);
	if (i < 0)
		return EXIT_USAGE;
	if (c.help)
		return EXIT_OK;
	if (argc - i != 1)
		return ctl_err(EXIT_USAGE, "mq", "expected one device, got %d arguments", argc - i);
	if (a.revert && a.measure_opts)
		return ctl_err(EXIT_USAGE, "mq", "--revert takes no measurement options or --child");
	if (a.revert)
		return do_revert(&c, argv[i], a.force);
	return do_swap(&c, &a, argv[i]);
}

const struct ctl_cmd cmd_mq = {
	.name = "mq",
	.usage_args = "DEV",
	.summary = "Replace DEV's root qdisc with mq and show contention before and after.",
	.description =
		"Measures as 'shardctl contention' does, replaces DEV's root qdisc with mq\n"
		"(one child qdisc, and so one lock, per tx queue), waits 0.5 s, measures\n"
		"again over the same duration and prints both with their ratio. The old\n"
		"tree (root, classes, filters) is saved under /run/shardctl; --revert puts\n"
		"it back. Refuses single-queue devices, an mq root, and, without --force,\n"
		"device-wide rate limits (htb classes, tbf) that mq would lose.",
	.opts = mq_opts,
	.run = mq_run,
};
