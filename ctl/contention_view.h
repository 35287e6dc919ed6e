/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Printing contention reports, shared by `shardctl contention` and
 * `shardctl mq`: one table of figures feeds the human report, the
 * before/after comparison and the JSON, so they cannot disagree.
 */
#ifndef SC_CTL_CONTENTION_VIEW_H
#define SC_CTL_CONTENTION_VIEW_H

#include <json-c/json.h>

#include "dataplane/observe/contention.h"

/*
 * The measurement window's wait (sc_contention_opts.wait): a progress line
 * on stderr when it is a terminal (@priv is a label, "before"), naps of a
 * quarter second, and ^C (ctl_stop) ends it early.
 */
bool cv_wait(void *priv, double elapsed_s, double total_s);
void cv_progress_done(void);

void cv_print_report(const struct sc_contention_report *r);
json_object *cv_report_json(const struct sc_contention_report *r);

void cv_print_compare(const struct sc_contention_report *before,
		      const struct sc_contention_report *after);
/* {"figure": {"before": x, "after": y, "ratio": y/x or null}, ...} */
json_object *cv_compare_json(const struct sc_contention_report *before,
			     const struct sc_contention_report *after);

#endif
