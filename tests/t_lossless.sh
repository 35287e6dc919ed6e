#!/usr/bin/env bash
# Nothing lost: numbered frames flow into every rx queue while setup, remap,
# a setup re-run and teardown run. mqtap counts what comes back by sequence
# number; the ingress program's own per-rx-queue counter says how many
# frames met the redirect. A frame is allowed to be lost only if it never met
# the redirect (sent before setup enabled it, or after teardown removed it:
# the TAP then hands it to a stack with no address, which drops it), so
#     lost == sent - redirected        for setup and teardown,
#     lost == 0                        for remap and a re-run of setup.
source "$(dirname "$0")/lib.sh"
need_root

NS=scl$$
TMP=$(mktemp -d /tmp/sc-lossless.XXXXXX)
HOLD=/sys/fs/bpf/sc-lossless-$$	# our own reference to the stats map, across teardown
RATE=20000 SECS=3
defer rm -rf "$TMP"
defer "$TESTBED" down "$NS"
defer sc teardown
defer rm -f "$HOLD"
defer bg_stop_all TERM
"$TESTBED" up "$NS" --queues 4 || { fail "testbed up" "could not build the testbed"; exit 1; }

SUMMARY=()

rx_packets() { in_ns ip -s -j link show nic0 | jq -r '.[0].stats64.rx.packets'; }
# Start traffic into all 4 queues and return once frames reach nic0.
traffic_start() {
	local rx0 i
	rx0=$(rx_packets)
	bg_start -o "$TMP/report" -e - traffic "$MQTAP" traffic --ns "$NS" --duration "$SECS" --rate "$RATE" --flows 8 -j
	for ((i = 0; i < 200; i++)); do
		[ "$(rx_packets)" -gt "$rx0" ] && return 0
		sleep 0.02
	done
	fail "traffic starts" "no frame reached nic0"
}
traffic_end() {
	bg_join traffic
	SENT=$(jq -r .sent "$TMP/report")
	LOST=$(jq -r .lost "$TMP/report")
	expect_eq "$1: no frame corrupted or duplicated" \
		"$(jq -r '.corrupted + .duplicated' "$TMP/report")" 0
}
# Frames the ingress program redirected so far, from the stats map at $1.
redirected() {
	bpftool map dump pinned "$1" -j |
		jq '[.[] | select(.formatted.key < 4) | .formatted.values[].value.packets] | add'
}

before=$(snapshot)

# Each case_* function below is one case (case_run); it ends by adding its line
# to SUMMARY.
case_setup() {
	traffic_start
	expect_rc "setup while frames flow" 0 sc setup nic0 -j
	PIN=$(jq -r .pin_dir <<<"$OUT")/stats
	traffic_end "setup"
	red=$(redirected "$PIN")
	expect_ge "setup: frames met the redirect" "$red" 1
	expect_ge "setup: frames were sent before it (the test saw them arrive)" "$((SENT - red))" 1
	expect_eq "setup: lost == sent before the redirect was on" "$LOST" "$((SENT - red))"
	SUMMARY+=("setup: sent $SENT, redirected $red, lost $LOST (sent while no path existed: $((SENT - red)))")
}

case_remap() {
	traffic_start
	flips=0
	while bg_running traffic; do
		q=$((flips % 4)) s=$(((flips / 4 + flips) % 4))
		sc remap nic0 "$q" "$s" >/dev/null || { fail "remap $q $s" "exit $?"; break; }
		flips=$((flips + 1))
	done
	traffic_end "remap"
	echo "    $flips remaps"
	expect_ge "remap: many remaps under traffic" "$flips" 20
	expect_eq "remap: nothing lost" "$LOST" 0
	SUMMARY+=("remap (lookup map): sent $SENT, $flips remaps, lost $LOST")
}

case_rerun() {
	traffic_start
	for i in 1 2 3 4 5; do expect_rc "re-run $i exits 0" 0 sc setup nic0; done
	traffic_end "re-run"
	expect_eq "re-run: nothing lost" "$LOST" 0
	SUMMARY+=("setup re-run: sent $SENT, 5 re-runs, lost $LOST")
}

case_teardown() {
	bpftool map pin pinned "$PIN" "$HOLD" || fail "hold the stats map" "bpftool map pin failed"
	red0=$(redirected "$HOLD")
	traffic_start
	expect_rc "teardown while frames flow" 0 sc teardown nic0
	traffic_end "teardown"
	red=$(($(redirected "$HOLD") - red0))
	rm -f "$HOLD"
	expect_ge "teardown: frames met the redirect" "$red" 1
	expect_ge "teardown: frames were sent after it" "$((SENT - red))" 1
	expect_eq "teardown: lost == sent after the redirect was off" "$LOST" "$((SENT - red))"
	SUMMARY+=("teardown: sent $SENT, redirected $red, lost $LOST (sent while no path existed: $((SENT - red)))")
}

# lookup=const remaps by loading a new program and swapping it in atomically.
case_const_remap() {
	expect_rc "setup --lookup const" 0 sc setup nic0 --lookup const
	traffic_start
	flips=0
	while bg_running traffic; do
		sc remap nic0 $((flips % 4)) $(((flips + 1) % 4)) >/dev/null || { fail "const remap" "exit $?"; break; }
		flips=$((flips + 1))
	done
	traffic_end "const remap"
	expect_ge "const remap: several program swaps under traffic" "$flips" 5
	expect_eq "const remap: nothing lost" "$LOST" 0
	SUMMARY+=("remap (lookup const): sent $SENT, $flips program swaps, lost $LOST")
}

case_run "setup under traffic" case_setup
case_run "remap under traffic" case_remap
case_run "setup re-run under traffic" case_rerun
case_run "teardown under traffic" case_teardown
expect_snapshot "teardown restores the host" "$before"
case_run "const remap under traffic" case_const_remap
expect_rc "teardown (const)" 0 sc teardown nic0
expect_snapshot "the host is as before" "$before"

echo
for l in "${SUMMARY[@]}"; do echo "  $l"; done
echo "lossless: $TRIED cases tried, $HELD held"
expect_eq "every lossless case held" "$HELD" "$TRIED"
