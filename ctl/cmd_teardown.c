// SPDX-License-Identifier: GPL-2.0
#include "ctl/ctl.h"
#include "ctl/shard_view.h"
#include "dataplane/shard/shard.h"

struct teardown_args {
	const char *dev;	/* NULL: every device */
	bool dry_run, force;
};

static const struct ctl_opt teardown_opts[] = {
	{ "dry-run", 0, NULL, "print what would be removed; change nothing",
	  CTL_FLAG, CTL_FIELD(struct teardown_args, dry_run) },
	{ "force", 0, NULL, "also while a shardctl watch keeps DEV (it sets DEV up again)",
	  CTL_FLAG, CTL_FIELD(struct teardown_args, force) },
	{ 0 },
};

static const struct ctl_opt teardown_pos[] = {
	{ "device", .arg = "DEV", .type = CTL_STRING, CTL_FIELD(struct teardown_args, dev),
	  .max_count = 1 },
	{ 0 },
};

static int run_teardown(const struct ctl_common *c, void *args)
{
	const struct teardown_args *a = args;
	unsigned int flags = (a->dry_run ? SC_TEARDOWN_DRY_RUN : 0) |
			     (a->force ? SC_TEARDOWN_FORCE : 0);
	struct sc_state *v = NULL;
	bool dry_run = a->dry_run;
	int n = 0, err = sc_teardown(a->dev, flags, &v, &n);

	if (err && !n)
		return ctl_fail("teardown");
	if (c->json) {
		json_object *o = json_object_new_object(), *list = json_object_new_array();

		for (int k = 0; k < n; k++)
			json_object_array_add(list, shard_state_json(&v[k]));
		json_object_object_add(o, "dry_run", json_object_new_boolean(dry_run));
		json_object_object_add(o, dry_run ? "would_remove" : "removed", list);
		ctl_print_json(c, o);
	} else if (!n) {
		printf("nothing set up%s%s, nothing to remove\n", a->dev ? " on " : "",
		       a->dev ? a->dev : "");
	}
	for (int k = 0; !c->json && k < n; k++) {
		if (dry_run || v[k].changed)
			shard_plan_print(stdout, &v[k], true);
	}
	sc_states_free(v, n);
	return err ? ctl_fail("teardown") : EXIT_OK;
}

const struct ctl_cmd cmd_teardown = {
	.name = "teardown",
	.summary = "Remove everything setup created for DEV (default: every device here).",
	.description = "Remove everything setup created for DEV (default: every device in this\n"
		   "network namespace), the ingress redirect first. Succeeds when nothing is set up.",
	.opts = CTL_TABLES(teardown_opts),
	.args = teardown_pos,
	.args_size = sizeof(struct teardown_args),
	.run = run_teardown,
};
