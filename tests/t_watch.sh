#!/usr/bin/env bash
# Converging with a NIC that changes, on the multi-queue TAP: a setup re-run
# follows the NIC's active rx queue count (the TAP's attached queue fds,
# `mqtap queues`), and `shardctl watch` does it by itself after a
# change, with real frames on the queues that exist before and after. Also:
# a deleted or downed shard, removed pins, the NIC replaced under the same
# name, watch killed with -9 and restarted, two watches of one NIC, teardown
# beside a watch, and bad arguments.
source "$(dirname "$0")/lib.sh"
need_root

NS=scw$$a
TMP=$(mktemp -d)
defer rm -rf "$TMP"
defer "$TESTBED" down "$NS"
defer sc teardown --force
defer bg_stop_all KILL
# stop_watch [SIGNAL]: stop the running watch (TERM), its exit status in WATCH_RC.
stop_watch() {
	[ -n "$(bg_pid watch)" ] || return 0
	bg_stop watch "${1:-TERM}"
	WATCH_RC=$?
}
"$TESTBED" up "$NS" --queues 6 || { fail "testbed up" "could not build the testbed"; exit 1; }
"$MQTAP" queues --ns "$NS" --active 4 || { fail "testbed: 4 of 6 queues active" "mqtap queues"; exit 1; }

jq_status() { sc status nic0 -j | jq -r ".[0] | $1"; }
# start_watch ARGS...: shardctl watch -j in $NS, actions in $TMP/watch.json, log in $TMP/watch.err
start_watch() {
	# nsenter execs shardctl, so the PID recorded is the watch itself. Nothing
	# announces a TAP's queue count (mqtap queues): probe it every second.
	bg_start -o "$TMP/watch.json" -e "$TMP/watch.err" watch \
		nsenter --net="/var/run/netns/$NS" "$SHARDCTL" watch -j --interval 1 "$@"
}
# wait_action N ACTION [SECONDS]: until the watch has printed N lines, the last being ACTION
wait_action() {
	bg_poll watch "${3:-5}" nth_action "$1" "$2" && return 0
	LAST=$(tail -1 "$TMP/watch.json")
	return 1
}
# nth_action N ACTION: line N of the watch's output is ACTION (it is then LAST).
nth_action() {
	[ "$(wc -l <"$TMP/watch.json")" -ge "$1" ] &&
		[ "$(sed -n "${1}p" "$TMP/watch.json" | jq -r .action)" == "$2" ] &&
		LAST=$(sed -n "${1}p" "$TMP/watch.json")
}
expect_action() {
	if wait_action "$2" "$3" "${4:-5}"; then pass "$1"; else
		fail "$1" "want action $2 '$3'; log: $(tr '\n' ' ' <"$TMP/watch.json") $(cat "$TMP/watch.err")"
	fi
}
lines() { wc -l <"$TMP/watch.json"; }
# traffic_start QUEUES SECONDS: frames on QUEUES in the background, report in $TMP/t.json.
traffic_start() {
	bg_start -o "$TMP/t.json" -e - traffic "$MQTAP" traffic --ns "$NS" --queues "$1" --duration "$2" --rate 4000 -j
}
# expect_no_loss NAME: that report has every frame sent back, unchanged.
expect_no_loss() {
	expect_eq "$1" "$(jq -r '[.received, .lost, .corrupted] | @tsv' "$TMP/t.json")" \
		"$(jq -r '[.sent, 0, 0] | @tsv' "$TMP/t.json")"
}


# --- a setup re-run follows the NIC --------------------------------------------
verify_begin
expect_rc "setup on 4 of 6 queues" 0 sc setup nic0 -j
expect_eq "4 shards" "$(jq -r .nr_shards <<<"$OUT")" 4
expect_eq "a first setup has no previous" "$(jq -r .previous <<<"$OUT")" null
"$MQTAP" queues --ns "$NS" --active 6
expect_eq "status: incomplete once the NIC has 6 queues" "$(jq_status .complete)" false
expect_match "status names the queues without a shard and the fix" "$(jq_status .problem)" \
	"nic0 now has 6 active rx queues, the setup covers 4: rx queues 4-5 have no shard; run 'shardctl setup nic0'"
