// SPDX-License-Identifier: GPL-2.0
#include "ctl/ctl.h"
#include "ctl/shard_view.h"
#include "dataplane/shard/shard.h"

enum { OPT_DRY_RUN = 256, OPT_FORCE };

static const struct ctl_opt teardown_opts[] = {
	{ "dry-run", OPT_DRY_RUN, NULL, "print what would be removed; change nothing" },
	{ "force", OPT_FORCE, NULL, "also while a shardctl watch keeps DEV (it sets DEV up again)" },
	{ 0 },
};

static int on_opt(int key, const char *arg, void *priv)
{
	unsigned int *flags = priv;

	(void)arg;
	if (key == OPT_DRY_RUN)
		*flags |= SC_TEARDOWN_DRY_RUN;
	else if (key == OPT_FORCE)
		*flags |= SC_TEARDOWN_FORCE;
	else
		return EXIT_USAGE;
	return 0;
}

static int run_teardown(int argc, char **argv)
{
	struct sc_state *v = NULL;
	struct ctl_common c;
	unsigned int flags = 0;
	int n = 0, err, i = ctl_parse(&cmd_teardown, argc, argv, &c, on_opt, &flags);
	bool dry_run;

	if (i < 0)
		return EXIT_USAGE;
	if (c.help)
		return EXIT_OK;
	if (argc - i > 1)
		return ctl_err(EXIT_USAGE, "teardown", "expected at most one device, got %d arguments",
			       argc - i);
	dry_run = flags & SC_TEARDOWN_DRY_RUN;
	err = sc_teardown(argc - i ? argv[i] : NULL, flags, &v, &n);
	if (err && !n)
		return ctl_fail("teardown");
	if (c.json) {
		json_object *o = json_object_new_object(), *a = json_object_new_array();

		for (int k = 0; k < n; k++)
			json_object_array_add(a, shard_state_json(&v[k]));
		json_object_object_add(o, "dry_run", json_object_new_boolean(dry_run));
		json_object_object_add(o, dry_run ? "would_remove" : "removed", a);
		ctl_print_json(&c, o);
	} else if (!n) {
		printf("nothing set up%s%s, nothing to remove\n", argc - i ? " on " : "",
		       argc - i ? argv[i] : "");
	}
	for (int k = 0; !c.json && k < n; k++) {
		if (dry_run || v[k].changed)
			shard_plan_print(stdout, &v[k], true);
	}
	sc_states_free(v, n);
	return err ? ctl_fail("teardown") : EXIT_OK;
}

const struct ctl_cmd cmd_teardown = {
	.name = "teardown",
	.usage_args = "[DEV]",
	.summary = "Remove everything setup created for DEV (default: every device here).",
	.description = "Remove everything setup created for DEV (default: every device in this\n"
		   "network namespace), the ingress redirect first. Succeeds when nothing is set up.",
	.opts = teardown_opts,
	.run = run_teardown,
};
