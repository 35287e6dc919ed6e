// SPDX-License-Identifier: GPL-2.0
#include "ctl/json_parts.h"

void ctl_json_softnet_counts(json_object *o, const struct sc_softnet_cpu *c)
{
	json_object_object_add(o, "processed", json_object_new_uint64(c->processed));
	json_object_object_add(o, "dropped", json_object_new_uint64(c->dropped));
	json_object_object_add(o, "time_squeeze", json_object_new_uint64(c->time_squeeze));
}

json_object *ctl_json_rate_limit(const struct sc_qdisc_rate *r)
{
	json_object *o = json_object_new_object();
	char h[16];

	sc_qdisc_handle_str(r->handle, h, sizeof(h));
	json_object_object_add(o, "kind", json_object_new_string(r->kind));
	json_object_object_add(o, "handle", json_object_new_string(h));
	json_object_object_add(o, "rate_bps", json_object_new_uint64(r->rate * 8));
	json_object_object_add(o, "ceil_bps", json_object_new_uint64(r->ceil * 8));
	return o;
}

json_object *ctl_json_qdisc(const struct sc_qdisc_info *q)
{
	json_object *o = json_object_new_object();
	char h[16], p[16];

	sc_qdisc_handle_str(q->handle, h, sizeof(h));
	sc_qdisc_handle_str(q->parent, p, sizeof(p));
	json_object_object_add(o, "kind", json_object_new_string(q->kind));
	json_object_object_add(o, "handle", json_object_new_string(h));
	json_object_object_add(o, "parent", json_object_new_string(p));
	json_object_object_add(o, "root", json_object_new_boolean(q->root));
	json_object_object_add(o, "packets", json_object_new_uint64(q->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(q->bytes));
	json_object_object_add(o, "drops", json_object_new_uint64(q->drops));
	json_object_object_add(o, "overlimits", json_object_new_uint64(q->overlimits));
	json_object_object_add(o, "requeues", json_object_new_uint64(q->requeues));
	json_object_object_add(o, "backlog", json_object_new_uint64(q->backlog));
	json_object_object_add(o, "qlen", json_object_new_uint64(q->qlen));
	return o;
}