expect_eq "status: nic_rx_queues is the NIC's count now" "$(jq_status .nic_rx_queues)" 6
expect_rc "setup --dry-run plans the reconciliation" 0 sc setup nic0 --dry-run
expect_match "the plan keeps the old shards" "$OUT" "keep veth pair nic0-s3/nic0-r3"
expect_match "the plan creates shards 4 and 5" "$OUT" "create veth pair nic0-s5/nic0-r5"
expect_eq "dry run: still 4 shards" "$(jq_status .nr_shards)" 4
# Under traffic on the queues that exist before and after.
traffic_start 0-3 2
sleep 0.5
expect_rc "setup re-run follows the NIC (4 -> 6)" 0 sc setup nic0 -j
bg_join traffic
expect_eq "re-run: 6 shards" "$(jq -r .nr_shards <<<"$OUT")" 6
expect_eq "re-run: previous says 4 rx queues / 4 shards" \
	"$(jq -c .previous <<<"$OUT")" '{"rx_queues":4,"nr_shards":4}'
expect_eq "grow under traffic: every frame on queues 0-3 came back" \
	"$(jq -r '[.sent, .received, .lost, .corrupted] | @tsv' "$TMP/t.json")" \
	"$(jq -r '[.sent, .sent, 0, 0] | @tsv' "$TMP/t.json")"
expect_ge "grow under traffic: frames were sent" "$(jq -r .sent "$TMP/t.json")" 1000
OUT=$("$MQTAP" traffic --ns "$NS" --count 100 -j)
expect_eq "all 6 queues come back" "$(jq -r .received <<<"$OUT")" 600
expect_eq "queue 5's frames landed on shard 5" "$(jq_status '.shards[5].packets')" 100
expect_eq "complete again" "$(jq_status .complete)" true

"$MQTAP" queues --ns "$NS" --active 2
expect_match "status names the shards without a queue" "$(jq_status .problem)" \
	"shards 2-5 have no rx queue"
traffic_start 0-1 2
sleep 0.5
expect_rc "setup re-run follows the NIC (6 -> 2)" 0 sc setup nic0
bg_join traffic
expect_match "the re-run says what it followed" "$OUT" "followed the NIC: 6 rx queues / 6 shards -> 2 rx queues / 2 shards"
expect_no_loss "shrink under traffic: every frame on queues 0-1 came back"
expect_eq "shards 2-5 are deleted" "$(in_ns ip -o link show | grep -c 'nic0-[sr][2-5]')" 0
expect_eq "their pins are gone" "$(ls "$(jq_status .pin_dir)" | grep -c 'return_[2-5]')" 0
expect_eq "2 shards, complete" "$(jq_status '[.nr_shards, .complete] | @tsv')" "$(printf '2\ttrue')"
expect_rc "an explicit --shards above the rx queues is still refused" 1 sc setup nic0 --shards 4
expect_match "... naming the counts" "$ERR" "4 shards for 2 rx queues"
expect_rc "another tx queue count is refused with the reason" 1 sc setup nic0 --tx-queues 2
expect_match "... and the command that fixes it" "$ERR" "keeps the tx queues it was made with\); run 'shardctl teardown nic0' first"
expect_rc "teardown" 0 sc teardown nic0
"$MQTAP" queues --ns "$NS" --active 4
# follow_under_traffic MODE ACTIVE KEEP: the NIC goes to ACTIVE queues while
# frames flow on queues KEEP (which exist before and after); a re-run of
# setup MODE follows it, losing none of them.
follow_under_traffic() {
	"$MQTAP" queues --ns "$NS" --active "$2"
	traffic_start "$3" 2
	sleep 0.5
	expect_rc "$1: a re-run follows the NIC to $2 queues" 0 sc setup nic0 $1
	bg_join traffic
	expect_no_loss "$1: ... losing no frame on queues $3"
}
# Every lookup and attach mode: the table lives in a map, in .bss, or in the
# program itself (const: the swapped program carries the new table).
for mode in "--lookup global" "--lookup const" "--attach tc" "--lookup const --attach tc"; do
	expect_rc "$mode: setup on 4 queues" 0 sc setup nic0 $mode
	follow_under_traffic "$mode" 6 0-3
	OUT=$("$MQTAP" traffic --ns "$NS" --queues 4-5 --count 100 -j)
	expect_eq "$mode: ... queues 4-5 go round their new shards" \
		"$(jq -r .received <<<"$OUT")/$(jq_status '[.shards[4].packets, .shards[5].packets] | add')" 200/200
	follow_under_traffic "$mode" 2 0-1
	expect_eq "$mode: ... 2 shards, complete" "$(jq_status '[.nr_shards, .complete] | @tsv')" "$(printf '2\ttrue')"
	expect_rc "$mode: teardown" 0 sc teardown nic0
	"$MQTAP" queues --ns "$NS" --active 4
