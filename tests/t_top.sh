#!/usr/bin/env bash
# shardctl top on the multi-queue TAP testbed: a u32 + mirred hairpin sends
# every frame written into rx queue i back out of nic0, so the rx counts per
# queue and the tx total are known exactly. Also: the namespace filter
# (same ifindex in another namespace is not counted), shard discovery,
# Prometheus output through a strict checker, nothing left loaded after.
source "$(dirname "$0")/lib.sh"
need_root

NS=sct$$top
NS_B=sct$$topb
TMP=$(mktemp -d /tmp/sc-top.XXXXXX)
defer rm -rf "$TMP"
defer "$TESTBED" down "$NS_B"
defer "$TESTBED" down "$NS"
defer bg_stop_all TERM

# UDP/IPv4 frame of mqtap's default 64-byte payload: 14 + 20 + 8 + 64.
FRAME=106

hairpin() { ip netns exec "$1" tc qdisc add dev nic0 ingress &&
	ip netns exec "$1" tc filter add dev nic0 parent ffff: protocol all \
		u32 match u32 0 0 action mirred egress redirect dev nic0; }

# start_top ARGS...: `shardctl top` in $NS in the background, returns once
# its programs are attached (it says so on stderr), so frames sent after
# this are inside its first interval. The interval is long: stop_top ends
# it with SIGINT, which prints the sample taken at that moment.
start_top() {
	# nsenter execs shardctl, so the PID recorded is top itself.
	bg_start -o "$TMP/top.out" -e "$TMP/top.err" top nsenter --net="/var/run/netns/$NS" "$SHARDCTL" top "$@"
	bg_wait_line top err "tracing" 10
}
stop_top() { bg_stop top INT; TOP_RC=$?; }
jt() { jq -r "$1" "$TMP/top.out"; }
rxq() { jt ".devices[] | select(.device == \"${3:-nic0}\" and .direction == \"$1\") | .queues[] | select(.queue == $2) | .interval_packets"; }
dev_total() { jt ".devices[] | select(.device == \"$1\" and .direction == \"$2\") | .interval_packets"; }
# The programs top holds, by id (ids are never reused): from its fdinfo,
# so other tests running top at the same time do not count.
top_prog_ids() { grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un; }
# A program is freed after its last fd closes, through RCU and a work item:
# poll (bounded) for the ids to disappear.
progs_left() {
	local left id
	for _ in $(seq 100); do
		left=0
		for id in "$@"; do bpftool prog show id "$id" >/dev/null 2>&1 && left=$((left + 1)); done
		[ "$left" -eq 0 ] && break
		sleep 0.05
	done
	echo "$left"
}

"$TESTBED" up "$NS" --queues 4 || { fail "testbed up" "could not build the testbed"; exit 1; }
"$TESTBED" up "$NS_B" --queues 4 || { fail "testbed up B" "could not build the testbed"; exit 1; }
hairpin "$NS" || { fail "hairpin" "tc filter"; exit 1; }
hairpin "$NS_B" || { fail "hairpin B" "tc filter"; exit 1; }

echo "usage and errors"
expect_rc "no device is a usage error" 2 sc top
expect_rc "unknown device fails" 1 sc top nosuch0 -c 1 -i 0.1
expect_match "the error names the device" "$ERR" "nosuch0"
expect_rc "-j with --prometheus is a usage error" 2 sc top nic0 -j --prometheus
expect_rc "help explains the driver counter difference" 0 sc top --help
expect_match "help mentions /proc/net/dev" "$OUT" "/proc/net/dev"

