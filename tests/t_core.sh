#!/usr/bin/env bash
# The core, end to end on the multi-queue TAP testbed: setup, real frames per
# rx queue, status against an independent observer (the veths' own
# counters), idempotent re-runs, completing a half-done setup, rollback,
# refusals that leave the host unchanged, teardown back to the snapshot.
source "$(dirname "$0")/lib.sh"
need_root

NS=sct$$a
N=200
defer "$TESTBED" down "$NS"
"$TESTBED" up "$NS" --queues 4 || { fail "testbed up" "could not build the testbed"; exit 1; }

jq_status() { sc status nic0 -j | jq -r ".[0] | $1"; }
veth_tx() { in_ns ip -s -j link show "$1" | jq -r '.[0].stats64.tx.packets'; }

before=$(snapshot)

# --- setup, frames, status -------------------------------------------------
expect_rc "setup --dry-run exits 0" 0 sc setup nic0 --dry-run
expect_snapshot "dry run changes nothing" "$before"
expect_match "dry run names the devices" "$OUT" "nic0-s0/nic0-r0"

expect_rc "setup nic0" 0 sc setup nic0 -j
expect_eq "setup reports a complete setup" "$(jq -r .complete <<<"$OUT")" true
expect_eq "4 shards, one per active rx queue (not the 256 allocated)" \
	"$(jq -r .nr_shards <<<"$OUT")" 4
expect_eq "each veth end has the NIC's 4 tx queues" \
	"$(in_ns ip -d -j link show nic0-r3 | jq -r '.[0].num_tx_queues')" 4
expect_eq "shard devices carry the ownership alias" \
	"$(in_ns ip -j link show nic0-s2 | jq -r '.[0].ifalias')" "shardctl nic=2 shard=2 role=egress"

OUT=$("$MQTAP" traffic --ns "$NS" --count $N --flows 8 --rate 20000 -j); rc=$?
expect_eq "every frame comes back out of the TAP" "$rc" 0
expect_eq "received == sent" "$(jq -r '.received' <<<"$OUT")" $((4 * N))
expect_eq "no payload changed" "$(jq -r '.corrupted' <<<"$OUT")" 0

for i in 0 1 2 3; do
	expect_eq "status: rx queue $i counted on shard $i only" \
		"$(jq_status ".shards[$i].packets")" $N
	expect_eq "observer: veth nic0-s$i transmitted exactly its queue's frames" \
		"$(veth_tx nic0-s$i)" $N
done
expect_eq "no frame without a recorded rx queue" "$(jq_status .unrecorded_packets)" 0
expect_eq "every frame returned to the NIC by the peers" "$(jq_status .returned_packets)" $((4 * N))
expect_eq "even spread" "$(jq_status .spread.max_over_mean)" 1
verified "rx queue from the driver (skb_record_rx_queue)"
verified "active queue counts (netdev genl QUEUE_GET)"
[ "$(jq_status .attach)" == tcx ] && verified "attach tcx (pinned tcx links)"
expect_rc "human status exits 0" 0 sc status
expect_match "human status shows the state" "$OUT" "state: complete"

# Frames written to one queue only land on one shard.
"$MQTAP" traffic --ns "$NS" --queues 2 --count 50 >/dev/null
expect_eq "queue 2 only: shard 2 grew by 50" "$(jq_status '.shards[2].packets')" $((N + 50))
expect_eq "queue 2 only: shard 0 unchanged" "$(jq_status '.shards[0].packets')" $N

# The ingress program clears the recorded rx queue, so a shard's veth picks
# its tx queue by flow hash: 16 flows from one rx queue use several of the
# 4 veth tx queues (left recorded, all would take tx queue 0). An mq root
# with per-queue children on the shard veth makes the choice observable.
in_ns ip link set nic0-s1 down
in_ns tc qdisc replace dev nic0-s1 root handle 1: mq
in_ns ip link set nic0-s1 up
"$MQTAP" traffic --ns "$NS" --queues 1 --count 400 --flows 16 >/dev/null
used=$(in_ns tc -s qdisc show dev nic0-s1 | grep -A1 'parent 1:' | grep -c 'Sent [1-9]')
expect_ge "one shard's flows spread over its veth tx queues (queues used)" "$used" 3
in_ns tc qdisc del dev nic0-s1 root
N1=$((N + 400))
expect_eq "shard 1 counted the spread frames" "$(jq_status '.shards[1].packets')" $N1