done
verified "setup re-run follows the NIC's queue count"

# --- watch: bad arguments ------------------------------------------------------
expect_rc "watch without a device is a usage error" 2 sc watch
expect_rc "watch --interval 0 is a usage error" 2 sc watch --interval 0 nic0
expect_rc "watch --shards 0 is a usage error" 2 sc watch --shards 0 nic0
expect_rc "watch of a 16-character name is refused" 1 sc watch abcdefghijklmnop
expect_match "... naming it" "$ERR" "abcdefghijklmnop': not a valid device name"
expect_rc "watch of one name twice is refused" 1 sc watch nic0 nic0
expect_match "... naming it" "$ERR" "nic0: named twice"
# An absent device is waited for: it may be a NIC whose driver loads later.
start_watch nosuch0
expect_action "an absent device is waited for, and said so" 1 waiting
expect_match "... in one sentence" "$(jq -r .message <<<"$LAST")" "nosuch0: no such device; waiting for it"
sleep 1.2
expect_eq "... once, not every probe" "$(lines)" 1
stop_watch
expect_eq "SIGTERM stops the watch with exit 0" "$WATCH_RC" 0

# --- watch: set up, refuse a second, teardown beside it -----------------------
start_watch nic0
expect_action "watch sets nic0 up" 1 setup
expect_eq "... 4 shards" "$(jq -r .shards <<<"$LAST")" 4
expect_eq "status agrees" "$(jq_status '[.nr_shards, .complete] | @tsv')" "$(printf '4\ttrue')"
CLAIM=/run/shardctl/watch-$(jq_status .netns_cookie)-nic0.lock
expect_eq "the watch holds its claim file, with its pid" "$(cat "$CLAIM" 2>&1)" "$(bg_pid watch)"
expect_rc "a second watch of nic0 is refused" 1 timeout 5 nsenter --net="/var/run/netns/$NS" "$SHARDCTL" watch nic0
expect_match "... naming the pid that holds it" "$ERR" "nic0: already watched by another shardctl watch \(pid $(bg_pid watch)\)"
expect_rc "status works beside the watch" 0 sc status nic0
expect_rc "remap works beside the watch" 0 sc remap nic0 0 1
expect_rc "remap back" 0 sc remap nic0 0 0
expect_rc "teardown by hand is refused while watched" 1 sc teardown nic0
expect_match "... saying why and what to do" "$ERR" "kept by shardctl watch \(pid $(bg_pid watch)\), which would set it up again; stop the watch first"
expect_eq "... and changes nothing" "$(jq_status .complete)" true
n=$(lines)
expect_rc "teardown --force tears down anyway" 0 sc teardown nic0 --force
expect_action "... and the watch sets it up again" $((n + 1)) setup

