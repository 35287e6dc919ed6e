// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for dataplane/kernel/kallsyms.c (parsing, lookup, formatting) and the
 * stack classifier of dataplane/observe/contention.c, on text and stacks made up
 * here. PASS/FAIL lines go to $RESULTS (tests/lib.sh's format, through
 * tests/unit/check.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/observe/contention.h"
#include "dataplane/kernel/kallsyms.h"
#include "tests/unit/check.h"

static const char text[] =
	"ffffffff81000000 T _stext\n"
	"ffffffff81000000 T _text\n"
	"ffffffff81000100 t helper\n"
	"ffffffff81000200 D some_data\n"
	"ffffffff81000300 T __dev_queue_xmit\n"
	"ffffffff81000400 W weak_fn\n"
	"ffffffffa0000000 t mod_fn\t[veth]\n"
	"ffffffffa0000080 T mod_fn2\t[veth]\n";

static void test_parse(void)
{
	struct sc_ksyms ks;
	const struct sc_ksym *s;
	uint64_t lo, hi;
	char buf[128];
	int err = sc_ksyms_parse(text, &ks);

	check(!err, "parse", "err %d", err);
	if (err)
		return;
	check(ks.nr == 7, "text symbols only (data dropped)", "nr %zu", ks.nr);
	s = sc_ksyms_find(&ks, 0xffffffff81000250ull);
	check(s && !strcmp(s->name, "helper"), "address in a gap left by data belongs to the text before",
	      "%s", s ? s->name : "NULL");
	s = sc_ksyms_find(&ks, 0xffffffff81000300ull);
	check(s && !strcmp(s->name, "__dev_queue_xmit"), "exact start address", "%s", s ? s->name : "NULL");
	check(!sc_ksyms_find(&ks, 0xffffffff80ffffffull), "below the first symbol is unknown", "found");
	s = sc_ksyms_find(&ks, 0xffffffffa0000010ull);
	check(s && s->module && !strcmp(s->module, "veth"), "module name parsed", "%s",
	      s && s->module ? s->module : "NULL");
	check(!sc_ksyms_range(&ks, "__dev_queue_xmit", &lo, &hi) && lo == 0xffffffff81000300ull &&
	      hi == 0xffffffff81000400ull, "range ends at the next symbol", "%llx-%llx",
	      (unsigned long long)lo, (unsigned long long)hi);
	check(sc_ksyms_range(&ks, "nosuch", &lo, &hi) == -ENOENT, "range of an unknown name", "found");
	sc_ksyms_format(&ks, 0xffffffff81000310ull, buf, sizeof(buf));
	check(!strcmp(buf, "__dev_queue_xmit+0x10"), "format name+offset", "%s", buf);
	sc_ksyms_format(&ks, 0xffffffffa0000090ull, buf, sizeof(buf));
	check(!strcmp(buf, "mod_fn2+0x10 [veth]"), "format with module", "%s", buf);
	sc_ksyms_format(&ks, 0x1000, buf, sizeof(buf));
	check(!strcmp(buf, "0x1000"), "format unknown address", "%s", buf);
	sc_ksyms_free(&ks);
}

static void test_hidden(void)
{
	struct sc_ksyms ks;
	int err = sc_ksyms_parse("0000000000000000 T a\n0000000000000000 T b\n", &ks);

	check(err == -EPERM, "hidden addresses (kptr_restrict) are an error", "err %d", err);
	if (!err)
		sc_ksyms_free(&ks);
	err = sc_ksyms_parse("zzzz T a\n", &ks);
	check(err == -EINVAL, "garbage is an error", "err %d", err);
	if (!err)
		sc_ksyms_free(&ks);
}

static void test_classify(void)
{
	uint64_t lo[SC_NR_RANGES] = { 0 }, hi[SC_NR_RANGES] = { 0 };
	const unsigned int spin = 1u << SC_CLASS_SPIN, lock = 1u << SC_CLASS_QDISC_LOCK,
			   xmit = 1u << SC_CLASS_XMIT, cls = 1u << SC_CLASS_CLASSIFY,
			   idle = 1u << SC_CLASS_IDLE;
	uint64_t s1[] = { 0x1010, 0x9000, 0x2050, 0x9100 };	/* slowpath <- ... <- xmit */
	uint64_t s2[] = { 0x9000, 0x9000, 0x9000, 0x9000, 0x1010, 0x2050 };	/* spin too deep */
	uint64_t s3[] = { 0x1010, 0x9000 };			/* spin, not transmit */
	uint64_t s4[] = { 0x4010, 0x2000 };			/* classify under xmit */
	uint64_t s5[] = { 0x9000, 0x5001 };			/* idle */
	unsigned int m;

	lo[SC_RANGE_SLOW_PV] = 0x1000, hi[SC_RANGE_SLOW_PV] = 0x1100;
	lo[SC_RANGE_DEV_QUEUE_XMIT] = 0x2000, hi[SC_RANGE_DEV_QUEUE_XMIT] = 0x2100;
	lo[SC_RANGE_TCF_CLASSIFY] = 0x4000, hi[SC_RANGE_TCF_CLASSIFY] = 0x4100;
	lo[SC_RANGE_IDLE] = 0x5000, hi[SC_RANGE_IDLE] = 0x5100;
	m = sc_contention_classify(s1, 4, lo, hi);
	check(m == (spin | lock | xmit), "slow path under __dev_queue_xmit is the qdisc lock", "%#x", m);
	m = sc_contention_classify(s2, 6, lo, hi);
	check(m == xmit, "slow path beyond the leaf frames is not a spin sample", "%#x", m);
	m = sc_contention_classify(s3, 2, lo, hi);
	check(m == spin, "slow path elsewhere is spin, not qdisc lock", "%#x", m);
	m = sc_contention_classify(s4, 2, lo, hi);
	check(m == (cls | xmit), "classify under transmit", "%#x", m);
	m = sc_contention_classify(s5, 2, lo, hi);
	check(m == idle, "idle", "%#x", m);
	m = sc_contention_classify(s1, 0, lo, hi);
	check(m == 0, "empty stack has no class", "%#x", m);
	check(sc_contention_classify((uint64_t[]){ 0x1100 }, 1, lo, hi) == 0,
	      "range end is exclusive", "matched");
}

int main(void)
{
	if (check_begin("kallsyms"))
		return 1;
	test_parse();
	test_hidden();
	test_classify();
	return check_end();
}
