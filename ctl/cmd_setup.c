// SPDX-License-Identifier: GPL-2.0
#include "ctl/ctl.h"
#include "ctl/shard_view.h"
#include "dataplane/shard/shard.h"

static int parse_lookup(const char *s, int *out)
{
	enum sc_lookup l;

	if (sc_lookup_parse(s, &l))
		return -1;
	*out = (int)l;
	return 0;
}

/*
 * What a setup is made of: setup's options, and watch's (which sets up the
 * same way; its args struct starts with a struct sc_setup_opts too).
 */
const struct ctl_opt ctl_setup_opts[] = {
	{ "tx-queues", 0, "N", "tx (and rx) queues per veth end (default: DEV's active tx queues)",
	  CTL_UINT, CTL_FIELD(struct sc_setup_opts, tx_queues), .min = 1, .max = SC_MAX_TX_QUEUES },
	{ "shards", 0, "K", "K shards for R rx queues, rx queue i -> shard i % K (default: R)",
	  CTL_UINT, CTL_FIELD(struct sc_setup_opts, nr_shards), .min = 1, .max = SC_MAX_RXQ },
	{ "attach", 0, "MODE", "auto (default), tcx or tc (clsact + cls_bpf)",
	  CTL_ENUM, CTL_FIELD(struct sc_setup_opts, attach), .parse = sc_attach_parse },
	{ "lookup", 0, "METHOD", "map (default), global, const: where the rx queue table lives",
	  CTL_ENUM, CTL_FIELD(struct sc_setup_opts, lookup), .parse = parse_lookup },
	{ "shard-qdisc", 0, "SPEC", "root qdisc on every shard veth, in tc's words (see below)",
	  CTL_QSPEC, CTL_FIELD(struct sc_setup_opts, shard_qdisc) },
	{ "shard-prog", 0, "FILE.o[:SEC]", "tc-bpf program for every shard's egress",
	  CTL_STRING, CTL_FIELD(struct sc_setup_opts, shard_prog) },
	{ "force", 0, NULL, "take over DEV even if it has addresses or the default route",
	  CTL_FLAG, CTL_FIELD(struct sc_setup_opts, force) },
	{ 0 },
};

static const struct ctl_opt setup_only_opts[] = {
	{ "dry-run", 0, NULL, "print what would be created; change nothing",
	  CTL_FLAG, CTL_FIELD(struct sc_setup_opts, dry_run) },
	{ 0 },
};

static const struct ctl_opt setup_pos[] = {
	{ "device", .arg = "DEV", .type = CTL_STRING, CTL_FIELD(struct sc_setup_opts, dev),
	  .min_count = 1, .max_count = 1 },
	{ 0 },
};

static const struct sc_setup_opts setup_defaults = { .lookup = SC_LOOKUP_MAP };

static int run_setup(const struct ctl_common *c, void *args)
{
	const struct sc_setup_opts *o = args;
	char followed[128];
	struct sc_state st;

	if (sc_setup(o, &st))
		return ctl_fail("setup");
	if (c->json) {
		json_object *j = shard_state_json(&st);

		json_object_object_add(j, "dry_run", json_object_new_boolean(o->dry_run));
		json_object_object_add(j, "changed", json_object_new_boolean(st.changed));
		if (st.was_shards) {
			json_object *w = json_object_new_object();

			json_object_object_add(w, "rx_queues", json_object_new_int((int)st.was_rxq));
			json_object_object_add(w, "nr_shards", json_object_new_int((int)st.was_shards));
			json_object_object_add(j, "previous", w);
		} else {
			json_object_object_add(j, "previous", NULL);
		}
		json_object_object_add(j, "replaced_ifindex",
				       st.replaced ? json_object_new_int(st.replaced) : NULL);
		ctl_print_json(c, j);
	} else if (o->dry_run) {
		printf("dry run, nothing changed:\n");
		shard_plan_print(stdout, &st, false);
	} else {
		if (!st.changed)
			printf("%s: already set up, nothing changed\n", st.dev);
		if (st.replaced)
			printf("%s: removed the setup of the NIC this name had before (ifindex %d)\n",
			       st.dev, st.replaced);
		if (st.changed && sc_state_followed(&st, followed, sizeof(followed)))
			printf("%s: %s\n", st.dev, followed);
		shard_state_print(stdout, &st);
	}
	sc_state_free(&st);
	return EXIT_OK;
}

const struct ctl_cmd cmd_setup = {
	.name = "setup",
	.summary = "Create one veth shard per rx queue of DEV and redirect DEV's ingress into them.",
	.description = "All of DEV's received traffic is redirected: DEV must carry no addresses or\n"
		   "default route (or use --force). Re-running is safe: a complete setup is left\n"
		   "unchanged, a half-done one is completed, and one whose NIC changed its active\n"
		   "rx queue count (ethtool -L) follows it: shards for new queues are made complete\n"
		   "before their queues point at them, the shards of queues that went away are\n"
		   "deleted after nothing points at them. Without --shards and --tx-queues the\n"
		   "shard count follows the rx queues and the veth ends keep their tx queues.\n\n"
		   "--shard-qdisc SPEC, in tc's words:\n"
		   "  htb rate RATE [ceil RATE] [burst SIZE] [cburst SIZE]   (one default class 1:1)\n"
		   "  tbf rate RATE burst SIZE (latency TIME | limit SIZE)\n"
		   "  pfifo [limit PACKETS]      bfifo [limit SIZE]\n"
		   "  RATE: bit kbit mbit gbit tbit (x1000), kibit mibit gibit, bps kbps mbps gbps\n"
		   "  SIZE: bytes, b k kb m mb g gb (x1024)    TIME: us (default) ms s\n"
		   "--shard-prog FILE.o[:SECTION]: the program (first one, or the one in SECTION or\n"
		   "  named SECTION) is loaded before any change and attached to every shard's\n"
		   "  egress before the ingress redirect is enabled.",
	.opts = CTL_TABLES(setup_only_opts, ctl_setup_opts),
	.args = setup_pos,
	.args_size = sizeof(struct sc_setup_opts),
	.defaults = &setup_defaults,
	.run = run_setup,
};
