// SPDX-License-Identifier: GPL-2.0
/*
 * shardctl check DEV: the doctor. Says with evidence and a fix whether DEV
 * suffers from a shared qdisc root lock, a single-queue device without
 * LLTX on its transmit path, receive softirq trouble or unbalanced rx
 * queues, and whether mq or shards fit. Exit 3 when action is suggested.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/json_parts.h"
#include "dataplane/doctor/check.h"
#include "dataplane/kernel/error.h"
#include "dataplane/observe/contention.h"

#define EXIT_ACTION 3
/* The help text quotes the thresholds the code uses. */
#define STR_(x) #x
#define STR(x) STR_(x)

static const struct ctl_opt check_opts[] = {
	{ "sample", 's', "S", "seconds to watch softnet_stat, DEV's rx queues and a shared root's lock "
	  "(default 2, 0 = skip)",
	  CTL_DOUBLE, CTL_FIELD(struct sc_check_opts, sample_s), .min = 0, .max = 3600 },
	{ 0 },
};

static const struct ctl_opt check_pos[] = {
	{ "device", .arg = "DEV", .type = CTL_STRING, CTL_FIELD(struct sc_check_opts, dev),
	  .min_count = 1, .max_count = 1 },
	{ 0 },
};

static const struct sc_check_opts check_defaults = { .sample_s = 2.0 };

/* The sample's wait: ^C (ctl_stop) ends it early, and the rest is reported. */
static bool check_wait(double seconds)
{
	ctl_nap(seconds);
	return !ctl_stop;
}

static void on_sampling(void)
{
	fprintf(stderr, "shardctl check: sampling; ^C ends the sample early\n");
}

static const char *level_tag(enum sc_check_level l)
{
	return l == SC_CHECK_ACTION ? "ACTION" : l == SC_CHECK_INFO ? "info" : "ok";
}

static void print_human(const struct sc_check_report *r)
{
	const struct sc_check_facts *f = &r->facts;
	char h[32];

	sc_qdisc_handle_str(f->root_handle, h, sizeof(h));
	printf("%s (ifindex %d): %d rx / %d tx queues, root qdisc %s %s%s", f->dev, f->ifindex,
	       f->rx_queues, f->tx_queues, f->has_root ? f->root_kind : "none",
	       f->has_root ? h : "", f->nr_shards ? ", shards set up" : "");
	if (f->sampled)
		printf(", sampled %.1f s", f->sample_s);
	printf("\n");
	for (int i = 0; i < r->nr_findings; i++) {
		const struct sc_check_finding *x = &r->findings[i];

		printf("  %-6s %-10s %s\n", level_tag(x->level), x->id, x->evidence);
		if (*x->fix)
			printf("  %-6s %-10s fix: %s\n", "", "", x->fix);
	}
	printf("verdict: %s%s%s\n", r->action ? "action suggested" : "nothing to do",
	       r->fit != SC_FIT_NONE ? "; fits: " : "",
	       r->fit != SC_FIT_NONE ? sc_check_fit_name(r->fit) : "");
}

/* A figure that is 0 when unknown (no frames through the root): null then. */
static json_object *known(double v, const char *fmt)
{
	return v > 0 ? ctl_json_fixed(v, fmt) : NULL;
}

/* null unless the sample ran with a shared root; the figures are null when not measured. */
static json_object *root_lock_json(const struct sc_check_facts *f)
{
	json_object *e;
	bool m = f->lock_measured;

	if (!f->lock_tried)
		return NULL;
	e = json_object_new_object();
	json_object_object_add(e, "measured", json_object_new_boolean(m));
	json_object_object_add(e, "reason", m ? NULL : json_object_new_string(f->lock_why));
	json_object_object_add(e, "held_samples", m ? json_object_new_uint64(f->lock_held_samples) : NULL);
	json_object_object_add(e, "busy", m ? ctl_json_fixed(f->lock_busy, "%.4f") : NULL);
	json_object_object_add(e, "hold_ns", m ? known(f->lock_hold_ns, "%.1f") : NULL);
	json_object_object_add(e, "rel_err", m ? ctl_json_fixed(f->lock_rel_err, "%.4f") : NULL);
	json_object_object_add(e, "ceiling_pps", m ? known(f->lock_ceiling_pps, "%.0f") : NULL);
	json_object_object_add(e, "pps", m ? ctl_json_fixed(f->root_pps, "%.0f") : NULL);
	return e;
}

