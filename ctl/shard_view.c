// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <limits.h>

#include "ctl/shard_view.h"

static json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static json_object *dev_json(const char *name, int ifindex)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "ifindex", json_object_new_int(ifindex));
	return o;
}

static json_object *shard_json(const struct sc_shard *sh)
{
	json_object *o = json_object_new_object(), *q;

	json_object_object_add(o, "index", json_object_new_int((int)sh->index));
	json_object_object_add(o, "egress", dev_json(sh->name, sh->ifindex));
	json_object_object_add(o, "return", dev_json(sh->peer, sh->peer_ifindex));
	json_object_object_add(o, "tx_queues", json_object_new_int((int)sh->tx_queues));
	json_object_object_add(o, "mtu", json_object_new_int((int)sh->mtu));
	json_object_object_add(o, "egress_prog",
			       sh->egress_prog[0] ? json_object_new_string(sh->egress_prog) : NULL);
	q = json_object_new_object();
	json_object_object_add(q, "kind", json_object_new_string(sh->qdisc[0] ? sh->qdisc : "noqueue"));
	json_object_object_add(q, "packets", u64(sh->q_packets));
	json_object_object_add(q, "drops", u64(sh->q_drops));
	json_object_object_add(q, "overlimits", u64(sh->q_overlimits));
	json_object_object_add(q, "requeues", u64(sh->q_requeues));
	json_object_object_add(q, "backlog", u64(sh->q_backlog));
	json_object_object_add(q, "qlen", u64(sh->q_qlen));
	json_object_object_add(o, "qdisc", q);
	json_object_object_add(o, "up", json_object_new_boolean(sh->up));
	json_object_object_add(o, "return_attached", json_object_new_boolean(sh->return_attached));
	json_object_object_add(o, "packets", u64(sh->packets));
	json_object_object_add(o, "bytes", u64(sh->bytes));
	json_object_object_add(o, "veth_tx_packets", u64(sh->veth_tx_packets));
	json_object_object_add(o, "peer_rx_packets", u64(sh->peer_rx_packets));
	return o;
}

json_object *shard_state_json(const struct sc_state *st)
{
	json_object *o = json_object_new_object(), *a, *spread;
	char cookie[32];

	snprintf(cookie, sizeof(cookie), "%" PRIx64, st->netns_cookie);
	json_object_object_add(o, "dev", json_object_new_string(st->dev));
	json_object_object_add(o, "ifindex", json_object_new_int(st->ifindex));
	json_object_object_add(o, "netns_cookie", json_object_new_string(cookie));
	json_object_object_add(o, "complete", json_object_new_boolean(st->complete));
	json_object_object_add(o, "problem",
			       st->problem[0] ? json_object_new_string(st->problem) : NULL);
	json_object_object_add(o, "rx_queues", json_object_new_int((int)st->nr_rxq));
	json_object_object_add(o, "nic_rx_queues", json_object_new_int((int)st->nic_rxq));
	json_object_object_add(o, "tx_queues", json_object_new_int((int)st->nr_txq));
	json_object_object_add(o, "mtu", json_object_new_int((int)st->mtu));
	json_object_object_add(o, "nr_shards", json_object_new_int((int)st->nr_shards));
	json_object_object_add(o, "shard_tx_queues", json_object_new_int((int)st->tx_queues));
	json_object_object_add(o, "attach", json_object_new_string(sc_attach_name(st->attach)));
	json_object_object_add(o, "lookup", json_object_new_string(sc_lookup_name(st->lookup)));
	json_object_object_add(o, "group", json_object_new_int64(st->group));
	json_object_object_add(o, "pin_dir", json_object_new_string(st->pin_dir));
	json_object_object_add(o, "shard_qdisc",
			       st->shard_qdisc[0] ? json_object_new_string(st->shard_qdisc) : NULL);
	json_object_object_add(o, "shard_prog",
			       st->shard_prog[0] ? json_object_new_string(st->shard_prog) : NULL);
	json_object_object_add(o, "ingress_attached", json_object_new_boolean(st->ingress_attached));
	json_object_object_add(o, "ingress_prog_id", json_object_new_int64(st->ingress_prog_id));
	json_object_object_add(o, "ingress_run_ns", u64(st->ingress_run_ns));
	json_object_object_add(o, "ingress_run_cnt", u64(st->ingress_run_cnt));
	json_object_object_add(o, "unrecorded_packets", u64(st->unrecorded_packets));
	json_object_object_add(o, "no_shard_packets", u64(st->no_shard_packets));
	json_object_object_add(o, "returned_packets", u64(st->returned_packets));
	spread = json_object_new_object();
	json_object_object_add(spread, "max_over_mean", json_object_new_double(st->spread_max_mean));
	json_object_object_add(spread, "cv", json_object_new_double(st->spread_cv));
	json_object_object_add(o, "spread", spread);
	a = json_object_new_array();
	for (unsigned int i = 0; st->shards && i < st->nr_shards; i++)
		json_object_array_add(a, shard_json(&st->shards[i]));
	json_object_object_add(o, "shards", a);
	a = json_object_new_array();
	for (unsigned int q = 0; st->rxqs && q < st->nr_rxq; q++) {
		const struct sc_rxq *r = &st->rxqs[q];
		json_object *e = json_object_new_object();

		json_object_object_add(e, "rxq", json_object_new_int((int)r->rxq));
		json_object_object_add(e, "shard", r->shard == UINT_MAX ? NULL
						   : json_object_new_int((int)r->shard));
		json_object_object_add(e, "ifindex", json_object_new_int(r->ifindex));
		json_object_object_add(e, "packets", u64(r->packets));
		json_object_object_add(e, "bytes", u64(r->bytes));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "rxq_map", a);
	return o;
}

