// SPDX-License-Identifier: GPL-2.0
#include "ctl/ctl.h"
#include "ctl/shard_view.h"
#include "dataplane/kernel/error.h"
#include "dataplane/shard/shard.h"

static const struct ctl_opt remap_opts[] = { { 0 } };

static int run_remap(int argc, char **argv)
{
	unsigned long rxq, shard;
	struct ctl_common c;
	struct sc_state *v;
	int n, i = ctl_parse(&cmd_remap, argc, argv, &c, NULL, NULL);

	if (i < 0)
		return EXIT_USAGE;
	if (c.help)
		return EXIT_OK;
	if (argc - i != 3)
		return ctl_err(EXIT_USAGE, "remap", "expected DEV RXQ SHARD, got %d arguments",
			       argc - i);
	if (ctl_parse_uint("remap", "rx queue", argv[i + 1], 0, SC_MAX_RXQ - 1, &rxq) ||
	    ctl_parse_uint("remap", "shard", argv[i + 2], 0, SC_MAX_RXQ - 1, &shard))
		return EXIT_USAGE;
	if (sc_remap(argv[i], (unsigned int)rxq, (unsigned int)shard))
		return ctl_fail("remap");
	if (sc_status(argv[i], &v, &n))
		return ctl_fail("remap");
	if (c.json && n)
		ctl_print_json(&c, shard_state_json(&v[0]));
	else if (n)
		printf("%s: rx queue %lu -> shard %lu (%s), lookup %s\n", v[0].dev, rxq, shard,
		       v[0].shards[shard].name, sc_lookup_name(v[0].lookup));
	sc_states_free(v, n);
	return EXIT_OK;
}

const struct ctl_cmd cmd_remap = {
	.name = "remap",
	.usage_args = "DEV RXQ SHARD",
	.summary = "Point rx queue RXQ of DEV at shard SHARD, while traffic flows.",
	.description = "lookup=map and global update the table in place; lookup=const loads a\n"
		       "program with the new table and swaps it in atomically (tcx link update or\n"
		       "cls_bpf replace), so no frame meets a missing program.",
	.opts = remap_opts,
	.run = run_remap,
};
