#!/usr/bin/env bash
# shardctl check on the multi-queue TAP testbed: an htb/tbf/bfifo root on a
# 4-queue device is flagged (exit 3) with the right fit (shards when a rate
# limit would be lost, mq otherwise); the default mq root and an installed
# mq pass (exit 0). The transmit path lists a macvlan upper with LLTX read
# from the kernel. Frames sent to one rx queue during the sample are
# flagged as imbalance; frames spread evenly are not.
source "$(dirname "$0")/lib.sh"
need_root

NS=sct$$chk
TMP=$(mktemp -d /tmp/sc-check.XXXXXX)
CK_PID=
cleanup() {
	[ -n "$CK_PID" ] && kill "$CK_PID" 2>/dev/null && wait "$CK_PID" 2>/dev/null
	"$TESTBED" down "$NS" 2>/dev/null
	rm -rf "$TMP"
}
defer cleanup

"$TESTBED" up "$NS" --queues 4 || { fail "testbed up" "could not build the testbed"; exit 1; }

jo() { jq -r "$1" <<<"$OUT"; }
level() { jo ".findings[] | select(.id == \"$1\") | .level"; }
root() { in_ns tc qdisc replace dev nic0 root "$@" 2>/dev/null; }

echo "usage and errors"
expect_rc "no device is a usage error" 2 sc check
expect_rc "unknown device fails" 1 sc check nosuch0 -s 0
expect_match "the error names the device" "$ERR" "nosuch0"
expect_rc "help documents exit status 3" 0 sc check --help
expect_match "help says 3 = action" "$OUT" "3 action suggested"

echo "default root (mq on a multi-queue TAP)"
expect_rc "mq root: exit 0" 0 sc check nic0 -s 0 -j
expect_eq "root is mq" "$(jo .root.kind)" mq
expect_eq "4 active tx queues, not the 256 allocated" "$(jo .tx_queues)" 4
expect_eq "root_qdisc ok" "$(level root_qdisc)" ok
expect_eq "fit none" "$(jo .fit)" none

echo "htb root with a rate class"
root handle 1: htb default 10
in_ns tc class add dev nic0 parent 1: classid 1:10 htb rate 100mbit quantum 1514
expect_rc "htb root: exit 3 (action)" 3 sc check nic0 -s 0 -j
expect_eq "root_qdisc action" "$(level root_qdisc)" action
expect_match "evidence names the shared lock" \
	"$(jo '.findings[] | select(.id == "root_qdisc") | .evidence')" "shared by all 4 tx queues"
expect_eq "the htb class rate is a device-wide limit" "$(jo '.rate_limits[0].rate_bps')" 100000000
expect_eq "fit: shards (mq would lose the limit)" "$(jo .fit)" shards
expect_rc "human output exits 3 too" 3 sc check nic0 -s 0
expect_match "human verdict" "$OUT" "verdict: action suggested; fits: shards"

echo "htb root without rate classes"
in_ns tc qdisc del dev nic0 root
root handle 1: htb
expect_rc "htb without classes: exit 3" 3 sc check nic0 -s 0 -j
expect_eq "fit: mq (nothing to lose)" "$(jo .fit)" mq

echo "tbf root"
root tbf rate 50mbit burst 32k latency 50ms
expect_rc "tbf root: exit 3" 3 sc check nic0 -s 0 -j
expect_eq "fit: shards (tbf limits the device)" "$(jo .fit)" shards

echo "bfifo root"
root bfifo limit 100000
expect_rc "classless bfifo root is shared too: exit 3" 3 sc check nic0 -s 0 -j
expect_eq "fit: mq" "$(jo .fit)" mq

echo "mq installed"
root handle 1: mq
expect_rc "mq root: exit 0" 0 sc check nic0 -s 0 -j
expect_eq "passes with mq" "$(jo .action)" false

echo "transmit path"
in_ns ip link add mv0 link nic0 type macvlan
expect_rc "check with an upper: exit 0" 0 sc check nic0 -s 0 -j
expect_eq "macvlan upper on the path" \
	"$(jo '.path[] | select(.device == "mv0") | .role')" upper
expect_eq "macvlan transmits lock-free (read from the kernel)" \
	"$(jo '.path[] | select(.device == "mv0") | .lltx')" true
expect_eq "tx_lock ok" "$(level tx_lock)" ok
expect_rc "check the macvlan itself: exit 0" 0 sc check mv0 -s 0 -j
expect_eq "nic0 is its lower" "$(jo '.path[] | select(.device == "nic0") | .role')" lower
[ "$(jo '.path[] | select(.device == "mv0") | .lltx_from')" == net_device ] &&
	verified "check (tx-lockless from a BPF probe of struct net_device)"
in_ns ip link del mv0

# sample_with ARGS...: check with a long sample in the background; the
# caller sends frames once it says it is sampling, then SIGINT ends it.
start_check() {
	: >"$TMP/ck.err"
	nsenter --net="/var/run/netns/$NS" "$SHARDCTL" check nic0 -s 120 -j >"$TMP/ck.out" 2>"$TMP/ck.err" &
	CK_PID=$!
	for _ in $(seq 200); do
		grep -q sampling "$TMP/ck.err" && return 0
		kill -0 "$CK_PID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}
stop_check() { kill -INT "$CK_PID"; wait "$CK_PID"; CK_RC=$?; CK_PID=; OUT=$(cat "$TMP/ck.out"); }

echo "rx balance over a sample"
if start_check; then
	"$MQTAP" traffic --ns "$NS" --queues 0 --count 2000 --rate 0 --no-read >/dev/null
	stop_check
	expect_eq "one busy queue: exit 3" "$CK_RC" 3
	expect_eq "rx_balance action" "$(level rx_balance)" action
	expect_eq "busiest is queue 0" "$(jo .sample.rx_busiest_queue)" 0
	expect_eq "sample counted the 2000 frames" "$(jo .sample.rx_frames)" 2000
else
	fail "check samples" "$(cat "$TMP/ck.err")"
fi
if start_check; then
	"$MQTAP" traffic --ns "$NS" --count 500 --rate 0 --no-read >/dev/null
	stop_check
	expect_eq "even queues: rx_balance ok" "$(level rx_balance)" ok
	expect_eq "max/mean 1" "$(jo .sample.rx_max_mean)" 1
else
	fail "check samples (even)" "$(cat "$TMP/ck.err")"
fi
