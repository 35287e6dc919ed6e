#!/usr/bin/env bash
# shardctl contention: the sampler sees the shared root lock.
#
# The contended testbed (netns/contended.sh: multi-queue TAP nic0, root htb
# with 500 u32 filters that never match) under two UDP senders pinned to
# CPU 0 and 1. Each packet is classified against all 500 filters with the
# root lock held, so the other CPU spins.
#
# Floor: 11 runs of `contention nic0 -d 4` on this testbed (release build 6,
# sanitized build 5; 2 vCPUs shared with other engineers' benchmarks) gave
# qdisc-lock spin of 15.4-37.4% of CPU time whenever both senders got >= 60%
# of their CPU; runs where other load starved the senders to ~30% fell to
# 3.6-4.9%. So a run counts only when both senders got >= 60% (else it is
# repeated, up to 4 times), and the floor is 5%, a third of the lowest
# valid run. With mq (t_mq.sh) the same measurement read 0.00% in 9 of 9 runs.
source "$(dirname "$0")/lib.sh"
need_root

NS=scc$$
CONTENDED=$TOP/netns/contended.sh
TMP=$(mktemp -d /tmp/t_contention.XXXXXX)
FLOOR_PCT=5
MIN_SENDER_PCT=60

cleanup() {
	[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
	wait 2>/dev/null
	O=$O "$CONTENDED" down "$NS" >/dev/null 2>&1
	rm -rf "$TMP"
}
defer cleanup

# bpf/contention.bpf.c's programs are all named sc_cont_*.
count_progs() { bpftool prog show 2>/dev/null | grep -c " name sc_cont_"; }

echo "== contention: kallsyms and the stack classifier (unit)"
RESULTS=$RESULTS "$TOP/$O/tests/kallsyms" >/dev/null || true

echo "== contention: usage and errors"
expect_rc "no device is a usage error" 2 "$SHARDCTL" contention
expect_rc "frequency above 10000 is a usage error" 2 "$SHARDCTL" contention lo --frequency 20000
O=$O "$CONTENDED" up "$NS" || { fail "contended testbed" "cannot build $NS"; exit 1; }
expect_rc "unknown device fails" 1 sc contention nosuch0 -d 0.2
expect_match "unknown device is named" "$ERR" "nosuch0: no such network device"
# ^C ends the window early: what was measured until then is reported.
bg_start -o "$TMP/int.json" -e "$TMP/int.err" int \
	nsenter --net="/var/run/netns/$NS" "$SHARDCTL" contention nic0 -d 20 -F 0 -j
sleep 1.5
bg_stop int INT
expect_eq "^C ends the window: exit 0" "$?" 0
expect_eq "... with the report of the shorter window" \
	"$(jq '.duration_s < 10 and .duration_s > 0.5' "$TMP/int.json" 2>&1)" true

echo "== contention: the shared htb root under two senders"
progs_before=$(count_progs)
for attempt in 1 2 3 4; do
	loaded 7 "$TMP/c.json" sc contention nic0 -d 4 -j
	rc=$?
	[ "$rc" -ne 0 ] && break
	[ "$SENDERS_MIN" -ge "$MIN_SENDER_PCT" ] && break
	echo "  (attempt $attempt: a sender got only $SENDERS_MIN% of its CPU; again)"
done
expect_eq "contention under load exits 0" "$rc" 0
J=$TMP/c.json
lock=$(jq '.figures.qdisc_lock_pct | floor' "$J")
expect_ge "qdisc-lock spin >= ${FLOOR_PCT}% of CPU time (senders got >= $SENDERS_MIN%)" "$lock" "$FLOOR_PCT"
# The samples the window should produce: 499 Hz x 4 s x 2 CPUs; busy CPUs sample all of it.
expect_ge "sampler took at least half the expected samples" \
	"$(jq '(.sampler.counts.samples * 2 - .sampler.expected_samples) | floor' "$J")" 0
expect_eq "a top stack is a qdisc-lock spin" "$(jq '[.sampler.top_stacks[] | select(.qdisc_lock)] | length > 0' "$J")" true
expect_match "qdisc-lock stacks pass through the transmit path" \
	"$(jq -r '[.sampler.top_stacks[] | select(.qdisc_lock)][0].frames | join(" ")' "$J")" \
	"queued_spin_lock_slowpath.*(sch_direct_xmit|__dev_queue_xmit)"
expect_eq "root qdisc listed first is the htb" "$(jq -r '.qdiscs[0].kind + " " + .qdiscs[0].handle + " " + .qdiscs[0].parent' "$J")" "htb 1: root"
expect_ge "root qdisc counted the senders' packets" "$(jq '.qdiscs[0].packets' "$J")" 100000
expect_ge "tx counters moved (sent or dropped by the tap)" "$(jq '.tx.packets + .tx.dropped' "$J")" 100000
expect_ge "softnet rows for both CPUs" "$(jq '.softnet | length' "$J")" 2
expect_eq "lock tracepoints attached" "$(jq '.lock_events.available' "$J")" true
# The hold time comes from the same stacks: consistency, not a speed target.
expect_ge "hold: samples inside the htb's critical section" "$(jq '.hold.held_samples' "$J")" 10
expect_ge "hold: a time per frame" "$(jq '.hold.ns_per_frame | floor' "$J")" 1
expect_eq "hold: the lock is busy at most the window (within 3 sampling errors)" \
	"$(jq '.hold.lock_busy <= 1 + 3 * .hold.rel_err' "$J")" true
expect_eq "hold: the ceiling is at least what the root passed (within 3 sampling errors)" \
	"$(jq '.hold.ceiling_pps * (1 + 3 * .hold.rel_err) >= .figures.qdisc_pps' "$J")" true
expect_eq "hold: ceiling = 1 / time per frame" \
	"$(jq '((.hold.ceiling_pps * .hold.ns_per_frame / 1e9) - 1) | fabs < 0.01' "$J")" true
expect_eq "programs and perf events are gone afterwards" "$(count_progs)" "$progs_before"
verified "contention (perf_event sampler, lock tracepoints)"

sc contention nic0 -d 3 -F 99 >/dev/null 2>&1 &
sleep 1.5
expect_ge "while measuring, its programs are loaded (the count above can see them)" "$(count_progs)" 2
wait $!

echo "== contention: counters only, human output"
loaded 7 "$TMP/c0.json" sc contention nic0 -d 1 --frequency 0 -j
expect_eq "--frequency 0 runs no sampler" "$(jq '.sampler' "$TMP/c0.json")" null
expect_eq "--frequency 0 has no lock share" "$(jq '.figures.qdisc_lock_pct' "$TMP/c0.json")" null
expect_ge "--frequency 0 still counts qdisc packets" "$(jq '.qdiscs[0].packets' "$TMP/c0.json")" 1
loaded 7 "$TMP/c.txt" sc contention nic0 -d 1 -t 1
out=$(cat "$TMP/c.txt")
expect_match "human report shows the share" "$out" "qdisc lock spin +[0-9.]+% of CPU time"
expect_match "human report shows the hold time and the ceiling" "$out" \
	"qdisc root lock held [0-9]+ ns per frame \(\+-[0-9]+%\), [0-9]+% busy: one lock carries at most ~[0-9]+ frames/s"
expect_match "human report shows the qdisc table" "$out" "htb +1: +root"
