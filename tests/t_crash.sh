#!/usr/bin/env bash
# Crash consistency: shardctl is killed with SIGKILL at named points inside
# setup and teardown (SHARDCTL_PAUSE_AT=NAME makes it print "paused at NAME"
# and SIGSTOP itself there, so the kill lands exactly there, no sleep race).
# After each kill:
#   - status tells the truth: it reports nothing only when nothing is left
#     (snapshot equal to the start), "complete" only when frames really flow
#     through the shards, otherwise complete=false with a problem;
#   - a new setup converges to a complete setup that carries frames;
#   - teardown brings the host back to the starting snapshot.
source "$(dirname "$0")/lib.sh"
need_root

NS=scc$$
TMP=$(mktemp -d /tmp/sc-crash.XXXXXX)
cleanup() {
	[ -n "${PID:-}" ] && kill -9 "$PID" 2>/dev/null
	sc teardown >/dev/null 2>&1
	"$TESTBED" down "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
"$TESTBED" up "$NS" --queues 4 || { fail "testbed up" "could not build the testbed"; exit 1; }


start=$(snapshot)

# kill_at LABEL POINT ARGS...: run `shardctl ARGS` paused at POINT, SIGKILL it there.
kill_at() {
	local label=$1 point=$2 i state=""
	shift 2
	: >"$TMP/log"
	# A plain background command: $! is the process that execs into shardctl.
	nsenter --net="/var/run/netns/$NS" env SHARDCTL_PAUSE_AT="$point" "$SHARDCTL" "$@" \
		>/dev/null 2>"$TMP/log" &
	PID=$!
	for ((i = 0; i < 300; i++)); do
		state=$(awk '{print $3}' "/proc/$PID/stat" 2>/dev/null)
		grep -q "^paused at $point\$" "$TMP/log" && [ "$state" == T ] && break
		[ -z "$state" ] || [ "$state" == Z ] && break
		sleep 0.05
	done
	if [ "$state" != T ]; then
		fail "$label: shardctl stops at the point" "state '$state', stderr: $(head -c 300 "$TMP/log")"
	else
		pass "$label: shardctl stops at the point"
	fi
	kill -9 "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
}

# The truth test after a kill.
check_truth() {
	local point=$1 st n complete problem
	st=$(sc status nic0 -j 2>"$TMP/err"); rc=$?
	expect_eq "$point: status exits 0 after the kill" "$rc" 0
	n=$(jq -r length <<<"$st" 2>/dev/null)
	if [ "$n" == 0 ]; then
		expect_snapshot "$point: status says nothing is set up, and nothing is left" "$start"
		return
	fi
	complete=$(jq -r '.[0].complete' <<<"$st")
	problem=$(jq -r '.[0].problem // ""' <<<"$st")
	if [ "$complete" == true ]; then
		"$MQTAP" traffic --ns "$NS" --count 20 --rate 20000 --timeout 1 >/dev/null
		expect_eq "$point: status says complete, and frames do flow" "$?" 0
	else
		expect_match "$point: status says incomplete and names a problem" "$problem" '.'
		echo "    $point: status: $problem"
	fi
}

converge() {
	local point=$1
	shift
	expect_rc "$point: setup again exits 0" 0 sc setup nic0 "$@" -j
	expect_eq "$point: setup again is complete" "$(jq -r .complete <<<"$OUT" 2>/dev/null)" true
	expect_eq "$point: status agrees" "$(sc status nic0 -j | jq -r '.[0].complete')" true
	"$MQTAP" traffic --ns "$NS" --count 20 --rate 20000 --timeout 1 >/dev/null
	expect_eq "$point: the converged setup carries every frame" "$?" 0
	expect_rc "$point: teardown exits 0" 0 sc teardown nic0
	expect_snapshot "$point: teardown restores the starting snapshot" "$start"
}

# After a kill, teardown alone must also clean up whatever was left.
clean_up_after() {
	local label=$1
	expect_rc "$label: teardown right after the kill exits 0" 0 sc teardown nic0
	expect_snapshot "$label: teardown right after the kill restores the snapshot" "$start"
}

# crash_case MODE LABEL POINT SETUP_ARGS: kill setup (or teardown) at POINT,
# then check the truth and either converge (setup again) or clean up (teardown).
crash_case() {
	local mode=$1 label=$2 point=$3 f0=$FAILS
	shift 3
	TRIED=$((TRIED + 1))
	echo "-- $label"
	if [[ "$point" == teardown:* ]]; then
		expect_rc "$label: setup before the teardown" 0 sc setup nic0 "$@"
		kill_at "$label" "$point" teardown nic0
	else
		kill_at "$label" "$point" setup nic0 "$@"
	fi
	check_truth "$label"
	if [ "$mode" == converge ]; then converge "$label" "$@"; else clean_up_after "$label"; fi
	if [ "$FAILS" -eq "$f0" ]; then HELD=$((HELD + 1)); else BAD="$BAD $label"; fi
}

# Every point in setup and teardown (4 shards), tcx attach: setup converges.
for p in setup:created:{0..3} setup:prepared:{0..3} setup:devices setup:loaded setup:table \
	setup:return:{1..3} setup:returns setup:egress setup:ingress \
	teardown:start teardown:detached teardown:deleted; do
	crash_case converge "$p" "$p"
done
# The same kills, then teardown alone must leave nothing behind.
for p in setup:created:0 setup:prepared:0 setup:devices setup:loaded setup:return:2 \
	setup:ingress teardown:detached teardown:deleted; do
	crash_case teardown "$p, then teardown" "$p"
done
# clsact + cls_bpf keeps different state (the clsact qdisc setup may own).
for p in setup:created:1 setup:returns setup:egress setup:ingress teardown:detached teardown:deleted; do
	crash_case converge "tc $p" "$p" --attach tc
done
crash_case teardown "tc setup:ingress, then teardown" setup:ingress --attach tc
# lookup=global and const pin more (bss) or swap programs on re-runs.
crash_case converge "global setup:loaded" setup:loaded --lookup global
crash_case converge "const setup:ingress" setup:ingress --lookup const
# A shard qdisc is applied between returns and ingress.
crash_case converge "htb setup:egress" setup:egress --shard-qdisc "htb rate 100mbit"

echo
echo "crash points: $TRIED tried, $HELD held${BAD:+; did not hold:$BAD}"
expect_ge "at least 20 crash points tried" "$TRIED" 20
expect_eq "every crash point held" "$HELD" "$TRIED"
