/* SPDX-License-Identifier: GPL-2.0 */
/* One sc_state, printed as a table or as JSON: both from the same struct. */
#ifndef SC_SHARD_VIEW_H
#define SC_SHARD_VIEW_H

#include <stdio.h>
#include <json-c/json.h>

#include "ctl/ctl.h"
#include "dataplane/shard/shard.h"

json_object *shard_state_json(const struct sc_state *st);
void shard_state_print(FILE *f, const struct sc_state *st);
/* What setup would create (--dry-run), or what teardown would remove. */
void shard_plan_print(FILE *f, const struct sc_state *st, bool removal);

/*
 * setup's option rows, shared with watch (which sets up the same way): they
 * write into a struct sc_setup_opts at the start of the args struct.
 */
extern const struct ctl_opt ctl_setup_opts[];

#endif