# --- idempotency and completion --------------------------------------------
mid=$(snapshot)
expect_rc "setup again exits 0" 0 sc setup nic0 -j
expect_eq "setup again changes nothing" "$(jq -r .changed <<<"$OUT")" false
expect_snapshot "setup again: snapshot unchanged" "$mid"
# Another shard count is followed, not refused (tests/t_watch.sh has the rest).
expect_rc "setup again with --shards 2 goes to 2 shards" 0 sc setup nic0 --shards 2 -j
expect_eq "... 2 shards, complete" "$(jq -r '[.nr_shards, .complete] | @tsv' <<<"$OUT")" "$(printf '2\ttrue')"
expect_eq "... shards 2 and 3 are deleted" "$(in_ns ip -o link show | grep -c 'nic0-[sr][23]')" 0
expect_rc "setup again without --shards follows the rx queues again" 0 sc setup nic0 -j
expect_eq "... 4 shards" "$(jq -r .nr_shards <<<"$OUT")" 4

in_ns ip link del nic0-s1
expect_eq "status notices a missing shard" "$(jq_status .complete)" false
expect_match "status names it" "$(jq_status .problem)" "shard 1"
expect_rc "setup completes a half-done setup" 0 sc setup nic0 -j
expect_eq "complete again" "$(jq -r .complete <<<"$OUT")" true
"$MQTAP" traffic --ns "$NS" --count 50 >/dev/null
expect_eq "frames flow through the re-created shard" "$?" 0

# --- teardown ----------------------------------------------------------------
expect_rc "teardown --dry-run" 0 sc teardown nic0 --dry-run
expect_eq "teardown dry run changes nothing" "$(jq_status .complete)" true
expect_rc "teardown" 0 sc teardown nic0
expect_snapshot "teardown restores the snapshot" "$before"
expect_rc "teardown again exits 0" 0 sc teardown nic0
expect_match "and says there is nothing" "$OUT" "nothing set up"
expect_rc "status with nothing set up exits 0" 0 sc status
expect_match "and says so" "$OUT" "nothing set up"

# --- tc (clsact/cls_bpf) attach -------------------------------------------------
expect_rc "setup --attach tc" 0 sc setup nic0 --attach tc
expect_match "cls_bpf filter on nic0 ingress" "$(in_ns tc filter show dev nic0 ingress)" "sc_in_map"
"$MQTAP" traffic --ns "$NS" --count 50 >/dev/null
expect_eq "frames flow with tc attach" "$?" 0
expect_rc "teardown (tc)" 0 sc teardown
expect_snapshot "tc teardown removes the clsact it created" "$before"
verified "setup, status, teardown (clsact + cls_bpf)"

# --- rollback: a failure half-way leaves nothing behind --------------------------
for point in setup:created:2 setup:prepared:1 setup:loaded setup:table setup:return:3 setup:ingress; do
	expect_rc "injected failure at $point exits 1" 1 in_ns env SHARDCTL_FAIL_AT=$point "$SHARDCTL" setup nic0
	expect_match "the error says it rolled back ($point)" "$ERR" "rolled back"
	expect_snapshot "rollback after $point restores the snapshot" "$before"
done

# A re-run that fails after its ingress switch keeps the shards it switched
# to: undoing would take the redirect away (tc) or leave a const table
# pointing at deleted shards. The next run completes it.
for how in "--attach tc" "--attach tcx --lookup const"; do
	# shellcheck disable=SC2086 # the options are words
	expect_rc "setup $how --shards 2" 0 sc setup nic0 $how --shards 2
	# shellcheck disable=SC2086
	expect_rc "a re-run to 4 shards failing after the switch ($how): exit 1" 1 \
		in_ns env SHARDCTL_FAIL_AT=setup:ingress "$SHARDCTL" setup nic0 $how --shards 4
	expect_match "... says the new shards are in use ($how)" "$ERR" "new shards are in use: run setup again"
	expect_eq "... status shows the 4 shards ($how)" "$(sc status nic0 -j | jq -r '.[0].nr_shards')" 4
	OUT=$("$MQTAP" traffic --ns "$NS" --count 100 -j)
	expect_eq "... every queue's frames still come back ($how)" "$(jq -r '[.sent, .received] | @tsv' <<<"$OUT")" \
		"$(printf '400\t400')"
	expect_eq "... through the shards ($how)" "$(sc status nic0 -j | jq '[.[0].shards[].packets] | map(select(. > 0)) | length')" 4
	# shellcheck disable=SC2086
	expect_rc "... the next run completes it ($how)" 0 sc setup nic0 $how --shards 4
	expect_eq "... complete ($how)" "$(sc status nic0 -j | jq -r '.[0].complete')" true
	expect_rc "teardown ($how)" 0 sc teardown nic0
	expect_snapshot "... leaves the host as it was ($how)" "$before"
