/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The JSON sub-objects more than one command prints, built once so the same
 * thing has the same keys wherever it appears (shardctl(8), JSON OUTPUT).
 */
#ifndef SC_CTL_JSON_PARTS_H
#define SC_CTL_JSON_PARTS_H

#include <json-c/json.h>

#include "dataplane/kernel/qdisc.h"
#include "dataplane/kernel/softnet.h"

/* processed, dropped, time_squeeze of @c into @o (softnet, contention, check). */
void ctl_json_softnet_counts(json_object *o, const struct sc_softnet_cpu *c);
/* A device-wide rate limit: kind, handle, rate_bps, ceil_bps (check, mq). */
json_object *ctl_json_rate_limit(const struct sc_qdisc_rate *r);
/* A qdisc and its counters: kind, handle, parent, root, packets ... qlen (contention, mq). */
json_object *ctl_json_qdisc(const struct sc_qdisc_info *q);

#endif
