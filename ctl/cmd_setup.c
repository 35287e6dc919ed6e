// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/shard_view.h"
#include "dataplane/kernel/error.h"
#include "dataplane/shard/qspec.h"
#include "dataplane/shard/shard.h"

enum { OPT_TXQ = 256, OPT_SHARDS, OPT_ATTACH, OPT_LOOKUP, OPT_FORCE, OPT_QDISC, OPT_PROG,
       OPT_DRY_RUN };

/* What a setup is made of: setup's options, and watch's (which sets up the same way). */
const struct ctl_opt ctl_setup_opts[] = {
	{ "tx-queues", OPT_TXQ, "N", "tx (and rx) queues per veth end (default: DEV's active tx queues)" },
	{ "shards", OPT_SHARDS, "K", "K shards for R rx queues, rx queue i -> shard i % K (default: R)" },
	{ "attach", OPT_ATTACH, "MODE", "auto (default), tcx or tc (clsact + cls_bpf)" },
	{ "lookup", OPT_LOOKUP, "METHOD", "map (default), global, const: where the rx queue table lives" },
	{ "shard-qdisc", OPT_QDISC, "SPEC", "root qdisc on every shard veth, in tc's words (see below)" },
	{ "shard-prog", OPT_PROG, "FILE.o[:SEC]", "tc-bpf program for every shard's egress" },
	{ "force", OPT_FORCE, NULL, "take over DEV even if it has addresses or the default route" },
	{ 0 },
};

static const struct ctl_opt setup_only_opts[] = {
	{ "dry-run", OPT_DRY_RUN, NULL, "print what would be created; change nothing" },
	{ 0 },
};

int ctl_setup_opt(const char *cmd, int key, const char *arg, struct sc_setup_opts *o)
{
	unsigned long v;

	switch (key) {
	case OPT_TXQ:
		if (ctl_parse_uint(cmd, "--tx-queues", arg, 1, SC_MAX_TX_QUEUES, &v))
			return EXIT_USAGE;
		o->tx_queues = (unsigned int)v;
		return 0;
	case OPT_SHARDS:
		if (ctl_parse_uint(cmd, "--shards", arg, 1, SC_MAX_RXQ, &v))
			return EXIT_USAGE;
		o->nr_shards = (unsigned int)v;
		return 0;
	case OPT_ATTACH:
		if (sc_attach_parse(arg, &o->attach))
			return ctl_err(EXIT_USAGE, cmd, "%s", sc_last_error());
		return 0;
	case OPT_LOOKUP:
		if (sc_lookup_parse(arg, &o->lookup))
			return ctl_err(EXIT_USAGE, cmd, "%s", sc_last_error());
		return 0;
	case OPT_QDISC: {
		struct sc_qspec q;

		/* Parsed here too so a bad spec is a usage error (exit 2). */
		if (sc_qspec_parse(arg, &q))
			return ctl_err(EXIT_USAGE, cmd, "%s", sc_last_error());
		o->shard_qdisc = arg;
		return 0;
	}
	case OPT_PROG:
		o->shard_prog = arg;
		return 0;
	case OPT_FORCE:
		o->force = true;
		return 0;
	}
	return EXIT_USAGE;
}

static int on_opt(int key, const char *arg, void *priv)
{
	struct sc_setup_opts *o = priv;

	if (key == OPT_DRY_RUN) {
		o->dry_run = true;
		return 0;
	}
	return ctl_setup_opt("setup", key, arg, o);
}

static int run_setup(int argc, char **argv)
{
	struct sc_setup_opts o = { .lookup = SC_LOOKUP_MAP };
	struct ctl_common c;
	struct sc_state st;
	int i = ctl_parse(&cmd_setup, argc, argv, &c, on_opt, &o);

	if (i < 0)
		return EXIT_USAGE;
	if (c.help)
		return EXIT_OK;
	if (argc - i != 1)
		return ctl_err(EXIT_USAGE, "setup", argc - i ? "expected one device, got %d arguments"
							     : "missing device%.0d", argc - i);
	o.dev = argv[i];
	if (sc_setup(&o, &st))
		return ctl_fail("setup");
	if (c.json) {
		json_object *j = shard_state_json(&st);

		json_object_object_add(j, "dry_run", json_object_new_boolean(o.dry_run));
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
		ctl_print_json(&c, j);
	} else if (o.dry_run) {
		printf("dry run, nothing changed:\n");
		shard_plan_print(stdout, &st, false);
	} else {
		if (!st.changed)
			printf("%s: already set up, nothing changed\n", st.dev);
		if (st.replaced)
			printf("%s: removed the setup of the NIC this name had before (ifindex %d)\n",
			       st.dev, st.replaced);
		if (st.changed && st.was_shards &&
		    (st.was_shards != st.nr_shards || st.was_rxq != st.nr_rxq))
			printf("%s: followed the NIC: %u rx queues / %u shards -> %u rx queues / %u "
			       "shards\n", st.dev, st.was_rxq, st.was_shards, st.nr_rxq, st.nr_shards);
		shard_state_print(stdout, &st);
	}
	sc_state_free(&st);
	return EXIT_OK;
}

const struct ctl_cmd cmd_setup = {
	.name = "setup",
	.usage_args = "DEV",
	.summary = "Create one veth shard per rx queue of DEV and redirect DEV's ingress into them.",
	.description = "Create one veth shard per rx queue of DEV and redirect DEV's ingress into them.\n"
		   "All of DEV's received traffic is redirected: DEV must carry no addresses or\n"
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
	.opts = setup_only_opts,
	.shared_opts = ctl_setup_opts,
	.run = run_setup,
};
