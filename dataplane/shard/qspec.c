// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/pkt_sched.h>
#include <netlink/netlink.h>
#include <netlink/route/tc.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/class.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/qdisc/fifo.h>

#include "dataplane/kernel/error.h"
#include "dataplane/kernel/nl.h"
#include "dataplane/shard/qspec.h"

#define MAX_WORDS 16

struct unit {
	const char *name;
	double mult;
};

/* Rates in bytes/s; tc's default unit for a bare rate is bit/s. */
static const struct unit rate_units[] = {
	{ "", 1.0 / 8 },	{ "bit", 1.0 / 8 },	  { "kbit", 1e3 / 8 },	 { "mbit", 1e6 / 8 },
	{ "gbit", 1e9 / 8 },	{ "tbit", 1e12 / 8 },	  { "kibit", 1024.0 / 8 }, { "mibit", 1048576.0 / 8 },
	{ "gibit", 1073741824.0 / 8 }, { "bps", 1 },	  { "kbps", 1e3 },	 { "mbps", 1e6 },
	{ "gbps", 1e9 },	{ NULL, 0 },
};
static const struct unit size_units[] = {
	{ "", 1 },	    { "b", 1 },	    { "k", 1024 },	 { "kb", 1024 },
	{ "m", 1048576 }, { "mb", 1048576 }, { "g", 1073741824 }, { "gb", 1073741824 },
	{ NULL, 0 },
};
static const struct unit time_units[] = {
	{ "", 1 },	   { "us", 1 },	      { "usec", 1 }, { "usecs", 1 }, { "ms", 1000 },
	{ "msec", 1000 }, { "msecs", 1000 }, { "s", 1e6 },  { "sec", 1e6 }, { "secs", 1e6 },
	{ NULL, 0 },
};

static int parse_unit(const char *word, const struct unit *units, double max, const char *what,
		      double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(word, &end);
	if (end == word || errno || !isfinite(v) || v <= 0 || word[0] == '-' || word[0] == '+')
		goto bad;
	for (const struct unit *u = units; u->name; u++)
		if (!strcasecmp(end, u->name)) {
			v *= u->mult;
			if (v > max || v < 1)
				goto bad;
			*out = v;
			return 0;
		}
bad:
	return sc_errf(EINVAL, "shard qdisc spec: bad %s '%s'", what, word);
}

static int rate(const char *w, uint64_t *out)
{
	double v;
	int err = parse_unit(w, rate_units, 1e15, "rate", &v);

	if (err)
		return err;
	*out = (uint64_t)v;
	return 0;
}

static int size32(const char *w, const char *what, uint32_t *out)
{
	double v;
	int err = parse_unit(w, size_units, 4294967295.0, what, &v);

	if (err)
		return err;
	*out = (uint32_t)v;
	return 0;
}

static int split(char *buf, char **words)
{
	int n = 0;

	for (char *t = strtok(buf, " \t\n"); t; t = strtok(NULL, " \t\n")) {
		if (n == MAX_WORDS)
			return -1;
		words[n++] = t;
	}
	return n;
}

