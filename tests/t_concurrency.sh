#!/usr/bin/env bash
# Concurrency: changes to one NIC serialise on its lock
# (/run/shardctl/<cookie>-<ifindex>.lock, flock) and end consistent
# (a complete setup that carries frames, or nothing at all); changes to two
# NICs do not wait for each other. One process is held inside its critical
# section with SHARDCTL_PAUSE_AT; the other is seen blocked in flock() in
# /proc/locks (no sleeps to race).
source "$(dirname "$0")/lib.sh"
need_root

NS=scq$$a
NS_B=scq$$b	# lends its TAP to $NS as nic1
TMP=$(mktemp -d /tmp/sc-conc.XXXXXX)
defer rm -rf "$TMP"
defer "$TESTBED" down "$NS_B"
defer "$TESTBED" down "$NS"
defer sc teardown
defer bg_stop_all KILL
"$TESTBED" up "$NS" --queues 4 || { fail "testbed up" "could not build the testbed"; exit 1; }

start=$(snapshot)

# start_sc NAME [POINT] ARGS...: shardctl ARGS in the background (stdout in
# $TMP/NAME.out, stderr in .err); with POINT, wait until it stopped there.
start_sc() {
	local name=$1 point=$2
	shift 2
	bg_start "$name" nsenter --net="/var/run/netns/$NS" env ${point:+SHARDCTL_PAUSE_AT=$point} "$SHARDCTL" "$@"
	[ -z "$point" ] && return 0
	if bg_poll "$name" 15 paused_at "$name" "$point"; then pass "$name stops at $point"; else
		fail "$name stops at $point" "$(cat "$TMP/$name.err")"
	fi
}
# paused_at NAME POINT: NAME is stopped, and said it stopped at POINT.
paused_at() { [ "$(bg_state "$1")" == T ] && grep -q "paused at $2" "$TMP/$1.err"; }
# blocked NAME: wait until NAME waits for a lock (a "->" line in /proc/locks).
blocked() {
	if bg_poll "$1" 15 waits_for_lock "$1"; then pass "$1 waits for the lock"; else
		fail "$1 waits for the lock" "not in /proc/locks; stderr: $(cat "$TMP/$1.err")"
	fi
}
waits_for_lock() { grep -qE "^[0-9]+: -> FLOCK +ADVISORY +WRITE $(bg_pid "$1") " /proc/locks; }
# finish NAME WANT_RC: wait for NAME, check its exit status.
finish() {
	local rc
	bg_join "$1"; rc=$?
	expect_eq "$1 exits $2" "$rc" "$2"
	[ "$rc" == "$2" ] || echo "    $1 stderr: $(head -c 400 "$TMP/$1.err")"
}
resume() { kill -CONT "$(bg_pid "$1")"; }

frames_flow() {
	"$MQTAP" traffic --ns "$NS" --count 20 --rate 20000 --timeout 1 >/dev/null
	expect_eq "$1: frames flow" "$?" 0
}
complete_now() {
	expect_eq "$1: status says complete" "$(sc status nic0 -j | jq -r '.[0].complete')" true
	frames_flow "$1"
}
nothing_now() {
	expect_eq "$1: status says nothing is set up" "$(sc status nic0 -j | jq -r length)" 0
	expect_snapshot "$1: the host is as at the start" "$start"
}
reset() { sc teardown >/dev/null 2>&1; }

case_setup_setup() {
	local c=$CASE
	start_sc A setup:table setup nic0 -j
	start_sc B "" setup nic0 -j
	blocked B
	resume A
	finish A 0; finish B 0
	expect_eq "$c: exactly one of them changed something" \
		"$(cat "$TMP/A.out" "$TMP/B.out" | jq -r .changed | sort | tr '\n' ' ')" "false true "
	complete_now "$c"
	reset; nothing_now "$c, torn down"
}
case_run "setup || setup" case_setup_setup

case_setup_killed_setup() {
	local c=$CASE
	start_sc A setup:created:2 setup nic0
	start_sc B "" setup nic0 -j
	blocked B
	bg_stop A KILL
	finish B 0
	expect_eq "$c: the waiting setup completes the killed one's work" "$(jq -r .complete "$TMP/B.out")" true
	complete_now "$c"
	reset; nothing_now "$c, torn down"
}
case_run "setup killed || setup" case_setup_killed_setup

case_setup_teardown() {
	local c=$CASE
	start_sc A setup:returns setup nic0
	start_sc B "" teardown nic0
	blocked B
	resume A
	finish A 0; finish B 0
	nothing_now "$c"
}
case_run "setup || teardown" case_setup_teardown

case_teardown_setup() {
	local c=$CASE
	expect_rc "$c: setup first" 0 sc setup nic0
	start_sc A teardown:detached teardown nic0
	start_sc B "" setup nic0 -j
	blocked B
	resume A
	finish A 0; finish B 0
	expect_eq "$c: the setup after the teardown is complete" "$(jq -r .complete "$TMP/B.out")" true
	complete_now "$c"
	reset; nothing_now "$c, torn down"
}
case_run "teardown || setup" case_teardown_setup

case_teardown_teardown() {
	local c=$CASE
	expect_rc "$c: setup first" 0 sc setup nic0 --attach tc
	start_sc A teardown:start teardown nic0
	start_sc B "" teardown nic0
	blocked B
	resume A
	finish A 0; finish B 0
	nothing_now "$c"
}
case_run "teardown || teardown" case_teardown_teardown