echo "frames per rx queue, hairpinned back out"
ids=
if start_top nic0 --interval 120 --count 1 -j; then
	pass "top attaches"
	ids=$(top_prog_ids "$(bg_pid top)")
	expect_eq "top holds its two tracepoint programs" \
		"$(for id in $ids; do bpftool prog show id "$id"; done | grep -c ' name qtop_')" 2
	for q in 0 1 2 3; do
		"$MQTAP" traffic --ns "$NS" --queues $q --count $((10 * (q + 1))) >/dev/null ||
			fail "traffic on queue $q" "mqtap reported lost frames"
	done
	# Same ifindex, other namespace: must not be counted by top in $NS.
	"$MQTAP" traffic --ns "$NS_B" --count 77 >/dev/null || fail "traffic in $NS_B" "mqtap"
	stop_top
	expect_eq "top exits 0 after SIGINT" "$TOP_RC" 0
	for q in 0 1 2 3; do
		expect_eq "rx queue $q counted exactly its $((10 * (q + 1))) frames" \
			"$(rxq rx $q)" $((10 * (q + 1)))
		expect_eq "rx queue $q bytes from the Ethernet header on" \
			"$(jt ".devices[] | select(.device == \"nic0\" and .direction == \"rx\") | .queues[] | select(.queue == $q) | .interval_bytes")" \
			$((FRAME * 10 * (q + 1)))
	done
	expect_eq "rx total is the frames sent in this namespace only" "$(dev_total nic0 rx)" 100
	expect_eq "no rx frame without a recorded queue" \
		"$(jt '[.devices[] | select(.direction == "rx") | .queues[] | select(.queue == null)] | length')" 0
	expect_eq "tx total: every hairpinned frame left nic0" "$(dev_total nic0 tx)" 100
	expect_eq "tx avg size equals the frame size" \
		"$(jt '.devices[] | select(.device == "nic0" and .direction == "tx") | .avg_bytes')" "$FRAME"
	expect_eq "4 active rx queues in the balance figure" \
		"$(jt '.devices[] | select(.device == "nic0" and .direction == "rx") | .balance_queues')" 4
	# Rates 10:20:30:40 -> busiest/mean = 40/25, cv = sqrt(125)/25.
	expect_eq "imbalance max/mean = 1.600" \
		"$(jt '.devices[] | select(.device == "nic0" and .direction == "rx") | .imbalance_max_mean')" 1.6
	expect_eq "imbalance cv = 0.447" \
		"$(jt '.devices[] | select(.device == "nic0" and .direction == "rx") | .imbalance_cv')" 0.447
else
	fail "top attaches" "$(cat "$TMP/top.err")"
fi
expect_eq "its programs are gone after top exits" "$(progs_left $ids)" 0
verified "top (tp_btf net_dev_start_xmit, netif_receive_skb)"

echo "human output"
if start_top nic0 --interval 120 --count 1; then
	"$MQTAP" traffic --ns "$NS" --queues 1 --count 30 >/dev/null
	stop_top
	expect_match "table row for rx queue 1" "$(cat "$TMP/top.out")" "nic0 +rx +1 +[0-9.kM]+ +[0-9.kM]+ +106 +30"
	expect_match "total line with imbalance" "$(cat "$TMP/top.out")" "nic0 +rx +all .* imbalance 4.00 cv 1.73 \(4 queues\)"
else
	fail "top attaches (human)" "$(cat "$TMP/top.err")"
fi

echo "prometheus"
if start_top nic0 --interval 120 --prometheus; then
	"$MQTAP" traffic --ns "$NS" --queues 2 --count 25 >/dev/null
	stop_top
	expect_eq "top --prometheus exits 0" "$TOP_RC" 0
	expect_rc "textfile-collector rules promtool does not check (no timestamps, no duplicate series)" 0 \
		"$TOP/$O/tests/prom" --check "$TMP/top.out"
	expect_match "queue 2 counter" "$(cat "$TMP/top.out")" \
		'shardctl_queue_packets_total\{device="nic0",direction="rx",queue="2"\} 25'
	expect_rc "promtool check metrics: parses, no lint finding" 0 promtool check metrics <"$TMP/top.out"
	expect_eq "... (promtool printed nothing)" "$ERR$OUT" ""
else
	fail "top attaches (prometheus)" "$(cat "$TMP/top.err")"
fi

echo "shards are traced with their NIC"
# setup brings its own way back to the TAP: drop the hairpin first.
in_ns tc qdisc del dev nic0 ingress
if sc setup nic0 >"$TMP/setup.out" 2>&1; then
	if start_top nic0 --interval 120 -j; then
		"$MQTAP" traffic --ns "$NS" --queues 2 --count 50 >/dev/null
		stop_top
		expect_eq "shard veths found (4 pairs + nic0, two directions each)" \
			"$(jt '.devices | length')" 18
		expect_eq "shard 2's egress veth sent queue 2's 50 frames" "$(dev_total nic0-s2 tx)" 50
		expect_eq "shard 0's egress veth sent none" "$(dev_total nic0-s0 tx)" 0
	else
		fail "top attaches (shards)" "$(cat "$TMP/top.err")"
	fi
	expect_rc "--no-shards leaves them out" 0 sc top nic0 --no-shards -j -i 0.1
	expect_eq "--no-shards: only nic0" "$(jq -r '.devices | length' <<<"$OUT")" 2
	sc teardown nic0 >/dev/null 2>&1
else
	fail "shardctl setup nic0" "$(cat "$TMP/setup.out")"
fi

echo "unit: prometheus writer and checker"
RESULTS=$RESULTS "$TOP/$O/tests/prom" >/dev/null || true