# --- watch: the NIC changes under it ------------------------------------------
verify_begin
n=$(lines)
traffic_start 0-3 3
sleep 0.5
"$MQTAP" queues --ns "$NS" --active 6
expect_action "the watch follows a grow to 6 queues" $((n + 1)) followed 3
bg_join traffic
expect_eq "... 4 -> 6 shards" "$(jq -r '[.was_shards, .shards] | @tsv' <<<"$LAST")" "$(printf '4\t6')"
ms=$(jq -r '.since_change_ms | floor' <<<"$LAST")
# A figure, not an assertion: bench/converge measures it (README).
echo "  (converged ${ms} ms after the watch's first notice)"
expect_no_loss "... losing no frame on queues 0-3"
OUT=$("$MQTAP" traffic --ns "$NS" --count 100 -j)
expect_eq "all 6 queues come back after the watch followed" "$(jq -r .received <<<"$OUT")" 600

n=$(lines)
traffic_start 0-1 3
sleep 0.5
"$MQTAP" queues --ns "$NS" --active 2
expect_action "the watch follows a shrink to 2 queues" $((n + 1)) followed 3
bg_join traffic
expect_no_loss "... losing no frame on queues 0-1"
expect_eq "... and shards 2-5 are gone" "$(in_ns ip -o link show | grep -c 'nic0-[sr][2-5]')" 0
"$MQTAP" queues --ns "$NS" --active 4
expect_action "and back to 4" $((n + 2)) followed 3
verified "watch follows queue count changes"
verify_begin

