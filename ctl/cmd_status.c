// SPDX-License-Identifier: GPL-2.0
#include "ctl/ctl.h"
#include "ctl/shard_view.h"
#include "dataplane/shard.h"

static const struct ctl_opt status_opts[] = { { 0 } };

static int run_status(int argc, char **argv)
{
	struct sc_state *v;
	struct ctl_common c;
	int n, i = ctl_parse(&cmd_status, argc, argv, &c, NULL, NULL);

	if (i < 0)
		return EXIT_USAGE;
	if (c.help)
		return EXIT_OK;
	if (argc - i > 1)
		return ctl_err(EXIT_USAGE, "status", "expected at most one device, got %d arguments",
			       argc - i);
	if (sc_status(argc - i ? argv[i] : NULL, &v, &n))
		return ctl_fail("status");
	if (c.json) {
		json_object *a = json_object_new_array();

		for (int k = 0; k < n; k++)
			json_object_array_add(a, shard_state_json(&v[k]));
		ctl_print_json(&c, a);
	} else if (!n) {
		printf("nothing set up%s%s\n", argc - i ? " on " : "", argc - i ? argv[i] : "");
	}
	for (int k = 0; !c.json && k < n; k++)
		shard_state_print(stdout, &v[k]);
	sc_states_free(v, n);
	return EXIT_OK;
}

const struct ctl_cmd cmd_status = {
	.name = "status",
	.usage_args = "[DEV]",
	.summary = "Show what is set up (read back from the kernel) and how traffic spreads.",
	.description = "Show what is set up (read back from the kernel) and how traffic spreads.\n"
		   "'packets' are frames the ingress program redirected to each shard; 'veth tx'\n"
		   "is the shard veth's own counter. Exits 0 also when nothing is set up.",
	.opts = status_opts,
	.run = run_status,
};