void shard_state_print(FILE *f, const struct sc_state *st)
{
	fprintf(f, "%s (ifindex %d): %u rx / %u tx queues, %u shards x %u tx queues, "
		   "attach %s, lookup %s\n",
		st->dev, st->ifindex, st->nr_rxq, st->nr_txq, st->nr_shards, st->tx_queues,
		sc_attach_name(st->attach), sc_lookup_name(st->lookup));
	if (st->complete)
		fprintf(f, "  state: complete, ingress redirect active\n");
	else
		fprintf(f, "  state: INCOMPLETE: %s (run setup again to complete, or teardown)\n",
			st->problem);
	fprintf(f, "  %-5s %-15s %-15s %-7s %12s %14s %12s\n", "shard", "egress", "return", "rxqs",
		"packets", "bytes", "veth tx");
	for (unsigned int i = 0; i < st->nr_shards; i++) {
		const struct sc_shard *sh = &st->shards[i];
		char rxqs[64] = "", *p = rxqs;

		for (unsigned int q = 0; st->rxqs && q < st->nr_rxq; q++)
			if (st->rxqs[q].shard == i && p < rxqs + sizeof(rxqs) - 8)
				p += snprintf(p, 8, "%s%u", p == rxqs ? "" : ",", q);
		fprintf(f, "  %-5u %-15s %-15s %-7s %12" PRIu64 " %14" PRIu64 " %12" PRIu64 "%s\n",
			i, sh->ifindex ? sh->name : "(missing)",
			sh->peer_ifindex ? sh->peer : "(missing)", rxqs[0] ? rxqs : "-",
			sh->packets, sh->bytes, sh->veth_tx_packets,
			sh->return_attached ? "" : "  (no return program)");
	}
	if (st->shard_qdisc[0] || st->shard_prog[0]) {
		fprintf(f, "  shard egress: %s%s%s\n", st->shard_qdisc[0] ? st->shard_qdisc : "",
			st->shard_qdisc[0] && st->shard_prog[0] ? ", program " : "",
			st->shard_prog[0] ? st->shard_prog : "");
		fprintf(f, "  %-5s %-8s %12s %10s %10s %10s %10s\n", "shard", "qdisc", "packets",
			"drops", "overlimits", "requeues", "backlog");
		for (unsigned int i = 0; i < st->nr_shards; i++) {
			const struct sc_shard *sh = &st->shards[i];

			fprintf(f, "  %-5u %-8s %12" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
				   " %10" PRIu64 "\n",
				i, sh->qdisc[0] ? sh->qdisc : "noqueue", sh->q_packets, sh->q_drops,
				sh->q_overlimits, sh->q_requeues, sh->q_backlog);
		}
	}
	fprintf(f, "  not sharded: %" PRIu64 " without a recorded rx queue, %" PRIu64
		   " with no shard (passed to the stack)\n",
		st->unrecorded_packets, st->no_shard_packets);
	fprintf(f, "  returned to %s: %" PRIu64 " packets\n", st->dev, st->returned_packets);
	if (st->ingress_run_cnt)
		fprintf(f, "  ingress program: %.1f ns per frame over %" PRIu64 " runs "
			   "(kernel.bpf_stats_enabled)\n",
			(double)st->ingress_run_ns / (double)st->ingress_run_cnt, st->ingress_run_cnt);
	if (st->spread_max_mean > 0)
		fprintf(f, "  spread: busiest shard %.2fx the mean, coefficient of variation %.2f\n",
			st->spread_max_mean, st->spread_cv);
	else
		fprintf(f, "  spread: no traffic yet\n");
}