n=$(lines)
in_ns ip link del nic0-s1
expect_action "a deleted shard device is repaired" $((n + 1)) repaired 3
expect_match "... saying what was missing" "$(jq -r .message <<<"$LAST")" "shard 1: veth pair missing"
n=$(lines)
in_ns ip link set nic0-r2 down
expect_action "a downed shard device is repaired" $((n + 1)) repaired 3
expect_match "... saying which" "$(jq -r .message <<<"$LAST")" "nic0-r2 is down"
n=$(lines)
rm -f "$(jq_status .pin_dir)"/*
expect_action "removed pins are repaired" $((n + 1)) repaired 3
expect_match "... saying what was missing" "$(jq -r .message <<<"$LAST")" "no pinned state in /sys/fs/bpf/shardctl/"
OUT=$("$MQTAP" traffic --ns "$NS" --count 100 -j)
expect_eq "every queue carries frames after the repairs" "$(jq -r .received <<<"$OUT")" 400
expect_eq "status: complete" "$(jq_status .complete)" true

# The NIC replaced: the holder goes (the TAP with it) and a new one of the same name comes.
n=$(lines)
old=$(jq_status .ifindex)
kill "$(cat /run/shardctl-testbed/$NS.pid)"
expect_action "the NIC gone: the watch waits for it" $((n + 1)) waiting 3
"$MQTAP" hold --ns "$NS" --dev nic0 --queues 4 && in_ns ip link set nic0 up
expect_action "the NIC back under its name: set up again" $((n + 2)) repaired 3
expect_match "... saying it was replaced" "$(jq -r .message <<<"$LAST")" \
	"the NIC was replaced \(ifindex $old -> [0-9]+\): removed the old setup"
expect_eq "... for the new ifindex" "$(jq_status .ifindex)" "$(jq -r .ifindex <<<"$LAST")"
expect_eq "no device of the old NIC is left" "$(in_ns ip -o link show | grep -c "nic=$old ")" 0
OUT=$("$MQTAP" traffic --ns "$NS" --count 100 -j)
expect_eq "the new NIC's frames come back" "$(jq -r .received <<<"$OUT")" 400
verified "watch repairs (shard deleted or down, pins removed, NIC replaced)"

# kill -9: the claim goes with the process; a new watch takes over.
stop_watch KILL
start_watch nic0
expect_action "a watch started after kill -9 takes over" 1 ready
expect_eq "... finding the setup complete (nothing redone)" "$(jq -r .message <<<"$LAST")" \
	"nic0: already set up and complete"

# SIGTERM with --teardown-on-exit removes the setup.
stop_watch
start_watch --teardown-on-exit nic0
expect_action "watch --teardown-on-exit" 1 ready
stop_watch
expect_eq "SIGTERM: exit 0" "$WATCH_RC" 0
expect_eq "... and it said so" "$(jq -r .action "$TMP/watch.json" | tail -1)" torndown
expect_eq "... nothing is set up any more" "$(sc status nic0 -j | jq length)" 0
expect_eq "... and the claim file is gone" "$(ls "$CLAIM" 2>/dev/null)" ""

# Human log: one sentence per action on stderr.
bg_start -o "$TMP/watch.out" -e "$TMP/watch.err" watch nsenter --net="/var/run/netns/$NS" "$SHARDCTL" watch nic0
bg_wait_line watch err "set up" 5
stop_watch
expect_match "human log: one line per action" "$(cat "$TMP/watch.err")" \
	"^shardctl watch: nic0: set up 4 shards for 4 rx queues \([0-9]+ ms\)$"
expect_eq "human log: nothing on stdout" "$(cat "$TMP/watch.out")" ""
expect_rc "teardown" 0 sc teardown nic0

# One watch of many devices: it holds a claim on each for its whole life,
# and setup still gets the NIC lock it takes. (Claims once took slots of the
# 8 NIC locks a process may hold: 8 devices or more could never be set up.)
ghosts=$(printf 'ghost%d ' $(seq 9))
# shellcheck disable=SC2086 # the names are words
start_watch nic0 $ghosts
ghost_claims() { ls /run/shardctl 2>/dev/null | grep -c -- "-ghost[0-9]\.lock$"; }
nic0_set_up() { jq -e -s 'any(.[]; .dev == "nic0" and .action == "setup")' "$TMP/watch.json" >/dev/null; }
if bg_poll watch 10 nic0_set_up; then pass "a watch of 10 devices (9 not there) sets nic0 up"; else
	fail "a watch of 10 devices (9 not there) sets nic0 up" "$(tr '\n' ' ' <"$TMP/watch.json") $(cat "$TMP/watch.err")"
fi
expect_eq "... claiming every one of them" "$(ghost_claims)" 9
stop_watch
expect_eq "... and none once it stops" "$(ghost_claims)" 0
expect_rc "teardown" 0 sc teardown nic0

# A NIC that keeps changing cannot make the watch spin: after 10 changes
# within 10 s it is checked again only 5 s later, and says so.
start_watch nic0
expect_action "a fresh watch sets nic0 up" 1 setup
for i in $(seq 6); do
	"$MQTAP" queues --ns "$NS" --active 2; sleep 0.3
	"$MQTAP" queues --ns "$NS" --active 4; sleep 0.3
done
backoff=$(jq -r 'select(.action == "backoff") | .message' "$TMP/watch.json" | head -1)
expect_match "a flapping NIC makes the watch back off" "$backoff" \
	"nic0: changed 10 times within 10 s; next check in 5 s"
expect_ge "... and it did follow up to then" \
	"$(jq -s '[.[] | select(.action == "followed")] | length' "$TMP/watch.json")" 8
sleep 5.5
expect_eq "after the pause it converges again" "$(jq_status '[.nr_shards, .complete] | @tsv')" "$(printf '4\ttrue')"
stop_watch
expect_rc "teardown" 0 sc teardown nic0

# The testbed's NIC was replaced above, so compare without its ifindex.
expect_eq "nothing of shardctl is left in the namespace" \
	"$(snapshot | grep -c 'nic0-\|shardctl/')" 0