static int parse_args(struct sc_qspec *q, char **w, int n)
{
	for (int i = 1; i < n; i += 2) {
		const char *key = w[i], *val = i + 1 < n ? w[i + 1] : NULL;
		double d;
		int err = 0;

		if (!val)
			return sc_errf(EINVAL, "shard qdisc spec: '%s' needs a value", key);
		if (!strcmp(key, "rate") && q->kind != SC_QSPEC_PFIFO && q->kind != SC_QSPEC_BFIFO)
			err = rate(val, &q->rate);
		else if (!strcmp(key, "ceil") && q->kind == SC_QSPEC_HTB)
			err = rate(val, &q->ceil);
		else if ((!strcmp(key, "burst") || !strcmp(key, "buffer")) &&
			 (q->kind == SC_QSPEC_HTB || q->kind == SC_QSPEC_TBF))
			err = size32(val, "burst", &q->burst);
		else if (!strcmp(key, "cburst") && q->kind == SC_QSPEC_HTB)
			err = size32(val, "cburst", &q->cburst);
		else if (!strcmp(key, "latency") && q->kind == SC_QSPEC_TBF) {
			err = parse_unit(val, time_units, 4294967295.0, "latency", &d);
			if (err)
				return err;
			q->latency_us = (uint32_t)d;
		} else if (!strcmp(key, "limit") && q->kind == SC_QSPEC_PFIFO) {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(val, &end, 10);
			if (*val < '0' || *val > '9' || *end || errno || !v || v > 0xffffffffUL)
				return sc_errf(EINVAL, "shard qdisc spec: bad limit '%s' (packets)", val);
			q->limit = (uint32_t)v;
		} else if (!strcmp(key, "limit") &&
			   (q->kind == SC_QSPEC_TBF || q->kind == SC_QSPEC_BFIFO))
			err = size32(val, "limit", &q->limit);
		else
			return sc_errf(EINVAL, "shard qdisc spec: unknown parameter '%s' for %s", key,
				       w[0]);
		if (err)
			return err;
	}
	return 0;
}

int sc_qspec_parse(const char *spec, struct sc_qspec *out)
{
	char buf[512], *w[MAX_WORDS];
	int n, err;

	memset(out, 0, sizeof(*out));
	if (!spec || strlen(spec) >= sizeof(buf))
		return sc_errf(EINVAL, "shard qdisc spec: empty or longer than %zu characters",
			       sizeof(buf) - 1);
	snprintf(buf, sizeof(buf), "%s", spec);
	n = split(buf, w);
	if (n <= 0)
		return sc_errf(EINVAL, "shard qdisc spec: %s", n ? "too many words" : "empty");
	if (!strcmp(w[0], "htb"))
		out->kind = SC_QSPEC_HTB;
	else if (!strcmp(w[0], "tbf"))
		out->kind = SC_QSPEC_TBF;
	else if (!strcmp(w[0], "pfifo"))
		out->kind = SC_QSPEC_PFIFO;
	else if (!strcmp(w[0], "bfifo"))
		out->kind = SC_QSPEC_BFIFO;
	else
		return sc_errf(EINVAL, "shard qdisc spec: unknown qdisc '%s' (htb, tbf, pfifo, bfifo)",
			       w[0]);
	err = parse_args(out, w, n);
	if (err)
		return err;
	if ((out->kind == SC_QSPEC_HTB || out->kind == SC_QSPEC_TBF) && !out->rate)
		return sc_errf(EINVAL, "shard qdisc spec: %s needs a rate", w[0]);
	if (out->kind == SC_QSPEC_HTB && !out->ceil)
		out->ceil = out->rate;
	if (out->kind == SC_QSPEC_HTB && out->ceil < out->rate)
		return sc_errf(EINVAL, "shard qdisc spec: ceil below rate");
	if (out->kind == SC_QSPEC_TBF) {
		if (!out->burst)
			return sc_errf(EINVAL, "shard qdisc spec: tbf needs a burst");
		if (!out->latency_us == !out->limit)
			return sc_errf(EINVAL, "shard qdisc spec: tbf needs either latency or limit");
		/* libnl's tbf setters take an int of bytes per second. */
		if (out->rate > 0x7fffffff)
			return sc_errf(ERANGE, "shard qdisc spec: tbf rate above 17 gbit");
	}
	return 0;
}