done

# --- refusals: clear message naming the culprit, exit code, host unchanged ----------
refuse() { # NAME WANT_RC REGEX ARGS...
	local name=$1 want=$2 re=$3
	shift 3
	expect_rc "refuse $name: exit $want" "$want" sc "$@"
	expect_match "refuse $name: message" "$ERR" "$re"
	expect_snapshot "refuse $name: host unchanged" "$before"
}
refuse "unknown device" 1 "nosuch0: no such network device" setup nosuch0
refuse "loopback" 1 "lo: loopback" setup lo
refuse "too long a name" 1 "not a valid device name" setup abcdefghijklmnopq
refuse "missing device" 2 "missing device" setup
refuse "extra argument" 2 "expected one device" setup nic0 extra
refuse "unknown option" 2 "unknown option" setup nic0 --bogus
refuse "zero tx queues" 2 "invalid --tx-queues '0'" setup nic0 --tx-queues 0
refuse "non-numeric tx queues" 2 "invalid --tx-queues 'x'" setup nic0 --tx-queues x
refuse "negative shards" 2 "invalid --shards '-1'" setup nic0 --shards -1
refuse "more shards than rx queues" 1 "5 shards for 4 rx queues" setup nic0 --shards 5
refuse "unknown attach mode" 2 "unknown attach mode 'xdp'" setup nic0 --attach xdp
refuse "unknown lookup" 2 "unknown lookup method 'hash'" setup nic0 --lookup hash
refuse "unknown command" 2 "unknown command" frobnicate

in_ns ip addr add 198.18.0.1/24 dev nic0
before_addr=$(snapshot)
expect_rc "refuse a device with an address" 1 sc setup nic0
expect_match "the message names the device and --force" "$ERR" "nic0: has 1 address.*--force"
expect_snapshot "address refusal leaves the host unchanged" "$before_addr"
in_ns ip addr del 198.18.0.1/24 dev nic0

in_ns ip link add name vx0 type veth peer name vx1
in_ns ip link set vx0 up
expect_rc "refuse a veth as DEV" 1 sc setup vx0
expect_match "veth refusal explains why" "$ERR" "vx0: is a veth"
in_ns ip link del vx0

in_ns ip link add name nic0-s1 type veth peer name taken1
expect_rc "refuse when a shard name is taken" 1 sc setup nic0
expect_match "names the taken device" "$ERR" "nic0-s1 is taken"
expect_eq "shard devices created before the clash are rolled back" \
	"$(in_ns ip -o link show | awk -F': ' '{print $2}' | grep -c '^nic0-')" 1
in_ns ip link del nic0-s1

in_ns tc qdisc add dev nic0 clsact
in_ns tc filter add dev nic0 ingress protocol all u32 match u32 0 0 classid 1:1
before_foreign=$(snapshot)
expect_rc "refuse a foreign ingress filter" 1 sc setup nic0
expect_match "foreign filter named" "$ERR" "nic0: ingress already has a tc 'u32' filter"
expect_snapshot "foreign filter untouched" "$before_foreign"
expect_rc "teardown with nothing ours leaves foreign filters alone" 0 sc teardown
expect_snapshot "foreign filter still there" "$before_foreign"
in_ns tc qdisc del dev nic0 clsact

expect_snapshot "after all refusals the host is as before" "$before"

# --- status --prometheus ---------------------------------------------------------
expect_rc "setup for the prometheus check" 0 sc setup nic0
"$MQTAP" traffic --ns "$NS" --count 25 >/dev/null
expect_rc "status --prometheus" 0 sc status --prometheus
PROM=$OUT
expect_rc "promtool check metrics: parses, no lint finding" 0 promtool check metrics <<<"$PROM"
expect_eq "... (promtool printed nothing)" "$ERR$OUT" ""
OUT=$PROM
expect_match "per-shard counter with labels" "$OUT" 'shardctl_shard_packets_total\{device="nic0",shard="3",veth="nic0-s3"\} 25'
expect_match "complete gauge" "$OUT" 'shardctl_setup_complete\{device="nic0"\} 1'
expect_rc "--prometheus with -j is a usage error" 2 sc status --prometheus -j
expect_rc "teardown after the prometheus check" 0 sc teardown
expect_snapshot "and the host is as before" "$before"