static void print_json(const struct ctl_common *c, const struct sc_check_report *r)
{
	const struct sc_check_facts *f = &r->facts;
	json_object *o = json_object_new_object(), *a, *e;
	char h[32];

	json_object_object_add(o, "device", json_object_new_string(f->dev));
	json_object_object_add(o, "ifindex", json_object_new_int(f->ifindex));
	json_object_object_add(o, "rx_queues", json_object_new_int(f->rx_queues));
	json_object_object_add(o, "tx_queues", json_object_new_int(f->tx_queues));
	if (f->has_root) {
		e = json_object_new_object();
		sc_qdisc_handle_str(f->root_handle, h, sizeof(h));
		json_object_object_add(e, "kind", json_object_new_string(f->root_kind));
		json_object_object_add(e, "handle", json_object_new_string(h));
		json_object_object_add(o, "root", e);
	} else {
		json_object_object_add(o, "root", NULL);
	}
	a = json_object_new_array();
	for (int i = 0; i < f->nr_rates && i < SC_CHECK_MAX_RATES; i++)
		json_object_array_add(a, ctl_json_rate_limit(&f->rates[i]));
	json_object_object_add(o, "rate_limits", a);
	a = json_object_new_array();
	for (unsigned int i = 0; i < f->nr_path; i++) {
		const struct sc_check_dev *d = &f->path[i];

		e = json_object_new_object();
		json_object_object_add(e, "device", json_object_new_string(d->name));
		json_object_object_add(e, "role", json_object_new_string(d->role));
		json_object_object_add(e, "kind", json_object_new_string(d->kind));
		json_object_object_add(e, "tx_queues", json_object_new_int(d->tx_queues));
		json_object_object_add(e, "lltx", d->lltx < 0 ? NULL : json_object_new_boolean(d->lltx));
		json_object_object_add(e, "lltx_from",
				       d->lltx_from ? json_object_new_string(d->lltx_from) : NULL);
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "path", a);
	json_object_object_add(o, "shard_devices", json_object_new_int((int)f->nr_shards));
	if (f->sampled) {
		e = json_object_new_object();
		json_object_object_add(e, "seconds", json_object_new_double(f->sample_s));
		ctl_json_softnet_counts(e, &f->softnet);
		json_object_object_add(e, "rx_frames", json_object_new_uint64(f->rx_frames));
		json_object_object_add(e, "rx_unrecorded", json_object_new_uint64(f->rx_unrecorded));
		json_object_object_add(e, "rx_busiest_queue",
				       f->rx_busiest < 0 ? NULL : json_object_new_int(f->rx_busiest));
		json_object_object_add(e, "rx_max_mean", json_object_new_double(f->rx_max_mean));
		json_object_object_add(e, "rx_cv", json_object_new_double(f->rx_cv));
		json_object_object_add(e, "root_lock", root_lock_json(f));
		json_object_object_add(o, "sample", e);
	} else {
		json_object_object_add(o, "sample", NULL);
	}
	a = json_object_new_array();
	for (int i = 0; i < r->nr_findings; i++) {
		e = json_object_new_object();
		json_object_object_add(e, "id", json_object_new_string(r->findings[i].id));
		json_object_object_add(e, "level",
				       json_object_new_string(sc_check_level_name(r->findings[i].level)));
		json_object_object_add(e, "evidence", json_object_new_string(r->findings[i].evidence));
		json_object_object_add(e, "fix", json_object_new_string(r->findings[i].fix));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "findings", a);
	json_object_object_add(o, "fit", json_object_new_string(sc_check_fit_name(r->fit)));
	json_object_object_add(o, "action", json_object_new_boolean(r->action));
	ctl_print_json(c, o);
}

static int check_run(const struct ctl_common *c, void *args)
{
	struct sc_check_opts *o = args;
	struct sc_check_report *r;
	int rc;

	o->wait = check_wait;
	o->on_sampling = on_sampling;
	ctl_catch_stop();
	r = calloc(1, sizeof(*r));
	if (!r)
		return ctl_err(EXIT_FAIL, "check", "out of memory");
	if (sc_check(o, r)) {
		free(r);
		return ctl_fail("check");
	}
	if (c->json)
		print_json(c, r);
	else
		print_human(r);
	rc = r->action ? EXIT_ACTION : EXIT_OK;
	free(r);
	return rc;
}

const struct ctl_cmd cmd_check = {
	.name = "check",
	.summary = "Diagnose shared root locks, tx locks, softirq trouble, rx imbalance; exit 3 = act.",
	.description =
		"Exit status: 0 nothing to do, 3 action suggested (a finding marked ACTION),\n"
		"1 failure, 2 usage error. The sample is host-wide for softnet_stat: run it\n"
		"while the load of interest runs. ^C ends the sample early and judges it.\n"
		"Findings: root_qdisc (a non-mq root shared by several tx queues), tx_lock\n"
		"(a single-queue device without tx-lockless on DEV's transmit path), softnet\n"
		"(time_squeeze, drops), rx_balance (busiest rx queue over the mean > 1.5 with\n"
		">= 1000 frames), fit (mq when no device-wide rate limit would be lost,\n"
		"shards otherwise). With a shared root, the sample also times its lock as\n"
		"'shardctl contention' does (stack samples at " STR(SC_CONT_DEFAULT_HZ) " Hz, no lock events):\n"
		"root_qdisc then says how busy the lock was and the most frames/s it can\n"
		"carry on any number of cores (1 / hold time per frame; needs "
		STR(SC_CHECK_MIN_HELD_SAMPLES) "\n"
		"samples inside the lock), or why it could not be measured.",
	.opts = CTL_TABLES(check_opts),
	.args = check_pos,
	.args_size = sizeof(struct sc_check_opts),
	.defaults = &check_defaults,
	.run = check_run,
};
