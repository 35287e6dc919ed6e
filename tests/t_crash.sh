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
defer rm -rf "$TMP"
defer "$TESTBED" down "$NS"
defer sc teardown
defer bg_stop_all KILL
"$TESTBED" up "$NS" --queues 4 || { fail "testbed up" "could not build the testbed"; exit 1; }


start=$(snapshot)

# kill_at LABEL POINT ARGS...: run `shardctl ARGS` paused at POINT, SIGKILL it there.
kill_at() {
	local label=$1 point=$2 state=""
	shift 2
	# A plain background command: the PID is the process that execs into shardctl.
	bg_start -o /dev/null -e "$TMP/log" shardctl \
		nsenter --net="/var/run/netns/$NS" env SHARDCTL_PAUSE_AT="$point" "$SHARDCTL" "$@"
	bg_poll shardctl 15 paused_at "$point"
	state=$(bg_state shardctl)
	if [ "$state" != T ]; then
		fail "$label: shardctl stops at the point" "state '$state', stderr: $(head -c 300 "$TMP/log")"
	else
		pass "$label: shardctl stops at the point"
	fi
	bg_stop shardctl KILL
}
# paused_at POINT: shardctl said it stopped at POINT, and it is stopped.
paused_at() { grep -q "^paused at $1\$" "$TMP/log" && [ "$(bg_state shardctl)" == T ]; }

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

# case_run LABEL crash_case MODE POINT SETUP_ARGS: kill setup (or teardown)
# at POINT, then check the truth and either converge (setup again) or clean up
# (teardown). Assertions are named after the case, LABEL.
crash_case() {
	local mode=$1 label=$CASE point=$2
	shift 2
	if [[ "$point" == teardown:* ]]; then
		expect_rc "$label: setup before the teardown" 0 sc setup nic0 "$@"
		kill_at "$label" "$point" teardown nic0
	else
		kill_at "$label" "$point" setup nic0 "$@"
	fi
	check_truth "$label"
	if [ "$mode" == converge ]; then converge "$label" "$@"; else clean_up_after "$label"; fi
}

# Every point in setup and teardown (4 shards), tcx attach: setup converges.
for p in setup:created:{0..3} setup:prepared:{0..3} setup:devices setup:loaded setup:table \
	setup:return:{1..3} setup:returns setup:egress setup:ingress \
	teardown:start teardown:detached teardown:deleted; do
	case_run "$p" crash_case converge "$p"
done
# The same kills, then teardown alone must leave nothing behind.
for p in setup:created:0 setup:prepared:0 setup:devices setup:loaded setup:return:2 \
	setup:ingress teardown:detached teardown:deleted; do
	case_run "$p, then teardown" crash_case teardown "$p"
done
# clsact + cls_bpf keeps different state (the clsact qdisc setup may own).
for p in setup:created:1 setup:returns setup:egress setup:ingress teardown:detached teardown:deleted; do
	case_run "tc $p" crash_case converge "$p" --attach tc
done
case_run "tc setup:ingress, then teardown" crash_case teardown setup:ingress --attach tc
# lookup=global and const pin more (bss) or swap programs on re-runs.
case_run "global setup:loaded" crash_case converge setup:loaded --lookup global
case_run "const setup:ingress" crash_case converge setup:ingress --lookup const
# A shard qdisc is applied between returns and ingress.
case_run "htb setup:egress" crash_case converge setup:egress --shard-qdisc "htb rate 100mbit"

echo
case_summary "crash points"
expect_ge "at least 20 crash points tried" "$TRIED" 20
expect_eq "every crash point held" "$HELD" "$TRIED"