static void pair_lines(FILE *f, const struct sc_state *st, const char *verb, unsigned int from,
		       unsigned int to, const char *extra)
{
	char name[IF_NAMESIZE], peer[IF_NAMESIZE];

	for (unsigned int i = from; i < to; i++) {
		if (i < st->nr_shards) {
			snprintf(name, sizeof(name), "%s", st->shards[i].name);
			snprintf(peer, sizeof(peer), "%s", st->shards[i].peer);
		} else {
			sc_shard_names(st->dev, i, name, peer);
		}
		fprintf(f, "  %s veth pair %s/%s%s\n", verb, name, peer, extra);
	}
}

/* A re-run's plan: follow the NIC's queue count (or a new --shards), in the order it happens. */
static void reconcile_print(FILE *f, const struct sc_state *st)
{
	unsigned int was = st->was_shards, now = st->nr_shards;

	fprintf(f, "%s (ifindex %d): set up for %u rx queues with %u shards; now %u rx queues "
		   "-> %u shards, %u tx queues per veth end\n",
		st->dev, st->ifindex, st->was_rxq, was, st->nr_rxq, now, st->tx_queues);
	if (was == now && st->was_rxq == st->nr_rxq) {
		fprintf(f, "  nothing to reconcile (a half-done setup is completed)\n");
		return;
	}
	pair_lines(f, st, "keep", 0, was < now ? was : now, "");
	pair_lines(f, st, "create", was, now, ", return program at the second end's ingress");
	fprintf(f, "  then point rx queues 0-%u at shards (queue mod %u)%s\n", st->nr_rxq - 1, now,
		st->lookup == SC_LOOKUP_CONST ? " by swapping the ingress program (lookup const)" : "");
	pair_lines(f, st, "then delete", now, was, " once its counters stand still");
}

void shard_plan_print(FILE *f, const struct sc_state *st, bool removal)
{
	if (!removal && st->was_shards) {
		reconcile_print(f, st);
		return;
	}
	fprintf(f, "%s (ifindex %d): %u rx queues -> %u shards, %u tx queues per veth end\n",
		st->dev, st->ifindex, st->nr_rxq, st->nr_shards, st->tx_queues);
	/* In the order the changes happen: the ingress redirect is added last, removed first. */
	if (removal)
		fprintf(f, "  detach the ingress program on %s (lookup %s, attach %s)\n", st->dev,
			sc_lookup_name(st->lookup), sc_attach_name(st->attach));
	for (unsigned int i = 0; i < st->nr_shards; i++)
		fprintf(f, "  %s veth pair %s/%s (group 0x%x)%s\n", removal ? "delete" : "create",
			st->shards[i].name, st->shards[i].peer, st->group,
			removal ? "" : ", return program at the second end's ingress");
	if (!removal)
		fprintf(f, "  attach the ingress program on %s (lookup %s, attach %s)\n", st->dev,
			sc_lookup_name(st->lookup), sc_attach_name(st->attach));
	fprintf(f, "  %s pins under %s\n", removal ? "remove" : "create", st->pin_dir);
}
