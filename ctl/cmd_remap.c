// SPDX-License-Identifier: GPL-2.0
#include "ctl/ctl.h"
#include "ctl/shard_view.h"
#include "dataplane/shard/shard.h"

struct remap_args {
	const char *dev;
	unsigned int rxq, shard;
};

static const struct ctl_opt remap_pos[] = {
	{ "device", .arg = "DEV", .type = CTL_STRING, CTL_FIELD(struct remap_args, dev),
	  .min_count = 1, .max_count = 1 },
	{ "rx queue", .arg = "RXQ", .type = CTL_UINT, CTL_FIELD(struct remap_args, rxq),
	  .max = SC_MAX_RXQ - 1, .min_count = 1, .max_count = 1 },
	{ "shard", .arg = "SHARD", .type = CTL_UINT, CTL_FIELD(struct remap_args, shard),
	  .max = SC_MAX_RXQ - 1, .min_count = 1, .max_count = 1 },
	{ 0 },
};

static int run_remap(const struct ctl_common *c, void *args)
{
	const struct remap_args *a = args;
	struct sc_state *v;
	int n;

	if (sc_remap(a->dev, a->rxq, a->shard))
		return ctl_fail("remap");
	if (sc_status(a->dev, &v, &n))
		return ctl_fail("remap");
	if (c->json && n)
		ctl_print_json(c, shard_state_json(&v[0]));
	else if (n)
		printf("%s: rx queue %u -> shard %u (%s), lookup %s\n", v[0].dev, a->rxq, a->shard,
		       v[0].shards[a->shard].name, sc_lookup_name(v[0].lookup));
	sc_states_free(v, n);
	return EXIT_OK;
}

const struct ctl_cmd cmd_remap = {
	.name = "remap",
	.summary = "Point rx queue RXQ of DEV at shard SHARD, while traffic flows.",
	.description = "lookup=map and global update the table in place; lookup=const loads a\n"
		       "program with the new table and swaps it in atomically (tcx link update or\n"
		       "cls_bpf replace), so no frame meets a missing program.",
	.args = remap_pos,
	.args_size = sizeof(struct remap_args),
	.run = run_remap,
};