/* Canonical text: parses back to the same spec (fields left to defaults are not printed). */
void sc_qspec_format(const struct sc_qspec *q, char *buf, size_t len)
{
	static const char *const kinds[] = { "", "htb", "tbf", "pfifo", "bfifo" };
	size_t n;

	buf[0] = '\0';
	if (q->kind == SC_QSPEC_NONE || len < 2)
		return;
	n = (size_t)snprintf(buf, len, "%s", kinds[q->kind]);
	if (q->rate && n < len)
		n += (size_t)snprintf(buf + n, len - n, " rate %llubit", (unsigned long long)q->rate * 8);
	if (q->kind == SC_QSPEC_HTB && n < len)
		n += (size_t)snprintf(buf + n, len - n, " ceil %llubit", (unsigned long long)q->ceil * 8);
	if (q->burst && n < len)
		n += (size_t)snprintf(buf + n, len - n, " burst %u", q->burst);
	if (q->cburst && n < len)
		n += (size_t)snprintf(buf + n, len - n, " cburst %u", q->cburst);
	if (q->latency_us && n < len)
		n += (size_t)snprintf(buf + n, len - n, " latency %uus", q->latency_us);
	if (q->limit && n < len)
		snprintf(buf + n, len - n, " limit %u", q->limit);
}

static int apply_htb_class(struct nl_sock *sk, int ifindex, const struct sc_qspec *q)
{
	struct rtnl_class *c = rtnl_class_alloc();
	int err;

	if (!c)
		return -NLE_NOMEM;
	rtnl_tc_set_ifindex(TC_CAST(c), ifindex);
	rtnl_tc_set_parent(TC_CAST(c), TC_HANDLE(1, 0));
	rtnl_tc_set_handle(TC_CAST(c), TC_HANDLE(1, 1));
	err = rtnl_tc_set_kind(TC_CAST(c), "htb");
	if (err)
		goto out;
	err = rtnl_htb_set_rate64(c, q->rate);
	if (err)
		goto out;
	err = rtnl_htb_set_ceil64(c, q->ceil);
	if (err)
		goto out;
	if (q->burst) {
		err = rtnl_htb_set_rbuffer(c, q->burst);
		if (err)
			goto out;
	}
	if (q->cburst) {
		err = rtnl_htb_set_cbuffer(c, q->cburst);
		if (err)
			goto out;
	}
	err = rtnl_class_add(sk, c, NLM_F_CREATE | NLM_F_REPLACE);
out:
	rtnl_class_put(c);
	return err;
}

static int fill_qdisc(struct rtnl_qdisc *qd, const struct sc_qspec *q)
{
	static const char *const kinds[] = { "", "htb", "tbf", "pfifo", "bfifo" };
	int err = rtnl_tc_set_kind(TC_CAST(qd), kinds[q->kind]);

	if (err)
		return err;
	switch (q->kind) {
	case SC_QSPEC_HTB:
		return rtnl_htb_set_defcls(qd, TC_HANDLE(1, 1));
	case SC_QSPEC_TBF:
		rtnl_qdisc_tbf_set_rate(qd, (int)q->rate, (int)q->burst, 0);
		if (q->limit) {
			rtnl_qdisc_tbf_set_limit(qd, (int)q->limit);
			return 0;
		}
		return rtnl_qdisc_tbf_set_limit_by_latency(qd, (int)q->latency_us);
	default:
		return q->limit ? rtnl_qdisc_fifo_set_limit(qd, (int)q->limit) : 0;
	}
}

int sc_qspec_apply(struct sc_nl *nl, int ifindex, const struct sc_qspec *q)
{
	struct nl_sock *sk = sc_nl_route(nl);
	struct rtnl_qdisc *qd = rtnl_qdisc_alloc();
	int err = 0;

	if (!qd) {
		err = -NLE_NOMEM;
		goto out;
	}
	rtnl_tc_set_ifindex(TC_CAST(qd), ifindex);
	rtnl_tc_set_parent(TC_CAST(qd), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(qd), TC_HANDLE(1, 0));
	err = fill_qdisc(qd, q);
	if (err)
		goto out;
	err = rtnl_qdisc_add(sk, qd, NLM_F_CREATE | NLM_F_REPLACE);
	if (err)
		goto out;
	if (q->kind == SC_QSPEC_HTB)
		err = apply_htb_class(sk, ifindex, q);
out:
	rtnl_qdisc_put(qd);
	if (err)
		return sc_errf(EINVAL, "ifindex %d: installing the shard qdisc: %s", ifindex,
			       nl_geterror(err));
	return 0;
}