case_remap_teardown() {
	local c=$CASE
	expect_rc "$c: setup first" 0 sc setup nic0
	start_sc A teardown:start teardown nic0
	start_sc B "" remap nic0 0 3
	blocked B
	resume A
	finish A 0
	bg_join B; rc=$?
	expect_match "$c: remap after the teardown fails cleanly or succeeded before it" "$rc" '^[01]$'
	nothing_now "$c"
}
case_run "remap || teardown" case_remap_teardown

case_eight_at_once() {
	local c=$CASE
	for i in 1 2 3 4 5 6 7 8; do
		if ((i % 3)); then start_sc "M$i" "" setup nic0; else start_sc "M$i" "" teardown nic0; fi
	done
	for i in 1 2 3 4 5 6 7 8; do finish "M$i" 0; done
	n=$(sc status nic0 -j | jq -r length)
	if [ "$n" == 0 ]; then nothing_now "$c"; else complete_now "$c"; fi
	reset; nothing_now "$c, torn down"
}
case_run "8 setups and teardowns at once" case_eight_at_once

# Two NICs in one namespace (same cookie, different ifindex, different lock).
"$TESTBED" up "$NS_B" --queues 4 || fail "second testbed up" "could not build it"
ip -n "$NS_B" link set nic0 netns "$NS" name nic1 && in_ns ip link set nic1 addrgenmode none &&
	in_ns ip link set nic1 up ||
	fail "move the second TAP in" "ip link set netns failed"
start=$(snapshot)
case_two_nics_setup() {
	local c=$CASE
	start_sc A setup:table setup nic0
	start_sc B "" setup nic1 -j
	finish B 0
	expect_eq "$c: nic1 completed while nic0's setup held its own lock" "$(jq -r .complete "$TMP/B.out")" true
	expect_eq "$c: nic0's setup is still stopped" "$(bg_state A)" T
	resume A
	finish A 0
	complete_now "$c"
	expect_eq "$c: nic1 complete too" "$(sc status nic1 -j | jq -r '.[0].complete')" true
	expect_rc "$c: teardown of both" 0 sc teardown
	nothing_now "$c"
}
case_run "setup nic0 || setup nic1" case_two_nics_setup

case_two_nics_teardown_setup() {
	local c=$CASE
	expect_rc "$c: setup nic0 first" 0 sc setup nic0
	start_sc A teardown:detached teardown nic0
	start_sc B "" setup nic1 -j
	finish B 0
	expect_eq "$c: nic0's teardown is still stopped" "$(bg_state A)" T
	resume A
	finish A 0
	expect_eq "$c: nic1 complete" "$(sc status nic1 -j | jq -r '.[0].complete')" true
	expect_eq "$c: nic0 gone" "$(sc status nic0 -j | jq -r length)" 0
	expect_rc "$c: teardown nic1" 0 sc teardown nic1
	nothing_now "$c"
}
case_run "teardown nic0 || setup nic1" case_two_nics_teardown_setup

# A fresh host: bpffs not mounted yet (setup mounts it then: README, "What setup
# does to the host"), two NICs set up at once.
# Both setups find it missing; if both mounted it, the second mount would hide
# the first one's pins. Run in a private mount namespace with no bpffs, so
# the host's stays as it is; setup nic0 stops just before its mount.
case_fresh_bpffs() {
	local c=$CASE
	unshare --mount --propagation private bash -c '
		while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf || exit 3; done
		nsenter --net="$1" env SHARDCTL_PAUSE_AT=setup:bpffs "$2" setup nic0 2>"$3/A.err" >/dev/null &
		a=$!
		until grep -q "paused at setup:bpffs" "$3/A.err"; do kill -0 $a || exit 4; sleep 0.05; done
		nsenter --net="$1" "$2" setup nic1 >/dev/null 2>"$3/B.err" &
		b=$!
		# nic1 either finishes or waits for nic0 (a lock): then let nic0 go on.
		until ! kill -0 $b 2>/dev/null || grep -qE "^[0-9]+: -> FLOCK +ADVISORY +WRITE $b " /proc/locks; do sleep 0.05; done
		kill -CONT $a
		wait $a; echo "rc_a=$?"
		wait $b; echo "rc_b=$?"
		echo "mounts=$(grep -c " /sys/fs/bpf " /proc/self/mountinfo)"
		echo "nic0=$(nsenter --net="$1" "$2" status nic0 -j | jq -r ".[0].complete")"
		echo "nic1=$(nsenter --net="$1" "$2" status nic1 -j | jq -r ".[0].complete")"
		nsenter --net="$1" "$2" teardown >/dev/null
		echo "left=$(find /sys/fs/bpf/shardctl 2>/dev/null | wc -l)"
	' _ "/var/run/netns/$NS" "$SHARDCTL" "$TMP" >"$TMP/fresh.out" 2>&1
	expect_eq "$c: both exit 0, bpffs mounted once, both complete, teardown leaves no pins" \
		"$(tr '\n' ' ' <"$TMP/fresh.out")" "rc_a=0 rc_b=0 mounts=1 nic0=true nic1=true left=0 "
	sc teardown >/dev/null 2>&1	# what a hidden bpffs may have left on the devices
	nothing_now "$c"
}
case_run "setup nic0 || setup nic1, bpffs not mounted" case_fresh_bpffs

echo
case_summary "concurrency"
expect_eq "every concurrency case held" "$HELD" "$TRIED"
