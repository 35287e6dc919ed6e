/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shard qdisc spec: the egress processing that used to sit on the NIC,
 * written the way tc(8) spells it, installed as the root of every shard veth
 * through libnl-route.
 *
 *   htb rate RATE [ceil RATE] [burst SIZE] [cburst SIZE]
 *        an htb root (handle 1:) whose single default class 1:1 has that rate
 *   tbf rate RATE burst SIZE (latency TIME | limit SIZE)
 *   pfifo [limit PACKETS]
 *   bfifo [limit SIZE]
 *
 * Units as in tc: RATE in bit (bare number), kbit, mbit, gbit, tbit (x1000),
 * kibit, mibit, gibit (x1024), or bytes: bps, kbps, mbps, gbps; SIZE in bytes
 * (bare), b, k/kb, m/mb, g/gb (x1024); TIME in us (bare), us/usec, ms/msec,
 * s/sec.
 */
#ifndef SC_QSPEC_H
#define SC_QSPEC_H

#include <stddef.h>
#include <stdint.h>

struct sc_nl;

enum sc_qspec_kind { SC_QSPEC_NONE = 0, SC_QSPEC_HTB, SC_QSPEC_TBF, SC_QSPEC_PFIFO, SC_QSPEC_BFIFO };

struct sc_qspec {
	enum sc_qspec_kind kind;
	uint64_t rate;		/* bytes/s */
	uint64_t ceil;		/* bytes/s; htb, defaults to rate */
	uint32_t burst;		/* bytes; 0 = let libnl/kernel pick (htb) */
	uint32_t cburst;	/* bytes */
	uint32_t latency_us;	/* tbf */
	uint32_t limit;		/* tbf, bfifo: bytes; pfifo: packets; 0 = default */
};

/* Parse @spec; on error the message names the offending word. */
int sc_qspec_parse(const char *spec, struct sc_qspec *out);
/* Canonical text of @q (what status shows, and what setup compares on a re-run). */
void sc_qspec_format(const struct sc_qspec *q, char *buf, size_t len);
/* Install @q as the root qdisc of @ifindex (replacing what is there). */
int sc_qspec_apply(struct sc_nl *nl, int ifindex, const struct sc_qspec *q);

#endif
