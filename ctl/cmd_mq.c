// SPDX-License-Identifier: GPL-2.0
/*
 * shardctl mq DEV: the companion mode. Measure, replace DEV's root qdisc
 * with mq (one child qdisc, hence one lock, per tx queue), measure again
 * the same way, print both side by side. --revert puts the old tree back.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/contention_view.h"
#include "ctl/ctl.h"
#include "ctl/json_parts.h"
#include "dataplane/observe/contention.h"
#include "dataplane/kernel/error.h"
#include "dataplane/mq/mq.h"

/* Let queues built up under the old root drain before the second window. */
#define SETTLE_NS 500000000L

/*
 * .m first: contention's rows write there. Its defaults are "not given"
 * marks (a duration of 0, a frequency above the bound), so that --revert
 * can refuse measurement options; mq_run() puts contention's defaults in.
 */
struct mq_args {
	struct sc_contention_opts m;
	const char *child;
	bool force, revert;
};

static int valid_kind(const char *cmd, const char *arg)
{
	if (!*arg || strlen(arg) >= SC_QDISC_KIND_LEN)
		return ctl_err(EXIT_USAGE, cmd, "invalid qdisc kind '%s'", arg);
	return 0;
}

static const struct ctl_opt mq_opts[] = {
	{ "child", 'c', "KIND", "qdisc kind for every tx queue (default: the kernel's)",
	  CTL_STRING, CTL_FIELD(struct mq_args, child), .validate = valid_kind },
	{ "force", 0, NULL, "replace even if device-wide rate limits are lost",
	  CTL_FLAG, CTL_FIELD(struct mq_args, force) },
	{ "revert", 0, NULL, "put back the root qdisc tree that mq replaced",
	  CTL_FLAG, CTL_FIELD(struct mq_args, revert) },
	{ 0 },
};

static const struct ctl_opt mq_pos[] = {
	{ "device", .arg = "DEV", .type = CTL_STRING, CTL_FIELD(struct mq_args, m.dev),
	  .min_count = 1, .max_count = 1 },
	{ 0 },
};

static const struct mq_args mq_defaults = { .m.frequency = UINT_MAX };

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

static int measure(const struct mq_args *a, const char *label, struct sc_contention_report *r)
{
	struct sc_contention_opts o = a->m;
	int err;

	o.top = SC_CONT_DEFAULT_TOP;
	o.wait = cv_wait;
	o.priv = (void *)label;
	err = sc_contention_measure(&o, r);
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
	for (int i = 0; i < m->nr_rates; i++)
		json_object_array_add(rates, ctl_json_rate_limit(&m->rates[i]));
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
	/* ^C ends a window early: before the swap it also cancels the swap. */
	ctl_catch_stop();
	if (measure(a, "before", &before))
		return ctl_fail("mq");
	if (ctl_stop) {
		sc_contention_report_free(&before);
		return ctl_err(EXIT_FAIL, "mq", "%s: interrupted during the first measurement; "
			       "nothing was changed", dev);
	}
	if (sc_qdisc_mq_install(dev, a->child, a->force ? SC_MQ_FORCE : 0, &m)) {
		sc_contention_report_free(&before);
		return ctl_fail("mq");
	}
	nanosleep(&settle, NULL);
	if (measure(a, "after", &after)) {
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

static int mq_run(const struct ctl_common *c, void *args)
{
	struct mq_args *a = args;
	bool measure_opts = a->m.duration_s != 0 || a->m.frequency != UINT_MAX || a->child ||
			    a->m.no_lock_events;

	if (a->revert && measure_opts)
		return ctl_err(EXIT_USAGE, "mq", "--revert takes no measurement options or --child");
	if (a->revert)
		return do_revert(c, a->m.dev, a->force);
	if (!a->m.duration_s)
		a->m.duration_s = SC_CONT_DEFAULT_SECONDS;
	if (a->m.frequency == UINT_MAX)
		a->m.frequency = SC_CONT_DEFAULT_HZ;
	return do_swap(c, a, a->m.dev);
}

const struct ctl_cmd cmd_mq = {
	.name = "mq",
	.summary = "Replace DEV's root qdisc with mq and show contention before and after.",
	.description =
		"Measures as 'shardctl contention' does, replaces DEV's root qdisc with mq\n"
		"(one child qdisc, and so one lock, per tx queue), waits 0.5 s, measures\n"
		"again over the same duration and prints both with their ratio. The old\n"
		"tree (root, classes, filters) is saved under /run/shardctl; --revert puts\n"
		"it back. Refuses single-queue devices, an mq root, and, without --force,\n"
		"device-wide rate limits (htb classes, tbf) that mq would lose. ^C during\n"
		"the first window changes nothing; during the second it ends that window\n"
		"early (mq stays installed).",
	.opts = CTL_TABLES(ctl_measure_opts, mq_opts),
	.args = mq_pos,
	.args_size = sizeof(struct mq_args),
	.defaults = &mq_defaults,
	.run = mq_run,
};
